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
# The statistics collector's columns of a table (s: pg_stat_user_tables), in both tables queries.
TABLE_STATISTICS = """s.relid, s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,
               s.n_tup_ins, s.n_tup_del, s.seq_scan, coalesce(s.idx_scan, 0) AS idx_scan,
               s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
               EXTRACT(EPOCH FROM now() - greatest(s.last_analyze, s.last_autoanalyze))::float / 86400
                   AS analyze_age_days,
               EXTRACT(EPOCH FROM now() - greatest(s.last_vacuum, s.last_autovacuum))::float / 86400
                   AS vacuum_age_days"""
SQL = {
    "databases": """
        SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname""",
    "activity": """
        SELECT pid, datname, usename, application_name, state, wait_event_type,
               EXTRACT(EPOCH FROM now() - xact_start)::float AS xact_seconds,
               EXTRACT(EPOCH FROM now() - state_change)::float AS state_seconds,
               EXTRACT(EPOCH FROM now() - query_start)::float AS query_seconds,
               query,
               -- pg_blocking_pids takes every lock-manager partition: asked only of a session waiting on a lock
               CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) ELSE '{}' END AS blocked_by
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
    # the server's role, and on a standby what it receives and replays (NULL on a primary)
    "server": """
        SELECT pg_is_in_recovery() AS in_recovery,
               (SELECT status FROM pg_stat_wal_receiver) AS receiver_status,
               (SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver) AS upstream,
               CASE WHEN pg_is_in_recovery()
                    THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint END
                   AS replay_lag_bytes,
               CASE WHEN NOT pg_is_in_recovery() THEN NULL
                    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END::float AS replay_lag_seconds,
               CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END AS replay_pause_state""",
    # on a primary, each standby (or pg_basebackup) streaming from it; the LSNs need pg_monitor
    "standbys": """
        SELECT application_name, client_addr::text AS client_addr, state, sync_state,
               pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn)::bigint AS write_lag_bytes,
               pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)::bigint AS flush_lag_bytes,
               pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_lag_bytes,
               EXTRACT(EPOCH FROM write_lag)::float AS write_lag_seconds,
               EXTRACT(EPOCH FROM flush_lag)::float AS flush_lag_seconds,
               EXTRACT(EPOCH FROM replay_lag)::float AS replay_lag_seconds
          FROM pg_stat_replication WHERE NOT pg_is_in_recovery() ORDER BY application_name""",
    "freeze_limits": """
        SELECT current_setting('autovacuum_freeze_max_age')::bigint AS xid,
               current_setting('autovacuum_multixact_freeze_max_age')::bigint AS mxid""",
    # pg_ls_waldir and pg_ls_archive_statusdir need pg_monitor (or superuser)
    "wal": """
        SELECT w.files, w.bytes,
               pg_size_bytes(current_setting('max_wal_size'))::bigint AS max_wal_bytes,
               current_setting('archive_mode') AS archive_mode,
               (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') AS archive_ready,
               a.failed_count AS archive_failed_count, a.last_failed_wal, a.last_failed_time::text AS last_failed_time,
               a.last_archived_time::text AS last_archived_time
          FROM pg_stat_archiver AS a,
               -- one listing of the directory for both
               (SELECT count(*) FILTER (WHERE name ~ '^[0-9A-F]{24}$') AS files, coalesce(sum(size), 0)::bigint AS bytes
                  FROM pg_ls_waldir()) AS w""",
    "checkpoints": """
        SELECT checkpoints_timed AS timed, checkpoints_req AS requested, stats_reset::text AS since,
               current_setting('max_wal_size') AS max_wal_size,
               current_setting('checkpoint_timeout') AS checkpoint_timeout
          FROM pg_stat_bgwriter""",
    "cache": """
        SELECT blks_hit AS hits, blks_read AS reads FROM pg_stat_database WHERE datname = current_database()""",
    "disabled_triggers": """
        SELECT n.nspname AS schemaname, c.relname, t.tgname, t.tgisinternal
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE t.tgenabled = 'D' ORDER BY 1, 2, 3""",
    "database_size": "SELECT pg_database_size(current_database())::bigint AS bytes",
    "stats_age": """
        SELECT EXTRACT(EPOCH FROM now() - coalesce(stats_reset, pg_postmaster_start_time()))::float / 86400
               AS days
          FROM pg_stat_database WHERE datname = current_database()""",
    # Each table's activity counters and last maintenance: the statistics collector's alone, so
    # no relation is opened, no file looked at and the lock table not read (the daily checks).
    "tables": f"""
        SELECT {TABLE_STATISTICS}
          FROM pg_stat_user_tables s""",
    # The same with each table's sizes and catalog figures (the bloat and size checks).
    # Sizes are the files' real sizes, except for a relation someone holds or waits for in ACCESS
    # EXCLUSIVE mode (a VACUUM FULL, an ALTER TABLE): reading its size would queue behind that lock,
    # so it gets the catalog's figure (as of its last VACUUM/ANALYZE) and size_source says so.
    # %(catalog_sizes)s forces the catalog for every relation (the fallback when a lock still got in the way).
    "sized_tables": f"""
        WITH locked AS MATERIALIZED (
            SELECT relation FROM pg_locks
             WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock'
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
        SELECT {TABLE_STATISTICS},
               z.source AS size_source, has_table_privilege(s.relid, 'SELECT') AS readable,
               CASE z.source WHEN 'file' THEN pg_relation_size(s.relid)
                    ELSE c.relpages::bigint * current_setting('block_size')::int END AS heap_bytes,
               -- the main forks of the heap, its TOAST table and its indexes (pg_total_relation_size also
               -- opens every free-space and visibility map: three times slower on 1,000 tables)
               CASE z.source
                    WHEN 'file' THEN pg_relation_size(s.relid)
                         + CASE WHEN c.reltoastrelid <> 0 THEN pg_relation_size(c.reltoastrelid) ELSE 0 END
                         + coalesce((SELECT sum(pg_relation_size(ix.indexrelid)) FROM pg_index ix
                                      WHERE ix.indrelid = s.relid), 0)::bigint
                    ELSE (c.relpages + coalesce(tc.relpages, 0)
                          + coalesce((SELECT sum(ic.relpages) FROM pg_index ix
                                        JOIN pg_class ic ON ic.oid = ix.indexrelid
                                       WHERE ix.indrelid = s.relid), 0))::bigint * current_setting('block_size')::int
               END AS total_bytes,
               c.reltuples::float AS reltuples, c.relpages::bigint AS relpages,
               coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(c.reloptions) AS o
                          WHERE o LIKE 'fillfactor=%%'), 100) AS fillfactor
          FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
          LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
          CROSS JOIN LATERAL (
              SELECT CASE WHEN %(catalog_sizes)s OR s.relid IN (SELECT relation FROM locked)
                               OR c.reltoastrelid IN (SELECT relation FROM locked)
                          THEN 'catalog' ELSE 'file' END AS source) AS z""",
    # per table, its attributes in order: [attlen, attalign, null_frac, avg_width]; no statistics: nulls
    "columns": """
        SELECT a.attrelid AS relid,
               json_agg(json_build_array(a.attlen, a.attalign,
                        CASE WHEN a.attisdropped THEN 1 ELSE st.null_frac END,
                        CASE WHEN a.attisdropped THEN 0 ELSE st.avg_width END) ORDER BY a.attnum) AS columns
          FROM pg_class r
          JOIN pg_namespace n ON n.oid = r.relnamespace
          JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
          LEFT JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = r.relname
                               AND st.attname = a.attname AND NOT st.inherited
         WHERE r.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
         GROUP BY a.attrelid""",
    "indexes": """
        WITH locked AS MATERIALIZED (
            SELECT relation FROM pg_locks
             WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock'
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())),
        -- the average width of each index's key columns (pg_stats), joined once rather than per index
        keys AS MATERIALIZED (
            SELECT ik.indexrelid, sum(st.avg_width)::float AS key_width
              FROM (SELECT indexrelid, indrelid, unnest(indkey::int2[]) AS attnum FROM pg_index) AS ik
              JOIN pg_attribute a ON a.attrelid = ik.indrelid AND a.attnum = ik.attnum
              JOIN pg_class r ON r.oid = ik.indrelid
              JOIN pg_namespace rn ON rn.oid = r.relnamespace
              JOIN pg_stats st ON st.schemaname = rn.nspname AND st.tablename = r.relname
                              AND st.attname = a.attname AND NOT st.inherited
             WHERE rn.nspname NOT IN ('pg_catalog', 'information_schema')
             GROUP BY ik.indexrelid)
        SELECT i.indexrelid, n.nspname AS schemaname, t.relname AS tablename, c.relname AS indexname,
               am.amname, i.indisvalid, i.indisunique, i.indisprimary, i.indisready,
               coalesce(s.idx_scan, 0) AS idx_scan,
               CASE WHEN %(catalog_sizes)s OR i.indexrelid IN (SELECT relation FROM locked)
                         OR i.indrelid IN (SELECT relation FROM locked)
                    THEN c.relpages::bigint * current_setting('block_size')::int
                    ELSE pg_relation_size(i.indexrelid) END AS bytes,
               c.reltuples::float AS reltuples, c.relpages::bigint AS relpages,
               i.indrelid::bigint AS table_oid, i.indkey::text AS indkey, i.indclass::text AS indclass,
               i.indcollation::text AS indcollation, i.indoption::text AS indoption, i.indnkeyatts,
               i.indexrelid IN (SELECT conindid FROM pg_constraint) AS backs_constraint,
               coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
               coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
               k.key_width,
               NOT (0 = ANY (i.indkey::int2[])) AND i.indexprs IS NULL AS plain_columns
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_class t ON t.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_am am ON am.oid = c.relam
          LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
          LEFT JOIN keys k ON k.indexrelid = i.indexrelid
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'""",
    "sequences": """
        SELECT s.schemaname, s.sequencename, s.last_value, s.min_value, s.max_value, s.increment_by,
               s.data_type::text AS data_type,
               (SELECT format_type(a.atttypid, NULL) FROM pg_depend d
                  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass
                   AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0 LIMIT 1) AS column_type
          FROM pg_sequences s""",
    "has_extension": "SELECT extname FROM pg_extension WHERE extname IN ('pg_stat_statements', 'pgstattuple')",
    # whether this login may run the pgstattuple functions (superuser or pg_stat_scan_tables): asking
    # first keeps permission errors out of the server's log
    "pgstattuple_usable": """
        SELECT coalesce(bool_and(has_function_privilege(p.oid, 'EXECUTE')), false) AS usable
          FROM pg_proc p
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pgstattuple'
         WHERE p.proname IN ('pgstattuple', 'pgstatindex', 'pgstattuple_approx')""",
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
    "dead_now": "SELECT dead_tuple_count AS dead FROM pgstattuple_approx(%(oid)s::regclass)",
    # the average stored size of the rows of a sample of about 64 pages ({table} is composed in)
    "row_sample": """
        SELECT avg(pg_column_size(t.*))::float AS bytes, count(*) AS rows
          FROM (SELECT * FROM {table} TABLESAMPLE SYSTEM (%(percent)s) LIMIT 5000) AS t""",
}

TYPE_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


# -- pure estimates ----------------------------------------------------------------------
def _align(value: float, to: int = 8) -> float:
    return math.ceil(value / to) * to


ALIGNMENT = {"c": 1, "s": 2, "i": 4, "d": 8}  # pg_attribute.attalign
HEAP_PAGE_HEADER, LINE_POINTER, TUPLE_HEADER = 24, 4, 23


def heap_tuple_bytes(columns: list[list[Any]] | None) -> float | None:
    """The average stored size of a row of a table (MAXALIGNed), from its columns' statistics.

    columns: [attlen, attalign, null_frac, avg_width] per attribute in attnum order, as the tables
    query gives them (a dropped attribute is always null). A row is a 23-byte header, a NULL bitmap
    of one bit per attribute when the row has a NULL, then each non-NULL value aligned to its type
    (a short varlena, up to 126 bytes, is not aligned) and the whole aligned to 8 bytes. A column
    is present in a share (1 - null_frac) of the rows; NULLs are taken as independent between
    columns. None when a live column has no statistics (the table was never analyzed).
    """
    if not columns:
        return None
    offset, all_present = 0.0, 1.0
    for attlen, attalign, null_frac, width in columns:
        if null_frac is None or width is None:
            return None
        present = 1.0 - null_frac
        all_present *= present
        alignment = 1 if attlen == -1 and width <= 126 else ALIGNMENT.get(attalign, 8)
        offset = present * (_align(offset, alignment) + width) + null_frac * offset
    with_nulls = _align(TUPLE_HEADER + math.ceil(len(columns) / 8))
    header = all_present * _align(TUPLE_HEADER) + (1.0 - all_present) * with_nulls
    return _align(header + offset)


def table_bloat(tuples: float, pages: int, tuple_bytes: float | None, block_size: int, fillfactor: int) -> float | None:
    """Estimated % of a table's pages that hold no live row, or None when it cannot be told.

    tuples rows of tuple_bytes each (heap_tuple_bytes) need as many pages as hold them at the
    table's fillfactor, each row with its 4-byte line pointer and at most MaxHeapTuplesPerPage
    rows a page; the rest of pages is waste (free space and dead rows). An estimate: NULLs are
    taken as independent, rows as of average size.
    """
    if pages <= 0 or tuple_bytes is None or tuples < 0:
        return None
    usable = block_size - HEAP_PAGE_HEADER - block_size * (100 - fillfactor) / 100.0
    most = (block_size - HEAP_PAGE_HEADER) // (_align(TUPLE_HEADER) + LINE_POINTER)
    per_page = max(1, min(most, int(usable // (tuple_bytes + LINE_POINTER))))
    expected_pages = math.ceil(tuples / per_page)
    return round(max(0.0, 100.0 * (pages - expected_pages) / pages), 1)


def live_tuples(row: dict[str, Any], pages: int) -> float:
    """The rows of a table now, of its heap's pages now: the smaller of two counts, each wrong one way.

    The catalog's reltuples (as of the last VACUUM/ANALYZE) scaled to the pages the heap has now,
    as the planner does, overcounts when rows were deleted or updated since; the statistics
    collector's n_live_tup follows every change but PostgreSQL 15 overcounts it when a VACUUM or
    ANALYZE lands before a backend's pending counts (bulk changes and a VACUUM within a second).
    After a reset of the statistics (every counter 0) only the catalog is used.
    """
    scaled = (
        float(row["reltuples"]) / row["relpages"] * pages if row["relpages"] > 0 and row["reltuples"] >= 0 else None
    )
    if not (row["n_live_tup"] or row["n_dead_tup"] or row["n_tup_ins"] or row["n_tup_del"]):
        return scaled if scaled is not None else 0.0
    live = float(row["n_live_tup"] or 0)
    return live if scaled is None else min(live, scaled)


def table_estimate(
    row: dict[str, Any], columns: list[list[Any]] | None, block_size: int, sampled_bytes: float | None = None
) -> float | None:
    """The estimated bloat % of a row of the tables query: its columns' statistics, else a sampled row size.

    Pages are the heap file's now and rows are counted as of now (live_tuples), so a table
    emptied or filled since its last ANALYZE is judged as it is.
    """
    tuple_bytes = heap_tuple_bytes(columns)
    if tuple_bytes is None and sampled_bytes is not None:
        tuple_bytes = _align(sampled_bytes)
    pages = row["heap_bytes"] // block_size
    return table_bloat(live_tuples(row, pages), pages, tuple_bytes, block_size, row["fillfactor"])


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
