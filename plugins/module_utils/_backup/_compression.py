# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The zstd level of a backup, chosen from how its own data compresses on this machine's CPUs.

pgbench's blank filler compresses 35x at several hundred MB/s a thread; chat logs and JSON compress
2-4x at a third of that. One fixed level is either too slow for the second or wastes the first. So
when ``compression_level`` is not given, pg_backup takes a sample of the largest database's rows
(``TABLESAMPLE SYSTEM`` of its largest tables, about SAMPLE_BYTES in the share of their sizes, in
the dump's snapshot's database), runs zstd's own benchmark on it (``zstd -b1 -e3``: ratio and
compression speed per level on one thread, a fraction of a second) and picks the highest level
whose speed times the compression threads keeps up with DUMP_RATE, what ``pg_dump -Fc -Z0``
writes; level 1 when none does. Levels above 3 are not tried: on the 2-CPU machine of
benchmarks/backup.py they were slower than the dump even on pgbench data. The choice and its
measurements are returned (and so written into the set's manifest).
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import run

LEVELS = (1, 2, 3)
SAMPLE_BYTES = 4 * 1024 * 1024
# Bytes a second pg_dump -Fc -Z0 writes, measured by benchmarks/backup.py on the 2-CPU machine:
# 370 MB/s of pgbench data, 210 MB/s of chat messages and JSON documents (jsonb output costs more).
DUMP_RATE = 200_000_000
SAMPLE_TABLES = 5
LOCK_NOT_AVAILABLE = "55P03"

LARGEST_TABLES_SQL = """
SELECT format('%%I.%%I', n.nspname, c.relname), pg_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%%' AND pg_relation_size(c.oid) > 0
ORDER BY 2 DESC LIMIT %s
"""
# zstd -q -b's line per level: "-3   1424226 (3.200) 147.44 MB/s  847.6 MB/s  sample"
_BENCH_LINE = re.compile(r"^\s*-(\d+)\s+(\d+)\s+\(\s*([\d.]+)\)\s+([\d.]+)\s+MB/s")


def parse_bench(text: str) -> dict[int, dict[str, float]]:
    """{level: {ratio, mb_per_s}} from ``zstd -q -b`` output (pure); lines that are not results are skipped."""
    found = {}
    for line in text.splitlines():
        match = _BENCH_LINE.match(line)
        if match:
            found[int(match.group(1))] = {"ratio": float(match.group(3)), "mb_per_s": float(match.group(4))}
    return found


def choose_level(bench: dict[int, dict[str, float]], threads: int, rate: int = DUMP_RATE) -> int:
    """The highest level whose speed on threads keeps up with rate bytes a second, else the lowest (pure)."""
    keeping_up = [level for level, row in bench.items() if row["mb_per_s"] * 1_000_000 * threads >= rate]
    return max(keeping_up) if keeping_up else min(bench, default=LEVELS[0])


def sample_shares(tables: list[tuple[str, int]], total: int = SAMPLE_BYTES) -> list[tuple[str, float]]:
    """(table, TABLESAMPLE SYSTEM percent) giving each table its size's share of about total bytes (pure)."""
    size = sum(bytes_ for _name, bytes_ in tables)
    if not size:
        return []
    shares = []
    for name, bytes_ in tables:
        want = total * bytes_ / size
        shares.append((name, min(100.0, max(0.0001, 100.0 * want / bytes_))))
    return shares


def take_sample(cursor: Any, handle: Any) -> int:
    """Write a sample of the cursor's database's largest tables, as COPY text, into handle; its size. A table
    locked past the session's lock_timeout is left out (the cursor's connection is in autocommit)."""
    cursor.execute(LARGEST_TABLES_SQL, (SAMPLE_TABLES,))
    for name, percent in sample_shares(list(cursor.fetchall())):
        # name is format('%I.%I') from the catalog: quoted by the server, safe to embed.
        try:
            cursor.copy_expert(f"COPY (SELECT * FROM {name} TABLESAMPLE SYSTEM ({percent:.6f})) TO STDOUT", handle)
        except Exception as exc:  # psycopg2.Error; the session's lock_timeout decides how long a lock is waited for
            if getattr(exc, "pgcode", None) != LOCK_NOT_AVAILABLE:
                raise
    handle.flush()
    return handle.tell()


def measure(host: Any, cursor: Any, zstd: str, timeout: float) -> dict[str, Any]:
    """Sample the cursor's database and benchmark zstd's levels on it: {sample_bytes, levels}."""
    with tempfile.NamedTemporaryFile(prefix="jarvis-sample-") as handle:
        size = take_sample(cursor, handle)
        if not size:
            return {"sample_bytes": 0, "levels": {}}
        out = run(host, [zstd, "-q", f"-b{LEVELS[0]}", f"-e{LEVELS[-1]}", "-i0", handle.name], timeout=timeout)
    return {"sample_bytes": size, "levels": parse_bench(out)}


def auto_choice(measured: dict[str, Any], threads: int) -> dict[str, Any]:
    """What the manifest records of an automatic choice (pure): level, how it was chosen, the measurements."""
    levels = measured["levels"]
    level = choose_level(levels, threads) if levels else LEVELS[-1]
    why = (
        f"highest of levels {LEVELS[0]}-{LEVELS[-1]} compressing {DUMP_RATE // 1_000_000} MB/s on {threads} threads"
        if levels
        else "no rows to sample: the default level"
    )
    return {
        "level": level,
        "chosen": "auto",
        "reason": why,
        "sample_bytes": measured["sample_bytes"],
        "measured": {str(key): value for key, value in sorted(levels.items())},
        "cpus": os.cpu_count() or 1,
    }
