#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: package_updates_info
short_description: Report pending Debian and Ubuntu package updates, security updates and a pending reboot, as data
version_added: 1.0.0
description:
  - Lists the updates C(apt-get dist-upgrade) (or C(apt-get upgrade), see O(mode)) would install, without installing
    anything. It runs C(apt-get -s <mode>) with the option C(Debug::NoLocking=1), so that it takes no lock and needs no
    root, in the C locale, as an argument list without a shell, and parses the C(Inst) lines of the simulation;
    C(Conf), C(Remv) and all other lines are ignored.
  - An update is a security update when one of the suites it is published in contains C(security), in any case
    (for example C(bookworm-security), C(jammy-security), C(jammy-apps-security)). A version published both in the
    stable and in the security suite counts as a security update.
  - Reports whether C(/var/run/reboot-required) exists and the packages listed in C(/var/run/reboot-required.pkgs).
  - Returns findings - V(security_updates) judged against O(thresholds.security_warning) and O(thresholds.security_critical),
    and
    V(reboot_required), a warning when a reboot is pending. Roles decide what to do with them.
  - The module never installs, removes or upgrades a package, and always reports C(changed=false).
extends_documentation_fragment: [jarvis.maintenance.attributes, jarvis.maintenance.attributes.READ_ONLY, jarvis.maintenance.thresholds]
attributes:
  check_mode:
    details:
      - It only reads, and does the same in check mode, including the C(apt-get update) of O(update_cache=true).
  idempotent:
    details:
      - This module changes nothing; O(update_cache=true) only refreshes apt's package lists.
options:
  mode:
    description:
      - The upgrade to simulate.
      - V(dist-upgrade) also counts updates that need new packages installed or others removed, as a full
        system update would apply them; V(upgrade) counts only those that install and remove nothing else.
    type: str
    choices: [dist-upgrade, upgrade]
    default: dist-upgrade
  update_cache:
    description:
      - Run C(apt-get update) first, so that the report reflects the repositories as they are now and not as of the
        last refresh of the package lists.
      - It needs root, and runs in check mode too since it only refreshes the package lists.
    type: bool
    default: false
  thresholds:
    suboptions:
      security_warning: {type: float, default: 1, description: "The number of pending security updates from which the V(security_updates) finding is
          a warning."}
      security_critical: {type: float, default: 10, description: "The number of pending security updates from which the V(security_updates) finding
          is critical. Must not be below O(thresholds.security_warning)."}
  reboot_required_file:
    description:
      - The file whose existence means a reboot is required (written by the packages' maintainer scripts).
      - Change it only for tests or unusual systems.
    type: path
    default: /var/run/reboot-required
  reboot_packages_file:
    description:
      - The file listing, one per line, the packages that asked for the reboot.
      - Change it only for tests or unusual systems.
    type: path
    default: /var/run/reboot-required.pkgs
notes:
  - Debian and Ubuntu (any system with C(apt-get)) only.
  - Without O(update_cache=true) the report is only as fresh as the last C(apt-get update).
  - On Ubuntu, updates held back by phased updates are not in the simulation and so not reported.
seealso:
  - module: ansible.builtin.apt
  - module: jarvis.maintenance.host_resources_info
"""

EXAMPLES = r"""
- name: List pending updates with fresh package lists
  jarvis.maintenance.package_updates_info:
    update_cache: true
  register: pending

- name: Show the security updates
  ansible.builtin.debug:
    msg: "{{ pending.updates | selectattr('security') | map(attribute='name') | join(', ') }}"

- name: Fail the audit when security updates pile up or a reboot is pending
  jarvis.maintenance.package_updates_info:
    thresholds:
      security_warning: 1
      security_critical: 5
  register: audit
  failed_when: audit.severity == 'critical' or audit.reboot_required
"""

RETURN = r"""
mode:
  description: The simulated upgrade, O(mode).
  returned: success
  type: str
  sample: dist-upgrade
cache_updated:
  description: Whether C(apt-get update) ran first (O(update_cache)).
  returned: success
  type: bool
  sample: false
updates:
  description:
    - Every package the upgrade would install or upgrade, in apt's order.
    - Each has C(name) (with C(:<arch>) for a foreign architecture), C(current) (the installed version, V(null) when
      the upgrade would newly install the package), C(candidate) (the version it would install), C(arch),
      C(origins) (the releases that publish the candidate, as apt prints them, C(Label:Version/Suite)) and
      C(security) (whether one of their suites is a security suite).
  returned: success
  type: list
  elements: dict
  sample:
    - name: libgcrypt20
      current: 1.10.1-3
      candidate: 1.10.1-3+deb12u1
      arch: amd64
      origins: ["Debian:12.8/stable", "Debian-Security:12/stable-security"]
      security: true
    - name: linux-image-6.1.0-28-amd64
      current: null
      candidate: 6.1.119-1
      arch: amd64
      origins: ["Debian:12.8/stable"]
      security: false
count:
  description: The number of RV(updates).
  returned: success
  type: int
  sample: 2
security_count:
  description: The number of RV(updates) that are security updates.
  returned: success
  type: int
  sample: 1
reboot_required:
  description: Whether O(reboot_required_file) exists.
  returned: success
  type: bool
  sample: false
reboot_packages:
  description: The packages listed in O(reboot_packages_file), each once, in file order; empty when there is no such file.
  returned: success
  type: list
  elements: str
  sample: [linux-image-6.1.0-28-amd64]
findings:
  description:
    - V(security_updates) (RV(security_count) against O(thresholds.security_warning) and
      O(thresholds.security_critical)) and
      V(reboot_required) (V(warning) when a reboot is pending, else V(ok)).
    - Each has C(check), C(severity) (V(ok), V(warning) or V(critical)), C(subject), C(value), C(threshold),
      C(message) and C(recommendation).
  returned: success
  type: list
  elements: dict
  sample:
    - check: security_updates
      severity: warning
      subject: packages
      value: 1
      threshold: 1
      message: 1 pending security update(s) (libgcrypt20), at or above the warning threshold 1
      recommendation: Apply the security updates in the next maintenance window (the system_updates role).
    - check: reboot_required
      severity: ok
      subject: system
      value: false
      threshold: null
      message: No reboot is required
      recommendation: ""
severity:
  description: The worst severity among RV(findings).
  returned: success
  type: str
  sample: warning
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._packages import ARGUMENT_SPEC, PackageUpdates


def main() -> None:
    run_module(ARGUMENT_SPEC, PackageUpdates)


if __name__ == "__main__":
    main()
