#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: run_lock
short_description: One maintenance run per host at a time
version_added: 1.0.0
description:
  - Takes, renews, releases, breaks or reads a lock file on the managed host that records which maintenance run holds
    it (run id, playbook, start time, the controller and its C(ansible-playbook) process id, the AWX job id, and a
    lease). The playbooks take it first, renew it between steps and release it in C(always:), so two runs (cron and a
    person, two AWX jobs) never work on one host at the same time.
  - V(acquired) creates the file atomically (C(O_EXCL)) with a lease of O(lease_minutes). When another run holds it,
    the module fails at once naming the holder (or waits O(wait_seconds)). A stale lock is taken over and RV(taken_over)
    says whose it was and why - its lease has expired (whatever controller it came from; a job killed with its process
    group, as AWX cancels or times out a job, renews it no more), it is older than O(max_age_hours), or it was held from
    this very host by an C(ansible-playbook) process that is gone. Every decision that reads and changes the lock is
    made under an C(flock) on C(<path>.guard), so two runs cannot both take over one stale lock, and a release never
    removes a lock another run has just taken over.
  - V(renewed) extends the lease of the lock O(run_id) holds, and fails when the lock is gone or another run holds it
    (this run's lease expired and it was taken over), so that the run stops.
  - V(released) removes the lock only when O(run_id) holds it; somebody else's lock is left alone.
  - V(broken) removes the lock only when the run named by O(run_id) holds it, and fails naming the holder otherwise;
    the way to free a host after a cancelled job without waiting for its lease. RV(findings) records it.
  - V(status) reads it.
  - "The lock's directory is the module's own: a missing one is created C(0700). The module refuses (naming O(path)) a
    directory that is a symlink, is not owned by root or the running user, or that other users can write to (such as
    C(/run/lock) itself, where any user could plant a lock or a symlink); a parent directory other users can write to
    without the sticky bit; and a lock or guard file that is a symlink (opened with C(O_NOFOLLOW)), not a regular file,
    or not owned by the running user."
extends_documentation_fragment: [jarvis.maintenance.attributes]
attributes:
  check_mode:
    details:
      - Reports whether the lock would be taken, renewed, released or broken (and fails the same way when a live run
        holds it); writes nothing, creates no directory. A check run holds no lock, so V(renewed) does not fail in check
        mode.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Taking a lock this run already holds, or releasing or breaking one that is not there, changes nothing.
options:
  path:
    description:
      - The lock file, an absolute path in a directory of its own; C(<path>.guard) lives beside it.
      - The directory is created C(0700) when missing (its parent must exist). It must be owned by root or the running
        user and writable by nobody else.
    type: path
    default: /var/lib/jarvis-maintenance/maintenance.lock
  state:
    description:
      - V(acquired) takes the lock, V(renewed) extends this run's lease, V(released) gives it back, V(broken) removes
        the lock of the run named by O(run_id), V(status) reads it.
    type: str
    choices: [acquired, renewed, released, broken, status]
    default: acquired
  run_id:
    description:
      - This run's id, the same for taking, renewing and releasing; with V(broken) the id of the run whose lock is to be
        removed (as V(status) or the error of a run that found the lock held shows it). Required but with V(status).
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
  awx_job_id:
    description: The AWX / Automation Controller job id of the run (its C(awx_job_id) extra variable), recorded in the lock.
    type: str
    default: ""
  lease_minutes:
    description:
      - The lease taken by V(acquired) and extended by V(renewed). A lock whose lease has expired is stale, whichever
        controller holds it.
      - Longer than the longest step between two renewals (the roles' longest default timeouts, of a backup, its
        verification and a DR restore, are 60 minutes), short enough that the lock of a killed job is taken over by the
        next scheduled run. At most O(max_age_hours).
    type: float
    default: 90
  max_age_hours:
    description: A lock older than this many hours is stale, whatever holds it and however often it was renewed.
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
  textfile_dir:
    description:
      - node_exporter's textfile collector directory. When set, taking, renewing, giving back or breaking the lock writes
        C(jarvis_maintenance_lock.prom) there (mode C(0644), atomically, never through a symlink; the directory is
        created C(0755) when missing) - C(jarvis_maintenance_lock_held) (1 or 0),
        C(jarvis_maintenance_lock_acquired_timestamp_seconds) and C(jarvis_maintenance_lock_lease_expiry_timestamp_seconds)
        - so that Prometheus sees a lock held too long (the collection's alerting rules).
      - Nothing is written in check mode, nor when the lock was not this run's to change. A directory that cannot be
        written is a warning, not a failure.
    type: path
notes:
  - The playbooks of this collection set C(jarvis_run_lock_path) per host (the local inventories put it in the stack's
    directory), take the lock with the run id C(<playbook>-<UTC time>-<random>), renew it between steps, and release it
    in C(always:). C(-e jarvis_run_lock_break=<run id>) breaks a cancelled run's lock first.
"""

EXAMPLES = r"""
- name: Take the maintenance lock of this host
  jarvis.maintenance.run_lock:
    state: acquired
    run_id: "{{ run_id }}"
    playbook: daily.yml
    holder_host: "{{ lookup('ansible.builtin.pipe', 'hostname') }}"
    holder_pid: "{{ lookup('ansible.builtin.pipe', 'ps -o ppid= -p $PPID') | trim | int }}"
    awx_job_id: "{{ awx_job_id | default('') }}"
  register: lock

- name: Say when a stale lock was taken over
  ansible.builtin.debug:
    msg: "{{ lock.msg }}: {{ lock.taken_over }}"
  when: lock.taken_over

- name: Renew the lease between two steps
  jarvis.maintenance.run_lock:
    state: renewed
    run_id: "{{ run_id }}"

- name: Release it
  jarvis.maintenance.run_lock:
    state: released
    run_id: "{{ run_id }}"

- name: Break the lock of a cancelled run (only if that run holds it)
  jarvis.maintenance.run_lock:
    state: broken
    run_id: daily-20261129T020000Z-4f1c2a
"""

RETURN = r"""
textfile:
  description: The lock's metrics file - C(path), C(written) and C(error) (why it could not be written).
  returned: when O(textfile_dir) is set and the lock changed
  type: dict
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: "took over a stale lock (its lease expired at 2026-11-29T03:30:00Z (12 min ago): the run stopped renewing it
    (killed, cancelled or timed out))"
acquired:
  description: Whether this run holds the lock now (false in check mode).
  returned: state is acquired
  type: bool
renewed:
  description: Whether the lease was extended.
  returned: state is renewed
  type: bool
released:
  description: Whether the lock was released.
  returned: state is released
  type: bool
broken:
  description: Whether the named run's lock was removed.
  returned: state is broken
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
  description: The lock's record (this run's after V(acquired) and V(renewed); the file's otherwise), null when there is none.
  returned: always
  type: dict
  sample:
    run_id: daily-20261129T020000Z-4f1c
    playbook: daily.yml
    started: "2026-11-29T02:00:00Z"
    holder_host: ops01
    holder_pid: 4242
    awx_job_id: "417"
    lease_expires: "2026-11-29T03:30:00Z"
taken_over:
  description: The stale lock this run took over and why (C({holder, reason})), or null.
  returned: state is acquired
  type: dict
findings:
  description:
    - A warning finding (C(run_lock_taken_over) or C(run_lock_broken)) when a stale lock was taken over or a lock was
      broken, for the run's report; empty otherwise.
  returned: state is acquired or broken
  type: list
  elements: dict
waited_seconds:
  description: How long the run waited for the lock (see O(wait_seconds)).
  returned: state is acquired
  type: float
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._run_lock import ARGUMENT_SPEC, RunLock


def main() -> None:
    run_module(ARGUMENT_SPEC, RunLock)


if __name__ == "__main__":
    main()
