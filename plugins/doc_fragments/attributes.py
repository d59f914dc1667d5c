# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The attributes every module of this collection declares. Modules add
    # `support:` and `details:` for each in their own DOCUMENTATION.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return what it would do (C(planned)) without changing anything.
  diff_mode:
    description: Returns C(diff) with before and after where a file or setting would change.
  idempotent:
    description:
      - When run twice in a row outside check mode with the same arguments, the second run reports no change.
"""

    # For modules that only observe: use together with the standard fragment.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This module only observes; it runs the same checks in check mode.
  diff_mode:
    support: N/A
    details:
      - This module changes nothing.
  idempotent:
    support: full
    details:
      - This module changes nothing.
"""

    ACTIONGROUP_POSTGRES = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/jarvis.maintenance.postgres) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - jarvis.maintenance.postgres
"""

    ACTIONGROUP_REDIS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/jarvis.maintenance.redis) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - jarvis.maintenance.redis
"""
