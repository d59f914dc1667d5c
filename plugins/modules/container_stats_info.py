#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: container_stats_info
short_description: CPU and memory of containers as data, judged against thresholds
version_added: 1.0.0
description:
  - Reads which of O(containers) exist and run with C(docker inspect), then the CPU, memory and process count of the
    running ones with C(docker stats --no-stream --no-trunc --format '{{json .}}'), and returns them as numbers and as
    findings with a severity of V(ok), V(warning) or V(critical).
  - Replaces the runbook's weekly performance tuning, which read C(docker stats) as a table with awk, compared the CPU
    column with bc and flagged a container whose memory column merely contained C(GiB).
  - Each running container has a C(container_cpu) finding (against O(thresholds.cpu_percent_warning) and
    O(thresholds.cpu_percent_critical)) and a C(container_memory) finding, the worse of memory in use against
    O(thresholds.memory_bytes_warning) (by default a warning from 1 GiB, the runbook's rule) and its share of the
    container's memory limit against O(thresholds.memory_percent_critical) (by default critical from 90 %). A container
    that does not exist or does not run has one C(container_state) warning instead; the module does not fail for it.
  - The C(docker) CLI finds the engine as usual, through C(DOCKER_HOST) and the docker context of the environment.
  - The module only observes; roles decide what a finding means (a restart in a maintenance window, a notification).
extends_documentation_fragment: [jarvis.maintenance.attributes, jarvis.maintenance.attributes.READ_ONLY, jarvis.maintenance.thresholds]
options:
  containers:
    description: Names (or IDs of 12 or more hex digits) of the containers to measure; at least one.
    type: list
    elements: str
    required: true
  thresholds:
    suboptions:
      cpu_percent_warning:
        description:
          - CPU use, in percent as C(docker stats) shows it (the runbook's 80). C(docker stats) adds up the CPUs, so a
            container busy on two CPUs shows 200.
        type: float
        default: 80
      cpu_percent_critical: {type: float, default: 95, description: "Critical level; see O(thresholds.cpu_percent_warning)."}
      memory_bytes_warning:
        description: Memory in use, in bytes (the runbook's C(GiB) rule, 1 GiB).
        type: float
        default: 1073741824
      memory_bytes_critical: {type: float, description: "Critical level of memory in use, in bytes; not judged by default."}
      memory_percent_warning: {type: float, description: "Memory in use, in percent of the limit (0 to 100); not judged by default."}
      memory_percent_critical:
        description:
          - Memory in use, in percent of the container's memory limit (0 to 100).
          - A container without a memory limit is measured against the host's memory, as C(docker stats) does.
        type: float
        default: 90
  docker_binary:
    description: The docker CLI, a name looked up on C(PATH) or a path.
    type: str
    default: docker
  timeout:
    description: Seconds each docker command may take before the module fails.
    type: float
    default: 30
requirements:
  - The docker CLI and coreutils C(timeout) on the host the module runs on.
seealso:
  - module: jarvis.maintenance.host_resources_info
  - name: docker stats
    description: The command whose output the module reads.
    link: https://docs.docker.com/reference/cli/docker/container/stats/
"""

EXAMPLES = r"""
- name: Measure the runbook's containers
  jarvis.maintenance.container_stats_info:
    containers:
      - sutazai-postgres
      - sutazai-redis
      - sutazai-backend
      - sutazai-frontend
  register: stats

- name: Name the containers over a threshold
  ansible.builtin.debug:
    msg: "{{ stats.findings | rejectattr('severity', 'equalto', 'ok') | map(attribute='subject') | unique | list }}"

- name: Stricter thresholds against a remote engine
  jarvis.maintenance.container_stats_info:
    containers: [sutazai-backend]
    thresholds:
      cpu_percent_warning: 50
      cpu_percent_critical: 90
      memory_bytes_warning: 536870912
      memory_percent_warning: 70
      memory_percent_critical: 80
  environment:
    DOCKER_HOST: ssh://ops@app01.example.com
"""

RETURN = r"""
containers:
  description:
    - For each name of O(containers), what was measured. The figures are null for a container that does not run.
    - C(name) is the key again (handy for tables); C(cpu_percent), C(memory_bytes), C(memory_limit_bytes) (the
      container's limit, or the host's memory when it has none), C(memory_percent) and C(pids) come from C(docker stats);
      C(state) (V(running), V(exited), ... or V(missing)), C(running), C(restart_count), C(started_at), C(health) and
      C(memory_limited) from C(docker inspect).
  returned: always
  type: dict
  sample:
    sutazai-backend:
      name: sutazai-backend
      cpu_percent: 6.93
      memory_bytes: 20038041
      memory_limit_bytes: 25275222753
      memory_percent: 0.08
      pids: 2
      state: running
      running: true
      restart_count: 0
      started_at: "2026-11-29T06:08:23.041635393Z"
      health: healthy
      memory_limited: false
findings:
  description:
    - C(container_cpu) and C(container_memory) for each running container, C(container_state) (a warning) for each one
      that is missing or not running; each with C(check), C(severity), C(subject) (the container), C(value),
      C(threshold), C(message) and C(recommendation).
    - The memory finding's value and threshold are bytes; a level in percent is that share of the limit.
  returned: always
  type: list
  elements: dict
  sample:
    - check: container_cpu
      severity: ok
      subject: sutazai-backend
      value: 6.93
      threshold: 80.0
      message: CPU use of sutazai-backend is 6.93%, below the warning threshold 80%
      recommendation: ""
thresholds:
  description: The levels the findings were judged against, defaults filled in (null where a level is not judged).
  returned: always
  type: dict
  sample: {cpu_percent_warning: 80.0, cpu_percent_critical: 95.0, memory_bytes_warning: 1073741824.0,
           memory_bytes_critical: null, memory_percent_warning: null, memory_percent_critical: 90.0}
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._container_stats import (
    ARGUMENT_SPEC,
    ContainerStats,
)


def main() -> None:
    run_module(ARGUMENT_SPEC, ContainerStats)


if __name__ == "__main__":
    main()
