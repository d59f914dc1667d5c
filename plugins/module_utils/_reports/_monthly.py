# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The monthly maintenance report: the backend of the monthly_report module.

The runbook wrote its monthly report with a heredoc that ticked every section whatever had
happened and grepped its own log for the action items. Here each section is the newest JSON
report of that kind the roles wrote in the month (``<prefix>-<host>-<YYYYmmddTHHMMSSZ>.json``),
its status is the worst of its findings, a section without a report says so, and the action
items are the warning and critical findings themselves.
"""

from __future__ import annotations

import datetime
import html
import math
import os
import re
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import SEVERITIES, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports import _metrics
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._report import (
    ReportBackend,
    html_document,
    json_text,
    read_json,
)

SCHEMA = "jarvis.maintenance/monthly_report/1"
# key, heading, report name prefix (as the roles name their reports)
SECTIONS = [
    ("backup", "Full system backup (verification of the newest set)", "backup-verification"),
    ("security", "Security audit", "security-audit"),
    ("capacity", "Performance and capacity analysis (30 days)", "capacity-30d"),
    ("postgres", "Database optimization", "postgres-monthly"),
    ("redis", "Redis maintenance", "redis-monthly"),
    ("updates", "System updates", "system-updates"),
    ("dr_test", "Disaster recovery test", "dr-test"),
]
ICONS = {"ok": "OK", "warning": "WARNING", "critical": "CRITICAL", "absent": "NO REPORT", "unreadable": "UNREADABLE"}
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


# The module's options; documented in plugins/modules/monthly_report.py.
ARGUMENT_SPEC: dict[str, Any] = {
    "reports_dir": {"type": "path", "required": True},
    "host": {"type": "str", "required": True},
    "month": {"type": "str"},
    "metrics_dir": {"type": "path"},
    "sections": {"type": "dict", "default": {}},
    "title": {"type": "str"},
    "json": {"type": "path"},
    "markdown": {"type": "path"},
    "html": {"type": "path"},
}


def check_params(params: dict[str, Any]) -> str | None:
    """Why these parameters cannot work, or None. Names the parameter (reads only whether the directories exist)."""
    if params.get("month") and not _MONTH.match(params["month"]):
        return f"month must look like 2026-11, got {params['month']!r}"
    unknown = sorted(set(params.get("sections") or {}) - {key for key, _heading, _prefix in SECTIONS})
    if unknown:
        return f"sections has unknown keys {', '.join(unknown)} (known: {', '.join(k for k, _h, _p in SECTIONS)})"
    for key, prefix in (params.get("sections") or {}).items():
        if not isinstance(prefix, str) or not _PART.match(prefix):
            return f"sections.{key} must be a report name prefix of letters, digits, '.', '_' and '-', got {prefix!r}"
    host = params.get("host")
    if not isinstance(host, str) or not _PART.match(host) or host in (".", ".."):
        return f"host must be a host name (letters, digits, '.', '_' and '-'), got {host!r}"
    for option in ("reports_dir", "metrics_dir", "json", "markdown", "html"):
        if "\x00" in (params.get(option) or ""):
            return f"{option} must not contain a NUL character, got {params[option]!r}"
    for option in ("reports_dir", "metrics_dir"):
        path = params.get(option)
        if path and os.path.exists(path) and not os.path.isdir(path):
            return f"{option} {path} is not a directory"
    return None


def next_month(month: str) -> str:
    """'2026-12' -> '2027-01' (pure)."""
    year, number = (int(part) for part in month.split("-"))
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def first_sunday(month: str) -> str:
    """'2026-12' -> '2026-12-06', the monthly window's day (pure)."""
    year, number = (int(part) for part in month.split("-"))
    first = datetime.date(year, number, 1)
    return (first + datetime.timedelta(days=(6 - first.weekday()) % 7)).isoformat()


def newest_report(reports_dir: str, prefix: str, host: str, month: str) -> str | None:
    """Path of the newest ``<prefix>-<host>-<stamp>.json`` stamped in month, or None."""
    pattern = re.compile(rf"^{re.escape(prefix)}-{re.escape(host)}-(\d{{8}}T\d{{6}}Z)\.json$")
    wanted = month.replace("-", "")
    try:
        names = os.listdir(reports_dir)
    except FileNotFoundError:
        return None
    stamped = sorted(
        (match.group(1), name)
        for name in names
        for match in [pattern.match(name)]
        if match and match.group(1).startswith(wanted)
    )
    return os.path.join(reports_dir, stamped[-1][1]) if stamped else None


def load_json(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """A JSON object from path, or None and why not. NaN, Infinity and numbers that overflow to
    them are refused: they are not JSON and could not be written into the report."""
    try:
        data = read_json(path, finite_floats=True)
    except (OSError, ValueError) as exc:
        return None, f"cannot read {os.path.basename(path)}: {exc}"
    if not isinstance(data, dict):
        return None, f"{os.path.basename(path)} is not a JSON object"
    return data, None


def section(key: str, heading: str, path: str | None) -> dict[str, Any]:
    """One section from its report file (None: absent)."""
    result: dict[str, Any] = {"key": key, "heading": heading, "report": path, "findings": []}
    if path is None:
        result.update(status="absent", summary="no report this month")
        return result
    data, problem = load_json(path)
    if data is None:
        result.update(status="unreadable", summary=problem)
        return result
    findings = [f for f in data.get("findings") or [] if isinstance(f, dict) and f.get("severity") in SEVERITIES]
    counts = {severity: sum(1 for f in findings if f["severity"] == severity) for severity in SEVERITIES}
    result.update(
        status=worst(findings) if findings else "ok",
        generated_at=data.get("generated_at"),
        findings=findings,
        summary=f"{counts['critical']} critical, {counts['warning']} warning, {counts['ok']} ok",
        data=data.get("data") or {},
    )
    return result


def newest_metrics(metrics_dir: str | None, host: str, month: str) -> dict[str, Any] | None:
    if not metrics_dir:
        return None
    directory = os.path.join(metrics_dir, host)
    try:
        names = sorted(n for n in os.listdir(directory) if re.match(rf"^metrics-{re.escape(month)}-\d\d\.json$", n))
    except FileNotFoundError:
        return None
    for name in reversed(names):
        data, _problem = _metrics.read(os.path.join(directory, name))
        if data is not None:
            return data
    return None


def size(value: Any) -> str | None:
    """A byte count as people read it (_units.human_bytes), or None for anything that is not one (pure)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return human_bytes(value)


def key_metrics(sections: list[dict[str, Any]], metrics: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) pairs from the newest metrics document and the backup section (pure)."""
    rows: list[tuple[str, str]] = []
    metrics = metrics or {}
    uptime = metrics.get("uptime_seconds")
    rows.append(("System uptime", f"{uptime / 86400:.1f} days" if isinstance(uptime, (int, float)) else "unknown"))
    backup = next((s for s in sections if s["key"] == "backup"), {})
    sets = (backup.get("data") or {}).get("sets") or []
    rows.append(("Newest backup set", size(sets[0].get("size")) or "unknown" if sets else "unknown"))
    postgres = metrics.get("postgres") or {}
    rows.append(("Database size (all databases)", size(postgres.get("total_bytes")) or "unknown"))
    for label, part in (("Disk used", "disk"), ("Memory used", "memory")):
        value = (metrics.get(part) or {}).get("percent")
        rows.append((label, f"{value}%" if value is not None else "unknown"))
    return rows


def action_items(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Warning and critical findings of every section, critical first (pure)."""
    items = [
        {**finding, "section": entry["key"]}
        for entry in sections
        for finding in entry["findings"]
        if finding.get("severity") in ("warning", "critical")
    ]
    return sorted(items, key=lambda item: (item["severity"] != "critical", item["section"]))


def build(params: dict[str, Any], now: datetime.datetime) -> dict[str, Any]:
    month = params.get("month") or now.strftime("%Y-%m")
    host = params["host"]
    prefixes = {key: prefix for key, _heading, prefix in SECTIONS}
    prefixes.update(params.get("sections") or {})
    sections = [
        section(key, heading, newest_report(params["reports_dir"], prefixes[key], host, month))
        for key, heading, _prefix in SECTIONS
    ]
    metrics = newest_metrics(params.get("metrics_dir"), host, month)
    return {
        "schema": SCHEMA,
        "title": params.get("title") or f"Monthly Maintenance Report - {host} - {month}",
        "host": host,
        "month": month,
        "generated_at": _time.iso(now),
        "severity": worst([{"severity": s["status"]} for s in sections if s["status"] in SEVERITIES]),
        "sections": sections,
        "key_metrics": key_metrics(sections, metrics),
        "action_items": action_items(sections),
        # the monthly window: the first Sunday (the runbook's cron 0 0 1 * * said the 1st)
        "next_maintenance": first_sunday(next_month(month)),
    }


def markdown(doc: dict[str, Any]) -> str:
    lines = [f"# {doc['title']}", "", f"Generated: {doc['generated_at']}", "", "## Summary", ""]
    for entry in doc["sections"]:
        where = f" ({os.path.basename(entry['report'])})" if entry.get("report") else ""
        lines.append(f"- **{ICONS[entry['status']]}** {entry['heading']}: {entry['summary']}{where}")
    lines += ["", "## Key Metrics", ""]
    lines += [f"- {label}: {value}" for label, value in doc["key_metrics"]]
    lines += ["", "## Action Items", ""]
    if not doc["action_items"]:
        lines.append("None: no warning or critical finding this month.")
    for item in doc["action_items"]:
        advice = f" {item['recommendation']}" if item.get("recommendation") else ""
        lines.append(
            f"- **{item['severity'].upper()}** [{item['section']}] {item.get('subject')}: "
            f"{item.get('message')}.{advice}"
        )
    lines += ["", "## Next Maintenance", "", f"Next monthly maintenance: {doc['next_maintenance']}", ""]
    return "\n".join(lines)


def html_page(doc: dict[str, Any]) -> str:
    esc = html.escape
    rows = "".join(
        f'<tr class="{esc(e["status"])}"><td>{esc(ICONS[e["status"]])}</td><td>{esc(e["heading"])}</td>'
        f"<td>{esc(e['summary'] or '')}</td><td>{esc(os.path.basename(e['report'] or '') or '-')}</td></tr>"
        for e in doc["sections"]
    )
    metrics = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in doc["key_metrics"])
    items = (
        "".join(
            f'<tr class="{esc(i["severity"])}"><td>{esc(i["severity"].upper())}</td><td>{esc(i["section"])}</td>'
            f"<td>{esc(str(i.get('subject')))}</td><td>{esc(str(i.get('message')))}</td>"
            f"<td>{esc(str(i.get('recommendation') or ''))}</td></tr>"
            for i in doc["action_items"]
        )
        or '<tr><td colspan="5">None: no warning or critical finding this month.</td></tr>'
    )
    body = f"""<p>Generated {esc(doc["generated_at"])} by jarvis.maintenance.
Overall: <strong>{esc(doc["severity"].upper())}</strong>.</p>
<h2>Summary</h2>
<table><thead><tr><th>Status</th><th>Section</th><th>Findings</th><th>Report</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Key metrics</h2>
<table><tbody>{metrics}</tbody></table>
<h2>Action items</h2>
<table><thead><tr><th>Severity</th><th>Section</th><th>Subject</th><th>Finding</th><th>What to do</th></tr></thead>
<tbody>{items}</tbody></table>
<h2>Next maintenance</h2>
<p>Next monthly maintenance: {esc(doc["next_maintenance"])}</p>
"""
    css = ".absent td:first-child, .unreadable td:first-child { background: #eaeef2; }\n"
    return html_document(doc["title"], body, css)


class MonthlyReport(ReportBackend):
    """Backend of the monthly_report module."""

    what = "write the monthly report"

    def check(self) -> None:
        raise_problem(f"Cannot {self.what}", check_params(self.params))

    def build(self) -> dict[str, Any]:
        try:
            return build(self.params, self.now)
        except OSError as exc:
            raise self.fail(f"cannot read the reports: {exc}") from None

    renderers = (("json", json_text), ("markdown", markdown), ("html", html_page))

    def result(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "month": doc["month"],
            "severity": doc["severity"],
            "sections": [
                {key: entry.get(key) for key in ("key", "heading", "status", "summary", "report")}
                for entry in doc["sections"]
            ],
            "key_metrics": [{"label": label, "value": value} for label, value in doc["key_metrics"]],
            "action_items": doc["action_items"],
            "next_maintenance": doc["next_maintenance"],
        }
