# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Files: atomic writes, fsync, checksums, the file list of a directory tree."""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import BinaryIO, Callable

CHUNK = 1024 * 1024


def fsync_path(path: str) -> None:
    """fsync a file or a directory (so a rename in it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OwnerNotKept(PermissionError):
    """write_atomic was asked to keep an owner and group the running user cannot give a file."""


def write_atomic(
    path: str,
    content: str | bytes | Callable[[BinaryIO], None],
    mode: int,
    owner: tuple[int, int] | None = None,
) -> None:
    """Write to a temporary file in the same directory (created O_EXCL: never through a link), give
    it owner (uid, gid) when one is given and mode, fsync it, then rename it over path (a link at
    path is replaced, not followed). A failure leaves path as it was.

    content is the text or bytes to write, or a function that writes into the open binary file
    (to stream a big file through, for example a compressor). Raises OwnerNotKept when owner
    cannot be given."""
    directory = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(content):
                content(handle)
            else:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            if owner is not None and (os.fstat(handle.fileno()).st_uid, os.fstat(handle.fileno()).st_gid) != owner:
                try:
                    os.fchown(handle.fileno(), *owner)
                except PermissionError as exc:
                    raise OwnerNotKept(exc.errno, f"owner and group {owner[0]}:{owner[1]} cannot be given") from None
            os.fchmod(handle.fileno(), mode)  # after fchown, which clears setuid and setgid
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise
    fsync_path(directory)


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_files(root: str) -> list[str]:
    """Every regular file under root, as sorted paths relative to root ('/'-separated)."""
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in filenames:
            full = os.path.join(directory, filename)
            if os.path.isfile(full) and not os.path.islink(full):
                found.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return sorted(found)


def file_entry(root: str, relative: str) -> dict[str, object]:
    full = os.path.join(root, relative)
    return {"path": relative, "size": os.path.getsize(full), "sha256": sha256_file(full)}


def read_text(path: str) -> str | None:
    """A text file's content, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
