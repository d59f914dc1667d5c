# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import html.parser
import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Host
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._monthly import (
    ARGUMENT_SPEC,
    MonthlyReport,
    build,
    check_params,
    first_sunday,
    html_page,
    markdown,
    newest_report,
    next_month,
)

NOW = datetime.datetime(2026, 11, 28, 22, 0, tzinfo=datetime.timezone.utc)
SPEC = ARGUMENT_SPEC


def finding(severity, subject="x", message="m", recommendation=""):
    return {
        "check": "c",
        "severity": severity,
        "subject": subject,
        "value": None,
        "threshold": None,
        "message": message,
        "recommendation": recommendation,
    }


def write_report(directory, name, findings, data=None):
    directory.mkdir(parents=True, exist_ok=True)
    document = {"schema": "jarvis.maintenance/report/1", "generated_at": "x", "findings": findings, "data": data or {}}
    (directory / name).write_text(json.dumps(document))


@pytest.fixture
def reports(tmp_path):
    root = tmp_path / "reports"
    write_report(root, "backup-verification-web1-20261101T020000Z.json", [finding("ok")])
    write_report(
        root,
        "backup-verification-web1-20261127T020000Z.json",
        [finding("warning", "jarvis-20261127T020000Z", "set shrank", "Check the database")],
        {"sets": [{"size": 5 * 1024**2}]},
    )
    # another month, another host: never chosen
    write_report(root, "backup-verification-web1-20261201T020000Z.json", [finding("critical")])
    write_report(root, "backup-verification-db2-20261128T020000Z.json", [finding("critical")])
    write_report(root, "dr-test-web1-20261101T000000Z.json", [finding("critical", "restore", "3 rows missing")])
    write_report(root, "postgres-monthly-web1-20261101T000000Z.json", [finding("ok"), finding("ok")])
    (root / "redis-monthly-web1-20261101T000000Z.json").write_text("{not json")
    metrics = tmp_path / "metrics" / "web1"
    metrics.mkdir(parents=True)
    (metrics / "metrics-2026-11-27.json").write_text(
        json.dumps(
            {
                # the one schema check of every reader of the metrics documents: a usable one
                "schema": "jarvis.maintenance/metrics/1",
                "date": "2026-11-27",
                "timestamp": "2026-11-27T02:00:00Z",
                "uptime_seconds": 864000,
                "postgres": {"total_bytes": 3 * 1024**3},
                "disk": {"percent": 41.5},
            }
        )
    )
    return tmp_path


def params(tmp_path, **overrides):
    values = {name: spec.get("default") for name, spec in SPEC.items()}
    values.update(reports_dir=str(tmp_path / "reports"), metrics_dir=str(tmp_path / "metrics"), host="web1")
    values.update(overrides)
    return values


def test_newest_report_of_the_month_for_the_host(reports):
    root = str(reports / "reports")
    assert newest_report(root, "backup-verification", "web1", "2026-11").endswith("web1-20261127T020000Z.json")
    assert newest_report(root, "backup-verification", "web1", "2026-12").endswith("web1-20261201T020000Z.json")
    assert newest_report(root, "backup-verification", "web1", "2026-10") is None
    assert newest_report(root, "security-audit", "web1", "2026-11") is None
    assert newest_report(str(reports / "nowhere"), "dr-test", "web1", "2026-11") is None


def test_build_sections_metrics_and_action_items(reports):
    doc = build(params(reports, month="2026-11"), NOW)
    status = {entry["key"]: entry["status"] for entry in doc["sections"]}
    assert status == {
        "backup": "warning",
        "security": "absent",
        "capacity": "absent",
        "postgres": "ok",
        "redis": "unreadable",
        "updates": "absent",
        "dr_test": "critical",
    }
    assert doc["severity"] == "critical"
    assert [(item["severity"], item["section"]) for item in doc["action_items"]] == [
        ("critical", "dr_test"),
        ("warning", "backup"),
    ]
    metrics = dict(doc["key_metrics"])
    assert metrics["System uptime"] == "10.0 days"
    assert metrics["Newest backup set"] == "5.0 MiB"
    assert metrics["Database size (all databases)"] == "3.0 GiB"
    assert metrics["Disk used"] == "41.5%"
    assert metrics["Memory used"] == "unknown"
    assert doc["next_maintenance"] == "2026-12-06"


def test_markdown_and_html(reports):
    doc = build(params(reports, month="2026-11", title="Report <b>"), NOW)
    text = markdown(doc)
    assert text.startswith("# Report <b>\n")
    assert "- **NO REPORT** Security audit: no report this month" in text
    assert "- **CRITICAL** [dr_test] restore: 3 rows missing." in text
    assert "Next monthly maintenance: 2026-12-06" in text
    page = html_page(doc)
    assert "Report &lt;b&gt;" in page and "<b>" not in page
    assert "<script" not in page and "http" not in page
    parser = html.parser.HTMLParser()
    parser.feed(page)
    parser.close()


@pytest.mark.parametrize(
    ("month", "following"), [("2026-11", "2026-12"), ("2026-12", "2027-01"), ("2027-01", "2027-02")]
)
def test_next_month(month, following):
    assert next_month(month) == following


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"month": "2026-13"}, "month must look like 2026-11, got '2026-13'"),
        ({"month": "november"}, "month must look like 2026-11"),
        ({"sections": {"backups": "x"}}, "sections has unknown keys backups"),
        ({"sections": {"security": "audit"}}, None),
        ({"sections": {"security": 5}}, "sections.security must be a report name prefix"),
        ({"sections": {"security": "../x"}}, "sections.security must be a report name prefix"),
        ({"host": "../etc"}, "host must be a host name"),
        ({"host": "a/b"}, "host must be a host name"),
        ({"host": ".."}, "host must be a host name"),
        ({"host": "web01.example.com"}, None),
        ({"json": "/tmp/a\x00b"}, "json must not contain a NUL character"),
        ({"reports_dir": "{tmp}/file"}, "reports_dir {tmp}/file is not a directory"),
        ({"metrics_dir": "{tmp}/file"}, "metrics_dir {tmp}/file is not a directory"),
    ],
)
def test_check_params(tmp_path, overrides, problem):
    (tmp_path / "file").write_text("not a directory")
    overrides = {key: value.format(tmp=tmp_path) if key.endswith("_dir") else value for key, value in overrides.items()}
    found = check_params(params(tmp_path, **overrides))
    problem = problem and problem.format(tmp=tmp_path)
    assert (found is None) if problem is None else found.startswith(problem), found


def test_module_writes_the_files_and_check_mode_does_not(reports):
    out = reports / "out"
    args = params(
        reports, month="2026-11", markdown=str(out / "m.md"), html=str(out / "m.html"), json=str(out / "m.json")
    )
    with patch_module_args({**args, "_ansible_check_mode": True}):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    planned = MonthlyReport(module.params, module.check_mode, Host(module), now=NOW).run()
    assert planned["changed"] and not out.exists()
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    result = MonthlyReport(module.params, module.check_mode, Host(module), now=NOW).run()
    assert result["changed"] and result["markdown_path"] == str(out / "m.md")
    assert json.loads((out / "m.json").read_text())["schema"] == "jarvis.maintenance/monthly_report/1"
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    assert not MonthlyReport(module.params, module.check_mode, Host(module), now=NOW).run()[
        "changed"
    ]  # same content: nothing rewritten


@pytest.mark.parametrize(
    ("month", "day"),
    [("2026-12", "2026-12-06"), ("2027-01", "2027-01-03"), ("2027-02", "2027-02-07"), ("2026-11", "2026-11-01")],
)
def test_first_sunday(month, day):
    assert first_sunday(month) == day
