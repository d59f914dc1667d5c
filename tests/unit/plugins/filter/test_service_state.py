# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.service_state import service_state

SUPERVISOR = {
    "programs": {
        "backend": {"state": "RUNNING", "running": True, "pid": 12, "description": "pid 12, uptime 0:01:00"},
        "frontend": {"state": "FATAL", "running": False, "pid": None, "description": "Exited too quickly"},
    }
}


def docker(state=None, exists=True, name="/sutazai-backend"):
    return {"exists": exists, "container": {"Name": name, "State": state} if exists else None}


def systemd(active=None, sub="", load="loaded", name="jarvis-backend.service"):
    status = {} if active is None else {"ActiveState": active, "SubState": sub, "LoadState": load}
    return {"name": name, "status": status}


@pytest.mark.parametrize(
    ("result", "manager", "name", "expected"),
    [
        (SUPERVISOR, "supervisor", "backend", ("backend", "RUNNING", True, "pid 12, uptime 0:01:00")),
        (SUPERVISOR, "supervisor", "frontend", ("frontend", "FATAL", False, "Exited too quickly")),
        (SUPERVISOR, "supervisor", "worker", ("worker", "MISSING", False, "supervisord has no program of this name")),
        (
            {"programs": {}},
            "supervisor",
            "backend",
            ("backend", "MISSING", False, "supervisord has no program of this name"),
        ),
        (
            docker({"Status": "running", "Running": True, "StartedAt": "2026-11-29T01:00:00Z"}),
            "docker",
            "backend",
            ("sutazai-backend", "running", True, "started 2026-11-29T01:00:00Z"),
        ),
        (
            docker({"Status": "running", "Running": True, "Health": {"Status": "healthy"}}),
            "docker",
            "backend",
            ("sutazai-backend", "running", True, "health healthy"),
        ),
        (
            docker({"Status": "running", "Running": True, "Health": {"Status": "unhealthy"}}),
            "docker",
            "backend",
            ("sutazai-backend", "running", False, "health unhealthy"),
        ),
        (
            docker({"Status": "exited", "Running": False, "ExitCode": 137}),
            "docker",
            "backend",
            ("sutazai-backend", "exited", False, "exit code 137"),
        ),
        (
            docker({"Status": "restarting", "Running": True, "Restarting": True, "StartedAt": "t"}),
            "docker",
            "backend",
            ("sutazai-backend", "restarting", True, "started t, restarting"),
        ),
        (docker(exists=False), "docker", "backend", ("backend", "missing", False, "no container of this name")),
        (systemd("active", "running"), "systemd", "backend", ("jarvis-backend.service", "active", True, "running")),
        (systemd("failed", "failed"), "systemd", "backend", ("jarvis-backend.service", "failed", False, "failed")),
        (systemd("inactive", "dead"), "systemd", "backend", ("jarvis-backend.service", "inactive", False, "dead")),
        (
            systemd("inactive", "dead", load="not-found"),
            "systemd",
            "backend",
            ("jarvis-backend.service", "missing", False, "no unit of this name"),
        ),
        (
            systemd("inactive", "dead", load="masked"),
            "systemd",
            "backend",
            ("jarvis-backend.service", "inactive", False, "dead, load masked"),
        ),
        (systemd(), "systemd", "backend", ("jarvis-backend.service", "missing", False, "no unit of this name")),
    ],
)
def test_service_state(result, manager, name, expected):
    state = service_state(result, manager, name)
    assert state["manager"] == manager
    assert (state["unit"], state["state"], state["running"], state["detail"]) == expected


@pytest.mark.parametrize(
    ("result", "manager", "message"),
    [({}, "kubernetes", "manager must be one of"), ("text", "docker", "expected a module result")],
)
def test_service_state_refuses(result, manager, message):
    with pytest.raises(AnsibleFilterError, match=message):
        service_state(result, manager, "backend")


def test_restart_counts():
    crashed = {
        "exists": True,
        "container": {"Name": "/b", "RestartCount": 4, "State": {"Status": "running", "Running": True}},
    }
    assert service_state(crashed, "docker", "backend")["restarts"] == 4
    assert service_state(docker({"Status": "running", "Running": True}), "docker", "backend")["restarts"] is None
    unit = {
        "name": "u",
        "status": {"ActiveState": "active", "SubState": "running", "LoadState": "loaded", "NRestarts": "2"},
    }
    assert service_state(unit, "systemd", "backend")["restarts"] == 2
    assert service_state(SUPERVISOR, "supervisor", "backend")["restarts"] is None
