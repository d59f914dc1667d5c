# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pwd
import re
import shutil
import stat

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Host
from ansible_collections.jarvis.maintenance.plugins.module_utils._web._maintenance_mode import (
    ARGUMENT_SPEC,
    BUILTIN_PAGE,
    BUILTIN_SNIPPET,
    DEFAULT_RETRY_SECONDS,
    MaintenanceMode,
    address_rules,
    build_marker,
    check_params,
    check_snippet,
    iso,
    masked,
    page_values,
    parse_duration,
    parse_time,
    pass_directives,
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

SPEC = ARGUMENT_SPEC


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
    assert 'if ($remote_addr ~ "^10[.](?:20|21|22|23)[.]") { set $jarvis_maintenance off; }' in text
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
        **{"reload": False, **overrides},
    )
    if check_mode:
        args["_ansible_check_mode"] = True
    args["_ansible_diff"] = True
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    return MaintenanceMode(module.params, module.check_mode, Host(module), now=now).run()


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


# -- robustness: damaged files, out-of-range times, the page's language ----------------------

NOT_UTF8 = b"\xff\xfe\x00garbage \xe9t\xe9\n"
# A marker that is there but cannot be used as one: each must be reported, replaced by
# state=enabled and removed by state=disabled.
DAMAGED_MARKERS = {
    "not UTF-8": NOT_UTF8,
    "not JSON nor a date": b"garbage\n",
    "JSON but not an object": b"[1, 2]\n",
    "JSON nested too deep": b"[" * 100000,
    "since and ends_at are not strings": b'{"since": 5, "ends_at": {"a": 1}, "by": ["x"]}\n',
    "a date past the year 9999 in UTC": b"9999-12-31T23:59:59-01:00\n",
}


@pytest.mark.parametrize("content", DAMAGED_MARKERS.values(), ids=DAMAGED_MARKERS.keys())
def test_read_marker_reports_a_damaged_marker_as_present(tmp_path, content):
    path = tmp_path / ".maintenance_mode"
    path.write_bytes(content)
    marker, problem = read_marker(str(path))
    assert marker is not None and problem


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (NOT_UTF8, "is not UTF-8 text (invalid start byte at byte 0)"),
        (b"garbage\n", "is not JSON nor a date"),
        (b"[1, 2]\n", "is JSON but not an object"),
        (b"[" * 100000, "is not JSON nor a date"),
        (b"9999-12-31T23:59:59-01:00\n", "is not JSON nor a date"),
        (b'{"since": 5, "ends_at": "2026-11-28T22:00:00Z"}', "has a since that is not a time"),
        (
            b'{"since": "2026-11-28T20:00:00Z", "ends_at": "9999-12-31T23:59:59-01:00"}',
            "has an ends_at that is not a time",
        ),
    ],
    ids=["not UTF-8", "not JSON", "a list", "nested too deep", "old date overflows", "since 5", "ends_at overflows"],
)
def test_read_marker_names_the_problem(tmp_path, content, problem):
    path = tmp_path / ".maintenance_mode"
    path.write_bytes(content)
    _marker, found = read_marker(str(path))
    assert found == f"{path} {problem}"


def test_read_marker_that_cannot_be_read_is_present(tmp_path):
    path = tmp_path / ".maintenance_mode"
    path.mkdir()
    marker, problem = read_marker(str(path))
    assert marker is not None and marker["enabled"] and problem.startswith(f"cannot read {path}: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9999-12-31T23:59:59-01:00", "after the year 9999"),
        ("0001-01-01T00:00:00+01:00", "before the year 1"),
        ("tomorrow", "not an ISO 8601 date and time"),
        (5, "not an ISO 8601 date and time"),
        (None, "not an ISO 8601 date and time"),
    ],
)
def test_parse_time_refuses_out_of_range_and_non_strings(text, message):
    with pytest.raises(ValueError, match=message):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("366d", 366 * 86400), ("8784h", 366 * 86400), (str(366 * 86400), 366 * 86400), ("007m", 420)],
)
def test_parse_duration_accepts_up_to_366_days(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["367d", "8785h", "99999999d", "1d 99999999999999999999999999s", "9" * 5000, "9" * 5000 + "d"]
)
def test_parse_duration_refuses_more_than_366_days(text):
    with pytest.raises(ValueError, match="longer than 366 days"):
        parse_duration(text)


# Superscript two and Arabic-Indic digits: isdigit() says yes, int() does not (or reads them).
@pytest.mark.parametrize("text", ["\u00b2", "\u0661\u0662m", "1d \u00b2h"])
def test_parse_duration_refuses_non_ascii_digits(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        (
            {"ends_at": "9999-12-31T23:59:59-01:00"},
            "ends_at must be an ISO 8601 time like 2026-11-29T02:00:00Z, got '9999-12-31T23:59:59-01:00' "
            "(it is after the year 9999 once converted to UTC)",
        ),
        (
            {"ends_at": "0001-01-01T00:00:00+01:00"},
            "ends_at must be an ISO 8601 time like 2026-11-29T02:00:00Z, got '0001-01-01T00:00:00+01:00' "
            "(it is before the year 1 once converted to UTC)",
        ),
        (
            {"duration": "99999999d"},
            "duration: '99999999d' is longer than 366 days, the longest maintenance window this module accepts",
        ),
        ({"duration": "9" * 5000}, "duration: '99999"),
    ],
)
def test_check_params_refuses_out_of_range_times(overrides, problem):
    found = check_params(params(**overrides))
    assert found is not None and found.startswith(problem)
    assert len(found) < 300  # a long number is not repeated in full


def test_iso_pads_the_year():
    assert iso(datetime.datetime(1, 1, 1, 5, 0, tzinfo=UTC)) == "0001-01-01T05:00:00Z"
    assert parse_time(iso(datetime.datetime(1, 1, 1, 5, 0, tzinfo=UTC))) == datetime.datetime(1, 1, 1, 5, tzinfo=UTC)


# -- the page is in English whatever LC_TIME says ----------------------------------------------


@pytest.mark.parametrize(
    ("ends_at", "human"),
    [
        (datetime.datetime(2026, 11, 28, 22, 0, tzinfo=UTC), "Saturday 28 November 2026, 22:00 UTC"),
        (datetime.datetime(2027, 1, 4, 6, 5, tzinfo=UTC), "Monday 04 January 2027, 06:05 UTC"),
        (datetime.datetime(2026, 5, 31, 23, 59, tzinfo=UTC), "Sunday 31 May 2026, 23:59 UTC"),
        (
            datetime.datetime(2028, 2, 29, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
            "Tuesday 29 February 2028, 10:00 UTC",
        ),
        (datetime.datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "Friday 31 December 9999, 23:59 UTC"),
    ],
)
def test_page_shows_the_end_in_english(ends_at, human):
    assert f">{human}</time>" in page_values("Upgrade", NOW, ends_at, None, "Jarvis")["end_sentence"]


class GermanDatetime(datetime.datetime):
    """A datetime whose strftime names days and months the way LC_TIME=de_DE does."""

    def strftime(self, format):
        names = {"%A": "Samstag", "%a": "Sa", "%B": "Dezember", "%b": "Dez"}
        for directive, name in names.items():
            format = format.replace(directive, name)
        return super().strftime(format)


def test_page_does_not_use_the_locales_names():
    ends_at = GermanDatetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    page = render_page(BUILTIN_PAGE, page_values("Upgrade", NOW, ends_at, None, "Jarvis"))
    assert "Saturday 28 November 2026, 22:00 UTC" in page
    assert "Samstag" not in page and "Dezember" not in page and "Dez" not in page


# -- the backend with damaged files ------------------------------------------------------------


def failure(tmp_path, monkeypatch, **overrides):
    """The module's failure message."""
    with pytest.raises(ModuleError) as failed:
        run(tmp_path, **overrides)
    return failed.value.msg


@pytest.fixture
def warned(monkeypatch):
    """The module's warnings, collected instead of returned."""
    texts = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, text, **kwargs: texts.append(text))
    return texts


def write_enabled(tmp_path, marker=None, page=None, snippet_text=None):
    """Maintenance mode on, with the given bytes in place of the files state=enabled writes."""
    run(tmp_path, state="enabled", duration="30m")
    files = {
        tmp_path / "app" / ".maintenance_mode": marker,
        tmp_path / "app" / "maintenance" / "maintenance.html": page,
        tmp_path / "nginx" / "jarvis-maintenance.conf": snippet_text,
    }
    for path, content in files.items():
        if content is not None:
            path.write_bytes(content)
    return list(files)


@pytest.mark.parametrize("content", DAMAGED_MARKERS.values(), ids=DAMAGED_MARKERS.keys())
def test_status_reports_a_damaged_marker(tmp_path, content):
    write_enabled(tmp_path, marker=content)
    status = run(tmp_path, state="status")
    assert status["enabled"] and status["consistent"] and status["problems"]
    assert all(str(tmp_path / "app" / ".maintenance_mode") in text for text in status["problems"])


@pytest.mark.parametrize("content", DAMAGED_MARKERS.values(), ids=DAMAGED_MARKERS.keys())
def test_disable_removes_a_damaged_marker(tmp_path, warned, content):
    paths = write_enabled(tmp_path, marker=content)
    planned = run(tmp_path, check_mode=True, state="disabled")
    assert planned["changed"] and all(path.exists() for path in paths)
    assert (
        len(warned) == 1 and warned[0].startswith(str(paths[0])) and warned[0].endswith(": state=disabled removes it")
    )
    gone = run(tmp_path, state="disabled")
    assert gone["changed"] and not any(path.exists() for path in paths)
    assert not run(tmp_path, state="disabled")["changed"]


def test_disable_removes_files_that_are_not_utf8(tmp_path):
    paths = write_enabled(tmp_path, marker=NOT_UTF8, page=NOT_UTF8, snippet_text=NOT_UTF8)
    gone = run(tmp_path, state="disabled")
    assert gone["changed"] and not any(path.exists() for path in paths)
    assert "\ufffd" in gone["diff"][0]["before"]  # shown with replacement characters


@pytest.mark.parametrize("content", DAMAGED_MARKERS.values(), ids=DAMAGED_MARKERS.keys())
def test_enable_replaces_a_damaged_marker(tmp_path, warned, content):
    marker = write_enabled(tmp_path, marker=content)[0]
    planned = run(tmp_path, check_mode=True, state="enabled", duration="30m")
    assert planned["changed"] and marker.read_bytes() == content
    assert len(warned) == 1 and warned[0].startswith(str(marker)) and warned[0].endswith(": state=enabled replaces it")
    enabled = run(tmp_path, state="enabled", duration="30m", by="ops")
    assert enabled["changed"] and enabled["since"] == "2026-11-28T20:00:00Z" and enabled["by"] == "ops"
    assert json.loads(marker.read_text())["ends_at"] == "2026-11-28T20:30:00Z"
    assert not run(tmp_path, state="enabled", duration="30m", by="ops")["changed"]


def test_enable_replaces_a_page_that_is_not_utf8(tmp_path):
    page = write_enabled(tmp_path, page=NOT_UTF8)[1]
    assert run(tmp_path, state="enabled", duration="30m")["changed"]
    assert "is down for maintenance" in page.read_text()


def test_enable_does_not_count_from_a_since_near_the_end_of_time(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / ".maintenance_mode").write_text('{"since": "9999-12-31T23:00:00Z"}')
    enabled = run(tmp_path, state="enabled", duration="2h")
    assert enabled["since"] == "2026-11-28T20:00:00Z" and enabled["ends_at"] == "2026-11-28T22:00:00Z"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_at": "9999-12-31T23:59:59-01:00"}, "ends_at must be an ISO 8601 time"),
        ({"duration": "99999999d"}, "duration: '99999999d' is longer than 366 days"),
    ],
)
def test_out_of_range_window_fails_with_the_parameter(tmp_path, monkeypatch, overrides, message):
    msg = failure(tmp_path, monkeypatch, state="enabled", **overrides)
    assert msg.startswith(f"Cannot manage maintenance mode: {message}")
    assert not (tmp_path / "app").exists()


def test_a_template_that_is_not_utf8_is_named(tmp_path, monkeypatch):
    template = tmp_path / "page.html"
    template.write_bytes(NOT_UTF8)
    msg = failure(tmp_path, monkeypatch, state="enabled", page_template=str(template))
    assert (
        msg
        == f"Cannot enable maintenance mode: page_template {template} is not UTF-8 text (invalid start byte at byte 0)"
    )


def test_a_failed_nginx_check_puts_back_files_that_are_not_utf8(tmp_path, monkeypatch):
    paths = write_enabled(tmp_path, marker=NOT_UTF8, page=NOT_UTF8 + b"page", snippet_text=NOT_UTF8 + b"snippet")
    before = {path: path.read_bytes() for path in paths}
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, *args, **kwargs: "/usr/sbin/nginx")
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **kwargs: (1, "", "nginx: [emerg] bad"))
    msg = failure(tmp_path, monkeypatch, state="enabled", duration="1h", reload=True)
    assert "nginx -t failed" in msg and "[emerg] bad" in msg
    assert {path: path.read_bytes() for path in paths} == before
    msg = failure(tmp_path, monkeypatch, state="disabled", reload=True)
    assert "nginx -t failed" in msg
    assert {path: path.read_bytes() for path in paths} == before


# -- values into the nginx snippet (issue 21 item 3) ---------------------------------------------

ATTACK = 'fe80::1%x") { set $x 1; } set $jarvis_maintenance off; if ($remote_addr = "y'


@pytest.mark.parametrize("entry", [ATTACK, "fe80::1%eth0", "fe80::1%x;}", "::1%$jarvis_maintenance", "fe80::1%25"])
def test_address_rules_refuse_a_zone_id(entry):
    with pytest.raises(ValueError, match=r"^allow_ips entry .* has a zone id \(%\.\.\.\)"):
        address_rules([entry])


def test_check_params_refuses_the_reported_attack_naming_allow_ips():
    problem = check_params(params(allow_ips=["127.0.0.2", ATTACK]))
    assert problem.startswith("allow_ips entry ") and "zone id" in problem


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"page_dir": "/srv/main t"}, "page_dir (or root) '/srv/main t' cannot go into the nginx configuration"),
        ({"page_dir": "/srv/x;}"}, "page_dir (or root) '/srv/x;}' cannot go into the nginx configuration"),
        ({"page_dir": "/srv/$x"}, "it holds '$'"),
        ({"page_dir": "/srv/%x"}, "it holds '%'"),
    ],
)
def test_check_params_refuses_a_page_dir_nginx_cannot_hold(overrides, problem):
    found = check_params(params(**overrides))
    assert found is not None and problem in found


def snippet_parts(template=BUILTIN_SNIPPET, **overrides):
    base = {
        "allow_ips": ["127.0.0.2", "::1", "10.20.0.0/14", "192.168.1.64/27"],
        "bypass_token": TOKEN,
        "bypass_header": "X-Maintenance-Bypass",
        "bypass_cookie": "jarvis_maintenance_bypass",
        "health_path": "/health",
        "health_status": 200,
        "page_dir": "/opt/sutazaiapp/maintenance",
    }
    base.update(overrides)
    values = snippet_values(base, NOW, NOW + datetime.timedelta(hours=2))
    passes = pass_directives(base["allow_ips"], base["bypass_token"], base["bypass_header"], base["bypass_cookie"])
    return values, passes


def test_check_snippet_accepts_the_builtin_snippet():
    values, passes = snippet_parts()
    check_snippet(BUILTIN_SNIPPET, values, render_snippet(BUILTIN_SNIPPET, values), passes)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("page_dir", "/opt/x; } location / { root /etc"),
        ("retry_after", 'Sat" always; add_header X "1'),
        ("health_body", "{}'; return 200 'x"),
        ("health_path", '/health") { return 200; } if ("x'),
        ("health_status", "200 'x'; set $jarvis_maintenance off; return 200"),
        ("since", "2026\nset $jarvis_maintenance off;"),
    ],
)
def test_check_snippet_catches_a_value_that_broke_out(name, value):
    """The second guard: a value that got past config_value changes the parsed directives."""
    values, passes = snippet_parts()
    values[name] = value
    rendered = render_snippet(BUILTIN_SNIPPET, values)
    with pytest.raises(ValueError, match="a value broke out of its place"):
        check_snippet(BUILTIN_SNIPPET, values, rendered, passes)


def test_check_snippet_catches_pass_rules_that_are_not_the_allow_list():
    values, passes = snippet_parts()
    values["pass_rules"] += "set $jarvis_maintenance off;\n"
    with pytest.raises(ValueError, match="found 'set \\$jarvis_maintenance off;'"):
        check_snippet(BUILTIN_SNIPPET, values, render_snippet(BUILTIN_SNIPPET, values), passes)


def test_check_snippet_refuses_a_template_that_splits_a_value():
    template = BUILTIN_SNIPPET.replace('"${retry_after}"', "${retry_after}")
    values, passes = snippet_parts()
    with pytest.raises(ValueError, match="quote it"):
        check_snippet(template, values, render_snippet(template, values), passes)


def test_check_snippet_refuses_a_template_that_does_not_parse():
    template = "set $$jarvis_maintenance on;\nlocation / {\n"
    values, passes = snippet_parts()
    with pytest.raises(ValueError, match=r"^snippet_template does not parse as nginx configuration"):
        check_snippet(template, values, render_snippet(template, values), passes)


def test_enable_refuses_the_attack_and_writes_nothing(tmp_path, monkeypatch):
    msg = failure(tmp_path, monkeypatch, state="enabled", allow_ips=["127.0.0.2", ATTACK])
    assert msg.startswith("Cannot manage maintenance mode: allow_ips entry ") and "zone id" in msg
    assert not (tmp_path / "app").exists() and not (tmp_path / "nginx").exists()


def test_a_broken_template_is_refused_without_showing_the_token(tmp_path, monkeypatch):
    template = tmp_path / "snippet.conf"
    template.write_text("if ($$http_x = ${bypass_variable}) { return 200; }\nadd_header X ${retry_after};\n")
    msg = failure(
        tmp_path, monkeypatch, state="enabled", duration="1h", bypass_token=TOKEN, snippet_template=str(template)
    )
    assert msg.startswith("Cannot enable maintenance mode: the rendered nginx snippet is not what")
    assert TOKEN not in msg
    assert not (tmp_path / "app").exists()


# -- owner, group and mode (issue 21 item 11) -----------------------------------------------------

NOBODY = pwd.getpwnam("nobody")


def owner_and_mode(path):
    info = os.lstat(path)
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def hand_over(paths, uid=NOBODY.pw_uid, gid=NOBODY.pw_gid, mode=0o644):
    for path in paths:
        os.chown(path, uid, gid)
        os.chmod(path, mode)


def test_new_files_get_the_documented_modes(tmp_path):
    run(tmp_path, state="enabled", duration="30m")
    marker, page, snippet_path = write_enabled(tmp_path)
    assert owner_and_mode(marker) == (os.geteuid(), os.getegid(), 0o600)
    assert owner_and_mode(snippet_path) == (os.geteuid(), os.getegid(), 0o600)
    assert owner_and_mode(page) == (os.geteuid(), os.getegid(), 0o644)


def test_enable_keeps_owner_group_and_mode(tmp_path):
    paths = write_enabled(tmp_path)
    hand_over(paths)
    hand_over([paths[1]], mode=0o640)
    assert run(tmp_path, state="enabled", duration="45m", reason="Longer")["changed"]
    assert "Longer" in paths[1].read_text()
    assert [owner_and_mode(path) for path in paths] == [
        (NOBODY.pw_uid, NOBODY.pw_gid, 0o644),
        (NOBODY.pw_uid, NOBODY.pw_gid, 0o640),
        (NOBODY.pw_uid, NOBODY.pw_gid, 0o644),
    ]


def private_nginx(tmp_path, snippet_dir):
    """A real nginx configuration for `nginx -t` (nothing listens: -t only parses and opens files)."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\nhttp {{\n"
        f"    access_log off;\n    client_body_temp_path {tmp_path}/temp;\n"
        f"    server {{\n        listen 127.0.0.1:9;\n        include {snippet_dir}/jarvis-maintenance*.conf;\n"
        "    }\n}\n"
    )
    return conf


def test_a_failed_nginx_check_puts_back_owner_group_and_mode(tmp_path, monkeypatch):
    """Real nginx -t: a template it rejects, then a disable it rejects (a broken file beside the snippet)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = private_nginx(tmp_path, tmp_path / "nginx")
    paths = write_enabled(tmp_path)
    hand_over(paths)
    before = {path: (path.read_bytes(), owner_and_mode(path)) for path in paths}
    broken = tmp_path / "broken.conf"
    broken.write_text("this_is_not_a_directive ${health_path};\n")
    common = {"nginx_binary": nginx, "nginx_conf": str(conf), "reload": True}
    msg = failure(tmp_path, monkeypatch, state="enabled", duration="2h", snippet_template=str(broken), **common)
    assert "nginx -t failed" in msg and "this_is_not_a_directive" in msg
    assert {path: (path.read_bytes(), owner_and_mode(path)) for path in paths} == before

    (tmp_path / "nginx" / "jarvis-maintenance-zz.conf").write_text("this_is_not_a_directive;\n")
    msg = failure(tmp_path, monkeypatch, state="disabled", **common)
    assert "nginx -t failed" in msg
    assert {path: (path.read_bytes(), owner_and_mode(path)) for path in paths} == before


def test_a_link_at_the_page_is_replaced_not_written_through_and_put_back(tmp_path, monkeypatch):
    paths = write_enabled(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("not the page\n")
    hand_over([outside], mode=0o600)
    page = paths[1]
    page.unlink()
    page.symlink_to(outside)
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, *args, **kwargs: "/usr/sbin/nginx")
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **kwargs: (1, "", "nginx: [emerg] bad"))
    msg = failure(tmp_path, monkeypatch, state="enabled", duration="2h", reason="Other", reload=True)
    assert "nginx -t failed" in msg
    assert page.is_symlink() and os.readlink(page) == str(outside)  # put back as it was
    assert outside.read_text() == "not the page\n" and owner_and_mode(outside) == (NOBODY.pw_uid, NOBODY.pw_gid, 0o600)
    monkeypatch.undo()
    assert run(tmp_path, state="enabled", duration="2h", reason="Other")["changed"]
    assert not page.is_symlink() and "Other" in page.read_text()
    assert outside.read_text() == "not the page\n"


def test_a_marker_that_is_a_link_is_not_followed_and_disable_removes_the_link(tmp_path, warned):
    outside = tmp_path / "outside.json"
    outside.write_text('{"enabled": true, "since": "2026-11-28T19:00:00Z", "reason": "read through a link"}')
    (tmp_path / "app").mkdir()
    marker = tmp_path / "app" / ".maintenance_mode"
    marker.symlink_to(outside)
    status = run(tmp_path, state="status")
    assert status["enabled"] and status["reason"] is None
    assert any("is a symbolic link, which is not followed" in text for text in status["problems"])
    assert run(tmp_path, state="disabled")["changed"]
    assert not os.path.lexists(marker) and outside.exists()


def test_a_fifo_at_the_marker_does_not_block(tmp_path):
    (tmp_path / "app").mkdir()
    os.mkfifo(tmp_path / "app" / ".maintenance_mode")
    marker, problem = read_marker(str(tmp_path / "app" / ".maintenance_mode"))
    assert marker["enabled"] and problem.endswith("it is not a regular file")


def test_a_directory_at_the_snippet_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    (tmp_path / "nginx" / "jarvis-maintenance.conf").mkdir(parents=True)
    msg = failure(tmp_path, monkeypatch, state="enabled", duration="1h")
    assert (
        msg == f"Cannot change maintenance mode: {tmp_path / 'nginx' / 'jarvis-maintenance.conf'} is not a regular file"
    )
    assert not (tmp_path / "app").exists()
