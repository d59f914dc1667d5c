# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import shutil
import stat

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._supervisor import (
    SupervisorStatus,
    client_config,
    config_value,
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


# an executable file that stands for supervisorctl: FakeModule records the call instead of running it
CTL = shutil.which("true")


class FakeModule:
    """Records supervisorctl's argv and the private configuration file as it is during the call."""

    def __init__(self, **params):
        self.params = {
            "names": [],
            "config": None,
            "server_url": None,
            "username": None,
            "password": None,
            "supervisorctl_path": CTL,
            **params,
        }
        self.calls = []

    def run_command(self, argv, environ_update=None):
        seen = {"argv": argv}
        if "-c" in argv:
            path = argv[argv.index("-c") + 1]
            if os.path.exists(path):
                seen["mode"] = stat.S_IMODE(os.stat(path).st_mode)
                seen["dir_mode"] = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
                with open(path, encoding="utf-8") as handle:
                    seen["text"] = handle.read()
        self.calls.append(seen)
        return 0, STATUS, ""


def test_the_password_is_never_on_the_command_line():
    module = FakeModule(server_url="unix:///run/s.sock", username="ops", password="pa%ss-Secret")
    result = SupervisorStatus(module.params, False, module).run()
    call = module.calls[0]
    assert "pa%ss-Secret" not in " ".join(call["argv"])
    assert "-p" not in call["argv"] and "-u" not in call["argv"]
    assert call["argv"][0] == CTL and call["argv"][-1] == "status"
    assert call["mode"] == 0o600 and call["dir_mode"] == 0o700
    assert call["text"] == "[supervisorctl]\nserverurl = unix:///run/s.sock\nusername = ops\npassword = pa%%ss-Secret\n"
    # removed after the call, directory and all
    assert not os.path.exists(os.path.dirname(call["argv"][2]))
    assert result["programs"]["backend"]["running"]


def test_without_a_password_the_options_stay_flags():
    module = FakeModule(config="/etc/supervisor/supervisord.conf", server_url="unix:///run/s.sock", username="ops")
    SupervisorStatus(module.params, False, module).run()
    assert module.calls[0]["argv"] == [
        CTL, "-c", "/etc/supervisor/supervisord.conf", "-s", "unix:///run/s.sock", "-u", "ops",
        "status",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"config": "/etc/s.conf", "server_url": "unix:///s", "password": "x"}, "config and password cannot be used"),
        ({"password": "x"}, "password needs server_url"),
        ({"server_url": "unix:///s", "password": "two\nlines"}, "password must not contain a line break"),
        ({"server_url": "unix:///s", "password": " padded"}, "password must not begin or end with white space"),
        ({"server_url": "unix:///s", "password": "a ;b"}, "password must not contain white space followed by"),
    ],
)
def test_refusals_name_the_parameter(params, message):
    module = FakeModule(**params)
    with pytest.raises(ModuleError, match=message):
        SupervisorStatus(module.params, False, module).run()
    assert module.calls == []


@pytest.mark.parametrize(
    ("value", "written"),
    [("plain", "plain"), ("50%off", "50%%off"), ("a;b#c", "a;b#c"), ("%(ENV_HOME)s", "%%(ENV_HOME)s")],
)
def test_config_value(value, written):
    assert config_value("password", value) == written


def test_client_config_without_username():
    assert client_config("http://127.0.0.1:9001", None, "s") == (
        "[supervisorctl]\nserverurl = http://127.0.0.1:9001\npassword = s\n"
    )


@pytest.mark.parametrize("kind", ["missing", "not executable", "directory"])
def test_a_supervisorctl_path_that_is_not_an_executable_file_is_refused_before_running(tmp_path, kind):
    path = tmp_path / "supervisorctl"
    if kind == "not executable":
        path.write_text("#!/bin/sh\n")
        path.chmod(0o644)
    elif kind == "directory":
        path.mkdir()
    module = FakeModule(supervisorctl_path=str(path))
    with pytest.raises(ModuleError, match=f"supervisorctl_path {path} is not an executable file"):
        SupervisorStatus(module.params, False, module).run()
    assert module.calls == []
