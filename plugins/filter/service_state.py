# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One shape for a service's state, whichever manager reported it (the services role's `status`)."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

MANAGERS = ("supervisor", "docker", "systemd")


def _supervisor(result: dict[str, Any], name: str) -> dict[str, Any]:
    program = (result.get("programs") or {}).get(name)
    if not program:
        return {
            "unit": name,
            "state": "MISSING",
            "running": False,
            "detail": "supervisord has no program of this name",
            "restarts": None,
        }
    return {
        "unit": name,
        "state": program.get("state", "UNKNOWN"),
        "running": bool(program.get("running")),
        "detail": program.get("description", ""),
        # supervisord does not count the restarts it made
        "restarts": None,
    }


def _docker(result: dict[str, Any], name: str) -> dict[str, Any]:
    container = result.get("container") or {}
    unit = (container.get("Name") or "").lstrip("/") or name
    if not result.get("exists") or not container:
        return {
            "unit": unit,
            "state": "missing",
            "running": False,
            "detail": "no container of this name",
            "restarts": None,
        }
    state = container.get("State") or {}
    health = (state.get("Health") or {}).get("Status")
    running = bool(state.get("Running")) and health != "unhealthy"
    if health:
        detail = f"health {health}"
    elif state.get("Running"):
        detail = f"started {state.get('StartedAt', '?')}"
    else:
        detail = f"exit code {state.get('ExitCode', '?')}"
    if state.get("Restarting"):
        detail += ", restarting"
    # restarts made by the container's restart policy since it was created (crashes, not `docker restart`)
    restarts = container.get("RestartCount")
    return {
        "unit": unit,
        "state": state.get("Status", "unknown"),
        "running": running,
        "detail": detail,
        "restarts": restarts if isinstance(restarts, int) else None,
    }


def _systemd(result: dict[str, Any], name: str) -> dict[str, Any]:
    status = result.get("status") or {}
    unit = result.get("name") or name
    load = status.get("LoadState", "")
    if load in ("not-found", "") or not status:
        return {"unit": unit, "state": "missing", "running": False, "detail": "no unit of this name", "restarts": None}
    active = status.get("ActiveState", "unknown")
    detail = status.get("SubState", "")
    if load != "loaded":
        detail = f"{detail}, load {load}".strip(", ")
    restarts = status.get("NRestarts")
    return {
        "unit": unit,
        "state": active,
        "running": active == "active",
        "detail": detail,
        "restarts": int(restarts) if str(restarts).isdigit() else None,
    }


def service_state(result: dict[str, Any], manager: str, name: str) -> dict[str, Any]:
    """Normalise what supervisor_status, docker_container_info or systemd_service returned for one service."""
    if manager not in MANAGERS:
        raise AnsibleFilterError(f"service_state: manager must be one of {', '.join(MANAGERS)}, got {manager!r}")
    if not isinstance(result, dict):
        raise AnsibleFilterError(f"service_state: expected a module result (a dict), got {type(result).__name__}")
    state = {"supervisor": _supervisor, "docker": _docker, "systemd": _systemd}[manager](result, name)
    return {"manager": manager, **state}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"service_state": service_state}
