# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The maintenance_window role's findings when the window ends: whether the application came back, and the
notification channels that did not deliver (built here, not in Jinja)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import CRITICAL, OK, WARNING, Finding

NOT_BACK_ADVICE = "Look at the services' logs; the application did not come back after the window."
NOT_DELIVERED_ADVICE = "Check the channel settings; people may not know about the window."


def _failed_notifications(notifications: Any) -> list[Mapping[str, Any]]:
    if isinstance(notifications, (str, bytes)) or not isinstance(notifications, Sequence):
        raise AnsibleFilterError(
            f"window_findings: notifications must be a list (notify_results), got {type(notifications).__name__}"
        )
    failed = []
    for entry in notifications:
        if not isinstance(entry, Mapping) or not entry.get("channel"):
            raise AnsibleFilterError(
                f"window_findings: each notifications entry needs a channel (and ok, error), got {entry!r}"
            )
        if not entry.get("ok"):
            failed.append(entry)
    return failed


def window_findings(window: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The maintenance_window finding (critical naming the error when the application did not come back), and one
    notification warning naming every channel that did not deliver, when one did not.

    window: host, error (why the application did not come back; empty when it did), health_url, health_status (the
    health URL's last status, none when not waited for), notifications (notify_results: channel, ok, error).
    """
    if not isinstance(window, Mapping) or not window.get("host"):
        raise AnsibleFilterError("window_findings: expected a dict with at least host")
    error = window.get("error") or ""
    if not isinstance(error, str):
        raise AnsibleFilterError(f"window_findings: error must be a text (empty when none), got {error!r}")
    failed = _failed_notifications(window.get("notifications") or [])
    findings = [
        Finding(
            check="maintenance_window",
            severity=CRITICAL if error else OK,
            subject=window["host"],
            value=window.get("health_status"),
            threshold=200,
            message=error or f"the application is back: {window.get('health_url')} answered 200",
            recommendation=NOT_BACK_ADVICE if error else "",
        )
    ]
    if failed:
        findings.append(
            Finding(
                check="notification",
                severity=WARNING,
                subject=", ".join(dict.fromkeys(str(entry["channel"]) for entry in failed)),
                value=len(failed),
                threshold=0,
                message="not delivered: " + "; ".join(f"{entry['channel']}: {entry.get('error')}" for entry in failed),
                recommendation=NOT_DELIVERED_ADVICE,
            )
        )
    return [finding.as_dict() for finding in findings]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"window_findings": window_findings}
