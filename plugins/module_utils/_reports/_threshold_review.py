# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Monitoring threshold review from the daily metrics documents: the backend of threshold_review.

The runbook's quarterly manual task "Review and update monitoring thresholds" had no procedure.
Here each configured threshold (a warning, maybe a critical, and where it is set) is compared
with what the daily metrics documents of the last `days` days observed: how often the daily
sample was at or above it, p50/p95/max, the headroom left, and a verdict - no data, crossed
critical, noisy, tight, slack or fine - with what to do about it.

A day counts as over a threshold when its sample is at or above it (like _findings.classify).
The samples are one a day (the capacity_planning role's collection), so a check that runs more
often can see peaks they miss: a count here is a lower bound of how often a threshold fires.
"""

from __future__ import annotations

import datetime
import math
import os
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import Finding, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports import _prometheus
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._capacity import (
    MAX_DAYS,
    MIN_SAMPLES,
    Loader,
    MetricsReport,
    check_window,
    describe,
    files_loader,
    fmt,
    percentile,
    source_problem,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._metrics import (
    MAX_VALUE,
    METRICS,
    finite_number,
    value_at,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._report import json_text

SCHEMA = "jarvis.maintenance/threshold_review/1"
MIN_DAYS = 7
# metric name -> (path in the metrics document, unit, label)
METRIC_INFO = {metric[0]: (metric[1], metric[2], metric[3]) for metric in METRICS}
TIGHT_FRACTION = 0.9  # p95 at or above 90 % of the warning: little headroom
SLACK_FRACTION = 0.5  # max below 50 % of the warning: it could be lowered
RAISE_MARGIN = 1.05  # a noisy warning could go to p95 plus 5 %, rounded up (more finely if needed)
LOWER_MARGIN = 1.25  # a slack warning could go to the highest day plus 25 %, rounded up


# The module's options; documented in plugins/modules/threshold_review.py.
ARGUMENT_SPEC: dict[str, Any] = {
    "metrics_dir": {"type": "path"},
    "host": {"type": "str", "required": True},
    "days": {"type": "int", "default": 90},
    "thresholds": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "metric": {"type": "str", "required": True},
            "warning": {"type": "float", "required": True},
            "critical": {"type": "float"},
            "source": {"type": "str"},
        },
    },
    "noisy_percent": {"type": "float", "default": 20.0},
    "title": {"type": "str"},
    "json": {"type": "path"},
    "markdown": {"type": "path"},
    # Where the days' documents come from: the metrics files, or Prometheus (_prometheus).
    **_prometheus.ARGUMENT_SPEC,
}


def check_params(params: dict[str, Any], today: datetime.date | None = None) -> str | None:
    """Why these parameters cannot work, or None (pure). Names the parameter."""
    why = source_problem(params, spec_requires_host=True)
    if why:
        return why
    if not MIN_DAYS <= params["days"] <= MAX_DAYS:
        return f"days must be from {MIN_DAYS} to {MAX_DAYS}, got {params['days']}"
    window = check_window(today or _time.now().date(), params["days"])
    if window:
        return window
    host = params.get("host") or ""
    if not host or host in (".", "..") or "/" in host or os.sep in host:
        return f"host must be the name of a directory under metrics_dir, got {host!r}"
    if not 0 <= params["noisy_percent"] < 100:
        return f"noisy_percent must be from 0 to below 100, got {params['noisy_percent']}"
    thresholds = params.get("thresholds") or []
    if not thresholds:
        return "thresholds must list at least one threshold"
    seen: set[str] = set()
    for index, item in enumerate(thresholds):
        where = f"thresholds[{index}]"
        name = (item.get("name") or "").strip()
        if not name:
            return f"{where}.name must not be empty"
        if name in seen:
            return f"{where}.name {name!r} is given twice; names must be unique"
        seen.add(name)
        if item.get("metric") not in METRIC_INFO:
            return f"{where}.metric must be one of {', '.join(METRIC_INFO)}, got {item.get('metric')!r}"
        warning, critical = item.get("warning"), item.get("critical")
        if not finite_number(warning) or warning <= 0:
            return f"{where}.warning must be a finite number above 0 and at most {MAX_VALUE:g}, got {warning!r}"
        if critical is not None and not finite_number(critical):
            return f"{where}.critical must be a finite number at most {MAX_VALUE:g}, got {critical!r}"
        if critical is not None and critical <= warning:
            return f"{where}.critical must be above warning ({warning:g}), got {critical:g}"
    return None


# -- review (pure) ----------------------------------------------------------------------------


def nice_ceil(value: float, fine: bool = False) -> float:
    """value rounded up to a multiple of half its leading power of ten (87.2 -> 90, 1.37 -> 1.5,
    0.37 -> 0.4, 1234 -> 1500), or with fine of a tenth of it (87.2 -> 88, 1.37 -> 1.4). 0 for 0 or less."""
    if value <= 0:
        return 0.0
    step = 10 ** math.floor(math.log10(value)) / (10 if fine else 2)
    return round(math.ceil(value / step - 1e-9) * step, 10)


def observe(values: list[float], warning: float, critical: float | None, days: int) -> dict[str, Any]:
    """What the samples say about a warning/critical pair (pure). A sample equal to a threshold is over it."""
    stats = describe(values)
    samples = stats["samples"]
    over_warning = sum(1 for value in values if value >= warning)
    over_critical = None if critical is None else sum(1 for value in values if value >= critical)
    return {
        "samples": samples,
        "missing_days": days - samples,
        "min": stats["min"],
        "p50": round(percentile(values, 0.5), 4) if values else None,
        "p95": round(stats["p95"], 4) if values else None,
        "max": stats["max"],
        "last": stats["last"],
        "days_over_warning": over_warning,
        "days_over_critical": over_critical,
        "share_over_warning_percent": round(100.0 * over_warning / samples, 2) if samples else None,
        "headroom": round(warning - stats["p95"], 4) if values else None,
    }


def judge(
    stats: dict[str, Any], warning: float, critical: float | None, noisy_percent: float, percent: bool
) -> tuple[str, float | None]:
    """The verdict for the observed stats and, for noisy or slack, a suggested warning (pure).

    No suggestion is made for a noisy threshold when it would reach the critical value, or 100 for a
    percentage, even rounded up more finely: then the load, not the threshold, is the problem."""
    if stats["samples"] < MIN_SAMPLES:
        return "no data", None
    if stats["days_over_critical"]:
        return "crossed critical", None
    if stats["share_over_warning_percent"] > noisy_percent:
        ceiling = min(critical if critical is not None else math.inf, 100.0 if percent else math.inf)
        base = max(stats["p95"], warning) * RAISE_MARGIN
        for fine in (False, True):
            suggested = nice_ceil(base, fine)
            if suggested < ceiling:
                return "noisy", suggested
        return "noisy", None
    if stats["p95"] >= TIGHT_FRACTION * warning:
        return "tight", None
    if stats["max"] < SLACK_FRACTION * warning:
        suggested = nice_ceil(stats["max"] * LOWER_MARGIN)
        return "slack", suggested if 0 < suggested < warning else None
    return "fine", None


def shown_unit(unit: str) -> str:
    """The suffix fmt() takes for a row's unit: '%' sticks to the number, 'ms' and 'B' do not."""
    return unit if unit in ("", "%") else f" {unit}"


def review_finding(host: str, row: dict[str, Any], noisy_percent: float, days: int) -> Finding:
    """The finding for a reviewed threshold, with its evidence and what to do (pure)."""
    unit, label, name = shown_unit(row["unit"]), row["label"], row["name"]
    subject = f"{host} {name}"
    warning, critical, verdict = row["warning"], row["critical"], row["verdict"]
    where = f" ({row['source']})" if row.get("source") else ""

    def show(value: Any) -> str:
        return fmt(value, unit)

    if verdict == "no data":
        return Finding(
            "missing_data",
            "warning",
            subject,
            row["samples"],
            MIN_SAMPLES,
            f"only {row['samples']} of {days} days have a {row['metric']} sample "
            f"({MIN_SAMPLES} needed): the threshold cannot be reviewed",
            "Check that the daily collection (daily.yml, capacity_planning) runs on this host and can read "
            f"{label} (a document's `unavailable` says why a source is null), then review {name} again.",
        )
    limits = f"warning {show(warning)}" + (f", critical {show(critical)}" if critical is not None else "")
    evidence = (
        f"{limits}; over {row['samples']} sampled days of {days}: p50 {show(row['p50'])}, p95 {show(row['p95'])}, "
        f"max {show(row['max'])}, {row['days_over_warning']} days at or above the warning"
    )

    def reviewed(severity: str, value: Any, threshold: Any, message: str, advice: str = "") -> Finding:
        return Finding("threshold_review", severity, subject, value, threshold, message, advice)

    if verdict == "crossed critical":
        message = f"{row['days_over_critical']} days at or above the critical value ({evidence})"
        advice = (
            f"Add capacity (see capacity_report for the trend); if those days were normal operation, the critical "
            f"value{where} is wrong: review it."
        )
        return reviewed("warning", row["max"], critical, message, advice)
    if verdict == "noisy":
        share = f"{row['share_over_warning_percent']:g}% of the sampled days, more than {noisy_percent:g}%"
        suggested = row["suggested_warning"]
        if suggested is not None:
            advice = (
                f"If this load is normal, raise the warning{where} to about {show(suggested)} (p95 plus 5%, "
                "rounded up); if it is not, add capacity."
            )
        else:
            ceiling = f"the critical value {show(critical)}" if critical is not None else "100%"
            advice = (
                f"Add capacity: a warning above the p95 {show(row['p95'])} would reach {ceiling}, so the load, "
                "not the threshold, is the problem."
            )
        message = f"at or above the warning on {share}: it fires too often to be acted on ({evidence})"
        return reviewed("warning", row["share_over_warning_percent"], noisy_percent, message, advice)
    if verdict == "tight":
        message = f"little headroom, the p95 is within {100 - TIGHT_FRACTION * 100:g}% of the warning ({evidence})"
        advice = "Keep the warning if reaching it calls for action; watch the trend (capacity_report)."
        return reviewed("ok", row["p95"], warning, message, advice)
    if verdict == "slack":
        suggested = row["suggested_warning"]
        lower = f" to about {show(suggested)}" if suggested is not None else ""
        message = f"the highest day stayed below {SLACK_FRACTION * 100:g}% of the warning ({evidence})"
        advice = (
            f"The warning{where} could be lowered{lower} to catch a change earlier, if reaching that value would "
            "call for action."
        )
        return reviewed("ok", row["max"], warning, message, advice)
    return reviewed("ok", row["p95"], warning, f"the threshold fits what was observed ({evidence})")


def recommendation_of(finding: Finding) -> str:
    return finding.recommendation or "Keep it."


def review_threshold(
    item: dict[str, Any], documents: dict[datetime.date, dict[str, Any]], noisy_percent: float, days: int
) -> dict[str, Any]:
    """One row of the review: the threshold as given, the observed stats, the verdict (pure)."""
    path, unit, label = METRIC_INFO[item["metric"]]
    warning = float(item["warning"])
    critical = None if item.get("critical") is None else float(item["critical"])
    values = [value for value in (value_at(documents[day], path) for day in sorted(documents)) if value is not None]
    stats = observe(values, warning, critical, days)
    verdict, suggested = judge(stats, warning, critical, noisy_percent, unit == "%")
    return {
        "name": item["name"].strip(),
        "metric": item["metric"],
        "label": label,
        "unit": unit.strip(),
        "source": item.get("source"),
        "warning": warning,
        "critical": critical,
        **stats,
        "verdict": verdict,
        "suggested_warning": suggested,
    }


def analyse(params: dict[str, Any], today: datetime.date, load: Loader | None = None) -> dict[str, Any]:
    """The review: the documents come from load (the source's loader, files by default); everything
    after them is the same for every source."""
    load = load or files_loader(params)
    days, host = params["days"], params["host"]
    dates = [today - datetime.timedelta(days=days - 1 - index) for index in range(days)]
    documents, skipped, missing = load(host, dates)
    rows, findings = [], []
    for item in params["thresholds"]:
        row = review_threshold(item, documents, params["noisy_percent"], days)
        finding = review_finding(host, row, params["noisy_percent"], days)
        row.update(severity=finding.severity, recommendation=recommendation_of(finding), message=finding.message)
        rows.append(row)
        findings.append(finding.as_dict())
    return {
        "schema": SCHEMA,
        "title": params.get("title") or f"Monitoring threshold review for {host}, last {days} days",
        "host": host,
        "window": {"start": dates[0].isoformat(), "end": today.isoformat(), "days": days},
        "noisy_percent": params["noisy_percent"],
        "severity": worst(findings),
        "rows": rows,
        "findings": findings,
        "missing_days": missing,
        "skipped": skipped,
    }


# -- rendering (pure) -------------------------------------------------------------------------


def day_ranges(days: list[str]) -> str:
    """ISO days as runs of consecutive days: '2026-11-01 to 2026-11-03, 2026-11-07' ('none')."""
    if not days:
        return "none"
    parsed = sorted(datetime.date.fromisoformat(day) for day in days)
    runs = [[parsed[0], parsed[0]]]
    for day in parsed[1:]:
        if day - runs[-1][1] == datetime.timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return ", ".join(str(a) if a == b else f"{a} to {b}" for a, b in runs)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def markdown(report: dict[str, Any]) -> str:
    window = report["window"]
    documents = window["days"] - len(report["missing_days"])
    lines = [
        f"# {report['title']}",
        "",
        f"Host {report['host']}, window {window['start']} to {window['end']} ({window['days']} days, {documents} with "
        f"a metrics document); generated {report['generated_at']} by jarvis.maintenance. "
        f"Overall: **{report['severity'].upper()}**.",
        "",
        *_prometheus.source_line(report.get("source")),
        "One sample a day (the daily metrics document): a day is over a threshold when its sample is at or above "
        "it; a check that runs more often can see peaks these samples miss. Noisy: over the warning on more than "
        f"{report['noisy_percent']:g}% of the sampled days.",
        "",
        "| Threshold | Source | Warning | Critical | p50 | p95 | Max | Days over warning / critical | Verdict "
        "| Recommendation |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in report["rows"]:
        unit = shown_unit(row["unit"])
        over_critical = "-" if row["days_over_critical"] is None else row["days_over_critical"]
        cells = [
            f"{row['name']} (`{row['metric']}`)",
            row["source"] or "-",
            fmt(row["warning"], unit),
            fmt(row["critical"], unit),
            fmt(row["p50"], unit),
            fmt(row["p95"], unit),
            fmt(row["max"], unit),
            f"{row['days_over_warning']} / {over_critical} of {row['samples']}",
            f"**{row['verdict']}**" if row["severity"] != "ok" else row["verdict"],
            row["recommendation"],
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    order = {"critical": 0, "warning": 1, "ok": 2}
    lines += ["", "## Findings", ""]
    for finding in sorted(report["findings"], key=lambda f: order.get(f["severity"], 3)):
        advice = f" {finding['recommendation']}" if finding.get("recommendation") else ""
        lines.append(f"- **{finding['severity'].upper()}** {finding['subject']}: {finding['message']}.{advice}")
    lines += ["", f"Days without a usable metrics document: {day_ranges(report['missing_days'])}."]
    if report["skipped"]:
        lines += ["", "## Skipped files", ""]
        lines += [f"- `{os.path.basename(item['file'])}`: {item['reason']}" for item in report["skipped"]]
    return "\n".join(lines) + "\n"


class ThresholdReview(MetricsReport):
    """Backend of the threshold_review module."""

    what = "review the thresholds"

    checker = staticmethod(check_params)
    analyser = staticmethod(analyse)
    renderers = (("json", json_text), ("markdown", markdown))

    def result(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {**super().result(doc), "rows": doc["rows"]}
