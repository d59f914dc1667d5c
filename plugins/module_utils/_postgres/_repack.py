# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pg_repack for pg_maintenance: whether it can run here, what each rewrite needs, and running it.

pg_repack (Debian's postgresql-<major>-repack: the pg_repack extension in each database and the
client program) rewrites a table, or rebuilds an index, while the table keeps serving: it takes
an ACCESS EXCLUSIVE lock only for a moment at the start and for the final swap. It follows the
changes made meanwhile through a trigger and a log table, so a table needs a primary key or a
unique index on NOT NULL columns, and it needs room for a second copy of the table and its
indexes (and the WAL that writes it) while the old one still exists.

Lock waits: pg_repack asks for its lock again and again, each time with its own lock_timeout
(100 ms, then 200 ms... up to 1 s), and gives up after --wait-timeout whole seconds;
--no-kill-backend makes it give up instead of cancelling, then terminating, the sessions in
the way. pg_maintenance always passes --no-kill-backend, and --wait-timeout from its own
lock_timeout rounded up to a whole second.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import OK, WARNING, Finding
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import PipelineError, run, tail
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import (
    client_command,
    docker_exec,
    in_container,
    libpq_env,
    parse_df,
    postmaster_matches,
)

EXTENSION = "pg_repack"
PROGRAM = "pg_repack"
# the trigger a running (or interrupted) pg_repack keeps on its table: 1.4's name, then older ones'
TRIGGERS = ("repack_trigger", "z_repack_trigger")
# what pg_repack prints when --no-kill-backend made it give a table up
GAVE_UP = re.compile(r"due to timeout|timed out, do not cancel|do not cancel them and skip", re.IGNORECASE)
VERSION = re.compile(r"pg_repack\s+(\d+(?:\.\d+)+)")
TIMEOUT_EXIT = 124  # timeout(1)
SIGINT_GRACE = 60  # seconds pg_repack gets to clean up after SIGINT before SIGKILL

SERVER_SQL = """
SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pg_repack') AS extension,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       current_user AS login,
       current_setting('server_version_num')::int / 10000 AS major,
       pg_size_bytes(current_setting('max_wal_size')) AS max_wal_bytes
"""
# superuser only (pg_repack needs one anyway); what postmaster.pid says of the server
DATA_DIR_SQL = """
SELECT current_setting('data_directory') AS data_directory, current_setting('port')::int AS port,
       extract(epoch FROM pg_postmaster_start_time())::float8 AS started
"""
# The relations to rewrite, by their quoted names. has_key is pg_repack's own rule (its
# repack.primary_keys view): a valid unique index without predicate or expression whose
# columns are all NOT NULL.
TARGETS_SQL = """
SELECT x.name AS given, c.relkind::text AS kind,
       CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid)
            ELSE pg_table_size(c.oid) + pg_indexes_size(c.oid) END AS bytes,
       CASE WHEN c.reltablespace = 0 THEN NULL ELSE pg_tablespace_location(c.reltablespace) END AS tablespace,
       c.relkind = 'i' OR EXISTS (
         SELECT FROM pg_index i
          WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
            AND 0 <> ALL (i.indkey)
            AND NOT EXISTS (SELECT FROM pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey) AND NOT a.attnotnull)) AS has_key,
       EXISTS (SELECT FROM pg_trigger t
                WHERE t.tgrelid = coalesce((SELECT indrelid FROM pg_index WHERE indexrelid = c.oid), c.oid)
                  AND t.tgname = ANY (%(triggers)s)) AS leftover
  FROM unnest(%(names)s::text[]) AS x(name)
  JOIN pg_class c ON c.oid = to_regclass(x.name)
"""


def package(major: int) -> str:
    """The Debian package of pg_repack for a server's major version (pure)."""
    return f"postgresql-{major}-repack"


def wait_timeout(lock_timeout_seconds: float) -> int:
    """pg_repack's --wait-timeout (whole seconds, at least 1) for a lock_timeout (pure).

    lock_timeout 0 means no limit in PostgreSQL: a day, and pg_repack still never kills.
    """
    if lock_timeout_seconds <= 0:
        return 86400
    return max(1, math.ceil(lock_timeout_seconds))


def space_needed(bytes_: int, max_wal_bytes: int) -> int:
    """Free bytes a rewrite needs (pure): the new copy, plus the WAL that writes it, which
    checkpoints recycle once it passes max_wal_size."""
    return bytes_ + min(bytes_, max_wal_bytes)


def parse_version(text: str) -> str | None:
    """'pg_repack 1.4.8' -> '1.4.8' (pure)."""
    match = VERSION.search(text or "")
    return match.group(1) if match else None


def looks_like_conninfo(database: str) -> bool:
    """Whether libpq would take a database name given as dbname for a connection string (pure):
    pg_repack passes --dbname on with expand_dbname in some versions and not in others."""
    return "=" in database or database.startswith(("postgresql://", "postgres://"))


def outcome(rc: int, out: str, err: str) -> tuple[str, str | None]:
    """What a pg_repack run came to (pure): ('done', None), ('lock_timeout', why),
    ('statement_timeout', why) or ('failed', why)."""
    text = f"{out}\n{err}"
    if rc == TIMEOUT_EXIT:
        return "statement_timeout", "pg_repack was stopped (SIGINT, it cleans up) when statement_timeout ran out"
    if GAVE_UP.search(text):
        line = next((line for line in text.splitlines() if GAVE_UP.search(line)), "")
        return "lock_timeout", line.strip()
    if rc != 0:
        return "failed", tail(err or out, 2).replace("\n", " ") or f"pg_repack exited with {rc}"
    return "done", None


@dataclass
class Client:
    """The pg_repack program this run uses: where and which version, or why there is none."""

    argv0: str | None
    version: str | None
    problem: str | None = None


@dataclass
class Readiness:
    """What one database can repack: the targets pg_repack takes, and why the others are left."""

    usable: bool
    reason: str | None = None  # why nothing in this database can be repacked
    recommendation: str = ""
    version: str | None = None
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # quoted name -> facts


class Repack:
    """pg_repack for one module run: finds the client once, judges each database, runs each rewrite."""

    def __init__(
        self,
        params: Mapping[str, Any],
        host: Any,
        wait_seconds: int,
        timeout_seconds: float,
    ) -> None:
        self.params = params
        self.host = host
        self.wait_seconds = wait_seconds
        self.timeout_seconds = timeout_seconds
        self._client: Client | None = None

    # -- the client program ------------------------------------------------------------
    def client(self, major: int) -> Client:
        if self._client is None:
            self._client = self.find_client(major)
        return self._client

    def find_client(self, major: int) -> Client:
        where = f"in the container {self.params['docker_container']}" if in_container(self.params) else "on this host"
        missing = Client(
            None,
            None,
            f"the pg_repack program is not installed {where}: install the package {package(major)}",
        )
        if in_container(self.params):
            argv = client_command(self.params, PROGRAM, ["--version"], connects=False)
            argv0 = PROGRAM
        else:
            argv0 = self.host_program(major)
            if argv0 is None:
                return missing
            argv = [argv0, "--version"]
        try:
            rc, out, err = self.host.run_command(argv, expand_user_and_vars=False)
        except OSError:
            return missing
        version = parse_version(out or err)
        if rc != 0 or version is None:
            return missing
        return Client(argv0, version)

    def host_program(self, major: int) -> str | None:
        """bin_dir's pg_repack, else the server's major version's (Debian keeps it off PATH), else PATH's."""
        candidates = []
        if self.params.get("bin_dir"):
            candidates.append(os.path.join(self.params["bin_dir"], PROGRAM))
        else:
            candidates.append(f"/usr/lib/postgresql/{major}/bin/{PROGRAM}")
            found = self.host.get_bin_path(PROGRAM)
            if found:
                candidates.append(found)
        return next((path for path in candidates if os.path.isfile(path) and os.access(path, os.X_OK)), None)

    # -- one database ------------------------------------------------------------------
    def readiness(self, session: Any, database: str, names: list[str], errors: Any) -> Readiness:
        """Whether database can use pg_repack, and for each quoted relation name what it needs.

        One query for the server's side, then (when it can) one for the targets and one for the
        data directory.
        """
        server = session.rows(SERVER_SQL)[0]
        client = self.client(server["major"])
        install = (
            f"Install {package(server['major'])} on the database host and CREATE EXTENSION pg_repack in {database} "
            "(the postgres_maintenance role does both with postgres_maintenance_repack_install: true)."
        )
        if client.problem:
            return Readiness(False, client.problem, install)
        if looks_like_conninfo(database):
            return Readiness(
                False,
                "pg_repack may read the database's name as a connection string (it holds '=' or is a URI)",
                "Rename the database to let pg_repack rewrite its tables.",
            )
        if server["extension"] is None:
            return Readiness(False, f"the pg_repack extension is not created in database {database}", install)
        if server["extension"] != client.version:
            return Readiness(
                False,
                f"the pg_repack program is {client.version} but the extension in {database} is {server['extension']}",
                f"Install the {package(server['major'])} that matches, "
                f"or ALTER EXTENSION pg_repack UPDATE in {database}.",
            )
        if not server["superuser"]:
            return Readiness(
                False,
                f"pg_repack needs a superuser and {server['login']} is not one",
                "Run the monthly maintenance with the admin login (jarvis_pg_admin).",
            )
        ready = Readiness(True, version=client.version)
        if not names:
            return ready
        try:
            rows = session.rows(TARGETS_SQL, {"names": names, "triggers": list(TRIGGERS)})
            place = session.rows(DATA_DIR_SQL)[0]
        except errors.LockNotAvailable:
            return Readiness(
                False,
                "a table to repack is locked by another session (lock_timeout)",
                "Run it again later, or find the lock holder (blocking_locks check).",
            )
        for row in rows:
            directory = row["tablespace"] or place["data_directory"]
            row.update(
                directory=directory,
                free=self.free_bytes(directory, place),
                needed=space_needed(int(row["bytes"]), int(server["max_wal_bytes"])),
            )
            ready.targets[row["given"]] = row
        return ready

    def free_bytes(self, directory: str, place: Mapping[str, Any]) -> int | None:
        """Free bytes (for an unprivileged user) on the filesystem of directory, as the server sees
        it; None when that cannot be told from here (a server on another host)."""
        if in_container(self.params):
            try:
                argv = [*docker_exec(self.params), "df", "-Pk", directory]
                return parse_df(run(self.host, argv, timeout=60))[1]
            except (PipelineError, ValueError):
                return None
        # this host's directory of that name is the server's only if its postmaster.pid says so
        try:
            with open(os.path.join(place["data_directory"], "postmaster.pid"), encoding="utf-8") as handle:
                pid_file = handle.read(4096)
        except (OSError, UnicodeDecodeError):
            return None
        if not postmaster_matches(pid_file, place["data_directory"], place["port"], place["started"]):
            return None
        try:
            usage = os.statvfs(directory)
        except OSError:
            return None
        return usage.f_bavail * usage.f_frsize

    def unusable(self, ready: Readiness, facts: Mapping[str, Any] | None) -> str | None:
        """Why pg_repack cannot take this target, or None."""
        if not ready.usable:
            return ready.reason
        if facts is None:
            return "it is gone"
        if facts["leftover"]:
            return (
                "an earlier pg_repack of it was interrupted and left its trigger (DROP EXTENSION pg_repack CASCADE; "
                "CREATE EXTENSION pg_repack removes what it left)"
            )
        if not facts["has_key"]:
            return "it has no primary key or unique index on NOT NULL columns, which pg_repack needs"
        if facts["free"] is None:
            return (
                f"the free space of {facts['directory']} cannot be read from here (the server runs on another "
                "host, or the data directory is not readable)"
            )
        if facts["free"] < facts["needed"]:
            return (
                f"it needs {human_bytes(facts['needed'])} free on {facts['directory']} (a second copy and its WAL) "
                f"and {human_bytes(facts['free'])} are"
            )
        return None

    # -- running -----------------------------------------------------------------------
    def argv(self, database: str, target: str, kind: str) -> list[str]:
        """pg_repack's command line for one table (with its indexes) or one index (pure but for params)."""
        args = [f"--wait-timeout={self.wait_seconds}", "--no-kill-backend", "--elevel=INFO"]
        if kind == "index":
            args.append(f"--index={target}")
        else:
            args.append(f"--table={target}")
            if self.params["repack_jobs"] > 1:
                args.append(f"--jobs={self.params['repack_jobs']}")
        # a name that libpq could read as a connection string never gets here (readiness)
        args += ["--no-password", f"--dbname={database}"]
        if in_container(self.params):
            # the container's own socket, as login_user (client_command adds --username / --host / --port)
            return client_command(self.params, PROGRAM, args)
        argv0 = self._client.argv0 if self._client and self._client.argv0 else PROGRAM
        return [argv0, *args]

    def display(self, database: str, target: str, kind: str) -> str:
        """The command line as shown in planned (no password is ever on it)."""
        return shlex.join(self.argv(database, target, kind))

    def run(self, database: str, target: str, kind: str) -> tuple[str, str | None]:
        argv = self.argv(database, target, kind)
        if self.timeout_seconds > 0:
            # beside pg_repack: inside the container (docker exec passes no signal on)
            where = argv.index(PROGRAM) if in_container(self.params) else 0
            limit = ["timeout", "-s", "INT", "-k", str(SIGINT_GRACE), f"{self.timeout_seconds:g}"]
            argv = [*argv[:where], *limit, *argv[where:]]
        # the password travels in PGPASSWORD (by name into the container), never on the command line;
        # the application name stays pg_repack's own: it tells other pg_repack sessions (its --jobs
        # workers, another run on another table) from the transactions it must wait for
        env = dict(libpq_env(dict(self.params)), PGAPPNAME=PROGRAM)
        rc, out, err = self.host.run_command(argv, environ_update=env, expand_user_and_vars=False)
        return outcome(rc, out, err)


def summary(database: str, used: list[str], fallback: list[tuple[str, str]], version: str | None) -> Finding:
    """The ok finding that says how this database's bloated relations are (or would be) rewritten, and why."""
    parts = []
    if used:
        parts.append(f"pg_repack {version} rewrites {len(used)} online ({', '.join(used)})")
    if fallback:
        why = "; ".join(f"{target}: {reason}" for target, reason in fallback)
        parts.append(f"VACUUM FULL rewrites {len(fallback)} inside the maintenance window, pg_repack cannot ({why})")
    return Finding("repack", OK, database, len(used), message=f"{database}: " + "; ".join(parts))


def left_out(database: str, targets: list[str], why: str, recommendation: str) -> Finding:
    """The warning finding of bloated relations nothing rewrites: pg_repack cannot, VACUUM FULL may not
    (outside a maintenance window)."""
    return Finding(
        "repack",
        WARNING,
        f"{database}.{targets[0]}" if len(targets) == 1 else database,
        len(targets),
        message=f"Cannot repack {', '.join(targets)} in {database}: {why}",
        recommendation=(recommendation + " " if recommendation else "")
        + "Until then VACUUM FULL rewrites it only inside a maintenance window.",
    )
