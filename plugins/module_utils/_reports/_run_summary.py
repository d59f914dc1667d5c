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
import os
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _exposition, _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import SEVERITIES, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._report import (
    SCHEMA,
    Outputs,
    ReportBackend,
    check_name,
    document,
    json_text,
    markdown,
    read_json,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._run_metrics import earlier_runs, run_samples

PREFIX = "run-summary"
# A report's own warning and critical findings carried into the summary, at most this many each.
PROBLEMS_PER_REPORT = 20


# The module's options; documented in plugins/modules/run_summary.py.
ARGUMENT_SPEC: dict[str, Any] = {
    "reports_dir": {"type": "path", "required": True},
    "host": {"type": "str", "required": True},
    "since": {"type": "str", "required": True},
    "run_id": {"type": "str", "required": True},
    "playbook": {"type": "str", "default": ""},
    "outcome": {"type": "str", "choices": ["ok", "failed"], "default": "ok"},
    "error": {"type": "str", "default": ""},
    "finished": {"type": "str"},
    "mode": {"type": "str", "default": "0640"},
    "textfile_dir": {"type": "path"},
}


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
        generated = _time.try_parse_iso(doc.get("generated_at"))
        if generated is None:
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
        report["generated_at"] = _time.iso(report["generated_at"])
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


class RunSummary(ReportBackend):
    """Backend of the run_summary module: <reports_dir>/run-summary-<host>-<stamp>.json and .md."""

    what = "summarise the run"
    dir_option = "reports_dir"

    def time(self, option: str) -> datetime.datetime:
        try:
            return _time.parse_iso(self.params[option])
        except ValueError:
            raise self.fail(
                f"{option} must be an ISO 8601 time like 2026-11-29T02:00:00Z, got {self.params[option]!r}"
            ) from None

    def check(self) -> None:
        self.since = self.time("since")
        self.finished = self.time("finished") if self.params.get("finished") else self.now
        problem = check_name(f"{PREFIX}-{self.params['host']}-{_time.stamp(self.finished)}")
        if problem:
            raise self.fail(f"host {problem}")
        if self.params.get("textfile_dir"):
            problem = _exposition.directory_problem(self.params["textfile_dir"])
            if problem:
                raise self.fail(f"textfile_dir {problem}")

    def write_error(self, exc: OSError) -> ModuleError:
        return self.fail(f"cannot write the summary to {self.params['reports_dir']}: {exc}")

    def read_reports(self) -> list[tuple[str, dict[str, Any]]]:
        directory = self.params["reports_dir"]
        try:
            names = sorted(name for name in os.listdir(directory) if name.endswith(".json"))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self.fail(f"cannot list {directory}: {exc.strerror}") from exc
        documents = []
        for name in names:
            try:
                documents.append((name, read_json(os.path.join(directory, name))))
            except (OSError, ValueError):
                continue  # not a report (or one being written by another run): not this run's
        return documents

    def build(self) -> dict[str, Any]:
        params, since, finished = self.params, self.since, self.finished
        error = redact(params["error"])
        self.documents = self.read_reports()
        reports = select(self.documents, params["host"], since)
        found = findings(reports, params["outcome"], error, params["playbook"])
        problems = [problem for report in reports for problem in report["problems"]]
        self.listed = message_findings(reports, found)
        totals = {severity: sum(report[severity] for report in reports) for severity in SEVERITIES}
        data = {
            "run_id": params["run_id"],
            "playbook": params["playbook"],
            "outcome": params["outcome"],
            "error": error,
            "started": _time.iso(since),
            "finished": _time.iso(finished),
            "duration_seconds": round((finished - since).total_seconds(), 1),
            "totals": totals,
            "reports": [{key: value for key, value in report.items() if key != "problems"} for report in reports],
            "problems": problems,
        }
        title = f"Maintenance run {params['playbook'] or params['run_id']}"
        self.doc = document(title, data["finished"], params["host"], found, data)
        return self.doc

    def outputs(self, doc: dict[str, Any]) -> Outputs:
        steps = {
            "title": "Steps",
            "columns": ["kind", "severity", "critical", "warning", "ok", "seconds", "file"],
            "rows": doc["data"]["reports"],
            "empty": "No report was written by this run.",
        }
        problems = {
            "title": "Problems the steps found",
            "columns": ["step", "severity", "check", "subject", "message"],
            "rows": doc["data"]["problems"],
            "empty": "None: no step found a warning or a critical problem.",
        }
        base = self.base_path(f"{PREFIX}-{self.params['host']}-{_time.stamp(self.finished)}")
        return {
            "json_path": (f"{base}.json", json_text),
            "markdown_path": (f"{base}.md", lambda doc: markdown(doc, [steps, problems])),
        }

    def result(self, doc: dict[str, Any]) -> dict[str, Any]:
        data = doc["data"]
        return {
            "severity": worst(doc["findings"]),
            "summary": doc["summary"],
            "outcome": data["outcome"],
            "reports": data["reports"],
            "totals": data["totals"],
            "findings": doc["findings"],
            "problems": data["problems"],
            "message_findings": self.listed,
            "text": text(doc),
        }

    def textfile(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The run's metrics for node_exporter (textfile_dir): written unless in check mode. A
        directory that cannot be written costs a warning, not the run (the alert on the last
        success notices a run whose metrics stop coming)."""
        data = doc["data"]
        by_file = dict(self.documents)
        earlier = earlier_runs(self.documents, self.params["host"], self.params["playbook"], PREFIX)
        samples = run_samples(data, by_file, earlier)
        stem = "run_" + _exposition.playbook_label(self.params["playbook"])
        return _exposition.export(
            self.params["textfile_dir"], stem, samples, self.check_mode, self.host.warn, "the run's metrics"
        )

    def run(self) -> dict[str, Any]:
        # a new file every run (in check mode: would be)
        result = {**super().run(), "changed": True}
        if self.params.get("textfile_dir"):
            result["textfile"] = self.textfile(self.doc)
        return result
