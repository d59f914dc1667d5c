# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reports: a JSON document for machines and a Markdown page for people, written atomically."""

from __future__ import annotations

import html
import json
import os
import re
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._files import write_atomic
from ansible_collections.jarvis.maintenance.plugins.module_utils._findings import (
    SEVERITIES,
    count_by_severity,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._redact import redact

SCHEMA = "jarvis.maintenance/report/1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def document(
    title: str, generated_at: str, host: str, findings: list[dict[str, Any]], data: dict[str, Any]
) -> dict[str, Any]:
    """The report; the findings' messages and recommendations redacted again (a role may have built them)."""
    findings = [
        {
            **finding,
            **{key: redact(finding[key]) for key in ("message", "recommendation") if isinstance(finding.get(key), str)},
        }
        for finding in findings
    ]
    return {
        "schema": SCHEMA,
        "title": title,
        "host": host,
        "generated_at": generated_at,
        "severity": worst(findings),
        "summary": count_by_severity(findings),
        "findings": findings,
        "data": data,
    }


HTML_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; padding: 0 1rem; color: #1b1f24; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
th, td { border: 1px solid #d0d7de; padding: .35rem .6rem; text-align: left; vertical-align: top; }
.critical td:first-child { background: #ffd7d5; font-weight: 700; }
.warning td:first-child { background: #fff1c2; font-weight: 700; }
.ok td:first-child { background: #d3f5dc; }
"""


def html_document(title: str, body: str, css: str = "") -> str:
    """A self-contained HTML page (no script, no external asset) around body (pure). title is
    escaped here; body must already be escaped."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{HTML_CSS}{css}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def markdown_table(title: str, columns: list[str], rows: list[dict[str, Any]], empty: str = "") -> list[str]:
    """A Markdown section with a table of rows (dicts), one column per key in columns (pure)."""
    lines = ["", f"## {_cell(title)}", ""]
    if not rows:
        return [*lines, empty or "Nothing to show."]
    lines.append("| " + " | ".join(_cell(column.replace("_", " ").capitalize()) for column in columns) + " |")
    lines.append("|" + "---|" * len(columns))
    lines += ["| " + " | ".join(_cell(row.get(column)) for column in columns) + " |" for row in rows]
    return lines


def markdown(doc: dict[str, Any], tables: list[dict[str, Any]] | None = None) -> str:
    """The report as Markdown: overall severity, findings worst first, what to do, then the tables."""
    summary = doc["summary"]
    lines = [
        f"# {doc['title']} — {doc['host']}",
        "",
        f"Generated {doc['generated_at']} by jarvis.maintenance.",
        "",
        f"**Overall: {doc['severity'].upper()}** — {summary['critical']} critical, "
        f"{summary['warning']} warning, {summary['ok']} ok.",
        "",
        "| Severity | Check | Subject | Value | Message |",
        "|---|---|---|---|---|",
    ]
    for severity in reversed(SEVERITIES):
        for finding in doc["findings"]:
            if finding["severity"] == severity:
                lines.append(
                    "| "
                    + " | ".join(
                        _cell(finding.get(key)) for key in ("severity", "check", "subject", "value", "message")
                    )
                    + " |"
                )
    actions = [f for f in doc["findings"] if f.get("recommendation") and f["severity"] != "ok"]
    if actions:
        lines += ["", "## What to do", ""]
        lines += [f"- **{_cell(f['subject'])}** ({f['severity']}): {_cell(f['recommendation'])}" for f in actions]
    for table in tables or []:
        lines += markdown_table(table["title"], table["columns"], table["rows"], table.get("empty") or "")
    return "\n".join(lines) + "\n"


def check_name(name: str) -> str | None:
    if not _NAME.match(name or "") or ".." in name:
        return f"name must be a file name of letters, digits, '.', '_' and '-', got {name!r}"
    return None


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


class Report:
    """Backend of the report module."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params

    def run(self) -> dict[str, Any]:
        params = self.params
        problem = check_name(params["name"])
        if problem:
            self.module.fail_json(msg=f"Cannot write report: {problem}")
        try:
            mode = int(params["mode"], 8)
        except ValueError:
            self.module.fail_json(msg=f"Cannot write report: mode must be octal like '0640', got {params['mode']!r}")
        for index, table in enumerate(params["tables"]):
            if not table["columns"]:
                self.module.fail_json(msg=f"Cannot write report: tables[{index}].columns must name at least one key")
        for index, finding in enumerate(params["findings"]):
            if finding.get("severity") not in SEVERITIES:
                self.module.fail_json(
                    msg=f"Cannot write report: findings[{index}].severity must be one of "
                    f"{', '.join(SEVERITIES)}, got {finding.get('severity')!r}"
                )
        doc = document(params["title"], params["generated_at"], params["host"], params["findings"], params["data"])
        contents = {
            "json": json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n",
            "md": markdown(doc, params["tables"]),
        }
        base = os.path.join(params["dir"], params["name"])
        paths = {ext: f"{base}.{ext}" for ext in contents}
        changed = any(read(path) != contents[ext] for ext, path in paths.items())
        if changed and not self.module.check_mode:
            try:
                os.makedirs(params["dir"], mode=0o750, exist_ok=True)
                for ext, path in paths.items():
                    write_atomic(path, contents[ext], mode)
            except OSError as exc:
                self.module.fail_json(msg=f"Cannot write report to {params['dir']}: {exc}")
        return {
            "changed": changed,
            "json_path": paths["json"],
            "markdown_path": paths["md"],
            "severity": doc["severity"],
            "summary": doc["summary"],
        }
