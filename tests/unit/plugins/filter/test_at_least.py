# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.at_least import FilterModule, at_least

FINDINGS = [
    {"severity": "ok", "subject": "a"},
    {"severity": "critical", "subject": "b"},
    {"severity": "warning", "subject": "c"},
]


@pytest.mark.parametrize(
    ("minimum", "subjects"),
    [("ok", ["a", "b", "c"]), ("warning", ["b", "c"]), ("critical", ["b"]), ("none", [])],
)
def test_selects_findings_at_or_above_in_order(minimum, subjects):
    assert [f["subject"] for f in at_least(FINDINGS, minimum)] == subjects


@pytest.mark.parametrize(
    ("severity", "minimum", "expected"),
    [
        ("ok", "ok", True),
        ("ok", "warning", False),
        ("warning", "warning", True),
        ("critical", "warning", True),
        ("warning", "critical", False),
        ("critical", "none", False),
    ],
)
def test_one_severity(severity, minimum, expected):
    assert at_least(severity, minimum) is expected


def test_empty_list():
    assert at_least([], "warning") == []


@pytest.mark.parametrize(
    ("value", "minimum", "match"),
    [
        (FINDINGS, "high", "minimum severity must be one of ok, warning, critical"),
        ("bad", "ok", "severity must be one of"),
        ([{"severity": "bad"}], "ok", "severity must be one of"),
        ([{"subject": "x"}], "ok", "expected findings"),
        ({"severity": "ok"}, "ok", "expected a list of findings or a severity"),
        (3, "ok", "expected a list of findings or a severity"),
    ],
)
def test_refuses_what_is_not_a_severity_or_findings(value, minimum, match):
    with pytest.raises(AnsibleFilterError, match=match):
        at_least(value, minimum)


def test_registered():
    assert FilterModule().filters()["at_least"] is at_least
