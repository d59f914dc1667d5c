# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The service_restart finding: a restart of app services and the wait for their health URL, as one finding.

The services role's `restart` entry point restarts and waits; the dr_test and performance_tuning roles read
its finding (the restarted_finding filter builds it from the outcome).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import CRITICAL, OK, WARNING, Finding

FAILED_ADVICE = "Check the services at once (their logs, the service manager): the application may be down."


def restart_finding(outcome: Mapping[str, Any]) -> Finding:
    """outcome: services (names), error (empty when none), seconds, health_url (empty: not waited for),
    health_timeout, check_mode, skipped (why the restart was not run; empty when it was)."""
    services = list(outcome.get("services") or [])
    if not services:
        raise ValueError("services must name at least one service")
    names = ", ".join(services)
    url, timeout = outcome.get("health_url") or "", outcome.get("health_timeout")
    base = {"check": "service_restart", "subject": names, "threshold": timeout}
    if outcome.get("skipped"):
        return Finding(
            **base,
            severity=WARNING,
            message=f"Restart of {names} not tested: {outcome['skipped']}",
            recommendation="Run it inside a maintenance window (jarvis_maintenance_window=true) to test the restart.",
        )
    if outcome.get("check_mode"):
        return Finding(**base, severity=OK, message=f"Check mode: {names} would be restarted; nothing was restarted")
    seconds = outcome.get("seconds")
    if outcome.get("error"):
        return Finding(
            **base,
            severity=CRITICAL,
            value=seconds,
            message=f"Restarting {names} failed: {outcome['error']}",
            recommendation=FAILED_ADVICE,
        )
    health = f"; {url} answered 200" if url else ""
    return Finding(**base, severity=OK, value=seconds, message=f"Restarted {names} in {seconds} s{health}")
