"""The maintenance-window playbooks, run for real with ansible-playbook against the local stack:
maintenance_mode.yml (the runbook's maintenance_mode.sh) and weekly.yml inside a window whose
step fails (the runbook's weekly script left maintenance mode on then), and weekly.yml's error
report of what PostgreSQL really logged."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import random
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg2
import psycopg2.errors
import pytest
import redis

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"


def playbook(name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env_args = [arg for pair in (("-e", value) for value in extra) for arg in pair]
    return subprocess.run(
        [str(PLAYBOOK), "-i", "inventories/local", f"playbooks/{name}", *env_args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for_status(url: str, status: int, seconds: float = 10) -> tuple[int, str]:
    """nginx applies a reload within moments, not at once: poll."""
    deadline = time.monotonic() + seconds
    while True:
        answer = get(url)
        if answer[0] == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def programs(stack: dict) -> str:
    result = subprocess.run(
        [stack["supervisorctl"], "-c", stack["supervisor_config"], "status"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.stdout


@pytest.fixture
def window_closed(stack):
    """Whatever a test does, it leaves maintenance mode off and the programs running."""
    yield
    snippet = Path(stack["nginx_conf_d"]) / "jarvis-maintenance.conf"
    if snippet.exists() or "STOPPED" in programs(stack):
        playbook("maintenance_mode.yml", "mode=disable")


def test_maintenance_mode_playbook_enables_reports_and_disables(stack, window_closed):
    enabled = playbook("maintenance_mode.yml", "mode=enable", "maintenance_window_reason='Playbook test'")
    assert enabled.returncode == 0, enabled.stdout[-3000:]
    status, page = wait_for_status(stack["http_url"] + "/", 503)
    assert status == 503
    assert "Playbook test" in page
    assert re.search(r"backend\s+STOPPED", programs(stack))
    assert re.search(r"frontend\s+STOPPED", programs(stack))

    shown = playbook("maintenance_mode.yml", "mode=status")
    assert shown.returncode == 0, shown.stdout[-3000:]
    assert "Maintenance mode is ON since" in shown.stdout
    assert "Playbook test" in shown.stdout

    disabled = playbook("maintenance_mode.yml", "mode=disable")
    assert disabled.returncode == 0, disabled.stdout[-3000:]
    status, body = wait_for_status(stack["http_url"] + "/health", 200)
    assert status == 200
    assert '"healthy"' in body
    assert "RUNNING" in programs(stack) and "STOPPED" not in programs(stack)


def test_maintenance_mode_playbook_refuses_an_unknown_mode(stack):
    refused = playbook("maintenance_mode.yml", "mode=maybe")
    assert refused.returncode != 0
    assert "mode must be enable, disable or status, got maybe" in refused.stdout


def test_weekly_window_ends_when_a_step_fails(stack, window_closed):
    # PostgreSQL on a port nobody listens on: the weekly PostgreSQL step fails inside the window.
    run = playbook("weekly.yml", "jarvis_maintenance_window=true", "jarvis_pg_port=9")
    assert run.returncode != 0, run.stdout[-3000:]
    assert "Begin the maintenance window" in run.stdout
    assert "Turn maintenance mode off" in run.stdout
    assert not (Path(stack["nginx_conf_d"]) / "jarvis-maintenance.conf").exists()
    assert not (Path(stack["stack_dir"]) / "app" / ".maintenance_mode").exists()
    status, body = wait_for_status(stack["http_url"] + "/health", 200)
    assert status == 200, body
    assert "STOPPED" not in programs(stack)


def report_path(stack: dict, prefix: str) -> Path:
    reports = sorted(Path(stack["reports_dir"]).glob(f"{prefix}-localhost-*.json"))
    assert reports, f"no {prefix} report in {stack['reports_dir']}"
    return reports[-1]


def newest(stack: dict, prefix: str) -> dict:
    return json.loads(report_path(stack, prefix).read_text())


def test_weekly_reports_the_errors_postgresql_logged(stack):
    # A real error in PostgreSQL's log, its text made of letters only (g-z: no digit, hex run or
    # quoted value the normalisation would replace), so that its group is new and single.
    marker = "probe_" + "".join(random.choice("ghijklmnopqrstuvwxyz") for position in range(16))
    connection = psycopg2.connect(
        host=stack["pg_host"], port=stack["pg_port"], user=stack["pg_user"],
        password=stack["pg_password"], dbname=stack["pg_database"],
    )  # fmt: skip
    try:
        with connection.cursor() as cursor, pytest.raises(psycopg2.errors.RaiseException):
            cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'weekly {marker}'; END $$")
    finally:
        connection.close()
    run = playbook("weekly.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    report = newest(stack, "log-analysis")
    sources = {source["name"]: source for source in report["data"]["sources"]}
    assert set(sources) == {"backend", "postgresql"}
    assert sources["postgresql"]["read"], "the PostgreSQL log files were not read"
    group = next(g for g in sources["postgresql"]["groups"] if marker in g["message"])
    assert group["message"] == f"ERROR: weekly {marker}"
    assert group["count"] == 1
    assert marker in group["sample"]
    assert group["first_seen"] == group["last_seen"]
    page = Path(stack["reports_dir"], Path(report_path(stack, "log-analysis")).name.replace(".json", ".md"))
    assert f"| 1 | error | ERROR: weekly {marker} |" in page.read_text()
    assert stack["pg_password"] not in json.dumps(report)


@contextlib.contextmanager
def holder_run(stack, *extra: str, name: str = "daily.yml"):
    """A run of playbooks/<name> in the background, in a process group of its own (as AWX starts a
    job), yielded once it holds the run lock as (the lock file, what the lock says, the process);
    its output is left in process.output after the block."""
    lock = Path(stack["stack_dir"]) / "lock" / "maintenance.lock"
    assert not lock.exists(), f"a lock was left behind: {lock.read_text()}"
    first = subprocess.Popen(
        [str(PLAYBOOK), "-i", "inventories/local", f"playbooks/{name}"]
        + [arg for value in extra for arg in ("-e", value)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock.exists(), "the first run never took the lock"
        yield lock, json.loads(lock.read_text()), first
    finally:
        first.output, _unused = first.communicate(timeout=600)


def test_two_concurrent_daily_runs_one_fails_fast_on_the_lock(stack):
    with holder_run(stack) as (lock, holder, first):
        started = time.monotonic()
        second = playbook("daily.yml")
        waited = time.monotonic() - started
        assert first.poll() is None, "the first run ended before the second one asked for the lock"
    assert second.returncode != 0
    assert f"another maintenance run holds {lock}: run {holder['run_id']} (daily.yml)" in second.stdout
    # it failed at the lock, not after doing work: no health check of its own ran
    assert "jarvis.maintenance.health_check :" not in second.stdout
    assert waited < 30, f"the second run took {waited:.0f} s to fail"
    assert first.returncode == 0, first.output[-3000:]
    assert not lock.exists(), "the first run did not release the lock"


def test_a_run_told_to_wait_runs_after_the_holder(stack):
    """The schedule's runs wait for the lock (-e jarvis_run_lock_wait_minutes=...): the second
    run starts its work only once the first one has released the lock, and both succeed."""
    with holder_run(stack) as (lock, holder, first):
        second = playbook("daily.yml", "jarvis_run_lock_wait_minutes=5")
        assert first.poll() is not None, "the second run ended while the first still ran"
    assert first.returncode == 0, first.output[-3000:]
    assert second.returncode == 0, second.stdout[-3000:]
    runs = [json.loads(path.read_text()) for path in Path(stack["reports_dir"]).glob("run-summary-localhost-*.json")]
    by_id = {run["data"]["run_id"]: run["data"] for run in runs}
    mine = [data for data in by_id.values() if data["playbook"] == "daily.yml" and data["run_id"] != holder["run_id"]]
    latest = max(mine, key=lambda data: data["started"])
    # its work began when the holder's ended (the summaries' times are whole seconds)
    assert latest["started"] >= by_id[holder["run_id"]]["finished"], (latest, by_id[holder["run_id"]])
    # and its summary has its own reports only: one health report, not the holder's too
    assert [report["kind"] for report in latest["reports"]].count("health") == 1, latest["reports"]
    assert not lock.exists()


def recap_changed(output: str) -> int:
    found = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", output)
    assert found, output[-2000:]
    return int(found.group(1))


def files_of(stack: dict, *parts: str) -> dict[str, tuple[int, int]]:
    """Every file under the stack's given directories, with size and mtime."""
    root = Path(stack["stack_dir"])
    found = {}
    for part in parts:
        for path in (root / part).rglob("*"):
            if path.is_file():
                status = path.stat()
                found[str(path.relative_to(root))] = (status.st_size, status.st_mtime_ns)
    return found


def state_of(stack: dict) -> dict:
    """What maintenance could change: the stack's files (not logs, sockets or server data), the
    databases, each relation's file node (VACUUM FULL and REINDEX give new ones), the manual
    vacuum / analyze times, and Redis's keys."""
    conn = psycopg2.connect(
        host=stack["pg_host"],
        port=stack["pg_port"],
        user=stack["pg_user"],
        password=stack["pg_password"],
        dbname=stack["pg_database"],
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database ORDER BY 1")
            databases = [row[0] for row in cur.fetchall()]
            cur.execute(
                "SELECT c.relname, c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' ORDER BY 1"
            )
            relations = cur.fetchall()
            cur.execute("SELECT relname, last_vacuum, last_analyze FROM pg_stat_user_tables ORDER BY 1")
            vacuums = cur.fetchall()
    finally:
        conn.close()
    client = redis.Redis(host=stack["redis_host"], port=stack["redis_port"], password=stack["redis_password"])
    try:
        # (not LASTSAVE: the server's own save rules may snapshot at any time)
        keys = (client.dbsize(), len(list(client.scan_iter(match="*expired*", count=1000))))
    finally:
        client.close()
    files = files_of(stack, "reports", "backups", "nginx", "app", "metrics", "supervisor")
    return {"files": files, "databases": databases, "relations": relations, "vacuums": vacuums, "redis": keys}


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("daily.yml", ()),
        ("weekly.yml", ()),
        ("monthly.yml", ("jarvis_maintenance_window=true",)),
        ("quarterly.yml", ()),
    ],
)
def test_real_run_then_check_mode_changes_nothing(stack, window_closed, name, extra):
    # for real first (monthly in its window): it must work, and leave the stack as it found it
    real = playbook(name, *extra)
    assert real.returncode == 0, (real.stdout + real.stderr)[-4000:]
    assert "STOPPED" not in programs(stack), "the run left a program stopped"
    assert not (Path(stack["nginx_conf_d"]) / "jarvis-maintenance.conf").exists(), "maintenance mode left on"
    summary = newest(stack, "run-summary")
    assert (summary["data"]["playbook"], summary["data"]["outcome"]) == (name, "ok")
    steps = {report["kind"] for report in summary["data"]["reports"]}
    assert {"quarterly-review", "dr-test"} <= steps if name == "quarterly.yml" else steps, steps
    client = redis.Redis(host=stack["redis_host"], port=stack["redis_port"], password=stack["redis_password"])
    try:  # then something for the maintenance to act on, which check mode must leave alone
        # among live sessions: a pattern matching most of a database is refused (delete_max_share)
        client.mset({f"session:expired:{n}": "x" for n in range(50)} | {f"session:live:{n}": "x" for n in range(100)})
    finally:
        client.close()
    before = state_of(stack)
    run = subprocess.run(
        [str(PLAYBOOK), "-i", "inventories/local", f"playbooks/{name}", "--check", "--diff"]
        + [arg for value in extra for arg in ("-e", value)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert state_of(stack) == before
    assert "STOPPED" not in programs(stack), "check mode stopped a program"


def test_second_daily_run_changes_nothing_but_adds_reports(stack):
    first = playbook("daily.yml")
    assert first.returncode == 0, first.stdout[-3000:]
    notifications = Path(stack["reports_dir"]) / "notifications.jsonl"
    sent = notifications.read_text().splitlines()
    before = files_of(stack, "reports", "backups", "nginx", "app", "metrics", "supervisor")
    second = playbook("daily.yml")
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap_changed(second.stdout) == 0, second.stdout[-3000:]
    after = files_of(stack, "reports", "backups", "nginx", "app", "metrics", "supervisor")
    # one message more: the run's summary (the stack's health is fine: no other)
    lines = notifications.read_text().splitlines()
    assert lines[: len(sent)] == sent and len(lines) == len(sent) + 1
    message = json.loads(lines[-1])
    assert message["event"] == "findings" and message["context"]["type"].startswith("daily.yml run daily-")
    # every other file is still there, unchanged; the new ones are this run's reports and its summary
    del before["reports/notifications.jsonl"], after["reports/notifications.jsonl"]
    assert {path: after[path] for path in before} == before
    new = sorted(set(after) - set(before))
    assert new and all(path.startswith("reports/") for path in new), new
    assert any(path.startswith("reports/run-summary-localhost-") for path in new), new


def test_a_run_sends_one_message_with_every_finding(stack):
    """The roles' findings (here the health check's, a disk threshold every disk is over) wait
    for the run's summary: one message per run, which carries them."""
    notifications = Path(stack["reports_dir"]) / "notifications.jsonl"
    sent = notifications.read_text().splitlines() if notifications.exists() else []
    thresholds = {
        "memory_percent_warning": 85, "memory_percent_critical": 95, "load_per_core_warning": 50,
        "load_per_core_critical": 100, "disk_percent_warning": 0.001, "disk_percent_critical": 99.999,
        "inode_percent_warning": 80, "inode_percent_critical": 90,
    }  # fmt: skip
    run = playbook("daily.yml", json.dumps({"health_check_thresholds": thresholds}))
    assert run.returncode == 0, run.stdout[-3000:]
    health = newest(stack, "health")
    disk = [f for f in health["findings"] if f["severity"] == "warning" and "disk" in f["check"]]
    assert disk, health["findings"]
    lines = notifications.read_text().splitlines()
    assert lines[: len(sent)] == sent
    new = [json.loads(line) for line in lines[len(sent) :]]
    assert len(new) == 1, [message["title"] for message in new]
    assert new[0]["event"] == "findings" and new[0]["context"]["type"].startswith("daily.yml run daily-")
    carried = {(f["check"], f["subject"]) for f in new[0]["context"]["findings"]}
    assert {(f["check"], f["subject"]) for f in disk} <= carried


def killed_holder(stack, lease_minutes: float) -> tuple[Path, dict]:
    """A weekly.yml run as the AWX job 101 on controller awx-job-a, killed with its whole process
    group (as AWX cancels a job or ends it at its job_timeout) once it holds the lock: no always:
    runs, the lock stays. Returns the lock file and what the lock says."""
    with holder_run(
        stack,
        "jarvis_run_lock_holder_host=awx-job-a",
        f"jarvis_run_lock_lease_minutes={lease_minutes}",
        "awx_job_id=101",
        name="weekly.yml",
    ) as (lock, holder, first):
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    left = json.loads(lock.read_text())
    assert left["run_id"] == holder["run_id"], "the killed run's lock is not the one left"
    assert (left["holder_host"], left["awx_job_id"]) == ("awx-job-a", "101")
    return lock, left


def lock_reports(stack: dict, check: str, old_run_id: str) -> list[dict]:
    """The run-lock reports of runs that took over (or broke) old_run_id's lock."""
    found = []
    for path in Path(stack["reports_dir"]).glob("run-lock-localhost-*.json"):
        doc = json.loads(path.read_text())
        if any(f["check"] == check and f["value"] == old_run_id for f in doc["findings"]):
            found.append(doc)
    return found


def summary_of(stack: dict, run_id: str) -> dict:
    for path in Path(stack["reports_dir"]).glob("run-summary-localhost-*.json"):
        doc = json.loads(path.read_text())
        if doc["data"]["run_id"] == run_id:
            return doc["data"]
    raise AssertionError(f"no run summary of {run_id}")


def test_a_killed_awx_job_s_lock_is_taken_over_by_another_controller_once_its_lease_expires(stack, window_closed):
    """Issue 21 item 16: a job killed with its process group leaves its lock. A run from another
    controller (another AWX job's container) fails on it while its lease runs, and takes it over
    once the lease has expired (before, it was live for 12 hours: its process could not be looked
    at from another controller)."""
    # half a minute: the early run reaches the lock within seconds; the later one waits out the rest
    lock, left = killed_holder(stack, lease_minutes=0.5)
    expires = datetime.datetime.fromisoformat(left["lease_expires"].replace("Z", "+00:00"))
    # not before: another controller, no waiting, while the lease runs
    early = playbook("weekly.yml", "jarvis_run_lock_holder_host=awx-job-b")
    assert datetime.datetime.now(datetime.timezone.utc) < expires, "the early run came too late to prove anything"
    assert early.returncode != 0
    assert f"another maintenance run holds {lock}: run {left['run_id']} (weekly.yml)" in early.stdout, early.stdout[
        -3000:
    ]
    assert "as AWX job 101" in early.stdout
    assert json.loads(lock.read_text())["run_id"] == left["run_id"]
    # once it has expired: the next run (told to wait, as the scheduled ones are) takes it over
    later = playbook("weekly.yml", "jarvis_run_lock_holder_host=awx-job-b", "jarvis_run_lock_wait_minutes=4")
    assert later.returncode == 0, later.stdout[-4000:]
    assert f"Took over a stale maintenance lock of run {left['run_id']}" in later.stdout
    assert "its lease expired at " + left["lease_expires"] in later.stdout
    [report] = lock_reports(stack, "run_lock_taken_over", left["run_id"])
    assert len(report["findings"]) == 1 and "its lease expired" in report["findings"][0]["message"]
    summary = summary_of(stack, report["data"]["run_id"])
    assert datetime.datetime.fromisoformat(summary["started"].replace("Z", "+00:00")) >= expires
    assert "run-lock" in {step["kind"] for step in summary["reports"]}, summary["reports"]
    assert not lock.exists(), "the run that took over did not release the lock"


def test_a_cancelled_runs_lock_is_broken_only_by_its_run_id_and_the_break_is_summarised(stack, window_closed):
    lock, left = killed_holder(stack, lease_minutes=60)
    wrong = playbook("run_lock.yml", "jarvis_run_lock_break=weekly-20000101T000000Z-000000")
    assert wrong.returncode != 0
    assert f"Cannot break the lock path={lock}: it is held by run {left['run_id']}" in wrong.stdout, wrong.stdout[
        -3000:
    ]
    assert json.loads(lock.read_text())["run_id"] == left["run_id"]
    shown = playbook("run_lock.yml")
    assert shown.returncode == 0, shown.stdout[-3000:]
    assert f"is held by run {left['run_id']}" in shown.stdout and "AWX job 101" in shown.stdout
    assert f"-e jarvis_run_lock_break={left['run_id']}" in shown.stdout
    broken = playbook("run_lock.yml", f"jarvis_run_lock_break={left['run_id']}")
    assert broken.returncode == 0, broken.stdout[-3000:]
    assert f"broke the lock of run {left['run_id']} (weekly.yml)" in broken.stdout
    assert not lock.exists()
    [report] = lock_reports(stack, "run_lock_broken", left["run_id"])
    assert len(report["findings"]) == 1
    assert f"jarvis_run_lock_break={left['run_id']}" in report["findings"][0]["message"]
    summary = summary_of(stack, report["data"]["run_id"])
    assert summary["playbook"] == "run_lock.yml" and summary["outcome"] == "ok"
    assert [step["kind"] for step in summary["reports"]] == ["run-lock"], summary["reports"]
