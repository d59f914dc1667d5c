# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The same host, two ways: node_exporter, postgres_exporter and redis_exporter series in OpenMetrics
(for promtool tsdb create-blocks-from openmetrics) and the daily metrics documents the daily run
would have written from the same values at the same times.

series.py OUT_DIR HOST DAYS [SAMPLE_TIME]

Writes OUT_DIR/series.om and OUT_DIR/metrics/HOST/metrics-YYYY-MM-DD.json, one document a day at
SAMPLE_TIME (HH:MM UTC; default three hours ago, on a 5-minute mark, so that the series end before
the data Prometheus keeps in memory) for the DAYS days ending today (none for a time still to
come), and the series every 5 minutes from an hour before the first document to half an hour after
the last. Prints the sample time and the counts as JSON. Memory rises 1.5 points a day from 60 %,
disk 0.5 a day from 40 %, PostgreSQL connections 1 a day from 20 of 100, Redis memory 1 point a day
from 30 % of 1 GiB; load stays at 0.3 per core (1.2 on 4 CPUs).
"""

from __future__ import annotations

import datetime
import json
import os
import sys

STEP = 300
GIB = 1024**3
MEM_TOTAL = 8 * GIB
FS_SIZE = 100 * 10**9
FS_RESERVED = 5 * 10**9
REDIS_MAX = GIB
CPUS = 4


def values(days: float) -> dict[str, float]:
    """The host's state `days` after the window's first sample (integers where the exporters give bytes)."""
    memory = 60 + 1.5 * days
    disk = 40 + 0.5 * days
    avail = int((FS_SIZE - FS_RESERVED) * (1 - disk / 100))
    return {
        "mem_available": int(MEM_TOTAL * (1 - memory / 100)),
        "fs_avail": avail,
        "fs_free": avail + FS_RESERVED,
        "load_1": 1.0,
        "load_5": 1.2,
        "load_15": 1.4,
        "pg_active": float(int(5 + days)),
        "pg_idle": 15.0,
        "pg_size": float(int(200e6 + 10e6 * days)),
        "redis_used": float(int(REDIS_MAX * (30 + days) / 100)),
        "redis_clients": 5.0,
    }


def main() -> int:
    out, host, days = sys.argv[1], sys.argv[2], int(sys.argv[3])
    now = datetime.datetime.now(datetime.timezone.utc)
    earlier = now - datetime.timedelta(hours=3)
    at = sys.argv[4] if len(sys.argv) > 4 else f"{earlier.hour:02d}:{earlier.minute - earlier.minute % 5:02d}"
    hour, minute = (int(part) for part in at.split(":"))
    today = now.date()
    first = datetime.datetime.combine(
        today - datetime.timedelta(days=days - 1), datetime.time(hour, minute), datetime.timezone.utc
    )
    start = first - datetime.timedelta(hours=1)
    last = max(moment for moment in (first + datetime.timedelta(days=i) for i in range(days)) if moment <= now)
    end = min(now, last + datetime.timedelta(minutes=30))
    node = f'instance="{host}:9100",job="node"'
    twin = f'instance="{host}-twin:9100",job="node"'
    pg = f'instance="{host}:9187",job="postgres"'
    redis = f'instance="{host}:9121",job="redis"'
    stamps = [start.timestamp() + STEP * index for index in range(int((end - start).total_seconds() // STEP) + 1)]
    families: dict[str, tuple[str, list[tuple[str, list[str]]]]] = {}

    def add(family: str, kind: str, name: str, labels: str, stamp: float, value: float) -> None:
        series = families.setdefault(family, (kind, []))[1]
        for known, lines in series:
            if known == f"{name}{{{labels}}}":
                lines.append(f"{name}{{{labels}}} {value!r} {stamp:.0f}")
                return
        series.append((f"{name}{{{labels}}}", [f"{name}{{{labels}}} {value!r} {stamp:.0f}"]))

    for stamp in stamps:
        state = values((stamp - first.timestamp()) / 86400)
        # the memory of a twin host too (HOST-twin): a selector that picks both is ambiguous, whatever else
        # Prometheus holds; the default selector of HOST does not match the twin
        for labels in (node, twin):
            add("node_memory_MemTotal_bytes", "gauge", "node_memory_MemTotal_bytes", labels, stamp, float(MEM_TOTAL))
            add(
                "node_memory_MemAvailable_bytes",
                "gauge",
                "node_memory_MemAvailable_bytes",
                labels,
                stamp,
                float(state["mem_available"]),
            )
        for name in ("load_1", "load_5", "load_15"):
            add(f"node_{name.replace('_', '')}", "gauge", f"node_{name.replace('_', '')}", node, stamp, state[name])
        for cpu in range(CPUS):
            for mode in ("idle", "user"):
                add(
                    "node_cpu_seconds",
                    "counter",
                    "node_cpu_seconds_total",
                    f'{node},cpu="{cpu}",mode="{mode}"',
                    stamp,
                    stamp - start.timestamp() + 1000.0,
                )
        add("node_boot_time_seconds", "gauge", "node_boot_time_seconds", node, stamp, start.timestamp() - 3600)
        add("node_time_seconds", "gauge", "node_time_seconds", node, stamp, stamp)
        fs = f'{node},device="/dev/vda1",fstype="ext4",mountpoint="/"'
        add("node_filesystem_size_bytes", "gauge", "node_filesystem_size_bytes", fs, stamp, float(FS_SIZE))
        add("node_filesystem_free_bytes", "gauge", "node_filesystem_free_bytes", fs, stamp, float(state["fs_free"]))
        add("node_filesystem_avail_bytes", "gauge", "node_filesystem_avail_bytes", fs, stamp, float(state["fs_avail"]))
        add(
            "pg_stat_activity_count",
            "gauge",
            "pg_stat_activity_count",
            f'{pg},datname="jarvis",state="active"',
            stamp,
            state["pg_active"],
        )
        add(
            "pg_stat_activity_count",
            "gauge",
            "pg_stat_activity_count",
            f'{pg},datname="jarvis",state="idle"',
            stamp,
            state["pg_idle"],
        )
        add("pg_settings_max_connections", "gauge", "pg_settings_max_connections", pg, stamp, 100.0)
        add(
            "pg_database_size_bytes",
            "gauge",
            "pg_database_size_bytes",
            f'{pg},datname="jarvis"',
            stamp,
            state["pg_size"],
        )
        add("redis_memory_used_bytes", "gauge", "redis_memory_used_bytes", redis, stamp, state["redis_used"])
        add("redis_memory_max_bytes", "gauge", "redis_memory_max_bytes", redis, stamp, float(REDIS_MAX))
        add("redis_connected_clients", "gauge", "redis_connected_clients", redis, stamp, state["redis_clients"])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "series.om"), "w", encoding="utf-8") as handle:
        for family, (kind, series) in families.items():
            handle.write(f"# TYPE {family} {kind}\n")
            for _name, lines in series:
                handle.write("\n".join(lines) + "\n")
        handle.write("# EOF\n")

    # The documents, as capacity_report with `measured` writes them (host_resources' rounding).
    directory = os.path.join(out, "metrics", host)
    os.makedirs(directory, exist_ok=True)
    for index in range(days):
        moment = first + datetime.timedelta(days=index)
        if moment > now:
            continue
        state = values(float(index))
        used = MEM_TOTAL - state["mem_available"]
        fs_used = FS_SIZE - state["fs_free"]
        connections = int(state["pg_active"] + state["pg_idle"])
        document = {
            "schema": "jarvis.maintenance/metrics/1",
            "host": host,
            "date": moment.date().isoformat(),
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cpu_count": CPUS,
            "load": {"load_1": 1.0, "load_5": 1.2, "load_15": 1.4, "per_core_5": round(1.2 / CPUS, 2)},
            "memory": {
                "total_bytes": MEM_TOTAL,
                "available_bytes": state["mem_available"],
                "used_bytes": used,
                "percent": round(100.0 * used / MEM_TOTAL, 1),
            },
            "disk": {
                "path": "/",
                "total_bytes": FS_SIZE,
                "used_bytes": fs_used,
                "available_bytes": state["fs_avail"],
                "percent": round(100.0 * fs_used / (fs_used + state["fs_avail"]), 1),
            },
            "backend": None,
            "postgres": {
                "connections": connections,
                "max_connections": 100,
                "connections_percent": round(100.0 * connections / 100, 1),
                "databases": {"jarvis": int(state["pg_size"])},
                "total_bytes": int(state["pg_size"]),
            },
            "redis": {
                "connected_clients": 5,
                "used_memory_bytes": int(state["redis_used"]),
                "maxmemory_bytes": REDIS_MAX,
                "memory_percent": round(state["redis_used"] * 100.0 / REDIS_MAX, 1),
            },
            "unavailable": {},
        }
        with open(os.path.join(directory, f"metrics-{moment.date().isoformat()}.json"), "w", encoding="utf-8") as f:
            json.dump(document, f, indent=2)
    print(json.dumps({"sample_time": at, "points": len(stamps), "documents": len(os.listdir(directory))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
