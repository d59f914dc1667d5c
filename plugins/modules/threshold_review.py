#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: threshold_review
short_description: Compare monitoring thresholds with what the daily metrics observed, for the quarterly review
version_added: 1.0.0
description:
  - For the runbook's quarterly manual task "Review and update monitoring thresholds", which had no procedure.
  - Reads C(<metrics_dir>/<host>/metrics-YYYY-MM-DD.json) (schema C(jarvis.maintenance/metrics/1), written by the
    capacity_planning role) for the O(days) days ending today (UTC), and compares each threshold in O(thresholds)
    with the samples of its metric. With O(source=prometheus) the same daily documents are built from Prometheus (see
    O(source)) and reviewed by the same code.
  - Per threshold - samples, days without a sample, min, p50, p95, max, last, days at or above the warning and the
    critical value, the share of sampled days at or above the warning, the headroom (warning minus p95), a verdict
    and what to do.
  - Verdicts, the first that applies - C(no data) (fewer than 5 samples, a warning finding with check
    C(missing_data)); C(crossed critical) (a day at or above the critical value, warning); C(noisy) (at or above
    the warning on more than O(noisy_percent) of the sampled days, warning, with a suggested warning of p95 plus 5%
    rounded up - to 90 rather than 88, or to 92 when 95 is the critical value - unless even that reaches the critical
    value or 100%, when the advice is to add capacity); C(tight) (p95 at least 90% of the warning, ok);
    C(slack) (the highest day below 50% of the warning, ok, with a lower warning suggested - the highest day plus
    25%, rounded up); C(fine) (ok). Other findings have check C(threshold_review).
  - The samples are one a day, so a check that runs more often (the health check) can see peaks they miss; the
    day counts are a lower bound of how often a threshold fires.
  - Files that do not parse, are not objects, have another schema, or repeat a day (the older is skipped) are listed in
    C(skipped_files) with the reason; days without a usable document are in C(missing_days). The review renders
    anyway.
extends_documentation_fragment: [jarvis.maintenance.attributes, jarvis.maintenance.report_files, jarvis.maintenance.prometheus]
options:
  metrics_dir:
    description: The metrics directory (C(jarvis_metrics_dir)), one subdirectory per host. Required with O(source=files).
    type: path
  host:
    description:
      - The host reviewed, the name of its subdirectory of O(metrics_dir).
      - With O(source=prometheus), the host whose series are read (O(prometheus_selector) defaults to them).
    type: str
    required: true
  days:
    description: Days reviewed, ending today (UTC); from 7 to 3660.
    type: int
    default: 90
  thresholds:
    description: The thresholds reviewed, at least one.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: What people call the threshold, for example C(Memory used); unique.
        type: str
        required: true
      metric:
        description:
          - The metric it applies to, one of C(cpu_load_per_core), C(memory_percent), C(disk_percent),
            C(connections_percent), C(redis_memory_percent), C(backend_response_ms), C(postgres_total_bytes),
            C(redis_used_memory_bytes), C(redis_clients).
        type: str
        required: true
      warning:
        description: The warning value, a finite number above 0 (at most 1e18); a sample at or above it is over it.
        type: float
        required: true
      critical:
        description: The critical value, a finite number above O(thresholds[].warning).
        type: float
      source:
        description: Where the threshold is set, for example C(health_check_thresholds.memory_percent_warning).
        type: str
  noisy_percent:
    description: A threshold at or above its warning on more than this share (%) of the sampled days is noisy.
    type: float
    default: 20.0
  title:
    description: The report's title.
    type: str
seealso:
  - module: jarvis.maintenance.capacity_report
"""

EXAMPLES = r"""
- name: Review the health check's thresholds over the last quarter
  jarvis.maintenance.threshold_review:
    metrics_dir: /var/lib/jarvis/metrics
    host: "{{ inventory_hostname }}"
    thresholds:
      - name: Memory used
        metric: memory_percent
        warning: "{{ health_check_thresholds.memory_percent_warning }}"
        critical: "{{ health_check_thresholds.memory_percent_critical }}"
        source: health_check_thresholds.memory_percent_warning
      - name: Load per core
        metric: cpu_load_per_core
        warning: "{{ health_check_thresholds.load_per_core_warning }}"
        critical: "{{ health_check_thresholds.load_per_core_critical }}"
        source: health_check_thresholds.load_per_core_warning
      - name: Disk used
        metric: disk_percent
        warning: "{{ health_check_thresholds.disk_percent_warning }}"
        critical: "{{ health_check_thresholds.disk_percent_critical }}"
        source: health_check_thresholds.disk_percent_warning
    json: /var/lib/jarvis/reports/thresholds-{{ inventory_hostname }}.json
    markdown: /var/lib/jarvis/reports/thresholds-{{ inventory_hostname }}.md
  register: review

- name: Review them against Prometheus' last quarter instead of the metrics files
  jarvis.maintenance.threshold_review:
    source: prometheus
    prometheus_url: http://prometheus:9090
    prometheus_selector: instance="{{ inventory_hostname }}:9100"
    host: "{{ inventory_hostname }}"
    thresholds:
      - name: Memory used
        metric: memory_percent
        warning: 85
        critical: 95
    markdown: /var/lib/jarvis/reports/thresholds-{{ inventory_hostname }}.md
"""

RETURN = r"""
window:
  description: The window reviewed - C(start), C(end), C(days).
  returned: always
  type: dict
rows:
  description:
    - Per threshold, in the order given - name, metric, label, unit, source, warning, critical, samples,
      missing_days (days without a sample), min, p50, p95, max, last, days_over_warning, days_over_critical (null
      without a critical value), share_over_warning_percent, headroom, verdict, suggested_warning (or null),
      severity, recommendation and message.
  returned: always
  type: list
  elements: dict
findings:
  description:
    - One finding per threshold with C(check) (threshold_review, missing_data), severity, subject, value, threshold,
      message and recommendation.
  returned: always
  type: list
  elements: dict
severity:
  description: The worst severity of the findings.
  returned: always
  type: str
missing_days:
  description: The days of the window without a usable metrics document.
  returned: always
  type: list
  elements: str
skipped_files:
  description: Files not used, each with C(file) and C(reason) (C(skipped) in the JSON report).
  returned: always
  type: list
  elements: dict
json_path:
  description: Where the JSON report is (or would be) written.
  returned: when O(json) is set
  type: str
markdown_path:
  description: Where the Markdown report is (or would be) written.
  returned: when O(markdown) is set
  type: str
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._threshold_review import (
    ARGUMENT_SPEC,
    ThresholdReview,
)


def main() -> None:
    run_module(ARGUMENT_SPEC, ThresholdReview)


if __name__ == "__main__":
    main()
