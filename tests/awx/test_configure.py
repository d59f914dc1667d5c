"""awx/configure.yml parses with the awx.awx collection fetched by tools/fetch-collections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FETCH = REPO / "tools" / "fetch-collections"
FETCH_ARGS = ["--ansible-version", "12.3.0", "awx.awx"]
PLAYBOOK = REPO / "awx" / "configure.yml"


@pytest.fixture(scope="module")
def awx_collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collections directory holding awx.awx (the wheel is cached, see the tool)."""
    dest = tmp_path_factory.mktemp("awx") / "collections"
    result = subprocess.run(
        [sys.executable, str(FETCH), str(dest), *FETCH_ARGS], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode:
        pytest.fail(f"tools/fetch-collections failed ({result.returncode}): {result.stderr or result.stdout}")
    assert (dest / "ansible_collections" / "awx" / "awx" / "plugins" / "modules" / "schedule.py").is_file()
    # a second run finds the same version and changes nothing
    again = subprocess.run(
        [sys.executable, str(FETCH), str(dest), *FETCH_ARGS], capture_output=True, text=True, timeout=600, check=True
    )
    assert "nothing to do" in again.stdout
    return dest


def ansible_env(collections: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": f"{collections}:{REPO / '.build' / 'collections'}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
    }


def awx_tasks() -> list[tuple[str, str, dict]]:
    """(task name, module, arguments) of every awx.awx task of the playbook."""
    plays = yaml.safe_load(PLAYBOOK.read_text(encoding="utf-8"))
    found = []
    for play in plays:
        for task in play["tasks"]:
            for key, args in task.items():
                if key.startswith("awx.awx."):
                    found.append((task["name"], key, args or {}))
    return found


def test_configure_playbook_syntax(awx_collections: Path) -> None:
    env = ansible_env(awx_collections)
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "--syntax-check", "awx/configure.yml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"syntax check failed:\n{result.stdout}\n{result.stderr}"
    assert "playbook: awx/configure.yml" in result.stdout


def test_configure_passes_only_options_the_modules_have(awx_collections: Path) -> None:
    """ansible-lint's production profile does not check module arguments: check them against ansible-doc."""
    tasks = awx_tasks()
    modules = sorted({task[1] for task in tasks})
    assert "awx.awx.schedule" in modules and "awx.awx.job_template" in modules
    result = subprocess.run(
        [str(BIN / "ansible-doc"), "--json", "-t", "module", *modules],
        env=ansible_env(awx_collections),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    docs = json.loads(result.stdout)
    for name, module, args in tasks:
        options = docs[module]["doc"]["options"]
        known = set(options) | {alias for spec in options.values() for alias in spec.get("aliases", [])}
        assert set(args) <= known, f"{name}: {module} has no option {sorted(set(args) - known)}"
        for option, value in args.items():
            choices = options.get(option, {}).get("choices")
            if choices and isinstance(value, str) and "{{" not in value:
                assert value in choices, f"{name}: {module} {option}={value!r}, not one of {choices}"
