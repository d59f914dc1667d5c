# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backend of the pg_maintenance module: run the asked-for checks, plan and run the actions.

The checks come from the registry (_checks.CHECKS), the data they need from _gather.Sources
(fetched once, only when needed), the plan and its execution from _actions.
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from typing import Any, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import need
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import OK, Finding, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres import _actions, _checks
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import (
    client_argument_spec,
    describe_target,
    postgres_argument_spec,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._gather import Facts, Session, Sources
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._repack import Repack, wait_timeout
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._sql import SQL

ACTIONS = _actions.ACTIONS
WHAT = "run PostgreSQL maintenance"
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|min|h|d)?\s*$")
# PostgreSQL's units of a duration setting; a bare number of lock_timeout / statement_timeout is milliseconds
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400, None: 0.001}

ARGUMENT_SPEC: dict[str, Any] = dict(
    postgres_argument_spec(),
    **client_argument_spec(),
    databases={"type": "list", "elements": "str", "default": []},
    checks={"type": "list", "elements": "str", "choices": _checks.NAMES, "default": _checks.NAMES},
    actions={"type": "list", "elements": "str", "choices": ACTIONS, "default": []},
    allow_disruptive={"type": "bool", "default": False},
    on_standby={"type": "str", "choices": ["fail", "check_only"], "default": "fail"},
    reindex_concurrently={"type": "bool", "default": True},
    exact_bloat={"type": "bool", "default": False},
    lock_timeout={"type": "str", "default": "5s"},
    statement_timeout={"type": "str", "default": "30min"},
    check_timeout={"type": "str", "default": "60s"},
    vacuum_cost_delay={"type": "float", "default": 2.0},
    vacuum_cost_limit={"type": "int", "default": 200},
    repack_jobs={"type": "int", "default": 1},
    thresholds=_checks.thresholds_option(),
)


def check_duration(name: str, value: str) -> str | None:
    """Why a PostgreSQL duration setting ('5s', '500ms', '0') is unusable, or None."""
    if not _DURATION.match(value or ""):
        return f"{name} must be a duration such as 500ms, 5s, 2min or 1h, got {value!r}"
    return None


def duration_seconds(value: str) -> float:
    """Seconds of a valid PostgreSQL duration setting ('5s', '500ms', '2min', '0') (pure)."""
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def check_repack(params: Mapping[str, Any]) -> str | None:
    """Why repack_jobs or the client options are unusable, or None."""
    if not 1 <= params["repack_jobs"] <= 64:
        return f"repack_jobs must be 1 to 64 (pg_repack --jobs), got {params['repack_jobs']}"
    if "repack" in params["actions"] and params.get("client") == "docker" and not params.get("docker_container"):
        return "client=docker needs docker_container (the PostgreSQL container pg_repack runs in)"
    return None


def check_throttle(params: Mapping[str, Any]) -> str | None:
    """Why vacuum_cost_delay / vacuum_cost_limit are out of PostgreSQL's range, or None."""
    if not 0 <= params["vacuum_cost_delay"] <= 100:
        return f"vacuum_cost_delay must be 0 to 100 (milliseconds), got {params['vacuum_cost_delay']:g}"
    if not 1 <= params["vacuum_cost_limit"] <= 10000:
        return f"vacuum_cost_limit must be 1 to 10000, got {params['vacuum_cost_limit']}"
    return None


def check_disruptive(params: Mapping[str, Any]) -> str | None:
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


def validate(params: Mapping[str, Any]) -> None:
    """Raise ModuleError naming the first unusable parameter."""
    _checks.validate_thresholds(params["thresholds"], WHAT)
    for problem in (
        check_duration("lock_timeout", params["lock_timeout"]),
        check_duration("statement_timeout", params["statement_timeout"]),
        check_duration("check_timeout", params["check_timeout"]),
        check_throttle(params),
        check_disruptive(params),
        check_repack(params),
    ):
        if problem:
            raise ModuleError(f"Cannot {WHAT}: {problem}")


class Judging:
    """The asked-for checks of one scope, each judged at most once; the plan reads their data too."""

    def __init__(self, sources: Sources, asked: list[str]) -> None:
        self.sources = sources
        self.asked = asked
        self.results: dict[str, tuple[list[Finding], dict[str, Any]]] = {}

    def result(self, name: str) -> tuple[list[Finding], dict[str, Any]]:
        if name not in self.results:
            check = _checks.BY_NAME[name]
            self.results[name] = check.judge(Facts(self.sources, check.needs))
        return self.results[name]

    def data(self, name: str) -> dict[str, Any]:
        return self.result(name)[1]

    def report(self, scope: str, into: dict[str, Any], findings: list[Finding]) -> None:
        """Judge the asked-for checks of a scope (in the registry's order) into a report and findings."""
        for check in _checks.CHECKS:
            if check.scope == scope and check.name in self.asked:
                found, data = self.result(check.name)
                findings.extend(found)
                into[check.name] = data


def recounted(database: str, judging: Judging) -> list[Finding]:
    """An ok finding for each table the plan left out because a recount found its dead tuples gone."""
    if "dead_tuples" not in judging.results:
        return []
    return [
        Finding(
            check="dead_tuples",
            severity=OK,
            subject=f"{database}.{item['table']}",
            value=item["recounted"],
            message=f"{database}.{item['table']}: the statistics collector counts {item['dead']} dead tuples, "
            f"but it was vacuumed {round(item['vacuum_age_days'] * 86400)} s ago and pgstattuple_approx counts "
            f"{item['recounted']}: not vacuumed again",
        )
        for item in judging.data("dead_tuples")["tables"]
        if "recounted" in item
    ]


def wanted_sources(checks: list[str], actions: list[str]) -> set[str]:
    """The sources the asked-for checks and actions read directly (the actions' own checks' too)."""
    judged = set(checks).union(*(_actions.ACTION_CHECKS[action] for action in actions))
    wanted = {need for name in judged for need in _checks.BY_NAME[name].needs}
    return wanted.union(*(_actions.ACTION_SOURCES.get(action, ()) for action in actions))


class PgMaintenance(Backend):
    """Backend of the pg_maintenance module."""

    def __init__(self, params: Mapping[str, Any], check_mode: bool, host: Any) -> None:
        super().__init__(params, check_mode, host)
        self.round_trips = [0]
        self.findings: list[Finding] = []
        self.report: dict[str, Any] = {"cluster": {}, "databases": {}}
        self.planned: list[dict[str, Any]] = []
        self.block_size = 8192

    def session(self, database: str | None) -> tuple[Session, dict[str, Any]]:
        """A session of database with the checks' timeouts set, and the server's version and block size."""
        session = Session(self.psycopg2, self.params, database, self.round_trips)
        # Checks read catalogs and statistics: bound them so a locked table or a busy
        # server cannot hang the run. The same round trip reads the settings the run needs.
        settings = session.rows(
            "SELECT set_config('lock_timeout', %(lock)s, false) AS lock_timeout,"
            " set_config('statement_timeout', %(statement)s, false) AS statement_timeout,"
            " current_setting('server_version') AS server_version, current_setting('block_size')::int AS block_size",
            {"lock": self.params["lock_timeout"], "statement": self.params["check_timeout"]},
        )[0]
        return session, settings

    def run(self) -> dict[str, Any]:
        validate(self.params)
        self.psycopg2 = need("psycopg2", "psycopg2-binary")
        self.repack = Repack(
            self.params,
            self.host,
            wait_timeout(duration_seconds(self.params["lock_timeout"])),
            duration_seconds(self.params["statement_timeout"]),
        )
        self.executor = _actions.Executor(
            self.params,
            self.psycopg2,
            need("psycopg2.errors", "psycopg2-binary"),
            need("psycopg2.sql", "psycopg2-binary"),
            self.repack,
        )
        started = time.monotonic()
        main, settings = self.session(None)
        try:
            server_version, self.block_size = settings["server_version"], int(settings["block_size"])
            databases = self.resolve_databases(main)
            cluster = Sources(main, self.params, self.block_size, None, self.psycopg2.Error)
            server_role = cluster.get("server")["role"]
            self.refuse_writes_on_a_standby(server_role)
            self.report["server_role"] = server_role
            Judging(cluster, self.params["checks"]).report(_checks.CLUSTER, self.report["cluster"], self.findings)
            per_database = self.params["actions"] or any(
                check.scope == _checks.DATABASE and check.name in self.params["checks"] for check in _checks.CHECKS
            )
            for database in databases if per_database else []:
                # the database the first session is in is worked in that session: no second connection
                self.database_work(database, main if database == main.database else None)
        finally:
            main.close()
        self.findings.extend(self.executor.findings)
        taken = self.executor.actions_taken
        findings = [finding.as_dict() for finding in self.findings]
        result = {
            # in check mode: whether it would change anything
            "changed": bool(self.planned) if self.check_mode else any(item["status"] == "done" for item in taken),
            "server_version": server_version,
            "server_role": server_role,
            "databases": databases,
            "findings": findings,
            "severity": worst(findings),
            "report": self.report,
            "planned": self.planned,
            "actions_taken": taken,
            "round_trips": self.round_trips[0],
            "seconds": round(time.monotonic() - started, 3),
        }
        failed = [item for item in taken if item["status"] == "failed"]
        if failed:
            reasons = "; ".join(
                f"{item['action']} {item['database']}.{item['target']}: {item['error']}" for item in failed
            )
            raise ModuleError(f"Cannot finish PostgreSQL maintenance: {reasons}", **result)
        return result

    def refuse_writes_on_a_standby(self, server_role: str) -> None:
        """Every action writes (ANALYZE too); a standby is read-only and replays its primary's maintenance.

        on_standby=fail refuses the run before anything is done; check_only leaves the actions out, saying so.
        """
        actions = self.params["actions"]
        if server_role != "standby" or not actions:
            return
        where = describe_target(dict(self.params))
        if self.params["on_standby"] == "fail":
            raise ModuleError(
                f"Cannot {WHAT}: {where} is a standby (in recovery) and actions {', '.join(actions)} write; "
                "run them on the primary, whose changes the standby replays (the checks alone run on a standby, "
                "or set on_standby=check_only)"
            )
        self.params = dict(self.params, actions=[])
        self.findings.append(
            Finding(
                check="replication",
                severity=OK,
                subject="standby",
                message=f"{where} is a standby: actions {', '.join(actions)} were not run (on_standby=check_only); "
                "it replays its primary's maintenance",
            )
        )

    def resolve_databases(self, main: Session) -> list[str]:
        available = [row["datname"] for row in main.rows(SQL["databases"])]
        wanted = self.params["databases"] or available
        unknown = [name for name in wanted if name not in available]
        if unknown:
            raise ModuleError(
                f"Cannot {WHAT}: databases names {', '.join(map(repr, unknown))}, "
                f"which {'is' if len(unknown) == 1 else 'are'} not a connectable database on "
                f"{describe_target(dict(self.params))} (there are: {', '.join(available)})"
            )
        return wanted

    def database_work(self, database: str, session: Session | None = None) -> None:
        """The checks and actions of one database, in session when given (else in a session of its own)."""
        own = session is None
        if session is None:
            session, _settings = self.session(database)
        try:
            wanted = wanted_sources(self.params["checks"], self.params["actions"])
            sources = Sources(session, self.params, self.block_size, database, self.psycopg2.Error, wanted)
            judging = Judging(sources, self.params["checks"])
            scope = self.report["databases"].setdefault(database, {})
            found: list[Finding] = []
            judging.report(_checks.DATABASE, scope, found)
            sql = self.executor.sql
            notes: list[Finding] = []
            repack = SimpleNamespace(
                runner=self.repack,
                readiness=lambda names: self.repack.readiness(session, database, names, self.executor.errors),
            )
            plan = _actions.plan(
                database,
                self.params,
                judging.data,
                lambda: sources.get("tables"),
                sql,
                lambda statement: statement.as_string(session.conn),
                sources.dead_now,
                repack,
                notes,
            )
            self.findings.extend(sources.notes + found + recounted(database, judging) + notes)
            self.planned.extend(plan)
            if plan and not self.check_mode:
                self.executor.run(session, plan)
        finally:
            if own:
                session.close()
