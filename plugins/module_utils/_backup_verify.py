# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Proving backups: the backend of backup_verify.

Per set: the manifest, every file's presence, size and sha256, unlisted files, full decoding
of every file by its format, the set's age and its size against the previous set, and a
restore test of each database dump into a scratch database whose tables and exact row
counts must equal the manifest's. The scratch database is dropped in ``finally``.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import os
import re
import tempfile
import time
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup import (
    MANIFEST,
    list_sets,
    parse_set_name,
    read_manifest,
    set_scope,
    utcnow,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._deps import require
from ansible_collections.jarvis.maintenance.plugins.module_utils._files import sha256_file, tree_files
from ansible_collections.jarvis.maintenance.plugins.module_utils._findings import (
    CRITICAL,
    OK,
    WARNING,
    Finding,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._pg_backup import (
    client_command,
    count_rows,
    libpq_env,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._pipeline import PipelineError, run, run_pipeline
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres import connect

SCRATCH_PREFIX = "jarvis_verify_"
_SCRATCH = re.compile(r"^jarvis_verify_\d{14}_\d+$")
STALE_SCRATCH_HOURS = 24

BTREE_INDEXES_SQL = """
SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.amname = 'btree' AND i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%'
ORDER BY 1
"""


def decoders(fmt: str, path: str, tools: dict[str, Any]) -> list[tuple[list[list[str]], tuple[int, ...]]]:
    """The pipelines that decode a file of this manifest format completely (pure).

    Each is (stages, indexes of stages allowed to die of SIGPIPE). An unknown format gets none.
    tools["pg_restore"] is an argv prefix (``docker exec -i <container> pg_restore`` with client=docker):
    pg_restore always reads the archive from its stdin.
    """
    zstd, pg_restore, check_rdb = tools["zstd"], tools["pg_restore"], tools["redis_check_rdb"]
    # zstd -t reads every byte and checks each frame's checksum; tools["zstd_test"] may be
    # pzstd, which tests the frames of a pzstd-written file on several threads.
    test = [*tools.get("zstd_test", [zstd, "-q", "-t"]), path]
    if fmt == "pg_custom+zstd":
        # The TOC listing proves pg_restore can read the archive (it stops after the TOC, so zstd
        # may die of SIGPIPE there).
        return [([test], ()), ([[zstd, "-q", "-d", "-c", path], [*pg_restore, "--list"]], (0,))]
    if fmt == "pg_custom":
        return [([["cat", path], [*pg_restore, "--list"]], (0,))]
    if fmt in ("sql+zstd", "tar+zstd"):
        return [([test], ())]
    if fmt in ("sql+gzip", "pg_directory_data"):
        return [([["gzip", "-t", path]], ())] if path.endswith(".gz") else []
    if fmt == "tar+gzip":
        return [([["tar", "-tzf", path]], ())]
    if fmt == "rdb":
        return [([[check_rdb, path]], ())]
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
    return None


class SetResult:
    """Findings and counters of one set."""

    def __init__(self, name: str, path: str) -> None:
        self.name, self.path = name, path
        self.findings: list[Finding] = []
        self.passed = 0
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
            self.module.fail_json(
                msg=f"Backup verification found {len(critical)} critical problem(s): {first}", **summary
            )
        return summary

    def find_sets(self) -> list[dict[str, Any]]:
        path = self.params["path"].rstrip("/")
        if not os.path.isdir(path):
            self.module.fail_json(msg=f"Cannot verify backups: path {path} is not a directory")
        name = os.path.basename(path)
        if os.path.isfile(os.path.join(path, MANIFEST)) or parse_set_name(name):
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
        result = SetResult(item["name"], item["path"])
        manifest, problem = read_manifest(item["path"])
        if manifest is None:
            result.bad(
                "manifest",
                CRITICAL,
                f"{item['name']}/{MANIFEST}",
                problem,
                "Treat this set as unusable; take a new backup.",
            )
            return result.as_dict()
        result.data["size"] = manifest.get("size")
        result.data["finished"] = manifest.get("finished")
        result.ok("manifest", f"{item['name']}/{MANIFEST}", "manifest read")
        self.check_age(result, manifest, latest)
        if latest and previous:
            self.check_size(result, manifest, previous)
        present = self.check_files(result, manifest)
        if self.params["restore_test"] and latest and not self.module.check_mode:
            self.restore_test(result, manifest, present)
        return result.as_dict()

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
        if not before or not before.get("size") or manifest.get("size") is None:
            return
        ratio = manifest["size"] / before["size"]
        result.data["size_ratio"] = round(ratio, 3)
        limit = self.params["min_size_ratio"]
        if ratio < limit:
            result.bad(
                "size_ratio",
                WARNING,
                result.name,
                f"set is {ratio:.0%} of the previous set {previous['name']} "
                f"({manifest['size']} vs {before['size']} bytes)",
                "Check whether data was lost or a database is missing from the backup.",
                value=round(ratio, 3),
                threshold=limit,
            )
        else:
            result.ok("size_ratio", result.name, f"{ratio:.0%} of the previous set", round(ratio, 3))

    def check_files(self, result: SetResult, manifest: dict[str, Any]) -> set[str]:
        """Presence and size of every listed file, then (side by side, largest file first) the sha256
        and, with decode, the full decoding of each present one; returns the sound files (present,
        right size, checksum matching when checked). A file whose checksum fails gets that one finding."""
        root = result.path
        present: dict[str, int] = {}
        listed = set()
        for entry in manifest["files"]:
            relative = entry.get("path", "")
            listed.add(relative)
            subject = f"{result.name}/{relative}"
            full = os.path.join(root, relative)
            if not os.path.isfile(full):
                result.bad(
                    "file_missing",
                    CRITICAL,
                    subject,
                    "file listed in the manifest is missing",
                    "Treat this set as incomplete; take a new backup.",
                )
                continue
            size = os.path.getsize(full)
            if size != entry.get("size"):
                result.bad(
                    "file_size",
                    CRITICAL,
                    subject,
                    f"size is {size} bytes, the manifest says {entry.get('size')} (truncated or replaced)",
                    "Do not restore from this file.",
                    value=size,
                    threshold=entry.get("size"),
                )
                continue
            present[relative] = size
        digests, problems = self.hash_and_decode(result, manifest, present)
        sound = set()
        decoded = 0
        for entry in manifest["files"]:
            relative = entry.get("path", "")
            if relative not in present:
                continue
            subject = f"{result.name}/{relative}"
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
        for relative in tree_files(root):
            if relative != MANIFEST and relative not in listed:
                result.bad("unlisted_file", WARNING, f"{result.name}/{relative}", "file is not in the manifest")
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
            self.list_directories(result, manifest, sound)
            result.passed += decoded
            result.findings.append(
                Finding("decode", OK, result.name, decoded, None, f"{decoded} file(s) decoded completely")
            )
        return sound

    def hash_and_decode(
        self, result: SetResult, manifest: dict[str, Any], present: dict[str, int]
    ) -> tuple[dict[str, str], dict[str, str | None]]:
        """sha256 (with checksums) and the decoding pipelines (with decode) of the present files, one per
        CPU at a time, the largest file's work first. Returns the digests and, per decoded file, the first
        pipeline's failure or None."""
        formats = {entry.get("path", ""): entry.get("format") or "" for entry in manifest["files"]}
        units: list[tuple[int, int, str, Any]] = []
        for relative, size in present.items():
            full = os.path.join(result.path, relative)
            if self.params["decode"]:
                fmt = "pg_directory_data" if formats[relative] == "pg_directory" else formats[relative]
                for order, pipeline in enumerate(decoders(fmt, full, self.tools)):
                    units.append((-size, order, relative, pipeline))
            if self.params["checksums"]:
                units.append((-size, 99, relative, None))
        units.sort(key=lambda unit: unit[:3])

        def work(unit: tuple[int, int, str, Any]) -> str | None:
            full = os.path.join(result.path, unit[2])
            if unit[3] is None:
                return sha256_file(full)
            stages, sigpipe_ok = unit[3]
            try:
                if len(stages) == 1:  # no pipe: no shell either
                    run(self.module, stages[0], timeout=self.params["restore_timeout"])
                else:
                    run_pipeline(self.module, stages, timeout=self.params["restore_timeout"], sigpipe_ok=sigpipe_ok)
            except PipelineError as exc:
                return str(exc)
            return None

        digests: dict[str, str] = {}
        problems: dict[str, str | None] = {}
        if not units:
            return digests, problems
        workers = max(1, min(len(units), os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(work, units))
        for (_size, _order, relative, pipeline), outcome in zip(units, outcomes):
            if pipeline is None:
                digests[relative] = outcome or ""
            elif problems.get(relative) is None:
                problems[relative] = outcome
        return digests, problems

    def list_directories(self, result: SetResult, manifest: dict[str, Any], sound: set[str]) -> None:
        """pg_restore --list of each directory-format dump whose files are all sound."""
        directories: dict[str, bool] = {}
        for entry in manifest["files"]:
            if entry.get("format") == "pg_directory":
                relative = entry.get("path", "")
                top = relative.split("/")[0]
                directories[top] = directories.get(top, True) and relative in sound
        for directory, whole in sorted(directories.items()):
            if not whole:
                continue
            try:
                run(
                    self.module,
                    [*self.tools["pg_restore"], "--list", os.path.join(result.path, directory)],
                    timeout=600,
                )
            except PipelineError as exc:
                result.bad("decode", CRITICAL, f"{result.name}/{directory}", f"cannot be listed: {exc}")

    # -- restore test --------------------------------------------------------------
    def restore_test(self, result: SetResult, manifest: dict[str, Any], sound: set[str]) -> None:
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
            stamp = utcnow()
            for index, (database, detail) in enumerate(sorted(databases.items())):
                restores[database] = self.restore_one(
                    admin, psycopg2, result, database, detail, sound, scratch_name(stamp, index)
                )
        finally:
            admin.close()
        result.data["restore"] = restores
        result.data["restore_seconds"] = round(sum(r.get("seconds") or 0 for r in restores.values()), 3)
        result.data["row_count_mismatches"] = [
            {"database": db, **problem} for db, r in restores.items() for problem in r.get("mismatches", [])
        ]

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
        try:
            with admin.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(scratch)))
            source = os.path.join(result.path, relative)
            compressed = detail.get("format") == "pg_custom+zstd"
            if compressed and self.params["restore_jobs"] > 1 and self.params["client"] == "host":
                # pg_restore -j needs a seekable file: decompress a copy first.
                handle, temp = tempfile.mkstemp(prefix="jarvis-verify-", suffix=".dump", dir=self.params["scratch_dir"])
                os.close(handle)
                run_pipeline(
                    self.module,
                    [[self.tools["zstd"], "-q", "-d", "-c", source]],
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
        except (PipelineError, psycopg2.Error, OSError) as exc:
            reason = str(exc).strip().replace("\n", " ")
            result.bad(
                "restore",
                CRITICAL,
                subject,
                f"restore of {database} into {scratch} failed: {reason}",
                "Do not rely on this backup; take a new one and verify it.",
            )
        finally:
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
        stages = [[self.tools["zstd"], "-q", "-d", "-c", source], restore] if compressed else [restore]
        stdin = source if not compressed and os.path.isfile(source) and source not in restore else None
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
