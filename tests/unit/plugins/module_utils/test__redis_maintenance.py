# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
import yaml

from ansible_collections.jarvis.maintenance.plugins.module_utils._redis._maintenance import (
    THRESHOLDS,
    ActionError,
    check_params,
    defaults,
    delete_matching,
    error_cause,
    glob_regex,
    has_literal,
    judge,
    mass_delete_problem,
    printable_key,
)
from ansible_collections.jarvis.maintenance.plugins.modules import redis_maintenance


def params(**overrides):
    values = {
        "thresholds": defaults(),
        "actions": ["delete_keys"],
        "delete_pattern": "*expired*",
        "delete_batch_size": 250,
        "delete_max_keys": None,
        "delete_max_seconds": None,
        "delete_rate_limit": None,
        "delete_max_share": 50.0,
        "allow_mass_delete": False,
        "wait_timeout": 300.0,
    }
    values.update(overrides)
    return values


def test_documented_thresholds_match_the_code():
    documented = yaml.safe_load(redis_maintenance.DOCUMENTATION)["options"]["thresholds"]["suboptions"]
    assert {name: option["default"] for name, option in documented.items()} == defaults()
    assert {name[: -len("_warning")] for name in documented if name.endswith("_warning")} == set(THRESHOLDS)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"delete_pattern": ""}, "delete_pattern is required with action delete_keys and must not be empty"),
        ({"delete_pattern": None}, "delete_pattern is required with action delete_keys and must not be empty"),
        (
            {"delete_pattern": "?*"},
            "delete_pattern '?*' has no literal part, so it can match every key: "
            "name what to delete, for example 'session:*' or '*expired*'",
        ),
        ({"delete_max_share": 0}, "delete_max_share must be above 0 and at most 100 (a percentage of DBSIZE), got 0"),
        ({"delete_max_share": -5}, "delete_max_share must be above 0 and at most 100 (a percentage of DBSIZE), got -5"),
        (
            {"delete_max_share": 100.5},
            "delete_max_share must be above 0 and at most 100 (a percentage of DBSIZE), got 100.5",
        ),
        ({"delete_max_share": 100}, None),
        ({"delete_max_share": 0.01}, None),
        ({"delete_pattern": "", "actions": ["save"]}, None),
        ({"delete_batch_size": 0}, "delete_batch_size must be between 1 and 10000, got 0"),
        ({"delete_max_keys": 0}, "delete_max_keys must be positive, got 0"),
        ({"wait_timeout": 0}, "wait_timeout must be a positive number of seconds, got 0"),
        (
            {"thresholds": dict(defaults(), fragmentation_ratio_warning=3.0)},
            "thresholds.fragmentation_ratio_warning/fragmentation_ratio_critical: "
            "warning (3.0) must not be above critical (2.0)",
        ),
    ],
)
def test_check_params(overrides, problem):
    assert check_params(params(**overrides)) == problem


INFO = {
    "used_memory": 800,
    "used_memory_rss": 200 * 1024 * 1024,
    "mem_fragmentation_ratio": 2.5,
    "maxmemory": 1000,
    "maxmemory_policy": "allkeys-lru",
    "evicted_keys": 5,
    "rejected_connections": 0,
    "rdb_last_bgsave_status": "err",
    "aof_last_bgrewrite_status": "ok",
    "aof_last_write_status": "ok",
}


def test_judge_reads_every_problem_from_info():
    findings = {f.check: f for f in judge(INFO, defaults())}
    assert findings["fragmentation"].severity == "critical"
    assert (findings["maxmemory"].severity, findings["maxmemory"].value) == ("warning", 80.0)
    assert findings["evictions"].severity == "warning"
    assert findings["rejected_connections"].severity == "ok"
    assert findings["last_save"].severity == "critical"
    assert findings["last_rewrite"].severity == "ok"


def test_small_servers_are_not_judged_on_fragmentation():
    findings = {f.check: f for f in judge(dict(INFO, used_memory_rss=1024), defaults())}
    assert findings["fragmentation"].severity == "ok"
    assert "not judged" in findings["fragmentation"].message


def test_error_cause_prefers_the_line_with_a_cause():
    lines = [
        "15829:C 28 Nov 2026 15:21:25.307 # Write error saving DB on disk(rdbSaveRio): No space left on device\n",
        "12775:M 28 Nov 2026 15:21:25.339 # Background saving error\n",
    ]
    assert error_cause(lines) == " (Write error saving DB on disk(rdbSaveRio): No space left on device)"
    assert error_cause(["1:M 28 Nov 2026 * Ready to accept connections\n"]) == ""


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        # can match every key: refused
        ("*", False),
        ("**", False),
        ("?*", False),
        ("*?", False),
        ("???", False),
        ("*[a-z]*", False),
        ("[a-z]*", False),
        ("[^x]*", False),
        ("[*]*", False),  # a class, even of one character, is not a literal
        ("[\\]x]*", False),  # \] inside a class escapes the ], still one class
        ("[abc", False),  # an unclosed [ runs to the end: one class
        # name something: accepted
        ("*expired*", True),
        ("session:*", True),
        ("a?c*", True),
        ("*:*", True),
        ("\\*", True),  # an escaped * is the character *
        ("*\\?*", True),
        ("\\", True),  # a lone trailing backslash is itself
        ("[a-z]x", True),
    ],
)
def test_has_literal(pattern, literal):
    assert has_literal(pattern.encode()) is literal


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        (b"*expired*", [b"session:expired:1", b"expired", b"\xff\xfeexpired\n"], [b"EXPIRED:1", b"expire:1"]),
        (b"session:*", [b"session:", b"session:\xff\n"], [b"xsession:1", b"Session:1"]),
        (b"a?c*", [b"abc", b"a\xffcd", b"a\ncx"], [b"ac", b"abbc"]),
        (b"[a-c]x", [b"ax", b"cx"], [b"dx", b"x", b"abx"]),
        (b"[c-a]x", [b"bx"], [b"dx"]),  # a reversed range is the same range
        (b"[^a-c]x", [b"dx", b"\xffx"], [b"ax"]),
        (b"[\\]]x", [b"]x"], [b"\\x", b"x"]),
        (b"\\*x", [b"*x"], [b"ax", b"\\ax"]),
        (b"\\?", [b"?"], [b"a"]),
        (b"x\\", [b"x\\"], [b"x"]),
        (b"[]x", [], [b"x", b"]x"]),  # an empty class matches nothing
        (b"[abc", [b"a", b"c"], [b"d", b"ab"]),  # unclosed: a class to the end
        # as Redis reads it: the range a-] (that is ]-a), then x, in a class left open: one character
        (b"[a-]x", [b"a", b"]", b"_", b"x"], [b"ax", b"-x", b"-"]),
        # Redis compares bytes as signed chars: a-\xff is the range -1..97
        (b"[a-\xff]x", [b"ax", b"\xffx", b"\x00x"], [b"bx", b"\xfex"]),
        (b"\xff\xfe:*", [b"\xff\xfe:1"], [b"\xfe\xff:1"]),
        (b"a.c", [b"a.c"], [b"abc"]),  # regular expression characters are literals
        (b"(x)|y", [b"(x)|y"], [b"x", b"y"]),
    ],
)
def test_glob_regex_matches_as_redis_does(pattern, matching, not_matching):
    regex = glob_regex(pattern)
    assert [key for key in matching if regex.fullmatch(key)] == matching
    assert [key for key in not_matching if regex.fullmatch(key)] == []


@pytest.mark.parametrize(
    ("key", "form"),
    [
        (b"session:expired:1", "session:expired:1"),
        ("café:1".encode(), "café:1"),
        (b"bin:\xff\xfe:1", "bin:\\xff\\xfe:1"),
        (b"ctl\n\x1b[31m\t\r\x00", "ctl\\n\\x1b[31m\\t\\r\\x00"),
        (b"back\\xff", "back\\\\xff"),  # a real backslash doubled: not confused with the byte 0xff
        ("\u2028".encode(), "\\u2028"),  # a line separator is not printable
        (b"\xc3", "\\xc3"),  # a UTF-8 sequence cut short
        (b"", ""),
    ],
)
def test_printable_key(key, form):
    assert printable_key(key) == form
    assert form.isprintable()


@pytest.mark.parametrize(
    ("matched", "dbsize", "share", "refused"),
    [
        (500, 1000, 50, False),
        (501, 1000, 50, True),
        (600, 1000, 50, True),
        (600, 1000, 60, False),
        (0, 0, 50, False),
        (1, 1, 100, False),
        (1, 3, 10, True),
    ],
)
def test_mass_delete_problem(matched, dbsize, share, refused):
    problem = mass_delete_problem("mass:*", matched, dbsize, share, 3)
    assert (problem is not None) is refused
    if refused:
        assert f"matches {matched} of the {dbsize} keys of db 3" in problem
        assert f"delete_max_share ({share:g} %)" in problem
        assert "allow_mass_delete: true" in problem
        assert "nothing was deleted" in problem


class FailingPipeline:
    """A pipeline whose second UNLINK is refused, as the server refuses it (NOPERM)."""

    def __init__(self, store, calls):
        self.store, self.calls, self.commands = store, calls, []

    def unlink(self, *keys):
        self.commands.append(("unlink", keys))

    def scan(self, cursor, match, count):
        self.commands.append(("scan", cursor))

    def execute(self, raise_on_error=True):
        replies = []
        for name, arg in self.commands:
            if name == "unlink":
                self.calls.append(arg)
                if len(self.calls) == 2:
                    replies.append(PermissionError("No permissions to access a key"))
                    continue
                replies.append(sum(self.store.pop(key, None) is not None for key in arg))
            else:
                keys = sorted(self.store)
                start = arg
                replies.append((0 if start + 2 >= len(keys) else start + 2, keys[start : start + 2]))
        return replies


def test_a_failure_half_way_reports_what_is_gone():
    # The protocol (pipelined SCAN + UNLINK) is tested against a real Redis in
    # tests/integration/targets/module_redis_maintenance; this pins the counting.
    store = {b"k:\xff%d" % n: 1 for n in range(10)}
    calls = []

    class Client:
        def pipeline(self, transaction):
            return FailingPipeline(store, calls)

    with pytest.raises(ActionError) as failure:
        delete_matching(Client(), "k:*", batch_size=2, explain=lambda exc: f"explained: {exc}")
    assert failure.value.data["deleted_keys"] == 2 == 10 - len(store)
    assert str(failure.value) == "explained: No permissions to access a key (after deleting 2 keys)"
