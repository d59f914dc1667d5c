# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._packages import (
    ARGUMENT_SPEC,
    PackageUpdates,
    check_params,
    evaluate,
    is_security_origin,
    origin_suite,
    parse_inst_line,
    parse_reboot_packages,
    parse_simulation,
)

# Real lines of `LC_ALL=C apt-get -s dist-upgrade` (Debian 12, Ubuntu 22.04) and some that only look alike.
INST_CASES = [
    (
        "Inst base-files [12.4+deb12u11] (12.4+deb12u15 Debian:12.15/oldstable [amd64])",
        ("base-files", "12.4+deb12u11", "12.4+deb12u15", "amd64", ["Debian:12.15/oldstable"], False),
    ),
    (
        "Inst libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security"
        " [amd64])",
        (
            "libgcrypt20",
            "1.10.1-3",
            "1.10.1-3+deb12u1",
            "amd64",
            ["Debian:12.15/oldstable", "Debian-Security:12/oldstable-security"],
            True,
        ),
    ),
    (  # a trailing [] lists the packages the step would leave broken
        "Inst liblzma-dev [5.4.1-1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64]) []",
        ("liblzma-dev", "5.4.1-1", "5.4.1-1+deb12u2", "amd64", ["Debian-Security:12/oldstable-security"], True),
    ),
    (
        "Inst libpam-runtime [1.5.2-6+deb12u1] (1.5.2-6+deb12u3 Debian-Security:12/oldstable-security [all]) "
        "[libpam-modules:amd64 ]",
        (
            "libpam-runtime",
            "1.5.2-6+deb12u1",
            "1.5.2-6+deb12u3",
            "all",
            ["Debian-Security:12/oldstable-security"],
            True,
        ),
    ),
    (  # newly installed by the upgrade: no [current]
        "Inst linux-image-6.1.0-28-amd64 (6.1.119-1 Debian:12.8/stable, Debian-Security:12/stable-security [amd64])",
        (
            "linux-image-6.1.0-28-amd64",
            None,
            "6.1.119-1",
            "amd64",
            ["Debian:12.8/stable", "Debian-Security:12/stable-security"],
            True,
        ),
    ),
    (
        "Inst fortune-mod (1:1.99.1-7.3 Debian:12.15/oldstable [amd64])",
        ("fortune-mod", None, "1:1.99.1-7.3", "amd64", ["Debian:12.15/oldstable"], False),
    ),
    (
        "Inst openssl [3.0.2-0ubuntu1.15] (3.0.2-0ubuntu1.18 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security "
        "[amd64])",
        (
            "openssl",
            "3.0.2-0ubuntu1.15",
            "3.0.2-0ubuntu1.18",
            "amd64",
            ["Ubuntu:22.04/jammy-updates", "Ubuntu:22.04/jammy-security"],
            True,
        ),
    ),
    (
        "Inst snapd [2.61.3+22.04] (2.63+22.04 Ubuntu:22.04/jammy-updates [amd64])",
        ("snapd", "2.61.3+22.04", "2.63+22.04", "amd64", ["Ubuntu:22.04/jammy-updates"], False),
    ),
    (  # Ubuntu Pro (ESM) security suite
        "Inst libcurl4 [7.81.0-1ubuntu1.15] (7.81.0-1ubuntu1.16+esm1 UbuntuESMApps:22.04/jammy-apps-security [amd64])",
        (
            "libcurl4",
            "7.81.0-1ubuntu1.15",
            "7.81.0-1ubuntu1.16+esm1",
            "amd64",
            ["UbuntuESMApps:22.04/jammy-apps-security"],
            True,
        ),
    ),
    (  # a foreign architecture keeps its qualifier
        "Inst libc6:i386 [2.36-9+deb12u7] (2.36-9+deb12u9 Debian:12.8/stable [i386])",
        ("libc6:i386", "2.36-9+deb12u7", "2.36-9+deb12u9", "i386", ["Debian:12.8/stable"], False),
    ),
    (  # a Release file without Version: Label:Suite
        "Inst jarvis-testpkg-sec [1.0] (1.1 Jarvis-Security:jarvis-security [all])",
        ("jarvis-testpkg-sec", "1.0", "1.1", "all", ["Jarvis-Security:jarvis-security"], True),
    ),
    (  # a Release file with neither Label nor Version: the suite alone, in upper case
        "Inst tool [2] (3 JARVIS-SECURITY [all])",
        ("tool", "2", "3", "all", ["JARVIS-SECURITY"], True),
    ),
    (  # a repository without a Release file: the host name
        "Inst tool [2] (3 localhost [all])",
        ("tool", "2", "3", "all", ["localhost"], False),
    ),
    (  # a label that says security is not a security suite
        "Inst tool [2] (3 Security-Team:1/stable [all])",
        ("tool", "2", "3", "all", ["Security-Team:1/stable"], False),
    ),
    (  # no origin at all (only the status file)
        "Inst tool [2] (3 [amd64])",
        ("tool", "2", "3", "amd64", [], False),
    ),
    (
        "  Inst indented [1] (2 Debian:12/stable [amd64])  ",
        ("indented", "1", "2", "amd64", ["Debian:12/stable"], False),
    ),
]

NOT_INST = [
    "Conf libgcrypt20 (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])",
    "Remv jq [1.6-2.1+deb12u1]",
    "Remv yq [3.1.0-3] [jq:amd64 ]",
    "Reading package lists...",
    "Calculating upgrade...",
    "The following packages will be upgraded:",
    "  appstream apt apt-transport-https base-files bash ca-certificates curl",
    "126 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.",
    "W: Target Packages (main/binary-amd64/Packages) is configured multiple times",
    "NOTE: This is only a simulation!",
    "Inst",
    "Inst broken [1.0]",
    "Inst (1.0 Debian:12/stable [amd64])",
    "Install foo [1.0] (1.1 Debian:12/stable [amd64])",
    "inst foo [1.0] (1.1 Debian:12/stable [amd64])",
    "",
]

SIMULATION = """NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
      Keep also in mind that locking is deactivated,
      so don't depend on the relevance to the real current situation!
Reading package lists...
Building dependency tree...
Reading state information...
Calculating upgrade...
The following NEW packages will be installed:
  linux-image-6.1.0-28-amd64
The following packages will be upgraded:
  base-files libgcrypt20 linux-image-amd64
3 upgraded, 1 newly installed, 1 to remove and 0 not upgraded.
Remv oldpkg [0.9]
Inst base-files [12.4+deb12u7] (12.4+deb12u8 Debian:12.8/stable [amd64])
Conf base-files (12.4+deb12u8 Debian:12.8/stable [amd64])
Inst libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.8/stable, Debian-Security:12/stable-security [amd64])
Inst linux-image-6.1.0-28-amd64 (6.1.119-1 Debian:12.8/stable, Debian-Security:12/stable-security [amd64])
Inst linux-image-amd64 [6.1.115-1] (6.1.119-1 Debian:12.8/stable, Debian-Security:12/stable-security [amd64])
Conf libgcrypt20 (1.10.1-3+deb12u1 Debian:12.8/stable, Debian-Security:12/stable-security [amd64])
Conf linux-image-6.1.0-28-amd64 (6.1.119-1 Debian:12.8/stable, Debian-Security:12/stable-security [amd64])
Conf linux-image-amd64 (6.1.119-1 Debian:12.8/stable, Debian-Security:12/stable-security [amd64])
"""


@pytest.mark.parametrize(("line", "expected"), INST_CASES)
def test_parse_inst_line(line, expected):
    name, current, candidate, arch, origins, security = expected
    assert parse_inst_line(line) == {
        "name": name,
        "current": current,
        "candidate": candidate,
        "arch": arch,
        "origins": origins,
        "security": security,
    }


@pytest.mark.parametrize("line", NOT_INST)
def test_parse_inst_line_ignores_other_lines(line):
    assert parse_inst_line(line) is None


def test_parse_simulation_keeps_apt_order_and_only_inst_lines():
    updates = parse_simulation(SIMULATION)
    assert [(u["name"], u["current"], u["security"]) for u in updates] == [
        ("base-files", "12.4+deb12u7", False),
        ("libgcrypt20", "1.10.1-3", True),
        ("linux-image-6.1.0-28-amd64", None, True),
        ("linux-image-amd64", "6.1.115-1", True),
    ]


def test_parse_simulation_reports_a_package_once_and_nothing_for_no_output():
    line = "Inst a [1] (2 Debian:12/stable [all])\n"
    assert [u["name"] for u in parse_simulation(line * 2 + "junk\n")] == ["a"]
    assert parse_simulation("") == []
    assert parse_simulation("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n") == []


@pytest.mark.parametrize(
    ("origin", "suite", "security"),
    [
        ("Debian:12.8/stable", "stable", False),
        ("Debian-Security:12/stable-security", "stable-security", True),
        ("Debian-Security:12/oldstable-security", "oldstable-security", True),
        ("Ubuntu:22.04/jammy-security", "jammy-security", True),
        ("Ubuntu:22.04/jammy-updates", "jammy-updates", False),
        ("UbuntuESMApps:22.04/jammy-apps-security", "jammy-apps-security", True),
        ("Jarvis-Security:jarvis-security", "jarvis-security", True),
        ("Jarvis:jarvis", "jarvis", False),
        ("Debian-Security:12/Stable-SECURITY", "Stable-SECURITY", True),
        ("Security-Team:1/stable", "stable", False),
        ("bookworm-security", "bookworm-security", True),
        ("localhost", "localhost", False),
        ("12/bookworm", "bookworm", False),
    ],
)
def test_origin_suite_and_security(origin, suite, security):
    assert origin_suite(origin) == suite
    assert is_security_origin(origin) is security


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", []),
        ("linux-image-6.1.0-28-amd64\n", ["linux-image-6.1.0-28-amd64"]),
        ("libc6\nlinux-image-6.1.0-28-amd64\nlibc6\n", ["libc6", "linux-image-6.1.0-28-amd64"]),
        ("  dbus \n\n\nsystemd", ["dbus", "systemd"]),
    ],
)
def test_parse_reboot_packages(text, names):
    assert parse_reboot_packages(text) == names


def params(**overrides):
    values = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}
    values["thresholds"] = {"security_warning": 1, "security_critical": 10}
    values["thresholds"].update({name: overrides.pop(name) for name in list(overrides) if name.startswith("security_")})
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"security_warning": 5, "security_critical": 5}, None),
        (
            {"security_warning": 20},
            "thresholds.security_warning/security_critical: warning (20) must not be above critical (10)",
        ),
        (
            {"security_critical": 0},
            "thresholds.security_warning/security_critical: warning (1) must not be above critical (0)",
        ),
        ({"security_warning": 0}, "thresholds.security_warning must be 1 or more, got 0"),
        ({"security_warning": -3}, "thresholds.security_warning must be 1 or more, got -3"),
    ],
)
def test_check_params(overrides, problem):
    assert check_params(params(**overrides)) == problem


def updates(security: int, plain: int = 0):
    made = [{"name": f"sec{i}", "security": True} for i in range(security)]
    return made + [{"name": f"plain{i}", "security": False} for i in range(plain)]


@pytest.mark.parametrize(
    ("pending", "warning", "critical", "severity", "threshold", "message"),
    [
        (updates(0), 1, 10, "ok", 1, "No pending security updates, below the warning threshold 1"),
        (updates(0, plain=30), 1, 10, "ok", 1, "No pending security updates, below"),
        (updates(1), 1, 10, "warning", 1, "1 pending security update(s) (sec0), at or above the warning threshold 1"),
        (updates(9, plain=3), 1, 10, "warning", 1, "9 pending security update(s) (sec0, sec1, sec2, sec3, sec4 and 4"),
        (updates(10), 1, 10, "critical", 10, "at or above the critical threshold 10"),
        (updates(50), 1, 10, "critical", 10, "and 45 more), at or above the critical threshold 10"),
        (updates(2), 3, 5, "ok", 3, "2 pending security update(s) (sec0, sec1), below the warning threshold 3"),
        (updates(4), 3, 5, "warning", 3, "at or above the warning threshold 3"),
        (updates(3), 3, 3, "critical", 3, "at or above the critical threshold 3"),
    ],
)
def test_security_updates_finding(pending, warning, critical, severity, threshold, message):
    finding = evaluate(pending, False, [], warning, critical)[0]
    assert finding.check == "security_updates"
    assert finding.subject == "packages"
    assert finding.severity == severity
    assert finding.value == sum(1 for update in pending if update["security"])
    assert finding.threshold == threshold
    assert message in finding.message
    assert bool(finding.recommendation) is (severity != "ok")


@pytest.mark.parametrize(
    ("required", "packages", "severity", "message"),
    [
        (False, [], "ok", "No reboot is required"),
        (False, ["libc6"], "ok", "No reboot is required"),  # a stale .pkgs without the marker
        (True, [], "warning", "A reboot is required"),
        (True, ["linux-image-6.1.0-28-amd64", "libc6"], "warning", "required by linux-image-6.1.0-28-amd64, libc6"),
    ],
)
def test_reboot_required_finding(required, packages, severity, message):
    finding = evaluate([], required, packages, 1, 10)[1]
    assert (finding.check, finding.severity, finding.value) == ("reboot_required", severity, required)
    assert message in finding.message


class FakeModule:
    """Answers run_command from a table of (argument list tail) -> (rc, out, err) and records the calls."""

    def __init__(self, answers, binary="/usr/bin/apt-get", check_mode=False, **overrides):
        self.params = params(**overrides)
        self.answers = answers
        self.binary = binary
        self.check_mode = check_mode
        self.calls = []

    def get_bin_path(self, name):
        assert name == "apt-get"
        return self.binary

    def run_command(self, args, environ_update=None):
        assert isinstance(args, list)
        assert environ_update["LC_ALL"] == "C"
        self.calls.append(args)
        return self.answers[tuple(args[1:])]


SIMULATE = ("-s", "-o", "Debug::NoLocking=1", "dist-upgrade")


def test_run_reports_updates_and_reboot(tmp_path):
    (tmp_path / "reboot-required").write_text("*** System restart required ***\n")
    (tmp_path / "reboot-required.pkgs").write_text("linux-image-6.1.0-28-amd64\nlinux-image-6.1.0-28-amd64\n")
    module = FakeModule(
        {SIMULATE: (0, SIMULATION, "")},
        reboot_required_file=str(tmp_path / "reboot-required"),
        reboot_packages_file=str(tmp_path / "reboot-required.pkgs"),
    )
    result = PackageUpdates(module.params, module.check_mode, module).run()
    assert module.calls == [["/usr/bin/apt-get", *SIMULATE]]
    assert result["changed"] is False
    assert (result["count"], result["security_count"]) == (4, 3)
    assert result["reboot_required"] is True
    assert result["reboot_packages"] == ["linux-image-6.1.0-28-amd64"]
    assert [(f["check"], f["severity"]) for f in result["findings"]] == [
        ("security_updates", "warning"),
        ("reboot_required", "warning"),
    ]
    assert result["severity"] == "warning"


def test_run_updates_the_cache_first_and_simulates_the_mode(tmp_path):
    upgrade = ("-s", "-o", "Debug::NoLocking=1", "upgrade")
    module = FakeModule(
        {("-q", "update"): (0, "Hit:1 file:/srv/repo jarvis InRelease\n", ""), upgrade: (0, "", "")},
        mode="upgrade",
        update_cache=True,
        check_mode=True,
        reboot_required_file=str(tmp_path / "none"),
        reboot_packages_file=str(tmp_path / "none.pkgs"),
    )
    result = PackageUpdates(module.params, module.check_mode, module).run()
    assert [call[1:] for call in module.calls] == [["-q", "update"], list(upgrade)]
    assert (result["changed"], result["count"], result["cache_updated"], result["severity"]) == (False, 0, True, "ok")
    assert result["reboot_packages"] == []


@pytest.mark.parametrize(
    ("answers", "binary", "overrides", "message"),
    [
        ({}, None, {}, "Cannot list package updates: apt-get was not found"),
        (
            {SIMULATE: (100, "", "E: dpkg was interrupted, you must manually run 'dpkg --configure -a'\n")},
            "/usr/bin/apt-get",
            {},
            "Cannot list package updates: apt-get -s -o Debug::NoLocking=1 dist-upgrade exited with 100: "
            "E: dpkg was interrupted, you must manually run 'dpkg --configure -a'",
        ),
        (
            {("-q", "update"): (100, "", "E: Could not open lock file /var/lib/apt/lists/lock\n")},
            "/usr/bin/apt-get",
            {"update_cache": True},
            "Cannot list package updates: apt-get -q update exited with 100: E: Could not open lock file",
        ),
        (
            {},
            "/usr/bin/apt-get",
            {"security_warning": 11},
            "Cannot list package updates: thresholds.security_warning/security_critical: warning (11)",
        ),
    ],
)
def test_run_fails_with_the_cause(answers, binary, overrides, message):
    module = FakeModule(answers, binary=binary, **overrides)
    with pytest.raises(ModuleError) as failure:
        PackageUpdates(module.params, module.check_mode, module).run()
    assert str(failure.value).startswith(message)
