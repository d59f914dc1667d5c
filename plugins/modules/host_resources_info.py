#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_resources_info
short_description: Measure memory, load and disk usage and judge them against thresholds
version_added: 1.0.0
description:
  - Reads memory from C(/proc/meminfo), load averages and the CPU count, and disk and inode usage of
    each of O(paths) with C(statvfs), and returns each as data and as findings with a severity of
    V(ok), V(warning) or V(critical).
  - Replaces the runbook's C(free | awk), C(uptime | awk) and C(df | awk) pipelines without parsing
    command output; the memory percentage leaves out page cache that the kernel can reclaim.
  - The module only observes; roles decide what a finding means (alerting, failing the run).
extends_documentation_fragment: [jarvis.maintenance.attributes, jarvis.maintenance.attributes.READ_ONLY, jarvis.maintenance.thresholds]
options:
  paths:
    description:
      - Paths whose filesystems are measured (one entry each, even when two share a filesystem).
    type: list
    elements: path
    default: [/]
  thresholds:
    suboptions:
      memory_percent_warning: {type: float, default: 85, description: "Memory in use (total minus available), in percent."}
      memory_percent_critical: {type: float, default: 95, description: "Memory in use, in percent."}
      load_per_core_warning: {type: float, default: 1.0, description: "The 5-minute load average divided by the number of CPUs."}
      load_per_core_critical: {type: float, default: 2.0, description: "Critical level; see O(thresholds.load_per_core_warning)."}
      disk_percent_warning: {type: float, default: 80, description: "Disk space used, in percent, counted as C(df) does (space reserved for root
          counts as used)."}
      disk_percent_critical: {type: float, default: 90, description: "Disk space used, in percent."}
      inode_percent_warning: {type: float, default: 80, description: "Inodes used, in percent."}
      inode_percent_critical: {type: float, default: 90, description: "Critical level; see O(thresholds.inode_percent_warning)."}
notes:
  - Linux only (it reads C(/proc)).
seealso:
  - module: ansible.builtin.setup
"""

EXAMPLES = r"""
- name: Check the root and data filesystems with the default thresholds
  jarvis.maintenance.host_resources_info:
    paths:
      - /
      - /var/lib/postgresql
  register: resources

- name: Fail when anything is critical
  ansible.builtin.fail:
    msg: "{{ resources.findings | selectattr('severity', 'equalto', 'critical')
             | map(attribute='message') | join('; ') }}"
  when: resources.severity == 'critical'

- name: Stricter memory thresholds on a small host
  jarvis.maintenance.host_resources_info:
    thresholds:
      memory_percent_warning: 75
      memory_percent_critical: 90
"""

RETURN = r"""
memory:
  description: Memory usage.
  returned: success
  type: dict
  sample:
    total_bytes: 25769803776
    available_bytes: 24696061952
    used_bytes: 1073741824
    percent: 4.2
    swap_total_bytes: 0
    swap_used_bytes: 0
load:
  description: Load averages, CPU count and load per core.
  returned: success
  type: dict
  sample:
    load_1: 0.52
    load_5: 0.41
    load_15: 0.3
    cpu_count: 2
    per_core_1: 0.26
    per_core_5: 0.2
    per_core_15: 0.15
disks:
  description: Usage of the filesystem of each of O(paths), in the same order.
  returned: success
  type: list
  elements: dict
  sample:
    - path: /
      total_bytes: 270582939648
      used_bytes: 24696061952
      available_bytes: 85899345920
      percent: 22.3
      inodes_total: 16777216
      inodes_used: 524288
      inode_percent: 3.1
uptime_seconds:
  description: Seconds since boot.
  returned: success
  type: int
  sample: 86400
findings:
  description:
    - One finding per check (memory, load, and disk and inodes per path).
    - Each has C(check), C(severity) (V(ok), V(warning) or V(critical)), C(subject), C(value), C(threshold),
      C(message) and C(recommendation).
  returned: success
  type: list
  elements: dict
  sample:
    - check: memory_percent
      severity: ok
      subject: memory
      value: 4.2
      threshold: 85.0
      message: Memory in use is 4.2%, below the warning threshold 85%
      recommendation: ""
severity:
  description: The worst severity among O(ignore:findings).
  returned: success
  type: str
  sample: ok
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._resources import ARGUMENT_SPEC, HostResources


def main() -> None:
    run_module(ARGUMENT_SPEC, HostResources)


if __name__ == "__main__":
    main()
