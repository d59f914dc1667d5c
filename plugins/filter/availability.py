# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The health check's availability finding and component record of PostgreSQL, Redis or Barman, from the result of
community.postgresql.postgresql_ping, community.general.redis_info or jarvis.maintenance.barman_info (built here, not
in Jinja)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import CRITICAL, OK, Finding

ADVICE = {
    "postgresql": "Check that the PostgreSQL server runs and accepts connections (pg_isready, its log).",
    "redis": "Check that the Redis server runs and that the password is right (redis-cli PING, its log).",
    "barman": "Check Barman on the backup host: its configuration, its user and the pitr role's setup (barman check).",
}
NAMES = {"postgresql": "PostgreSQL", "redis": "Redis", "barman": "Barman"}


def _postgresql(result: Mapping[str, Any]) -> tuple[bool, str | None, str, dict[str, Any]]:
    version = (result.get("server_version") or {}).get("full")
    error = str(result.get("conn_err_msg") or "").strip()
    return bool(result.get("is_available")), version, error, {"server_version": version}


def _redis(result: Mapping[str, Any]) -> tuple[bool, str | None, str, dict[str, Any]]:
    info = result.get("info")
    up = isinstance(info, Mapping)
    info = info if up else {}
    details = {
        "version": info.get("redis_version"),
        "used_memory_bytes": info.get("used_memory"),
        "connected_clients": info.get("connected_clients"),
    }
    return up, info.get("redis_version"), str(result.get("msg") or "").strip(), details


def _barman(result: Mapping[str, Any]) -> tuple[bool, str | None, str, dict[str, Any]]:
    up = not result.get("failed") and isinstance(result.get("findings"), list)
    newest = result.get("newest_backup") if up else None
    wal, slot = result.get("wal"), result.get("slot")
    details = {
        "server": result.get("server"),
        "rpo_seconds": result.get("rpo_seconds"),
        "newest_backup": newest.get("backup_id") if isinstance(newest, Mapping) else None,
        # for the run's metrics (last WAL received, the slot's retained WAL)
        "last_received_at": wal.get("last_received_at") if up and isinstance(wal, Mapping) else None,
        "slot_retained_bytes": slot.get("retained_bytes") if up and isinstance(slot, Mapping) else None,
    }
    label = f"server {result['server']}" if up and result.get("server") else None
    return up, label, str(result.get("msg") or "").strip(), details


READERS = {"postgresql": _postgresql, "redis": _redis, "barman": _barman}


def availability(result: Mapping[str, Any], component: str) -> dict[str, Any]:
    """{finding, component}: whether component answered, as an availability finding and its components entry."""
    if component not in NAMES:
        raise AnsibleFilterError(f"availability: component must be one of {', '.join(NAMES)}, got {component!r}")
    if not isinstance(result, Mapping):
        raise AnsibleFilterError(f"availability: expected the module's result (a dict), got {type(result).__name__}")
    up, version, error, details = READERS[component](result)
    name = NAMES[component]
    finding = Finding(
        check="availability",
        severity=OK if up else CRITICAL,
        subject=component,
        value=up,
        threshold=True,
        message=f"{name} answered ({version or '?'})" if up else f"{name} did not answer: {error or 'unknown error'}",
        recommendation="" if up else ADVICE[component],
    ).as_dict()
    record = {"available": up, **details, "error": None if up else error or "unknown error"}
    return {"finding": finding, "component": {**record, "severity": finding["severity"]}}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"availability": availability}
