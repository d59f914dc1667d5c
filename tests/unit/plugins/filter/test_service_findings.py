# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.service_findings import FilterModule, service_findings

BACKEND = {
    "manager": "supervisor",
    "unit": "backend",
    "state": "RUNNING",
    "running": True,
    "detail": "pid 12, uptime 0:01:00",
    "restarts": None,
}


def state(**kw):
    return {**BACKEND, **kw}


def test_a_running_service_is_ok_with_its_components_entry():
    judged = service_findings({"backend": BACKEND}, 3)
    assert judged["findings"] == [
        {
            "check": "service_state",
            "severity": "ok",
            "subject": "backend",
            "value": "RUNNING",
            "threshold": "running",
            "message": "backend is running (supervisor backend: RUNNING, pid 12, uptime 0:01:00)",
            "recommendation": "",
        }
    ]
    assert judged["services"] == {"backend": {**BACKEND, "severity": "ok"}}


def test_a_stopped_service_is_critical_with_its_managers_start_command():
    stopped = service_findings({"backend": state(state="STOPPED", running=False, detail="")}, 3)["findings"][0]
    assert stopped["severity"] == "critical"
    assert stopped["message"] == "backend is not running (supervisor backend: STOPPED)"
    assert stopped["recommendation"] == "supervisorctl start backend, then read its log for why it stopped."
    docker = state(manager="docker", unit="sutazai-frontend", state="exited", running=False, detail="exit code 137")
    exited = service_findings({"frontend": docker}, 3)["findings"][0]
    assert "sutazai-frontend: exited, exit code 137" in exited["message"]
    # docker compose starts the service by its compose name, not the container's
    assert exited["recommendation"].startswith("docker compose up -d frontend,")
    unit = state(manager="systemd", unit="jarvis-backend.service", state="failed", running=False, restarts=5)
    failed = service_findings({"backend": unit}, 3)["findings"][0]
    # not running outweighs the restarts
    assert failed["severity"] == "critical"
    assert failed["recommendation"].startswith("systemctl start jarvis-backend.service,")
    assert failed["message"].endswith("failed, pid 12, uptime 0:01:00, restarted 5 time(s) by the manager)")


@pytest.mark.parametrize(("restarts", "severity"), [(0, "ok"), (2, "ok"), (3, "warning"), (7, "warning")])
def test_restarts_by_the_manager_from_the_warning_level_are_a_warning(restarts, severity):
    docker = state(manager="docker", unit="sutazai-backend", state="running", detail="healthy", restarts=restarts)
    finding = service_findings({"backend": docker}, 3)["findings"][0]
    assert finding["severity"] == severity
    assert finding["message"] == (
        f"backend is running (docker sutazai-backend: running, healthy, restarted {restarts} time(s) by the manager)"
    )
    expected = f"It restarted on its own {restarts} times (it keeps crashing): read its log."
    assert finding["recommendation"] == (expected if severity == "warning" else "")


def test_every_service_in_order_and_the_severity_in_its_entry():
    judged = service_findings({"backend": BACKEND, "frontend": state(unit="frontend", running=False)}, 3)
    assert [(f["subject"], f["severity"]) for f in judged["findings"]] == [("backend", "ok"), ("frontend", "critical")]
    assert judged["services"]["frontend"]["severity"] == "critical"
    assert judged["services"]["frontend"]["unit"] == "frontend"
    assert service_findings({}, 3) == {"findings": [], "services": {}}


def test_a_secret_in_the_detail_is_redacted():
    leaky = state(detail="started with --password=s3cretpass")
    assert "s3cretpass" not in service_findings({"backend": leaky}, 3)["findings"][0]["message"]


@pytest.mark.parametrize(
    ("services", "restarts_warning", "message"),
    [
        ([BACKEND], 3, "expected services_status .a dict of services., got list"),
        ({"backend": BACKEND}, "3", "restarts_warning must be a whole number, not negative, got '3'"),
        ({"backend": BACKEND}, -1, "restarts_warning must be a whole number, not negative, got -1"),
        ({"backend": BACKEND}, True, "restarts_warning must be a whole number"),
        ({"backend": "RUNNING"}, 3, "the state of 'backend' must be a dict, got 'RUNNING'"),
        ({"backend": {"manager": "supervisor", "unit": "backend"}}, 3, "the state of 'backend' has no state, running"),
        ({"backend": state(manager="launchd")}, 3, "manager of 'backend' must be one of supervisor, docker, systemd"),
        ({"backend": state(restarts="many")}, 3, "the restarts of 'backend' must be a count or null, got 'many'"),
    ],
)
def test_bad_input_is_named(services, restarts_warning, message):
    with pytest.raises(AnsibleFilterError, match=message):
        service_findings(services, restarts_warning)


def test_the_filter_is_registered():
    assert FilterModule().filters()["service_findings"] is service_findings
