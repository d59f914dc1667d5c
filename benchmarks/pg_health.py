"""Benchmark: the full PostgreSQL health report on a database with 1,000 tables.

Compares jarvis.maintenance.pg_maintenance (every check, one connection per database)
with the runbook's db_health_monitor.sh way (one psql process per query, 12 queries, as
written). Runs against the local stack; prints a table of medians and ratios.

    .venv/bin/python benchmarks/pg_health.py [--tables 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DB = "bench_pg_health"

# db_health_monitor.sh's queries, verbatim (its psql -t -c calls).
RUNBOOK_QUERIES = [
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active';",
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle';",
    "SELECT count(*) FROM pg_stat_activity;",
    "SHOW max_connections;",
    f"SELECT pg_size_pretty(pg_database_size('{DB}'));",
    "SELECT schemaname, tablename, pg_size_pretty(pg_total_relation_size(schemaname||'.'||tablename)) as size "
    "FROM pg_tables WHERE schemaname = 'public' "
    "ORDER BY pg_total_relation_size(schemaname||'.'||tablename) DESC LIMIT 5;",
    "SELECT LEFT(query, 50) as query_start, calls, ROUND(mean_exec_time::numeric, 2) as avg_time_ms "
    "FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 3;",
    "SELECT count(*) FROM pg_locks WHERE NOT granted;",
    "SELECT schemaname, tablename, indexname FROM pg_stat_user_indexes "
    "WHERE idx_tup_read = 0 AND idx_tup_fetch = 0 LIMIT 5;",
    "SELECT schemaname, tablename, seq_scan, seq_tup_read FROM pg_stat_user_tables "
    "WHERE seq_scan > 1000 ORDER BY seq_scan DESC LIMIT 3;",
    "SELECT schemaname, tablename, n_dead_tup FROM pg_stat_user_tables WHERE n_dead_tup > 1000 "
    "ORDER BY n_dead_tup DESC;",
    "SELECT schemaname, tablename, last_vacuum, last_analyze FROM pg_stat_user_tables "
    "WHERE schemaname = 'public' ORDER BY tablename;",
]


def stack_env() -> dict:
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "jarvis-stack"), "env", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def psql(env: dict, database: str, sql: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [
        f"{env['pg_bin_dir']}/psql",
        "-h",
        env["pg_socket_dir"],
        "-p",
        str(env["pg_port"]),
        "-U",
        env["pg_superuser"],
        "-d",
        database,
        "-qAt",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
    ]
    return subprocess.run(command, capture_output=True, text=True, check=check)


def setup(env: dict, tables: int) -> None:
    psql(env, "postgres", f"DROP DATABASE IF EXISTS {DB}")
    psql(env, "postgres", f"CREATE DATABASE {DB}")
    psql(
        env,
        DB,
        f"""DO $$ BEGIN
              FOR i IN 1..{tables} LOOP
                EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text)', i);
                EXECUTE format('CREATE INDEX t%s_v ON t%s (v)', i, i);
                EXECUTE format('INSERT INTO t%s SELECT g, md5(g::text) FROM generate_series(1, 20) g', i);
              END LOOP;
            END $$""",
    )
    psql(env, DB, "ANALYZE")


def runbook_way(env: dict) -> tuple[float, int, int]:
    """Seconds, processes started, queries that failed (silently, in the runbook)."""
    failed = 0
    started = time.perf_counter()
    for query in RUNBOOK_QUERIES:
        failed += psql(env, DB, query, check=False).returncode != 0
    return time.perf_counter() - started, len(RUNBOOK_QUERIES), failed


def module_way(env: dict) -> tuple[float, float, int, int]:
    """Wall seconds of the ansible call, the module's own seconds, round trips, findings."""
    args = json.dumps(
        {
            "login_unix_socket": env["pg_socket_dir"],
            "login_port": env["pg_port"],
            "login_user": env["pg_superuser"],
            "databases": [DB],
        }
    )
    command = [
        str(REPO / ".venv" / "bin" / "ansible"),
        "localhost",
        "-o",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-m",
        "jarvis.maintenance.pg_maintenance",
        "-a",
        args,
    ]
    environment = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="json",
    )
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    wall = time.perf_counter() - started
    # one-line output: "localhost | SUCCESS => {...}"
    module = json.loads(result.stdout.split("=>", 1)[1])
    return wall, module["seconds"], module["round_trips"], len(module["findings"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = stack_env()
    print(f"setting up {DB} with {args.tables} tables (each with a primary key and one index)...", flush=True)
    setup(env, args.tables)
    runbook, module_wall, module_own = [], [], []
    try:
        for _round in range(args.rounds):  # interleaved, so background noise hits both
            seconds, processes, failed = runbook_way(env)
            runbook.append(seconds)
            wall, own, round_trips, findings = module_way(env)
            module_wall.append(wall)
            module_own.append(own)
    finally:
        psql(env, "postgres", f"DROP DATABASE IF EXISTS {DB}")
    base = statistics.median(runbook)
    rows = [
        (
            "runbook: 12 psql processes, as written",
            base,
            f"{processes} connections",
            f"{failed} of {processes} fail silently",
        ),
        (
            "pg_maintenance, inside the module",
            statistics.median(module_own),
            f"{round_trips} round trips",
            f"{findings} findings, every check",
        ),
        (
            "pg_maintenance, whole ansible call",
            statistics.median(module_wall),
            "1 connection per database",
            "incl. ansible start-up",
        ),
    ]
    print(f"\nFull health report, {args.tables} tables, median of {args.rounds} rounds (interleaved)\n")
    print(f"| {'method':<40} | {'median s':>8} | {'vs runbook':>10} | {'work':<26} | notes")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 12}|{'-' * 28}|------")
    for name, median, work, notes in rows:
        print(f"| {name:<40} | {median:8.3f} | {median / base:9.2f}x | {work:<26} | {notes}")
    print(f"\ngoal: the module's own time <= 1 s -> {'met' if statistics.median(module_own) <= 1 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
