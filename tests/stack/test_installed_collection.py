"""The collection as a user gets it: built with ansible-galaxy, installed into a directory of its
own, and its playbooks run by name (`ansible-playbook jarvis.maintenance.<name>`) from a
directory that is not the repository, without the repository's ansible.cfg."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
PLAYBOOKS = sorted(path.stem for path in (REPO / "playbooks").glob("*.yml"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("installed")
    collections = work / "collections"
    # no ansible.cfg and no collection path of the repository's: the installed copy only (the
    # community collections come with the ansible package)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), PATH=f"{BIN}:{env.get('PATH', '')}")
    built = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(work)],
        capture_output=True, text=True, timeout=300, check=False, cwd=work, env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next(work.glob("jarvis-maintenance-*.tar.gz"))
    install = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", str(collections),
         str(tarball)],
        capture_output=True, text=True, timeout=300, check=False, cwd=work, env=env,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    assert "was installed successfully" in install.stdout, install.stdout
    return {"cwd": str(work), "env": env, "collection": str(collections / "ansible_collections/jarvis/maintenance")}


def run(installed: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(REPO / "inventories" / "local"), *args],
        cwd=installed["cwd"], env=installed["env"], capture_output=True, text=True, timeout=600, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_the_package_holds_every_playbook_and_no_test_or_build_file(installed):
    root = Path(installed["collection"])
    assert sorted(path.stem for path in (root / "playbooks").glob("*.yml")) == PLAYBOOKS
    assert (root / "playbooks" / "vars" / "connections.yml").is_file()
    for left_out in (".venv", ".build", ".ci", "benchmarks", ".stack", ".ruff_cache", ".pytest_cache"):
        assert not (root / left_out).exists(), f"{left_out} is in the package"


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_every_playbook_runs_by_its_collection_name(installed, name):
    result = run(installed, f"jarvis.maintenance.{name}", "--syntax-check")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    # resolved to the installed copy, not the repository's
    assert f"playbook: {installed['collection']}/playbooks/{name}.yml" in result.stdout


def test_db_health_runs_for_real_by_its_collection_name(installed, stack):
    result = run(installed, "jarvis.maintenance.db_health")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "jarvis.maintenance.postgres_maintenance" in result.stdout
    assert "failed=0" in result.stdout
