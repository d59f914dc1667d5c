#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: log_analysis_info
short_description: Count and group the error lines of logs over a time window, with secrets redacted
version_added: 1.0.0
description:
  - Replaces the runbook's weekly C(docker logs --since=168h | grep -i error | head -20) and its daily
    C(grep -c "authentication.*failed" security*.log).
  - Reads each source - log files (compressed C(.gz) ones too) or a container's C(docker logs --since) - keeps the
    lines of the last O(since_days), and counts those matching each pattern, grouped by normalised message (times,
    ids, addresses, numbers and quoted values replaced) with the count, the first and last time seen and one sample
    line.
  - A line's time is read from its start (ISO 8601 as written by PostgreSQL, Python and docker, or syslog's
    C(Nov 29 01:55:52)); a time without a zone is taken as UTC. A line without a time (a traceback's) has the time of
    the line before it; lines of a file before its first dated line have the file's modification time. A file last
    written before the window is not read.
  - Each matching line is redacted before it is grouped, with the collection's one redaction function (also the
    P(jarvis.maintenance.redact#filter) filter) - URL passwords (V(redis://:PASSWORD@host) too), values of
    secret-looking keys (V(password=), V(pass=), V(pw=), V(passphrase:), V(token=), V(api_key:), V(secret=), ...),
    Redis V(requirepass), V(masterauth) and V(AUTH), V(--password) flags, SQL V(PASSWORD 'x'), C(Bearer) and
    C(Basic) credentials, AWS access key ids and secret keys, JSON web tokens and long random tokens are replaced by
    C(<redacted>) in messages, samples and findings, before they reach the result.
  - Returns a finding per source and pattern - warning or critical when the count is at or above the thresholds.
extends_documentation_fragment: [jarvis.maintenance.attributes, jarvis.maintenance.attributes.READ_ONLY, jarvis.maintenance.thresholds]
options:
  sources:
    description: The logs to read. Each has a unique O(sources[].name) and either O(sources[].paths) or O(sources[].container).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The source's name in the result and the findings, for example V(backend).
        type: str
        required: true
      paths:
        description:
          - Absolute paths or glob patterns of its files, for example V(/opt/sutazaiapp/logs/backend*.log*).
          - Each file is opened without following a symlink and without blocking; a symlink, a FIFO or a device among
            the matches is not read and is reported as a problem of the source (log directories are written by the
            application, and a link there could otherwise make root read any file into the results and reports).
        type: list
        elements: str
        default: []
      container:
        description: A docker container whose C(docker logs --timestamps --since) is read instead of files.
        type: str
      patterns:
        description: Patterns for this source instead of O(patterns).
        type: dict
      exclude:
        description: Regular expressions of lines never counted for this source, added to O(exclude).
        type: list
        elements: str
        default: []
      thresholds:
        description: O(thresholds) for this source; a level left out is the module's.
        type: dict
        suboptions:
          count_warning:
            description: O(thresholds.count_warning) for this source.
            type: float
          count_critical:
            description: O(thresholds.count_critical) for this source.
            type: float
      required:
        description: Report a warning finding when no file of O(sources[].paths) was written in the window.
        type: bool
        default: false
  patterns:
    description:
      - The lines to count, as a mapping of a name to a Python regular expression (searched anywhere in the line);
        a line is counted once under each pattern it matches.
      - The default counts C(error), C(fatal), C(panic), C(critical) and C(traceback) as words, in any case.
    type: dict
    default: {"error": "(?i)\\b(?:error|fatal|panic|critical|traceback)\\b"}
  thresholds:
    suboptions:
      count_warning: {type: float, default: 10, description: "A pattern's count of lines in a source from which the finding is a warning."}
      count_critical: {type: float, default: 100, description: "A pattern's count of lines in a source from which the finding is critical."}
  exclude:
    description: Regular expressions of lines never counted (known noise).
    type: list
    elements: str
    default: []
  since_days:
    description: The window, in days back from now (the runbook's C(--since=168h) is V(7)); above 0, at most V(3660).
    type: float
    default: 7
  max_groups:
    description: The most frequent groups returned per source (C(groups_total) counts them all).
    type: int
    default: 20
  redact_patterns:
    description: More regular expressions whose matches are replaced by C(<redacted>) in messages and samples.
    type: list
    elements: str
    default: []
  docker_path:
    description: The docker client for container sources; by default the one on PATH.
    type: path
seealso:
  - module: jarvis.maintenance.log_cleanup
"""

EXAMPLES = r"""
- name: The weekly error report of the backend and PostgreSQL (files)
  jarvis.maintenance.log_analysis_info:
    sources:
      - name: backend
        paths: [/opt/sutazaiapp/logs/backend*.log*]
      - name: postgresql
        paths: [/var/log/postgresql/postgresql-*.log*]
        patterns: {error: "\\b(?:ERROR|FATAL|PANIC):"}
    since_days: 7
  register: errors

- name: The same from the runbook's containers
  jarvis.maintenance.log_analysis_info:
    sources:
      - name: backend
        container: sutazai-backend
      - name: postgresql
        container: sutazai-postgres

- name: Failed logins and suspicious entries of the security logs (the runbook's daily check)
  jarvis.maintenance.log_analysis_info:
    sources:
      - name: security
        paths: [/opt/sutazaiapp/logs/security*.log]
    patterns:
      failed_login: "authentication.*failed"
      suspicious: "SUSPICIOUS|HIGH|CRITICAL"
    since_days: 1
"""

RETURN = r"""
since:
  description: Start of the window (UTC, ISO 8601).
  returned: always
  type: str
until:
  description: End of the window, the time of the run.
  returned: always
  type: str
sources:
  description:
    - Per source - C(name), C(read) (files with C(path), C(size), C(lines), or the C(container)), C(lines),
      C(lines_in_window), C(counts) (per pattern), C(matches), C(groups_total), C(problems), C(severity) and
      C(groups).
    - Each group has C(pattern), C(message) (normalised, redacted), C(count), C(first_seen), C(last_seen) and a redacted
      C(sample) line, most frequent first.
  returned: always
  type: list
  elements: dict
matches:
  description: Matching lines over all sources and patterns.
  returned: always
  type: int
findings:
  description: One C(log_matches) finding per source and pattern, and C(log_source) warnings for unreadable sources.
  returned: always
  type: list
  elements: dict
severity:
  description: The worst severity of the findings.
  returned: always
  type: str
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._logs._analysis import ARGUMENT_SPEC, LogAnalysis


def main() -> None:
    run_module(ARGUMENT_SPEC, LogAnalysis)


if __name__ == "__main__":
    main()
