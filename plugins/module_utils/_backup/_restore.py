# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The restore test of backup_verify: each database dump of a set restored into a scratch database.

First the restore server's free space is compared with what the restore needs (plus
restore_space_margin); then each dump goes into its own scratch database (``jarvis_verify_...``),
streamed through zstd into pg_restore or with ``--jobs`` from a decompressed copy, and the restored
tables and their exact row counts must equal the manifest's (with amcheck, every btree index is
checked too). The scratch database is dropped in ``finally``; ones left by a killed run (more than a
day old) are dropped first.
"""

from __future__ import annotations

import datetime
import os
import re
import tempfile
import time
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._result import SetResult, human, is_amount
from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._set import open_planned
from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs as fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import need
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import CRITICAL, WARNING
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import (
    PipelineError,
    run,
    run_pipeline,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import margin_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import (
    check_btree_indexes,
    client_command,
    count_rows,
    docker_exec,
    libpq_env,
    open_connection,
    parse_df,
    pg_reason,
    postmaster_matches,
)

SCRATCH_PREFIX = "jarvis_verify_"
# Without the database's own size in the manifest, a restored database is estimated at this many
# times its compressed dump (zstd custom dumps of ordinary data are 4-10x smaller than the database
# with its indexes; highly repetitive data compresses far more: record database_size then).
RESTORE_SIZE_FACTOR = 10.0
_SCRATCH = re.compile(r"^jarvis_verify_\d{14}_\d+$")
STALE_SCRATCH_HOURS = 24


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


def restore_need(databases: dict[str, Any], factor: float, keep_scratch: bool) -> tuple[int, str]:
    """Bytes a restore test needs on the restore server and how that was estimated (pure).

    A database counts its recorded database_size, else its dump's size times factor. The scratch
    databases are restored and dropped one after the other, so the need is the largest one; with
    keep_scratch they stay, so it is their sum."""
    sizes, estimated = [], []
    for name, detail in sorted(databases.items()):
        size = detail.get("database_size")
        if is_amount(size):
            sizes.append(int(size))
            continue
        dump = detail.get("size")
        sizes.append(int(dump * factor) if is_amount(dump) else 0)
        estimated.append(name)
    need = (sum(sizes) if keep_scratch else max(sizes)) if sizes else 0
    if not estimated:
        basis = "the database sizes in the manifest"
    elif len(estimated) == len(sizes):
        basis = f"the dump sizes times restore_size_factor={factor:g}"
    else:
        basis = f"database sizes, and dump sizes times restore_size_factor={factor:g} for {', '.join(estimated)}"
    return need, basis + (" (all kept: keep_scratch)" if keep_scratch and len(sizes) > 1 else "")


class RestoreTest:
    """Restores the database dumps of one set into scratch databases and compares what came back."""

    def __init__(self, params: dict[str, Any], host: Any, zstd: str) -> None:
        self.params, self.host, self.zstd = params, host, zstd
        self.psycopg2 = need("psycopg2", "psycopg2-binary")
        self.sql = need("psycopg2.sql", "psycopg2-binary")

    def run(self, result: SetResult, set_fd: int, manifest: dict[str, Any], sound: set[str]) -> None:
        databases = (manifest.get("postgres") or {}).get("databases") or {}
        if not databases:
            result.bad("restore", WARNING, result.name, "the set holds no PostgreSQL dump to restore")
            return
        admin = open_connection(self.params)
        restores: dict[str, Any] = {}
        try:
            self.drop_leftovers(admin, result)
            if not self.check_space(admin, result, databases):
                result.data["restore"] = restores
                return
            moment = _time.now()
            for index, (database, detail) in enumerate(sorted(databases.items())):
                restores[database] = self.restore_one(
                    admin, result, set_fd, database, detail, sound, scratch_name(moment, index)
                )
        finally:
            admin.close()
        result.data["restore"] = restores
        result.data["restore_seconds"] = round(sum(r.get("seconds") or 0 for r in restores.values()), 3)
        result.data["row_count_mismatches"] = [
            {"database": db, **problem} for db, r in restores.items() for problem in r.get("mismatches", [])
        ]

    # -- room on the restore server -------------------------------------------------
    def check_space(self, admin: Any, result: SetResult, databases: dict[str, Any]) -> bool:
        """Whether the restore server has room for the restore test plus restore_space_margin; a critical
        finding naming both numbers (and nothing restored) when it has not, a warning when its free space
        cannot be known from this host."""
        params = self.params
        need_bytes, basis = restore_need(databases, params["restore_size_factor"], params["keep_scratch"])
        where, unknown = self.space_path(admin)
        space: dict[str, Any] = {"needed": need_bytes, "basis": basis, "path": where}
        measured: tuple[int, int] | None = None
        if where is not None and self.space_in_container():
            # the cluster's data directory is inside the PostgreSQL container: measured there
            try:
                measured = parse_df(run(self.host, [*docker_exec(params), "df", "-Pk", where], timeout=60))
            except (PipelineError, ValueError) as exc:
                where, unknown = None, f"df in container {params['docker_container']} failed ({exc})"
            space.update(path=where, container=params["docker_container"])
        result.data["restore_space"] = space
        if where is None:
            result.bad(
                "restore_space",
                WARNING,
                result.name,
                f"free space on the restore server not checked: {unknown}; the restore needs about "
                f"{human(need_bytes)}, estimated from {basis}",
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
        if free - need_bytes < margin:
            result.bad(
                "restore_space",
                CRITICAL,
                result.name,
                f"restore test refused, nothing restored: it needs about {human(need_bytes)}, estimated from "
                f"{basis}, and restore_space_margin={params['restore_space_margin']} keeps {human(margin)} free, "
                f"but {where} has {human(free)} free",
                "Restore on a separate, throwaway restore server (dr_test_restore_host), free space on this one, "
                "or lower restore_space_margin.",
                value=free,
                threshold=need_bytes + margin,
            )
            return False
        result.ok(
            "restore_space",
            result.name,
            f"{human(free)} free on {where}: room for the restore (about {human(need_bytes)}) and "
            f"restore_space_margin ({human(margin)})",
            free,
        )
        return True

    def space_in_container(self) -> bool:
        """Whether the restore server is the PostgreSQL container's (client=docker, no path given)."""
        return self.params["client"] == "docker" and not self.params.get("restore_free_space_path")

    def space_path(self, admin: Any) -> tuple[str | None, str | None]:
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
        except self.psycopg2.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            return None, f"the login role cannot read data_directory ({reason}: superuser or pg_read_all_settings)"
        if self.space_in_container():
            return directory, None
        try:
            with open(os.path.join(directory, "postmaster.pid"), encoding="utf-8") as handle:
                pid_file = handle.read(4096)
        except (OSError, UnicodeDecodeError):
            return None, f"its data directory {directory} is not on this host"
        if not postmaster_matches(pid_file, directory, port, started):
            return None, f"{directory} on this host belongs to another server than the restore server"
        return directory, None

    # -- scratch databases -----------------------------------------------------------
    def drop(self, admin: Any, name: str) -> None:
        with admin.cursor() as cursor:
            cursor.execute(self.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(self.sql.Identifier(name)))

    def drop_leftovers(self, admin: Any, result: SetResult) -> None:
        """Scratch databases left by a killed run: named by this module and older than a day
        (a younger one may belong to a restore test running now on another host)."""
        with admin.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'jarvis\\_verify\\_%%'")
            names = [row[0] for row in cursor.fetchall() if is_stale_scratch(row[0], _time.now())]
        for name in names:
            self.drop(admin, name)
        if names:
            result.data["dropped_leftover_scratch"] = names

    def restore_one(
        self,
        admin: Any,
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
                source_fd = open_planned(set_fd, relative, result.planned[relative])
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
                    self.host,
                    [[self.zstd, "-q", "-d", "-c"]],
                    stdin_path=source,
                    stdout_path=temp,
                    timeout=self.params["restore_timeout"],
                )
                source, compressed = temp, False
            self.pg_restore(source, scratch, compressed)
            outcome["restore_seconds"] = round(time.monotonic() - began, 3)
            conn = open_connection(self.params, database=scratch)
            try:
                with conn.cursor() as cursor:
                    restored = count_rows(cursor, sql)
                    if self.params["amcheck"]:
                        outcome["amcheck"] = self.amcheck(cursor, result, database)
            finally:
                conn.close()
            self.compare(result, subject, outcome, detail.get("tables"), restored)
        except (PipelineError, self.psycopg2.Error, OSError, fs.UnsafePath) as exc:
            reason = pg_reason(exc)
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
                self.drop(admin, scratch)
                outcome["scratch_dropped"] = True
        return outcome

    def pg_restore(self, source: str, scratch: str, compressed: bool) -> None:
        """Restore source into scratch: streamed through zstd into one pg_restore (no copy on disk),
        or with --jobs from an uncompressed file."""
        params = self.params
        args = ["--no-password", "--exit-on-error", "--dbname", scratch]
        if not params["restore_owner"]:
            args += ["--no-owner", "--no-privileges"]
        if params["client"] == "docker":
            restore = client_command(params, "pg_restore", args, stdin=True)
        elif compressed or params["restore_jobs"] == 1 or os.path.isdir(source):
            restore = client_command(params, "pg_restore", args + ([source] if os.path.isdir(source) else []))
        else:
            restore = client_command(params, "pg_restore", [f"--jobs={params['restore_jobs']}", *args, source])
        stages = [[self.zstd, "-q", "-d", "-c"], restore] if compressed else [restore]
        # zstd refuses the /proc/<pid>/fd link by name: the dump goes on the first stage's stdin
        stdin = source if os.path.isfile(source) and source not in restore else None
        run_pipeline(self.host, stages, env=libpq_env(params), stdin_path=stdin, timeout=params["restore_timeout"])

    # -- what came back ----------------------------------------------------------------
    def compare(
        self,
        result: SetResult,
        subject: str,
        outcome: dict[str, Any],
        expected: dict[str, int] | None,
        restored: dict[str, int],
    ) -> None:
        """The restored tables and rows against the manifest's counts: a finding, and the outcome's numbers."""
        outcome["tables"] = len(restored)
        outcome["rows"] = sum(restored.values())
        if expected is None:
            result.bad("row_counts", WARNING, subject, "the manifest has no row counts to compare with")
            return
        outcome["mismatches"] = compare_counts(expected, restored)
        if outcome["mismatches"]:
            shown = ", ".join(f"{m['table']} {m['expected']}→{m['restored']}" for m in outcome["mismatches"][:5])
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

    def amcheck(self, cursor: Any, result: SetResult, database: str) -> dict[str, Any]:
        try:
            indexes, failed = check_btree_indexes(cursor, self.psycopg2)
        except self.psycopg2.Error as exc:
            result.bad("amcheck", WARNING, database, f"amcheck is not available: {str(exc).strip()}")
            return {"checked": 0}
        for index, error in failed.items():
            result.bad("amcheck", CRITICAL, f"{database}.{index}", f"btree check failed: {error}")
        if not failed:
            result.ok("amcheck", database, f"{len(indexes)} btree index(es) pass bt_index_check", len(indexes))
        return {"checked": len(indexes), "failed": list(failed)}
