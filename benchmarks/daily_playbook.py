"""Benchmark: wall time of playbooks/daily.yml on one host of the local stack.

Runs ``ansible-playbook -i inventories/local playbooks/daily.yml`` several times against the
running local stack (``make stack-up`` first; JARVIS_STACK_DIR and the port variables pick
another stack) with the ansible.posix.profile_tasks callback, and prints a Markdown table: the
median wall time, the number of tasks run, and the five slowest tasks (median of their times).
The first run of a day takes the daily backup set; later runs skip it (a set younger than
20 h exists), so the first run is reported apart (saying whether it took a set) and the
medians are over the others.

    .venv/bin/python benchmarks/daily_playbook.py [--runs 4]

The goal the project set is 20 s per run. Nothing is asserted: timings are printed, never
tested, and they move with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# "role : task name ----- 1.23s" lines of profile_tasks' summary
TASK_TIME = re.compile(r"^(?P<name>.+?) -{3,} (?P<seconds>\d+\.\d+)s$")
RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)\s+skipped=(\d+)")


def run_once() -> tuple[float, dict[str, float], int]:
    env = dict(
        os.environ,
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
        PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
    )
    command = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/local", "playbooks/daily.yml"]
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"daily.yml failed (exit {result.returncode}):\n{result.stdout[-3000:]}")
    tasks: dict[str, float] = {}
    for line in result.stdout.splitlines():
        match = TASK_TIME.match(line.strip())
        if match:
            tasks[match.group("name").strip()] = tasks.get(match.group("name").strip(), 0.0) + float(
                match.group("seconds")
            )
    recap = RECAP.search(result.stdout)
    # tasks that ran or were skipped on the one host (ok includes changed)
    count = int(recap.group(1)) + int(recap.group(4)) if recap else len(tasks)
    return wall, tasks, count


def backup_sets() -> set[str]:
    """The stack's backup sets (the local inventory keeps them in <stack>/backups)."""
    backups = Path(os.environ.get("JARVIS_STACK_DIR", str(REPO / ".stack"))) / "backups"
    return {path.name for path in backups.glob("jarvis-*")} if backups.is_dir() else set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="runs in all (the first is reported apart)")
    args = parser.parse_args()
    before = backup_sets()
    runs = [run_once()]
    took_set = bool(backup_sets() - before)
    runs += [run_once() for _attempt in range(max(args.runs, 2) - 1)]
    first, rest = runs[0], runs[1:]
    walls = [wall for wall, _tasks, _count in rest]
    per_task: dict[str, list[float]] = defaultdict(list)
    for _wall, tasks, _count in rest:
        for name, seconds in tasks.items():
            per_task[name].append(seconds)
    slowest = sorted(((statistics.median(values), name) for name, values in per_task.items()), reverse=True)[:5]
    median = statistics.median(walls)
    print(f"daily.yml on one host of the local stack, {len(rest)} runs after a first one\n")
    print("| measure | value |")
    print("|---|---|")
    what = "took the day's backup set" if took_set else "took no set: one younger than 20 h was there"
    print(f"| first run ({what}) | {first[0]:.1f} s |")
    print(f"| median wall time, later runs | {median:.1f} s (goal 20 s: ratio {median / 20:.2f}) |")
    print(f"| tasks per run (ok + skipped) | {statistics.median(count for _w, _t, count in rest):.0f} |")
    print("\nSlowest five tasks (median seconds):\n")
    print("| task | seconds |")
    print("|---|---|")
    for seconds, name in slowest:
        print(f"| {name.replace('|', '/')} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
