"""Benchmark: backing up, verifying and restoring a pgbench database (scale 70, about 1 GB), and
backing up and verifying a database of realistic data (about 1 GiB of chat messages and JSON documents).

Two data sets, each measured alone (the other one's database is left out of every command):

- ``pgbench``: pgbench's tables, whose blank filler compresses about 35x (gzip), which flatters any
  compressor;
- ``realistic``: benchmarks/_data.py's ``messages`` and ``documents`` tables (text from a Zipf-like
  vocabulary with numbers and ids, jsonb payloads), whose COPY text compresses about 3x with gzip -6
  (the ratio of a sample is printed with the table), like the chat logs and API payloads Jarvis keeps.
  It runs the backup and verification steps; the restore step runs on pgbench only.

Compares the runbook's three steps with jarvis.maintenance's modules, each run as a script
(``.venv/bin/python plugins/modules/<module>.py args.json``, the real module code without
Ansible's start-up):

- backup: ``set -o pipefail; pg_dumpall | gzip > all.sql.gz`` against pg_backup (every database
  and the globals, like the runbook: ``pg_dump -Fc -Z0 | pzstd`` per database, two at a time, plus
  exact row counts from the dump's snapshot), and the ceiling of any pg_dump-based backup: ``pg_dump -Fc -Z0`` of
  the benchmark database alone into /dev/null (its size column is that of the same dump written
  once to a file). Beside them, the bare pipeline ``pg_dump -Fc -Z0 | pzstd -p N -L > file`` of the
  benchmark database at the level pg_backup chose: what compression alone costs on this machine, so
  the table shows how much of pg_backup's distance to the ceiling is the compressor and how much the
  module's own work (checksums, row counts, the sample, the other databases).
- verification: ``gunzip -t all.sql.gz`` against backup_verify with ``checksums`` and ``decode``
  (sha256 of every file, ``zstd -t``, ``pg_restore --list``) on the set the round's pg_backup wrote
  (backup_set ``started`` and ``completed`` around it, outside the timing).
- restore: the runbook's ``gunzip -c all.sql.gz | psql -d <fresh db>``, a bare
  ``pg_restore --jobs=2 --no-owner -d <fresh db>`` of an uncompressed custom dump made once, and
  backup_verify's restore test with its default ``restore_jobs: 1`` (create a scratch database,
  ``zstd -dc | pg_restore`` streamed, count every table's rows, compare with the manifest, drop) on a
  set holding only the benchmark database. (``restore_jobs: 2`` first writes a decompressed copy for
  ``pg_restore -j``: on this 2-core machine that copy cost more than the second job saved.)

The runbook's restore replays a pg_dumpall file, which ``\\connect``s to every database it dumped:
on the stack it would write into the stack's own databases (duplicate rows in tables without a key,
sequences set back), so it runs against a throwaway PostgreSQL 15 cluster (initdb'd afresh before
each round, outside the timing, unix socket only, the stack's settings) into a fresh database there;
the table reports its exit status, the tables that landed in the fresh database (none: everything
goes to the databases the file recreates) and the ERROR lines psql printed. Every other step runs
against the local stack (``make stack-up``); fresh databases are dropped after each use.

Methods run interleaved, in a rotating order within each step, for --rounds rounds; the table shows
medians. Everything written goes to a temp dir removed at the end; the pgbench database is dropped
unless --keep (a kept one of the same scale is reused).

    .venv/bin/python benchmarks/backup.py [--scale 70] [--realistic-mib 1024] [--rounds 3] [--keep]
        [--data pgbench,realistic]

Every method runs the cluster's own client programs (the modules through ``bin_dir``, the shell
commands with that directory first on PATH), not Debian's pg_wrapper script.

On a shared 2-CPU machine the seconds move with background load: trust the ratios more.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from _data import create_database, gzip_ratio

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
COLLECTIONS = REPO / ".build" / "collections"
MODULES = COLLECTIONS / "ansible_collections" / "jarvis" / "maintenance" / "plugins" / "modules"
DB = "jarvis_bench_backup"
REALISTIC_DB = "jarvis_bench_realistic"
FRESH = "jarvis_bench_fresh_"
SCRATCH_PORT = 25433

# The runbook's commands, verbatim but for the paths and database names, passed as $1 and $2.
RUNBOOK_BACKUP = 'set -o pipefail; pg_dumpall "${@:2}" | gzip > "$1"'
RUNBOOK_VERIFY = 'gunzip -t "$1"'
RUNBOOK_RESTORE = 'gunzip -c "$1" | psql -d "$2"'
CEILING = 'pg_dump -Fc -Z0 -d "$1" > /dev/null'
# The same dump compressed the way pg_backup does it, at the level pg_backup chose, by a shell pipeline:
# no checksum, no row counts, no sample, no module. What compression itself costs on this machine.
BARE_PIPELINE = 'set -o pipefail; pg_dump -Fc -Z0 -d "$1" | pzstd -q -p "$3" "-$4" -c > "$2"'
BARE_RESTORE = 'pg_restore --jobs=2 --no-owner -d "$2" "$1"'
USER_TABLES = "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"


def stack_env() -> dict[str, Any]:
    command = [sys.executable, str(REPO / "tools" / "jarvis-stack"), "env", "--json"]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def libpq(host: str, port: int, user: str) -> dict[str, str]:
    """os.environ with only these connection variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    return {**env, "PGHOST": host, "PGPORT": str(port), "PGUSER": user}


def psql(conn: dict[str, str], database: str, sql: str) -> str:
    command = ["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql]
    return subprocess.run(command, env=conn, capture_output=True, text=True, check=True).stdout.strip()


def bash(script: str, conn: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Seconds and result of a runbook-style command; stdout discarded, stderr kept."""
    command = ["bash", "-c", script, "bench", *args]
    began = time.perf_counter()
    result = subprocess.run(
        command, env=conn, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
    )
    return time.perf_counter() - began, result


def checked(what: str, result: subprocess.CompletedProcess[str]) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"{what} exited {result.returncode}: {result.stderr.strip()[-500:]}")


def run_module(name: str, args: dict[str, Any], workdir: str) -> tuple[float, dict[str, Any]]:
    """Seconds and JSON result of plugins/modules/<name>.py run as a script; fails loudly when it fails."""
    path = os.path.join(workdir, f"{name}-args.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(COLLECTIONS), os.environ.get("PYTHONPATH")]))
    command = [str(PYTHON), str(MODULES / f"{name}.py"), path]
    began = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    try:
        output = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError(
            f"{name} printed no JSON (exit {result.returncode}): {result.stdout[-500:]!r} {result.stderr[-500:]!r}"
        ) from None
    if output.get("failed") or result.returncode != 0:
        raise RuntimeError(f"{name} failed (exit {result.returncode}): {output.get('msg')}")
    return seconds, output


def ensure_database(conn: dict[str, str], db: str, marker: str, make: Callable[[], None]) -> bool:
    """Creates db with make() unless a complete one (commented with marker) is there; True when reused."""
    found = psql(
        conn, "postgres", f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{db}'"
    )
    if found == marker:
        return True
    print(f"{marker} ...", file=sys.stderr, flush=True)
    make()
    psql(conn, "postgres", f"COMMENT ON DATABASE {db} IS '{marker}'")
    return False


def make_pgbench(conn: dict[str, str], scale: int) -> None:
    psql(conn, "postgres", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(conn, "postgres", f"CREATE DATABASE {DB}")
    subprocess.run(["pgbench", "-i", "-s", str(scale), "-q", DB], env=conn, check=True, stdout=subprocess.DEVNULL)


def drop_fresh(conn: dict[str, str]) -> None:
    names = psql(conn, "postgres", f"SELECT datname FROM pg_database WHERE datname LIKE '{FRESH}%'").split()
    for name in names:
        psql(conn, "postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restored_database(out: dict[str, Any], database: str) -> dict[str, Any]:
    """backup_verify's restore record of database (tables, rows, restore_seconds); raises when the restore test
    was not clean."""
    restored = out["sets"][0].get("restore", {}).get(database)
    if out["severity"] != "ok" or not restored or restored.get("mismatches"):
        problems = [f["message"] for f in out["findings"] if f["severity"] != "ok"]
        raise RuntimeError(f"backup_verify restore test: {out['severity']}: {problems} {restored}")
    return restored


class ScratchServer:
    """A throwaway PostgreSQL cluster on a unix socket in a temp dir, set up like the stack's."""

    def __init__(self, bin_dir: str, superuser: str) -> None:
        self.bin_dir, self.superuser = bin_dir, superuser
        self.path: str | None = None

    def as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, cwd="/", check=False)
        checked(os.path.basename(command[0]), result)

    def start(self) -> dict[str, str]:
        self.path = tempfile.mkdtemp(prefix="backup-bench-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.path, "postgres", "postgres")
        data = os.path.join(self.path, "data")
        self.as_postgres(
            os.path.join(self.bin_dir, "initdb"),
            *("-D", data, "-U", self.superuser, "--auth-local=trust", "--auth-host=scram-sha-256"),
            *("--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"),
        )
        options = (
            f"-c listen_addresses='' -c unix_socket_directories={self.path} -c port={SCRATCH_PORT} "
            "-c shared_buffers=128MB -c max_wal_size=1GB -c shared_preload_libraries=pg_stat_statements"
        )
        log = os.path.join(self.path, "postgresql.log")
        self.as_postgres(os.path.join(self.bin_dir, "pg_ctl"), "start", "-w", "-D", data, "-l", log, "-o", options)
        return libpq(self.path, SCRATCH_PORT, self.superuser)

    def stop(self) -> None:
        if self.path is None:
            return
        data = os.path.join(self.path, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            self.as_postgres(os.path.join(self.bin_dir, "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", data)
        shutil.rmtree(self.path, ignore_errors=True)
        self.path = None


class Bench:
    def __init__(self, args: argparse.Namespace, env: dict[str, Any], workdir: str) -> None:
        self.args, self.workdir = args, workdir
        self.db, self.other = DB, REALISTIC_DB
        self.conn = libpq(env["pg_socket_dir"], env["pg_port"], env["pg_superuser"])
        # Every method runs the server's own client programs: on Debian, pg_dump & co. on PATH are the
        # pg_wrapper Perl script, which costs ~25 ms a call (the modules get the same through bin_dir).
        self.conn["PATH"] = os.pathsep.join([env["pg_bin_dir"], self.conn.get("PATH", "")])
        self.login = {
            "login_unix_socket": env["pg_socket_dir"],
            "login_port": env["pg_port"],
            "login_user": env["pg_superuser"],
            "bin_dir": env["pg_bin_dir"],
        }
        self.scratch = ScratchServer(env["pg_bin_dir"], env["pg_superuser"])
        self.all_sql = os.path.join(workdir, "all.sql.gz")
        self.bench_dump = os.path.join(workdir, "bench.dump")
        self.full_root = os.path.join(workdir, "sets-full")
        self.restore_root = os.path.join(workdir, "sets-restore")
        self.round = 0
        self.ceiling_size = 0
        # pg_backup's choice in its last run (level, threads); level 3 (its default) before the first
        self.chosen = {"level": 3, "threads": len(os.sched_getaffinity(0))}

    def use(self, db: str, other: str) -> None:
        """Measure db from now on, leaving other out of the backups; writes db's uncompressed dump once."""
        self.db, self.other = db, other
        result = subprocess.run(
            ["pg_dump", "-Fc", "-Z0", "-d", db, "-f", self.bench_dump],
            env=self.conn,
            capture_output=True,
            text=True,
            check=False,
        )
        checked("pg_dump (bench.dump)", result)
        self.ceiling_size = os.path.getsize(self.bench_dump)

    # -- sets -----------------------------------------------------------------------
    def backup_into_set(self, root: str, extra: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """backup_set started, pg_backup into it (timed), backup_set completed."""
        _seconds, started = run_module("backup_set", {"root": root, "state": "started"}, self.workdir)
        seconds, dumps = run_module("pg_backup", {"dest": started["path"], **self.login, **extra}, self.workdir)
        parts = {"postgres": {"server_version": dumps["server_version"], "databases": dumps["databases"]}}
        completed = {"root": root, "state": "completed", "name": started["name"], "files": dumps["files"]}
        run_module("backup_set", {**completed, "parts": parts}, self.workdir)
        return seconds, dumps

    def setup(self) -> None:
        self.backup_into_set(self.restore_root, {"databases": [DB], "globals": False})

    # -- backup ---------------------------------------------------------------------
    def runbook_backup(self) -> dict[str, Any]:
        seconds, result = bash(RUNBOOK_BACKUP, self.conn, self.all_sql, f"--exclude-database={self.other}")
        checked("pg_dumpall | gzip", result)
        return {"seconds": seconds, "size": os.path.getsize(self.all_sql), "note": "exit 0"}

    def module_backup(self) -> dict[str, Any]:
        shutil.rmtree(self.full_root, ignore_errors=True)  # one set: the one this round verifies
        seconds, dumps = self.backup_into_set(self.full_root, {"exclude_databases": [self.other]})
        # The sum of the files: the module's own `size` is overwritten by AnsibleModule.exit_json, which
        # adds the stat of `dest` (a directory: 4096) to any result holding `dest` or `path`.
        size = sum(entry["size"] for entry in dumps["files"])
        choice = dumps.get("compression") or {}
        if choice.get("level"):
            self.chosen = {"level": choice["level"], "threads": choice.get("threads") or self.chosen["threads"]}
        note = f"module's own {dumps['seconds']:.1f} s; {len(dumps['files'])} files; level {choice.get('level')}"
        if dumps.get("size") != size:
            note += f"; its `size` says {dumps.get('size')}"
        return {"seconds": seconds, "size": size, "note": note}

    def ceiling(self) -> dict[str, Any]:
        seconds, result = bash(CEILING, self.conn, self.db)
        checked("pg_dump -Fc -Z0", result)
        return {"seconds": seconds, "size": self.ceiling_size, "note": f"{self.db} only, to /dev/null"}

    def bare_pipeline(self) -> dict[str, Any]:
        out = os.path.join(self.workdir, "bare.dump.zst")
        level, threads = self.chosen["level"], self.chosen["threads"]
        seconds, result = bash(BARE_PIPELINE, self.conn, self.db, out, str(threads), str(level))
        checked("pg_dump -Fc -Z0 | pzstd", result)
        size = os.path.getsize(out)
        os.unlink(out)
        return {"seconds": seconds, "size": size, "note": f"{self.db} only; pzstd -p {threads} -{level}"}

    # -- verification ---------------------------------------------------------------
    def gunzip_test(self) -> dict[str, Any]:
        seconds, result = bash(RUNBOOK_VERIFY, self.conn, self.all_sql)
        checked("gunzip -t", result)
        return {"seconds": seconds, "note": f"reads {os.path.getsize(self.all_sql):,} bytes"}

    def full_verify(self) -> dict[str, Any]:
        args = {"path": self.full_root, "checksums": True, "decode": True, "restore_test": False}
        seconds, out = run_module("backup_verify", {**args, **self.login}, self.workdir)
        checks = out["sets"][0]
        if out["severity"] != "ok":
            problems = [f["message"] for f in out["findings"] if f["severity"] != "ok"]
            raise RuntimeError(f"backup_verify (checksums, decode) found {out['severity']}: {problems}")
        size = checks.get("size") or 0
        return {"seconds": seconds, "note": f"{checks['checks_passed']} checks pass; set of {size:,} bytes"}

    # -- restore --------------------------------------------------------------------
    def fresh(self, conn: dict[str, str], method: str) -> str:
        name = f"{FRESH}{self.round}_{method}"
        psql(conn, "postgres", f"CREATE DATABASE {name}")
        return name

    def runbook_restore(self) -> dict[str, Any]:
        scratch = {**self.scratch.start(), "PATH": self.conn["PATH"]}
        try:
            name = self.fresh(scratch, "runbook")
            seconds, result = bash(RUNBOOK_RESTORE, scratch, self.all_sql, name)
            tables = int(psql(scratch, name, USER_TABLES))
            errors = [line for line in result.stderr.splitlines() if "ERROR:" in line]
            elsewhere = (
                psql(scratch, DB, USER_TABLES)
                if DB in psql(scratch, "postgres", "SELECT datname FROM pg_database")
                else "0"
            )
        finally:
            self.scratch.stop()
        note = (
            f"exit {result.returncode}; {tables} tables in the fresh db ({elsewhere} in a recreated {DB}); "
            f"{len(errors)} ERROR lines" + (f", first: {errors[0].strip()[:90]}" if errors else "")
        )
        return {"seconds": seconds, "note": note, "tables": tables, "exit": result.returncode}

    def bare_restore(self) -> dict[str, Any]:
        name = self.fresh(self.conn, "bare")
        try:
            seconds, result = bash(BARE_RESTORE, self.conn, self.bench_dump, name)
            checked("pg_restore", result)
            tables = int(psql(self.conn, name, USER_TABLES))
        finally:
            psql(self.conn, "postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        return {"seconds": seconds, "note": f"exit 0; {tables} tables"}

    def restore_test(self) -> dict[str, Any]:
        args = {"path": self.restore_root, "checksums": False, "decode": False, "restore_test": True}
        args.update(scratch_dir=self.workdir)
        seconds, out = run_module("backup_verify", {**args, **self.login}, self.workdir)
        restored = restored_database(out, DB)
        note = (
            f"{restored['tables']} tables, {restored['rows']:,} rows = manifest; "
            f"create + unzstd + pg_restore {restored['restore_seconds']:.1f} s"
        )
        return {"seconds": seconds, "note": note}


def median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def goal(label: str, value: float, limit: float, at_least: bool, detail: str) -> str:
    met = value >= limit if at_least else value <= limit
    verdict = "MET" if met else "NOT MET"
    return f"- {label}: {value:.3g}x (goal {'≥' if at_least else '≤'} {limit}x; {detail}) → {verdict}"


# Per data set: (backup speed-up vs runbook ≥, size vs runbook ≤, time vs ceiling ≤, verification speed-up ≥)
GOALS = {"pgbench": (1.8, 0.35, 1.3, 5.0), "realistic": (3.5, 1.0, 1.6, 5.0)}


def run_rounds(
    steps: dict[str, dict[str, Callable[[], dict[str, Any]]]], rounds: int, bench: Bench, label: str
) -> dict[str, list[dict[str, Any]]]:
    """Every method of every step, interleaved in a rotating order, for rounds rounds."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for methods in steps.values() for name in methods}
    for round_no in range(rounds):
        bench.round = round_no + 1
        for methods in steps.values():
            names = list(methods)
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                row = methods[name]()
                results[name].append(row)
                print(f"{label} round {round_no + 1} {name}: {row['seconds']:.2f} s; {row['note']}", file=sys.stderr)
    return results


def report(
    steps: dict[str, dict[str, Callable[[], dict[str, Any]]]], results: dict[str, list[dict[str, Any]]], data: str
) -> None:
    """The Markdown table of medians and the goals of one data set."""
    print("| step | method | median s | speed-up vs runbook | output bytes | size vs runbook | notes (last round) |")
    print("|---|---|---:|---:|---:|---:|---|")
    med: dict[str, float] = {}
    for step, methods in steps.items():
        base = None
        for name in methods:
            rows = results[name]
            seconds = med[name] = median(rows, "seconds")
            base = base or seconds
            size = base_size = ""
            if "size" in rows[0]:
                med[f"{name} size"] = median(rows, "size")
                runbook_size = med[f"{next(iter(methods))} size"]
                size, base_size = f"{med[f'{name} size']:,.0f}", f"{med[f'{name} size'] / runbook_size:.3f}x"
            cells = [step, name.replace("|", "\\|"), f"{seconds:.2f}", f"{base / seconds:.2f}x", size, base_size]
            print("| " + " | ".join([*cells, rows[-1]["note"].replace("|", "\\|")]) + " |")
    (rb, ours, ceil, bare), (gz, verify) = (list(steps[step]) for step in ("backup", "verify"))
    speed_up, size_limit, ceiling_limit, verify_limit = GOALS[data]
    print()
    print(
        goal("backup speed-up vs runbook", med[rb] / med[ours], speed_up, True, f"{med[ours]:.2f} s vs {med[rb]:.2f} s")
    )
    size_ratio = med[f"{ours} size"] / med[f"{rb} size"]
    sizes = f"{med[f'{ours} size']:,.0f} vs {med[f'{rb} size']:,.0f} bytes"
    print(goal("backup size vs runbook's", size_ratio, size_limit, False, sizes))
    print(
        goal(
            "backup time vs ceiling",
            med[ours] / med[ceil],
            ceiling_limit,
            False,
            f"{med[ours]:.2f} s vs {med[ceil]:.2f} s",
        )
    )
    print(
        f"- bare pipeline vs ceiling: {med[bare] / med[ceil]:.2f}x ({med[bare]:.2f} s vs {med[ceil]:.2f} s): what "
        f"compressing at pg_backup's level costs here; pg_backup is {med[ours] / med[bare]:.2f}x the bare pipeline"
    )
    detail = f"{med[verify]:.2f} s vs {med[gz]:.2f} s"
    print(goal("full verification speed-up vs gunzip -t", med[gz] / med[verify], verify_limit, True, detail))
    if "restore" in steps:
        _psql, restore, test = list(steps["restore"])
        detail = f"{med[test]:.2f} s vs {med[restore]:.2f} s"
        print(goal("restore test vs bare pg_restore", med[test] / med[restore], 1.2, False, detail))
    print(
        f"- ceiling vs runbook: {med[rb] / med[ceil]:.2f}x ({med[ceil]:.2f} s vs {med[rb]:.2f} s), the best speed-up "
        "any pg_dump-based backup could reach here"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=70, help="pgbench scale (70: 7,000,000 accounts, about 1 GB)")
    parser.add_argument("--realistic-mib", type=int, default=1024, help="size of the realistic database in MiB")
    parser.add_argument("--data", default="pgbench,realistic", help="data sets to measure, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases for the next run (reused at the same size)"
    )
    args = parser.parse_args()
    data_sets = [name for name in args.data.split(",") if name]
    if not set(data_sets) <= set(GOALS):
        parser.error(f"--data takes {', '.join(GOALS)}")
    if not MODULES.is_dir():
        parser.error(f"{MODULES} is missing: run `make collection` first")
    env = stack_env()
    workdir = tempfile.mkdtemp(prefix="backup-bench-")
    bench = Bench(args, env, workdir)
    conn = bench.conn
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    databases = {"pgbench": DB, "realistic": REALISTIC_DB}
    makers = {
        "pgbench": (f"benchmarks/backup.py: pgbench -i -s {args.scale}", lambda: make_pgbench(conn, args.scale)),
        "realistic": (
            f"benchmarks/backup.py: _data.create_database {args.realistic_mib} MiB",
            lambda: create_database(conn, REALISTIC_DB, args.realistic_mib << 20),
        ),
    }
    backup_names = ("runbook: pg_dumpall | gzip", "pg_backup (all databases + globals, zstd)")
    steps: dict[str, dict[str, dict[str, Callable[[], dict[str, Any]]]]] = {}
    for data in data_sets:
        steps[data] = {
            "backup": {
                backup_names[0]: bench.runbook_backup,
                backup_names[1]: bench.module_backup,
                f"ceiling: pg_dump -Fc -Z0 {databases[data]} > /dev/null": bench.ceiling,
                "bare pipeline: pg_dump -Fc -Z0 | pzstd at pg_backup's level > file": bench.bare_pipeline,
            },
            "verify": {
                "runbook: gunzip -t": bench.gunzip_test,
                "backup_verify checksums + decode": bench.full_verify,
            },
        }
    if "pgbench" in steps:
        steps["pgbench"]["restore"] = {
            "runbook: gunzip -c | psql -d fresh": bench.runbook_restore,
            "bare pg_restore --jobs=2 (uncompressed dump)": bench.bare_restore,
            "backup_verify restore test (streamed, default)": bench.restore_test,
        }
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    sizes: dict[str, int] = {}
    try:
        drop_fresh(conn)
        for data in data_sets:
            marker, make = makers[data]
            reused = ensure_database(conn, databases[data], marker, make)
            sizes[data] = int(psql(conn, "postgres", f"SELECT pg_database_size('{databases[data]}')"))
            print(f"{databases[data]}: {'reused' if reused else 'created'}, {sizes[data]:,} bytes", file=sys.stderr)
        for data in data_sets:
            bench.use(databases[data], databases["realistic" if data == "pgbench" else "pgbench"])
            if data == "pgbench":
                bench.setup()
            results[data] = run_rounds(steps[data], args.rounds, bench, data)
    finally:
        bench.scratch.stop()
        drop_fresh(conn)
        if not args.keep:
            for data in data_sets:
                psql(conn, "postgres", f"DROP DATABASE IF EXISTS {databases[data]} WITH (FORCE)")
        shutil.rmtree(workdir, ignore_errors=True)

    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nnproc: {len(os.sched_getaffinity(0))}; load average at the start: {load_before}; at the end: {load_after}"
    )
    for data in data_sets:
        if data == "pgbench":
            what = f"pgbench scale {args.scale} ({args.scale * 100_000:,} accounts)"
        else:
            ratio = gzip_ratio()
            what = f"realistic data (messages + documents; a sample's COPY text compresses {ratio:.2f}x with gzip -6)"
        print(
            f"\n### {data}: {what}; {databases[data]}: {sizes[data]:,} bytes ({sizes[data] / 2**20:,.0f} MiB); "
            f"medians of {args.rounds} interleaved rounds.\n"
        )
        report(steps[data], results[data], data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
