# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Where the sha256 of base backups are kept (CHECKSUMS_SPEC in module_utils/_pitr/_checksums.py).
    DOCUMENTATION = r"""
options:
  checksums_dir:
    description:
      - Where the size and sha256 of each file of a base backup are recorded when M(jarvis.maintenance.barman_backup)
        takes it, as C(<checksums_dir>/<server>/<backup_id>.json). Root's directory, mode 0700, never Barman's home (a
        damage to Barman's files must not reach the record); refused when another user can write to it, read and
        written without following a link.
    type: path
    default: /var/lib/jarvis-pitr/checksums
"""
