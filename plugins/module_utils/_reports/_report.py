# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reports: a JSON document for machines and a Markdown page for people, written atomically."""

from __future__ import annotations

import html
import json
import os
import re
import stat
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._files import read_text, write_atomic
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    SEVERITIES,
    count_by_severity,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact

SCHEMA = "jarvis.maintenance/report/1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_OCTAL = re.compile(r"^(?:0o)?[0-7]+$")
# The one mode of every report file, and of the directories created for them (report_dir_mode).
REPORT_MODE = 0o640


def report_mode(value: Any, option: str = "mode") -> int:
    """The permissions of report files from an octal string ('0640') or an int (pure). Raises
    ValueError naming option: a mode must be 0 to 0777 (no setuid, setgid or sticky bit) and must
    not let everyone write (reports are read by people and by the next run as root)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{option} must be an octal string like '0640', got {value!r}")
    if isinstance(value, str):
        if not _OCTAL.match(value.strip()):
            raise ValueError(f"{option} must be an octal string like '0640', got {value!r}")
        number = int(value.strip().removeprefix("0o"), 8)
    else:
        number = value
    if not 0 <= number <= 0o777:
        raise ValueError(
            f"{option} must be from 0000 to 0777 (no setuid, setgid or sticky bit), got {value!r} ({number:#o})"
            if number >= 0
            else f"{option} must be an octal string like '0640', got {value!r}"
        )
    if number & stat.S_IWOTH:
        raise ValueError(f"{option} must not make reports world-writable, got {value!r} ({number:04o})")
    return number


def report_dir_mode(mode: int) -> int:
    """The mode of a directory created for reports of mode: searchable by whoever may read them
    (0640 -> 0750, 0600 -> 0700, 0644 -> 0755) (pure)."""
    return mode | ((mode & 0o444) >> 2)


def make_report_dir(directory: str, mode: int = REPORT_MODE) -> None:
    """Create directory and its missing parents with report_dir_mode(mode), whatever the umask;
    directories that exist are left as they are. Raises OSError."""
    missing = []
    path = os.path.abspath(directory)
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, report_dir_mode(mode))
        except FileExistsError:
            if not os.path.isdir(path):
                raise
            continue
        os.chmod(path, report_dir_mode(mode))


def _current_mode(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def write_reports(contents: dict[str, tuple[str, str]], check_mode: bool, mode: int = REPORT_MODE) -> bool:
    """The one report-writing step: each (path, text) of contents whose file differs in content
    or mode is written atomically with mode, in directories made by make_report_dir; nothing in
    check mode. Returns whether any differed. Raises OSError."""
    changed = any(read_text(path) != text or _current_mode(path) != mode for path, text in contents.values())
    if changed and not check_mode:
        for path, text in contents.values():
            make_report_dir(os.path.dirname(path) or ".", mode)
            write_atomic(path, text, mode)
    return changed


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
            mode = report_mode(params["mode"])
        except ValueError as exc:
            self.module.fail_json(msg=f"Cannot write report: {exc}")
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
        try:
            text = json.dumps(doc, indent=2, sort_keys=False, default=str, allow_nan=False)
        except ValueError:
            self.module.fail_json(msg="Cannot write report: findings and data must not hold NaN or Infinity (not JSON)")
        contents = {"json": text + "\n", "md": markdown(doc, params["tables"])}
        base = os.path.join(params["dir"], params["name"])
        paths = {ext: f"{base}.{ext}" for ext in contents}
        try:
            changed = write_reports(
                {ext: (paths[ext], text) for ext, text in contents.items()}, self.module.check_mode, mode
            )
        except OSError as exc:
            self.module.fail_json(msg=f"Cannot write report to {params['dir']}: {exc}")
        return {
            "changed": changed,
            "json_path": paths["json"],
            "markdown_path": paths["md"],
            "severity": doc["severity"],
            "summary": doc["summary"],
        }
