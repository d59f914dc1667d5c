"""Verify the real state the daily playbook leaves: a fresh, parseable report of a healthy stack."""

from __future__ import annotations

import datetime
import json
import time
import urllib.request

import jsonschema

testinfra_hosts = ["localhost"]


def newest_report(host, reports_dir: str) -> str:
    listing = host.check_output(f"ls -1t {reports_dir}/health-localhost-*.json")
    return listing.splitlines()[0]


def test_daily_report_is_recent_and_says_all_is_up(host, stack):
    path = newest_report(host, stack["reports_dir"])
    report_file = host.file(path)
    assert report_file.is_file
    assert report_file.mode == 0o640
    assert time.time() - report_file.mtime.timestamp() < 3600
    report = json.loads(report_file.content_string)
    assert report["host"] == "localhost"
    assert report["data"]["components"]["backend"]["status"] == 200
    assert report["data"]["components"]["postgresql"]["available"] is True
    assert report["data"]["components"]["redis"]["available"] is True
    # the supervised programs, read through the service manager, and their live pids
    services = report["data"]["components"]["services"]
    assert {name: info["state"] for name, info in services.items()} == {"backend": "RUNNING", "frontend": "RUNNING"}
    for info in services.values():
        assert host.process.get(pid=int(info["detail"].split()[1].rstrip(",")))
    assert report["summary"]["critical"] == 0


def test_daily_security_check_report_is_there_and_ok(host, stack):
    listing = host.check_output(f"ls -1t {stack['reports_dir']}/security-daily-localhost-*.json")
    report = json.loads(host.file(listing.splitlines()[0]).content_string)
    assert report["title"] == "Daily security check"
    assert report["data"]["window_days"] == 1.0
    assert {f["subject"] for f in report["findings"]} == {"failed_logins/failed_login", "suspicious/suspicious"}


def test_markdown_report_sits_beside_the_json(host, stack):
    path = newest_report(host, stack["reports_dir"])
    markdown = host.file(path[: -len(".json")] + ".md")
    assert markdown.is_file
    assert markdown.content_string.startswith("# Health report — localhost")


def test_reports_hold_no_secrets(host, stack):
    path = newest_report(host, stack["reports_dir"])
    content = host.file(path).content_string
    assert stack["pg_password"] not in content
    assert stack["redis_password"] not in content


def test_health_endpoint_answers_200_through_nginx(stack):
    with urllib.request.urlopen(f"{stack['http_url']}/health", timeout=5) as response:
        assert response.status == 200
        assert json.load(response)["status"] == "healthy"


def test_daily_backup_set_is_complete_and_matches_its_manifest(host, stack):
    names = host.file(stack["backups_dir"]).listdir()
    sets = sorted(name for name in names if name.startswith("jarvis-"))
    assert sets, "the daily playbook left no backup set"
    assert not [name for name in names if name.startswith(".incomplete-")]
    newest = f"{stack['backups_dir']}/{sets[-1]}"
    assert host.file(newest).mode == 0o700
    manifest = json.loads(host.file(f"{newest}/MANIFEST.json").content_string)
    # daily.yml takes no new set when one is younger than 20 h: the newest may be a monthly full set
    assert manifest["scope"] in ("daily", "full")
    paths = {entry["path"] for entry in manifest["files"]}
    assert {"postgres-jarvis.dump.zst", "postgres-globals.sql.zst", "redis-dump.rdb"} <= paths
    for entry in manifest["files"]:
        data = host.file(f"{newest}/{entry['path']}")
        assert data.mode == 0o600
        assert data.size == entry["size"]
        assert data.sha256sum == entry["sha256"]
    assert host.run(f"zstd -t {newest}/postgres-jarvis.dump.zst").rc == 0


def test_todays_metrics_document_validates_against_its_schema(host, stack):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    document_file = host.file(f"{stack['stack_dir']}/metrics/localhost/metrics-{today}.json")
    assert document_file.is_file
    document = json.loads(document_file.content_string)
    schema_path = f"{stack['stack_dir']}/../roles/capacity_planning/files/metrics.schema.json"
    schema = json.loads(host.file(schema_path).content_string)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["unavailable"] == {}
    assert document["backend"]["healthy"] is True
