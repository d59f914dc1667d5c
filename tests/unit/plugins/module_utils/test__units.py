# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes, margin_bytes


@pytest.mark.parametrize(
    ("text", "total", "expected"),
    [
        ("0", 10**9, 0),
        ("2048", 0, 2048),
        ("512M", 0, 512 * 2**20),
        ("2G", 0, 2 * 2**30),
        ("1.5GiB", 0, 3 * 2**29),
        ("1gb", 0, 2**30),
        ("3k", 0, 3072),
        ("1T", 0, 2**40),
        ("5%", 20 * 2**20, 1048576),
        ("0%", 10**12, 0),
        ("100%", 12345, 12345),
        ("0.5 %", 1000, 5),
        (" 7 M ", 0, 7 * 2**20),
        ("10%", 1000, 100),
        (" 12.5% ", 1000, 125),
        ("500M", 10, 500 * 1024**2),
        ("1000T", 10, 1000 * 1024**4),
    ],
)
def test_margin_bytes(text, total, expected):
    assert margin_bytes(text, total) == expected


@pytest.mark.parametrize(
    "text", ["", "lots", "-1G", "5%%", "1X", "1e3", "101%", "G", "%", "-1%", "nan%", "inf%", "1e300", "5 parsecs"]
)
def test_margin_bytes_refuses(text):
    with pytest.raises(ValueError, match="must be"):
        margin_bytes(text, 1000)


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (20 * 2**20, "20.0 MiB"),
        (2**50, "1024.0 TiB"),
    ],
)
def test_human_bytes(count, text):
    assert human_bytes(count) == text
