# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""State of supervisord programs, as data: supervisorctl's status lines parsed once, here."""

from __future__ import annotations

import re
from typing import Any

# supervisord's process states (supervisor.states.ProcessStates).
STATES = ("STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN")

_STATUS_LINE = re.compile(r"^(?P<name>\S+)\s+(?P<state>" + "|".join(STATES) + r")\b\s*(?P<description>.*)$")
_NO_SUCH = re.compile(r"^(?P<name>\S+?):\s+ERROR \(no such (?:process|group)\)")
_PID = re.compile(r"\bpid (\d+)")
_UPTIME = re.compile(r"\buptime (?:(\d+) days?, )?(\d+):(\d{2}):(\d{2})")


def argument_spec() -> dict[str, Any]:
    return dict(
        names=dict(type="list", elements="str", default=[]),
        config=dict(type="path"),
        server_url=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        supervisorctl_path=dict(type="path"),
    )


def uptime_seconds(description: str) -> int | None:
    """Seconds from supervisorctl's "pid 12, uptime 2 days, 3:04:05"; None when it has none."""
    match = _UPTIME.search(description)
    if not match:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def parse_status(output: str) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
    """Programs by name, the names supervisord does not know, and lines that were neither."""
    programs: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    other: list[str] = []
    for line in output.splitlines():
        line = line.strip()
        if not line:
            continue
        match = _STATUS_LINE.match(line)
        if match:
            description = match.group("description").strip()
            pid = _PID.search(description)
            programs[match.group("name")] = {
                "state": match.group("state"),
                "running": match.group("state") == "RUNNING",
                "pid": int(pid.group(1)) if pid else None,
                "uptime_seconds": uptime_seconds(description),
                "description": description,
            }
            continue
        match = _NO_SUCH.match(line)
        if match:
            missing.append(match.group("name"))
        else:
            other.append(line)
    return programs, missing, other


def select(programs: dict[str, dict[str, Any]], names: list[str]) -> dict[str, dict[str, Any]]:
    """The programs asked for; a name also matches group:name entries of a group of that name."""
    if not names:
        return programs
    chosen: dict[str, dict[str, Any]] = {}
    for name in names:
        for full, info in programs.items():
            if full == name or full.split(":", 1)[0] == name or full.split(":", 1)[-1] == name:
                chosen[full] = info
    return chosen


class SupervisorStatus:
    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params

    def command(self) -> list[str]:
        path = self.params["supervisorctl_path"] or self.module.get_bin_path("supervisorctl", required=False)
        if not path:
            self.module.fail_json(
                msg="Cannot query supervisord: supervisorctl was not found on PATH; set supervisorctl_path"
            )
        command = [path]
        for option, flag in (("config", "-c"), ("server_url", "-s"), ("username", "-u"), ("password", "-p")):
            if self.params[option]:
                command += [flag, self.params[option]]
        return [*command, "status"]

    def run(self) -> dict[str, Any]:
        # Status of every program: asking for unknown names would hide the known ones behind exit code 4.
        rc, out, err = self.module.run_command(self.command(), environ_update={"LC_ALL": "C"})
        programs, missing, other = parse_status(out)
        if not programs and rc not in (0, 3):
            cause = " ".join(part.strip() for part in (out, err) if part.strip()) or f"exit code {rc}"
            self.module.fail_json(msg=f"Cannot query supervisord: {cause}", rc=rc)
        names = self.params["names"]
        chosen = select(programs, names)
        missing += [name for name in names if not select(programs, [name])]
        return {
            "changed": False,
            "programs": chosen,
            "missing": sorted(set(missing)),
            "all_running": bool(chosen) and all(info["running"] for info in chosen.values()) and not missing,
            "unparsed": other,
        }
