# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backend of the pg_maintenance module: run the checks, plan and run the actions."""

from __future__ import annotations

import re
import time
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import require
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import WARNING, Finding, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres import _checks as checks
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import connect, describe_target

ACTIONS = ["analyze", "vacuum", "vacuum_full", "reindex"]
_DURATION = re.compile(r"^\s*\d+\s*(ms|s|min|h|d)?\s*$")


def check_duration(name: str, value: str) -> str | None:
    """Why a PostgreSQL duration setting ('5s', '500ms', '0') is unusable, or None."""
    if not _DURATION.match(value or ""):
        return f"{name} must be a duration such as 500ms, 5s, 2min or 1h, got {value!r}"
    return None


def check_throttle(params: dict[str, Any]) -> str | None:
    """Why vacuum_cost_delay / vacuum_cost_limit are out of PostgreSQL's range, or None."""
    if not 0 <= params["vacuum_cost_delay"] <= 100:
        return f"vacuum_cost_delay must be 0 to 100 (milliseconds), got {params['vacuum_cost_delay']:g}"
    if not 1 <= params["vacuum_cost_limit"] <= 10000:
        return f"vacuum_cost_limit must be 1 to 10000, got {params['vacuum_cost_limit']}"
    return None


def check_disruptive(params: dict[str, Any]) -> str | None:
    """Why the requested actions need allow_disruptive, or None."""
    if params["allow_disruptive"]:
        return None
    if "vacuum_full" in params["actions"]:
        return (
            "action vacuum_full takes an ACCESS EXCLUSIVE lock on each table it rewrites: "
            "run it inside a maintenance window with allow_disruptive=true"
        )
    if "reindex" in params["actions"] and not params["reindex_concurrently"]:
        return (
            "action reindex with reindex_concurrently=false blocks writes to each table: "
            "run it inside a maintenance window with allow_disruptive=true"
        )
    return None


class Session:
    """One connection, counting round trips; rows come back as dicts."""

    def __init__(self, module: Any, database: str | None, counter: list[int]) -> None:
        self.conn = connect(module, database=database)
        self.counter = counter
        self.database = self.conn.get_dsn_parameters()["dbname"]

    def rows(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.counter[0] += 1
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            if cur.description is None:
                return []
            names = [column.name for column in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def execute(self, statement: Any, params: Any = None) -> None:
        self.counter[0] += 1
        with self.conn.cursor() as cur:
            cur.execute(statement, params)

    def close(self) -> None:
        self.conn.close()


class PgMaintenance:
    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params
        self.psycopg2 = require(module, "psycopg2", "psycopg2-binary")
        self.sql = require(module, "psycopg2.sql", "psycopg2-binary")
        self.errors = require(module, "psycopg2.errors", "psycopg2-binary")
        self.round_trips = [0]
        self.findings: list[Finding] = []
        self.report: dict[str, Any] = {"cluster": {}, "databases": {}}
        self.planned: list[dict[str, Any]] = []
        self.actions_taken: list[dict[str, Any]] = []

    # -- validation -----------------------------------------------------------------------
    def validate(self) -> None:
        problems = [
            checks.check_thresholds(self.params["thresholds"]),
            check_duration("lock_timeout", self.params["lock_timeout"]),
            check_duration("statement_timeout", self.params["statement_timeout"]),
            check_duration("check_timeout", self.params["check_timeout"]),
            check_throttle(self.params),
            check_disruptive(self.params),
        ]
        for problem in problems:
            if problem:
                self.module.fail_json(msg=f"Cannot run PostgreSQL maintenance: {problem}")

    def session(self, database: str | None) -> Session:
        session = Session(self.module, database, self.round_trips)
        # Checks read catalogs and statistics: bound them so a locked table or a busy
        # server cannot hang the run.
        session.execute(
            "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
            (self.params["lock_timeout"], self.params["check_timeout"]),
        )
        return session

    # -- run --------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self.validate()
        started = time.monotonic()
        main = self.session(None)
        try:
            server_version = main.rows("SELECT current_setting('server_version') AS v")[0]["v"]
            self.block_size = int(main.rows("SELECT current_setting('block_size')::int AS b")[0]["b"])
            databases = self.resolve_databases(main)
            self.cluster_checks(main)
        finally:
            main.close()
        for database in databases:
            self.database_work(database)
        failed = [item for item in self.actions_taken if item["status"] == "failed"]
        findings = [finding.as_dict() for finding in self.findings]
        result = {
            # in check mode: whether it would change anything
            "changed": bool(self.planned)
            if self.module.check_mode
            else any(item["status"] == "done" for item in self.actions_taken),
            "server_version": server_version,
            "databases": databases,
            "findings": findings,
            "severity": worst(findings),
            "report": self.report,
            "planned": self.planned,
            "actions_taken": self.actions_taken,
            "round_trips": self.round_trips[0],
            "seconds": round(time.monotonic() - started, 3),
        }
        if failed:
            reasons = "; ".join(
                f"{item['action']} {item['database']}.{item['target']}: {item['error']}" for item in failed
            )
            self.module.fail_json(msg=f"Cannot finish PostgreSQL maintenance: {reasons}", **result)
        return result

    def resolve_databases(self, main: Session) -> list[str]:
        available = [row["datname"] for row in main.rows(checks.SQL["databases"])]
        wanted = self.params["databases"] or available
        unknown = [name for name in wanted if name not in available]
        if unknown:
            self.module.fail_json(
                msg=f"Cannot run PostgreSQL maintenance: databases names {', '.join(map(repr, unknown))}, "
                f"which {'is' if len(unknown) == 1 else 'are'} not a connectable database on "
                f"{describe_target(self.params)} (there are: {', '.join(available)})"
            )
        return wanted

    def wanted(self, check: str) -> bool:
        return check in self.params["checks"]

    def add(self, scope: dict[str, Any], check: str, result: tuple[list[Finding], dict[str, Any]]) -> None:
        findings, data = result
        self.findings.extend(findings)
        scope[check] = data

    # -- cluster-wide checks -------------------------------------------------------------
    def cluster_checks(self, main: Session) -> None:
        thresholds, scope = self.params["thresholds"], self.report["cluster"]
        activity_checks = ("connections", "long_transactions", "idle_in_transaction", "blocking_locks")
        if any(self.wanted(name) for name in activity_checks):
            activity = main.rows(checks.SQL["activity"])
            if self.wanted("connections"):
                max_connections = main.rows(checks.SQL["max_connections"])[0]["max_connections"]
                self.add(scope, "connections", checks.judge_connections(activity, max_connections, thresholds))
            if self.wanted("long_transactions"):
                self.add(scope, "long_transactions", checks.judge_long_transactions(activity, thresholds))
            if self.wanted("idle_in_transaction"):
                self.add(scope, "idle_in_transaction", checks.judge_idle_in_transaction(activity, thresholds))
            if self.wanted("blocking_locks"):
                self.add(scope, "blocking_locks", checks.judge_blocking_locks(activity, thresholds))
        if self.wanted("prepared_transactions"):
            rows = main.rows(checks.SQL["prepared_transactions"])
            self.add(scope, "prepared_transactions", checks.judge_prepared_transactions(rows, thresholds))
        if self.wanted("wraparound"):
            self.add(scope, "wraparound", checks.judge_wraparound(main.rows(checks.SQL["wraparound"]), thresholds))
        if self.wanted("replication_slots"):
            rows = main.rows(checks.SQL["replication_slots"])
            self.add(scope, "replication_slots", checks.judge_replication_slots(rows, thresholds))

    # -- per-database checks and actions ------------------------------------------------
    def database_work(self, database: str) -> None:
        session = self.session(database)
        try:
            scope = self.report["databases"].setdefault(database, {})
            facts = self.database_checks(session, database, scope)
            plan = self.plan(session, database, facts)
            self.planned.extend(plan)
            if plan and not self.module.check_mode:
                self.execute(session, plan)
                if "reindex" in self.params["actions"]:
                    self.drop_reindex_leftovers(session, database)
        finally:
            session.close()

    def database_checks(self, session: Session, database: str, scope: dict[str, Any]) -> dict[str, Any]:
        thresholds = self.params["thresholds"]
        needs_tables = {"database_size", "dead_tuples", "maintenance_age", "seq_scans", "table_bloat"}
        needs_indexes = {"unused_indexes", "invalid_indexes", "duplicate_indexes", "index_bloat"}
        actions = set(self.params["actions"])
        tables = (
            session.rows(checks.SQL["tables"])
            if needs_tables & set(self.params["checks"]) or actions & {"analyze", "vacuum", "vacuum_full"}
            else []
        )
        indexes = (
            session.rows(checks.SQL["indexes"])
            if needs_indexes & set(self.params["checks"]) or "reindex" in actions
            else []
        )
        extensions = {row["extname"] for row in session.rows(checks.SQL["has_extension"])}
        exact_tables, exact_indexes = self.exact_bloat(session, database, tables, indexes, extensions)

        if self.wanted("database_size"):
            size = session.rows(checks.SQL["database_size"])[0]["bytes"]
            self.add(scope, "database_size", checks.judge_database_size(database, size, tables, thresholds))
        if self.wanted("slow_queries"):
            self.add(scope, "slow_queries", self.slow_queries(session, database, extensions))
        if self.wanted("dead_tuples"):
            self.add(scope, "dead_tuples", checks.judge_dead_tuples(database, tables, thresholds))
        if self.wanted("maintenance_age"):
            self.add(scope, "maintenance_age", checks.judge_maintenance_age(database, tables, thresholds))
        if self.wanted("seq_scans"):
            self.add(scope, "seq_scans", checks.judge_seq_scans(database, tables, thresholds))
        if self.wanted("unused_indexes"):
            stats_days = session.rows(checks.SQL["stats_age"])[0]["days"]
            self.add(scope, "unused_indexes", checks.judge_unused_indexes(database, indexes, stats_days, thresholds))
        if self.wanted("invalid_indexes"):
            self.add(scope, "invalid_indexes", checks.judge_invalid_indexes(database, indexes))
        if self.wanted("duplicate_indexes"):
            self.add(scope, "duplicate_indexes", checks.judge_duplicate_indexes(database, indexes))
        if self.wanted("sequences"):
            rows = session.rows(checks.SQL["sequences"])
            self.add(scope, "sequences", checks.judge_sequences(database, rows, thresholds))
        table_bloat = checks.judge_table_bloat(database, tables, self.block_size, thresholds, exact_tables)
        index_bloat = checks.judge_index_bloat(database, indexes, self.block_size, thresholds, exact_indexes)
        if self.wanted("table_bloat"):
            self.add(scope, "table_bloat", table_bloat)
        if self.wanted("index_bloat"):
            self.add(scope, "index_bloat", index_bloat)
        return {
            "tables": tables,
            "dead": checks.judge_dead_tuples(database, tables, thresholds)[1]["tables"],
            "bloated_tables": table_bloat[1]["tables"],
            "bloated_indexes": index_bloat[1]["indexes"],
            "invalid_indexes": checks.judge_invalid_indexes(database, indexes)[1]["indexes"],
        }

    def slow_queries(self, session: Session, database: str, extensions: set[str]) -> tuple[list[Finding], dict]:
        thresholds = self.params["thresholds"]
        if "pg_stat_statements" not in extensions:
            reason = f"the pg_stat_statements extension is not installed in {database}"
            return checks.judge_slow_queries(database, None, reason, thresholds)
        try:
            rows = session.rows(checks.SQL["slow_queries"], {"min_calls": thresholds["slow_query_min_calls"]})
        except self.psycopg2.Error as exc:  # e.g. installed but not preloaded
            reason = str(exc).strip().splitlines()[0]
            return checks.judge_slow_queries(database, None, reason, thresholds)
        return checks.judge_slow_queries(database, rows, None, thresholds)

    def exact_bloat(
        self, session: Session, database: str, tables: list[dict], indexes: list[dict], extensions: set[str]
    ) -> tuple[dict[int, float] | None, dict[int, float] | None]:
        if not self.params["exact_bloat"]:
            return None, None
        if "pgstattuple" not in extensions:
            self.findings.append(
                Finding(
                    check="table_bloat",
                    severity="ok",
                    subject=database,
                    message=f"exact_bloat is on, but pgstattuple is not installed in {database}: bloat is estimated",
                    recommendation=f"CREATE EXTENSION pgstattuple in {database}.",
                )
            )
            return None, None
        minimum = self.params["thresholds"]["bloat_min_bytes"]
        exact_tables, exact_indexes = {}, {}
        try:
            for row in tables:
                if row["table_bytes"] >= minimum:
                    measured = session.rows(checks.SQL["pgstattuple"], {"oid": row["relid"]})[0]
                    exact_tables[row["relid"]] = round(measured["waste_percent"], 1)
            for row in indexes:
                if row["amname"] == "btree" and row["indisvalid"] and row["bytes"] >= minimum:
                    density = session.rows(checks.SQL["pgstatindex"], {"oid": row["indexrelid"]})[0]["density"]
                    exact_indexes[row["indexrelid"]] = round(max(0.0, 90.0 - density) / 90.0 * 100, 1)
        except self.psycopg2.Error as exc:
            self.findings.append(
                Finding(
                    check="table_bloat",
                    severity=WARNING,
                    subject=database,
                    message=f"Cannot measure exact bloat in {database}: {str(exc).strip().splitlines()[0]}; "
                    "falling back to the estimate where it was not measured",
                )
            )
        return exact_tables, exact_indexes

    # -- actions ----------------------------------------------------------------------------
    def plan(self, session: Session, database: str, facts: dict[str, Any]) -> list[dict[str, Any]]:
        sql, actions, thresholds = self.sql, self.params["actions"], self.params["thresholds"]
        plan: list[dict[str, Any]] = []

        def add(action: str, target: str, statement: Any, reason: str) -> None:
            plan.append(
                {
                    "action": action,
                    "database": database,
                    "target": target,
                    "sql": statement.as_string(session.conn),
                    "reason": reason,
                }
            )

        vacuumed = set()
        if "vacuum" in actions:
            for item in facts["dead"]:
                vacuumed.add(item["table"])
                statement = sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(item["schema"], item["name"]))
                add("vacuum", item["table"], statement, f"{item['dead']} dead tuples ({item['percent']}%)")
        if "analyze" in actions:
            for row in facts["tables"]:
                name = checks.qualified(row["schemaname"], row["relname"])
                changes = row["n_mod_since_analyze"] or 0
                if changes >= thresholds["analyze_changes_min"] and name not in vacuumed:
                    statement = sql.SQL("ANALYZE {}").format(sql.Identifier(row["schemaname"], row["relname"]))
                    add("analyze", name, statement, f"{changes} rows changed since the last analyze")
        rewritten = set()
        if "vacuum_full" in actions:
            for item in facts["bloated_tables"]:
                rewritten.add(item["table"])
                statement = sql.SQL("VACUUM (FULL, ANALYZE) {}").format(sql.Identifier(item["schema"], item["name"]))
                reason = f"bloat {item['percent']}% ({item['method']}); its indexes are rebuilt with it"
                add("vacuum_full", item["table"], statement, reason)
        if "reindex" in actions:
            keyword = "REINDEX INDEX CONCURRENTLY {}" if self.params["reindex_concurrently"] else "REINDEX INDEX {}"
            targets = [(item, "invalid") for item in facts["invalid_indexes"]]
            # a bloated index of a table VACUUM FULL rewrites is rebuilt by it: not twice
            targets += [
                (item, f"bloat {item['percent']}% ({item['method']})")
                for item in facts["bloated_indexes"]
                if item.get("table") not in rewritten
            ]
            for item, reason in targets:
                statement = sql.SQL(keyword).format(sql.Identifier(item["schema"], item["name"]))
                add("reindex", checks.qualified(item["schema"], item["name"]), statement, reason)
        return plan

    def execute(self, session: Session, plan: list[dict[str, Any]]) -> None:
        # VACUUM and ANALYZE pause as autovacuum does (cost-based delay), so that the load keeps
        # its CPU and disk: a manual VACUUM is unthrottled by default
        session.execute(
            "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false),"
            " set_config('vacuum_cost_delay', %s, false), set_config('vacuum_cost_limit', %s, false)",
            (
                self.params["lock_timeout"],
                self.params["statement_timeout"],
                f"{self.params['vacuum_cost_delay']:g}ms",
                str(self.params["vacuum_cost_limit"]),
            ),
        )
        for item in plan:
            started = time.monotonic()
            entry = dict(item, status="done", error=None)
            try:
                session.execute(item["sql"])
            except self.errors.LockNotAvailable:
                self.skipped(
                    entry,
                    "lock_timeout",
                    "another session held a conflicting lock for longer than",
                    "Run it again later, or find the lock holder (blocking_locks check).",
                )
            except self.errors.QueryCanceled:
                self.skipped(
                    entry,
                    "statement_timeout",
                    "it ran longer than",
                    "Raise statement_timeout for this run, inside a maintenance window.",
                )
            except self.psycopg2.Error as exc:
                entry.update(status="failed", error=str(exc).strip().splitlines()[0])
            entry["seconds"] = round(time.monotonic() - started, 3)
            self.actions_taken.append(entry)

    def skipped(self, entry: dict[str, Any], setting: str, cause: str, recommendation: str) -> None:
        """Mark an action skipped by a timeout setting, with a warning finding that says so."""
        value = self.params[setting]
        target = f"{entry['database']}.{entry['target']}"
        entry.update(status="skipped", error=f"{setting} {value} reached")
        self.findings.append(
            Finding(
                check=setting,
                severity=WARNING,
                subject=target,
                value=value,
                threshold=value,
                message=f"Cannot {entry['action']} {target}: {cause} {setting} ({value}); skipped",
                recommendation=recommendation,
            )
        )

    def drop_reindex_leftovers(self, session: Session, database: str) -> None:
        """A failed REINDEX CONCURRENTLY leaves an invalid *_ccnew (or *_ccold) index: drop it."""
        rows = session.rows(
            """SELECT n.nspname AS schema, c.relname AS name FROM pg_index i
                 JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$'"""
        )
        for row in rows:
            statement = self.sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
                self.sql.Identifier(row["schema"], row["name"])
            )
            item = {
                "action": "drop_reindex_leftover",
                "database": database,
                "target": checks.qualified(row["schema"], row["name"]),
                "sql": statement.as_string(session.conn),
                "reason": "invalid index left by a failed REINDEX CONCURRENTLY",
            }
            self.execute(session, [item])
