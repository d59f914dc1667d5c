"""Benchmark: what the daily PostgreSQL checks send to the server, and how long they take.

Runs pg_maintenance with the postgres_maintenance role's daily checks and actions (the actions
in check mode: their plan, not the ANALYZE itself) on a database of --tables tables, each with a
primary key and one index (pg_health.py's), as Ansible runs it on the database host: the module
file with its arguments. Per collection tree (--tree label=path to a collections directory, as
many as wanted; default this checkout's .build/collections), interleaved so that background
noise hits each alike: the module's round trips and own seconds, and the statements the server
ran for it with their execution time (pg_stat_statements, reset before each run). Prints a table
of medians and ratios to the first tree, and whether every tree found the same.

    make collection
    .venv/bin/python benchmarks/pg_daily.py [--tables 1000] [--rounds 7] \\
        [--tree before=/path/to/other/checkout/.build/collections --tree after=.build/collections]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from pg_health import DB, psql, setup, stack_env  # noqa: E402 - beside this file

REPO = HERE.parent
ROLE_DEFAULTS = yaml.safe_load((REPO / "roles" / "postgres_maintenance" / "defaults" / "main.yml").read_text())
MODULE = Path("ansible_collections", "jarvis", "maintenance", "plugins", "modules", "pg_maintenance.py")
# the statements of the module's login, besides the benchmark's own calls of pg_stat_statements:
# each one's time in ms and its first words, as a JSON list
SERVER_WORK = f"""
    SELECT coalesce(json_agg(json_build_array(s.calls, s.total_exec_time,
                                              left(regexp_replace(s.query, '\\s+', ' ', 'g'), 70))), '[]')
      FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
     WHERE r.rolname = current_user AND s.query NOT LIKE '%pg_stat_statements%'
       AND s.dbid IN (SELECT oid FROM pg_database WHERE datname IN ('postgres', '{DB}'))"""


def daily_run(env: dict, tree: Path, workdir: Path) -> dict[str, Any]:
    """One run of the daily checks with the module of tree: round trips, seconds, server work, findings."""
    args = {
        "login_unix_socket": env["pg_socket_dir"],
        "login_port": env["pg_port"],
        "login_user": env["pg_superuser"],
        "databases": [DB],
        "checks": ROLE_DEFAULTS["postgres_maintenance_daily_checks"],
        "actions": ROLE_DEFAULTS["postgres_maintenance_daily_actions"],
        "_ansible_check_mode": True,
    }
    path = workdir / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    psql(env, DB, "SELECT pg_stat_statements_reset()")
    result = subprocess.run(
        [sys.executable, str(tree / MODULE), str(path)],
        env=dict(os.environ, PYTHONPATH=str(tree)),
        capture_output=True,
        text=True,
        check=False,
    )
    output = json.loads(result.stdout)
    if output.get("failed"):
        raise RuntimeError(f"pg_maintenance failed with {tree}: {output.get('msg')}")
    sent = json.loads(psql(env, DB, SERVER_WORK).stdout)
    return {
        "round_trips": output["round_trips"],
        "seconds": output["seconds"],
        "statements": sum(calls for calls, _ms, _query in sent),
        "server_ms": sum(ms for _calls, ms, _query in sent),
        "sent": sorted(sent, key=lambda item: -item[1]),
        "findings": sorted((item["check"], item["severity"], item["subject"]) for item in output["findings"]),
        "planned": sorted(item["target"] for item in output["planned"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tree", action="append", default=[], metavar="LABEL=PATH", help="a collections directory")
    args = parser.parse_args()
    trees = dict(item.split("=", 1) for item in args.tree) or {"this checkout": str(REPO / ".build" / "collections")}
    env = stack_env()
    print(f"setting up {DB} with {args.tables} tables (each with a primary key and one index)...", flush=True)
    setup(env, args.tables)
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in trees}
    try:
        psql(env, DB, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        # a change for the analyze plan to find (2,000 rows), which autovacuum does not take away
        psql(env, DB, "ALTER TABLE t1 SET (autovacuum_enabled = false)")
        psql(env, DB, "INSERT INTO t1 SELECT g, md5(g::text) FROM generate_series(21, 2020) g")
        with tempfile.TemporaryDirectory() as workdir:
            for _round in range(args.rounds + 1):  # the first round warms the caches, not counted
                for label, tree in trees.items():
                    run = daily_run(env, Path(tree).resolve(), Path(workdir))
                    if _round:
                        runs[label].append(run)
    finally:
        psql(env, "postgres", f"DROP DATABASE IF EXISTS {DB}")
    columns = ("round_trips", "statements", "server_ms", "seconds")
    medians = {
        label: {key: statistics.median(run[key] for run in done) for key in columns} for label, done in runs.items()
    }
    base = medians[next(iter(trees))]
    checks = ", ".join(ROLE_DEFAULTS["postgres_maintenance_daily_checks"])
    rounds = f"{args.tables} tables, median of {args.rounds} rounds (interleaved)"
    print(f"\nDaily checks ({checks}) + analyze plan, {rounds}\n")
    print("| tree | round trips | statements on the server | server ms | vs first | module s | vs first |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, values in medians.items():
        print(
            f"| {label} | {values['round_trips']:g} | {values['statements']:g} | {values['server_ms']:.1f} | "
            f"{values['server_ms'] / base['server_ms']:.2f} | {values['seconds']:.3f} | "
            f"{values['seconds'] / base['seconds']:.2f} |"
        )
    for label, done in runs.items():
        print(f"\n{label}, its last run - the statements by time on the server:\n")
        print("| calls | ms | statement |\n|---:|---:|---|")
        for calls, ms, query in done[-1]["sent"]:
            escaped = query.replace("|", "\\|")
            print(f"| {calls} | {ms:.2f} | `{escaped}` |")
    outcomes = {json.dumps([run["findings"], run["planned"]]) for done in runs.values() for run in done}
    print(f"\nthe same findings and plan in every run of every tree: {'yes' if len(outcomes) == 1 else 'NO'}")
    return 0 if len(outcomes) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
