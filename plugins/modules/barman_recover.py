#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: barman_recover
short_description: Recover a Barman base backup to a point in time into a new data directory, verify it, test-start it
version_added: 1.0.0
description:
  - Plans a point-in-time recovery from Barman - which base backup (the newest that ended before the target), which WAL
    files (from the backup's first segment to the one archived at the target), how much space that needs - and, outside
    check mode, runs C(barman recover) into O(destination) and hands the files to O(owner).
  - O(destination) must be absent or an empty directory, in a directory that no other user can write to, on a filesystem
    with room for the plan. A data directory, above all a running server's, is refused and never touched.
  - The plan refuses a WAL segment missing from the archive before the target, and reads the WAL the recovery will replay
    with C(pg_waldump) (as M(jarvis.maintenance.barman_info) does, within O(barman_timeout)) - a damaged segment is
    refused by name, since PostgreSQL would stop replaying at its last good record as if the WAL ended there (and
    without a target promote a cluster that silently lacks the rest). A restore test (O(start_port)) is refused while
    Barman's home has less than one 16 MiB WAL segment free - WAL streaming has stopped, so the present cannot be reached.
    These refusals happen in check mode too.
  - With O(verify), C(pg_verifybackup) compares every recovered data file with the checksums PostgreSQL wrote into the
    backup's manifest when the backup was taken (the files Barman adds for recovery are left out), and checks the WAL
    Barman copied. A mismatch is a V(critical) finding and fails the task.
  - With O(start_port) it is a restore test - the recovered cluster starts on that port with no TCP listener, its socket
    and a trust-only C(pg_hba.conf) in a private directory, and WAL archiving off; recovery runs to the target; each
    database gets exact row counts and amcheck's C(bt_index_check) on every btree index (after O(target_action=promote)).
    The server is always stopped afterwards, and with O(remove) the recovered directory is removed too, also on failure.
extends_documentation_fragment:
  - jarvis.maintenance.attributes
  - jarvis.maintenance.barman
  - jarvis.maintenance.barman_checksums
attributes:
  check_mode:
    details:
      - Check mode returns RV(plan) (and the one action in C(planned)) after the same checks of the destination; nothing
        is recovered.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Each run recovers again; a second run into the same O(destination) is refused because it is no longer empty.
options:
  destination:
    description:
      - The new data directory. Absent (it is created, mode 0700) or an empty directory.
    type: path
    required: true
  backup_id:
    description:
      - The base backup to recover. V(auto) takes the newest complete one that ended before O(target_time) (or O(target_lsn)),
        else the newest. A Barman backup id or alias (V(latest), V(oldest)...) takes that one.
    type: str
    default: auto
  target_time:
    description:
      - Recover to this time, ISO 8601 with its time zone (V(2026-12-04T02:15:00Z)). Without any target, recovery replays
        every archived WAL file (latest).
      - Mutually exclusive with O(target_lsn) and O(target_name).
    type: str
  target_lsn:
    description: Recover to this WAL position (V(0/5000090)).
    type: str
  target_name:
    description: Recover to this named restore point (C(pg_create_restore_point)).
    type: str
  target_action:
    description:
      - What the server does when it reaches the target (C(recovery_target_action)) - V(promote) (open for writes),
        V(pause) (read-only, to look before promoting), V(shutdown). Applies only with a target.
    type: str
    choices: [promote, pause, shutdown]
    default: promote
  owner:
    description: The user that owns the recovered cluster and runs it (the files are given to it without following links).
    type: str
    default: postgres
  partial_wal:
    description:
      - Also replay the WAL segment Barman was still receiving (its C(.partial) file), so that a recovery after a crash of
        the primary loses only what never reached Barman (C(barman recover --partial-wal)).
    type: bool
    default: true
  verify:
    description:
      - Before the recovery, compare the backup's files with the sha256 M(jarvis.maintenance.barman_backup) recorded when
        it took the backup (when there is a record under O(checksums_dir)) and refuse a changed backup; after it, run
        C(pg_verifybackup) against the backup's manifest.
    type: bool
    default: true
  bin_dir:
    description:
      - Directory of C(pg_ctl), C(pg_controldata) and C(pg_verifybackup). By default that of the backup's major version
        (V(/usr/lib/postgresql/15/bin)), else PATH.
    type: path
  start_port:
    description:
      - Start the recovered cluster on this port for a restore test (1024 to 65535; it listens on no TCP address, only on a
        socket in a private directory). Not with O(target_action=shutdown).
    type: int
  start_timeout:
    description: Seconds the restore test waits for the server to start and recovery to reach the target.
    type: int
    default: 600
  superuser:
    description: The recovered cluster's superuser, used for the restore test's checks.
    type: str
    default: postgres
  queries:
    description:
      - SQL to run on the restore test's server after the checks (needs O(start_port)), as its superuser; each answer is in
        C(queries) of RV(server), in order. For a test that knows what the target must contain.
    type: list
    elements: dict
    default: []
    suboptions:
      database:
        description: The database to run it in.
        type: str
        required: true
      sql:
        description: The statement.
        type: str
        required: true
  remove:
    description: Remove O(destination) after the restore test (needs O(start_port)), whatever its outcome.
    type: bool
    default: false
seealso:
  - module: jarvis.maintenance.barman_info
"""

EXAMPLES = r"""
- name: What a recovery to 02:15 UTC would take (changes nothing)
  jarvis.maintenance.barman_recover:
    server: jarvis
    destination: /var/lib/postgresql/15/recovered
    target_time: "2026-12-04T02:15:00Z"
  check_mode: true
  register: plan

- name: Restore test - recover to ten minutes ago into scratch, start, check, remove
  jarvis.maintenance.barman_recover:
    server: jarvis
    destination: /var/lib/jarvis-pitr-test/data
    target_time: "{{ '%Y-%m-%dT%H:%M:%SZ' | strftime(now(utc=true).timestamp() - 600, utc=true) }}"
    start_port: 25499
    remove: true
  register: restore_test
"""

RETURN = r"""
plan:
  description: The recovery - C(backup_id), C(backup_end_time), C(target), C(begin_wal), C(wal_through), C(wal_files),
    C(wal_bytes) (from Barman's WAL catalogue, by archive time), C(space_needed_bytes), C(destination),
    C(destination_free_bytes), C(manifest).
  returned: always
  type: dict
recovered:
  description: Whether C(barman recover) ran and succeeded.
  returned: always
  type: bool
verify:
  description: C(verified), the C(manifest) used and, on a mismatch, the first C(errors) of C(pg_verifybackup).
  returned: when verify ran
  type: dict
server:
  description: The restore test - C(port), C(state) (V(promoted) or V(paused)), C(seconds_to_ready) (start to target),
    C(last_replayed_commit), per database C(tables), C(rows), C(row_counts) and C(amcheck), and C(queries) (the rows
    of each of O(queries), in order).
  returned: with start_port
  type: dict
removed:
  description: Whether the destination was removed (O(remove)).
  returned: with remove
  type: bool
findings:
  description:
    - The findings (C(pg_verifybackup), C(amcheck)). A failed task returns them too, with at least one V(critical)
      C(recovery) finding giving the reason when no check failed.
  returned: when recovered, and on failure
  type: list
  elements: dict
severity:
  description: The worst severity of the findings.
  returned: when recovered, and on failure
  type: str
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr._recover import (
    ARGUMENT_SPEC,
    MODULE_KWARGS,
    BarmanRecover,
)


def main() -> None:
    run_module(ARGUMENT_SPEC, BarmanRecover, **MODULE_KWARGS)


if __name__ == "__main__":
    main()
