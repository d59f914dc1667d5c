# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's one redaction function (module_utils/_common/_redact.py) for templates: the notify role's texts."""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact_data


def redact(value: Any, patterns: list[str] | None = None) -> Any:
    """value with every string in it (also inside lists and dicts) redacted; other values as they are."""
    extra = []
    for index, pattern in enumerate(patterns or []):
        try:
            extra.append(re.compile(pattern))
        except (re.error, TypeError) as exc:
            raise AnsibleFilterError(f"redact: patterns[{index}] is not a valid regular expression: {exc}") from None
    return redact_data(value, extra)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"redact": redact}
