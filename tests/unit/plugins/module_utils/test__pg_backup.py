# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._pg_backup import (
    FORMATS,
    GLOBALS,
    check_params,
    compress_stages,
    compressor,
    dest_problem,
    dump_args,
    dump_order,
    entry_problem,
    file_stem,
    link_problem,
    path_links,
    size_ratio,
    space_needed,
    space_problem,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs as fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import run_pipeline
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import (
    client_command,
    conninfo_dbname,
    docker_exec,
    libpq_env,
    open_connection,
)

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
    ("params", "argv"),
    [
        (client(bin_dir="/usr/lib/postgresql/15/bin"), ["/usr/lib/postgresql/15/bin/pg_restore", "--list"]),
        # an archive read from stdin: no connection option, no variable passed into the container
        (
            client(client="docker", docker_container="pg", login_password=PASSWORD, docker_login_port=5433),
            ["docker", "exec", "-i", "pg", "pg_restore", "--list"],
        ),
    ],
)
def test_client_command_without_a_connection(params, argv):
    assert client_command(params, "pg_restore", ["--list"], stdin=True, connects=False) == argv


def test_docker_exec_passes_variables_by_name():
    params = client(client="docker", docker_container="pg", docker_binary="podman")
    assert docker_exec(params) == ["podman", "exec", "pg"]
    assert docker_exec(params, stdin=True, env_names=("PGPASSWORD",)) == [
        "podman",
        "exec",
        "-i",
        "-e",
        "PGPASSWORD",
        "pg",
    ]


def test_open_connection_refuses_bad_options_with_a_module_error():
    with pytest.raises(ModuleError, match=r"^Cannot connect to PostgreSQL: login_port must be between 1 and 65535"):
        open_connection({"login_port": 0, "connect_timeout": 10})


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
        # pzstd on several threads, writing into the Sink (which names a failed write's cause)
        ("zstd", 3, 2, "/usr/bin/pzstd", [["/usr/bin/pzstd", "-q", "-p", "2", "-3", "-c"]]),
        ("zstd", 19, 8, "/usr/bin/pzstd", [["/usr/bin/pzstd", "-q", "-p", "8", "-19", "-c"]]),
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


TIMEOUT_RANGE = (
    "timeout must be between 1 and 2147483 seconds (24 days, the longest statement_timeout PostgreSQL takes "
    "for the row counts), "
)


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
        "expected_size_ratio": None,
        "free_space_margin": "5%",
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"compression": "gzip", "compression_level": 9}, None),
        ({"compression": "none", "compression_level": 0}, None),
        ({"compression_level": None}, None),
        ({"compression": "gzip", "compression_level": None}, None),
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
        ({"timeout": 0}, TIMEOUT_RANGE + "got 0"),
        ({"timeout": -5}, TIMEOUT_RANGE + "got -5"),
        ({"timeout": 1}, None),
        ({"timeout": 2_147_483}, None),
        # was "invalid value for parameter statement_timeout" from the counting session
        ({"timeout": 2_147_484}, TIMEOUT_RANGE + "got 2147484"),
        ({"timeout": 3_000_000}, TIMEOUT_RANGE + "got 3000000"),
        ({"expected_size_ratio": 0.0}, None),
        ({"expected_size_ratio": 2.5}, None),
        (
            {"expected_size_ratio": -0.1},
            "expected_size_ratio must be between 0 and 100 (a share of the databases' size), got -0.1",
        ),
        (
            {"expected_size_ratio": float("nan")},
            "expected_size_ratio must be between 0 and 100 (a share of the databases' size), got nan",
        ),
        ({"free_space_margin": "2G"}, None),
        ({"free_space_margin": "5%"}, None),
        (
            {"free_space_margin": "lots"},
            "free_space_margin must be a size like 2G, 512M or 0, or a share of the filesystem like 5%, got 'lots'",
        ),
        ({"free_space_margin": "150%"}, "free_space_margin must be at most 100%, got '150%'"),
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


@pytest.mark.parametrize(
    ("params", "ratio"),
    [
        ({"compression": "zstd"}, 0.5),
        ({"compression": "gzip"}, 0.5),
        ({"compression": "none"}, 1.0),
        ({"compression": "zstd", "expected_size_ratio": 0}, 0.0),
        ({"compression": "none", "expected_size_ratio": 0.2}, 0.2),
    ],
)
def test_size_ratio(params, ratio):
    assert size_ratio(params) == ratio


@pytest.mark.parametrize(
    ("database_bytes", "ratio", "margin", "needed"),
    [(0, 0.5, 0, 0), (1000, 0.5, 10, 510), (1001, 0.5, 0, 501), (10**12, 0.0, 0, 0), (3, 1.0, 2**30, 2**30 + 3)],
)
def test_space_needed(database_bytes, ratio, margin, needed):
    assert space_needed(database_bytes, ratio, margin) == needed


@pytest.mark.parametrize(
    ("database_bytes", "ratio", "margin", "available", "refused"),
    [
        (40 * 2**20, 0.5, 2**20, 21 * 2**20, False),  # exactly enough
        (40 * 2**20, 0.5, 2**20, 21 * 2**20 - 1, True),
        (10**12, 0.0, 0, 0, False),  # the check switched off
        (0, 0.5, 2**20, 2**20 - 1, True),  # the margin alone
    ],
)
def test_space_problem(database_bytes, ratio, margin, available, refused):
    problem = space_problem("/backups", database_bytes, ratio, "1M", margin, available)
    assert (problem is not None) == refused
    if refused:
        needed = space_needed(database_bytes, ratio, margin)
        assert problem.startswith("Cannot back up PostgreSQL to dest /backups: the backup needs about ")
        assert f"({needed} bytes: " in problem
        assert f"({available} bytes) available" in problem
        assert "expected_size_ratio" in problem and "free_space_margin 1M" in problem


def fake_stat(mode, uid=0):
    return os.stat_result((mode, 1, 1, 2, uid, 0, 0, 0, 0, 0))


@pytest.mark.parametrize(
    ("mode", "uid", "euid", "why"),
    [
        (stat.S_IFDIR | 0o700, 0, 0, None),
        (stat.S_IFDIR | 0o755, 0, 0, None),
        (stat.S_IFDIR | 0o750, 26, 26, None),  # the running user's own directory
        (stat.S_IFDIR | 0o777, 0, 0, "writable by its group and every user (mode 0777)"),
        (stat.S_IFDIR | 0o1777, 0, 0, "writable by its group and every user (mode 1777)"),
        (stat.S_IFDIR | 0o770, 0, 0, "writable by its group (mode 0770)"),
        (stat.S_IFDIR | 0o703, 0, 0, "writable by every user (mode 0703)"),
        (stat.S_IFDIR | 0o700, 65534, 0, "owned by uid 65534"),
    ],
)
def test_dest_problem(mode, uid, euid, why):
    problem = dest_problem("/srv/dumps", fake_stat(mode, uid), euid)
    if why is None:
        assert problem is None
    else:
        assert problem.startswith("Cannot back up PostgreSQL to dest /srv/dumps: it is ")
        assert why in problem


@pytest.mark.parametrize(
    ("name", "mode", "directory", "refused"),
    [
        ("postgres-a.dump.zst", None, False, None),
        ("postgres-a.dump.zst", stat.S_IFREG | 0o600, False, None),  # an older dump: replaced when done
        ("postgres-a.dump.zst", stat.S_IFLNK | 0o777, False, None),  # a link: replaced, never followed
        ("postgres-a.dump.zst", stat.S_IFDIR | 0o700, False, "holds a directory named postgres-a.dump.zst"),
        ("postgres-a.dir", stat.S_IFDIR | 0o700, True, "a directory dump does not replace one"),
        ("postgres-a.dir", None, True, None),
        ("postgres-a.dump.zst.partial", stat.S_IFREG | 0o600, False, "left by a killed run"),
        ("postgres-a.dir.partial", stat.S_IFDIR | 0o700, True, "left by a killed run"),
        ("postgres-a.dump.zst.partial", None, False, None),
    ],
)
def test_entry_problem(name, mode, directory, refused):
    problem = entry_problem("/d", name, None if mode is None else fake_stat(mode), directory)
    if refused is None:
        assert problem is None
    else:
        assert problem.startswith("dest /d ")
        assert refused in problem and name in problem


def test_pipeline_writes_into_the_partial_fd_not_through_a_link(module, tmp_path):
    """The dump goes into the .partial created O_EXCL|O_NOFOLLOW, through its /proc fd link: a link planted
    at the final name is replaced at commit time, its target untouched."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    dest = tmp_path / "dest"
    dest.mkdir(mode=0o700)
    (dest / "postgres-a.dump").symlink_to(victim)
    dest_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = os.open(
            "postgres-a.dump.partial", os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dest_fd
        )
        run_pipeline(module, [["printf", "dump"]], stdout_path=fs.fd_path(fd))
        assert fs.sha256_fd(fd) == (4, hashlib.sha256(b"dump").hexdigest())
        os.close(fd)
        os.rename("postgres-a.dump.partial", "postgres-a.dump", src_dir_fd=dest_fd, dst_dir_fd=dest_fd)
    finally:
        os.close(dest_fd)
    assert victim.read_text() == "precious"
    assert not (dest / "postgres-a.dump").is_symlink()
    assert (dest / "postgres-a.dump").read_text() == "dump"


def test_partial_is_never_opened_through_a_link(tmp_path):
    """O_EXCL|O_NOFOLLOW: a link at the .partial name fails the create, its target untouched."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "x.partial").symlink_to(victim)
    with pytest.raises(FileExistsError):
        os.open(tmp_path / "x.partial", os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    assert victim.read_text() == "precious"


@pytest.mark.parametrize(
    ("owners", "euid", "refused"),
    [
        ([], 0, None),
        ([0], 0, None),  # an operator's link (/opt/backups -> /srv/backups)
        ([26, 0], 26, None),  # the running user's own link
        ([0, 65534], 0, "/l1 is a symlink owned by uid 65534"),
        ([26], 0, "/l0 is a symlink owned by uid 26"),
    ],
)
def test_link_problem(owners, euid, refused):
    links = [(f"/l{index}", fake_stat(stat.S_IFLNK | 0o777, uid)) for index, uid in enumerate(owners)]
    problem = link_problem("/d", links, euid)
    if refused is None:
        assert problem is None
    else:
        assert problem.startswith("Cannot back up PostgreSQL to dest /d: ")
        assert refused in problem


def test_path_links(tmp_path):
    (tmp_path / "real" / "dumps").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    links = path_links(str(tmp_path / "link" / "dumps" / "missing" / "deeper"))
    assert [path for path, _st in links] == [str(tmp_path / "link")]
    assert stat.S_ISLNK(links[0][1].st_mode)
    assert path_links(str(tmp_path / "real" / "dumps")) == []
