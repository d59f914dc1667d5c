# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import gzip
import shutil

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._pg_backup import (
    FORMATS,
    GLOBALS,
    check_params,
    client_command,
    compress_stages,
    compressor,
    conninfo_dbname,
    dump_args,
    dump_order,
    file_stem,
    libpq_env,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._pipeline import run_pipeline

PASSWORD = "s3cret pass'word"


@pytest.fixture
def module():
    """A real AnsibleModule: the pipelines run through its run_command."""
    with patch_module_args({}):
        return AnsibleModule(argument_spec={})


@pytest.mark.parametrize(
    ("database", "stem"),
    [
        ("app", "postgres-app"),
        ("App_2.x-y", "postgres-App_2.x-y"),
        ("my db", "postgres-my%20db"),
        ("a/b", "postgres-a%2Fb"),
        ("../etc", "postgres-..%2Fetc"),
        ("café", "postgres-caf%C3%A9"),
        ("50%", "postgres-50%25"),
        ("a b", "postgres-a%20b"),
        ("a%20b", "postgres-a%2520b"),  # % is escaped too, so two names never share a file
        ("", "postgres-"),
    ],
)
def test_file_stem(database, stem):
    assert file_stem(database) == stem
    assert "/" not in file_stem(database)


BASE = {
    "PATH": "/usr/bin",
    "HOME": "/root",
    "PGHOST": "stale-host",
    "PGPORT": "1",
    "PGUSER": "stale-user",
    "PGPASSWORD": "stale-password",
    "PGDATABASE": "stale-db",
    "PGSSLMODE": "disable",
    "PGSSLROOTCERT": "/stale.pem",
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {},
            {"PATH": "/usr/bin", "HOME": "/root", "PGUSER": "postgres", "PGAPPNAME": "jarvis.maintenance"},
        ),
        (
            {
                "login_host": "db.example.org",
                "login_port": 5433,
                "login_user": "backup",
                "login_password": PASSWORD,
                "ssl_mode": "verify-full",
                "ca_cert": "/etc/ssl/ca.pem",
                "connect_timeout": 10,
            },
            {
                "PATH": "/usr/bin",
                "HOME": "/root",
                "PGHOST": "db.example.org",
                "PGPORT": "5433",
                "PGUSER": "backup",
                "PGPASSWORD": PASSWORD,
                "PGSSLMODE": "verify-full",
                "PGSSLROOTCERT": "/etc/ssl/ca.pem",
                "PGCONNECT_TIMEOUT": "10",
                "PGAPPNAME": "jarvis.maintenance",
            },
        ),
        # the socket directory wins over login_host; empty values are not set
        (
            {"login_unix_socket": "/run/postgresql", "login_host": "db", "login_password": "", "login_user": ""},
            {
                "PATH": "/usr/bin",
                "HOME": "/root",
                "PGHOST": "/run/postgresql",
                "PGUSER": "postgres",
                "PGAPPNAME": "jarvis.maintenance",
            },
        ),
    ],
)
def test_libpq_env(params, expected):
    assert libpq_env(params, BASE) == expected


def test_libpq_env_without_base_is_only_what_to_set():
    # for run_command's environ_update
    assert libpq_env({"login_host": "db", "login_password": PASSWORD}) == {
        "PGHOST": "db",
        "PGUSER": "postgres",
        "PGPASSWORD": PASSWORD,
        "PGAPPNAME": "jarvis.maintenance",
    }


def test_libpq_env_does_not_change_its_base():
    base = dict(BASE)
    libpq_env({"login_password": PASSWORD}, base)
    assert base == BASE


def client(**overrides):
    values = {
        "client": "host",
        "bin_dir": None,
        "docker_container": None,
        "docker_binary": "docker",
        "docker_login_host": None,
        "docker_login_port": None,
        "login_user": None,
        "login_password": None,
    }
    values.update(overrides)
    return values


ARGS = ["--no-password", "--dbname", "app"]


@pytest.mark.parametrize(
    ("params", "stdin", "argv"),
    [
        (client(), False, ["pg_dump", *ARGS]),
        (client(login_password=PASSWORD), True, ["pg_dump", *ARGS]),
        (client(bin_dir="/usr/lib/postgresql/15/bin"), False, ["/usr/lib/postgresql/15/bin/pg_dump", *ARGS]),
        (
            client(client="docker", docker_container="jarvis-postgres"),
            False,
            ["docker", "exec", "-e", "PGAPPNAME", "jarvis-postgres", "pg_dump", "--username", "postgres", *ARGS],
        ),
        (
            client(client="docker", docker_container="pg", login_password=PASSWORD, login_user="backup"),
            True,
            [
                "docker",
                "exec",
                "-i",
                "-e",
                "PGPASSWORD",
                "-e",
                "PGAPPNAME",
                "pg",
                "pg_dump",
                "--username",
                "backup",
                *ARGS,
            ],
        ),
        (
            client(
                client="docker",
                docker_container="pg",
                docker_binary="/usr/bin/podman",
                docker_login_host="127.0.0.1",
                docker_login_port=5433,
                bin_dir="/ignored/in/the/container",
            ),
            False,
            [
                "/usr/bin/podman",
                "exec",
                "-e",
                "PGAPPNAME",
                "pg",
                "pg_dump",
                "--username",
                "postgres",
                "--host",
                "127.0.0.1",
                "--port",
                "5433",
                *ARGS,
            ],
        ),
    ],
)
def test_client_command(params, stdin, argv):
    command = client_command(params, "pg_dump", list(ARGS), stdin=stdin)
    assert command == argv
    assert not any(PASSWORD in word for word in command)


def test_password_travels_only_in_the_environment():
    params = client(client="docker", docker_container="pg", login_password=PASSWORD)
    command = client_command(params, "pg_restore", ["--no-password"], stdin=True)
    assert PASSWORD not in " ".join(command)
    assert command[command.index("PGPASSWORD") - 1] == "-e"
    assert libpq_env(params, {})["PGPASSWORD"] == PASSWORD


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            ("app", "00000003-0000001B-1", "custom", "zstd", 19, 4, "30s", "/b/postgres-app.dump.zst"),
            [
                "--no-password",
                "--format=custom",
                "--lock-wait-timeout=30s",
                "--compress=0",
                "--snapshot=00000003-0000001B-1",
                "--dbname",
                "dbname='app'",
            ],
        ),
        (
            ("app", None, "custom", "gzip", 6, 4, "5min", None),
            [
                "--no-password",
                "--format=custom",
                "--lock-wait-timeout=5min",
                "--compress=6",
                "--dbname",
                "dbname='app'",
            ],
        ),
        (
            ("app", "snap", "custom", "none", 0, 1, "30s", None),
            [
                "--no-password",
                "--format=custom",
                "--lock-wait-timeout=30s",
                "--compress=0",
                "--snapshot=snap",
                "--dbname",
                "dbname='app'",
            ],
        ),
        (
            ("my db", "snap", "directory", "gzip", 5, 4, "30s", "/b/postgres-my%20db.dir"),
            [
                "--no-password",
                "--format=directory",
                "--lock-wait-timeout=30s",
                "--compress=5",
                "--snapshot=snap",
                "--jobs=4",
                "--file=/b/postgres-my%20db.dir",
                "--dbname",
                "dbname='my db'",
            ],
        ),
    ],
)
def test_dump_args(call, expected):
    assert dump_args(*call) == expected


@pytest.mark.parametrize(
    ("compression", "level", "command"),
    [
        ("zstd", 3, ["zstd", "-q", "-T0", "-3", "-c"]),
        ("zstd", 19, ["zstd", "-q", "-T0", "-19", "-c"]),
        ("gzip", 6, ["gzip", "-c", "-6"]),
        ("none", 0, None),
    ],
)
def test_compressor(compression, level, command):
    assert compressor(compression, level) == command


@pytest.mark.parametrize(
    ("compression", "level", "threads", "pzstd", "stages"),
    [
        # pzstd on several threads; cat writes the file so a failed write names its cause
        ("zstd", 3, 2, "/usr/bin/pzstd", [["/usr/bin/pzstd", "-q", "-p", "2", "-3", "-c"], ["cat"]]),
        ("zstd", 19, 8, "/usr/bin/pzstd", [["/usr/bin/pzstd", "-q", "-p", "8", "-19", "-c"], ["cat"]]),
        # one thread, or no pzstd: a single zstd process
        ("zstd", 3, 1, "/usr/bin/pzstd", [["zstd", "-q", "-T1", "-3", "-c"]]),
        ("zstd", 3, 4, None, [["zstd", "-q", "-T4", "-3", "-c"]]),
        ("gzip", 6, 4, "/usr/bin/pzstd", [["gzip", "-c", "-6"]]),
        ("none", 0, 4, "/usr/bin/pzstd", []),
    ],
)
def test_compress_stages(compression, level, threads, pzstd, stages):
    assert compress_stages(compression, level, threads, pzstd) == stages


@pytest.mark.parametrize(
    ("sizes", "databases", "order"),
    [
        ({"a": 10, "big": 10_000, "c": 500}, ["a", "big", "c"], ["big", "c", "a"]),
        ({"a": 10, "b": 10}, ["b", "a"], ["a", "b"]),  # equal sizes: by name, so the order is stable
        ({"a": 10}, ["a", "gone"], ["a", "gone"]),  # a size not known counts as 0
    ],
)
def test_dump_order(sizes, databases, order):
    assert dump_order(sizes, databases) == order


def test_pzstd_stages_write_a_file_zstd_reads(module, tmp_path):
    source, packed, unpacked = tmp_path / "in", tmp_path / "in.zst", tmp_path / "out"
    source.write_bytes(b"row with a long filler                                   \n" * 200_000)
    pzstd = shutil.which("pzstd")
    assert pzstd, "pzstd is missing: it comes with zstd (Debian's zstd package), which the stack installs"
    stages = compress_stages("zstd", 3, 2, pzstd)
    run_pipeline(module, [["cat", str(source)], *stages], stdout_path=str(packed))
    assert 0 < packed.stat().st_size < source.stat().st_size / 10
    run_pipeline(module, [["zstd", "-q", "-d", "-c", str(packed)]], stdout_path=str(unpacked))
    assert unpacked.read_bytes() == source.read_bytes()


def test_gzip_compressor_round_trip(module, tmp_path):
    source, target = tmp_path / "in.sql", tmp_path / "out.sql.gz"
    source.write_bytes(b"CREATE ROLE backup;\n" * 1000)
    run_pipeline(module, [compressor("gzip", 9)], stdin_path=str(source), stdout_path=str(target))
    assert gzip.decompress(target.read_bytes()) == source.read_bytes()


def test_zstd_compressor_round_trip(module, tmp_path):
    source, packed, unpacked = tmp_path / "in", tmp_path / "in.zst", tmp_path / "out"
    source.write_bytes(b"row\n" * 100_000)
    run_pipeline(module, [["cat", str(source)], compressor("zstd", 3)], stdout_path=str(packed))
    assert packed.stat().st_size < source.stat().st_size
    run_pipeline(module, [["zstd", "-q", "-d", "-c", str(packed)]], stdout_path=str(unpacked))
    assert unpacked.read_bytes() == source.read_bytes()


def test_every_format_has_a_suffix_and_label():
    assert {key: value[0] for key, value in FORMATS.items()} == {
        ("custom", "zstd"): ".dump.zst",
        ("custom", "gzip"): ".dump",
        ("custom", "none"): ".dump",
        ("directory", "gzip"): ".dir",
        ("directory", "none"): ".dir",
    }
    assert set(GLOBALS) == {"zstd", "gzip", "none"}


def backup_params(**overrides):
    values = {
        "format": "custom",
        "compression": "zstd",
        "compression_level": 3,
        "jobs": 2,
        "concurrency": 2,
        "compression_threads": 0,
        "timeout": 3600,
        "client": "host",
        "docker_container": None,
        "databases": [],
        "exclude_databases": [],
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"compression": "gzip", "compression_level": 9}, None),
        ({"compression": "none", "compression_level": 0}, None),
        ({"format": "directory", "compression": "gzip", "compression_level": 1}, None),
        ({"format": "directory", "compression": "none", "compression_level": 0}, None),
        ({"client": "docker", "docker_container": "pg"}, None),
        ({"databases": ["app", "auth"], "exclude_databases": ["test"]}, None),
        (
            {"format": "directory", "compression": "zstd"},
            "compression=zstd does not work with format=directory: "
            "PostgreSQL 15's pg_dump compresses directory dumps with gzip only",
        ),
        ({"compression_level": 0}, "compression_level must be between 1 and 19 for zstd, got 0"),
        ({"compression_level": 20}, "compression_level must be between 1 and 19 for zstd, got 20"),
        (
            {"compression": "gzip", "compression_level": 10},
            "compression_level must be between 1 and 9 for gzip, got 10",
        ),
        (
            {"compression": "none", "compression_level": -1},
            "compression_level must be between 0 and 9 for none, got -1",
        ),
        ({"jobs": 0}, "jobs must be 1 or more, got 0"),
        ({"concurrency": 0}, "concurrency must be 1 or more, got 0"),
        ({"compression_threads": -1}, "compression_threads must be 0 (every CPU) or more, got -1"),
        ({"concurrency": 1, "compression_threads": 1}, None),
        ({"timeout": 0}, "timeout must be more than 0 seconds, got 0"),
        ({"timeout": -5}, "timeout must be more than 0 seconds, got -5"),
        ({"client": "docker"}, "docker_container is required with client=docker"),
        ({"client": "docker", "docker_container": ""}, "docker_container is required with client=docker"),
        (
            {"client": "docker", "docker_container": "pg", "format": "directory", "compression": "gzip"},
            "format=directory needs client=host (a directory dump is written where pg_dump runs)",
        ),
        (
            {"databases": ["app", "auth", "shop"], "exclude_databases": ["shop", "app"]},
            "databases and exclude_databases both name app, shop",
        ),
    ],
)
def test_check_params(overrides, problem):
    assert check_params(backup_params(**overrides)) == problem


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ("app", "dbname='app'"),
        ("a=b", "dbname='a=b'"),
        ("postgresql://evil", "dbname='postgresql://evil'"),
        ("it's", "dbname='it\\'s'"),
        ("back\\slash", "dbname='back\\\\slash'"),
    ],
)
def test_conninfo_dbname_keeps_any_name_a_name(database, expected):
    assert conninfo_dbname(database) == expected
