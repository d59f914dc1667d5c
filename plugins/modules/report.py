#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: report
short_description: Write a JSON and a Markdown report of findings, atomically
version_added: 1.0.0
description:
  - Writes C(<dir>/<name>.json) (for machines) and C(<dir>/<name>.md) (for people) from a list of findings and
    structured data. Each file goes to a temporary file in the same directory, is fsynced and renamed, so a
    reader never sees half a report.
  - The JSON has C(schema), C(title), C(host), C(generated_at), C(severity) (the worst finding), C(summary)
    (counts per severity), C(findings) and C(data). The Markdown lists the findings worst first and what to do.
  - The roles of this collection use it for every report. Pass no secrets in O(data), because the report is not
    redacted.
extends_documentation_fragment: [jarvis.maintenance.attributes]
attributes:
  check_mode:
    details:
      - Returns the paths and whether the files would change; writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Files with the same content are not rewritten.
options:
  dir:
    description:
      - Directory of the report; created when missing, with its missing parents, searchable by whoever may read
        the report (mode 0750 for the default O(mode), whatever the umask).
    type: path
    required: true
  name:
    description: File name without extension, for example V(health-web01-20261128T020000Z).
    type: str
    required: true
  title:
    description: Title of the report.
    type: str
    required: true
  host:
    description: The host the report is about.
    type: str
    required: true
  generated_at:
    description: When the data was collected, as an ISO 8601 UTC time.
    type: str
    required: true
  findings:
    description: Findings, each with C(check), C(severity) (V(ok), V(warning) or V(critical)), C(subject), C(value),
      C(threshold), C(message) and C(recommendation).
    type: list
    elements: dict
    default: []
  data:
    description: Structured data that goes into the JSON document under C(data).
    type: dict
    default: {}
  mode:
    description:
      - Permissions of the report files, an octal string. The same default as every report of the collection.
      - Refused - a mode above V(0777) (setuid, setgid or sticky bits), a world-writable mode (for example V(0666)),
        anything that is not octal (for example V(-1)).
      - A report whose content is unchanged but whose mode differs gets this mode back (changed).
    type: str
    default: "0640"
  tables:
    description: Tables shown in the Markdown page after the findings (the JSON document has the data itself).
    type: list
    elements: dict
    default: []
    suboptions:
      title:
        description: The section's title.
        type: str
        required: true
      columns:
        description: The keys of the rows shown, in order; a column's heading is its key.
        type: list
        elements: str
        required: true
      rows:
        description: The rows, each a mapping of key to value.
        type: list
        elements: dict
        default: []
      empty:
        description: What the section says when there is no row.
        type: str
        default: ""
"""

EXAMPLES = r"""
- name: Write the health report
  jarvis.maintenance.report:
    dir: /var/lib/jarvis/reports
    name: "health-{{ inventory_hostname }}-{{ now(utc=true).strftime('%Y%m%dT%H%M%SZ') }}"
    title: Health report
    host: "{{ inventory_hostname }}"
    generated_at: "{{ now(utc=true).strftime('%Y-%m-%dT%H:%M:%SZ') }}"
    findings: "{{ resources.findings }}"
    data:
      memory: "{{ resources.memory }}"
"""

RETURN = r"""
json_path:
  description: Path of the JSON report.
  returned: success
  type: str
  sample: /var/lib/jarvis/reports/health-web01-20261128T020000Z.json
markdown_path:
  description: Path of the Markdown report.
  returned: success
  type: str
  sample: /var/lib/jarvis/reports/health-web01-20261128T020000Z.md
severity:
  description: The worst severity among the findings.
  returned: success
  type: str
  sample: warning
summary:
  description: Number of findings per severity.
  returned: success
  type: dict
  sample: {ok: 7, warning: 1, critical: 0}
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._report import ARGUMENT_SPEC, Report


def main() -> None:
    run_module(ARGUMENT_SPEC, Report)


if __name__ == "__main__":
    main()
