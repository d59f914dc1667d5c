#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: capacity_report
short_description: Trends and forecasts from the daily metrics documents, as JSON, Markdown and an HTML page with charts
version_added: 1.0.0
description:
  - Replaces the runbook's capacity planning, which averaged the last 7 C(daily_metrics_*.json) with jq/awk and called
    "trend" the mean of the last 15 samples minus the first 15.
  - Reads C(<metrics_dir>/<host>/metrics-YYYY-MM-DD.json) (schema C(jarvis.maintenance/metrics/1), written by the
    capacity_planning role) for the O(days) days ending O(end_date); or, with O(source=prometheus), builds the same
    daily documents from node_exporter, postgres_exporter and redis_exporter series in Prometheus (one point a day at
    O(prometheus_sample_time)) and analyses them with the same code.
  - Per metric (load per core, memory %, disk %, PostgreSQL connections %, Redis memory % of maxmemory, and charted
    without a threshold - backend response time, database size, Redis memory and clients) - samples, mean, min, max,
    p95, last, the least-squares slope per day over the samples' timestamps, the fit's r², and a forecast - days from
    the last sample until the fitted line reaches the threshold (none when flat or falling).
  - A forecast is only a finding when it is reliable (r² at least O(min_r2), 5 samples or more) and within
    O(forecast_horizon_days); a rising trend the fit does not explain is reported as uncertain, not as a prediction.
    A metric whose last sample or mean is at or above its warning level is a warning, critical when the last sample is at
    or above its critical level (10% above the warning level by default).
  - With O(measured), the module does the daily collection's last step instead of a report - it writes today's metrics
    document C(<metrics_dir>/<host>/metrics-YYYY-MM-DD.json) (schema C(jarvis.maintenance/metrics/1)) from the results of
    the modules that measured the host, checked with the same code every report reads it with.
  - Files that do not parse (C(NaN) and C(Infinity) are not JSON), are not objects, have another schema, hold a metric that is
    not a finite number or is beyond 1e18 (bad data), or repeat a day (the older is skipped) are listed in
    C(skipped_files) with the reason; days without a usable document are in C(missing_days). The report renders anyway.
  - Report files are written with mode 0640, in directories created with mode 0750 (as every report of the collection).
  - The HTML page is one self-contained file (no external asset, no JavaScript) with an inline SVG chart per metric
    (samples, fit, threshold, forecast) and the findings table. The Markdown suits chat and e-mail.
extends_documentation_fragment:
  - jarvis.maintenance.attributes
  - jarvis.maintenance.report_files
  - jarvis.maintenance.report_files.html
  - jarvis.maintenance.prometheus
options:
  metrics_dir:
    description: The metrics directory (C(jarvis_metrics_dir)), one subdirectory per host. Required with O(source=files).
    type: path
  host:
    description:
      - The host analysed. Default every subdirectory of O(metrics_dir), each separately.
      - Required with O(source=prometheus); O(prometheus_selector) defaults to its series.
      - With O(measured), the host whose document is written (required).
    type: str
  days:
    description: Days analysed, ending O(end_date) (7 weekly, 30 monthly); from 2 to 3660.
    type: int
    default: 7
  end_date:
    description: Last day of the window, C(YYYY-MM-DD). Default today (UTC).
    type: str
  thresholds:
    description:
      - Warning and critical levels by metric. The forecast is of the days left before the warning level.
      - Each warning level must not be above its critical level; all must be above 0.
    type: dict
    default: {}
    suboptions:
      cpu_load_per_core_warning: {type: float, default: 1.0, description: "The 5-minute load average divided by the number of CPUs."}
      cpu_load_per_core_critical: {type: float, default: 1.1, description: "Critical level; see O(thresholds.cpu_load_per_core_warning)."}
      memory_percent_warning: {type: float, default: 85.0, description: "Memory used, in percent."}
      memory_percent_critical: {type: float, default: 93.5, description: "Critical level; see O(thresholds.memory_percent_warning)."}
      disk_percent_warning: {type: float, default: 85.0, description: "Disk used on the data filesystem, in percent."}
      disk_percent_critical: {type: float, default: 93.5, description: "Critical level; see O(thresholds.disk_percent_warning)."}
      connections_percent_warning: {type: float, default: 80.0, description: "PostgreSQL connections of max_connections, in percent."}
      connections_percent_critical: {type: float, default: 88.0, description: "Critical level; see O(thresholds.connections_percent_warning)."}
      redis_memory_percent_warning: {type: float, default: 85.0, description: "Redis memory of maxmemory, in percent."}
      redis_memory_percent_critical: {type: float, default: 93.5, description: "Critical level; see O(thresholds.redis_memory_percent_warning)."}
  forecast_horizon_days:
    description: A reliable forecast that crosses a threshold within this many days is a warning; from 1 to 3660.
    type: int
    default: 30
  min_r2:
    description: The least r² of the fit for a trend to be forecast.
    type: float
    default: 0.6
  title:
    description: The report's title.
    type: str
  measured:
    description:
      - Write today's metrics document instead of a report, from the registered results of the modules that measured the
        host. A result that is absent, null, skipped or failed leaves its part of the document null.
    type: dict
    suboptions:
      host_resources:
        description: The result of M(jarvis.maintenance.host_resources_info) (uptime, load, memory, filesystems).
        type: dict
      http_check:
        description: The result of M(jarvis.maintenance.http_check_info) on the backend's health URL.
        type: dict
      pg_maintenance:
        description: The result of M(jarvis.maintenance.pg_maintenance) with the connections and database_size checks.
        type: dict
      redis_maintenance:
        description: The result of M(jarvis.maintenance.redis_maintenance).
        type: dict
  unavailable:
    description: With O(measured), why a source is null - section name (C(host), C(backend), C(postgres), C(redis)) to reason.
    type: dict
    default: {}
  overwrite:
    description: With O(measured), replace today's document when it exists (by default the first of the day is kept).
    type: bool
    default: false
seealso:
  - module: jarvis.maintenance.monthly_report
  - module: jarvis.maintenance.threshold_review
"""

EXAMPLES = r"""
- name: Analyse the last 30 days and forecast
  jarvis.maintenance.capacity_report:
    metrics_dir: /var/lib/jarvis/metrics
    host: "{{ inventory_hostname }}"
    days: 30
    thresholds:
      memory_percent_warning: 80
      memory_percent_critical: 90
    html: /var/lib/jarvis/reports/capacity-30d-{{ inventory_hostname }}.html
    markdown: /var/lib/jarvis/reports/capacity-30d-{{ inventory_hostname }}.md
  register: capacity

- name: The same report from Prometheus (node_exporter, postgres_exporter, redis_exporter)
  jarvis.maintenance.capacity_report:
    source: prometheus
    prometheus_url: https://prometheus.example.com
    prometheus_bearer_token: "{{ vault_prometheus_token }}"
    prometheus_selector: instance="{{ inventory_hostname }}:9100"
    prometheus_postgres_selector: instance="{{ inventory_hostname }}:9187"
    prometheus_mountpoint: /var/lib/postgresql
    host: "{{ inventory_hostname }}"
    days: 30
    json: /var/lib/jarvis/reports/capacity-30d-{{ inventory_hostname }}.json

- name: Write today's metrics document from what was measured
  jarvis.maintenance.capacity_report:
    metrics_dir: /var/lib/jarvis/metrics
    host: "{{ inventory_hostname }}"
    measured:
      host_resources: "{{ host_measured }}"
      pg_maintenance: "{{ pg_measured }}"
    unavailable:
      redis: Cannot connect to Redis
"""

RETURN = r"""
window:
  description: The window analysed - C(start), C(end), C(days).
  returned: without O(measured)
  type: dict
hosts:
  description:
    - Per host, per metric - samples, mean, min, max, p95, last, slope_per_day, intercept, r2, threshold, unit,
      critical, label and forecast (C(days), C(fitted_now), C(reliable)) or null.
  returned: without O(measured)
  type: dict
findings:
  description: Findings with C(check) (capacity, forecast, missing_data), severity, subject, value, threshold, message and recommendation.
  returned: without O(measured)
  type: list
  elements: dict
severity:
  description: The worst severity of the findings.
  returned: without O(measured)
  type: str
skipped_files:
  description: Files not used, each with C(file) and C(reason) (C(skipped) in the JSON report).
  returned: without O(measured)
  type: list
  elements: dict
missing_days:
  description: Per host, the days of the window without a usable document.
  returned: without O(measured)
  type: dict
json_path:
  description: Where the JSON report is (or would be) written.
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
metrics_path:
  description: With O(measured), the path of today's metrics document (written unless it existed and O(overwrite) is false).
  returned: when O(measured) is set
  type: str
document:
  description: With O(measured), the metrics document built from the measurements.
  returned: when O(measured) is set
  type: dict
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._capacity import ARGUMENT_SPEC, CapacityReport


def main() -> None:
    run_module(ARGUMENT_SPEC, CapacityReport)


if __name__ == "__main__":
    main()
