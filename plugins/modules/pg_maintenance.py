#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_maintenance
short_description: Check PostgreSQL's health and run targeted VACUUM, ANALYZE and REINDEX
version_added: 1.0.0
description:
  - Runs health checks on a PostgreSQL server and returns each as findings with a severity, plus structured
    data per check and per database. Replaces the runbook's C(db_health_monitor.sh) and its daily, weekly and
    monthly SQL.
  - Cluster-wide checks run once; database checks run in each of O(databases).
  - Actions run only on the tables and indexes whose findings need them, never on a whole database, with
    O(lock_timeout) and O(statement_timeout) set. A table another session keeps locked is skipped with a
    V(lock_timeout) warning finding; the other actions still run.
  - V(vacuum_full) and a non-concurrent V(reindex) block the tables they touch and are refused unless
    O(allow_disruptive=true) (the postgres_maintenance role passes it only inside a maintenance window).
  - V(repack) rewrites the same bloated tables online with pg_repack, which blocks a table only for a moment at the
    start and for the final swap; the client programs' options (O(client), O(bin_dir), O(docker_container)) say
    where C(pg_repack) runs.
  - Every identifier is quoted with psycopg2's C(sql) module; no SQL is built from strings.
extends_documentation_fragment:
  - jarvis.maintenance.postgres
  - jarvis.maintenance.postgres.CLIENT
  - jarvis.maintenance.attributes
  - jarvis.maintenance.thresholds
attributes:
  check_mode:
    details:
      - Runs the checks and returns C(planned) (action, database, target and exact SQL); runs no maintenance SQL.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Actions target what the findings flag; once fixed, a second run plans nothing.
options:
  databases:
    description:
      - Databases to check and maintain. Defaults to every database that accepts connections and is not a template.
      - A name that is not such a database fails the module before anything runs.
    type: list
    elements: str
    default: []
  checks:
    description:
      - Checks to run. Defaults to all of them. Cluster-wide checks run once, the others in each database.
      - V(connections) - Client connections against max_connections. Cluster-wide.
      - V(long_transactions) - Transactions open for long. Cluster-wide.
      - V(idle_in_transaction) - Sessions idle inside a transaction. Cluster-wide.
      - V(prepared_transactions) - Old prepared (two-phase) transactions. Cluster-wide.
      - V(blocking_locks) - Sessions waiting on another session's lock. Cluster-wide.
      - V(wraparound) - Transaction and multixact ID age of each database. Cluster-wide.
      - V(freeze) - Each database's oldest unfrozen ID against autovacuum_freeze_max_age (when autovacuum must freeze). Cluster-wide.
      - V(wal) - WAL kept against max_wal_size, and WAL segments waiting to be archived. Cluster-wide.
      - V(checkpoints) - Checkpoints forced by WAL volume (requested) against those on checkpoint_timeout. Cluster-wide.
      - V(replication_slots) - WAL retained by replication slots; inactive slots. Cluster-wide.
      - V(replication) - The server's role; on a primary each standby's state and lag, on a standby its receiving and replay lag. Cluster-wide.
      - V(database_size) - Size of the database and its largest tables.
      - V(slow_queries) - Statements of pg_stat_statements slow on average.
      - V(dead_tuples) - Share of dead tuples of each table.
      - V(maintenance_age) - Days since much-changed tables were last analyzed.
      - V(seq_scans) - Large tables read mostly by sequential scans.
      - V(unused_indexes) - Indexes never scanned since the statistics were reset.
      - V(invalid_indexes) - Indexes left invalid by a failed concurrent build.
      - V(duplicate_indexes) - Indexes that repeat another of their table, and which one to keep.
      - V(sequences) - Share of each sequence's range used.
      - V(table_bloat) - Wasted space of tables (estimated, or measured with exact_bloat).
      - V(index_bloat) - Wasted space of B-tree indexes (estimated, or measured with exact_bloat).
      - V(never_analyzed) - Tables with live rows never analyzed (no planner statistics).
      - V(vacuum_age) - Days since tables with dead tuples were last vacuumed (by hand or by autovacuum).
      - V(cache_hit) - Share of block reads found in shared_buffers, since the statistics were reset.
      - V(disabled_triggers) - Triggers left disabled (ALTER TABLE ... DISABLE TRIGGER), foreign-key checks included.
    type: list
    elements: str
    choices: [connections, long_transactions, idle_in_transaction, prepared_transactions, blocking_locks, wraparound,
              freeze, wal, checkpoints, replication_slots, replication, database_size, slow_queries, dead_tuples,
              maintenance_age, seq_scans, unused_indexes, invalid_indexes, duplicate_indexes, sequences, table_bloat,
              index_bloat, never_analyzed, vacuum_age, cache_hit, disabled_triggers]
    default: [connections, long_transactions, idle_in_transaction, prepared_transactions, blocking_locks, wraparound,
              freeze, wal, checkpoints, replication_slots, replication, database_size, slow_queries, dead_tuples,
              maintenance_age, seq_scans, unused_indexes, invalid_indexes, duplicate_indexes, sequences, table_bloat,
              index_bloat, never_analyzed, vacuum_age, cache_hit, disabled_triggers]
  actions:
    description:
      - V(analyze) runs ANALYZE on tables whose statistics are stale - at least O(thresholds.analyze_changes_min) rows and
        O(thresholds.analyze_changes_percent) percent of their live rows changed since the last one.
      - V(vacuum) runs VACUUM (ANALYZE) on tables whose dead-tuple finding is a warning or worse. The dead tuples are the
        statistics collector's count, which PostgreSQL 15 can inflate right after a VACUUM; a table vacuumed less than an
        hour ago is recounted with C(pgstattuple_approx) (when C(pgstattuple) is installed) and left alone, with an
        V(ok) finding, when the recount is under O(thresholds.dead_tuples_min).
      - V(vacuum_full) runs VACUUM (FULL, ANALYZE) on tables whose bloat is at or above O(thresholds.table_bloat_percent_warning)
        and at least O(thresholds.bloat_min_bytes). Needs O(allow_disruptive=true).
      - V(repack) rewrites the tables V(vacuum_full) would, online, with pg_repack (Debian package
        C(postgresql-<major>-repack)), table by table, with O(repack_jobs). Without V(reindex) it also rebuilds the
        bloated indexes of the other tables, each on its own (pg_repack's index mode, C(--index)). Before anything
        runs it checks, per database, that the C(pg_repack) program is installed where O(client) says, that the
        C(pg_repack) extension exists in the database at the program's version and that the login is a superuser
        (else one V(warning) finding names the package to install or what to change, and nothing is rewritten), and
        per table that it has a primary key or a unique index on NOT NULL columns, that no earlier interrupted
        pg_repack left its trigger on it, and that its filesystem has room for a second copy of the table and its
        indexes plus the WAL that writes it (the smaller of that size and C(max_wal_size)); a table that fails a
        check is left with a V(warning) finding saying why. pg_repack waits at most O(lock_timeout) (rounded up to
        a whole second, its C(--wait-timeout)) for the locks it needs and never cancels or terminates another session
        (C(--no-kill-backend)) - a table it could not lock is skipped with a V(lock_timeout) finding. It is stopped
        with SIGINT (it removes its work) when it runs longer than O(statement_timeout).
      - With both V(repack) and V(vacuum_full), pg_repack rewrites what it can and VACUUM FULL (which needs
        O(allow_disruptive=true)) only what pg_repack cannot, each planned item saying which and why, and an V(ok)
        finding (check C(repack)) summing it up per database.
      - V(reindex) rebuilds invalid indexes and indexes whose bloat is at or above O(thresholds.index_bloat_percent_warning),
        with REINDEX INDEX CONCURRENTLY, then drops the invalid C(_ccnew)/C(_ccold) leftovers a failed one leaves.
      - None by default, which only reports.
      - Refused on a standby (a server in recovery), which replays its primary's maintenance; see O(on_standby).
    type: list
    elements: str
    choices: [analyze, vacuum, vacuum_full, repack, reindex]
    default: []
  allow_disruptive:
    description: Allow actions that block tables (V(vacuum_full), and V(reindex) with O(reindex_concurrently=false)).
    type: bool
    default: false
  on_standby:
    description:
      - What to do with O(actions) when the server is a standby (in recovery), where nothing can be written.
      - V(fail) refuses the run before anything is done, naming the server; V(check_only) runs the checks, leaves the
        actions out and says so in an V(ok) finding (for an inventory where standbys sit beside the primary in one group).
    type: str
    choices: [fail, check_only]
    default: fail
  reindex_concurrently:
    description: Rebuild indexes with REINDEX INDEX CONCURRENTLY (no write lock). V(false) needs O(allow_disruptive=true).
    type: bool
    default: true
  exact_bloat:
    description:
      - Measure with C(pgstattuple) / C(pgstatindex) the tables and indexes above O(thresholds.bloat_min_bytes) whose
        estimate is within 10 points of the warning level or above it (or cannot be made), instead of trusting the
        estimate. A clean table is not read. Needs the C(pgstattuple) extension in each database; without it the
        estimate is used and an V(ok) finding says so.
      - Each bloat finding says which figure it gives - estimated from statistics, estimated from a sample of rows,
        or measured.
    type: bool
    default: false
  lock_timeout:
    description: PostgreSQL C(lock_timeout) for the checks and for each action, for example V(5s) or V(500ms).
    type: str
    default: 5s
  statement_timeout:
    description: PostgreSQL C(statement_timeout) for each action. V(0) means no limit.
    type: str
    default: 30min
  check_timeout:
    description: PostgreSQL C(statement_timeout) for each check query.
    type: str
    default: 60s
  vacuum_cost_delay:
    description:
      - Milliseconds the V(vacuum) and V(analyze) actions pause each time they have done O(vacuum_cost_limit) worth of
        work (PostgreSQL's cost-based vacuum delay, C(vacuum_cost_delay)), 0 to 100. A manual VACUUM is unthrottled by
        default and competes with the application for CPU and disk; V(2) is what autovacuum uses. V(0) runs at full
        speed (inside a window, say). V(vacuum_full) and V(reindex) are not throttled by PostgreSQL.
    type: float
    default: 2
  vacuum_cost_limit:
    description: The work between two pauses (PostgreSQL's C(vacuum_cost_limit)), 1 to 10000.
    type: int
    default: 200
  repack_jobs:
    description:
      - Connections pg_repack builds a table's indexes with (its C(--jobs)), 1 to 64, for V(repack). Each one is a
        backend working beside the application's; 1 keeps the rewrite gentle on a small server.
    type: int
    default: 1
  thresholds:
    suboptions:
      connections_percent_warning: {type: float, default: 70, description: "Client connections as a percentage of C(max_connections)."}
      connections_percent_critical: {type: float, default: 90, description: "Critical level; see O(thresholds.connections_percent_warning)."}
      long_transaction_seconds_warning: {type: float, default: 300, description: "Age of an open transaction, in seconds."}
      long_transaction_seconds_critical: {type: float, default: 3600, description: "Critical level; see
          O(thresholds.long_transaction_seconds_warning)."}
      idle_in_transaction_seconds_warning: {type: float, default: 60, description: "Time a session has been idle inside a transaction, in seconds."}
      idle_in_transaction_seconds_critical: {type: float, default: 600, description: "Critical level; see
          O(thresholds.idle_in_transaction_seconds_warning)."}
      prepared_transaction_seconds_warning: {type: float, default: 300, description: "Age of a prepared (two-phase) transaction, in seconds."}
      prepared_transaction_seconds_critical: {type: float, default: 3600, description: "Critical level; see
          O(thresholds.prepared_transaction_seconds_warning)."}
      lock_wait_seconds_warning: {type: float, default: 10, description: "Time a session has waited for another session's lock, in seconds."}
      lock_wait_seconds_critical: {type: float, default: 60, description: "Critical level; see O(thresholds.lock_wait_seconds_warning)."}
      slow_query_mean_ms_warning: {type: float, default: 500, description: "Mean execution time of a statement in C(pg_stat_statements), in
          milliseconds."}
      slow_query_mean_ms_critical: {type: float, default: 2000, description: "Critical level; see O(thresholds.slow_query_mean_ms_warning)."}
      slow_query_min_calls: {type: float, default: 5, description: "Statements called fewer times are not judged."}
      database_size_gb_warning: {type: float, default: 100, description: "Size of a database, in GiB."}
      database_size_gb_critical: {type: float, default: 500, description: "Critical level; see O(thresholds.database_size_gb_warning)."}
      dead_tuples_min: {type: float, default: 1000, description: "Tables with fewer dead tuples are not judged (the runbook's 1000)."}
      dead_tuples_percent_warning: {type: float, default: 10, description: "Dead tuples as a percentage of a table's tuples (for tables with at least
          O(thresholds.dead_tuples_min) dead tuples)."}
      dead_tuples_percent_critical: {type: float, default: 30, description: "Critical level; see O(thresholds.dead_tuples_percent_warning)."}
      analyze_changes_min: {type: float, default: 1000, description: "Rows changed since the last ANALYZE at which a table is judged, and analyzed by
          the C(analyze) action (with O(thresholds.analyze_changes_percent))."}
      analyze_changes_percent: {type: float, default: 10, description: "Changed rows since the last ANALYZE, as a percentage of the table's live rows,
          at which its statistics are stale (judged, and analyzed by the C(analyze) action). Below it they are still representative, and
          autovacuum analyzes the table once its own threshold is passed (50 rows + 10 percent by default). 0 judges by
          O(thresholds.analyze_changes_min) alone."}
      analyze_age_days_warning: {type: float, default: 7, description: "Days since the last ANALYZE (manual or auto) of a table whose statistics are
          stale (O(thresholds.analyze_changes_min), O(thresholds.analyze_changes_percent))."}
      analyze_age_days_critical: {type: float, default: 30, description: "Critical level; see O(thresholds.analyze_age_days_warning)."}
      seq_scan_min: {type: float, default: 1000, description: "Sequential scans a table must have had to be judged."}
      seq_scan_min_rows: {type: float, default: 10000, description: "Rows a table must have to be judged for sequential scans."}
      seq_scan_percent_warning: {type: float, default: 90, description: "Share of scans that are sequential, in percent, that is a warning."}
      unused_index_min_bytes: {type: float, default: 1048576, description: "Smaller never-scanned indexes are not reported."}
      unused_index_stats_days: {type: float, default: 7, description: "Statistics younger than this (since the last reset or restart) are too young
          to call an index unused."}
      wraparound_age_warning: {type: float, default: 500000000, description: "Transaction ID or multixact ID age of a database (wraparound happens
          near 2 billion)."}
      wraparound_age_critical: {type: float, default: 1500000000, description: "Critical level; see O(thresholds.wraparound_age_warning)."}
      sequence_percent_warning: {type: float, default: 75, description: "Percentage of a sequence's range used, bounded by the type of the column it
          feeds."}
      sequence_percent_critical: {type: float, default: 90, description: "Critical level; see O(thresholds.sequence_percent_warning)."}
      replication_slot_retained_bytes_warning: {type: float, default: 1073741824, description: "WAL retained by a replication slot, in bytes (an
          inactive slot is at least a warning)."}
      replication_slot_retained_bytes_critical: {type: float, default: 10737418240, description: "Critical level; see
          O(thresholds.replication_slot_retained_bytes_warning)."}
      table_bloat_percent_warning: {type: float, default: 30, description: "Estimated (or with O(exact_bloat), measured) wasted space of a table, in
          percent."}
      table_bloat_percent_critical: {type: float, default: 50, description: "Critical level; see O(thresholds.table_bloat_percent_warning)."}
      index_bloat_percent_warning: {type: float, default: 30, description: "Estimated (or measured) wasted space of a B-tree index, in percent."}
      index_bloat_percent_critical: {type: float, default: 50, description: "Critical level; see O(thresholds.index_bloat_percent_warning)."}
      bloat_min_bytes: {type: float, default: 10485760, description: "Tables and indexes smaller than this are not judged for bloat (nor rewritten)."}
      never_analyzed_rows_warning: {type: float, default: 1000, description: "Live rows of a table that was never analyzed (neither by hand nor by
          autovacuum)."}
      never_analyzed_rows_critical: {type: float, default: 1000000, description: "Critical level; see O(thresholds.never_analyzed_rows_warning)."}
      replication_lag_bytes_warning: {type: float, default: 67108864, description: "WAL a standby has still to replay, in bytes (on a primary, per standby;
          on a standby, received but not replayed)."}
      replication_lag_bytes_critical: {type: float, default: 1073741824, description: "Critical level; see O(thresholds.replication_lag_bytes_warning)."}
      replication_lag_seconds_warning: {type: float, default: 60, description: "How far behind a standby replays, in seconds (pg_stat_replication's replay_lag;
          on a standby, since the last replayed transaction while WAL waits)."}
      replication_lag_seconds_critical: {type: float, default: 600, description: "Critical level; see O(thresholds.replication_lag_seconds_warning)."}
      freeze_progress_percent_warning: {type: float, default: 90, description: "Oldest unfrozen transaction or multixact ID age of a database, in percent of
          autovacuum_freeze_max_age
          (autovacuum_multixact_freeze_max_age); at 100 autovacuum is forced to freeze."}
      freeze_progress_percent_critical: {type: float, default: 95, description: "Critical level; see O(thresholds.freeze_progress_percent_warning)."}
      wal_size_percent_warning: {type: float, default: 150, description: "WAL kept in pg_wal, in percent of max_wal_size (needs pg_monitor; without it an ok
          finding says so)."}
      wal_size_percent_critical: {type: float, default: 300, description: "Critical level; see O(thresholds.wal_size_percent_warning)."}
      archive_ready_files_warning: {type: float, default: 10, description: "WAL segments waiting for archive_command (.ready files in pg_wal/archive_status)."}
      archive_ready_files_critical: {type: float, default: 100, description: "Critical level; see O(thresholds.archive_ready_files_warning)."}
      checkpoint_requested_percent_warning: {type: float, default: 30, description: "Share of checkpoints forced by WAL volume (checkpoints_req) rather than
          checkpoint_timeout, in percent."}
      checkpoint_requested_percent_critical: {type: float, default: 60, description: "Critical level; see O(thresholds.checkpoint_requested_percent_warning)."}
      checkpoints_min: {type: float, default: 10, description: "Checkpoints needed since the statistics reset before the checkpoints check judges."}
      vacuum_age_days_warning: {type: float, default: 7, description: "Days since a table with at least O(thresholds.dead_tuples_min) dead tuples was last
          vacuumed, by hand or by
          autovacuum; never vacuumed is a warning."}
      vacuum_age_days_critical: {type: float, default: 30, description: "Critical level; see O(thresholds.vacuum_age_days_warning)."}
      cache_hit_percent_warning: {type: float, default: 95, description: "Share of a database's block reads found in shared_buffers, in percent (lower is
          worse)."}
      cache_hit_percent_critical: {type: float, default: 90, description: "Critical level; see O(thresholds.cache_hit_percent_warning)."}
      cache_hit_min_blocks: {type: float, default: 100000, description: "Block reads needed since the statistics reset before the cache_hit check judges."}
notes:
  - Slow queries need the C(pg_stat_statements) extension (preloaded and created in the database); without it the
    check returns an V(ok) finding that says why, never a failure.
  - Sizes are the files' real sizes (C(pg_relation_size)), except for a table or index someone holds or waits for in
    ACCESS EXCLUSIVE mode - reading it would queue behind that lock - which gets the catalog's figure (as of its last
    VACUUM or ANALYZE); an V(ok) finding says so when a lock still got in the way. Only the checks that use sizes
    read them (V(database_size), V(table_bloat) and the index checks); the others - the daily ones among them - read
    the statistics collector's counters of each table alone, opening no relation and reading no lock.
  - 'The table bloat estimate: a row is its 23-byte header, a NULL bitmap when it has a NULL, and each column that is
    not NULL (pg_stats C(null_frac)) at its average width (C(avg_width)), aligned as its type requires (C(attalign)); a
    table holds as many rows a page as fit at its fillfactor. Rows are counted as of now: the smaller of the catalog''s
    C(reltuples) scaled to the pages the heap has now and the statistics collector''s C(n_live_tup). Known limits -
    NULLs are taken as independent between columns and rows as of average size, so very skewed widths or correlated
    NULLs are off by a few points; a table never analyzed has no statistics, and its row size is read from a sample
    of about 64 pages (C(TABLESAMPLE SYSTEM)). Measured on seeded shapes, the estimate is within 10 points of
    C(pgstattuple).'
  - Duplicate indexes are indexes of one table with the same method, key and INCLUDE columns in order, expressions,
    operator classes, collations, orderings and predicate. The finding says which to keep (the primary key, else one
    a constraint uses, else a unique one) and how to drop the others.
  - Query texts in the results have their string literals replaced by C('?').
  - 'pg_repack needs room to copy: the free space is read with C(statvfs) on the data directory (or the table''s
    tablespace) when it is this host''s (its C(postmaster.pid) names the server: directory, port, start time), and
    with C(df) inside the container with O(client=docker). A server whose files cannot be
    seen from where the module runs gets no repack, and a V(warning) finding saying so.'
seealso:
  - module: community.postgresql.postgresql_info
"""

EXAMPLES = r"""
- name: Full health report of every database, changing nothing
  jarvis.maintenance.pg_maintenance:
    login_host: 127.0.0.1
    login_user: postgres
    login_password: "{{ vault_pg_password }}"
  register: pg_health

- name: Daily - ANALYZE what changed, VACUUM what has many dead tuples
  jarvis.maintenance.pg_maintenance:
    databases: [jarvis]
    checks: [dead_tuples, maintenance_age, connections]
    actions: [analyze, vacuum]

- name: Monthly, outside any window - rewrite bloated tables online with pg_repack, rebuild bloated indexes
  jarvis.maintenance.pg_maintenance:
    checks: [table_bloat, index_bloat, invalid_indexes]
    actions: [repack, reindex]
    bin_dir: /usr/lib/postgresql/15/bin
    lock_timeout: 5s
    statement_timeout: 2h

- name: Monthly, inside the maintenance window - rewrite bloated tables, rebuild bloated indexes
  jarvis.maintenance.pg_maintenance:
    checks: [table_bloat, index_bloat, invalid_indexes]
    actions: [vacuum_full, reindex]
    allow_disruptive: true
    lock_timeout: 10s
    statement_timeout: 2h
"""

RETURN = r"""
server_version:
  description: The server's version.
  returned: success
  type: str
  sample: "15.20 (Debian 15.20-0+deb12u1)"
server_role:
  description:
    - V(primary), or V(standby) for a server in recovery. On a standby only the checks run - any action is refused
      before anything is done, since the standby replays its primary's maintenance.
  returned: success
  type: str
  sample: primary
databases:
  description: The databases checked.
  returned: success
  type: list
  elements: str
  sample: [jarvis, postgres]
findings:
  description:
    - Findings with C(check), C(severity) (V(ok), V(warning), V(critical)), C(subject), C(value), C(threshold),
      C(message) and C(recommendation). A check with nothing wrong gives one V(ok) finding; a check that flags
      objects gives one finding per object.
    - Actions skipped by O(lock_timeout) or O(statement_timeout) add V(lock_timeout) or V(statement_timeout) findings.
  returned: success
  type: list
  elements: dict
  sample:
    - check: dead_tuples
      severity: critical
      subject: jarvis.public.sessions
      value: 45.2
      threshold: 30
      message: Dead tuples in jarvis.public.sessions (45200 dead, 54800 live) is 45.2%, at or above the critical threshold 30%
      recommendation: VACUUM (ANALYZE) public.sessions; check autovacuum keeps up (its scale factor, long transactions).
severity:
  description: The worst severity among the findings.
  returned: success
  type: str
  sample: warning
report:
  description: Structured data of each check, under C(cluster) and C(databases.<name>).
  returned: success
  type: dict
  sample: {cluster: {connections: {total: 12, max_connections: 100, percent: 12.0}}, databases: {jarvis: {}}}
planned:
  description:
    - What the actions would do (in check mode) or did, each with C(action), C(database), C(target), C(sql) and
      C(reason).
    - For V(repack), C(sql) is the pg_repack command line (the password is never on it), and C(kind) (V(table) or
      V(index)), C(relation) (the quoted name pg_repack is given) and C(space_needed) (bytes that must be free) are
      added.
  returned: success
  type: list
  elements: dict
  sample:
    - action: vacuum
      database: jarvis
      target: public.sessions
      sql: VACUUM (ANALYZE) "public"."sessions"
      reason: 45200 dead tuples (45.2%)
    - action: repack
      database: jarvis
      target: public.messages
      sql: >-
        /usr/lib/postgresql/15/bin/pg_repack --wait-timeout=5 --no-kill-backend --elevel=INFO
        '--table="public"."messages"' --no-password "--dbname=dbname='jarvis'"
      reason: bloat 41.2% (pgstattuple); online with pg_repack; needs 2.3 GiB free on /var/lib/postgresql/15/main, 40.1 GiB are
      kind: table
      relation: '"public"."messages"'
      space_needed: 2469606195
actions_taken:
  description:
    - The planned items that ran, with C(status) (V(done), V(skipped), V(failed)), C(error), C(started) (seconds
      since the epoch) and C(seconds).
  returned: success
  type: list
  elements: dict
  sample: []
round_trips:
  description: Queries sent to the server.
  returned: success
  type: int
  sample: 42
seconds:
  description: Wall time of the module's work.
  returned: success
  type: float
  sample: 0.31
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._maintenance import (
    ARGUMENT_SPEC,
    PgMaintenance,
)


def main() -> None:
    run_module(ARGUMENT_SPEC, PgMaintenance)


if __name__ == "__main__":
    main()
