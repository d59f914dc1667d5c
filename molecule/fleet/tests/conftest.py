"""The fleet the scenario started: its directory, an inventory for ansible-playbook, helpers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FLEET = REPO / ".stack-fleet"
HOSTS = ["fleet1", "fleet2", "fleet3"]


@pytest.fixture(scope="session")
def inventory(tmp_path_factory) -> Path:
    """The scenario's inventory (hosts, host_vars) with the local stack's group_vars beside it."""
    directory = tmp_path_factory.mktemp("fleet-inventory")
    source = REPO / "molecule" / "fleet" / "inventory"
    shutil.copy(source / "hosts.yml", directory / "hosts.yml")
    shutil.copytree(source / "host_vars", directory / "host_vars")
    shutil.copytree(REPO / "inventories" / "local" / "group_vars", directory / "group_vars")
    return directory


@pytest.fixture(scope="session")
def stacks() -> dict[str, dict]:
    return {host: json.loads((FLEET / host / "env.json").read_text()) for host in HOSTS}


def playbook(inventory: Path, name: str, *extra: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    args = [arg for value in extra for arg in ("-e", value)] + (["--check"] if check else [])
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), f"playbooks/{name}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "JARVIS_FLEET_DIR": str(FLEET)},
    )


def backend_pid(stack: dict) -> str:
    return subprocess.run(
        [stack["supervisorctl"], "-c", stack["supervisor_config"], "pid", "backend"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout.strip()  # fmt: skip


def health(stack: dict) -> int:
    try:
        with urllib.request.urlopen(stack["backend_url"] + "/health", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def reports(stack: dict, kind: str, host: str) -> list[Path]:
    return sorted(Path(stack["reports_dir"]).glob(f"{kind}-{host}-*.json"))
