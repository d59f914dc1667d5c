# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The ``thresholds`` option of a module that judges values against a table of
    # Threshold(warning, critical) (module_utils/_common/_thresholds.py). The module documents
    # the sub-options, ``<name>_warning`` and ``<name>_critical`` with the table's defaults,
    # one line each: the warning describes the value, the critical points to it.
    DOCUMENTATION = r"""
options:
  thresholds:
    description:
      - Levels at which findings become warnings or critical, as C(<name>_warning) and C(<name>_critical) pairs (and,
        where a sub-option says so, single limits). A value at or above a level has that severity.
      - A level left out keeps its default. A level whose default is null is not judged until it is set, and either
        level of such a pair may be set to null. Each warning level must not be above its critical level, and none
        may be negative.
    type: dict
    default: {}
"""
