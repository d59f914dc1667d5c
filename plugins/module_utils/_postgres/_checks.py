# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The PostgreSQL checks: one registry (CHECKS) of records, and the pure judges they call.

A check is one Check record: its name, where it runs (cluster or each database), the data
it needs (fetched only when an asked-for check needs it, see _gather.Sources), its judge,
its thresholds (warning/critical pairs) and limits (single levels), and a description.
The module's ``checks`` choices, its ``thresholds`` sub-options, their validation and the
dispatch are all derived from CHECKS; a unit test keeps the module's documentation equal.

Every judge function takes plain rows (dicts) and the threshold values and returns
(findings, data), so unit tests call them without a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    OK,
    WARNING,
    Finding,
    classify,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._sql import (
    index_bloat,
    mask_literals,
    qualified,
    sequence_usage,
    table_bloat,
)

CLUSTER, DATABASE = "cluster", "database"


def pair(
    check: str, subject: str, value: float, thresholds: Mapping[str, float], name: str, label: str, recommendation: str
) -> Finding:
    """A finding for value against the named threshold of the registry (its unit and direction)."""
    return _thresholds.judge(THRESHOLDS, thresholds, name, subject, value, check, recommendation, label)


def all_clear(check: str, subject: str, message: str) -> Finding:
    return Finding(check=check, severity=OK, subject=subject, message=message)


def problems(findings: Iterable[Finding], check: str, subject: str, message: str) -> list[Finding]:
    """The findings that are not ok or, when none is, the check's one all-clear finding (message)."""
    return [finding for finding in findings if finding.severity != OK] or [all_clear(check, subject, message)]


def flagged(judged: Iterable[tuple[Finding, Any]]) -> tuple[list[Finding], list[Any]]:
    """Of (finding, record) pairs, the findings that are not ok and the records that go with them."""
    kept = [(finding, record) for finding, record in judged if finding.severity != OK]
    return [finding for finding, _ in kept], [record for _, record in kept]


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
    label = f"Client connections ({total} of max_connections {max_connections})"
    advice = "Use a connection pooler (PgBouncer) or find the clients holding idle connections."
    return [pair("connections", "cluster", percent, thresholds, "connections_percent", label, advice)], data


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
        pair(check, f"pid {row['pid']}", round(row[clock]), thresholds, threshold, describe(row), recommendation)
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
        label = f"pid {row['pid']} ({row['datname']}) waiting on pid(s) {blockers}"
        advice = f"Look at what pid(s) {blockers} run; end them if they are stuck."
        seconds = round(row["query_seconds"] or 0, 1)
        findings.append(
            pair("blocking_locks", f"pid {row['pid']}", seconds, thresholds, "lock_wait_seconds", label, advice)
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
        "query": mask_literals(row["query"]),
    }


def judge_prepared_transactions(
    rows: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    advice = "An orphaned prepared transaction holds locks and blocks VACUUM: COMMIT PREPARED or ROLLBACK PREPARED it."
    findings = [
        pair(
            "prepared_transactions",
            f"gid {row['gid']}",
            round(row["seconds"]),
            thresholds,
            "prepared_transaction_seconds",
            f"Prepared transaction {row['gid']!r} in {row['database']}",
            advice,
        )
        for row in rows
    ]
    data = {"prepared": [dict(row, seconds=round(row["seconds"], 1)) for row in rows]}
    return findings or [all_clear("prepared_transactions", "cluster", "No prepared transaction")], data


def judge_wraparound(rows: list[dict[str, Any]], thresholds: dict[str, float]) -> tuple[list[Finding], dict[str, Any]]:
    findings = [
        pair(
            "wraparound",
            row["datname"],
            row[column],
            thresholds,
            "wraparound_age",
            f"Oldest {kind} age in {row['datname']}",
            f"VACUUM (FREEZE) the oldest tables of {row['datname']}; "
            "check what holds back autovacuum (long transactions, slots).",
        )
        for row in rows
        for kind, column in (("transaction ID", "xid_age"), ("multixact ID", "mxid_age"))
    ]
    worst_age = max((max(row["xid_age"], row["mxid_age"]) for row in rows), default=0)
    message = f"Oldest transaction ID age is {worst_age}, far from wraparound"
    return problems(findings, "wraparound", "cluster", message), {"databases": rows}


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
    message = f"{len(rows)} replication slot(s), none stale"
    return problems(findings, "replication_slots", "cluster", message), {"slots": rows}


def judge_database_size(
    database: str, size_bytes: int, tables: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    largest = sorted(tables, key=lambda row: row["total_bytes"], reverse=True)[:10]
    gigabytes = round(size_bytes / 1024**3, 2)
    label, advice = f"Size of database {database}", "Archive or partition the largest tables; plan disk growth."
    data = {
        "bytes": size_bytes,
        "largest_tables": [
            {"table": qualified(row["schemaname"], row["relname"]), "total_bytes": row["total_bytes"]}
            for row in largest
        ],
    }
    return [pair("database_size", database, gigabytes, thresholds, "database_size_gb", label, advice)], data


def judge_dead_tuples(
    database: str, tables: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    judged = []
    for row in tables:
        dead, live = row["n_dead_tup"] or 0, row["n_live_tup"] or 0
        if dead < thresholds["dead_tuples_min"]:
            continue
        percent = round(100.0 * dead / (dead + live), 1)
        name = qualified(row["schemaname"], row["relname"])
        label = f"Dead tuples in {database}.{name} ({dead} dead, {live} live)"
        advice = f"VACUUM (ANALYZE) {name}; check autovacuum keeps up (its scale factor, long transactions)."
        record = {"schema": row["schemaname"], "name": row["relname"], "table": name, "dead": dead, "percent": percent}
        judged.append(
            (
                pair("dead_tuples", f"{database}.{name}", percent, thresholds, "dead_tuples_percent", label, advice),
                record,
            )
        )
    findings, records = flagged(judged)
    message = f"No table in {database} has a dead-tuple share above the warning level"
    return problems(findings, "dead_tuples", database, message), {"tables": records}


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
            label = f"Days since {database}.{name} was last analyzed ({changes} rows changed since)"
            advice = f"ANALYZE {name}; check autovacuum runs."
            finding = pair(
                "maintenance_age", f"{database}.{name}", round(age, 1), thresholds, "analyze_age_days", label, advice
            )
        findings.append(finding)
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
    message = f"Every much-changed table in {database} was analyzed recently"
    return problems(findings, "maintenance_age", database, message), {"tables": stale}


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
    message = f"No large table in {database} is mostly read sequentially"
    return problems(findings, "seq_scans", database, message), {"tables": heavy}


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
    return problems(findings, "unused_indexes", database, f"No unused index in {database}"), data


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
    return problems(findings, "invalid_indexes", database, f"No invalid index in {database}"), data


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
    message = f"No duplicate index in {database}"
    return problems(findings, "duplicate_indexes", database, message), {"groups": duplicates}


def judge_sequences(
    database: str, rows: list[dict[str, Any]], thresholds: dict[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    findings, usage = [], []
    advice = "Move the column and sequence to bigint before the sequence runs out."
    for row in rows:
        percent = sequence_usage(row)
        if percent is None:
            continue
        name = qualified(row["schemaname"], row["sequencename"])
        usage.append({"sequence": name, "percent": percent, "column_type": row.get("column_type")})
        label = f"Range used by sequence {database}.{name}"
        findings.append(pair("sequences", f"{database}.{name}", percent, thresholds, "sequence_percent", label, advice))
    most_used = sorted(usage, key=lambda item: item["percent"], reverse=True)[:10]
    message = f"No sequence in {database} is near its end"
    return problems(findings, "sequences", database, message), {"sequences": most_used}


def judge_bloat(
    check: str,
    database: str,
    relations: list[tuple[str, float | None, str, int, dict[str, Any]]],
    thresholds: Mapping[str, float],
    advice: str,
) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Judge (name, percent, method, bytes, record) of each table or index; advice names it with {name}.

    The findings that are not ok and their records with percent and method; an unknown percent is skipped.
    """
    judged = []
    for name, percent, method, size, record in relations:
        if percent is None:
            continue
        what = "index " if check == "index_bloat" else ""
        label = f"Bloat of {what}{database}.{name} ({method}, {size} bytes)"
        subject, threshold = f"{database}.{name}", f"{check}_percent"
        finding = pair(check, subject, percent, thresholds, threshold, label, advice.format(name=name))
        judged.append((finding, dict(record, percent=percent, method=method)))
    return flagged(judged)


def judge_table_bloat(
    database: str,
    tables: list[dict[str, Any]],
    block_size: int,
    thresholds: dict[str, float],
    exact: dict[int, float] | None = None,
) -> tuple[list[Finding], dict[str, Any]]:
    relations = []
    for row in tables:
        if row["table_bytes"] < thresholds["bloat_min_bytes"]:
            continue
        if exact is not None and row["relid"] in exact:
            percent, method = exact[row["relid"]], "pgstattuple"
        else:
            percent = table_bloat(row["reltuples"], row["relpages"], row["row_width"], block_size, row["fillfactor"])
            method = "estimate"
        name = qualified(row["schemaname"], row["relname"])
        record = {"schema": row["schemaname"], "name": row["relname"], "table": name}
        relations.append((name, percent, method, row["table_bytes"], dict(record, bytes=row["table_bytes"])))
    advice = "VACUUM FULL {name} in a maintenance window (action vacuum_full), or pg_repack."
    findings, bloated = judge_bloat("table_bloat", database, relations, thresholds, advice)
    message = f"No table in {database} is bloated above the warning level"
    return problems(findings, "table_bloat", database, message), {"tables": bloated}


def judge_index_bloat(
    database: str,
    indexes: list[dict[str, Any]],
    block_size: int,
    thresholds: dict[str, float],
    exact: dict[int, float] | None = None,
) -> tuple[list[Finding], dict[str, Any]]:
    relations = []
    for row in indexes:
        if row["amname"] != "btree" or not row["indisvalid"] or row["bytes"] < thresholds["bloat_min_bytes"]:
            continue
        if exact is not None and row["indexrelid"] in exact:
            percent, method = exact[row["indexrelid"]], "pgstatindex"
        elif row["plain_columns"]:
            percent, method = index_bloat(row["reltuples"], row["relpages"], row["key_width"], block_size), "estimate"
        else:
            continue
        name = qualified(row["schemaname"], row["indexname"])
        record = {"schema": row["schemaname"], "name": row["indexname"], "index": name}
        relations.append(
            (name, percent, method, row["bytes"], dict(record, table=qualified(row["schemaname"], row["tablename"])))
        )
    advice = "REINDEX INDEX CONCURRENTLY {name} (action reindex)."
    findings, bloated = judge_bloat("index_bloat", database, relations, thresholds, advice)
    message = f"No index in {database} is bloated above the warning level"
    return problems(findings, "index_bloat", database, message), {"indexes": bloated}


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
    findings = [
        pair(
            "slow_queries",
            f"{database} query {row['queryid']}",
            round(row["mean_ms"], 1),
            thresholds,
            "slow_query_mean_ms",
            f"Mean time of query {row['queryid']} in {database} ({row['calls']} calls)",
            "EXPLAIN (ANALYZE, BUFFERS) it and add the index or rewrite it.",
        )
        for row in rows
    ]
    queries = [
        {
            "queryid": row["queryid"],
            "calls": row["calls"],
            "mean_ms": round(row["mean_ms"], 2),
            "total_ms": round(row["total_ms"], 1),
            "rows": row["rows"],
            "query": mask_literals(row["query"]),
        }
        for row in rows[:10]
    ]
    message = f"No query in {database} is slow on average"
    return problems(findings, "slow_queries", database, message), {"available": True, "queries": queries}


def judge_never_analyzed(
    database: str, tables: list[dict[str, Any]], thresholds: Mapping[str, float]
) -> tuple[list[Finding], dict[str, Any]]:
    """Tables with live rows that were never analyzed, by hand or by autovacuum: no planner statistics."""
    judged = []
    for row in tables:
        if row["last_analyze"] is not None or row["last_autoanalyze"] is not None:
            continue
        name = qualified(row["schemaname"], row["relname"])
        label = f"Live rows of {database}.{name}, never analyzed"
        advice = f"ANALYZE {name}; check autovacuum is on for it (autovacuum_enabled)."
        rows = row["n_live_tup"] or 0
        finding = pair("never_analyzed", f"{database}.{name}", rows, thresholds, "never_analyzed_rows", label, advice)
        judged.append((finding, {"table": name, "rows": row["n_live_tup"]}))
    findings, never = flagged(judged)
    message = f"Every table of {database} with many rows was analyzed"
    return problems(findings, "never_analyzed", database, message), {"tables": never}


# -- the registry -------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One check. judge(facts) -> (findings, data); facts holds the data named in needs.

    needs names sources of _gather.Sources: activity, max_connections, prepared_transactions,
    wraparound, replication_slots (cluster); tables, indexes, database_size, stats_age,
    sequences, slow_queries, exact_tables, exact_indexes (database).
    thresholds: warning/critical pairs (options <name>_warning and <name>_critical).
    limits: single levels, such as the least rows a table needs to be judged (option <name>).
    """

    name: str
    scope: str
    needs: tuple[str, ...]
    judge: Callable[[Any], tuple[list[Finding], dict[str, Any]]]
    description: str
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)
    limits: Mapping[str, float] = field(default_factory=dict)


CHECKS: list[Check] = [
    Check(
        "connections",
        CLUSTER,
        ("activity", "max_connections"),
        lambda f: judge_connections(f["activity"], f["max_connections"], f.thresholds),
        "Client connections against max_connections.",
        {"connections_percent": Threshold(70, 90, "%")},
    ),
    Check(
        "long_transactions",
        CLUSTER,
        ("activity",),
        lambda f: judge_long_transactions(f["activity"], f.thresholds),
        "Transactions open for long.",
        {"long_transaction_seconds": Threshold(300, 3600, " s")},
    ),
    Check(
        "idle_in_transaction",
        CLUSTER,
        ("activity",),
        lambda f: judge_idle_in_transaction(f["activity"], f.thresholds),
        "Sessions idle inside a transaction.",
        {"idle_in_transaction_seconds": Threshold(60, 600, " s")},
    ),
    Check(
        "prepared_transactions",
        CLUSTER,
        ("prepared_transactions",),
        lambda f: judge_prepared_transactions(f["prepared_transactions"], f.thresholds),
        "Old prepared (two-phase) transactions.",
        {"prepared_transaction_seconds": Threshold(300, 3600, " s")},
    ),
    Check(
        "blocking_locks",
        CLUSTER,
        ("activity",),
        lambda f: judge_blocking_locks(f["activity"], f.thresholds),
        "Sessions waiting on another session's lock.",
        {"lock_wait_seconds": Threshold(10, 60, " s")},
    ),
    Check(
        "wraparound",
        CLUSTER,
        ("wraparound",),
        lambda f: judge_wraparound(f["wraparound"], f.thresholds),
        "Transaction and multixact ID age of each database.",
        {"wraparound_age": Threshold(500000000, 1500000000)},
    ),
    Check(
        "replication_slots",
        CLUSTER,
        ("replication_slots",),
        lambda f: judge_replication_slots(f["replication_slots"], f.thresholds),
        "WAL retained by replication slots; inactive slots.",
        {"replication_slot_retained_bytes": Threshold(1073741824, 10737418240, " bytes")},
    ),
    Check(
        "database_size",
        DATABASE,
        ("database_size", "tables"),
        lambda f: judge_database_size(f.database, f["database_size"], f["tables"], f.thresholds),
        "Size of the database and its largest tables.",
        {"database_size_gb": Threshold(100, 500, " GB")},
    ),
    Check(
        "slow_queries",
        DATABASE,
        ("slow_queries",),
        lambda f: judge_slow_queries(f.database, *f["slow_queries"], f.thresholds),
        "Statements of pg_stat_statements slow on average.",
        {"slow_query_mean_ms": Threshold(500, 2000, " ms")},
        {"slow_query_min_calls": 5},
    ),
    Check(
        "dead_tuples",
        DATABASE,
        ("tables",),
        lambda f: judge_dead_tuples(f.database, f["tables"], f.thresholds),
        "Share of dead tuples of each table.",
        {"dead_tuples_percent": Threshold(10, 30, "%")},
        {"dead_tuples_min": 1000},
    ),
    Check(
        "maintenance_age",
        DATABASE,
        ("tables",),
        lambda f: judge_maintenance_age(f.database, f["tables"], f.thresholds),
        "Days since much-changed tables were last analyzed.",
        {"analyze_age_days": Threshold(7, 30, " days")},
        {"analyze_changes_min": 1000},
    ),
    Check(
        "seq_scans",
        DATABASE,
        ("tables",),
        lambda f: judge_seq_scans(f.database, f["tables"], f.thresholds),
        "Large tables read mostly by sequential scans.",
        {},
        {"seq_scan_min": 1000, "seq_scan_min_rows": 10000, "seq_scan_percent_warning": 90},
    ),
    Check(
        "unused_indexes",
        DATABASE,
        ("indexes", "stats_age"),
        lambda f: judge_unused_indexes(f.database, f["indexes"], f["stats_age"], f.thresholds),
        "Indexes never scanned since the statistics were reset.",
        {},
        {"unused_index_min_bytes": 1048576, "unused_index_stats_days": 7},
    ),
    Check(
        "invalid_indexes",
        DATABASE,
        ("indexes",),
        lambda f: judge_invalid_indexes(f.database, f["indexes"]),
        "Indexes left invalid by a failed concurrent build.",
    ),
    Check(
        "duplicate_indexes",
        DATABASE,
        ("indexes",),
        lambda f: judge_duplicate_indexes(f.database, f["indexes"]),
        "Identical indexes on one table.",
    ),
    Check(
        "sequences",
        DATABASE,
        ("sequences",),
        lambda f: judge_sequences(f.database, f["sequences"], f.thresholds),
        "Share of each sequence's range used.",
        {"sequence_percent": Threshold(75, 90, "%")},
    ),
    Check(
        "table_bloat",
        DATABASE,
        ("tables", "exact_tables"),
        lambda f: judge_table_bloat(f.database, f["tables"], f.block_size, f.thresholds, f["exact_tables"]),
        "Wasted space of tables (estimated, or measured with exact_bloat).",
        {"table_bloat_percent": Threshold(30, 50, "%")},
        {"bloat_min_bytes": 10485760},
    ),
    Check(
        "index_bloat",
        DATABASE,
        ("indexes", "exact_indexes"),
        lambda f: judge_index_bloat(f.database, f["indexes"], f.block_size, f.thresholds, f["exact_indexes"]),
        "Wasted space of B-tree indexes (estimated, or measured with exact_bloat).",
        {"index_bloat_percent": Threshold(30, 50, "%")},
        {"bloat_min_bytes": 10485760},
    ),
    Check(
        "never_analyzed",
        DATABASE,
        ("tables",),
        lambda f: judge_never_analyzed(f.database, f["tables"], f.thresholds),
        "Tables with live rows never analyzed (no planner statistics).",
        {"never_analyzed_rows": Threshold(1000, 1000000, " rows")},
    ),
]

BY_NAME: dict[str, Check] = {check.name: check for check in CHECKS}
NAMES: list[str] = [check.name for check in CHECKS]


def _merged(tables: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One table from the checks' tables; a name two checks share must have one value."""
    merged: dict[str, Any] = {}
    for table in tables:
        for name, value in table.items():
            if merged.setdefault(name, value) != value:
                raise ValueError(f"checks disagree on threshold {name}: {merged[name]} and {value}")
    return merged


# The module's one table of warning/critical pairs, and its single levels.
THRESHOLDS: dict[str, Threshold] = _merged([check.thresholds for check in CHECKS])
LIMITS: dict[str, float] = _merged([check.limits for check in CHECKS])


def thresholds_option() -> dict[str, Any]:
    """The module's ``thresholds`` option: the pairs' sub-options and one per limit."""
    option = _thresholds.option(THRESHOLDS)
    option["options"].update({name: {"type": "float", "default": value} for name, value in LIMITS.items()})
    return option


def defaults() -> dict[str, float]:
    """Every threshold value at its default, as the module's thresholds option gives them."""
    return {name: spec["default"] for name, spec in thresholds_option()["options"].items()}


def validate_thresholds(values: Mapping[str, float], what: str = "run PostgreSQL maintenance") -> None:
    """Raise ModuleError for a negative limit or an unusable warning/critical pair."""
    for name in LIMITS:
        if values[name] < 0:
            raise ModuleError(f"Cannot {what}: thresholds.{name} must not be negative, got {values[name]:g}")
    _thresholds.validate(THRESHOLDS, values, what)
