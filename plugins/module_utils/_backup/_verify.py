# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Proving backups: the backend of backup_verify.

Per set: the manifest, every file's presence, size and sha256, unlisted files, full decoding
of every file by its format, the set's age and its size against the previous set, and a
restore test of each database dump into a scratch database whose tables and exact row
counts must equal the manifest's. The scratch database is dropped in ``finally``.

The work is split along its seams: BackupVerify finds the sets and judges each set's manifest, age
and size; SetFiles checks the files of one set (presence, size, sha256, decoding); RestoreTest
(_restore.py) restores the dumps into scratch databases and compares the row counts; SetResult
(_result.py) collects what is found.

Sets live where other users may write. Every file is reached through the set's directory fd with
``O_NOFOLLOW`` on each component (``_safe_fs.open_beneath``) and must be a regular file: a manifest
path with ``..``, an absolute path or a symlink anywhere is a finding naming the entry, never read.
Programs (zstd, pg_restore, ...) get the file this process opened and re-checked (on stdin, or as
``/proc/<pid>/fd/<n>``), never the path, so a swap after the check changes nothing.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import stat
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._restore import (
    RESTORE_SIZE_FACTOR,
    RestoreTest,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._result import SetResult, is_amount
from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._set import (
    MANIFEST,
    list_sets,
    open_planned,
    open_set,
    parse_set_name,
    read_manifest,
    read_manifest_at,
    set_scope,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs as fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
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
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import now
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import margin_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import (
    client_argument_spec,
    client_command,
    postgres_argument_spec,
)

ARGUMENT_SPEC = {
    **postgres_argument_spec(),
    **client_argument_spec(),
    "path": {"type": "path", "required": True},
    "sets": {"type": "str", "choices": ["latest", "all"], "default": "latest"},
    "max_age_hours": {"type": "float", "default": 26},
    "min_size_ratio": {"type": "float", "default": 0.5},
    "checksums": {"type": "bool", "default": True},
    "decode": {"type": "bool", "default": True},
    "restore_test": {"type": "bool", "default": False},
    "restore_jobs": {"type": "int", "default": 1},
    "restore_timeout": {"type": "int", "default": 3600},
    "restore_owner": {"type": "bool", "default": False},
    "amcheck": {"type": "bool", "default": False},
    "keep_scratch": {"type": "bool", "default": False},
    "scratch_dir": {"type": "path"},
    "redis_check_rdb": {"type": "str", "default": "redis-check-rdb"},
    "fail_on_critical": {"type": "bool", "default": True},
    "restore_space_margin": {"type": "str", "default": "10%"},
    "restore_free_space_path": {"type": "path"},
    "restore_size_factor": {"type": "float", "default": RESTORE_SIZE_FACTOR},
}
UNSAFE_HINT = (
    "Someone who can write into the backup directory planted this: check who owns and can write it "
    "(it should be root's, mode 0750) and do not restore from this set."
)


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
    if manifest.get("size") is not None and not is_amount(manifest["size"]):
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


class SetFiles:
    """The files of one set: presence, type and size, sha256, full decoding, files not listed."""

    def __init__(self, params: dict[str, Any], host: Any, tools: dict[str, Any]) -> None:
        self.params, self.host, self.tools = params, host, tools

    def check(self, result: SetResult, set_fd: int, entries: list[dict[str, Any]]) -> set[str]:
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
                fd = open_planned(set_fd, relative, planned[relative])
            except (fs.UnsafePath, OSError) as exc:
                return "unsafe", str(exc)
            try:
                if fmt is None:
                    return "digest", fs.sha256_fd(fd)[1]
                stages, sigpipe_ok, stdin = decoders(fmt, fs.fd_path(fd), self.tools, relative)[order]
                if len(stages) == 1 and stdin is None:  # no pipe: no shell either
                    run(self.host, stages[0], timeout=self.params["restore_timeout"])
                else:
                    run_pipeline(
                        self.host,
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
                run(self.host, [*self.tools["pg_restore"], "--list", fs.fd_path(fd)], timeout=600)
            except PipelineError as exc:
                reason = str(exc).replace(fs.fd_path(fd), directory)
                result.bad("decode", CRITICAL, f"{result.name}/{directory}", f"cannot be listed: {reason}")
            finally:
                os.close(fd)


class BackupVerify(Backend):
    """Backend of the backup_verify module: finds the sets, verifies each, reports."""

    def decoding_tools(self) -> dict[str, Any]:
        """The decoding programs; pg_restore an argv prefix, on this host or in the PostgreSQL container
        reading stdin."""
        tools: dict[str, Any] = {
            "zstd": "zstd",
            "pg_restore": client_command(self.params, "pg_restore", [], stdin=True, connects=False),
            "redis_check_rdb": self.params["redis_check_rdb"],
        }
        pzstd = self.host.get_bin_path("pzstd") if (os.cpu_count() or 1) > 1 else None
        if pzstd:
            tools["zstd_test"] = [pzstd, "-q", "-t", "-p", str(os.cpu_count())]
        return tools

    def run(self) -> dict[str, Any]:
        raise_problem("Cannot verify backups", check_params(self.params))
        free_path = self.params.get("restore_free_space_path")
        if free_path and not os.path.isdir(free_path):
            raise ModuleError(f"Cannot verify backups: restore_free_space_path {free_path} is not a directory")
        self.files = SetFiles(self.params, self.host, self.decoding_tools())
        sets = self.find_sets()
        results = []
        verified = sets if self.params["sets"] == "all" else sets[:1]
        for index, item in enumerate(verified):
            previous = comparable(item, sets[index + 1 :])
            results.append(self.verify_set(item, previous, latest=index == 0))
        return self.report(results)

    def report(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        """The module's result from every set's; fails with the first critical findings (fail_on_critical)."""
        findings = [finding for result in results for finding in result["findings"]]
        restore_note = None
        if self.params["restore_test"] and self.check_mode:
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
            raise ModuleError(
                f"Backup verification found {len(critical)} critical problem(s): {first}"
                + (f" ({note})" if note else ""),
                **summary,
            )
        return summary

    def find_sets(self) -> list[dict[str, Any]]:
        # the configured path is trusted as it resolves now; nothing below it is followed
        path = os.path.realpath(self.params["path"])
        if not os.path.isdir(path):
            raise ModuleError(f"Cannot verify backups: path {path} is not a directory")
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
            raise ModuleError(f"Cannot verify backups: no backup set (jarvis-YYYYmmddTHHMMSSZ) under {path}")
        # Older sets are read for the size comparison even when only the newest is verified.
        return sets

    def verify_set(self, item: dict[str, Any], previous: dict[str, Any] | None, latest: bool) -> dict[str, Any]:
        """One set's findings. Whatever is wrong with this set is a finding of this set: the other sets
        are still verified. What stops the module itself (no psycopg2, no connection) is not."""
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
        except ModuleError:
            raise
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
        self.check_age(result, latest)
        if latest and previous and not sections:
            self.check_size(result, manifest, previous)
        present = self.files.check(result, set_fd, entries)
        if self.params["restore_test"] and latest and not self.check_mode:
            if sections:
                result.bad("restore", CRITICAL, result.name, "not restored: the manifest cannot be used (see above)")
            else:
                RestoreTest(self.params, self.host, self.files.tools["zstd"]).run(result, set_fd, manifest, present)

    def check_age(self, result: SetResult, latest: bool) -> None:
        moment = parse_set_name(result.name)
        if moment is None:
            return
        age = (now() - moment).total_seconds() / 3600
        result.data["age_hours"] = round(age, 2)
        if not latest:
            return
        limit = self.params["max_age_hours"]
        result.judged(
            "age",
            CRITICAL,
            age > limit,
            round(age, 2),
            limit,
            (
                f"newest backup set is {age:.1f} hours old (limit {limit:g})",
                "Check that the backup job runs and succeeds.",
                f"{age:.1f} hours old",
            ),
        )

    def check_size(self, result: SetResult, manifest: dict[str, Any], previous: dict[str, Any]) -> None:
        before, _problem = read_manifest(previous["path"])
        size = manifest.get("size")
        earlier = before.get("size") if before else None
        if not is_amount(earlier) or not earlier or not is_amount(size):
            return
        ratio = size / earlier
        result.data["size_ratio"] = round(ratio, 3)
        limit = self.params["min_size_ratio"]
        result.judged(
            "size_ratio",
            WARNING,
            ratio < limit,
            round(ratio, 3),
            limit,
            (
                f"set is {ratio:.0%} of the previous set {previous['name']} ({size} vs {earlier} bytes)",
                "Check whether data was lost or a database is missing from the backup.",
                f"{ratio:.0%} of the previous set",
            ),
        )
