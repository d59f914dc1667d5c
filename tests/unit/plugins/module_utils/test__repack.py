# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pg_repack for pg_maintenance: its pure parts and the plan of rewrites (repack, or VACUUM FULL)."""

from __future__ import annotations

from types import SimpleNamespace

import psycopg2.sql as psycopg2_sql
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres import _actions, _repack
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._maintenance import duration_seconds


@pytest.mark.parametrize(
    ("value", "seconds"), [("5s", 5), ("500ms", 0.5), ("2min", 120), ("250", 0.25), ("0", 0), ("1h", 3600)]
)
def test_duration_seconds(value, seconds):
    assert duration_seconds(value) == pytest.approx(seconds)


@given(st.floats(min_value=0, max_value=10**6, allow_nan=False))
def test_the_wait_timeout_is_whole_seconds_never_under_lock_timeout(seconds):
    wait = _repack.wait_timeout(seconds)
    assert isinstance(wait, int)
    assert wait >= 1
    assert wait >= seconds or seconds == 0


def test_no_lock_timeout_waits_a_day_and_still_never_kills():
    assert _repack.wait_timeout(0) == 86400


@pytest.mark.parametrize(("size", "max_wal", "needed"), [(100, 1000, 200), (5000, 1000, 6000), (0, 1000, 0)])
def test_space_needed_is_the_copy_and_its_wal_up_to_max_wal_size(size, max_wal, needed):
    assert _repack.space_needed(size, max_wal) == needed


def test_the_client_version_is_read_from_its_banner():
    assert _repack.parse_version("pg_repack 1.4.8\n") == "1.4.8"
    assert _repack.parse_version("pg_repack 1.5.1 (with patches)") == "1.5.1"
    assert _repack.parse_version("command not found") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("jarvis", False), ("dbname=x host=evil", True), ("postgresql://evil/db", True), ("a=b", True), ("my db", False)],
)
def test_names_libpq_could_read_as_connection_strings(name, expected):
    assert _repack.looks_like_conninfo(name) is expected


def test_outcomes():
    assert _repack.outcome(0, 'INFO: repacking table "public.t"\n', "") == ("done", None)
    gave_up = "WARNING: timed out, do not cancel conflicting backends\nINFO: Skipping repack public.t due to timeout\n"
    status, why = _repack.outcome(0, "", gave_up)
    assert status == "lock_timeout"
    assert "timed out" in why
    assert _repack.outcome(124, "", "")[0] == "statement_timeout"
    status, why = _repack.outcome(1, "", "ERROR: permission denied for schema repack\n")
    assert (status, why) == ("failed", "ERROR: permission denied for schema repack")


class FakeHost:
    def __init__(self):
        self.calls = []

    def run_command(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        return 0, "", ""


def repack_for(**params):
    base = {
        "repack_jobs": 1,
        "client": "host",
        "bin_dir": "/usr/lib/postgresql/15/bin",
        "login_host": "db.example.com",
        "login_password": "S3cret-pw",
        "docker_container": None,
    }
    runner = _repack.Repack(dict(base, **params), FakeHost(), 5, 60)
    runner._client = _repack.Client("/usr/lib/postgresql/15/bin/pg_repack", "1.4.8")
    return runner


def test_the_command_line_never_kills_and_holds_no_password():
    runner = repack_for()
    argv = runner.argv("jarvis", '"public"."t"', "table")
    assert argv[0] == "/usr/lib/postgresql/15/bin/pg_repack"
    assert "--no-kill-backend" in argv
    assert "--wait-timeout=5" in argv
    assert '--table="public"."t"' in argv
    assert "--dbname=jarvis" in argv
    assert not any("S3cret" in word for word in argv)
    assert not any(word.startswith("--jobs") for word in argv)
    runner.run("jarvis", '"public"."t"', "table")
    argv, kwargs = runner.host.calls[-1]
    assert argv[:5] == ["timeout", "-s", "INT", "-k", str(_repack.SIGINT_GRACE)]
    assert kwargs["environ_update"]["PGPASSWORD"] == "S3cret-pw"
    # pg_repack's own name: it skips other pg_repack sessions when it waits for old transactions
    assert kwargs["environ_update"]["PGAPPNAME"] == "pg_repack"


def test_jobs_go_to_tables_only():
    runner = repack_for(repack_jobs=3)
    assert "--jobs=3" in runner.argv("jarvis", '"public"."t"', "table")
    index = runner.argv("jarvis", '"public"."t_pkey"', "index")
    assert '--index="public"."t_pkey"' in index
    assert not any(word.startswith("--jobs") for word in index)


def test_in_the_container_the_password_goes_in_by_name():
    runner = repack_for(client="docker", docker_container="sutazai-postgres", docker_binary="docker", login_user="sa")
    argv = runner.argv("jarvis", '"public"."t"', "table")
    assert argv[:6] == ["docker", "exec", "-e", "PGPASSWORD", "-e", "PGAPPNAME"]
    assert "sutazai-postgres" in argv
    assert not any("S3cret" in word for word in argv)
    runner.run("jarvis", '"public"."t"', "table")
    ran, _kwargs = runner.host.calls[-1]
    # the time limit runs inside the container, right before pg_repack (docker exec forwards no signal)
    at = ran.index("sutazai-postgres")
    assert ran[at + 1 : at + 3] == ["timeout", "-s"]
    assert ran[ran.index("timeout") + 6] == "pg_repack"


def facts(**overrides):
    base = {"has_key": True, "leftover": False, "free": 10**9, "needed": 10**6, "directory": "/data"}
    return dict(base, **overrides)


def test_why_a_table_cannot_be_repacked():
    runner = repack_for()
    ready = _repack.Readiness(True, version="1.4.8")
    assert runner.unusable(ready, facts()) is None
    assert "no primary key" in runner.unusable(ready, facts(has_key=False))
    assert "interrupted" in runner.unusable(ready, facts(leftover=True))
    assert "cannot be read" in runner.unusable(ready, facts(free=None))
    assert "needs 1000.0 KiB free" in runner.unusable(ready, facts(free=10, needed=1024000)).replace("1,000", "1000")
    assert runner.unusable(_repack.Readiness(False, "no extension"), facts()) == "no extension"


class Render:
    """psycopg2.sql rendered without a connection: identifiers double-quoted."""

    def __call__(self, statement):
        if isinstance(statement, psycopg2_sql.Identifier):
            return ".".join(f'"{part}"' for part in statement.strings)
        return repr(statement)


def plan(actions, ready, table_facts, indexes=()):
    runner = repack_for()
    tables = [
        {"schema": "public", "name": name, "table": f"public.{name}", "percent": 60.0, "method": "estimate"}
        for name in table_facts
    ]
    ready.targets = {f'"public"."{name}"': facts(**extra) for name, extra in table_facts.items()}
    data = {"table_bloat": {"tables": tables}, "index_bloat": {"indexes": list(indexes)}}
    notes = []
    planned = _actions.plan(
        "jarvis",
        {"actions": list(actions), "thresholds": {}, "reindex_concurrently": True},
        data.__getitem__,
        list,
        psycopg2_sql,
        Render(),
        repack=SimpleNamespace(runner=runner, readiness=lambda names: ready),
        notes=notes,
    )
    return planned, notes


def test_repack_where_it_can_vacuum_full_in_the_window_where_it_cannot():
    planned, notes = plan(["repack", "vacuum_full"], _repack.Readiness(True, version="1.4.8"),
                          {"good": {}, "keyless": {"has_key": False}})  # fmt: skip
    assert [(item["action"], item["target"]) for item in planned] == [
        ("repack", "public.good"),
        ("vacuum_full", "public.keyless"),
    ]
    assert "pg_repack cannot: it has no primary key" in planned[1]["reason"]
    assert [(note.check, note.severity) for note in notes] == [("repack", "ok")]
    assert "VACUUM FULL rewrites 1" in notes[0].message


def test_outside_a_window_what_pg_repack_cannot_do_is_a_warning():
    planned, notes = plan(["repack"], _repack.Readiness(True, version="1.4.8"), {"keyless": {"has_key": False}})
    assert planned == []
    found = [(note.check, note.severity, note.subject) for note in notes]
    assert found == [("repack", "warning", "jarvis.public.keyless")]


def test_without_the_extension_one_finding_names_the_package():
    why = "the pg_repack extension is not created in database jarvis"
    ready = _repack.Readiness(False, why, "Install postgresql-15-repack.")
    planned, notes = plan(["repack"], ready, {"a": {}, "b": {}})
    assert planned == []
    assert len(notes) == 1
    assert notes[0].subject == "jarvis"
    assert "postgresql-15-repack" in notes[0].recommendation


def test_indexes_are_repacked_only_without_action_reindex():
    index = {"schema": "public", "name": "t_idx", "index": "public.t_idx", "table": "public.t", "percent": 50.0,
             "method": "estimate"}  # fmt: skip
    ready = _repack.Readiness(True, version="1.4.8")
    ready_targets = {'"public"."t_idx"': facts()}

    def readiness(names):
        ready.targets = dict(ready_targets)
        return ready

    runner = repack_for()
    data = {"table_bloat": {"tables": []}, "index_bloat": {"indexes": [index]}, "invalid_indexes": {"indexes": []}}
    for actions, expected in ((["repack"], [("repack", "index")]), (["repack", "reindex"], [("reindex", None)])):
        planned = _actions.plan(
            "jarvis",
            {"actions": actions, "thresholds": {}, "reindex_concurrently": True},
            data.__getitem__,
            list,
            psycopg2_sql,
            Render(),
            repack=SimpleNamespace(runner=runner, readiness=readiness),
            notes=[],
        )
        assert [(item["action"], item.get("kind")) for item in planned] == expected
