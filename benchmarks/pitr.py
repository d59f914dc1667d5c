"""Benchmark: point-in-time recovery with Barman (the pitr role) against the runbook's nightly dump.

Two throwaway PostgreSQL 15 clusters hold the data, one each, about 1 GB at the default scale:

- ``pgbench``: ``pgbench -i -s 70`` (the same database as benchmarks/backup.py; its filler is blank
  and its dump gzips about 35x, which flatters every compressor);
- ``realistic``: chat messages and JSON documents from benchmarks/_data.py, which gzip 2-4x like
  real application data (the measured ratio is printed), sized like the pgbench one.

Each cluster listens on 127.0.0.1 on a port derived from the stack's (stack + 20, + 21) and on a
socket in its own directory. A third, small one (stack + 22: pgbench scale 5 and a marker table)
is the one killed for the RPO, never the stack's cluster. The pitr role's ``setup`` entry point sets
up Barman for each of the three (one ``ansible-playbook`` run, a play per cluster, written into the
temp dir: ``pitr_server`` ``bench-pitr-<stack port>-<kind>``, the replication role and a slot on
the cluster, WAL streamed by ``barman receive-wal`` under the stack's supervisor, Barman's home,
configuration and log under the temp dir; no ``barman cron`` crontab entry, which would archive
WAL in the middle of a timing). Barman is the role's installation (``/opt/jarvis-barman``).

Methods, interleaved in a rotating order within each step and data set, for --rounds rounds:

- base backup: the runbook's ``set -o pipefail; pg_dumpall | gzip > all.sql.gz`` against
  ``barman backup --wait <server>``, run exactly as the role's ``backup`` entry point runs it
  (zstd compression with 2 workers, immediate checkpoint, as the role configures; done when the
  WAL the backup needs is archived), and the ceiling of any streamed base backup:
  ``pg_basebackup -Ft -X none -D - > /dev/null`` (no compression, no WAL, over the socket).
- restore to a running server that answers queries: the runbook's ``gunzip -c all.sql.gz | psql``
  into a fresh database of a throwaway cluster initdb'd before each round outside the timing (as in
  backup.py: pg_dumpall's file ``\\connect``s to the databases it recreates); barman_recover run as
  a module script (``verify: false``; the newest base backup, every archived WAL segment and the
  partial one) into a new directory, then ``pg_ctl start`` there (socket only, trust, archiving off,
  as barman_recover's restore test starts it) until ``pg_is_in_recovery()`` is false and a query of
  the data answers; and ``pg_restore`` of our logical set: pg_backup's set of that database made
  once at the start (backup.py's ``Bench.backup_into_set``), restored by backup_verify's restore
  test (create a database, ``zstd -dc | pg_restore``); its time is the module's own
  ``restore_seconds`` (create + restore, not the row counts that follow), the whole module's
  run is in the notes; it restores into a fresh throwaway cluster too (into the backed-up cluster
  it would add a gigabyte of WAL for the next barman_recover to replay). Beside them, the restore's
  floor: the extraction barman recover runs inside (``zstd -dc base.tar.zst | tar -x`` of the
  newest base backup into a new directory), alone.
- RPO: on the small cluster, tests/integration/targets/role_pitr/files/markers.py (the role test's
  script): pgbench load (2 clients) plus a marker row committed every 100 ms for --rpo-seconds, then
  kill -9 of the postmaster right after a commit returned; barman_recover of everything Barman
  received (``--partial-wal``) started on a scratch port; markers lost and seconds between the last
  marker committed and the last one recovered. Then the cluster is started again (crash recovery)
  and the next round waits until WAL streams to Barman again. The runbook's RPO is its schedule:
  a nightly dump loses up to 24 h.

The two data clusters live in the stack's private directory (``.stack/bench-pitr``): with --keep
they are left there, stopped, and reused by the next run at the same scale; without it they are
removed. Everything else (Barman's files, dumps, recovered clusters) goes to a temp dir removed at
the end; the supervisor programs are removed and every cluster stopped.

    .venv/bin/python benchmarks/pitr.py [--scale 70] [--rounds 3] [--rpo-seconds 10] [--keep]

At scale 70 with 3 rounds it took 12 minutes here with the databases kept by an earlier run (--keep)
and 16.5 minutes making them (about 4 minutes of that); ``--scale 2 --rounds 1 --rpo-seconds 3`` is a
smoke test of about 2 minutes (it replaces kept databases of another scale). Every method runs the cluster's own client
programs. On a shared 2-CPU machine the seconds move with background load: trust the ratios more.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from _data import create_database, gzip_ratio
from backup import (
    COLLECTIONS,
    MODULES,
    PYTHON,
    RUNBOOK_BACKUP,
    RUNBOOK_RESTORE,
    Bench,
    ScratchServer,
    bash,
    checked,
    libpq,
    psql,
    restored_database,
    run_module,
    stack_env,
)

REPO = Path(__file__).resolve().parents[1]
MARKERS = REPO / "tests" / "integration" / "targets" / "role_pitr" / "files" / "markers.py"
BARMAN = "/opt/jarvis-barman/bin/barman"
SUPERUSER = "postgres"
KINDS = ("pgbench", "realistic")
DATABASES = {"pgbench": "jarvis_bench_pitr", "realistic": "jarvis_bench_realistic"}
# a query of the data that must answer on the restored server
PROBES = {
    "pgbench": "SELECT count(*) FROM pgbench_branches",
    "realistic": "SELECT count(*) FROM (SELECT 1 FROM messages LIMIT 1000) AS m",
}
CEILING_BACKUP = "pg_basebackup -Ft -X none -D - > /dev/null"
RUNBOOK_RPO_SECONDS = 24 * 3600
SETTINGS = {"shared_buffers": "128MB", "max_wal_size": "1GB"}


def options(settings: dict[str, str]) -> str:
    """pg_ctl -o: every setting quoted (pg_ctl hands it to /bin/sh)."""
    return " ".join(f"-c {shlex.quote(f'{name}={value}')}" for name, value in settings.items())


def as_postgres(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    result = subprocess.run([*prefix, *command], capture_output=True, text=True, cwd="/", check=False)
    if check:
        checked(os.path.basename(command[0]), result)
    return result


class Cluster:
    """A throwaway PostgreSQL 15 primary on 127.0.0.1:<port> and a socket in its directory."""

    def __init__(self, path: str, port: int, bin_dir: str) -> None:
        self.path, self.port, self.bin_dir = path, port, bin_dir
        self.data = os.path.join(path, "data")
        self.conn = {**libpq(path, port, SUPERUSER), "PATH": os.pathsep.join([bin_dir, os.environ["PATH"]])}

    def bin(self, name: str) -> str:
        return os.path.join(self.bin_dir, name)

    def create(self) -> None:
        os.makedirs(self.path, exist_ok=True)
        os.chmod(self.path, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.path, "postgres", "postgres")
        as_postgres(
            self.bin("initdb"),
            *("-D", self.data, "-U", SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256"),
            *("--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"),
        )

    def running(self) -> bool:
        return as_postgres(self.bin("pg_ctl"), "status", "-D", self.data, check=False).returncode == 0

    def start(self) -> None:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": self.path,
            **SETTINGS,
        }
        log = os.path.join(self.path, "postgresql.log")
        as_postgres(self.bin("pg_ctl"), "start", "-w", "-t", "300", "-D", self.data, "-l", log, "-o", options(settings))

    def stop(self, mode: str = "fast") -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")) and self.running():
            as_postgres(self.bin("pg_ctl"), "stop", "-w", "-m", mode, "-D", self.data)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.path, ignore_errors=True)


class Barman:
    """The benchmark's Barman servers, set up by the pitr role; commands run as the role runs them."""

    def __init__(self, workdir: str, env: dict[str, Any]) -> None:
        self.env = env
        self.root = os.path.join(workdir, "pitr")
        self.home = os.path.join(self.root, "home")
        self.config = os.path.join(self.root, "etc", "barman.conf")
        self.playbook = os.path.join(workdir, "pitr-setup.json")
        self.secrets = os.path.join(workdir, "pitr-vars.json")
        self.servers: dict[str, str] = {}

    def server(self, kind: str) -> str:
        return f"bench-pitr-{self.env['pg_port']}-{kind}"

    def program(self, kind: str) -> str:
        return f"barman-receive-wal-{self.server(kind)}"

    def command(self, *args: str) -> list[str]:
        return ["runuser", "-u", "barman", "--", BARMAN, "-c", self.config, *args]

    def setup(self, clusters: dict[str, Cluster]) -> float:
        """The pitr role's setup for each cluster (a play each); seconds taken."""
        env = self.env
        common = {
            "ansible_python_interpreter": str(PYTHON),
            "pitr_replication_user": "jarvis_barman",
            "pitr_postgres_host": "127.0.0.1",
            "pitr_pg_bin_dir": env["pg_bin_dir"],
            # Barman 3.19.1 is in /opt/jarvis-barman already, and the role's install step would move the
            # shared barman user's home to this temp dir (usermod): Barman's directories are made here instead
            "pitr_install": False,
            "pitr_cron": False,
            "pitr_barman_home": self.home,
            "pitr_barman_config": self.config,
            "pitr_barman_config_dir": os.path.join(self.root, "etc", "barman.d"),
            "pitr_barman_log_dir": os.path.join(self.root, "log"),
            "pitr_streaming_service": "supervisor",
            "pitr_supervisor_conf_d": env["supervisor_conf_d"],
            "pitr_supervisor_config": env["supervisor_config"],
            "pitr_supervisor_server_url": env["supervisor_server_url"],
            "pitr_supervisorctl": env["supervisorctl"],
            "jarvis_service_manager": "supervisor",
            "jarvis_pg_host": "127.0.0.1",
            "pitr_reports_dir": os.path.join(self.root, "reports"),
            "jarvis_reports_dir": os.path.join(self.root, "reports"),
        }
        plays = [
            {
                "name": f"Point-in-time recovery for the benchmark's {kind} cluster",
                "hosts": "localhost",
                "connection": "local",
                "gather_facts": False,
                "module_defaults": {
                    "group/jarvis.maintenance.postgres": {
                        "login_unix_socket": cluster.path,
                        "login_port": cluster.port,
                        "login_user": SUPERUSER,
                    }
                },
                "vars": {
                    **common,
                    "pitr_server": self.server(kind),
                    "pitr_slot": f"bench_pitr_{kind}",
                    "pitr_postgres_port": cluster.port,
                },
                "tasks": [
                    {
                        "name": "Set up point-in-time recovery",
                        "ansible.builtin.include_role": {"name": "jarvis.maintenance.pitr", "tasks_from": "setup"},
                    }
                ],
            }
            for kind, cluster in clusters.items()
        ]
        for directory in (self.home, os.path.join(self.root, "log")):
            # as the role's install step makes them: Barman's user alone
            os.makedirs(directory, mode=0o750)
            shutil.chown(directory, "barman", "barman")
        with open(self.playbook, "w", encoding="utf-8") as handle:
            json.dump(plays, handle, indent=1)
        # the replication password: in a 0600 file, never on a command line
        fd = os.open(self.secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"pitr_replication_password": secrets.token_urlsafe(18)}, handle)
        ansible = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        )
        command = [
            str(REPO / ".venv" / "bin" / "ansible-playbook"),
            *("-i", "localhost,", "-e", f"@{self.secrets}", self.playbook),
        ]
        began = time.perf_counter()
        result = subprocess.run(command, cwd=REPO, env=ansible, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"the pitr role's setup failed (exit {result.returncode}):\n{result.stdout[-4000:]}")
        self.servers = {kind: self.server(kind) for kind in clusters}
        return time.perf_counter() - began

    def backup(self, kind: str) -> tuple[float, subprocess.CompletedProcess[str]]:
        """``barman backup --wait``, as roles/pitr/tasks/backup.yml runs it."""
        command = self.command("backup", "--wait", "--wait-timeout", "7200", self.server(kind))
        began = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd="/", check=False)
        return time.perf_counter() - began, result

    def newest_backup_dir(self, kind: str) -> str:
        base = os.path.join(self.home, self.server(kind), "base")
        return os.path.join(base, max(os.listdir(base)))

    def newest_backup_bytes(self, kind: str) -> int:
        return sum(
            os.path.getsize(os.path.join(folder, name))
            for folder, _dirs, files in os.walk(self.newest_backup_dir(kind))
            for name in files
        )

    def teardown(self) -> None:
        supervisorctl = [self.env["supervisorctl"], "-c", self.env["supervisor_config"]]
        for kind in self.servers:
            for action in ("stop", "remove"):
                subprocess.run([*supervisorctl, action, self.program(kind)], capture_output=True, check=False)
            conf = os.path.join(self.env["supervisor_conf_d"], f"jarvis-barman-{self.server(kind)}.conf")
            if os.path.exists(conf):
                os.unlink(conf)
        self.servers = {}


class PitrBench:
    def __init__(self, args: argparse.Namespace, env: dict[str, Any], workdir: str) -> None:
        self.args, self.env, self.workdir = args, env, workdir
        self.bin_dir = env["pg_bin_dir"]
        port = int(env["pg_port"])
        self.kept = os.path.join(env["stack_dir"], "bench-pitr")
        self.clusters = {
            "pgbench": Cluster(os.path.join(self.kept, "pgbench"), port + 20, self.bin_dir),
            "realistic": Cluster(os.path.join(self.kept, "realistic"), port + 21, self.bin_dir),
            "rpo": Cluster(os.path.join(workdir, "rpo"), port + 22, self.bin_dir),
        }
        self.recover_port = port + 23
        self.barman = Barman(workdir, env)
        self.scratch = ScratchServer(self.bin_dir, SUPERUSER)
        self.dumps = {kind: os.path.join(workdir, f"{kind}.sql.gz") for kind in KINDS}
        self.sets = {kind: os.path.join(workdir, f"sets-{kind}") for kind in KINDS}
        self.logical: dict[str, Bench] = {}
        self.round = 0
        self.made: list[str] = []

    # -- data -----------------------------------------------------------------------
    def ensure_cluster(self, kind: str) -> bool:
        """Starts the kind's cluster, made afresh unless a complete one of this scale is kept; True when reused."""
        cluster = self.clusters[kind]
        stamp = os.path.join(cluster.path, "bench-pitr-scale")
        wanted = f"{kind} {self.args.scale}\n"
        if os.path.exists(stamp) and Path(stamp).read_text(encoding="utf-8") == wanted:
            cluster.start()
            return True
        cluster.remove()
        cluster.create()
        cluster.start()
        database = DATABASES[kind]
        print(f"{kind}: making {database} at scale {self.args.scale} ...", file=sys.stderr, flush=True)
        if kind == "pgbench":
            psql(cluster.conn, "postgres", f"CREATE DATABASE {database}")
            command = ["pgbench", "-i", "-s", str(self.args.scale), "-q", database]
            subprocess.run(command, env=cluster.conn, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            pgbench_bytes = int(
                psql(self.clusters["pgbench"].conn, "postgres", "SELECT pg_database_size('jarvis_bench_pitr')")
            )
            create_database(cluster.conn, database, pgbench_bytes)
        psql(cluster.conn, "postgres", "CHECKPOINT")
        Path(stamp).write_text(wanted, encoding="utf-8")
        return False

    def make_rpo_cluster(self) -> None:
        cluster = self.clusters["rpo"]
        cluster.create()
        cluster.start()
        psql(cluster.conn, "postgres", "CREATE DATABASE pitr_markers")
        psql(cluster.conn, "postgres", "CREATE DATABASE pitr_bench")
        marker = (
            "CREATE TABLE pitr_marker (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        psql(cluster.conn, "pitr_markers", marker)
        command = ["pgbench", "-i", "-s", "5", "-q", "pitr_bench"]
        subprocess.run(command, env=cluster.conn, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def drop_slots(self) -> None:
        """A kept cluster's slot of an earlier run would hold WAL for a Barman that is gone."""
        for kind in KINDS:
            cluster = self.clusters[kind]
            if cluster.running():
                psql(
                    cluster.conn,
                    "postgres",
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active",
                )

    def setup(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        for kind in KINDS:
            facts[f"{kind} reused"] = self.ensure_cluster(kind)
            database = DATABASES[kind]
            facts[f"{kind} bytes"] = int(
                psql(self.clusters[kind].conn, "postgres", f"SELECT pg_database_size('{database}')")
            )
        self.drop_slots()
        self.make_rpo_cluster()
        print("setting up Barman with the pitr role ...", file=sys.stderr, flush=True)
        facts["setup seconds"] = self.barman.setup(self.clusters)
        _seconds, result = self.barman.backup("rpo")
        checked("barman backup (rpo)", result)
        for kind in KINDS:
            cluster = self.clusters[kind]
            fake_env = {
                "pg_socket_dir": cluster.path,
                "pg_port": cluster.port,
                "pg_superuser": SUPERUSER,
                "pg_bin_dir": self.bin_dir,
            }
            self.logical[kind] = Bench(self.args, fake_env, self.workdir)
            self.logical[kind].backup_into_set(self.sets[kind], {"databases": [DATABASES[kind]], "globals": False})
        return facts

    # -- base backup ----------------------------------------------------------------
    def runbook_backup(self, kind: str) -> dict[str, Any]:
        seconds, result = bash(RUNBOOK_BACKUP, self.clusters[kind].conn, self.dumps[kind])
        checked("pg_dumpall | gzip", result)
        return {"seconds": seconds, "size": os.path.getsize(self.dumps[kind]), "note": "exit 0"}

    def barman_backup(self, kind: str) -> dict[str, Any]:
        seconds, result = self.barman.backup(kind)
        checked(f"barman backup {self.barman.server(kind)}", result)
        size = self.barman.newest_backup_bytes(kind)
        return {"seconds": seconds, "size": size, "note": "zstd, 2 workers; base backup + the WAL it needs"}

    def ceiling_backup(self, kind: str) -> dict[str, Any]:
        seconds, result = bash(CEILING_BACKUP, self.clusters[kind].conn)
        checked("pg_basebackup > /dev/null", result)
        return {"seconds": seconds, "note": "uncompressed tar to /dev/null"}

    # -- restore --------------------------------------------------------------------
    def runbook_restore(self, kind: str) -> dict[str, Any]:
        scratch = {**self.scratch.start(), "PATH": self.clusters[kind].conn["PATH"]}
        try:
            fresh = f"jarvis_bench_fresh_{self.round}"
            psql(scratch, "postgres", f"CREATE DATABASE {fresh}")
            seconds, result = bash(RUNBOOK_RESTORE, scratch, self.dumps[kind], fresh)
            errors = [line for line in result.stderr.splitlines() if "ERROR:" in line]
            answer = psql(scratch, DATABASES[kind], PROBES[kind])
        finally:
            self.scratch.stop()
        note = f"exit {result.returncode}; {len(errors)} ERROR lines; probe answered {answer}"
        return {"seconds": seconds, "note": note}

    def barman_restore(self, kind: str) -> dict[str, Any]:
        destination = os.path.join(self.workdir, f"recovered-{kind}-{self.round}")
        run_dir = tempfile.mkdtemp(prefix="run-", dir=self.workdir)
        os.chmod(run_dir, 0o755)
        shutil.chown(run_dir, "postgres", "postgres")
        recovered = Cluster(run_dir, self.recover_port, self.bin_dir)
        recovered.data = destination
        args = {
            "server": self.barman.server(kind),
            "barman_config": self.barman.config,
            "barman_path": BARMAN,
            "destination": destination,
            "bin_dir": self.bin_dir,
            "verify": False,
        }
        try:
            recover_seconds, out = run_module("barman_recover", args, self.workdir)
            hba = os.path.join(run_dir, "pg_hba.conf")
            with open(hba, "w", encoding="utf-8") as handle:
                handle.write("local all all trust\n")
            settings = {
                "port": str(self.recover_port),
                "listen_addresses": "",
                "unix_socket_directories": run_dir,
                "hba_file": hba,
                "archive_mode": "off",
                **SETTINGS,
            }
            began = time.perf_counter()
            log = os.path.join(run_dir, "server.log")
            as_postgres(
                self.bin_dir + "/pg_ctl",
                "start",
                "-w",
                "-t",
                "600",
                "-D",
                destination,
                "-l",
                log,
                "-o",
                options(settings),
            )
            while psql(recovered.conn, "postgres", "SELECT pg_is_in_recovery()") != "f":
                time.sleep(0.05)
            answer = psql(recovered.conn, DATABASES[kind], PROBES[kind])
            start_seconds = time.perf_counter() - began
        finally:
            recovered.stop("immediate")
            shutil.rmtree(destination, ignore_errors=True)
            shutil.rmtree(run_dir, ignore_errors=True)
        plan = out["plan"]
        note = (
            f"recover {recover_seconds:.1f} s ({plan['wal_files']} WAL files) + start until promoted "
            f"{start_seconds:.1f} s; probe answered {answer}"
        )
        return {"seconds": recover_seconds + start_seconds, "note": note}

    def ceiling_restore(self, kind: str) -> dict[str, Any]:
        """The extraction barman recover runs (tar with zstd) of the newest base backup, alone."""
        backup = self.barman.newest_backup_dir(kind)
        archive = os.path.join(backup, "data", "base.tar.zst")
        destination = tempfile.mkdtemp(prefix=f"extract-{kind}-", dir=self.workdir)
        try:
            seconds, result = bash('zstd -dc "$1" | tar -xf - -C "$2"', self.clusters[kind].conn, archive, destination)
            checked("zstd -dc | tar -x", result)
        finally:
            shutil.rmtree(destination, ignore_errors=True)
        return {"seconds": seconds, "note": f"{os.path.getsize(archive):,} bytes of zstd; no WAL, no start"}

    def logical_restore(self, kind: str) -> dict[str, Any]:
        database = DATABASES[kind]
        # into a fresh throwaway cluster like the runbook's (restoring into the backed-up cluster would
        # add a gigabyte of WAL that the next barman_recover has to replay)
        scratch = self.scratch.start()
        login = {
            "login_unix_socket": scratch["PGHOST"],
            "login_port": int(scratch["PGPORT"]),
            "login_user": SUPERUSER,
            "bin_dir": self.bin_dir,
        }
        args = {"path": self.sets[kind], "checksums": False, "decode": False, "restore_test": True}
        try:
            seconds, out = run_module("backup_verify", {**args, "scratch_dir": self.workdir, **login}, self.workdir)
        finally:
            self.scratch.stop()
        restored = restored_database(out, database)
        note = (
            f"{restored['tables']} tables, {restored['rows']:,} rows = manifest; the module's whole run {seconds:.1f} s"
        )
        return {"seconds": restored["restore_seconds"], "note": note}

    # -- RPO ------------------------------------------------------------------------
    def wait_streaming(self, timeout: float = 180) -> None:
        cluster = self.clusters["rpo"]
        deadline = time.monotonic() + timeout
        sql = "SELECT count(*) FROM pg_replication_slots WHERE active"
        while psql(cluster.conn, "postgres", sql) != "1":
            if time.monotonic() > deadline:
                raise RuntimeError("WAL does not stream to Barman again after the crash")
            time.sleep(0.5)

    def rpo(self) -> dict[str, Any]:
        cluster = self.clusters["rpo"]
        self.wait_streaming()
        # this round's markers only, numbered from 1 (a crash makes a sequence skip up to 32 values)
        psql(cluster.conn, "pitr_markers", "TRUNCATE pitr_marker RESTART IDENTITY")
        command = [
            str(PYTHON),
            str(MARKERS),
            "crash",
            *("--socket", cluster.path, "--port", str(cluster.port), "--pgdata", cluster.data),
            *("--database", "pitr_markers", "--bench-database", "pitr_bench"),
            *("--pgbench", os.path.join(self.bin_dir, "pgbench"), "--seconds", str(self.args.rpo_seconds)),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        checked("markers.py crash", result)
        crash = json.loads(result.stdout)
        args = {
            "server": self.barman.server("rpo"),
            "barman_config": self.barman.config,
            "barman_path": BARMAN,
            "destination": os.path.join(self.workdir, f"recovered-rpo-{self.round}"),
            "bin_dir": self.bin_dir,
            "verify": False,
            "start_port": self.recover_port,
            "queries": [
                {"database": "pitr_markers", "sql": "SELECT count(*), max(id), max(at)::text FROM pitr_marker"}
            ],
            "remove": True,
        }
        try:
            _seconds, out = run_module("barman_recover", args, self.workdir)
        finally:
            cluster.start()  # crash recovery; the receiver comes back under supervisor
        count, last_id, last_at = out["server"]["queries"][0][0]
        committed_at = datetime.datetime.fromisoformat(crash["last_committed_at"])
        recovered_at = datetime.datetime.fromisoformat(last_at)
        lost = crash["last_committed_id"] - last_id
        seconds = (committed_at - recovered_at).total_seconds()
        sound = "no gap" if count == last_id and lost >= 0 else f"GAP: {count} rows up to id {last_id}"
        note = f"{crash['markers']} markers under load; {lost} committed marker(s) lost; recovered rows: {sound}"
        return {"seconds": seconds, "lost": lost, "note": note}

    def cleanup(self) -> None:
        self.scratch.stop()
        self.barman.teardown()
        self.clusters["rpo"].remove()
        for kind in KINDS:
            cluster = self.clusters[kind]
            if self.args.keep:
                self.drop_slots()
                cluster.stop()
            else:
                cluster.remove()
        if not self.args.keep and os.path.isdir(self.kept) and not os.listdir(self.kept):
            os.rmdir(self.kept)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=int, default=70, help="pgbench scale (70: about 1 GB); the realistic data matches its size"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--rpo-seconds", type=float, default=10.0, help="seconds of load and markers before each kill -9"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the two data clusters (stopped) for the next run at this scale"
    )
    args = parser.parse_args()
    if not MODULES.is_dir():
        parser.error(f"{MODULES} is missing: run `make collection` first")
    if not os.path.exists(BARMAN):
        parser.error(f"{BARMAN} is missing: run the pitr role's setup once (it installs Barman there)")
    env = stack_env()
    workdir = tempfile.mkdtemp(prefix="pitr-bench-")
    os.chmod(workdir, 0o755)  # Barman's and PostgreSQL's users go through it
    bench = PitrBench(args, env, workdir)
    began = time.monotonic()
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    steps: dict[str, dict[str, Callable[[], dict[str, Any]]]] = {}
    for kind in KINDS:
        steps[f"base backup|{kind}"] = {
            "runbook: pg_dumpall | gzip": lambda kind=kind: bench.runbook_backup(kind),
            "barman backup --wait (pitr role)": lambda kind=kind: bench.barman_backup(kind),
            "ceiling: pg_basebackup -Ft > /dev/null": lambda kind=kind: bench.ceiling_backup(kind),
        }
    for kind in KINDS:
        steps[f"restore|{kind}"] = {
            "runbook: gunzip -c | psql": lambda kind=kind: bench.runbook_restore(kind),
            "barman_recover + pg_ctl start until promoted": lambda kind=kind: bench.barman_restore(kind),
            "pg_restore of our logical set (backup_verify)": lambda kind=kind: bench.logical_restore(kind),
            "ceiling: zstd -dc base.tar.zst | tar -x": lambda kind=kind: bench.ceiling_restore(kind),
        }
    steps["RPO|pgbench -s 5 + markers"] = {"kill -9, barman_recover --partial-wal": bench.rpo}
    results: dict[tuple[str, str], list[dict[str, Any]]] = {
        (step, name): [] for step, methods in steps.items() for name in methods
    }
    try:
        facts = bench.setup()
        ratio = gzip_ratio()
        for round_no in range(args.rounds):
            bench.round = round_no + 1
            for step, methods in steps.items():
                names = list(methods)
                shift = round_no % len(names)
                for name in names[shift:] + names[:shift]:
                    row = methods[name]()
                    results[(step, name)].append(row)
                    print(f"round {bench.round} {step} {name}: {row['seconds']:.2f} s; {row['note']}", file=sys.stderr)
    finally:
        bench.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    minutes = (time.monotonic() - began) / 60
    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nnproc: {len(os.sched_getaffinity(0))}; load average at the start: {load_before}; at the end: {load_after}"
    )
    print(
        f"pgbench scale {args.scale}: {DATABASES['pgbench']} {facts['pgbench bytes']:,} bytes; realistic: "
        f"{DATABASES['realistic']} {facts['realistic bytes']:,} bytes (its COPY text gzips {ratio:.2f}x); "
        f"medians of {args.rounds} interleaved rounds; {minutes:.1f} min in all (the pitr role's setup "
        f"{facts['setup seconds']:.0f} s; data {'reused' if facts['pgbench reused'] else 'made'}).\n"
    )
    print("| step | data | method | median s | speed-up vs runbook | output bytes | notes (last round) |")
    print("|---|---|---|---:|---:|---:|---|")
    med: dict[tuple[str, str], float] = {}
    for step, methods in steps.items():
        base = None
        what, data = step.split("|")
        for name in methods:
            rows = results[(step, name)]
            seconds = med[(step, name)] = statistics.median(row["seconds"] for row in rows)
            base = base or seconds
            size = f"{statistics.median(row['size'] for row in rows):,.0f}" if "size" in rows[0] else ""
            speed = f"{base / seconds:.2f}x" if what != "RPO" else ""
            cells = [what, data, name.replace("|", "\\|"), f"{seconds:.2f}", speed, size]
            print("| " + " | ".join([*cells, rows[-1]["note"].replace("|", "\\|")]) + " |")
    print(
        f"| RPO | (schedule) | runbook: nightly pg_dumpall | {RUNBOOK_RPO_SECONDS:,} | 1.00x | | "
        "up to 24 h of work lost (the schedule, not measured) |"
    )

    def goal(label: str, met: bool, detail: str) -> None:
        print(f"- {label}: {detail} → {'MET' if met else 'NOT MET'}")

    print()
    rpo_rows = results[("RPO|pgbench -s 5 + markers", "kill -9, barman_recover --partial-wal")]
    rpo = statistics.median(row["seconds"] for row in rpo_rows)
    lost = statistics.median(row["lost"] for row in rpo_rows)
    goal(
        "RPO ≤ 5 s under load",
        rpo <= 5,
        f"median {rpo:.2f} s, {lost:g} marker(s) lost (worst {max(r['seconds'] for r in rpo_rows):.2f} s)",
    )
    for kind in KINDS:
        runbook = med[(f"restore|{kind}", "runbook: gunzip -c | psql")]
        ours = med[(f"restore|{kind}", "barman_recover + pg_ctl start until promoted")]
        ceiling = med[(f"restore|{kind}", "ceiling: zstd -dc base.tar.zst | tar -x")]
        goal(
            f"restore ≥ 3x faster than the runbook ({kind})",
            runbook / ours >= 3,
            f"{runbook / ours:.2f}x ({ours:.2f} s vs {runbook:.2f} s; the extraction alone {ceiling:.2f} s = "
            f"{runbook / ceiling:.2f}x)",
        )
    runbook = med[("base backup|pgbench", "runbook: pg_dumpall | gzip")]
    ours = med[("base backup|pgbench", "barman backup --wait (pitr role)")]
    ceiling = med[("base backup|pgbench", "ceiling: pg_basebackup -Ft > /dev/null")]
    goal(
        "base backup ≤ the runbook's time (pgbench)",
        ours <= runbook,
        f"{ours:.2f} s vs {runbook:.2f} s (ceiling {ceiling:.2f} s)",
    )
    runbook = med[("base backup|realistic", "runbook: pg_dumpall | gzip")]
    ours = med[("base backup|realistic", "barman backup --wait (pitr role)")]
    ceiling = med[("base backup|realistic", "ceiling: pg_basebackup -Ft > /dev/null")]
    goal(
        "base backup ≥ 3x faster than the runbook (realistic)",
        runbook / ours >= 3,
        f"{runbook / ours:.2f}x ({ours:.2f} s vs {runbook:.2f} s; ceiling {ceiling:.2f} s = {runbook / ceiling:.2f}x)",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
