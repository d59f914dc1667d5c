# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Finding model every check returns, and threshold maths.

A finding is {check, severity, subject, value, threshold, message, recommendation}.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Iterable

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact

OK = "ok"
WARNING = "warning"
CRITICAL = "critical"
SEVERITIES = (OK, WARNING, CRITICAL)
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str
    subject: str
    value: Any = None
    threshold: Any = None
    message: str = ""
    recommendation: str = ""

    def __post_init__(self) -> None:
        if self.severity not in _RANK:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")
        # The free texts of every finding of every module pass the one redaction function here.
        object.__setattr__(self, "message", redact(self.message))
        object.__setattr__(self, "recommendation", redact(self.recommendation))

    def as_dict(self) -> dict[str, Any]:
        # shallow: asdict() would rebuild a list value by its type, which Ansible's lazy containers refuse
        return {item.name: getattr(self, item.name) for item in fields(self)}


def severity_rank(severity: str) -> int:
    """0 for ok, 1 for warning, 2 for critical; ValueError for anything else."""
    try:
        return _RANK[severity]
    except KeyError:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}") from None


def at_least(severity: str, minimum: str) -> bool:
    """True when severity is as bad as minimum or worse."""
    return severity_rank(severity) >= severity_rank(minimum)


def worst(findings: Iterable[Finding | dict[str, Any]]) -> str:
    """The worst severity among findings; ok when there are none."""
    result = OK
    for finding in findings:
        severity = finding["severity"] if isinstance(finding, dict) else finding.severity
        if severity_rank(severity) > severity_rank(result):
            result = severity
    return result


def count_by_severity(findings: Iterable[Finding | dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        severity = finding["severity"] if isinstance(finding, dict) else finding.severity
        counts[severity] += 1
    return counts


def validate_thresholds(
    warning: float | None,
    critical: float | None,
    higher_is_worse: bool = True,
    may_be_null: tuple[bool, bool] = (False, False),
) -> str | None:
    """Return why a warning/critical pair is unusable, or None when it is fine.

    may_be_null says, for the warning and the critical level, whether None (that level not judged) is allowed.
    """
    for value, nullable in zip((warning, critical), may_be_null):
        if value is None and nullable:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            return f"thresholds must be finite numbers, got {value!r}"
        if value < 0:
            return "thresholds must not be negative"
    if warning is None or critical is None:
        return None
    if higher_is_worse and warning > critical:
        return f"warning ({warning}) must not be above critical ({critical})"
    if not higher_is_worse and warning < critical:
        return f"warning ({warning}) must not be below critical ({critical})"
    return None


def crosses(value: float, level: float | None, higher_is_worse: bool = True) -> bool:
    """True when value is at or beyond level (a level of None is never crossed)."""
    if level is None:
        return False
    return value >= level if higher_is_worse else value <= level


def classify(
    value: float, warning: float | None, critical: float | None, higher_is_worse: bool = True
) -> tuple[str, float | None]:
    """Severity of value against a warning/critical pair, and the threshold it crossed.

    A value equal to a threshold counts as crossing it. When higher_is_worse is False
    (free space, days left), lower values are worse. A level of None is not judged; an ok
    value returns the warning level (the critical one when there is no warning level).
    """
    if crosses(value, critical, higher_is_worse):
        return CRITICAL, critical
    if crosses(value, warning, higher_is_worse):
        return WARNING, warning
    return OK, critical if warning is None else warning


def threshold_finding(
    check: str,
    subject: str,
    value: float,
    warning: float | None,
    critical: float | None,
    unit: str = "",
    higher_is_worse: bool = True,
    recommendation: str = "",
    label: str | None = None,
) -> Finding:
    """A Finding for value compared with a warning/critical pair, with a readable message.

    label names the measured thing in the message ("Memory in use"); it defaults to
    "<check> of <subject>". The recommendation is kept only when the finding is not ok.
    """
    severity, crossed = classify(value, warning, critical, higher_is_worse)
    shown = f"{value:g}{unit}"
    label = label or f"{check} of {subject}"
    if severity == OK:
        relation = "below" if higher_is_worse else "above"
        level = "critical" if warning is None else "warning"
        message = f"{label} is {shown}, {relation} the {level} threshold {crossed:g}{unit}"
        recommendation = ""
    else:
        relation = "at or above" if higher_is_worse else "at or below"
        message = f"{label} is {shown}, {relation} the {severity} threshold {crossed:g}{unit}"
    return Finding(
        check=check,
        severity=severity,
        subject=subject,
        value=value,
        threshold=crossed,
        message=message,
        recommendation=recommendation,
    )
