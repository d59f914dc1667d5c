# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import threading
from pathlib import Path

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._run_lock import (
    LockError,
    RunLock,
    check_params,
    describe,
    parse_holder,
    staleness,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOST = "ops01"


def holder(started="2026-11-29T11:00:00Z", host=HOST, pid=4242, run_id="daily-1"):
    return {"run_id": run_id, "playbook": "daily.yml", "started": started, "holder_host": host, "holder_pid": pid}


def params(**overrides):
    values = {
        "path": "/tmp/x.lock",
        "state": "acquired",
        "run_id": "run-1",
        "playbook": "daily.yml",
        "holder_host": "",
        "holder_pid": 0,
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
    ],
)
def test_staleness(lock, alive, expected):
    assert staleness(lock, NOW, 12.0, HOST, lambda pid: alive) == expected


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


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"run_id": None}, "run_id is required with state=acquired"),
        ({"run_id": "  ", "state": "released"}, "run_id is required with state=released"),
        ({"max_age_hours": 0}, "max_age_hours must be greater than 0"),
        ({"holder_pid": -1}, "holder_pid must be 0 (unknown) or a process id"),
        ({"wait_seconds": -1}, "wait_seconds must be 0 (fail at once) or more, got -1"),
        ({"poll_seconds": 0}, "poll_seconds must be greater than 0"),
    ],
)
def test_check_params(overrides, message):
    with pytest.raises(LockError, match=re.escape(message)):
        check_params(params(**overrides))


def test_status_needs_no_run_id():
    check_params(params(state="status", run_id=None))


def test_two_runs_one_lock(tmp_path):
    path = str(tmp_path / "maintenance.lock")
    first = RunLock(params(path=path, run_id="a", holder_pid=os.getpid()), check_mode=False).run()
    assert first["changed"] and first["acquired"] and first["taken_over"] is None
    again = RunLock(params(path=path, run_id="a"), check_mode=False).run()
    assert not again["changed"]
    with pytest.raises(LockError, match=r"another maintenance run holds .* run a \(daily.yml\)"):
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
    with pytest.raises(LockError, match=r"holds .* run a \(daily.yml\).* \(waited 15 s\)$"):
        lock.acquire_waiting(clock=lambda: float(next(clock)), sleep=slept.append)
    assert slept == [5.0, 2.0]  # the fake clock moves 5 s a reading: 0 start, fails at 5, 10, 15
    assert json.loads(Path(path).read_text(encoding="utf-8"))["run_id"] == "a"
