# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.certificate_findings import (
    FilterModule,
    certificate_findings,
)

NOW = datetime(2026, 12, 4, 12, 0, 0)


def cert(path="/certs/jarvis.crt", days=90.0, expired=None, common_name="jarvis.test"):
    not_after = NOW + timedelta(days=days)
    result = {
        "security_audit_certificate": path,
        "ansible_loop_var": "security_audit_certificate",
        "not_after": not_after.strftime("%Y%m%d%H%M%SZ"),
        "expired": days < 0 if expired is None else expired,
        "subject": {"commonName": common_name} if common_name else {},
        "issuer": {"commonName": "Jarvis CA"},
    }
    return result


def unreadable(path="/certs/missing.crt", msg="The file /certs/missing.crt does not exist"):
    result = {"security_audit_certificate": path, "ansible_loop_var": "security_audit_certificate", "failed": True}
    return {**result, "msg": msg} if msg is not None else result


def judge(*results, warning=30, critical=7, now=NOW):
    return certificate_findings(list(results), warning, critical, now=now)


def test_a_fresh_certificate_is_ok_with_its_row():
    judged = judge(cert(days=90))
    assert judged["findings"] == [
        {
            "check": "certificate_expiry",
            "severity": "ok",
            "subject": "/certs/jarvis.crt",
            "value": 90.0,
            "threshold": 30,
            "message": "The certificate /certs/jarvis.crt (jarvis.test) expires on 2027-03-04T12:00:00Z, in 90.0 days",
            "recommendation": "",
        }
    ]
    assert judged["rows"] == [
        {
            "path": "/certs/jarvis.crt",
            "subject": "jarvis.test",
            "issuer": "Jarvis CA",
            "not_after": "2027-03-04T12:00:00Z",
            "days_left": 90.0,
            "severity": "ok",
        }
    ]


@pytest.mark.parametrize(
    ("days", "severity", "threshold"),
    [
        (30.1, "ok", 30),
        (30, "warning", 30),
        (20, "warning", 30),
        (7.1, "warning", 30),
        (7, "critical", 7),
        (3, "critical", 7),
    ],
)
def test_days_left_at_or_below_a_level_cross_it(days, severity, threshold):
    finding = judge(cert(days=days))["findings"][0]
    assert (finding["severity"], finding["threshold"], finding["value"]) == (severity, threshold, days)
    assert finding["recommendation"] == ("" if severity == "ok" else "Renew the certificate and reload nginx.")


def test_an_expired_certificate_is_critical_naming_how_long_ago():
    judged = judge(cert(path="/certs/old.crt", days=-1.25, common_name=None))
    finding = judged["findings"][0]
    assert finding["severity"] == "critical"
    assert finding["value"] == -1.2
    assert finding["message"] == (
        "The certificate /certs/old.crt (no common name) expired on 2026-12-03T06:00:00Z, 1.2 days ago"
    )
    assert judged["rows"][0]["days_left"] < 0
    assert judged["rows"][0]["subject"] is None


def test_an_unreadable_certificate_is_a_warning_naming_the_error():
    judged = judge(unreadable(), unreadable(path="/certs/empty.crt", msg=None))
    assert judged["findings"][0] == {
        "check": "certificate_expiry",
        "severity": "warning",
        "subject": "/certs/missing.crt",
        "value": None,
        "threshold": None,
        "message": "Cannot read the certificate /certs/missing.crt: The file /certs/missing.crt does not exist",
        "recommendation": "Check that the certificate path is right and readable.",
    }
    assert judged["findings"][1]["message"] == "Cannot read the certificate /certs/empty.crt: unknown error"
    assert judged["rows"][0] == {
        "path": "/certs/missing.crt",
        "subject": None,
        "issuer": None,
        "not_after": None,
        "days_left": None,
        "severity": "warning",
    }


def test_every_certificate_in_order_and_now_defaults_to_the_current_time():
    fresh = datetime.now(timezone.utc) + timedelta(days=60)
    result = {**cert(), "not_after": fresh.strftime("%Y%m%d%H%M%SZ"), "item": "/certs/a.crt"}
    del result["ansible_loop_var"]
    judged = certificate_findings([result, unreadable()], 30, 7)
    assert [f["subject"] for f in judged["findings"]] == ["/certs/a.crt", "/certs/missing.crt"]
    assert 59.9 <= judged["rows"][0]["days_left"] <= 60.0
    # an aware now counts the same as a naive one in UTC
    assert judge(cert(days=10), now=NOW.replace(tzinfo=timezone.utc))["findings"][0]["value"] == 10.0


@pytest.mark.parametrize(
    ("results", "warning", "critical", "now", "message"),
    [
        ({"results": []}, 30, 7, NOW, "expected the looped module's results .a list., got dict"),
        ("cert", 30, 7, NOW, "expected the looped module's results .a list., got str"),
        ([cert()], 7, 30, NOW, "warning_days/critical_days: warning .7. must not be below critical .30."),
        ([cert()], "30", 7, NOW, "warning_days/critical_days: thresholds must be finite numbers, got '30'"),
        ([cert()], 30, -1, NOW, "warning_days/critical_days: thresholds must not be negative"),
        ([cert()], 30, 7, "today", "now must be a datetime, got 'today'"),
        (["/certs/a.crt"], 30, 7, NOW, "expected a module result .a dict., got '/certs/a.crt'"),
        ([{"not_after": "20270101000000Z"}], 30, 7, NOW, "a result names no certificate .no 'item' among"),
        ([{**cert(), "not_after": "2027-01-01"}], 30, 7, NOW, "not_after of /certs/jarvis.crt is not an ASN.1 time"),
    ],
)
def test_bad_input_is_named(results, warning, critical, now, message):
    with pytest.raises(AnsibleFilterError, match=message):
        certificate_findings(results, warning, critical, now=now)


def test_a_secret_in_the_error_is_redacted():
    leaky = unreadable(msg="cannot fetch https://admin:s3cretpass@vault.example/cert")
    assert "s3cretpass" not in judge(leaky)["findings"][0]["message"]


def test_the_filter_is_registered():
    assert FilterModule().filters()["certificate_findings"] is certificate_findings
