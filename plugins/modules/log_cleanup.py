#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: log_cleanup
short_description: Compress big logs, delete old compressed logs and stale temporary files, inside given directories only
version_added: 1.0.0
description:
  - Replaces the runbook's C(find -name "*.log" -size +100M -exec gzip), which unlinks a log its process is still
    writing, and its C(find -mtime +7 -delete) and C(find /tmp -name "*jarvis*" -delete).
  - It runs as root in directories other users may write to, so it never acts on a path string. The plan is made by
    walking each root through directory file descriptors opened with C(O_DIRECTORY|O_NOFOLLOW); every action opens
    the file's directory again from the root down the same way, opens the file with C(O_NOFOLLOW) relative to it and
    compares its identity (device, inode, type) with the plan. A log is compressed from that descriptor into the same
    directory (an C(O_EXCL) temporary C(.<archive>.partial-<pid>), renamed) and truncated with C(ftruncate) on it; a
    deletion is C(unlink) in the directory descriptor after an C(lstat) re-check.
  - A symlink found inside a root is never followed, compressed or deleted; an entry replaced since it was planned
    (by a symlink, another file, or a directory on its path replaced by a symlink), a file with more than one hard
    link planned for compression, and a directory holding PostgreSQL or Redis data (C(PG_VERSION),
    C(postmaster.pid), C(dump.rdb), C(appendonly.aof), C(appendonlydir)) with everything below it are skipped. Each is
    listed in RV(skipped_entries) with its reason and in a warning; the rest of the cleanup runs.
  - Refused before anything is read, with a message naming the parameter - a root that is C(/), is a symlink, or is,
    lies inside or holds one of O(protected_paths) or O(protected_paths_extra); a pattern of O(compress_patterns),
    O(delete_patterns) or O(temp_patterns) without a literal part other than dots (V(*), V(*.*), V(?*), V(**),
    V(*[a-z]*)); a O(temp_patterns) directory outside O(roots).
  - A log matching O(compress_patterns) of at least O(compress_min_size) is compressed into C(<name>.<UTC time>.gz)
    (same mode) and then truncated in place - copy-truncate, so a process holding it open keeps logging into it
    (lines written between the copy and the truncate are lost, as with logrotate's copytruncate).
  - A regular file matching O(delete_patterns) older than O(max_age_days) is deleted, and so is a file matching one
    of O(temp_patterns) older than O(temp_max_age_hours).
extends_documentation_fragment: [jarvis.maintenance.attributes]
attributes:
  check_mode:
    details:
      - Returns C(planned) - every file it would compress or delete with its size, age and reason - and changes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run finds nothing to do - the logs were truncated below the size, the old files are gone.
options:
  roots:
    description:
      - The directories it may act in (recursively with O(recurse)). Each must be a real directory, not a symlink to
        one (a symlink is refused, not followed).
      - C(/) is refused, and so is a root that is, lies inside or holds an entry of O(protected_paths) or
        O(protected_paths_extra).
    type: list
    elements: path
    required: true
  compress:
    description: Compress big logs.
    type: bool
    default: true
  compress_patterns:
    description: File name patterns of the logs to compress; each needs a literal part (V(*.log), not V(*)).
    type: list
    elements: str
    default: ["*.log"]
  compress_min_size:
    description: The size from which a log is compressed (V(100M), V(1G), V(512k) or bytes).
    type: str
    default: 100M
  delete_patterns:
    description:
      - File name patterns of the compressed logs to delete when older than O(max_age_days).
      - Each needs a literal part other than dots - V(*), V(*.*), V(?*) are refused.
    type: list
    elements: str
    default: ["*.gz"]
  max_age_days:
    description: Age (by modification time) from which files matching O(delete_patterns) are deleted.
    type: float
    default: 7
  temp_patterns:
    description:
      - Absolute path patterns of temporary files, for example V(/tmp/jarvis-*); only the file name may hold wildcards
        and it needs a literal part (V(/tmp/*) is refused), and the directory must resolve inside O(roots).
    type: list
    elements: str
    default: []
  temp_max_age_hours:
    description: Age from which files matching O(temp_patterns) are deleted.
    type: float
    default: 24
  recurse:
    description: Also act in the subdirectories of O(roots) (never following a symlinked directory).
    type: bool
    default: true
  protected_paths:
    description:
      - System trees and data directories that are never cleaned - absolute path patterns, wildcards matched per
        path component. A root that is one of them, lies inside one or holds one (V(/var) holds V(/var/lib)) is
        refused.
      - The default protects the system trees, V(/var/lib) (PostgreSQL and Redis data in V(/var/lib/postgresql) and
        V(/var/lib/redis), Docker, package state) and the hidden directories at the top of home directories
        (V(/root/.*), V(/home/*/.*) - C(.ssh), C(.config), ...). So V(/home), V(/root) and each V(/home/<user>) are
        refused as roots (they hold those), but a project directory inside a home, such as the local stack's
        V(/home/<user>/jarvis/.stack/logs), is accepted.
      - Replacing the list removes its protections; to add directories use O(protected_paths_extra).
    type: list
    elements: str
    default: ["/bin", "/boot", "/dev", "/etc", "/lib*", "/proc", "/run", "/sbin", "/snap", "/sys", "/usr",
              "/var/backups", "/var/cache", "/var/lib", "/var/mail", "/var/spool", "/root/.*", "/home/*/.*"]
  protected_paths_extra:
    description:
      - More directories never to clean (for example a PostgreSQL data directory outside V(/var/lib), such as
        V(/srv/pgdata)), added to O(protected_paths).
    type: list
    elements: str
    default: []
seealso:
  - module: jarvis.maintenance.host_resources_info
"""

EXAMPLES = r"""
- name: The runbook's daily log cleanup, done safely
  jarvis.maintenance.log_cleanup:
    roots: [/opt/sutazaiapp/logs, /tmp]
    compress_min_size: 100M
    max_age_days: 7
    temp_patterns: ["/tmp/*jarvis*"]
  register: cleanup
"""

RETURN = r"""
planned:
  description:
    - Every action, with C(action) (compress or delete), C(path), C(size), C(age_days) and C(reason).
    - In a real run an entry that changed before it was acted on is not done but moved to RV(skipped_entries).
  returned: always
  type: list
  elements: dict
compressed:
  description: The logs compressed, each with its C(archive) and C(archive_size).
  returned: success
  type: list
  elements: dict
deleted:
  description: The files deleted (each after an C(lstat) re-check of its identity in its directory).
  returned: success
  type: list
  elements: dict
skipped_entries:
  description:
    - Entries found inside the roots and not acted on, each with C(path) and C(reason) - a symlink (never followed),
      an entry replaced since it was planned, a directory on its path replaced by a symlink, a file with several
      hard links, a directory holding PostgreSQL or Redis data. Each run with entries here also warns.
    - Named so because C(skipped) is a result key Ansible reserves for skipped tasks.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/opt/sutazaiapp/logs/z-app.log", "reason": "it was replaced by a symlink since it was planned"}]
errors:
  description: Steps that failed (the module then fails), with C(path), C(action) and C(error).
  returned: always
  type: list
  elements: dict
bytes_reclaimed:
  description: Bytes freed by deleting and compressing (0 in check mode).
  returned: always
  type: int
bytes_to_delete:
  description: Bytes of the files planned for deletion.
  returned: always
  type: int
bytes_to_compress:
  description: Bytes of the logs planned for compression.
  returned: always
  type: int
findings:
  description:
    - The one C(log_cleanup) finding of the run, with C(check), C(severity), C(subject) (the roots), C(value) (bytes
      reclaimed), C(threshold) (none), C(message) and C(recommendation) - for the report.
    - The message counts the files compressed and deleted and the bytes reclaimed, or the files it would compress
      and delete (check mode). A warning when entries were skipped, naming them, with their reasons in the
      recommendation; ok otherwise.
  returned: always
  type: list
  elements: dict
  sample:
    - check: log_cleanup
      severity: ok
      subject: /opt/sutazaiapp/logs
      value: 104857600
      threshold: null
      message: compressed 1 and deleted 2 file(s), 104857600 bytes reclaimed
      recommendation: ""
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._logs._cleanup import ARGUMENT_SPEC, LogCleanup


def main() -> None:
    run_module(ARGUMENT_SPEC, LogCleanup)


if __name__ == "__main__":
    main()
