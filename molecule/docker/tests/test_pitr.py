"""Point-in-time recovery against the real sutazai-postgres container: Barman on the host streams
WAL from it over the network, as a replication role that is not a superuser, through the port it
publishes; converge took a base backup, checked it and recovered to a time between two rows into
a scratch directory on the host, started with the host's PostgreSQL 15 (the monthly run's
restore test, aimed at that time)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import docker, newest_report

testinfra_hosts = ["localhost"]


def psql(stack: dict, sql: str) -> str:
    return docker(
        stack, "exec", "sutazai-postgres", "psql", "-U", stack["pg_user"], "-d", "postgres", "-qAtF", "|", "-c", sql
    ).stdout.strip()


def barman_json(stack: dict, *args: str) -> dict:
    config = Path(stack["stack_dir"]) / "pitr" / "etc" / "barman.conf"
    barman = ["runuser", "-u", "barman", "--", "/opt/jarvis-barman/bin/barman", "-c", str(config), "-f", "json"]
    result = subprocess.run([*barman, *args], capture_output=True, text=True, timeout=60, check=False, cwd="/")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def server(stack: dict) -> str:
    return f"docker-{stack['pg_port']}"


def test_barman_streams_from_the_container_as_a_replication_role(stack):
    # the slot is in use by pg_receivewal, whose connection comes from the engine's network
    assert psql(stack, "SELECT active, slot_type FROM pg_replication_slots WHERE slot_name = 'barman'") == "t|physical"
    senders = psql(
        stack, "SELECT state, client_addr IS NOT NULL FROM pg_stat_replication WHERE usename = 'barman'"
    ).splitlines()
    assert "streaming|t" in senders, senders
    assert psql(stack, "SELECT rolreplication, rolsuper FROM pg_roles WHERE rolname = 'barman'") == "t|f"
    # what the docker stack added to the volume's pg_hba.conf, and PostgreSQL has loaded
    rules = psql(
        stack,
        "SELECT database, user_name, address, auth_method FROM pg_hba_file_rules WHERE 'replication' = ANY(database)",
    )
    assert "{replication}|{barman}|samenet|scram-sha-256" in rules.splitlines(), rules


def test_base_backup_of_the_container_is_done(stack):
    backups = barman_json(stack, "list-backups", server(stack))[server(stack)]
    done = [backup for backup in backups if backup["status"] == "DONE"]
    assert done, backups


def test_check_measured_the_rpo_without_a_critical_finding(stack):
    report = newest_report(stack, "pitr")
    assert report["severity"] != "critical", report["findings"]
    data = report["data"]
    assert data["server"] == server(stack)
    assert isinstance(data["rpo_seconds"], (int, float)) and 0 <= data["rpo_seconds"] < 600, data["rpo_seconds"]
    assert data["newest_backup"]["status"] == "DONE"
    assert data["slot"]["active"]
    # the daily run's health check read Barman too (jarvis_backup)
    health = newest_report(stack, "health")["data"]["components"]["pitr"]
    assert health["severity"] != "critical", health


def test_restore_test_recovered_to_the_time_between_two_rows(stack):
    report = newest_report(stack, "pitr-restore-test")
    assert report["severity"] == "ok", report["findings"]
    recovered = report["data"]["server"]
    assert recovered["state"] == "promoted"
    # the row written before the target time is there, the one after it is not
    assert recovered["queries"] == [[["before"]]], recovered["queries"]
    assert recovered["databases"]["sutazai"]["row_counts"]["public.conversations"] == 500
    assert recovered["databases"]["sutazai"]["amcheck"]["failed"] == []
    assert report["data"]["verify"]["verified"]
    # stopped and removed: its scratch directory on the host is empty again
    assert list((Path(stack["stack_dir"]) / "pitr" / "restore-test").iterdir()) == []
    # the marker table was dropped from the container again
    assert psql(stack, "SELECT to_regclass('jarvis_pitr_marker') IS NULL") == "t"


def test_the_runs_exported_barman_and_the_restore_test_for_prometheus(stack):
    """The daily run's health check read Barman and the monthly run's restore test passed: both reach the
    runs' metrics files (the docker inventory keeps them in the stack's textfile/)."""
    from prometheus_client.parser import text_string_to_metric_families

    def samples(playbook: str) -> dict:
        text = (Path(stack["stack_dir"]) / "textfile" / f"jarvis_maintenance_run_{playbook}.prom").read_text()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    daily, monthly = samples("daily"), samples("monthly")
    labels = (("playbook", "daily"), ("server", server(stack)))
    assert 0 <= daily[("jarvis_maintenance_pitr_rpo_seconds", labels)] < 600
    assert daily[("jarvis_maintenance_pitr_last_wal_timestamp_seconds", labels)] > 0
    assert ("jarvis_maintenance_pitr_slot_retained_bytes", labels) in daily
    assert monthly[("jarvis_maintenance_restore_test_ok", (("kind", "pitr"), ("playbook", "monthly")))] == 1
    assert (
        monthly[("jarvis_maintenance_restore_test_duration_seconds", (("kind", "pitr"), ("playbook", "monthly")))] > 0
    )
