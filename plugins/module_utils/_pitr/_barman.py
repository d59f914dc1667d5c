# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Barman client: every call of the barman command, as its own user, read as JSON.

Barman runs as its own user (``barman``), never as root: a module running as root runs it through
``runuser -u <barman_user> --``, a module already running as that user runs it directly. Every call
names its configuration file (``-c``) and asks for JSON (``-f json``); nothing is parsed from
Barman's console text. Values that go on its command line are checked first (a server name is a
token, a backup id Barman's own shape), and the command runs without a shell.
"""

from __future__ import annotations

import datetime
import json
import os
import pwd
import re
import time
from typing import Any, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import (
    KILL_AFTER,
    TIMEOUT_CODES,
    seconds,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Host

# The options every Barman module takes; documented in plugins/doc_fragments/barman.py.
BARMAN_SPEC: dict[str, Any] = {
    "server": {"type": "str", "required": True},
    "barman_config": {"type": "path", "default": "/etc/barman.conf"},
    "barman_user": {"type": "str", "default": "barman"},
    "barman_path": {"type": "path"},
    "barman_timeout": {"type": "int", "default": 3600},
}

# Where the pitr role installs Barman (its own virtualenv), looked at after PATH.
INSTALL_DIRS = ("/opt/jarvis-barman/bin",)

_SERVER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# A backup id of Barman (20261204T150947, or a name given with --name), or one of its aliases.
BACKUP_ALIASES = ("latest", "last", "oldest", "first", "last-failed")
_BACKUP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_WAL = re.compile(r"^[0-9A-F]{24}$")
# 16 MB segments: 256 of them per "xlogid" (the middle 8 hex digits of a segment's name)
SEGMENT_BYTES = 16 * 1024 * 1024
SEGMENTS_PER_ID = 0x100000000 // SEGMENT_BYTES
# pg_waldump's report of the first record it cannot read, and the segment a page error names
_WALDUMP_ERROR = re.compile(r"error in WAL record at ([0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}): (.*)")
_WALDUMP_SEGMENT = re.compile(r"log segment ([0-9A-F]{24})")
# at most this many corrupt segments are looked for (pg_waldump restarts after each)
MAX_CORRUPT = 10
_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
_SLOT_RECORD = re.compile(
    r"slot_name='(?P<name>[^']*)',\s*active=(?P<active>True|False),\s*restart_lsn='?(?P<lsn>[0-9A-Fa-f/]+|None)"
)


def lsn_bytes(lsn: Any) -> int | None:
    """A PostgreSQL LSN ("0/5000090") as a byte position; None for anything else (pure)."""
    match = _LSN.match(str(lsn or "").strip())
    if not match:
        return None
    return (int(match.group(1), 16) << 32) + int(match.group(2), 16)


def slot_record(text: Any) -> dict[str, Any] | None:
    """Barman's show-servers ``replication_slot`` ("Record(slot_name='barman', active=True,
    restart_lsn='0/6000000')") as a dict; None when there is no slot (pure)."""
    match = _SLOT_RECORD.search(str(text or ""))
    if not match:
        return None
    return {
        "name": match.group("name"),
        "active": match.group("active") == "True",
        "restart_lsn": None if match.group("lsn") == "None" else match.group("lsn"),
    }


def read_xlog_db(text: str) -> list[dict[str, Any]]:
    """Barman's WAL catalogue (xlog.db: name, size, time, compression per line) as rows (pure)."""
    rows = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and _WAL.match(fields[0]):
            try:
                row = {"name": fields[0], "size": int(fields[1]), "time": float(fields[2])}
            except ValueError:
                continue
            # the fourth field: the compression Barman stored the file with ("None" when plain)
            compression = fields[3].strip() if len(fields) > 3 else ""
            row["compression"] = None if compression in ("", "None") else compression
            rows.append(row)
    return rows


def segment_number(name: str) -> int:
    """The position of a 16 MB WAL segment within its timeline (pure)."""
    return int(name[8:16], 16) * SEGMENTS_PER_ID + int(name[16:24], 16)


def segment_name(timeline: str, number: int) -> str:
    """The name of segment number on timeline (8 hex digits) (pure)."""
    return f"{timeline}{number // SEGMENTS_PER_ID:08X}{number % SEGMENTS_PER_ID:08X}"


def missing_segments(names: list[str], begin_wal: str) -> list[str]:
    """Segments of begin_wal's timeline, from begin_wal to the newest one present, that are not in names:
    a recovery from that backup stops at the first (pure)."""
    timeline = begin_wal[:8]
    present = {segment_number(name) for name in names if name[:8] == timeline and name >= begin_wal}
    if not present:
        return []
    first = segment_number(begin_wal)
    return [segment_name(timeline, number) for number in range(first, max(present) + 1) if number not in present]


def wal_runs(names: list[str]) -> list[list[str]]:
    """Sorted segment names cut into runs pg_waldump reads in one go: consecutive segments of one
    timeline in one directory of Barman's archive (its first 16 characters) (pure)."""
    runs: list[list[str]] = []
    for name in sorted(set(names)):
        last = runs[-1][-1] if runs else None
        if last is not None and last[:16] == name[:16] and segment_number(name) == segment_number(last) + 1:
            runs[-1].append(name)
        else:
            runs.append([name])
    return runs


def waldump_error(text: str, timeline: str) -> tuple[str, str] | None:
    """The segment and the reason of pg_waldump's first unreadable record (pure): the segment a page
    error names, else the one the record starts in; None when pg_waldump reported no such error."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        match = _WALDUMP_ERROR.search(line)
        if match:
            named = _WALDUMP_SEGMENT.search(match.group(2))
            if named:
                return named.group(1), match.group(2)
            position = lsn_bytes(match.group(1)) or 0
            return segment_name(timeline, position // SEGMENT_BYTES), f"record at {match.group(1)}: {match.group(2)}"
    return None


def pg_program(host: Host, name: str, server: Mapping[str, Any], bin_dir: str | None = None) -> str | None:
    """A PostgreSQL client program: in bin_dir, Barman's path_prefix for the server, the server's
    major version's Debian directory, then PATH; None when none has it."""
    dirs = [bin_dir] if bin_dir else []
    dirs += [part for part in str(server.get("path_prefix") or "").split(":") if part]
    major = str(server.get("server_txt_version") or "").split(".", maxsplit=1)[0]
    if major.isdigit():
        dirs.append(f"/usr/lib/postgresql/{major}/bin")
    for directory in dirs:
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return host.get_bin_path(name)


def home_space(path: str) -> dict[str, Any]:
    """Free bytes where Barman keeps a server, and whether the next WAL segment still fits: pg_receivewal
    writes each segment at its full 16 MB from the start, so with less free it stops receiving."""
    vfs = os.statvfs(path)
    free = vfs.f_bavail * vfs.f_frsize
    return {"path": path, "free_bytes": free, "room_for_wal": free >= SEGMENT_BYTES}


def timestamp(value: Any) -> datetime.datetime | None:
    """Barman's ``*_timestamp`` fields (seconds since the epoch, as text) in UTC; None when absent."""
    try:
        return datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def problem(params: Mapping[str, Any]) -> str | None:
    """What is wrong with the common Barman options, naming the option; None when nothing (pure)."""
    if not _SERVER.match(params["server"] or ""):
        return f"server {params['server']!r} is not a Barman server name (letters, digits, '.', '_' and '-')"
    if not _USER.match(params["barman_user"] or ""):
        return f"barman_user {params['barman_user']!r} is not a user name"
    if params["barman_timeout"] < 1:
        return f"barman_timeout must be at least 1 second, got {params['barman_timeout']}"
    return None


def backup_id_problem(name: str, value: str) -> str | None:
    """Why value cannot be given to Barman as a backup id (pure)."""
    if value in BACKUP_ALIASES or _BACKUP_ID.match(value or ""):
        return None
    aliases = ", ".join(BACKUP_ALIASES)
    return f"{name} {value!r} is not a Barman backup id (letters, digits, '.', '_' and '-') or one of {aliases}"


class Barman:
    """Runs barman for one server as Barman's user and returns its JSON."""

    def __init__(self, params: Mapping[str, Any], host: Host, cannot: str) -> None:
        raise_problem(cannot, problem(params))
        self.params = params
        self.host = host
        self.cannot = cannot
        self.server = params["server"]
        self.user = params["barman_user"]
        self.timeout = params["barman_timeout"]
        self.path = params["barman_path"] or host.get_bin_path("barman", opt_dirs=INSTALL_DIRS)
        if not self.path:
            raise ModuleError(
                f"{cannot}: the barman program is neither on PATH nor in {', '.join(INSTALL_DIRS)}; "
                "install it (the pitr role's setup) or name it in barman_path"
            )
        try:
            self.account = pwd.getpwnam(self.user)
        except KeyError:
            raise ModuleError(f"{cannot}: barman_user {self.user!r} does not exist on this host") from None

    def prefix(self) -> list[str]:
        """runuser when root must run Barman as its user; nothing when this is Barman's user."""
        euid = os.geteuid()
        if euid == self.account.pw_uid:
            return []
        if euid != 0:
            raise ModuleError(
                f"{self.cannot}: this task runs as uid {euid}; only root or {self.user} can run Barman as {self.user}"
            )
        return [self.host.get_bin_path("runuser", required=True), "-u", self.user, "--"]

    def argv(self, *args: str, as_json: bool = True) -> list[str]:
        command = [*self.prefix(), self.path, "-c", self.params["barman_config"]]
        if as_json:
            command += ["-f", "json"]
        return command + list(args)

    def run(self, *args: str, as_json: bool = True, check: bool = True) -> tuple[int, str, str]:
        """rc, stdout, stderr of one barman call (cwd /, Barman's home in HOME)."""
        environ = {"HOME": self.account.pw_dir, "LC_ALL": "C.UTF-8"}
        argv = ["timeout", "-k", str(KILL_AFTER), seconds(self.timeout), *self.argv(*args, as_json=as_json)]
        rc, out, err = self.host.run_command(argv, cwd="/", environ_update=environ)
        if rc in TIMEOUT_CODES:
            raise ModuleError(f"{self.cannot}: barman {args[0]} timed out after {self.timeout} s (barman_timeout)")
        if check and rc != 0:
            lines = [line.strip() for line in (err or out).strip().splitlines() if line.strip()]
            # Barman names the cause on its EXCEPTION / ERROR line; what follows is tar's or its own epilogue
            cause = [line for line in lines if line.startswith(("EXCEPTION:", "ERROR:"))] or lines[-3:]
            raise ModuleError(
                f"{self.cannot}: barman {args[0]} exited {rc}: {' '.join(cause) or 'no output'}",
                rc=rc,
                stderr=err,
            )
        return rc, out, err

    def json(self, *args: str, check: bool = True) -> Any:
        """The server's part of Barman's JSON answer to one command."""
        rc, out, err = self.run(*args, check=check)
        try:
            document = json.loads(out or "{}")
        except ValueError:
            raise ModuleError(
                f"{self.cannot}: barman {args[0]} did not answer JSON (rc {rc}): {(err or out).strip()[:300]}"
            ) from None
        if isinstance(document, dict) and self.server in document:
            return document[self.server]
        return document

    def backups(self) -> list[dict[str, Any]]:
        """Barman's catalogue of the server's backups, oldest first."""
        rows = self.json("list-backups", self.server) or []
        return sorted(rows, key=lambda row: str(row.get("backup_id")))

    def show_backup(self, backup_id: str) -> dict[str, Any]:
        return self.json("show-backup", self.server, backup_id) or {}

    def check(self) -> dict[str, dict[str, str]]:
        """Barman's own checks: {name: {status: OK|FAILED, hint}} (barman exits 1 when one fails)."""
        return self.json("check", self.server, check=False) or {}

    def show_server(self) -> dict[str, Any]:
        return self.json("show-servers", self.server) or {}

    def wal_catalogue(self, server: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """Barman's WAL catalogue of the server (read as root: Barman's files, only read), or None."""
        directory = str(server.get("xlogdb_directory") or server.get("wals_directory") or "")
        # <server>-xlog.db in newer releases (3.19), xlog.db in older ones (3.4)
        for name in (f"{self.server}-xlog.db", "xlog.db"):
            try:
                with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                    return read_xlog_db(handle.read())
            except OSError:
                continue
        return None

    @staticmethod
    def archived(server: Mapping[str, Any], rows: list[dict[str, Any]]) -> list[str]:
        """The names of the catalogue's segments whose file is in the archive (lstat: never followed)."""
        directory = str(server.get("wals_directory") or "")
        return [row["name"] for row in rows if os.path.lexists(os.path.join(directory, row["name"][:16], row["name"]))]

    def validate_wal(
        self, server: Mapping[str, Any], rows: list[dict[str, Any]], pg_waldump: str, budget: float
    ) -> dict[str, Any]:
        """Read the archived segments of rows with ``pg_waldump --quiet`` as Barman's user, run by run,
        within budget seconds: every record's CRC, header and link to the one before is checked. An
        archived segment is complete (Barman archives a segment only once all of it was received), so
        any record it cannot read is damage, not the end of the WAL; the end of a run is given to
        pg_waldump, which stops there without complaint even when the last record continues into the
        next segment. After an error it starts again at the next segment. Compressed segments are
        listed, not read. {checked, corrupt: [{segment, error}], compressed, stopped_at, seconds}."""
        directory = str(server.get("wals_directory") or "")
        plain = [row["name"] for row in rows if not row.get("compression")]
        compressed = sorted(row["name"] for row in rows if row.get("compression"))
        begin = time.monotonic()
        checked = 0
        corrupt: list[dict[str, str]] = []
        stopped_at = None
        environ = {"HOME": self.account.pw_dir, "LC_ALL": "C"}
        for run in wal_runs(plain):
            start = 0
            while start < len(run) and stopped_at is None and len(corrupt) < MAX_CORRUPT:
                remaining = budget - (time.monotonic() - begin)
                if remaining < 1:
                    stopped_at = run[start]
                    break
                first, last = run[start], run[-1]
                argv = [
                    "timeout",
                    "-k",
                    str(KILL_AFTER),
                    seconds(int(remaining)),
                    *self.prefix(),
                    pg_waldump,
                    "--quiet",
                    "--path",
                    os.path.join(directory, first[:16]),
                    first,
                    last,
                ]
                rc, out, err = self.host.run_command(argv, cwd="/", environ_update=environ)
                if rc in TIMEOUT_CODES:
                    stopped_at = first
                    break
                if rc == 0:
                    checked += len(run) - start
                    break
                found = waldump_error(err or out, first[:8])
                if found is None or found[0] not in run[start:]:
                    # not a record error (a file it could not open): named against the first segment
                    found = (first, " ".join((err or out).strip().splitlines()[-2:]) or f"pg_waldump exited {rc}")
                position = run.index(found[0])
                corrupt.append({"segment": found[0], "error": found[1]})
                checked += position - start + 1
                start = position + 1
            if stopped_at is not None or len(corrupt) >= MAX_CORRUPT:
                break
        return {
            "checked": checked,
            "corrupt": corrupt,
            "compressed": compressed,
            "stopped_at": stopped_at,
            "seconds": round(time.monotonic() - begin, 2),
        }

    def replication_status(self) -> dict[str, Any]:
        return self.json("replication-status", self.server, check=False) or {}
