# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one "at or above a severity" test of the roles: the modules' _findings.at_least."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import at_least as _at_least
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import severity_rank

# the roles' "send/keep nothing" word beside the three severities
NONE = "none"


def at_least(value: Any, minimum: str) -> Any:
    """Findings (dicts with `severity`) at or above minimum, in order; for one severity, whether it is.

    minimum `none` selects nothing (False for one severity).
    """
    if minimum != NONE:
        try:
            severity_rank(minimum)
        except ValueError as exc:
            raise AnsibleFilterError(f"at_least: minimum {exc}, or none") from None
    if isinstance(value, str):
        try:
            return minimum != NONE and _at_least(value, minimum)
        except ValueError as exc:
            raise AnsibleFilterError(f"at_least: {exc}") from None
    if isinstance(value, dict) or not hasattr(value, "__iter__"):
        raise AnsibleFilterError(f"at_least: expected a list of findings or a severity, got {type(value).__name__}")
    if minimum == NONE:
        return []
    selected = []
    for finding in value:
        if not isinstance(finding, dict) or "severity" not in finding:
            raise AnsibleFilterError(f"at_least: expected findings (dicts with a severity), got {finding!r}")
        try:
            if _at_least(finding["severity"], minimum):
                selected.append(finding)
        except ValueError as exc:
            raise AnsibleFilterError(f"at_least: {exc}") from None
    return selected


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"at_least": at_least}
