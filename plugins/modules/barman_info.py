#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: barman_info
short_description: Barman's backups, WAL streaming and recovery point objective as data and findings
version_added: 1.0.0
description:
  - Reads what Barman knows of one PostgreSQL server (C(barman -f json) C(check), C(list-backups), C(show-backup),
    C(show-servers) and C(replication-status)) and returns it as data, so that roles never parse Barman's console text.
  - Each of Barman's own checks that fails is a V(critical) finding (C(barman_check)). On top of them the module judges
    what Barman does not - the age of the newest complete base backup, the estimated recovery point objective (RPO),
    the WAL the replication slot holds back on the primary, and the disk space used where Barman's home is.
  - 'The estimated RPO is the committed work a crash of the primary would lose now: 0 when Barman''s WAL receiver has
    written everything the primary has written; otherwise the seconds since Barman last received WAL (the newest file
    of its streaming directory). A receiver that stopped makes it grow from the moment it stopped.'
  - Every WAL segment from the newest base backup's first one to the newest archived one must be in Barman's archive (its
    catalogue and its files); a missing one is V(critical) (C(wal_archive)), since a recovery would stop there.
  - 'Each of those segments is read with C(pg_waldump --quiet) as Barman''s user (C(wal_integrity)): the CRC, header and
    back-link of every record. A segment Barman archived is complete (it archives one only once all of it was received),
    so a record pg_waldump cannot read there is damage, never the end of the WAL; the segment still being received
    (C(.partial), in Barman''s streaming directory) is not read. A damaged segment is V(critical) and named (the subject);
    after it the reading starts again at the next segment (up to 10 damaged segments are named). Bytes changed in the
    zeros that follow a WAL switch are not seen - no recovery reads them either. Compressed segments (Barman''s
    C(compression)) are counted, not read. Cost - about 0.9 s per GB of WAL read from the page cache (34 segments of
    small records, 544 MB, in 0.49 s on 2 cores), a disk''s read speed when not cached; the WAL of one backup interval
    is read on every run, stopped by O(wal_validation_timeout) (then V(warning)). A state file of segments already read would be cheaper but
    would miss a segment damaged after it was read.'
  - 'The files of the newest base backup are compared with the size and sha256 M(jarvis.maintenance.barman_backup)
    recorded when it took the backup (C(backup_checksums)): a changed, missing or added file is V(critical); a backup
    without a record (taken by other means) is a V(warning). Why a record: PostgreSQL 15 writes its zstd frames without
    a content checksum (C(zstd -lv) says C(Check: None)), so C(zstd -t) only sees damage that breaks the compressed
    structure (one of four bytes flipped in the test''s backup); C(pg_verifybackup) and C(barman verify-backup) cannot
    read tar-format backups before PostgreSQL 16. Cost - one read of the backup, about 1.2 s per GiB from the page
    cache (0.01 s for the test''s 6.6 MB).'
  - 'Barman''s home must hold the next WAL segment (C(wal_room)): pg_receivewal writes each segment at its full 16 MiB
    from the start, so with less free space WAL streaming stops and the primary keeps its WAL in the slot - V(critical)
    whatever O(thresholds.disk_percent_critical) says (on a big disk 90 % still leaves room; on a small one 80 % may not).'
  - It only reads; it changes nothing.
extends_documentation_fragment:
  - jarvis.maintenance.attributes
  - jarvis.maintenance.attributes.READ_ONLY
  - jarvis.maintenance.barman
  - jarvis.maintenance.barman_checksums
  - jarvis.maintenance.thresholds
options:
  wal_validation_timeout:
    description:
      - Seconds pg_waldump may spend reading the archived WAL since the newest base backup began (C(wal_integrity)); what
        is left unread then makes the finding a V(warning) naming the segment it stopped at.
      - V(0) reads nothing (the finding says so, V(ok)).
    type: int
    default: 600
  thresholds:
    suboptions:
      newest_backup_age_hours_warning: {type: float, default: 26, description: "Hours since the newest complete base backup ended.
          No base backup at all is critical."}
      newest_backup_age_hours_critical: {type: float, default: 50, description: "Critical level; see O(thresholds.newest_backup_age_hours_warning)."}
      rpo_seconds_warning: {type: float, default: 60, description: "The estimated RPO, in seconds. No WAL received at all is critical."}
      rpo_seconds_critical: {type: float, default: 900, description: "Critical level; see O(thresholds.rpo_seconds_warning)."}
      slot_retained_bytes_warning: {type: float, default: 1073741824, description: "Bytes of WAL the replication slot holds
          back on the primary (its current LSN minus the slot's restart LSN): WAL streaming that stopped fills the
          primary's disk from here."}
      slot_retained_bytes_critical: {type: float, default: 4294967296, description: "Critical level; see O(thresholds.slot_retained_bytes_warning)."}
      disk_percent_warning: {type: float, default: 80, description: "Disk space used where Barman's home is, in percent (as
          M(jarvis.maintenance.host_resources_info) counts it)."}
      disk_percent_critical: {type: float, default: 90, description: "Critical level; see O(thresholds.disk_percent_warning)."}
seealso:
  - module: jarvis.maintenance.barman_backup
  - module: jarvis.maintenance.barman_recover
  - name: Barman's documentation
    description: The commands this module reads.
    link: https://docs.pgbarman.org/
"""

EXAMPLES = r"""
- name: Barman's view of the jarvis server
  jarvis.maintenance.barman_info:
    server: jarvis
  register: pitr

- name: Show the estimated RPO and the newest base backup
  ansible.builtin.debug:
    msg: "RPO {{ pitr.rpo_seconds }} s; newest base backup {{ pitr.newest_backup.backup_id | default('none') }}"
"""

RETURN = r"""
server:
  description: The Barman server read.
  returned: success
  type: str
server_info:
  description: Barman's home, whether the server is in recovery, the retention policy, the slot's name and the system id.
  returned: success
  type: dict
barman_checks:
  description: Barman's own checks by name, each with C(status) (V(OK) or V(FAILED)) and C(hint).
  returned: success
  type: dict
  sample: {"wal_level": {"status": "OK", "hint": ""}, "receive_wal_running": {"status": "FAILED", "hint": "See the Barman log file"}}
backups:
  description: Barman's catalogue, oldest first - C(backup_id), C(status), C(end_time) (ISO 8601, UTC), C(size_bytes),
    C(wal_size_bytes).
  returned: success
  type: list
  elements: dict
newest_backup:
  description: The newest complete (DONE) base backup with its C(begin_time), C(end_time), C(begin_wal), C(end_wal),
    C(begin_lsn), C(end_lsn), C(timeline), C(compression), C(backup_size_bytes) and C(copy_seconds); null when none.
  returned: success
  type: dict
wal:
  description: WAL streaming - C(streaming) (the receiver is connected and streaming), C(receiver) (its positions),
    the primary's C(current_lsn) and C(current_wal), and C(last_received_at) / C(last_received_age_seconds).
  returned: success
  type: dict
slot:
  description: The replication slot (C(name), C(active), C(restart_lsn), C(retained_bytes)); null without one.
  returned: success
  type: dict
wal_archive:
  description:
    - C(segments) (archived since the newest base backup began) and C(missing) (the names of those missing).
    - C(validation) - what pg_waldump read - C(checked) (segments read), C(corrupt) (each damaged segment's C(segment) and
      pg_waldump's C(error)), C(compressed) (segments not read), C(stopped_at) (the segment O(wal_validation_timeout)
      stopped at, or null) and C(seconds); null when O(wal_validation_timeout=0) or the catalogue is empty.
  returned: success
  type: dict
  sample:
    segments: 6
    missing: []
    validation:
      checked: 6
      corrupt:
        - segment: 00000001000000000000001A
          error: "record at 0/1A7FFFF0: incorrect resource manager data checksum in record at 0/1A800048"
      compressed: []
      stopped_at: null
      seconds: 0.28
rpo_seconds:
  description: The estimated RPO in seconds; null when Barman has received no WAL.
  returned: success
  type: float
disk:
  description: Disk usage where Barman's home is (as M(jarvis.maintenance.host_resources_info) returns it).
  returned: success
  type: dict
findings:
  description: The findings (C(barman_check), C(newest_backup_age_hours), C(rpo_seconds), C(slot_retained_bytes),
    C(disk_percent), C(wal_archive), C(wal_integrity), C(backup_checksums) (when there is a base backup), C(wal_room)).
  returned: success
  type: list
  elements: dict
severity:
  description: The worst severity of the findings.
  returned: success
  type: str
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr._info import ARGUMENT_SPEC, BarmanInfo


def main() -> None:
    run_module(ARGUMENT_SPEC, BarmanInfo)


if __name__ == "__main__":
    main()
