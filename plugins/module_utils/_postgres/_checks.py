# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PostgreSQL health checks: the SQL each runs and pure functions that judge its rows.

Every judge function takes plain rows (dicts) and the thresholds and returns
(findings, data), so unit tests call them without a server.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    OK,
    WARNING,
    Finding,
    classify,
    threshold_finding,
)

# name -> default. Documented in the pg_maintenance module (a unit test keeps both equal).
THRESHOLDS: dict[str, float] = {
    "connections_percent_warning": 70,
    "connections_percent_critical": 90,
    "long_transaction_seconds_warning": 300,
    "long_transaction_seconds_critical": 3600,
    "idle_in_transaction_seconds_warning": 60,
    "idle_in_transaction_seconds_critical": 600,
    "prepared_transaction_seconds_warning": 300,
    "prepared_transaction_seconds_critical": 3600,
    "lock_wait_seconds_warning": 10,
    "lock_wait_seconds_critical": 60,
    "slow_query_mean_ms_warning": 500,
    "slow_query_mean_ms_critical": 2000,
    "slow_query_min_calls": 5,
    "database_size_gb_warning": 100,
    "database_size_gb_critical": 500,
    "dead_tuples_min": 1000,
    "dead_tuples_percent_warning": 10,
    "dead_tuples_percent_critical": 30,
    "analyze_changes_min": 1000,
    "analyze_age_days_warning": 7,
    "analyze_age_days_critical": 30,
    "seq_scan_min": 1000,
    "seq_scan_min_rows": 10000,
    "seq_scan_percent_warning": 90,
    "unused_index_min_bytes": 1048576,
    "unused_index_stats_days": 7,
    "wraparound_age_warning": 500000000,
    "wraparound_age_critical": 1500000000,
    "sequence_percent_warning": 75,
    "sequence_percent_critical": 90,
    "replication_slot_retained_bytes_warning": 1073741824,
    "replication_slot_retained_bytes_critical": 10737418240,
    "table_bloat_percent_warning": 30,
    "table_bloat_percent_critical": 50,
    "index_bloat_percent_warning": 30,
    "index_bloat_percent_critical": 50,
    "bloat_min_bytes": 10485760,
}

# check name -> "cluster" (run once) or "database" (run in each database)
CHECKS: dict[str, str] = {
    "connections": "cluster",
    "long_transactions": "cluster",
    "idle_in_transaction": "cluster",
    "prepared_transactions": "cluster",
    "blocking_locks": "cluster",
    "wraparound": "cluster",
    "replication_slots": "cluster",
    "database_size": "database",
    "slow_queries": "database",
    "dead_tuples": "database",
    "maintenance_age": "database",
    "seq_scans": "database",
    "unused_indexes": "database",
    "invalid_indexes": "database",
    "duplicate_indexes": "database",
    "sequences": "database",
    "table_bloat": "database",
    "index_bloat": "database",
}

PAIRS = [
    "connections_percent",
    "long_transaction_seconds",
    "idle_in_transaction_seconds",
    "prepared_transaction_seconds",
    "lock_wait_seconds",
    "slow_query_mean_ms",
    "database_size_gb",
    "dead_tuples_percent",
    "analyze_age_days",
    "wraparound_age",
    "sequence_percent",
    "replication_slot_retained_bytes",
    "table_bloat_percent",
    "index_bloat_percent",
]

_LITERAL = re.compile(r"'(?:[^']|'')*'")


def check_thresholds(thresholds: dict[str, float]) -> str | None:
    """Why the thresholds are unusable (naming the key), or None."""
    for name, value in thresholds.items():
        if value is not None and value < 0:
            return f"thresholds.{name} must not be negative, got {value}"
    for pair in PAIRS:
        warning, critical = thresholds[f"{pair}_warning"], thresholds[f"{pair}_critical"]
        if warning > critical:
            return f"thresholds.{pair}_warning ({warning}) must not be above thresholds.{pair}_critical ({critical})"
    return None


def redact(query: str | None, limit: int = 200) -> str:
    """A query's text with string literals replaced (they may hold secrets), shortened."""
    text = _LITERAL.sub("'?'", query or "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pair(check: str, subject: str, value: float, thresholds: dict[str, float], name: str, **kwargs: Any) -> Finding:
    return threshold_finding(
        check, subject, value, thresholds[f"{name}_warning"], thresholds[f"{name}_critical"], **kwargs
    )


def all_clear(check: str, subject: str, message: str) -> Finding:
    return Finding(check=check, severity=OK, subject=subject, message=message)


# -- SQL ---------------------------------------------------------------------------------
SQL = {
    "databases": """
        SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname""",
    "activity": """
        SELECT pid, datname, usename, application_name, state, wait_event_type,
               EXTRACT(EPOCH FROM now() - xact_start)::float AS xact_seconds,
               EXTRACT(EPOCH FROM now() - state_change)::float AS state_seconds,
               EXTRACT(EPOCH FROM now() - query_start)::float AS query_seconds,
               query, pg_blocking_pids(pid) AS blocked_by
          FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()""",
    "max_connections": "SELECT current_setting('max_connections')::int AS max_connections",
    "prepared_transactions": """
        SELECT gid, database, owner, EXTRACT(EPOCH FROM now() - prepared)::float AS seconds
          FROM pg_prepared_xacts""",
    "wraparound": """
        SELECT datname, age(datfrozenxid) AS xid_age, mxid_age(datminmxid) AS mxid_age
          FROM pg_database ORDER BY datname""",
    "replication_slots": """
        SELECT slot_name, slot_type, database, active,
               CASE WHEN restart_lsn IS NULL THEN NULL
                    WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), restart_lsn)
                    ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END::bigint AS retained_bytes
          FROM pg_replication_slots""",
    "database_size": "SELECT pg_database_size(current_database())::bigint AS bytes",
    "stats_age": """
        SELECT EXTRACT(EPOCH FROM now() - coalesce(stats_reset, pg_postmaster_start_time()))::float / 86400
               AS days
          FROM pg_stat_database WHERE datname = current_database()""",
    "tables": """
        SELECT s.relid, s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,
               s.seq_scan, coalesce(s.idx_scan, 0) AS idx_scan,
               s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
               EXTRACT(EPOCH FROM now() - greatest(s.last_analyze, s.last_autoanalyze))::float / 86400
                   AS analyze_age_days,
               -- sizes from the catalog (as of the last VACUUM/ANALYZE): no lock on the table, so a
               -- table locked by another session cannot stall the checks
               (c.relpages + coalesce(tc.relpages, 0))::bigint * current_setting('block_size')::int AS table_bytes,
               (c.relpages + coalesce(tc.relpages, 0)
                + coalesce((SELECT sum(ic.relpages) FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid
                             WHERE ix.indrelid = s.relid), 0))::bigint * current_setting('block_size')::int
                   AS total_bytes,
               c.reltuples::float AS reltuples, c.relpages::bigint AS relpages,
               coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(c.reloptions) AS o
                          WHERE o LIKE 'fillfactor=%'), 100) AS fillfactor,
               (SELECT sum(st.avg_width) FROM pg_stats st
                 WHERE st.schemaname = s.schemaname AND st.tablename = s.relname)::float AS row_width
          FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
          LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid""",
    "indexes": """
        SELECT i.indexrelid, n.nspname AS schemaname, t.relname AS tablename, c.relname AS indexname,
               am.amname, i.indisvalid, i.indisunique, i.indisprimary, i.indisready,
               coalesce(s.idx_scan, 0) AS idx_scan,
               c.relpages::bigint * current_setting('block_size')::int AS bytes,
               c.reltuples::float AS reltuples, c.relpages::bigint AS relpages,
               i.indrelid::bigint AS table_oid, i.indkey::text AS indkey, i.indclass::text AS indclass,
               coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
               coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
               (SELECT sum(st.avg_width) FROM pg_attribute a
                  JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = t.relname
                                   AND st.attname = a.attname
                 WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[]))::float AS key_width,
               NOT (0 = ANY (i.indkey::int2[])) AND i.indexprs IS NULL AS plain_columns,
               pg_get_indexdef(i.indexrelid) AS definition
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_class t ON t.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_am am ON am.oid = c.relam
          LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'""",
    "sequences": """
        SELECT s.schemaname, s.sequencename, s.last_value, s.min_value, s.max_value, s.increment_by,
               s.data_type::text AS data_type,
               (SELECT format_type(a.atttypid, NULL) FROM pg_depend d
                  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass
                   AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0 LIMIT 1) AS column_type
          FROM pg_sequences s""",
    "has_extension": "SELECT extname FROM pg_extension WHERE extname IN ('pg_stat_statements', 'pgstattuple')",
    "slow_queries": """
        SELECT d.datname, s.queryid::text AS queryid, s.calls, s.mean_exec_time::float AS mean_ms,
               s.total_exec_time::float AS total_ms, s.rows, s.query
          FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
         WHERE d.datname = current_database() AND s.calls >= %(min_calls)s
         ORDER BY s.mean_exec_time DESC LIMIT 20""",
    "pgstattuple": """
        SELECT (t).table_len::bigint AS table_len, (t).free_percent + (t).dead_tuple_percent AS waste_percent
          FROM (SELECT pgstattuple(%(oid)s::regclass) AS t) AS x""",
    "pgstatindex": "SELECT avg_leaf_density::float AS density FROM pgstatindex(%(oid)s::regclass)",
}

TYPE_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


# -- pure estimates ----------------------------------------------------------------------
def _align(value: float, to: int = 8) -> float:
    return math.ceil(value / to) * to


def table_bloat(
    reltuples: float, relpages: int, row_width: float | None, block_size: int, fillfactor: int
) -> float | None:
    """Estimated % of a table's pages that hold no live row, or None when it cannot be told.

    Each row costs its 23-byte header (aligned to 24), its data (pg_stats' average
    width, aligned) and a 4-byte line pointer; a page has 24 header bytes and is filled
    to fillfactor. An estimate: off for wide, TOASTed or very skewed rows.
    """
    if relpages <= 0 or row_width is None or reltuples < 0:
        return None
    row_bytes = 24 + _align(row_width) + 4
    usable = (block_size - 24) * fillfactor / 100.0
    expected_pages = math.ceil(reltuples * row_bytes / usable) if reltuples else 0
    return round(max(0.0, 100.0 * (relpages - expected_pages) / relpages), 1)


def index_bloat(reltuples: float, relpages: int, key_width: float | None, block_size: int) -> float | None:
    """Estimated % of a B-tree index's pages beyond what its entries need (90 % leaf fill)."""
    if relpages <= 1 or key_width is None or reltuples < 0:
        return None
    entry_bytes = 8 + _align(key_width) + 4
    usable = (block_size - 24 - 16) * 0.9
    expected_pages = 1 + (math.ceil(reltuples * entry_bytes / usable) if reltuples else 1)
    return round(max(0.0, 100.0 * (relpages - expected_pages) / relpages), 1)


def sequence_usage(row: dict[str, Any]) -> float | None:
    """% of a sequence's range used, bounded by the type of the column it feeds."""
    if row["last_value"] is None:
        return 0.0
    increment = row["increment_by"]
    max_value, min_value = row["max_value"], row["min_value"]
    if row.get("column_type") in TYPE_MAX:
        limit = TYPE_MAX[row["column_type"]]
        max_value, min_value = min(max_value, limit), max(min_value, -limit - 1)
    span = max_value - min_value
    if span <= 0:
        return None
    used = row["last_value"] - min_value if increment > 0 else max_value - row["last_value"]
    return round(100.0 * used / span, 2)


def qualified(schema: str, name: str) -> str:
    return f"{schema}.{name}"


# -- judges: rows -> (findings, data) -----------------------------------------------------
def judge_connections(
    activity: list[dict[str, Any]], max_connections: int, thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    states: dict[str, int] = {"active": 0, "idle": 0, "idle_in_transaction": 0, "other": 0}
    for row in activity:
        state = row["state"] or "other"
        key = "idle_in_transaction" if state.startswith("idle in transaction") else state
        states[key if key in states else "other"] += 1
    total = len(activity)
    percent = round(100.0 * total / max_connections, 1) if max_connections else 0.0
    data = {"total": total, "max_connections": max_connections, "percent": percent, **states}
    finding = pair(
        "connections",
        "cluster",
        percent,
        thresholds,
        "connections_percent",
        unit="%",
        label=f"Client connections ({total} of max_connections {max_connections})",
        recommendation="Use a connection pooler (PgBouncer) or find the clients holding idle connections.",
    )
    return [finding], data


def judge_sessions(
    check: str,
    sessions: list[dict[str, Any]],
    clock: str,
    threshold: str,
    thresholds: dict[str, float],
    describe: Callable[[dict[str, Any]], str],
    recommendation: str,
    all_clear_message: str,
) -> list[Finding]:
    """One finding per session, judged by one of its clocks (seconds), or one ok finding."""
    findings = [
        pair(
            check,
            f"pid {row['pid']}",
            round(row[clock]),
            thresholds,
            threshold,
            unit=" s",
            label=describe(row),
            recommendation=recommendation,
        )
        for row in sessions
    ]
    return findings or [all_clear(check, "cluster", all_clear_message)]


def judge_long_transactions(
    activity: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    warning = thresholds["long_transaction_seconds_warning"]
    long_ones = [row for row in activity if (row["xact_seconds"] or 0) >= warning]
    findings = judge_sessions(
        "long_transactions",
        long_ones,
        "xact_seconds",
        "long_transaction_seconds",
        thresholds,
        lambda row: f"Transaction of pid {row['pid']} ({row['usename']} on {row['datname']}, {row['state']})",
        "Long transactions hold back VACUUM: end them or set idle_in_transaction_session_timeout.",
        f"No transaction open longer than {warning:g} s",
    )
    return findings, {"transactions": [activity_summary(row) for row in long_ones]}


def judge_idle_in_transaction(
    activity: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    warning = thresholds["idle_in_transaction_seconds_warning"]
    idle = [
        row
        for row in activity
        if (row["state"] or "").startswith("idle in transaction") and (row["state_seconds"] or 0) >= warning
    ]
    findings = judge_sessions(
        "idle_in_transaction",
        idle,
        "state_seconds",
        "idle_in_transaction_seconds",
        thresholds,
        lambda row: f"Session pid {row['pid']} ({row['usename']} on {row['datname']}) idle in transaction",
        "Fix the client that leaves transactions open; set idle_in_transaction_session_timeout.",
        f"No session idle in transaction for {warning:g} s or more",
    )
    return findings, {"sessions": [activity_summary(row) for row in idle]}


def judge_blocking_locks(
    activity: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    waiting = [row for row in activity if row["blocked_by"]]
    findings = []
    for row in waiting:
        blockers = ", ".join(str(pid) for pid in row["blocked_by"])
        findings.append(
            pair(
                "blocking_locks",
                f"pid {row['pid']}",
                round(row["query_seconds"] or 0, 1),
                thresholds,
                "lock_wait_seconds",
                unit=" s",
                label=f"pid {row['pid']} ({row['datname']}) waiting on pid(s) {blockers}",
                recommendation=f"Look at what pid(s) {blockers} run; end them if they are stuck.",
            )
        )
    data = {"waits": [dict(activity_summary(row), blocked_by=list(row["blocked_by"])) for row in waiting]}
    return findings or [all_clear("blocking_locks", "cluster", "No session waits on another's lock")], data


def activity_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "pid": row["pid"],
        "database": row["datname"],
        "user": row["usename"],
        "application": row["application_name"],
        "state": row["state"],
        "transaction_seconds": round(row["xact_seconds"] or 0, 1),
        "state_seconds": round(row["state_seconds"] or 0, 1),
        "query": redact(row["query"]),
    }


def judge_prepared_transactions(
    rows: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    findings = [
        pair(
            "prepared_transactions",
            f"gid {row['gid']}",
            round(row["seconds"]),
            thresholds,
            "prepared_transaction_seconds",
            unit=" s",
            label=f"Prepared transaction {row['gid']!r} in {row['database']}",
            recommendation="An orphaned prepared transaction holds locks and blocks VACUUM: "
            "COMMIT PREPARED or ROLLBACK PREPARED it.",
        )
        for row in rows
    ]
    data = {"prepared": [dict(row, seconds=round(row["seconds"], 1)) for row in rows]}
    return findings or [all_clear("prepared_transactions", "cluster", "No prepared transaction")], data


def judge_wraparound(rows: list[dict[str, Any]], thresholds: dict[str, float]) -> tuple[list[Finding], dict[str, Any]]:
    findings = []
    for row in rows:
        for kind, column in (("transaction ID", "xid_age"), ("multixact ID", "mxid_age")):
            finding = pair(
                "wraparound",
                row["datname"],
                row[column],
                thresholds,
                "wraparound_age",
                label=f"Oldest {kind} age in {row['datname']}",
                recommendation=f"VACUUM (FREEZE) the oldest tables of {row['datname']}; "
                "check what holds back autovacuum (long transactions, slots).",
            )
            if finding.severity != OK:
                findings.append(finding)
    worst_age = max((max(row["xid_age"], row["mxid_age"]) for row in rows), default=0)
    data = {"databases": rows}
    return findings or [
        all_clear("wraparound", "cluster", f"Oldest transaction ID age is {worst_age}, far from wraparound")
    ], data


def judge_replication_slots(
    rows: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    findings = []
    for row in rows:
        retained = row["retained_bytes"] or 0
        severity, crossed = classify(
            retained,
            thresholds["replication_slot_retained_bytes_warning"],
            thresholds["replication_slot_retained_bytes_critical"],
        )
        if not row["active"] and severity == OK:
            severity = WARNING
        if severity == OK:
            continue
        findings.append(
            Finding(
                check="replication_slots",
                severity=severity,
                subject=row["slot_name"],
                value=retained,
                threshold=crossed,
                message=f"Replication slot {row['slot_name']} is {'active' if row['active'] else 'inactive'} "
                f"and retains {retained} bytes of WAL",
                recommendation="Drop a slot no consumer uses (pg_drop_replication_slot); it keeps WAL forever.",
            )
        )
    return findings or [all_clear("replication_slots", "cluster", f"{len(rows)} replication slot(s), none stale")], {
        "slots": rows
    }


def judge_database_size(
    database: str, size_bytes: int, tables: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    largest = sorted(tables, key=lambda row: row["total_bytes"], reverse=True)[:10]
    finding = pair(
        "database_size",
        database,
        round(size_bytes / 1024**3, 2),
        thresholds,
        "database_size_gb",
        unit=" GB",
        label=f"Size of database {database}",
        recommendation="Archive or partition the largest tables; plan disk growth.",
    )
    data = {
        "bytes": size_bytes,
        "largest_tables": [
            {"table": qualified(row["schemaname"], row["relname"]), "total_bytes": row["total_bytes"]}
            for row in largest
        ],
    }
    return [finding], data


def judge_dead_tuples(
    database: str, tables: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    findings, flagged = [], []
    for row in tables:
        dead, live = row["n_dead_tup"] or 0, row["n_live_tup"] or 0
        if dead < thresholds["dead_tuples_min"]:
            continue
        percent = round(100.0 * dead / (dead + live), 1)
        name = qualified(row["schemaname"], row["relname"])
        finding = pair(
            "dead_tuples",
            f"{database}.{name}",
            percent,
            thresholds,
            "dead_tuples_percent",
            unit="%",
            label=f"Dead tuples in {database}.{name} ({dead} dead, {live} live)",
            recommendation=f"VACUUM (ANALYZE) {name}; check autovacuum keeps up (its scale factor, long transactions).",
        )
        if finding.severity != OK:
            findings.append(finding)
            flagged.append(
                {"schema": row["schemaname"], "name": row["relname"], "table": name, "dead": dead, "percent": percent}
            )
    return findings or [
        all_clear("dead_tuples", database, f"No table in {database} has a dead-tuple share above the warning level")
    ], {"tables": flagged}


def judge_maintenance_age(
    database: str, tables: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    """Tables changed since their last ANALYZE (manual or auto) that is old or missing."""
    findings, stale = [], []
    for row in tables:
        changes = row["n_mod_since_analyze"] or 0
        if changes < thresholds["analyze_changes_min"]:
            continue
        name = qualified(row["schemaname"], row["relname"])
        age = row["analyze_age_days"]
        if age is None:
            finding = Finding(
                check="maintenance_age",
                severity=WARNING,
                subject=f"{database}.{name}",
                value=None,
                threshold=thresholds["analyze_age_days_warning"],
                message=f"{database}.{name} was never analyzed and has {changes} changed rows",
                recommendation=f"ANALYZE {name}: the planner has no statistics for it.",
            )
        else:
            finding = pair(
                "maintenance_age",
                f"{database}.{name}",
                round(age, 1),
                thresholds,
                "analyze_age_days",
                unit=" days",
                label=f"Days since {database}.{name} was last analyzed ({changes} rows changed since)",
                recommendation=f"ANALYZE {name}; check autovacuum runs.",
            )
        stale.append(
            {
                "relid": row["relid"],
                "table": name,
                "changes_since_analyze": changes,
                "analyze_age_days": None if age is None else round(age, 1),
                "last_vacuum": str(row["last_vacuum"] or row["last_autovacuum"] or "never"),
                "last_analyze": str(row["last_analyze"] or row["last_autoanalyze"] or "never"),
            }
        )
        if finding.severity != OK:
            findings.append(finding)
    return findings or [
        all_clear("maintenance_age", database, f"Every much-changed table in {database} was analyzed recently")
    ], {"tables": stale}


def judge_seq_scans(
    database: str, tables: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    findings, heavy = [], []
    for row in tables:
        seq, idx = row["seq_scan"] or 0, row["idx_scan"] or 0
        if seq < thresholds["seq_scan_min"] or (row["n_live_tup"] or 0) < thresholds["seq_scan_min_rows"]:
            continue
        percent = round(100.0 * seq / (seq + idx), 1)
        if percent < thresholds["seq_scan_percent_warning"]:
            continue
        name = qualified(row["schemaname"], row["relname"])
        heavy.append({"table": name, "seq_scan": seq, "idx_scan": idx, "rows": row["n_live_tup"]})
        findings.append(
            Finding(
                check="seq_scans",
                severity=WARNING,
                subject=f"{database}.{name}",
                value=percent,
                threshold=thresholds["seq_scan_percent_warning"],
                message=f"{percent:g}% of scans of {database}.{name} ({row['n_live_tup']} rows) are sequential "
                f"({seq} seq, {idx} index)",
                recommendation="Find the queries behind them (pg_stat_statements) and index their filters.",
            )
        )
    return findings or [
        all_clear("seq_scans", database, f"No large table in {database} is mostly read sequentially")
    ], {"tables": heavy}


def judge_unused_indexes(
    database: str, indexes: list[dict[str, Any]], stats_days: float, thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    candidates = [
        {"index": qualified(row["schemaname"], row["indexname"]), "table": row["tablename"], "bytes": row["bytes"]}
        for row in indexes
        if row["idx_scan"] == 0
        and not row["indisunique"]
        and not row["indisprimary"]
        and row["indisvalid"]
        and row["bytes"] >= thresholds["unused_index_min_bytes"]
    ]
    data = {"stats_days": round(stats_days, 2), "indexes": candidates}
    if stats_days < thresholds["unused_index_stats_days"]:
        return [
            Finding(
                check="unused_indexes",
                severity=OK,
                subject=database,
                value=len(candidates),
                threshold=thresholds["unused_index_stats_days"],
                message=f"Statistics of {database} are {stats_days:.1f} days old: too young to call "
                f"{len(candidates)} index(es) unused",
            )
        ], data
    findings = [
        Finding(
            check="unused_indexes",
            severity=WARNING,
            subject=f"{database}.{item['index']}",
            value=item["bytes"],
            threshold=thresholds["unused_index_min_bytes"],
            message=f"Index {database}.{item['index']} ({item['bytes']} bytes) was never scanned "
            f"in {stats_days:.0f} days",
            recommendation="Drop it if no query (nor a standby) needs it: it costs every write.",
        )
        for item in candidates
    ]
    return findings or [all_clear("unused_indexes", database, f"No unused index in {database}")], data


def judge_invalid_indexes(database: str, indexes: list[dict[str, Any]]) -> tuple[list[Finding], dict[str, Any]]:
    invalid = [row for row in indexes if not row["indisvalid"]]
    data = {"indexes": [{"schema": row["schemaname"], "name": row["indexname"]} for row in invalid]}
    findings = [
        Finding(
            check="invalid_indexes",
            severity=WARNING,
            subject=f"{database}.{qualified(row['schemaname'], row['indexname'])}",
            value=False,
            threshold=True,
            message=f"Index {database}.{qualified(row['schemaname'], row['indexname'])} on {row['tablename']} "
            "is invalid (a failed CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY)",
            recommendation="REINDEX INDEX CONCURRENTLY it (action reindex), or drop it.",
        )
        for row in invalid
    ]
    return findings or [all_clear("invalid_indexes", database, f"No invalid index in {database}")], data


def judge_duplicate_indexes(database: str, indexes: list[dict[str, Any]]) -> tuple[list[Finding], dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in indexes:
        key = (row["table_oid"], row["amname"], row["indkey"], row["indclass"], row["exprs"], row["pred"])
        groups.setdefault(key, []).append(row)
    findings, duplicates = [], []
    for rows in groups.values():
        if len(rows) < 2:
            continue
        names = sorted(qualified(row["schemaname"], row["indexname"]) for row in rows)
        duplicates.append({"table": rows[0]["tablename"], "indexes": names})
        findings.append(
            Finding(
                check="duplicate_indexes",
                severity=WARNING,
                subject=f"{database}.{names[0]}",
                value=names,
                threshold=1,
                message=f"Indexes {', '.join(names)} on {rows[0]['tablename']} in {database} are identical",
                recommendation="Keep one (the one a constraint uses, if any) and drop the others.",
            )
        )
    return findings or [all_clear("duplicate_indexes", database, f"No duplicate index in {database}")], {
        "groups": duplicates
    }


def judge_sequences(
    database: str, rows: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    findings, usage = [], []
    for row in rows:
        percent = sequence_usage(row)
        if percent is None:
            continue
        name = qualified(row["schemaname"], row["sequencename"])
        usage.append({"sequence": name, "percent": percent, "column_type": row.get("column_type")})
        finding = pair(
            "sequences",
            f"{database}.{name}",
            percent,
            thresholds,
            "sequence_percent",
            unit="%",
            label=f"Range used by sequence {database}.{name}",
            recommendation="Move the column and sequence to bigint before the sequence runs out.",
        )
        if finding.severity != OK:
            findings.append(finding)
    return findings or [all_clear("sequences", database, f"No sequence in {database} is near its end")], {
        "sequences": sorted(usage, key=lambda item: item["percent"], reverse=True)[:10]
    }


def judge_table_bloat(
    database: str,
    tables: list[dict[str, Any]],
    block_size: int,
    thresholds: dict[str, float],
    exact: dict[int, float] | None = None,
) -> tuple[list[Finding], dict[str, Any]]:
    findings, bloated = [], []
    for row in tables:
        if row["table_bytes"] < thresholds["bloat_min_bytes"]:
            continue
        if exact is not None and row["relid"] in exact:
            percent, method = exact[row["relid"]], "pgstattuple"
        else:
            percent, method = (
                table_bloat(row["reltuples"], row["relpages"], row["row_width"], block_size, row["fillfactor"]),
                "estimate",
            )
        if percent is None:
            continue
        name = qualified(row["schemaname"], row["relname"])
        finding = pair(
            "table_bloat",
            f"{database}.{name}",
            percent,
            thresholds,
            "table_bloat_percent",
            unit="%",
            label=f"Bloat of {database}.{name} ({method}, {row['table_bytes']} bytes)",
            recommendation=f"VACUUM FULL {name} in a maintenance window (action vacuum_full), or pg_repack.",
        )
        if finding.severity != OK:
            findings.append(finding)
            bloated.append(
                {
                    "schema": row["schemaname"],
                    "name": row["relname"],
                    "table": name,
                    "percent": percent,
                    "method": method,
                    "bytes": row["table_bytes"],
                }
            )
    return findings or [
        all_clear("table_bloat", database, f"No table in {database} is bloated above the warning level")
    ], {"tables": bloated}


def judge_index_bloat(
    database: str,
    indexes: list[dict[str, Any]],
    block_size: int,
    thresholds: dict[str, float],
    exact: dict[int, float] | None = None,
) -> tuple[list[Finding], dict[str, Any]]:
    findings, bloated = [], []
    for row in indexes:
        if row["amname"] != "btree" or not row["indisvalid"] or row["bytes"] < thresholds["bloat_min_bytes"]:
            continue
        if exact is not None and row["indexrelid"] in exact:
            percent, method = exact[row["indexrelid"]], "pgstatindex"
        elif row["plain_columns"]:
            percent, method = index_bloat(row["reltuples"], row["relpages"], row["key_width"], block_size), "estimate"
        else:
            continue
        if percent is None:
            continue
        name = qualified(row["schemaname"], row["indexname"])
        finding = pair(
            "index_bloat",
            f"{database}.{name}",
            percent,
            thresholds,
            "index_bloat_percent",
            unit="%",
            label=f"Bloat of index {database}.{name} ({method}, {row['bytes']} bytes)",
            recommendation=f"REINDEX INDEX CONCURRENTLY {name} (action reindex).",
        )
        if finding.severity != OK:
            findings.append(finding)
            bloated.append(
                {
                    "schema": row["schemaname"],
                    "name": row["indexname"],
                    "index": name,
                    "table": qualified(row["schemaname"], row["tablename"]),
                    "percent": percent,
                    "method": method,
                }
            )
    return findings or [
        all_clear("index_bloat", database, f"No index in {database} is bloated above the warning level")
    ], {"indexes": bloated}


def judge_slow_queries(
    database: str, rows: list[dict[str, Any]] | None, reason: str | None, thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    if rows is None:
        return [
            Finding(
                check="slow_queries",
                severity=OK,
                subject=database,
                message=f"Slow queries of {database} cannot be listed: {reason}",
                recommendation="Preload pg_stat_statements (shared_preload_libraries) and "
                f"CREATE EXTENSION pg_stat_statements in {database}.",
            )
        ], {"available": False, "reason": reason, "queries": []}
    findings = []
    for row in rows:
        finding = pair(
            "slow_queries",
            f"{database} query {row['queryid']}",
            round(row["mean_ms"], 1),
            thresholds,
            "slow_query_mean_ms",
            unit=" ms",
            label=f"Mean time of query {row['queryid']} in {database} ({row['calls']} calls)",
            recommendation="EXPLAIN (ANALYZE, BUFFERS) it and add the index or rewrite it.",
        )
        if finding.severity != OK:
            findings.append(finding)
    queries = [
        {
            "queryid": row["queryid"],
            "calls": row["calls"],
            "mean_ms": round(row["mean_ms"], 2),
            "total_ms": round(row["total_ms"], 1),
            "rows": row["rows"],
            "query": redact(row["query"]),
        }
        for row in rows[:10]
    ]
    return findings or [all_clear("slow_queries", database, f"No query in {database} is slow on average")], {
        "available": True,
        "queries": queries,
    }
