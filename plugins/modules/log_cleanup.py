#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: log_cleanup
short_description: Compress big logs, delete old compressed logs and stale temporary files, inside given directories only
version_added: 0.1.0
description:
  - Replaces the runbook's C(find -name "*.log" -size +100M -exec gzip), which unlinks a log its process is still
    writing, and its C(find -mtime +7 -delete) and C(find /tmp -name "*jarvis*" -delete).
  - The whole plan is made first. Every file acted on must resolve inside O(roots); a symlink or C(..) that leads
    outside makes the module fail, naming it, before anything is touched.
  - A log matching O(compress_patterns) of at least O(compress_min_size) is compressed into C(<name>.<UTC time>.gz)
    (written atomically, same mode) and then truncated in place - copy-truncate, so a process holding it open keeps
    logging into it (lines written between the copy and the truncate are lost, as with logrotate's copytruncate).
  - A file matching O(delete_patterns) older than O(max_age_days) is deleted, and so is a file matching one of
    O(temp_patterns) older than O(temp_max_age_hours).
  - Symlinks themselves are never compressed or deleted.
author:
  - Jarvis Operations (@jarvis-ops)
extends_documentation_fragment:
  - jarvis.maintenance.attributes
attributes:
  check_mode:
    support: full
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
    description: The directories it may act in (recursively with O(recurse)). C(/) is refused.
    type: list
    elements: path
    required: true
  compress:
    description: Compress big logs.
    type: bool
    default: true
  compress_patterns:
    description: File name patterns of the logs to compress.
    type: list
    elements: str
    default: ["*.log"]
  compress_min_size:
    description: The size from which a log is compressed (V(100M), V(1G), V(512k) or bytes).
    type: str
    default: 100M
  delete_patterns:
    description: File name patterns of the compressed logs to delete when older than O(max_age_days).
    type: list
    elements: str
    default: ["*.gz"]
  max_age_days:
    description: Age (by modification time) from which files matching O(delete_patterns) are deleted.
    type: float
    default: 7
  temp_patterns:
    description:
      - Absolute path patterns of temporary files, for example V(/tmp/jarvis-*); only the file name may hold wildcards,
        and the directory must resolve inside O(roots).
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
seealso:
  - module: jarvis.maintenance.host_resources
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
  description: Every action, with C(action) (compress or delete), C(path), C(size), C(age_days) and C(reason).
  returned: always
  type: list
  elements: dict
compressed:
  description: The logs compressed, each with its C(archive) and C(archive_size).
  returned: success
  type: list
  elements: dict
deleted:
  description: The files deleted.
  returned: success
  type: list
  elements: dict
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jarvis.maintenance.plugins.module_utils._log_cleanup import LogCleanup, argument_spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.exit_json(**LogCleanup(module).run())


if __name__ == "__main__":
    main()
