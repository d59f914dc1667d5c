# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import fingerprint
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import parse_iso as parse_time
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._users_audit import (
    audit,
    audit_api_keys,
    audit_users,
    check_params,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
KEY_A = "jk_live_0123456789abcdef0123456789abcdef"
KEY_B = "jk_live_fedcba9876543210fedcba9876543210"

DOCUMENT = {
    "users": {
        "alice": {"last_login": "2026-11-28T09:00:00Z", "password_hash": "$2b$12$secret-hash"},
        "bob": {"last_login": "2026-06-01T00:00:00+00:00"},
        "carol": {"last_login": None},
        "dave": {"last_login": None, "created_at": "2026-11-20T00:00:00Z"},
        "erin": {"last_login": "yesterday"},
        "frank": "admin",
    },
    "api_keys": {
        KEY_A: {"user": "alice", "last_used": "2026-11-29T08:00:00Z"},
        KEY_B: {"user": "bob", "last_used": None},
        "jk_old_key_00000000000000000000000001": {"user": "bob", "last_used": "2025-01-01T00:00:00Z"},
        "jk_orphan_000000000000000000000000002": {"last_used": None},
        "jk_list_00000000000000000000000000003": ["alice"],
    },
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28T09:00:00Z", datetime.datetime(2026, 11, 28, 9, tzinfo=UTC)),
        ("2026-11-28T09:00:00", datetime.datetime(2026, 11, 28, 9, tzinfo=UTC)),
        ("2026-11-28T11:00:00+02:00", datetime.datetime(2026, 11, 28, 9, tzinfo=UTC)),
        ("2026-11-28", datetime.datetime(2026, 11, 28, tzinfo=UTC)),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "", 42, ["x"], "9999-12-31T23:59:59-01:00"])
def test_parse_time_refuses(value):
    with pytest.raises(ValueError):
        parse_time(value)


def test_users_by_status():
    users, malformed = audit_users(DOCUMENT["users"], NOW, 90)
    status = {u["name"]: u["status"] for u in users}
    assert status == {"alice": "fresh", "bob": "stale", "carol": "never", "dave": "new"}
    bob = next(u for u in users if u["name"] == "bob")
    assert bob["days_since_login"] == 181
    assert bob["last_login"] == "2026-06-01T00:00:00Z"
    assert [m["entry"] for m in malformed] == ["users.erin.last_login", "users.frank"]
    assert "must be an object, not a string" in malformed[1]["problem"]


@pytest.mark.parametrize(
    ("days_ago", "stale_days", "status"),
    [(89, 90, "fresh"), (90, 90, "stale"), (91, 90, "stale"), (0, 1, "fresh"), (1, 1, "stale")],
)
def test_stale_boundary(days_ago, stale_days, status):
    last = (NOW - datetime.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    users, malformed = audit_users({"u": {"last_login": last}}, NOW, stale_days)
    assert malformed == []
    assert users[0]["status"] == status


def test_api_keys_are_named_by_fingerprint_never_by_key():
    keys, malformed = audit_api_keys(DOCUMENT["api_keys"], NOW, 90)
    assert [(k["user"], k["status"]) for k in keys] == [("alice", "used"), ("bob", "never"), ("bob", "stale")]
    assert fingerprint(KEY_A) in [k["fingerprint"] for k in keys]
    assert len(malformed) == 2
    assert any(m["entry"].endswith(".user") for m in malformed)
    dumped = json.dumps([keys, malformed])
    for key in DOCUMENT["api_keys"]:
        assert key not in dumped


def test_audit_findings_and_no_secret_fields():
    result = audit(DOCUMENT, NOW, 90, 90)
    by_check = {f["check"]: f for f in result["findings"]}
    assert by_check["stale_users"]["severity"] == "warning"
    assert by_check["stale_users"]["value"] == 1
    assert "bob (181 days)" in by_check["stale_users"]["message"]
    assert by_check["never_logged_in"]["value"] == 1
    assert "carol" in by_check["never_logged_in"]["message"]
    assert "dave" not in by_check["never_logged_in"]["message"]
    assert by_check["unused_api_keys"]["value"] == 2
    assert by_check["malformed_entries"]["value"] == 4
    assert result["counts"] == {
        "users": 4,
        "stale_users": 1,
        "never_logged_in": 1,
        "api_keys": 3,
        "unused_api_keys": 2,
        "malformed": 4,
    }
    dumped = json.dumps(result)
    assert "secret-hash" not in dumped
    assert KEY_A not in dumped and KEY_B not in dumped


def test_audit_of_a_clean_file_is_all_ok():
    result = audit({"users": {"a": {"last_login": "2026-11-29T00:00:00Z"}}, "api_keys": {}}, NOW, 90, 90)
    assert {f["severity"] for f in result["findings"]} == {"ok"}
    assert all(f["recommendation"] == "" for f in result["findings"])


@pytest.mark.parametrize(
    ("document", "entry"),
    [({"users": []}, "users"), ({"api_keys": "x"}, "api_keys"), ({"users": None, "api_keys": None}, None)],
)
def test_audit_wrong_sections(document, entry):
    result = audit(document, NOW, 90, 90)
    assert [m["entry"] for m in result["malformed"]] == ([entry] if entry else [])


@pytest.mark.parametrize("document", [[], "users", 3, None])
def test_audit_refuses_a_file_that_is_not_an_object(document):
    with pytest.raises(ModuleError, match="must hold a JSON object"):
        audit(document, NOW, 90, 90)


def test_listing_is_cut_after_ten():
    users = {f"user{n:02d}": {"last_login": None} for n in range(13)}
    result = audit({"users": users}, NOW, 90, 90)
    message = next(f["message"] for f in result["findings"] if f["check"] == "never_logged_in")
    assert message.endswith("user09 and 3 more")


@pytest.mark.parametrize(("name", "value"), [("stale_days", 0), ("api_key_stale_days", -1)])
def test_check_params(name, value):
    params = {"stale_days": 90, "api_key_stale_days": 90, name: value}
    assert name in check_params(params)
