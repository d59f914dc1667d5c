# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.window_findings import FilterModule, window_findings

BACK = {
    "host": "app1",
    "error": "",
    "health_url": "http://127.0.0.1:10010/health",
    "health_status": 200,
    "notifications": [{"channel": "file", "event": "finished", "ok": True, "error": ""}],
}


def window(**kw):
    return {**BACK, **kw}


def test_the_application_back_and_every_channel_delivered_is_one_ok_finding():
    assert window_findings(window()) == [
        {
            "check": "maintenance_window",
            "severity": "ok",
            "subject": "app1",
            "value": 200,
            "threshold": 200,
            "message": "the application is back: http://127.0.0.1:10010/health answered 200",
            "recommendation": "",
        }
    ]


def test_the_application_not_back_is_critical_with_the_error_as_message():
    error = "http://127.0.0.1:10010/health did not answer 200 within 60 s (Status code was 503)"
    finding = window_findings(window(error=error, health_status=503))[0]
    assert finding["severity"] == "critical" and finding["value"] == 503 and finding["threshold"] == 200
    assert finding["message"] == error
    assert finding["recommendation"] == (
        "Look at the services' logs; the application did not come back after the window."
    )


def test_no_health_wait_leaves_the_value_empty():
    assert window_findings(window(health_status=None, notifications=[]))[0]["value"] is None


def test_the_failed_channels_are_one_warning_naming_each_with_its_error():
    notifications = [
        {"channel": "file", "event": "started", "ok": True, "error": ""},
        {"channel": "status_page", "event": "started", "ok": False, "error": "HTTP 502"},
        {"channel": "slack", "event": "finished", "ok": False, "error": "timed out"},
        {"channel": "status_page", "event": "finished", "ok": False, "error": "HTTP 503"},
    ]
    findings = window_findings(window(notifications=notifications))
    assert [finding["check"] for finding in findings] == ["maintenance_window", "notification"]
    assert findings[1] == {
        "check": "notification",
        "severity": "warning",
        "subject": "status_page, slack",
        "value": 3,
        "threshold": 0,
        "message": "not delivered: status_page: HTTP 502; slack: timed out; status_page: HTTP 503",
        "recommendation": "Check the channel settings; people may not know about the window.",
    }


def test_a_secret_in_the_error_or_a_channel_error_is_redacted():
    findings = window_findings(
        window(
            error="start failed: PGPASSWORD=hunter2 rejected",
            notifications=[{"channel": "slack", "ok": False, "error": "POST https://bot:s3cr3tpass@hooks.example/x"}],
        )
    )
    assert "hunter2" not in findings[0]["message"]
    assert "s3cr3tpass" not in findings[1]["message"]


class NoRebuild(list):
    """Like Ansible's lazy containers: refuses to be built again by its type."""

    def __init__(self, *args):
        if args:
            raise TypeError("Direct construction of lazy containers is not supported.")
        super().__init__()


def test_lazy_containers_are_read_not_rebuilt():
    notifications = NoRebuild()
    notifications.append({"channel": "email", "ok": False, "error": "refused"})
    assert window_findings(window(notifications=notifications))[1]["subject"] == "email"


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ("app1", "at least host"),
        ({"error": ""}, "at least host"),
        (window(error=["x"]), "error must be a text"),
        (window(notifications="file"), "notifications must be a list"),
        (window(notifications=[{"ok": False}]), "each notifications entry needs a channel"),
    ],
)
def test_bad_input_is_refused_naming_it(bad, named):
    with pytest.raises(AnsibleFilterError, match=named):
        window_findings(bad)


def test_the_filter_is_registered():
    assert FilterModule().filters()["window_findings"] is window_findings
