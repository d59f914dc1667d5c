# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
import yaml

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres import _checks as checks
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres import _sql as sql
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._gather import SINGLE, Sources
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._maintenance import (
    check_disruptive,
    check_duration,
    check_throttle,
)
from ansible_collections.jarvis.maintenance.plugins.modules import pg_maintenance

T = checks.defaults()


def test_the_documentation_lists_exactly_the_registry():
    options = yaml.safe_load(pg_maintenance.DOCUMENTATION)["options"]
    assert options["checks"]["choices"] == checks.NAMES
    assert options["checks"]["default"] == checks.NAMES
    described = [
        f"V({check.name}) - {check.description}{' Cluster-wide.' if check.scope == checks.CLUSTER else ''}"
        for check in checks.CHECKS
    ]
    assert options["checks"]["description"][1:] == described
    documented = {name: option["default"] for name, option in options["thresholds"]["suboptions"].items()}
    expected = {}
    for check in checks.CHECKS:
        for name, threshold in check.thresholds.items():
            expected[f"{name}_warning"], expected[f"{name}_critical"] = threshold.warning, threshold.critical
        expected.update(check.limits)
    assert documented == expected == checks.defaults()


def test_every_check_needs_only_sources_there_are():
    # a check's needs are its judge's parameters besides database, block_size and thresholds
    for check in checks.CHECKS:
        for need in check.needs:
            assert hasattr(Sources, f"fetch_{need}") or need in SINGLE or need in sql.SQL, (check.name, need)


@pytest.mark.parametrize(
    ("tuples", "pages", "tuple_bytes", "expected"),
    [
        # 10,000 rows of 128 bytes: 61 rows (132 bytes with the line pointer) in 8168 usable bytes -> 164 pages
        (10000, 164, 128.0, 0.0),
        (10000, 328, 128.0, 50.0),
        (10000, 1640, 128.0, 90.0),
        (0, 100, 24.0, 100.0),  # everything deleted, pages kept
        (10000, 0, 128.0, None),  # no pages
        (10000, 100, None, None),  # no row size: cannot tell
        (291 * 10, 10, 24.0, 0.0),  # tiny rows: at most MaxHeapTuplesPerPage (291) a page
    ],
)
def test_table_bloat_estimate(tuples, pages, tuple_bytes, expected):
    assert sql.table_bloat(tuples, pages, tuple_bytes, 8192, 100) == expected


def test_fillfactor_counts_as_expected_free_space():
    # a 50 % fillfactor table keeps 4096 bytes a page free: 30 rows of 132 bytes, 334 pages
    assert sql.table_bloat(10000, 334, 128.0, 8192, 50) == 0.0
    assert sql.table_bloat(10000, 334, 128.0, 8192, 100) == 50.9


def column(attlen, attalign, null_frac=0.0, width=None):
    return [attlen, attalign, null_frac, attlen if width is None else width]


def test_a_row_counts_the_padding_between_its_columns():
    # boolean then bigint, five times: each bigint is aligned to 8, so a pair takes 16 bytes, not 9
    columns = [col for _pair in range(5) for col in (column(1, "c"), column(8, "d"))]
    assert sql.heap_tuple_bytes(columns) == 24 + 80
    # the same columns, the bigints first, pack tighter: 40 + 5 bytes of data, the row aligned to 72
    tight = [column(8, "d")] * 5 + [column(1, "c")] * 5
    assert sql.heap_tuple_bytes(tight) == 72


def test_a_row_counts_only_the_values_that_are_not_null_and_its_null_bitmap():
    # a bigint id and 8 text columns of 33 bytes, 90 % NULL: about 8 + 8 * 0.1 * 33 bytes of data
    columns = [column(8, "d")] + [column(-1, "i", 0.9, 33)] * 8
    size = sql.heap_tuple_bytes(columns)
    assert size == 72  # 32-byte header (23 + a 2-byte bitmap, aligned) + 34.4 data, aligned
    # without NULLs the same columns take 8 + 8 * 33 bytes, and no bitmap
    assert sql.heap_tuple_bytes([column(8, "d")] + [column(-1, "i", 0.0, 33)] * 8) == 24 + 272


def test_a_long_varlena_is_aligned_and_a_dropped_column_means_a_null_bitmap():
    assert sql.heap_tuple_bytes([column(1, "c"), column(-1, "i", 0.0, 200)]) == 24 + 208
    assert sql.heap_tuple_bytes([column(8, "d"), [-1, "i", 1, 0]]) == 24 + 8  # bitmap of 1 byte fits in 24


def test_a_table_never_analyzed_has_no_row_size():
    assert sql.heap_tuple_bytes([column(8, "d"), [-1, "i", None, None]]) is None
    assert sql.heap_tuple_bytes(None) is None


def counts(**values):
    row = {"reltuples": 1000.0, "relpages": 10, "n_live_tup": 1000, "n_dead_tup": 0, "n_tup_ins": 1000, "n_tup_del": 0}
    row.update(values)
    return row


def test_live_rows_are_the_smaller_of_the_catalog_and_the_statistics_collector():
    # half the rows deleted since the last ANALYZE: the collector knows
    assert sql.live_tuples(counts(n_live_tup=500, n_tup_del=500), 10) == 500
    # the table doubled since: the catalog's density scaled to the pages now
    assert sql.live_tuples(counts(n_live_tup=2000), 20) == 2000
    # PostgreSQL 15 counted a bulk insert twice (its counts landed after the VACUUM's): the catalog
    assert sql.live_tuples(counts(n_live_tup=2000), 10) == 1000
    # statistics reset: only the catalog
    assert sql.live_tuples(counts(n_live_tup=0, n_tup_ins=0), 10) == 1000
    # never vacuumed nor analyzed: only the collector
    assert sql.live_tuples(counts(reltuples=-1.0, relpages=0, n_live_tup=700), 12) == 700


@pytest.mark.parametrize(
    ("reltuples", "relpages", "width", "expected"),
    [
        (100000, 274, 4.0, 0.0),  # int4 key: 8 + 8 + 4 = 20 bytes, 7336.8 usable per page -> 273 + meta
        (100000, 1100, 4.0, 75.1),
        (100000, 1, 4.0, None),
    ],
)
def test_index_bloat_estimate(reltuples, relpages, width, expected):
    assert sql.index_bloat(reltuples, relpages, width, 8192) == expected


@pytest.mark.parametrize(
    ("row", "percent"),
    [
        ({"last_value": 950, "min_value": 1, "max_value": 1000, "increment_by": 1}, 94.99),
        ({"last_value": None, "min_value": 1, "max_value": 1000, "increment_by": 1}, 0.0),
        # a bigint sequence feeding an integer column runs out at 2^31
        (
            {
                "last_value": 2000000000,
                "min_value": 1,
                "max_value": 9223372036854775807,
                "increment_by": 1,
                "column_type": "integer",
            },
            93.13,
        ),
        ({"last_value": -90, "min_value": -100, "max_value": -1, "increment_by": -1}, 89.9),
    ],
)
def test_sequence_usage(row, percent):
    assert sql.sequence_usage(row) == percent


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ALTER ROLE app PASSWORD 'hunter2'", "ALTER ROLE app PASSWORD '?'"),
        ("SELECT 'it''s' ,  x\n FROM t", "SELECT '?' , x FROM t"),
        (None, ""),
    ],
)
def test_mask_literals_hides_literals(query, expected):
    assert sql.mask_literals(query) == expected


def test_mask_literals_shortens():
    assert len(sql.mask_literals("SELECT " + "x, " * 200)) == 200


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"dead_tuples_min": -1}, "thresholds.dead_tuples_min must not be negative, got -1"),
        (
            {"sequence_percent_warning": 95},
            "thresholds.sequence_percent_warning/sequence_percent_critical: "
            "warning (95) must not be above critical (90)",
        ),
    ],
)
def test_validate_thresholds(overrides, problem):
    if problem is None:
        checks.validate_thresholds(dict(T, **overrides))
    else:
        with pytest.raises(ModuleError) as caught:
            checks.validate_thresholds(dict(T, **overrides))
        assert caught.value.msg == f"Cannot run PostgreSQL maintenance: {problem}"


@pytest.mark.parametrize(
    ("value", "ok"), [("5s", True), ("500ms", True), ("0", True), ("2 min", True), ("5 parsecs", False), ("", False)]
)
def test_check_duration(value, ok):
    assert (check_duration("lock_timeout", value) is None) is ok


@pytest.mark.parametrize(
    ("actions", "allow", "concurrently", "refused"),
    [
        (["vacuum_full"], False, True, True),
        (["vacuum_full"], True, True, False),
        (["reindex"], False, True, False),
        (["reindex"], False, False, True),
        (["analyze", "vacuum"], False, True, False),
    ],
)
def test_disruptive_actions_need_allow_disruptive(actions, allow, concurrently, refused):
    params = {"actions": actions, "allow_disruptive": allow, "reindex_concurrently": concurrently}
    assert (check_disruptive(params) is not None) is refused


@pytest.mark.parametrize(
    ("delay", "limit", "problem"),
    [
        (2, 200, None),
        (0, 1, None),
        (100, 10000, None),
        (100.5, 200, "vacuum_cost_delay must be 0 to 100 (milliseconds), got 100.5"),
        (-1, 200, "vacuum_cost_delay must be 0 to 100"),
        (2, 0, "vacuum_cost_limit must be 1 to 10000, got 0"),
        (2, 10001, "vacuum_cost_limit must be 1 to 10000"),
    ],
)
def test_check_throttle_names_the_parameter(delay, limit, problem):
    found = check_throttle({"vacuum_cost_delay": delay, "vacuum_cost_limit": limit})
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


def activity(pid, state, xact, since_state, blocked_by=()):
    return {
        "pid": pid,
        "datname": "jarvis",
        "usename": "app",
        "application_name": "api",
        "state": state,
        "xact_seconds": xact,
        "state_seconds": since_state,
        "query_seconds": since_state,
        "query": "UPDATE t SET secret = 'x'",
        "blocked_by": list(blocked_by),
    }


def test_connections_counts_states_against_max_connections():
    rows = [activity(1, "active", 1, 1), activity(2, "idle", None, 9), activity(3, "idle in transaction", 5, 5)]
    (finding,), data = checks.judge_connections(rows, 4, T)
    assert data == {
        "total": 3,
        "max_connections": 4,
        "percent": 75.0,
        "active": 1,
        "idle": 1,
        "idle_in_transaction": 1,
        "other": 0,
    }
    assert finding.severity == "warning"


def test_long_and_idle_transactions_are_judged_by_their_own_clocks():
    rows = [activity(1, "active", 4000, 1), activity(2, "idle in transaction", 100, 700), activity(3, "idle", None, 5)]
    long_findings, long_data = checks.judge_long_transactions(rows, T)
    idle_findings, _data = checks.judge_idle_in_transaction(rows, T)
    assert [(f.subject, f.severity) for f in long_findings] == [("pid 1", "critical")]
    assert [(f.subject, f.severity) for f in idle_findings] == [("pid 2", "critical")]
    assert long_data["transactions"][0]["query"] == "UPDATE t SET secret = '?'"


def test_blocking_locks_name_the_blockers():
    rows = [activity(7, "active", 70, 70, blocked_by=[3, 4]), activity(3, "idle in transaction", 80, 80)]
    (finding,), data = checks.judge_blocking_locks(rows, T)
    assert finding.severity == "critical"
    assert "waiting on pid(s) 3, 4" in finding.message
    assert data["waits"][0]["blocked_by"] == [3, 4]


def table(name, **values):
    row = {
        "relid": 1,
        "schemaname": "public",
        "relname": name,
        "n_live_tup": 1000,
        "n_dead_tup": 0,
        "n_mod_since_analyze": 0,
        "seq_scan": 0,
        "idx_scan": 0,
        "analyze_age_days": 1.0,
        "last_vacuum": None,
        "last_autovacuum": None,
        "last_analyze": None,
        "last_autoanalyze": None,
        "n_tup_ins": 1000,
        "n_tup_del": 0,
        "heap_bytes": 8192,
        "total_bytes": 8192,
        "reltuples": 1000.0,
        "relpages": 1,
        "fillfactor": 100,
        "columns": [[4, "i", 0.0, 4], [4, "i", 0.0, 4]],
    }
    row.update(values)
    return row


def test_dead_tuples_uses_the_runbook_minimum_and_percent_levels():
    rows = [
        table("few", n_dead_tup=900, n_live_tup=100),  # under the 1000 minimum
        table("some", n_dead_tup=1500, n_live_tup=8500),  # 15 %
        table("many", n_dead_tup=5000, n_live_tup=5000),  # 50 %
    ]
    findings, data = checks.judge_dead_tuples("jarvis", rows, T)
    assert {(f.subject, f.severity) for f in findings} == {
        ("jarvis.public.some", "warning"),
        ("jarvis.public.many", "critical"),
    }
    assert [item["name"] for item in data["tables"]] == ["some", "many"]


def test_dead_tuples_all_clear_is_one_ok_finding():
    findings, data = checks.judge_dead_tuples("jarvis", [table("a"), table("b")], T)
    assert [f.severity for f in findings] == ["ok"]
    assert data == {"tables": []}


def test_never_analyzed_changed_table_is_a_warning():
    findings, _data = checks.judge_maintenance_age(
        "jarvis", [table("fresh", n_mod_since_analyze=5000, analyze_age_days=None)], T
    )
    assert (findings[0].severity, findings[0].value) == ("warning", None)
    assert "never analyzed" in findings[0].message


@pytest.mark.parametrize(
    ("live", "changes", "percent", "stale"),
    [
        (1_000_000, 999, 10, False),  # under analyze_changes_min
        (1_000_000, 50_000, 10, False),  # 5 % of a big table: still representative, autovacuum's to do
        (1_000_000, 100_000, 10, True),  # 10 %: stale
        (1_000_000, 50_000, 0, True),  # percent 0: the minimum alone
        (2_000, 1_500, 10, True),  # most of a small table
        (0, 5_000, 10, True),  # never counted (n_live_tup 0): the minimum decides
        (None, 5_000, 10, True),
    ],
)
def test_statistics_are_stale_past_both_the_minimum_and_the_share(live, changes, percent, stale):
    row = table("t", n_live_tup=live, n_mod_since_analyze=changes)
    assert checks.statistics_stale(row, dict(T, analyze_changes_percent=percent)) is stale


def test_maintenance_age_and_the_analyze_action_judge_staleness_alike():
    rows = [
        table("big", n_live_tup=1_000_000, n_mod_since_analyze=50_000, analyze_age_days=40.0),
        table("churned", n_live_tup=10_000, n_mod_since_analyze=5_000, analyze_age_days=40.0),
    ]
    findings, data = checks.judge_maintenance_age("jarvis", rows, T)
    assert [item["table"] for item in data["tables"]] == ["public.churned"]
    assert [f.subject for f in findings if f.severity != "ok"] == ["jarvis.public.churned"]


def test_unused_indexes_wait_for_old_enough_statistics():
    index = {
        "schemaname": "public",
        "indexname": "t_x_idx",
        "tablename": "t",
        "idx_scan": 0,
        "indisunique": False,
        "indisprimary": False,
        "indisvalid": True,
        "bytes": 5 * 1024 * 1024,
    }
    young, _young_data = checks.judge_unused_indexes("jarvis", [index], 2.0, T)
    old, _data = checks.judge_unused_indexes("jarvis", [index], 30.0, T)
    assert [f.severity for f in young] == ["ok"]
    assert "too young" in young[0].message
    assert [(f.subject, f.severity) for f in old] == [("jarvis.public.t_x_idx", "warning")]
    unique, _unique_data = checks.judge_unused_indexes("jarvis", [dict(index, indisunique=True)], 30.0, T)
    assert [f.severity for f in unique] == ["ok"]


def duplicate_rows(**changes):
    base = {
        "schemaname": "public", "tablename": "t", "table_oid": 1, "amname": "btree", "indkey": "2",
        "indnkeyatts": 1, "indclass": "3126", "indcollation": "100", "indoption": "0", "exprs": "", "pred": "",
        "indisvalid": True, "indisunique": False, "indisprimary": False, "backs_constraint": False,
    }  # fmt: skip
    return [dict(base, indexname=name, **values) for name, values in changes.items()]


def test_duplicate_indexes_group_by_the_whole_definition():
    rows = duplicate_rows(
        a={},
        b={},
        c={"pred": "(x > 0)"},  # partial
        d={"indkey": "3"},  # another column
        e={"indcollation": "950"},  # (name COLLATE "C")
        f={"indclass": "10044"},  # text_pattern_ops
        g={"indoption": "3"},  # DESC NULLS FIRST
        h={"indkey": "2 3", "indnkeyatts": 1},  # INCLUDE (y)
        i={"indkey": "2 3", "indnkeyatts": 2},  # (x, y)
        j={"indisvalid": False},  # a failed build: invalid_indexes reports it
    )
    findings, data = checks.judge_duplicate_indexes("jarvis", rows)
    assert [f.message for f in findings] == [
        "Index(es) public.b on t in jarvis repeat public.a (not unique): keep public.a"
    ]
    assert findings[0].recommendation == "Keep public.a; DROP INDEX CONCURRENTLY public.b."
    assert data["groups"] == [
        {"table": "t", "keep": "public.a", "drop": ["public.b"], "indexes": ["public.a", "public.b"]}
    ]


def test_the_duplicate_kept_is_the_primary_key_then_a_constraint_s_then_a_unique_one():
    rows = duplicate_rows(
        a_plain={},
        b_unique={"indisunique": True},
        c_constraint={"indisunique": True, "backs_constraint": True},
        d_pkey={"indisunique": True, "indisprimary": True, "backs_constraint": True},
    )
    (finding,), data = checks.judge_duplicate_indexes("jarvis", rows)
    assert data["groups"][0]["keep"] == "public.d_pkey"
    assert data["groups"][0]["drop"] == ["public.c_constraint", "public.b_unique", "public.a_plain"]
    assert "drop its constraint (ALTER TABLE ... DROP CONSTRAINT), which drops public.c_constraint" in (
        finding.recommendation
    )
    # a unique index beside a non-unique one on the same key: the unique one is kept
    (finding,), data = checks.judge_duplicate_indexes("jarvis", duplicate_rows(a={}, b={"indisunique": True}))
    assert data["groups"][0]["keep"] == "public.b" and "(unique)" in finding.message


def test_inactive_replication_slot_is_at_least_a_warning():
    rows = [
        {"slot_name": "old", "slot_type": "physical", "database": None, "active": False, "retained_bytes": 10},
        {"slot_name": "busy", "slot_type": "logical", "database": "j", "active": True, "retained_bytes": 2 * 1024**3},
        {"slot_name": "fine", "slot_type": "logical", "database": "j", "active": True, "retained_bytes": 0},
    ]
    findings, _slots = checks.judge_replication_slots(rows, T)
    assert {(f.subject, f.severity) for f in findings} == {("old", "warning"), ("busy", "warning")}


def test_missing_pg_stat_statements_is_an_ok_finding_with_the_reason():
    (finding,), data = checks.judge_slow_queries("jarvis", None, "the extension is not installed", T)
    assert finding.severity == "ok"
    assert "the extension is not installed" in finding.message
    assert data["available"] is False


def test_a_bloated_index_names_its_table():
    # 100,000 tuples of an 8-byte key fill about 300 pages: 1,500 pages are mostly bloat
    row = {
        "amname": "btree", "indisvalid": True, "bytes": 1500 * 8192, "indexrelid": 1, "plain_columns": True,
        "reltuples": 100000, "relpages": 1500, "key_width": 8, "schemaname": "public", "indexname": "orders_amount",
        "tablename": "orders",
    }  # fmt: skip
    findings, data = checks.judge_index_bloat("app", [row], 8192, T)
    assert [finding.severity for finding in findings] == ["critical"]
    assert data["indexes"][0]["table"] == "public.orders" and data["indexes"][0]["index"] == "public.orders_amount"


def test_never_analyzed_flags_tables_with_rows_and_no_statistics():
    def table(name, rows, analyzed=None, autoanalyzed=None):
        return {"schemaname": "public", "relname": name, "n_live_tup": rows,
                "last_analyze": analyzed, "last_autoanalyze": autoanalyzed}  # fmt: skip

    rows = [table("big", 2_000_000), table("mid", 5000), table("small", 10), table("done", 9000, autoanalyzed="x")]
    findings, data = checks.judge_never_analyzed("jarvis", rows, T)
    assert [(f.subject, f.severity) for f in findings] == [
        ("jarvis.public.big", "critical"),
        ("jarvis.public.mid", "warning"),
    ]
    assert findings[1].recommendation.startswith("ANALYZE public.mid")
    assert data == {"tables": [{"table": "public.big", "rows": 2_000_000}, {"table": "public.mid", "rows": 5000}]}
    (clear,), _data = checks.judge_never_analyzed("jarvis", [table("small", 10)], T)
    assert clear.severity == "ok"


def standby_row(**values):
    row = {
        "application_name": "walreceiver", "client_addr": None, "state": "streaming", "sync_state": "async",
        "write_lag_bytes": 0, "flush_lag_bytes": 0, "replay_lag_bytes": 0,
        "write_lag_seconds": None, "flush_lag_seconds": None, "replay_lag_seconds": None,
    }  # fmt: skip
    row.update(values)
    return row


PRIMARY = {"role": "primary", "in_recovery": False, "receiver_status": None, "upstream": None,
           "replay_lag_bytes": None, "replay_lag_seconds": None, "replay_pause_state": None}  # fmt: skip


def test_a_primary_judges_each_standby_by_its_worse_lag():
    rows = [
        standby_row(application_name="near"),
        standby_row(application_name="far", write_lag_bytes=10, replay_lag_bytes=100 * 1024**2, replay_lag_seconds=5),
        standby_row(application_name="slow", replay_lag_bytes=1024, replay_lag_seconds=900.0),
    ]
    findings, data = checks.judge_replication(PRIMARY, rows, T)
    assert [(f.subject, f.severity) for f in findings] == [("standby far", "warning"), ("standby slow", "critical")]
    assert "write 10 bytes, flush 0 bytes, replay 104857600 bytes, replay 5.0 s behind" in findings[0].message
    assert data["role"] == "primary" and len(data["standbys"]) == 3


def test_a_standby_not_streaming_is_a_warning_and_no_standby_is_fine():
    (finding,), _data = checks.judge_replication(PRIMARY, [standby_row(state="catchup")], T)
    assert finding.severity == "warning" and "catchup" in finding.message
    (alone,), _data = checks.judge_replication(PRIMARY, [], T)
    assert alone.severity == "ok" and alone.message == "This is a primary; no standby streams from it"
    # without pg_monitor the LSNs are NULL: said, not judged
    (hidden,), _data = checks.judge_replication(PRIMARY, [standby_row(replay_lag_bytes=None, write_lag_bytes=None,
                                                                      flush_lag_bytes=None)], T)  # fmt: skip
    assert hidden.severity == "ok" and "not visible" in hidden.message


def test_a_standby_reports_its_replay_lag_a_pause_and_not_receiving():
    standby = dict(PRIMARY, role="standby", in_recovery=True, receiver_status="streaming", upstream="p:5432",
                   replay_lag_bytes=2 * 1024**3, replay_lag_seconds=30.0, replay_pause_state="paused")  # fmt: skip
    findings, data = checks.judge_replication(standby, [], T)
    assert [(f.subject, f.severity) for f in findings] == [("standby", "critical"), ("standby", "warning")]
    assert data["role"] == "standby" and data["upstream"] == "p:5432"
    cut_off = dict(
        standby, receiver_status=None, replay_lag_bytes=0, replay_lag_seconds=0, replay_pause_state="not paused"
    )
    (finding,), _data = checks.judge_replication(cut_off, [], T)
    assert finding.severity == "critical" and "not receiving WAL (wal receiver: none)" in finding.message
    fine = dict(cut_off, receiver_status="streaming")
    (finding,), _data = checks.judge_replication(fine, [], T)
    assert finding.severity == "ok" and finding.message == "This standby streams and replays in time"


def test_freeze_progress_is_the_age_against_autovacuum_s_freeze_limit():
    rows = [
        {"datname": "old", "xid_age": 190_000_000, "mxid_age": 10},
        {"datname": "new", "xid_age": 1000, "mxid_age": 0},
    ]
    findings, data = checks.judge_freeze(rows, [{"xid": 200_000_000, "mxid": 400_000_000}], T)
    assert [(f.subject, f.severity, f.value) for f in findings] == [("old", "critical", 95.0)]
    assert data["databases"][0] == {"database": "old", "kind": "transaction", "age": 190_000_000, "percent": 95.0}


WAL = {"visible": True, "files": 10, "bytes": 160 * 1024**2, "max_wal_bytes": 1024**3, "archive_mode": "on",
       "archive_ready": 0, "archive_failed_count": 0, "last_failed_wal": None, "last_failed_time": None,
       "last_archived_time": None}  # fmt: skip


def test_wal_kept_and_the_archive_backlog():
    (clear,), data = checks.judge_wal(WAL, T)
    assert clear.severity == "ok" and data["percent_of_max_wal_size"] == 15.6
    findings, _data = checks.judge_wal(dict(WAL, bytes=2 * 1024**3, archive_ready=150, archive_failed_count=3), T)
    assert [(f.subject, f.severity) for f in findings] == [("pg_wal", "warning"), ("archiver", "critical")]
    assert "3 failures" in findings[1].message
    (hidden,), _data = checks.judge_wal({"visible": False, "reason": "permission denied for function pg_ls_waldir"}, T)
    assert hidden.severity == "ok" and "pg_monitor" in hidden.recommendation


def test_checkpoints_forced_by_wal_volume():
    row = {"timed": 30, "requested": 70, "since": "2026-12-01", "max_wal_size": "1GB", "checkpoint_timeout": "5min"}
    (finding,), data = checks.judge_checkpoints([row], T)
    assert finding.severity == "critical" and data["requested_percent"] == 70.0
    assert "Raise max_wal_size (now 1GB)" in finding.recommendation
    (few,), _data = checks.judge_checkpoints([dict(row, timed=2, requested=3)], T)
    assert few.severity == "ok" and "too few to judge" in few.message


def test_vacuum_age_of_tables_with_dead_tuples():
    rows = [
        table("never", n_dead_tup=5000, vacuum_age_days=None),
        table("stale", n_dead_tup=5000, vacuum_age_days=40.0),
        table("recent", n_dead_tup=5000, vacuum_age_days=1.0),
        table("clean", n_dead_tup=10, vacuum_age_days=None),
    ]
    findings, data = checks.judge_vacuum_age("jarvis", rows, T)
    assert [(f.subject, f.severity) for f in findings] == [
        ("jarvis.public.never", "warning"),
        ("jarvis.public.stale", "critical"),
    ]
    assert [item["table"] for item in data["tables"]] == ["public.never", "public.stale"]


def test_cache_hit_ratio_lower_is_worse():
    (finding,), data = checks.judge_cache_hit("jarvis", [{"hits": 920_000, "reads": 80_000}], T)
    assert (finding.severity, data["percent"]) == ("warning", 92.0)
    (good,), _data = checks.judge_cache_hit("jarvis", [{"hits": 999_000, "reads": 1000}], T)
    assert good.severity == "ok"
    (few,), _data = checks.judge_cache_hit("jarvis", [{"hits": 10, "reads": 90}], T)
    assert few.severity == "ok" and "too few to judge" in few.message


def test_disabled_triggers_foreign_keys_included():
    rows = [
        {"schemaname": "public", "relname": "orders", "tgname": "audit", "tgisinternal": False},
        {"schemaname": "public", "relname": "orders", "tgname": "RI_ConstraintTrigger_c_1", "tgisinternal": True},
    ]
    findings, data = checks.judge_disabled_triggers("jarvis", rows)
    assert [f.severity for f in findings] == ["warning", "warning"]
    assert data["triggers"][1] == {"table": "public.orders", "trigger": "RI_ConstraintTrigger_c_1", "internal": True}
    assert (
        findings[1].message
        == "The foreign-key or constraint trigger RI_ConstraintTrigger_c_1 of jarvis.public.orders is disabled"
    )
    assert "ENABLE TRIGGER ALL" in findings[1].recommendation and "ENABLE TRIGGER audit" in findings[0].recommendation
    (clear,), _data = checks.judge_disabled_triggers("jarvis", [])
    assert clear.severity == "ok"
