# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Secrets out of every free text that leaves a module or goes to people (pure).

The one redaction function of the collection (docs/security.md, "Secrets in texts and on command
lines"): log samples, HTTP URLs and
messages, findings (Finding redacts its message and recommendation), run summaries and the
notify role's texts (through the ``jarvis.maintenance.redact`` filter) all go through `redact`.
Its patterns err on the side of hiding: a masked word costs less than a leaked password.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

MASK = "<redacted>"

# Key words whose value is a secret; matched anywhere inside a key (db_password, X-Auth-Token).
_SECRET_WORDS = (
    r"password|passwd|passphrase|secret|token|api[_-]?key|apikey|authorization|credentials?|cookie"
    r"|session[_-]?id|private[_-]?key|access[_-]?key|requirepass|masterauth"
)
# Short key words, matched only as a whole part of a key (pass=, db_pass=, pw:, pwd=), so that
# "passed: 3", "bypass=on" or "compass:" stay as they are.
_SHORT_WORDS = r"pass|pw|pwd"
# key=value / key: value / "key": "value" for secret-looking keys.
_KEY_VALUE = re.compile(
    r"""(?P<key>["']?(?:\b[\w.-]*(?:""" + _SECRET_WORDS + r""")[\w.-]*"""
    r"""|(?<![\w.-])(?:[\w.-]*[_.-])?(?:""" + _SHORT_WORDS + r""")(?:[_.-][\w.-]*)?)["']?\s*[=:]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s,;&]+)""",
    re.IGNORECASE,
)
# Redis configuration and commands, command-line flags: requirepass foo, masterauth foo,
# CONFIG SET requirepass "foo", redis-server --requirepass foo, psql --password foo, redis-cli -a foo.
_KEYWORD_VALUE = re.compile(
    r"""(?P<key>(?:\b(?:requirepass|masterauth)|--(?:password|pass|passphrase|requirepass|masterauth))\s+"""
    r"""|\bredis-cli\b[^\n]*?\s-a\s+)(?P<value>"[^"]*"|'[^']*'|\S+)""",
    re.IGNORECASE,
)
# Redis AUTH [user] password (the command word in capitals, so that "auth failed" stays).
_AUTH_COMMAND = re.compile(r"""(?P<key>\bAUTH\s+)(?P<value>"[^"]*"|'[^']*'|\S+)""")
# SQL: PASSWORD 'foo' (ALTER ROLE in a PostgreSQL log), IDENTIFIED BY 'foo': quoted values only.
_QUOTED_AFTER_WORD = re.compile(
    r"""(?P<key>\b(?:password|passwd|passphrase|identified\s+by)\s+)(?P<value>"[^"]*"|'[^']*')""", re.IGNORECASE
)
# Authorization: Bearer xyz / Basic xyz
_SCHEME = re.compile(r"\b(?P<scheme>Bearer|Basic|Token)\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
# scheme://user:password@host and scheme://:password@host (the usual Redis URL); a password
# may hold '@' and ':' (the last '@' before the host ends it).
_URL_CREDENTIALS = re.compile(
    r"(?P<prefix>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)(?P<value>[^\s@/]+(?:@[^\s@/]+)*)(?=@)", re.IGNORECASE
)
# AWS access key ids (AKIA..., ASIA... for temporary ones): 20 capitals and digits.
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b")
# AWS secret access keys: 40 characters of base64 with capitals and small letters (digits optional).
_AWS_SECRET = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)
# JSON Web Tokens: header.payload.signature, the header base64 of '{"'.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Long random-looking runs (API keys, hashes, the parts of a JWT or of an sk_live_... key): 24+
# letters and digits, both. '/', '.', '-' and '_' end a run, so that paths, file names and times
# (/var/lib/postgresql/15/main, health-localhost-20261129T020000Z.json) stay readable. PostgreSQL's
# WAL segment names (24 capital hex digits whose last 8 are 000000XX: 00000001000000000000009D) are
# not tokens: 6 zeros in a row at that place leave a random token 1 chance in 16 million to look so.
_LONG_TOKEN = re.compile(
    r"(?<![A-Za-z0-9+=])(?![0-9A-F]{16}000000[0-9A-F]{2}(?![A-Za-z0-9+=]))"
    r"(?=[A-Za-z0-9+=]*\d)(?=[A-Za-z0-9+=]*[A-Za-z])[A-Za-z0-9+=]{24,}(?![A-Za-z0-9+=])"
)


def _keep_key(match: re.Match[str]) -> str:
    return match.group("key") + MASK


def redact(text: str, extra: list[re.Pattern[str]] | None = None) -> str:
    """The text with passwords, tokens, keys and URL credentials replaced by <redacted>."""
    if not text:
        return text
    text = _URL_CREDENTIALS.sub(lambda m: m.group("prefix") + MASK, text)
    text = _SCHEME.sub(lambda m: f"{m.group('scheme')} {MASK}", text)
    text = _KEYWORD_VALUE.sub(_keep_key, text)
    text = _AUTH_COMMAND.sub(_keep_key, text)
    text = _QUOTED_AFTER_WORD.sub(_keep_key, text)
    text = _KEY_VALUE.sub(_keep_key, text)
    text = _JWT.sub(MASK, text)
    text = _AWS_KEY_ID.sub(MASK, text)
    text = _AWS_SECRET.sub(MASK, text)
    text = _LONG_TOKEN.sub(MASK, text)
    for pattern in extra or []:
        text = pattern.sub(MASK, text)
    return text


def redact_data(value: Any, extra: list[re.Pattern[str]] | None = None) -> Any:
    """Every string inside value (dicts, lists, tuples) redacted; other values and keys as they are."""
    if isinstance(value, str):
        return redact(value, extra)
    if isinstance(value, dict):
        return {key: redact_data(item, extra) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(item, extra) for item in value]
    return value


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible name for a secret (to tell API keys apart in a report)."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()[:12]
