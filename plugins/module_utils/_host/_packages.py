# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pending Debian/Ubuntu package updates as data: the backend of the package_updates module.

The runbook ran ``apt list --upgradable | grep -i security | wc -l``, which counts a warning
line and misses updates published in both the stable and the security suite. Here apt-get
simulates the upgrade (``apt-get -s``: nothing is installed, no lock is taken) and each
``Inst`` line of its output is parsed, as apt prints it (pkgSimulate::Describe)::

    Inst <name> [<installed version>] (<candidate version> <origin>[, <origin>...] [<arch>]) [...]

where an origin is ``Label:Version/Suite``, ``Label:Suite``, ``Suite`` or a host name, the
``[<installed version>]`` is missing for a package the upgrade would newly install, and a
trailing ``[...]`` lists packages the step would leave broken. Nothing is ever applied.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    OK,
    WARNING,
    Finding,
    classify,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold

REBOOT_REQUIRED_FILE = "/var/run/reboot-required"
REBOOT_PACKAGES_FILE = "/var/run/reboot-required.pkgs"
MODES = ("dist-upgrade", "upgrade")
# Package names shown in a finding's message before "and N more".
SHOWN_NAMES = 5

_INST = re.compile(
    r"^Inst (?P<name>\S+)"
    r"(?: \[(?P<current>[^\]\s]+)\])?"
    r" \((?P<candidate>[^\s()]+)(?P<release>[^()]*)\)"
    r"(?:\s.*)?$"
)
_ARCH = re.compile(r"\s*\[(?P<arch>[^\]\s]+)\]\s*$")


CANNOT = "Cannot list package updates"

# Documented in the module's thresholds option: pending security updates.
THRESHOLDS = {"security": Threshold(1, 10)}

# The module's options; documented in plugins/modules/package_updates_info.py.
ARGUMENT_SPEC = {
    "mode": {"type": "str", "default": "dist-upgrade", "choices": list(MODES)},
    "update_cache": {"type": "bool", "default": False},
    "thresholds": _thresholds.option(THRESHOLDS),
    "reboot_required_file": {"type": "path", "default": REBOOT_REQUIRED_FILE},
    "reboot_packages_file": {"type": "path", "default": REBOOT_PACKAGES_FILE},
}


def check_params(params: dict[str, Any]) -> str | None:
    """Why these parameters cannot work, or None (pure). Names the parameters."""
    warning = params["thresholds"]["security_warning"]
    if warning < 1:
        return f"thresholds.security_warning must be 1 or more, got {warning:g}"
    return _thresholds.problem(THRESHOLDS, params["thresholds"])


def origin_suite(origin: str) -> str:
    """The suite (archive) part of an origin as apt prints it (pure).

    'Debian-Security:12/stable-security' -> 'stable-security', 'Jarvis:jarvis' -> 'jarvis',
    'jarvis-security' -> 'jarvis-security'.
    """
    if "/" in origin:
        return origin.rsplit("/", 1)[1]
    return origin.split(":", 1)[-1]


def is_security_origin(origin: str) -> bool:
    """Whether an origin's suite is a security suite (bookworm-security, jammy-security,
    jammy-apps-security, ...): its suite contains 'security', in any case (pure)."""
    return "security" in origin_suite(origin).lower()


def parse_inst_line(line: str) -> dict[str, Any] | None:
    """One update from an ``Inst`` line of apt-get -s, or None for any other line (pure)."""
    match = _INST.match(line.strip())
    if not match:
        return None
    release = match.group("release")
    arch = None
    arch_match = _ARCH.search(release)
    if arch_match:
        arch = arch_match.group("arch")
        release = release[: arch_match.start()]
    origins = [origin.strip() for origin in release.split(",") if origin.strip()]
    return {
        "name": match.group("name"),
        "current": match.group("current"),
        "candidate": match.group("candidate"),
        "arch": arch,
        "origins": origins,
        "security": any(is_security_origin(origin) for origin in origins),
    }


def parse_simulation(text: str) -> list[dict[str, Any]]:
    """Every update in the output of ``apt-get -s upgrade|dist-upgrade``, in apt's order (pure).

    Only ``Inst`` lines count: ``Conf`` and ``Remv`` lines, the summary and anything else are
    ignored. A package listed twice is reported once.
    """
    updates: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in text.splitlines():
        update = parse_inst_line(line)
        if update is not None and update["name"] not in seen:
            seen.add(update["name"])
            updates.append(update)
    return updates


def parse_reboot_packages(text: str) -> list[str]:
    """The package names of /var/run/reboot-required.pkgs, each once, in file order (pure)."""
    names: list[str] = []
    for line in text.splitlines():
        name = line.strip()
        if name and name not in names:
            names.append(name)
    return names


def _names(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:SHOWN_NAMES])
    if len(names) > SHOWN_NAMES:
        shown += f" and {len(names) - SHOWN_NAMES} more"
    return shown


def evaluate(
    updates: list[dict[str, Any]],
    reboot_required: bool,
    reboot_packages: list[str],
    warning: int,
    critical: int,
) -> list[Finding]:
    """The security_updates finding (pending security updates against warning/critical) and the
    reboot_required finding (warning when a reboot is pending) (pure)."""
    security = [update["name"] for update in updates if update["security"]]
    severity, threshold = classify(len(security), warning, critical)
    if security:
        message = f"{len(security)} pending security update(s) ({_names(security)})"
    else:
        message = "No pending security updates"
    if severity == OK:
        message += f", below the warning threshold {warning:g}"
        recommendation = ""
    else:
        message += f", at or above the {severity} threshold {threshold:g}"
        recommendation = "Apply the security updates in the next maintenance window (the system_updates role)."
    findings = [
        Finding(
            check="security_updates",
            severity=severity,
            subject="packages",
            value=len(security),
            threshold=threshold,
            message=message,
            recommendation=recommendation,
        )
    ]
    if reboot_required:
        by = f" by {_names(reboot_packages)}" if reboot_packages else ""
        findings.append(
            Finding(
                check="reboot_required",
                severity=WARNING,
                subject="system",
                value=True,
                message=f"A reboot is required{by}",
                recommendation="Reboot in a maintenance window so that the updated packages are in use.",
            )
        )
    else:
        findings.append(
            Finding(
                check="reboot_required",
                severity=OK,
                subject="system",
                value=False,
                message="No reboot is required",
            )
        )
    return findings


class PackageUpdates(Backend):
    """Backend of the package_updates module: runs apt-get through the host's run_command."""

    def apt_get(self, args: list[str]) -> str:
        """stdout of apt-get with args (an argument list, no shell, C locale); raises ModuleError."""
        binary = self.host.get_bin_path("apt-get")
        if not binary:
            raise ModuleError(f"{CANNOT}: apt-get was not found (this module works on Debian and Ubuntu only)")
        rc, out, err = self.host.run_command([binary, *args], environ_update={"LC_ALL": "C", "LANG": "C"})
        if rc != 0:
            cause = (err or out).strip() or "no output"
            raise ModuleError(f"{CANNOT}: {' '.join(['apt-get', *args])} exited with {rc}: {cause}")
        return out

    def read_reboot(self) -> tuple[bool, list[str]]:
        required = os.path.exists(self.params["reboot_required_file"])
        path = self.params["reboot_packages_file"]
        if not os.path.exists(path):
            return required, []
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return required, parse_reboot_packages(handle.read())
        except OSError as exc:
            raise ModuleError(f"{CANNOT}: cannot read reboot_packages_file {path}: {exc.strerror}") from None

    def run(self) -> dict[str, Any]:
        raise_problem(CANNOT, check_params(self.params))
        if self.params["update_cache"]:
            self.apt_get(["-q", "update"])
        output = self.apt_get(["-s", "-o", "Debug::NoLocking=1", self.params["mode"]])
        reboot_required, reboot_packages = self.read_reboot()
        updates = parse_simulation(output)
        findings = [
            finding.as_dict()
            for finding in evaluate(
                updates,
                reboot_required,
                reboot_packages,
                *_thresholds.levels(self.params["thresholds"], "security"),
            )
        ]
        return {
            "changed": False,
            "mode": self.params["mode"],
            "cache_updated": self.params["update_cache"],
            "updates": updates,
            "count": len(updates),
            "security_count": sum(1 for update in updates if update["security"]),
            "reboot_required": reboot_required,
            "reboot_packages": reboot_packages,
            "findings": findings,
            "severity": worst(findings),
        }
