# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The system_updates role's findings: the update's outcome and a reboot left to do (built here, not in Jinja)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import CRITICAL, OK, WARNING, Finding

FAILED_ADVICE = (
    "Read the verification and rollback sections of the report, fix the cause on this host, then run the update again."
)
REBOOT_ADVICE = "Reboot in the next maintenance window (system_updates_allow_reboot with the window)."


def _outcome_message(update: Mapping[str, Any]) -> str:
    error, rollback = update.get("error"), update.get("rollback") or {}
    if error:
        if not rollback:
            return f"Update failed ({error}); not rolled back"
        health = "healthy again" if rollback.get("healthy") else "NOT healthy"
        return f"Update failed ({error}); rolled back: {rollback.get('summary')}, {health}"
    changed = [item["name"] for item in update.get("changed") or []]
    message = f"{'Would update' if update.get('check_mode') else 'Updated'} {len(changed)} package(s)"
    if changed:
        message += ": " + ", ".join(changed)
    return message + ("; verified healthy" if update.get("verification") else "")


def update_findings(update: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The system_update finding (critical when the update failed), and reboot_required when a reboot is owed.

    update: host, error (empty when none), changed (packages, each with a name), check_mode, verification and
    rollback (empty when not done; rollback has summary and healthy), reboot (required, performed, packages, reason).
    """
    if not isinstance(update, Mapping) or not update.get("host"):
        raise AnsibleFilterError("update_findings: expected a dict with at least host")
    error = update.get("error")
    findings = [
        Finding(
            check="system_update",
            severity=CRITICAL if error else OK,
            subject=update["host"],
            value=len(update.get("changed") or []),
            message=_outcome_message(update),
            recommendation=FAILED_ADVICE if error else "",
        )
    ]
    reboot = update.get("reboot") or {}
    if reboot.get("required") and not reboot.get("performed"):
        findings.append(
            Finding(
                check="reboot_required",
                severity=WARNING,
                subject=update["host"],
                value=reboot.get("packages"),
                message=f"A reboot is required and was not done: {reboot.get('reason')}",
                recommendation=REBOOT_ADVICE,
            )
        )
    return [finding.as_dict() for finding in findings]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"update_findings": update_findings}
