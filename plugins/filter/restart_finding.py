# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The service_restart finding of a restart of app services and its health wait (module_utils/_host/_restart)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._host._restart import (
    restart_finding as _restart_finding,
)


def restart_finding(outcome: Any) -> dict[str, Any]:
    """The finding (a dict) of the outcome of the services role's restart entry point."""
    if not isinstance(outcome, Mapping):
        raise AnsibleFilterError(f"restart_finding: expected a dict, got {type(outcome).__name__}")
    try:
        return _restart_finding(outcome).as_dict()
    except ValueError as exc:
        raise AnsibleFilterError(f"restart_finding: {exc}") from None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"restart_finding": restart_finding}
