# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PostgreSQL connection options and client, shared by every PostgreSQL module.

The options are documented in doc_fragments/postgres.py; keep both side by side.

The ``login_*`` options are translated here and nowhere else, three ways:

* connection_kwargs: psycopg2.connect()'s keywords (open_connection opens one);
* libpq_env: the libpq environment of a client program (PGHOST, PGPORT, PGUSER, PGPASSWORD, ...);
* client_command: the argv of a client program (pg_dump, pg_restore, psql, df, ...) on this host
  or inside the PostgreSQL container (``docker exec -i -e PGPASSWORD <container> <program>``).

Secrets never go on a command line: the password travels in PGPASSWORD, passed into the container
by name (``-e PGPASSWORD``). Row counts (count_rows) are client-level too: the backup records
them in the dump's snapshot and the verification compares them after a restore.
"""

from __future__ import annotations

import os
from typing import Any

from ansible.module_utils.basic import env_fallback

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import need
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem

SSL_MODES = ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]
APPLICATION_NAME = "jarvis.maintenance"
# The libpq variables libpq_env owns: inherited values of these never reach a client program.
LIBPQ_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "PGSSLROOTCERT")

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

# Valid btree indexes outside the system schemas: what amcheck's bt_index_check checks.
BTREE_INDEXES_SQL = """
SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.amname = 'btree' AND i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%'
ORDER BY 1
"""


def postgres_argument_spec() -> dict[str, dict[str, Any]]:
    """Connection options; merge into a module's own argument_spec."""
    return {
        "login_host": {"type": "str", "aliases": ["host"], "fallback": (env_fallback, ["PGHOST"])},
        "login_port": {"type": "int", "aliases": ["port"], "fallback": (env_fallback, ["PGPORT"])},
        "login_user": {"type": "str", "fallback": (env_fallback, ["PGUSER"])},
        "login_password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PGPASSWORD"])},
        "login_unix_socket": {"type": "path"},
        "login_db": {"type": "str", "aliases": ["db"], "fallback": (env_fallback, ["PGDATABASE"])},
        "connect_timeout": {"type": "int", "default": 10},
        "ssl_mode": {"type": "str", "default": "prefer", "choices": SSL_MODES},
        "ca_cert": {"type": "path"},
    }


def connection_kwargs(params: dict[str, Any], database: str | None = None) -> dict[str, Any]:
    """psycopg2.connect() keyword arguments from module parameters (pure, no I/O).

    The unix socket wins over the host; unset options are left out so libpq applies
    its own defaults. ``database`` overrides ``login_db`` (to visit another database).
    """
    kwargs: dict[str, Any] = {
        "dbname": database or params.get("login_db") or "postgres",
        "user": params.get("login_user") or "postgres",
        "connect_timeout": params.get("connect_timeout", 10),
        "sslmode": params.get("ssl_mode") or "prefer",
        "application_name": APPLICATION_NAME,
    }
    host = params.get("login_unix_socket") or params.get("login_host")
    if host:
        kwargs["host"] = host
    if params.get("login_port"):
        kwargs["port"] = params["login_port"]
    if params.get("login_password"):
        kwargs["password"] = params["login_password"]
    if params.get("ca_cert"):
        kwargs["sslrootcert"] = params["ca_cert"]
    return kwargs


def describe_target(params: dict[str, Any]) -> str:
    """Where a connection goes, for error messages (never includes the password)."""
    if params.get("login_unix_socket"):
        where = f"socket {params['login_unix_socket']}"
    else:
        where = params.get("login_host") or "the default host"
    port = params.get("login_port") or 5432
    return f"{where}:{port} as {params.get('login_user') or 'postgres'}"


def validate_connection_params(params: dict[str, Any]) -> str | None:
    """Why the connection options cannot work, or None. Names the parameter."""
    port = params.get("login_port")
    if port is not None and not 0 < port < 65536:
        return f"login_port must be between 1 and 65535, got {port}"
    if params.get("connect_timeout", 10) <= 0:
        return f"connect_timeout must be a positive number of seconds, got {params['connect_timeout']}"
    if params.get("ssl_mode") in ("verify-ca", "verify-full") and not params.get("ca_cert"):
        return f"ca_cert is required with ssl_mode={params['ssl_mode']}"
    return None


def client_argument_spec() -> dict[str, dict[str, Any]]:
    """Where the client programs run; documented in doc_fragments/postgres.py (CLIENT)."""
    return {
        "client": {"type": "str", "choices": ["host", "docker"], "default": "host"},
        "bin_dir": {"type": "path"},
        "docker_container": {"type": "str"},
        "docker_binary": {"type": "str", "default": "docker"},
        "docker_login_host": {"type": "str"},
        "docker_login_port": {"type": "int"},
    }


def pg_reason(exc: BaseException) -> str:
    """psycopg2's error text on one line (it never contains the password)."""
    return str(exc).strip().replace("\n", " ")


def open_connection(params: dict[str, Any], database: str | None = None, autocommit: bool = True) -> Any:
    """A psycopg2 connection from the connection options; ModuleError naming the host, port, user
    and psycopg2's reason when it cannot be opened."""
    psycopg2 = need("psycopg2", "psycopg2-binary")
    raise_problem("Cannot connect to PostgreSQL", validate_connection_params(params))
    try:
        conn = psycopg2.connect(**connection_kwargs(params, database))
    except psycopg2.Error as exc:
        raise ModuleError(f"Cannot connect to PostgreSQL at {describe_target(params)}: {pg_reason(exc)}") from None
    conn.autocommit = autocommit
    return conn


def libpq_env(params: dict[str, Any], base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a client program (pg_dump, pg_restore, psql) from the connection options (pure).

    Without base, only the variables to set (for run_command's environ_update); with base, a
    copy of base with them applied and the connection variables not set removed. The password
    travels in PGPASSWORD, never on a command line.
    """
    env = dict(base) if base is not None else {}
    for key in LIBPQ_VARIABLES:
        env.pop(key, None)
    pairs = {
        "PGHOST": params.get("login_unix_socket") or params.get("login_host"),
        "PGPORT": params.get("login_port"),
        "PGUSER": params.get("login_user") or "postgres",
        "PGPASSWORD": params.get("login_password"),
        "PGSSLMODE": params.get("ssl_mode"),
        "PGSSLROOTCERT": params.get("ca_cert"),
        "PGCONNECT_TIMEOUT": params.get("connect_timeout"),
        "PGAPPNAME": APPLICATION_NAME,
    }
    env.update({key: str(value) for key, value in pairs.items() if value not in (None, "")})
    return env


def in_container(params: dict[str, Any]) -> bool:
    """Whether the client programs run inside the PostgreSQL container (client=docker)."""
    return params.get("client") == "docker"


def docker_exec(params: dict[str, Any], stdin: bool = False, env_names: tuple[str, ...] = ()) -> list[str]:
    """``docker exec [-i] [-e NAME]... <container>``: the prefix of every command run in the PostgreSQL
    container (pure). Variables are passed by name, so their values stay off the command line."""
    command = [params.get("docker_binary") or "docker", "exec"]
    if stdin:
        command.append("-i")
    for name in env_names:
        command += ["-e", name]
    return [*command, params["docker_container"]]


def client_command(
    params: dict[str, Any], program: str, args: list[str], stdin: bool = False, connects: bool = True
) -> list[str]:
    """argv for a PostgreSQL client program on this host or inside the PostgreSQL container (pure).

    In the container the program connects over the container's own socket (or
    docker_login_host / docker_login_port) as login_user; PGPASSWORD is passed by name with
    ``-e`` so its value stays off the command line. With connects=False (``pg_restore --list`` of
    an archive on stdin) no connection option is passed at all.
    """
    if not in_container(params):
        binary = os.path.join(params["bin_dir"], program) if params.get("bin_dir") else program
        return [binary, *args]
    if not connects:
        return [*docker_exec(params, stdin), program, *args]
    names = ("PGPASSWORD", "PGAPPNAME") if params.get("login_password") else ("PGAPPNAME",)
    command = [*docker_exec(params, stdin, names), program, "--username", params.get("login_user") or "postgres"]
    if params.get("docker_login_host"):
        command += ["--host", params["docker_login_host"]]
    if params.get("docker_login_port"):
        command += ["--port", str(params["docker_login_port"])]
    return command + args


def conninfo_dbname(database: str) -> str:
    """A database name as a libpq connection string (pure): a name containing '=' or starting
    with postgresql:// would otherwise be read as connection settings."""
    escaped = database.replace("\\", "\\\\").replace("'", "\\'")
    return f"dbname='{escaped}'"


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


def check_btree_indexes(cursor: Any, psycopg2: Any) -> tuple[list[str], dict[str, str]]:
    """amcheck's bt_index_check (with the heap) on every valid btree index of the cursor's database:
    the indexes checked and {index: error} for those that failed. Creates the amcheck extension
    when missing; psycopg2.Error when amcheck is not available (the caller words it)."""
    cursor.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    cursor.execute(BTREE_INDEXES_SQL)
    indexes = [row[0] for row in cursor.fetchall()]
    failed: dict[str, str] = {}
    for index in indexes:
        try:
            cursor.execute("SELECT bt_index_check(%s::regclass, true)", (index,))
        except psycopg2.Error as exc:
            failed[index] = str(exc).strip()
    return indexes, failed


# Where a server's free space is measured: on this host only when it sees the server's data
# directory (its postmaster.pid names the server), else with df inside the PostgreSQL container.
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
