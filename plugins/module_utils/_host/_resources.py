# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Host resources (memory, load, disk) read from /proc and statvfs, judged against thresholds."""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import Finding, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold

# Documented in the module's thresholds option.
THRESHOLDS = {
    "memory_percent": Threshold(85.0, 95.0, "%"),
    "load_per_core": Threshold(1.0, 2.0),
    "disk_percent": Threshold(80.0, 90.0, "%"),
    "inode_percent": Threshold(80.0, 90.0, "%"),
}

ARGUMENT_SPEC = {
    "paths": {"type": "list", "elements": "path", "default": ["/"]},
    "thresholds": _thresholds.option(THRESHOLDS),
}


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo as {field: bytes}. Values given in kB are converted to bytes."""
    result = {}
    for line in text.splitlines():
        name, _sep, rest = line.partition(":")
        parts = rest.split()
        if not parts or not parts[0].isdigit():
            continue
        value = int(parts[0])
        if len(parts) > 1 and parts[1].lower() == "kb":
            value *= 1024
        result[name.strip()] = value
    return result


def memory_usage(meminfo: dict[str, int]) -> dict[str, Any]:
    """Total, available and used bytes and used percent.

    "Used" is what applications hold: total minus MemAvailable (page cache that the
    kernel can drop is not counted). Kernels older than 3.14 lack MemAvailable: then
    free + buffers + cached stands in for it.
    """
    total = meminfo["MemTotal"]
    available = meminfo.get("MemAvailable")
    if available is None:
        available = meminfo.get("MemFree", 0) + meminfo.get("Buffers", 0) + meminfo.get("Cached", 0)
    used = max(total - available, 0)
    return {
        "total_bytes": total,
        "available_bytes": available,
        "used_bytes": used,
        "percent": round(100.0 * used / total, 1) if total else 0.0,
        "swap_total_bytes": meminfo.get("SwapTotal", 0),
        "swap_used_bytes": meminfo.get("SwapTotal", 0) - meminfo.get("SwapFree", 0),
    }


def load_usage(loadavg: tuple[float, float, float], cpu_count: int) -> dict[str, Any]:
    cpus = max(cpu_count, 1)
    return {
        "load_1": loadavg[0],
        "load_5": loadavg[1],
        "load_15": loadavg[2],
        "cpu_count": cpus,
        "per_core_1": round(loadavg[0] / cpus, 2),
        "per_core_5": round(loadavg[1] / cpus, 2),
        "per_core_15": round(loadavg[2] / cpus, 2),
    }


def disk_usage(path: str, stat: Any) -> dict[str, Any]:
    """Usage of the filesystem holding path, from an os.statvfs result.

    The percent is what df shows: used / (used + available to unprivileged users),
    so the blocks reserved for root count as full.
    """
    total = stat.f_blocks * stat.f_frsize
    free = stat.f_bfree * stat.f_frsize
    available = stat.f_bavail * stat.f_frsize
    used = total - free
    usable = used + available
    inodes_used = stat.f_files - stat.f_ffree
    return {
        "path": path,
        "total_bytes": total,
        "used_bytes": used,
        "available_bytes": available,
        "percent": round(100.0 * used / usable, 1) if usable else 0.0,
        "inodes_total": stat.f_files,
        "inodes_used": inodes_used,
        "inode_percent": round(100.0 * inodes_used / stat.f_files, 1) if stat.f_files else 0.0,
    }


def evaluate(
    memory: dict[str, Any], load: dict[str, Any], disks: list[dict[str, Any]], thresholds: dict[str, float]
) -> list[Finding]:
    """Findings for memory %, 5-minute load per core, and disk and inode % per path."""

    def judge(check: str, subject: str, value: float, label: str, recommendation: str) -> Finding:
        return _thresholds.judge(
            THRESHOLDS, thresholds, check, subject, value, recommendation=recommendation, label=label
        )

    findings = [
        judge(
            "memory_percent",
            "memory",
            memory["percent"],
            "Memory in use",
            "Find the processes holding memory (ps --sort=-rss); consider more memory or lower cache sizes.",
        ),
        judge(
            "load_per_core",
            "load",
            load["per_core_5"],
            f"5-minute load per core ({load['cpu_count']} CPUs)",
            "Find what keeps the CPUs busy (top, pg_stat_activity); consider more cores.",
        ),
    ]
    for disk in disks:
        findings.append(
            judge(
                "disk_percent",
                disk["path"],
                disk["percent"],
                f"Disk space used on the filesystem of {disk['path']}",
                "Free space: run log cleanup, prune old backups, or grow the filesystem.",
            )
        )
        findings.append(
            judge(
                "inode_percent",
                disk["path"],
                disk["inode_percent"],
                f"Inodes used on the filesystem of {disk['path']}",
                "Many small files: look for runaway temp or session files.",
            )
        )
    return findings


class HostResources(Backend):
    """Backend of the host_resources module."""

    def read_memory(self) -> dict[str, Any]:
        try:
            with open("/proc/meminfo", encoding="ascii") as handle:
                return memory_usage(parse_meminfo(handle.read()))
        except (OSError, KeyError) as exc:
            raise ModuleError(f"Cannot read memory usage from /proc/meminfo: {exc}") from exc

    def read_disks(self) -> list[dict[str, Any]]:
        disks = []
        for index, path in enumerate(self.params["paths"]):
            try:
                disks.append(disk_usage(path, os.statvfs(path)))
            except OSError as exc:
                raise ModuleError(f"Cannot measure disk usage of paths[{index}] {path!r}: {exc.strerror}") from exc
            except ValueError as exc:  # a NUL character in the path
                raise ModuleError(f"Cannot measure disk usage of paths[{index}] {path!r}: {exc}") from exc
        return disks

    def run(self) -> dict[str, Any]:
        if not self.params["paths"]:
            raise ModuleError("Cannot check host resources: paths must name at least one path")
        _thresholds.validate(THRESHOLDS, self.params["thresholds"], "check host resources")
        memory = self.read_memory()
        load = load_usage(os.getloadavg(), os.cpu_count() or 1)
        disks = self.read_disks()
        findings = [finding.as_dict() for finding in evaluate(memory, load, disks, self.params["thresholds"])]
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        return {
            "changed": False,
            "memory": memory,
            "load": load,
            "disks": disks,
            "uptime_seconds": round(uptime),
            "findings": findings,
            "severity": worst(findings),
        }
