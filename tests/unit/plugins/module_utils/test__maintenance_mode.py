# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._maintenance_mode import (
    BUILTIN_PAGE,
    BUILTIN_SNIPPET,
    DEFAULT_RETRY_SECONDS,
    MaintenanceMode,
    address_rules,
    argument_spec,
    build_marker,
    check_params,
    masked,
    page_values,
    parse_duration,
    parse_time,
    read_marker,
    render_page,
    render_snippet,
    retry_after,
    retry_after_header,
    snippet_values,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 28, 20, 0, 0, tzinfo=UTC)
TOKEN = "sekrit-token-ABCDEF0123456789"

SPEC = argument_spec()


def params(**overrides):
    values = {name: spec.get("default") for name, spec in SPEC.items()}
    values.update(overrides)
    return values


# -- time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-29T02:00:00Z", datetime.datetime(2026, 11, 29, 2, 0, tzinfo=UTC)),
        ("2026-11-29T04:00:00+02:00", datetime.datetime(2026, 11, 29, 2, 0, tzinfo=UTC)),
        ("2026-11-29T02:00:00", datetime.datetime(2026, 11, 29, 2, 0, tzinfo=UTC)),  # naive is UTC
        ("2026-11-29T02:00:00.750Z", datetime.datetime(2026, 11, 29, 2, 0, tzinfo=UTC)),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["tomorrow", "", "2026-13-01T00:00:00Z"])
def test_parse_time_refuses(text):
    with pytest.raises(ValueError):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("45m", 2700), ("45min", 2700), ("2h", 7200), ("1h30m", 5400), ("1d 2h", 93600)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "0", "0m", "2x", "h", ""])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match=r"duration|longer than 0"):
        parse_duration(text)


def test_retry_after():
    assert retry_after(NOW + datetime.timedelta(minutes=30), NOW) == 1800
    assert retry_after(NOW - datetime.timedelta(minutes=30), NOW) == 0
    assert retry_after(None, NOW) == DEFAULT_RETRY_SECONDS


def test_retry_after_header_is_an_http_date():
    assert retry_after_header(datetime.datetime(2030, 1, 1, 0, 30, tzinfo=UTC)) == "Tue, 01 Jan 2030 00:30:00 GMT"
    assert retry_after_header(None) == str(DEFAULT_RETRY_SECONDS)


# -- addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "network",
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.1.0/24", "192.168.1.64/27", "10.20.0.0/14", "0.0.0.0/0", "1.2.3.4/31"],
)
def test_ipv4_network_regex_matches_exactly_the_network(network):
    net = ipaddress.ip_network(network)
    (operator, regex), *rest = address_rules([network])
    assert operator == "~" and not rest
    first, last = int(net.network_address), int(net.broadcast_address)
    samples = {first, last, (first + last) // 2}
    samples |= {value for value in (first - 1, last + 1, first - 256, last + 256) if 0 <= value < 2**32}
    samples |= {int(ipaddress.IPv4Address(text)) for text in ("10.19.255.255", "10.24.0.0", "172.32.0.1", "8.8.8.8")}
    for value in samples:
        address = ipaddress.IPv4Address(value)
        assert bool(re.match(regex, str(address))) == (address in net), (network, str(address), regex)


def test_single_addresses_are_compared_as_text():
    assert address_rules(["127.0.0.2", "::1", "2001:db8::1/128"]) == [
        ("=", "127.0.0.2"),
        ("=", "::1"),
        ("=", "2001:db8::1"),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("10.0.0.1/8", "allow_ips entry '10.0.0.1/8' is not an address or network"),
        ("bogus", "allow_ips entry 'bogus'"),
        ("2001:db8::/32", "IPv6 networks are not supported"),
    ],
)
def test_address_rules_refuse(entry, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        address_rules([entry])


# -- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"ends_at": "2030-01-01T00:00:00Z", "allow_ips": ["10.0.0.0/8"], "bypass_token": TOKEN}, None),
        ({"ends_at": "2030-01-01T00:00:00Z", "duration": "1h"}, "ends_at and duration are mutually exclusive"),
        ({"ends_at": "soon"}, "ends_at must be an ISO 8601 time"),
        ({"duration": "later"}, "duration: 'later' is not a duration"),
        ({"bypass_header": "X Bad"}, "bypass_header must be a header name"),
        ({"bypass_cookie": "bad-cookie"}, "bypass_cookie must be letters, digits and underscores"),
        ({"health_path": "/health; return 200"}, "health_path must be a plain URL path"),
        ({"health_status": 404}, "health_status must be 200 or 503"),
        ({"allow_ips": ["nope"]}, "allow_ips entry 'nope'"),
        ({"reason": "x" * 2001}, "reason is longer than 2000 characters"),
    ],
)
def test_check_params(overrides, problem):
    found = check_params(params(**overrides))
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


@pytest.mark.parametrize("token", ["SECRETPART", 'has"quote-SECRETPART-long', "space SECRETPART long enough"])
def test_a_bad_token_is_refused_without_showing_it(token):
    problem = check_params(params(bypass_token=token))
    assert problem.startswith("bypass_token must be 16 to 256 characters")
    assert "SECRETPART" not in problem


def test_masked_hides_the_token_and_any_compared_value():
    snippet = (
        f'if ($http_x_maintenance_bypass = "{TOKEN}") {{ set $jarvis_maintenance off; }}\n'
        'if ($cookie_jarvis_maintenance_bypass = "old-token-from-an-earlier-run") { set $jarvis_maintenance off; }\n'
    )
    assert TOKEN not in masked(snippet, TOKEN)
    assert "old-token-from-an-earlier-run" not in masked(snippet, None)
    assert masked(snippet, None).count("********") == 2
    assert masked(f"nginx said {TOKEN}", TOKEN) == "nginx said ********"
    assert masked(None, TOKEN) is None


# -- page and snippet -----------------------------------------------------------------------


def test_builtin_page_escapes_and_shows_the_end():
    values = page_values("<script>alert(1)</script>", NOW, NOW + datetime.timedelta(hours=2), "ops@x", "Jarvis")
    page = render_page(BUILTIN_PAGE, values)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert '<time datetime="2026-11-28T22:00:00Z">' in page
    assert "ops@x" in page
    assert '<html lang="en">' in page


def test_builtin_page_without_an_end():
    page = render_page(BUILTIN_PAGE, page_values("Upgrade", NOW, None, None, "Jarvis"))
    assert "has not been announced" in page
    assert "Questions" not in page


def test_page_templates():
    values = page_values("Upgrade", NOW, None, None, "Jarvis")
    assert render_page("Costs $$5: ${reason}", values) == "Costs $5: Upgrade"
    with pytest.raises(ValueError, match=r"\$\{colour\}"):
        render_page("${colour}", values)
    with pytest.raises(ValueError, match="stray"):
        render_page("50 $ off", values)


def snippet(**overrides):
    base = {
        "allow_ips": ["127.0.0.2", "10.20.0.0/14"],
        "bypass_token": TOKEN,
        "bypass_header": "X-Maintenance-Bypass",
        "bypass_cookie": "jarvis_maintenance_bypass",
        "health_path": "/health",
        "health_status": 200,
        "page_dir": "/opt/sutazaiapp/maintenance",
    }
    base.update(overrides)
    return render_snippet(BUILTIN_SNIPPET, snippet_values(base, NOW, NOW + datetime.timedelta(hours=2)))


def test_builtin_snippet():
    text = snippet()
    assert "${" not in text and "$$" not in text
    assert "if ($jarvis_maintenance = on) { return 503; }" in text
    assert "error_page 503 @jarvis_maintenance;" in text
    assert text.count('add_header Retry-After "Sat, 28 Nov 2026 22:00:00 GMT" always;') == 2
    assert 'if ($remote_addr = "127.0.0.2") { set $jarvis_maintenance off; }' in text
    assert 'if ($remote_addr ~ "^10\\.(?:20|21|22|23)\\.") { set $jarvis_maintenance off; }' in text
    assert f'if ($http_x_maintenance_bypass = "{TOKEN}")' in text
    assert f'if ($cookie_jarvis_maintenance_bypass = "{TOKEN}")' in text
    assert 'if ($jarvis_maintenance_route = "on:/health")' in text
    assert "root /opt/sutazaiapp/maintenance;" in text
    body = json.loads(re.search(r"return 200 '([^']*)';", text).group(1))
    assert body == {"status": "maintenance", "since": "2026-11-28T20:00:00Z", "ends_at": "2026-11-28T22:00:00Z"}


def test_builtin_snippet_without_pass_rules_and_with_503_health():
    text = snippet(allow_ips=[], bypass_token=None, health_status=503)
    assert "$remote_addr" not in text and "$http_" not in text and "$cookie_" not in text
    assert "return 503 '{" in text


# -- marker -----------------------------------------------------------------------------------


def test_marker_never_holds_the_token():
    marker = build_marker("Upgrade", NOW, None, "ops", params(bypass_token=TOKEN))
    assert TOKEN not in json.dumps(marker)
    assert marker["bypass"] is True
    assert marker["since"] == "2026-11-28T20:00:00Z" and marker["ends_at"] is None


def test_read_marker(tmp_path):
    path = tmp_path / ".maintenance_mode"
    assert read_marker(str(path)) == (None, None)
    path.write_text('{"enabled": true, "since": "2026-11-28T20:00:00Z"}')
    assert read_marker(str(path)) == ({"enabled": True, "since": "2026-11-28T20:00:00Z"}, None)
    path.write_text("2026-11-28T20:00:00+00:00\n")  # the runbook's marker
    marker, problem = read_marker(str(path))
    assert problem is None and marker["legacy"] and marker["since"] == "2026-11-28T20:00:00Z"
    path.write_text("garbage")
    marker, problem = read_marker(str(path))
    assert marker["enabled"] and "is not JSON nor a date" in problem


# -- the backend on real files (reload: false, so no nginx) ----------------------------------


def run(tmp_path, check_mode=False, now=NOW, **overrides):
    args = params(
        root=str(tmp_path / "app"),
        nginx_snippet=str(tmp_path / "nginx" / "jarvis-maintenance.conf"),
        reload=False,
        **overrides,
    )
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    return MaintenanceMode(module, now=now).run()


def test_enable_is_idempotent_and_disable_removes_everything(tmp_path):
    marker, snippet_path = tmp_path / "app" / ".maintenance_mode", tmp_path / "nginx" / "jarvis-maintenance.conf"
    page = tmp_path / "app" / "maintenance" / "maintenance.html"
    planned = run(tmp_path, check_mode=True, state="enabled", duration="30m")
    assert planned["changed"] and not marker.exists() and not snippet_path.exists()

    first = run(tmp_path, state="enabled", duration="30m", bypass_token=TOKEN, reason="Upgrade")
    assert first["changed"] and first["ends_at"] == "2026-11-28T20:30:00Z"
    assert oct(marker.stat().st_mode & 0o777) == "0o600" and oct(snippet_path.stat().st_mode & 0o777) == "0o600"
    assert "Upgrade" in page.read_text()
    assert all(TOKEN not in json.dumps(entry) for entry in first["diff"])

    later = NOW + datetime.timedelta(minutes=10)
    again = run(tmp_path, now=later, state="enabled", duration="30m", bypass_token=TOKEN, reason="Upgrade")
    assert not again["changed"] and again["since"] == first["since"] and again["ends_at"] == first["ends_at"]

    status = run(tmp_path, now=later, state="status")
    assert status["enabled"] and status["consistent"] and status["retry_after"] == 1200 and not status["problems"]

    overdue = run(tmp_path, now=NOW + datetime.timedelta(hours=1), state="status")
    assert overdue["overdue"] and any("ended at 2026-11-28T20:30:00Z" in text for text in overdue["problems"])

    gone = run(tmp_path, state="disabled")
    assert gone["changed"] and gone["was_enabled_since"] == "2026-11-28T20:00:00Z"
    assert not marker.exists() and not snippet_path.exists() and not page.exists()
    assert not run(tmp_path, state="disabled")["changed"]


def test_status_notices_a_marker_without_its_snippet(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / ".maintenance_mode").write_text("2026-11-28T19:00:00Z\n")
    status = run(tmp_path, state="status")
    assert status["enabled"] and not status["consistent"] and not status["snippet_present"]
    assert any("run state=enabled or state=disabled" in text for text in status["problems"])
    assert status["since"] == "2026-11-28T19:00:00Z"
    assert os.listdir(tmp_path / "app") == [".maintenance_mode"]  # status changed nothing
