# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One maintenance run per host at a time: the backend of run_lock.

The lock is a small JSON file (run id, playbook, start time, the controller and its
ansible-playbook pid) created with O_EXCL, so two runs can never both believe they hold it.
Deciding that a lock is stale and taking it over happens under an flock on a guard file beside
it, so two runs cannot both take over the same stale lock. Only the run that holds the lock
releases it.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
import time
from typing import Any, Callable

UTC = datetime.timezone.utc
STATES = ("acquired", "released", "status")


class LockError(Exception):
    """Bad input or an unusable lock file; the message is the module's failure message."""


class LockHeld(LockError):
    """Another live run holds the lock."""


def argument_spec() -> dict[str, dict[str, Any]]:
    """The module's options; documented in plugins/modules/run_lock.py."""
    return {
        "path": {"type": "path", "default": "/run/lock/jarvis-maintenance.lock"},
        "state": {"type": "str", "choices": list(STATES), "default": "acquired"},
        "run_id": {"type": "str"},
        "playbook": {"type": "str", "default": ""},
        "holder_host": {"type": "str", "default": ""},
        "holder_pid": {"type": "int", "default": 0},
        "max_age_hours": {"type": "float", "default": 12.0},
        "wait_seconds": {"type": "int", "default": 0},
        "poll_seconds": {"type": "float", "default": 5.0},
    }


def check_params(params: dict[str, Any]) -> None:
    if params["state"] in ("acquired", "released") and not (params.get("run_id") or "").strip():
        raise LockError(f"run_id is required with state={params['state']}")
    if params["max_age_hours"] <= 0:
        raise LockError(f"max_age_hours must be greater than 0, got {params['max_age_hours']}")
    if params["wait_seconds"] < 0:
        raise LockError(f"wait_seconds must be 0 (fail at once) or more, got {params['wait_seconds']}")
    if params["poll_seconds"] <= 0:
        raise LockError(f"poll_seconds must be greater than 0, got {params['poll_seconds']}")
    if params["holder_pid"] < 0:
        raise LockError(f"holder_pid must be 0 (unknown) or a process id, got {params['holder_pid']}")


def parse_holder(text: str) -> dict[str, Any] | None:
    """The lock file's content, or None when it is not a lock this module wrote (pure)."""
    try:
        holder = json.loads(text)
    except ValueError:
        return None
    if not isinstance(holder, dict) or not isinstance(holder.get("run_id"), str):
        return None
    return holder


def parse_time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def staleness(
    holder: dict[str, Any] | None,
    now: datetime.datetime,
    max_age_hours: float,
    this_host: str,
    pid_alive: Callable[[int], bool],
) -> str | None:
    """Why the holder no longer counts, or None while it does (pure but for pid_alive).

    A lock is stale when it is unreadable, older than max_age_hours, or when its holder ran on
    this very host and that ansible-playbook process is gone (a run killed before its always:).
    A holder on another controller is judged by its age alone.
    """
    if holder is None:
        return "the lock file is not a lock this module wrote"
    started = parse_time(holder.get("started"))
    if started is None:
        return "the lock has no readable start time"
    age_hours = (now - started).total_seconds() / 3600
    if age_hours > max_age_hours:
        return f"it is {age_hours:.1f} h old, more than max_age_hours {max_age_hours:g}"
    pid = holder.get("holder_pid")
    if holder.get("holder_host") == this_host and isinstance(pid, int) and pid > 0 and not pid_alive(pid):
        return f"its ansible-playbook process {pid} on {this_host} is gone"
    return None


def describe(holder: dict[str, Any]) -> str:
    """Who holds the lock, for messages (pure)."""
    where = ""
    if holder.get("holder_host"):
        where = f" from {holder['holder_host']}"
        if holder.get("holder_pid"):
            where += f" (pid {holder['holder_pid']})"
    playbook = f" ({holder['playbook']})" if holder.get("playbook") else ""
    return f"run {holder.get('run_id')}{playbook} started {holder.get('started', '?')}{where}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    def __init__(self, params: dict[str, Any], check_mode: bool, now: datetime.datetime | None = None):
        check_params(params)
        self.params = params
        self.check_mode = check_mode
        self.path = params["path"]
        self.now = now or datetime.datetime.now(UTC)
        self.this_host = socket.gethostname()

    # -- files ----------------------------------------------------------------------
    def read(self) -> tuple[bool, dict[str, Any] | None]:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                return True, parse_holder(handle.read(4096))
        except FileNotFoundError:
            return False, None
        except OSError as exc:
            raise LockError(f"cannot read the lock {self.path}: {exc.strerror}") from exc

    def record(self) -> dict[str, Any]:
        return {
            "run_id": self.params["run_id"],
            "playbook": self.params["playbook"],
            "started": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "holder_host": self.params["holder_host"] or self.this_host,
            "holder_pid": self.params["holder_pid"],
        }

    def create(self, record: dict[str, Any]) -> bool:
        """Write the lock if nobody has it (O_EXCL); False when somebody got there first."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def guard(self):
        """An exclusive flock on <path>.guard for deciding about a stale lock."""
        directory = os.path.dirname(self.path) or "."
        if not os.path.isdir(directory):
            raise LockError(f"the lock's directory {directory} does not exist")
        handle = open(self.path + ".guard", "a", encoding="utf-8")  # noqa: SIM115 - closed in release_guard
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    # -- states ---------------------------------------------------------------------
    def acquire(self) -> dict[str, Any]:
        record = self.record()
        exists, holder = self.read()
        if exists and holder and holder.get("run_id") == record["run_id"]:
            return {"changed": False, "acquired": True, "holder": holder, "taken_over": None, "msg": "already held"}
        stale = None
        if exists:
            stale = staleness(holder, self.now, self.params["max_age_hours"], self.this_host, pid_alive)
            if stale is None:
                raise LockHeld(
                    f"another maintenance run holds {self.path}: {describe(holder)}; it is released when that run "
                    f"ends (a lock older than {self.params['max_age_hours']:g} h, or whose process on this host is "
                    "gone, is taken over)"
                )
        if self.check_mode:
            return {
                "changed": True,
                "acquired": False,
                "holder": holder,
                "taken_over": ({"holder": holder, "reason": stale} if exists else None),
                "msg": "would take over a stale lock" if exists else "would take the lock",
            }
        guard = self.guard()
        try:
            taken_over = None
            if exists:
                # decide again under the guard: another run may have taken it over meanwhile
                exists, holder = self.read()
                stale = staleness(holder, self.now, self.params["max_age_hours"], self.this_host, pid_alive)
                if exists and stale is None:
                    raise LockHeld(f"another maintenance run holds {self.path}: {describe(holder)}")
                if exists:
                    os.unlink(self.path)
                    taken_over = {"holder": holder, "reason": stale}
            if not self.create(record):
                _exists, holder = self.read()
                raise LockHeld(f"another maintenance run holds {self.path}: {describe(holder or {})}")
        finally:
            guard.close()
        msg = "took the lock" if not taken_over else f"took over a stale lock ({taken_over['reason']})"
        return {"changed": True, "acquired": True, "holder": record, "taken_over": taken_over, "msg": msg}

    def release(self) -> dict[str, Any]:
        exists, holder = self.read()
        if not exists:
            return {"changed": False, "released": False, "holder": None, "msg": "no lock to release"}
        if not holder or holder.get("run_id") != self.params["run_id"]:
            # never release somebody else's lock
            return {
                "changed": False,
                "released": False,
                "holder": holder,
                "msg": f"the lock is not this run's ({describe(holder) if holder else 'unreadable'}): left as it is",
            }
        if not self.check_mode:
            os.unlink(self.path)
        return {"changed": True, "released": True, "holder": holder, "msg": "released the lock"}

    def status(self) -> dict[str, Any]:
        exists, holder = self.read()
        stale = staleness(holder, self.now, self.params["max_age_hours"], self.this_host, pid_alive) if exists else None
        return {"changed": False, "locked": exists, "holder": holder, "stale": stale}

    def acquire_waiting(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        """acquire, retried every poll_seconds for up to wait_seconds while a live run holds the
        lock (in check mode too: a check run then reports on the state the holder left); the
        error then says how long it waited."""
        wait = self.params["wait_seconds"]
        started = clock()
        while True:
            try:
                result = self.acquire()
            except LockHeld as exc:
                waited = clock() - started
                if waited >= wait:
                    raise LockHeld(f"{exc} (waited {waited:.0f} s)" if wait else str(exc)) from exc
                sleep(min(self.params["poll_seconds"], wait - waited))
                self.now = datetime.datetime.now(UTC)
                continue
            result["waited_seconds"] = round(clock() - started, 1)
            return result

    def run(self) -> dict[str, Any]:
        return {"acquired": self.acquire_waiting, "released": self.release, "status": self.status}[
            self.params["state"]
        ]()
