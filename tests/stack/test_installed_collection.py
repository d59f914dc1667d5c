"""The collection as a user gets it: built with ansible-galaxy, installed into a directory of its
own, and its playbooks run by name (`ansible-playbook jarvis.maintenance.<name>`) from a
directory that is not the repository, without the repository's ansible.cfg."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
COLLECTIONS = REPO / ".build" / "collections"
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
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
    # with its dependencies (galaxy.yml): offline, the ansible package's copies must satisfy the ranges
    install = galaxy(env, work, "install", "--offline", "-p", str(collections), str(tarball))
    assert "jarvis.maintenance:" in install.stdout and "was installed successfully" in install.stdout, install.stdout
    root = collections / "ansible_collections/jarvis/maintenance"
    # awx.awx for awx/configure.yml, as `ansible-galaxy collection install -r requirements.yml` would put it (no
    # Galaxy here: from the copy make collection took from PyPI), then requirements.yml must be satisfied
    galaxy(env, work, "install", "--offline", "-p", str(collections), str(COLLECTIONS / "ansible_collections/awx/awx"))
    satisfied = galaxy(env, work, "install", "--offline", "-p", str(collections), "-r", str(root / "requirements.yml"))
    assert "Nothing to do" in satisfied.stdout, satisfied.stdout
    return {"cwd": str(work), "env": env, "collection": str(root), "tarball": str(tarball)}


def galaxy(env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", *args], capture_output=True, text=True, timeout=300, check=False,
        cwd=cwd, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


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
    for shipped in ("COPYING", "requirements.yml", "meta/runtime.yml", "prometheus/jarvis-maintenance.rules.yml"):
        assert (root / shipped).is_file(), f"{shipped} is missing from the package"
    repository_only = (
        ".venv", ".build", ".ci", ".stack", ".ruff_cache", ".pytest_cache", ".gitignore", ".ansible-lint",
        "benchmarks", "tools", "molecule", "tests/stack", "tests/benchmarks", "tests/smoke", "tests/docs",
        "inventories/local", "inventories/docker", "Makefile", "ansible.cfg", "ruff.toml", "requirements-dev.txt",
        "changelogs/.plugin-cache.yaml",
    )  # fmt: skip
    for left_out in repository_only:
        assert not (root / left_out).exists(), f"{left_out} is in the package"
    # nothing shipped imports what stays behind (tests/benchmarks once imported benchmarks/)
    for path in root.rglob("*.py"):
        text = path.read_text(errors="replace")
        assert "from benchmarks" not in text and "import benchmarks" not in text, path


def test_the_dependencies_are_declared_with_ranges_and_met_by_what_was_installed(installed):
    declared = GALAXY["dependencies"]
    assert {"community.general", "community.postgresql", "community.docker", "community.crypto"} <= set(declared)
    for name, spec in declared.items():
        assert ">=" in spec and "<" in spec.replace(">=", ""), f"{name}: {spec} is not a range with a ceiling"
    requirements = yaml.safe_load((Path(installed["collection"]) / "requirements.yml").read_text())["collections"]
    listed = {entry["name"]: entry["version"] for entry in requirements}
    # requirements.yml says the same as galaxy.yml, and adds awx.awx for awx/
    assert {name: listed.get(name) for name in declared} == declared
    assert "awx.awx" in listed
    # every collection a role, playbook or awx/ file names is declared (or is ansible.builtin / this one)
    used = set()
    for folder in ("roles", "playbooks", "awx"):
        for path in (REPO / folder).rglob("*.yml"):
            used.update(re.findall(r"\b((?:community|ansible|awx)\.[a-z_]+)\.[a-z_0-9]+:", path.read_text()))
    assert {"community.docker", "community.crypto", "awx.awx"} <= used
    assert used - {"ansible.builtin"} <= set(listed), sorted(used - set(listed))


def test_awx_configuration_resolves_from_the_installed_copy(installed):
    result = run(installed, f"{installed['collection']}/awx/configure.yml", "--syntax-check")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


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
