# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.unmeasured_finding import FilterModule, unmeasured_finding


def test_a_host_under_supervisor_gets_an_ok_finding_naming_its_service_manager():
    assert unmeasured_finding("supervisor") == {
        "check": "container_stats",
        "severity": "ok",
        "subject": "supervisor",
        "value": None,
        "threshold": "docker",
        "message": (
            "Container stats need the docker service manager; jarvis_service_manager is supervisor, "
            "so nothing was measured or restarted."
        ),
        "recommendation": "",
    }


def test_the_subject_and_message_follow_the_service_manager():
    finding = unmeasured_finding("systemd")
    assert finding["subject"] == "systemd" and "jarvis_service_manager is systemd," in finding["message"]


@pytest.mark.parametrize(
    ("bad", "named"),
    [("", "expected the service manager"), (None, "got None"), ("docker", "the service manager is docker")],
)
def test_bad_input_is_refused_naming_it(bad, named):
    with pytest.raises(AnsibleFilterError, match=named):
        unmeasured_finding(bad)


def test_the_filter_is_registered():
    assert FilterModule().filters()["unmeasured_finding"] is unmeasured_finding
