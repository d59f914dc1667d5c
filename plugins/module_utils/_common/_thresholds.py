# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one threshold shape of every module: ``{name: Threshold(warning, critical, unit)}``.

A module's table of thresholds gives its ``thresholds`` option (sub-options
``<name>_warning`` and ``<name>_critical`` with the table's defaults), is validated here
and nowhere else, and judges a measured value into a Finding.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    Finding,
    threshold_finding,
    validate_thresholds,
)


class Threshold(NamedTuple):
    """Default warning and critical levels of one measured value.

    higher_is_worse is False for values where less is worse (free space, days left, hit ratio).
    A level of None is not judged by default; the caller may set it, and may set either level of
    such a threshold to null (not judged).
    """

    warning: float | None
    critical: float | None
    unit: str = ""
    higher_is_worse: bool = True


Table = Mapping[str, Threshold]


def argument_spec(table: Table) -> dict[str, Any]:
    """Sub-options of a ``thresholds`` option: ``<name>_warning`` and ``<name>_critical``."""
    options: dict[str, Any] = {}
    for name, threshold in table.items():
        options[f"{name}_warning"] = {"type": "float", "default": threshold.warning}
        options[f"{name}_critical"] = {"type": "float", "default": threshold.critical}
    return options


def option(table: Table) -> dict[str, Any]:
    """The whole ``thresholds`` option of a module."""
    return {"type": "dict", "default": {}, "options": argument_spec(table)}


def problem(table: Table, values: Mapping[str, Any], prefix: str = "thresholds") -> str | None:
    """Why the values given for a table are unusable (naming the sub-options), or None."""
    for name, threshold in table.items():
        warning, critical = values[f"{name}_warning"], values[f"{name}_critical"]
        nullable = threshold.warning is None or threshold.critical is None
        why = validate_thresholds(warning, critical, threshold.higher_is_worse, (nullable, nullable))
        if why:
            return f"{prefix}.{name}_warning/{name}_critical: {why}"
    return None


def validate(table: Table, values: Mapping[str, Any], what: str, prefix: str = "thresholds") -> None:
    """Raise ModuleError("Cannot <what>: thresholds.x_warning/x_critical: ...") for unusable values."""
    raise_problem(f"Cannot {what}", problem(table, values, prefix))


def levels(values: Mapping[str, Any], name: str) -> tuple[float | None, float | None]:
    """The (warning, critical) pair the caller set for one threshold."""
    return values[f"{name}_warning"], values[f"{name}_critical"]


def judge(
    table: Table,
    values: Mapping[str, Any],
    name: str,
    subject: str,
    value: float,
    check: str | None = None,
    recommendation: str = "",
    label: str | None = None,
) -> Finding:
    """A Finding for value against the named threshold, with the table's unit and direction."""
    threshold = table[name]
    warning, critical = levels(values, name)
    return threshold_finding(
        check or name,
        subject,
        value,
        warning,
        critical,
        unit=threshold.unit,
        higher_is_worse=threshold.higher_is_worse,
        recommendation=recommendation,
        label=label,
    )
