#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: http_check_info
short_description: Probe an HTTP health endpoint and judge its status and response time
version_added: 1.0.0
description:
  - Sends one C(GET), C(HEAD) or C(POST) request, measures the response time in milliseconds, parses a JSON body,
    and returns findings for availability (status code), response time and, with O(require_json_keys), content.
  - Unlike M(ansible.builtin.uri), a refused connection or an unexpected status is a finding, not a task
    failure, and the response time has millisecond resolution. Roles decide what a finding means.
  - When the body is a health document with a C(checks) dictionary (as the Jarvis backend's C(/health)),
    the failing checks are named in the message.
extends_documentation_fragment: [jarvis.maintenance.attributes, jarvis.maintenance.attributes.READ_ONLY, jarvis.maintenance.thresholds]
options:
  url:
    description:
      - The http:// or https:// URL to request.
      - Credentials in it (V(https://user:PASSWORD@host/)) are sent as basic authentication but never returned - the
        result and the findings show the URL as V(https://user:<redacted>@host/), and the password is removed from
        everything the module returns. Messages, the error and the body text are redacted the same way
        (P(jarvis.maintenance.redact#filter)).
    type: str
    required: true
  name:
    description:
      - What the URL belongs to, used in findings (for example V(backend)).
      - Defaults to the URL's host and port.
    type: str
  method:
    description:
      - The request method.
      - V(POST) (with O(json_body), for a functional test such as the backend's C(/simple-chat)) is not sent in check
        mode, since it may change something; the result then has RV(sent=false) and no finding.
    type: str
    default: GET
    choices: [GET, HEAD, POST]
  json_body:
    description: A body sent as JSON with V(POST).
    type: raw
  require_json_keys:
    description:
      - Keys the answer's JSON object must have, each not empty - a C(content) finding, critical when one lacks.
      - Checked only when the status is one of O(status_codes).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the answer (above 0, at most V(86400)); a probe that times out is a V(critical) finding.
    type: float
    default: 10
  status_codes:
    description: Status codes that mean healthy. Redirects are not followed.
    type: list
    elements: int
    default: [200]
  thresholds:
    suboptions:
      response_time_ms_warning: {type: float, default: 500, description: "Response time, in milliseconds, at or above which the response time finding
          is a V(warning)."}
      response_time_ms_critical: {type: float, default: 2000, description: "Response time, in milliseconds, at or above which the response time
          finding is V(critical)."}
  validate_certs:
    description: Verify the server's TLS certificate for https URLs.
    type: bool
    default: true
seealso:
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Probe the backend's health endpoint
  jarvis.maintenance.http_check_info:
    url: http://127.0.0.1:10010/health
    name: backend
    thresholds:
      response_time_ms_warning: 300
  register: backend

- name: Show why the backend is unhealthy
  ansible.builtin.debug:
    msg: "{{ backend.findings | rejectattr('severity', 'equalto', 'ok') | map(attribute='message') }}"
"""

RETURN = r"""
sent:
  description: Whether the request was sent (a V(POST) is not, in check mode).
  returned: always
  type: bool
url:
  description: The URL requested.
  returned: always
  type: str
  sample: http://127.0.0.1:10010/health
status:
  description: The HTTP status, or V(null) when nothing answered.
  returned: always
  type: int
  sample: 503
error:
  description: Why the request failed (connection refused, timeout, HTTP error), else V(null).
  returned: always
  type: str
  sample: "[Errno 111] Connection refused"
elapsed_ms:
  description: Milliseconds from sending the request to reading the body (at most 64 KiB).
  returned: always
  type: float
  sample: 4.2
json:
  description: The body parsed as JSON, or V(null) when it is not JSON.
  returned: always
  type: raw
  sample: {status: unhealthy, checks: {database: {status: up}, redis: {status: down, error: Connection refused}}}
content:
  description: The body as text (at most 64 KiB) when it is not JSON, else an empty string.
  returned: always
  type: str
  sample: ""
findings:
  description:
    - An C(availability) finding and, when the server answered, a C(response_time) finding.
    - Each has C(check), C(severity), C(subject), C(value), C(threshold), C(message) and C(recommendation).
  returned: always
  type: list
  elements: dict
  sample:
    - check: availability
      severity: critical
      subject: backend
      value: 503
      threshold: [200]
      message: >-
        backend answered 503 at http://127.0.0.1:10010/health, expected [200]
        (redis: down (Connection refused))
      recommendation: Read the backend logs and fix what its health check reports.
severity:
  description: The worst severity among the findings.
  returned: always
  type: str
  sample: critical
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._web._http import ARGUMENT_SPEC, HttpCheck


def main() -> None:
    run_module(ARGUMENT_SPEC, HttpCheck)


if __name__ == "__main__":
    main()
