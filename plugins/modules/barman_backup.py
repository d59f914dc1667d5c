#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: barman_backup
short_description: Take a base backup with Barman and record the sha256 of its files
version_added: 1.0.0
description:
  - Runs C(barman backup --wait) as Barman's user (the backup, then the wait until the WAL it needs is archived), then
    reads every file of the new backup and writes their size and sha256 under O(checksums_dir).
  - M(jarvis.maintenance.barman_info) compares the newest backup's files with that record on every check, so that a
    changed byte in a base backup is V(critical) before a recovery needs it. PostgreSQL 15 writes its zstd frames
    without a content checksum and C(pg_verifybackup) cannot read tar-format backups before PostgreSQL 16; the record
    is what makes the check possible. Recording costs one read of the backup (about 1.2 s per GiB from the page cache).
extends_documentation_fragment:
  - jarvis.maintenance.attributes
  - jarvis.maintenance.barman
  - jarvis.maintenance.barman_checksums
attributes:
  check_mode:
    details:
      - Check mode checks that Barman knows the server and returns the one action in C(planned); no backup is taken.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Each run takes a new base backup.
notes:
  - O(barman_timeout) bounds the backup and the wait for its WAL (C(--wait-timeout)).
seealso:
  - module: jarvis.maintenance.barman_info
  - module: jarvis.maintenance.barman_recover
"""

EXAMPLES = r"""
- name: Take a base backup of the jarvis server and record its checksums
  jarvis.maintenance.barman_backup:
    server: jarvis
    barman_timeout: 7200
  register: pitr_backup
"""

RETURN = r"""
backup_id:
  description: The new backup's id.
  returned: changed and not check mode
  type: str
  sample: 20261204T184408
checksums:
  description: The record written.
  returned: changed and not check mode
  type: str
  sample: /var/lib/jarvis-pitr/checksums/jarvis/20261204T184408.json
files:
  description: Each file of the backup's data directory with its C(size) and C(sha256).
  returned: changed and not check mode
  type: dict
  sample: {"base.tar.zst": {"size": 6910118, "sha256": "150fa2e6b1cef5e0415a0a77bbd97a2e087ae3c63e4f928ec18359daa497cde9"}}
bytes:
  description: The size of the backup's files together, in bytes.
  returned: changed and not check mode
  type: int
planned:
  description: In check mode, what would be done.
  returned: check mode
  type: list
  elements: str
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr._backup import ARGUMENT_SPEC, BarmanBackup


def main() -> None:
    run_module(ARGUMENT_SPEC, BarmanBackup)


if __name__ == "__main__":
    main()
