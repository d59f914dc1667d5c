# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Host, ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._capacity import METRICS
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._threshold_review import (
    ARGUMENT_SPEC,
    SCHEMA,
    ThresholdReview,
    check_params,
    day_ranges,
    judge,
    markdown,
    nice_ceil,
    observe,
)

TODAY = datetime.date(2026, 11, 28)
NOW = datetime.datetime(2026, 11, 28, 23, 0, tzinfo=datetime.timezone.utc)
SPEC = ARGUMENT_SPEC
MEMORY = {"name": "Memory used", "metric": "memory_percent", "warning": 85.0, "critical": 95.0}
DISK = {"name": "Disk used", "metric": "disk_percent", "warning": 80.0, "critical": 90.0}
LOAD = {"name": "Load per core", "metric": "cpu_load_per_core", "warning": 1.0, "critical": 2.0}
REDIS = {"name": "Redis memory", "metric": "redis_memory_percent", "warning": 85.0}


def threshold(**values):
    """A thresholds element as AnsibleModule hands it over: every suboption present."""
    return {"critical": None, "source": None, **values}


def document(day, memory=40.0, disk=50.0, load=0.25):
    return {
        "schema": "jarvis.maintenance/metrics/1",
        "host": "web1",
        "date": day.isoformat(),
        "timestamp": f"{day.isoformat()}T02:00:00Z",
        "uptime_seconds": 1000,
        "cpu_count": 2,
        "load": {"load_1": 0.5, "load_5": 0.5, "load_15": 0.5, "per_core_5": load},
        "memory": {"total_bytes": 100, "available_bytes": 50, "used_bytes": 50, "percent": memory},
        "disk": {"path": "/", "total_bytes": 100, "used_bytes": 50, "percent": disk},
        "mounts": [],
        "backend": {"url": "http://x/health", "status": 200, "healthy": True, "response_ms": 10.0},
        "postgres": None,
        "redis": None,
        "unavailable": {"postgres": "down", "redis": "down"},
    }


def write_series(root, days, memory, disk=lambda index: 50.0, load=lambda index: 0.25, skip=()):
    """One document a day ending TODAY; memory(index), disk(index) and load(index) give the values."""
    host = root / "web1"
    host.mkdir(parents=True, exist_ok=True)
    for index in range(days):
        if index in skip:
            continue
        day = TODAY - datetime.timedelta(days=days - 1 - index)
        content = document(day, memory(index), disk(index), load(index))
        (host / f"metrics-{day.isoformat()}.json").write_text(json.dumps(content))
    return host


def params(root, **overrides):
    values = {name: spec.get("default") for name, spec in SPEC.items()}
    values.update(metrics_dir=str(root), host="web1", thresholds=[threshold(**MEMORY)])
    values.update(overrides)
    return values


def run(args, check_mode=False):
    with patch_module_args({**args, "_ansible_check_mode": check_mode}):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    return ThresholdReview(module.params, module.check_mode, Host(module), now=NOW).run()


def refusing_module(args, monkeypatch):
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)

    return module


# -- pure functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(87.15, 90.0), (90.0, 90.0), (1.365, 1.5), (0.375, 0.4), (1234.0, 1500.0), (3.36e9, 3.5e9), (0.0, 0.0)],
)
def test_nice_ceil(value, expected):
    assert nice_ceil(value) == pytest.approx(expected)


@pytest.mark.parametrize(("value", "expected"), [(91.35, 92.0), (1.37, 1.4), (0.0, 0.0), (3.36e9, 3.4e9)])
def test_nice_ceil_fine(value, expected):
    assert nice_ceil(value, fine=True) == pytest.approx(expected)


def test_observe_counts_samples_at_or_above_as_over():
    values = [10.0, 20.0, 30.0, 85.0, 95.0]
    stats = observe(values, 85.0, 95.0, 7)
    assert (stats["samples"], stats["missing_days"], stats["min"], stats["max"], stats["last"]) == (5, 2, 10, 95, 95)
    assert stats["p50"] == 30.0
    assert stats["p95"] == pytest.approx(93.0)  # between 85 and 95 at 0.95 * 4 = 3.8
    assert (stats["days_over_warning"], stats["days_over_critical"]) == (2, 1)
    assert stats["share_over_warning_percent"] == 40.0
    assert stats["headroom"] == pytest.approx(-8.0)
    assert observe(values, 85.0, None, 7)["days_over_critical"] is None
    empty = observe([], 85.0, 95.0, 90)
    assert (empty["samples"], empty["missing_days"], empty["p50"], empty["share_over_warning_percent"]) == (
        0,
        90,
        None,
        None,
    )


def stats_for(values, warning=85.0, critical=95.0):
    return observe(values, warning, critical, len(values))


@pytest.mark.parametrize(
    ("values", "warning", "critical", "percent", "verdict", "suggested"),
    [
        ([50.0] * 4, 85.0, 95.0, True, "no data", None),
        ([50.0] * 9 + [96.0], 85.0, 95.0, True, "crossed critical", None),
        ([80.0] * 7 + [86.0] * 3, 85.0, None, True, "noisy", 95.0),  # 30 % of days; p95 86 + 5 % = 90.3 -> 95
        ([80.0] * 7 + [87.0] * 3, 85.0, 95.0, True, "noisy", 92.0),  # 91.35: 95 is the critical value, 92 is not
        ([90.0] * 7 + [92.0] * 3, 85.0, 95.0, True, "noisy", None),  # p95 92 + 5 % reaches the critical value
        ([96.0] * 10, 92.0, None, True, "noisy", None),  # would reach 100 %
        ([1.2] * 10, 1.0, None, False, "noisy", 1.5),  # load per core: no 100 ceiling
        ([70.0] * 5 + [78.0] * 5, 85.0, 95.0, True, "tight", None),  # p95 78 >= 76.5
        ([20.0] * 9 + [30.0], 85.0, 95.0, True, "slack", 40.0),  # 30 * 1.25 = 37.5 -> 40
        ([0.0] * 10, 85.0, 95.0, True, "slack", None),  # nothing sensible to suggest
        ([50.0] * 9 + [60.0], 85.0, 95.0, True, "fine", None),
    ],
)
def test_judge(values, warning, critical, percent, verdict, suggested):
    found = judge(stats_for(values, warning, critical), warning, critical, 20.0, percent)
    assert found[0] == verdict
    assert found[1] == (pytest.approx(suggested) if suggested is not None else None)


def test_noisy_share_is_compared_with_noisy_percent():
    values = [80.0] * 8 + [86.0] * 2  # 20 % of the days: not more than 20
    assert judge(stats_for(values), 85.0, 95.0, 20.0, True)[0] == "tight"
    assert judge(stats_for(values), 85.0, 95.0, 10.0, True)[0] == "noisy"


def test_day_ranges():
    assert day_ranges([]) == "none"
    days = ["2026-11-03", "2026-11-01", "2026-11-02", "2026-11-07"]
    assert day_ranges(days) == "2026-11-01 to 2026-11-03, 2026-11-07"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"thresholds": [threshold(**m) for m in (MEMORY, DISK, LOAD, REDIS)]}, None),
        ({"days": 6}, "days must be from 7 to 3660, got 6"),
        ({"days": 10**9}, "days must be from 7 to 3660, got 1000000000"),
        ({"host": "../etc"}, "host must be the name of a directory under metrics_dir, got '../etc'"),
        ({"noisy_percent": 100.0}, "noisy_percent must be from 0 to below 100, got 100.0"),
        ({"thresholds": []}, "thresholds must list at least one threshold"),
        (
            {"thresholds": [threshold(**MEMORY), threshold(**DISK), threshold(**{**LOAD, "metric": "foo"})]},
            "thresholds[2].metric must be one of cpu_load_per_core, memory_percent, ",
        ),
        (
            {"thresholds": [threshold(**{**MEMORY, "critical": 85.0})]},
            "thresholds[0].critical must be above warning (85), got 85",
        ),
        (
            {"thresholds": [threshold(**{**MEMORY, "warning": 0.0})]},
            "thresholds[0].warning must be a finite number above 0",
        ),
        (
            {"thresholds": [threshold(**{**MEMORY, "warning": float("nan")})]},
            "thresholds[0].warning must be a finite number above 0",
        ),
        (
            {"thresholds": [threshold(**{**MEMORY, "critical": float("inf")})]},
            "thresholds[0].critical must be a finite number",
        ),
        ({"thresholds": [threshold(**MEMORY), threshold(**MEMORY)]}, "thresholds[1].name 'Memory used' is given twice"),
        ({"thresholds": [threshold(**{**MEMORY, "name": " "})]}, "thresholds[0].name must not be empty"),
    ],
)
def test_check_params(tmp_path, overrides, problem):
    found = check_params(params(tmp_path, **overrides))
    assert (found is None) if problem is None else found.startswith(problem), found


def test_every_metric_of_capacity_is_accepted(tmp_path):
    items = [threshold(name=metric[0], metric=metric[0], warning=1.0) for metric in METRICS]
    assert check_params(params(tmp_path, thresholds=items)) is None


# -- runs against metrics documents -----------------------------------------------------------


def test_a_quarter_of_documents_gives_one_verdict_per_threshold(tmp_path):
    # Memory: over the 85 % warning one day in three (noisy). Disk: 70-78 % (tight).
    # Load: 0.1-0.3 per core (slack). Redis: null without maxmemory (no data).
    write_series(
        tmp_path / "metrics",
        90,
        memory=lambda index: 87.0 if index % 3 == 0 else 70.0,
        disk=lambda index: 70.0 + index % 9,
        load=lambda index: 0.1 + (index % 3) * 0.1,
        skip={10, 11, 12},
    )
    out = tmp_path / "out"
    thresholds = [
        threshold(**MEMORY, source="health_check_thresholds.memory_percent_warning"),
        threshold(**DISK),
        threshold(**LOAD),
        threshold(**REDIS),
    ]
    args = params(tmp_path / "metrics", thresholds=thresholds, json=str(out / "t.json"), markdown=str(out / "t.md"))
    result = run(args)
    rows = {row["name"]: row for row in result["rows"]}
    assert [row["name"] for row in result["rows"]] == ["Memory used", "Disk used", "Load per core", "Redis memory"]
    memory = rows["Memory used"]
    assert (memory["samples"], memory["missing_days"], memory["verdict"]) == (87, 3, "noisy")
    assert memory["days_over_warning"] == 29 and memory["days_over_critical"] == 0
    assert memory["suggested_warning"] == 92.0  # p95 87 + 5 % = 91.35: 95 is the critical value, 92 is not
    assert rows["Disk used"]["verdict"] == "tight" and rows["Disk used"]["severity"] == "ok"
    assert rows["Load per core"]["verdict"] == "slack" and rows["Load per core"]["suggested_warning"] == 0.4
    assert rows["Redis memory"]["verdict"] == "no data" and rows["Redis memory"]["days_over_critical"] is None
    checks = {f["subject"]: (f["check"], f["severity"]) for f in result["findings"]}
    assert checks["web1 Redis memory"] == ("missing_data", "warning")
    assert checks["web1 Memory used"] == ("threshold_review", "warning")
    assert result["severity"] == "warning"
    assert result["window"] == {"start": "2026-08-31", "end": "2026-11-28", "days": 90}
    assert len(result["missing_days"]) == 3 and result["skipped_files"] == []
    report = json.loads((out / "t.json").read_text())
    assert report["schema"] == SCHEMA and len(report["rows"]) == 4 and report["skipped"] == []
    page = (out / "t.md").read_text()
    assert "| Memory used (`memory_percent`) | health_check_thresholds.memory_percent_warning | 85% | 95% |" in page
    assert "| 29 / 0 of 87 |" in page and "2026-09-10 to 2026-09-12" in page


def test_noisy_below_critical_suggests_a_warning(tmp_path):
    write_series(tmp_path, 30, memory=lambda index: 86.0 if index % 2 else 80.0)
    result = run(params(tmp_path, days=30, thresholds=[threshold(**{**MEMORY, "critical": 98.0})]))
    row = result["rows"][0]
    assert row["verdict"] == "noisy" and row["suggested_warning"] == 95.0  # p95 86 + 5 % = 90.3 -> 95
    assert "raise the warning to about 95%" in result["findings"][0]["recommendation"]


def test_crossed_critical(tmp_path):
    write_series(tmp_path, 14, memory=lambda index: 97.0 if index == 5 else 60.0)
    result = run(params(tmp_path, days=14))
    row, finding = result["rows"][0], result["findings"][0]
    assert row["verdict"] == "crossed critical" and row["days_over_critical"] == 1
    assert (finding["severity"], finding["value"], finding["threshold"]) == ("warning", 97.0, 95.0)
    assert "Add capacity" in finding["recommendation"]


def test_check_mode_writes_nothing_and_a_second_run_changes_nothing(tmp_path):
    write_series(tmp_path / "metrics", 14, memory=lambda index: 50.0)
    out = tmp_path / "out"
    args = params(tmp_path / "metrics", days=14, json=str(out / "t.json"), markdown=str(out / "t.md"))
    planned = run(args, check_mode=True)
    assert planned["changed"] and not out.exists()
    assert planned["json_path"] == str(out / "t.json") and planned["rows"][0]["verdict"] == "fine"
    assert run(args)["changed"] and sorted(p.name for p in out.iterdir()) == ["t.json", "t.md"]
    assert not run(args)["changed"]
    assert not run(args, check_mode=True)["changed"]
    without_files = run(params(tmp_path / "metrics", days=14))
    assert not without_files["changed"] and "json_path" not in without_files


def test_bad_files_are_skipped_and_a_missing_metrics_dir_is_no_data(tmp_path):
    host = write_series(tmp_path / "metrics", 10, memory=lambda index: 50.0)
    day = (TODAY - datetime.timedelta(days=3)).isoformat()
    (host / f"metrics-{day}.json").write_text('{"schema": ')
    result = run(params(tmp_path / "metrics", days=10))
    assert [item["reason"][:14] for item in result["skipped_files"]] == ["not valid JSON"]
    assert result["missing_days"] == [day] and result["rows"][0]["samples"] == 9
    nothing = run(params(tmp_path / "nowhere", days=10))
    assert nothing["rows"][0]["verdict"] == "no data" and len(nothing["missing_days"]) == 10


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"days": 3}, r"days must be from 7 to 3660, got 3"),
        ({"thresholds": [threshold(**{**MEMORY, "critical": 80.0})]}, r"thresholds\[0\]\.critical must be above"),
        ({"thresholds": [threshold(**MEMORY), threshold(**{**DISK, "metric": "foo"})]}, r"thresholds\[1\]\.metric"),
    ],
)
def test_bad_parameters_are_refused_and_nothing_is_written(tmp_path, monkeypatch, overrides, message):
    write_series(tmp_path / "metrics", 7, memory=lambda index: 50.0)
    out = tmp_path / "out"
    args = params(tmp_path / "metrics", json=str(out / "t.json"), **overrides)
    module = refusing_module(args, monkeypatch)
    with pytest.raises(ModuleError, match=r"^Cannot review the thresholds: " + message):
        ThresholdReview(module.params, module.check_mode, Host(module), now=NOW).run()
    assert not out.exists()


def test_a_metrics_dir_that_is_a_file_is_refused(tmp_path, monkeypatch):
    (tmp_path / "metrics").write_text("not a directory")
    module = refusing_module(params(tmp_path / "metrics"), monkeypatch)
    with pytest.raises(ModuleError, match=r"metrics_dir .*/metrics is not a directory"):
        ThresholdReview(module.params, module.check_mode, Host(module), now=NOW).run()


def test_markdown_escapes_pipes_and_shows_no_critical_as_a_dash(tmp_path):
    write_series(tmp_path, 7, memory=lambda index: 30.0)
    item = threshold(**{**REDIS, "metric": "memory_percent", "name": "Mem | total", "source": "a|b"})
    result = run(params(tmp_path, days=7, thresholds=[item], title="Review"))
    report = {
        "title": "Review",
        "host": "web1",
        "window": result["window"],
        "generated_at": "now",
        "severity": result["severity"],
        "noisy_percent": 20.0,
        "rows": result["rows"],
        "findings": result["findings"],
        "missing_days": result["missing_days"],
        "skipped": [],
    }
    page = markdown(report)
    assert "| Mem \\| total (`memory_percent`) | a\\|b | 85% | - |" in page
    assert "| 0 / - of 7 |" in page and "slack" in page
