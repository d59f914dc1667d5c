#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: monthly_report
short_description: Assemble the month's maintenance results into the monthly report (Markdown, HTML, JSON)
version_added: 1.0.0
description:
  - Replaces the runbook's monthly report, a heredoc that ticked every section whatever had happened and grepped its
    own log for the action items.
  - Each section is the newest JSON report of its kind that the roles wrote during O(month) in O(reports_dir), named
    C(<prefix>-<host>-<YYYYmmddTHHMMSSZ>.json) - backup verification, security audit, 30-day capacity analysis,
    PostgreSQL and Redis monthly maintenance, system updates and the DR test. Its status is the worst severity of its
    findings; a kind without a report this month is shown as C(NO REPORT), an unreadable file as C(UNREADABLE).
  - Key metrics come from the newest daily metrics document of the month (uptime, database size, disk and memory use)
    and from the backup section (the newest set's size). Action items are the warning and critical findings of every
    section, critical first.
  - Nothing is read from logs; nothing is written in check mode. A report file holding C(NaN) or C(Infinity) is
    C(UNREADABLE). Files are written with mode 0640, in directories created with mode 0750 (as every report).
extends_documentation_fragment: [jarvis.maintenance.attributes, jarvis.maintenance.report_files, jarvis.maintenance.report_files.html]
options:
  reports_dir:
    description: Where the roles write their JSON reports (C(jarvis_reports_dir)).
    type: path
    required: true
  host:
    description:
      - The host whose reports are assembled (the C(<host>) part of the report names); letters, digits, C(.), C(_)
        and C(-).
    type: str
    required: true
  month:
    description: The month, C(YYYY-MM). Default the current UTC month.
    type: str
  metrics_dir:
    description: The daily metrics directory (C(<metrics_dir>/<host>/metrics-YYYY-MM-DD.json)), for the key metrics.
    type: path
  sections:
    description:
      - Report name prefixes to use instead of the defaults, by section key - V(backup) (C(backup-verification)),
        V(security) (C(security-audit)), V(capacity) (C(capacity-30d)), V(postgres) (C(postgres-monthly)), V(redis)
        (C(redis-monthly)), V(updates) (C(system-updates)), V(dr_test) (C(dr-test)).
    type: dict
    default: {}
  title:
    description: The report's title. Default C(Monthly Maintenance Report - <host> - <month>).
    type: str
seealso:
  - module: jarvis.maintenance.report
  - module: jarvis.maintenance.capacity_report
"""

EXAMPLES = r"""
- name: Write this month's report
  jarvis.maintenance.monthly_report:
    reports_dir: /var/lib/jarvis/reports
    metrics_dir: /var/lib/jarvis/metrics
    host: "{{ inventory_hostname }}"
    markdown: /var/lib/jarvis/reports/monthly-report-{{ inventory_hostname }}-202611.md
    html: /var/lib/jarvis/reports/monthly-report-{{ inventory_hostname }}-202611.html
"""

RETURN = r"""
month:
  description: The month assembled.
  returned: always
  type: str
  sample: "2026-11"
severity:
  description: The worst status among the sections that have a report.
  returned: always
  type: str
sections:
  description: Per section its key, heading, status (ok, warning, critical, absent, unreadable), summary and report path.
  returned: always
  type: list
  elements: dict
key_metrics:
  description: Label and value of each key metric.
  returned: always
  type: list
  elements: dict
action_items:
  description: The warning and critical findings of every section, each with its C(section).
  returned: always
  type: list
  elements: dict
next_maintenance:
  description: The first day of the next month.
  returned: always
  type: str
json_path:
  description: Where the JSON document is (or would be) written.
  returned: when O(json) is set
  type: str
markdown_path:
  description: Where the Markdown report is (or would be) written.
  returned: when O(markdown) is set
  type: str
html_path:
  description: Where the HTML report is (or would be) written.
  returned: when O(html) is set
  type: str
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._monthly import ARGUMENT_SPEC, MonthlyReport


def main() -> None:
    run_module(ARGUMENT_SPEC, MonthlyReport)


if __name__ == "__main__":
    main()
