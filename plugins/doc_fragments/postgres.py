# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Connection options and action group of every module that talks to PostgreSQL. The argument spec
    # that matches it is postgres_argument_spec() in module_utils/_postgres/_client.py.
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name or IP address of the PostgreSQL server.
      - When neither this nor O(login_unix_socket) is set, the environment variable E(PGHOST) is used,
        then the unix socket default of libpq.
    type: str
    aliases: [host]
  login_port:
    description:
      - TCP port (or socket file suffix) of the server. Defaults to E(PGPORT), then 5432.
    type: int
    aliases: [port]
  login_user:
    description:
      - Role to connect as. Defaults to E(PGUSER), then V(postgres).
    type: str
  login_password:
    description:
      - Password of O(login_user). Defaults to E(PGPASSWORD). Never logged or returned.
    type: str
  login_unix_socket:
    description:
      - Directory of the server's unix socket. Takes precedence over O(login_host).
    type: path
  login_db:
    description:
      - Database to connect to first. Defaults to E(PGDATABASE), then V(postgres).
    type: str
    aliases: [db]
  connect_timeout:
    description:
      - Seconds to wait for the connection before giving up.
    type: int
    default: 10
  ssl_mode:
    description:
      - libpq C(sslmode) of the connection.
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - CA certificate file to verify the server with (C(sslrootcert)).
      - Required with O(ssl_mode=verify-ca) or O(ssl_mode=verify-full).
    type: path
requirements:
  - psycopg2 (C(psycopg2-binary) is fine) on the host the module runs on.
notes:
  - The server must be reachable from the host the module runs on (TCP or unix socket).
attributes:
  action_group:
    description: Use C(group/jarvis.maintenance.postgres) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - jarvis.maintenance.postgres
"""

    # Where the PostgreSQL client programs (pg_dump, pg_dumpall, pg_restore) run. The argument
    # spec that matches it is client_argument_spec() in module_utils/_postgres/_client.py.
    CLIENT = r"""
options:
  client:
    description:
      - V(host) runs the client programs on the managed host (from O(bin_dir), else E(PATH)), connecting with
        the connection options.
      - V(docker) runs them inside the PostgreSQL container O(docker_container) with C(docker exec), for hosts
        without PostgreSQL client programs (the runbook's docker compose setup). They connect over the
        container's own socket as O(login_user); the password goes in by name (C(-e PGPASSWORD)), never on a
        command line.
    type: str
    choices: [host, docker]
    default: host
  bin_dir:
    description: Directory of the client programs with O(client=host), for example C(/usr/lib/postgresql/15/bin).
    type: path
  docker_container:
    description: Name of the PostgreSQL container. Required with O(client=docker).
    type: str
  docker_binary:
    description: The docker command line client.
    type: str
    default: docker
  docker_login_host:
    description: Host the client programs connect to inside the container (default its unix socket).
    type: str
  docker_login_port:
    description: Port the client programs connect to inside the container.
    type: int
"""
