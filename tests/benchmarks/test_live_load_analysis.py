"""The pure parts of benchmarks/live_load: pgbench's output read right, phases measured right."""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "live_load"))
import analysis


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "progress: 12.0 s, 1523.9 tps, lat 2.620 ms stddev 1.321, 0 failed",
            {"elapsed": 12.0, "tps": 1523.9, "latency_ms": 2.62, "failed": 0},
        ),
        (
            "progress: 5.0 s, 800.5 tps, lat 4.993 ms stddev 0.870",
            {"elapsed": 5.0, "tps": 800.5, "latency_ms": 4.993, "failed": 0},
        ),
        ("pgbench (15.20)", None),
    ],
)
def test_parse_progress(line, expected):
    assert analysis.parse_progress(line) == expected


def test_parse_progress_of_a_second_without_transactions():
    parsed = analysis.parse_progress("progress: 3.0 s, 0.0 tps, lat NaN ms stddev NaN, 2 failed")
    assert parsed["tps"] == 0.0 and math.isnan(parsed["latency_ms"]) and parsed["failed"] == 2


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("0 199 2241 0 1175850568 995598", (1175850568.995598, 2.241)),
        ("3 12 failed 1 1700000000 5", (1700000000.000005, None)),
        ("3 12 skipped 1 1700000000 5", None),
        ("1 2 3", None),
        ("a b c d e f", None),
    ],
)
def test_parse_txlog_line(line, expected):
    assert analysis.parse_txlog_line(line) == expected


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert analysis.percentile(values, 0.5) == 50
    assert analysis.percentile(values, 0.99) == 99
    assert analysis.percentile([7], 0.99) == 7
    assert math.isnan(analysis.percentile([], 0.5))


def test_per_second_counts_whole_seconds_only():
    times = [100.1, 100.9, 101.5, 102.99, 103.2, 99.9]
    assert analysis.per_second(times, 100.0, 103.5) == [2, 1, 1]


def test_pg_phase_counts_only_what_falls_inside():
    transactions = [(10.0 + i * 0.01, 2.0) for i in range(300)]  # 100 TPS over 10..13 s
    transactions += [(11.5, None)]  # one failed
    transactions += [(20.0, 50.0)]  # after the phase
    stats = analysis.pg_phase(transactions, aborted=[12.0, 30.0], lock_waits=[(11.0, 0.4), (25.0, 9.0)],
                              start=10.0, end=13.0)  # fmt: skip
    assert stats["transactions"] == 300
    assert stats["tps_mean"] == 100.0
    assert stats["tps_worst_second"] == 100
    assert stats["latency_p99_ms"] == 2.0 and stats["latency_max_ms"] == 2.0
    assert stats["client_errors"] == 2  # the failed transaction and the aborted client
    assert stats["longest_lock_wait_s"] == 0.4


def test_a_stalled_second_is_the_worst():
    transactions = [(0.0 + i * 0.01, 1.0) for i in range(100)] + [(2.0 + i * 0.01, 1.0) for i in range(100)]
    transactions += [(1.9, 900.0)]  # the only one in second 1, held 900 ms
    stats = analysis.pg_phase(transactions, [], [], 0.0, 3.0)
    assert stats["tps_worst_second"] == 1
    assert stats["latency_max_ms"] == 900.0


def test_redis_phase_worst_stall_and_count_over_goal():
    ops = [(i * 0.001, 0.2, 0.1) for i in range(1000)] + [(0.5005, 7.5, 7.4), (0.7, 9.0, 0.3)]
    stats = analysis.redis_phase(ops, 0.0, 1.0, stall_ms=5)
    assert stats["operations"] == 1002
    assert stats["worst_stall_ms"] == 9.0 and stats["worst_service_ms"] == 7.4  # late, but not held by the server
    assert stats["stalls_over_goal"] == 1
    assert stats["latency_p50_ms"] == 0.2


def test_markdown_table_and_formats():
    table = analysis.markdown_table([("phase", "phase"), ("tps", "TPS")], [{"phase": "a|b", "tps": 1234.5}])
    assert table.splitlines() == ["| phase | TPS |", "|---|---:|", "| a/b | 1,234 |"]
    assert analysis.fmt(math.nan) == "-"
    assert analysis.fmt(0.1234) == "0.12"


def test_svg_plot_is_valid_svg_with_every_phase_named():
    phases = [
        {"name": "baseline", "start": 0, "end": 30},
        {"name": "runbook VACUUM FULL <all>", "start": 30, "end": 45},
    ]
    svg = analysis.svg_plot([(t, 1000.0 + t) for t in range(45)], phases, "TPS & phases")
    root = ET.fromstring(svg)
    texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "baseline" in texts and "runbook VACUUM FULL <all>" in texts and "TPS & phases" in texts
    assert len(list(root.iter("{http://www.w3.org/2000/svg}polyline"))) == 1


def test_svg_plot_shades_a_phase_the_same_in_every_round_and_labels_it_once():
    phases = [
        {"name": "baseline", "start": 0, "end": 10},
        {"name": "collection daily", "start": 10, "end": 15},
        {"name": "baseline", "label": "round 2", "start": 15, "end": 25},
        {"name": "collection daily", "label": "", "start": 25, "end": 30},
    ]
    root = ET.fromstring(analysis.svg_plot([(t, 900.0) for t in range(30)], phases, "rounds"))
    texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts.count("collection daily") == 1 and "round 2" in texts
    bands = [rect.get("fill") for rect in root.iter("{http://www.w3.org/2000/svg}rect")][1:]  # after the page
    assert bands[0] == bands[2] and bands[1] == bands[3] and bands[0] != bands[1]


def test_median_skips_nan():
    assert analysis.median([3, 1, 2]) == 2
    assert analysis.median([4, 1, 2, 3]) == 2.5
    assert analysis.median([math.nan, 5]) == 5
    assert math.isnan(analysis.median([]))


def phase_row(phase, number, ratio, errors=0, wait=0.0, latency_max=10.0):
    return {
        "phase": phase,
        "round": number,
        "action_seconds": 2.0 * number,
        "tps_mean": 1000 * ratio,
        "tps_ratio": ratio,
        "tps_vs_before": ratio,
        "latency_p99_ms": 5.0 * number,
        "latency_max_ms": latency_max,
        "client_errors": errors,
        "longest_lock_wait_s": wait,
    }


def test_summarise_rounds_medians_worsts_and_sums_per_phase():
    rows = [
        phase_row("baseline", 1, 1.0),
        phase_row("collection daily", 1, 0.80, errors=1, wait=0.5),
        phase_row("baseline", 2, 1.0),
        phase_row("collection daily", 2, 0.95, latency_max=math.nan),
        phase_row("baseline", 3, 1.0),
        phase_row("collection daily", 3, 0.91, wait=1.25, latency_max=40.0),
    ]
    summary = analysis.summarise_rounds(rows)
    assert [row["phase"] for row in summary] == ["baseline", "collection daily"]
    daily = summary[1]
    assert daily["rounds"] == 3
    assert daily["tps_ratio"] == 0.91
    assert daily["tps_ratio_range"] == "0.80 to 0.95"
    assert daily["action_seconds"] == 4.0
    assert daily["latency_p99_ms"] == 10.0
    assert daily["latency_max_ms"] == 40.0
    assert daily["client_errors"] == 1
    assert daily["longest_lock_wait_s"] == 1.25


def test_summarise_redis_rounds_keeps_the_worst_stall_and_server_command():
    def row(phase, number, service, server, over=0):
        return {
            "phase": phase,
            "round": number,
            "action_seconds": 5.0,
            "ops_per_second": 1000.0 - number,
            "latency_p99_ms": float(number),
            "worst_service_ms": service,
            "stalls_over_goal": over,
            "server_slowest_ms": server,
        }

    rows = [
        row("baseline", 1, 12.0, 0.0),
        row("collection delete_keys", 1, 4.0, 3.0, over=2),
        row("baseline", 2, 19.0, math.nan),
        row("collection delete_keys", 2, 18.0, 4.0, over=1),
    ]
    summary = analysis.summarise_redis_rounds(rows)
    assert [item["phase"] for item in summary] == ["baseline", "collection delete_keys"]
    assert summary[0]["server_slowest_ms"] == 0.0
    assert summary[0]["worst_service_ms"] == 19.0
    assert summary[1] == {
        "phase": "collection delete_keys",
        "rounds": 2,
        "action_seconds": 5.0,
        "ops_per_second": 998.5,
        "latency_p99_ms": 1.5,
        "worst_service_ms": 18.0,
        "stalls_over_goal": 3,
        "server_slowest_ms": 4.0,
    }


PROC_STAT = """cpu  100 5 50 800 10 0 5 30 0 0
cpu0 50 2 25 400 5 0 2 15 0 0
intr 12345
"""


def test_cpu_times_and_steal_fraction():
    before = analysis.cpu_times(PROC_STAT)
    assert before == (1000, 30)
    after = analysis.cpu_times(PROC_STAT.replace("cpu  100 5 50 800 10 0 5 30", "cpu  160 5 70 860 10 0 5 90"))
    assert after == (1200, 90)
    assert analysis.steal_fraction(before, after) == pytest.approx(0.3)
    assert analysis.steal_fraction(after, after) == 0.0
    with pytest.raises(ValueError):
        analysis.cpu_times("intr 1\n")
