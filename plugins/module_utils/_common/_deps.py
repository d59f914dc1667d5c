# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Guarded imports of the Python libraries the modules need on the managed host."""

from __future__ import annotations

import importlib
import traceback
from types import ModuleType

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError


def import_optional(name: str) -> tuple[ModuleType | None, str | None]:
    """Import a library; return (module, None) or (None, traceback text)."""
    try:
        return importlib.import_module(name), None
    except ImportError:
        return None, traceback.format_exc()


def need(name: str, package: str | None = None) -> ModuleType:
    """Return the imported library or raise ModuleError naming the package to install."""
    lib, error = import_optional(name)
    if lib is None:
        raise ModuleError(missing_required_lib(package or name), exception=error)
    return lib
