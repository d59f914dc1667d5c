# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import (
    UTC,
    iso,
    parse_iso,
    stamp,
    try_parse_iso,
)

PARIS = datetime.timezone(datetime.timedelta(hours=1))


def test_iso_writes_utc_to_the_second():
    assert iso(datetime.datetime(2026, 11, 29, 3, 0, 5, 999, tzinfo=PARIS)) == "2026-11-29T02:00:05Z"
    assert iso(datetime.datetime(2026, 11, 29, 2, 0)) == "2026-11-29T02:00:00Z"
    assert iso(None) is None
    assert stamp(datetime.datetime(2026, 11, 29, 2, 0, tzinfo=UTC)) == "20261129T020000Z"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-29T02:00:00Z",
        "2026-11-29T02:00:00z",
        "2026-11-29T03:00:00+01:00",
        "2026-11-29T02:00:00",
        " 2026-11-29T02:00:00Z ",
    ],
)
def test_parse_iso_reads_every_offset_form_as_utc(text):
    assert parse_iso(text) == datetime.datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    assert parse_iso(text).tzinfo == UTC


@pytest.mark.parametrize("value", ["", "yesterday", "2026-13-01T00:00:00Z", None, 1700000000, []])
def test_parse_iso_refuses_what_is_not_a_time(value):
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_iso(value)
    assert try_parse_iso(value) is None


def test_parse_iso_refuses_a_time_utc_cannot_hold():
    with pytest.raises(ValueError, match="out of range"):
        parse_iso("0001-01-01T00:00:00+01:00")
