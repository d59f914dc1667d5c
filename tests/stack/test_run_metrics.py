"""The runs' metrics for Prometheus, end to end on the local stack: `make run` (the README's first
command) writes them into node_exporter's textfile directory, the stack's Prometheus scrapes them
with the expected labels, promtool accepts every file, and a failed run keeps its playbook's last
success while its exit status turns to 1."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from test_playbooks import REPO, playbook
from test_prometheus import api, eventually, query

RUN_LABELS = {"playbook": "daily", "job": "node"}


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }


def newest(stack: dict, promql: str, after: float) -> list[dict]:
    """The series of promql once Prometheus has scraped values written at or after `after`."""
    return eventually(
        f"{promql} scraped after the run",
        lambda: [s for s in query(stack, promql) if float(s["value"][1]) >= after] or None,
        timeout=45,
    )


def test_make_run_exports_the_run_and_prometheus_scrapes_it(stack):
    began = time.time()
    result = subprocess.run(
        ["make", "run"], cwd=REPO, capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"Prometheus:      {stack['prometheus_url']}" in result.stdout
    textfile = Path(stack["textfile_dir"])
    run_file, lock_file = textfile / "jarvis_maintenance_run_daily.prom", textfile / "jarvis_maintenance_lock.prom"
    for path in (run_file, lock_file):
        checked = subprocess.run(
            [stack["promtool"], "check", "metrics"], stdin=path.open(), capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, f"{path}: {checked.stdout}{checked.stderr}"
        assert oct(path.stat().st_mode & 0o777) == "0o644"
    written = samples(run_file)
    assert written[("jarvis_maintenance_run_exit_status", (("playbook", "daily"),))] == 0
    assert samples(lock_file) == {("jarvis_maintenance_lock_held", ()): 0}

    success = newest(stack, 'jarvis_maintenance_run_last_success_timestamp_seconds{playbook="daily"}', began - 1)
    assert len(success) == 1 and RUN_LABELS.items() <= success[0]["metric"].items()
    assert success[0]["metric"]["instance"]
    findings = query(stack, 'jarvis_maintenance_findings{playbook="daily"}')
    steps = {series["metric"]["step"] for series in findings}
    assert {"health", "postgres-daily", "redis-daily", "backup-verification"} <= steps, steps
    assert {series["metric"]["severity"] for series in findings} <= {"ok", "warning", "critical"}
    assert all(series["metric"]["check"] for series in findings)
    backup = query(stack, 'jarvis_maintenance_backup_newest_timestamp_seconds{playbook="daily"}')
    assert backup and float(backup[0]["value"][1]) >= began - 3600, "the newest set is at most the run's own"
    assert query(stack, 'jarvis_maintenance_backup_verification_ok{playbook="daily"} == 1')
    durations = query(stack, 'jarvis_maintenance_step_duration_seconds{playbook="daily",step="backup-verification"}')
    assert durations and float(durations[0]["value"][1]) >= 0
    # the lock is given back after the summary is written: the scrape that brought the run's success
    # may have seen the lock still held
    eventually("the lock given back, scraped", lambda: query(stack, "jarvis_maintenance_lock_held == 0"))
    # make run installed the collection's alerting rules into the stack's Prometheus (prometheus_rules.yml)
    groups = {group["name"]: group for group in api(stack, "rules")["groups"]}
    assert "jarvis-maintenance" in groups, sorted(groups)
    names = {rule["name"] for rule in groups["jarvis-maintenance"]["rules"]}
    assert {
        "JarvisMaintenanceDailyRunStale",
        "JarvisMaintenanceBackupStale",
        "JarvisMaintenanceCriticalFinding",
    } <= names
    # evaluated on what the run just wrote: its backup and its success are fresh
    fresh = {
        "JarvisMaintenanceDailyRunStale",
        "JarvisMaintenanceBackupStale",
        "JarvisMaintenanceBackupVerificationFailed",
    }
    time.sleep(6)  # one evaluation (5 s) after the scrape
    firing = {alert["labels"]["alertname"] for alert in api(stack, "alerts")["alerts"]}
    assert not firing & fresh, firing


def test_a_failed_run_keeps_the_last_success_and_says_it_failed(stack):
    ok = playbook("db_health.yml")
    assert ok.returncode == 0, ok.stdout[-3000:]
    path = Path(stack["textfile_dir"]) / "jarvis_maintenance_run_db_health.prom"
    key = (("playbook", "db_health"),)
    before = samples(path)
    last_success = before[("jarvis_maintenance_run_last_success_timestamp_seconds", key)]
    assert before[("jarvis_maintenance_run_exit_status", key)] == 0
    time.sleep(1.1)  # a later second for the failed run's end
    failed = playbook("db_health.yml", "jarvis_pg_port=1")
    assert failed.returncode != 0
    after = samples(path)
    assert after[("jarvis_maintenance_run_exit_status", key)] == 1
    assert after[("jarvis_maintenance_run_last_success_timestamp_seconds", key)] == last_success
    assert after[("jarvis_maintenance_run_last_end_timestamp_seconds", key)] > last_success
    newest(stack, 'jarvis_maintenance_run_exit_status{playbook="db_health"} + 1', 2)
    assert os.stat(path).st_uid == 0
