# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The security audit's certificate_expiry finding and table row of each certificate, from the looped results of
community.crypto.x509_certificate_info (built here, not in Jinja)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    WARNING,
    Finding,
    classify,
    validate_thresholds,
)

# how x509_certificate_info writes not_after (ASN.1 TIME, UTC)
ASN1_TIME = "%Y%m%d%H%M%SZ"
RENEW = "Renew the certificate and reload nginx."
UNREADABLE = "Check that the certificate path is right and readable."


def _now(now: Any) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if not isinstance(now, datetime):
        raise AnsibleFilterError(f"certificate_findings: now must be a datetime, got {now!r}")
    # naive means UTC, as now(utc=true) gives it
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def _path(result: Mapping[str, Any]) -> str:
    key = result.get("ansible_loop_var", "item")
    if not result.get(key):
        raise AnsibleFilterError(
            f"certificate_findings: a result names no certificate (no {key!r} among {sorted(result)})"
        )
    return str(result[key])


def _judge(result: Mapping[str, Any], warning: float, critical: float, now: datetime) -> tuple[Finding, dict]:
    path = _path(result)
    if not result.get("not_after"):
        finding = Finding(
            check="certificate_expiry",
            severity=WARNING,
            subject=path,
            message=f"Cannot read the certificate {path}: {result.get('msg') or 'unknown error'}",
            recommendation=UNREADABLE,
        )
        row = {"path": path, "subject": None, "issuer": None, "not_after": None, "days_left": None}
        return finding, row
    try:
        not_after = datetime.strptime(result["not_after"], ASN1_TIME).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        raise AnsibleFilterError(
            f"certificate_findings: the not_after of {path} is not an ASN.1 time, got {result['not_after']!r}"
        ) from None
    shown = not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    days_left = round((not_after - now).total_seconds() / 86400, 1)
    severity, crossed = classify(days_left, warning, critical, higher_is_worse=False)
    common_name = (result.get("subject") or {}).get("commonName")
    if result.get("expired", days_left < 0):
        when = f"expired on {shown}, {abs(days_left)} days ago"
    else:
        when = f"expires on {shown}, in {days_left} days"
    finding = Finding(
        check="certificate_expiry",
        severity=severity,
        subject=path,
        value=days_left,
        threshold=crossed,
        message=f"The certificate {path} ({common_name or 'no common name'}) {when}",
        recommendation=RENEW if severity != "ok" else "",
    )
    row = {
        "path": path,
        "subject": common_name,
        "issuer": (result.get("issuer") or {}).get("commonName"),
        "not_after": shown,
        "days_left": days_left,
    }
    return finding, row


def certificate_findings(
    results: Sequence[Mapping[str, Any]], warning_days: float, critical_days: float, now: Any = None
) -> dict[str, Any]:
    """{findings, rows}: a certificate_expiry finding per certificate, and its row of the report's table.

    results: the registered results of x509_certificate_info looped over the certificate paths (the loop variable
    names the path). Days left at or below warning_days is a warning, at or below critical_days (or expired) critical;
    a certificate that could not be read is a warning. now (a datetime, naive meaning UTC) defaults to the current time.
    """
    if isinstance(results, (str, bytes, Mapping)) or not isinstance(results, Sequence):
        raise AnsibleFilterError(
            f"certificate_findings: expected the looped module's results (a list), got {type(results).__name__}"
        )
    why = validate_thresholds(warning_days, critical_days, higher_is_worse=False)
    if why:
        raise AnsibleFilterError(f"certificate_findings: warning_days/critical_days: {why}")
    moment = _now(now)
    findings, rows = [], []
    for result in results:
        if not isinstance(result, Mapping):
            raise AnsibleFilterError(f"certificate_findings: expected a module result (a dict), got {result!r}")
        finding, row = _judge(result, warning_days, critical_days, moment)
        findings.append(finding.as_dict())
        rows.append({**row, "severity": finding.severity})
    return {"findings": findings, "rows": rows}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"certificate_findings": certificate_findings}
