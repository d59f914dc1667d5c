"""Pure parts of the live-load benchmark: reading pgbench's output, per-phase statistics, the
Markdown tables and the SVG plot. No I/O but what the callers hand in (tests/benchmarks)."""

from __future__ import annotations

import html
import math
import re
from typing import Any, Iterable

# pgbench 15, -P 1: "progress: 12.0 s, 1523.9 tps, lat 2.620 ms stddev 1.321, 0 failed"
PROGRESS = re.compile(
    r"^progress: (?P<elapsed>\d+(?:\.\d+)?) s, (?P<tps>\d+(?:\.\d+)?) tps, lat (?P<lat>\d+(?:\.\d+)?|NaN) ms"
    r"(?: stddev (?P<stddev>\d+(?:\.\d+)?|NaN))?(?:, (?P<failed>\d+) failed)?"
)
# pgbench's own message when a client gives up: "client 3 script 1 aborted in command 4 query 0: ERROR: ..."
ABORTED = re.compile(r"^client (?P<client>\d+) (?:script \d+ )?aborted")


def parse_progress(line: str) -> dict[str, float] | None:
    """One -P progress line as numbers; None for any other line."""
    match = PROGRESS.match(line.strip())
    if not match:
        return None
    lat = match.group("lat")
    return {
        "elapsed": float(match.group("elapsed")),
        "tps": float(match.group("tps")),
        "latency_ms": float(lat) if lat != "NaN" else math.nan,
        "failed": int(match.group("failed") or 0),
    }


def parse_txlog_line(line: str) -> tuple[float, float | None] | None:
    """One line of pgbench's per-transaction log (-l):
    client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]
    as (completion time in epoch seconds, latency in ms, or None for a failed transaction);
    None for a skipped transaction or a line that is not one."""
    fields = line.split()
    if len(fields) < 6:
        return None
    try:
        when = int(fields[4]) + int(fields[5]) / 1e6
    except ValueError:
        return None
    if fields[2] == "failed":
        return when, None
    if fields[2] == "skipped":
        return None
    try:
        return when, int(fields[2]) / 1000.0
    except ValueError:
        return None


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of values (sorted or not); NaN for none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def per_second(times: Iterable[float], start: float, end: float) -> list[int]:
    """How many of times fall in each whole second of [start, end) (the last partial second dropped)."""
    seconds = int(end - start)
    counts = [0] * max(seconds, 0)
    for when in times:
        index = int(when - start)
        if 0 <= index < seconds and when >= start:
            counts[index] += 1
    return counts


def pg_phase(
    transactions: list[tuple[float, float | None]],
    aborted: list[float],
    lock_waits: list[tuple[float, float]],
    start: float,
    end: float,
) -> dict[str, Any]:
    """A phase's numbers from the transactions completed in it (time, latency ms or None when
    failed), the times clients aborted, and the sampled lock waits (time, seconds waited)."""
    inside = [(when, latency) for when, latency in transactions if start <= when < end]
    latencies = [latency for _when, latency in inside if latency is not None]
    failed = sum(1 for _when, latency in inside if latency is None)
    counts = per_second((when for when, latency in inside if latency is not None), start, end)
    waits = [seconds for when, seconds in lock_waits if start <= when < end]
    return {
        "seconds": round(end - start, 1),
        "transactions": len(latencies),
        "tps_mean": round(len(latencies) / (end - start), 1) if end > start else math.nan,
        "tps_worst_second": min(counts) if counts else math.nan,
        "latency_p50_ms": round(percentile(latencies, 0.50), 2),
        "latency_p99_ms": round(percentile(latencies, 0.99), 2),
        "latency_max_ms": round(max(latencies), 1) if latencies else math.nan,
        "client_errors": failed + sum(1 for when in aborted if start <= when < end),
        "longest_lock_wait_s": round(max(waits), 2) if waits else 0.0,
    }


def redis_phase(ops: list[tuple[float, float, float]], start: float, end: float, stall_ms: float) -> dict[str, Any]:
    """A phase's numbers from the load's operations (scheduled time, latency from the scheduled
    time in ms, service time in ms): throughput, latency, the worst service time (the longest the
    server kept an operation waiting) and how many operations took longer than stall_ms."""
    inside = [(when, late, service) for when, late, service in ops if start <= when < end]
    delays = [late for _when, late, _service in inside]
    return {
        "seconds": round(end - start, 2),
        "operations": len(inside),
        "ops_per_second": round(len(inside) / (end - start), 1) if end > start else math.nan,
        "latency_p50_ms": round(percentile(delays, 0.50), 3),
        "latency_p99_ms": round(percentile(delays, 0.99), 3),
        "worst_stall_ms": round(max(delays), 2) if delays else math.nan,
        "worst_service_ms": round(max(service for _w, _l, service in inside), 2) if inside else math.nan,
        "stalls_over_goal": sum(1 for _when, _late, service in inside if service > stall_ms),
    }


def ratio(value: float, base: float) -> float:
    return round(value / base, 3) if base and not math.isnan(base) and not math.isnan(value) else math.nan


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> str:
    """columns: (key, heading) pairs."""
    lines = ["| " + " | ".join(heading for _key, heading in columns) + " |"]
    lines.append("|" + "|".join("---" if index == 0 else "---:" for index in range(len(columns))) + "|")
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(key, "")).replace("|", "/") for key, _heading in columns) + " |")
    return "\n".join(lines)


def svg_plot(
    series: list[tuple[float, float]],
    phases: list[dict[str, Any]],
    title: str,
    width: int = 1000,
    height: int = 360,
) -> str:
    """TPS over time (seconds from the start, TPS) as a line, with each phase a shaded band (one
    shade per phase name) labelled at its top with its "label" (default its name; empty: none);
    a self-contained SVG document."""
    left, right, top, bottom = 60, 20, 40, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    t_max = max([t for t, _v in series] + [phase["end"] for phase in phases] + [1.0])
    v_max = max([v for _t, v in series] + [1.0]) * 1.1

    def x(t: float) -> float:
        return left + plot_w * t / t_max

    def y(v: float) -> float:
        return top + plot_h * (1 - v / v_max)

    shades = ["#e8f0fe", "#fdecea", "#e6f4ea", "#fef7e0", "#f3e8fd", "#e0f7fa", "#fce4ec", "#f1f3f4"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
    ]
    names: list[str] = []  # a phase's shade is its name's: the same in every round
    for index, phase in enumerate(phases):
        if phase["name"] not in names:
            names.append(phase["name"])
        x0, x1 = x(phase["start"]), x(phase["end"])
        parts.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" height="{plot_h}" '
            f'fill="{shades[names.index(phase["name"]) % len(shades)]}" stroke="#bbb" stroke-width="0.5"/>'
        )
        label = phase.get("label", phase["name"])
        if label:
            label_y = top + 12 + (index % 3) * 12
            parts.append(
                f'<text x="{(x0 + x1) / 2:.1f}" y="{label_y}" text-anchor="middle">{html.escape(label)}</text>'
            )
    for step in range(5):
        value = v_max * step / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:,.0f}</text>'
        )
    ticks = max(1, int(t_max // 60) + 1)
    for step in range(ticks + 1):
        t = min(step * 60.0, t_max)
        parts.append(f'<text x="{x(t):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{t:.0f} s</text>')
    if series:
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in series)
        parts.append(f'<polyline points="{points}" fill="none" stroke="#1a73e8" stroke-width="1.5"/>')
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="black"/>'
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="black"/>'
        f'<text x="16" y="{top + plot_h / 2}" transform="rotate(-90 16 {top + plot_h / 2})" '
        f'text-anchor="middle">TPS (pgbench, per second)</text>'
        f'<text x="{left + plot_w / 2}" y="{height - 10}" text-anchor="middle">seconds since the start</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def median(values: Iterable[float]) -> float:
    """The median of the numbers that are not NaN; NaN when there are none."""
    kept = sorted(value for value in values if value is not None and not math.isnan(value))
    if not kept:
        return math.nan
    middle = len(kept) // 2
    return kept[middle] if len(kept) % 2 else (kept[middle - 1] + kept[middle]) / 2


def by_phase(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The rows grouped by phase name, in the order the names first appear."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["phase"], []).append(row)
    return list(groups.items())


def worst(group: list[dict[str, Any]], key: str) -> float:
    """The largest value of key in the group that is not NaN; NaN when there is none."""
    return max((row[key] for row in group if not math.isnan(row[key])), default=math.nan)


def summarise_rounds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per phase name (in the order they first appear) over the rounds of a run: the
    medians of the ratios, TPS, p99 and duration; the spread of the ratio to the round's
    baseline; the worst latency and lock wait of any round, and the client errors of all."""
    summary = []
    for name, group in by_phase(rows):
        ratios = [row["tps_ratio"] for row in group if not math.isnan(row["tps_ratio"])]
        summary.append(
            {
                "phase": name,
                "rounds": len(group),
                "action_seconds": round(median(row["action_seconds"] for row in group), 2),
                "tps_mean": round(median(row["tps_mean"] for row in group), 1),
                "tps_ratio": round(median(ratios), 3),
                "tps_ratio_range": f"{min(ratios):.2f} to {max(ratios):.2f}" if ratios else "-",
                "tps_vs_before": round(median(row["tps_vs_before"] for row in group), 3),
                "cpu_steal_percent": round(median(row.get("cpu_steal_percent", math.nan) for row in group), 1),
                "tps_ratio_steal_adjusted": round(
                    median(row.get("tps_ratio_steal_adjusted", math.nan) for row in group), 3
                ),
                "latency_p99_ms": round(median(row["latency_p99_ms"] for row in group), 2),
                "latency_max_ms": worst(group, "latency_max_ms"),
                "client_errors": sum(row["client_errors"] for row in group),
                "longest_lock_wait_s": max(row["longest_lock_wait_s"] for row in group),
            }
        )
    return summary


def summarise_redis_rounds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per Redis phase over the rounds: median throughput, p99 and duration; the worst
    stall the load saw and the server's slowest command (latency monitor) in any round."""
    summary = []
    for name, group in by_phase(rows):
        summary.append(
            {
                "phase": name,
                "rounds": len(group),
                "action_seconds": round(median(row["action_seconds"] for row in group), 2),
                "ops_per_second": round(median(row["ops_per_second"] for row in group), 1),
                "latency_p99_ms": round(median(row["latency_p99_ms"] for row in group), 3),
                "worst_service_ms": worst(group, "worst_service_ms"),
                "stalls_over_goal": sum(row["stalls_over_goal"] for row in group),
                "server_slowest_ms": worst(group, "server_slowest_ms"),
            }
        )
    return summary


def cpu_times(proc_stat: str) -> tuple[int, int]:
    """(all, steal) jiffies of the machine's "cpu" line of /proc/stat (user nice system idle
    iowait irq softirq steal ...; guest time is inside user already)."""
    for line in proc_stat.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = [int(value) for value in fields[1:9]]
            return sum(values), values[7] if len(values) > 7 else 0
    raise ValueError("no cpu line in /proc/stat")


def steal_fraction(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the CPU time between two cpu_times() readings that the hypervisor gave to
    other machines (steal): the load could not run then, whatever maintenance did."""
    total = after[0] - before[0]
    return (after[1] - before[1]) / total if total > 0 else 0.0
