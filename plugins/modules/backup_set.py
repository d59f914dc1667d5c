#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_set
short_description: Start, complete, abort and prune dated backup sets with a checksum manifest
version_added: 1.0.0
description:
  - A backup set is a directory C(<root>/jarvis-YYYYmmddTHHMMSSZ) (UTC). It is written as
    C(<root>/.incomplete-jarvis-...) and renamed to its final name only after C(MANIFEST.json) (every file's
    size and sha256, plus what the backup steps returned) is written and every file and directory is fsynced.
    A directory with a set's name is therefore always complete; a failed backup leaves nothing that looks
    complete.
  - O(state=started) creates the incomplete directory and returns its path; O(state=completed) writes the
    manifest and renames; O(state=aborted) removes the incomplete directory (run it in C(rescue) or C(always));
    O(state=pruned) applies the retention policy.
  - Retention keeps the newest set of each of the last O(keep_daily) days, O(keep_weekly) ISO weeks and
    O(keep_monthly) months, and always the newest complete set. For a month, the newest set whose manifest
    has C(scope=full) (the backup role's monthly full set) is kept rather than a newer daily one. Incomplete directories older than
    O(stale_hours) (left by a killed run) are removed too. Directories that look like sets but have no
    manifest are reported in C(without_manifest) and never removed.
extends_documentation_fragment: [jarvis.maintenance.attributes]
attributes:
  check_mode:
    details:
      - V(started) returns the name and path it would use; V(pruned) returns C(removed) and C(kept) without
        removing anything; nothing is written.
  diff_mode:
    support: full
    details:
      - V(pruned) returns the set names before and after.
  idempotent:
    support: partial
    details:
      - V(completed), V(aborted) and V(pruned) change nothing the second time; V(started) without O(name) starts
        a new set each time.
options:
  root:
    description:
      - Directory holding the sets (created with mode 0750 if missing).
      - Refused when it is not a directory; refused for V(started) and V(completed) when a user other than the
        one running the module (and root) owns it or its group or others may write to it, since they could
        rename the set being written and put their own in its place. A symlink named like a set is never
        taken for one (not listed, verified or removed).
    type: path
    required: true
  state:
    description: What to do; see the description.
    type: str
    choices: [started, completed, aborted, pruned]
    default: started
  name:
    description:
      - Set name C(jarvis-YYYYmmddTHHMMSSZ). With V(started) the current UTC time is used when omitted;
        required with V(completed) and V(aborted) (use the C(name) V(started) returned).
    type: str
  min_interval_hours:
    description:
      - With V(started), start no set when the newest complete set is younger than this many hours; the result
        then has C(recent_set) and C(changed=false) (a re-run of the daily playbook takes no second backup).
      - V(0) always starts a set.
    type: float
    default: 0
  files:
    description:
      - With V(completed), manifest entries already computed by the step that wrote the files (for example
        the C(files) of M(jarvis.maintenance.pg_backup)); each is a dict with at least C(path) (relative to the
        set) and C(sha256), plus any keys such as C(kind), C(format), C(database). Their sizes are re-read;
        every other file in the set is checksummed here.
      - A listed file that is not in the set fails the task.
    type: list
    elements: dict
    default: []
  parts:
    description:
      - With V(completed), extra top-level sections of the manifest, for example C(postgres) (server version,
        per database tables and row counts), C(redis), C(archives). Never put secrets here.
    type: dict
    default: {}
  started:
    description: With V(completed), the backup's UTC start time for the manifest (default the time in the name).
    type: str
  host:
    description: With V(completed), the host name recorded in the manifest (default this host's FQDN).
    type: str
  keep_daily:
    description: With V(pruned), how many days keep their newest set.
    type: int
    default: 7
  keep_weekly:
    description: With V(pruned), how many ISO weeks keep their newest set.
    type: int
    default: 4
  keep_monthly:
    description: With V(pruned), how many months keep their newest set.
    type: int
    default: 6
  stale_hours:
    description: With V(pruned), remove incomplete set directories older than this.
    type: float
    default: 24
seealso:
  - module: jarvis.maintenance.pg_backup
  - module: jarvis.maintenance.backup_verify
"""

EXAMPLES = r"""
- name: Back up into a new set, and never leave a half-written one
  block:
    - name: Start a backup set
      jarvis.maintenance.backup_set:
        root: /opt/sutazaiapp/backups
      register: backup_set_started

    - name: Dump PostgreSQL into it
      jarvis.maintenance.pg_backup:
        dest: "{{ backup_set_started.path }}"
      register: backup_set_dumps

    - name: Complete the set
      jarvis.maintenance.backup_set:
        root: /opt/sutazaiapp/backups
        state: completed
        name: "{{ backup_set_started.name }}"
        files: "{{ backup_set_dumps.files }}"
        parts:
          postgres:
            server_version: "{{ backup_set_dumps.server_version }}"
            databases: "{{ backup_set_dumps.databases }}"
  rescue:
    - name: Remove the incomplete set
      jarvis.maintenance.backup_set:
        root: /opt/sutazaiapp/backups
        state: aborted
        name: "{{ backup_set_started.name }}"

    - name: Fail with the cause
      ansible.builtin.fail:
        msg: "{{ ansible_failed_result.msg }}"

- name: Keep 7 daily, 4 weekly and 12 monthly sets
  jarvis.maintenance.backup_set:
    root: /opt/sutazaiapp/backups
    state: pruned
    keep_monthly: 12
"""

RETURN = r"""
name:
  description: The set's name.
  returned: state is started, completed or aborted
  type: str
  sample: jarvis-20261128T020000Z
path:
  description: With V(started) the incomplete directory to write into; with V(completed) the final directory.
  returned: state is started or completed
  type: str
  sample: /opt/sutazaiapp/backups/.incomplete-jarvis-20261128T020000Z
created:
  description: Whether V(started) created the directory (false in check mode, where later steps have nowhere to write).
  returned: state is started and no recent set was found
  type: bool
recent_set:
  description: With V(started) and O(min_interval_hours), the recent set that made a new one unnecessary.
  returned: state is started and a recent set exists
  type: str
final_path:
  description: Where the set will be once completed.
  returned: state is started
  type: str
manifest:
  description: The manifest written (schema C(jarvis.maintenance/backup/1)).
  returned: state is completed, not in check mode
  type: dict
removed:
  description: With V(pruned), complete sets removed (or that would be, in check mode); with V(aborted), the path removed.
  returned: state is pruned or aborted
  type: raw
removed_incomplete:
  description: Stale incomplete directories removed.
  returned: state is pruned
  type: list
  elements: str
kept:
  description: Sets kept and why (for example C(daily 2026-11-28), C(monthly 2026-10), C(newest)).
  returned: state is pruned
  type: list
  elements: dict
without_manifest:
  description: Directories named like sets that have no manifest (never removed; look at them).
  returned: state is pruned
  type: list
  elements: str
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._set import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
    BackupSet,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, BackupSet, required_if=REQUIRED_IF)


if __name__ == "__main__":
    main()
