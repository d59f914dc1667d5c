# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Capacity reports from the daily metrics documents: the backend of capacity_report.

The runbook averaged the last 7 files with jq/awk and called "trend" the mean of the last 15
samples minus the first 15. Here each metric gets its statistics, a least-squares slope per
day over the samples' own timestamps, the fit's r², and a forecast of the days left before a
threshold, which is only called reliable when the fit explains the data (r² >= min_r2) and
there are enough samples.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import math
import os
import re
from typing import Any, Callable, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds, _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import Finding, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports import _metrics, _prometheus
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._metrics import (
    MAX_VALUE,
    METRICS,
    finite_number,
    value_at,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._report import (
    Outputs,
    ReportBackend,
    html_document,
    json_text,
)

SCHEMA = "jarvis.maintenance/capacity_report/1"
MIN_SAMPLES = 5
# Bounds of the window and the horizon (ten years).
MAX_DAYS = 3660
# Capacity thresholds of the metrics that have one (_metrics.METRICS): a metric is a warning
# when its last sample or its mean reaches the warning level, critical when its last sample
# reaches the critical one; the forecast is of the days left before the warning level.
THRESHOLDS = {
    "cpu_load_per_core": Threshold(1.0, 1.1),
    "memory_percent": Threshold(85.0, 93.5, "%"),
    "disk_percent": Threshold(85.0, 93.5, "%"),
    "connections_percent": Threshold(80.0, 88.0, "%"),
    "redis_memory_percent": Threshold(85.0, 93.5, "%"),
}
RECOMMENDATIONS = {
    "cpu_load_per_core": "Consider more CPU or spreading the load; look at what keeps the CPUs busy.",
    "memory_percent": "Consider a memory upgrade, or find what grows (caches, leaks, more workers).",
    "disk_percent": "Plan disk expansion or cleanup (logs, old backups, bloated tables).",
    "connections_percent": "Raise max_connections or add connection pooling (pgbouncer).",
    "redis_memory_percent": "Raise maxmemory, set an eviction policy, or expire keys sooner.",
}
_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


# The module's options; documented in plugins/modules/capacity_report.py.
ARGUMENT_SPEC: dict[str, Any] = {
    "metrics_dir": {"type": "path"},
    "host": {"type": "str"},
    "days": {"type": "int", "default": 7},
    "end_date": {"type": "str"},
    "thresholds": _thresholds.option(THRESHOLDS),
    "forecast_horizon_days": {"type": "int", "default": 30},
    "min_r2": {"type": "float", "default": 0.6},
    "title": {"type": "str"},
    "json": {"type": "path"},
    "markdown": {"type": "path"},
    "html": {"type": "path"},
    # Mode collect: write today's metrics document from what the measuring modules returned.
    "measured": {"type": "dict", "options": {source: {"type": "dict"} for source in _metrics.SOURCES}},
    "unavailable": {"type": "dict", "default": {}},
    "overwrite": {"type": "bool", "default": False},
    # Where the days' documents come from: the metrics files, or Prometheus (_prometheus).
    **_prometheus.ARGUMENT_SPEC,
}


def check_window(end: datetime.date, days: int, horizon: int = 0) -> str | None:
    """Why a window of days ending end, and its forecast horizon, leave the calendar, or None (pure)."""
    try:
        end - datetime.timedelta(days=days - 1)
        end + datetime.timedelta(days=horizon)
    except OverflowError:
        return f"end_date {end.isoformat()} with days {days} and a {horizon}-day horizon leaves the years 1 to 9999"
    return None


def source_problem(params: Mapping[str, Any], spec_requires_host: bool) -> str | None:
    """Why the source options cannot work, or None (pure): metrics_dir for the files, the Prometheus
    options and a host for Prometheus (it has no directory of hosts to list)."""
    source = params.get("source", "files")
    if source != "prometheus":
        return None if params.get("metrics_dir") else "metrics_dir is required with source files"
    if params.get("measured") is not None:
        return "measured writes today's metrics document from the modules' results: it needs source files"
    if not spec_requires_host and not params.get("host"):
        return "host is required with source prometheus (the host whose series are read)"
    return _prometheus.check_params(params)


def check_params(params: dict[str, Any], today: datetime.date | None = None) -> str | None:
    """Why these parameters cannot work, or None (pure). Names the parameter."""
    why = source_problem(params, spec_requires_host=False)
    if why:
        return why
    if not 2 <= params["days"] <= MAX_DAYS:
        return f"days must be from 2 to {MAX_DAYS}, got {params['days']}"
    if not 1 <= params["forecast_horizon_days"] <= MAX_DAYS:
        return f"forecast_horizon_days must be from 1 to {MAX_DAYS}, got {params['forecast_horizon_days']}"
    if not 0 <= params["min_r2"] <= 1:
        return f"min_r2 must be between 0 and 1, got {params['min_r2']}"
    levels = {**default_levels(), **(params.get("thresholds") or {})}
    why = _thresholds.problem(THRESHOLDS, levels)
    if why:
        return why
    for name in THRESHOLDS:
        for level in _thresholds.levels(levels, name):
            if not finite_number(level) or level <= 0:
                return (
                    f"thresholds.{name}_warning/{name}_critical must be finite numbers above 0 "
                    f"and at most {MAX_VALUE:g}, got {level!r}"
                )
    end = today or _time.now().date()
    if params.get("end_date"):
        try:
            end = datetime.date.fromisoformat(params["end_date"])
        except (TypeError, ValueError):
            return f"end_date must look like 2026-11-28, got {params['end_date']!r}"
    return check_window(end, params["days"], params["forecast_horizon_days"])


# -- statistics (pure) ----------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def describe(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"samples": 0, "mean": None, "min": None, "max": None, "p95": None, "last": None}
    return {
        "samples": len(values),
        "mean": sum(values) / len(values),
        "min": min(values),
        "max": max(values),
        "p95": percentile(values, 0.95),
        "last": values[-1],
    }


def fit(xs: list[float], ys: list[float]) -> dict[str, Any] | None:
    """Least squares y = intercept + slope * x, with r² (None for fewer than 2 distinct x)."""
    count = len(xs)
    if count < 2:
        return None
    mean_x, mean_y = sum(xs) / count, sum(ys) / count
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for y in ys)
    residual = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys))
    r2 = 1.0 if total == 0 else max(0.0, 1 - residual / total)
    return {"slope": slope, "intercept": intercept, "r2": r2}


def forecast(
    line: dict[str, Any] | None, last_x: float, threshold: float | None, samples: int, min_r2: float
) -> dict[str, Any] | None:
    """Days from the last sample until the fitted line reaches threshold; None without a threshold,
    a fit, or a rising slope (0 when the fitted value is already there)."""
    if threshold is None or line is None:
        return None
    current = line["intercept"] + line["slope"] * last_x
    reliable = line["r2"] >= min_r2 and samples >= MIN_SAMPLES
    if current >= threshold:
        return {"days": 0.0, "fitted_now": current, "reliable": reliable}
    if line["slope"] <= 1e-9:
        return None
    return {"days": (threshold - current) / line["slope"], "fitted_now": current, "reliable": reliable}


# -- input ----------------------------------------------------------------------------------


def date_in_name(name: str) -> datetime.date | None:
    """The date a file's name carries (metrics-2026-11-28.json, daily_metrics_20261128.json), or None."""
    match = _DATE_IN_NAME.search(name)
    if not match:
        return None
    try:
        return datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def load_host(
    directory: str, dates: list[datetime.date]
) -> tuple[dict[datetime.date, dict[str, Any]], list[dict[str, str]], list[str]]:
    """The documents of a host's directory in the window, by the day they say they are for; the
    files not used with their reason (unreadable, not an object, another or older schema, no
    date, or a duplicate of a day: the latest timestamp is kept); the missing days. A file whose
    name or content dates it outside the window is not read further."""
    wanted = set(dates)
    chosen: dict[datetime.date, tuple[datetime.datetime, str, dict[str, Any]]] = {}
    skipped: list[dict[str, str]] = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith(".json") or not os.path.isfile(path):
            continue
        named = date_in_name(name)
        if named is not None and named not in wanted:
            continue
        document, why = _metrics.read(path)
        if document is None:
            skipped.append({"file": path, "reason": why or "not usable"})
            continue
        day, stamp = _metrics.day_of(document), _time.parse_iso(document["timestamp"])
        if day not in wanted:
            continue
        if day in chosen:
            kept_stamp, kept_path, _kept = chosen[day]
            older, newer = (path, kept_path) if stamp <= kept_stamp else (kept_path, path)
            skipped.append({"file": older, "reason": f"duplicate of {os.path.basename(newer)} for {day} (older)"})
            if stamp <= kept_stamp:
                continue
        chosen[day] = (stamp, path, document)
    documents = {day: entry[2] for day, entry in chosen.items()}
    missing = [day.isoformat() for day in dates if day not in documents]
    return documents, skipped, missing


# -- analysis ---------------------------------------------------------------------------------


def analyse_metric(
    name: str,
    path: tuple[str, ...],
    documents: dict[datetime.date, dict[str, Any]],
    start: datetime.datetime,
    threshold: float | None,
    min_r2: float,
) -> dict[str, Any]:
    series = []
    for day in sorted(documents):
        document = documents[day]
        value = value_at(document, path)
        stamp = _time.try_parse_iso(document.get("timestamp"))
        if value is not None and stamp is not None:
            series.append({"date": day.isoformat(), "x": (stamp - start).total_seconds() / 86400, "value": value})
    values = [point["value"] for point in series]
    line = fit([p["x"] for p in series], values)
    outlook = forecast(line, series[-1]["x"] if series else 0.0, threshold, len(series), min_r2)
    return {
        "metric": name,
        "threshold": threshold,
        **describe(values),
        "slope_per_day": line["slope"] if line else None,
        "intercept": line["intercept"] if line else None,
        "r2": line["r2"] if line else None,
        "forecast": outlook,
        "series": series,
    }


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit.strip() == "B":
        return human_bytes(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}{unit}"
    return f"{value:g}{unit}"


def metric_findings(
    host: str, stats: dict[str, Any], unit: str, label: str, horizon: int, levels: dict[str, Any] | None = None
) -> list[Finding]:
    """Findings with their evidence (pure). The last sample judged against the metric's
    thresholds (levels: the module's ``thresholds`` values, THRESHOLDS' defaults when None);
    a mean at or above the warning level is a warning too. A reliable forecast within the
    horizon: warning. A rising trend the fit does not explain: ok, said to be uncertain."""
    name, threshold = stats["metric"], stats["threshold"]
    subject = f"{host} {name}"
    advice = RECOMMENDATIONS.get(name, "")
    if threshold is None or not stats["samples"] or name not in THRESHOLDS:
        return []
    levels = levels or default_levels()
    evidence = (
        f"{stats['samples']} samples, mean {fmt(stats['mean'], unit)}, p95 {fmt(stats['p95'], unit)}, "
        f"last {fmt(stats['last'], unit)}"
    )
    findings = []
    judged = _thresholds.judge(
        THRESHOLDS, levels, name, subject, stats["last"], check="capacity", recommendation=advice, label=label
    )
    if judged.severity == "ok" and stats["mean"] >= threshold:
        judged = Finding(
            "capacity",
            "warning",
            subject,
            stats["mean"],
            threshold,
            f"{label} averages {fmt(stats['mean'], unit)}, at or above the warning threshold {fmt(threshold, unit)}",
            advice,
        )
    if judged.severity != "ok":
        findings.append(dataclasses.replace(judged, message=f"{judged.message} ({evidence})"))
    outlook, slope, r2 = stats["forecast"], stats["slope_per_day"], stats["r2"]
    if outlook and outlook["days"] > 0:
        trend = f"slope {slope:+.3g}{unit}/day, r²={r2:.2f}, {stats['samples']} samples"
        if outlook["reliable"] and outlook["days"] <= horizon:
            findings.append(
                Finding(
                    "forecast",
                    "warning",
                    subject,
                    round(outlook["days"], 1),
                    horizon,
                    f"{label} will reach {fmt(threshold, unit)} in about {outlook['days']:.0f} days ({trend})",
                    advice,
                )
            )
        elif outlook["reliable"]:
            findings.append(
                Finding(
                    "forecast",
                    "ok",
                    subject,
                    round(outlook["days"], 1),
                    horizon,
                    f"{label} rises but reaches {fmt(threshold, unit)} only in about {outlook['days']:.0f} days, "
                    f"beyond the {horizon}-day horizon ({trend})",
                )
            )
        else:
            findings.append(
                Finding(
                    "forecast",
                    "ok",
                    subject,
                    None,
                    horizon,
                    f"{label} may be rising but the trend is uncertain ({trend}): no forecast",
                )
            )
    if not findings:
        findings.append(
            Finding(
                "capacity",
                "ok",
                subject,
                stats["last"],
                threshold,
                f"{label} stays below {fmt(threshold, unit)} with no rising trend ({evidence})",
            )
        )
    return findings


def default_levels() -> dict[str, float]:
    """The ``thresholds`` option's values when none is set (pure)."""
    return {key: spec["default"] for key, spec in _thresholds.argument_spec(THRESHOLDS).items()}


Loader = _prometheus.Loader


def files_loader(params: Mapping[str, Any]) -> Loader:
    """load(host, dates) for source files: load_host on <metrics_dir>/<host>, every day missing
    when the directory does not exist (no daily run so far)."""
    root = params["metrics_dir"]

    def load(
        host: str, dates: list[datetime.date]
    ) -> tuple[dict[datetime.date, dict[str, Any]], list[dict[str, str]], list[str]]:
        directory = os.path.join(root, host)
        if not os.path.isdir(directory):
            return {}, [], [day.isoformat() for day in dates]
        return load_host(directory, dates)

    return load


MISSING_ADVICE = {
    "files": "Check the daily collection (daily.yml) runs and can write its documents.",
    "prometheus": "Check that Prometheus scrapes the host's node_exporter and keeps the window (retention), "
    "and that prometheus_selector picks the host's series.",
}


def analyse(params: dict[str, Any], today: datetime.date, load: Loader | None = None) -> dict[str, Any]:
    """The report: the documents of each host come from load (the source's loader, files by
    default); everything after them is the same for every source."""
    load = load or files_loader(params)
    source = params.get("source") or "files"
    end = datetime.date.fromisoformat(params["end_date"]) if params.get("end_date") else today
    days = params["days"]
    dates = [end - datetime.timedelta(days=days - 1 - index) for index in range(days)]
    start = datetime.datetime.combine(dates[0], datetime.time(), tzinfo=_time.UTC)
    levels = {**default_levels(), **(params.get("thresholds") or {})}
    thresholds = {name: float(_thresholds.levels(levels, name)[0]) for name in THRESHOLDS}
    criticals = {name: float(_thresholds.levels(levels, name)[1]) for name in THRESHOLDS}
    root = params.get("metrics_dir") or ""
    hosts = (
        [params["host"]]
        if params.get("host")
        else sorted(name for name in os.listdir(root) if os.path.isdir(os.path.join(root, name)))
        if os.path.isdir(root)
        else []
    )
    result: dict[str, Any] = {"hosts": {}, "skipped": [], "missing_days": {}, "findings": []}
    for host in hosts:
        documents, skipped, missing = load(host, dates)
        result["skipped"] += skipped
        result["missing_days"][host] = missing
        metrics = {}
        for name, path, unit, label, _has_threshold in METRICS:
            stats = analyse_metric(name, path, documents, start, thresholds.get(name), params["min_r2"])
            stats.update(unit=unit.strip(), label=label, critical=criticals.get(name))
            metrics[name] = stats
            result["findings"] += metric_findings(host, stats, unit, label, params["forecast_horizon_days"], levels)
        if missing:
            result["findings"].append(
                Finding(
                    "missing_data",
                    "warning",
                    host,
                    len(missing),
                    days,
                    f"{len(missing)} of {days} days have no usable metrics document (first missing {missing[0]})",
                    MISSING_ADVICE.get(source, MISSING_ADVICE["files"]),
                )
            )
        result["hosts"][host] = metrics
    result["findings"] = [f.as_dict() for f in result["findings"]]
    result.update(
        schema=SCHEMA,
        title=params.get("title") or f"Capacity report, last {days} days",
        window={"start": dates[0].isoformat(), "end": end.isoformat(), "days": days},
        thresholds=thresholds,
        critical_thresholds=criticals,
        forecast_horizon_days=params["forecast_horizon_days"],
        severity=worst(result["findings"]),
    )
    return result


# -- rendering (pure) -----------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    window = report["window"]
    lines = [
        f"# {report['title']}",
        "",
        f"Window {window['start']} to {window['end']} ({window['days']} days); generated {report['generated_at']} "
        f"by jarvis.maintenance. Overall: **{report['severity'].upper()}**.",
        "",
        *_prometheus.source_line(report.get("source")),
    ]
    for host, metrics in report["hosts"].items():
        lines += [
            f"## {host}",
            "",
            "| Metric | Samples | Mean | p95 | Max | Slope/day | r² | Forecast |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for stats in metrics.values():
            unit = stats["unit"] if stats["unit"] in ("%", "ms", "B") else ""
            sep = "" if unit == "%" else " "
            suffix = f"{sep}{unit}" if unit else ""
            outlook = stats["forecast"]
            if not stats["samples"]:
                lines.append(f"| {stats['label']} | 0 | no data | | | | | |")
                continue
            if outlook is None:
                horizon = "none (flat or falling)" if stats["threshold"] is not None else "no threshold"
            elif outlook["days"] == 0:
                horizon = "at or past the threshold"
            else:
                horizon = f"{outlook['days']:.0f} days" + ("" if outlook["reliable"] else " (uncertain)")
            slope = "-" if stats["slope_per_day"] is None else f"{stats['slope_per_day']:+.3g}"
            r2 = "-" if stats["r2"] is None else f"{stats['r2']:.2f}"
            lines.append(
                f"| {stats['label']} | {stats['samples']} | {fmt(stats['mean'], suffix)} | {fmt(stats['p95'], suffix)} "
                f"| {fmt(stats['max'], suffix)} | {slope} | {r2} | {horizon} |"
            )
        missing = report["missing_days"].get(host) or []
        lines += ["", f"Missing days: {', '.join(missing) if missing else 'none'}.", ""]
    order = {"critical": 0, "warning": 1, "ok": 2}
    lines += ["## Findings", ""]
    for finding in sorted(report["findings"], key=lambda f: order.get(f["severity"], 3)):
        advice = f" {finding['recommendation']}" if finding.get("recommendation") else ""
        lines.append(f"- **{finding['severity'].upper()}** {finding['subject']}: {finding['message']}.{advice}")
    if report["skipped"]:
        lines += ["", "## Skipped files", ""]
        lines += [f"- `{os.path.basename(item['file'])}`: {item['reason']}" for item in report["skipped"]]
    return "\n".join(lines) + "\n"


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    step = (high - low) / count if high > low else 1
    return [low + step * index for index in range(count + 1)]


def svg_chart(host: str, stats: dict[str, Any], window: dict[str, Any], horizon: int) -> str:
    """One self-contained SVG line chart: the samples, the fitted line, the threshold (dashed red)
    and, for a rising metric with a threshold, the forecast (dashed) up to the horizon."""
    esc = html.escape
    width, height, left, right, top, bottom = 720, 240, 70, 20, 20, 40
    days = window["days"]
    series = stats["series"]
    outlook = stats["forecast"]
    rising = bool(outlook and outlook["days"] > 0 and stats["slope_per_day"])
    x_max = days + (horizon if rising else 0)
    values = [point["value"] for point in series]
    extra = [stats["threshold"]] if stats["threshold"] is not None else []
    if rising:
        extra.append(stats["intercept"] + stats["slope_per_day"] * x_max)
    low = min(values + extra + [0.0]) if values or extra else 0.0
    high = max(values + extra) if values or extra else 1.0
    if high <= low:
        high = low + 1
    high += (high - low) * 0.05

    def px(x: float) -> float:
        return left + (width - left - right) * x / x_max

    def py(y: float) -> float:
        return top + (height - top - bottom) * (1 - (y - low) / (high - low))

    title = f"{stats['label']} on {host}, {window['start']} to {window['end']}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#57606a"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#57606a"/>',
    ]
    unit = stats["unit"]
    for tick in _ticks(low, high):
        y = py(tick)
        parts.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eaeef2"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#57606a">'
            f"{esc(fmt(round(tick, 2), ' ' + unit if unit == 'B' else unit))}</text>"
        )
    start = datetime.date.fromisoformat(window["start"])
    labels = [(0, window["start"]), (days, window["end"])]
    if rising:
        labels.append((x_max, (start + datetime.timedelta(days=x_max)).isoformat()))
    for x, text in labels:
        anchor = "start" if x == 0 else "end" if x == x_max else "middle"
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - bottom + 16}" font-size="11" text-anchor="{anchor}" '
            f'fill="#57606a">{esc(text)}</text>'
        )
    if stats["threshold"] is not None:
        y = py(stats["threshold"])
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#cf222e" '
            f'stroke-dasharray="6 4"><title>threshold {esc(fmt(stats["threshold"], unit))}</title></line>'
        )
        parts.append(
            f'<text x="{width - right}" y="{y - 4:.1f}" font-size="11" text-anchor="end" fill="#cf222e">'
            f"threshold {esc(fmt(stats['threshold'], unit))}</text>"
        )
    if stats["slope_per_day"] is not None and series:
        x0, x1 = series[0]["x"], series[-1]["x"]
        y0 = stats["intercept"] + stats["slope_per_day"] * x0
        y1 = stats["intercept"] + stats["slope_per_day"] * x1
        parts.append(
            f'<line x1="{px(x0):.1f}" y1="{py(y0):.1f}" x2="{px(x1):.1f}" y2="{py(y1):.1f}" stroke="#8250df" '
            f'stroke-width="1.5"><title>least-squares fit, r² {stats["r2"]:.2f}</title></line>'
        )
        if rising:
            y2 = stats["intercept"] + stats["slope_per_day"] * x_max
            parts.append(
                f'<line x1="{px(x1):.1f}" y1="{py(y1):.1f}" x2="{px(x_max):.1f}" y2="{py(y2):.1f}" '
                f'stroke="#8250df" stroke-dasharray="4 4"><title>forecast to the {horizon}-day horizon'
                f"</title></line>"
            )
    if series:
        points = " ".join(f"{px(p['x']):.1f},{py(p['value']):.1f}" for p in series)
        parts.append(f'<polyline points="{points}" fill="none" stroke="#0969da" stroke-width="2"/>')
        for point in series:
            parts.append(
                f'<circle cx="{px(point["x"]):.1f}" cy="{py(point["value"]):.1f}" r="2.5" fill="#0969da">'
                f"<title>{esc(point['date'])}: {esc(fmt(point['value'], unit))}</title></circle>"
            )
    else:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" font-size="14" text-anchor="middle" fill="#57606a">no data</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def html_page(report: dict[str, Any]) -> str:
    esc = html.escape
    window = report["window"]
    sections = []
    for host, metrics in report["hosts"].items():
        charts = "".join(
            f"<figure><figcaption>{esc(stats['label'])}</figcaption>"
            f"{svg_chart(host, stats, window, report['forecast_horizon_days'])}</figure>"
            for stats in metrics.values()
        )
        missing = report["missing_days"].get(host) or []
        sections.append(
            f"<section><h2>{esc(host)}</h2><p>Missing days: {esc(', '.join(missing) or 'none')}.</p>{charts}</section>"
        )
    rows = "".join(
        f'<tr class="{esc(f["severity"])}"><td>{esc(f["severity"].upper())}</td><td>{esc(str(f["subject"]))}</td>'
        f"<td>{esc(str(f['message']))}</td><td>{esc(str(f.get('recommendation') or ''))}</td></tr>"
        for f in sorted(report["findings"], key=lambda f: {"critical": 0, "warning": 1}.get(f["severity"], 2))
    )
    skipped = "".join(
        f"<li><code>{esc(os.path.basename(item['file']))}</code>: {esc(item['reason'])}</li>"
        for item in report["skipped"]
    )
    body = f"""<p>Window {esc(window["start"])} to {esc(window["end"])} ({window["days"]} days), generated
{esc(report["generated_at"])} by jarvis.maintenance. Overall: <strong>{esc(report["severity"].upper())}</strong>.
Dashed red: threshold; purple: least-squares fit, dashed where it is extended to the
{report["forecast_horizon_days"]}-day horizon.</p>
{"".join(sections)}
<h2>Findings</h2>
<table><thead><tr><th>Severity</th><th>Subject</th><th>Finding</th><th>What to do</th></tr></thead>
<tbody>{rows}</tbody></table>
<h2>Skipped files</h2>
<ul>{skipped or "<li>none</li>"}</ul>
"""
    css = (
        "figure { margin: 0 0 1.5rem; } figcaption { font-weight: 600; }\n"
        "svg { max-width: 100%; height: auto; border: 1px solid #d0d7de; }\n"
    )
    return html_document(report["title"], body, css)


class MetricsReport(ReportBackend):
    """A report on the daily metrics documents (capacity_report, threshold_review): the
    parameters checked by checker(params, today), then analyser(params, today) with its
    generated_at; the result keys both share."""

    checker: Callable[[Mapping[str, Any], datetime.date], str | None]
    analyser: Callable[..., dict[str, Any]]

    def prometheus(self) -> bool:
        return self.params.get("source", "files") == "prometheus"

    def check(self) -> None:
        _prometheus.hide_secrets(self.params, self.host)
        problem = self.checker(self.params, self.now.date())
        if problem:
            raise self.fail(problem)
        if self.prometheus():
            return
        # A metrics_dir that does not exist yet (no daily run so far) has no data: every day is
        # missing. Something else at that path is an error.
        directory = self.params["metrics_dir"]
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise self.fail(f"metrics_dir {directory} is not a directory")

    def loader(self) -> Loader:
        """The source's load(host, dates): the only difference between the sources."""
        if self.prometheus():
            return _prometheus.loader(self.params, self.now)
        return files_loader(self.params)

    def build(self) -> dict[str, Any]:
        report = self.analyser(self.params, self.now.date(), self.loader())
        report["generated_at"] = _time.iso(self.now)
        report["source"] = _prometheus.describe(self.params)
        return report

    def result(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "window": doc["window"],
            "findings": doc["findings"],
            "severity": doc["severity"],
            "missing_days": doc["missing_days"],
            # Not `skipped`: Ansible reads that key as "the task was skipped".
            "skipped_files": doc["skipped"],
        }


class MetricsDocument(ReportBackend):
    """capacity_report with ``measured``: today's metrics document of ``host``, written as
    <metrics_dir>/<host>/metrics-YYYY-MM-DD.json (kept when it exists, unless ``overwrite``)."""

    what = "write the metrics document"

    def check(self) -> None:
        host = self.params.get("host") or ""
        if not host or host in (".", "..") or "/" in host or "\x00" in host:
            raise self.fail(f"host must name the host's directory under metrics_dir, got {host!r}")
        for source, reason in (self.params.get("unavailable") or {}).items():
            if not isinstance(reason, str) or not reason:
                raise self.fail(f"unavailable.{source} must be a reason (text), got {reason!r}")

    def build(self) -> dict[str, Any]:
        doc = _metrics.document(self.params["host"], self.now, self.params["measured"], self.params["unavailable"])
        why = _metrics.problem(doc)
        if why:
            raise self.fail(why)
        return doc

    def outputs(self, doc: dict[str, Any]) -> Outputs:
        path = _metrics.path_of(self.params["metrics_dir"], self.params["host"], self.now.date())
        if os.path.exists(path) and not self.params["overwrite"]:
            return {}
        return {"metrics_path": (path, json_text)}

    def result(self, doc: dict[str, Any]) -> dict[str, Any]:
        path = _metrics.path_of(self.params["metrics_dir"], self.params["host"], self.now.date())
        return {"metrics_path": path, "document": doc}


class CapacityReport(MetricsReport):
    """Backend of the capacity_report module (with ``measured``: MetricsDocument)."""

    what = "write the capacity report"
    checker = staticmethod(check_params)
    analyser = staticmethod(analyse)
    renderers = (("json", json_text), ("markdown", markdown), ("html", html_page))

    def run(self) -> dict[str, Any]:
        if self.params.get("measured") is not None:
            problem = source_problem(self.params, spec_requires_host=False)
            if problem:
                raise self.fail(problem)
            return MetricsDocument(self.params, self.check_mode, self.host, self.now).run()
        return super().run()

    def result(self, doc: dict[str, Any]) -> dict[str, Any]:
        summary = {
            host: {
                name: {key: value for key, value in stats.items() if key != "series"} for name, stats in metrics.items()
            }
            for host, metrics in doc["hosts"].items()
        }
        return {**super().result(doc), "hosts": summary}
