"""Write synthetic daily metrics documents (schema jarvis.maintenance/metrics/1) for a host.

    synth.py DIR HOST DAYS END_DATE

Memory grows 1.0 point a day from 40 % with a little noise (seeded), disk is flat at 50 %, so the
capacity report must forecast memory and not disk. One day in the middle is missing and one
file is corrupt, to be listed as skipped.
"""

import datetime
import json
import os
import random
import sys

directory, host, days, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
end_date = datetime.date.fromisoformat(end)
random.seed(7)
os.makedirs(os.path.join(directory, host), exist_ok=True)
for index in range(days):
    day = end_date - datetime.timedelta(days=days - 1 - index)
    path = os.path.join(directory, host, f"metrics-{day.isoformat()}.json")
    if index == days // 2:
        continue  # a missing day
    if index == days // 3:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write('{"schema": "jarvis.maintenance/metrics/1", "host": ')  # cut short
        continue
    memory = 40 + index * 1.0 + random.gauss(0, 0.3)
    document = {
        "schema": "jarvis.maintenance/metrics/1",
        "host": host,
        "date": day.isoformat(),
        "timestamp": f"{day.isoformat()}T02:00:00Z",
        "uptime_seconds": 86400 * (index + 1),
        "cpu_count": 2,
        "load": {"load_1": 0.4, "load_5": 0.4, "load_15": 0.4, "per_core_5": 0.2},
        "memory": {
            "total_bytes": 8 * 1024**3,
            "available_bytes": int(8 * 1024**3 * (1 - memory / 100)),
            "used_bytes": int(8 * 1024**3 * memory / 100),
            "percent": round(memory, 1),
        },
        "disk": {"path": "/", "total_bytes": 100 * 1024**3, "used_bytes": 50 * 1024**3, "percent": 50.0},
        "mounts": [{"path": "/", "total_bytes": 100 * 1024**3, "used_bytes": 50 * 1024**3, "percent": 50.0}],
        "backend": {"url": "http://127.0.0.1/health", "status": 200, "healthy": True, "response_ms": 12.0},
        "postgres": {
            "connections": 10,
            "max_connections": 100,
            "connections_percent": 10.0,
            "databases": {"jarvis": 1024**3},
            "total_bytes": 1024**3,
        },
        "redis": {"connected_clients": 3, "used_memory_bytes": 1024**2, "maxmemory_bytes": 0, "memory_percent": None},
        "unavailable": {},
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
