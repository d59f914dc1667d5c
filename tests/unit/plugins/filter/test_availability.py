# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jarvis.maintenance.plugins.filter.availability import FilterModule, availability


def test_postgresql_answered():
    result = availability({"is_available": True, "server_version": {"full": "15.8"}, "conn_err_msg": ""}, "postgresql")
    assert result["finding"] == {
        "check": "availability",
        "severity": "ok",
        "subject": "postgresql",
        "value": True,
        "threshold": True,
        "message": "PostgreSQL answered (15.8)",
        "recommendation": "",
    }
    assert result["component"] == {"available": True, "server_version": "15.8", "error": None, "severity": "ok"}


def test_postgresql_down_is_critical_with_the_error_and_the_advice():
    ping = {"is_available": False, "server_version": {}, "conn_err_msg": " connection refused\n"}
    result = availability(ping, "postgresql")
    assert result["finding"]["severity"] == "critical"
    assert result["finding"]["message"] == "PostgreSQL did not answer: connection refused"
    assert "pg_isready" in result["finding"]["recommendation"]
    assert result["component"]["error"] == "connection refused"
    assert result["component"]["available"] is False


def test_redis_answered_and_down():
    info = {"info": {"redis_version": "7.0.15", "used_memory": 1024, "connected_clients": 3}}
    up = availability(info, "redis")
    assert up["finding"]["message"] == "Redis answered (7.0.15)"
    assert up["component"] == {
        "available": True,
        "version": "7.0.15",
        "used_memory_bytes": 1024,
        "connected_clients": 3,
        "error": None,
        "severity": "ok",
    }
    down = availability({"failed": True, "msg": "WRONGPASS invalid username-password pair"}, "redis")
    assert down["finding"]["severity"] == "critical"
    assert down["finding"]["message"] == "Redis did not answer: WRONGPASS invalid username-password pair"
    assert down["component"]["version"] is None
    assert availability({"failed": True}, "redis")["component"]["error"] == "unknown error"


def test_barman_answered_and_not():
    info = {"server": "jarvis", "rpo_seconds": 0, "newest_backup": {"backup_id": "20261204T020000"}, "findings": []}
    up = availability(info, "barman")
    assert up["finding"]["message"] == "Barman answered (server jarvis)"
    # the newest backup is named by its id alone, the error is empty while Barman answers
    assert up["component"]["newest_backup"] == "20261204T020000"
    assert (up["component"]["available"], up["component"]["error"], up["component"]["rpo_seconds"]) == (True, None, 0)
    failed = {"failed": True, "msg": "Cannot read Barman: barman_user 'barman' does not exist on this host"}
    down = availability(failed, "barman")
    assert down["finding"]["severity"] == "critical"
    assert down["finding"]["message"] == f"Barman did not answer: {failed['msg']}"
    assert "barman check" in down["finding"]["recommendation"]
    assert down["component"]["newest_backup"] is None
    # what the run's metrics read: the last WAL received and the slot's retained WAL
    info.update(wal={"last_received_at": "2026-12-04T02:00:58Z"}, slot={"retained_bytes": 4096})
    assert availability(info, "barman")["component"]["last_received_at"] == "2026-12-04T02:00:58Z"
    assert availability(info, "barman")["component"]["slot_retained_bytes"] == 4096
    assert down["component"]["last_received_at"] is None


def test_a_password_in_the_error_is_redacted():
    down = availability({"msg": "cannot connect to redis://:s3cretpass@10.0.0.5:6379/0"}, "redis")
    assert "s3cretpass" not in down["finding"]["message"]


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match="component must be one of postgresql, redis, barman, got 'mysql'"):
        availability({}, "mysql")
    with pytest.raises(AnsibleFilterError, match="expected the module's result"):
        availability("up", "redis")
    assert FilterModule().filters()["availability"] is availability
