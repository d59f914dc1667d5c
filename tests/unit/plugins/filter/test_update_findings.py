# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.update_findings import FilterModule, update_findings

NOTHING = {
    "host": "db1",
    "error": "",
    "changed": [],
    "check_mode": False,
    "verification": {},
    "rollback": {},
    "reboot": {},
}


def update(**kw):
    return {**NOTHING, **kw}


def test_a_verified_update_is_one_ok_finding_naming_the_packages():
    findings = update_findings(update(changed=[{"name": "curl"}, {"name": "nginx"}], verification={"ok": True}))
    assert findings == [
        {
            "check": "system_update",
            "severity": "ok",
            "subject": "db1",
            "value": 2,
            "threshold": None,
            "message": "Updated 2 package(s): curl, nginx; verified healthy",
            "recommendation": "",
        }
    ]


def test_check_mode_and_nothing_to_do():
    assert update_findings(update(check_mode=True, changed=[{"name": "curl"}]))[0]["message"] == (
        "Would update 1 package(s): curl"
    )
    assert update_findings(update())[0]["message"] == "Updated 0 package(s)"


def test_a_failed_update_is_critical_with_the_rollback_outcome():
    rolled = update(error="backend unhealthy", rollback={"summary": "2 of 2 packages put back", "healthy": True})
    finding = update_findings(rolled)[0]
    assert finding["severity"] == "critical"
    assert (
        finding["message"] == "Update failed (backend unhealthy); rolled back: 2 of 2 packages put back, healthy again"
    )
    assert finding["recommendation"].startswith("Read the verification and rollback sections")
    unhealthy = update(error="x", rollback={"summary": "1 of 2", "healthy": False})
    assert update_findings(unhealthy)[0]["message"].endswith("1 of 2, NOT healthy")
    assert update_findings(update(error="apt failed"))[0]["message"] == "Update failed (apt failed); not rolled back"


def test_a_reboot_owed_is_a_warning_and_a_done_one_is_not():
    owed = {"required": True, "performed": False, "packages": ["linux-image"], "reason": "kernel updated"}
    findings = update_findings(update(reboot=owed))
    assert [f["check"] for f in findings] == ["system_update", "reboot_required"]
    assert findings[1]["severity"] == "warning"
    assert findings[1]["value"] == ["linux-image"]
    assert findings[1]["message"] == "A reboot is required and was not done: kernel updated"
    assert len(update_findings(update(reboot={**owed, "performed": True}))) == 1


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match="expected a dict with at least host"):
        update_findings({"error": ""})
    assert FilterModule().filters()["update_findings"] is update_findings
