#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_backup
short_description: Dump PostgreSQL databases with exact row counts from the same snapshot
version_added: 1.0.0
description:
  - Dumps each database into its own file in O(dest), in pg_dump's custom format piped through C(zstd) by
    default (C(pg_dump -Fc -Z0 | zstd)), plus the roles and tablespaces (C(pg_dumpall --globals-only)).
    Replaces the runbook's C(pg_dumpall | gzip), which loses pg_dump's exit status in the pipe and can only
    be restored whole with C(psql).
  - For each database a session exports a snapshot, C(pg_dump --snapshot) dumps exactly that snapshot, and the
    same session counts every table's rows in it while the dump runs, so the returned counts are the counts in
    the dump (backup_verify compares them after a restore test).
  - Every stage's exit status is checked; a failure (pg_dump error, disk full, timeout) fails with the stage's
    own message.
  - The compressed stream reaches each file through the module, which counts the file's size and sha256 on the
    way (the checksums in RV(files) and the set's manifest cost no second read of what was just written). Directory
    dumps, written by pg_dump itself, are read once after the dump for their checksums.
  - Each file is written as C(<name>.partial), created relative to an open directory fd of O(dest) with
    C(O_EXCL|O_NOFOLLOW) (never through a symlink, never over an existing entry) and handed to the pipeline as
    an open fd. Only when every dump has succeeded are they fsynced and renamed over their final names, so an
    older dump of the same name stays until its replacement is complete. On failure only the C(.partial)
    entries this run created are removed; older dumps in O(dest) are never touched.
  - Refuses an existing O(dest) that is owned by another user or writable by its group or by every user (a
    symlink planted there at a dump's name, or a full disk, would be another user's choice); the message
    names O(dest) and its mode. O(dest) is not tightened in place; a missing O(dest) is created with mode
    0700, owned by the running user.
  - Refuses an O(dest) reached through a symlink owned by another user (one planted in a directory that user can
    write, pointing wherever they chose); symlinks owned by root or the running user are followed.
  - Refuses a C(<name>.partial) already in O(dest) (left by a killed run, or another run writing it),
    naming it.
  - Before any dump starts, checks the free space of O(dest)'s filesystem (C(statvfs)) - the databases'
    C(pg_database_size) times O(expected_size_ratio), plus O(free_space_margin), must be available; the
    message names both numbers and the options.
  - Usually run by the backup role inside a set directory made by M(jarvis.maintenance.backup_set), which
    writes the manifest from what this module returns.
extends_documentation_fragment: [jarvis.maintenance.postgres, jarvis.maintenance.postgres.CLIENT, jarvis.maintenance.attributes]
attributes:
  check_mode:
    details:
      - Connects, lists the databases and their sizes and returns C(planned) (file and format per database)
        and C(space); refuses an unsafe O(dest) or too little free space like a real run; writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Every run takes a new dump.
options:
  dest:
    description:
      - Directory the dumps are written to (created with mode 0700 if missing).
      - Must not be owned by another user nor writable by its group or every user (C(chmod go-w)).
    type: path
    required: true
  expected_size_ratio:
    description:
      - The expected size of the dumps as a share of the databases' C(pg_database_size), for the free-space
        check before the backup.
      - Default V(0.5) with O(compression) V(zstd) or V(gzip) (a dump holds no index, free space or page
        overhead, and compresses - measured 0.6 % of the database on pgbench data, 15 % on random text), V(1) with
        V(none). Raise it for data that is already compressed (C(bytea) of images, TOASTed text).
      - V(0) together with O(free_space_margin=0) switches the check off; a dump that still fills the disk
        fails without touching older dumps.
    type: float
  free_space_margin:
    description:
      - Space that must stay free on O(dest)'s filesystem after the backup, on top of the expected size of the
        dumps, as a share of the filesystem (V(5%)) or a size (V(2G), V(512M), V(0); powers of 1024).
      - Keeps a backup on the production volume from filling it.
    type: str
    default: 5%
  databases:
    description: Databases to dump. Empty means every database that accepts connections, templates excluded.
    type: list
    elements: str
    default: []
  exclude_databases:
    description: Databases not to dump.
    type: list
    elements: str
    default: []
  format:
    description:
      - V(custom) writes one archive file per database (restorable in parallel with C(pg_restore -j)).
      - V(directory) writes a directory per database with C(pg_dump -j O(jobs)), for large databases; it needs
        O(client=host) and O(compression) V(gzip) or V(none).
    type: str
    choices: [custom, directory]
    default: custom
  compression:
    description:
      - V(zstd) pipes an uncompressed custom archive through C(pzstd) (zstd's parallel front end, from the same
        package) when it is installed and O(compression_threads) allows more than one thread, else through
        C(zstd -T0). Both write standard zstd files. This is the fastest and smallest combination measured, see
        C(benchmarks/backup.py).
      - V(gzip) uses pg_dump's own compression (custom and directory formats); V(none) writes uncompressed.
    type: str
    choices: [zstd, gzip, none]
    default: zstd
  compression_level:
    description:
      - Level for O(compression) (zstd 1-19, gzip 1-9).
      - Unset with V(zstd), the level is chosen for this run from how the data compresses on this machine's CPUs -
        a sample of about 4 MiB of the largest database's rows (C(TABLESAMPLE SYSTEM) of its largest tables, in the
        share of their sizes) goes through C(zstd -b1 -e3) (ratio and speed of levels 1 to 3 on one thread, about
        0.2 s), and the highest level whose speed times O(compression_threads) reaches 200 MB/s (what C(pg_dump -Fc
        -Z0) writes on the 2-CPU machine of C(benchmarks/backup.py)) is taken, level 1 when none does. Data that
        compresses well (pgbench's filler) and fast CPUs get level 3; slow or few CPUs get a lower one.
      - The choice, how it was made and the measurements are returned in RV(compression) and recorded per file
        (C(compression) - V(compression), V(program), V(level)), so the set's manifest says how each dump was made.
      - Unset with V(gzip) means V(3).
    type: int
  compression_threads:
    description:
      - Threads for V(zstd) compression; V(0) means one per CPU. V(1) uses a single C(zstd) process.
    type: int
    default: 0
  jobs:
    description: Parallel pg_dump workers with O(format=directory).
    type: int
    default: 2
  concurrency:
    description:
      - How many databases (and the globals) are dumped at the same time, largest database first, each from
        its own snapshot. V(1) dumps them one after the other, for a server that must not see two dumps at once.
      - When one dump fails, no other starts, the running ones finish, and every C(.partial) this run created is
        removed; older dumps in O(dest) stay as they were.
    type: int
    default: 2
  globals:
    description: Also dump roles and tablespaces with C(pg_dumpall --globals-only) (needs a superuser).
    type: bool
    default: true
  count_rows:
    description: Count every table's rows in the dump's snapshot and return them per database.
    type: bool
    default: true
  lock_wait_timeout:
    description: pg_dump's C(--lock-wait-timeout) - give up when a table stays locked longer than this.
    type: str
    default: 60s
  timeout:
    description:
      - Seconds the whole backup may take (every dump, the row counts and the globals); on expiry every process
        is killed and the module fails, saying which dump ran out of time.
      - Between V(1) and V(2147483) (24 days, the longest C(statement_timeout) PostgreSQL takes for the row
        counts).
    type: int
    default: 3600
notes:
  - Needs C(pg_dump) and C(pg_dumpall) of the server's major version or newer, and C(zstd) for V(zstd)
    (C(pzstd) too, for parallel compression; Debian's and Ubuntu's zstd package ship both).
seealso:
  - module: jarvis.maintenance.backup_set
  - module: jarvis.maintenance.backup_verify
"""

EXAMPLES = r"""
- name: Dump every database and the globals into a set directory
  jarvis.maintenance.pg_backup:
    dest: "{{ backup_set.path }}"
    login_host: 127.0.0.1
    login_user: postgres
    login_password: "{{ vault_postgres_password }}"
  register: dumps

- name: Dump with pg_dump inside the PostgreSQL container (no client programs on the host)
  jarvis.maintenance.pg_backup:
    dest: /opt/sutazaiapp/backups/.incomplete-jarvis-20261128T020000Z
    client: docker
    docker_container: sutazai-postgres
    login_user: sutazai
    login_password: "{{ vault_postgres_password }}"
"""

RETURN = r"""
planned:
  description: The file and format for each database, and its size on the server.
  returned: always
  type: list
  elements: dict
  sample: [{database: jarvis, file: postgres-jarvis.dump.zst, format: pg_custom+zstd, database_size: 8123456}]
space:
  description:
    - The free-space check - C(database_bytes) (the databases' size), C(expected_size_ratio), C(margin) (bytes
      of O(free_space_margin)), C(needed) and C(available) (bytes on O(dest)'s filesystem).
  returned: always
  type: dict
  sample: {database_bytes: 8123456, expected_size_ratio: 0.5, margin: 1073741824, needed: 1077803552,
           available: 84825866240}
server_version:
  description: The server's version (C(server_version)).
  returned: always
  type: str
  sample: "15.20 (Debian 15.20-0+deb12u1)"
files:
  description: Every file written, with its path relative to O(dest), size, sha256, kind, format and database.
  returned: success, not in check mode
  type: list
  elements: dict
  sample:
    - {path: postgres-jarvis.dump.zst, size: 6642392, sha256: 3f1c..., kind: postgres, format: pg_custom+zstd,
       database: jarvis, compression: {compression: zstd, program: pzstd, level: 3}}
databases:
  description: Per database the file, format, seconds, size and, with O(count_rows), C(tables) (exact rows per
    C(schema.table) in the dump's snapshot), C(table_count) and C(row_count).
  returned: success, not in check mode
  type: dict
  sample: {jarvis: {file: postgres-jarvis.dump.zst, seconds: 3.1, tables: {public.users: 1200}, row_count: 1200}}
seconds:
  description: Wall time of the whole backup.
  returned: success, not in check mode
  type: float
size:
  description: Total bytes written.
  returned: success, not in check mode
  type: int
started_at:
  description: UTC start time (ISO 8601).
  returned: success, not in check mode
  type: str
finished_at:
  description: UTC end time (ISO 8601).
  returned: success, not in check mode
  type: str
compressor:
  description: The program that compressed the dumps (C(pzstd), C(zstd) or C(gzip)).
  returned: success with compression, not in check mode
  type: str
  sample: pzstd
compression:
  description:
    - How the dumps were compressed - C(compression), C(program), C(threads), C(level) and C(chosen) (V(auto) when
      measured on a sample, V(compression_level) when given, V(default)); with V(auto) also C(reason),
      C(sample_bytes), C(cpus) and C(measured) (per level tried, C(ratio) and single-thread C(mb_per_s)).
    - The same is in each database's entry of RV(databases); each file of RV(files) has C(compression), C(program)
      and C(level).
  returned: success, not in check mode
  type: dict
  sample: {compression: zstd, program: pzstd, threads: 2, level: 3, chosen: auto, sample_bytes: 4194304, cpus: 2,
           reason: highest of levels 1-3 compressing 200 MB/s on 2 threads,
           measured: {"1": {ratio: 2.81, mb_per_s: 260.8}, "3": {ratio: 3.2, mb_per_s: 147.4}}}
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._pg_backup import ARGUMENT_SPEC, PgBackup
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, PgBackup)


if __name__ == "__main__":
    main()
