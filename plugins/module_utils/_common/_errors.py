# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one error type a backend raises."""

from __future__ import annotations

from typing import Any


class ModuleError(Exception):
    """Why a module cannot do its work: "Cannot <verb> <object>: <cause>".

    result holds extra keys for the failed task's result (findings gathered so far,
    the plan, the stage that failed); the runner passes them to fail_json with the message.
    """

    def __init__(self, msg: str, **result: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result = result


def raise_problem(cannot: str, problem: str | None) -> None:
    """Raise ModuleError("<cannot>: <problem>") when a check found a problem; do nothing for None."""
    if problem:
        raise ModuleError(f"{cannot}: {problem}")
