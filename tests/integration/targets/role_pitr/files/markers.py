# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Markers under load, for the pitr tests: one row every 100 ms into pitr_marker (clock_timestamp()
at commit) while pgbench writes beside it; prints a JSON line.

  markers.py target ... : then picks a target time halfway between two markers in the middle and
                          prints it with the number and the last id of the markers before it.
  markers.py crash ...  : then kill -9 the postmaster right after a commit returned, and prints the
                          id of the last marker whose commit was acknowledged.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import time

import psycopg2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["target", "crash"])
    parser.add_argument("--socket", required=True)
    parser.add_argument("--port", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--bench-database", required=True)
    parser.add_argument("--pgbench", required=True)
    parser.add_argument("--pgdata", default="")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    load = subprocess.Popen(
        [
            args.pgbench,
            "-h",
            args.socket,
            "-p",
            args.port,
            "-U",
            "postgres",
            "-n",
            "-c",
            "2",
            "-T",
            str(int(args.seconds) + 3),
            args.bench_database,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = psycopg2.connect(host=args.socket, port=args.port, user="postgres", dbname=args.database)
    conn.autocommit = True
    markers: list[tuple[int, datetime.datetime]] = []
    time.sleep(0.5)  # pgbench connected and writing
    end = time.monotonic() + args.seconds
    with conn.cursor() as cursor:
        while time.monotonic() < end:
            cursor.execute("INSERT INTO pitr_marker DEFAULT VALUES RETURNING id, at")
            markers.append(cursor.fetchone())
            time.sleep(0.1)
        if args.mode == "crash":
            cursor.execute("INSERT INTO pitr_marker DEFAULT VALUES RETURNING id, at")
            markers.append(cursor.fetchone())
            with open(os.path.join(args.pgdata, "postmaster.pid"), encoding="utf-8") as handle:
                postmaster = int(handle.readline())
            os.kill(postmaster, signal.SIGKILL)
            killed_at = datetime.datetime.now(datetime.timezone.utc)
    if args.mode == "crash":
        load.kill()
        load.wait()
        print(
            json.dumps(
                {
                    "markers": len(markers),
                    "last_committed_id": markers[-1][0],
                    "last_committed_at": markers[-1][1].isoformat(),
                    "killed_at": killed_at.isoformat(),
                }
            )
        )
        return
    conn.close()
    load.wait()
    middle = len(markers) // 2
    before_at, after_at = markers[middle - 1][1], markers[middle][1]
    target = before_at + (after_at - before_at) / 2
    print(
        json.dumps(
            {
                "markers": len(markers),
                "before": middle,
                "last_id_before": markers[middle - 1][0],
                "first_id_after": markers[middle][0],
                "target": target.isoformat(),
                "pgbench_rc": load.returncode,
            }
        )
    )


if __name__ == "__main__":
    main()
