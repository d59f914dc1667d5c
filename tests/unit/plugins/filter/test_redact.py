# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.redact import FilterModule, redact


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("redis://:R3disPassw0rd@cache", "redis://:<redacted>@cache"),
        ("nothing secret here", "nothing secret here"),
        (
            {"title": "pass=hunter2", "findings": [{"message": "pw=x1", "value": 3}], "n": None},
            {"title": "pass=<redacted>", "findings": [{"message": "pw=<redacted>", "value": 3}], "n": None},
        ),
        (["AKIAIOSFODNN7EXAMPLE", 7, True], ["<redacted>", 7, True]),
        (12, 12),
    ],
)
def test_redact_filter(value, expected):
    assert redact(value) == expected


def test_redact_filter_extra_patterns():
    assert redact("customer 4711 wrote", [r"customer \d+"]) == "<redacted> wrote"


def test_redact_filter_bad_pattern():
    with pytest.raises(AnsibleFilterError, match=r"patterns\[0\] is not a valid regular expression"):
        redact("x", ["("])


def test_registered():
    assert FilterModule().filters()["redact"] is redact
