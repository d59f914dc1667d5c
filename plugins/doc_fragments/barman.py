# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The options every Barman module takes (BARMAN_SPEC in module_utils/_pitr/_barman.py).
    DOCUMENTATION = r"""
options:
  server:
    description:
      - The Barman server, as named in Barman's configuration (the pitr role's C(pitr_server), V(jarvis) by default).
      - Letters, digits, C(.), C(_) and C(-).
    type: str
    required: true
  barman_config:
    description:
      - Barman's configuration file (C(barman -c)). The pitr role writes V(/etc/barman.conf) by default.
    type: path
    default: /etc/barman.conf
  barman_user:
    description:
      - The user Barman runs as. Barman never runs as root; a task running as root runs it with
        C(runuser -u <barman_user>), a task running as that user runs it directly, any other user is refused.
    type: str
    default: barman
  barman_path:
    description:
      - The barman program. By default the one on PATH, else V(/opt/jarvis-barman/bin/barman) (where the pitr role
        installs it, in a virtualenv of its own).
    type: path
  barman_timeout:
    description:
      - Seconds one barman call may take before it is stopped (C(timeout)), with an error naming this option.
    type: int
    default: 3600
requirements:
  - Barman (3.x; the pitr role installs 3.19.1) and C(runuser) (util-linux) on the host the task runs on.
"""
