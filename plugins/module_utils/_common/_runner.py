# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The backend contract: one runner for every module.

A module file is its documentation plus::

    def main() -> None:
        run_module(ARGUMENT_SPEC, Backend)

A backend is a class built as ``Backend(params, check_mode, host)`` whose ``run()``
returns the result dict. It raises ModuleError (never calls fail_json) and reaches the
host only through Host: run a command, find a binary, warn, hide a secret from output.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact

__all__ = ["Backend", "Host", "ModuleError", "run_module"]


class Host:
    """What a backend may ask of the machine it runs on, and nothing more."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.check_mode: bool = module.check_mode
        self.diff: bool = bool(getattr(module, "_diff", False))

    def run_command(self, argv: Sequence[str], **kwargs: Any) -> tuple[int, str, str]:
        """AnsibleModule.run_command: no shell, argv as given (~ and $VARS not expanded)."""
        kwargs.setdefault("expand_user_and_vars", False)
        return self._module.run_command(list(argv), **kwargs)

    def get_bin_path(self, name: str, required: bool = False, opt_dirs: Sequence[str] | None = None) -> str | None:
        """The path of an executable on PATH (and opt_dirs), or None; ModuleError when required."""
        path = self._module.get_bin_path(name, required=False, opt_dirs=list(opt_dirs or []))
        if path is None and required:
            raise ModuleError(f"Cannot find the {name} program on PATH; install it or name it in the module's options")
        return path

    def warn(self, text: str) -> None:
        self._module.warn(redact(text))

    def hide(self, secret: str) -> None:
        """Keep a secret found at run time (a token in a URL) out of every output of the task."""
        if secret:
            self._module.no_log_values.add(secret)


class Backend:
    """Base of every backend: holds params, check mode and the host interface."""

    def __init__(self, params: Mapping[str, Any], check_mode: bool, host: Host) -> None:
        self.params = params
        self.check_mode = check_mode
        self.host = host

    def run(self) -> dict[str, Any]:  # pragma: no cover - every backend defines it
        raise NotImplementedError


def run_module(
    argument_spec: Mapping[str, Any],
    backend: Callable[[Mapping[str, Any], bool, Host], Backend],
    supports_check_mode: bool = True,
    **module_kwargs: Any,
) -> None:
    """Parse the arguments, run the backend, and exit with its result or its error."""
    module = AnsibleModule(argument_spec=dict(argument_spec), supports_check_mode=supports_check_mode, **module_kwargs)
    try:
        result = backend(module.params, module.check_mode, Host(module)).run()
    except ModuleError as exc:
        module.fail_json(msg=redact(exc.msg), **exc.result)
    module.exit_json(**result)
