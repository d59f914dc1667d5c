# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The author and the attributes every module of this collection declares; every module supports
    # check mode. Modules add `support:` and `details:` for the others in their own DOCUMENTATION.
    DOCUMENTATION = r"""
author:
  - Jarvis Operations (@jarvis-ops)
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return what it would do (C(planned)) without changing anything.
    support: full
  diff_mode:
    description: Returns C(diff) with before and after where a file or setting would change.
  idempotent:
    description:
      - When run twice in a row outside check mode with the same arguments, the second run reports no change.
  platform:
    description: Target OS families the module can run on.
    support: full
    platforms: posix
    details:
      - Linux hosts (tested on Debian 12); the module runs where its service or files are, or where the client
        reaches it.
"""

    # For modules that only observe: use together with the standard fragment.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
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
