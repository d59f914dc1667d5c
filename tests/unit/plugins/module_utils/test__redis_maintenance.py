# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
import yaml

from ansible_collections.jarvis.maintenance.plugins.module_utils._redis_maintenance import (
    THRESHOLDS,
    check_params,
    error_cause,
    judge,
)
from ansible_collections.jarvis.maintenance.plugins.modules import redis_maintenance


def params(**overrides):
    values = {
        "thresholds": dict(THRESHOLDS),
        "actions": ["delete_keys"],
        "delete_pattern": "*expired*",
        "delete_batch_size": 250,
        "delete_max_keys": None,
        "delete_max_seconds": None,
        "delete_rate_limit": None,
        "wait_timeout": 300.0,
    }
    values.update(overrides)
    return values


def test_documented_thresholds_match_the_code():
    documented = yaml.safe_load(redis_maintenance.DOCUMENTATION)["options"]["thresholds"]["suboptions"]
    assert {name: option["default"] for name, option in documented.items()} == THRESHOLDS


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"delete_pattern": ""}, "delete_pattern is required with action delete_keys and must not be empty"),
        ({"delete_pattern": None}, "delete_pattern is required with action delete_keys and must not be empty"),
        ({"delete_pattern": "**"}, "delete_pattern '**' matches every key: name what to delete"),
        ({"delete_pattern": "", "actions": ["save"]}, None),
        ({"delete_batch_size": 0}, "delete_batch_size must be between 1 and 10000, got 0"),
        ({"delete_max_keys": 0}, "delete_max_keys must be positive, got 0"),
        ({"wait_timeout": 0}, "wait_timeout must be a positive number of seconds, got 0"),
        (
            {"thresholds": dict(THRESHOLDS, fragmentation_ratio_warning=3.0)},
            "thresholds.fragmentation_ratio_warning/fragmentation_ratio_critical: "
            "warning (3.0) must not be above critical (2.0)",
        ),
    ],
)
def test_check_params(overrides, problem):
    assert check_params(params(**overrides)) == problem


INFO = {
    "used_memory": 800,
    "used_memory_rss": 200 * 1024 * 1024,
    "mem_fragmentation_ratio": 2.5,
    "maxmemory": 1000,
    "maxmemory_policy": "allkeys-lru",
    "evicted_keys": 5,
    "rejected_connections": 0,
    "rdb_last_bgsave_status": "err",
    "aof_last_bgrewrite_status": "ok",
    "aof_last_write_status": "ok",
}


def test_judge_reads_every_problem_from_info():
    findings = {f.check: f for f in judge(INFO, THRESHOLDS)}
    assert findings["fragmentation"].severity == "critical"
    assert (findings["maxmemory"].severity, findings["maxmemory"].value) == ("warning", 80.0)
    assert findings["evictions"].severity == "warning"
    assert findings["rejected_connections"].severity == "ok"
    assert findings["last_save"].severity == "critical"
    assert findings["last_rewrite"].severity == "ok"


def test_small_servers_are_not_judged_on_fragmentation():
    findings = {f.check: f for f in judge(dict(INFO, used_memory_rss=1024), THRESHOLDS)}
    assert findings["fragmentation"].severity == "ok"
    assert "not judged" in findings["fragmentation"].message


def test_error_cause_prefers_the_line_with_a_cause():
    lines = [
        "15829:C 28 Nov 2026 15:21:25.307 # Write error saving DB on disk(rdbSaveRio): No space left on device\n",
        "12775:M 28 Nov 2026 15:21:25.339 # Background saving error\n",
    ]
    assert error_cause(lines) == " (Write error saving DB on disk(rdbSaveRio): No space left on device)"
    assert error_cause(["1:M 28 Nov 2026 * Ready to accept connections\n"]) == ""
