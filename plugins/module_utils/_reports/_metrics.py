# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The daily metrics document, ``jarvis.maintenance/metrics/1``: written and read here only.

One document per host per day, ``<metrics_dir>/<host>/metrics-YYYY-MM-DD.json``, built from the
results of the modules that measured the host (host_resources, http_check, pg_maintenance,
redis_maintenance); a source that could not be read is null with its reason under
``unavailable``. roles/capacity_planning/files/metrics.schema.json describes it for people and
other tools; ``problem`` is the one check every reader (capacity_report, threshold_review,
monthly_report) and the writer apply.
"""

from __future__ import annotations

import datetime
import math
import os
from typing import Any, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._report import read_json

SCHEMA = "jarvis.maintenance/metrics/1"
# Bound of a metric value: a value beyond it is bad data (1e300 overflows the fit's sums of
# squares), not a measurement.
MAX_VALUE = 1e18
# name, path in the document, unit, label, has a capacity threshold (False: charted only)
METRICS = [
    ("cpu_load_per_core", ("load", "per_core_5"), "", "Load per core (5 min)", True),
    ("memory_percent", ("memory", "percent"), "%", "Memory used", True),
    ("disk_percent", ("disk", "percent"), "%", "Disk used (data filesystem)", True),
    ("connections_percent", ("postgres", "connections_percent"), "%", "PostgreSQL connections", True),
    ("redis_memory_percent", ("redis", "memory_percent"), "%", "Redis memory of maxmemory", True),
    ("backend_response_ms", ("backend", "response_ms"), " ms", "Backend response time", False),
    ("postgres_total_bytes", ("postgres", "total_bytes"), " B", "PostgreSQL databases", False),
    ("redis_used_memory_bytes", ("redis", "used_memory_bytes"), " B", "Redis memory", False),
    ("redis_clients", ("redis", "connected_clients"), "", "Redis clients", False),
]
SOURCES = ("host_resources", "http_check", "pg_maintenance", "redis_maintenance")


def finite_number(value: Any) -> bool:
    """A real number (not a bool), finite and within +-MAX_VALUE (pure)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and -MAX_VALUE <= value <= MAX_VALUE
    )


def _at(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def value_at(document: Mapping[str, Any], path: tuple[str, ...]) -> float | None:
    """The metric at path as a float, or None where there is none (pure)."""
    value = _at(document, path)
    return float(value) if finite_number(value) else None


def bad_values(document: Mapping[str, Any]) -> list[str]:
    """The metrics of a document whose value is a number but not a usable one: not finite or
    beyond +-MAX_VALUE (pure)."""
    bad = []
    for _name, path, _unit, _label, _threshold in METRICS:
        value = _at(document, path)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not finite_number(value):
            bad.append(f"{'.'.join(path)} = {value!r}")
    return bad


def day_of(document: Mapping[str, Any]) -> datetime.date | None:
    """The UTC day a document is for: its date, else its timestamp's (pure)."""
    if isinstance(document.get("date"), str):
        try:
            return datetime.date.fromisoformat(document["date"])
        except ValueError:
            return None
    stamp = _time.try_parse_iso(document.get("timestamp"))
    return stamp.date() if stamp else None


def problem(document: Any) -> str | None:
    """Why a parsed document is not a usable metrics document, or None (pure): the one schema
    check of its readers and its writer."""
    if not isinstance(document, dict):
        return "not a JSON object"
    if document.get("schema") != SCHEMA:
        return f"schema {document.get('schema')!r} is not {SCHEMA} (old or foreign)"
    bad = bad_values(document)
    if bad:
        return f"bad data: {', '.join(bad)} (a metric must be a finite number, at most {MAX_VALUE:g})"
    if day_of(document) is None or _time.try_parse_iso(document.get("timestamp")) is None:
        return "date or timestamp missing or not a time"
    return None


def read(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """The metrics document at path, or None and why it is not usable."""
    try:
        document = read_json(path)
    except (OSError, ValueError) as exc:
        return None, f"not valid JSON: {exc}"
    why = problem(document)
    return (None, why) if why else (document, None)


def path_of(metrics_dir: str, host: str, day: datetime.date) -> str:
    return os.path.join(metrics_dir, host, f"metrics-{day.isoformat()}.json")


def _usable(result: Any) -> Mapping[str, Any] | None:
    """A module's registered result, or None when it was skipped or failed (or not run)."""
    if not isinstance(result, Mapping) or result.get("skipped") or result.get("failed"):
        return None
    return result


def document(
    host: str, now: datetime.datetime, measured: Mapping[str, Any], unavailable: Mapping[str, Any]
) -> dict[str, Any]:
    """The day's document from the measuring modules' results (pure).

    measured maps each of SOURCES to its module's registered result (absent, None, skipped or
    failed: that part of the document is null)."""
    resources = _usable(measured.get("host_resources"))
    http = _usable(measured.get("http_check"))
    pg = _usable(measured.get("pg_maintenance"))
    redis = _usable(measured.get("redis_maintenance"))
    disks = list((resources or {}).get("disks") or [])
    load = (resources or {}).get("load") or {}
    memory = (resources or {}).get("memory") or {}
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "host": host,
        "date": now.astimezone(_time.UTC).date().isoformat(),
        "timestamp": _time.iso(now),
        "uptime_seconds": (resources or {}).get("uptime_seconds"),
        "cpu_count": load.get("cpu_count"),
        "load": {key: load.get(key) for key in ("load_1", "load_5", "load_15", "per_core_5")} if resources else None,
        "memory": (
            {key: memory.get(key) for key in ("total_bytes", "available_bytes", "used_bytes", "percent")}
            if resources
            else None
        ),
        "disk": disks[0] if disks else None,
        "mounts": disks if resources else None,
        "backend": None,
        "postgres": None,
        "redis": None,
        "unavailable": {str(key): str(value) for key, value in unavailable.items()},
    }
    if http is not None:
        status = http.get("status")
        answered = isinstance(status, int) and not isinstance(status, bool) and status > 0
        result["backend"] = {
            "url": http.get("url"),
            "status": status if answered else None,
            "healthy": status == 200,
            "response_ms": http.get("elapsed_ms") if answered else None,
        }
    if pg is not None:
        report = pg.get("report") or {}
        connections = (report.get("cluster") or {}).get("connections") or {}
        sizes = {
            name: (database.get("database_size") or {}).get("bytes")
            for name, database in (report.get("databases") or {}).items()
            if isinstance(database, Mapping) and "database_size" in database
        }
        result["postgres"] = {
            "connections": connections.get("total"),
            "max_connections": connections.get("max_connections"),
            "connections_percent": connections.get("percent"),
            "databases": sizes,
            "total_bytes": sum(size for size in sizes.values() if finite_number(size)),
        }
    if redis is not None:
        info = redis.get("info") or {}
        memory_info = info.get("memory") or {}
        used, limit = memory_info.get("used_bytes"), memory_info.get("maxmemory_bytes") or 0
        result["redis"] = {
            "connected_clients": (info.get("clients") or {}).get("connected"),
            "used_memory_bytes": used,
            "maxmemory_bytes": limit,
            "memory_percent": round(used * 100.0 / limit, 1) if finite_number(used) and limit > 0 else None,
        }
    return result
