"""Benchmark: deleting every key that matches ``*expired*`` from a Redis holding 1,000,000 keys.

Compares the runbook's pipeline (``redis-cli --scan --pattern "*expired*" | xargs -r redis-cli del``)
with jarvis.maintenance's ``delete_matching`` (one SCAN walk, one ``UNLINK k1..kN`` per batch) at
one or more batch sizes. For each method it measures the wall time, checks the result (every
non-matching key survives, nothing else does), runs a PING probe on its own connection (one PING
about every 1 ms) to see how long other clients wait, and reads the server's own view: the slowest
command (latency monitor, whole ms) and the mean time of one DEL/UNLINK (commandstats).

Data go to a private, password-less redis-server started on 127.0.0.1 in a temp dir (never the
local stack's Redis), reloaded with ``redis-cli --pipe`` before each method; methods run in turn,
interleaved over the rounds, in a rotating order. Prints a Markdown table of medians.

    .venv/bin/python benchmarks/redis_delete.py [--keys 1000000] [--matching 300000] [--rounds 3]
        [--batch-sizes 250,500] [--probe process|thread]

Absolute numbers move with the machine's background load (on a shared 2-CPU VM it once flipped the
ranking): compare interleaved runs on a quiet machine and trust the ratios more than the seconds.
The probe runs in its own process by default: a probe thread would share the GIL with the
in-process module and charge it GIL waits (up to the 5 ms switch interval) as server stalls.
On a 2-CPU machine the probe's max also includes OS scheduling (server, client and probe
compete): the server-side columns are the steadier measure of how long the server blocks.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import redis

# The Makefile links .build/collections/ansible_collections/jarvis/maintenance to this repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".build" / "collections"))
from ansible_collections.jarvis.maintenance.plugins.module_utils._redis._maintenance import (
    delete_matching,
)

HOST = "127.0.0.1"
PATTERN = "*expired*"
# The runbook's pipeline, verbatim but for the host and port, passed as $1 and $2.
RUNBOOK = (
    'set -o pipefail; redis-cli -h "$1" -p "$2" --scan --pattern "*expired*" | xargs -r redis-cli -h "$1" -p "$2" del'
)


def free_port(candidates: range) -> int:
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {candidates}")


def start_server(port: int, workdir: str) -> subprocess.Popen[bytes]:
    options = f"--port {port} --bind {HOST} --appendonly no --latency-monitor-threshold 1 --daemonize no"
    logfile = os.path.join(workdir, "redis.log")
    command = ["redis-server", *options.split(), "--save", "", "--dir", workdir, "--logfile", logfile]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    client = redis.Redis(host=HOST, port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {workdir}/redis.log") from None
            time.sleep(0.05)


def make_keys(total: int, matching: int) -> tuple[list[bytes], list[bytes]]:
    """Matching keys, and non-matching ones: mostly session:active, plus look-alikes that must survive."""
    others = total - matching
    lookalikes = others // 10
    match = [b"session:expired:%d" % n for n in range(matching)]
    keep = [b"EXPIRED:%d" % n for n in range(lookalikes)] + [b"expire:%d" % n for n in range(lookalikes)]
    keep += [b"session:active:%d" % n for n in range(others - 2 * lookalikes)]
    return match, keep


def resp_payload(keys: list[bytes]) -> bytes:
    return b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n" % (len(key), key) for key in keys)


def load(client: redis.Redis, port: int, payload: bytes, total: int) -> None:
    client.flushall()
    command = ["redis-cli", "-h", HOST, "-p", str(port), "--pipe"]
    result = subprocess.run(command, input=payload, capture_output=True, check=False)
    if result.returncode != 0 or b"errors: 0" not in result.stdout or client.dbsize() != total:
        raise RuntimeError(f"load failed: {result.stdout[-200:]!r} {result.stderr[-200:]!r}")


def verify(client: redis.Redis, keep: list[bytes]) -> str | None:
    """None when exactly the non-matching keys are left, else what is wrong."""
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(keep), 1000):
        pipe.exists(*keep[start : start + 1000])
    present, size = sum(pipe.execute()), client.dbsize()
    if present != len(keep):
        return f"{len(keep) - present} non-matching keys lost"
    if size != len(keep):
        return f"{size - len(keep)} matching keys left"
    return None


def probe_loop(port: int, stop: Any, conn: Any) -> None:
    client = redis.Redis(host=HOST, port=port)
    client.ping()
    conn.send("ready")
    latencies: list[float] = []
    while not stop.is_set():
        began = time.perf_counter()
        client.ping()
        latencies.append((time.perf_counter() - began) * 1000)
        time.sleep(0.001)
    conn.send(latencies)


class Probe:
    """PING about every 1 ms on a separate connection, in a process (default) or a thread."""

    def __init__(self, port: int, mode: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.stop = ctx.Event() if mode == "process" else threading.Event()
        worker_class = ctx.Process if mode == "process" else threading.Thread
        self.worker = worker_class(target=probe_loop, args=(port, self.stop, child), daemon=True)

    def __enter__(self) -> Probe:
        self.worker.start()
        self.conn.recv()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.latencies: list[float] = sorted(self.conn.recv())
        self.worker.join()

    def stats(self) -> tuple[float, float, float]:
        lat = self.latencies or [0.0]
        return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], lat[-1]


def server_stats(client: redis.Redis) -> tuple[float, float]:
    """Server side, free of client scheduling noise: the slowest command (latency monitor, whole ms,
    0 when none took 1 ms) and the mean DEL/UNLINK time in ms, since the last reset."""
    events = client.execute_command("LATENCY", "LATEST")
    slowest = max((float(event[3]) for event in events if event[0] in (b"command", b"fast-command")), default=0.0)
    stats = client.info("commandstats")
    calls = [stats[name] for name in ("cmdstat_del", "cmdstat_unlink") if name in stats]
    usec = sum(c["usec"] for c in calls) / max(1, sum(c["calls"] for c in calls))
    return slowest, usec / 1000


def run_runbook(port: int) -> int | None:
    """Returns None: the pipeline reports no count (DBSIZE tells)."""
    subprocess.run(["bash", "-c", RUNBOOK, "runbook", HOST, str(port)], stdout=subprocess.DEVNULL, check=True)
    return None


def module_runner(batch_size: int) -> Callable[[int], int | None]:
    def run(port: int) -> int | None:
        """Returns the count delete_matching reports."""
        client = redis.Redis(host=HOST, port=port, socket_timeout=120)
        client.ping()
        result = delete_matching(client, PATTERN, batch_size=batch_size)
        if result.get("stopped_by") is not None:
            raise RuntimeError(f"delete_matching stopped early: {result}")
        return result["deleted_keys"]

    return run


def median_row(name: str, rows: list[dict[str, Any]], base: float | None) -> tuple[float, float, float, bool]:
    deleted = sorted({row["deleted"] for row in rows})
    seconds = statistics.median(row["seconds"] for row in rows)
    rate = statistics.median(row["deleted"] / row["seconds"] for row in rows)
    p50, p99, pmax = (statistics.median(row["probe"][i] for row in rows) for i in range(3))
    slowest, per_call = (statistics.median(row["server"][i] for row in rows) for i in range(2))
    errors = [row["error"] for row in rows if row["error"]]
    label = f"{name} **WRONG in {len(errors)}/{len(rows)} rounds: {errors[0]}**" if errors else name
    ratio = f"{rate / base:.2f}x" if base else "1.00x"
    shown = "-".join(f"{n:,}" for n in deleted)
    print(
        f"| {label} | {shown} | {seconds:.3f} | {rate:,.0f} | {ratio} | {p50:.2f} | {p99:.2f} | {pmax:.2f} "
        f"| {slowest:.0f} | {per_call:.2f} |"
    )
    return rate, pmax, slowest, bool(errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--matching", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", default="250,500", help="comma-separated delete_matching batch sizes")
    parser.add_argument("--probe", choices=["process", "thread"], default="process")
    parser.add_argument("--port", type=int, help="port for the private redis-server (default: free one in 26390-9)")
    args = parser.parse_args()
    if not 0 < args.matching < args.keys:
        parser.error("need 0 < --matching < --keys")

    match, keep = make_keys(args.keys, args.matching)
    payload = resp_payload(match + keep)
    methods: dict[str, Callable[[int], int | None]] = {"runbook (scan, xargs del)": run_runbook}
    for size in (int(s) for s in args.batch_sizes.split(",") if s.strip()):
        methods[f"module (batch {size})"] = module_runner(size)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in methods}

    workdir = tempfile.mkdtemp(prefix="redis-delete-bench-")
    server = None
    try:
        port = args.port or free_port(range(26390, 26400))
        server = start_server(port, workdir)
        client = redis.Redis(host=HOST, port=port, socket_timeout=120)
        names = list(methods)
        for round_no in range(args.rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                load(client, port, payload, args.keys)
                client.execute_command("LATENCY", "RESET")
                client.config_resetstat()
                with Probe(port, args.probe) as probe:
                    began = time.perf_counter()
                    reported = methods[name](port)
                    seconds = time.perf_counter() - began
                server_side = server_stats(client)
                deleted = args.keys - client.dbsize()
                error = verify(client, keep)
                if error is None and reported is not None and reported != deleted:
                    error = f"reported {reported:,} deleted, {deleted:,} gone"
                row = {"seconds": seconds, "deleted": deleted, "error": error, "server": server_side}
                results[name].append({**row, "probe": probe.stats()})
                print(f"round {round_no + 1} {name}: {seconds:.3f} s, {deleted:,} deleted", file=sys.stderr)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nnproc: {len(os.sched_getaffinity(0))}; rounds: {args.rounds}; load average at the end: {load_avg}")
    print(f"{args.keys:,} keys, {args.matching:,} matching `{PATTERN}`; probe in a {args.probe}; medians of rounds.\n")
    print(
        "| method | keys deleted | median seconds | keys/s (median) | ratio vs runbook (throughput) "
        "| probe p50 ms | probe p99 ms | probe max ms | server slowest cmd ms | server ms per DEL/UNLINK |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base_rate, base_max, base_slowest, _base_wrong = median_row(names[0], results[names[0]], None)
    verdicts = []
    for name in names[1:]:
        rate, pmax, slowest, wrong = median_row(name, results[name], base_rate)
        met = not wrong and rate >= 1.2 * base_rate and pmax <= base_max / 2
        verdicts.append(
            f"- {name}: {rate / base_rate:.2f}x throughput (goal ≥ 1.2x), probe max {pmax:.2f} ms vs "
            f"{base_max:.2f} ms (goal ≤ {base_max / 2:.2f}), correct: {not wrong} → goals "
            f"{'MET' if met else 'NOT met'} (server slowest command {slowest:.0f} ms vs {base_slowest:.0f} ms)"
        )
    print("\n" + "\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
