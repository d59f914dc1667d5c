# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import gzip
import io
import json
import os
import shutil
import tarfile

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._pg_backup import compress_stages, compressor
from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._restore import (
    _SCRATCH,
    SCRATCH_PREFIX,
    compare_counts,
    is_stale_scratch,
    parse_df,
    postmaster_matches,
    restore_need,
    scratch_name,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._verify import (
    check_params,
    comparable,
    decoders,
    entry_problems,
    section_problems,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs as fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import PipelineError, run_pipeline

TOOLS = {"zstd": "/opt/bin/zstd", "pg_restore": ["/usr/lib/postgresql/15/bin/pg_restore"], "redis_check_rdb": "rcr"}
ZSTD, PG_RESTORE = TOOLS["zstd"], TOOLS["pg_restore"][0]
IN_DOCKER = ["docker", "exec", "-i", "jarvis-postgres", "pg_restore"]


@pytest.fixture
def module():
    """A real AnsibleModule: the pipelines run through its run_command."""
    with patch_module_args({}):
        return AnsibleModule(argument_spec={})


@pytest.mark.parametrize(
    ("fmt", "path", "expected"),
    [
        # every file goes on stdin where the tool reads one (zstd and gzip refuse a /proc fd link by name)
        (
            "pg_custom+zstd",
            "/s/postgres-app.dump.zst",
            [
                ([[ZSTD, "-q", "-t"]], (), "/s/postgres-app.dump.zst"),
                ([[ZSTD, "-q", "-d", "-c"], [PG_RESTORE, "--list"]], (0,), "/s/postgres-app.dump.zst"),
            ],
        ),
        # pg_restore reads the archive from stdin (so it works in a container too)
        ("pg_custom", "/s/postgres-app.dump", [([[PG_RESTORE, "--list"]], (), "/s/postgres-app.dump")]),
        ("sql+zstd", "/s/postgres-globals.sql.zst", [([[ZSTD, "-q", "-t"]], (), "/s/postgres-globals.sql.zst")]),
        ("tar+zstd", "/s/files.tar.zst", [([[ZSTD, "-q", "-t"]], (), "/s/files.tar.zst")]),
        ("sql+gzip", "/s/postgres-globals.sql.gz", [([["gzip", "-t"]], (), "/s/postgres-globals.sql.gz")]),
        (
            "pg_directory_data",
            "/s/postgres-app.dir/3071.dat.gz",
            [([["gzip", "-t"]], (), "/s/postgres-app.dir/3071.dat.gz")],
        ),
        # an uncompressed file of a directory dump (toc.dat, or a -Z0 dump) has nothing to decode
        ("pg_directory_data", "/s/postgres-app.dir/toc.dat", []),
        ("pg_directory_data", "/s/postgres-app.dir/3071.dat", []),
        ("tar+gzip", "/s/files.tar.gz", [([["tar", "-tzf", "-"]], (), "/s/files.tar.gz")]),
        # redis-check-rdb reads no stdin: it gets the path (the /proc fd link, which it follows)
        ("rdb", "/s/redis-dump.rdb", [([["rcr", "/s/redis-dump.rdb"]], (), None)]),
        ("sql", "/s/postgres-globals.sql", []),
        ("pg_directory", "/s/postgres-app.dir/toc.dat", []),
        ("", "/s/notes.txt", []),
        ("unknown", "/s/x", []),
    ],
)
def test_decoders(fmt, path, expected):
    assert decoders(fmt, path, TOOLS) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("postgres-app.dir/3071.dat.gz", [([["gzip", "-t"]], (), "/proc/7/fd/5")]), ("postgres-app.dir/toc.dat", [])],
)
def test_decoders_judge_the_suffix_by_the_name_in_the_set(name, expected):
    assert decoders("pg_directory_data", "/proc/7/fd/5", TOOLS, name) == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            "pg_custom+zstd",
            [
                ([[ZSTD, "-q", "-t"]], (), "/s/a.dump.zst"),
                ([[ZSTD, "-q", "-d", "-c"], [*IN_DOCKER, "--list"]], (0,), "/s/a.dump.zst"),
            ],
        ),
        ("pg_custom", [([[*IN_DOCKER, "--list"]], (), "/s/a.dump.zst")]),
    ],
)
def test_decoders_with_pg_restore_in_a_container(fmt, expected):
    assert decoders(fmt, "/s/a.dump.zst", dict(TOOLS, pg_restore=IN_DOCKER)) == expected


@pytest.mark.parametrize("fmt", ["pg_custom+zstd", "sql+zstd", "tar+zstd"])
def test_decoders_test_zstd_files_with_pzstd_when_given(fmt):
    pzstd = ["/usr/bin/pzstd", "-q", "-t", "-p", "2"]
    pipelines = decoders(fmt, "/s/f.zst", dict(TOOLS, zstd_test=pzstd))
    assert pipelines[0] == ([pzstd], (), "/s/f.zst")
    # the TOC is still read through zstd -dc: pzstd is only for the full test
    assert all(stages[0][0] != "/usr/bin/pzstd" for stages, _ok, _stdin in pipelines[1:])


def decode(module, fmt, path):
    """Decode as backup_verify does: through the /proc fd link of a file this process opened."""
    tools = {"zstd": "zstd", "pg_restore": ["pg_restore"], "redis_check_rdb": "redis-check-rdb"}
    fd = os.open(path, os.O_RDONLY)
    try:
        pipelines = decoders(fmt, fs.fd_path(fd), tools, str(path))
        assert pipelines
        for stages, sigpipe_ok, stdin in pipelines:
            run_pipeline(module, stages, stdin_path=stdin, timeout=60, sigpipe_ok=sigpipe_ok)
    finally:
        os.close(fd)


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_gzip_files_decode_and_truncated_ones_do_not(module, tmp_path):
    path = tmp_path / "postgres-globals.sql.gz"
    path.write_bytes(gzip.compress(b"CREATE ROLE app;\n" * 5000))
    decode(module, "sql+gzip", path)
    truncate(path)
    with pytest.raises(PipelineError, match=r"^gzip exited with 1: "):
        decode(module, "sql+gzip", path)


def test_tar_gzip_files_decode_and_truncated_ones_do_not(module, tmp_path):
    path = tmp_path / "files.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for index in range(3):
            data = bytes(range(256)) * 400 * (index + 1)
            info = tarfile.TarInfo(f"etc/file{index}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    decode(module, "tar+gzip", path)
    truncate(path)
    with pytest.raises(PipelineError, match=r"^tar exited with 2: "):
        decode(module, "tar+gzip", path)


def test_zstd_files_decode_and_truncated_ones_do_not(module, tmp_path):
    source, path = tmp_path / "in.sql", tmp_path / "postgres-globals.sql.zst"
    source.write_bytes(b"CREATE ROLE app;\n" * 5000)
    run_pipeline(module, [compressor("zstd", 3)], stdin_path=str(source), stdout_path=str(path))
    decode(module, "sql+zstd", path)
    truncate(path)
    with pytest.raises(PipelineError, match=r"^zstd exited with 1: "):
        decode(module, "sql+zstd", path)


def test_pzstd_written_files_test_with_pzstd_and_a_flipped_byte_fails(module, tmp_path):
    pzstd = shutil.which("pzstd")
    assert pzstd, "pzstd is missing: it comes with zstd (Debian's zstd package), which the stack installs"
    source, path = tmp_path / "in.sql", tmp_path / "postgres-globals.sql.zst"
    source.write_bytes(b"INSERT INTO t VALUES (1, 'a long filler value');\n" * 400_000)
    run_pipeline(module, compress_stages("zstd", 3, 2, pzstd), stdin_path=str(source), stdout_path=str(path))
    tools = {"zstd": "zstd", "pg_restore": ["pg_restore"], "redis_check_rdb": "x", "zstd_test": [pzstd, "-q", "-t"]}
    for stages, sigpipe_ok, stdin in decoders("sql+zstd", str(path), tools):
        run_pipeline(module, stages, stdin_path=stdin, timeout=60, sigpipe_ok=sigpipe_ok)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(PipelineError, match=r"^pzstd exited with 1: "):
        for stages, sigpipe_ok, stdin in decoders("sql+zstd", str(path), tools):
            run_pipeline(module, stages, stdin_path=stdin, timeout=60, sigpipe_ok=sigpipe_ok)


@pytest.mark.parametrize(
    ("expected", "restored", "problems"),
    [
        ({}, {}, []),
        ({"public.a": 3, "public.b": 0}, {"public.b": 0, "public.a": 3}, []),
        ({"public.a": 3}, {"public.a": 2}, [{"table": "public.a", "expected": 3, "restored": 2}]),
        ({"public.a": 3}, {}, [{"table": "public.a", "expected": 3, "restored": None}]),
        ({}, {"public.extra": 0}, [{"table": "public.extra", "expected": None, "restored": 0}]),
        (
            {"s.z": 1, "public.b": 5, "public.a": 1},
            {"public.a": 1, "public.b": 6, "public.c": 0},
            [
                {"table": "public.b", "expected": 5, "restored": 6},
                {"table": "public.c", "expected": None, "restored": 0},
                {"table": "s.z", "expected": 1, "restored": None},
            ],
        ),
    ],
)
def test_compare_counts(expected, restored, problems):
    assert compare_counts(expected, restored) == problems


@pytest.mark.parametrize(
    ("moment", "index", "name"),
    [
        (datetime.datetime(2026, 11, 28, 2, 0, 0, tzinfo=datetime.timezone.utc), 0, "jarvis_verify_20261128020000_0"),
        (
            datetime.datetime(2027, 1, 9, 23, 59, 59, tzinfo=datetime.timezone.utc),
            12,
            "jarvis_verify_20270109235959_12",
        ),
    ],
)
def test_scratch_name(moment, index, name):
    assert scratch_name(moment, index) == name
    assert name.startswith(SCRATCH_PREFIX)
    # leftovers of a killed run are found by this pattern, so every scratch name must match it
    assert _SCRATCH.match(name)
    # a valid, unquoted PostgreSQL identifier of at most 63 bytes
    assert name.islower()
    assert len(name.encode()) <= 63


@pytest.mark.parametrize("name", ["jarvis_verify_", "jarvis_verify_2026_1", "jarvis_verify_20261128020000_", "app"])
def test_scratch_pattern_leaves_other_databases_alone(name):
    assert not _SCRATCH.match(name)


MARGIN_FORMS = "must be a size like 2G, 512M or 0, or a share of the filesystem like 5%"


def verify_params(**overrides):
    values = {
        "max_age_hours": 26,
        "min_size_ratio": 0.5,
        "restore_jobs": 2,
        "restore_timeout": 3600,
        "client": "host",
        "docker_container": None,
        "restore_size_factor": 10.0,
        "restore_space_margin": "10%",
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"min_size_ratio": 0}, None),
        ({"min_size_ratio": 1}, None),
        ({"client": "docker", "docker_container": "pg"}, None),
        ({"max_age_hours": 0}, "max_age_hours must be more than 0, got 0"),
        ({"max_age_hours": -1.5}, "max_age_hours must be more than 0, got -1.5"),
        ({"min_size_ratio": 1.5}, "min_size_ratio must be between 0 and 1, got 1.5"),
        ({"min_size_ratio": -0.1}, "min_size_ratio must be between 0 and 1, got -0.1"),
        ({"restore_jobs": 0}, "restore_jobs must be 1 or more, got 0"),
        ({"restore_timeout": 0}, "restore_timeout must be more than 0 seconds, got 0"),
        ({"client": "docker"}, "docker_container is required with client=docker"),
        ({"client": "docker", "docker_container": ""}, "docker_container is required with client=docker"),
        ({"restore_space_margin": "2G"}, None),
        ({"restore_space_margin": "0%"}, None),
        ({"restore_size_factor": 0}, "restore_size_factor must be a number more than 0, got 0"),
        ({"restore_size_factor": float("nan")}, "restore_size_factor must be a number more than 0, got nan"),
        ({"restore_space_margin": "lots"}, f"restore_space_margin: {MARGIN_FORMS}, got 'lots'"),
        ({"restore_space_margin": "-5%"}, f"restore_space_margin: {MARGIN_FORMS}, got '-5%'"),
    ],
)
def test_check_params(overrides, problem):
    assert check_params(verify_params(**overrides)) == problem


@pytest.mark.parametrize(
    ("name", "stale"),
    [
        ("jarvis_verify_20261126120000_0", True),
        ("jarvis_verify_20261128110000_3", False),
        ("jarvis_verify_20261128130000_0", False),
        ("jarvis_verify_2026112612000_0", False),
        ("app_20261126120000_0", False),
    ],
)
def test_only_day_old_scratch_databases_are_leftovers(name, stale):
    now = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.timezone.utc)
    assert is_stale_scratch(name, now) is stale


def test_size_is_compared_with_the_previous_set_of_the_same_scope(tmp_path):
    sets = []
    for name, scope in [
        ("jarvis-20261128T020000Z", "daily"),
        ("jarvis-20261127T030000Z", "full"),
        ("jarvis-20261127T020000Z", "daily"),
    ]:
        path = tmp_path / name
        path.mkdir()
        manifest = {"schema": "jarvis.maintenance/backup/1", "files": [], "scope": scope}
        (path / "MANIFEST.json").write_text(json.dumps(manifest))
        sets.append({"name": name, "path": str(path)})
    assert comparable(sets[0], sets[1:])["name"] == "jarvis-20261127T020000Z"
    assert comparable(sets[1], sets[2:]) is None


GOOD_ENTRY = {"path": "a.dump", "size": 3, "sha256": "ab", "format": "pg_custom"}


@pytest.mark.parametrize(
    ("files", "good", "problems"),
    [
        ([GOOD_ENTRY], [GOOD_ENTRY], []),
        ([{"path": "a", "size": 0}], [{"path": "a", "size": 0}], []),
        (["a.dump", GOOD_ENTRY], [GOOD_ENTRY], ["entry 1 is not a dict (got str)"]),
        ([None], [], ["entry 1 is not a dict (got NoneType)"]),
        ([{"size": 1}], [], ["entry 1 has no path (a string relative to the set)"]),
        ([{"path": "", "size": 1}], [], ["entry 1 has no path (a string relative to the set)"]),
        ([{"path": ["a"], "size": 1}], [], ["entry 1 has no path (a string relative to the set)"]),
        ([{"path": "a"}], [], ["entry 1 (a) has no size (a whole number of bytes)"]),
        ([{"path": "a", "size": True}], [], ["entry 1 (a) has no size (a whole number of bytes)"]),
        ([{"path": "a", "size": -1}], [], ["entry 1 (a) has no size (a whole number of bytes)"]),
        ([{"path": "a", "size": 1.5}], [], ["entry 1 (a) has no size (a whole number of bytes)"]),
        ([{"path": "a", "size": 1, "sha256": 5}], [], ["entry 1 (a) has a sha256 or format that is not a string"]),
        # where a path leads is decided when it is opened (beneath the set's fd), not here
        ([{"path": "../../etc/shadow", "size": 1}], [{"path": "../../etc/shadow", "size": 1}], []),
    ],
)
def test_entry_problems(files, good, problems):
    assert entry_problems(files) == (good, problems)


@pytest.mark.parametrize(
    ("manifest", "problems"),
    [
        ({}, []),
        ({"size": 10, "postgres": {"databases": {"app": {"file": "p.dump", "tables": {"t": 1}}}}}, []),
        ({"postgres": {}}, []),
        ({"size": "big"}, ["size is not a number of bytes (got 'big')"]),
        ({"size": float("inf")}, ["size is not a number of bytes (got inf)"]),
        ({"size": -1}, ["size is not a number of bytes (got -1)"]),
        ({"postgres": []}, ["postgres is not a dict (got list)"]),
        ({"postgres": {"databases": ["app"]}}, ["postgres.databases is not a dict (got list)"]),
        ({"postgres": {"databases": {"app": 1}}}, ["postgres.databases.app has no file (a dict with the dump's path)"]),
        (
            {"postgres": {"databases": {"app": {"file": 1}}}},
            ["postgres.databases.app has no file (a dict with the dump's path)"],
        ),
        (
            {"postgres": {"databases": {"app": {"file": "p", "tables": [1]}}}},
            ["postgres.databases.app.tables is not a dict of row counts"],
        ),
    ],
)
def test_section_problems(manifest, problems):
    assert section_problems(manifest) == problems


@pytest.mark.parametrize(
    ("databases", "factor", "keep", "need", "basis"),
    [
        ({}, 10, False, 0, "the database sizes in the manifest"),
        ({"a": {"database_size": 500, "size": 10}}, 10, False, 500, "the database sizes in the manifest"),
        ({"a": {"size": 10}, "b": {"size": 30}}, 10, False, 300, "the dump sizes times restore_size_factor=10"),
        (
            {"a": {"size": 10}, "b": {"size": 30}},
            10,
            True,
            400,
            "the dump sizes times restore_size_factor=10 (all kept: keep_scratch)",
        ),
        (
            {"a": {"database_size": 1000}, "b": {"size": 30}},
            2.5,
            False,
            1000,
            "database sizes, and dump sizes times restore_size_factor=2.5 for b",
        ),
        ({"a": {"size": "x"}}, 10, False, 0, "the dump sizes times restore_size_factor=10"),
    ],
)
def test_restore_need(databases, factor, keep, need, basis):
    assert restore_need(databases, factor, keep) == (need, basis)


PID_FILE = "4242\n/srv/pg/data\n1764780000\n5432\n/run/postgresql\n*\n  5432001     65536\nready   \n"


@pytest.mark.parametrize(
    ("text", "directory", "port", "started", "match"),
    [
        (PID_FILE, "/srv/pg/data", 5432, 1764780000.4, True),
        (PID_FILE, "/srv/pg/data", 5432, 1764780001.9, True),
        (PID_FILE, "/srv/pg/data", 5433, 1764780000.0, False),
        (PID_FILE, "/srv/pg/other", 5432, 1764780000.0, False),
        (PID_FILE, "/srv/pg/data", 5432, 1764790000.0, False),
        ("4242\n/srv/pg/data\n", "/srv/pg/data", 5432, 1764780000.0, False),
        ("4242\n/srv/pg/data\nsoon\n5432\n", "/srv/pg/data", 5432, 1764780000.0, False),
    ],
)
def test_postmaster_matches(text, directory, port, started, match):
    assert postmaster_matches(text, directory, port, started) is match


def test_a_file_replaced_after_its_check_is_not_opened(tmp_path):
    """Hashing, decoding and restoring re-open each file beneath the set and compare it with what was checked."""
    from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._set import open_planned
    from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs as fs

    (tmp_path / "a.dump").write_bytes(b"checked")
    planned = os.lstat(tmp_path / "a.dump")
    set_fd = fs.open_dir(str(tmp_path))
    try:
        fd = open_planned(set_fd, "a.dump", planned)
        os.close(fd)
        (tmp_path / "other").write_bytes(b"swapped in")
        os.rename(tmp_path / "other", tmp_path / "a.dump")
        with pytest.raises(fs.UnsafePath, match="replaced"):
            open_planned(set_fd, "a.dump", planned)
        os.unlink(tmp_path / "a.dump")
        os.symlink("/etc/hostname", tmp_path / "a.dump")
        with pytest.raises(fs.UnsafePath, match="symlink"):
            open_planned(set_fd, "a.dump", planned)
    finally:
        os.close(set_fd)


DF_HEADER = "Filesystem 1024-blocks Used Available Capacity Mounted on\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            DF_HEADER + "/dev/sda1 1000 400 600 40% /var/lib/postgresql\n",
            (1000 * 1024, 600 * 1024),
        ),
        (
            DF_HEADER + "overlay 20511312 5 20511307 1% /\n",
            (20511312 * 1024, 20511307 * 1024),
        ),
    ],
)
def test_parse_df(text, expected):
    assert parse_df(text) == expected


@pytest.mark.parametrize("text", ["", "df: /x: No such file or directory", "Filesystem 1024-blocks\nonly two"])
def test_parse_df_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        parse_df(text)


class FakeHost:
    """The Host interface without a machine behind it: no pzstd, warnings dropped."""

    check_mode = False
    diff = False

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return None

    def warn(self, text):
        pass


def test_what_stops_the_module_is_not_a_finding_of_the_set(tmp_path):
    """A connection that cannot be opened for the restore test fails the module (as fail_json did),
    rather than being reported as a broken set."""
    from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._verify import (
        ARGUMENT_SPEC,
        BackupVerify,
    )
    from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
    from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import now

    name = "jarvis-" + now().strftime("%Y%m%dT%H%M%SZ")
    (tmp_path / name).mkdir()
    manifest = {
        "schema": "jarvis.maintenance/backup/1",
        "files": [],
        "size": 0,
        "postgres": {"databases": {"app": {"file": "postgres-app.dump.zst", "format": "pg_custom+zstd"}}},
    }
    (tmp_path / name / "MANIFEST.json").write_text(json.dumps(manifest))
    params = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    params.update(path=str(tmp_path), restore_test=True, login_port=0)
    with pytest.raises(ModuleError, match=r"^Cannot connect to PostgreSQL: login_port must be between"):
        BackupVerify(params, False, FakeHost()).run()
