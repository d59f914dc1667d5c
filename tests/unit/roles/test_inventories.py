# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The example inventories: a standby in jarvis_db is checked, never written to (jarvis_pg_writable)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).absolute().parents[3]
PLAY = """
- hosts: all
  gather_facts: false
  vars_files: [{vars}]
  tasks:
    - ansible.builtin.debug:
        msg: "WRITABLE {{{{ inventory_hostname }}}} {{{{ jarvis_pg_writable | bool }}}}"
"""


def writable(inventory: str, tmp_path: Path) -> dict[str, bool]:
    """jarvis_pg_writable of each host of an inventory, as the playbooks read it (no host is contacted)."""
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(vars=ROOT / "playbooks" / "vars" / "connections.yml"))
    argv = [sys.executable, "-m", "ansible.cli.playbook", "-i", str(ROOT / "inventories" / inventory), str(play)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    found: dict[str, bool] = {}
    for host, value in re.findall(r"WRITABLE (\S+) (True|False)", done.stdout):
        found[host] = value == "True"
    return found


def test_the_standby_of_staging_is_in_jarvis_db_and_not_written_to(tmp_path):
    found = writable("staging", tmp_path)
    assert found["jarvis-stg-db-01.example.com"] is True
    assert found["jarvis-stg-db-02.example.com"] is False
    assert found["jarvis-stg-app-01.example.com"] is False


def test_production_s_one_host_is_written_to(tmp_path):
    # the Prometheus server (playbooks/prometheus_rules.yml) is outside the jarvis group: never written to
    assert writable("production", tmp_path) == {"jarvis-prod-01.example.com": True, "prometheus-01.example.com": False}


def test_a_backup_host_of_its_own_is_not_written_to(tmp_path):
    # Barman's host streams WAL from the primary: the logical backups and the DR restore stay on the primary
    found = writable("staging", tmp_path)
    assert found["jarvis-stg-backup-01.example.com"] is False
