# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The reports on the daily metrics that can read them from Prometheus instead of the files
    # (capacity_report, threshold_review; module_utils/_reports/_prometheus.py).
    DOCUMENTATION = r"""
options:
  source:
    description:
      - Where the days' metrics come from.
      - V(files) reads the daily metrics documents under O(metrics_dir) (what the capacity_planning role writes).
      - V(prometheus) reads them from the Prometheus server at O(prometheus_url) - node_exporter for memory
        (C(node_memory_MemAvailable_bytes) of C(node_memory_MemTotal_bytes)), the data filesystem
        (C(node_filesystem_avail_bytes), C(node_filesystem_free_bytes) and C(node_filesystem_size_bytes) at
        O(prometheus_mountpoint), used over used plus available as C(df)) and the load (C(node_load5) over the count
        of C(node_cpu_seconds_total{mode="idle"})); postgres_exporter for the connections (the sum of
        C(pg_stat_activity_count) of C(pg_settings_max_connections); it counts the exporter's own connection and every
        backend with a database where the files count the client backends, so it can read a connection or two higher)
        and the databases' sizes (C(pg_database_size_bytes)); redis_exporter for C(redis_memory_used_bytes) of
        C(redis_memory_max_bytes) and C(redis_connected_clients). The backend's response time has no exporter and is
        missing.
      - With V(prometheus), range queries over the window take one point a day at O(prometheus_sample_time), and each
        day's values become the document the daily run would have written (the same formulas and rounding), so the
        statistics, trends, forecasts and findings are computed by the same code as with V(files). A metric an exporter
        does not have is missing for that day, as a null in a file; a day without any value is a missing day.
    type: str
    choices: [files, prometheus]
    default: files
  prometheus_url:
    description:
      - The Prometheus server's base URL, like C(http://prometheus:9090) (required with O(source=prometheus)). Read
        through C(/api/v1/query_range).
      - A password written in it (C(https://user:password@host)) is kept out of the output and the reports.
    type: str
  prometheus_username:
    description: The user of HTTP basic authentication to Prometheus, with O(prometheus_password).
    type: str
  prometheus_password:
    description: The password of O(prometheus_username). Never in the output or the reports.
    type: str
  prometheus_bearer_token:
    description:
      - A bearer token sent to Prometheus (an C(Authorization) header of type C(Bearer)), instead of
        O(prometheus_username) and O(prometheus_password). Never in the output or the reports.
    type: str
  prometheus_timeout:
    description: Seconds to wait for each answer of Prometheus; above 0 and at most 3600.
    type: float
    default: 30.0
  validate_certs:
    description: Check the TLS certificate of an V(https) O(prometheus_url).
    type: bool
    default: true
  ca_path:
    description: A PEM file of the certificate authorities that sign the certificate of O(prometheus_url).
    type: path
  client_cert:
    description: A PEM certificate that identifies this host to Prometheus (TLS client authentication).
    type: path
  client_key:
    description: The private key of O(client_cert), when the certificate file does not hold it.
    type: path
  prometheus_selector:
    description:
      - The label matchers that pick the host's node_exporter series, like C(instance="db1:9100") or
        C(instance="db1:9100", job="node") - label, C(=), C(!=), C(=~) or C(!~), a double-quoted value, separated by
        commas, braces optional. Nothing else of PromQL is accepted, and not C(__name__).
      - Default C(instance=~"<host>(:[0-9]+)?"), O(host) with any port.
      - Exactly one series must answer each query; a selector that picks two hosts is an error.
    type: str
  prometheus_postgres_selector:
    description:
      - The label matchers of the host's postgres_exporter series (same form as O(prometheus_selector)), when they
        differ from the node_exporter's, like C(instance="db1:9187") or C(job="postgres", server="db1:5432").
      - Default O(prometheus_selector).
    type: str
  prometheus_redis_selector:
    description:
      - The label matchers of the host's redis_exporter series (same form as O(prometheus_selector)), like
        C(instance="cache1:9121").
      - Default O(prometheus_selector).
    type: str
  prometheus_mountpoint:
    description: The data filesystem's mount point, as node_exporter's C(mountpoint) label shows it.
    type: str
    default: /
  prometheus_sample_time:
    description:
      - The time of day, C(HH:MM) UTC, of the one point a day taken from Prometheus - when the daily run writes its
        document, to compare with the files. The last day has no point before that time.
    type: str
    default: "02:00"
"""
