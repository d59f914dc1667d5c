# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""barman_info: what Barman knows of one server, as data and findings.

Barman's own checks (``barman check``) become findings one for one. On top of them, what the CLI
does not judge: the age of the newest base backup, the estimated recovery point objective (how much
committed work a crash of the primary would lose now), the WAL the replication slot holds back on
the primary, and the free space of Barman's home.

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

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds
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
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._resources import THRESHOLDS as HOST_THRESHOLDS
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._resources import disk_usage
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr._barman import (
    BARMAN_SPEC,
    Barman,
    lsn_bytes,
    missing_segments,
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

ARGUMENT_SPEC = {**BARMAN_SPEC, "thresholds": _thresholds.option(THRESHOLDS)}

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


class BarmanInfo(Backend):
    """Reads Barman's catalogue, checks and WAL state; judges them; changes nothing."""

    def run(self) -> dict[str, Any]:
        _thresholds.validate(THRESHOLDS, self.params["thresholds"], "judge Barman's state")
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
        archive, missing = self.wal_archive(barman, server, newest)
        findings.append(archive)
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
            "wal_archive": {"segments": archive.value, "missing": missing},
            "disk": disk,
            "findings": [finding.as_dict() for finding in findings],
            "severity": worst(findings),
        }

    def wal_archive(
        self, barman: Barman, server: Mapping[str, Any], newest: Mapping[str, Any] | None
    ) -> tuple[Finding, list[str]]:
        """Every WAL segment from the newest base backup's first one to the newest received is in the
        archive (in Barman's catalogue and on disk): a recovery stops at the first one missing. The
        finding and the names of the missing segments."""
        name = self.params["server"]
        rows = barman.wal_catalogue(server)
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
