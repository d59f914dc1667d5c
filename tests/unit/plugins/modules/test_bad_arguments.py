# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Arguments that crashed a module (a raw exception instead of a message naming the parameter),
found by issue 21 and by the fuzz test; each must now fail with that message and write nothing."""

from __future__ import annotations

import os

import pytest

CASES = [
    ("capacity_report", {"metrics_dir": "{tmp}/m", "days": 10**9}, "days must be from 2 to 3660"),
    ("capacity_report", {"metrics_dir": "{tmp}/m", "end_date": "0001-01-01"}, "end_date 0001-01-01 with days 7"),
    ("capacity_report", {"metrics_dir": "{tmp}/m", "forecast_horizon_days": 10**12}, "forecast_horizon_days must"),
    (
        "capacity_report",
        {"metrics_dir": "{tmp}/m", "thresholds": {"disk_percent_warning": float("nan")}},
        "thresholds.disk",
    ),
    ("capacity_report", {"metrics_dir": "{tmp}/m", "min_r2": float("nan")}, "min_r2 must be between 0 and 1"),
    (
        "threshold_review",
        {
            "metrics_dir": "{tmp}/m",
            "host": "web01",
            "days": 10**9,
            "thresholds": [{"name": "m", "metric": "memory_percent", "warning": 80}],
        },
        "days must be from 7 to 3660",
    ),
    (
        "threshold_review",
        {
            "metrics_dir": "{tmp}/m",
            "host": "web01",
            "thresholds": [{"name": "m", "metric": "memory_percent", "warning": float("inf")}],
        },
        "thresholds[0].warning must be a finite number",
    ),
    ("monthly_report", {"reports_dir": "{tmp}", "metrics_dir": "{tmp}/file", "host": "web01"}, "metrics_dir"),
    ("monthly_report", {"reports_dir": "{tmp}/file", "host": "web01"}, "reports_dir"),
    ("monthly_report", {"reports_dir": "{tmp}", "host": "web01", "sections": {"backup": 1}}, "sections.backup must"),
    ("monthly_report", {"reports_dir": "{tmp}", "host": "../web01"}, "host must be a host name"),
    ("host_resources_info", {"paths": ["{tmp}/a\x00b"]}, "Cannot measure disk usage of paths[0]"),
    (
        "host_resources_info",
        {"paths": ["{tmp}"], "thresholds": {"disk_percent_warning": float("nan")}},
        "finite numbers",
    ),
    ("report", {"dir": "{tmp}/r", "name": "a", "title": "t", "host": "h", "generated_at": "x", "mode": "7777"}, "mode"),
]


@pytest.mark.parametrize(
    ("name", "args", "words"), CASES, ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)]
)
@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "run"])
def test_bad_arguments_fail_with_a_message_naming_the_parameter(tmp_path, module_runner, name, args, words, check_mode):
    (tmp_path / "file").write_text("not a directory")

    def fill(value):
        if isinstance(value, str):
            return value.replace("{tmp}", str(tmp_path))
        if isinstance(value, list):
            return [fill(item) for item in value]
        return value

    before = sorted(os.listdir(tmp_path))
    code, _text, result = module_runner(name, {key: fill(value) for key, value in args.items()}, check_mode=check_mode)
    assert code == 1, result
    assert words in result["msg"]
    assert "exception" not in result
    assert sorted(os.listdir(tmp_path)) == before
