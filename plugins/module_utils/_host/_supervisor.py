# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""State of supervisord programs, as data: supervisorctl's status lines parsed once, here.

The password never goes on supervisorctl's command line (``-p``), where every user of the host reads
it in ``ps``: it goes into a configuration file of mode 0600 in a private directory, created with
O_EXCL for this one call and removed afterwards, and supervisorctl reads that file (``-c``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend

# supervisord's process states (supervisor.states.ProcessStates).
STATES = ("STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN")

_STATUS_LINE = re.compile(r"^(?P<name>\S+)\s+(?P<state>" + "|".join(STATES) + r")\b\s*(?P<description>.*)$")
_NO_SUCH = re.compile(r"^(?P<name>\S+?):\s+ERROR \(no such (?:process|group)\)")
_PID = re.compile(r"\bpid (\d+)")
_UPTIME = re.compile(r"\buptime (?:(\d+) days?, )?(\d+):(\d{2}):(\d{2})")


CANNOT = "Cannot query supervisord"

# The module's options; documented in plugins/modules/supervisor_status_info.py.
ARGUMENT_SPEC = {
    "names": {"type": "list", "elements": "str", "default": []},
    "config": {"type": "path"},
    "server_url": {"type": "str"},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "supervisorctl_path": {"type": "path"},
}


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


def config_value(name: str, value: str) -> str:
    """value as supervisorctl's configuration file reads it back unchanged (supervisor expands
    '%'); ValueError naming the parameter for what the file format cannot carry (pure)."""
    if any(char in value for char in "\r\n\0"):
        raise ValueError(f"{name} must not contain a line break or a NUL character")
    if value != value.strip():
        raise ValueError(f"{name} must not begin or end with white space")
    if re.search(r"\s[;#]", value):
        raise ValueError(f"{name} must not contain white space followed by ';' or '#' (read as a comment)")
    return value.replace("%", "%%")


def client_config(server_url: str, username: str | None, password: str) -> str:
    """The [supervisorctl] section that carries the credentials (pure)."""
    lines = ["[supervisorctl]", f"serverurl = {config_value('server_url', server_url)}"]
    if username:
        lines.append(f"username = {config_value('username', username)}")
    lines.append(f"password = {config_value('password', password)}")
    return "\n".join(lines) + "\n"


def write_private(directory: str, name: str, text: str) -> str:
    """text in a new file of mode 0600 in directory, which must not hold it yet; its path."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


class SupervisorStatus(Backend):
    """Backend of the supervisor_status module."""

    def check_params(self) -> None:
        if not self.params["password"]:
            return
        if self.params["config"]:
            raise ModuleError(
                f"{CANNOT}: config and password cannot be used together: with password, supervisorctl reads a private "
                "configuration file made for the call instead of config; set server_url (and username) instead "
                "of config, or put the password into config's [supervisorctl] section and leave password out"
            )
        if not self.params["server_url"]:
            raise ModuleError(
                f"{CANNOT}: password needs server_url (for example unix:///run/supervisor.sock): "
                "supervisorctl then reads "
                "both from a private configuration file instead of its command line"
            )

    def supervisorctl(self) -> str:
        """The supervisorctl to run, checked first: run_command would fail the module with a raw
        exception for a path that is not an executable file."""
        given = self.params["supervisorctl_path"]
        if given:
            if not (os.path.isfile(given) and os.access(given, os.X_OK)):
                raise ModuleError(f"{CANNOT}: supervisorctl_path {given} is not an executable file")
            return given
        path = self.host.get_bin_path("supervisorctl")
        if not path:
            raise ModuleError(f"{CANNOT}: supervisorctl was not found on PATH; set supervisorctl_path")
        return path

    def command(self, private_config: str | None = None) -> list[str]:
        """supervisorctl's argv: credentials only in private_config, never on the command line."""
        command = [self.supervisorctl()]
        if private_config:
            return [*command, "-c", private_config, "status"]
        for option, flag in (("config", "-c"), ("server_url", "-s"), ("username", "-u")):
            if self.params[option]:
                command += [flag, self.params[option]]
        return [*command, "status"]

    def status(self) -> tuple[int, str, str]:
        if not self.params["password"]:
            return self.host.run_command(self.command(), environ_update={"LC_ALL": "C"})
        try:
            text = client_config(self.params["server_url"], self.params["username"], self.params["password"])
        except ValueError as exc:
            raise ModuleError(f"{CANNOT}: {exc}: supervisorctl reads it from a configuration file") from None
        directory = tempfile.mkdtemp(prefix="jarvis-supervisorctl-")  # mode 0700, a new name
        try:
            config = write_private(directory, "supervisorctl.conf", text)
            return self.host.run_command(self.command(config), environ_update={"LC_ALL": "C"})
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def run(self) -> dict[str, Any]:
        self.check_params()
        # Status of every program: asking for unknown names would hide the known ones behind exit code 4.
        rc, out, err = self.status()
        programs, missing, other = parse_status(out)
        if not programs and rc not in (0, 3):
            cause = " ".join(part.strip() for part in (out, err) if part.strip()) or f"exit code {rc}"
            if "401 Unauthorized" in cause or "requires authentication" in cause:
                cause = "supervisord refused the credentials (401 Unauthorized): check username and password"
            raise ModuleError(f"{CANNOT}: {cause}", rc=rc)
        names = self.params["names"]
        chosen = select(programs, names)
        missing += [name for name in names if not select(programs, [name])]
        return {
            "changed": False,
            "programs": chosen,
            "missing": sorted(set(missing)),
            "all_running": bool(chosen) and all(info["running"] for info in chosen.values()) and not missing,
            "unparsed": [redact(line) for line in other],
        }
