# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reports: a JSON document for machines and a Markdown page for people, written atomically."""

from __future__ import annotations

import datetime
import html
import json
import math
import os
import re
import stat
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._files import read_text, write_atomic
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    SEVERITIES,
    count_by_severity,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend, ModuleError

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


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def read_json(path: str, finite_floats: bool = False) -> Any:
    """The one reader of the JSON files the reports read back (reports, metrics documents): NaN
    and Infinity, which are not JSON, are refused, and with finite_floats so are numbers that
    overflow to them (1e400). Raises OSError or ValueError."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle, parse_constant=_not_json, parse_float=_finite if finite_floats else float)


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


def json_text(doc: Any) -> str:
    """A report's JSON file (pure). Raises ValueError for NaN or Infinity, which are not JSON."""
    return json.dumps(doc, indent=2, default=str, allow_nan=False) + "\n"


# result key -> (path of the file, or None for an output not asked for; its renderer)
Outputs = Dict[str, Tuple[Optional[str], Callable[[Any], str]]]


class ReportBackend(Backend):
    """The one report-writing step of every module that writes report files.

    A subclass says what it does (``what``: "Cannot <what>: ..."), checks its own parameters
    (``check``), builds its document (``build``), names its files and their renderers
    (``outputs``) and its own result keys (``result``). This base validates the report ``mode``
    and a ``dir``/``name`` pair once, renders each file asked for, writes them with write_reports
    (nothing in check mode, only what differs in content or mode, atomically) and returns
    ``changed`` and each written file's path under its result key.
    """

    what = "write report"
    # Options naming the directory and the base name of the files, for modules that take them.
    dir_option: str | None = None
    name_option: str | None = None
    # For modules whose options name each file (json, markdown, html): option -> renderer.
    renderers: tuple[tuple[str, Callable[[Any], str]], ...] = ()

    def __init__(
        self, params: Mapping[str, Any], check_mode: bool, host: Any, now: datetime.datetime | None = None
    ) -> None:
        super().__init__(params, check_mode, host)
        self.now = now or _time.now()

    def fail(self, why: str) -> ModuleError:
        return ModuleError(f"Cannot {self.what}: {why}")

    def mode(self) -> int:
        """The files' mode: the module's ``mode`` option when it has one, REPORT_MODE otherwise."""
        if "mode" not in self.params:
            return REPORT_MODE
        try:
            return report_mode(self.params["mode"])
        except ValueError as exc:
            raise self.fail(str(exc)) from None

    def base_path(self, name: str | None = None) -> str:
        """<dir>/<name> for modules that take a directory and a file name (the name checked)."""
        name = self.params[self.name_option] if name is None else name
        problem = check_name(name)
        if problem:
            raise self.fail(problem)
        return os.path.join(self.params[self.dir_option], name)

    def check(self) -> None:
        """Raise ModuleError for unusable parameters (before anything is read or written)."""

    def build(self) -> Any:  # pragma: no cover - every report defines it
        raise NotImplementedError

    def outputs(self, doc: Any) -> Outputs:
        """By default each of ``renderers`` whose option names a file, under <option>_path
        (markdown_path for the option markdown)."""
        return {f"{option}_path": (self.params.get(option), render) for option, render in self.renderers}

    def result(self, doc: Any) -> dict[str, Any]:
        return {}

    def write_error(self, exc: OSError) -> ModuleError:
        where = f" to {self.params[self.dir_option]}" if self.dir_option else ""
        return ModuleError(f"Cannot {self.what}{where}: {exc}")

    def not_json(self, exc: ValueError) -> ModuleError:
        return self.fail(f"a value of the report is not valid JSON ({exc})")

    def run(self) -> dict[str, Any]:
        mode = self.mode()
        self.check()
        doc = self.build()
        wanted = {key: (path, render) for key, (path, render) in self.outputs(doc).items() if path}
        try:
            contents = {key: (path, render(doc)) for key, (path, render) in wanted.items()}
        except ValueError as exc:  # json.dumps(allow_nan=False): a value that is not JSON
            raise self.not_json(exc) from None
        try:
            changed = write_reports(contents, self.check_mode, mode)
        except OSError as exc:
            raise self.write_error(exc) from None
        return {"changed": changed, **self.result(doc), **{key: path for key, (path, _text) in contents.items()}}


# The module's options; documented in plugins/modules/report.py.
ARGUMENT_SPEC: dict[str, Any] = {
    "dir": {"type": "path", "required": True},
    "name": {"type": "str", "required": True},
    "title": {"type": "str", "required": True},
    "host": {"type": "str", "required": True},
    "generated_at": {"type": "str", "required": True},
    "findings": {"type": "list", "elements": "dict", "default": []},
    "data": {"type": "dict", "default": {}},
    "mode": {"type": "str", "default": "0640"},
    "tables": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "title": {"type": "str", "required": True},
            "columns": {"type": "list", "elements": "str", "required": True},
            "rows": {"type": "list", "elements": "dict", "default": []},
            "empty": {"type": "str", "default": ""},
        },
    },
}


class Report(ReportBackend):
    """Backend of the report module: a role's findings and data as <dir>/<name>.json and .md."""

    what = "write report"
    dir_option = "dir"
    name_option = "name"

    def check(self) -> None:
        self.base = self.base_path()
        for index, table in enumerate(self.params["tables"]):
            if not table["columns"]:
                raise self.fail(f"tables[{index}].columns must name at least one key")
        for index, finding in enumerate(self.params["findings"]):
            if finding.get("severity") not in SEVERITIES:
                raise self.fail(
                    f"findings[{index}].severity must be one of "
                    f"{', '.join(SEVERITIES)}, got {finding.get('severity')!r}"
                )

    def build(self) -> dict[str, Any]:
        params = self.params
        return document(params["title"], params["generated_at"], params["host"], params["findings"], params["data"])

    def not_json(self, exc: ValueError) -> ModuleError:
        return self.fail("findings and data must not hold NaN or Infinity (not JSON)")

    def outputs(self, doc: dict[str, Any]) -> Outputs:
        return {
            "json_path": (f"{self.base}.json", json_text),
            "markdown_path": (f"{self.base}.md", lambda doc: markdown(doc, self.params["tables"])),
        }

    def result(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {"severity": doc["severity"], "summary": doc["summary"]}
