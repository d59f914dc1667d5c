# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._web._http import (
    BODY_LIMIT,
    HttpCheck,
    check_params,
    content_finding,
    judge,
    missing_json_keys,
    parse_body,
    summarize_health,
)

PARAMS = {
    "url": "http://127.0.0.1:10010/health",
    "timeout": 10.0,
    "status_codes": [200],
    "thresholds": {"response_time_ms_warning": 500.0, "response_time_ms_critical": 2000.0},
}


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"url": "ftp://host/x"}, "url must be an http:// or https:// URL with a host, got 'ftp://host/x'"),
        ({"url": "http:///health"}, "url must be an http:// or https:// URL with a host, got 'http:///health'"),
        ({"timeout": 0}, "timeout must be a number of seconds above 0 and at most 86400, got 0"),
        ({"timeout": float("inf")}, "timeout must be a number of seconds above 0 and at most 86400, got inf"),
        ({"url": "http://[::1"}, "url is not a valid URL (Invalid IPv6 URL), got 'http://[::1'"),
        (
            {"url": "http://127.0.0.1:65536/"},
            "url is not a valid URL (Port out of range 0-65535), got 'http://127.0.0.1:65536/'",
        ),
        ({"status_codes": []}, "status_codes must list at least one status"),
        (
            {"thresholds": {"response_time_ms_warning": 3000.0, "response_time_ms_critical": 2000.0}},
            "thresholds.response_time_ms_warning/response_time_ms_critical: "
            "warning (3000.0) must not be above critical (2000.0)",
        ),
    ],
)
def test_check_params(overrides, problem):
    assert check_params(dict(PARAMS, **overrides)) == problem


@pytest.mark.parametrize(
    ("method", "problem"),
    [("POST", None), ("GET", "json_body needs method POST, got method GET")],
)
def test_json_body_needs_post(method, problem):
    assert check_params(dict(PARAMS, method=method, json_body={"message": "hi"})) == problem


@pytest.mark.parametrize(
    ("body", "keys", "missing"),
    [
        ({"response": "Echo: hi"}, ["response"], []),
        ({"response": ""}, ["response"], ["response"]),
        ({"response": None, "model": "x"}, ["response", "model"], ["response"]),
        ({}, ["response"], ["response"]),
        (["response"], ["response"], ["response"]),
        (None, ["response"], ["response"]),
        ("text", [], []),
    ],
)
def test_missing_json_keys(body, keys, missing):
    assert missing_json_keys(body, keys) == missing


def test_content_finding():
    ok = content_finding("backend", "http://x/simple-chat", {"response": "Echo: hi"}, ["response"])
    assert ok.severity == "ok"
    bad = content_finding("backend", "http://x/simple-chat", {"response": ""}, ["response"])
    assert bad.severity == "critical"
    assert bad.message == "backend answered with no or an empty response at http://x/simple-chat"
    assert content_finding("b", "u", "oops", ["response"]).message == "b answered with no JSON object at u"


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [(b'{"status": "healthy"}', {"status": "healthy"}), (b"<html>ok</html>", None), (b"", None), (b"\xff\xfe", None)],
)
def test_parse_body(raw, parsed):
    assert parse_body(raw)[1] == parsed


def test_parse_body_truncates():
    text, parsed = parse_body(b"x" * (BODY_LIMIT + 10))
    assert len(text) == BODY_LIMIT
    assert parsed is None


UNHEALTHY = {
    "status": "unhealthy",
    "checks": {"database": {"status": "up"}, "redis": {"status": "down", "error": "Connection refused"}},
}


@pytest.mark.parametrize(
    ("body", "summary"),
    [
        (UNHEALTHY, "redis: down (Connection refused)"),
        ({"checks": {"a": {"status": "down"}, "b": {"status": "down", "error": "x"}}}, "a: down; b: down (x)"),
        ({"status": "healthy", "checks": {"database": {"status": "up"}}}, ""),
        ({"status": "unhealthy"}, ""),
        ("not a dict", ""),
        (None, ""),
    ],
)
def test_summarize_health(body, summary):
    assert summarize_health(body) == summary


@pytest.mark.parametrize(
    ("status", "elapsed", "availability", "response_time"),
    [
        (200, 12.0, "ok", "ok"),
        (200, 700.0, "ok", "warning"),
        (200, 2000.0, "ok", "critical"),
        (503, 5.0, "critical", "ok"),
    ],
)
def test_judge_status_and_response_time(status, elapsed, availability, response_time):
    findings = {f.check: f for f in judge("backend", status, None, elapsed, PARAMS, UNHEALTHY)}
    assert findings["availability"].severity == availability
    assert findings["response_time"].severity == response_time
    assert findings["response_time"].value == elapsed


def test_judge_names_failing_components_in_the_message():
    (availability, _time) = judge("backend", 503, "Service Unavailable", 3.0, PARAMS, UNHEALTHY)
    assert availability.message == (
        "backend answered 503 at http://127.0.0.1:10010/health, expected [200] (redis: down (Connection refused))"
    )


def test_no_answer_is_one_critical_finding():
    findings = judge("backend", None, "[Errno 111] Connection refused", 1.0, PARAMS, None)
    assert [(f.check, f.severity) for f in findings] == [("availability", "critical")]
    assert "Connection refused" in findings[0].message


class FakeModule:
    def __init__(self, **params):
        self.params = {
            "name": None,
            "method": "GET",
            "json_body": None,
            "validate_certs": True,
            "require_json_keys": [],
            **PARAMS,
            **params,
        }
        self.check_mode = False
        self.no_log_values = set()

    def hide(self, secret):
        self.no_log_values.add(secret)


@pytest.mark.parametrize(
    "url",
    [
        "http://probe:UrlSecret99@127.0.0.1:9/health",  # nothing answers
        "http://:UrlSecret99@127.0.0.1:9/health",  # no user, like a Redis URL
    ],
)
def test_url_credentials_reach_no_result_or_finding(url):
    module = FakeModule(url=url, timeout=2.0)
    result = HttpCheck(module.params, module.check_mode, module).run()
    assert result["status"] is None
    assert "UrlSecret99" not in repr(result)
    assert "<redacted>@127.0.0.1:9/health" in result["url"]
    assert "<redacted>@127.0.0.1:9/health" in result["findings"][0]["message"]
    # Ansible also takes it out of the module's invocation (module_args) and of anything else returned
    assert "UrlSecret99" in module.no_log_values


def test_judge_messages_are_redacted():
    params = dict(PARAMS, url="http://u:UrlSecret99@host/health")
    body = {"checks": {"redis": {"status": "down", "error": "redis://:R3disPassw0rd@cache refused"}}}
    for found in (judge("app", 503, "down", 5.0, params, body), judge("app", None, "refused", 5.0, params, None)):
        dumped = repr([f.as_dict() for f in found])
        assert "UrlSecret99" not in dumped
        assert "R3disPassw0rd" not in dumped
