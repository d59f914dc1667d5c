"""Every docker path of the collection, on the real sutazai-* containers of the docker stack.

converge ran daily.yml, weekly.yml and monthly.yml (inside its window); these tests read what
that left and then drive single roles and playbooks: maintenance mode, container health,
backups and restores inside sutazai-postgres, the weekly error report from `docker logs`, the
prune filter, and the image rebuild with its rollback."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import (
    CONTAINERS,
    docker,
    http_status,
    inspect,
    newest_report,
    output,
    playbook,
    reports,
    role,
)

testinfra_hosts = ["localhost"]


def container_ids(stack: dict) -> dict[str, str]:
    return {name: inspect(stack, name, "{{.Id}}") for name in CONTAINERS}


def test_converge_left_every_container_running_and_healthy(stack, old_objects):
    assert old_objects[1]["container"], "the prune test's old objects were not made"
    for name in CONTAINERS:
        assert inspect(stack, name, "{{.State.Status}}") == "running", name
    assert inspect(stack, "sutazai-backend", "{{.State.Health.Status}}") == "healthy"
    assert http_status(stack["http_url"] + "/health") == 200
    assert http_status(stack["backend_url"] + "/health") == 200
    assert not (Path(stack["nginx_conf_d"]) / "jarvis-maintenance.conf").exists(), "maintenance mode left on"


def test_health_report_has_each_container_state_and_restart_count(stack):
    report = newest_report(stack, "health")
    services = report["data"]["components"]["services"]
    for service in ("backend", "frontend"):
        assert services[service]["manager"] == "docker"
        assert services[service]["unit"] == f"sutazai-{service}"
        assert services[service]["state"] == "running"
        assert services[service]["restarts"] == int(inspect(stack, f"sutazai-{service}", "{{.RestartCount}}"))
    assert services["backend"]["detail"] == "health healthy"


def test_daily_backup_ran_pg_dump_inside_the_container_and_verified(stack):
    sets = sorted(Path(stack["backups_dir"]).glob("jarvis-*/MANIFEST.json"))
    assert sets, "no backup set"
    manifest = json.loads(sets[-1].read_text())
    assert manifest["postgres"]["client"] == "docker"
    assert manifest["postgres"]["databases"]["sutazai"]["tables"]["public.conversations"] >= 500
    kinds = {entry["kind"] for entry in manifest["files"]}
    assert {"postgres", "postgres_globals", "redis"} <= kinds
    # the RDB came out of sutazai-redis with docker cp
    rdb = Path(sets[-1].parent / "redis-dump.rdb")
    assert rdb.read_bytes()[:5] == b"REDIS"
    verification = newest_report(stack, "backup-verification")
    assert verification["severity"] == "ok", verification["findings"]


def test_monthly_repacked_the_bloated_table_inside_the_container(stack):
    """converge's bloated table: rewritten online by pg_repack run in sutazai-postgres (its image has
    postgresql-15-repack; the docker inventory creates the extension), not by VACUUM FULL, though
    the monthly run was inside its window."""
    report = newest_report(stack, "postgres-monthly")
    taken = [item for item in report["data"]["actions_taken"] if item["target"] == "public.jarvis_repack_probe"]
    assert [(item["action"], item["status"]) for item in taken] == [("repack", "done")], report["data"]["actions_taken"]
    assert taken[0]["sql"].startswith("docker exec "), taken[0]["sql"]
    assert "sutazai-postgres" in taken[0]["sql"].split()
    used = [f["message"] for f in report["findings"] if f["check"] == "repack" and f["severity"] == "ok"]
    assert any("jarvis_repack_probe" in message for message in used), report["findings"]


def test_monthly_restored_the_backup_inside_the_container(stack):
    report = newest_report(stack, "dr-test")
    assert report["severity"] == "ok", report["findings"]
    checks = {f["check"] for f in report["findings"]}
    assert {"amcheck", "row_counts", "service_restart"} <= checks, checks
    counts = [f["message"] for f in report["findings"] if f["check"] == "row_counts" and "sutazai" in f["subject"]]
    assert counts == ["restored 1 tables, 500 rows: equal to the manifest"], counts
    # the scratch database the restore made is gone again
    databases = docker(
        stack, "exec", "sutazai-postgres", "psql", "-U", "sutazai", "-Atc", "SELECT datname FROM pg_database"
    ).stdout.split()
    assert sorted(databases) == ["postgres", "sutazai", "template0", "template1"]


def test_monthly_window_stopped_and_started_the_app(stack):
    events = [json.loads(line) for line in Path(stack["reports_dir"], "notifications.jsonl").read_text().splitlines()]
    monthly = [event["event"] for event in events if event.get("context", {}).get("type") == "monthly"]
    assert "started" in monthly and "finished" in monthly, events[-6:]


def test_maintenance_mode_stops_and_starts_the_app_containers(stack):
    before = container_ids(stack)
    run = playbook("maintenance_mode.yml", "mode=enable", "maintenance_window_reason=docker test")
    try:
        assert run.returncode == 0, output(run)
        for name in ("sutazai-backend", "sutazai-frontend"):
            assert inspect(stack, name, "{{.State.Status}}") == "exited", name
        for name in ("sutazai-postgres", "sutazai-redis"):
            assert inspect(stack, name, "{{.State.Status}}") == "running", name
        assert http_status(stack["http_url"] + "/") == 503
    finally:
        run = playbook("maintenance_mode.yml", "mode=disable")
    assert run.returncode == 0, output(run)
    for name in ("sutazai-backend", "sutazai-frontend"):
        assert inspect(stack, name, "{{.State.Status}}") == "running", name
    assert inspect(stack, "sutazai-backend", "{{.State.Health.Status}}") == "healthy"
    assert container_ids(stack) == before, "the containers were replaced, not stopped and started"
    assert http_status(stack["http_url"] + "/") == 200


def test_health_check_names_a_stopped_container(stack, tmp_path):
    docker(stack, "stop", "sutazai-frontend")
    try:
        run = role(tmp_path, "health_check", variables={"health_check_defer_verdict": True})
        assert run.returncode == 0, output(run)
        report = newest_report(stack, "health")
        finding = next(f for f in report["findings"] if f["check"] == "service_state" and f["subject"] == "frontend")
        assert finding["severity"] == "critical"
        assert "sutazai-frontend: exited" in finding["message"]
        assert finding["recommendation"].startswith("docker compose up -d frontend")
    finally:
        docker(stack, "start", "sutazai-frontend")


def test_weekly_error_report_reads_docker_logs(stack, tmp_path):
    marker = f"jarvis_missing_{uuid.uuid4().hex[:12]}"
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for _attempt in range(3):
        docker(stack, "exec", "sutazai-postgres", "psql", "-U", "sutazai", "-c", f"SELECT * FROM {marker}", check=False)
    run = role(tmp_path, "log_analysis", variables={"log_analysis_since_days": 1})
    assert run.returncode == 0, output(run)
    report = newest_report(stack, "log-analysis")
    sources = {source["name"]: source for source in report["data"]["sources"]}
    assert sources["postgresql"]["lines_in_window"] > 0
    # grouped by normalised message (the table name is a quoted value), first sample kept
    groups = [
        g
        for g in sources["postgresql"]["groups"]
        if g["message"].endswith("ERROR: relation <str> does not exist at character <n>")
    ]
    assert len(groups) == 1, sources["postgresql"]["groups"]
    assert groups[0]["count"] >= 3
    assert groups[0]["last_seen"] >= started, "the errors made just now were not read"


PRUNE_BASE = "jarvis-stack/debian:bookworm"
PRUNE_AGE = 15  # seconds between the old objects and the prune; the filter is 12 s


def prunable_objects(stack: dict, directory: Path, label: str) -> dict[str, str]:
    """A stopped container, an unused network and a dangling image, made now."""

    def image(name: str) -> str:
        layer = directory / f"{name}.tar"
        (directory / name).write_text(name)
        subprocess.run(["tar", "-C", str(directory), "-cf", str(layer), name], check=True)
        return docker(stack, "import", str(layer), "jarvis-prune-test:latest").stdout.strip()

    dangling = image(label)
    image(f"{label}-successor")  # takes the tag: the first is dangling from now on
    return {
        "container": docker(stack, "create", "--network", "none", PRUNE_BASE, "true").stdout.strip(),
        "network": docker(stack, "network", "create", f"jarvis-prune-{label}").stdout.strip(),
        "image": dangling,
    }


@pytest.fixture(scope="module")
def old_objects(stack, tmp_path_factory) -> tuple[float, dict[str, str]]:
    """Made by the first test, so that they are old enough by the time the prune test runs."""
    return time.monotonic(), prunable_objects(stack, tmp_path_factory.mktemp("prune-old"), "old")


def test_prune_removes_only_objects_older_than_the_filter(stack, tmp_path, old_objects):
    made, old = old_objects
    time.sleep(max(0.0, PRUNE_AGE - (time.monotonic() - made)))
    volumes = sorted(docker(stack, "volume", "ls", "--quiet").stdout.split())
    # the role starts well within the filter: these are younger than it, the old ones older
    new = prunable_objects(stack, tmp_path, "new")
    try:
        run = role(
            tmp_path,
            "log_cleanup",
            variables={"log_cleanup_docker_prune": True, "log_cleanup_docker_prune_until": "12s"},
        )
        assert run.returncode == 0, output(run)
        for kind, object_id in old.items():
            assert docker(stack, kind, "inspect", object_id, check=False).returncode != 0, f"old {kind} kept"
        for kind, object_id in new.items():
            assert docker(stack, kind, "inspect", object_id, check=False).returncode == 0, f"new {kind} pruned"
        # running containers, their network, volumes and tagged images are never pruned
        for name in CONTAINERS:
            assert inspect(stack, name, "{{.State.Status}}") == "running", name
        assert sorted(docker(stack, "volume", "ls", "--quiet").stdout.split()) == volumes
        assert docker(stack, "image", "inspect", PRUNE_BASE, check=False).returncode == 0
        report = newest_report(stack, "log-cleanup")
        assert report["severity"] == "ok"
    finally:
        docker(stack, "rm", "--force", new["container"], check=False)
        docker(stack, "network", "rm", "jarvis-prune-new", check=False)
        docker(stack, "image", "rm", "--force", new["image"], "jarvis-prune-test:latest", check=False)


def backend_image_only(stack: dict) -> str:
    """Extra vars that rebuild the backend's image alone (the inventory rebuilds both app images): half the time."""
    image = {"name": "sutazai/backend:latest", "path": f"{stack['compose_project_dir']}/backend", "network": "host"}
    return json.dumps({"system_updates_app_images": [image]})


def test_image_rebuild_restarts_the_app_on_new_images(stack):
    before = inspect(stack, "sutazai/backend:latest", "{{.Id}}")
    run = playbook("system_update.yml", "system_updates_update_cache=false", backend_image_only(stack))
    assert run.returncode == 0, output(run)
    after = inspect(stack, "sutazai/backend:latest", "{{.Id}}")
    assert after != before, "the backend image was not rebuilt"
    assert inspect(stack, "sutazai-backend", "{{.Image}}") == after, "the container still runs the old image"
    assert inspect(stack, "sutazai-backend", "{{.State.Health.Status}}") == "healthy"
    report = newest_report(stack, "system-update")
    assert report["severity"] == "ok", report["findings"]
    images = {image["name"]: image for image in report["data"]["images"]}
    assert images["sutazai/backend:latest"]["before"] == before
    assert images["sutazai/backend:latest"]["after"] == after
    assert report["data"]["verification"]["ok"]


def test_failed_rebuild_is_rolled_back_to_the_previous_image(stack):
    before = {name: inspect(stack, name, "{{.Id}}") for name in ("sutazai/backend:latest", "sutazai/frontend:latest")}
    updates = reports(stack, "system-update")
    # the next backend to start fails /health: a broken release
    (Path(stack["faults_dir"]) / "backend-unhealthy-once").write_text("armed by the docker scenario\n")
    run = playbook(
        "system_update.yml",
        "system_updates_update_cache=false",
        "system_updates_health_timeout=20",
        backend_image_only(stack),
    )
    text = output(run)
    assert run.returncode != 0, text
    assert "System update of localhost failed" in text
    assert "the host is healthy again" in text
    # the tags point at the previous images again, and the containers run them
    for name, image in before.items():
        assert inspect(stack, name, "{{.Id}}") == image, f"{name} not put back"
    assert inspect(stack, "sutazai-backend", "{{.Image}}") == before["sutazai/backend:latest"]
    assert inspect(stack, "sutazai-backend", "{{.State.Health.Status}}") == "healthy"
    assert http_status(stack["http_url"] + "/health") == 200
    assert not (Path(stack["faults_dir"]) / "backend-unhealthy-once").exists(), "the fault was never hit"
    new = [path for path in reports(stack, "system-update") if path not in updates]
    report = json.loads(new[-1].read_text())
    assert report["severity"] == "critical"
    assert report["data"]["rollback"]["healthy"] is True
    assert any("sutazai/backend:latest" in item["text"] for item in report["data"]["rollback"]["images"])


def test_performance_tuning_restarts_an_over_threshold_backend_only_inside_a_window(stack, tmp_path):
    # every container uses more than 1 byte: all are over the memory threshold
    variables = {
        "performance_tuning_thresholds": {"memory_bytes_warning": 1},
        "performance_tuning_restart_services": ["backend"],
    }
    started = inspect(stack, "sutazai-backend", "{{.State.StartedAt}}")
    run = role(tmp_path, "performance_tuning", variables=variables)
    assert run.returncode == 0, output(run)
    report = newest_report(stack, "performance-tuning")
    memory = {f["subject"]: f for f in report["findings"] if f["check"] == "container_memory"}
    assert set(memory) == set(CONTAINERS)
    assert memory["sutazai-backend"]["severity"] == "warning"
    assert memory["sutazai-backend"]["value"] == report["data"]["containers"]["sutazai-backend"]["memory_bytes"] > 0
    assert report["data"]["thresholds"]["memory_bytes_warning"] == 1  # the levels judged, defaults filled in
    assert report["data"]["thresholds"]["memory_percent_critical"] == 90
    assert report["data"]["in_window"] is False
    assert report["data"]["deferred"] == ["backend"] and report["data"]["restarted"] == []
    assert inspect(stack, "sutazai-backend", "{{.State.StartedAt}}") == started, "restarted outside a window"

    run = role(tmp_path, "performance_tuning", variables={**variables, "jarvis_maintenance_window": True})
    assert run.returncode == 0, output(run)
    report = newest_report(stack, "performance-tuning")
    assert report["data"]["restarted"] == ["backend"]
    assert inspect(stack, "sutazai-backend", "{{.State.StartedAt}}") != started, "not restarted inside the window"
    assert inspect(stack, "sutazai-frontend", "{{.State.Status}}") == "running"
    assert http_status(stack["backend_url"] + "/health") == 200
