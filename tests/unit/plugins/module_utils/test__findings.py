# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    CRITICAL,
    OK,
    WARNING,
    Finding,
    at_least,
    classify,
    count_by_severity,
    threshold_finding,
    validate_thresholds,
    worst,
)


@pytest.mark.parametrize(
    ("value", "warning", "critical", "higher_is_worse", "expected"),
    [
        (10, 80, 90, True, (OK, 80)),
        (79.9, 80, 90, True, (OK, 80)),
        (80, 80, 90, True, (WARNING, 80)),
        (89.99, 80, 90, True, (WARNING, 80)),
        (90, 80, 90, True, (CRITICAL, 90)),
        (250, 80, 90, True, (CRITICAL, 90)),
        # lower is worse: days until a certificate expires
        (60, 30, 7, False, (OK, 30)),
        (30, 30, 7, False, (WARNING, 30)),
        (7, 30, 7, False, (CRITICAL, 7)),
        (-1, 30, 7, False, (CRITICAL, 7)),
        # warning == critical: a single cut-off
        (5, 5, 5, True, (CRITICAL, 5)),
    ],
)
def test_classify(value, warning, critical, higher_is_worse, expected):
    assert classify(value, warning, critical, higher_is_worse) == expected


@pytest.mark.parametrize(
    ("warning", "critical", "higher_is_worse", "problem"),
    [
        (80, 90, True, None),
        (90, 90, True, None),
        (95, 90, True, "warning (95) must not be above critical (90)"),
        (30, 7, False, None),
        (7, 30, False, "warning (7) must not be below critical (30)"),
        (-1, 90, True, "thresholds must not be negative"),
        (80, -5, True, "thresholds must not be negative"),
        (float("nan"), 90, True, "thresholds must be finite numbers, got nan"),
        (80, float("inf"), True, "thresholds must be finite numbers, got inf"),
        (float("-inf"), 90, False, "thresholds must be finite numbers, got -inf"),
        (10**400, 10**401, True, None),
    ],
)
def test_validate_thresholds(warning, critical, higher_is_worse, problem):
    assert validate_thresholds(warning, critical, higher_is_worse) == problem


@pytest.mark.parametrize(
    ("warning", "critical", "may_be_null", "problem"),
    [
        (None, 90, (True, True), None),
        (80, None, (True, True), None),
        (None, None, (True, True), None),  # the threshold judges nothing
        (-1, None, (True, True), "thresholds must not be negative"),
        (None, 90, (False, True), "thresholds must be finite numbers, got None"),
        (80, None, (True, False), "thresholds must be finite numbers, got None"),
    ],
)
def test_validate_thresholds_with_levels_that_may_be_null(warning, critical, may_be_null, problem):
    assert validate_thresholds(warning, critical, True, may_be_null) == problem


@pytest.mark.parametrize(
    ("value", "warning", "critical", "higher_is_worse", "expected"),
    [
        (95, None, 90, True, (CRITICAL, 90)),
        (50, None, 90, True, (OK, 90)),
        (85, 80, None, True, (WARNING, 80)),
        (5, 10, None, False, (WARNING, 10)),
        (50, None, None, True, (OK, None)),
    ],
)
def test_classify_skips_a_null_level(value, warning, critical, higher_is_worse, expected):
    assert classify(value, warning, critical, higher_is_worse) == expected


def test_ok_finding_names_the_critical_level_when_there_is_no_warning_level():
    finding = threshold_finding("memory_percent", "memory", 12, None, 95, unit="%")
    assert (finding.severity, finding.threshold) == (OK, 95)
    assert finding.message == "memory_percent of memory is 12%, below the critical threshold 95%"


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ([], OK),
        ([OK, OK], OK),
        ([OK, WARNING, OK], WARNING),
        ([WARNING, CRITICAL, OK], CRITICAL),
    ],
)
def test_worst_accepts_findings_and_dicts(severities, expected):
    findings = [Finding("c", s, "x") for s in severities]
    assert worst(findings) == expected
    assert worst(f.as_dict() for f in findings) == expected


@pytest.mark.parametrize(
    ("severity", "minimum", "expected"),
    [
        (OK, OK, True),
        (OK, WARNING, False),
        (WARNING, WARNING, True),
        (CRITICAL, WARNING, True),
        (WARNING, CRITICAL, False),
    ],
)
def test_at_least(severity, minimum, expected):
    assert at_least(severity, minimum) is expected


def test_unknown_severity_is_refused():
    with pytest.raises(ValueError, match="severity must be one of ok, warning, critical"):
        Finding("memory_percent", "bad", "memory")
    with pytest.raises(ValueError, match="'urgent'"):
        at_least("urgent", OK)


def test_count_by_severity_counts_every_level():
    findings = [Finding("c", s, "x") for s in (OK, CRITICAL, CRITICAL, WARNING)]
    assert count_by_severity(findings) == {OK: 1, WARNING: 1, CRITICAL: 2}
    assert count_by_severity([]) == {OK: 0, WARNING: 0, CRITICAL: 0}


def test_threshold_finding_has_every_field():
    finding = threshold_finding(
        "disk_percent", "/", 93.5, 80, 90, unit="%", recommendation="Free space.", label="Disk used on /"
    ).as_dict()
    assert finding == {
        "check": "disk_percent",
        "severity": CRITICAL,
        "subject": "/",
        "value": 93.5,
        "threshold": 90,
        "message": "Disk used on / is 93.5%, at or above the critical threshold 90%",
        "recommendation": "Free space.",
    }


def test_ok_finding_drops_the_recommendation_and_names_the_warning_level():
    finding = threshold_finding("memory_percent", "memory", 12, 85, 95, unit="%", recommendation="Add memory.")
    assert finding.severity == OK
    assert finding.recommendation == ""
    assert finding.threshold == 85
    assert finding.message == "memory_percent of memory is 12%, below the warning threshold 85%"


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("cannot reach redis://:R3disPassw0rd@cache:6379", "R3disPassw0rd"),
        ("login pass=hunter2x rejected", "hunter2x"),
        ("key AKIAIOSFODNN7EXAMPLE denied", "AKIAIOSFODNN7EXAMPLE"),
    ],
)
def test_a_finding_redacts_its_message_and_recommendation(message, secret):
    finding = Finding(check="c", severity="warning", subject="s", message=message, recommendation=f"Rotate: {message}")
    assert secret not in repr(finding.as_dict())
    assert "<redacted>" in finding.message
    assert "<redacted>" in finding.recommendation


class NoRebuild(list):
    """A list that, like Ansible's lazy containers in a filter, refuses to be built again by its type."""

    built = False

    def __init__(self, *args):
        if NoRebuild.built:
            raise TypeError("Direct construction of lazy containers is not supported.")
        super().__init__(*args)
        NoRebuild.built = True


def test_as_dict_keeps_a_container_value_as_it_is():
    packages = NoRebuild(["linux-image"])
    record = Finding(check="reboot_required", severity="warning", subject="db1", value=packages).as_dict()
    assert record["value"] is packages
    assert list(record) == ["check", "severity", "subject", "value", "threshold", "message", "recommendation"]
