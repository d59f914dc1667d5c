# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Secrets out of text that goes into results and reports: log lines, file entries (pure)."""

from __future__ import annotations

import hashlib
import re

MASK = "<redacted>"

# key=value / key: value / "key": "value" for secret-looking keys.
_KEY_VALUE = re.compile(
    r"""(?P<key>["']?\b[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|authorization|credentials?|cookie|session[_-]?id|private[_-]?key)"""
    r"""[\w.-]*["']?\s*[=:]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;&]+)""",
    re.IGNORECASE,
)
# Authorization: Bearer xyz / Basic xyz
_SCHEME = re.compile(r"\b(?P<scheme>Bearer|Basic|Token)\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
# scheme://user:password@host
_URL_CREDENTIALS = re.compile(r"(?P<prefix>\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<value>[^@\s/]+)(?=@)", re.IGNORECASE)
# Long runs of token characters (API keys, JWTs, hashes): 32+ chars mixing letters and digits.
_LONG_TOKEN = re.compile(r"\b(?=[A-Za-z0-9_.~+/=-]*\d)(?=[A-Za-z0-9_.~+/=-]*[A-Za-z])[A-Za-z0-9_.~+/=-]{32,}\b")


def redact(text: str, extra: list[re.Pattern[str]] | None = None) -> str:
    """The text with passwords, tokens, keys and URL credentials replaced by <redacted>."""
    text = _URL_CREDENTIALS.sub(lambda m: m.group("prefix") + MASK, text)
    text = _SCHEME.sub(lambda m: f"{m.group('scheme')} {MASK}", text)
    text = _KEY_VALUE.sub(lambda m: m.group("key") + MASK, text)
    text = _LONG_TOKEN.sub(MASK, text)
    for pattern in extra or []:
        text = pattern.sub(MASK, text)
    return text


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible name for a secret (to tell API keys apart in a report)."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()[:12]
