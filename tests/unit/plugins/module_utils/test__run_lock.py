# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import fcntl
import json
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._run_lock import (
    LockHeld,
    RunLock,
    check_params,
    describe,
    directory_problem,
    file_problem,
    lease_until,
    parent_problem,
    parse_holder,
    path_problem,
    staleness,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOST = "ops01"


def holder(started="2026-11-29T11:00:00Z", host=HOST, pid=4242, run_id="daily-1", **extra):
    record = {"run_id": run_id, "playbook": "daily.yml", "started": started, "holder_host": host, "holder_pid": pid}
    return {**record, **extra}


def params(**overrides):
    values = {
        "path": "/tmp/x.lock",
        "state": "acquired",
        "run_id": "run-1",
        "playbook": "daily.yml",
        "holder_host": "",
        "holder_pid": 0,
        "awx_job_id": "",
        "lease_minutes": 90.0,
        "max_age_hours": 12.0,
        "wait_seconds": 0,
        "poll_seconds": 5.0,
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("lock", "alive", "expected"),
    [
        (holder(), True, None),
        (holder(), False, "its ansible-playbook process 4242 on ops01 is gone"),
        (holder(host="other"), False, None),  # another controller: age only
        (holder(pid=0), False, None),  # pid unknown: age only
        (holder(started="2026-11-28T23:00:00Z"), True, "it is 13.0 h old, more than max_age_hours 12"),
        (holder(started="2026-11-29T00:30:00+00:00"), True, None),
        (holder(started="yesterday"), True, "the lock has no readable start time"),
        (None, True, "the lock file is not a lock this module wrote"),
        # the lease: judged the same from any controller (NOW is 12:00)
        (holder(host="awx-job-41", lease_expires="2026-11-29T12:30:00Z"), True, None),
        (
            holder(host="awx-job-41", lease_expires="2026-11-29T11:45:00Z"),
            True,
            "its lease expired at 2026-11-29T11:45:00Z (15 min ago): the run stopped renewing it "
            "(killed, cancelled or timed out)",
        ),
        (holder(host="awx-job-41", lease_expires="2026-11-29T12:00:00Z"), True, "its lease expired at"),
        (holder(lease_expires="2026-11-29T12:30:00Z"), False, "its ansible-playbook process 4242 on ops01 is gone"),
        (holder(host="x", lease_expires="soon"), True, "its lease_expires 'soon' is not a time"),
        (holder(started="2026-11-28T23:00:00Z", lease_expires="2026-11-29T13:00:00Z"), True, "13.0 h old"),
    ],
)
def test_staleness(lock, alive, expected):
    found = staleness(lock, NOW, 12.0, HOST, lambda pid: alive)
    assert found == expected if expected is None else found.startswith(expected) or expected in found


def test_lease_until():
    assert lease_until(NOW, 90) == "2026-11-29T13:30:00Z"
    assert lease_until(NOW, 0.5) == "2026-11-29T12:00:30Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (json.dumps(holder()), holder()),
        ("", None),
        ("not json", None),
        ("[1, 2]", None),
        (json.dumps({"run_id": 7}), None),
    ],
)
def test_parse_holder(text, expected):
    assert parse_holder(text) == expected


def test_describe_names_run_playbook_start_host_and_pid():
    assert describe(holder()) == "run daily-1 (daily.yml) started 2026-11-29T11:00:00Z from ops01 (pid 4242)"
    assert describe({"run_id": "x"}) == "run x started ?"
    assert describe(holder(awx_job_id="417", lease_expires="2026-11-29T12:30:00Z")) == (
        "run daily-1 (daily.yml) started 2026-11-29T11:00:00Z from ops01 (pid 4242) as AWX job 417, "
        "lease until 2026-11-29T12:30:00Z"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"run_id": None}, "Cannot take the lock: run_id is required with state=acquired"),
        ({"run_id": "  ", "state": "released"}, "Cannot release the lock: run_id is required with state=released"),
        ({"run_id": "", "state": "renewed"}, "Cannot renew the lock: run_id is required with state=renewed"),
        ({"run_id": None, "state": "broken"}, "Cannot break the lock: run_id is required with state=broken"),
        ({"path": ""}, "Cannot take the lock: path must be the absolute path of a lock file, got ''"),
        ({"path": None}, "Cannot take the lock: path must be the absolute path of a lock file, got None"),
        ({"path": "maintenance.lock"}, "Cannot take the lock: path must be absolute, got 'maintenance.lock'"),
        ({"path": "/var/lib/x/", "state": "status"}, "Cannot read the lock: path must name a file, not a directory"),
        ({"path": "/var/lib/x/.."}, "path must name a file, not a directory"),
        ({"path": "/x.lock"}, "path must be in a directory of its own, not in /, got '/x.lock'"),
        ({"max_age_hours": 0}, "max_age_hours must be greater than 0"),
        ({"lease_minutes": 0}, "Cannot take the lock: lease_minutes must be greater than 0, got 0"),
        ({"lease_minutes": 800}, "lease_minutes (800) must not be longer than max_age_hours (12 h)"),
        ({"lease_minutes": float("nan")}, "Cannot take the lock: lease_minutes must be a number, got nan"),
        ({"max_age_hours": float("inf")}, "max_age_hours must be a number, got inf"),
        ({"max_age_hours": 1e300}, "max_age_hours must be at most 8760 (a year), got 1e+300"),
        ({"poll_seconds": 1e9}, "poll_seconds must be at most 3600"),
        ({"holder_pid": -1}, "holder_pid must be 0 (unknown) or a process id"),
        ({"wait_seconds": -1}, "wait_seconds must be 0 (fail at once) or more, got -1"),
        ({"poll_seconds": 0}, "poll_seconds must be greater than 0"),
    ],
)
def test_check_params(overrides, message):
    with pytest.raises(ModuleError, match=re.escape(message)):
        check_params(params(**overrides))


def test_status_needs_no_run_id():
    check_params(params(state="status", run_id=None))


def test_two_runs_one_lock(tmp_path):
    path = str(tmp_path / "maintenance.lock")
    first = RunLock(params(path=path, run_id="a", holder_pid=os.getpid()), check_mode=False).run()
    assert first["changed"] and first["acquired"] and first["taken_over"] is None
    again = RunLock(params(path=path, run_id="a"), check_mode=False).run()
    assert not again["changed"]
    with pytest.raises(ModuleError, match=r"another maintenance run holds .* run a \(daily.yml\)"):
        RunLock(params(path=path, run_id="b"), check_mode=False).run()
    # somebody else's lock is never released
    other = RunLock(params(path=path, run_id="b", state="released"), check_mode=False).run()
    assert not other["changed"] and os.path.exists(path)
    done = RunLock(params(path=path, run_id="a", state="released"), check_mode=False).run()
    assert done["changed"] and not os.path.exists(path)


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    path = tmp_path / "maintenance.lock"
    dead = holder(started=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), host=socket.gethostname(), pid=2**22 + 12345)
    path.write_text(json.dumps(dead))
    planned = RunLock(params(path=str(path), run_id="b"), check_mode=True, now=NOW).run()
    assert planned["changed"] and not planned["acquired"] and json.loads(path.read_text()) == dead
    result = RunLock(params(path=str(path), run_id="b"), check_mode=False, now=NOW).run()
    assert result["taken_over"]["holder"] == dead
    assert "is gone" in result["taken_over"]["reason"]
    assert json.loads(path.read_text())["run_id"] == "b"


def test_a_waiting_run_takes_the_lock_when_the_holder_releases_it(tmp_path):
    path = str(tmp_path / "maintenance.lock")
    RunLock(params(path=path, run_id="a", holder_pid=os.getpid()), check_mode=False).run()
    release = threading.Timer(
        0.5, lambda: RunLock(params(path=path, run_id="a", state="released"), check_mode=False).run()
    )
    release.start()
    try:
        result = RunLock(params(path=path, run_id="b", wait_seconds=30, poll_seconds=0.1), check_mode=False).run()
    finally:
        release.join()
    assert result["acquired"] and result["holder"]["run_id"] == "b"
    assert 0.4 <= result["waited_seconds"] < 30
    assert json.loads(Path(path).read_text(encoding="utf-8"))["run_id"] == "b"


def test_a_waiting_run_gives_up_after_wait_seconds_naming_the_holder(tmp_path):
    path = str(tmp_path / "maintenance.lock")
    RunLock(params(path=path, run_id="a", holder_pid=os.getpid()), check_mode=False).run()
    clock = iter(range(0, 100, 5))
    slept = []
    lock = RunLock(params(path=path, run_id="b", wait_seconds=12, poll_seconds=5.0), check_mode=False)
    with pytest.raises(ModuleError, match=r"holds .* run a \(daily.yml\).* \(waited 15 s\)$"):
        lock.acquire_waiting(clock=lambda: float(next(clock)), sleep=slept.append)
    assert slept == [5.0, 2.0]  # the fake clock moves 5 s a reading: 0 start, fails at 5, 10, 15
    assert json.loads(Path(path).read_text(encoding="utf-8"))["run_id"] == "a"


def stat_of(mode: int, uid: int = 0) -> os.stat_result:
    return os.stat_result((mode, 0, 0, 1, uid, 0, 0, 0, 0, 0))


@pytest.mark.parametrize(
    ("mode", "uid", "expected"),
    [
        (0o40700, 0, None),
        (0o40755, 0, None),
        (0o40755, 1000, None),  # the running user's own (euid 1000 below)
        (0o40700, 65534, "is owned by uid 65534 (nobody), not by root or the user running the module"),
        (0o41777, 0, "is writable by other users (mode 1777)"),
        (0o40775, 0, "is writable by other users (mode 0775)"),
        (0o100600, 0, "is not a directory"),
    ],
)
def test_directory_problem(mode, uid, expected):
    found = directory_problem(stat_of(mode, uid), euid=1000)
    assert found == expected if expected is None else found.startswith(expected)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (0o40755, None),
        (0o41777, None),  # sticky, as /run/lock and /tmp: nobody else can rename root's directory away
        (0o40777, "is writable by other users without the sticky bit (mode 0777)"),
        (0o40770, "is writable by other users without the sticky bit (mode 0770)"),
    ],
)
def test_parent_problem(mode, expected):
    found = parent_problem(stat_of(mode), euid=0)
    assert found == expected if expected is None else found.startswith(expected)


@pytest.mark.parametrize(
    ("mode", "uid", "expected"),
    [
        (0o100600, 0, None),
        (0o100644, 65534, "is owned by uid 65534 (nobody), not by the user running the module (uid 0 (root))"),
        (0o10600, 0, "is not a regular file"),  # a FIFO
        (0o40700, 0, "is not a regular file"),
    ],
)
def test_file_problem(mode, uid, expected):
    found = file_problem(stat_of(mode, uid), euid=0)
    assert found == expected if expected is None else found.startswith(expected)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/var/lib/jarvis-maintenance/maintenance.lock", None),
        ("", "path must be the absolute path of a lock file, got ''"),
        ("   ", "path must be the absolute path of a lock file, got '   '"),
        ("run/x.lock", "path must be absolute, got 'run/x.lock'"),
        ("/run/lock/", "path must name a file, not a directory, got '/run/lock/'"),
        ("/x", "path must be in a directory of its own, not in /, got '/x'"),
    ],
)
def test_path_problem(path, expected):
    assert path_problem(path) == expected


def at(minutes: float) -> datetime.datetime:
    return NOW + datetime.timedelta(minutes=minutes)


def test_a_killed_run_on_another_controller_is_stale_once_its_lease_expires(tmp_path):
    """A fake clock: controller A (an AWX job's container) takes the lock with a 10-minute lease,
    renews it at minute 5, then is killed; controller B finds it live until minute 15, then takes it
    over, and A's late renewal fails naming B."""
    path = str(tmp_path / "lock" / "maintenance.lock")
    a = params(path=path, run_id="a", holder_host="awx-job-1", holder_pid=4242, awx_job_id="17", lease_minutes=10)
    taken = RunLock(a, check_mode=False, now=at(0)).run()
    assert taken["holder"]["lease_expires"] == "2026-11-29T12:10:00Z"
    assert taken["holder"]["awx_job_id"] == "17"
    renewed = RunLock({**a, "state": "renewed"}, check_mode=False, now=at(5)).run()
    assert renewed["changed"] and renewed["holder"]["lease_expires"] == "2026-11-29T12:15:00Z"
    assert renewed["holder"]["started"] == "2026-11-29T12:00:00Z"  # the start stays
    b = params(path=path, run_id="b", holder_host="awx-job-2", lease_minutes=10)
    for minute in (9, 14.9):
        with pytest.raises(LockHeld, match=r"run a \(daily.yml\) .* as AWX job 17, lease until 2026-11-29T12:15:00Z"):
            RunLock(b, check_mode=False, now=at(minute)).run()
    over = RunLock(b, check_mode=False, now=at(15)).run()
    assert over["taken_over"]["holder"]["run_id"] == "a"
    assert over["taken_over"]["reason"].startswith("its lease expired at 2026-11-29T12:15:00Z")
    assert [f["check"] for f in over["findings"]] == ["run_lock_taken_over"]
    assert json.loads(Path(path).read_text())["run_id"] == "b"
    with pytest.raises(
        ModuleError,
        match=r"held by run b .* not by run a: another run took the lock over after this run's lease expired",
    ):
        RunLock({**a, "state": "renewed"}, check_mode=False, now=at(16)).run()
    assert json.loads(Path(path).read_text())["run_id"] == "b"


def test_renewing_a_lock_that_is_gone_fails_and_check_mode_never_fails(tmp_path):
    path = str(tmp_path / "maintenance.lock")
    with pytest.raises(ModuleError, match=r"^Cannot renew the lock path=.*: the lock is gone"):
        RunLock(params(path=path, state="renewed"), check_mode=False).run()
    planned = RunLock(params(path=path, state="renewed"), check_mode=True).run()
    assert not planned["changed"] and not os.path.exists(path)


def test_the_module_creates_its_directory_0700_and_check_mode_does_not(tmp_path):
    path = tmp_path / "jarvis-maintenance" / "maintenance.lock"
    planned = RunLock(params(path=str(path)), check_mode=True).run()
    assert planned["changed"] and "would create the lock directory" in planned["msg"]
    assert not path.parent.exists()
    RunLock(params(path=str(path)), check_mode=False).run()
    assert oct(path.parent.stat().st_mode & 0o7777) == "0o700"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("state", ["acquired", "released", "renewed", "broken", "status"])
def test_odd_paths_are_refused_naming_path(tmp_path, state):
    (tmp_path / "a-dir").mkdir()
    cases = {
        str(tmp_path / "a-dir"): "is not a regular file",
        str(tmp_path / "missing" / "deeper" / "x.lock"): "the lock directory's parent",
    }
    for path, cause in cases.items():
        with pytest.raises(ModuleError, match=rf"^Cannot \w+ the lock path={re.escape(path)}: .*{cause}"):
            RunLock(params(path=path, state=state), check_mode=False).run()


def test_a_symlinked_lock_file_is_refused_and_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text(json.dumps(holder()))
    (tmp_path / "maintenance.lock").symlink_to(target)
    for state in ("acquired", "status", "released"):
        with pytest.raises(ModuleError, match=r"the lock .*/maintenance.lock is a symlink: refused"):
            RunLock(params(path=str(tmp_path / "maintenance.lock"), state=state), check_mode=False).run()
    assert json.loads(target.read_text()) == holder()


def test_break_removes_only_the_named_runs_lock(tmp_path):
    path = str(tmp_path / "maintenance.lock")
    RunLock(params(path=path, run_id="a", holder_pid=os.getpid(), awx_job_id="17"), check_mode=False).run()
    with pytest.raises(ModuleError, match=r"^Cannot break the lock path=.*: it is held by run a .* not by run b"):
        RunLock(params(path=path, run_id="b", state="broken"), check_mode=False).run()
    planned = RunLock(params(path=path, run_id="a", state="broken"), check_mode=True).run()
    assert planned["changed"] and not planned["broken"] and os.path.exists(path)
    broken = RunLock(params(path=path, run_id="a", state="broken"), check_mode=False).run()
    assert broken["changed"] and broken["broken"] and broken["holder"]["run_id"] == "a"
    assert broken["msg"].startswith("broke the lock of run a (daily.yml)") and "AWX job 17" in broken["msg"]
    assert [f["check"] for f in broken["findings"]] == ["run_lock_broken"]
    assert "jarvis_run_lock_break=a" in broken["findings"][0]["message"]
    assert not os.path.exists(path)
    again = RunLock(params(path=path, run_id="a", state="broken"), check_mode=False).run()
    assert not again["changed"] and again["msg"] == "no lock to break"


def test_release_decides_under_the_guard(tmp_path):
    """Run a releases while run b holds the guard, about to take a's lock over: a must wait for
    the guard and then leave b's lock alone (before, a read its own lock, and then unlinked
    whatever was there)."""
    path = tmp_path / "maintenance.lock"
    RunLock(params(path=str(path), run_id="a", holder_pid=os.getpid()), check_mode=False).run()
    guard = os.open(str(path) + ".guard", os.O_RDWR)
    fcntl.flock(guard, fcntl.LOCK_EX)
    results = []
    release = threading.Thread(
        target=lambda: results.append(
            RunLock(params(path=str(path), run_id="a", state="released"), check_mode=False).run()
        )
    )
    try:
        release.start()
        time.sleep(0.5)
        assert path.exists() and release.is_alive(), "the release did not wait for the guard"
        path.unlink()  # b takes the lock over, under the guard
        path.write_text(json.dumps(holder(run_id="b")))
    finally:
        os.close(guard)
        release.join(10)
    assert results and not results[0]["released"], results
    assert json.loads(path.read_text())["run_id"] == "b"


ODD_PATHS = st.one_of(
    st.sampled_from(["", " ", "/", "//", ".", "..", "relative.lock", "/x.lock", "/etc/", "/proc/self/status"]),
    st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=30),
)
NUMBERS = st.one_of(
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 0.0, -1.0, 1e300, 1e-300, 90.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)


ODD_VALUES = st.one_of(
    st.tuples(st.just("path"), ODD_PATHS),
    st.tuples(st.just("state"), st.sampled_from(["acquired", "renewed", "released", "broken", "status"])),
    st.tuples(st.just("run_id"), st.one_of(st.none(), st.text(max_size=20))),
    st.tuples(st.sampled_from(["lease_minutes", "max_age_hours", "poll_seconds"]), NUMBERS),
    st.tuples(st.just("wait_seconds"), st.integers(min_value=-(2**40), max_value=2)),
    st.tuples(st.just("holder_pid"), st.integers(min_value=-(2**70), max_value=2**70)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    state=st.sampled_from(["acquired", "renewed", "released", "broken", "status"]), odd=st.lists(ODD_VALUES, max_size=3)
)
def test_any_arguments_give_a_result_or_a_message_and_check_mode_changes_nothing(tmp_path, state, odd):
    """Issue 21 item 13: whatever the arguments (one to three odd ones on valid others), check mode
    gives a result or a ModuleError naming what is wrong (never another exception) and creates
    nothing. An odd path is also tried under tmp_path."""
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    values = params(**{"path": str(tmp_path / "maintenance.lock"), "state": state, **dict(odd)})
    candidates = [values["path"]]
    if isinstance(values["path"], str) and values["path"].strip():
        candidates.append(str(tmp_path / values["path"].replace("..", "_").lstrip("/")))
    for candidate in candidates:
        try:
            result = RunLock({**values, "path": candidate}, check_mode=True).run()
        except ModuleError as exc:
            assert str(exc).startswith(("Cannot ", "another maintenance run holds")), exc
        else:
            assert isinstance(result, dict)
            assert "msg" in result or "locked" in result
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
