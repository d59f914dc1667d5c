#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: users_audit_info
short_description: Stale users and unused API keys of the Jarvis users file, without printing a key
version_added: 1.0.0
description:
  - Audits the runbook's C(security/users.json) as its monthly security audit did, entry by entry. Its C(users) object
    maps a user name to an object with C(last_login) (ISO 8601 or null) and optionally C(created_at); its C(api_keys)
    object maps an API key to an object with C(user) and C(last_used).
  - A user is C(stale) without a login for O(stale_days) or more, C(never) when it never logged in, C(new) when it never
    logged in but its optional C(created_at) is younger than O(stale_days), C(fresh) otherwise.
  - An API key is C(never) (never used), C(stale) (unused for O(api_key_stale_days) or more) or C(used). A key is named by
    its user and a fingerprint (C(sha256:) and 12 hex digits of its hash), never by the key itself.
  - A malformed entry (not an object, a key without its user, a time that is not ISO 8601) is listed in RV(malformed) and
    a warning finding; the other entries are still audited.
  - Only the user name, times and statuses reach the result; no other field of an entry (password hashes, scopes) does.
extends_documentation_fragment: [jarvis.maintenance.attributes, jarvis.maintenance.attributes.READ_ONLY]
options:
  path:
    description: The users file (the runbook's V(/opt/sutazaiapp/security/users.json)).
    type: path
    required: true
  stale_days:
    description: Days without a login from which a user is stale (the runbook's 90).
    type: int
    default: 90
  api_key_stale_days:
    description: Days without use from which an API key that was used once is stale.
    type: int
    default: 90
  missing_ok:
    description: Return an empty audit (RV(exists) false) instead of failing when O(path) does not exist.
    type: bool
    default: false
seealso:
  - module: jarvis.maintenance.log_analysis_info
    description: The other half of the security audit (the security_audit role) - failed logins and suspicious log entries.
"""

EXAMPLES = r"""
- name: Monthly audit of users and API keys
  jarvis.maintenance.users_audit_info:
    path: /opt/sutazaiapp/security/users.json
    stale_days: 90
  register: users

- name: Name the stale users
  ansible.builtin.debug:
    msg: "{{ users.users | selectattr('status', 'equalto', 'stale') | map(attribute='name') | list }}"
"""

RETURN = r"""
exists:
  description: Whether the file exists (false only with O(missing_ok)).
  returned: always
  type: bool
users:
  description: Each user's C(name), C(last_login), C(days_since_login) and C(status) (fresh, stale, never or new).
  returned: always
  type: list
  elements: dict
api_keys:
  description: Each key's C(fingerprint), C(user), C(last_used), C(days_since_use) and C(status) (used, stale or never).
  returned: always
  type: list
  elements: dict
malformed:
  description: The entries that could not be judged, each with C(entry) (where it is) and C(problem).
  returned: always
  type: list
  elements: dict
counts:
  description: Numbers of users, stale users, users who never logged in, keys, unused keys and malformed entries.
  returned: always
  type: dict
findings:
  description: One finding per category - C(stale_users), C(never_logged_in), C(unused_api_keys), C(malformed_entries) - a
    warning when it has entries.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._users_audit import ARGUMENT_SPEC, UsersAudit


def main() -> None:
    run_module(ARGUMENT_SPEC, UsersAudit)


if __name__ == "__main__":
    main()
