# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What backup_verify reports about one set: its findings, counters and data."""

from __future__ import annotations

import math
import os
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import OK, Finding, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes


def is_amount(value: Any) -> bool:
    """A finite, non-negative number (not a bool): a size or a count a manifest may hold (pure)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def human(count: int) -> str:
    return f"{human_bytes(count)} ({count} bytes)"


class SetResult:
    """Findings and counters of one set."""

    def __init__(self, name: str, path: str) -> None:
        self.name, self.path = name, path
        self.findings: list[Finding] = []
        self.passed = 0
        # what each sound file was when checked (lstat identity): a file is re-opened and compared
        self.planned: dict[str, os.stat_result] = {}
        self.data: dict[str, Any] = {"name": name, "path": path}

    def ok(self, check: str, subject: str, message: str, value: Any = None) -> None:
        self.passed += 1
        self.findings.append(Finding(check, OK, subject, value, None, message))

    def bad(self, check: str, severity: str, subject: str, message: str, recommendation: str = "", **kw: Any) -> None:
        self.findings.append(
            Finding(check, severity, subject, kw.get("value"), kw.get("threshold"), message, recommendation)
        )

    def judged(
        self,
        check: str,
        severity: str,
        failed: bool,
        value: Any,
        threshold: Any,
        messages: tuple[str, str, str],
    ) -> None:
        """One finding of a value against its limit, on the set itself: messages are (when it fails,
        the recommendation then, when it passes)."""
        problem, recommendation, fine = messages
        if failed:
            self.bad(check, severity, self.name, problem, recommendation, value=value, threshold=threshold)
        else:
            self.ok(check, self.name, fine, value)

    def as_dict(self) -> dict[str, Any]:
        failed = [f for f in self.findings if f.severity != OK]
        return {
            **self.data,
            "checks_passed": self.passed,
            "checks_failed": len(failed),
            "severity": worst(self.findings),
            "findings": [f.as_dict() for f in self.findings],
        }
