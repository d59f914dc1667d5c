#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: run_summary
short_description: One page for a whole maintenance run - every step's outcome, findings by severity, durations
version_added: 1.0.0
description:
  - Reads the reports (schema C(jarvis.maintenance/report/1)) that this run wrote for O(host) in O(reports_dir) - those
    generated at or after O(since) - and writes C(run-summary-<host>-<UTC time>.json) and C(.md) there.
  - The summary has a finding per report (its worst severity, with its counts of critical, warning and ok findings), a
    critical finding when O(outcome=failed) naming O(error), the totals, how long each step took (the time from the
    report before it, the first from O(since)), and the reports' own warning and critical findings (RV(problems)).
  - RV(text) is a short text for a notification. The playbooks call this module from the C(maintenance_run) role's
    C(end), then send one notification per run.
extends_documentation_fragment: [jarvis.maintenance.attributes]
attributes:
  check_mode:
    details:
      - Reads the reports and returns the summary; writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Each call writes a new summary named by its finishing time.
options:
  reports_dir:
    description: The reports directory the roles write to (C(jarvis_reports_dir)).
    type: path
    required: true
  host:
    description: The host whose reports are summarised (C(inventory_hostname)); reports of other hosts are left out.
    type: str
    required: true
  since:
    description: When the run started (ISO 8601, UTC); reports generated before are not this run's.
    type: str
    required: true
  run_id:
    description: The run's id.
    type: str
    required: true
  playbook:
    description: The playbook of the run.
    type: str
    default: ""
  outcome:
    description: How the run ended.
    type: str
    choices: [ok, failed]
    default: ok
  error:
    description: Why it failed (the failed task and its message), with O(outcome=failed).
    type: str
    default: ""
  finished:
    description: When the run ended (ISO 8601); default now.
    type: str
  mode:
    description:
      - File mode of the summary files, in directories created with the matching directory mode (C(0640) gives
        C(0750)).
      - An octal string up to C(0777), with no setuid, setgid or sticky bit, never world-writable.
    type: str
    default: "0640"
  textfile_dir:
    description:
      - node_exporter's textfile collector directory. When set, the run's metrics for Prometheus are written there as
        C(jarvis_maintenance_run_<playbook>.prom) (mode C(0644), atomically; the directory is created C(0755) when
        missing; a symlink at the name is replaced, never followed).
      - The metrics - the run's start, end, duration, exit status and last success; each step's times, duration and
        last success; the findings by step, check and severity; and what the steps' reports measured (the newest backup
        set, the restore tests, Barman's WAL and RPO, PostgreSQL actions, replay lag and slots, Redis keys deleted) -
        are listed in the collection's C(docs/monitoring.md).
      - The last success of the playbook and of each step are read from the host's earlier run summaries in
        O(reports_dir), never from the textfile directory.
      - A directory that cannot be written is a warning, not a failure. Nothing is written in check mode.
    type: path
"""

EXAMPLES = r"""
- name: Summarise this run
  jarvis.maintenance.run_summary:
    reports_dir: /var/lib/jarvis/reports
    host: "{{ inventory_hostname }}"
    since: "{{ run_started }}"
    run_id: "{{ jarvis_run_id }}"
    playbook: daily.yml
  register: summary

- name: Show it
  ansible.builtin.debug:
    msg: "{{ summary.text }}"

- name: Summarise this run and export its metrics to node_exporter
  jarvis.maintenance.run_summary:
    reports_dir: /var/lib/jarvis/reports
    host: "{{ inventory_hostname }}"
    since: "{{ run_started }}"
    run_id: "{{ jarvis_run_id }}"
    playbook: daily.yml
    textfile_dir: /var/lib/prometheus/node-exporter
"""

RETURN = r"""
json_path:
  description: The summary for machines.
  returned: always
  type: str
markdown_path:
  description: The summary for people.
  returned: always
  type: str
severity:
  description: The worst severity of the run (V(critical) when it failed).
  returned: always
  type: str
summary:
  description: The summary's own findings by severity.
  returned: always
  type: dict
outcome:
  description: O(outcome).
  returned: always
  type: str
totals:
  description: The findings of all the run's reports, by severity.
  returned: always
  type: dict
  sample: {ok: 41, warning: 2, critical: 0}
reports:
  description: The run's reports, oldest first - C(kind), C(title), C(file), C(severity), C(critical), C(warning), C(ok),
    C(generated_at) and C(seconds) (the step's duration).
  returned: always
  type: list
  elements: dict
findings:
  description: The summary's findings - one per report (its worst severity and counts) and one for a failed run.
  returned: always
  type: list
  elements: dict
problems:
  description:
    - The warning and critical findings of the run's reports, worst first, at most 20 per report - each with C(check),
      C(severity), C(subject), C(message), C(recommendation), C(step) (the report's kind) and C(report) (its file).
  returned: always
  type: list
  elements: dict
message_findings:
  description:
    - What the run's one notification lists - the failed run's finding, then per step either one V(ok) finding (nothing
      wrong) or its own warning and critical findings (RV(problems)).
  returned: always
  type: list
  elements: dict
text:
  description: A few lines for a notification - outcome, duration, totals and the reports that are not ok.
  returned: always
  type: str
textfile:
  description:
    - The metrics file - C(path), C(series) (how many samples), C(written) (false in check mode or when it failed) and
      C(error) (why it could not be written).
  returned: when O(textfile_dir) is set
  type: dict
  sample:
    path: /var/lib/prometheus/node-exporter/jarvis_maintenance_run_daily.prom
    series: 42
    written: true
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._run_summary import ARGUMENT_SPEC, RunSummary


def main() -> None:
    run_module(ARGUMENT_SPEC, RunSummary)


if __name__ == "__main__":
    main()
