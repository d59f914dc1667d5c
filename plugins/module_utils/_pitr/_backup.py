# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""barman_backup: a base backup through Barman, and the sha256 of its files recorded at once.

``barman backup --wait`` (as Barman's user) takes the backup and waits until the WAL it needs is
archived; then the files of the new backup are read and their size and sha256 written to a record
only root writes (see _checksums), which barman_info compares with the files on every check.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr import _checksums
from ansible_collections.jarvis.maintenance.plugins.module_utils._pitr._barman import BARMAN_SPEC, Barman

CANNOT = "Cannot take the base backup"

ARGUMENT_SPEC = {**BARMAN_SPEC, **_checksums.CHECKSUMS_SPEC}


class BarmanBackup(Backend):
    """Takes one base backup and records its checksums; in check mode only says so."""

    def run(self) -> dict[str, Any]:
        barman = Barman(self.params, self.host, CANNOT)
        server = barman.show_server()
        if not server:
            raise ModuleError(f"{CANNOT}: Barman has no server {barman.server!r} in {self.params['barman_config']}")
        if self.check_mode:
            return {
                "changed": True,
                "planned": [
                    f"take a base backup of {barman.server} and record its checksums in {self.params['checksums_dir']}"
                ],
            }
        before = {str(row.get("backup_id")) for row in barman.backups()}
        barman.run(
            "backup", "--wait", "--wait-timeout", str(self.params["barman_timeout"]), barman.server, as_json=False
        )
        done = [row for row in barman.backups() if row.get("status") == "DONE" and str(row["backup_id"]) not in before]
        if not done:
            raise ModuleError(f"{CANNOT}: barman backup of {barman.server} ended without a new complete backup")
        backup_id = str(done[-1]["backup_id"])
        data_dir = os.path.join(str(server.get("basebackups_directory") or ""), backup_id, "data")
        try:
            files = _checksums.file_digests(data_dir)
            record = _checksums.write_record(self.params["checksums_dir"], barman.server, backup_id, files)
        except (OSError, _safe_fs.UnsafePath) as exc:
            raise ModuleError(
                f"Cannot record the checksums of backup {backup_id} in {self.params['checksums_dir']}: {exc}",
                changed=True,
                backup_id=backup_id,
            ) from exc
        return {
            "changed": True,
            "backup_id": backup_id,
            "checksums": record,
            "files": files,
            "bytes": sum(item["size"] for item in files.values()),
        }
