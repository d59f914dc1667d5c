# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A run's metrics from its reports and the earlier run summaries (pure)."""

from __future__ import annotations

import datetime

from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._run_metrics import (
    earlier_runs,
    run_samples,
)


def ts(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def value(samples, name, **labels):
    return samples.values[f"jarvis_maintenance_{name}"].get(tuple(str(v) for v in labels.values()))


def run(outcome="ok", finished="2026-12-04T02:10:00Z", steps=(("health", "ok", "2026-12-04T02:01:00Z", 60.0),)):
    return {
        "playbook": "daily.yml",
        "outcome": outcome,
        "started": "2026-12-04T02:00:00Z",
        "finished": finished,
        "duration_seconds": 600.0,
        "reports": [
            {"kind": kind, "severity": severity, "generated_at": at, "seconds": seconds, "file": f"{kind}.json"}
            for kind, severity, at, seconds in steps
        ],
    }


def summary(data, host="db1"):
    return {"schema": "jarvis.maintenance/report/1", "host": host, "data": data}


def test_a_run_gives_its_times_status_steps_and_findings():
    data = run(
        steps=[
            ("health", "ok", "2026-12-04T02:01:00Z", 60.0),
            ("postgres-daily", "warning", "2026-12-04T02:03:00Z", 120.0),
        ]
    )
    reports = {
        "health.json": {"findings": [{"check": "memory", "severity": "ok"}, {"check": "disk", "severity": "ok"}]},
        "postgres-daily.json": {
            "findings": [{"check": "dead_tuples", "severity": "warning"}] * 3 + [{"check": "x", "severity": "bogus"}],
            "data": {
                "seconds": 1.5,
                "actions_taken": [
                    {"database": "jarvis", "action": "vacuum", "status": "done"},
                    {"database": "jarvis", "action": "vacuum", "status": "done"},
                    {"database": "jarvis", "action": "reindex", "status": "failed"},
                ],
                "checks": {
                    "cluster": {
                        "replication": {
                            "role": "primary",
                            "standbys": [{"application_name": "s1", "replay_lag_seconds": 2.5}],
                        },
                        "replication_slots": {"slots": [{"slot_name": "barman", "retained_bytes": 4096}]},
                    }
                },
            },
        },
    }
    samples = run_samples(data, reports, [])
    assert value(samples, "run_last_start_timestamp_seconds", playbook="daily") == ts("2026-12-04T02:00:00Z")
    assert value(samples, "run_last_end_timestamp_seconds", playbook="daily") == ts("2026-12-04T02:10:00Z")
    assert value(samples, "run_last_success_timestamp_seconds", playbook="daily") == ts("2026-12-04T02:10:00Z")
    assert value(samples, "run_exit_status", playbook="daily") == 0
    assert value(samples, "step_duration_seconds", playbook="daily", step="postgres-daily") == 120.0
    assert value(samples, "step_last_start_timestamp_seconds", playbook="daily", step="postgres-daily") == ts(
        "2026-12-04T02:01:00Z"
    )
    assert (
        value(samples, "findings", playbook="daily", step="postgres-daily", check="dead_tuples", severity="warning")
        == 3
    )
    assert value(samples, "findings", playbook="daily", step="health", check="disk", severity="ok") == 1
    assert len(samples.values["jarvis_maintenance_findings"]) == 3, "a severity that is not one is not counted"
    assert value(samples, "postgres_actions", playbook="daily", database="jarvis", action="vacuum") == 2
    assert value(samples, "postgres_actions", playbook="daily", database="jarvis", action="reindex") is None
    assert value(samples, "postgres_maintenance_duration_seconds", playbook="daily") == 1.5
    assert value(samples, "postgres_replay_lag_seconds", playbook="daily", standby="s1") == 2.5
    assert value(samples, "postgres_slot_retained_bytes", playbook="daily", slot="barman") == 4096


def test_a_failed_run_keeps_the_last_success_of_an_earlier_run_and_of_each_step():
    earlier = run(finished="2026-12-03T02:10:00Z", steps=[("backup", "ok", "2026-12-03T02:05:00Z", 30.0)])
    failed = run(outcome="failed", steps=[("backup", "critical", "2026-12-04T02:05:00Z", 31.0)])
    samples = run_samples(failed, {}, [summary(earlier)])
    assert value(samples, "run_exit_status", playbook="daily") == 1
    assert value(samples, "run_last_success_timestamp_seconds", playbook="daily") == ts("2026-12-03T02:10:00Z")
    assert value(samples, "run_last_end_timestamp_seconds", playbook="daily") == ts("2026-12-04T02:10:00Z")
    assert value(samples, "step_last_success_timestamp_seconds", playbook="daily", step="backup") == ts(
        "2026-12-03T02:05:00Z"
    )
    assert value(samples, "step_last_end_timestamp_seconds", playbook="daily", step="backup") == ts(
        "2026-12-04T02:05:00Z"
    )
    assert value(samples, "step_duration_seconds", playbook="daily", step="backup") == 31.0


def test_a_playbook_that_never_succeeded_has_no_last_success():
    samples = run_samples(run(outcome="failed"), {}, [])
    assert "jarvis_maintenance_run_last_success_timestamp_seconds" not in samples.values


def test_earlier_runs_are_the_hosts_summaries_of_the_playbook():
    documents = [
        ("run-summary-db1-1.json", summary(run())),
        ("run-summary-db2-1.json", summary(run(), host="db2")),
        ("run-summary-db1-2.json", summary({**run(), "playbook": "weekly.yml"})),
        ("health-db1-1.json", summary(run())),
        ("run-summary-db1-3.json", ["not", "a", "report"]),
    ]
    assert earlier_runs(documents, "db1", "daily.yml", "run-summary") == [documents[0][1]]


def test_backups_restore_tests_barman_and_redis():
    data = run(
        steps=[
            ("backup-verification", "ok", "2026-12-04T02:04:00Z", 40.0),
            ("pitr", "ok", "2026-12-04T02:05:00Z", 5.0),
            ("pitr-restore-test", "critical", "2026-12-04T02:08:00Z", 180.0),
            ("redis-daily", "ok", "2026-12-04T02:09:00Z", 2.0),
        ]
    )
    reports = {
        "backup-verification.json": {
            "data": {
                "restore_test": True,
                "sets": [
                    {"finished": "2026-12-04T02:03:00Z", "size": 2048, "checks_failed": 1, "severity": "critical",
                     "findings": [{"check": "restore", "severity": "critical"}]},
                    {"finished": "2026-12-03T02:03:00Z", "size": 1024, "checks_failed": 0, "severity": "ok"},
                ],
            }
        },
        "pitr.json": {"data": {"server": "jarvis", "rpo_seconds": 12.5,
                               "wal": {"last_received_at": "2026-12-04T02:04:59Z"},
                               "slot": {"retained_bytes": 16777216}}},
        "pitr-restore-test.json": {"severity": "critical", "findings": [{"check": "restore", "severity": "critical"}]},
        "redis-daily.json": {"data": {"actions": [{"delete_keys": {"deleted_keys": 7}},
                                                  {"delete_keys": {"deleted_keys": 3}}]}},
    }  # fmt: skip
    samples = run_samples(data, reports, [])
    assert value(samples, "backup_newest_timestamp_seconds", playbook="daily") == ts("2026-12-04T02:03:00Z")
    assert value(samples, "backup_newest_size_bytes", playbook="daily") == 2048
    assert value(samples, "backup_verification_ok", playbook="daily") == 0
    assert value(samples, "restore_test_ok", playbook="daily", kind="logical") == 0
    assert value(samples, "restore_test_duration_seconds", playbook="daily", kind="logical") == 40.0
    assert value(samples, "restore_test_ok", playbook="daily", kind="pitr") == 0
    assert value(samples, "restore_test_last_timestamp_seconds", playbook="daily", kind="pitr") == ts(
        "2026-12-04T02:08:00Z"
    )
    assert value(samples, "pitr_rpo_seconds", playbook="daily", server="jarvis") == 12.5
    assert value(samples, "pitr_last_wal_timestamp_seconds", playbook="daily", server="jarvis") == ts(
        "2026-12-04T02:04:59Z"
    )
    assert value(samples, "pitr_slot_retained_bytes", playbook="daily", server="jarvis") == 16777216
    assert value(samples, "redis_keys_deleted", playbook="daily") == 10


def test_reports_without_the_values_give_no_samples_rather_than_wrong_ones():
    data = run(
        steps=[("backup-verification", "ok", "2026-12-04T02:04:00Z", 1.0), ("pitr", "ok", "2026-12-04T02:05:00Z", 1.0)]
    )
    reports = {
        "backup-verification.json": {
            "data": {"sets": [{"finished": "yesterday", "size": "big"}], "restore_test": False}
        },
        "pitr.json": {"data": {"server": "jarvis", "rpo_seconds": None, "wal": "?", "slot": None}},
    }
    samples = run_samples(data, reports, [])
    assert not any(name.startswith(("jarvis_maintenance_backup", "jarvis_maintenance_pitr")) for name in samples.values)


def test_the_daily_health_checks_barman_component_gives_the_pitr_metrics():
    data = run(steps=[("health", "ok", "2026-12-04T02:01:00Z", 10.0)])
    component = {
        "available": True,
        "server": "jarvis",
        "rpo_seconds": 3.0,
        "last_received_at": "2026-12-04T02:00:58Z",
        "slot_retained_bytes": 0,
    }
    samples = run_samples(data, {"health.json": {"data": {"components": {"pitr": component}}}}, [])
    assert value(samples, "pitr_rpo_seconds", playbook="daily", server="jarvis") == 3.0
    assert value(samples, "pitr_last_wal_timestamp_seconds", playbook="daily", server="jarvis") == ts(
        "2026-12-04T02:00:58Z"
    )
    assert value(samples, "pitr_slot_retained_bytes", playbook="daily", server="jarvis") == 0
    unreadable = {"health.json": {"data": {"components": {"pitr": {**component, "available": False}}}}}
    assert "jarvis_maintenance_pitr_rpo_seconds" not in run_samples(data, unreadable, []).values
