# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Proving backups: the backend of backup_verify.

Per set: the manifest, every file's presence, size and sha256, unlisted files, full decoding
of every file by its format, the set's age and its size against the previous set, and a
restore test of each database dump into a scratch database whose tables and exact row
counts must equal the manifest's. The scratch database is dropped in ``finally``.

Sets live where other users may write. Every file is reached through the set's directory fd with
``O_NOFOLLOW`` on each component (``_safe_fs.open_beneath``) and must be a regular file: a manifest
path with ``..``, an absolute path or a symlink anywhere is a finding naming the entry, never read.
Programs (zstd, pg_restore, ...) get the file this process opened and re-checked (on stdin, or as
``/proc/<pid>/fd/<n>``), never the path, so a swap after the check changes nothing.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import math
import os
import re
import stat
import tempfile
import time
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._pg_backup import (
    client_command,
    count_rows,
    libpq_env,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._set import (
    MANIFEST,
    list_sets,
    open_set,
    parse_set_name,
    read_manifest,
    read_manifest_at,
    set_scope,
    utcnow,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs as fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import require
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    CRITICAL,
    OK,
    WARNING,
    Finding,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import (
    PipelineError,
    run,
    run_pipeline,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes, margin_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import connect

SCRATCH_PREFIX = "jarvis_verify_"
# Without the database's own size in the manifest, a restored database is estimated at this many
# times its compressed dump (zstd custom dumps of ordinary data are 4-10x smaller than the database
# with its indexes; highly repetitive data compresses far more: record database_size then).
RESTORE_SIZE_FACTOR = 10.0
UNSAFE_HINT = (
    "Someone who can write into the backup directory planted this: check who owns and can write it "
    "(it should be root's, mode 0750) and do not restore from this set."
)
_SCRATCH = re.compile(r"^jarvis_verify_\d{14}_\d+$")
STALE_SCRATCH_HOURS = 24

BTREE_INDEXES_SQL = """
SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.amname = 'btree' AND i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%'
ORDER BY 1
"""


def decoders(
    fmt: str, path: str, tools: dict[str, Any], name: str | None = None
) -> list[tuple[list[list[str]], tuple[int, ...], str | None]]:
    """The pipelines that decode a file of this manifest format completely (pure).

    Each is (stages, indexes of stages allowed to die of SIGPIPE, the path fed to the first stage's
    stdin or None). An unknown format gets none. The file goes on stdin wherever the tool reads one:
    zstd and gzip refuse a symlink given by name, and path is the /proc/<pid>/fd link of the file this
    module opened; name is the file's name in the set (path's by default), whose suffix tells whether a
    directory dump's file is compressed. tools["pg_restore"] is an argv prefix (``docker exec -i
    <container> pg_restore`` with client=docker): pg_restore reads the archive from its stdin.
    """
    zstd, pg_restore, check_rdb = tools["zstd"], tools["pg_restore"], tools["redis_check_rdb"]
    # zstd -t reads every byte and checks each frame's checksum; tools["zstd_test"] may be
    # pzstd, which tests the frames of a pzstd-written file on several threads.
    test = list(tools.get("zstd_test", [zstd, "-q", "-t"]))
    if fmt == "pg_custom+zstd":
        # The TOC listing proves pg_restore can read the archive (it stops after the TOC, so zstd
        # may die of SIGPIPE there).
        return [([test], (), path), ([[zstd, "-q", "-d", "-c"], [*pg_restore, "--list"]], (0,), path)]
    if fmt == "pg_custom":
        return [([[*pg_restore, "--list"]], (), path)]
    if fmt in ("sql+zstd", "tar+zstd"):
        return [([test], (), path)]
    if fmt in ("sql+gzip", "pg_directory_data"):
        return [([["gzip", "-t"]], (), path)] if (name or path).endswith(".gz") else []
    if fmt == "tar+gzip":
        return [([["tar", "-tzf", "-"]], (), path)]
    if fmt == "rdb":
        return [([[check_rdb, path]], (), None)]
    return []


def comparable(item: dict[str, Any], older: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest older set of the same scope (a daily set is not compared with a full one)."""
    scope = set_scope(item["path"])
    for candidate in older:
        if set_scope(candidate["path"]) == scope:
            return candidate
    return None


def compare_counts(expected: dict[str, int], restored: dict[str, int]) -> list[dict[str, Any]]:
    """Tables whose restored rows differ from the manifest's, or that are missing or extra (pure)."""
    problems = []
    for table in sorted(set(expected) | set(restored)):
        want, got = expected.get(table), restored.get(table)
        if want != got:
            problems.append({"table": table, "expected": want, "restored": got})
    return problems


def scratch_name(moment: datetime.datetime, index: int) -> str:
    return f"{SCRATCH_PREFIX}{moment.strftime('%Y%m%d%H%M%S')}_{index}"


def is_stale_scratch(name: str, now: datetime.datetime, hours: float = STALE_SCRATCH_HOURS) -> bool:
    """True for a scratch database name of this module whose time is more than hours ago (pure)."""
    if not _SCRATCH.match(name):
        return False
    stamp = datetime.datetime.strptime(name[len(SCRATCH_PREFIX) : len(SCRATCH_PREFIX) + 14], "%Y%m%d%H%M%S")
    return (now - stamp.replace(tzinfo=datetime.timezone.utc)).total_seconds() > hours * 3600


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def entry_problems(files: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The manifest entries usable as they are, and why each other one is not (pure).

    An entry is a dict with a non-empty string path and a whole, non-negative size; its sha256 and format,
    when given, are strings. Whether the path stays inside the set is checked when it is opened."""
    good, problems = [], []
    for index, entry in enumerate(files, 1):
        if not isinstance(entry, dict):
            problems.append(f"entry {index} is not a dict (got {type(entry).__name__})")
        elif not isinstance(entry.get("path"), str) or not entry["path"]:
            problems.append(f"entry {index} has no path (a string relative to the set)")
        elif not isinstance(entry.get("size"), int) or isinstance(entry["size"], bool) or entry["size"] < 0:
            problems.append(f"entry {index} ({entry['path']}) has no size (a whole number of bytes)")
        elif any(entry.get(key) is not None and not isinstance(entry[key], str) for key in ("sha256", "format")):
            problems.append(f"entry {index} ({entry['path']}) has a sha256 or format that is not a string")
        else:
            good.append(entry)
    return good, problems


def section_problems(manifest: dict[str, Any]) -> list[str]:
    """Why the manifest's size or postgres section cannot be used (pure)."""
    problems = []
    if manifest.get("size") is not None and not _number(manifest["size"]):
        problems.append(f"size is not a number of bytes (got {manifest['size']!r})")
    postgres = manifest.get("postgres")
    if postgres is None:
        return problems
    if not isinstance(postgres, dict):
        return [*problems, f"postgres is not a dict (got {type(postgres).__name__})"]
    databases = postgres.get("databases")
    if databases is None:
        return problems
    if not isinstance(databases, dict):
        return [*problems, f"postgres.databases is not a dict (got {type(databases).__name__})"]
    for name, detail in databases.items():
        if not isinstance(detail, dict) or not isinstance(detail.get("file"), str) or not detail["file"]:
            problems.append(f"postgres.databases.{name} has no file (a dict with the dump's path)")
        elif detail.get("tables") is not None and not isinstance(detail["tables"], dict):
            problems.append(f"postgres.databases.{name}.tables is not a dict of row counts")
    return problems


def restore_need(databases: dict[str, Any], factor: float, keep_scratch: bool) -> tuple[int, str]:
    """Bytes a restore test needs on the restore server and how that was estimated (pure).

    A database counts its recorded database_size, else its dump's size times factor. The scratch
    databases are restored and dropped one after the other, so the need is the largest one; with
    keep_scratch they stay, so it is their sum."""
    sizes, estimated = [], []
    for name, detail in sorted(databases.items()):
        size = detail.get("database_size")
        if _number(size):
            sizes.append(int(size))
            continue
        dump = detail.get("size")
        sizes.append(int(dump * factor) if _number(dump) else 0)
        estimated.append(name)
    need = (sum(sizes) if keep_scratch else max(sizes)) if sizes else 0
    if not estimated:
        basis = "the database sizes in the manifest"
    elif len(estimated) == len(sizes):
        basis = f"the dump sizes times restore_size_factor={factor:g}"
    else:
        basis = f"database sizes, and dump sizes times restore_size_factor={factor:g} for {', '.join(estimated)}"
    return need, basis + (" (all kept: keep_scratch)" if keep_scratch and len(sizes) > 1 else "")


def parse_df(text: str) -> tuple[int, int]:
    """(total, available) bytes from POSIX ``df -Pk PATH`` output (pure); raises ValueError."""
    lines = [line.split() for line in text.strip().splitlines()]
    if len(lines) < 2 or len(lines[-1]) < 6:
        raise ValueError(f"unexpected df output {text.strip()[:200]!r}")
    total, available = int(lines[-1][1]), int(lines[-1][3])
    return total * 1024, available * 1024


def postmaster_matches(pid_file: str, data_directory: str, port: int, started: float) -> bool:
    """Whether postmaster.pid's text describes the server that reported data_directory, port and start
    time (epoch seconds): the proof that this host sees the server's data directory (pure)."""
    lines = pid_file.splitlines()
    if len(lines) < 4:
        return False
    try:
        pid_started, pid_port = float(lines[2]), int(lines[3])
    except ValueError:
        return False
    return lines[1] == data_directory and pid_port == port and abs(pid_started - started) <= 2


def human(count: int) -> str:
    return f"{human_bytes(count)} ({count} bytes)"


def check_params(params: dict[str, Any]) -> str | None:
    if params["max_age_hours"] <= 0:
        return f"max_age_hours must be more than 0, got {params['max_age_hours']}"
    if not 0 <= params["min_size_ratio"] <= 1:
        return f"min_size_ratio must be between 0 and 1, got {params['min_size_ratio']}"
    if params["restore_jobs"] < 1:
        return f"restore_jobs must be 1 or more, got {params['restore_jobs']}"
    if params["restore_timeout"] <= 0:
        return f"restore_timeout must be more than 0 seconds, got {params['restore_timeout']}"
    if params["client"] == "docker" and not params.get("docker_container"):
        return "docker_container is required with client=docker"
    if not (math.isfinite(params["restore_size_factor"]) and params["restore_size_factor"] > 0):
        return f"restore_size_factor must be a number more than 0, got {params['restore_size_factor']}"
    try:
        margin_bytes(params["restore_space_margin"], 0)
    except ValueError as exc:
        return f"restore_space_margin: {exc}"
    return None


class SetResult:
    """Findings and counters of one set."""

    def __init__(self, name: str, path: str) -> None:
        self.name, self.path = name, path
        self.findings: list[Finding] = []
        self.passed = 0
        # what each sound file was when checked (lstat identity): a file is re-opened and compared
        self.planned: dict[str, os.stat_result] = {}
        self.data: dict[str, Any] = {"name": name, "path": path}

    def ok(self, check: str, subject: str, message: str, value: Any = None) -> None:
        self.passed += 1
        self.findings.append(Finding(check, OK, subject, value, None, message))

    def bad(self, check: str, severity: str, subject: str, message: str, recommendation: str = "", **kw: Any) -> None:
        self.findings.append(
            Finding(check, severity, subject, kw.get("value"), kw.get("threshold"), message, recommendation)
        )

    def as_dict(self) -> dict[str, Any]:
        failed = [f for f in self.findings if f.severity != OK]
        return {
            **self.data,
            "checks_passed": self.passed,
            "checks_failed": len(failed),
            "severity": worst(self.findings),
            "findings": [f.as_dict() for f in self.findings],
        }


class BackupVerify:
    """Backend of the backup_verify module."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params
        self.tools = {
            "zstd": "zstd",
            # argv prefix: on this host, or in the PostgreSQL container reading stdin
            "pg_restore": (
                [
                    self.params.get("docker_binary") or "docker",
                    "exec",
                    "-i",
                    self.params["docker_container"],
                    "pg_restore",
                ]
                if self.params["client"] == "docker" and self.params.get("docker_container")
                else [self.pg_bin("pg_restore")]
            ),
            "redis_check_rdb": self.params["redis_check_rdb"],
        }
        pzstd = module.get_bin_path("pzstd") if (os.cpu_count() or 1) > 1 else None
        if pzstd:
            self.tools["zstd_test"] = [pzstd, "-q", "-t", "-p", str(os.cpu_count())]

    def pg_bin(self, program: str) -> str:
        return os.path.join(self.params["bin_dir"], program) if self.params.get("bin_dir") else program

    def run(self) -> dict[str, Any]:
        problem = check_params(self.params)
        if problem:
            self.module.fail_json(msg=f"Cannot verify backups: {problem}")
        free_path = self.params.get("restore_free_space_path")
        if free_path and not os.path.isdir(free_path):
            self.module.fail_json(msg=f"Cannot verify backups: restore_free_space_path {free_path} is not a directory")
        sets = self.find_sets()
        results = []
        verified = sets if self.params["sets"] == "all" else sets[:1]
        for index, item in enumerate(verified):
            previous = comparable(item, sets[index + 1 :])
            results.append(self.verify_set(item, previous, latest=index == 0))
        findings = [finding for result in results for finding in result["findings"]]
        restore_note = None
        if self.params["restore_test"] and self.module.check_mode:
            restore_note = "restore test skipped in check mode (it creates and drops a scratch database)"
        critical = [f for f in findings if f["severity"] == CRITICAL]
        summary = {
            "changed": False,
            "sets": results,
            "findings": findings,
            "severity": worst(findings),
            "restore_test": "skipped in check mode" if restore_note else bool(self.params["restore_test"]),
        }
        if restore_note:
            summary["msg"] = restore_note
        if critical and self.params["fail_on_critical"]:
            first = "; ".join(f"{f['subject']}: {f['message']}" for f in critical[:3])
            note = summary.pop("msg", None)
            self.module.fail_json(
                msg=f"Backup verification found {len(critical)} critical problem(s): {first}"
                + (f" ({note})" if note else ""),
                **summary,
            )
        return summary

    def find_sets(self) -> list[dict[str, Any]]:
        # the configured path is trusted as it resolves now; nothing below it is followed
        path = os.path.realpath(self.params["path"])
        if not os.path.isdir(path):
            self.module.fail_json(msg=f"Cannot verify backups: path {path} is not a directory")
        name = os.path.basename(path)
        if os.path.lexists(os.path.join(path, MANIFEST)) or parse_set_name(name):
            siblings = list_sets(os.path.dirname(path))
            chosen = [item for item in siblings if item["name"] == name] or [
                {"name": name, "path": path, "time": parse_set_name(name), "complete": False}
            ]
            older = [
                item for item in siblings if chosen[0]["time"] and item["time"] and item["time"] < chosen[0]["time"]
            ]
            return chosen + older
        sets = list_sets(path)
        if not sets:
            self.module.fail_json(msg=f"Cannot verify backups: no backup set (jarvis-YYYYmmddTHHMMSSZ) under {path}")
        # Older sets are read for the size comparison even when only the newest is verified.
        return sets

    def verify_set(self, item: dict[str, Any], previous: dict[str, Any] | None, latest: bool) -> dict[str, Any]:
        """One set's findings. Whatever is wrong with this set is a finding of this set: the other sets
        are still verified."""
        result = SetResult(item["name"], item["path"])
        try:
            set_fd = open_set(item["path"])
        except (fs.UnsafePath, OSError) as exc:
            result.bad(
                "manifest",
                CRITICAL,
                item["name"],
                f"the set directory cannot be opened safely: {exc}",
                "Treat this set as unusable; check who can write into the backup directory.",
            )
            return result.as_dict()
        try:
            self.verify_open_set(result, set_fd, previous, latest)
        except Exception as exc:  # a set that breaks the check must not stop the check of the others
            result.bad(
                "verify",
                CRITICAL,
                item["name"],
                f"cannot verify this set: {type(exc).__name__}: {exc}",
                "Treat this set as unusable; take a new backup.",
            )
        finally:
            os.close(set_fd)
        return result.as_dict()

    def verify_open_set(self, result: SetResult, set_fd: int, previous: dict[str, Any] | None, latest: bool) -> None:
        subject = f"{result.name}/{MANIFEST}"
        manifest, problem = read_manifest_at(set_fd)
        if manifest is None:
            result.bad("manifest", CRITICAL, subject, problem or "", "Treat this set as unusable; take a new backup.")
            return
        entries, problems = entry_problems(manifest["files"])
        sections = section_problems(manifest)
        for why in problems + sections:
            result.bad(
                "manifest",
                CRITICAL,
                subject,
                f"{MANIFEST}: {why}",
                "Treat this set as unusable: its manifest was not written by backup_set; take a new backup.",
            )
        if not problems and not sections:
            result.ok("manifest", subject, "manifest read")
        if not sections:
            result.data["size"] = manifest.get("size")
        result.data["finished"] = manifest.get("finished")
        self.check_age(result, manifest, latest)
        if latest and previous and not sections:
            self.check_size(result, manifest, previous)
        present = self.check_files(result, set_fd, entries)
        if self.params["restore_test"] and latest and not self.module.check_mode:
            if sections:
                result.bad("restore", CRITICAL, result.name, "not restored: the manifest cannot be used (see above)")
            else:
                self.restore_test(result, set_fd, manifest, present)

    def check_age(self, result: SetResult, manifest: dict[str, Any], latest: bool) -> None:
        moment = parse_set_name(result.name)
        if moment is None:
            return
        age = (utcnow() - moment).total_seconds() / 3600
        result.data["age_hours"] = round(age, 2)
        if not latest:
            return
        limit = self.params["max_age_hours"]
        if age > limit:
            result.bad(
                "age",
                CRITICAL,
                result.name,
                f"newest backup set is {age:.1f} hours old (limit {limit:g})",
                "Check that the backup job runs and succeeds.",
                value=round(age, 2),
                threshold=limit,
            )
        else:
            result.ok("age", result.name, f"{age:.1f} hours old", round(age, 2))

    def check_size(self, result: SetResult, manifest: dict[str, Any], previous: dict[str, Any]) -> None:
        before, _problem = read_manifest(previous["path"])
        size = manifest.get("size")
        earlier = before.get("size") if before else None
        if not _number(earlier) or not earlier or not _number(size):
            return
        ratio = size / earlier
        result.data["size_ratio"] = round(ratio, 3)
        limit = self.params["min_size_ratio"]
        if ratio < limit:
            result.bad(
                "size_ratio",
                WARNING,
                result.name,
                f"set is {ratio:.0%} of the previous set {previous['name']} ({size} vs {earlier} bytes)",
                "Check whether data was lost or a database is missing from the backup.",
                value=round(ratio, 3),
                threshold=limit,
            )
        else:
            result.ok("size_ratio", result.name, f"{ratio:.0%} of the previous set", round(ratio, 3))

    def check_files(self, result: SetResult, set_fd: int, entries: list[dict[str, Any]]) -> set[str]:
        """Presence, type and size of every listed file, then (side by side, largest file first) the sha256
        and, with decode, the full decoding of each present one; returns the sound files (present,
        right size, checksum matching when checked). A file whose checksum fails gets that one finding.

        Each file is opened beneath the set's fd (no '..', no absolute path, no symlink component) and must
        be a regular file; an entry that is not is an unsafe_path finding naming it, and nothing of its
        content (no size, no hash) is returned."""
        planned: dict[str, os.stat_result] = {}
        listed = set()
        for entry in entries:
            relative = entry["path"]
            listed.add(relative)
            subject = f"{result.name}/{relative}"
            try:
                fd = fs.open_beneath(set_fd, relative, os.O_RDONLY)
            except fs.UnsafePath as exc:
                result.bad("unsafe_path", CRITICAL, subject, f"not read: {exc}", UNSAFE_HINT)
                continue
            except FileNotFoundError:
                result.bad(
                    "file_missing",
                    CRITICAL,
                    subject,
                    "file listed in the manifest is missing",
                    "Treat this set as incomplete; take a new backup.",
                )
                continue
            try:
                st = os.fstat(fd)
            finally:
                os.close(fd)
            if not stat.S_ISREG(st.st_mode):
                result.bad("unsafe_path", CRITICAL, subject, "not read: it is not a regular file", UNSAFE_HINT)
                continue
            if st.st_size != entry["size"]:
                result.bad(
                    "file_size",
                    CRITICAL,
                    subject,
                    f"size is {st.st_size} bytes, the manifest says {entry['size']} (truncated or replaced)",
                    "Do not restore from this file.",
                    value=st.st_size,
                    threshold=entry["size"],
                )
                continue
            planned[relative] = st
        result.planned = planned
        digests, problems, unsafe = self.hash_and_decode(set_fd, entries, planned)
        sound = set()
        decoded = 0
        for entry in entries:
            relative = entry["path"]
            if relative not in planned:
                continue
            subject = f"{result.name}/{relative}"
            if relative in unsafe:
                result.bad("unsafe_path", CRITICAL, subject, f"not checked: {unsafe[relative]}", UNSAFE_HINT)
                continue
            if self.params["checksums"] and digests.get(relative) != entry.get("sha256"):
                result.bad(
                    "checksum",
                    CRITICAL,
                    subject,
                    "sha256 does not match the manifest (file changed on disk)",
                    "Do not restore from this file.",
                    value=digests.get(relative),
                    threshold=entry.get("sha256"),
                )
                continue
            result.passed += 1
            sound.add(relative)
            if relative not in problems:
                continue
            if problems[relative]:
                result.bad(
                    "decode",
                    CRITICAL,
                    subject,
                    f"cannot be decoded: {problems[relative]}",
                    "Do not restore from this file.",
                )
            else:
                decoded += 1
        for found in fs.walk(set_fd):
            if found.relative == MANIFEST or found.relative in listed:
                continue
            mode = found.stat.st_mode
            what = (
                "file is not in the manifest"
                if stat.S_ISREG(mode)
                else "a symlink (not followed) that is not in the manifest"
                if stat.S_ISLNK(mode)
                else "not a regular file, and not in the manifest"
            )
            result.bad("unlisted_file", WARNING, f"{result.name}/{found.relative}", what)
        if sound:
            result.findings.append(
                Finding(
                    "files",
                    OK,
                    result.name,
                    len(sound),
                    None,
                    f"{len(sound)} file(s) present" + (", checksums match" if self.params["checksums"] else ""),
                )
            )
        if self.params["decode"]:
            self.list_directories(result, set_fd, entries, sound)
            result.passed += decoded
            result.findings.append(
                Finding("decode", OK, result.name, decoded, None, f"{decoded} file(s) decoded completely")
            )
        return sound

    def open_planned(self, set_fd: int, relative: str, planned: os.stat_result) -> int:
        """An fd of relative beneath the set, the very file checked before (fs.UnsafePath if not)."""
        fd = fs.open_beneath(set_fd, relative, os.O_RDONLY)
        try:
            fs.check_same(fd, planned)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def hash_and_decode(
        self, set_fd: int, entries: list[dict[str, Any]], planned: dict[str, os.stat_result]
    ) -> tuple[dict[str, str], dict[str, str | None], dict[str, str]]:
        """sha256 (with checksums) and the decoding pipelines (with decode) of the present files, one per
        CPU at a time, the largest file's work first. Returns the digests, per decoded file the first
        pipeline's failure or None, and the files that were swapped since they were checked (with why)."""
        formats = {entry["path"]: entry.get("format") or "" for entry in entries}
        units: list[tuple[int, int, str, str | None]] = []
        for relative, st in planned.items():
            if self.params["decode"]:
                fmt = "pg_directory_data" if formats[relative] == "pg_directory" else formats[relative]
                for order in range(len(decoders(fmt, relative, self.tools))):
                    units.append((-st.st_size, order, relative, fmt))
            if self.params["checksums"]:
                units.append((-st.st_size, 99, relative, None))
        units.sort(key=lambda unit: unit[:3])

        def work(unit: tuple[int, int, str, str | None]) -> tuple[str, str | None]:
            _size, order, relative, fmt = unit
            try:
                fd = self.open_planned(set_fd, relative, planned[relative])
            except (fs.UnsafePath, OSError) as exc:
                return "unsafe", str(exc)
            try:
                if fmt is None:
                    return "digest", fs.sha256_fd(fd)[1]
                stages, sigpipe_ok, stdin = decoders(fmt, fs.fd_path(fd), self.tools, relative)[order]
                if len(stages) == 1 and stdin is None:  # no pipe: no shell either
                    run(self.module, stages[0], timeout=self.params["restore_timeout"])
                else:
                    run_pipeline(
                        self.module,
                        stages,
                        stdin_path=stdin,
                        timeout=self.params["restore_timeout"],
                        sigpipe_ok=sigpipe_ok,
                    )
            except PipelineError as exc:
                return "problem", str(exc).replace(fs.fd_path(fd), relative)
            finally:
                os.close(fd)
            return "problem", None

        digests: dict[str, str] = {}
        problems: dict[str, str | None] = {}
        unsafe: dict[str, str] = {}
        if not units:
            return digests, problems, unsafe
        workers = max(1, min(len(units), os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(work, units))
        for (_size, _order, relative, fmt), (kind, outcome) in zip(units, outcomes):
            if kind == "unsafe":
                unsafe[relative] = outcome or "it was replaced since it was checked"
            elif fmt is None:
                digests[relative] = outcome or ""
            elif problems.get(relative) is None:
                problems[relative] = outcome
        return digests, problems, unsafe

    def list_directories(self, result: SetResult, set_fd: int, entries: list[dict[str, Any]], sound: set[str]) -> None:
        """pg_restore --list of each directory-format dump whose files are all sound."""
        directories: dict[str, bool] = {}
        for entry in entries:
            if entry.get("format") == "pg_directory":
                relative = entry["path"]
                top = relative.split("/")[0]
                directories[top] = directories.get(top, True) and relative in sound
        for directory, whole in sorted(directories.items()):
            if not whole:
                continue
            try:
                fd = fs.open_beneath(set_fd, directory, fs.DIR_FLAGS)
            except (fs.UnsafePath, OSError) as exc:
                result.bad("unsafe_path", CRITICAL, f"{result.name}/{directory}", f"not listed: {exc}", UNSAFE_HINT)
                continue
            try:
                run(self.module, [*self.tools["pg_restore"], "--list", fs.fd_path(fd)], timeout=600)
            except PipelineError as exc:
                reason = str(exc).replace(fs.fd_path(fd), directory)
                result.bad("decode", CRITICAL, f"{result.name}/{directory}", f"cannot be listed: {reason}")
            finally:
                os.close(fd)

    # -- restore test --------------------------------------------------------------
    def restore_test(self, result: SetResult, set_fd: int, manifest: dict[str, Any], sound: set[str]) -> None:
        psycopg2 = require(self.module, "psycopg2", "psycopg2-binary")
        self.sql = require(self.module, "psycopg2.sql", "psycopg2-binary")
        databases = (manifest.get("postgres") or {}).get("databases") or {}
        if not databases:
            result.bad("restore", WARNING, result.name, "the set holds no PostgreSQL dump to restore")
            return
        admin = connect(self.module)
        restores: dict[str, Any] = {}
        try:
            self.drop_leftovers(admin, result)
            if not self.restore_space(admin, psycopg2, result, databases):
                result.data["restore"] = restores
                return
            stamp = utcnow()
            for index, (database, detail) in enumerate(sorted(databases.items())):
                restores[database] = self.restore_one(
                    admin, psycopg2, result, set_fd, database, detail, sound, scratch_name(stamp, index)
                )
        finally:
            admin.close()
        result.data["restore"] = restores
        result.data["restore_seconds"] = round(sum(r.get("seconds") or 0 for r in restores.values()), 3)
        result.data["row_count_mismatches"] = [
            {"database": db, **problem} for db, r in restores.items() for problem in r.get("mismatches", [])
        ]

    def restore_space(self, admin: Any, psycopg2: Any, result: SetResult, databases: dict[str, Any]) -> bool:
        """Whether the restore server has room for the restore test plus restore_space_margin; a critical
        finding naming both numbers (and nothing restored) when it has not, a warning when its free space
        cannot be known from this host."""
        params = self.params
        need, basis = restore_need(databases, params["restore_size_factor"], params["keep_scratch"])
        where, unknown = self.restore_space_path(admin, psycopg2)
        space: dict[str, Any] = {"needed": need, "basis": basis, "path": where}
        measured: tuple[int, int] | None = None
        if where is not None and self.in_container():
            # the cluster's data directory is inside the PostgreSQL container: measured there
            try:
                measured = parse_df(run(self.module, [*self.docker_exec(), "df", "-Pk", where], timeout=60))
            except (PipelineError, ValueError) as exc:
                where, unknown = None, f"df in container {self.params['docker_container']} failed ({exc})"
            space.update(path=where, container=self.params["docker_container"])
        result.data["restore_space"] = space
        if where is None:
            result.bad(
                "restore_space",
                WARNING,
                result.name,
                f"free space on the restore server not checked: {unknown}; the restore needs about {human(need)}, "
                f"estimated from {basis}",
                "Set restore_free_space_path to the restore cluster's data directory (or the volume it is on), "
                "or restore on a separate, throwaway restore server.",
            )
            return True
        if measured is not None:
            total, free = measured
        else:
            try:
                fs_stat = os.statvfs(where)
            except OSError as exc:
                result.bad(
                    "restore_space", CRITICAL, result.name, f"restore test refused: cannot measure {where}: {exc}"
                )
                return False
            free, total = fs_stat.f_bavail * fs_stat.f_frsize, fs_stat.f_blocks * fs_stat.f_frsize
        margin = margin_bytes(params["restore_space_margin"], total)
        space.update(free=free, margin=margin)
        if free - need < margin:
            result.bad(
                "restore_space",
                CRITICAL,
                result.name,
                f"restore test refused, nothing restored: it needs about {human(need)}, estimated from {basis}, and "
                f"restore_space_margin={params['restore_space_margin']} keeps {human(margin)} free, but {where} has "
                f"{human(free)} free",
                "Restore on a separate, throwaway restore server (dr_test_restore_host), free space on this one, "
                "or lower restore_space_margin.",
                value=free,
                threshold=need + margin,
            )
            return False
        result.ok(
            "restore_space",
            result.name,
            f"{human(free)} free on {where}: room for the restore (about {human(need)}) and "
            f"restore_space_margin ({human(margin)})",
            free,
        )
        return True

    def in_container(self) -> bool:
        """Whether the restore server is the PostgreSQL container's (client=docker, no path given)."""
        return self.params["client"] == "docker" and not self.params.get("restore_free_space_path")

    def docker_exec(self) -> list[str]:
        return [self.params.get("docker_binary") or "docker", "exec", self.params["docker_container"]]

    def restore_space_path(self, admin: Any, psycopg2: Any) -> tuple[str | None, str | None]:
        """Where to measure the restore server's free space (on this host, or in the PostgreSQL container
        with client=docker), or (None, why not)."""
        given = self.params.get("restore_free_space_path")
        if given:
            return given, None
        try:
            with admin.cursor() as cursor:
                cursor.execute(
                    "SELECT current_setting('data_directory'), current_setting('port')::int,"
                    " extract(epoch FROM pg_postmaster_start_time())::float8"
                )
                directory, port, started = cursor.fetchone()
        except psycopg2.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            return None, f"the login role cannot read data_directory ({reason}: superuser or pg_read_all_settings)"
        if self.in_container():
            return directory, None
        try:
            with open(os.path.join(directory, "postmaster.pid"), encoding="utf-8") as handle:
                pid_file = handle.read(4096)
        except (OSError, UnicodeDecodeError):
            return None, f"its data directory {directory} is not on this host"
        if not postmaster_matches(pid_file, directory, port, started):
            return None, f"{directory} on this host belongs to another server than the restore server"
        return directory, None

    def drop_leftovers(self, admin: Any, result: SetResult) -> None:
        """Scratch databases left by a killed run: named by this module and older than a day
        (a younger one may belong to a restore test running now on another host)."""
        with admin.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'jarvis\\_verify\\_%%'")
            names = [row[0] for row in cursor.fetchall() if is_stale_scratch(row[0], utcnow())]
            for name in names:
                cursor.execute(
                    self.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(self.sql.Identifier(name))
                )
        if names:
            result.data["dropped_leftover_scratch"] = names

    def restore_one(
        self,
        admin: Any,
        psycopg2: Any,
        result: SetResult,
        set_fd: int,
        database: str,
        detail: dict[str, Any],
        sound: set[str],
        scratch: str,
    ) -> dict[str, Any]:
        sql = self.sql
        relative = detail.get("file", "")
        subject = f"{result.name}/{relative}"
        outcome: dict[str, Any] = {"scratch_database": scratch, "file": relative}
        first = relative.split("/")[0]
        if relative not in sound and not any(path.startswith(first + "/") for path in sound):
            result.bad("restore", CRITICAL, subject, f"not restored: the dump of {database} failed an earlier check")
            return outcome
        began = time.monotonic()
        temp = None
        source_fd = None
        try:
            # the dump itself (a file checked before), or a directory dump, never through a symlink
            if relative in result.planned:
                source_fd = self.open_planned(set_fd, relative, result.planned[relative])
            else:
                source_fd = fs.open_beneath(set_fd, relative, fs.DIR_FLAGS)
            with admin.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(scratch)))
            source = fs.fd_path(source_fd)
            compressed = detail.get("format") == "pg_custom+zstd"
            if compressed and self.params["restore_jobs"] > 1 and self.params["client"] == "host":
                # pg_restore -j needs a seekable file: decompress a copy first.
                handle, temp = tempfile.mkstemp(prefix="jarvis-verify-", suffix=".dump", dir=self.params["scratch_dir"])
                os.close(handle)
                run_pipeline(
                    self.module,
                    [[self.tools["zstd"], "-q", "-d", "-c"]],
                    stdin_path=source,
                    stdout_path=temp,
                    timeout=self.params["restore_timeout"],
                )
                source, compressed = temp, False
            self.pg_restore(source, scratch, compressed)
            outcome["restore_seconds"] = round(time.monotonic() - began, 3)
            conn = connect(self.module, database=scratch)
            try:
                with conn.cursor() as cursor:
                    restored = count_rows(cursor, sql)
                    if self.params["amcheck"]:
                        outcome["amcheck"] = self.amcheck(cursor, psycopg2, result, database)
            finally:
                conn.close()
            outcome["tables"] = len(restored)
            outcome["rows"] = sum(restored.values())
            expected = detail.get("tables")
            if expected is None:
                result.bad("row_counts", WARNING, subject, "the manifest has no row counts to compare with")
            else:
                outcome["mismatches"] = compare_counts(expected, restored)
                if outcome["mismatches"]:
                    shown = ", ".join(
                        f"{m['table']} {m['expected']}→{m['restored']}" for m in outcome["mismatches"][:5]
                    )
                    result.bad(
                        "row_counts",
                        CRITICAL,
                        subject,
                        f"{len(outcome['mismatches'])} table(s) differ from the manifest after restore: {shown}",
                        "Do not trust this backup; investigate the dump.",
                        value=len(outcome["mismatches"]),
                    )
                else:
                    result.ok(
                        "row_counts",
                        subject,
                        f"restored {len(restored)} tables, {outcome['rows']} rows: equal to the manifest",
                        outcome["rows"],
                    )
        except (PipelineError, psycopg2.Error, OSError, fs.UnsafePath) as exc:
            reason = str(exc).strip().replace("\n", " ")
            if source_fd is not None:
                reason = reason.replace(fs.fd_path(source_fd), relative)
            result.bad(
                "restore",
                CRITICAL,
                subject,
                f"restore of {database} into {scratch} failed: {reason}",
                "Do not rely on this backup; take a new one and verify it.",
            )
        finally:
            if source_fd is not None:
                os.close(source_fd)
            if temp and os.path.exists(temp):
                os.unlink(temp)
            outcome["seconds"] = round(time.monotonic() - began, 3)
            if not self.params["keep_scratch"]:
                with admin.cursor() as cursor:
                    cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
                outcome["scratch_dropped"] = True
        return outcome

    def pg_restore(self, source: str, scratch: str, compressed: bool) -> None:
        """Restore source into scratch: streamed through zstd into one pg_restore (no copy on disk),
        or with --jobs from an uncompressed file."""
        params = self.params
        env = libpq_env(params)
        args = ["--no-password", "--exit-on-error", "--dbname", scratch]
        if not params["restore_owner"]:
            args += ["--no-owner", "--no-privileges"]
        if params["client"] == "docker":
            restore = client_command(params, "pg_restore", args, stdin=True)
        elif compressed or params["restore_jobs"] == 1 or os.path.isdir(source):
            restore = [*self.tools["pg_restore"], *args] + ([source] if os.path.isdir(source) else [])
        else:
            restore = [*self.tools["pg_restore"], f"--jobs={params['restore_jobs']}", *args, source]
        stages = [[self.tools["zstd"], "-q", "-d", "-c"], restore] if compressed else [restore]
        # zstd refuses the /proc/<pid>/fd link by name: the dump goes on the first stage's stdin
        stdin = source if os.path.isfile(source) and source not in restore else None
        run_pipeline(self.module, stages, env=env, stdin_path=stdin, timeout=params["restore_timeout"])

    def amcheck(self, cursor: Any, psycopg2: Any, result: SetResult, database: str) -> dict[str, Any]:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
            cursor.execute(BTREE_INDEXES_SQL)
            indexes = [row[0] for row in cursor.fetchall()]
        except psycopg2.Error as exc:
            result.bad("amcheck", WARNING, database, f"amcheck is not available: {str(exc).strip()}")
            return {"checked": 0}
        bad = []
        for index in indexes:
            try:
                cursor.execute("SELECT bt_index_check(%s::regclass, true)", (index,))
            except psycopg2.Error as exc:
                bad.append(index)
                result.bad("amcheck", CRITICAL, f"{database}.{index}", f"btree check failed: {str(exc).strip()}")
        if not bad:
            result.ok("amcheck", database, f"{len(indexes)} btree index(es) pass bt_index_check", len(indexes))
        return {"checked": len(indexes), "failed": bad}
