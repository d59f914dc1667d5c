"""The fleet after converge (daily.yml on three hosts over SSH), then a rolling system update
with a fault on the second host: host 1 updated and healthy, host 2 rolled back and healthy,
host 3 untouched, the play failed naming host 2."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FLEET, HOSTS, backend_pid, health, playbook, reports

testinfra_hosts = HOSTS


def test_each_host_is_a_distinct_ssh_host_with_its_own_stack(host, stacks):
    name = host.backend.get_hostname()
    assert name in HOSTS
    # the command really ran through that host's sshd (its own listen address)
    connection = host.check_output("echo $SSH_CONNECTION").split()
    assert connection[2] == f"127.0.0.{HOSTS.index(name) + 2}"
    assert connection[3] == "2222"
    assert len({stack["pg_port"] for stack in stacks.values()}) == 3


def test_daily_wrote_one_health_report_per_host_in_its_own_stack(host, stacks):
    name = host.backend.get_hostname()
    found = reports(stacks[name], "health", name)
    assert found, f"no health report of {name}"
    report = json.loads(found[-1].read_text())
    assert report["host"] == name
    assert report["data"]["components"]["services"]["backend"]["state"] == "RUNNING"
    assert report["summary"]["critical"] == 0
    for other in HOSTS:
        if other != name:
            assert not reports(stacks[name], "health", other)


def test_rolling_update_in_check_mode_changes_nothing(inventory, stacks):
    pids = {name: backend_pid(stack) for name, stack in stacks.items()}
    before = {name: reports(stack, "system-update", name) for name, stack in stacks.items()}
    run = playbook(inventory, "system_update.yml", "system_updates_update_cache=false", check=True)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    for name in HOSTS:
        assert f"ok: [{name}]" in run.stdout, f"{name} was not checked"
    assert {name: backend_pid(stack) for name, stack in stacks.items()} == pids
    assert {name: reports(stack, "system-update", name) for name, stack in stacks.items()} == before
    for name, stack in stacks.items():
        assert health(stack) == 200, name
        assert not (Path(stack["nginx_conf_d"]) / "jarvis-maintenance.conf").exists(), name


def test_rolling_update_stops_at_the_host_that_fails_and_rolls_it_back(inventory, stacks):
    fault = Path(stacks["fleet2"]["faults_dir"]) / "backend-unhealthy-once"
    fault.write_text("armed by the fleet scenario\n")
    pids = {name: backend_pid(stack) for name, stack in stacks.items()}
    before = {name: reports(stack, "system-update", name) for name, stack in stacks.items()}

    # The fleet's hosts share this machine's dpkg: apt is left alone (the apt pipeline, with its
    # rollback, is tested on one host by role_system_updates); each host's update restarts it.
    run = playbook(
        inventory,
        "system_update.yml",
        "system_updates_apply=none",
        "system_updates_restart=always",
        "system_updates_update_cache=false",
        "system_updates_health_timeout=10",
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-4000:]
    assert "System update of fleet2 failed" in output
    assert "the host is healthy again" in output
    assert "[fleet3]" not in output, "a task ran on host 3"

    new = {
        name: sorted(set(reports(stack, "system-update", name)) - set(before[name])) for name, stack in stacks.items()
    }
    first = json.loads(new["fleet1"][-1].read_text())
    assert first["severity"] == "ok"
    assert first["data"]["verification"]["ok"]
    assert first["data"]["verification"]["functional"]["status"] == 200
    second = json.loads(new["fleet2"][-1].read_text())
    assert second["severity"] == "critical"
    assert second["data"]["verification"]["health"]["status"] == 503
    assert second["data"]["rollback"]["healthy"]
    assert new["fleet3"] == [], "host 3 was touched"

    after = {name: backend_pid(stack) for name, stack in stacks.items()}
    assert after["fleet1"] != pids["fleet1"]
    assert after["fleet2"] != pids["fleet2"]
    assert after["fleet3"] == pids["fleet3"]
    assert not fault.exists()
    for name, stack in stacks.items():
        assert health(stack) == 200, name
        assert not (Path(stack["nginx_conf_d"]) / "jarvis-maintenance.conf").exists(), name
    assert FLEET.is_dir()
