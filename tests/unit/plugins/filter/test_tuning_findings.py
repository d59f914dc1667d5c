# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.tuning_findings import FilterModule, tuning_findings

CONTAINERS = {"backend": "sutazai-backend", "frontend": "sutazai-frontend"}
MEASURED = [
    {"check": "container_cpu", "severity": "warning", "subject": "sutazai-backend", "recommendation": "Look at it."},
    {"check": "container_memory", "severity": "ok", "subject": "sutazai-backend", "recommendation": ""},
    {"check": "container_memory", "severity": "critical", "subject": "sutazai-frontend", "recommendation": "Free it."},
    {"check": "container_cpu", "severity": "critical", "subject": "sutazai-postgres", "recommendation": "Not an app."},
]
NOTHING = {"restart_now": [], "restarted": [], "would_restart": [], "deferred": [], "restart_error": ""}


def outcome(**kw):
    return {**NOTHING, **kw}


def test_deferred_restarts_go_into_the_recommendations():
    result = tuning_findings(MEASURED, ["backend", "frontend"], CONTAINERS, outcome(deferred=["backend", "frontend"]))
    deferred = "deferred to the next maintenance window (run with jarvis_maintenance_window=true)."
    assert result["findings"][0]["recommendation"] == f"Restart of backend {deferred} Look at it."
    assert result["findings"][1] == MEASURED[1]
    assert result["findings"][2]["recommendation"] == f"Restart of frontend {deferred} Free it."
    assert result["findings"][3] == MEASURED[3]
    assert len(result["findings"]) == 4
    assert result["action_rows"] == [
        {"service": "backend", "container": "sutazai-backend", "action": f"Restart of backend {deferred}"},
        {"service": "frontend", "container": "sutazai-frontend", "action": f"Restart of frontend {deferred}"},
    ]
    # the input is not changed
    assert MEASURED[0]["recommendation"] == "Look at it."


def test_restarted_says_so_in_the_recommendation():
    result = tuning_findings(MEASURED, ["backend"], CONTAINERS, outcome(restart_now=["backend"], restarted=["backend"]))
    assert result["findings"][0]["recommendation"] == "Restarted backend in this maintenance window. Look at it."
    # frontend is over a threshold but not among the over_services: its finding is left as it is
    assert result["findings"][2] == MEASURED[2]
    # the restart's own finding is the services role's (restart_finding)
    assert len(result["findings"]) == 4


def test_failed_restart_points_at_the_restart_finding():
    result = tuning_findings(
        MEASURED, ["frontend"], CONTAINERS, outcome(restart_now=["frontend"], restart_error="timed out")
    )
    assert result["findings"][2]["recommendation"] == (
        "The restart of frontend in this maintenance window failed (see the service_restart finding). Free it."
    )


def test_check_mode_and_restart_off():
    result = tuning_findings(MEASURED, ["backend"], CONTAINERS, outcome(would_restart=["backend"]))
    assert result["findings"][0]["recommendation"] == (
        "Check mode: backend would be restarted in this maintenance window; nothing was restarted. Look at it."
    )
    assert len(result["findings"]) == 4
    result = tuning_findings(MEASURED, ["backend"], CONTAINERS, outcome())
    assert result["action_rows"][0]["action"] == "backend not restarted (performance_tuning_restart is false)."


def test_refuses_a_service_without_container():
    with pytest.raises(AnsibleFilterError, match="no container is named for the service 'worker'"):
        tuning_findings([], ["worker"], CONTAINERS, outcome())
    with pytest.raises(AnsibleFilterError, match="must be dicts"):
        tuning_findings([], [], [], outcome())


def test_registered():
    assert FilterModule().filters()["tuning_findings"] is tuning_findings
