# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sizes as people write and read them (pure): free-space margins and byte counts."""

from __future__ import annotations

import math
import re
from typing import Any

_SIZE = re.compile(r"^\s*(?P<number>(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z]*)\s*$")
_MARGIN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|[kmgt]?i?b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def margin_bytes(text: Any, total: int) -> int:
    """Bytes to keep free (pure): 'N%' of a filesystem of total bytes, or a size like '512M', '2G',
    '1.5GiB' or '0' (powers of 1024). Raises ValueError naming the accepted forms."""
    match = _MARGIN.match(str(text))
    if not match:
        raise ValueError(f"must be a size like 2G, 512M or 0, or a share of the filesystem like 5%, got {text!r}")
    number, unit = float(match.group(1)), match.group(2).lower()
    if unit == "%":
        if number > 100:
            raise ValueError(f"must be at most 100%, got {text!r}")
        return math.ceil(total * number / 100)
    return math.ceil(number * 1024 ** _POWERS[unit.rstrip("ib")])


def size_unit(unit: str) -> int | None:
    """Bytes in one unit of a size, or None for an unknown unit (pure).

    '' and B are bytes; k, M, G, T, P alone (any case, as people write 100M) and KiB, MiB, ...
    are powers of 1024; kB, MB, GB, TB, PB are powers of 1000 (as docker and go-units write them).
    """
    letters = unit.lower()
    if letters in ("", "b"):
        return 1
    power = "kmgtp".find(letters[0]) + 1
    if not power or letters[1:] not in ("", "ib", "b"):
        return None
    return (1000 if letters[1:] == "b" else 1024) ** power


def parse_size(text: Any) -> int:
    """Bytes in '100M', '1.5G', '512k', '2048', '45.6MiB', '1.2GB' or '0B' (pure); see size_unit.
    Raises ValueError naming the accepted forms."""
    match = _SIZE.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a size like 100M, 1.5GiB, 2kB or 2048")
    unit = size_unit(match.group("unit"))
    if unit is None:
        raise ValueError(f"{text!r} is not a size: unknown unit {match.group('unit')!r}")
    return round(float(match.group("number")) * unit)


def human_bytes(count: int) -> str:
    """1536 -> '1.5 KiB' (pure)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
