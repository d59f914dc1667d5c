# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sha256 of a base backup's files, recorded right after the backup and compared later.

Why a record of our own: PostgreSQL 15 writes its zstd frames without a content checksum (``zstd -lv``
says ``Check: None``), so ``zstd -t`` only notices damage that breaks the compressed structure (of four
flipped bytes in the test's backup it noticed one); ``pg_verifybackup`` (and ``barman verify-backup``)
cannot read tar-format backups before PostgreSQL 16; the backup's own manifest holds CRC32C checksums
of the files inside the tar, which only a full decompression and extraction can compare (the restore
test does that). A sha256 of each file of the backup, taken as soon as Barman finished it and kept
where only root writes, notices any changed byte at the cost of reading the backup once
(about 1.2 s per GiB from the page cache on 2 cores).

The record is ``<checksums_dir>/<server>/<backup_id>.json``; the directories are root's, mode 0700,
and nothing is read or written through a link. Barman's files are read through O_NOFOLLOW file
descriptors below the backup's directory.
"""

from __future__ import annotations

import datetime
import json
import os
import stat as stat_module
from typing import Any, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs

CHECKSUMS_SPEC: dict[str, Any] = {"checksums_dir": {"type": "path", "default": "/var/lib/jarvis-pitr/checksums"}}


def record_name(server: str, backup_id: str) -> str:
    """The record's path relative to checksums_dir (pure; both are checked tokens)."""
    return f"{server}/{backup_id}.json"


def file_digests(data_dir: str) -> dict[str, dict[str, Any]]:
    """{name: {size, sha256}} of every regular file directly in a backup's data directory, read through
    O_NOFOLLOW descriptors (a link or anything else but a regular file is left out)."""
    root = _safe_fs.open_dir(data_dir)
    try:
        digests = {}
        for entry in _safe_fs.walk(root, recurse=False):
            if not stat_module.S_ISREG(entry.stat.st_mode):
                continue
            fd = _safe_fs.open_beneath(root, entry.relative)
            try:
                _safe_fs.check_same(fd, entry.stat)
                size, digest = _safe_fs.sha256_fd(fd)
            finally:
                os.close(fd)
            digests[entry.relative] = {"size": size, "sha256": digest}
        return digests
    finally:
        os.close(root)


def compare(recorded: Mapping[str, Mapping[str, Any]], actual: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What differs between the recorded and the present files of a backup, one line each (pure)."""
    problems = []
    for name in sorted(recorded):
        if name not in actual:
            problems.append(f"{name} is missing")
        elif actual[name]["size"] != recorded[name]["size"]:
            problems.append(f"{name} has {actual[name]['size']} bytes, {recorded[name]['size']} when recorded")
        elif actual[name]["sha256"] != recorded[name]["sha256"]:
            problems.append(f"{name} changed since the backup (sha256 differs)")
    problems += [f"{name} appeared since the backup" for name in sorted(set(actual) - set(recorded))]
    return problems


def _private_dir(parent_fd: int, name: str, create: bool) -> int | None:
    """An fd of the root-owned directory name in parent_fd (created 0700 when create); None when absent."""
    try:
        fd = os.open(name, _safe_fs.DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        if not create:
            return None
        os.mkdir(name, 0o700, dir_fd=parent_fd)
        fd = os.open(name, _safe_fs.DIR_FLAGS, dir_fd=parent_fd)
    why = _safe_fs.writable_by_others(os.fstat(fd))
    if why:
        os.close(fd)
        raise _safe_fs.UnsafePath(f"{name} {why}")
    return fd


def _server_dir(checksums_dir: str, server: str, create: bool) -> int | None:
    if create:
        os.makedirs(checksums_dir, mode=0o700, exist_ok=True)
    try:
        top = _safe_fs.open_dir(checksums_dir)
    except FileNotFoundError:
        return None
    try:
        why = _safe_fs.writable_by_others(os.fstat(top))
        if why:
            raise _safe_fs.UnsafePath(f"{checksums_dir} {why}")
        return _private_dir(top, server, create)
    finally:
        os.close(top)


def read_record(checksums_dir: str, server: str, backup_id: str) -> dict[str, Any] | None:
    """The record of a backup, or None when none was written; OSError or UnsafePath when it cannot be read
    safely, ValueError when it is not a record."""
    directory = _server_dir(checksums_dir, server, create=False)
    if directory is None:
        return None
    try:
        fd = _safe_fs.open_beneath(directory, f"{backup_id}.json")
    except FileNotFoundError:
        return None
    finally:
        os.close(directory)
    with os.fdopen(fd, "rb") as handle:
        record = json.loads(handle.read().decode("utf-8"))
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        raise ValueError("it holds no files")
    return record


def write_record(checksums_dir: str, server: str, backup_id: str, files: Mapping[str, Any]) -> str:
    """Write the record of a backup atomically; its path."""
    directory = _server_dir(checksums_dir, server, create=True)
    if directory is None:  # pragma: no cover - created just now
        raise FileNotFoundError(os.path.join(checksums_dir, server))
    record = {
        "server": server,
        "backup_id": backup_id,
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": dict(files),
    }
    try:
        _safe_fs.write_at(directory, f"{backup_id}.json", json.dumps(record, indent=1).encode("utf-8"), 0o600)
    finally:
        os.close(directory)
    return os.path.join(checksums_dir, record_name(server, backup_id))
