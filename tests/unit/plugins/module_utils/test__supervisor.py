# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._supervisor import (
    parse_status,
    select,
    uptime_seconds,
)

STATUS = """\
backend                          RUNNING   pid 6297, uptime 0:00:59
frontend                         STOPPED   Nov 29 01:56 AM
workers:worker_00                RUNNING   pid 7001, uptime 2 days, 3:04:05
workers:worker_01                FATAL     Exited too quickly (process log may have details)
cron                             BACKOFF   Exited too quickly (process log may have details)
nosuch: ERROR (no such process)
unix:///run/supervisor.sock no such file
"""


@pytest.mark.parametrize(
    ("description", "seconds"),
    [
        ("pid 6297, uptime 0:00:59", 59),
        ("pid 1, uptime 1:02:03", 3723),
        ("pid 7001, uptime 2 days, 3:04:05", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("pid 7001, uptime 1 day, 0:00:00", 86400),
        ("Nov 29 01:56 AM", None),
        ("", None),
    ],
)
def test_uptime_seconds(description, seconds):
    assert uptime_seconds(description) == seconds


def test_parse_status_states_and_details():
    programs, missing, other = parse_status(STATUS)
    assert programs["backend"] == {
        "state": "RUNNING",
        "running": True,
        "pid": 6297,
        "uptime_seconds": 59,
        "description": "pid 6297, uptime 0:00:59",
    }
    assert programs["frontend"]["state"] == "STOPPED"
    assert programs["frontend"]["running"] is False
    assert programs["frontend"]["pid"] is None
    assert programs["workers:worker_00"]["uptime_seconds"] == 183845
    assert programs["workers:worker_01"]["state"] == "FATAL"
    assert programs["cron"]["state"] == "BACKOFF"
    assert missing == ["nosuch"]
    assert other == ["unix:///run/supervisor.sock no such file"]


@pytest.mark.parametrize(
    "line",
    [
        "refused connection",
        "backend                          SLEEPING   pid 1",
        "error: <class 'socket.error'>, [Errno 2] No such file or directory: file: /x line: 1",
    ],
)
def test_parse_status_ignores_other_lines(line):
    programs, missing, other = parse_status(line)
    assert programs == {}
    assert missing == []
    assert other == [line]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([], ["backend", "cron", "frontend", "workers:worker_00", "workers:worker_01"]),
        (["backend"], ["backend"]),
        (["workers"], ["workers:worker_00", "workers:worker_01"]),
        (["worker_01"], ["workers:worker_01"]),
        (["nosuch"], []),
        (["backend", "frontend"], ["backend", "frontend"]),
    ],
)
def test_select(names, expected):
    programs, _missing, _other = parse_status(STATUS)
    assert sorted(select(programs, names)) == expected
