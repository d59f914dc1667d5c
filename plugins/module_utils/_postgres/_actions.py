# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Acting for pg_maintenance: plan the actions from the judged data, and run the plan.

Each action reads the data of the check that flags its targets (ACTION_CHECKS); the
checks run once per database whether they feed the report, the plan, or both.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import WARNING, Finding
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._checks import statistics_stale
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._gather import Session
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._repack import left_out, summary
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._sql import qualified

ACTIONS = ["analyze", "vacuum", "vacuum_full", "repack", "reindex"]
# action -> the checks whose data names its targets (judged for the plan even when not asked for)
ACTION_CHECKS: dict[str, tuple[str, ...]] = {
    "analyze": (),
    "vacuum": ("dead_tuples",),
    "vacuum_full": ("table_bloat",),
    "repack": ("table_bloat", "index_bloat"),
    "reindex": ("invalid_indexes", "index_bloat"),
}
# action -> the sources it reads itself
ACTION_SOURCES: dict[str, tuple[str, ...]] = {"analyze": ("tables",)}


def plan(
    database: str,
    params: Mapping[str, Any],
    data: Callable[[str], dict[str, Any]],
    tables: Callable[[], list[dict[str, Any]]],
    sql: Any,
    render: Callable[[Any], str],
    dead_now: Callable[[dict[str, Any]], int | None] = lambda item: None,
    repack: Any = None,
    notes: list[Finding] | None = None,
) -> list[dict[str, Any]]:
    """The actions to run in one database: (action, database, target, sql, reason) each.

    data(check) is the data of a judged check, tables() the tables source, sql psycopg2.sql,
    render(statement) its text, dead_now(item) a recount of a recently vacuumed table's dead
    tuples (pgstattuple_approx) or None when it cannot be made; repack(names) the Readiness of
    pg_repack for those quoted relation names (_repack), with the Repack in repack.runner; notes
    gets the findings of the plan (what pg_repack rewrites, what it cannot).
    """
    actions, thresholds = params["actions"], params["thresholds"]
    planned: list[dict[str, Any]] = []

    def add(action: str, target: str, statement: Any, reason: str, **extra: Any) -> None:
        text = statement if isinstance(statement, str) else render(statement)
        planned.append(
            {"action": action, "database": database, "target": target, "sql": text, "reason": reason, **extra}
        )

    vacuumed = set()
    if "vacuum" in actions:
        for item in data("dead_tuples")["tables"]:
            if recently_vacuumed(item):
                # PostgreSQL 15 can count dead tuples a VACUUM has just removed: recount before acting
                now = dead_now(item)
                if now is not None and now < thresholds["dead_tuples_min"]:
                    item["recounted"] = now
                    continue
            vacuumed.add(item["table"])
            statement = sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(item["schema"], item["name"]))
            add("vacuum", item["table"], statement, f"{item['dead']} dead tuples ({item['percent']}%)")
    if "analyze" in actions:
        for row in tables():
            name = qualified(row["schemaname"], row["relname"])
            changes = row["n_mod_since_analyze"] or 0
            if statistics_stale(row, thresholds) and name not in vacuumed:
                statement = sql.SQL("ANALYZE {}").format(sql.Identifier(row["schemaname"], row["relname"]))
                live = row.get("n_live_tup") or 0
                add("analyze", name, statement, f"{changes} rows changed since the last analyze ({live} live)")
    rewritten = plan_rewrites(database, params, data, sql, render, add, repack, notes if notes is not None else [])
    if "reindex" in actions:
        keyword = "REINDEX INDEX CONCURRENTLY {}" if params["reindex_concurrently"] else "REINDEX INDEX {}"
        targets = [(item, "invalid") for item in data("invalid_indexes")["indexes"]]
        # a bloated index of a table VACUUM FULL rewrites is rebuilt by it: not twice
        targets += [
            (item, f"bloat {item['percent']}% ({item['method']})")
            for item in data("index_bloat")["indexes"]
            if item.get("table") not in rewritten
        ]
        for item, reason in targets:
            statement = sql.SQL(keyword).format(sql.Identifier(item["schema"], item["name"]))
            add("reindex", qualified(item["schema"], item["name"]), statement, reason)
    return planned


def plan_rewrites(
    database: str,
    params: Mapping[str, Any],
    data: Callable[[str], dict[str, Any]],
    sql: Any,
    render: Callable[[Any], str],
    add: Callable[..., None],
    repack: Any,
    notes: list[Finding],
) -> set[str]:
    """Plan the rewrites of bloated tables (and, without action reindex, of bloated indexes): online with
    pg_repack where it can, with VACUUM FULL (inside a window) where it cannot. Returns the tables rewritten."""
    actions = params["actions"]
    if "vacuum_full" not in actions and "repack" not in actions:
        return set()
    tables = data("table_bloat")["tables"]
    table_names = {item["table"] for item in tables}
    # indexes pg_repack rebuilds on their own, when action reindex (REINDEX CONCURRENTLY) does not
    indexes = []
    if "repack" in actions and "reindex" not in actions:
        indexes = [item for item in data("index_bloat")["indexes"] if item.get("table") not in table_names]
    quoted = {id(item): render(sql.Identifier(item["schema"], item["name"])) for item in tables + indexes}
    ready = repack.readiness(list(quoted.values())) if "repack" in actions and quoted else None
    rewritten: set[str] = set()
    used: list[str] = []
    fallback: list[tuple[str, str]] = []
    left: dict[str, list[str]] = {}
    for item, kind in [(item, "table") for item in tables] + [(item, "index") for item in indexes]:
        target = item["table"] if kind == "table" else item["index"]
        bloat = f"bloat {item['percent']}% ({item['method']})"
        why = None
        if ready is not None:
            facts = ready.targets.get(quoted[id(item)])
            why = repack.runner.unusable(ready, facts)
            if why is None:
                free = human_bytes(facts["free"])
                needs = f"needs {human_bytes(facts['needed'])} free on {facts['directory']}, {free} are"
                command = repack.runner.display(database, quoted[id(item)], kind)
                add(
                    "repack",
                    target,
                    command,
                    f"{bloat}; online with pg_repack; {needs}",
                    kind=kind,
                    relation=quoted[id(item)],
                    space_needed=facts["needed"],
                )
                rewritten.add(target)
                used.append(target)
                continue
        if kind == "table" and "vacuum_full" in actions:
            statement = sql.SQL("VACUUM (FULL, ANALYZE) {}").format(sql.Identifier(item["schema"], item["name"]))
            reason = f"{bloat}; its indexes are rebuilt with it"
            if why:
                reason += f"; pg_repack cannot: {why}"
                fallback.append((target, why))
            add("vacuum_full", target, render(statement), reason)
            rewritten.add(target)
        elif why:
            left.setdefault(why, []).append(target)
    if ready is not None:
        if used or fallback:
            notes.append(summary(database, used, fallback, ready.version))
        recommendation = "" if ready.usable else ready.recommendation
        notes.extend(left_out(database, targets, why, recommendation) for why, targets in left.items())
    return rewritten


RECENT_VACUUM_SECONDS = 3600


def recently_vacuumed(item: Mapping[str, Any]) -> bool:
    age = item.get("vacuum_age_days")
    return age is not None and age * 86400 < RECENT_VACUUM_SECONDS


class Executor:
    """Runs planned statements in one session with the action timeouts and throttle set."""

    def __init__(self, params: Mapping[str, Any], psycopg2: Any, errors: Any, sql: Any, repack: Any = None) -> None:
        self.params = params
        self.repack = repack  # _repack.Repack, for action repack
        self.psycopg2 = psycopg2
        self.errors = errors
        self.sql = sql
        self.findings: list[Finding] = []
        self.actions_taken: list[dict[str, Any]] = []

    def run(self, session: Session, planned: list[dict[str, Any]]) -> None:
        self.execute(session, planned)
        if "reindex" in self.params["actions"]:
            self.drop_reindex_leftovers(session, session.database)

    def execute(self, session: Session, planned: list[dict[str, Any]]) -> None:
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
        for item in planned:
            started = time.monotonic()
            entry = dict(item, status="done", error=None, started=round(time.time(), 3))
            try:
                if item["action"] == "repack":
                    self.run_repack(entry)
                else:
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

    def run_repack(self, entry: dict[str, Any]) -> None:
        """pg_repack as a program: its outcome mapped onto the statements' (skipped by a timeout, or failed)."""
        status, why = self.repack.run(entry["database"], entry["relation"], entry["kind"])
        if status == "lock_timeout":
            self.skipped(
                entry,
                "lock_timeout",
                f"other sessions held conflicting locks (pg_repack: {why}) for longer than",
                "Run it again later, or find the lock holder (blocking_locks check); pg_repack never cancels them.",
            )
        elif status == "statement_timeout":
            self.skipped(
                entry,
                "statement_timeout",
                "it ran longer than",
                "Raise statement_timeout for this run; pg_repack was interrupted and removed its work.",
            )
        elif status == "failed":
            entry.update(status="failed", error=why)

    def skipped(self, entry: dict[str, Any], setting: str, cause: str, recommendation: str) -> None:
        """Mark an action skipped by a timeout setting, with a warning finding that says so."""
        value = self.params[setting]
        target = f"{entry['database']}.{entry['target']}"
        entry.update(status="skipped", error=f"{setting} {value} reached")
        message = f"Cannot {entry['action']} {target}: {cause} {setting} ({value}); skipped"
        self.findings.append(Finding(setting, WARNING, target, value, value, message, recommendation))

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
                "target": qualified(row["schema"], row["name"]),
                "sql": statement.as_string(session.conn),
                "reason": "invalid index left by a failed REINDEX CONCURRENTLY",
            }
            self.execute(session, [item])
