# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""barman_recover: recover a base backup and its WAL to a point in time, into a new data directory.

The plan comes first and is all that check mode does: which base backup (the newest one that ended
before the target), which WAL files (from the backup's first segment to the one archived at the
target), how much space that needs, and whether the destination may be used - it must be absent or
an empty directory, never a cluster's data directory, in a directory nobody else can write to, on a
filesystem with room for it.

Then ``barman recover`` (as Barman's user, into a directory only it and root can enter), the
recovered files handed to the cluster's owner without following a link, and ``pg_verifybackup``
against the backup's own manifest: every data file of the base backup is compared with the
checksum PostgreSQL recorded when the backup was taken.

With ``start_port`` it is a restore test: the recovered cluster is started on that port with its
socket and a trust-only ``pg_hba.conf`` in a private directory (no TCP listener, no WAL archiving),
recovery runs to the target, and each database gets exact row counts and amcheck. The server is
stopped in ``finally``, and with ``remove`` the recovered directory too.
"""

from __future__ import annotations

import datetime
import grp
import os
import pwd
import re
import shlex
import shutil
import stat as stat_module
import tempfile
import time
from typing import Any, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import need
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    CRITICAL,
    OK,
    WARNING,
    Finding,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import iso
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr import _checksums
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr._barman import (
    BARMAN_SPEC,
    Barman,
    backup_id_problem,
    home_space,
    lsn_bytes,
    missing_segments,
    pg_program,
    timestamp,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import (
    check_btree_indexes,
    count_rows,
)

CANNOT = "Cannot recover the backup"

ARGUMENT_SPEC = {
    **BARMAN_SPEC,
    **_checksums.CHECKSUMS_SPEC,
    "destination": {"type": "path", "required": True},
    "backup_id": {"type": "str", "default": "auto"},
    "target_time": {"type": "str"},
    "target_lsn": {"type": "str"},
    "target_name": {"type": "str"},
    "target_action": {"type": "str", "choices": ["promote", "pause", "shutdown"], "default": "promote"},
    "owner": {"type": "str", "default": "postgres"},
    "partial_wal": {"type": "bool", "default": True},
    "verify": {"type": "bool", "default": True},
    "bin_dir": {"type": "path"},
    "start_port": {"type": "int"},
    "start_timeout": {"type": "int", "default": 600},
    "superuser": {"type": "str", "default": "postgres"},
    "queries": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {"database": {"type": "str", "required": True}, "sql": {"type": "str", "required": True}},
    },
    "remove": {"type": "bool", "default": False},
}
MODULE_KWARGS = {"mutually_exclusive": [("target_time", "target_lsn", "target_name")]}

# Files barman recover adds or rewrites in the data directory: not the backup's, not in its manifest.
BARMAN_FILES = (
    "barman_wal",
    ".barman-recover.info",
    "tablespace_map",
    "recovery.signal",
    "standby.signal",
    "postgresql.conf",
    "postgresql.auto.conf",
    "postgresql.conf.origin",
    "postgresql.auto.conf.origin",
    "pg_hba.conf.origin",
    "pg_ident.conf.origin",
)
# Settings a recovering server must have at least as high as the primary had (pg_controldata).
CONTROL_SETTINGS = {
    "max_connections setting": "max_connections",
    "max_worker_processes setting": "max_worker_processes",
    "max_wal_senders setting": "max_wal_senders",
    "max_prepared_xacts setting": "max_prepared_transactions",
    "max_locks_per_xact setting": "max_locks_per_transaction",
}
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,63}$")
POLL = 0.2


def parse_target_time(value: str) -> datetime.datetime:
    """An ISO 8601 time with its zone (2026-12-04T15:09:57.5+00:00, ...Z) as an aware datetime (pure);
    ValueError naming what is wrong."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"target_time {value!r} is not an ISO 8601 time (2026-12-04T02:15:00Z)") from None
    if moment.tzinfo is None:
        raise ValueError(f"target_time {value!r} must name its time zone (2026-12-04T02:15:00Z, or +01:00)")
    return moment


def problem(params: Mapping[str, Any]) -> str | None:
    """What is wrong with the options, naming the option (pure)."""
    if params["backup_id"] != "auto":
        why = backup_id_problem("backup_id", params["backup_id"])
        if why:
            return why
    if params["target_time"] is not None:
        try:
            parse_target_time(params["target_time"])
        except ValueError as exc:
            return str(exc)
    if params["target_lsn"] is not None and lsn_bytes(params["target_lsn"]) is None:
        return f"target_lsn {params['target_lsn']!r} is not an LSN (0/5000090)"
    if params["target_name"] is not None and not _NAME.match(params["target_name"]):
        return f"target_name {params['target_name']!r} is not a restore point name (letters, digits, . _ : -)"
    if not os.path.isabs(params["destination"]) or os.path.normpath(params["destination"]) == "/":
        return f"destination {params['destination']!r} must be an absolute path below /"
    if params["start_port"] is not None:
        if not 1024 <= params["start_port"] <= 65535:
            return f"start_port must be between 1024 and 65535, got {params['start_port']}"
        if params["target_action"] == "shutdown":
            return "start_port cannot be used with target_action=shutdown: the server would stop at the target"
    if params["queries"] and params["start_port"] is None:
        return "queries need start_port: they run on the restore test's server"
    if params["remove"] and params["start_port"] is None:
        return "remove needs start_port: only a restore test's scratch directory is removed"
    if params["start_timeout"] < 1:
        return f"start_timeout must be at least 1 second, got {params['start_timeout']}"
    return None


def target_description(params: Mapping[str, Any]) -> str:
    if params["target_time"]:
        return f"time {params['target_time']}"
    if params["target_lsn"]:
        return f"LSN {params['target_lsn']}"
    if params["target_name"]:
        return f"restore point {params['target_name']}"
    return "the end of the archived WAL (latest)"


def wal_range(rows: list[dict[str, Any]], begin_wal: str, target: datetime.datetime | None) -> list[dict[str, Any]]:
    """The WAL files a recovery replays: from the backup's first segment (same timeline) up to the
    first one archived at or after the target time, or every one after it without a target (pure)."""
    chosen = []
    for row in sorted(rows, key=lambda item: item["name"]):
        if row["name"][:8] != begin_wal[:8] or row["name"] < begin_wal:
            continue
        chosen.append(row)
        if target is not None and row["time"] >= target.timestamp():
            break
    return chosen


def controldata_settings(text: str) -> dict[str, str]:
    """The settings pg_controldata records from the primary that recovery needs at least as high (pure)."""
    settings = {}
    for line in text.splitlines():
        label, _sep, value = line.partition(":")
        name = CONTROL_SETTINGS.get(label.strip())
        if name and value.strip().isdigit():
            settings[name] = value.strip()
    return settings


def destination_problem(path: str) -> str | None:
    """Why path cannot receive a recovered cluster, or None: absent, or an empty directory."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not os.path.isdir(path) or os.path.islink(path):
        return "it exists and is not a directory"
    names = os.listdir(path)
    if not names:
        return None
    pidfile = os.path.join(path, "postmaster.pid")
    if os.path.exists(pidfile):
        try:
            with open(pidfile, encoding="utf-8", errors="replace") as handle:
                pid = int(handle.readline().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid > 0 and os.path.exists(f"/proc/{pid}"):
            return (
                f"it is the data directory of a running PostgreSQL server (postmaster pid {pid}); it is never touched"
            )
    if "PG_VERSION" in names:
        return "it is a PostgreSQL data directory; recover into a new or empty directory and move it into place"
    del st
    return f"it is not empty ({len(names)} entries)"


def unreachable(path: str, uid: int, groups: set[int]) -> str | None:
    """The first existing directory above path that user uid (in groups) cannot enter, described; None
    when it can reach path (pure but for lstat)."""
    current = os.path.dirname(os.path.normpath(path))
    while True:
        try:
            st = os.stat(current)
        except OSError:
            st = None
        if st is not None:
            if st.st_uid == uid:
                allowed = st.st_mode & 0o100
            elif st.st_gid in groups:
                allowed = st.st_mode & 0o010
            else:
                allowed = st.st_mode & 0o001
            if not allowed:
                return f"{current} (mode {stat_module.S_IMODE(st.st_mode):04o}, owner uid {st.st_uid})"
        if current == "/":
            return None
        current = os.path.dirname(current)


def chown_tree(path: str, uid: int, gid: int) -> None:
    """Give path and everything under it to uid:gid, never following a link."""
    os.chown(path, uid, gid, follow_symlinks=False)
    for _root, dirs, files, root_fd in os.fwalk(path, follow_symlinks=False):
        for name in dirs + files:
            os.chown(name, uid, gid, dir_fd=root_fd, follow_symlinks=False)


class BarmanRecover(Backend):
    """Plans, recovers, verifies and (with start_port) test-starts one recovery."""

    def run(self) -> dict[str, Any]:
        """The plan, the recovery and the test; a failure carries its findings, at least one critical
        ``recovery`` finding with the reason, so that a report of the failed task needs no other."""
        self.findings: list[Finding] = []
        self.planned: dict[str, Any] | None = None
        try:
            return self.recover_and_test()
        except ModuleError as exc:
            if self.planned is not None:
                exc.result.setdefault("plan", self.planned)
                exc.result.setdefault("removed", bool(self.params["remove"]))
            if not any(finding.severity == CRITICAL for finding in self.findings):
                self.note("recovery", CRITICAL, str(self.params["server"]), exc.msg)
            exc.result.setdefault("findings", [finding.as_dict() for finding in self.findings])
            exc.result.setdefault("severity", CRITICAL)
            raise

    def recover_and_test(self) -> dict[str, Any]:
        raise_problem(CANNOT, problem(self.params))
        self.barman = Barman(self.params, self.host, CANNOT)
        try:
            self.owner = pwd.getpwnam(self.params["owner"])
        except KeyError:
            raise ModuleError(f"{CANNOT}: owner {self.params['owner']!r} does not exist on this host") from None
        server = self.barman.show_server()
        if not server:
            raise ModuleError(
                f"{CANNOT}: Barman has no server {self.barman.server!r} in {self.params['barman_config']}"
            )
        if not self.check_mode:
            # WAL segments Barman received but has not archived yet (barman cron does it every minute):
            # archived now, so that the plan and the recovery see every one of them
            rc, out, err = self.barman.run("archive-wal", self.barman.server, as_json=False, check=False)
            if rc != 0:
                self.host.warn(f"barman archive-wal exited {rc}: {(err or out).strip()[:200]}")
        plan = self.planned = self.plan(server)
        result: dict[str, Any] = {"changed": False, "plan": plan, "recovered": False}
        if self.check_mode:
            result.update(
                changed=True,
                planned=[
                    f"recover backup {plan['backup_id']} of {self.barman.server} to "
                    f"{plan['target']} into {plan['destination']}"
                ],
            )
            return result
        destination = plan["destination"]
        started: dict[str, Any] | None = None
        try:
            self.recover(plan)
            result.update(changed=True, recovered=True)
            if self.params["verify"]:
                result["verify"] = self.verify(plan)
            verify = result.get("verify") or {}
            # no manifest to verify against is a warning, not a reason to leave the server down
            verified = verify.get("verified", True) or verify.get("manifest") is None
            if self.params["start_port"] is not None and verified:
                started = {}
                result["server"] = self.restore_test(plan, started)
            elif self.params["start_port"] is not None:
                result["server"] = {"skipped": "the recovered files do not match the backup's manifest: not started"}
        finally:
            if started:
                self.stop(started)
            if self.params["remove"]:
                self.remove(destination, started)
                result["removed"] = True
        result["findings"] = [finding.as_dict() for finding in self.findings]
        result["severity"] = worst(self.findings)
        if result["severity"] == CRITICAL:
            bad = "; ".join(f.message for f in self.findings if f.severity == CRITICAL)
            raise ModuleError(f"{CANNOT}: {bad}", **result)
        return result

    def note(
        self, check: str, severity: str, subject: str, message: str, value: Any = None, recommendation: str = ""
    ) -> None:
        """One finding of the recovery (no threshold: each is a fact about the recovered copy)."""
        self.findings.append(Finding(check, severity, subject, value, None, message, recommendation))

    # -- plan -----------------------------------------------------------------------------------
    def choose_backup(self) -> dict[str, Any]:
        backups = [row for row in self.barman.backups() if row.get("status") == "DONE"]
        if not backups:
            raise ModuleError(f"{CANNOT}: Barman has no complete base backup of {self.barman.server}")
        wanted = self.params["backup_id"]
        if wanted != "auto":
            detail = self.barman.show_backup(wanted)
            if not detail or detail.get("status") != "DONE":
                raise ModuleError(f"{CANNOT}: backup_id {wanted!r} is not a complete backup of {self.barman.server}")
            return detail
        target_time = self.params["target_time"] and parse_target_time(self.params["target_time"])
        target_lsn = lsn_bytes(self.params["target_lsn"]) if self.params["target_lsn"] else None
        for row in reversed(backups):
            if target_time:
                end = timestamp(row.get("end_time_timestamp"))
                if end is None or end > target_time:
                    continue
            detail = self.barman.show_backup(str(row["backup_id"]))
            if target_lsn is not None:
                end_lsn = lsn_bytes((detail.get("base_backup_information") or {}).get("end_lsn"))
                if end_lsn is None or end_lsn > target_lsn:
                    continue
            return detail
        oldest = timestamp(backups[0].get("end_time_timestamp"))
        raise ModuleError(
            f"{CANNOT}: no base backup of {self.barman.server} ended before {target_description(self.params)}; "
            f"the oldest ended at {iso(oldest)}, so that point cannot be recovered"
        )

    def plan(self, server: Mapping[str, Any]) -> dict[str, Any]:
        if self.params["start_port"] is not None:
            self.refuse_without_wal_room(server)
        detail = self.choose_backup()
        if self.params["verify"]:
            self.refuse_changed_backup(server, str(detail.get("backup_id")))
        info = detail.get("base_backup_information") or {}
        target_time = parse_target_time(self.params["target_time"]) if self.params["target_time"] else None
        rows = self.barman.wal_catalogue(server)
        if rows is None:
            self.host.warn("Cannot read Barman's WAL catalogue: the WAL range of the plan is unknown")
            rows = []
        wals = wal_range(rows, str(info.get("begin_wal") or ""), target_time) if info.get("begin_wal") else []
        if wals:
            through = wals[-1]["name"]
            gaps = [
                name
                for name in missing_segments(self.barman.archived(server, rows), str(info["begin_wal"]))
                if name <= through
            ]
            if gaps:
                raise ModuleError(
                    f"{CANNOT}: WAL segment {gaps[0]} is missing from Barman's archive"
                    + (f" (and {len(gaps) - 1} more)" if len(gaps) > 1 else "")
                    + f": recovery from backup {detail.get('backup_id')} cannot pass it; recover to a point before it"
                    " or from a newer base backup"
                )
            self.refuse_damaged_wal(server, wals, str(detail.get("backup_id")))
        wal_bytes = sum(row["size"] for row in wals)
        needed = int(detail.get("cluster_size_bytes") or info.get("backup_size_bytes") or 0) + wal_bytes
        destination = os.path.normpath(self.params["destination"])
        parent = os.path.dirname(destination)
        raise_problem(f"{CANNOT} into destination {destination}", destination_problem(destination))
        try:
            parent_st = os.lstat(parent)
        except OSError as exc:
            raise ModuleError(
                f"{CANNOT}: the directory of destination, {parent}, cannot be used: {exc.strerror}"
            ) from exc
        why = _safe_fs.writable_by_others(parent_st, self.owner.pw_uid)
        if why:
            raise ModuleError(
                f"{CANNOT}: the directory of destination, {parent}, {why}; another user could swap "
                "the recovered files (name a directory only root can write to)"
            )
        groups = {self.owner.pw_gid} | {group.gr_gid for group in grp.getgrall() if self.owner.pw_name in group.gr_mem}
        blocked = unreachable(destination, self.owner.pw_uid, groups)
        if blocked:
            raise ModuleError(
                f"{CANNOT}: owner {self.owner.pw_name} could not reach destination {destination}: it "
                f"cannot enter {blocked}"
            )
        vfs = os.statvfs(parent)
        free = vfs.f_bavail * vfs.f_frsize
        if needed and free < needed:
            raise ModuleError(
                f"{CANNOT}: destination {destination} needs about {human_bytes(needed)} (the cluster and "
                f"{len(wals)} WAL file(s)) and its filesystem has {human_bytes(free)} free"
            )
        return {
            "backup_id": detail.get("backup_id"),
            "backup_end_time": iso(timestamp(info.get("end_time_timestamp"))),
            "postgresql_version": detail.get("postgresql_version"),
            "target": target_description(self.params),
            "begin_wal": info.get("begin_wal"),
            "wal_through": wals[-1]["name"] if wals else info.get("end_wal"),
            "wal_files": len(wals),
            "wal_bytes": wal_bytes,
            "space_needed_bytes": needed,
            "destination": destination,
            "destination_free_bytes": free,
            "manifest": os.path.join(
                str(server.get("basebackups_directory") or ""), str(detail.get("backup_id")), "data", "backup_manifest"
            ),
        }

    def refuse_without_wal_room(self, server: Mapping[str, Any]) -> None:
        """A restore test needs the WAL up to its target archived; with no room for the next segment in
        Barman's home, WAL streaming has stopped and the test would wait for WAL that never comes."""
        home = str(server.get("backup_directory") or "")
        try:
            space = home_space(home) if home else None
        except OSError:
            space = None
        if space is not None and not space["room_for_wal"]:
            raise ModuleError(
                f"{CANNOT}: Barman's home of {self.barman.server} ({home}) is full ({human_bytes(space['free_bytes'])} "
                "free, less than one 16 MiB WAL segment): WAL streaming has stopped, so no restore test can reach "
                "the present; free space in Barman's home and test again"
            )

    def refuse_changed_backup(self, server: Mapping[str, Any], backup_id: str) -> None:
        """The backup's files against the sha256 barman_backup recorded when it took it (when it did):
        a changed file would fail pg_verifybackup after the whole recovery; refused before it."""
        where = self.params["checksums_dir"]
        try:
            record = _checksums.read_record(where, self.barman.server, backup_id)
        except (OSError, ValueError, _safe_fs.UnsafePath) as exc:
            self.host.warn(f"Cannot read the checksums of backup {backup_id} in {where}: {exc}")
            return
        if record is None:
            return
        data_dir = os.path.join(str(server.get("basebackups_directory") or ""), backup_id, "data")
        try:
            problems = _checksums.compare(record["files"], _checksums.file_digests(data_dir))
        except (OSError, _safe_fs.UnsafePath) as exc:
            problems = [f"its files cannot be read ({exc})"]
        if problems:
            raise ModuleError(
                f"{CANNOT}: base backup {backup_id} changed since it was taken: "
                + "; ".join(problems[:3])
                + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
                + "; recover from an older backup (backup_id), or with verify=false to try this one anyway"
            )

    def refuse_damaged_wal(self, server: Mapping[str, Any], wals: list[dict[str, Any]], backup_id: str) -> None:
        """Read the WAL the recovery will replay with pg_waldump (Barman.validate_wal): PostgreSQL stops
        replaying at the first unreadable record as if the WAL ended there, and without a target would
        promote a cluster that silently lacks everything after it."""
        pg_waldump = pg_program(self.host, "pg_waldump", server, self.params["bin_dir"])
        if not pg_waldump:
            self.host.warn("pg_waldump not found: the WAL to replay was not read before the recovery")
            return
        archived = set(self.barman.archived(server, wals))
        result = self.barman.validate_wal(
            server, [row for row in wals if row["name"] in archived], pg_waldump, float(self.params["barman_timeout"])
        )
        if result["corrupt"]:
            first = result["corrupt"][0]
            raise ModuleError(
                f"{CANNOT}: WAL segment {first['segment']} in Barman's archive is damaged (pg_waldump: "
                f"{first['error']}): recovery from backup {backup_id} would stop at its last good record, before "
                "the target; recover to a point before it or from a newer base backup",
                wal_validation=result,
            )

    # -- recover and verify ---------------------------------------------------------------------
    def recover(self, plan: Mapping[str, Any]) -> None:
        destination = plan["destination"]
        account = self.barman.account
        if not os.path.exists(destination):
            os.mkdir(destination, 0o700)
        os.chown(destination, account.pw_uid, account.pw_gid, follow_symlinks=False)
        os.chmod(destination, 0o700)
        args = ["recover"]
        if self.params["target_time"]:
            args += ["--target-time", parse_target_time(self.params["target_time"]).isoformat()]
        elif self.params["target_lsn"]:
            args += ["--target-lsn", self.params["target_lsn"]]
        elif self.params["target_name"]:
            args += ["--target-name", self.params["target_name"]]
        if len(args) > 1:
            args += ["--target-action", self.params["target_action"]]
        if self.params["partial_wal"]:
            # the segment still being streamed (.partial): the last seconds before a crash
            args.append("--partial-wal")
        self.barman.run(*args, self.barman.server, str(plan["backup_id"]), destination, as_json=False)
        chown_tree(destination, self.owner.pw_uid, self.owner.pw_gid)

    def pg_bin(self, name: str, plan: Mapping[str, Any]) -> str:
        directory = self.params["bin_dir"]
        if not directory and plan.get("postgresql_version"):
            directory = f"/usr/lib/postgresql/{int(plan['postgresql_version']) // 10000}/bin"
        path = os.path.join(directory, name) if directory else ""
        if path and os.access(path, os.X_OK):
            return path
        return str(self.host.get_bin_path(name, required=True))

    def verify(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        destination = plan["destination"]
        manifest = plan["manifest"]
        if not os.path.isfile(manifest):
            self.note(
                "pg_verifybackup",
                WARNING,
                str(plan["backup_id"]),
                f"backup {plan['backup_id']} has no manifest ({manifest}): its files were not verified",
            )
            return {"verified": False, "manifest": None}
        argv = [self.pg_bin("pg_verifybackup", plan), "-m", manifest, "-q"]
        for name in BARMAN_FILES:
            argv += ["-i", name]
        wal_dir = os.path.join(destination, "barman_wal")
        argv += ["-w", wal_dir] if os.path.isdir(wal_dir) else ["-n"]
        rc, out, err = self.host.run_command([*argv, destination], cwd="/")
        lines = [line for line in (err or out).splitlines() if line.strip()]
        if rc != 0:
            self.note(
                "pg_verifybackup",
                CRITICAL,
                str(plan["backup_id"]),
                f"the recovered files of backup {plan['backup_id']} do not match its manifest: "
                + "; ".join(lines[:3])
                + (f" (and {len(lines) - 3} more)" if len(lines) > 3 else ""),
                value=len(lines),
                recommendation="The base backup is damaged: recover from an older one (backup_id) and take a new "
                "base backup.",
            )
            return {"verified": False, "manifest": manifest, "errors": lines[:50]}
        self.note(
            "pg_verifybackup",
            OK,
            str(plan["backup_id"]),
            f"every file of backup {plan['backup_id']} matches its manifest",
        )
        return {"verified": True, "manifest": manifest}

    # -- restore test ---------------------------------------------------------------------------
    def as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() == self.owner.pw_uid:
            return argv
        return [str(self.host.get_bin_path("runuser", required=True)), "-u", self.owner.pw_name, "--", *argv]

    def restore_test(self, plan: Mapping[str, Any], started: dict[str, Any]) -> dict[str, Any]:
        destination = plan["destination"]
        port = self.params["start_port"]
        rc, out, err = self.host.run_command([self.pg_bin("pg_controldata", plan), destination], cwd="/")
        if rc != 0:
            raise ModuleError(f"{CANNOT}: pg_controldata cannot read the recovered cluster: {(err or out).strip()}")
        run_dir = tempfile.mkdtemp(prefix="jarvis-pitr-")
        started["run_dir"] = run_dir
        hba = os.path.join(run_dir, "pg_hba.conf")
        with open(hba, "w", encoding="utf-8") as handle:
            handle.write("# restore test: local socket in a private directory only\nlocal all all trust\n")
        chown_tree(run_dir, self.owner.pw_uid, self.owner.pw_gid)
        settings = {
            "port": str(port),
            "listen_addresses": "",
            "unix_socket_directories": run_dir,
            "hba_file": hba,
            "archive_mode": "off",
            "logging_collector": "off",
            "cluster_name": "jarvis-restore-test",
            **controldata_settings(out),
        }
        # pg_ctl hands -o to /bin/sh: every setting quoted
        options = " ".join(f"-c {shlex.quote(f'{name}={value}')}" for name, value in settings.items())
        log = os.path.join(run_dir, "server.log")
        pg_ctl = self.pg_bin("pg_ctl", plan)
        started.update(pg_ctl=pg_ctl, destination=destination)
        timeout = self.params["start_timeout"]
        begin = time.monotonic()
        rc, out, err = self.host.run_command(
            self.as_owner([pg_ctl, "start", "-D", destination, "-l", log, "-w", "-t", str(timeout), "-o", options]),
            cwd="/",
        )
        started["running"] = True
        if rc != 0:
            raise ModuleError(
                f"{CANNOT}: the recovered cluster did not start on port {port}: "
                f"{(err or out).strip()} {self.log_tail(log)}"
            )
        psycopg2 = need("psycopg2", "psycopg2-binary")
        try:
            return self.check_server(psycopg2, run_dir, port, begin, log)
        except psycopg2.Error as exc:
            raise ModuleError(
                f"{CANNOT}: the recovered server on port {port} failed: {str(exc).strip()} {self.log_tail(log)}"
            ) from None

    def check_server(self, psycopg2: Any, run_dir: str, port: int, begin: float, log: str) -> dict[str, Any]:
        """Recovery to the target, then each database's counts and amcheck, then the caller's queries."""
        timeout = self.params["start_timeout"]
        connect = {"host": run_dir, "port": port, "user": self.params["superuser"], "connect_timeout": 10}
        conn = psycopg2.connect(dbname="postgres", **connect)
        conn.autocommit = True
        try:
            state = self.wait_for_target(conn, timeout - (time.monotonic() - begin), log)
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_last_xact_replay_timestamp(), datname FROM pg_database "
                    "WHERE datallowconn AND datname <> 'template1' ORDER BY 2"
                )
                fetched = cursor.fetchall()
        finally:
            conn.close()
        ready = round(time.monotonic() - begin, 2)
        replayed = fetched[0][0] if fetched else None
        databases = {name: self.check_database(psycopg2, connect, name, state) for _replayed, name in fetched}
        answers = [self.query(psycopg2, connect, index, item) for index, item in enumerate(self.params["queries"])]
        return {
            "port": port,
            "state": state,
            "seconds_to_ready": ready,
            "last_replayed_commit": iso(replayed) if replayed else None,
            "databases": databases,
            "queries": answers,
        }

    def query(self, psycopg2: Any, connect: Mapping[str, Any], index: int, item: Mapping[str, str]) -> list[list[Any]]:
        """The rows of one of the caller's queries on the recovered server, as JSON-friendly values."""
        try:
            conn = psycopg2.connect(dbname=item["database"], **connect)
        except psycopg2.Error as exc:
            raise ModuleError(
                f"{CANNOT}: queries[{index}]: cannot connect to {item['database']!r}: {str(exc).strip()}"
            ) from None
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(item["sql"])
                rows = cursor.fetchall() if cursor.description else []
        except psycopg2.Error as exc:
            raise ModuleError(
                f"{CANNOT}: queries[{index}] failed on the recovered server: {str(exc).strip()}"
            ) from None
        finally:
            conn.close()
        plain = (int, float, str, bool, type(None))
        return [[value if isinstance(value, plain) else str(value) for value in row] for row in rows]

    def wait_for_target(self, conn: Any, remaining: float, log: str) -> str:
        """Until recovery ended (promote) or paused at the target (pause): 'promoted' or 'paused'."""
        deadline = time.monotonic() + max(1.0, remaining)
        with conn.cursor() as cursor:
            while True:
                cursor.execute(
                    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END"
                )
                in_recovery, pause = cursor.fetchone()
                if not in_recovery:
                    return "promoted"
                if pause == "paused" and self.params["target_action"] == "pause":
                    return "paused"
                if time.monotonic() > deadline:
                    raise ModuleError(
                        f"{CANNOT}: recovery did not reach the target within start_timeout "
                        f"({self.params['start_timeout']} s) {self.log_tail(log)}"
                    )
                time.sleep(POLL)

    def check_database(self, psycopg2: Any, connect: Mapping[str, Any], name: str, state: str) -> dict[str, Any]:
        conn = psycopg2.connect(dbname=name, **connect)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                counts = count_rows(cursor, need("psycopg2.sql", "psycopg2-binary"))
                outcome: dict[str, Any] = {"tables": len(counts), "rows": sum(counts.values()), "row_counts": counts}
                if state != "promoted":
                    outcome["amcheck"] = {"checked": 0, "skipped": "the server is paused in recovery (read only)"}
                    return outcome
                try:
                    indexes, failed = check_btree_indexes(cursor, psycopg2)
                except psycopg2.Error as exc:
                    self.note("amcheck", WARNING, name, f"amcheck is not available in {name}: {str(exc).strip()}")
                    outcome["amcheck"] = {"checked": 0}
                    return outcome
        finally:
            conn.close()
        for index, error in failed.items():
            self.note(
                "amcheck", CRITICAL, f"{name}.{index}", f"btree check failed on the recovered {name}.{index}: {error}"
            )
        if not failed:
            self.note(
                "amcheck",
                OK,
                name,
                f"{len(indexes)} btree index(es) of the recovered {name} pass bt_index_check",
                value=len(indexes),
            )
        outcome["amcheck"] = {"checked": len(indexes), "failed": list(failed)}
        return outcome

    def log_tail(self, log: str) -> str:
        try:
            with open(log, encoding="utf-8", errors="replace") as handle:
                lines = [line.strip() for line in handle.read().splitlines() if line.strip()]
        except OSError:
            return ""
        important = [line for line in lines if any(word in line for word in ("FATAL", "PANIC", "ERROR"))]
        return "(server log: " + " | ".join((important or lines)[-3:]) + ")"

    def stop(self, started: Mapping[str, Any]) -> None:
        if started.get("running"):
            self.host.run_command(
                self.as_owner(
                    [started["pg_ctl"], "stop", "-D", started["destination"], "-m", "fast", "-w", "-t", "60"]
                ),
                cwd="/",
            )
            if os.path.exists(os.path.join(started["destination"], "postmaster.pid")):
                self.host.run_command(
                    self.as_owner(
                        [started["pg_ctl"], "stop", "-D", started["destination"], "-m", "immediate", "-w", "-t", "30"]
                    ),
                    cwd="/",
                )

    def remove(self, destination: str, started: Mapping[str, Any] | None) -> None:
        if os.path.isdir(destination) and not os.path.islink(destination):
            parent_fd = _safe_fs.open_dir(os.path.dirname(destination))
            try:
                _safe_fs.remove_tree(parent_fd, os.path.basename(destination))
            finally:
                os.close(parent_fd)
        if started and started.get("run_dir"):
            shutil.rmtree(started["run_dir"], ignore_errors=True)
