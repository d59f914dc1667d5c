# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""CPU and memory of containers as data, judged against thresholds: the backend of container_stats.

The runbook's weekly performance tuning read ``docker stats --format table`` with awk, compared
the CPU column with bc and flagged a container whose memory column merely contained "GiB". Here
``docker inspect`` says which containers exist and run, ``docker stats --format '{{json .}}'``
gives each running one's figures, and the pure functions below turn "45.6MiB / 23.4GiB" and
"12.34%" into numbers and the numbers into findings. A container that is missing or stopped is a
warning finding, not a failure; output that cannot be parsed fails with the line itself.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    OK,
    WARNING,
    Finding,
    classify,
    severity_rank,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import (
    KILL_AFTER,
    TIMEOUT_CODES,
    seconds,
    tail,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes, parse_size

GIB = 1024**3
RAW_SHOWN = 300  # characters of an unparseable line quoted in the failure message

_NUMBER = re.compile(r"^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_MISSING = re.compile(r"No such (?:container|object): (?P<name>\S+)")
NOT_MEASURED = ("--", "")  # what docker stats prints for a container that is not running


CANNOT = "Cannot measure the containers"

# Documented in the module's thresholds option. The runbook's memory rule is a warning from 1 GiB
# in use ("GiB" in docker's column); the critical level is a share of the container's limit.
THRESHOLDS = {
    "cpu_percent": Threshold(80.0, 95.0, "%"),
    "memory_bytes": Threshold(float(GIB), None, " bytes"),
    "memory_percent": Threshold(None, 90.0, "%"),
}

# The module's options; documented in plugins/modules/container_stats_info.py.
ARGUMENT_SPEC = {
    "containers": {"type": "list", "elements": "str", "required": True},
    "thresholds": _thresholds.option(THRESHOLDS),
    "docker_binary": {"type": "str", "default": "docker"},
    "timeout": {"type": "float", "default": 30.0},
}


def check_params(params: dict[str, Any]) -> None:
    """Raise ModuleError naming the first unusable parameter (pure)."""
    names = params.get("containers") or []
    if not names:
        raise ModuleError(f"{CANNOT}: containers must name at least one container")
    blank = [index for index, name in enumerate(names) if not str(name).strip()]
    if blank:
        raise ModuleError(f"{CANNOT}: containers must not hold an empty name (item {blank[0]})")
    _thresholds.validate(THRESHOLDS, params["thresholds"], "measure the containers")
    for level in ("memory_percent_warning", "memory_percent_critical"):
        if (params["thresholds"][level] or 0) > 100:
            raise ModuleError(f"{CANNOT}: thresholds.{level} must be at most 100, got {params['thresholds'][level]:g}")
    if params["timeout"] <= 0:
        raise ModuleError(f"{CANNOT}: timeout must be above 0 seconds, got {params['timeout']:g}")


def parse_usage(text: str) -> tuple[int | None, int | None]:
    """(used, limit) bytes of docker's MemUsage "45.6MiB / 23.4GiB" (pure).

    (None, None) for a container docker could not measure ("-- / --"); no limit for a Windows
    container, whose MemUsage is the used size alone.
    """
    if not isinstance(text, str):
        raise ValueError(f"not a memory usage: {text!r}")
    parts = [part.strip() for part in text.split("/")]
    if all(part in NOT_MEASURED for part in parts):
        return None, None
    if len(parts) == 1:
        return parse_size(parts[0]), None
    if len(parts) != 2:
        raise ValueError(f"not a memory usage ('used / limit'): {text!r}")
    return parse_size(parts[0]), parse_size(parts[1])


def parse_percent(text: str) -> float | None:
    """12.34 for "12.34%"; None for "--" (pure). ValueError when it is not a percentage."""
    if not isinstance(text, str):
        raise ValueError(f"not a percentage: {text!r}")
    value = text.strip()
    if value in NOT_MEASURED:
        return None
    if value.endswith("%"):
        value = value[:-1].strip()
    if not _NUMBER.match(value):
        raise ValueError(f"not a percentage: {text!r}")
    return float(value)


def parse_count(text: str) -> int | None:
    """7 for "7"; None for "--" (pure). ValueError when it is not a whole number."""
    value = str(text).strip()
    if value in NOT_MEASURED:
        return None
    if not value.isdigit():
        raise ValueError(f"not a count: {text!r}")
    return int(value)


def trimmed(line: str) -> str:
    text = line.strip()
    return text if len(text) <= RAW_SHOWN else text[:RAW_SHOWN] + "..."


def parse_stats_line(line: str) -> tuple[str, dict[str, Any]]:
    """The container named in one line of ``docker stats --format '{{json .}}'`` and its figures (pure).

    Raises ModuleError quoting the line when it is not JSON or a field cannot be read.
    """
    try:
        entry = json.loads(line)
    except ValueError:
        raise ModuleError(f"Cannot parse the output of docker stats (not JSON): {trimmed(line)}") from None
    if not isinstance(entry, dict):
        raise ModuleError(f"Cannot parse the output of docker stats (not an object): {trimmed(line)}")
    name = entry.get("Container") or entry.get("Name")
    if not isinstance(name, str) or not name:
        raise ModuleError(f"Cannot parse the output of docker stats (no Container field): {trimmed(line)}")
    try:
        used, limit = parse_usage(entry.get("MemUsage", "--"))
        figures = {
            "cpu_percent": parse_percent(entry.get("CPUPerc", "--")),
            "memory_bytes": used,
            "memory_limit_bytes": limit,
            "memory_percent": parse_percent(entry.get("MemPerc", "--")),
            "pids": parse_count(entry.get("PIDs", "--")),
        }
    except ValueError as exc:
        raise ModuleError(f"Cannot parse the output of docker stats ({exc}): {trimmed(line)}") from None
    return name, figures


def parse_stats(output: str) -> dict[str, dict[str, Any]]:
    """Figures of every line of docker stats' output, by the name it was asked for (pure)."""
    result = {}
    for line in output.splitlines():
        if line.strip():
            name, figures = parse_stats_line(line)
            result[name] = figures
    return result


def parse_inspect(output: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """State of each requested container from ``docker inspect --type container`` (a JSON array) (pure).

    A container is matched by its name or an ID prefix; one docker does not know has state "missing".
    """
    text = output.strip() or "[]"
    try:
        entries = json.loads(text)
    except ValueError:
        raise ModuleError(f"Cannot parse the output of docker inspect (not JSON): {trimmed(text)}") from None
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ModuleError(f"Cannot parse the output of docker inspect (not a list of objects): {trimmed(text)}")
    result = {}
    for name in names:
        found = next((entry for entry in entries if _is(entry, name)), None)
        if found is None:
            result[name] = {"state": "missing", "running": False, "restart_count": None, "started_at": None,
                            "health": None, "memory_limited": None}  # fmt: skip
            continue
        state = found.get("State") or {}
        result[name] = {
            "state": str(state.get("Status") or "unknown"),
            "running": bool(state.get("Running")) and not state.get("Paused") and not state.get("Restarting"),
            "restart_count": found.get("RestartCount"),
            "started_at": state.get("StartedAt"),
            "health": (state.get("Health") or {}).get("Status"),
            "memory_limited": bool((found.get("HostConfig") or {}).get("Memory")),
        }
    return result


def _is(entry: dict[str, Any], name: str) -> bool:
    return str(entry.get("Name", "")).lstrip("/") == name.lstrip("/") or (
        len(name) >= 12 and str(entry.get("Id", "")).startswith(name)
    )


def missing_names(stderr: str) -> list[str]:
    """The containers docker's error output says do not exist (pure)."""
    return [match.group("name") for match in _MISSING.finditer(stderr)]


def only_missing(stderr: str) -> bool:
    """True when every error line of docker is "No such container/object" (pure)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return all(_MISSING.search(line) for line in lines)


def state_finding(name: str, state: str) -> Finding:
    """The warning for a container that cannot be measured (missing, stopped)."""
    if state == "missing":
        message = f"Container {name} does not exist"
        recommendation = f"Check the container's name, or why it is gone (docker ps -a --filter name={name})."
    else:
        message = f"Container {name} is not running ({state}), so its CPU and memory were not measured"
        recommendation = f"Find out why it is not running (docker logs {name}) and start it."
    return Finding(
        check="container_state",
        severity=WARNING,
        subject=name,
        value=state,
        threshold="running",
        message=message,
        recommendation=recommendation,
    )


def cpu_finding(name: str, cpu_percent: float, thresholds: dict[str, Any]) -> Finding:
    return _thresholds.judge(
        THRESHOLDS,
        thresholds,
        "cpu_percent",
        name,
        round(cpu_percent, 2),
        check="container_cpu",
        label=f"CPU use of {name}",
        recommendation=(
            f"Find what keeps {name} busy (docker top {name}, its logs, slow requests); restart it in a maintenance "
            "window if it does not settle."
        ),
    )


LEAK = "Watch whether the memory of {name} keeps growing (a leak); restart it in a maintenance window if it does."
OOM = (
    "{name} is close to its memory limit and may be killed (OOM): look for a leak or raise the limit; "
    "a restart in a maintenance window frees the memory for a while."
)


def memory_finding(
    name: str,
    memory_bytes: int,
    memory_percent: float | None,
    limit_bytes: int | None,
    thresholds: dict[str, Any],
    limited: bool | None = True,
) -> Finding:
    """The worse of memory in use (bytes, the runbook's "GiB" rule) and its share of the limit (percent).

    The limit is the container's memory limit, or the host's memory when it has none (docker's MemUsage).
    Value and threshold are in bytes: a level in percent is turned into bytes of the limit.
    """
    if memory_percent is None and limit_bytes:
        memory_percent = 100.0 * memory_bytes / limit_bytes
    whose = "its" if limited or limited is None else "the host's"
    of_limit = ""
    if limit_bytes:
        of_limit = f" ({round(memory_percent or 0, 2):g}% of {whose} {human_bytes(limit_bytes)}"
        of_limit += " limit)" if whose == "its" else ", no memory limit set)"
    judged = []  # (severity, threshold in bytes, the level as shown, which level, advice); bytes first wins a tie
    warning, critical = _thresholds.levels(thresholds, "memory_bytes")
    if warning is not None or critical is not None:
        severity, level = classify(memory_bytes, warning, critical)
        judged.append((severity, int(level), human_bytes(int(level)), warning is None, LEAK))
    warning, critical = _thresholds.levels(thresholds, "memory_percent")
    if limit_bytes and memory_percent is not None and (warning is not None or critical is not None):
        severity, level = classify(memory_percent, warning, critical)
        judged.append((severity, int(limit_bytes * level / 100), f"{level:g}% of the limit", warning is None, OOM))
    message = f"Memory use of {name} is {human_bytes(memory_bytes)}{of_limit}"
    if not judged:
        return Finding("container_memory", OK, name, memory_bytes, None, f"{message}, no memory threshold set")
    severity, threshold, level, critical_only, advice = max(judged, key=lambda one: severity_rank(one[0]))
    if severity == OK:
        message += f", below the {'critical' if critical_only else 'warning'} threshold {level}"
        advice = ""
    else:
        message += f", at or above the {severity} threshold {level}"
    return Finding("container_memory", severity, name, memory_bytes, threshold, message, advice.format(name=name))


def judge(containers: dict[str, dict[str, Any]], params: dict[str, Any]) -> list[Finding]:
    """Findings for measured containers: CPU and memory for a running one, its state otherwise (pure)."""
    result = []
    thresholds = params["thresholds"]
    for name, info in containers.items():
        if not info.get("running") or info.get("cpu_percent") is None or info.get("memory_bytes") is None:
            state = info.get("state") or "unknown"
            result.append(state_finding(name, "stopped" if state == "running" else state))
            continue
        result.append(cpu_finding(name, info["cpu_percent"], thresholds))
        result.append(
            memory_finding(
                name,
                info["memory_bytes"],
                info.get("memory_percent"),
                info.get("memory_limit_bytes"),
                thresholds,
                info.get("memory_limited"),
            )
        )
    return result


EMPTY_FIGURES = {"cpu_percent": None, "memory_bytes": None, "memory_limit_bytes": None, "memory_percent": None,
                 "pids": None}  # fmt: skip


class ContainerStats(Backend):
    """Backend of the container_stats module."""

    def docker(self) -> str:
        binary = self.params["docker_binary"]
        if os.path.sep in binary:
            return binary
        found = self.host.get_bin_path(binary)
        if not found:
            raise ModuleError(f"Cannot read container stats: {binary} was not found on PATH (see docker_binary)")
        return found

    def docker_run(self, argv: list[str]) -> tuple[int, str, str]:
        timeout = self.params["timeout"]
        command = ["timeout", "-k", str(KILL_AFTER), seconds(timeout), *argv]
        rc, out, err = self.host.run_command(command)
        if rc in TIMEOUT_CODES:
            raise ModuleError(f"Cannot read container stats: docker {argv[1]} timed out after {timeout:g} s")
        return rc, out, err

    def inspect(self, docker: str, names: list[str]) -> dict[str, dict[str, Any]]:
        rc, out, err = self.docker_run([docker, "inspect", "--type", "container", *names])
        if rc != 0 and not only_missing(err):
            raise ModuleError(f"Cannot inspect the containers: docker inspect exited with {rc}: {tail(err or out)}")
        return parse_inspect(out, names)

    def stats(self, docker: str, names: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Figures of the running containers, and those that vanished since docker inspect."""
        vanished: list[str] = []
        while names:
            rc, out, err = self.docker_run(
                [docker, "stats", "--no-stream", "--no-trunc", "--format", "{{json .}}", *names]
            )
            if rc == 0:
                return parse_stats(out), vanished
            gone = [name for name in missing_names(err) if name in names]
            if not gone or not only_missing(err):
                raise ModuleError(f"Cannot read container stats: docker stats exited with {rc}: {tail(err or out)}")
            vanished.extend(gone)
            names = [name for name in names if name not in gone]
        return {}, vanished

    def run(self) -> dict[str, Any]:
        check_params(self.params)
        names = list(dict.fromkeys(name.strip() for name in self.params["containers"]))
        docker = self.docker()
        states = self.inspect(docker, names)
        figures, vanished = self.stats(docker, [name for name in names if states[name]["running"]])
        containers = {}
        for name in names:
            state = states[name]
            if name in vanished:
                state = {**state, "state": "missing", "running": False}
            measured = figures.get(name, EMPTY_FIGURES) if state["running"] else EMPTY_FIGURES
            containers[name] = {"name": name, **measured, **state}
        found = judge(containers, self.params)
        return {
            "changed": False,
            "containers": containers,
            "findings": [f.as_dict() for f in found],
            "thresholds": self.params["thresholds"],
        }
