# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import json
import os

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._run_summary import (
    RunSummary,
    findings,
    kind_of,
    message_findings,
    problems_of,
    select,
)

UTC = datetime.timezone.utc
SINCE = datetime.datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def report(title, generated_at, host="ops01", severity="ok", critical=0, warning=0, ok=3, found=()):
    return {
        "schema": "jarvis.maintenance/report/1",
        "title": title,
        "host": host,
        "generated_at": generated_at,
        "severity": severity,
        "summary": {"ok": ok, "warning": warning, "critical": critical},
        "findings": list(found),
        "data": {},
    }


DISK = {
    "check": "disk",
    "severity": "warning",
    "subject": "/",
    "message": "disk / is 83 % full",
    "recommendation": "Clean up.",
    "value": 83,
}
MEMORY = {"check": "memory", "severity": "ok", "subject": "memory", "message": "memory 40 %", "recommendation": ""}

DOCS = [
    (
        "health-ops01-20261129T020012Z.json",
        report("Health check", "2026-11-29T02:00:12Z", severity="warning", warning=1, found=[DISK, MEMORY]),
    ),
    ("backup-verification-ops01-20261129T020040Z.json", report("Backup verification", "2026-11-29T02:00:40Z")),
    ("health-ops01-20261128T020012Z.json", report("Health check", "2026-11-28T02:00:12Z")),  # an earlier run
    ("health-ops02-20261129T020013Z.json", report("Health check", "2026-11-29T02:00:13Z", host="ops02")),
    ("run-summary-ops01-20261129T015959Z.json", report("Maintenance run", "2026-11-29T02:00:50Z")),
    ("notes.json", {"not": "a report"}),
    ("odd-ops01-x.json", report("Odd", "not a time")),
]


def test_select_keeps_this_runs_reports_of_this_host_in_order_with_durations():
    picked = select(DOCS, "ops01", SINCE)
    assert [(r["kind"], r["seconds"], r["severity"], r["warning"]) for r in picked] == [
        ("health", 12.0, "warning", 1),
        ("backup-verification", 28.0, "ok", 0),
    ]
    assert picked[0]["generated_at"] == "2026-11-29T02:00:12Z"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("health-ops01-20261129T020012Z.json", "health"),
        ("postgres-daily-ops01-20261129T020012Z.json", "postgres-daily"),
        ("something.json", "something"),
    ],
)
def test_kind_of(name, kind):
    assert kind_of(name, "ops01") == kind


def test_findings_of_a_failed_run():
    picked = select(DOCS, "ops01", SINCE)
    found = findings(picked, "failed", "Back up PostgreSQL: disk full", "daily.yml")
    assert found[0]["severity"] == "critical" and "disk full" in found[0]["message"]
    assert [f["severity"] for f in found[1:]] == ["warning", "ok"]
    assert found[1]["message"] == "Health check: 0 critical, 1 warning, 3 ok (health-ops01-20261129T020012Z.json)"
    assert found[1]["recommendation"] == "Read health-ops01-20261129T020012Z.md."


def params(tmp_path, **overrides):
    values = {
        "reports_dir": str(tmp_path),
        "host": "ops01",
        "since": "2026-11-29T02:00:00Z",
        "run_id": "daily-1",
        "playbook": "daily.yml",
        "outcome": "ok",
        "error": "",
        "finished": "2026-11-29T02:01:00Z",
        "mode": "0640",
    }
    values.update(overrides)
    return values


def summarise(values, check_mode):
    return RunSummary(values, check_mode, host=None).run()


def test_writes_the_summary_and_a_text(tmp_path):
    for name, doc in DOCS:
        (tmp_path / name).write_text(json.dumps(doc))
    result = summarise(params(tmp_path), False)
    written = json.loads((tmp_path / "run-summary-ops01-20261129T020100Z.json").read_text())
    assert written["data"]["duration_seconds"] == 60.0
    assert written["data"]["totals"] == {"ok": 6, "warning": 1, "critical": 0}
    assert result["severity"] == "warning"
    assert result["text"].splitlines()[0] == "daily.yml on ops01: OK (warning), 60 s, run daily-1"
    assert "- Health check: warning" in result["text"]
    assert "| health | warning | 0 | 1 | 3 | 12.0 |" in (tmp_path / "run-summary-ops01-20261129T020100Z.md").read_text()


def test_check_mode_writes_nothing(tmp_path):
    result = summarise(params(tmp_path, outcome="failed", error="x: y"), True)
    assert result["severity"] == "critical"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"since": "yesterday"}, "since must be an ISO 8601 time"),
        ({"finished": "soon"}, "finished must be an ISO 8601 time"),
        ({"mode": "rw"}, "mode must be an octal string"),
        ({"mode": "0666"}, "world-writable"),
        ({"mode": "4750"}, "no setuid"),
        ({"host": "../etc"}, "host name must be a file name"),
    ],
)
def test_bad_input(tmp_path, overrides, message):
    with pytest.raises(ModuleError, match=message):
        summarise(params(tmp_path, **overrides), False)


def test_problems_are_the_reports_own_warning_and_critical_findings():
    picked = select(DOCS, "ops01", SINCE)
    assert picked[0]["problems"] == [
        {
            "check": "disk",
            "severity": "warning",
            "subject": "/",
            "message": "disk / is 83 % full",
            "recommendation": "Clean up.",
            "step": "health",
            "report": "health-ops01-20261129T020012Z.json",
        }
    ]
    assert picked[1]["problems"] == []


def test_problems_of_a_long_report_are_capped_worst_first():
    many = [dict(DISK, subject=f"/d{n}") for n in range(30)] + [dict(DISK, severity="critical", subject="/c")]
    problems = problems_of({"findings": many}, "health", "health-x.json")
    assert len(problems) == 20
    assert problems[0]["subject"] == "/c"
    assert problems[-1]["message"] == "and 12 more in health-x.json"


def test_the_message_lists_the_failure_then_each_step_ok_or_its_problems():
    picked = select(DOCS, "ops01", SINCE)
    found = findings(picked, "failed", "Back up PostgreSQL: disk full", "daily.yml")
    listed = message_findings(picked, found)
    assert [(f["check"], f["severity"], f["subject"]) for f in listed] == [
        ("run", "critical", "daily.yml"),
        ("disk", "warning", "/"),
        ("report", "ok", "Backup verification"),
    ]


def test_the_summary_shows_the_problems(tmp_path):
    for name, doc in DOCS:
        (tmp_path / name).write_text(json.dumps(doc))
    result = summarise(params(tmp_path), False)
    assert [p["subject"] for p in result["problems"]] == ["/"]
    assert "  - warning: /: disk / is 83 % full" in result["text"]
    page = (tmp_path / "run-summary-ops01-20261129T020100Z.md").read_text()
    assert "| health | warning | disk | / | disk / is 83 % full |" in page
    written = json.loads((tmp_path / "run-summary-ops01-20261129T020100Z.json").read_text())
    assert "problems" not in written["data"]["reports"][0]


LEAKY = {
    "check": "log_matches",
    "severity": "critical",
    "subject": "backend/error",
    # a report written before redaction reached every module, or by someone else's role
    "message": "most frequent: cannot connect to redis://:R3disPassw0rd@cache pass=hunter2x",
    "recommendation": "Rotate AKIAIOSFODNN7EXAMPLE",
}


def test_no_secret_reaches_the_summary_or_its_text(tmp_path):
    doc = report("Log analysis", "2026-11-29T02:00:30Z", severity="critical", critical=1, found=[LEAKY])
    (tmp_path / "log-analysis-ops01-20261129T020030Z.json").write_text(json.dumps(doc))
    failed = "Back up PostgreSQL: pg_dump postgresql://jarvis:pgSecret42@db/jarvis failed"
    result = summarise(params(tmp_path, outcome="failed", error=failed), False)
    written = "".join(path.read_text() for path in tmp_path.glob("run-summary-*"))
    for secret in ("R3disPassw0rd", "hunter2x", "AKIAIOSFODNN7EXAMPLE", "pgSecret42"):
        assert secret not in repr(result)
        assert secret not in written
    assert "redis://:<redacted>@cache" in result["text"]
    assert "pgSecret42" not in result["text"] and "postgresql://jarvis:<redacted>@db" in result["text"]


def test_the_summary_is_0640_in_a_0750_directory(tmp_path):
    reports = tmp_path / "new" / "reports"
    result = summarise({**params(tmp_path), "reports_dir": str(reports)}, False)
    assert oct(os.stat(result["json_path"]).st_mode & 0o777) == oct(0o640)
    assert oct(os.stat(reports).st_mode & 0o777) == oct(0o750)
