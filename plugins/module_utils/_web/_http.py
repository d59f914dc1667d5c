# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An HTTP probe that times the response in milliseconds and judges it (http_check module)."""

from __future__ import annotations

import json
import time
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit

from ansible.module_utils.urls import open_url

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    CRITICAL,
    OK,
    Finding,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact, redact_data
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold

BODY_LIMIT = 64 * 1024  # bytes of the body kept for parsing and returned


# Documented in the module's thresholds option.
THRESHOLDS = {"response_time_ms": Threshold(500.0, 2000.0, " ms")}

# The module's options; documented in plugins/modules/http_check_info.py.
ARGUMENT_SPEC = {
    "url": {"type": "str", "required": True},
    "name": {"type": "str"},
    "method": {"type": "str", "default": "GET", "choices": ["GET", "HEAD", "POST"]},
    "json_body": {"type": "raw"},
    "require_json_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
    "timeout": {"type": "float", "default": 10},
    "status_codes": {"type": "list", "elements": "int", "default": [200]},
    "thresholds": _thresholds.option(THRESHOLDS),
    "validate_certs": {"type": "bool", "default": True},
}

# A day: more than any health probe should wait, and what socket timeouts take without overflowing.
MAX_TIMEOUT = 86400


def check_params(params: dict[str, Any]) -> str | None:
    """Why the parameters cannot work (naming the parameter), or None."""
    try:
        parts = urlsplit(params["url"])
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        return f"url is not a valid URL ({exc}), got {params['url']!r}"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"url must be an http:// or https:// URL with a host, got {params['url']!r}"
    if not (0 < params["timeout"] <= MAX_TIMEOUT):
        return f"timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT}, got {params['timeout']}"
    if not params["status_codes"]:
        return "status_codes must list at least one status"
    problem = _thresholds.problem(THRESHOLDS, params["thresholds"])
    if problem:
        return problem
    if params.get("json_body") is not None and params["method"] != "POST":
        return f"json_body needs method POST, got method {params['method']}"
    return None


def parse_body(raw: bytes) -> tuple[str, Any]:
    """The body as text (truncated to BODY_LIMIT) and as JSON when it parses, else None."""
    text = raw[:BODY_LIMIT].decode("utf-8", errors="replace")
    try:
        return text, json.loads(text)
    except ValueError:
        return text, None


def judge(
    name: str,
    status: int | None,
    error: str | None,
    elapsed_ms: float,
    params: dict[str, Any],
    body_json: Any,
) -> list[Finding]:
    """Findings for availability (status) and response time."""
    severity, recommendation = CRITICAL, f"Read the {name} logs and fix what its health check reports."
    if status is None:
        message = f"{name} did not answer at {params['url']}: {error}"
        recommendation = f"Check that {name} runs and listens (service status, logs, firewall)."
    elif status in params["status_codes"]:
        severity, recommendation = "ok", ""
        message = f"{name} answered {status} at {params['url']}"
    else:
        detail = f" ({summarize_health(body_json)})" if summarize_health(body_json) else ""
        message = f"{name} answered {status} at {params['url']}, expected {params['status_codes']}{detail}"
    availability = Finding(
        check="availability",
        severity=severity,
        subject=name,
        value=status,
        threshold=params["status_codes"],
        message=message,
        recommendation=recommendation,
    )
    if status is None:
        return [availability]
    findings = [availability]
    findings.append(
        _thresholds.judge(
            THRESHOLDS,
            params["thresholds"],
            "response_time_ms",
            name,
            round(elapsed_ms, 1),
            check="response_time",
            label=f"{name} response time",
            recommendation=f"Look for slow queries or saturation behind {name}.",
        )
    )
    return findings


def missing_json_keys(body: Any, keys: list[str]) -> list[str]:
    """The keys of `keys` that the JSON body lacks or has empty (pure)."""
    if not keys:
        return []
    if not isinstance(body, dict):
        return list(keys)
    return [key for key in keys if body.get(key) in (None, "", [], {})]


def content_finding(name: str, url: str, body: Any, keys: list[str]) -> Finding:
    """The functional check: the answer's JSON has every key of `keys`, not empty."""
    missing = missing_json_keys(body, keys)
    if not missing:
        return Finding("content", OK, name, keys, keys, f"{name} answered with {', '.join(keys)} at {url}")
    what = "no JSON object" if not isinstance(body, dict) else f"no or an empty {', '.join(missing)}"
    advice = f"Read the {name} logs: it answers, but not with what it should."
    return Finding("content", CRITICAL, name, missing, keys, f"{name} answered with {what} at {url}", advice)


def summarize_health(body: Any) -> str:
    """'redis: down (Connection refused)' from a health body with a `checks` dict, else ''."""
    if not isinstance(body, dict) or not isinstance(body.get("checks"), dict):
        return ""
    failing = []
    for component, check in sorted(body["checks"].items()):
        if isinstance(check, dict) and check.get("status") not in ("up", "ok", "healthy"):
            error = f" ({check['error']})" if check.get("error") else ""
            failing.append(f"{component}: {check.get('status')}{error}")
    return "; ".join(failing)


class HttpCheck(Backend):
    """Backend of the http_check module."""

    def request(self) -> tuple[int | None, bytes, str | None, float]:
        started = time.monotonic()
        try:
            body = self.params["json_body"]
            response = open_url(
                self.params["url"],
                method=self.params["method"],
                data=None if body is None else json.dumps(body).encode("utf-8"),
                headers=None if body is None else {"Content-Type": "application/json"},
                timeout=self.params["timeout"],
                validate_certs=self.params["validate_certs"],
                follow_redirects="none",
            )
            status, raw, error = response.status, response.read(BODY_LIMIT), None
        except HTTPError as exc:  # an answer with an error status: still an answer
            status, raw, error = exc.code, exc.read(BODY_LIMIT), str(exc.reason)
        except (URLError, OSError, HTTPException, ValueError) as exc:  # nothing usable answered
            status, raw, error = None, b"", str(getattr(exc, "reason", exc))
        return status, raw, error, (time.monotonic() - started) * 1000.0

    def hide_url_password(self) -> str:
        """The URL as it may be shown (user:<redacted>@host); Ansible is told to take the password out of
        everything the module returns, its invocation included."""
        try:
            password = urlsplit(self.params["url"]).password
        except ValueError:  # not a URL: check_params names it
            password = None
        if password:
            self.host.hide(password)
            self.host.hide(unquote(password))
        return redact(self.params["url"])

    def run(self) -> dict[str, Any]:
        url = self.hide_url_password()
        raise_problem(f"Cannot check {url}", check_params(self.params))
        name = self.params["name"] or urlsplit(url).netloc
        if self.params["method"] == "POST" and self.check_mode:
            # A POST may change something: check mode does not send it.
            return {"changed": False, "sent": False, "url": url, "status": None, "error": None,
                    "elapsed_ms": None, "json": None, "content": "", "findings": [], "severity": "ok"}  # fmt: skip
        status, raw, error, elapsed_ms = self.request()
        error = redact(error) if error else error
        text, body_json = parse_body(raw)
        shown = {**self.params, "url": url}
        found = judge(name, status, error, elapsed_ms, shown, body_json)
        if status in self.params["status_codes"] and self.params["require_json_keys"]:
            found.append(content_finding(name, url, body_json, self.params["require_json_keys"]))
        findings = [f.as_dict() for f in found]
        return {
            "changed": False,
            "sent": True,
            "url": url,
            "status": status,
            "error": error,
            "elapsed_ms": round(elapsed_ms, 1),
            "json": redact_data(body_json),
            "content": redact(text) if body_json is None else "",
            "findings": findings,
            "severity": worst(findings),
        }
