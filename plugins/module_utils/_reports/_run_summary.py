# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The summary of one maintenance run: the backend of run_summary.

Every role writes its own report (schema jarvis.maintenance/report/1) into the reports
directory; the summary reads those this run wrote for this host and puts them on one page:
each report's outcome and findings by severity, how long each step took (the time between
one report and the one before it), and how the run ended.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import SEVERITIES, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._report import (
    SCHEMA,
    check_name,
    document,
    markdown,
    report_mode,
    write_reports,
)

UTC = datetime.timezone.utc
PREFIX = "run-summary"
# A report's own warning and critical findings carried into the summary, at most this many each.
PROBLEMS_PER_REPORT = 20


class SummaryError(Exception):
    """Bad input; the message is the module's failure message."""


def argument_spec() -> dict[str, dict[str, Any]]:
    """The module's options; documented in plugins/modules/run_summary.py."""
    return {
        "reports_dir": {"type": "path", "required": True},
        "host": {"type": "str", "required": True},
        "since": {"type": "str", "required": True},
        "run_id": {"type": "str", "required": True},
        "playbook": {"type": "str", "default": ""},
        "outcome": {"type": "str", "choices": ["ok", "failed"], "default": "ok"},
        "error": {"type": "str", "default": ""},
        "finished": {"type": "str"},
        "mode": {"type": "str", "default": "0640"},
    }


def parse_time(value: Any, name: str = "time") -> datetime.datetime:
    if not isinstance(value, str):
        raise SummaryError(f"{name} must be an ISO 8601 time like 2026-11-29T02:00:00Z, got {value!r}")
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SummaryError(f"{name} must be an ISO 8601 time like 2026-11-29T02:00:00Z, got {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def kind_of(file_name: str, host: str) -> str:
    """health for health-localhost-20261129T020000Z.json (pure)."""
    stem = file_name[:-5] if file_name.endswith(".json") else file_name
    marker = f"-{host}-"
    return stem.split(marker)[0] if marker in stem else stem


def problems_of(doc: dict[str, Any], kind: str, name: str) -> list[dict[str, Any]]:
    """A report's warning and critical findings, worst first, at most PROBLEMS_PER_REPORT (the
    last of them then says how many more the report has), each naming its step and report (pure)."""
    found = doc.get("findings") if isinstance(doc.get("findings"), list) else []
    order = {"critical": 0, "warning": 1}
    bad = [f for f in found if isinstance(f, dict) and f.get("severity") in order]
    bad.sort(key=lambda finding: order[finding["severity"]])
    keys = ("check", "severity", "subject", "message", "recommendation")
    # Reports are read back from disk (any role's, any version's): their texts are redacted again here.
    picked = [
        {**{key: redact(str(finding.get(key, ""))) for key in keys}, "step": kind, "report": name} for finding in bad
    ]
    if len(picked) > PROBLEMS_PER_REPORT:
        rest = len(picked) - PROBLEMS_PER_REPORT + 1
        picked = picked[: PROBLEMS_PER_REPORT - 1]
        picked.append(
            {
                "check": "report",
                "severity": picked[-1]["severity"],
                "subject": kind,
                "message": f"and {rest} more in {name}",
                "recommendation": f"Read {name[:-5]}.md.",
                "step": kind,
                "report": name,
            }
        )
    return picked


def message_findings(reports: list[dict[str, Any]], found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the run's one notification lists (pure): the failed run's finding, then each step -
    one ok finding for a step that found nothing wrong, else its own warning and critical
    findings (the report's summary finding when it has none to show)."""
    listed = [finding for finding in found if finding["check"] == "run"]
    by_file = {finding.get("report_file"): finding for finding in found if finding["check"] == "report"}
    for report in reports:
        if report["severity"] != "ok" and report["problems"]:
            listed += report["problems"]
        else:
            listed.append(by_file[report["file"]])
    return listed


def select(documents: list[tuple[str, dict[str, Any]]], host: str, since: datetime.datetime) -> list[dict[str, Any]]:
    """This run's reports of host, oldest first, with the seconds each step took (pure).

    documents are (file name, parsed JSON) pairs; anything that is not a report of this host
    written at or after since (a summary included) is left out.
    """
    picked = []
    for name, doc in documents:
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or doc.get("host") != host:
            continue
        if name.startswith(PREFIX + "-"):
            continue
        try:
            generated = parse_time(doc.get("generated_at"))
        except SummaryError:
            continue
        if generated < since:
            continue
        summary = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
        picked.append(
            {
                "kind": kind_of(name, host),
                "title": str(doc.get("title", "")),
                "file": name,
                "severity": doc.get("severity") if doc.get("severity") in SEVERITIES else "warning",
                "ok": int(summary.get("ok", 0)),
                "warning": int(summary.get("warning", 0)),
                "critical": int(summary.get("critical", 0)),
                "generated_at": generated,
                "problems": problems_of(doc, kind_of(name, host), name),
            }
        )
    picked.sort(key=lambda report: (report["generated_at"], report["file"]))
    previous = since
    for report in picked:
        report["seconds"] = round((report["generated_at"] - previous).total_seconds(), 1)
        previous = report["generated_at"]
        report["generated_at"] = report["generated_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    return picked


def findings(reports: list[dict[str, Any]], outcome: str, error: str, playbook: str) -> list[dict[str, Any]]:
    """One finding per report (its worst severity and counts), and one for a failed run (pure)."""
    result = []
    if outcome == "failed":
        result.append(
            {
                "check": "run",
                "severity": "critical",
                "subject": playbook or "run",
                "value": "failed",
                "threshold": "ok",
                "message": redact(f"the run failed: {error or 'see the log of the run'}"),
                "recommendation": "Read the failed step's report and the run's log, fix the cause, then run it again.",
            }
        )
    for report in reports:
        counts = f"{report['critical']} critical, {report['warning']} warning, {report['ok']} ok"
        result.append(
            {
                "check": "report",
                "severity": report["severity"],
                "subject": report["title"] or report["kind"],
                # its problems: the critical and warning findings of the report
                "value": report["critical"] + report["warning"],
                "threshold": 0,
                "message": redact(f"{report['title'] or report['kind']}: {counts} ({report['file']})"),
                "recommendation": "" if report["severity"] == "ok" else f"Read {report['file'][:-5]}.md.",
                "report_file": report["file"],
            }
        )
    return result


def text(doc: dict[str, Any]) -> str:
    """A few lines for a notification, redacted (pure)."""
    data = doc["data"]
    lines = [
        f"{data['playbook'] or 'Maintenance run'} on {doc['host']}: {data['outcome'].upper()}"
        f" ({doc['severity']}), {data['duration_seconds']:.0f} s, run {data['run_id']}",
    ]
    if data["error"]:
        lines.append(f"Failed: {data['error']}")
    totals = data["totals"]
    lines.append(f"Findings: {totals['critical']} critical, {totals['warning']} warning, {totals['ok']} ok")
    for report in data["reports"]:
        if report["severity"] == "ok":
            continue
        lines.append(f"- {report['title'] or report['kind']}: {report['severity']}")
        lines += [
            f"  - {problem['severity']}: {problem['subject']}: {problem['message']}"
            for problem in data["problems"]
            if problem["report"] == report["file"]
        ][:5]
    return redact("\n".join(lines))


class RunSummary:
    def __init__(self, params: dict[str, Any], check_mode: bool):
        self.params = params
        self.check_mode = check_mode

    def read_reports(self) -> list[tuple[str, dict[str, Any]]]:
        directory = self.params["reports_dir"]
        try:
            names = sorted(name for name in os.listdir(directory) if name.endswith(".json"))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SummaryError(f"cannot list {directory}: {exc.strerror}") from exc
        documents = []
        for name in names:
            try:
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    documents.append((name, json.load(handle)))
            except (OSError, ValueError):
                continue  # not a report (or one being written by another run): not this run's
        return documents

    def run(self) -> dict[str, Any]:
        params = self.params
        since = parse_time(params["since"], "since")
        finished = parse_time(params["finished"], "finished") if params.get("finished") else datetime.datetime.now(UTC)
        try:
            mode = report_mode(params["mode"])
        except ValueError as exc:
            raise SummaryError(str(exc)) from None
        error = redact(params["error"])
        reports = select(self.read_reports(), params["host"], since)
        found = findings(reports, params["outcome"], error, params["playbook"])
        problems = [problem for report in reports for problem in report["problems"]]
        listed = message_findings(reports, found)
        totals = {severity: sum(report[severity] for report in reports) for severity in SEVERITIES}
        stamp = finished.strftime("%Y%m%dT%H%M%SZ")
        name = f"{PREFIX}-{params['host']}-{stamp}"
        problem = check_name(name)
        if problem:
            raise SummaryError(f"host {problem}")
        data = {
            "run_id": params["run_id"],
            "playbook": params["playbook"],
            "outcome": params["outcome"],
            "error": error,
            "started": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "finished": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration_seconds": round((finished - since).total_seconds(), 1),
            "totals": totals,
            "reports": [{key: value for key, value in report.items() if key != "problems"} for report in reports],
            "problems": problems,
        }
        title = f"Maintenance run {params['playbook'] or params['run_id']}"
        doc = document(title, data["finished"], params["host"], found, data)
        table = {
            "title": "Steps",
            "columns": ["kind", "severity", "critical", "warning", "ok", "seconds", "file"],
            "rows": data["reports"],
            "empty": "No report was written by this run.",
        }
        problem_table = {
            "title": "Problems the steps found",
            "columns": ["step", "severity", "check", "subject", "message"],
            "rows": problems,
            "empty": "None: no step found a warning or a critical problem.",
        }
        paths = {ext: os.path.join(params["reports_dir"], f"{name}.{ext}") for ext in ("json", "md")}
        if not self.check_mode:
            contents = {
                "json": (paths["json"], json.dumps(doc, indent=2, default=str, allow_nan=False) + "\n"),
                "md": (paths["md"], markdown(doc, [table, problem_table])),
            }
            try:
                write_reports(contents, self.check_mode, mode)
            except (OSError, ValueError) as exc:
                raise SummaryError(f"cannot write the summary to {params['reports_dir']}: {exc}") from exc
        return {
            # a new file every run (in check mode: would be)
            "changed": True,
            "json_path": paths["json"],
            "markdown_path": paths["md"],
            "severity": worst(found),
            "summary": doc["summary"],
            "outcome": params["outcome"],
            "reports": data["reports"],
            "totals": totals,
            "findings": found,
            "problems": problems,
            "message_findings": listed,
            "text": text(doc),
        }
