# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The health check's service_state finding and component record of each app service, from the services role's
services_status (built here, not in Jinja)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import CRITICAL, OK, WARNING, Finding

FIELDS = ("manager", "unit", "state", "running")
START = {
    "supervisor": lambda name, unit: f"supervisorctl start {unit}",
    "docker": lambda name, unit: f"docker compose up -d {name}",
    "systemd": lambda name, unit: f"systemctl start {unit}",
}


def _finding(name: str, state: Mapping[str, Any], restarts_warning: int) -> Finding:
    missing = [field for field in FIELDS if field not in state]
    if missing:
        raise AnsibleFilterError(f"service_findings: the state of {name!r} has no {', '.join(missing)}")
    manager, unit, running = state["manager"], state["unit"], bool(state["running"])
    if manager not in START:
        raise AnsibleFilterError(
            f"service_findings: the manager of {name!r} must be one of {', '.join(START)}, got {manager!r}"
        )
    restarts = state.get("restarts")
    if restarts is not None and (isinstance(restarts, bool) or not isinstance(restarts, int)):
        raise AnsibleFilterError(
            f"service_findings: the restarts of {name!r} must be a count or null, got {restarts!r}"
        )
    crashing = restarts is not None and restarts >= restarts_warning
    detail = f", {state['detail']}" if state.get("detail") else ""
    counted = f", restarted {restarts} time(s) by the manager" if restarts is not None else ""
    if not running:
        severity = CRITICAL
        recommendation = f"{START[manager](name, unit)}, then read its log for why it stopped."
    elif crashing:
        severity = WARNING
        recommendation = f"It restarted on its own {restarts} times (it keeps crashing): read its log."
    else:
        severity, recommendation = OK, ""
    return Finding(
        check="service_state",
        severity=severity,
        subject=name,
        value=state["state"],
        threshold="running",
        message=(
            f"{name} is {'running' if running else 'not running'} ({manager} {unit}: {state['state']}{detail}{counted})"
        ),
        recommendation=recommendation,
    )


def service_findings(services: Mapping[str, Any], restarts_warning: int) -> dict[str, Any]:
    """{findings, services}: a service_state finding per service, and its components entry with the severity.

    services: the services role's services_status, {name: {manager, unit, state, running, detail, restarts}}.
    A service not running is critical; one its manager restarted restarts_warning times or more is a warning.
    """
    if not isinstance(services, Mapping):
        raise AnsibleFilterError(
            f"service_findings: expected services_status (a dict of services), got {type(services).__name__}"
        )
    if isinstance(restarts_warning, bool) or not isinstance(restarts_warning, int) or restarts_warning < 0:
        raise AnsibleFilterError(
            f"service_findings: restarts_warning must be a whole number, not negative, got {restarts_warning!r}"
        )
    findings, components = [], {}
    for name, state in services.items():
        if not isinstance(state, Mapping):
            raise AnsibleFilterError(f"service_findings: the state of {name!r} must be a dict, got {state!r}")
        finding = _finding(name, state, restarts_warning).as_dict()
        findings.append(finding)
        components[name] = {**state, "severity": finding["severity"]}
    return {"findings": findings, "services": components}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"service_findings": service_findings}
