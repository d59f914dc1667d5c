# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PostgreSQL dumps with row counts from the same snapshot: the backend of pg_backup.

For each database one session opens a REPEATABLE READ transaction and exports its snapshot;
``pg_dump --snapshot`` dumps exactly that snapshot while the session counts every table's rows
in it, so the counts in the manifest are the counts in the dump. ``pg_dump -Fc -Z0 | zstd``
runs as a pipeline whose every exit status is checked.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import threading
import time
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup import iso, utcnow
from ansible_collections.jarvis.maintenance.plugins.module_utils._deps import require
from ansible_collections.jarvis.maintenance.plugins.module_utils._files import file_entry, tree_files
from ansible_collections.jarvis.maintenance.plugins.module_utils._pipeline import PipelineError, run_pipeline
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres import (
    connect,
    connection_kwargs,
    describe_target,
)

DATABASES_SQL = """
SELECT datname, pg_database_size(oid) FROM pg_database
WHERE datallowconn AND NOT datistemplate ORDER BY datname
"""

# Tables whose rows pg_dump dumps: ordinary and partition tables, not temporary, not in
# system schemas, not members of an extension.
TABLES_SQL = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%%'
  AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY 1, 2
"""

COUNT_BATCH = 100
_SAFE = re.compile(r"[^A-Za-z0-9._-]")

FORMATS = {
    # (format, compression) -> (file suffix, manifest format)
    ("custom", "zstd"): (".dump.zst", "pg_custom+zstd"),
    ("custom", "gzip"): (".dump", "pg_custom"),
    ("custom", "none"): (".dump", "pg_custom"),
    ("directory", "gzip"): (".dir", "pg_directory"),
    ("directory", "none"): (".dir", "pg_directory"),
}
GLOBALS = {
    "zstd": ("postgres-globals.sql.zst", "sql+zstd"),
    "gzip": ("postgres-globals.sql.gz", "sql+gzip"),
    "none": ("postgres-globals.sql", "sql"),
}


def file_stem(database: str) -> str:
    """A file name for a database name (any byte is legal in one): unsafe bytes as %XX."""
    return "postgres-" + _SAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), database)


def client_argument_spec() -> dict[str, dict[str, Any]]:
    """Where pg_dump / pg_restore run; documented in doc_fragments/postgres.py (CLIENT)."""
    return {
        "client": {"type": "str", "choices": ["host", "docker"], "default": "host"},
        "bin_dir": {"type": "path"},
        "docker_container": {"type": "str"},
        "docker_binary": {"type": "str", "default": "docker"},
        "docker_login_host": {"type": "str"},
        "docker_login_port": {"type": "int"},
    }


def libpq_env(params: dict[str, Any], base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for pg_dump / pg_restore / pg_dumpall from the connection options (pure).

    Without base, only the variables to set (for run_command's environ_update); with base, a
    copy of base with them applied and the connection variables not set removed. The password
    travels in PGPASSWORD, never on a command line.
    """
    env = dict(base) if base is not None else {}
    for key in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "PGSSLROOTCERT"):
        env.pop(key, None)
    host = params.get("login_unix_socket") or params.get("login_host")
    pairs = {
        "PGHOST": host,
        "PGPORT": params.get("login_port"),
        "PGUSER": params.get("login_user") or "postgres",
        "PGPASSWORD": params.get("login_password"),
        "PGSSLMODE": params.get("ssl_mode"),
        "PGSSLROOTCERT": params.get("ca_cert"),
        "PGCONNECT_TIMEOUT": params.get("connect_timeout"),
        "PGAPPNAME": "jarvis.maintenance",
    }
    env.update({key: str(value) for key, value in pairs.items() if value not in (None, "")})
    return env


def client_command(params: dict[str, Any], program: str, args: list[str], stdin: bool = False) -> list[str]:
    """argv for a PostgreSQL client program on this host or inside the PostgreSQL container (pure).

    In the container the program connects over the container's own socket (or
    docker_login_host / docker_login_port) as login_user; PGPASSWORD is passed by name with
    ``-e`` so its value stays off the command line.
    """
    if params.get("client") == "docker":
        command = [params.get("docker_binary") or "docker", "exec"]
        if stdin:
            command.append("-i")
        if params.get("login_password"):
            command += ["-e", "PGPASSWORD"]
        command += [
            "-e",
            "PGAPPNAME",
            params["docker_container"],
            program,
            "--username",
            params.get("login_user") or "postgres",
        ]
        if params.get("docker_login_host"):
            command += ["--host", params["docker_login_host"]]
        if params.get("docker_login_port"):
            command += ["--port", str(params["docker_login_port"])]
        return command + args
    binary = os.path.join(params["bin_dir"], program) if params.get("bin_dir") else program
    return [binary, *args]


def dump_args(
    database: str,
    snapshot: str | None,
    fmt: str,
    compression: str,
    level: int,
    jobs: int,
    lock_wait_timeout: str,
    target: str | None,
) -> list[str]:
    """pg_dump's arguments (pure)."""
    args = ["--no-password", f"--format={fmt}", f"--lock-wait-timeout={lock_wait_timeout}"]
    args.append(f"--compress={level if compression == 'gzip' else 0}")
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    if fmt == "directory":
        args += [f"--jobs={jobs}", f"--file={target}"]
    args += ["--dbname", conninfo_dbname(database)]
    return args


def conninfo_dbname(database: str) -> str:
    """A database name as a libpq connection string (pure): a name containing '=' or starting
    with postgresql:// would otherwise be read as connection settings."""
    escaped = database.replace("\\", "\\\\").replace("'", "\\'")
    return f"dbname='{escaped}'"


def compressor(compression: str, level: int) -> list[str] | None:
    """The one-process compressor of a stream (pure): restore tests and globals use it too."""
    if compression == "zstd":
        return ["zstd", "-q", "-T0", f"-{level}", "-c"]
    if compression == "gzip":
        return ["gzip", "-c", f"-{level}"]
    return None


def compress_stages(compression: str, level: int, threads: int, pzstd: str | None) -> list[list[str]]:
    """The stages after pg_dump -Fc -Z0 that compress the archive (pure).

    With more than one thread and pzstd (zstd's parallel front end, in the same package) at hand,
    pzstd compresses on every thread into independent zstd frames: any zstd reads them, and
    pzstd decompresses them in parallel. Measured on pgbench data it keeps up with pg_dump where
    ``zstd -T0`` does not (benchmarks/backup.py). pzstd only says "Failed to write output" when
    a write fails, so ``cat`` writes the file and names the cause (ENOSPC).
    """
    if compression == "zstd" and pzstd and threads > 1:
        return [[pzstd, "-q", "-p", str(threads), f"-{level}", "-c"], ["cat"]]
    squeeze = compressor(compression, level)
    if squeeze and compression == "zstd" and threads:
        squeeze[2] = f"-T{threads}"
    return [squeeze] if squeeze else []


def dump_order(sizes: dict[str, int], databases: list[str]) -> list[str]:
    """Largest database first (pure): with several dumps at a time, the long one starts at once
    and the small ones run beside it."""
    return sorted(databases, key=lambda name: (-sizes.get(name, 0), name))


def check_params(params: dict[str, Any]) -> str | None:
    """Why these parameters cannot work, or None (pure). Names the parameter."""
    key = (params["format"], params["compression"])
    if key not in FORMATS:
        return (
            f"compression={params['compression']} does not work with format={params['format']}: "
            "PostgreSQL 15's pg_dump compresses directory dumps with gzip only"
        )
    level = params["compression_level"]
    limits = {"zstd": (1, 19), "gzip": (1, 9), "none": (0, 9)}[params["compression"]]
    if not limits[0] <= level <= limits[1]:
        return f"compression_level must be between {limits[0]} and {limits[1]} for {params['compression']}, got {level}"
    if params["jobs"] < 1:
        return f"jobs must be 1 or more, got {params['jobs']}"
    if params["concurrency"] < 1:
        return f"concurrency must be 1 or more, got {params['concurrency']}"
    if params["compression_threads"] < 0:
        return f"compression_threads must be 0 (every CPU) or more, got {params['compression_threads']}"
    if params["timeout"] <= 0:
        return f"timeout must be more than 0 seconds, got {params['timeout']}"
    if params["client"] == "docker":
        if not params.get("docker_container"):
            return "docker_container is required with client=docker"
        if params["format"] == "directory":
            return "format=directory needs client=host (a directory dump is written where pg_dump runs)"
    overlap = set(params["databases"]) & set(params["exclude_databases"])
    if overlap:
        return f"databases and exclude_databases both name {', '.join(sorted(overlap))}"
    return None


def count_sql(tables: list[tuple[str, str]], sql: Any) -> Any:
    """One query counting the rows of each table (ONLY: inheritance children are dumped on their own)."""
    parts = [
        sql.SQL("SELECT {}::int, count(*) FROM ONLY {}.{}").format(
            sql.Literal(index), sql.Identifier(schema), sql.Identifier(table)
        )
        for index, (schema, table) in enumerate(tables)
    ]
    return sql.SQL(" UNION ALL ").join(parts)


def count_rows(cursor: Any, sql: Any) -> dict[str, int]:
    """Exact row counts of every dumped table, as {"schema.table": rows}, in the cursor's snapshot."""
    cursor.execute(TABLES_SQL)
    tables = list(cursor.fetchall())
    counts: dict[str, int] = {}
    for start in range(0, len(tables), COUNT_BATCH):
        batch = tables[start : start + COUNT_BATCH]
        cursor.execute(count_sql(batch, sql))
        for index, rows in cursor.fetchall():
            schema, table = batch[index]
            counts[f"{schema}.{table}"] = rows
    return dict(sorted(counts.items()))


class BackupError(Exception):
    """A dump that failed; its message is the module's failure message."""


class NotStarted(BackupError):
    """A dump not started because another one had failed."""


class PgBackup:
    """Backend of the pg_backup module."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params
        self.psycopg2 = require(module, "psycopg2", "psycopg2-binary")
        self.sql = require(module, "psycopg2.sql", "psycopg2-binary")
        self.env = libpq_env(self.params)
        self.stop = threading.Event()
        self.written: list[str] = []
        self.lock = threading.Lock()

    def fail(self, msg: str, **extra: Any) -> None:
        self.module.fail_json(msg=msg, **extra)

    def run(self) -> dict[str, Any]:
        problem = check_params(self.params)
        if problem:
            self.fail(f"Cannot back up PostgreSQL: {problem}")
        conn = connect(self.module)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT current_setting('server_version'), current_setting('server_version_num')::int")
                version, version_num = cursor.fetchone()
                cursor.execute(DATABASES_SQL)
                sizes = dict(cursor.fetchall())
        finally:
            conn.close()
        databases = self.select(sizes)
        fmt, compression = self.params["format"], self.params["compression"]
        suffix, label = FORMATS[(fmt, compression)]
        planned = [
            {"database": name, "file": file_stem(name) + suffix, "format": label, "database_size": sizes[name]}
            for name in databases
        ]
        if self.params["globals"]:
            planned.append({"database": None, "file": GLOBALS[compression][0], "format": GLOBALS[compression][1]})
        result: dict[str, Any] = {
            "changed": True,
            "server_version": version,
            "server_version_num": version_num,
            "planned": planned,
        }
        if self.module.check_mode:
            return result
        dest = self.params["dest"]
        try:
            os.makedirs(dest, mode=0o700, exist_ok=True)
        except OSError as exc:
            self.fail(f"Cannot back up PostgreSQL: cannot create dest {dest}: {exc}")
        started, began = utcnow(), time.monotonic()
        deadline = began + self.params["timeout"]
        threads = self.params["compression_threads"] or os.cpu_count() or 1
        pzstd = self.module.get_bin_path("pzstd") if compression == "zstd" and threads > 1 else None
        self.squeeze = compress_stages(compression, self.params["compression_level"], threads, pzstd)
        tasks: list[str | None] = list(dump_order(sizes, databases))
        if self.params["globals"]:
            tasks.append(None)
        done = self.dump_all(tasks, suffix, label, deadline)
        files: list[dict[str, Any]] = []
        details: dict[str, Any] = {}
        for name in databases:
            details[name], entries = done[name]
            files += entries
        if self.params["globals"]:
            files += done[None][1]
        finished = utcnow()
        result.update(
            files=files,
            databases=details,
            started_at=iso(started),
            finished_at=iso(finished),
            seconds=round(time.monotonic() - began, 3),
            size=sum(entry["size"] for entry in files),
        )
        if pzstd:
            result["compressor"] = "pzstd"
        elif self.squeeze:
            result["compressor"] = self.squeeze[0][0]
        return result

    def dump_all(
        self, tasks: list[str | None], suffix: str, label: str, deadline: float
    ) -> dict[str | None, tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Runs the dumps, O(concurrency) at a time; None is the globals. On the first failure no
        other dump starts, the running ones finish, every file this run wrote is removed and the
        module fails with the first failure's message."""

        def one(name: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            if self.stop.is_set():
                raise NotStarted("not started: an earlier dump failed")
            try:
                if name is None:
                    return {}, [self.dump_globals(deadline)]
                return self.dump_database(name, suffix, label, deadline)
            except BackupError:
                self.stop.set()
                raise

        workers = max(1, min(self.params["concurrency"], len(tasks)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(one, name) for name in tasks]
            concurrent.futures.wait(futures)
        failures = [future.exception() for future in futures if future.exception() is not None]
        if failures:
            for target in self.written:
                self.discard(target)
            first = next((exc for exc in failures if not isinstance(exc, NotStarted)), failures[0])
            if isinstance(first, BackupError):
                self.fail(str(first))
            raise first
        return {name: future.result() for name, future in zip(tasks, futures)}

    def select(self, sizes: dict[str, int]) -> list[str]:
        wanted = self.params["databases"] or list(sizes)
        unknown = [name for name in wanted if name not in sizes]
        if unknown:
            self.fail(
                f"Cannot back up PostgreSQL: databases lists {', '.join(unknown)}, not on the server "
                f"(it has {', '.join(sizes)})"
            )
        chosen = [name for name in wanted if name not in self.params["exclude_databases"]]
        if not chosen:
            self.fail("Cannot back up PostgreSQL: no database left after exclude_databases")
        return chosen

    def remaining(self, deadline: float, what: str) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BackupError(f"Cannot back up {what}: timeout of {self.params['timeout']} s reached before it started")
        return left

    def claim(self, target: str) -> None:
        """Remember a file this run writes, to remove it when any dump fails."""
        with self.lock:
            self.written.append(target)

    def dump_database(
        self, name: str, suffix: str, label: str, deadline: float
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        params, sql = self.params, self.sql
        dest = params["dest"]
        relative = file_stem(name) + suffix
        target = os.path.join(dest, relative)
        timeout = self.remaining(deadline, f"database {name}")
        began = time.monotonic()
        self.claim(target)
        try:
            conn = self.psycopg2.connect(**connection_kwargs(params, name))
        except self.psycopg2.Error as exc:
            reason = str(exc).strip().replace("\n", " ")
            raise BackupError(
                f"Cannot back up database {name}: cannot connect to {describe_target(params)}: {reason}"
            ) from None
        try:
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            cursor = conn.cursor()
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", (f"{int(timeout * 1000)}ms",))
            # The counts wait for table locks no longer than pg_dump does.
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", (params["lock_wait_timeout"],))
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            args = dump_args(
                name,
                snapshot,
                params["format"],
                params["compression"],
                params["compression_level"],
                params["jobs"],
                params["lock_wait_timeout"],
                target,
            )
            stages = [client_command(params, "pg_dump", args)]
            if params["format"] == "custom" and params["compression"] == "zstd":
                stages += self.squeeze
            stdout = None if params["format"] == "directory" else target
            counts = run_pipeline(
                self.module,
                stages,
                env=self.env,
                stdout_path=stdout,
                timeout=timeout,
                while_running=(lambda: count_rows(cursor, sql)) if params["count_rows"] else None,
            )
        except PipelineError as exc:
            self.discard(target)
            raise BackupError(f"Cannot back up database {name}: {exc}") from None
        except self.psycopg2.Error as exc:
            self.discard(target)
            reason = str(exc).strip().replace("\n", " ")
            if getattr(exc, "pgcode", None) == "57014":  # query_canceled: our statement_timeout
                reason = f"timed out after {params['timeout']} s (timeout) while counting rows: {reason}"
            elif getattr(exc, "pgcode", None) == "55P03":  # lock_not_available
                reason = f"a table stayed locked longer than lock_wait_timeout={params['lock_wait_timeout']}: {reason}"
            raise BackupError(f"Cannot back up database {name}: {reason}") from None
        except OSError as exc:
            self.discard(target)
            raise BackupError(f"Cannot back up database {name} to {target}: {exc}") from None
        finally:
            conn.close()
        if params["format"] == "directory":
            entries = [file_entry(dest, f"{relative}/{inner}") for inner in tree_files(target)]
        else:
            entries = [file_entry(dest, relative)]
        for entry in entries:
            entry.update(kind="postgres", format=label, database=name)
        detail = {
            "file": relative,
            "format": label,
            "seconds": round(time.monotonic() - began, 3),
            "size": sum(entry["size"] for entry in entries),
        }
        if counts is not None:
            detail.update(tables=counts, table_count=len(counts), row_count=sum(counts.values()))
        return detail, entries

    def dump_globals(self, deadline: float) -> dict[str, Any]:
        relative, label = GLOBALS[self.params["compression"]]
        target = os.path.join(self.params["dest"], relative)
        self.claim(target)
        stages = [client_command(self.params, "pg_dumpall", ["--no-password", "--globals-only"])]
        squeeze = compressor(self.params["compression"], self.params["compression_level"])
        if squeeze:
            stages.append(squeeze)
        try:
            run_pipeline(
                self.module, stages, env=self.env, stdout_path=target, timeout=self.remaining(deadline, "globals")
            )
        except (PipelineError, OSError) as exc:
            self.discard(target)
            raise BackupError(f"Cannot back up PostgreSQL globals (roles, tablespaces): {exc}") from None
        entry = file_entry(self.params["dest"], relative)
        entry.update(kind="postgres_globals", format=label)
        return entry

    @staticmethod
    def discard(target: str) -> None:
        if os.path.isdir(target):
            shutil.rmtree(target, ignore_errors=True)
        elif os.path.exists(target):
            os.unlink(target)
