# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Times as every report, marker and lock writes them: ISO 8601 in UTC, to the second."""

from __future__ import annotations

import datetime
from typing import Any

UTC = datetime.timezone.utc
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def iso(moment: datetime.datetime | None) -> str | None:
    """2026-11-29T02:00:00Z for an aware time (naive times are taken as UTC); None for None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(ISO_FORMAT)


def stamp(moment: datetime.datetime) -> str:
    """20261129T020000Z: the compact form used in file names."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def parse_iso(value: Any) -> datetime.datetime:
    """An aware UTC datetime from ISO 8601 text ('Z' or an offset; none means UTC).

    Raises ValueError saying what was wrong ("is not an ISO 8601 time: ...").
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"is not an ISO 8601 time: {value!r}")
    text = value.strip()
    if text[-1:] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"is out of range: {value!r}") from None


def try_parse_iso(value: Any) -> datetime.datetime | None:
    """parse_iso, or None for anything that is not an ISO 8601 time (for files others wrote)."""
    try:
        return parse_iso(value)
    except ValueError:
        return None
