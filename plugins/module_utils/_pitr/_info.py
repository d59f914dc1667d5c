# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""barman_info: what Barman knows of one server, as data and findings.

Barman's own checks (``barman check``) become findings one for one. On top of them, what the CLI
does not judge: the age of the newest base backup, the estimated recovery point objective (how much
committed work a crash of the primary would lose now), the WAL the replication slot holds back on
the primary, and the free space of Barman's home.

What a recovery would trip over, found before one is needed: a WAL segment missing from the archive
(``wal_archive``), a damaged one (``wal_integrity``: every segment archived since the newest base
backup began is read with ``pg_waldump``, see Barman.validate_wal), a base backup whose files changed
since it was taken (``backup_checksums``: the sha256 recorded by barman_backup, see _checksums) and a
home with no room for the next WAL segment (``wal_room``).

Cost, measured on 2 cores from the page cache (medians of 3): pg_waldump reads 34 segments of small
records (544 MB, 5.9 million records) in 0.49 s - about 0.9 s per GB of WAL, `cat` alone 0.09 s; when
the WAL is not cached a disk's read speed bounds it. It reads the WAL of one backup interval on every
run and stops at wal_validation_timeout. The checksums read the newest base backup once: sha256 takes
1.2 s per GiB (0.01 s for the test's 6.6 MB backup). A state file of
segments already validated would make later runs cheaper, but a segment damaged after it was
validated would then go unseen, which is what this check is for.

The estimated RPO: when Barman's WAL receiver has written everything the primary has written
(its write position equals the primary's current LSN), nothing would be lost: 0. Otherwise the
work at risk is what the primary wrote since Barman last received WAL: the seconds since the
newest WAL file in Barman's streaming directory was last written. A receiver that stopped makes
that age grow from the moment it stopped, which is the RPO a crash would cost.
"""

from __future__ import annotations

import datetime
import os
import stat as stat_module
from typing import Any, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs, _thresholds
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    CRITICAL,
    OK,
    WARNING,
    Finding,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import iso, now
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._resources import THRESHOLDS as HOST_THRESHOLDS
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._resources import disk_usage
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr import _checksums
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr._barman import (
    BARMAN_SPEC,
    SEGMENT_BYTES,
    Barman,
    home_space,
    lsn_bytes,
    missing_segments,
    pg_program,
    slot_record,
    timestamp,
)

CANNOT = "Cannot read Barman's state"

# Documented in the module's thresholds option. disk_percent is the host_resources threshold.
THRESHOLDS = {
    "newest_backup_age_hours": Threshold(26.0, 50.0, " h"),
    "rpo_seconds": Threshold(60.0, 900.0, " s"),
    "slot_retained_bytes": Threshold(1073741824.0, 4294967296.0, " bytes"),
    "disk_percent": HOST_THRESHOLDS["disk_percent"],
}

ARGUMENT_SPEC = {
    **BARMAN_SPEC,
    **_checksums.CHECKSUMS_SPEC,
    "wal_validation_timeout": {"type": "int", "default": 600},
    "thresholds": _thresholds.option(THRESHOLDS),
}

# The application name Barman's WAL receiver (pg_receivewal) connects with.
RECEIVER = "barman_receive_wal"


def newest_mtime(path: str) -> datetime.datetime | None:
    """When the newest regular file directly in path was last written (links not followed)."""
    newest = None
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if stat_module.S_ISREG(info.st_mode) and (newest is None or info.st_mtime > newest):
                    newest = info.st_mtime
    except OSError:
        return None
    return None if newest is None else datetime.datetime.fromtimestamp(newest, tz=datetime.timezone.utc)


def receiver(replication: Mapping[str, Any], slot_name: str | None) -> dict[str, Any] | None:
    """Barman's WAL receiver among the primary's streaming clients (by slot, else by name)."""
    clients = replication.get("streaming_clients") or []
    for client in clients:
        if slot_name and client.get("replication_slot") == slot_name:
            return client
    for client in clients:
        if client.get("application_name") == RECEIVER:
            return client
    return None


def estimate_rpo(
    current_lsn: int | None,
    client: Mapping[str, Any] | None,
    last_received: datetime.datetime | None,
    moment: datetime.datetime,
) -> float | None:
    """Seconds of committed work a crash of the primary would lose now (pure); None when unknown."""
    if client and current_lsn is not None:
        written = lsn_bytes(client.get("write_lsn"))
        if written is not None and written >= current_lsn:
            return 0.0
    if last_received is None:
        return None
    return round(max(0.0, (moment - last_received).total_seconds()), 1)


def backup_summary(row: Mapping[str, Any], detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One backup of Barman's catalogue, in the collection's words (ISO times, bytes)."""
    info = (detail or {}).get("base_backup_information") or {}
    begin = timestamp(info.get("begin_time_timestamp"))
    end = timestamp(info.get("end_time_timestamp") or row.get("end_time_timestamp"))
    summary = {
        "backup_id": row.get("backup_id"),
        "status": row.get("status"),
        "end_time": iso(end),
        "size_bytes": row.get("size_bytes"),
        "wal_size_bytes": row.get("wal_size_bytes"),
    }
    if info:
        summary.update(
            begin_time=iso(begin),
            begin_wal=info.get("begin_wal"),
            end_wal=info.get("end_wal"),
            begin_lsn=info.get("begin_lsn"),
            end_lsn=info.get("end_lsn"),
            timeline=info.get("timeline"),
            compression=info.get("compression"),
            backup_size_bytes=info.get("backup_size_bytes"),
            copy_seconds=info.get("copy_time_seconds"),
        )
    return summary


def check_findings(checks: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Each of Barman's failed checks as a critical finding; one ok finding when none failed."""
    failed = [
        Finding(
            check="barman_check",
            severity=CRITICAL,
            subject=name,
            value=str(result.get("status")),
            message=f"Barman's check {name} failed" + (f": {result.get('hint')}" if result.get("hint") else ""),
            recommendation="Run `barman check <server>` on the backup host and fix what it names.",
        )
        for name, result in sorted(checks.items())
        if str(result.get("status", "")).upper() != "OK"
    ]
    if failed:
        return failed
    return [
        Finding(
            check="barman_check",
            severity=OK,
            subject="barman",
            value=len(checks),
            message=f"All {len(checks)} of Barman's checks pass",
        )
    ]


def integrity_finding(server: str, validation: Mapping[str, Any] | None, since: str | None) -> Finding:
    """The wal_integrity finding of Barman.validate_wal's result (pure); None validation: not run."""
    if validation is None:
        return Finding("wal_integrity", OK, server, None, None, "WAL segments not validated (wal_validation_timeout=0)")
    corrupt = validation["corrupt"]
    if corrupt:
        first = corrupt[0]
        others = ""
        if len(corrupt) > 1:
            others = f" and {len(corrupt) - 1} more ({', '.join(item['segment'] for item in corrupt[1:4])})"
        return Finding(
            "wal_integrity",
            CRITICAL,
            first["segment"],
            len(corrupt),
            None,
            f"WAL segment {first['segment']} in Barman's archive of {server} is damaged (pg_waldump: {first['error']})"
            f"{others}: a recovery replays no further than its last good record",
            "Take a new base backup now (the pitr role's backup) so recovery no longer needs the damaged WAL; "
            "find what wrote to Barman's archive.",
        )
    notes = []
    if validation.get("stopped_at"):
        notes.append(f"stopped by wal_validation_timeout at {validation['stopped_at']}")
    if validation.get("compressed"):
        notes.append(f"{len(validation['compressed'])} compressed segment(s) not read")
    severity = WARNING if validation.get("stopped_at") else OK
    return Finding(
        "wal_integrity",
        severity,
        server,
        validation["checked"],
        None,
        f"{validation['checked']} archived WAL segment(s) {f'since {since}' if since else 'in the archive'} "
        "read without error by pg_waldump "
        f"in {validation['seconds']} s" + (f" ({'; '.join(notes)})" if notes else ""),
        "Raise wal_validation_timeout, or take base backups more often." if severity == WARNING else "",
    )


def checksum_finding(
    server: str, backup_id: str, record: Mapping[str, Any] | None, problems: list[str], checksums_dir: str
) -> Finding:
    """The backup_checksums finding of the newest base backup (pure)."""
    if record is None:
        return Finding(
            "backup_checksums",
            WARNING,
            backup_id,
            None,
            None,
            f"No checksums are recorded for base backup {backup_id} of {server} in {checksums_dir}: "
            "damage to its files cannot be seen before a restore test",
            "Take base backups with jarvis.maintenance.barman_backup (the pitr role's backup), which records them.",
        )
    if problems:
        return Finding(
            "backup_checksums",
            CRITICAL,
            backup_id,
            len(problems),
            None,
            f"Base backup {backup_id} of {server} is damaged: "
            + "; ".join(problems[:3])
            + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
            + ": a recovery from it fails or recovers damaged data",
            "Take a new base backup now (the pitr role's backup); recover from an older one meanwhile.",
        )
    return Finding(
        "backup_checksums",
        OK,
        backup_id,
        len(record["files"]),
        None,
        f"the {len(record['files'])} file(s) of base backup {backup_id} match the sha256 recorded when it was taken",
    )


def room_finding(server: str, space: Mapping[str, Any]) -> Finding:
    """The wal_room finding: does the next WAL segment fit in Barman's home (pure)."""
    if space["room_for_wal"]:
        return Finding(
            "wal_room",
            OK,
            str(space["path"]),
            space["free_bytes"],
            SEGMENT_BYTES,
            f"Barman's home of {server} has {human_bytes(space['free_bytes'])} free, room for the next WAL segment",
        )
    return Finding(
        "wal_room",
        CRITICAL,
        str(space["path"]),
        space["free_bytes"],
        SEGMENT_BYTES,
        f"Barman's home of {server} ({space['path']}) is full: {human_bytes(space['free_bytes'])} free, less than "
        "one 16 MiB WAL segment, so WAL streaming has stopped and the primary keeps its WAL in the slot",
        "Free space in Barman's home now (shorten the retention policy, remove old backups with barman delete, "
        "or grow the disk).",
    )


class BarmanInfo(Backend):
    """Reads Barman's catalogue, checks and WAL state; judges them; changes nothing."""

    def run(self) -> dict[str, Any]:
        _thresholds.validate(THRESHOLDS, self.params["thresholds"], "judge Barman's state")
        if self.params["wal_validation_timeout"] < 0:
            raise ModuleError(
                f"{CANNOT}: wal_validation_timeout must be 0 (off) or more seconds, "
                f"got {self.params['wal_validation_timeout']}"
            )
        barman = Barman(self.params, self.host, CANNOT)
        server = barman.show_server()
        if not server:
            raise ModuleError(f"{CANNOT}: Barman has no server {barman.server!r} in {self.params['barman_config']}")
        moment = now()
        checks = barman.check()
        backups = barman.backups()
        done = [row for row in backups if row.get("status") == "DONE"]
        newest = backup_summary(done[-1], barman.show_backup(str(done[-1]["backup_id"]))) if done else None
        slot = slot_record(server.get("replication_slot"))
        current_lsn = lsn_bytes(server.get("current_lsn"))
        if slot:
            restart = lsn_bytes(slot.get("restart_lsn"))
            slot["retained_bytes"] = (
                max(0, current_lsn - restart) if current_lsn is not None and restart is not None else None
            )
        client = receiver(barman.replication_status(), server.get("slot_name"))
        last_received = newest_mtime(str(server.get("streaming_wals_directory") or ""))
        rpo = estimate_rpo(current_lsn, client, last_received, moment)
        home = str(server.get("backup_directory") or "")
        try:
            disk = disk_usage(home, os.statvfs(home)) if home else None
        except OSError as exc:
            raise ModuleError(
                f"{CANNOT}: cannot measure the free space of Barman's home {home!r}: {exc.strerror}"
            ) from exc
        wal = {
            "streaming": bool(client and client.get("current_state") == "streaming"),
            "receiver": {
                key: client.get(key)
                for key in ("current_state", "sent_lsn", "write_lsn", "flush_lsn", "replication_slot", "started_at")
            }
            if client
            else None,
            "current_lsn": server.get("current_lsn"),
            "current_wal": server.get("current_xlog"),
            "last_received_at": iso(last_received),
            "last_received_age_seconds": round((moment - last_received).total_seconds(), 1) if last_received else None,
        }
        findings = self.judge(checks, newest, rpo, slot, disk, moment)
        rows = barman.wal_catalogue(server)
        archive, missing = self.wal_archive(barman, server, newest, rows)
        findings.append(archive)
        validation = self.wal_integrity(barman, server, newest, rows)
        findings.append(integrity_finding(barman.server, validation, (newest or {}).get("begin_wal")))
        checksums = self.backup_checksums(server, newest)
        if checksums is not None:
            findings.append(checksums)
        space = None
        if home:
            try:
                space = home_space(home)
            except OSError:
                space = None
        if space is not None:
            findings.append(room_finding(barman.server, space))
        return {
            "changed": False,
            "server": barman.server,
            "server_info": {
                "backup_directory": home,
                "is_in_recovery": server.get("is_in_recovery"),
                "retention_policy": server.get("retention_policy"),
                "slot_name": server.get("slot_name"),
                "postgres_systemid": server.get("postgres_systemid"),
            },
            "barman_checks": checks,
            "backups": [backup_summary(row) for row in backups],
            "newest_backup": newest,
            "wal": wal,
            "slot": slot,
            "rpo_seconds": rpo,
            "wal_archive": {"segments": archive.value, "missing": missing, "validation": validation},
            "disk": disk,
            "findings": [finding.as_dict() for finding in findings],
            "severity": worst(findings),
        }

    def wal_integrity(
        self,
        barman: Barman,
        server: Mapping[str, Any],
        newest: Mapping[str, Any] | None,
        rows: list[dict[str, Any]] | None,
    ) -> dict[str, Any] | None:
        """pg_waldump over the archived segments since the newest base backup began (its timeline)."""
        budget = self.params["wal_validation_timeout"]
        begin = str((newest or {}).get("begin_wal") or "")
        if budget <= 0 or not rows:
            return None
        pg_waldump = pg_program(self.host, "pg_waldump", server)
        if not pg_waldump:
            raise ModuleError(
                f"{CANNOT}: pg_waldump is not in Barman's path_prefix, PostgreSQL's directory or PATH; "
                "install postgresql-client or set wal_validation_timeout=0"
            )
        archived = set(barman.archived(server, rows))
        wanted = [
            row
            for row in rows
            if row["name"] in archived and (not begin or (row["name"][:8] == begin[:8] and row["name"] >= begin))
        ]
        return barman.validate_wal(server, wanted, pg_waldump, float(budget))

    def backup_checksums(self, server: Mapping[str, Any], newest: Mapping[str, Any] | None) -> Finding | None:
        """The newest base backup's files against the sha256 recorded when it was taken."""
        if not newest:
            return None
        backup_id = str(newest.get("backup_id"))
        where = self.params["checksums_dir"]
        try:
            record = _checksums.read_record(where, self.params["server"], backup_id)
        except (OSError, ValueError, _safe_fs.UnsafePath) as exc:
            raise ModuleError(f"{CANNOT}: cannot read the checksums of backup {backup_id} in {where}: {exc}") from exc
        if record is None:
            return checksum_finding(self.params["server"], backup_id, None, [], where)
        data_dir = os.path.join(str(server.get("basebackups_directory") or ""), backup_id, "data")
        try:
            actual = _checksums.file_digests(data_dir)
        except (OSError, _safe_fs.UnsafePath) as exc:
            actual = {}
            self.host.warn(f"Cannot read the files of backup {backup_id} in {data_dir}: {exc}")
        return checksum_finding(
            self.params["server"], backup_id, record, _checksums.compare(record["files"], actual), where
        )

    def wal_archive(
        self,
        barman: Barman,
        server: Mapping[str, Any],
        newest: Mapping[str, Any] | None,
        rows: list[dict[str, Any]] | None,
    ) -> tuple[Finding, list[str]]:
        """Every WAL segment from the newest base backup's first one to the newest received is in the
        archive (in Barman's catalogue and on disk): a recovery stops at the first one missing. The
        finding and the names of the missing segments."""
        name = self.params["server"]
        if rows is None:
            return (
                Finding(
                    "wal_archive",
                    WARNING,
                    name,
                    None,
                    None,
                    f"Cannot read Barman's WAL catalogue of {name}: the archive's continuity is unknown",
                ),
                [],
            )
        begin = str((newest or {}).get("begin_wal") or "")
        if not begin:
            return (
                Finding(
                    "wal_archive",
                    OK,
                    name,
                    len(rows),
                    None,
                    f"{len(rows)} WAL segment(s) archived; no base backup to recover from yet",
                ),
                [],
            )
        present = barman.archived(server, rows)
        missing = missing_segments(present, begin)
        needed = [row for row in present if row[:8] == begin[:8] and row >= begin]
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            return (
                Finding(
                    "wal_archive",
                    CRITICAL,
                    name,
                    len(needed),
                    None,
                    f"{len(missing)} WAL segment(s) after base backup {newest.get('backup_id')} are missing from "
                    f"Barman's archive ({shown}): a recovery stops at the first, at the latest point before it",
                    "Take a new base backup now (the pitr role's backup), and find what removed the files.",
                ),
                missing,
            )
        return (
            Finding(
                "wal_archive",
                OK,
                name,
                len(needed),
                None,
                f"all {len(needed)} WAL segment(s) since base backup {newest.get('backup_id')} are in the archive",
            ),
            [],
        )

    def judge(
        self,
        checks: Mapping[str, Any],
        newest: Mapping[str, Any] | None,
        rpo: float | None,
        slot: Mapping[str, Any] | None,
        disk: Mapping[str, Any] | None,
        moment: datetime.datetime,
    ) -> list[Finding]:
        levels = self.params["thresholds"]
        server = self.params["server"]
        findings = check_findings(checks)
        end = newest and newest.get("end_time")
        if end:
            age = (
                moment - datetime.datetime.strptime(end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
            ).total_seconds() / 3600.0
            findings.append(
                _thresholds.judge(
                    THRESHOLDS,
                    levels,
                    "newest_backup_age_hours",
                    server,
                    round(age, 1),
                    recommendation="Take a base backup (the pitr role's backup entry point); check `barman cron` runs.",
                    label=f"Age of the newest base backup of {server} ({newest.get('backup_id')})",
                )
            )
        else:
            findings.append(
                Finding(
                    check="newest_backup_age_hours",
                    severity=CRITICAL,
                    subject=server,
                    value=None,
                    message=f"Barman has no complete base backup of {server}: nothing can be recovered",
                    recommendation="Take a base backup (the pitr role's backup entry point).",
                )
            )
        if rpo is None:
            findings.append(
                Finding(
                    check="rpo_seconds",
                    severity=CRITICAL,
                    subject=server,
                    value=None,
                    message=f"Barman has received no WAL from {server}: "
                    "a crash would lose everything since the newest base backup",
                    recommendation="Start WAL streaming (barman receive-wal; the pitr role's setup).",
                )
            )
        else:
            findings.append(
                _thresholds.judge(
                    THRESHOLDS,
                    levels,
                    "rpo_seconds",
                    server,
                    rpo,
                    recommendation="Barman's WAL receiver is behind or stopped: check `barman receive-wal` runs.",
                    label=f"Estimated RPO of {server} (committed work a crash would lose)",
                )
            )
        if slot and slot.get("retained_bytes") is not None:
            findings.append(
                _thresholds.judge(
                    THRESHOLDS,
                    levels,
                    "slot_retained_bytes",
                    str(slot.get("name")),
                    slot["retained_bytes"],
                    recommendation="The slot keeps WAL on the primary until Barman receives it: restart WAL streaming "
                    "before the primary's disk fills.",
                    label=f"WAL held on {server} by replication slot {slot.get('name')}",
                )
            )
        if disk:
            findings.append(
                _thresholds.judge(
                    THRESHOLDS,
                    levels,
                    "disk_percent",
                    str(disk["path"]),
                    disk["percent"],
                    recommendation="Free space for Barman's home: shorten the retention policy or grow the disk.",
                    label=f"Disk space used where Barman keeps {server} ({disk['path']})",
                )
            )
        return findings
