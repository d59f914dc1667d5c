# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Stale users and unused API keys of the runbook's security/users.json: the backend of users_audit.

The runbook's monthly audit loaded the file with an inline Python script that stopped at the
first entry it could not read (``key_info['user']``) and printed, for API keys, nothing that
tells two keys of one user apart. Here every entry is judged on its own: a malformed one is
reported and the rest still audited; an API key is named by its user and a fingerprint (a hash
prefix), never by the key itself, and no other field of an entry reaches the result.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import OK, WARNING, Finding
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import fingerprint
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import iso, parse_iso

LISTED = 10  # names shown in a finding's message


CANNOT = "Cannot audit the users file"

# The module's options; documented in plugins/modules/users_audit_info.py.
ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "stale_days": {"type": "int", "default": 90},
    "api_key_stale_days": {"type": "int", "default": 90, "no_log": False},
    "missing_ok": {"type": "bool", "default": False},
}


def check_params(params: dict[str, Any]) -> str | None:
    for name in ("stale_days", "api_key_stale_days"):
        if params[name] < 1:
            return f"{name} must be at least 1, got {params[name]}"
    return None


def _optional_time(
    info: dict[str, Any], key: str, entry: str, malformed: list[dict[str, str]]
) -> tuple[bool, datetime.datetime | None]:
    """(True, info[key] as a time or None when absent), or (False, None) with the problem added to malformed."""
    value = info.get(key)
    try:
        return True, None if value in (None, "") else parse_iso(value)
    except ValueError as exc:
        malformed.append({"entry": f"{entry}.{key}", "problem": str(exc)})
        return False, None


def audit_users(
    users: Any, now: datetime.datetime, stale_days: int
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Each user's status (fresh, stale, never, new) and the malformed entries (pure)."""
    if users is None:
        return [], []
    if not isinstance(users, dict):
        return [], [{"entry": "users", "problem": f"must be an object of user name to details, not {_kind(users)}"}]
    audited, malformed = [], []
    for name, info in sorted(users.items()):
        entry = f"users.{name}"
        if not isinstance(info, dict):
            malformed.append({"entry": entry, "problem": f"must be an object, not {_kind(info)}"})
            continue
        valid, last_login = _optional_time(info, "last_login", entry, malformed)
        if not valid:
            continue
        _valid, created = _optional_time(info, "created_at", entry, malformed)
        if last_login is None:
            young = created is not None and (now - created).days < stale_days
            status, days = ("new" if young else "never"), None
        else:
            days = (now - last_login).days
            status = "stale" if days >= stale_days else "fresh"
        audited.append({"name": str(name), "last_login": iso(last_login), "days_since_login": days, "status": status})
    return audited, malformed


def audit_api_keys(
    keys: Any, now: datetime.datetime, stale_days: int
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Each API key's status (used, stale, never) by user and fingerprint, and the malformed entries (pure).
    The key itself never leaves this function."""
    if keys is None:
        return [], []
    if not isinstance(keys, dict):
        return [], [{"entry": "api_keys", "problem": f"must be an object of key to details, not {_kind(keys)}"}]
    audited, malformed = [], []
    for key, info in keys.items():
        name = fingerprint(str(key))
        entry = f"api_keys[{name}]"
        if not isinstance(info, dict):
            malformed.append({"entry": entry, "problem": f"must be an object, not {_kind(info)}"})
            continue
        user = info.get("user")
        if not isinstance(user, str) or not user:
            malformed.append({"entry": f"{entry}.user", "problem": "is missing: each key must name its user"})
            continue
        valid, last_used = _optional_time(info, "last_used", entry, malformed)
        if not valid:
            continue
        days = None if last_used is None else (now - last_used).days
        status = "never" if last_used is None else ("stale" if days >= stale_days else "used")
        audited.append(
            {"fingerprint": name, "user": user, "last_used": iso(last_used), "days_since_use": days, "status": status}
        )
    audited.sort(key=lambda k: (k["user"], k["fingerprint"]))
    return audited, malformed


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _unused_for(key: dict[str, Any]) -> str:
    return "never used" if key["status"] == "never" else f"{key['days_since_use']} days"


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def findings(
    users: list[dict[str, Any]],
    keys: list[dict[str, Any]],
    malformed: list[dict[str, str]],
    stale_days: int,
    api_key_stale_days: int,
) -> list[Finding]:
    """A finding per category: stale users, users who never logged in, unused API keys, malformed entries."""
    result = []

    def add(check: str, subjects: list[str], threshold: Any, what: str, recommendation: str) -> None:
        result.append(
            Finding(
                check=check,
                severity=WARNING if subjects else OK,
                subject="users.json",
                value=len(subjects),
                threshold=threshold,
                message=f"{len(subjects)} {what}" + (f": {_listing(subjects)}" if subjects else ""),
                recommendation=recommendation if subjects else "",
            )
        )

    add(
        "stale_users",
        [f"{u['name']} ({u['days_since_login']} days)" for u in users if u["status"] == "stale"],
        stale_days,
        f"user(s) without a login for {stale_days} days or more",
        "Disable or remove the accounts nobody uses, after asking their owners.",
    )
    add(
        "never_logged_in",
        [u["name"] for u in users if u["status"] == "never"],
        None,
        "user(s) who never logged in",
        "Remove accounts that were never used, or find out why they were made.",
    )
    add(
        "unused_api_keys",
        [f"{k['user']} {k['fingerprint']} ({_unused_for(k)})" for k in keys if k["status"] in ("never", "stale")],
        api_key_stale_days,
        f"API key(s) never used or unused for {api_key_stale_days} days or more",
        "Revoke the keys nobody uses (rotate_api_keys.sh); a key that is never used is a key that can only leak.",
    )
    add(
        "malformed_entries",
        [f"{m['entry']} {m['problem']}" for m in malformed],
        None,
        "malformed entr(y/ies) in users.json (skipped, the rest audited)",
        "Fix the entries named so that the audit can judge them.",
    )
    return result


def audit(document: Any, now: datetime.datetime, stale_days: int, api_key_stale_days: int) -> dict[str, Any]:
    """The whole audit of a parsed users.json (pure)."""
    if not isinstance(document, dict):
        raise ModuleError(f"{CANNOT}: the file must hold a JSON object with users and api_keys, not {_kind(document)}")
    users, bad_users = audit_users(document.get("users"), now, stale_days)
    keys, bad_keys = audit_api_keys(document.get("api_keys"), now, api_key_stale_days)
    malformed = bad_users + bad_keys
    found = findings(users, keys, malformed, stale_days, api_key_stale_days)
    return {
        "users": users,
        "api_keys": keys,
        "malformed": malformed,
        "counts": {
            "users": len(users),
            "stale_users": sum(u["status"] == "stale" for u in users),
            "never_logged_in": sum(u["status"] == "never" for u in users),
            "api_keys": len(keys),
            "unused_api_keys": sum(k["status"] in ("never", "stale") for k in keys),
            "malformed": len(malformed),
        },
        "findings": [f.as_dict() for f in found],
    }


class UsersAudit(Backend):
    """Backend of the users_audit module."""

    def __init__(self, params: Any, check_mode: bool, host: Any, now: datetime.datetime | None = None) -> None:
        super().__init__(params, check_mode, host)
        self.now = now or _time.now()

    def run(self) -> dict[str, Any]:
        raise_problem(CANNOT, check_params(self.params))
        path = self.params["path"]
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            if self.params["missing_ok"]:
                return {"changed": False, "exists": False, "users": [], "api_keys": [], "malformed": [],
                        "counts": {}, "findings": []}  # fmt: skip
            raise ModuleError(f"{CANNOT}: {path} does not exist (set missing_ok to audit hosts without it)") from None
        except OSError as exc:
            raise ModuleError(f"{CANNOT}: cannot read {path}: {exc.strerror}") from None
        except ValueError as exc:  # a NUL character in the path
            raise ModuleError(f"{CANNOT}: path cannot be read: {exc} in {path!r}") from None
        try:
            document = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ModuleError(f"{CANNOT}: {path} is not UTF-8 text") from None
        except ValueError as exc:
            # The message names the position only: the text around it may be a key.
            raise ModuleError(f"{CANNOT}: {path} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None  # type: ignore[attr-defined]
        result = audit(document, self.now, self.params["stale_days"], self.params["api_key_stale_days"])
        return {"changed": False, "exists": True, **result}
