# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The daily metrics document: written from the measuring modules' results, read with one check."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports import _metrics
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._capacity import (
    ARGUMENT_SPEC,
    CapacityReport,
    load_host,
)

NOW = datetime.datetime(2026, 11, 28, 2, 0, 5, tzinfo=datetime.timezone.utc)
HOST = {
    "changed": False,
    "uptime_seconds": 86400,
    "load": {"cpu_count": 2, "load_1": 0.5, "load_5": 0.4, "load_15": 0.3, "per_core_5": 0.2},
    "memory": {"total_bytes": 1000, "available_bytes": 400, "used_bytes": 600, "percent": 60.0},
    "disks": [
        {"path": "/", "total_bytes": 100, "used_bytes": 40, "percent": 40.0},
        {"path": "/srv", "total_bytes": 100, "used_bytes": 10, "percent": 10.0},
    ],
}
HTTP = {"url": "http://localhost:10010/health", "status": 200, "elapsed_ms": 12.5}
PG = {
    "report": {
        "cluster": {"connections": {"total": 5, "max_connections": 100, "percent": 5.0}},
        "databases": {
            "jarvis": {"database_size": {"bytes": 2048}},
            "other": {},
            "postgres": {"database_size": {"bytes": 1024}},
        },
    }
}
REDIS = {"info": {"clients": {"connected": 3}, "memory": {"used_bytes": 50, "maxmemory_bytes": 200}}}


def test_the_document_from_every_source():
    doc = _metrics.document(
        "web1", NOW, {"host_resources": HOST, "http_check": HTTP, "pg_maintenance": PG, "redis_maintenance": REDIS}, {}
    )
    assert _metrics.problem(doc) is None
    assert (doc["date"], doc["timestamp"], doc["cpu_count"]) == ("2026-11-28", "2026-11-28T02:00:05Z", 2)
    assert doc["disk"]["path"] == "/" and len(doc["mounts"]) == 2
    assert doc["backend"] == {"url": HTTP["url"], "status": 200, "healthy": True, "response_ms": 12.5}
    assert doc["postgres"]["databases"] == {"jarvis": 2048, "postgres": 1024} and doc["postgres"]["total_bytes"] == 3072
    assert doc["redis"]["memory_percent"] == 25.0


def test_a_failed_or_skipped_source_is_null_with_its_reason():
    measured = {"host_resources": HOST, "http_check": {"skipped": True}, "redis_maintenance": {"failed": True}}
    doc = _metrics.document("web1", NOW, measured, {"redis": "Cannot connect to Redis: refused"})
    assert doc["backend"] is None and doc["postgres"] is None and doc["redis"] is None
    assert doc["unavailable"] == {"redis": "Cannot connect to Redis: refused"}
    no_limit = _metrics.document("web1", NOW, {"redis_maintenance": {"info": {"memory": {"used_bytes": 5}}}}, {})
    assert no_limit["redis"]["memory_percent"] is None and no_limit["load"] is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"schema": "x"}, "schema 'x' is not jarvis.maintenance/metrics/1"),
        ({"memory": {"percent": float("inf")}}, "bad data: memory.percent = inf"),
        ({"timestamp": "soon"}, "date or timestamp missing"),
    ],
)
def test_one_check_for_every_reader(tmp_path, change, reason):
    doc = {**_metrics.document("web1", NOW, {"host_resources": HOST}, {}), **change}
    assert _metrics.problem(doc).startswith(reason)
    assert _metrics.problem([doc]) == "not a JSON object"


def params(tmp_path, **overrides):
    values = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}
    values.update(metrics_dir=str(tmp_path), host="web1", measured={"host_resources": HOST}, unavailable={})
    values.update(overrides)
    return values


def test_capacity_report_writes_the_document_the_reports_read(tmp_path):
    planned = CapacityReport(params(tmp_path), True, None, now=NOW).run()
    assert planned["changed"] and not (tmp_path / "web1").exists()
    result = CapacityReport(params(tmp_path), False, None, now=NOW).run()
    path = tmp_path / "web1" / "metrics-2026-11-28.json"
    assert result["changed"] and result["metrics_path"] == str(path)
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert json.loads(path.read_text())["memory"]["percent"] == 60.0
    documents, skipped, missing = load_host(str(tmp_path / "web1"), [NOW.date()])
    assert list(documents) == [NOW.date()] and skipped == [] and missing == []
    later = NOW + datetime.timedelta(hours=1)
    assert not CapacityReport(params(tmp_path), False, None, now=later).run()["changed"]  # kept: one a day
    assert CapacityReport(params(tmp_path, overwrite=True), False, None, now=later).run()["changed"]
    assert json.loads(path.read_text())["timestamp"] == "2026-11-28T03:00:05Z"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"host": None}, "Cannot write the metrics document: host must name"),
        ({"host": "../x"}, "Cannot write the metrics document: host must name"),
        ({"unavailable": {"redis": ""}}, "Cannot write the metrics document: unavailable.redis must be a reason"),
    ],
)
def test_bad_collect_parameters(tmp_path, overrides, message):
    with pytest.raises(ModuleError, match=message):
        CapacityReport(params(tmp_path, **overrides), False, None, now=NOW).run()
    assert list(tmp_path.iterdir()) == []
