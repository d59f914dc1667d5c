#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: maintenance_mode
short_description: Turn the Jarvis maintenance page on or off in nginx, checked before every reload
version_added: 1.0.0
description:
  - Replaces the runbook's C(maintenance_mode.sh), which swapped the nginx site and reloaded without checking
    (C(nginx -t && nginx -s reload || true)) and wrote a marker holding only a date.
  - V(enabled) writes three files, each atomically - a JSON marker (reason, since, ends_at, by), the maintenance
    page, and an nginx snippet. The snippet makes nginx answer every request with B(503), a C(Retry-After) of the
    window's end (an HTTP date, right for the whole window) and the page, with C(Cache-Control no-store); the
    health path answers O(health_status) with C({"status":"maintenance",...}); addresses in O(allow_ips) and
    requests carrying O(bypass_token) (header O(bypass_header) or cookie O(bypass_cookie)) reach the application.
  - The site's C(server) block must include the snippet with a pattern, so that removing it is valid nginx, for
    example C(include /etc/nginx/snippets/jarvis-maintenance*.conf;) for the default O(nginx_snippet).
  - C(nginx -t) runs before every reload. When it fails, the previous snippet, marker and page are put back, nginx
    is not reloaded, and the module fails with nginx's message. The nginx binary is looked up before anything
    changes.
  - Every value written into the snippet (addresses and networks of O(allow_ips), O(page_dir), O(health_path),
    O(health_status), O(bypass_token), O(bypass_header), O(bypass_cookie), the C(Retry-After) date, the health body)
    passes one allow-list of the characters its place in nginx's grammar can hold; none may hold C(\), C($), C(;),
    C(%), a newline or a character outside ASCII, and only quoted text may hold spaces. A value outside it is refused
    with a message naming the option, before anything is written. The rendered snippet is then parsed back and must
    give exactly the directives of its template with each value in its place (a value that O(snippet_template)
    leaves unquoted and that splits into several words is refused too).
  - Writes and rollbacks keep each existing file's owner, group and mode. A new marker and snippet are 0600 and a new
    page 0644, owned by the user running the module; a new O(page_dir) is 0755. A symbolic link at the place of one
    of the files is neither read nor written through - it is replaced by the file (and put back on a rollback).
    When the owner of an existing file cannot be kept (the module does not run as root nor as its owner), the module
    fails without replacing it.
  - V(disabled) removes the snippet, checks and reloads nginx, then removes the marker and the page.
  - V(status) reports C(enabled), C(since), C(ends_at), C(retry_after) and whether the marker and the snippet agree,
    without changing anything.
  - Stopping and starting the application is not this module's job - the maintenance_window role does it through
    the services role.
extends_documentation_fragment: [jarvis.maintenance.attributes]
attributes:
  check_mode:
    details:
      - Computes the files and returns C(changed) and the diff; writes nothing and does not reload nginx.
  diff_mode:
    support: full
    details:
      - Shows the marker and the snippet, the bypass token masked.
  idempotent:
    support: full
    details:
      - A second V(enabled) run with the same options changes nothing and does not reload nginx. C(since) is
        kept from the marker, and O(duration) counts from it.
options:
  state:
    description:
      - V(enabled) turns maintenance mode on (or updates it), V(disabled) turns it off, V(status) only reports.
    type: str
    choices: [enabled, disabled, status]
    default: status
  root:
    description: The application's directory; the marker and page go under it unless O(marker) / O(page_dir) say otherwise.
    type: path
    default: /opt/sutazaiapp
  marker:
    description: The JSON marker file. Default C(<root>/.maintenance_mode), the runbook's path.
    type: path
  page_dir:
    description:
      - Directory of the page C(maintenance.html) nginx serves. Default C(<root>/maintenance).
      - It goes into the snippet (C(root)), so it may hold only letters, digits and C(. _ ~ / -).
    type: path
  reason:
    description: Why, shown on the page and kept in the marker.
    type: str
    default: Scheduled maintenance
  ends_at:
    description:
      - When the window is expected to end, ISO 8601 (V(2026-11-29T02:00:00Z)); UTC when it has no offset.
      - Sets C(Retry-After). Mutually exclusive with O(duration).
    type: str
  duration:
    description:
      - How long the window lasts from C(since) (V(90m), V(2h), V(1h30m), or seconds). Mutually exclusive with O(ends_at).
      - Without O(ends_at) and O(duration) the end is "not announced" and C(Retry-After) is 300 seconds.
    type: str
  by:
    description: Who turned it on, kept in the marker. Default the marker's, else E(SUDO_USER) or the login user.
    type: str
  contact:
    description: A contact shown on the page (the runbook's V(ops-team@company.com)).
    type: str
  system:
    description: The system's name on the page.
    type: str
    default: Jarvis
  page_template:
    description:
      - A page template file on the managed host instead of the built-in accessible page, with C(${reason}),
        C(${since}), C(${ends_at}), C(${end_sentence}), C(${contact}), C(${contact_sentence}) and C(${system})
        (HTML-escaped; C($$) for a dollar sign). An unknown placeholder fails before anything changes.
    type: path
  snippet_template:
    description:
      - An nginx snippet template file instead of the built-in one, for sites that need more. Placeholders - C(${pass_rules}),
        C(${health_path}), C(${health_status}), C(${health_body}), C(${retry_after}), C(${page_dir}), C(${page_file}),
        C(${bypass_variable}), C(${since}), C(${ends_at}); C($$) for nginx's C($). It is checked with C(nginx -t) like the
        built-in one.
    type: path
  nginx_snippet:
    description: Where the snippet is written (the site includes it with a pattern).
    type: path
    default: /etc/nginx/snippets/jarvis-maintenance.conf
  nginx_binary:
    description: The nginx program (a name on E(PATH) or a path).
    type: str
    default: nginx
  nginx_conf:
    description: nginx's main configuration file, passed as C(-c) to C(nginx -t) and C(nginx -s reload).
    type: path
  reload:
    description: Check and reload nginx after a change. V(false) only writes the files.
    type: bool
    default: true
  allow_ips:
    description:
      - Addresses and IPv4 networks (CIDR) whose requests reach the application during maintenance (the ops team, a
        monitoring probe). IPv6 is supported as single addresses.
      - An IPv6 address with a zone id (V(fe80::1%eth0)) is refused - nginx's C($remote_addr) never carries one, and
        the text after C(%) would go into the nginx snippet.
    type: list
    elements: str
    default: []
  bypass_token:
    description:
      - A secret that lets a request through when sent in O(bypass_header) or the cookie O(bypass_cookie) - for
        testing the application before the window ends. 16 to 256 characters of C(A-Z a-z 0-9 . _ ~ + / = -).
      - It is stored only in the snippet (mode 0600), never in the marker, the result or the diff.
    type: str
  bypass_header:
    description: The request header carrying O(bypass_token) (a name, not a secret).
    type: str
    default: X-Maintenance-Bypass
  bypass_cookie:
    description: The cookie carrying O(bypass_token).
    type: str
    default: jarvis_maintenance_bypass
  health_path:
    description: The health check path answered by nginx itself during maintenance.
    type: str
    default: /health
  health_status:
    description:
      - What the health path answers during maintenance - V(200) keeps the host in its load balancer (the runbook's
        behaviour), V(503) takes it out. The body is C({"status":"maintenance","since":...,"ends_at":...}).
    type: int
    choices: [200, 503]
    default: 200
notes:
  - Run it on the nginx host (the C(jarvis_lb) group) with the rights to write the snippet and reload nginx.
seealso:
  - module: jarvis.maintenance.http_check_info
"""

EXAMPLES = r"""
- name: Start a two-hour window; the ops network and the bypass token still reach the app
  jarvis.maintenance.maintenance_mode:
    state: enabled
    reason: Database upgrade to PostgreSQL 15.8
    duration: 2h
    contact: ops-team@company.com
    allow_ips: [10.20.0.0/16, 192.0.2.10]
    bypass_token: "{{ vault_maintenance_bypass_token }}"

- name: Is maintenance mode on?
  jarvis.maintenance.maintenance_mode:
    state: status
  register: maintenance

- name: End the window
  jarvis.maintenance.maintenance_mode:
    state: disabled
"""

RETURN = r"""
enabled:
  description: Whether maintenance mode is on (after the run; for V(status), whether the marker exists).
  returned: always
  type: bool
since:
  description: When maintenance mode was turned on (UTC, ISO 8601).
  returned: when enabled
  type: str
  sample: "2026-11-28T22:00:00Z"
ends_at:
  description: The announced end (UTC), or null.
  returned: when enabled
  type: str
retry_after:
  description: Seconds until O(ends_at) (0 when past; 300 without an end).
  returned: when enabled
  type: int
reason:
  description: The reason in the marker.
  returned: when enabled
  type: str
by:
  description: Who turned it on.
  returned: when enabled
  type: str
reloaded:
  description: Whether nginx was checked and reloaded by this run.
  returned: state is enabled or disabled
  type: bool
snippet_present:
  description: Whether the nginx snippet exists.
  returned: state is status
  type: bool
consistent:
  description: Whether the marker and the snippet agree (both there or both gone).
  returned: state is status
  type: bool
overdue:
  description: Whether the announced end has passed while maintenance mode is still on.
  returned: state is status
  type: bool
problems:
  description:
    - What looks wrong (marker and snippet disagree, the window is overdue, an unreadable marker); each is also
      shown as a warning.
  returned: state is status
  type: list
  elements: str
marker:
  description: Path of the marker.
  returned: always
  type: str
page:
  description: Path of the page.
  returned: always
  type: str
snippet:
  description: Path of the nginx snippet.
  returned: always
  type: str
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._web._maintenance_mode import (
    ARGUMENT_SPEC,
    MaintenanceMode,
)


def main() -> None:
    run_module(ARGUMENT_SPEC, MaintenanceMode, mutually_exclusive=[("ends_at", "duration")])


if __name__ == "__main__":
    main()
