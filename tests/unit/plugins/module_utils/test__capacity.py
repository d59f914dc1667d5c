# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import html.parser
import json
import random

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Host, ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._capacity import (
    ARGUMENT_SPEC,
    METRICS,
    CapacityReport,
    analyse,
    check_params,
    describe,
    fit,
    forecast,
    html_page,
    markdown,
    percentile,
)

END = datetime.date(2026, 11, 28)
NOW = datetime.datetime(2026, 11, 28, 23, 0, tzinfo=datetime.timezone.utc)
SPEC = ARGUMENT_SPEC


def document(day, memory=40.0, disk=50.0, hour=2):
    return {
        "schema": "jarvis.maintenance/metrics/1",
        "host": "web1",
        "date": day.isoformat(),
        "timestamp": f"{day.isoformat()}T{hour:02d}:00:00Z",
        "uptime_seconds": 1000,
        "cpu_count": 2,
        "load": {"load_1": 0.5, "load_5": 0.5, "load_15": 0.5, "per_core_5": 0.25},
        "memory": {"total_bytes": 100, "available_bytes": 50, "used_bytes": 50, "percent": memory},
        "disk": {"path": "/", "total_bytes": 100, "used_bytes": 50, "percent": disk},
        "mounts": [],
        "backend": {"url": "http://x/health", "status": 200, "healthy": True, "response_ms": 10.0},
        "postgres": None,
        "redis": None,
        "unavailable": {"postgres": "down", "redis": "down"},
    }


def write_series(root, days, memory, disk=lambda index: 50.0, skip=()):
    """One document a day ending END; memory(index) and disk(index) give the values."""
    host = root / "web1"
    host.mkdir(parents=True, exist_ok=True)
    for index in range(days):
        day = END - datetime.timedelta(days=days - 1 - index)
        if index in skip:
            continue
        (host / f"metrics-{day.isoformat()}.json").write_text(json.dumps(document(day, memory(index), disk(index))))
    return host


def params(root, **overrides):
    values = {name: spec.get("default") for name, spec in SPEC.items()}
    values.update(metrics_dir=str(root), host="web1", end_date=END.isoformat())
    values.update(overrides)
    return values


# -- statistics -------------------------------------------------------------------------------


def test_describe_and_percentile_on_a_hand_series():
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    stats = describe(values)
    assert (stats["samples"], stats["mean"], stats["min"], stats["max"], stats["last"]) == (5, 30.0, 10.0, 50.0, 50.0)
    assert stats["p95"] == pytest.approx(48.0)  # between 40 and 50 at 0.95 * 4 = 3.8
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert describe([])["mean"] is None


def test_fit_exact_line_and_degenerate_inputs():
    line = fit([0, 1, 2, 3], [1.0, 3.0, 5.0, 7.0])
    assert line["slope"] == pytest.approx(2.0) and line["intercept"] == pytest.approx(1.0) and line["r2"] == 1.0
    assert fit([1.0], [5.0]) is None
    assert fit([2.0, 2.0], [1.0, 3.0]) is None


@pytest.mark.parametrize(
    ("line", "last_x", "threshold", "expected_days"),
    [
        ({"slope": 1.0, "intercept": 40.0, "r2": 0.9}, 29, 85.0, 16.0),
        ({"slope": 1.0, "intercept": 40.0, "r2": 0.9}, 50, 85.0, 0.0),  # already past
        ({"slope": 0.0, "intercept": 40.0, "r2": 1.0}, 29, 85.0, None),  # flat
        ({"slope": -0.5, "intercept": 80.0, "r2": 0.9}, 29, 85.0, None),  # falling
        ({"slope": 1.0, "intercept": 40.0, "r2": 0.9}, 29, None, None),  # no threshold
    ],
)
def test_forecast(line, last_x, threshold, expected_days):
    outlook = forecast(line, last_x, threshold, 30, 0.6)
    if expected_days is None:
        assert outlook is None
    else:
        assert outlook["days"] == pytest.approx(expected_days) and outlook["reliable"]


def test_forecast_is_unreliable_with_a_poor_fit_or_few_samples():
    line = {"slope": 1.0, "intercept": 40.0, "r2": 0.3}
    assert not forecast(line, 10, 85.0, 30, 0.6)["reliable"]
    assert not forecast({**line, "r2": 0.99}, 3, 85.0, 4, 0.6)["reliable"]


# -- synthetic series -------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "slope"), [(30, 0.8), (90, 0.25)])
def test_known_slope_and_days_to_threshold_within_tolerance(tmp_path, days, slope):
    noise = random.Random(42)
    write_series(tmp_path, days, lambda index: 30 + slope * index + noise.gauss(0, 0.5))
    report = analyse(params(tmp_path, days=days, forecast_horizon_days=365), END)
    memory = report["hosts"]["web1"]["memory_percent"]
    assert memory["samples"] == days
    assert memory["slope_per_day"] == pytest.approx(slope, rel=0.05)
    last = 30 + slope * (days - 1)
    assert memory["forecast"]["days"] == pytest.approx((85 - last) / slope, rel=0.1)
    assert memory["forecast"]["reliable"]
    disk = report["hosts"]["web1"]["disk_percent"]
    assert disk["forecast"] is None and disk["slope_per_day"] == pytest.approx(0.0, abs=1e-9)
    findings = [f for f in report["findings"] if f["check"] == "forecast" and "memory" in f["subject"]]
    assert findings[0]["severity"] == "warning"
    assert f"will reach 85% in about {memory['forecast']['days']:.0f} days" in findings[0]["message"]


def test_flat_and_falling_series_have_no_forecast(tmp_path):
    write_series(tmp_path, 30, lambda index: 60.0, disk=lambda index: 80 - index * 0.5)
    report = analyse(params(tmp_path, days=30), END)
    assert report["hosts"]["web1"]["memory_percent"]["forecast"] is None
    assert report["hosts"]["web1"]["disk_percent"]["forecast"] is None
    assert not [f for f in report["findings"] if f["check"] == "forecast"]


def test_noisy_trendless_series_is_uncertain_not_a_prediction(tmp_path):
    noise = random.Random(3)
    write_series(tmp_path, 30, lambda index: 50 + noise.uniform(-15, 15) + 0.05 * index)
    report = analyse(params(tmp_path, days=30), END)
    memory = report["hosts"]["web1"]["memory_percent"]
    assert memory["r2"] < 0.6
    forecasts = [f for f in report["findings"] if f["check"] == "forecast" and "memory" in f["subject"]]
    assert all(f["severity"] == "ok" for f in forecasts)
    if memory["forecast"]:
        assert not memory["forecast"]["reliable"]
        assert "uncertain" in forecasts[0]["message"]


def test_bad_files_missing_and_duplicate_days_are_listed_and_the_report_still_renders(tmp_path):
    host = write_series(tmp_path, 10, lambda index: 40 + index, skip={4})

    def day(index):
        return (END - datetime.timedelta(days=9 - index)).isoformat()

    (host / f"metrics-{day(2)}.json").write_text('{"schema": "jarvis.maintenance/metrics/1", ')
    old = document(END - datetime.timedelta(days=9 - 3))
    old["schema"] = "jarvis.maintenance/metrics/0"
    (host / f"metrics-{day(3)}.json").write_text(json.dumps(old))
    (host / f"metrics-{day(5)}.json").write_text("[1, 2]")
    # a duplicate of day 6 in a second file name is not possible; the same day twice comes from a copy
    (host / "notes.txt").write_text("ignored: not a metrics file")
    report = analyse(params(tmp_path, days=10), END)
    reasons = {item["file"].rsplit("/", 1)[1]: item["reason"] for item in report["skipped"]}
    assert "not valid JSON" in reasons[f"metrics-{day(2)}.json"]
    assert "is not jarvis.maintenance/metrics/1" in reasons[f"metrics-{day(3)}.json"]
    assert reasons[f"metrics-{day(5)}.json"] == "not a JSON object"
    assert report["missing_days"]["web1"] == [day(2), day(3), day(4), day(5)]
    assert report["hosts"]["web1"]["memory_percent"]["samples"] == 6
    missing = [f for f in report["findings"] if f["check"] == "missing_data"]
    assert missing and missing[0]["value"] == 4
    report["generated_at"] = "now"
    assert "metrics-" in markdown(report)
    html_page(report)


def test_a_duplicate_day_keeps_the_latest_and_the_runbooks_files_are_skipped(tmp_path):
    host = write_series(tmp_path, 7, lambda index: 40.0)
    day = END - datetime.timedelta(days=2)
    later = document(day, memory=99.0, hour=5)  # a second run of the day, copied by hand
    (host / f"metrics-{day.isoformat()}.copy.json").write_text(json.dumps(later))
    (host / f"daily_metrics_{day.strftime('%Y%m%d')}.json").write_text('{"cpu_usage": "", "memory_usage": 41}')
    (host / "daily_metrics_20200101.json").write_text("old and outside the window: not even read")
    report = analyse(params(tmp_path, days=7), END)
    reasons = {item["file"].rsplit("/", 1)[1]: item["reason"] for item in report["skipped"]}
    assert reasons[f"metrics-{day.isoformat()}.json"] == (
        f"duplicate of metrics-{day.isoformat()}.copy.json for {day.isoformat()} (older)"
    )
    assert "schema None is not jarvis.maintenance/metrics/1" in reasons[f"daily_metrics_{day.strftime('%Y%m%d')}.json"]
    assert "daily_metrics_20200101.json" not in reasons
    memory = report["hosts"]["web1"]["memory_percent"]
    assert memory["samples"] == 7 and memory["max"] == 99.0
    assert report["missing_days"]["web1"] == []


def test_every_file_skipped_still_renders(tmp_path):
    host = tmp_path / "web1"
    host.mkdir()
    (host / f"metrics-{END.isoformat()}.json").write_text("garbage")
    report = analyse(params(tmp_path, days=7), END)
    report["generated_at"] = "now"
    assert all(stats["samples"] == 0 for stats in report["hosts"]["web1"].values())
    assert "no data" in markdown(report) and "no data" in html_page(report)


def test_html_is_self_contained_with_one_svg_per_metric(tmp_path):
    write_series(tmp_path, 14, lambda index: 40 + index * 2)
    report = analyse(params(tmp_path, days=14, title="Capacity <web1>"), END)
    report["generated_at"] = "now"
    page = html_page(report)
    assert page.count("<svg ") == len(METRICS)
    assert "<script" not in page
    assert page.replace('xmlns="http://www.w3.org/2000/svg"', "").count("http") == 0
    assert "Capacity &lt;web1&gt;" in page
    parser = html.parser.HTMLParser()
    parser.feed(page)
    parser.close()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"thresholds": {"memory_percent_warning": 90}}, None),
        (
            {"thresholds": {"memory_percent_warning": 95, "memory_percent_critical": 90}},
            "thresholds.memory_percent_warning/memory_percent_critical: warning (95",
        ),
        ({"thresholds": {"disk_percent_warning": -1}}, "thresholds.disk_percent_warning/disk_percent_critical"),
        (
            {"thresholds": {"disk_percent_warning": float("nan")}},
            "thresholds.disk_percent_warning/disk_percent_critical",
        ),
        (
            {"thresholds": {"disk_percent_critical": float("inf")}},
            "thresholds.disk_percent_warning/disk_percent_critical",
        ),
        ({"thresholds": {"disk_percent_critical": 1e300}}, "thresholds.disk_percent_warning/disk_percent_critical"),
        ({"thresholds": {"disk_percent_warning": True}}, "thresholds.disk_percent_warning/disk_percent_critical"),
        ({"days": 1}, "days must be from 2 to 3660, got 1"),
        ({"days": 10**9}, "days must be from 2 to 3660, got 1000000000"),
        ({"days": 3660}, None),
        ({"min_r2": 2.0}, "min_r2 must be between 0 and 1, got 2.0"),
        ({"min_r2": float("nan")}, "min_r2 must be between 0 and 1, got nan"),
        ({"forecast_horizon_days": 0}, "forecast_horizon_days must be from 1 to 3660"),
        ({"forecast_horizon_days": 10**12}, "forecast_horizon_days must be from 1 to 3660"),
        ({"end_date": "yesterday"}, "end_date must look like 2026-11-28"),
        ({"end_date": "0001-01-01"}, "end_date 0001-01-01 with days 7 and a 30-day horizon leaves the years 1 to 9999"),
        ({"end_date": "0001-01-07"}, None),
        ({"end_date": "9999-12-31"}, "end_date 9999-12-31 with days 7 and a 30-day horizon leaves the years 1"),
    ],
)
def test_check_params(tmp_path, overrides, problem):
    found = check_params(params(tmp_path, **overrides), END)
    assert (found is None) if problem is None else found.startswith(problem), found


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('"percent": 1e300', "bad data: memory.percent = 1e+300"),
        ('"percent": -1e300', "bad data: memory.percent = -1e+300"),
        ('"percent": 1e400', "bad data: memory.percent = inf"),
        ('"percent": NaN', "not valid JSON: NaN is not a JSON number"),
        ('"percent": Infinity', "not valid JSON: Infinity is not a JSON number"),
        ('"percent": -Infinity', "not valid JSON: -Infinity is not a JSON number"),
    ],
)
def test_a_value_that_is_not_a_finite_number_is_bad_data_and_the_json_report_stays_json(tmp_path, text, reason):
    host = write_series(tmp_path / "metrics", 7, lambda index: 40.0 + index)
    bad = host / f"metrics-{END.isoformat()}.json"
    bad.write_text(bad.read_text().replace('"percent": 46.0', text))
    out = tmp_path / "out"
    args = params(tmp_path / "metrics", json=str(out / "c.json"), markdown=str(out / "c.md"), html=str(out / "c.html"))
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    result = CapacityReport(module.params, module.check_mode, Host(module), now=NOW).run()
    assert result["skipped_files"][0]["reason"].startswith(reason)
    assert result["hosts"]["web1"]["memory_percent"]["samples"] == 6

    def refuse(name):
        raise AssertionError(f"{name} in the JSON report")

    doc = json.loads((out / "c.json").read_text(), parse_constant=refuse)
    assert doc["skipped"][0]["file"] == str(bad)


def test_module_check_mode_writes_nothing_and_a_run_writes_three_files(tmp_path):
    write_series(tmp_path / "metrics", 7, lambda index: 40 + index)
    out = tmp_path / "out"
    args = params(tmp_path / "metrics", json=str(out / "c.json"), markdown=str(out / "c.md"), html=str(out / "c.html"))
    with patch_module_args({**args, "_ansible_check_mode": True}):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    planned = CapacityReport(module.params, module.check_mode, Host(module), now=NOW).run()
    assert planned["changed"] and not out.exists()
    assert planned["hosts"]["web1"]["memory_percent"]["samples"] == 7
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    result = CapacityReport(module.params, module.check_mode, Host(module), now=NOW).run()
    assert result["changed"] and sorted(p.name for p in out.iterdir()) == ["c.html", "c.json", "c.md"]
    assert json.loads((out / "c.json").read_text())["schema"] == "jarvis.maintenance/capacity_report/1"
    assert "skipped" not in result and result["skipped_files"] == []
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    assert not CapacityReport(module.params, module.check_mode, Host(module), now=NOW).run()["changed"]


@pytest.mark.parametrize("host", ["web1", None])
def test_a_metrics_dir_that_does_not_exist_yet_is_a_report_without_data(tmp_path, host):
    # weekly.yml before any daily run: no metrics directory at all.
    out = tmp_path / "out"
    args = params(tmp_path / "metrics", host=host, json=str(out / "c.json"), markdown=str(out / "c.md"))
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    result = CapacityReport(module.params, module.check_mode, Host(module), now=NOW).run()
    assert result["changed"]
    if host:
        assert len(result["missing_days"]["web1"]) == args["days"]
        assert all(stats["samples"] == 0 for stats in result["hosts"]["web1"].values())
    else:
        assert result["hosts"] == {}
    assert "no data" in (out / "c.md").read_text() or result["hosts"] == {}


def test_a_metrics_dir_that_is_a_file_is_refused(tmp_path, monkeypatch):
    (tmp_path / "metrics").write_text("not a directory")
    with patch_module_args(params(tmp_path / "metrics")):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)

    with pytest.raises(ModuleError, match=r"metrics_dir .*/metrics is not a directory"):
        CapacityReport(module.params, module.check_mode, Host(module), now=NOW).run()
