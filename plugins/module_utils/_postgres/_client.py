# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PostgreSQL connection options and client, shared by every PostgreSQL module.

The options are documented in doc_fragments/postgres.py; keep both side by side.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import env_fallback

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import require

SSL_MODES = ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]


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
        "application_name": "jarvis.maintenance",
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


def connect(module: Any, database: str | None = None, autocommit: bool = True) -> Any:
    """Open a psycopg2 connection from the module's parameters, or fail the module.

    The error names the host, port and user, and psycopg2's reason (which never
    contains the password).
    """
    psycopg2 = require(module, "psycopg2", "psycopg2-binary")
    problem = validate_connection_params(module.params)
    if problem:
        module.fail_json(msg=f"Cannot connect to PostgreSQL: {problem}")
    try:
        conn = psycopg2.connect(**connection_kwargs(module.params, database))
    except psycopg2.Error as exc:
        reason = str(exc).strip().replace("\n", " ")
        module.fail_json(msg=f"Cannot connect to PostgreSQL at {describe_target(module.params)}: {reason}")
    conn.autocommit = autocommit
    return conn
