# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import os
import re

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._logs._analysis import (
    DEFAULT_PATTERNS,
    Grouper,
    LogAnalysis,
    check_params,
    compile_patterns,
    normalise,
    parse_time,
    source_findings,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2026-11-29 01:55:52.522 UTC [6274] LOG:  x", datetime.datetime(2026, 11, 29, 1, 55, 52, 522000, tzinfo=UTC)),
        ("2026-11-29T01:55:52.123456789Z stderr", datetime.datetime(2026, 11, 29, 1, 55, 52, 123456, tzinfo=UTC)),
        ("2026-11-29 01:55:52,123 ERROR app", datetime.datetime(2026, 11, 29, 1, 55, 52, 123000, tzinfo=UTC)),
        ("2026-11-29T03:00:00+02:00 x", datetime.datetime(2026, 11, 29, 1, 0, 0, tzinfo=UTC)),
        ("2026-11-29T03:00:00-0130 x", datetime.datetime(2026, 11, 29, 4, 30, 0, tzinfo=UTC)),
        ("[2026-11-29 01:00:00] x", datetime.datetime(2026, 11, 29, 1, 0, 0, tzinfo=UTC)),
        ("Nov 29 01:55:52 host sshd[1]: Failed", datetime.datetime(2026, 11, 29, 1, 55, 52, tzinfo=UTC)),
        ("Dec 31 23:00:00 host x", datetime.datetime(2025, 12, 31, 23, 0, 0, tzinfo=UTC)),
        ("Nov  2 01:00:00 host x", datetime.datetime(2026, 11, 2, 1, 0, 0, tzinfo=UTC)),
        ("2026-13-45 01:00:00 impossible date", None),
        ("Foo 29 01:55:52 not a month", None),
        ("Traceback (most recent call last):", None),
        ("    raise ValueError('x')", None),
        ("", None),
    ],
)
def test_parse_time(line, expected):
    assert parse_time(line, NOW) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '2026-11-29 01:55:52.522 UTC [6274] ERROR:  relation "users_42" does not exist at character 15',
            "ERROR: relation <str> does not exist at character <n>",
        ),
        (
            "2026-11-29T01:55:52Z ERROR request 3f2b8c1e-1d2a-4c5b-9e8f-0a1b2c3d4e5f from 10.1.2.3:5555 took 123.4 ms",
            "ERROR request <uuid> from <ip> took <n> ms",
        ),
        ("ERROR object at 0x7f3a2b1c failed", "ERROR object at <hex> failed"),
        ("ERROR cannot open 'file one.txt'", "ERROR cannot open <str>"),
        ("Nov 29 01:55:52 host sshd[12]: error: PAM", "host sshd[<n>]: error: PAM"),
    ],
)
def test_normalise(line, expected):
    assert normalise(line) == expected


def test_two_occurrences_group_together():
    one = '2026-11-29 01:00:00 UTC [1] ERROR:  duplicate key value violates unique constraint "users_pkey" (id)=(7)'
    two = '2026-11-29 02:00:00 UTC [99] ERROR:  duplicate key value violates unique constraint "users_pkey" (id)=(8)'
    assert normalise(one) == normalise(two)


def grouper(patterns=None, exclude=(), days=7):
    compiled = compile_patterns(patterns or DEFAULT_PATTERNS, "patterns")
    return Grouper(compiled, [re.compile(e) for e in exclude], NOW - datetime.timedelta(days=days), NOW)


LOG = """\
2026-11-10 00:00:00 ERROR too old, outside the window
2026-11-28 10:00:00 ERROR database timeout after 30 s
2026-11-28 11:00:00 INFO all good
2026-11-28 12:00:00 ERROR database timeout after 31 s
Traceback (most recent call last):
  File "app.py", line 3, in <module>
2026-11-29 09:00:00 ERROR login password=hunter2 rejected
2026-11-29 09:30:00 WARNING disk is filling
2026-11-29 10:00:00 error health probe 500 (known noise)
2026-11-29 11:00:00 user erroneous_name is not an error word match
"""


def test_grouper_counts_windows_and_groups():
    g = grouper(exclude=[r"known noise"])
    g.feed(LOG.splitlines(True))
    assert g.lines == 10
    assert g.lines_in_window == 9
    # two timeouts, the traceback (inherits 12:00), the login, "an error word" on the last line
    assert g.counts == {"error": 5}
    top = g.top(10)
    assert top[0]["count"] == 2
    assert top[0]["message"] == "ERROR database timeout after <n> s"
    assert top[0]["first_seen"] == "2026-11-28T10:00:00Z"
    assert top[0]["last_seen"] == "2026-11-28T12:00:00Z"
    assert top[0]["sample"] == "2026-11-28 10:00:00 ERROR database timeout after 30 s"
    traceback = next(t for t in top if t["message"].startswith("Traceback"))
    assert traceback["first_seen"] == "2026-11-28T12:00:00Z"
    assert len(top) == 4


def test_grouper_redacts_samples_and_messages():
    g = grouper()
    g.feed(LOG.splitlines(True))
    dumped = repr(g.top(10))
    assert "hunter2" not in dumped
    assert "password=<redacted>" in dumped


def test_grouper_limits_groups():
    g = grouper()
    g.feed(LOG.splitlines(True))
    assert len(g.top(1)) == 1


def test_undated_lines_take_the_given_time():
    g = grouper()
    g.feed(["ERROR no time here\n", "ERROR nor here\n"], undated=NOW - datetime.timedelta(hours=1))
    assert g.counts == {"error": 2}
    g = grouper()
    g.feed(["ERROR no time here\n"], undated=None)
    assert g.counts == {"error": 0}
    assert g.lines_in_window == 0


def test_each_pattern_counts_once_per_line():
    g = grouper(patterns={"failed_login": "authentication.*failed", "suspicious": "SUSPICIOUS|HIGH|CRITICAL"})
    g.feed(
        [
            "2026-11-29 01:00:00 authentication for bob failed token=abc123\n",
            "2026-11-29 01:00:01 SUSPICIOUS HIGH request from 10.0.0.9\n",
            "2026-11-29 01:00:02 authentication succeeded; nothing failed later? CRITICAL\n",
            "2026-11-29 01:00:03 Authentication FAILED (case differs: not matched)\n",
            "2026-11-29 01:00:04 highway (lowercase: not matched)\n",
        ]
    )
    assert g.counts == {"failed_login": 2, "suspicious": 2}


@pytest.mark.parametrize(
    ("count", "severity"),
    [(0, "ok"), (9, "ok"), (10, "warning"), (99, "warning"), (100, "critical")],
)
def test_source_findings(count, severity):
    [finding] = source_findings("backend", {"error": count}, 10, 100, [])
    assert finding.severity == severity
    assert finding.subject == "backend/error"
    assert finding.value == count
    assert (finding.recommendation == "") == (severity == "ok")


def params(**overrides):
    base = {
        "sources": [
            {
                "name": "backend",
                "paths": ["/var/log/x.log"],
                "container": None,
                "patterns": None,
                "exclude": [],
                "thresholds": None,
                "required": False,
            }
        ],
        "patterns": DEFAULT_PATTERNS,
        "exclude": [],
        "since_days": 7,
        "thresholds": {"count_warning": 10, "count_critical": 100},
        "max_groups": 20,
        "redact_patterns": [],
        "docker_path": None,
    }
    base.update(overrides)
    return base


def source(**overrides):
    return {**params()["sources"][0], **overrides}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"since_days": 0}, "since_days"),
        ({"since_days": float("nan")}, "since_days"),
        ({"since_days": float("inf")}, "since_days"),
        ({"since_days": 739953.0}, "since_days"),
        ({"max_groups": 0}, "max_groups"),
        ({"thresholds": {"count_warning": 100, "count_critical": 10}}, "thresholds.count_warning/count_critical"),
        ({"sources": []}, "sources"),
        ({"sources": [source(), source()]}, "backend is given twice"),
        ({"sources": [source(paths=[], container=None)]}, "sources[backend] needs either"),
        ({"sources": [source(container="c")]}, "sources[backend] needs either"),
        ({"sources": [source(paths=["logs/*.log"])]}, "sources[backend].paths"),
        (
            {"sources": [source(thresholds={"count_warning": 5, "count_critical": 1})]},
            "sources[backend].thresholds.count_warning",
        ),
        (
            {"sources": [source(thresholds={"count_warning": 500, "count_critical": None})]},
            "sources[backend].thresholds.count_warning/count_critical: warning (500) must not be above critical (100)",
        ),
    ],
)
def test_check_params_names_the_parameter(overrides, named):
    problem = check_params(params(**overrides))
    assert problem is not None
    assert named in problem


def test_check_params_accepts_defaults():
    assert check_params(params()) is None


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({}, "patterns must be"),
        ({"x": "("}, "patterns.x is not a valid"),
        ({"x": ""}, "patterns.x must"),
        ([], "non-empty mapping"),
    ],
)
def test_compile_patterns_refuses(value, named):
    with pytest.raises(ModuleError, match=re.escape(named)):
        compile_patterns(value, "patterns")


# Every secret shape of the issue, in error lines: none may reach a sample, a message or a finding.
SECRET_LINES = {
    "R3disPassw0rd": "ERROR cannot connect to redis://:R3disPassw0rd@cache:6379/0",
    "hunter2x": "ERROR login rejected pass=hunter2x",
    "opensesame9": "ERROR auth pw=opensesame9 user=bob",
    "battery-staple": "ERROR key passphrase: battery-staple",
    "foobared7": "ERROR config requirepass foobared7 rejected",
    "replica-Secret": "ERROR masterauth replica-Secret refused by primary",
    "AKIAIOSFODNN7EXAMPLE": "ERROR s3 upload with AKIAIOSFODNN7EXAMPLE denied",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": "ERROR bad secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


@pytest.mark.parametrize("secret", sorted(SECRET_LINES))
def test_no_secret_reaches_groups_or_findings(secret):
    g = grouper()
    g.feed([f"2026-11-29 09:00:00 {SECRET_LINES[secret]}\n"])
    top = g.top(10)
    dumped = repr(top) + repr([f.as_dict() for f in source_findings("app", g.counts, 1, 2, top)])
    assert g.counts == {"error": 1}
    assert secret not in dumped
    assert "<redacted>" in top[0]["message"]
    assert "<redacted>" in top[0]["sample"]


def test_a_planted_symlink_among_the_logs_is_not_read(tmp_path):
    """A link in a log directory the application can write (app-2.log -> a root-only file) must not make root
    read that file into results and reports: it is reported, never followed; the real log is still read."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app-1.log").write_text("2026-11-29 09:00:00 ERROR the real one\n")
    secret = tmp_path / "root-only"
    secret.write_text("2026-11-29 09:00:00 ERROR ROOT-ONLY-CONTENT\n")
    secret.chmod(0o600)
    (logs / "app-2.log").symlink_to(secret)
    fifo = logs / "app-3.log"
    os.mkfifo(fifo)  # a reader that opened it would block forever
    now = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)
    paths = [str(logs / "app-*.log")]
    analysis = LogAnalysis(params(sources=[source(paths=paths)]), False, None, now=now)
    result = analysis.run()
    dumped = repr(result)
    (backend,) = result["sources"]
    assert "ROOT-ONLY-CONTENT" not in dumped
    assert backend["matches"] == 1
    assert [item["path"] for item in backend["read"]] == [str(logs / "app-1.log")]
    assert any("app-2.log" in problem and "symlink" in problem for problem in backend["problems"])
    assert any("app-3.log" in problem and "not a regular file" in problem for problem in backend["problems"])
