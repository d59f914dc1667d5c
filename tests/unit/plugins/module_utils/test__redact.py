# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one redaction function: every secret shape seen in logs, URLs and messages, and what it must leave alone."""

from __future__ import annotations

import re

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import (
    MASK,
    fingerprint,
    redact,
    redact_data,
)

# (text, the secret that must be gone, what must stay)
SECRETS = [
    # URL credentials: with a user, and the usual Redis URL without one
    ("connect redis://:R3disPassw0rd@cache:6379/0 failed", "R3disPassw0rd", "redis://:<redacted>@cache:6379/0"),
    ("redis://default:s3cretRedis@10.0.0.5:6379", "s3cretRedis", "redis://default:<redacted>@10.0.0.5"),
    ("rediss://:tls-Pass_1@cache.internal:6380", "tls-Pass_1", "@cache.internal:6380"),
    ("postgresql://jarvis:pgSecret42@db:5432/jarvis", "pgSecret42", "postgresql://jarvis:<redacted>@db:5432/jarvis"),
    (
        "GET http://probe:UrlSecret99@127.0.0.1:8080/health",
        "UrlSecret99",
        "http://probe:<redacted>@127.0.0.1:8080/health",
    ),
    ("amqp://user:p@ss:word@rabbit/vhost", "p@ss:word", "@rabbit/vhost"),
    # key=value and key: value, the shapes
    ("login pass=hunter2 from 10.0.0.1", "hunter2", "pass=<redacted> from 10.0.0.1"),
    ("db_pass=Tr0ub4dor&3", "Tr0ub4dor", "db_pass=<redacted>"),
    ("auth pw=opensesame user=bob", "opensesame", "user=bob"),
    ("PW: letmein", "letmein", "PW: <redacted>"),
    ("ssh passphrase: correct-horse-battery", "correct-horse-battery", "passphrase: <redacted>"),
    ("key_passphrase=battery-staple", "battery-staple", "key_passphrase=<redacted>"),
    ("requirepass foobared-redis", "foobared-redis", "requirepass <redacted>"),
    ('CONFIG SET requirepass "quoted redis pw"', "quoted redis pw", "CONFIG SET requirepass <redacted>"),
    ("masterauth replicaSecret7", "replicaSecret7", "masterauth <redacted>"),
    ("redis-server --requirepass cliSecret8 --port 6379", "cliSecret8", "--port 6379"),
    ("masterauth=replicaSecret9", "replicaSecret9", "masterauth=<redacted>"),
    ("redis-cli -h cache -a cliPassword5 ping", "cliPassword5", "ping"),
    ("AUTH authSecret6", "authSecret6", "AUTH <redacted>"),
    ("psql --password pgCliSecret", "pgCliSecret", "--password <redacted>"),
    ("STATEMENT:  ALTER ROLE jarvis LOGIN PASSWORD 'alterSecret1'", "alterSecret1", "PASSWORD <redacted>"),
    ("CREATE USER app IDENTIFIED BY 'mysqlSecret2'", "mysqlSecret2", "IDENTIFIED BY <redacted>"),
    # AWS access key ids and secret keys (the docs' examples and a key without digits)
    ("using key AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE", "using key <redacted> for s3"),
    ("session ASIAY34FZKBOKMUTVV7A expired", "ASIAY34FZKBOKMUTVV7A", "session <redacted> expired"),
    ("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", " end"),
    ("key +JalrXUtnFEMIKxMDENGabPxRfiCYEXAMPLEKEY/", "JalrXUtnFEMIKxMDENGabPxRfiCYEXAMPLEKEY", "key "),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", ""),
    ("aws_access_key_id = AKIAI44QH8DHBEXAMPLE", "AKIAI44QH8DHBEXAMPLE", "aws_access_key_id = <redacted>"),
    # the shapes redact() already knew
    ("password=hunter2", "hunter2", "password=<redacted>"),
    ('{"password": "two words"}', "two words", '{"password": <redacted>}'),
    ("api_key: abcdef123456", "abcdef123456", "api_key: <redacted>"),
    ("X-Auth-Token=tok-123-xyz", "tok-123-xyz", "X-Auth-Token=<redacted>"),
    ("Authorization: Bearer abcdefgh12345678", "abcdefgh12345678", "Authorization: "),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "Authorization: "),
    ("Cookie: sessionid=cookieVal99", "cookieVal99", ""),
    ("client_secret='single quoted'", "single quoted", "client_secret=<redacted>"),
    (
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNry",
        "",
    ),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok",
        "XgL0n3I9",
        " ok",
    ),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc", "sk_live_<redacted>"),
    ("key 3f9a8c7d6e5b4a3f2e1d0c9b8a7f6e5d4c3b2a19 used", "3f9a8c7d6e5b4a3f2e1d0c9b8a7f6e5d4c3b2a19", " used"),
]

# Text that must come back unchanged: ordinary words, times, ids that are not secrets.
UNTOUCHED = [
    "2026-11-29 01:55:52.522 UTC [6274] LOG:  database system is ready to accept connections",
    "2026-11-29T01:55:52.123456789Z ERROR database timeout after 30 s",
    "Nov 29 01:55:52 host sshd[123]: Accepted publickey for deploy from 10.0.0.8 port 51234",
    'FATAL:  password authentication failed for user "bob"',
    "tests passed: 12, bypass: off, compass: north, passes=3",
    "the password was rotated yesterday; see the runbook",
    "Authentication succeeded for user alice",
    "GET /api/v1/chat?page=2 HTTP/1.1 200 812 ms",
    "connect to http://127.0.0.1:10010/health refused",
    "redis://cache:6379/0 is up",
    "backend answered 503 at http://127.0.0.1:8080/health, expected [200]",
    "checkpoint complete: wrote 3 buffers (0.0%); errors: none",
    "AKIA is not a key, nor is AKIAshort",
    "rotated /var/log/jarvis/backend-2026-11-29.log; /var/lib/postgresql/15/main/base/16384/2619",
    "health: 0 critical (health-localhost-20261129T020000Z.json)",
    "/var/backups/jarvis/jarvis-20261129T020000Z/postgres-jarvis.dump.zst written",
    "request 550e8400-e29b-41d4-a716-446655440000 failed",
    "WAL segment 00000001000000000000009D is missing from Barman's archive (and 0000000200000003000000FF)",
    "",
]


@pytest.mark.parametrize(("text", "secret", "kept"), SECRETS, ids=[row[1][:24] for row in SECRETS])
def test_redact_removes_every_secret_shape(text, secret, kept):
    result = redact(text)
    assert secret not in result
    assert MASK in result
    assert kept in result


@pytest.mark.parametrize("text", UNTOUCHED)
def test_redact_leaves_ordinary_text_alone(text):
    assert redact(text) == text


def test_redact_is_idempotent():
    once = redact("redis://:R3disPassw0rd@cache pass=x AKIAIOSFODNN7EXAMPLE")
    assert redact(once) == once


def test_redact_extra_patterns():
    assert redact("customer 4711 wrote", [re.compile(r"customer \d+")]) == f"{MASK} wrote"


def test_redact_data_walks_structures_and_keeps_other_values():
    data = {
        "title": "pass=hunter2",
        "nested": [{"message": "redis://:R3disPassw0rd@cache"}, 3, None, True],
        "count": 7,
    }
    assert redact_data(data) == {
        "title": f"pass={MASK}",
        "nested": [{"message": f"redis://:{MASK}@cache"}, 3, None, True],
        "count": 7,
    }


def test_fingerprint_is_stable_and_short():
    assert fingerprint("abc") == fingerprint("abc")
    assert fingerprint("abc") != fingerprint("abd")
    assert len(fingerprint("abc")) == len("sha256:") + 12


def test_a_token_that_only_resembles_a_wal_segment_name_is_still_masked():
    for token in (
        "A3F9C2E1B7D4F6A8C0E2B4D6",
        "00000001000000000000009d",
        "00000001000000000000009DX",
        "0000000100000000100000FF",
    ):
        assert redact(f"token {token}") == f"token {MASK}", token
