# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Gathering for pg_maintenance: sessions, and the data the checks need, each fetched once.

Sources holds what a scope (the cluster, or one database) knows; a source is fetched the
first time an asked-for check (or action) needs it, and kept for the others.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import need
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import OK, WARNING, Finding
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import (
    connection_kwargs,
    describe_target,
    validate_connection_params,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._sql import (
    SQL,
    heap_tuple_bytes,
    table_estimate,
)

LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout
INSUFFICIENT_PRIVILEGE = "42501"
EXACT_MARGIN = 10  # exact_bloat measures the tables estimated within this many points of the warning level


class Session:
    """One connection, counting round trips; rows come back as dicts."""

    def __init__(self, psycopg2: Any, params: Mapping[str, Any], database: str | None, counter: list[int]) -> None:
        raise_problem("Cannot connect to PostgreSQL", validate_connection_params(dict(params)))
        try:
            self.conn = psycopg2.connect(**connection_kwargs(dict(params), database))
        except psycopg2.Error as exc:
            reason = str(exc).strip().replace("\n", " ")
            raise ModuleError(f"Cannot connect to PostgreSQL at {describe_target(dict(params))}: {reason}") from exc
        self.conn.autocommit = True
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


# sources that are one value: the column of the query's one row
SINGLE = {"max_connections": "max_connections", "database_size": "bytes", "stats_age": "days"}


class Facts:
    """What a judge sees: its scope, the threshold values, and only the sources it needs."""

    def __init__(self, sources: Sources, needs: tuple[str, ...]) -> None:
        self.database = sources.database
        self.thresholds = sources.params["thresholds"]
        self.block_size = sources.block_size
        self._data = {name: sources.get(name) for name in needs}

    def __getitem__(self, name: str) -> Any:
        return self._data[name]


class Sources:
    """The data of one scope, fetched on first use.

    A source is a plain query of SQL (its first column of its first row when single) or a
    fetch_<name> method; notes collects findings about how data was gathered (exact bloat
    not available, say).
    """

    def __init__(
        self,
        session: Session,
        params: Mapping[str, Any],
        block_size: int,
        database: str | None,
        error: type,
        wanted: Iterable[str] = (),
    ) -> None:
        self.session = session
        # the sources the run will read (wanted_sources): one that holds another's rows serves it too
        self.wanted = frozenset(wanted)
        self.params = params
        self.block_size = block_size
        self.database = database
        self.error = error  # psycopg2.Error
        self.notes: list[Finding] = []
        self._cache: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._cache:
            fetch: Callable[[], Any] | None = getattr(self, f"fetch_{name}", None)
            if fetch is not None:
                self._cache[name] = fetch()
            elif name in SINGLE:
                self._cache[name] = self.session.rows(SQL[name])[0][SINGLE[name]]
            else:
                self._cache[name] = self.session.rows(SQL[name])
        return self._cache[name]

    def fetch_extensions(self) -> set[str]:
        return {row["extname"] for row in self.session.rows(SQL["has_extension"])}

    def fetch_server(self) -> dict[str, Any]:
        """The server's role (primary or standby) and, on a standby, its receiving and replay."""
        row = self.session.rows(SQL["server"])[0]
        return dict(row, role="standby" if row["in_recovery"] else "primary")

    def fetch_wal(self) -> dict[str, Any]:
        """The WAL directory and the archiver, or {"visible": False, "reason": ...} without pg_monitor."""
        try:
            return dict(self.session.rows(SQL["wal"])[0], visible=True)
        except self.error as exc:
            if getattr(exc, "pgcode", None) != INSUFFICIENT_PRIVILEGE:
                raise
            return {"visible": False, "reason": str(exc).strip().splitlines()[0]}

    def dead_now(self, item: Mapping[str, Any]) -> int | None:
        """A table's dead tuples counted now by pgstattuple_approx, or None without pgstattuple (or on an error)."""
        if not self.get("pgstattuple_usable"):
            return None
        try:
            return int(self.session.rows(SQL["dead_now"], {"oid": item["relid"]})[0]["dead"])
        except self.error:
            return None

    def fetch_tables(self) -> list[dict[str, Any]]:
        """Each table's statistics; taken from sized_tables (a superset) when the run reads those anyway."""
        if "sized_tables" in self.wanted or "sized_tables" in self._cache:
            return self.get("sized_tables")
        return self.session.rows(SQL["tables"])

    def fetch_sized_tables(self) -> list[dict[str, Any]]:
        return self.sized("sized_tables", "tables")

    def fetch_indexes(self) -> list[dict[str, Any]]:
        return self.sized("indexes", "indexes")

    def sized(self, name: str, what: str) -> list[dict[str, Any]]:
        """The rows of a query with real sizes of what; the catalog's sizes when a lock got in the way anyway."""
        try:
            return self.session.rows(SQL[name], {"catalog_sizes": False})
        except self.error as exc:
            if getattr(exc, "pgcode", None) != LOCK_NOT_AVAILABLE:
                raise
        self.notes.append(
            Finding(
                check="database_size",
                severity=OK,
                subject=str(self.database),
                message=f"A lock held in {self.database} kept its {what}' file sizes from being read: "
                "their sizes are the catalog's, as of their last VACUUM or ANALYZE",
            )
        )
        return self.session.rows(SQL[name], {"catalog_sizes": True})

    def fetch_columns(self) -> dict[int, list[list[Any]]]:
        """Each table's attributes with their statistics (the columns query), by oid."""
        return {row["relid"]: row["columns"] for row in self.session.rows(SQL["columns"])}

    def fetch_sampled_rows(self) -> dict[int, float]:
        """The average row size of a sample of each large table without statistics (never analyzed), by oid."""
        sql = need("psycopg2.sql", "psycopg2-binary")
        minimum = self.params["thresholds"]["bloat_min_bytes"]
        sampled: dict[int, float] = {}
        unread: list[str] = []
        for row in self.get("sized_tables"):
            if row["heap_bytes"] < minimum or heap_tuple_bytes(self.get("columns").get(row["relid"])) is not None:
                continue
            if not row["readable"]:
                unread.append(f"{row['schemaname']}.{row['relname']}")
                continue
            pages = max(1, row["heap_bytes"] // self.block_size)
            query = sql.SQL(SQL["row_sample"]).format(table=sql.Identifier(row["schemaname"], row["relname"]))
            try:
                found = self.session.rows(query, {"percent": min(100.0, 100.0 * 64 / pages)})[0]
            except self.error as exc:
                if getattr(exc, "pgcode", None) not in (LOCK_NOT_AVAILABLE, INSUFFICIENT_PRIVILEGE):
                    raise
                unread.append(f"{row['schemaname']}.{row['relname']}")
                continue
            if found["rows"]:
                sampled[row["relid"]] = found["bytes"]
        if unread:
            self.notes.append(
                Finding(
                    check="table_bloat",
                    severity=OK,
                    subject=str(self.database),
                    value=unread,
                    message=f"The bloat of {len(unread)} table(s) of {self.database} cannot be estimated: this login "
                    f"sees no statistics of them and cannot read them ({', '.join(unread[:10])})",
                    recommendation="Run the checks with a login that can read every table (the table owner, or "
                    "pg_read_all_data and pg_monitor).",
                )
            )
        return sampled

    def fetch_slow_queries(self) -> list[dict[str, Any]] | None:
        """The statements of pg_stat_statements, or None when they cannot be read (slow_queries_reason)."""
        self._cache["slow_queries_reason"] = None
        if "pg_stat_statements" not in self.get("extensions"):
            self._cache["slow_queries_reason"] = f"the pg_stat_statements extension is not installed in {self.database}"
            return None
        min_calls = self.params["thresholds"]["slow_query_min_calls"]
        try:
            return self.session.rows(SQL["slow_queries"], {"min_calls": min_calls})
        except self.error as exc:  # e.g. installed but not preloaded
            self._cache["slow_queries_reason"] = str(exc).strip().splitlines()[0]
            return None

    def fetch_slow_queries_reason(self) -> str | None:
        """Why slow_queries is None."""
        self.get("slow_queries")
        return self._cache["slow_queries_reason"]

    def fetch_pgstattuple_usable(self) -> bool:
        """pgstattuple is installed here and this login may run it."""
        if "pgstattuple" not in self.get("extensions"):
            return False
        return bool(self.session.rows(SQL["pgstattuple_usable"])[0]["usable"])

    def fetch_pgstattuple(self) -> bool:
        """Whether exact bloat is to be measured here (exact_bloat on, pgstattuple installed and usable)."""
        if not self.params["exact_bloat"]:
            return False
        if self.get("pgstattuple_usable"):
            return True
        installed = "pgstattuple" in self.get("extensions")
        why = "not allowed to this login in" if installed else "not installed in"
        fix = (
            "GRANT pg_stat_scan_tables to the login."
            if installed
            else f"CREATE EXTENSION pgstattuple in {self.database}."
        )
        self.notes.append(
            Finding(
                check="table_bloat",
                severity=OK,
                subject=str(self.database),
                message=f"exact_bloat is on, but pgstattuple is {why} {self.database}: bloat is estimated",
                recommendation=fix,
            )
        )
        return False

    def fetch_exact_tables(self) -> dict[int, float] | None:
        if not self.get("pgstattuple"):
            return None
        thresholds = self.params["thresholds"]
        sampled = self.get("sampled_rows")
        oids = []
        for row in self.get("sized_tables"):
            if row["heap_bytes"] < thresholds["bloat_min_bytes"]:
                continue
            estimate = table_estimate(
                row, self.get("columns").get(row["relid"]), self.block_size, sampled.get(row["relid"])
            )
            # only the tables the estimate cannot tell or puts near or above the warning level
            if estimate is None or estimate >= thresholds["table_bloat_percent_warning"] - EXACT_MARGIN:
                oids.append(row["relid"])
        return self.exact_bloat(oids, "pgstattuple", lambda found: round(found["waste_percent"], 1))

    def fetch_exact_indexes(self) -> dict[int, float] | None:
        if not self.get("pgstattuple"):
            return None
        minimum = self.params["thresholds"]["bloat_min_bytes"]
        oids = [
            row["indexrelid"]
            for row in self.get("indexes")
            if row["amname"] == "btree" and row["indisvalid"] and row["bytes"] >= minimum
        ]
        return self.exact_bloat(
            oids, "pgstatindex", lambda found: round(max(0.0, 90.0 - found["density"]) / 90.0 * 100, 1)
        )

    def exact_bloat(self, oids: list[int], query: str, percent: Callable[[dict[str, Any]], float]) -> dict[int, float]:
        """The measured bloat (percent) of each relation, by oid.

        On an error it is noted once and measuring stops: the rest fall back to the estimate.
        """
        measured: dict[int, float] = {}
        for oid in oids:
            try:
                measured[oid] = percent(self.session.rows(SQL[query], {"oid": oid})[0])
            except self.error as exc:
                self.notes.append(
                    Finding(
                        check="table_bloat",
                        severity=WARNING,
                        subject=str(self.database),
                        message=f"Cannot measure exact bloat in {self.database}: {str(exc).strip().splitlines()[0]}; "
                        "falling back to the estimate where it was not measured",
                    )
                )
                break
        return measured
