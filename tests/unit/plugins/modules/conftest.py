# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a module of the collection in-process, the way ansible-core's own unit tests do."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
from typing import Any, Callable

import pytest
from ansible.module_utils import basic

try:  # ansible-core 2.19+
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # older ansible-core: the arguments are read from basic._ANSIBLE_ARGS
    from unittest import mock

    @contextlib.contextmanager
    def patch_module_args(args: dict[str, Any] | None = None):  # type: ignore[no-redef]
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()):
            yield


PREFIX = "ansible_collections.jarvis.maintenance.plugins.modules."


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def run_module(name: str, args: dict[str, Any], check_mode: bool = False) -> tuple[Any, str, dict[str, Any]]:
    """Run module `name` with `args`; return (exit code, stdout, result parsed as strict JSON).

    An exception the module did not turn into a result propagates to the caller. The result is
    parsed without NaN / Infinity (not JSON; the controller cannot read them either)."""
    module = importlib.import_module(PREFIX + name)
    stdout = io.StringIO()
    code: Any = "returned without exit_json or fail_json"
    with patch_module_args({**args, "_ansible_check_mode": check_mode}), contextlib.redirect_stdout(stdout):
        try:
            module.main()
        except SystemExit as exc:
            code = exc.code
    text = stdout.getvalue()
    result = json.loads(text, parse_constant=_no_constant) if text.strip() else {}
    return code, text, result


@pytest.fixture(scope="session")
def module_runner() -> Callable[..., tuple[Any, str, dict[str, Any]]]:
    return run_module
