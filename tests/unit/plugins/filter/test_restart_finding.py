# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.restart_finding import FilterModule, restart_finding

URL = "http://127.0.0.1:10010/health"


def outcome(**kw):
    base = {"services": ["backend"], "error": "", "seconds": 3.2, "health_url": URL, "health_timeout": 60}
    return {**base, "check_mode": False, **kw}


def test_a_restart_that_came_back_is_ok_with_its_seconds_and_url():
    assert restart_finding(outcome()) == {
        "check": "service_restart",
        "severity": "ok",
        "subject": "backend",
        "value": 3.2,
        "threshold": 60,
        "message": f"Restarted backend in 3.2 s; {URL} answered 200",
        "recommendation": "",
    }
    unwatched = restart_finding(outcome(services=["backend", "frontend"], health_url=""))
    assert unwatched["message"] == "Restarted backend, frontend in 3.2 s"
    assert unwatched["subject"] == "backend, frontend"


def test_a_failed_restart_is_critical_naming_the_error():
    finding = restart_finding(outcome(error="Status code was -1: Connection refused", seconds=60.4))
    assert finding["severity"] == "critical"
    assert finding["value"] == 60.4
    assert finding["message"] == "Restarting backend failed: Status code was -1: Connection refused"
    assert finding["recommendation"].startswith("Check the services at once")


def test_check_mode_and_skipped():
    assert restart_finding(outcome(check_mode=True))["message"] == (
        "Check mode: backend would be restarted; nothing was restarted"
    )
    skipped = restart_finding({"services": ["backend"], "skipped": "outside a maintenance window"})
    assert skipped["severity"] == "warning"
    assert skipped["message"] == "Restart of backend not tested: outside a maintenance window"
    assert "jarvis_maintenance_window=true" in skipped["recommendation"]


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match="restart_finding: services must name at least one service"):
        restart_finding({"services": []})
    with pytest.raises(AnsibleFilterError, match="expected a dict, got list"):
        restart_finding(["backend"])
    assert FilterModule().filters()["restart_finding"] is restart_finding
