# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._report import (
    check_name,
    document,
    markdown,
    report_dir_mode,
    report_mode,
    write_atomic,
)

FINDINGS = [
    {"check": "disk_percent", "severity": "ok", "subject": "/", "value": 20, "message": "fine", "recommendation": ""},
    {
        "check": "availability",
        "severity": "critical",
        "subject": "redis",
        "value": False,
        "message": "Redis did not | answer",
        "recommendation": "Start it.",
    },
    {
        "check": "memory",
        "severity": "warning",
        "subject": "memory",
        "value": 88,
        "message": "high",
        "recommendation": "",
    },
]


def test_document_summarises_the_findings():
    doc = document("Health report", "2026-11-28T02:00:00Z", "web01", FINDINGS, {"x": 1})
    assert doc["severity"] == "critical"
    assert doc["summary"] == {"ok": 1, "warning": 1, "critical": 1}
    assert doc["data"] == {"x": 1}
    assert doc["schema"] == "jarvis.maintenance/report/1"


def test_markdown_lists_worst_first_escapes_pipes_and_says_what_to_do():
    text = markdown(document("Health report", "2026-11-28T02:00:00Z", "web01", FINDINGS, {}))
    rows = [line for line in text.splitlines() if line.startswith("| ") and "Severity" not in line]
    assert [row.split(" | ")[0] for row in rows] == ["| critical", "| warning", "| ok"]
    assert "Redis did not \\| answer" in text
    assert text.startswith("# Health report — web01\n")
    assert "**Overall: CRITICAL** — 1 critical, 1 warning, 1 ok." in text
    assert "## What to do\n\n- **redis** (critical): Start it.\n" in text


def test_markdown_tables_follow_the_findings():
    tables = [
        {"title": "Groups", "columns": ["count", "message"], "rows": [{"count": 3, "message": "a | b"}, {"count": 1}]},
        {"title": "Nothing here", "columns": ["x"], "rows": [], "empty": "No error line in the window."},
    ]
    text = markdown(document("R", "t", "h", FINDINGS, {}), tables)
    assert "\n## Groups\n\n| Count | Message |\n|---|---|\n| 3 | a \\| b |\n| 1 |  |\n" in text
    assert "\n## Nothing here\n\nNo error line in the window.\n" in text
    assert text.index("## What to do") < text.index("## Groups")


def test_markdown_without_problems_has_no_what_to_do():
    assert "What to do" not in markdown(document("R", "t", "h", FINDINGS[:1], {}))


@pytest.mark.parametrize(
    ("name", "ok"),
    [("health-web01-20261128T020000Z", True), ("a.b_c", True), ("../etc/passwd", False), ("a/b", False), ("", False)],
)
def test_check_name(name, ok):
    assert (check_name(name) is None) is ok


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "r.json"
    write_atomic(str(target), "{}\n", 0o640)
    assert target.read_text() == "{}\n"
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert os.listdir(tmp_path) == ["r.json"]


def test_document_redacts_the_findings_texts():
    leaky = {
        "check": "c",
        "severity": "warning",
        "subject": "s",
        "value": 1,
        "message": "connect redis://:R3disPassw0rd@cache failed",
        "recommendation": "rotate pass=hunter2x",
    }
    doc = document("T", "2026-11-29T02:00:00Z", "ops01", [leaky], {})
    assert "R3disPassw0rd" not in repr(doc) and "hunter2x" not in repr(doc)
    assert doc["findings"][0]["message"] == "connect redis://:<redacted>@cache failed"
    assert leaky["message"].endswith("@cache failed") and "R3disPassw0rd" in leaky["message"]  # the input is kept


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0640", 0o640), ("640", 0o640), ("0o600", 0o600), ("0", 0), (" 0644 ", 0o644), (0o640, 0o640), ("0775", 0o775)],
)
def test_report_mode_accepts_octal_strings_and_ints(value, expected):
    assert report_mode(value) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("7777", "from 0000 to 0777 (no setuid, setgid or sticky bit)"),
        ("4750", "no setuid"),
        ("01640", "no setuid"),
        (0o2750, "no setuid"),
        ("-1", "octal string"),
        (-1, "octal string"),
        ("0666", "world-writable"),
        ("0602", "world-writable"),
        (0o777, "world-writable"),
        ("rw-r-----", "octal string"),
        ("0x1a0", "octal string"),
        ("", "octal string"),
        ("0648", "octal string"),
        (True, "octal string"),
        (6.4, "octal string"),
        (None, "octal string"),
    ],
)
def test_report_mode_refuses_special_bits_world_writable_and_non_octal_naming_the_option(value, words):
    with pytest.raises(ValueError, match=r"^mode must") as raised:
        report_mode(value)
    assert words in str(raised.value)


@pytest.mark.parametrize(("mode", "expected"), [(0o640, 0o750), (0o600, 0o700), (0o644, 0o755), (0o660, 0o770)])
def test_report_dir_mode_lets_readers_search(mode, expected):
    assert report_dir_mode(mode) == expected
