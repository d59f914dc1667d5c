# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The performance_tuning role's findings: what was done about each over-threshold app service, put into the
measured findings' recommendations (built here, not in Jinja loops)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

# the container_stats checks whose finding a restart (or its deferral) answers
RESTARTABLE_CHECKS = ("container_cpu", "container_memory")


def _action(service: str, outcome: Mapping[str, Any]) -> str:
    if outcome.get("restart_error") and service in outcome.get("restart_now", []):
        return f"The restart of {service} in this maintenance window failed (see the service_restart finding)."
    if service in outcome.get("restarted", []):
        return f"Restarted {service} in this maintenance window."
    if service in outcome.get("would_restart", []):
        return f"Check mode: {service} would be restarted in this maintenance window; nothing was restarted."
    if service in outcome.get("deferred", []):
        return (
            f"Restart of {service} deferred to the next maintenance window (run with jarvis_maintenance_window=true)."
        )
    return f"{service} not restarted (performance_tuning_restart is false)."


def tuning_findings(
    measured: Sequence[Mapping[str, Any]],
    over_services: Sequence[str],
    containers: Mapping[str, str],
    outcome: Mapping[str, Any],
) -> dict[str, Any]:
    """The report's findings and its "App services over a threshold" rows.

    measured: container_stats' findings; over_services: the app services over a threshold, in order;
    containers: service -> container name; outcome: restart_now, restarted, would_restart, deferred (lists of
    services), restart_error (text, empty when none). The restart's own finding is the services role's.
    """
    if not isinstance(containers, Mapping) or not isinstance(outcome, Mapping):
        raise AnsibleFilterError("tuning_findings: containers and outcome must be dicts")
    actions: dict[str, str] = {}
    rows = []
    for service in over_services:
        if service not in containers:
            raise AnsibleFilterError(f"tuning_findings: no container is named for the service {service!r}")
        actions[service] = _action(service, outcome)
        rows.append({"service": service, "container": containers[service], "action": actions[service]})
    findings = []
    for finding in measured:
        service = ""
        if finding.get("severity") != "ok" and finding.get("check") in RESTARTABLE_CHECKS:
            of_container = [name for name, container in containers.items() if container == finding.get("subject")]
            service = next((name for name in over_services if name in of_container), "")
        if service:
            finding = {**finding, "recommendation": f"{actions[service]} {finding.get('recommendation')}"}
        findings.append(dict(finding))
    return {"findings": findings, "action_rows": rows}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tuning_findings": tuning_findings}
