# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._resources import (
    THRESHOLDS,
    disk_usage,
    evaluate,
    load_usage,
    memory_usage,
    parse_meminfo,
)

MEMINFO = """MemTotal:       16000000 kB
MemFree:         1000000 kB
MemAvailable:    4000000 kB
Buffers:          500000 kB
Cached:          2000000 kB
SwapTotal:       2000000 kB
SwapFree:        1500000 kB
HugePages_Total:       0
"""

DEFAULTS = {
    f"{name}_{level}": value
    for name, (w, c, _u, _h) in THRESHOLDS.items()
    for level, value in (("warning", w), ("critical", c))
}


def test_parse_meminfo_converts_kb_and_keeps_plain_counts():
    parsed = parse_meminfo(MEMINFO)
    assert parsed["MemTotal"] == 16000000 * 1024
    assert parsed["SwapFree"] == 1500000 * 1024
    assert parsed["HugePages_Total"] == 0


@pytest.mark.parametrize(
    ("text", "percent"),
    [
        (MEMINFO, 75.0),  # (16M - 4M available) / 16M
        # an old kernel without MemAvailable: free + buffers + cached stands in
        ("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 300 kB\n", 50.0),
        ("MemTotal: 1000 kB\nMemAvailable: 1000 kB\n", 0.0),
    ],
)
def test_memory_percent_leaves_out_reclaimable_cache(text, percent):
    assert memory_usage(parse_meminfo(text))["percent"] == percent


def test_memory_usage_reports_swap():
    usage = memory_usage(parse_meminfo(MEMINFO))
    assert usage["swap_used_bytes"] == 500000 * 1024
    assert usage["used_bytes"] + usage["available_bytes"] == usage["total_bytes"]


@pytest.mark.parametrize(
    ("loadavg", "cpus", "per_core_5"),
    [((1.0, 3.0, 0.5), 2, 1.5), ((0.0, 0.0, 0.0), 8, 0.0), ((4.0, 4.0, 4.0), 0, 4.0)],
)
def test_load_per_core(loadavg, cpus, per_core_5):
    assert load_usage(loadavg, cpus)["per_core_5"] == per_core_5


def fake_statvfs(blocks, bfree, bavail, files=100, ffree=50, frsize=4096):
    return os.statvfs_result((frsize, frsize, blocks, bfree, bavail, files, ffree, ffree, 0, 255, 0))


def test_disk_percent_counts_root_reserve_as_used_like_df():
    # 1000 blocks, 300 free, of which 250 available to users: df says 700 / 950
    usage = disk_usage("/data", fake_statvfs(1000, 300, 250))
    assert usage["percent"] == 73.7
    assert usage["used_bytes"] == 700 * 4096
    assert usage["inode_percent"] == 50.0


def test_empty_filesystem_does_not_divide_by_zero():
    usage = disk_usage("/proc", fake_statvfs(0, 0, 0, files=0, ffree=0))
    assert usage["percent"] == 0.0
    assert usage["inode_percent"] == 0.0


def test_evaluate_gives_one_finding_per_check_and_path():
    memory = memory_usage(parse_meminfo(MEMINFO))  # 75 %
    load = load_usage((9.0, 9.0, 9.0), 4)  # 2.25 per core: critical
    disks = [disk_usage("/", fake_statvfs(1000, 150, 150)), disk_usage("/var", fake_statvfs(1000, 900, 900))]
    findings = {(f.check, f.subject): f for f in evaluate(memory, load, disks, DEFAULTS)}
    assert set(findings) == {
        ("memory_percent", "memory"),
        ("load_per_core", "load"),
        ("disk_percent", "/"),
        ("inode_percent", "/"),
        ("disk_percent", "/var"),
        ("inode_percent", "/var"),
    }
    assert findings[("memory_percent", "memory")].severity == "ok"
    assert findings[("load_per_core", "load")].severity == "critical"
    assert findings[("disk_percent", "/")].severity == "warning"  # 85 %
    assert findings[("disk_percent", "/var")].severity == "ok"
    assert "Disk space used on the filesystem of /" in findings[("disk_percent", "/")].message


def test_check_thresholds_names_the_pair():
    assert problem(THRESHOLDS, DEFAULTS) is None
    bad = dict(DEFAULTS, disk_percent_warning=95.0)
    assert problem(THRESHOLDS, bad) == (
        "thresholds.disk_percent_warning/disk_percent_critical: warning (95.0) must not be above critical (90.0)"
    )
