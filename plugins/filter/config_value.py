# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one allow-list for values written into configuration, for roles (module_utils/_common/_config_values.py)."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._config_values import (
    GRAMMARS,
    ConfigValueError,
    config_value,
)


def config_value_filter(value: Any, name: str, grammar: str, where: str = "the configuration") -> str:
    if grammar not in GRAMMARS:
        raise AnsibleFilterError(f"config_value: grammar must be one of {', '.join(sorted(GRAMMARS))}, got {grammar!r}")
    try:
        return config_value(value, name, grammar, where)
    except ConfigValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"config_value": config_value_filter}
