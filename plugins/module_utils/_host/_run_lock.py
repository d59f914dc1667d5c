# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One maintenance run per host at a time: the backend of run_lock.

The lock is a small JSON file (run id, playbook, start time, the controller and its
ansible-playbook pid, the AWX job id, and a lease) created with O_EXCL, so two runs can never
both believe they hold it. It lives in a directory of its own that only root (the user running
the module) can write to: the module creates it 0700 and refuses one that another user owns or
can write to, and every file in it is opened relative to that directory's descriptor with
O_NOFOLLOW and checked to be a regular file of the running user, so nothing is created or read
through a symlink and nobody else can plant a lock.

Every decision that reads and then changes the lock (take, take over, renew, release, break) is
made under an flock on a guard file beside it. A holder is stale when its lease has expired
(whatever controller it ran on: a killed AWX job renews no more), when it is older than
max_age_hours, or when it ran on this very controller and its ansible-playbook process is gone.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import math
import os
import pwd
import socket
import stat
import time
from typing import Any, Callable, Iterator

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _exposition, _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import WARNING, Finding
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import iso, try_parse_iso

UTC = _time.UTC
STATES = ("acquired", "renewed", "released", "broken", "status")
VERBS = {"acquired": "take", "renewed": "renew", "released": "release", "broken": "break", "status": "read"}
# A directory of its own under /var/lib (only root can create names there; /run/lock is
# world-writable, so any user could take the directory's name first).
DEFAULT_PATH = "/var/lib/jarvis-maintenance/maintenance.lock"
# Longer than the longest single step of the playbooks with the roles' default timeouts (a
# backup, its verification, a DR restore: 60 minutes each), short enough that the lock of a
# killed or cancelled job is taken over by the next scheduled run, which waits 240 minutes.
DEFAULT_LEASE_MINUTES = 90.0
MAX_AGE_LIMIT_HOURS = 24 * 365
OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC


class LockHeld(ModuleError):
    """Another live run holds the lock."""


# The module's options; documented in plugins/modules/run_lock.py.
ARGUMENT_SPEC = {
    "path": {"type": "path", "default": DEFAULT_PATH},
    "state": {"type": "str", "choices": list(STATES), "default": "acquired"},
    "run_id": {"type": "str"},
    "playbook": {"type": "str", "default": ""},
    "holder_host": {"type": "str", "default": ""},
    "holder_pid": {"type": "int", "default": 0},
    "awx_job_id": {"type": "str", "default": ""},
    "lease_minutes": {"type": "float", "default": DEFAULT_LEASE_MINUTES},
    "max_age_hours": {"type": "float", "default": 12.0},
    "wait_seconds": {"type": "int", "default": 0},
    "poll_seconds": {"type": "float", "default": 5.0},
    "textfile_dir": {"type": "path"},
}


def path_problem(path: Any) -> str | None:
    """Why path cannot name a lock file, or None (pure)."""
    if not isinstance(path, str) or not path.strip():
        return f"path must be the absolute path of a lock file, got {path!r}"
    if not os.path.isabs(path):
        return f"path must be absolute, got {path!r}"
    name = os.path.basename(path)
    if path.endswith("/") or name in ("", ".", ".."):
        return f"path must name a file, not a directory, got {path!r}"
    if os.path.dirname(path) == "/":
        return f"path must be in a directory of its own, not in /, got {path!r}"
    return None


def check_params(params: dict[str, Any]) -> None:
    verb = VERBS.get(params["state"], "use")
    raise_problem(f"Cannot {verb} the lock", path_problem(params["path"]))
    if params["state"] != "status" and not (params.get("run_id") or "").strip():
        raise ModuleError(f"Cannot {verb} the lock: run_id is required with state={params['state']}")
    for name in ("max_age_hours", "lease_minutes", "poll_seconds"):
        if not math.isfinite(params[name]):
            raise ModuleError(f"Cannot {verb} the lock: {name} must be a number, got {params[name]}")
    checks = (
        (params["max_age_hours"] <= 0, f"max_age_hours must be greater than 0, got {params['max_age_hours']}"),
        (
            params["max_age_hours"] > MAX_AGE_LIMIT_HOURS,
            f"max_age_hours must be at most {MAX_AGE_LIMIT_HOURS} (a year), got {params['max_age_hours']:g}",
        ),
        (params["lease_minutes"] <= 0, f"lease_minutes must be greater than 0, got {params['lease_minutes']}"),
        (
            params["lease_minutes"] > params["max_age_hours"] * 60,
            f"lease_minutes ({params['lease_minutes']:g}) must not be longer than max_age_hours "
            f"({params['max_age_hours']:g} h)",
        ),
        (params["wait_seconds"] < 0, f"wait_seconds must be 0 (fail at once) or more, got {params['wait_seconds']}"),
        (params["poll_seconds"] <= 0, f"poll_seconds must be greater than 0, got {params['poll_seconds']}"),
        (params["poll_seconds"] > 3600, f"poll_seconds must be at most 3600, got {params['poll_seconds']:g}"),
        (params["holder_pid"] < 0, f"holder_pid must be 0 (unknown) or a process id, got {params['holder_pid']}"),
        (
            bool(params.get("textfile_dir")) and _exposition.directory_problem(params.get("textfile_dir")) is not None,
            f"textfile_dir {_exposition.directory_problem(params.get('textfile_dir'))}",
        ),
    )
    for bad, message in checks:
        if bad:
            raise ModuleError(f"Cannot {verb} the lock: {message}")


def parse_holder(text: str) -> dict[str, Any] | None:
    """The lock file's content, or None when it is not a lock this module wrote (pure)."""
    try:
        holder = json.loads(text)
    except ValueError:
        return None
    if not isinstance(holder, dict) or not isinstance(holder.get("run_id"), str):
        return None
    return holder


def lease_until(now: datetime.datetime, lease_minutes: float) -> str:
    """When a lease taken or renewed now ends (pure)."""
    return iso(now + datetime.timedelta(minutes=lease_minutes))


def staleness(
    holder: dict[str, Any] | None,
    now: datetime.datetime,
    max_age_hours: float,
    this_host: str,
    pid_alive: Callable[[int], bool],
) -> str | None:
    """Why the holder no longer counts, or None while it does (pure but for pid_alive).

    A lock is stale when it is unreadable, older than max_age_hours, when its lease has expired
    (the run renews it at each step: a run killed with its process group, as AWX cancels a job,
    renews it no more, whatever controller it ran on), or when its holder ran on this very host
    and that ansible-playbook process is gone. A lock without a lease (written by an older
    version) is judged by its age and process only.
    """
    if holder is None:
        return "the lock file is not a lock this module wrote"
    started = try_parse_iso(holder.get("started"))
    if started is None:
        return "the lock has no readable start time"
    age_hours = (now - started).total_seconds() / 3600
    if age_hours > max_age_hours:
        return f"it is {age_hours:.1f} h old, more than max_age_hours {max_age_hours:g}"
    if "lease_expires" in holder:
        expires = try_parse_iso(holder["lease_expires"])
        if expires is None:
            return f"its lease_expires {holder['lease_expires']!r} is not a time"
        if now >= expires:
            minutes = (now - expires).total_seconds() / 60
            return (
                f"its lease expired at {iso(expires)} ({minutes:.0f} min ago): the run stopped renewing it "
                "(killed, cancelled or timed out)"
            )
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
    if holder.get("awx_job_id"):
        where += f" as AWX job {holder['awx_job_id']}"
    playbook = f" ({holder['playbook']})" if holder.get("playbook") else ""
    lease = f", lease until {holder['lease_expires']}" if holder.get("lease_expires") else ""
    return f"run {holder.get('run_id')}{playbook} started {holder.get('started', '?')}{where}{lease}"


def user_name(uid: int) -> str:
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def directory_problem(status: os.stat_result, euid: int) -> str | None:
    """Why a lock directory cannot be trusted, or None (pure)."""
    if not stat.S_ISDIR(status.st_mode):
        return "is not a directory"
    if status.st_uid not in (0, euid):
        return f"is owned by {user_name(status.st_uid)}, not by root or the user running the module"
    if status.st_mode & 0o022:
        return (
            f"is writable by other users (mode {stat.S_IMODE(status.st_mode):04o}): any of them could plant a lock "
            "or a symlink in it; use a directory of its own that only root can write to (the module creates a "
            f"missing one 0700, like the default {os.path.dirname(DEFAULT_PATH)})"
        )
    return None


def parent_problem(status: os.stat_result, euid: int) -> str | None:
    """Why the lock directory's parent lets another user replace the lock directory, or None (pure).
    A sticky parent (/run/lock, /tmp) is fine: nobody else can rename or remove root's directory."""
    if not stat.S_ISDIR(status.st_mode):
        return "is not a directory"
    if status.st_uid not in (0, euid):
        return f"is owned by {user_name(status.st_uid)}, not by root or the user running the module"
    if status.st_mode & 0o022 and not status.st_mode & stat.S_ISVTX:
        return (
            f"is writable by other users without the sticky bit (mode {stat.S_IMODE(status.st_mode):04o}): they "
            "could replace the lock directory"
        )
    return None


def file_problem(status: os.stat_result, euid: int) -> str | None:
    """Why a lock or guard file is not one this module wrote, or None (pure)."""
    if not stat.S_ISREG(status.st_mode):
        return "is not a regular file"
    if status.st_uid != euid:
        return (
            f"is owned by {user_name(status.st_uid)}, not by the user running the module ({user_name(euid)}): "
            "run_lock did not write it; find out who put it there, then remove it"
        )
    return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_finding(check: str, path: str, holder: dict[str, Any] | None, message: str, recommendation: str) -> dict:
    return Finding(
        check=check,
        severity=WARNING,
        subject=path,
        value=(holder or {}).get("run_id"),
        message=message,
        recommendation=recommendation,
    ).as_dict()


class RunLock(Backend):
    """Backend of the run_lock module: all through file descriptors, no command."""

    def __init__(
        self, params: dict[str, Any], check_mode: bool, host: Any = None, now: datetime.datetime | None = None
    ) -> None:
        check_params(params)
        super().__init__(params, check_mode, host)
        self.path = params["path"]
        self.directory, self.name = os.path.split(self.path)
        self.guard_name = self.name + ".guard"
        self.now = now or datetime.datetime.now(UTC)
        self.this_host = socket.gethostname()
        self.euid = os.geteuid()

    def error(self, cause: str) -> ModuleError:
        return ModuleError(f"Cannot {VERBS[self.params['state']]} the lock path={self.path}: {cause}")

    # -- the directory and its files, all through descriptors -------------------------------
    @contextlib.contextmanager
    def opened_directory(self, create: bool) -> Iterator[int | None]:
        """The lock directory's descriptor, after checking it and its parent; None when it does
        not exist and create is false. A missing directory is created 0700."""
        parent, name = os.path.split(self.directory)
        try:
            parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise self.error(f"the lock directory's parent {parent} does not exist") from None
        except OSError as exc:
            raise self.error(f"cannot open the lock directory's parent {parent}: {exc.strerror}") from exc
        try:
            problem = parent_problem(os.fstat(parent_fd), self.euid)
            if problem:
                raise self.error(f"the lock directory's parent {parent} {problem}")
            fd = self.open_child_directory(parent_fd, name, create)
        finally:
            os.close(parent_fd)
        if fd is None:
            yield None
            return
        try:
            problem = directory_problem(os.fstat(fd), self.euid)
            if problem:
                raise self.error(f"the lock directory {self.directory} {problem}")
            yield fd
        finally:
            os.close(fd)

    def open_child_directory(self, parent_fd: int, name: str, create: bool) -> int | None:
        flags = os.O_RDONLY | os.O_DIRECTORY | OPEN_FLAGS
        for _attempt in range(2):
            try:
                return os.open(name, flags, dir_fd=parent_fd)
            except FileNotFoundError:
                if not create:
                    return None
                with contextlib.suppress(FileExistsError):  # somebody made it meanwhile: checked when opened
                    os.mkdir(name, 0o700, dir_fd=parent_fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    kind = "a symlink" if stat.S_ISLNK(os.lstat(name, dir_fd=parent_fd).st_mode) else "not a directory"
                    raise self.error(f"the lock directory {self.directory} is {kind}: refused") from None
                raise self.error(f"cannot open the lock directory {self.directory}: {exc.strerror}") from exc
        raise self.error(f"the lock directory {self.directory} keeps disappearing")

    def checked_file(self, fd: int, label: str) -> None:
        problem = file_problem(os.fstat(fd), self.euid)
        if problem:
            os.close(fd)
            raise self.error(f"the {label} {problem}")

    def open_file(self, dir_fd: int, name: str, flags: int, label: str, mode: int = 0o600) -> int | None:
        """A lock directory's file opened without following a symlink and checked to be the
        running user's regular file; None when it does not exist (and flags do not create it)."""
        try:
            fd = os.open(name, flags | OPEN_FLAGS | os.O_NONBLOCK, mode, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self.error(f"the {label} {os.path.join(self.directory, name)} is a symlink: refused") from None
            raise self.error(f"cannot open the {label} {os.path.join(self.directory, name)}: {exc.strerror}") from exc
        self.checked_file(fd, f"{label} {os.path.join(self.directory, name)}")
        return fd

    def read(self, dir_fd: int) -> tuple[bool, dict[str, Any] | None]:
        fd = self.open_file(dir_fd, self.name, os.O_RDONLY, "lock")
        if fd is None:
            return False, None
        with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
            return True, parse_holder(handle.read(4096))

    def write_new(self, dir_fd: int, record: dict[str, Any]) -> bool:
        """Write the lock if nobody has it; False when somebody got there first. The record is
        written to a new file first and linked to the lock's name (link fails when the name exists,
        like O_EXCL), so nobody ever reads a lock half written."""
        temporary = self.write_temporary(dir_fd, record)
        try:
            os.link(temporary, self.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary, dir_fd=dir_fd)
        return True

    def replace(self, dir_fd: int, record: dict[str, Any]) -> None:
        """Replace the lock's content atomically (a new file renamed over it)."""
        os.rename(self.write_temporary(dir_fd, record), self.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)

    def write_temporary(self, dir_fd: int, record: dict[str, Any]) -> str:
        temporary = f".{self.name}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=dir_fd)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | OPEN_FLAGS, 0o600, dir_fd=dir_fd)
        self.fill(fd, record)
        return temporary

    @staticmethod
    def fill(fd: int, record: dict[str, Any]) -> None:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())

    @contextlib.contextmanager
    def guarded(self, dir_fd: int) -> Iterator[None]:
        """An exclusive flock on <path>.guard while the lock is read and changed."""
        fd = self.open_file(dir_fd, self.guard_name, os.O_RDWR | os.O_CREAT, "guard file")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- the lock's record and judgement ----------------------------------------------------
    def record(self) -> dict[str, Any]:
        return {
            "run_id": self.params["run_id"],
            "playbook": self.params["playbook"],
            "started": iso(self.now),
            "holder_host": self.params["holder_host"] or self.this_host,
            "holder_pid": self.params["holder_pid"],
            "awx_job_id": self.params["awx_job_id"],
            "lease_expires": lease_until(self.now, self.params["lease_minutes"]),
        }

    def stale(self, holder: dict[str, Any] | None) -> str | None:
        return staleness(holder, self.now, self.params["max_age_hours"], self.this_host, pid_alive)

    def held_message(self, holder: dict[str, Any] | None) -> str:
        return (
            f"another maintenance run holds {self.path}: {describe(holder or {})}; it is released when that run "
            f"ends (a lock whose lease has expired, older than {self.params['max_age_hours']:g} h, or whose "
            "process on this host is gone, is taken over; break a cancelled run's lock with "
            "-e jarvis_run_lock_break=<its run id>)"
        )

    # -- states -----------------------------------------------------------------------------
    def acquire(self) -> dict[str, Any]:
        record = self.record()
        with self.opened_directory(create=not self.check_mode) as dir_fd:
            if dir_fd is None:
                return {
                    "changed": True,
                    "acquired": False,
                    "holder": None,
                    "taken_over": None,
                    "findings": [],
                    "msg": f"would create the lock directory {self.directory} (0700) and take the lock",
                }
            guard = contextlib.nullcontext() if self.check_mode else self.guarded(dir_fd)
            with guard:
                exists, holder = self.read(dir_fd)
                if exists and holder and holder.get("run_id") == record["run_id"]:
                    return {
                        "changed": False,
                        "acquired": True,
                        "holder": holder,
                        "taken_over": None,
                        "findings": [],
                        "msg": "already held",
                    }
                stale = self.stale(holder) if exists else None
                if exists and stale is None:
                    raise LockHeld(self.held_message(holder))
                taken_over = {"holder": holder, "reason": stale} if exists else None
                if self.check_mode:
                    return {
                        "changed": True,
                        "acquired": False,
                        "holder": holder,
                        "taken_over": taken_over,
                        "findings": [],
                        "msg": "would take over a stale lock" if exists else "would take the lock",
                    }
                if exists:
                    os.unlink(self.name, dir_fd=dir_fd)
                if not self.write_new(dir_fd, record):
                    _exists, holder = self.read(dir_fd)
                    raise LockHeld(self.held_message(holder))
        findings = []
        if taken_over:
            findings.append(
                lock_finding(
                    "run_lock_taken_over",
                    self.path,
                    holder,
                    f"took over the stale lock of {describe(holder or {})}: {stale}",
                    "find out why that run ended without releasing its lock (killed, cancelled, timed out)",
                )
            )
        msg = "took the lock" if not taken_over else f"took over a stale lock ({stale})"
        return {
            "changed": True,
            "acquired": True,
            "holder": record,
            "taken_over": taken_over,
            "findings": findings,
            "msg": msg,
        }

    def renew(self) -> dict[str, Any]:
        """Extend this run's lease; fails when the lock is not this run's any more."""
        run_id = self.params["run_id"]
        with self.opened_directory(create=False) as dir_fd:
            if self.check_mode:  # a check run never holds the lock: nothing to renew, nothing to fail on
                exists, holder = self.read(dir_fd) if dir_fd is not None else (False, None)
                mine = bool(holder and holder.get("run_id") == run_id)
                return {
                    "changed": mine,
                    "renewed": False,
                    "holder": holder,
                    "msg": "would renew the lease" if mine else "this run holds no lock to renew (check mode)",
                }
            if dir_fd is None:
                raise self.error(f"the lock directory {self.directory} is gone: this run holds no lock")
            with self.guarded(dir_fd):
                exists, holder = self.read(dir_fd)
                if not exists:
                    raise self.error(
                        f"the lock is gone (released or broken while run {run_id} was working): stop this run"
                    )
                if not holder or holder.get("run_id") != run_id:
                    raise self.error(
                        f"it is held by {describe(holder) if holder else 'an unreadable lock'} now, "
                        f"not by run {run_id}: "
                        "another run took the lock over after this run's lease expired (or it never was this run's); "
                        "stop this run, and raise lease_minutes if a step runs longer than the lease"
                    )
                record = {**holder, "lease_expires": lease_until(self.now, self.params["lease_minutes"])}
                record["renewed"] = iso(self.now)
                self.replace(dir_fd, record)
        return {
            "changed": True,
            "renewed": True,
            "holder": record,
            "msg": f"renewed the lease until {record['lease_expires']}",
        }

    def release(self) -> dict[str, Any]:
        with self.opened_directory(create=False) as dir_fd:
            if dir_fd is None:
                return {"changed": False, "released": False, "holder": None, "msg": "no lock to release"}
            guard = contextlib.nullcontext() if self.check_mode else self.guarded(dir_fd)
            with guard:
                exists, holder = self.read(dir_fd)
                if not exists:
                    return {"changed": False, "released": False, "holder": None, "msg": "no lock to release"}
                if not holder or holder.get("run_id") != self.params["run_id"]:
                    # never release somebody else's lock (decided under the guard: a run taking
                    # over a stale lock meanwhile waits for it)
                    return {
                        "changed": False,
                        "released": False,
                        "holder": holder,
                        "msg": (
                            f"the lock is not this run's ({describe(holder) if holder else 'unreadable'}): "
                            "left as it is"
                        ),
                    }
                if not self.check_mode:
                    os.unlink(self.name, dir_fd=dir_fd)
        return {"changed": True, "released": True, "holder": holder, "msg": "released the lock"}

    def break_lock(self) -> dict[str, Any]:
        """Remove the lock only when the run named by run_id holds it (after a cancelled job)."""
        run_id = self.params["run_id"]
        nothing = {"changed": False, "broken": False, "holder": None, "findings": [], "msg": "no lock to break"}
        with self.opened_directory(create=False) as dir_fd:
            if dir_fd is None:
                return nothing
            guard = contextlib.nullcontext() if self.check_mode else self.guarded(dir_fd)
            with guard:
                exists, holder = self.read(dir_fd)
                if not exists:
                    return nothing
                if not holder:
                    raise self.error(
                        "the lock is not one run_lock wrote, so it names no run to break; it is stale, and the next "
                        "run takes it over"
                    )
                if holder.get("run_id") != run_id:
                    raise self.error(
                        f"it is held by {describe(holder)}, not by run {run_id}: nothing removed (state=status shows "
                        "the run id to name)"
                    )
                if not self.check_mode:
                    os.unlink(self.name, dir_fd=dir_fd)
        message = f"broke the lock of {describe(holder)}"
        return {
            "changed": True,
            "broken": not self.check_mode,
            "holder": holder,
            "findings": [
                lock_finding(
                    "run_lock_broken",
                    self.path,
                    holder,
                    f"{message} (by request: jarvis_run_lock_break={run_id})",
                    "make sure that run is really gone (its AWX job cancelled, its process killed)",
                )
            ],
            "msg": message if not self.check_mode else f"would break the lock of {describe(holder)}",
        }

    def status(self) -> dict[str, Any]:
        with self.opened_directory(create=False) as dir_fd:
            exists, holder = self.read(dir_fd) if dir_fd is not None else (False, None)
        return {"changed": False, "locked": exists, "holder": holder, "stale": self.stale(holder) if exists else None}

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
        action = {
            "acquired": self.acquire_waiting,
            "renewed": self.renew,
            "released": self.release,
            "broken": self.break_lock,
            "status": self.status,
        }[self.params["state"]]
        try:
            result = action()
        except OSError as exc:  # a read-only or full file system, a permission the running user lacks
            raise self.error(f"{exc.strerror or exc} ({exc.filename or self.directory})") from exc
        if self.params.get("textfile_dir") and result.get("changed") and not self.check_mode:
            result["textfile"] = self.textfile(result)
        return result

    def textfile(self, result: dict[str, Any]) -> dict[str, Any]:
        """The lock's metrics for node_exporter after a change: held with its times, or given back."""
        held = bool(result.get("acquired") or result.get("renewed"))
        holder = result.get("holder") or {}
        samples = _exposition.Samples()
        samples.add("lock_held", held)
        if held:
            for name, key in (
                ("lock_acquired_timestamp_seconds", "started"),
                ("lock_lease_expiry_timestamp_seconds", "lease_expires"),
            ):
                moment = try_parse_iso(holder.get(key))
                samples.add(name, moment.timestamp() if moment else None)
        return _exposition.export(
            self.params["textfile_dir"], "lock", samples, self.check_mode, self.host.warn, "the lock's metrics"
        )
