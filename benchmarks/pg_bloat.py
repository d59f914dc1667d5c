"""Benchmark: how much bloat checking costs on a 1 GB database, and how right each way is.

The database: pgbench at scale 70 (about 1 GB; pgbench_accounts 7,000,000 rows, 40 % of them
updated once, so it carries some 30 % of dead space) and a table of JSON documents and text shaped
like production's (500,000 rows that compress 2-4x, clean). Methods, interleaved for --rounds:

- runbook: its size-only "bloat" query (pg_total_relation_size > 100 MB -> "Consider VACUUM FULL"),
  which says nothing of bloat;
- estimate: pg_maintenance checks table_bloat and index_bloat from statistics (exact_bloat false);
- exact, flagged: exact_bloat true: pgstattuple reads only the tables the estimate puts within 10
  points of the warning level or above (the weekly default);
- exact, every table: pgstattuple / pgstatindex on every table and index above bloat_min_bytes, what
  exact_bloat did before it measured only the flagged ones (the same calls, made here directly).

Each row gives the median seconds, the ratio to the estimate, and pgbench_accounts' and the
documents' bloat as the method reports it, beside pgstattuple's figure. The modules run as scripts
(the real module code, without Ansible's start-up). Needs the local stack (make stack-up).

    .venv/bin/python benchmarks/pg_bloat.py [--scale 70] [--rounds 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
MODULE = REPO / ".build" / "collections" / "ansible_collections" / "jarvis" / "maintenance" / "plugins" / "modules"
DB = "jarvis_bench_bloat"
RUNBOOK = """
SELECT schemaname, tablename, pg_size_pretty(pg_total_relation_size(schemaname||'.'||tablename)) as size,
       CASE WHEN pg_total_relation_size(schemaname||'.'||tablename) > 100*1024*1024
            THEN 'Consider VACUUM FULL' ELSE 'OK' END as recommendation
  FROM pg_tables WHERE schemaname = 'public';"""
EVERY = """
SELECT c.oid::regclass::text AS name, c.relkind,
       CASE c.relkind
            WHEN 'r' THEN (SELECT (t).free_percent + (t).dead_tuple_percent FROM (SELECT pgstattuple(c.oid) AS t) x)
            ELSE (SELECT 90 - avg_leaf_density FROM pgstatindex(c.oid)) END AS measured
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_am am ON am.oid = c.relam
 WHERE n.nspname = 'public' AND (c.relkind = 'r' OR (c.relkind = 'i' AND am.amname = 'btree'))
   AND pg_relation_size(c.oid) >= 10485760"""


def stack() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "jarvis-stack"), "env", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def psql(env: dict[str, Any], database: str, sql: str) -> str:
    argv = [f"{env['pg_bin_dir']}/psql", "-h", env["pg_socket_dir"], "-p", str(env["pg_port"])]
    argv += ["-U", env["pg_superuser"], "-d", database, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def ensure_database(env: dict[str, Any], scale: int) -> None:
    marker = f"benchmarks/pg_bloat.py: pgbench -i -s {scale}"
    found = psql(
        env, "postgres", f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{DB}'"
    )
    if found == marker:
        return
    psql(env, "postgres", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(env, "postgres", f"CREATE DATABASE {DB}")
    libpq = dict(os.environ, PGHOST=env["pg_socket_dir"], PGPORT=str(env["pg_port"]), PGUSER=env["pg_superuser"])
    print(f"pgbench -i -s {scale} {DB} and 500,000 documents ...", file=sys.stderr, flush=True)
    pgbench = Path(env["pg_bin_dir"]) / "pgbench"
    subprocess.run([str(pgbench), "-i", "-s", str(scale), "-q", DB], env=libpq, check=True, stdout=subprocess.DEVNULL)
    for sql in (
        "CREATE EXTENSION IF NOT EXISTS pgstattuple",
        f"ALTER DATABASE {DB} SET track_functions = 'all'",
        "ALTER TABLE pgbench_accounts SET (autovacuum_enabled = false)",
        "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 10 < 4",
        "CREATE TABLE documents (id bigserial PRIMARY KEY, created timestamptz, doc jsonb, note text)",
        "INSERT INTO documents (created, doc, note) SELECT now() - g * interval '1 second', jsonb_build_object("
        "'user', g % 5000, 'tags', jsonb_build_array('alpha', 'beta', g % 7), 'name', md5(g::text), "
        "'text', repeat(md5((g % 100)::text), 3)), CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || (g % 977) END "
        "FROM generate_series(1, 500000) AS g",
        "VACUUM pgbench_accounts",
        "VACUUM ANALYZE",
    ):
        psql(env, DB, sql)
    psql(env, "postgres", f"COMMENT ON DATABASE {DB} IS '{marker}'")


def module(
    env: dict[str, Any], exact: bool, thresholds: dict[str, float] | None = None
) -> tuple[float, dict[str, Any]]:
    args = {
        "ANSIBLE_MODULE_ARGS": {
            "login_unix_socket": env["pg_socket_dir"],
            "login_port": env["pg_port"],
            "login_user": env["pg_superuser"],
            "databases": [DB],
            "checks": ["table_bloat", "index_bloat"],
            "exact_bloat": exact,
            "thresholds": thresholds or {},
        }
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(args, handle)
    try:
        started = time.perf_counter()
        done = subprocess.run(
            [str(PYTHON), str(MODULE / "pg_maintenance.py"), handle.name],
            capture_output=True,
            text=True,
            check=False,
            env=dict(os.environ, PYTHONPATH=str(MODULE.parents[4])),
        )
        seconds = time.perf_counter() - started
    finally:
        os.unlink(handle.name)
    result = json.loads(done.stdout)
    if result.get("failed"):
        raise RuntimeError(result.get("msg"))
    return seconds, result


def pgstattuple_calls(env: dict[str, Any]) -> int:
    time.sleep(0.5)  # a backend reports its function calls when it exits
    query = "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = 'pgstattuple'"
    return int(psql(env, DB, query))


def figure(result: dict[str, Any], table: str) -> str:
    for item in result["report"]["databases"][DB]["table_bloat"]["tables"]:
        if item["name"] == table:
            return f"{item['percent']:g} % ({item['method']})"
    return "under the warning level (not listed)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=70)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database for the next run")
    options = parser.parse_args()
    env = stack()
    ensure_database(env, options.scale)
    try:
        exact = {
            table: psql(env, DB, f"SELECT round(((t).free_percent + (t).dead_tuple_percent)::numeric, 1) "
                                 f"FROM (SELECT pgstattuple('{table}'::regclass) AS t) x")
            for table in ("pgbench_accounts", "documents")
        }  # fmt: skip
        size = psql(env, DB, "SELECT pg_size_pretty(pg_database_size(current_database()))")
        times: dict[str, list[float]] = {"runbook": [], "estimate": [], "flagged": [], "every": []}
        seen: dict[str, str] = {}
        for round_number in range(options.rounds):
            order = list(times)[round_number % 4 :] + list(times)[: round_number % 4]
            for method in order:
                if method == "runbook":
                    started = time.perf_counter()
                    psql(env, DB, RUNBOOK)
                    times[method].append(time.perf_counter() - started)
                    seen[method] = "no bloat figure; 'Consider VACUUM FULL' for every table over 100 MB"
                elif method == "every":
                    started = time.perf_counter()
                    rows = psql(env, DB, EVERY).splitlines()
                    times[method].append(time.perf_counter() - started)
                    measured = dict(line.split("|")[::2] for line in rows)
                    seen[method] = (
                        f"{measured.get('pgbench_accounts')} / {measured.get('documents')} ({len(rows)} measured)"
                    )
                elif method == "estimate":
                    seconds, _result = module(env, False)
                    times[method].append(seconds)
                    # the figures, every table listed (a warning level of 0), untimed
                    _seconds, listed = module(env, False, {"table_bloat_percent_warning": 0})
                    seen[method] = f"{figure(listed, 'pgbench_accounts')} / {figure(listed, 'documents')}"
                else:
                    before = pgstattuple_calls(env)
                    seconds, result = module(env, True)
                    times[method].append(seconds)
                    measured = pgstattuple_calls(env) - before
                    seen[method] = (
                        f"{figure(result, 'pgbench_accounts')} / {figure(result, 'documents')}; "
                        f"pgstattuple read {measured} table(s)"
                    )
        base = statistics.median(times["estimate"])
        print(f"\nBloat checks on {DB} ({size}), median of {options.rounds} rounds (interleaved)")
        print(
            f"pgstattuple's figures: pgbench_accounts {exact['pgbench_accounts']} %, documents {exact['documents']} %\n"
        )
        print(f"| {'method':32s} | median s | vs estimate | pgbench_accounts / documents")
        print(f"|{'-' * 34}|----------|-------------|------------------------------")
        labels = {
            "runbook": "runbook: size over 100 MB",
            "estimate": "pg_maintenance, estimate",
            "flagged": "pg_maintenance, exact (flagged)",
            "every": "pgstattuple on every table",
        }
        for method, label in labels.items():
            median = statistics.median(times[method])
            print(f"| {label:32s} | {median:8.2f} | {median / base:10.1f}x | {seen[method]}")
    finally:
        if not options.keep:
            psql(env, "postgres", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
