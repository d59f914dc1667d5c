# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The performance_tuning role's container_stats finding when nothing could be measured: container stats need the
docker service manager (built here, not in Jinja)."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import OK, Finding

NEEDED = "docker"


def unmeasured_finding(service_manager: Any) -> dict[str, Any]:
    """The ok container_stats finding saying that, with service_manager (not docker), nothing was measured or
    restarted."""
    if not isinstance(service_manager, str) or not service_manager.strip():
        raise AnsibleFilterError(
            f"unmeasured_finding: expected the service manager's name (jarvis_service_manager), got {service_manager!r}"
        )
    if service_manager == NEEDED:
        raise AnsibleFilterError(
            "unmeasured_finding: the service manager is docker, so container stats can be measured; "
            "use the findings of jarvis.maintenance.container_stats_info"
        )
    return Finding(
        check="container_stats",
        severity=OK,
        subject=service_manager,
        value=None,
        threshold=NEEDED,
        message=(
            f"Container stats need the docker service manager; jarvis_service_manager is {service_manager}, "
            "so nothing was measured or restarted."
        ),
        recommendation="",
    ).as_dict()


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"unmeasured_finding": unmeasured_finding}
