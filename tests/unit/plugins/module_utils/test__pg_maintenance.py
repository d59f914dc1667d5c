# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The registry-driven dispatch: data is read once and only when needed; only the needed judges run."""

from __future__ import annotations

import psycopg2.sql as psycopg2_sql
import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres import _actions, _checks
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._gather import Sources
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._maintenance import (
    ARGUMENT_SPEC,
    Judging,
    wanted_sources,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._sql import SQL, TABLE_STATISTICS

TABLE = {
    "relid": 1, "schemaname": "public", "relname": "t", "n_live_tup": 5000, "n_dead_tup": 5000,
    "n_mod_since_analyze": 0, "seq_scan": 0, "idx_scan": 0, "last_vacuum": None, "last_autovacuum": None,
    "last_analyze": None, "last_autoanalyze": None, "analyze_age_days": None, "total_bytes": 8192,
    "reltuples": 5000.0, "relpages": 1, "fillfactor": 100, "heap_bytes": 8192, "n_tup_ins": 10000, "n_tup_del": 5000,
    "vacuum_age_days": None,
}  # fmt: skip


class FakeSession:
    """Answers the checks' queries by name and records which were asked."""

    def __init__(self, answers):
        self.answers = answers
        self.asked = []
        self.names = {query: name for name, query in SQL.items()}

    def rows(self, query, params=None):
        name = self.names[query]
        self.asked.append(name)
        return self.answers[name]


def params(checks, actions=()):
    return {
        "checks": list(checks),
        "actions": list(actions),
        "thresholds": _checks.defaults(),
        "exact_bloat": False,
        "reindex_concurrently": True,
    }


def judged(asked, actions=()):
    answers = {
        "tables": [TABLE],
        "sized_tables": [TABLE],
        "indexes": [],
        "columns": [],
        "database_size": [{"bytes": 1}],
    }
    session = FakeSession(answers)
    values = params(asked, actions)
    # as the module makes them: knowing what the run will read
    sources = Sources(session, values, 8192, "db", Exception, wanted_sources(values["checks"], values["actions"]))
    judging = Judging(sources, values["checks"])
    report, findings = {}, []
    judging.report(_checks.DATABASE, report, findings)
    planned = _actions.plan("db", values, judging.data, lambda: sources.get("tables"), psycopg2_sql, str)
    return session.asked, set(judging.results), report, findings, planned


def test_only_the_data_of_asked_checks_is_read_once():
    asked, ran, report, findings, _planned = judged(["dead_tuples", "never_analyzed", "maintenance_age"])
    assert asked == ["tables"]
    assert ran == {"dead_tuples", "never_analyzed", "maintenance_age"}
    assert list(report) == ["dead_tuples", "maintenance_age", "never_analyzed"]  # the registry's order
    assert {finding.check for finding in findings} == {"dead_tuples", "never_analyzed", "maintenance_age"}


def test_unasked_checks_do_not_run():
    asked, ran, report, _findings, _planned = judged(["invalid_indexes"])
    assert asked == ["indexes"]
    assert ran == {"invalid_indexes"} and list(report) == ["invalid_indexes"]


def test_an_action_judges_its_check_once_without_reporting_it():
    asked, ran, report, findings, planned = judged(["never_analyzed"], ["vacuum"])
    assert asked == ["tables"]
    assert ran == {"never_analyzed", "dead_tuples"}
    assert list(report) == ["never_analyzed"]
    assert {finding.check for finding in findings} == {"never_analyzed"}
    assert [(item["action"], item["target"]) for item in planned] == [("vacuum", "public.t")]


def test_the_argument_spec_comes_from_the_registry():
    assert ARGUMENT_SPEC["checks"]["choices"] == [check.name for check in _checks.CHECKS]
    suboptions = ARGUMENT_SPEC["thresholds"]["options"]
    assert suboptions["never_analyzed_rows_warning"] == {"type": "float", "default": 1000}
    assert suboptions["dead_tuples_min"] == {"type": "float", "default": 1000}


def test_a_table_vacuumed_minutes_ago_is_recounted_before_it_is_vacuumed_again():
    values = params(["dead_tuples"], ["vacuum"])
    recent = {"schema": "public", "name": "t", "table": "public.t", "dead": 5000, "percent": 50.0, "relid": 1,
              "vacuum_age_days": 60 / 86400}  # fmt: skip
    old = dict(recent, name="u", table="public.u", relid=2, vacuum_age_days=2.0)
    asked = []

    def dead_now(item):
        asked.append(item["table"])
        return 0

    def data(_check):
        return {"tables": [recent, old]}

    planned = _actions.plan("db", values, data, lambda: [], psycopg2_sql, str, dead_now)
    assert [item["target"] for item in planned] == ["public.u"]
    assert asked == ["public.t"]  # only the recently vacuumed table is recounted
    assert recent["recounted"] == 0
    # without pgstattuple (no recount) the statistics collector's count is acted on
    assert len(_actions.plan("db", values, lambda _c: {"tables": [dict(recent)]}, list, psycopg2_sql, str)) == 1


DAILY = ["connections", "long_transactions", "idle_in_transaction", "prepared_transactions", "blocking_locks",
         "wraparound", "replication_slots", "wal", "dead_tuples", "maintenance_age"]  # fmt: skip


def test_the_daily_checks_and_analyze_read_only_the_tables_statistics_once():
    asked, ran, report, _findings, planned = judged(DAILY, ["analyze"])
    assert asked == ["tables"]
    assert ran == {"dead_tuples", "maintenance_age"} and list(report) == ["dead_tuples", "maintenance_age"]
    changed = dict(TABLE, n_mod_since_analyze=5000)
    session = FakeSession({"tables": [changed]})
    values = params(DAILY, ["analyze"])
    sources = Sources(session, values, 8192, "db", Exception, wanted_sources(DAILY, ["analyze"]))
    planned = _actions.plan("db", values, lambda _c: {}, lambda: sources.get("tables"), psycopg2_sql, str)
    assert [(item["action"], item["target"]) for item in planned] == [("analyze", "public.t")]
    assert session.asked == ["tables"]


@pytest.mark.parametrize(
    ("checks", "actions", "expected"),
    [
        # the sizes are read once, and the statistics taken from them
        (["database_size", "dead_tuples", "table_bloat"], [], ["database_size", "sized_tables", "columns"]),
        # a check that needs only statistics, judged before the action's check that needs sizes
        (["dead_tuples"], ["vacuum_full"], ["sized_tables", "columns"]),
        (["never_analyzed", "vacuum_age", "seq_scans"], ["analyze", "vacuum"], ["tables"]),
    ],
)
def test_the_tables_are_read_once_with_sizes_only_when_a_check_needs_them(checks, actions, expected):
    asked, _ran, _report, _findings, _planned = judged(checks, actions)
    assert asked == expected


def test_without_knowing_the_run_each_tables_query_is_its_own():
    session = FakeSession({"tables": [TABLE], "sized_tables": [dict(TABLE, heap_bytes=16384)]})
    sources = Sources(session, params(["dead_tuples", "database_size"]), 8192, "db", Exception)
    assert sources.get("tables") == [TABLE]
    assert sources.get("sized_tables")[0]["heap_bytes"] == 16384
    assert session.asked == ["tables", "sized_tables"]


@pytest.mark.parametrize(
    ("checks", "actions", "wanted", "unwanted"),
    [
        (DAILY, ["analyze"], {"activity", "wal", "tables"}, {"sized_tables", "indexes", "columns"}),
        (["dead_tuples"], ["vacuum_full"], {"tables", "sized_tables", "columns", "exact_tables"}, {"indexes"}),
        (["wal"], ["reindex"], {"wal", "indexes"}, {"tables", "sized_tables"}),
    ],
)
def test_the_wanted_sources_are_those_of_the_checks_and_the_actions(checks, actions, wanted, unwanted):
    sources = wanted_sources(checks, actions)
    assert wanted <= sources and not unwanted & sources


def test_the_statistics_query_opens_no_relation_and_reads_no_lock():
    for costly in ("pg_relation_size", "pg_total_relation_size", "pg_locks", "has_table_privilege", "pg_class"):
        assert costly not in SQL["tables"]
    # both tables queries give the same statistics columns
    assert TABLE_STATISTICS in SQL["tables"] and TABLE_STATISTICS in SQL["sized_tables"]
