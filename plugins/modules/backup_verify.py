#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_verify
short_description: Prove backup sets by manifest checksums, full decoding and a restore test with row counts
version_added: 1.0.0
description:
  - Verifies backup sets written by M(jarvis.maintenance.backup_set) and returns findings per set. Replaces the
    runbook's C(gunzip -t), which proves only that a gzip stream ends, and its DR test, which pipes SQL into
    C(psql) (exit status 0 on SQL errors).
  - Checks, each a finding naming the file - the manifest is readable; every listed file is present, has its
    size and (O(checksums)) its sha256; no unlisted file; (O(decode)) every file decodes completely by its
    format (C(zstd -t) and C(pg_restore --list) for dumps, C(gzip -t), C(tar -t), C(redis-check-rdb) for RDB
    files); the newest set is not older than O(max_age_hours) and not smaller than O(min_size_ratio) of the
    one before.
  - Checksums and decoding run one per CPU at a time, the largest file first; zstd files are tested with
    C(pzstd) (from the zstd package) when it is installed, which tests the frames of a file that
    M(jarvis.maintenance.pg_backup) compressed with pzstd on several threads.
  - Every file is opened beneath the set's directory with C(O_NOFOLLOW) on each component and must be a
    regular file (see the notes); unlisted entries, symlinks included, are warnings and are never followed.
  - O(restore_test) restores each database dump of the newest set into a scratch database
    C(jarvis_verify_<timestamp>_<n>) with C(pg_restore --exit-on-error) (O(restore_jobs)), then compares the
    tables and exact row counts with the manifest and optionally runs C(amcheck) on every btree index. The
    scratch database is dropped in C(finally), also after a failure or timeout, and scratch databases left
    by a killed run (named so and more than a day old) are dropped first.
extends_documentation_fragment: [jarvis.maintenance.postgres, jarvis.maintenance.postgres.CLIENT, jarvis.maintenance.attributes]
attributes:
  check_mode:
    details:
      - Runs the read-only checks (checksums, decoding); skips the restore test and says so in C(msg) and
        C(restore_test).
  diff_mode:
    support: N/A
    details:
      - Changes nothing that lasts.
  idempotent:
    support: full
    details:
      - Changes nothing that lasts; the scratch database is always dropped (unless O(keep_scratch)).
options:
  path:
    description: A backup root (the newest set, or all with O(sets=all)) or one set directory.
    type: path
    required: true
  sets:
    description:
      - V(latest) verifies the newest set (the one before it is read only for the size comparison); V(all)
        verifies every set. Age, size and restore test apply to the newest set only.
    type: str
    choices: [latest, all]
    default: latest
  max_age_hours:
    description: A critical finding when the newest set is older than this.
    type: float
    default: 26
  min_size_ratio:
    description:
      - A warning when the newest set is smaller than this fraction of the one before it of the same scope (a
        daily set is compared with the previous daily set, not with a full monthly one).
    type: float
    default: 0.5
  checksums:
    description: Compare every file's sha256 with the manifest.
    type: bool
    default: true
  decode:
    description: Decode every file completely by its format.
    type: bool
    default: true
  restore_test:
    description: Restore each database dump of the newest set into a scratch database and compare row counts.
    type: bool
    default: false
  restore_jobs:
    description:
      - V(1) streams each zstd dump straight into one C(pg_restore) (no decompressed copy on disk; measured
        fastest on a 2-core host, see C(benchmarks/backup.py)).
      - More runs C(pg_restore --jobs) on a decompressed copy in O(scratch_dir) (needs the space; worth it on
        hosts with many cores and many tables). With O(client=docker) the restore is always streamed.
    type: int
    default: 1
  restore_timeout:
    description: Seconds one decode or restore may take before it is killed (the scratch database is still dropped).
    type: int
    default: 3600
  restore_owner:
    description: Restore owners and privileges too (needs the roles on the restore server); by default
      C(--no-owner --no-privileges).
    type: bool
    default: false
  amcheck:
    description: After the restore, check every btree index with C(bt_index_check) (creates the C(amcheck)
      extension in the scratch database, which needs a superuser).
    type: bool
    default: false
  keep_scratch:
    description: Keep the scratch databases for inspection instead of dropping them.
    type: bool
    default: false
  scratch_dir:
    description: Directory for the decompressed dump during a restore test (default the system temp directory).
    type: path
  redis_check_rdb:
    description: The C(redis-check-rdb) program for RDB files.
    type: str
    default: redis-check-rdb
  fail_on_critical:
    description: Fail the task when a check is critical (the results are still returned).
    type: bool
    default: true
  restore_space_margin:
    description:
      - Before the restore test creates anything, the restore server's free space must hold the restore plus
        this margin, else the test is refused with a critical C(restore_space) finding naming both numbers and
        nothing is restored.
      - A percentage of the filesystem's size (V(10%)) or a size (V(2G), V(500M)).
      - The restore needs the largest database (the databases are restored and dropped one after the other;
        their sum with O(keep_scratch)), from each database's C(database_size) in the manifest, else its dump's
        size times O(restore_size_factor).
    type: str
    default: 10%
  restore_free_space_path:
    description:
      - A directory on the restore cluster's data volume, on this host, whose filesystem's free space is
        measured before the restore test.
      - When unset, the restore server's C(data_directory) is used when the login role may read it (superuser
        or C(pg_read_all_settings)) and it is on this host (its C(postmaster.pid) names the same server);
        otherwise the free space is unknown, the restore test still runs, and a C(restore_space) warning says
        so (a separate restore server on another host is the recommended setup; set this option, for
        example to the docker volume's host path, to have a local cluster checked).
      - With O(client=docker) and this option unset, the free space of the C(data_directory) is measured inside
        O(docker_container) (C(df -Pk)); when that fails, the same warning.
    type: path
  restore_size_factor:
    description:
      - For a database whose manifest entry has no C(database_size), the restored database is estimated at
        its dump's size times this factor (compressed custom dumps of ordinary data are 4 to 10 times smaller
        than the database with its indexes; very repetitive data compresses much more).
    type: float
    default: 10
notes:
  - The connection options name the server the restore test runs on; the login role needs C(CREATEDB). By
    default that is the production server itself; prefer a separate, throwaway restore server (the
    C(dr_test) role's C(dr_test_restore_host)).
  - Every manifest path must name a regular file inside the set, reached without C(..), an absolute path or a
    symlink; an entry that does not is a critical C(unsafe_path) finding naming it, and nothing of that file is
    read or returned. Programs are handed the file this module opened and re-checked (C(/proc/<pid>/fd/<n>)),
    not the path.
  - A manifest entry or section of the wrong shape, and any failure while checking one set, is a critical
    finding of that set; with O(sets=all) the other sets are still verified.
seealso:
  - module: jarvis.maintenance.backup_set
  - module: jarvis.maintenance.pg_backup
"""

EXAMPLES = r"""
- name: Verify the newest backup set (checksums and full decoding)
  jarvis.maintenance.backup_verify:
    path: /opt/sutazaiapp/backups
    max_age_hours: 26

- name: Restore-test the newest set on the DR server, with amcheck
  jarvis.maintenance.backup_verify:
    path: /opt/sutazaiapp/backups
    restore_test: true
    amcheck: true
    login_host: dr-db.example.com
    login_user: postgres
    login_password: "{{ vault_dr_postgres_password }}"
  register: backup_verify_result
"""

RETURN = r"""
sets:
  description:
    - Per set verified, C(name), C(path), C(age_hours), C(size), C(size_ratio), C(checks_passed),
      C(checks_failed), C(severity) and its C(findings).
    - After a restore test also C(restore) (per database the scratch database, seconds, tables, rows,
      C(mismatches)), C(restore_seconds) and C(row_count_mismatches).
  returned: always
  type: list
  elements: dict
findings:
  description: All findings, each with check, severity, subject (the set or C(set/file)), value, threshold,
    message and recommendation.
  returned: always
  type: list
  elements: dict
severity:
  description: The worst severity found.
  returned: always
  type: str
  sample: ok
restore_test:
  description: Whether the restore test ran (C(skipped in check mode) in check mode).
  returned: always
  type: raw
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._verify import ARGUMENT_SPEC, BackupVerify
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, BackupVerify)


if __name__ == "__main__":
    main()
