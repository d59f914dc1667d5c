#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: run_lock
short_description: One maintenance run per host at a time
version_added: 0.1.0
description:
  - Takes, releases or reads a lock file on the managed host that records which maintenance run holds it (run id,
    playbook, start time, the controller and its C(ansible-playbook) process id). The playbooks take it first and
    release it in C(always:), so two runs (cron and a person, two AWX jobs) never work on one host at the same time.
  - V(acquired) creates the file atomically (C(O_EXCL)). When another run holds it, the module fails at once naming the
    holder. A stale lock is taken over and RV(taken_over) says whose it was and why - older than O(max_age_hours), or
    held from this very host by an C(ansible-playbook) process that is gone (a run killed before its C(always:)). A lock
    held from another controller is judged by its age only. The decision to take over is made under an C(flock), so two
    runs cannot both take over one stale lock.
  - V(released) removes the lock only when O(run_id) holds it; somebody else's lock is left alone. V(status) reads it.
author:
  - Jarvis Operations (@jarvis-ops)
extends_documentation_fragment:
  - jarvis.maintenance.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports whether the lock would be taken (and fails the same way when a live run holds it); writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Taking a lock this run already holds, or releasing one it does not, changes nothing.
options:
  path:
    description: The lock file. Its directory must exist.
    type: path
    default: /run/lock/jarvis-maintenance.lock
  state:
    description: V(acquired) takes the lock, V(released) gives it back, V(status) reads it.
    type: str
    choices: [acquired, released, status]
    default: acquired
  run_id:
    description: This run's id, the same for taking and releasing (required with V(acquired) and V(released)).
    type: str
  playbook:
    description: The playbook that takes the lock, shown to whoever finds it held.
    type: str
    default: ""
  holder_host:
    description: The controller's host name (default this host's name, right for C(ansible_connection=local) and cron).
    type: str
    default: ""
  holder_pid:
    description:
      - The controller's C(ansible-playbook) process id (0 when unknown). On the host named O(holder_host), a lock whose
        process is gone is stale.
    type: int
    default: 0
  max_age_hours:
    description: A lock older than this many hours is stale, whatever holds it.
    type: float
    default: 12
  wait_seconds:
    description:
      - With V(acquired), how long to wait for a live run's lock before failing, retrying every O(poll_seconds); V(0)
        fails at once. For scheduled runs that may start while another holds the lock (the monthly run's window on the
        first Sunday and the daily run at 02:00). Check mode waits too (it then looks at what the holder left).
    type: int
    default: 0
  poll_seconds:
    description: How often to look at the lock again while waiting.
    type: float
    default: 5
notes:
  - The playbooks of this collection set C(jarvis_run_lock_path) per host (the local inventories put it in the stack's
    directory), take the lock with the run id C(<playbook>-<UTC time>-<random>) and release it in C(always:).
"""

EXAMPLES = r"""
- name: Take the maintenance lock of this host
  jarvis.maintenance.run_lock:
    state: acquired
    run_id: "{{ run_id }}"
    playbook: daily.yml
    holder_host: "{{ lookup('ansible.builtin.pipe', 'hostname') }}"
    holder_pid: "{{ lookup('ansible.builtin.pipe', 'ps -o ppid= -p $PPID') | trim | int }}"
  register: lock

- name: Say when a stale lock was taken over
  ansible.builtin.debug:
    msg: "{{ lock.msg }}: {{ lock.taken_over }}"
  when: lock.taken_over

- name: Release it
  jarvis.maintenance.run_lock:
    state: released
    run_id: "{{ run_id }}"
"""

RETURN = r"""
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: took over a stale lock (its ansible-playbook process 4242 on ops01 is gone)
acquired:
  description: Whether this run holds the lock now (false in check mode).
  returned: state is acquired
  type: bool
released:
  description: Whether the lock was released.
  returned: state is released
  type: bool
locked:
  description: Whether a lock file exists.
  returned: state is status
  type: bool
stale:
  description: Why the lock is stale, or null while it counts.
  returned: state is status
  type: str
holder:
  description: The lock's record (this run's after V(acquired); the file's otherwise), null when there is none.
  returned: always
  type: dict
  sample:
    run_id: daily-20261129T020000Z-4f1c
    playbook: daily.yml
    started: "2026-11-29T02:00:00Z"
    holder_host: ops01
    holder_pid: 4242
taken_over:
  description: The stale lock this run took over and why (C({holder, reason})), or null.
  returned: state is acquired
  type: dict
waited_seconds:
  description: How long the run waited for the lock (see O(wait_seconds)).
  returned: state is acquired
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jarvis.maintenance.plugins.module_utils._run_lock import LockError, RunLock, argument_spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = RunLock(module.params, module.check_mode).run()
    except LockError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
