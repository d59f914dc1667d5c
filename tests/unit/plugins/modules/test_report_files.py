# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Report files on disk: one mode for every report (0640 in 0750 directories), a bad mode refused."""

from __future__ import annotations

import json
import os
import stat

import pytest

REPORT = {
    "name": "health-web01",
    "title": "Health report",
    "host": "web01",
    "generated_at": "2026-11-28T02:00:00Z",
    "findings": [{"check": "disk", "severity": "ok", "subject": "/", "message": "fine"}],
}


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("7777", "setuid"),  # setuid, setgid, sticky and world-writable
        ("4750", "setuid"),
        ("-1", "octal"),
        ("0666", "world-writable"),
        ("0o777", "world-writable"),
        ("10000", "setuid"),
        ("0x1ff", "octal"),
        ("", "octal"),
    ],
)
def test_report_refuses_a_dangerous_or_bad_mode_and_writes_nothing(tmp_path, module_runner, mode, words):
    directory = tmp_path / "reports"
    code, _text, result = module_runner("report", {**REPORT, "dir": str(directory), "mode": mode})
    assert code == 1
    assert result["failed"] is True
    assert result["msg"].startswith("Cannot write report: mode ")
    assert words in result["msg"]
    assert "exception" not in result
    assert not directory.exists()


def test_report_writes_0640_files_in_a_0750_directory_whatever_the_umask(tmp_path, module_runner):
    directory = tmp_path / "a" / "reports"
    old = os.umask(0)
    try:
        code, _text, result = module_runner("report", {**REPORT, "dir": str(directory)})
    finally:
        os.umask(old)
    assert code == 0, result
    assert mode_of(directory) == 0o750
    assert mode_of(directory.parent) == 0o750
    assert {mode_of(result["json_path"]), mode_of(result["markdown_path"])} == {0o640}


def test_report_puts_back_the_mode_of_an_unchanged_report(tmp_path, module_runner):
    directory = tmp_path / "reports"
    module_runner("report", {**REPORT, "dir": str(directory)})
    os.chmod(directory / "health-web01.json", 0o666)
    code, _text, result = module_runner("report", {**REPORT, "dir": str(directory)}, check_mode=True)
    assert (code, result["changed"]) == (0, True)
    assert mode_of(directory / "health-web01.json") == 0o666
    code, _text, result = module_runner("report", {**REPORT, "dir": str(directory)})
    assert (code, result["changed"]) == (0, True)
    assert mode_of(directory / "health-web01.json") == 0o640
    code, _text, result = module_runner("report", {**REPORT, "dir": str(directory)})
    assert (code, result["changed"]) == (0, False)


def metrics_document(day: str, memory: float) -> dict:
    return {
        "schema": "jarvis.maintenance/metrics/1",
        "date": day,
        "timestamp": f"{day}T02:00:00Z",
        "memory": {"percent": memory},
    }


@pytest.mark.parametrize(
    ("module", "args", "outputs"),
    [
        (
            "capacity_report",
            {"metrics_dir": "{m}", "end_date": "2026-11-28"},
            ["json", "markdown", "html"],
        ),
        ("monthly_report", {"reports_dir": "{r}", "metrics_dir": "{m}", "host": "web01"}, ["json", "markdown", "html"]),
        (
            "threshold_review",
            {
                "metrics_dir": "{m}",
                "host": "web01",
                "thresholds": [{"name": "Memory", "metric": "memory_percent", "warning": 80}],
            },
            ["json", "markdown"],
        ),
    ],
)
def test_every_report_module_writes_0640_files_in_0750_directories(tmp_path, module_runner, module, args, outputs):
    metrics = tmp_path / "metrics" / "web01"
    metrics.mkdir(parents=True)
    (metrics / "metrics-2026-11-27.json").write_text(json.dumps(metrics_document("2026-11-27", 50.0)))
    reports = tmp_path / "reports"
    values = {
        key: value.format(m=tmp_path / "metrics", r=reports) if isinstance(value, str) else value
        for key, value in args.items()
    }
    values.update({option: str(reports / "new" / f"{module}.{option}") for option in outputs})
    old = os.umask(0o022)
    try:
        code, _text, result = module_runner(module, values)
    finally:
        os.umask(old)
    assert code == 0, result
    assert mode_of(reports) == 0o750
    assert mode_of(reports / "new") == 0o750
    assert {mode_of(values[option]) for option in outputs} == {0o640}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_report_refuses_data_that_is_not_json_and_writes_nothing(tmp_path, module_runner, value):
    directory = tmp_path / "reports"
    args = {**REPORT, "dir": str(directory), "data": {"load": {"per_core": value}}}
    code, _text, result = module_runner("report", args)
    assert code == 1
    assert result["msg"] == "Cannot write report: findings and data must not hold NaN or Infinity (not JSON)"
    assert not directory.exists()
