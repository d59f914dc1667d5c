#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: supervisor_status_info
short_description: State of supervisord programs as data (state, pid, uptime)
version_added: 1.0.0
description:
  - Reads the state of supervisord programs with C(supervisorctl status) and returns it as data, so that roles
    never parse its output. M(community.general.supervisorctl) changes states but does not report them.
  - It only reads; it never starts or stops anything.
extends_documentation_fragment: [jarvis.maintenance.attributes, jarvis.maintenance.attributes.READ_ONLY]
options:
  names:
    description:
      - Programs to report, by name (a group name selects the group's programs). Empty reports every program.
      - A name supervisord does not know is listed in RV(missing) and makes RV(all_running) false.
    type: list
    elements: str
    default: []
  config:
    description: The supervisord configuration file supervisorctl reads (C(-c)).
    type: path
  server_url:
    description: URL of the supervisord server, for example V(unix:///run/supervisor.sock) (C(-s)).
    type: str
  username:
    description: User name for the supervisord server.
    type: str
  password:
    description:
      - Password for the supervisord server.
      - It is never put on supervisorctl's command line (where every user of the host reads it in C(ps)). supervisorctl
        reads it, with O(server_url) and O(username), from a configuration file of mode 0600 made for the call in a new
        private directory (mode 0700) and removed afterwards.
      - Needs O(server_url), and cannot be used with O(config) (supervisorctl reads one configuration file); to use
        O(config), put the password into its C([supervisorctl]) section and leave this option out.
      - A password that begins or ends with white space, holds a line break, or white space followed by C(;) or C(#)
        cannot be written to a configuration file and is refused.
    type: str
  supervisorctl_path:
    description: The supervisorctl to run; by default the one on PATH.
    type: path
seealso:
  - module: community.general.supervisorctl
"""

EXAMPLES = r"""
- name: State of the backend and frontend programs
  jarvis.maintenance.supervisor_status_info:
    names: [backend, frontend]
    config: /etc/supervisor/supervisord.conf
  register: programs

- name: Say which program is down
  ansible.builtin.debug:
    msg: "{{ programs.programs | dict2items | rejectattr('value.running') | map(attribute='key') | list }}"
"""

RETURN = r"""
programs:
  description: State of each program by name - C(state) (supervisord's, for example RUNNING or STOPPED), C(running),
    C(pid), C(uptime_seconds) and supervisorctl's C(description).
  returned: always
  type: dict
  sample: {"backend": {"state": "RUNNING", "running": true, "pid": 6297, "uptime_seconds": 59,
           "description": "pid 6297, uptime 0:00:59"}}
missing:
  description: Names asked for that supervisord does not know.
  returned: always
  type: list
  elements: str
all_running:
  description: Whether every program asked for exists and is RUNNING.
  returned: always
  type: bool
unparsed:
  description: Lines of supervisorctl's output that were not a program's status.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._supervisor import (
    ARGUMENT_SPEC,
    SupervisorStatus,
)


def main() -> None:
    run_module(ARGUMENT_SPEC, SupervisorStatus)


if __name__ == "__main__":
    main()
