# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure parts of the Barman modules: Barman's JSON in the collection's words, the RPO estimate,
the recovery plan (backup, WAL range, destination) and the option checks."""

from __future__ import annotations

import datetime
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import CRITICAL, OK, WARNING
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr import _barman, _checksums, _info, _recover

UTC = datetime.timezone.utc
MOMENT = datetime.datetime(2026, 12, 4, 15, 0, 0, tzinfo=UTC)


def recover_params(**given: object) -> dict[str, object]:
    params = {name: spec.get("default") for name, spec in _recover.ARGUMENT_SPEC.items()}
    params.update(server="jarvis", destination="/var/lib/jarvis-pitr-test/data")
    params.update(given)
    return params


@pytest.mark.parametrize(
    ("lsn", "position"),
    [
        ("0/5000090", 0x5000090),
        ("1/0", 1 << 32),
        ("A/FF", (10 << 32) + 255),
        ("", None),
        ("5000090", None),
        (None, None),
        ("0/xyz", None),
    ],
)
def test_lsn_bytes(lsn: object, position: int | None) -> None:
    assert _barman.lsn_bytes(lsn) == position


def test_slot_record_reads_barmans_record_text() -> None:
    text = "Record(slot_name='barman', active=True, restart_lsn='0/6000000')"
    assert _barman.slot_record(text) == {"name": "barman", "active": True, "restart_lsn": "0/6000000"}
    assert _barman.slot_record("Record(slot_name='b', active=False, restart_lsn=None)") == {
        "name": "b",
        "active": False,
        "restart_lsn": None,
    }
    assert _barman.slot_record(None) is None
    assert _barman.slot_record("") is None


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"server": "jarvis;rm", "barman_user": "barman", "barman_timeout": 10}, "server 'jarvis;rm'"),
        ({"server": "-c", "barman_user": "barman", "barman_timeout": 10}, "server '-c'"),
        ({"server": "jarvis", "barman_user": "root user", "barman_timeout": 10}, "barman_user"),
        ({"server": "jarvis", "barman_user": "barman", "barman_timeout": 0}, "barman_timeout"),
    ],
)
def test_barman_options_are_checked(params: dict[str, object], words: str) -> None:
    assert words in str(_barman.problem(params))


def test_good_barman_options_pass() -> None:
    assert _barman.problem({"server": "jarvis-db_1.x", "barman_user": "barman", "barman_timeout": 1}) is None


def test_estimated_rpo_is_zero_when_the_receiver_has_everything() -> None:
    client = {"write_lsn": "0/6000000"}
    assert _info.estimate_rpo(0x6000000, client, MOMENT - datetime.timedelta(hours=3), MOMENT) == 0.0


def test_estimated_rpo_is_the_time_since_wal_was_last_received_when_behind() -> None:
    last = MOMENT - datetime.timedelta(seconds=42.5)
    assert _info.estimate_rpo(0x6000100, {"write_lsn": "0/6000000"}, last, MOMENT) == 42.5
    # no receiver at all (streaming stopped): the same age, growing from when it stopped
    assert _info.estimate_rpo(0x6000100, None, last, MOMENT) == 42.5


def test_estimated_rpo_is_unknown_without_any_wal() -> None:
    assert _info.estimate_rpo(0x6000100, None, None, MOMENT) is None


def test_receiver_is_found_by_slot_then_by_name() -> None:
    clients = {
        "streaming_clients": [
            {"application_name": "walreceiver", "replication_slot": "standby"},
            {"application_name": "barman_receive_wal", "replication_slot": "other"},
            {"application_name": "x", "replication_slot": "barman"},
        ]
    }
    assert _info.receiver(clients, "barman")["application_name"] == "x"
    assert _info.receiver(clients, "nope")["application_name"] == "barman_receive_wal"
    assert _info.receiver({}, "barman") is None


def test_each_failed_barman_check_is_critical() -> None:
    findings = _info.check_findings(
        {
            "wal_level": {"status": "OK", "hint": ""},
            "receive_wal_running": {"status": "FAILED", "hint": "See the Barman log file"},
            "replication_slot": {"status": "FAILED", "hint": "slot 'barman' doesn't exist"},
        }
    )
    assert [(f.subject, f.severity) for f in findings] == [
        ("receive_wal_running", CRITICAL),
        ("replication_slot", CRITICAL),
    ]
    assert "See the Barman log file" in findings[0].message
    passing = _info.check_findings({"wal_level": {"status": "OK"}})
    assert [(f.severity, f.value) for f in passing] == [(OK, 1)]


def test_backup_summary_speaks_iso_and_bytes() -> None:
    row = {
        "backup_id": "20261204T150947",
        "status": "DONE",
        "end_time_timestamp": "1796396988",
        "size_bytes": 20664719,
        "wal_size_bytes": 0,
    }
    detail = {
        "base_backup_information": {
            "begin_time_timestamp": "1796396987",
            "end_time_timestamp": "1796396988",
            "begin_wal": "000000010000000000000004",
            "compression": "zstd",
        }
    }
    summary = _info.backup_summary(row, detail)
    assert summary["end_time"] == "2026-12-04T15:09:48Z"
    assert summary["begin_time"] == "2026-12-04T15:09:47Z"
    assert summary["begin_wal"] == "000000010000000000000004"
    assert "begin_wal" not in _info.backup_summary(row)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-04T15:09:57.598841Z", datetime.datetime(2026, 12, 4, 15, 9, 57, 598841, tzinfo=UTC)),
        ("2026-12-04 16:09:57+01:00", datetime.datetime(2026, 12, 4, 15, 9, 57, tzinfo=UTC)),
    ],
)
def test_target_time_is_iso_with_a_zone(text: str, expected: datetime.datetime) -> None:
    assert _recover.parse_target_time(text) == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"target_time": "2026-12-04T15:09:57"}, "must name its time zone"),
        ({"target_time": "yesterday"}, "not an ISO 8601 time"),
        ({"target_lsn": "5000090"}, "target_lsn"),
        ({"target_name": "a b"}, "target_name"),
        ({"backup_id": "../x"}, "backup_id"),
        ({"destination": "relative/dir"}, "absolute path"),
        ({"destination": "/"}, "absolute path"),
        ({"start_port": 80}, "start_port"),
        ({"start_port": 25499, "target_action": "shutdown"}, "target_action=shutdown"),
        ({"remove": True}, "remove needs start_port"),
        ({"start_port": 25499, "start_timeout": 0}, "start_timeout"),
    ],
)
def test_recover_options_are_checked(given: dict[str, object], words: str) -> None:
    assert words in str(_recover.problem(recover_params(**given)))


def test_good_recover_options_pass() -> None:
    assert _recover.problem(recover_params(target_time="2026-12-04T02:15:00Z", backup_id="latest")) is None
    assert _recover.problem(recover_params(target_lsn="0/5000090", start_port=25499, remove=True)) is None


def test_xlog_db_rows_and_the_wal_range_to_a_target() -> None:
    text = (
        "000000010000000000000003\t16777216\t100.0\tNone\tNone\n"
        "000000010000000000000004\t16777216\t200.0\tNone\tNone\n"
        "000000010000000000000005\t16777216\t300.0\tzstd\tNone\n"
        "00000002.history\t42\t310.0\tNone\tNone\n"
        "000000010000000000000006\t16777216\t400.0\tNone\tNone\n"
        "garbage line\n"
    )
    rows = _barman.read_xlog_db(text)
    assert [row["name"][-1] for row in rows] == ["3", "4", "5", "6"]
    assert [row["compression"] for row in rows] == [None, None, "zstd", None]
    target = datetime.datetime.fromtimestamp(250.0, tz=UTC)
    assert [row["name"][-1] for row in _recover.wal_range(rows, "000000010000000000000004", target)] == ["4", "5"]
    assert [row["name"][-1] for row in _recover.wal_range(rows, "000000010000000000000004", None)] == ["4", "5", "6"]
    # another timeline's segments are not replayed from this backup
    assert _recover.wal_range(rows, "000000020000000000000004", None) == []


def test_controldata_settings_keep_what_recovery_needs() -> None:
    text = (
        "wal_level setting:                    replica\nmax_connections setting:              100\n"
        "max_prepared_xacts setting:           10\nmax_locks_per_xact setting:           64\n"
    )
    assert _recover.controldata_settings(text) == {
        "max_connections": "100",
        "max_prepared_transactions": "10",
        "max_locks_per_transaction": "64",
    }


def test_destination_must_be_new_or_empty(tmp_path: object) -> None:
    base = str(tmp_path)
    assert _recover.destination_problem(os.path.join(base, "new")) is None
    empty = os.path.join(base, "empty")
    os.mkdir(empty)
    assert _recover.destination_problem(empty) is None
    full = os.path.join(base, "full")
    os.mkdir(full)
    open(os.path.join(full, "x"), "w").close()
    assert "not empty" in str(_recover.destination_problem(full))
    open(os.path.join(full, "PG_VERSION"), "w").close()
    assert "PostgreSQL data directory" in str(_recover.destination_problem(full))
    a_file = os.path.join(base, "file")
    open(a_file, "w").close()
    assert "not a directory" in str(_recover.destination_problem(a_file))


def test_a_running_servers_data_directory_is_named_as_such(tmp_path: object) -> None:
    data = os.path.join(str(tmp_path), "data")
    os.mkdir(data)
    open(os.path.join(data, "PG_VERSION"), "w").close()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with open(os.path.join(data, "postmaster.pid"), "w") as handle:
            handle.write(f"{sleeper.pid}\n{data}\n")
        assert f"running PostgreSQL server (postmaster pid {sleeper.pid})" in str(_recover.destination_problem(data))
    finally:
        sleeper.kill()
        sleeper.wait()


def test_chown_tree_never_follows_a_link(tmp_path: object) -> None:
    if os.geteuid() != 0 and os.environ.get("CI") != "true":
        pytest.skip("chown to another user needs root (CI runs as root: never skipped there)")
    base = str(tmp_path)
    tree = os.path.join(base, "tree")
    os.makedirs(os.path.join(tree, "sub"))
    outside = os.path.join(base, "outside")
    open(outside, "w").close()
    os.symlink(outside, os.path.join(tree, "sub", "link"))
    _recover.chown_tree(tree, 65534, 65534)
    assert os.stat(os.path.join(tree, "sub")).st_uid == 65534
    assert os.lstat(os.path.join(tree, "sub", "link")).st_uid == 65534
    assert os.stat(outside).st_uid == 0


def test_a_directory_the_owner_cannot_enter_is_named(tmp_path: object) -> None:
    base = str(tmp_path)
    closed = os.path.join(base, "closed")
    os.makedirs(os.path.join(closed, "inner"))
    os.chmod(closed, 0o750)
    try:
        blocked = _recover.unreachable(os.path.join(closed, "inner", "data"), 65534, {65534})
        assert blocked is not None and blocked.startswith(closed) and "0750" in blocked
        os.chmod(closed, 0o755)
        # now the first closed directory is further up (pytest's own, mode 0700), or none
        blocked = _recover.unreachable(os.path.join(closed, "inner", "data"), 65534, {65534})
        assert blocked is None or not blocked.startswith(closed + " ")
        assert _recover.unreachable("/usr/lib/x", 65534, {65534}) is None
    finally:
        os.chmod(closed, 0o755)


def test_segment_names_and_numbers_round_trip() -> None:
    assert _barman.segment_number("0000000100000000000000FF") == 255
    assert _barman.segment_number("000000010000000100000000") == 256
    assert _barman.segment_name("00000001", 256) == "000000010000000100000000"
    assert _barman.segment_name("00000002", 5) == "000000020000000000000005"


def test_missing_segments_from_the_backup_on() -> None:
    names = [
        "0000000100000000000000FE",
        "000000010000000100000000",
        "000000010000000100000002",
        "000000010000000000000003",
        "00000002000000010000000A",
    ]
    # the backup began at ...FE: FF and 1/01 are missing; 1/03 and later are not there yet
    assert _barman.missing_segments(names, "0000000100000000000000FE") == [
        "0000000100000000000000FF",
        "000000010000000100000001",
    ]
    assert _barman.missing_segments(names, "000000010000000100000002") == []
    assert _barman.missing_segments([], "000000010000000100000002") == []


@pytest.mark.parametrize(
    ("names", "runs"),
    [
        ([], []),
        (["000000010000000000000005"], [["000000010000000000000005"]]),
        # a hole cuts a run; so does a new directory of the archive (its first 16 characters)
        (
            [
                "000000010000000000000007",
                "000000010000000000000005",
                "000000010000000000000006",
                "0000000100000000000000FF",
                "000000010000000100000000",
            ],
            [
                ["000000010000000000000005", "000000010000000000000006", "000000010000000000000007"],
                ["0000000100000000000000FF"],
                ["000000010000000100000000"],
            ],
        ),
        # another timeline is another run
        (
            ["000000010000000000000005", "000000020000000000000006"],
            [["000000010000000000000005"], ["000000020000000000000006"]],
        ),
    ],
)
def test_wal_runs_are_what_pg_waldump_reads_in_one_go(names: list[str], runs: list[list[str]]) -> None:
    assert _barman.wal_runs(names) == runs


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # pg_waldump 15's words, as seen in the role's test
        (
            "pg_waldump: error: error in WAL record at 0/67FFEE0: invalid magic number 2EEF in log segment "
            "000000010000000000000006, offset 8388608",
            (
                "000000010000000000000006",
                "invalid magic number 2EEF in log segment 000000010000000000000006, offset 8388608",
            ),
        ),
        (
            "pg_waldump: error: error in WAL record at 0/90C2408: incorrect resource manager data checksum in record "
            "at 0/90C2430",
            (
                "000000010000000000000009",
                "record at 0/90C2408: incorrect resource manager data checksum in record at 0/90C2430",
            ),
        ),
        (
            "pg_waldump: error: error in WAL record at 1/2000028: invalid record length",
            ("000000010000000100000002", "record at 1/2000028: invalid record length"),
        ),
        ('pg_waldump: error: could not open file "000000010000000000000006": Permission denied', None),
        ("", None),
    ],
)
def test_waldump_error_names_the_segment(text: str, found: tuple[str, str] | None) -> None:
    assert _barman.waldump_error(text, "00000001") == found


def test_integrity_finding() -> None:
    clean = {"checked": 6, "corrupt": [], "compressed": [], "stopped_at": None, "seconds": 0.3}
    finding = _info.integrity_finding("jarvis", clean, "000000010000000000000005")
    assert (finding.severity, finding.value) == (OK, 6)
    assert "6 archived WAL segment(s) since 000000010000000000000005" in finding.message
    damaged = dict(clean, corrupt=[{"segment": "00000001000000000000001A", "error": "record at 0/1A7FFFF0: bad"}])
    finding = _info.integrity_finding("jarvis", damaged, "000000010000000000000005")
    assert (finding.severity, finding.subject, finding.value) == (CRITICAL, "00000001000000000000001A", 1)
    assert "WAL segment 00000001000000000000001A in Barman's archive of jarvis is damaged" in finding.message
    stopped = dict(clean, stopped_at="00000001000000000000000B", compressed=["000000010000000000000009"])
    finding = _info.integrity_finding("jarvis", stopped, None)
    assert finding.severity == WARNING
    assert "stopped by wal_validation_timeout at 00000001000000000000000B" in finding.message
    assert "1 compressed segment(s) not read" in finding.message
    assert _info.integrity_finding("jarvis", None, None).severity == OK
    assert (
        "1 archived WAL segment(s) in the archive read"
        in _info.integrity_finding("jarvis", dict(clean, checked=1), None).message
    )


def test_checksums_compare_and_their_finding() -> None:
    recorded = {"base.tar.zst": {"size": 10, "sha256": "a"}, "backup_manifest": {"size": 5, "sha256": "b"}}
    assert _checksums.compare(recorded, recorded) == []
    actual = {"base.tar.zst": {"size": 10, "sha256": "c"}, "16385.tar.zst": {"size": 1, "sha256": "d"}}
    problems = _checksums.compare(recorded, actual)
    assert problems == [
        "backup_manifest is missing",
        "base.tar.zst changed since the backup (sha256 differs)",
        "16385.tar.zst appeared since the backup",
    ]
    assert _checksums.compare(recorded, {**recorded, "base.tar.zst": {"size": 9, "sha256": "a"}}) == [
        "base.tar.zst has 9 bytes, 10 when recorded"
    ]
    finding = _info.checksum_finding("jarvis", "20261204T185048", {"files": recorded}, problems, "/x")
    assert (finding.severity, finding.subject, finding.value) == (CRITICAL, "20261204T185048", 3)
    assert finding.message.startswith("Base backup 20261204T185048 of jarvis is damaged: backup_manifest is missing")
    assert _info.checksum_finding("jarvis", "b", {"files": recorded}, [], "/x").severity == OK
    assert _info.checksum_finding("jarvis", "b", None, [], "/x").severity == WARNING


def test_room_finding_wants_one_wal_segment_free() -> None:
    full = _info.room_finding("jarvis", {"path": "/barman/jarvis", "free_bytes": 4096, "room_for_wal": False})
    assert (full.severity, full.value, full.threshold) == (CRITICAL, 4096, 16777216)
    assert "Barman's home of jarvis (/barman/jarvis) is full" in full.message
    roomy = _info.room_finding("jarvis", {"path": "/barman/jarvis", "free_bytes": 1 << 30, "room_for_wal": True})
    assert roomy.severity == OK


def test_checksum_records_round_trip_and_refuse_a_shared_directory(tmp_path: object) -> None:
    data = os.path.join(str(tmp_path), "data")
    os.mkdir(data)
    with open(os.path.join(data, "base.tar.zst"), "wb") as handle:
        handle.write(b"backup")
    os.symlink("/etc/hostname", os.path.join(data, "link"))
    files = _checksums.file_digests(data)
    assert list(files) == ["base.tar.zst"]  # the link is neither followed nor recorded
    assert files["base.tar.zst"]["size"] == 6
    where = os.path.join(str(tmp_path), "checksums")
    assert _checksums.read_record(where, "jarvis", "b1") is None
    path = _checksums.write_record(where, "jarvis", "b1", files)
    assert path == os.path.join(where, "jarvis", "b1.json")
    assert stat.S_IMODE(os.stat(os.path.join(where, "jarvis")).st_mode) == 0o700
    assert _checksums.read_record(where, "jarvis", "b1")["files"] == files
    assert _checksums.read_record(where, "jarvis", "b2") is None
    os.chmod(os.path.join(where, "jarvis"), 0o777)
    with pytest.raises(_safe_fs.UnsafePath):
        _checksums.read_record(where, "jarvis", "b1")


def test_pg_program_looks_in_bin_dir_then_barmans_path_prefix(tmp_path: object) -> None:
    first, second = os.path.join(str(tmp_path), "a"), os.path.join(str(tmp_path), "b")
    for directory in (first, second):
        os.mkdir(directory)
        path = os.path.join(directory, "pg_waldump")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\n")
        os.chmod(path, 0o755)

    class NoPath:
        @staticmethod
        def get_bin_path(name: str) -> None:
            return None

    server = {"path_prefix": f"/nowhere:{second}", "server_txt_version": "99.1"}
    assert _barman.pg_program(NoPath(), "pg_waldump", server, first) == os.path.join(first, "pg_waldump")
    assert _barman.pg_program(NoPath(), "pg_waldump", server) == os.path.join(second, "pg_waldump")
    assert _barman.pg_program(NoPath(), "pg_waldump", {}) is None


def test_home_space_says_whether_a_wal_segment_fits(tmp_path: object) -> None:
    space = _barman.home_space(str(tmp_path))
    assert space["path"] == str(tmp_path)
    assert space["room_for_wal"] == (space["free_bytes"] >= 16 * 1024 * 1024)
