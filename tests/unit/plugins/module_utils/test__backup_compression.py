# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._compression import (
    DUMP_RATE,
    auto_choice,
    choose_level,
    parse_bench,
    sample_shares,
)

# zstd 1.5.4's `zstd -q -b1 -e3 -i0 sample` on realistic data (chat messages and JSON documents)
REALISTIC = """bench 1.5.4 : input 4557803 bytes, 0 seconds, 0 KB blocks
-1      1626565 (2.802) 253.56 MB/s  918.2 MB/s  s
bench 1.5.4 : input 4557803 bytes, 0 seconds, 0 KB blocks
-2      1478032 (3.084) 156.96 MB/s  813.9 MB/s  s
bench 1.5.4 : input 4557803 bytes, 0 seconds, 0 KB blocks
-3      1424226 (3.200) 147.44 MB/s  847.6 MB/s  s
"""


def bench(*speeds: float) -> dict[int, dict[str, float]]:
    return {level: {"ratio": 3.0, "mb_per_s": speed} for level, speed in enumerate(speeds, 1)}


def test_parse_bench_reads_ratio_and_speed_per_level():
    assert parse_bench(REALISTIC) == {
        1: {"ratio": 2.802, "mb_per_s": 253.56},
        2: {"ratio": 3.084, "mb_per_s": 156.96},
        3: {"ratio": 3.2, "mb_per_s": 147.44},
    }


@pytest.mark.parametrize("text", ["", "zstd: error 37 : cannot open sample\n", "bench 1.5.4 : input 0 bytes\n"])
def test_parse_bench_without_results(text):
    assert parse_bench(text) == {}


@pytest.mark.parametrize(
    ("speeds", "threads", "level"),
    [
        ((900, 700, 600), 1, 3),  # pgbench-like filler: fast at every level
        ((253.56, 156.96, 147.44), 2, 3),  # realistic data on 2 threads: 295 MB/s at level 3
        ((253.56, 156.96, 147.44), 1, 1),  # the same on one thread: only level 1 keeps up
        ((180, 120, 100), 1, 1),  # nothing keeps up: the fastest level
        ((150, 100, 90), 2, 2),  # level 2 keeps up on 2 threads, level 3 not
    ],
)
def test_choose_level_takes_the_highest_that_keeps_up(speeds, threads, level):
    assert choose_level(bench(*speeds), threads) == level


def test_choose_level_rate_is_the_dump_rate():
    assert choose_level(bench(DUMP_RATE / 1e6, 1, 1), 1) == 1
    assert choose_level(bench(1, 1, DUMP_RATE / 1e6), 1) == 3


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ([], []),
        ([("public.a", 0)], []),
        # each table's share of 4 MiB, as a percent of its own size
        ([("public.a", 3 << 30), ("public.b", 1 << 30)], [("public.a", 0.09765625), ("public.b", 0.09765625)]),
        # a table smaller than its share is sampled whole
        ([("public.small", 1 << 20)], [("public.small", 100.0)]),
    ],
)
def test_sample_shares(tables, expected):
    assert sample_shares(tables) == expected


def test_auto_choice_records_the_measurements():
    choice = auto_choice({"sample_bytes": 4557803, "levels": parse_bench(REALISTIC)}, 2)
    assert choice["level"] == 3
    assert choice["chosen"] == "auto"
    assert choice["sample_bytes"] == 4557803
    assert choice["measured"]["1"] == {"ratio": 2.802, "mb_per_s": 253.56}
    assert "200 MB/s on 2 threads" in choice["reason"]


def test_auto_choice_without_rows_keeps_the_default_level():
    choice = auto_choice({"sample_bytes": 0, "levels": {}}, 2)
    assert (choice["level"], choice["measured"]) == (3, {})
    assert "no rows" in choice["reason"]
