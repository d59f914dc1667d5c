# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The SQL of the PostgreSQL checks and the pure estimates their judges use (no server needed)."""

from __future__ import annotations

import math
import re
from typing import Any

_LITERAL = re.compile(r"'(?:[^']|'')*'")


def mask_literals(query: str | None, limit: int = 200) -> str:
    """A query's text with string literals replaced (they may hold secrets), shortened."""
    text = _LITERAL.sub("'?'", query or "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
