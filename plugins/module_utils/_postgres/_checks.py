# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The PostgreSQL checks: one registry (CHECKS) of records, and the pure judges they call.

A check is one judge_<name> function registered with @check: where it runs (cluster or each
database), its thresholds (warning/critical pairs) and limits (single levels); its docstring's
first line is its description, its parameters the data it needs (fetched only when an
asked-for check needs it, see _gather.Sources).
The module's ``checks`` choices, its ``thresholds`` sub-options, their validation and the
dispatch are all derived from CHECKS; a unit test keeps the module's documentation equal.

Every judge function takes plain rows (dicts) and the threshold values and returns
(findings, data), so unit tests call them without a server.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    CRITICAL,
    OK,
    WARNING,
    Finding,
    classify,
    severity_rank,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._sql import (
    index_bloat,
    mask_literals,
    qualified,
    sequence_usage,
    table_estimate,
)

CLUSTER, DATABASE = "cluster", "database"

Rows = List[Dict[str, Any]]  # rows of a query, as dicts
Levels = Mapping[str, float]  # the thresholds option's values
Judged = Tuple[List[Finding], Dict[str, Any]]  # what a judge returns: (findings, data)
Measured = Optional[Dict[int, float]]  # exact bloat by oid, when measured


def pair(
    check: str, subject: str, value: float, thresholds: Levels, name: str, label: str, recommendation: str
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
    return [finding for finding, record in kept], [record for finding, record in kept]


# -- the registry: each check is a judge registered with @check ---------------------------
@dataclass(frozen=True)
class Check:
    """One check. judge(facts) -> (findings, data); facts holds the data named in needs.

    needs names sources of _gather.Sources: activity, max_connections, prepared_transactions,
    wraparound, replication_slots (cluster); tables (their statistics only), sized_tables (and their
    sizes), indexes, database_size, stats_age, sequences, slow_queries, slow_queries_reason, columns,
    sampled_rows, exact_tables, exact_indexes (database).
    thresholds: warning/critical pairs (options <name>_warning and <name>_critical).
    limits: single levels, such as the least rows a table needs to be judged (option <name>).
    """

    name: str
    scope: str
    needs: tuple[str, ...]
    judge: Callable[[Any], Judged]
    description: str
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)
    limits: Mapping[str, float] = field(default_factory=dict)


CHECKS: list[Check] = []
FROM_FACTS = ("database", "block_size", "thresholds")  # what every judge may take besides its sources


def check(
    scope: str, thresholds: Mapping[str, Threshold] | None = None, limits: Mapping[str, float] | None = None
) -> Callable[[Callable[..., Judged]], Callable[..., Judged]]:
    """Register the decorated judge_<name> as the check <name>, in the order of this file.

    The first line of its docstring is the check's description in the module's documentation; its
    parameters name what it needs: a source of _gather.Sources each, and any of FROM_FACTS.
    """

    def register(judge: Callable[..., Judged]) -> Callable[..., Judged]:
        parameters = list(inspect.signature(judge).parameters)

        def run(facts: Any) -> Judged:
            return judge(**{name: getattr(facts, name) if name in FROM_FACTS else facts[name] for name in parameters})

        needs = tuple(name for name in parameters if name not in FROM_FACTS)
        name, description = judge.__name__[len("judge_") :], (judge.__doc__ or "").split("\n")[0]
        CHECKS.append(Check(name, scope, needs, run, description, dict(thresholds or {}), dict(limits or {})))
        return judge

    return register


# -- helpers of the judges ----------------------------------------------------------------
def session_findings(
    check: str,
    sessions: Rows,
    clock: str,
    threshold: str,
    thresholds: Levels,
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


def age_finding(
    check: str,
    subject: str,
    age: float | None,
    thresholds: Levels,
    threshold: str,
    never: tuple[str, str],
    label: str,
    advice: str,
) -> Finding:
    """Days since a table was last analyzed or vacuumed; never is a warning (message, recommendation)."""
    if age is None:
        message, recommendation = never
        return Finding(
            check=check,
            severity=WARNING,
            subject=subject,
            threshold=thresholds[f"{threshold}_warning"],
            message=message,
            recommendation=recommendation,
        )
    return pair(check, subject, round(age, 1), thresholds, threshold, label, advice)


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


# how a bloat figure was obtained (the method in a bloat check's data), as its finding says it
FIGURES = {
    "estimate": "estimated from statistics",
    "sampled estimate": "estimated from a sample of rows",
    "pgstattuple": "measured by pgstattuple",
    "pgstatindex": "measured by pgstatindex",
}


def bloat_judged(
    check: str,
    database: str,
    relations: list[tuple[str, float | None, str, int, dict[str, Any]]],
    thresholds: Levels,
    advice: str,
) -> Judged:
    """Judge (name, percent, method, bytes, record) of each table (check table_bloat) or index (index_bloat).

    advice names the relation with {name}; an unknown percent is skipped. The data lists the records of the
    findings that are not ok, with their percent and method.
    """
    what, key = ("index", "indexes") if check == "index_bloat" else ("table", "tables")
    judged = []
    for name, percent, method, size, record in relations:
        if percent is None:
            continue
        figure = FIGURES.get(method, method)
        label = f"Bloat of {'index ' if what == 'index' else ''}{database}.{name} ({figure}, {size} bytes)"
        subject, threshold = f"{database}.{name}", f"{check}_percent"
        finding = pair(check, subject, percent, thresholds, threshold, label, advice.format(name=name))
        judged.append((finding, dict(record, percent=percent, method=method)))
    findings, bloated = flagged(judged)
    message = f"No {what} in {database} is bloated above the warning level"
    return problems(findings, check, database, message), {key: bloated}


# -- the checks, in the order they run and are documented: rows -> (findings, data) --------
@check(CLUSTER, {"connections_percent": Threshold(70, 90, "%")})
def judge_connections(activity: Rows, max_connections: int, thresholds: Levels) -> Judged:
    """Client connections against max_connections."""
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


@check(CLUSTER, {"long_transaction_seconds": Threshold(300, 3600, " s")})
def judge_long_transactions(activity: Rows, thresholds: Levels) -> Judged:
    """Transactions open for long."""
    warning = thresholds["long_transaction_seconds_warning"]
    long_ones = [row for row in activity if (row["xact_seconds"] or 0) >= warning]
    findings = session_findings(
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


@check(CLUSTER, {"idle_in_transaction_seconds": Threshold(60, 600, " s")})
def judge_idle_in_transaction(activity: Rows, thresholds: Levels) -> Judged:
    """Sessions idle inside a transaction."""
    warning = thresholds["idle_in_transaction_seconds_warning"]
    idle = [
        row
        for row in activity
        if (row["state"] or "").startswith("idle in transaction") and (row["state_seconds"] or 0) >= warning
    ]
    findings = session_findings(
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


@check(CLUSTER, {"prepared_transaction_seconds": Threshold(300, 3600, " s")})
def judge_prepared_transactions(prepared_transactions: Rows, thresholds: Levels) -> Judged:
    """Old prepared (two-phase) transactions."""
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
        for row in prepared_transactions
    ]
    data = {"prepared": [dict(row, seconds=round(row["seconds"], 1)) for row in prepared_transactions]}
    return findings or [all_clear("prepared_transactions", "cluster", "No prepared transaction")], data


@check(CLUSTER, {"lock_wait_seconds": Threshold(10, 60, " s")})
def judge_blocking_locks(activity: Rows, thresholds: Levels) -> Judged:
    """Sessions waiting on another session's lock."""
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


@check(CLUSTER, {"wraparound_age": Threshold(500000000, 1500000000)})
def judge_wraparound(wraparound: Rows, thresholds: Levels) -> Judged:
    """Transaction and multixact ID age of each database."""
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
        for row in wraparound
        for kind, column in (("transaction ID", "xid_age"), ("multixact ID", "mxid_age"))
    ]
    worst_age = max((max(row["xid_age"], row["mxid_age"]) for row in wraparound), default=0)
    message = f"Oldest transaction ID age is {worst_age}, far from wraparound"
    return problems(findings, "wraparound", "cluster", message), {"databases": wraparound}


@check(CLUSTER, {"freeze_progress_percent": Threshold(90, 95, "%")})
def judge_freeze(wraparound: Rows, freeze_limits: Rows, thresholds: Levels) -> Judged:
    """Each database's oldest unfrozen ID against autovacuum_freeze_max_age (when autovacuum must freeze)."""
    limits = freeze_limits[0]
    findings, progress = [], []
    for row in wraparound:
        for kind, column, limit in (
            ("transaction", "xid_age", limits["xid"]),
            ("multixact", "mxid_age", limits["mxid"]),
        ):
            percent = round(100.0 * row[column] / limit, 1) if limit else 0.0
            progress.append({"database": row["datname"], "kind": kind, "age": row[column], "percent": percent})
            label = f"Oldest {kind} ID age of {row['datname']} against its autovacuum freeze limit ({limit})"
            advice = (
                f"Autovacuum must freeze {row['datname']} soon or is already forced to: VACUUM (FREEZE) its oldest "
                "tables in a quiet hour, and check what holds back autovacuum."
            )
            findings.append(
                pair("freeze", row["datname"], percent, thresholds, "freeze_progress_percent", label, advice)
            )
    worst_percent = max((item["percent"] for item in progress), default=0.0)
    message = f"The oldest unfrozen ID is at {worst_percent:g}% of its autovacuum freeze limit"
    return problems(findings, "freeze", "cluster", message), {"databases": progress, "limits": limits}


@check(CLUSTER, {"wal_size_percent": Threshold(150, 300, "%"), "archive_ready_files": Threshold(10, 100, " files")})
def judge_wal(wal: Dict[str, Any], thresholds: Levels) -> Judged:
    """WAL kept against max_wal_size, and WAL segments waiting to be archived."""
    if not wal["visible"]:
        message = f"WAL and the archiver are not visible to this login ({wal['reason']})"
        return [Finding(check="wal", severity=OK, subject="cluster", message=message,
                        recommendation="Grant pg_monitor to the login to check WAL.")], wal  # fmt: skip
    percent = round(100.0 * wal["bytes"] / wal["max_wal_bytes"], 1) if wal["max_wal_bytes"] else 0.0
    label = (
        f"WAL kept ({wal['files']} segments, {wal['bytes']} bytes) against max_wal_size ({wal['max_wal_bytes']} bytes)"
    )
    findings = [
        pair("wal", "pg_wal", percent, thresholds, "wal_size_percent", label,
             "Find what holds WAL: a replication slot (replication_slots), a failing archive_command, wal_keep_size."),
        pair("wal", "archiver", wal["archive_ready"], thresholds, "archive_ready_files",
             f"WAL segments waiting to be archived (archive_mode {wal['archive_mode']}, "
             f"{wal['archive_failed_count']} failures, last {wal['last_failed_time'] or 'never'})",
             "Fix archive_command (see the server log); unarchived WAL is kept and fills the disk."),
    ]  # fmt: skip
    message = f"WAL is {percent:g}% of max_wal_size and {wal['archive_ready']} segment(s) wait for the archiver"
    return problems(findings, "wal", "cluster", message), dict(wal, percent_of_max_wal_size=percent)


@check(CLUSTER, {"checkpoint_requested_percent": Threshold(30, 60, "%")}, {"checkpoints_min": 10})
def judge_checkpoints(checkpoints: Rows, thresholds: Levels) -> Judged:
    """Checkpoints forced by WAL volume (requested) against those on checkpoint_timeout."""
    row = checkpoints[0]
    total = row["timed"] + row["requested"]
    percent = round(100.0 * row["requested"] / total, 1) if total else 0.0
    data = dict(row, requested_percent=percent)
    if total < thresholds["checkpoints_min"]:
        message = f"Only {total} checkpoint(s) since {row['since']}: too few to judge"
        return [all_clear("checkpoints", "cluster", message)], data
    label = f"Checkpoints requested by WAL volume ({row['requested']} of {total} since {row['since']})"
    advice = (
        f"Raise max_wal_size (now {row['max_wal_size']}) so that checkpoints come from checkpoint_timeout "
        f"({row['checkpoint_timeout']}): forced ones write more and in bursts."
    )
    return [pair("checkpoints", "cluster", percent, thresholds, "checkpoint_requested_percent", label, advice)], data


@check(CLUSTER, {"replication_slot_retained_bytes": Threshold(1073741824, 10737418240, " bytes")})
def judge_replication_slots(replication_slots: Rows, thresholds: Levels) -> Judged:
    """WAL retained by replication slots; inactive slots."""
    findings = []
    for row in replication_slots:
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
    message = f"{len(replication_slots)} replication slot(s), none stale"
    return problems(findings, "replication_slots", "cluster", message), {"slots": replication_slots}


def lag_finding(subject: str, what: str, row: dict[str, Any], thresholds: Levels, advice: str) -> Finding:
    """The worse of a replay lag in bytes and in seconds (None: not visible), its message with every lag known."""
    judged = [
        pair("replication", subject, round(row[column]), thresholds, name, f"{what} replay lag", advice)
        for column, name in (
            ("replay_lag_bytes", "replication_lag_bytes"),
            ("replay_lag_seconds", "replication_lag_seconds"),
        )
        if row.get(column) is not None
    ]
    if not judged:
        return Finding(
            check="replication",
            severity=OK,
            subject=subject,
            message=f"{what} replay lag {NOT_VISIBLE}",
            recommendation="Grant pg_monitor to the login to see replication lag.",
        )
    worse = max(judged, key=lambda finding: severity_rank(finding.severity))
    lags = [f"{step} {row[column]} bytes" for step, column in LAGS if row.get(column) is not None]
    if row.get("replay_lag_seconds") is not None:
        lags.append(f"replay {row['replay_lag_seconds']:.1f} s")
    return dataclasses.replace(worse, message=f"{worse.message} ({', '.join(lags)} behind)")


NOT_VISIBLE = "is not visible to this login"
LAGS = (("write", "write_lag_bytes"), ("flush", "flush_lag_bytes"), ("replay", "replay_lag_bytes"))


@check(
    CLUSTER,
    {
        "replication_lag_bytes": Threshold(67108864, 1073741824, " bytes"),
        "replication_lag_seconds": Threshold(60, 600, " s"),
    },
)
def judge_replication(server: Dict[str, Any], standbys: Rows, thresholds: Levels) -> Judged:
    """The server's role; on a primary each standby's state and lag, on a standby its receiving and replay lag."""
    if server["role"] == "standby":
        subject = "standby"
        findings = [
            lag_finding(
                subject,
                "This standby",
                server,
                thresholds,
                "Find what slows the replay (I/O, long queries "
                "on the standby with hot_standby_feedback, max_standby_streaming_delay).",
            )
        ]
        if server["replay_pause_state"] not in (None, "not paused"):
            findings.append(
                Finding(
                    check="replication",
                    severity=WARNING,
                    subject=subject,
                    value=server["replay_pause_state"],
                    threshold="not paused",
                    message=f"Replay on this standby is {server['replay_pause_state']}",
                    recommendation="Resume it with SELECT pg_wal_replay_resume() once whatever paused it is done.",
                )
            )
        if server["receiver_status"] != "streaming":
            findings.append(
                Finding(
                    check="replication",
                    severity=CRITICAL,
                    subject=subject,
                    value=server["receiver_status"],
                    threshold="streaming",
                    message=f"This standby is not receiving WAL (wal receiver: {server['receiver_status'] or 'none'})",
                    recommendation="Check primary_conninfo, the primary's pg_hba.conf and its log; the standby falls "
                    "further behind until it streams again.",
                )
            )
        data = {"role": "standby", "receiver_status": server["receiver_status"], "upstream": server["upstream"],
                "replay_lag_bytes": server["replay_lag_bytes"], "replay_lag_seconds": server["replay_lag_seconds"],
                "replay_pause_state": server["replay_pause_state"]}  # fmt: skip
        return problems(findings, "replication", subject, "This standby streams and replays in time"), data
    findings = []
    for row in standbys:
        name = row["application_name"] or row["client_addr"] or "standby"
        finding = lag_finding(f"standby {name}", f"Standby {name}", row, thresholds,
                              f"Look at standby {name}: its disk and network, and what holds its replay.")  # fmt: skip
        if row["state"] != "streaming" and finding.severity == OK:
            finding = dataclasses.replace(
                finding,
                severity=WARNING,
                message=f"Standby {name} is in state {row['state']}, not streaming",
                recommendation="A standby in catchup is still copying WAL; one in startup or backup is not serving.",
            )
        findings.append(finding)
    data = {"role": "primary", "standbys": standbys}
    message = (
        f"This is a primary; {len(standbys)} standby(s) stream in time"
        if standbys
        else ("This is a primary; no standby streams from it")
    )
    hidden = [finding.subject for finding in findings if finding.message.endswith(NOT_VISIBLE)]
    if hidden:
        message += f" (the lag of {', '.join(hidden)} {NOT_VISIBLE}: grant pg_monitor to see it)"
    return problems(findings, "replication", "cluster", message), data


@check(DATABASE, {"database_size_gb": Threshold(100, 500, " GB")})
def judge_database_size(database: str, database_size: int, sized_tables: Rows, thresholds: Levels) -> Judged:
    """Size of the database and its largest tables."""
    largest = sorted(sized_tables, key=lambda row: row["total_bytes"], reverse=True)[:10]
    gigabytes = round(database_size / 1024**3, 2)
    label, advice = f"Size of database {database}", "Archive or partition the largest tables; plan disk growth."
    data = {
        "bytes": database_size,
        "largest_tables": [
            {"table": qualified(row["schemaname"], row["relname"]), "total_bytes": row["total_bytes"]}
            for row in largest
        ],
    }
    return [pair("database_size", database, gigabytes, thresholds, "database_size_gb", label, advice)], data


@check(DATABASE, {"slow_query_mean_ms": Threshold(500, 2000, " ms")}, {"slow_query_min_calls": 5})
def judge_slow_queries(
    database: str,
    slow_queries: Rows | None,
    slow_queries_reason: str | None,
    thresholds: Levels,
) -> Judged:
    """Statements of pg_stat_statements slow on average."""
    if slow_queries is None:
        return [
            Finding(
                check="slow_queries",
                severity=OK,
                subject=database,
                message=f"Slow queries of {database} cannot be listed: {slow_queries_reason}",
                recommendation="Preload pg_stat_statements (shared_preload_libraries) and "
                f"CREATE EXTENSION pg_stat_statements in {database}.",
            )
        ], {"available": False, "reason": slow_queries_reason, "queries": []}
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
        for row in slow_queries
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
        for row in slow_queries[:10]
    ]
    message = f"No query in {database} is slow on average"
    return problems(findings, "slow_queries", database, message), {"available": True, "queries": queries}


@check(DATABASE, {"dead_tuples_percent": Threshold(10, 30, "%")}, {"dead_tuples_min": 1000})
def judge_dead_tuples(database: str, tables: Rows, thresholds: Levels) -> Judged:
    """Share of dead tuples of each table."""
    judged = []
    for row in tables:
        dead, live = row["n_dead_tup"] or 0, row["n_live_tup"] or 0
        if dead < thresholds["dead_tuples_min"]:
            continue
        percent = round(100.0 * dead / (dead + live), 1)
        name = qualified(row["schemaname"], row["relname"])
        label = f"Dead tuples in {database}.{name} ({dead} dead, {live} live: the statistics collector's count)"
        advice = f"VACUUM (ANALYZE) {name}; check autovacuum keeps up (its scale factor, long transactions)."
        record = {"schema": row["schemaname"], "name": row["relname"], "table": name, "dead": dead, "percent": percent,
                  "relid": row["relid"], "vacuum_age_days": row.get("vacuum_age_days")}  # fmt: skip
        judged.append(
            (
                pair("dead_tuples", f"{database}.{name}", percent, thresholds, "dead_tuples_percent", label, advice),
                record,
            )
        )
    findings, records = flagged(judged)
    message = f"No table in {database} has a dead-tuple share above the warning level"
    return problems(findings, "dead_tuples", database, message), {"tables": records}


def statistics_stale(row: Mapping[str, Any], thresholds: Levels) -> bool:
    """Whether a table's planner statistics are stale (pure): at least analyze_changes_min rows, and at
    least analyze_changes_percent of its live rows, changed since its last ANALYZE. Fewer changes leave the
    statistics representative, and autovacuum's own rule (50 rows + 10 % by default) analyzes the table
    when they grow. The maintenance_age check and the analyze action both judge by this."""
    changes = row["n_mod_since_analyze"] or 0
    live = row.get("n_live_tup") or 0
    enough = changes >= thresholds["analyze_changes_min"]
    return enough and changes * 100 >= thresholds["analyze_changes_percent"] * live


@check(
    DATABASE,
    {"analyze_age_days": Threshold(7, 30, " days")},
    {"analyze_changes_min": 1000, "analyze_changes_percent": 10},
)
def judge_maintenance_age(database: str, tables: Rows, thresholds: Levels) -> Judged:
    """Days since much-changed tables were last analyzed.

    Tables whose statistics are stale (statistics_stale) and whose last ANALYZE (manual or auto) is old or missing.
    """
    findings, stale = [], []
    for row in tables:
        changes = row["n_mod_since_analyze"] or 0
        if not statistics_stale(row, thresholds):
            continue
        name = qualified(row["schemaname"], row["relname"])
        age = row["analyze_age_days"]
        finding = age_finding(
            "maintenance_age",
            f"{database}.{name}",
            age,
            thresholds,
            "analyze_age_days",
            (
                f"{database}.{name} was never analyzed and has {changes} changed rows",
                f"ANALYZE {name}: the planner has no statistics for it.",
            ),
            f"Days since {database}.{name} was last analyzed ({changes} rows changed since)",
            f"ANALYZE {name}; check autovacuum runs.",
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


@check(DATABASE, {}, {"seq_scan_min": 1000, "seq_scan_min_rows": 10000, "seq_scan_percent_warning": 90})
def judge_seq_scans(database: str, tables: Rows, thresholds: Levels) -> Judged:
    """Large tables read mostly by sequential scans."""
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


@check(DATABASE, {}, {"unused_index_min_bytes": 1048576, "unused_index_stats_days": 7})
def judge_unused_indexes(database: str, indexes: Rows, stats_age: float, thresholds: Levels) -> Judged:
    """Indexes never scanned since the statistics were reset."""
    candidates = [
        {"index": qualified(row["schemaname"], row["indexname"]), "table": row["tablename"], "bytes": row["bytes"]}
        for row in indexes
        if row["idx_scan"] == 0
        and not row["indisunique"]
        and not row["indisprimary"]
        and row["indisvalid"]
        and row["bytes"] >= thresholds["unused_index_min_bytes"]
    ]
    data = {"stats_days": round(stats_age, 2), "indexes": candidates}
    if stats_age < thresholds["unused_index_stats_days"]:
        return [
            Finding(
                check="unused_indexes",
                severity=OK,
                subject=database,
                value=len(candidates),
                threshold=thresholds["unused_index_stats_days"],
                message=f"Statistics of {database} are {stats_age:.1f} days old: too young to call "
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
            f"in {stats_age:.0f} days",
            recommendation="Drop it if no query (nor a standby) needs it: it costs every write.",
        )
        for item in candidates
    ]
    return problems(findings, "unused_indexes", database, f"No unused index in {database}"), data


@check(DATABASE)
def judge_invalid_indexes(database: str, indexes: Rows) -> Judged:
    """Indexes left invalid by a failed concurrent build."""
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


def index_role(row: dict[str, Any]) -> str:
    if row["indisprimary"]:
        return "primary key"
    if row.get("backs_constraint"):
        return "used by a constraint"
    return "unique" if row["indisunique"] else "not unique"


@check(DATABASE)
def judge_duplicate_indexes(database: str, indexes: Rows) -> Judged:
    """Indexes that repeat another of their table, and which one to keep.

    Two indexes are the same when they have the same method, key and INCLUDE columns in order,
    expressions, operator classes, collations, orderings and predicate: (name) and (name COLLATE "C")
    or a partial index are not. The one kept is the primary key, else one a constraint uses, else a
    unique one (a non-unique index adds nothing beside a unique one on the same key).
    """
    groups: dict[tuple[Any, ...], Rows] = {}
    for row in indexes:
        if not row["indisvalid"]:
            continue
        key = (
            row["table_oid"],
            row["amname"],
            row["indkey"],
            row.get("indnkeyatts"),
            row["indclass"],
            row.get("indcollation"),
            row.get("indoption"),
            row["exprs"],
            row["pred"],
        )
        groups.setdefault(key, []).append(row)
    findings, duplicates = [], []
    for rows in groups.values():
        if len(rows) < 2:
            continue
        rows = sorted(
            rows,
            key=lambda row: (
                not row["indisprimary"],
                not row.get("backs_constraint"),
                not row["indisunique"],
                row["indexname"],
            ),
        )
        keep, drop = rows[0], rows[1:]
        kept = qualified(keep["schemaname"], keep["indexname"])
        dropped = [qualified(row["schemaname"], row["indexname"]) for row in drop]
        duplicates.append(
            {"table": keep["tablename"], "keep": kept, "drop": dropped, "indexes": sorted([kept, *dropped])}
        )
        how = "; ".join(
            f"drop its constraint (ALTER TABLE ... DROP CONSTRAINT), which drops {name}"
            if row["indisprimary"] or row.get("backs_constraint")
            else f"DROP INDEX CONCURRENTLY {name}"
            for name, row in zip(dropped, drop)
        )
        findings.append(
            Finding(
                check="duplicate_indexes",
                severity=WARNING,
                subject=f"{database}.{kept}",
                value=sorted([kept, *dropped]),
                threshold=1,
                message=f"Index(es) {', '.join(dropped)} on {keep['tablename']} in {database} repeat {kept} "
                f"({index_role(keep)}): keep {kept}",
                recommendation=f"Keep {kept}; {how}.",
            )
        )
    message = f"No duplicate index in {database}"
    return problems(findings, "duplicate_indexes", database, message), {"groups": duplicates}


@check(DATABASE, {"sequence_percent": Threshold(75, 90, "%")})
def judge_sequences(database: str, sequences: Rows, thresholds: Levels) -> Judged:
    """Share of each sequence's range used."""
    findings, usage = [], []
    advice = "Move the column and sequence to bigint before the sequence runs out."
    for row in sequences:
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


@check(DATABASE, {"table_bloat_percent": Threshold(30, 50, "%")}, {"bloat_min_bytes": 10485760})
def judge_table_bloat(
    database: str,
    sized_tables: Rows,
    columns: Dict[int, Any],
    sampled_rows: Dict[int, float],
    block_size: int,
    thresholds: Levels,
    exact_tables: Measured = None,
) -> Judged:
    """Wasted space of tables (estimated, or measured with exact_bloat).

    The estimate counts NULLs and alignment padding from the columns' statistics (a sample of rows
    for a table never analyzed); exact_bloat measures with pgstattuple the tables it puts near or
    above the warning level. Each finding says which figure it is.
    """
    relations = []
    for row in sized_tables:
        if row["heap_bytes"] < thresholds["bloat_min_bytes"]:
            continue
        if exact_tables is not None and row["relid"] in exact_tables:
            percent, method = exact_tables[row["relid"]], "pgstattuple"
        else:
            sampled = sampled_rows.get(row["relid"])
            percent = table_estimate(row, columns.get(row["relid"]), block_size, sampled)
            method = "estimate" if sampled is None else "sampled estimate"
        name = qualified(row["schemaname"], row["relname"])
        record = {"schema": row["schemaname"], "name": row["relname"], "table": name}
        relations.append((name, percent, method, row["heap_bytes"], dict(record, bytes=row["heap_bytes"])))
    advice = (
        "Rewrite {name} online with pg_repack (action repack), "
        "or VACUUM FULL it in a maintenance window (action vacuum_full)."
    )
    return bloat_judged("table_bloat", database, relations, thresholds, advice)


@check(DATABASE, {"index_bloat_percent": Threshold(30, 50, "%")}, {"bloat_min_bytes": 10485760})
def judge_index_bloat(
    database: str,
    indexes: Rows,
    block_size: int,
    thresholds: Levels,
    exact_indexes: Measured = None,
) -> Judged:
    """Wasted space of B-tree indexes (estimated, or measured with exact_bloat)."""
    relations = []
    for row in indexes:
        if row["amname"] != "btree" or not row["indisvalid"] or row["bytes"] < thresholds["bloat_min_bytes"]:
            continue
        if exact_indexes is not None and row["indexrelid"] in exact_indexes:
            percent, method = exact_indexes[row["indexrelid"]], "pgstatindex"
        elif row["plain_columns"]:
            percent, method = index_bloat(row["reltuples"], row["relpages"], row["key_width"], block_size), "estimate"
        else:
            continue
        name = qualified(row["schemaname"], row["indexname"])
        record = {"schema": row["schemaname"], "name": row["indexname"], "index": name}
        relations.append(
            (name, percent, method, row["bytes"], dict(record, table=qualified(row["schemaname"], row["tablename"])))
        )
    return bloat_judged(
        "index_bloat", database, relations, thresholds, "REINDEX INDEX CONCURRENTLY {name} (action reindex)."
    )


@check(DATABASE, {"never_analyzed_rows": Threshold(1000, 1000000, " rows")})
def judge_never_analyzed(database: str, tables: Rows, thresholds: Levels) -> Judged:
    """Tables with live rows never analyzed (no planner statistics)."""
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


@check(DATABASE, {"vacuum_age_days": Threshold(7, 30, " days")})
def judge_vacuum_age(database: str, tables: Rows, thresholds: Levels) -> Judged:
    """Days since tables with dead tuples were last vacuumed (by hand or by autovacuum)."""
    judged = []
    for row in tables:
        if (row["n_dead_tup"] or 0) < thresholds["dead_tuples_min"]:
            continue
        name = qualified(row["schemaname"], row["relname"])
        age = row["vacuum_age_days"]
        record = {"table": name, "dead": row["n_dead_tup"], "vacuum_age_days": None if age is None else round(age, 1)}
        finding = age_finding(
            "vacuum_age",
            f"{database}.{name}",
            age,
            thresholds,
            "vacuum_age_days",
            (
                f"{database}.{name} has {row['n_dead_tup']} dead tuples and was never vacuumed",
                f"VACUUM (ANALYZE) {name}; check autovacuum is on for it (autovacuum_enabled).",
            ),
            f"Days since {database}.{name} was last vacuumed ({row['n_dead_tup']} dead tuples)",
            f"VACUUM (ANALYZE) {name}; check that autovacuum reaches it (its workers, scale factor, locks).",
        )
        judged.append((finding, record))
    findings, stale = flagged(judged)
    message = f"Every table of {database} with dead tuples was vacuumed recently"
    return problems(findings, "vacuum_age", database, message), {"tables": stale}


@check(DATABASE, {"cache_hit_percent": Threshold(95, 90, "%", higher_is_worse=False)}, {"cache_hit_min_blocks": 100000})
def judge_cache_hit(database: str, cache: Rows, thresholds: Levels) -> Judged:
    """Share of block reads found in shared_buffers, since the statistics were reset."""
    hits, reads = cache[0]["hits"] or 0, cache[0]["reads"] or 0
    total = hits + reads
    percent = round(100.0 * hits / total, 2) if total else 100.0
    data = {"hits": hits, "reads": reads, "percent": percent}
    if total < thresholds["cache_hit_min_blocks"]:
        return [all_clear("cache_hit", database, f"Only {total} block reads in {database}: too few to judge")], data
    label = f"Cache hit ratio of {database} ({hits} hits, {reads} reads)"
    advice = "Raise shared_buffers if memory allows, or find the queries reading the most (pg_stat_statements)."
    return [pair("cache_hit", database, percent, thresholds, "cache_hit_percent", label, advice)], data


@check(DATABASE)
def judge_disabled_triggers(database: str, disabled_triggers: Rows) -> Judged:
    """Triggers left disabled (ALTER TABLE ... DISABLE TRIGGER), foreign-key checks included."""
    findings = []
    for row in disabled_triggers:
        table = qualified(row["schemaname"], row["relname"])
        what = "foreign-key or constraint trigger" if row["tgisinternal"] else "trigger"
        findings.append(
            Finding(
                check="disabled_triggers",
                severity=WARNING,
                subject=f"{database}.{table}.{row['tgname']}",
                value="disabled",
                threshold="enabled",
                message=f"The {what} {row['tgname']} of {database}.{table} is disabled",
                recommendation=f"ALTER TABLE {table} ENABLE TRIGGER {'ALL' if row['tgisinternal'] else row['tgname']} "
                "once whatever disabled it (a bulk load?) is done; rows changed meanwhile were not checked.",
            )
        )
    data = {"triggers": [{"table": qualified(r["schemaname"], r["relname"]), "trigger": r["tgname"],
                          "internal": r["tgisinternal"]} for r in disabled_triggers]}  # fmt: skip
    return problems(findings, "disabled_triggers", database, f"No disabled trigger in {database}"), data


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
