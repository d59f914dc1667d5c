"""The docker stack the scenario started (tools/jarvis-docker-stack), and helpers to drive it."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
STACK_DIR = Path(os.environ.get("JARVIS_DOCKER_STACK_DIR") or REPO / ".stack-docker")
INVENTORY = REPO / "inventories" / "docker"
CONTAINERS = ("sutazai-postgres", "sutazai-redis", "sutazai-backend", "sutazai-frontend")


@pytest.fixture(scope="session")
def stack() -> dict:
    return json.loads((STACK_DIR / "env.json").read_text())


def docker(stack: dict, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "DOCKER_HOST": stack["docker_host"]},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def inspect(stack: dict, name: str, template: str) -> str:
    return docker(stack, "inspect", "--format", template, name).stdout.strip()


def ansible_playbook(path: Path | str, *extra: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    args = [arg for value in extra for arg in ("-e", value)] + (["--check"] if check else [])
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(INVENTORY), str(path), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "JARVIS_DOCKER_STACK_DIR": str(STACK_DIR)},
    )


def playbook(name: str, *extra: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return ansible_playbook(REPO / "playbooks" / name, *extra, check=check)


def role(tmp_path: Path, name: str, tasks_from: str = "main", variables: dict | None = None, check: bool = False):
    """Run one role of the collection against the stack, as the playbooks include it."""
    path = tmp_path / f"{name}-{tasks_from}.yml"
    path.write_text(
        textwrap.dedent(
            f"""\
            - name: {name} ({tasks_from}) against the docker stack
              hosts: jarvis
              gather_facts: false
              environment: "{{{{ jarvis_environment | default({{}}) }}}}"
              vars_files:
                - {REPO}/playbooks/vars/connections.yml
              vars: {json.dumps(variables or {})}
              module_defaults:
                group/jarvis.maintenance.postgres: "{{{{ jarvis_postgres_defaults }}}}"
                group/jarvis.maintenance.redis: "{{{{ jarvis_redis_defaults }}}}"
              tasks:
                - name: Run the role
                  ansible.builtin.include_role:
                    name: jarvis.maintenance.{name}
                    tasks_from: {tasks_from}
            """
        )
    )
    return ansible_playbook(path, check=check)


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def reports(stack: dict, kind: str) -> list[Path]:
    return sorted(Path(stack["reports_dir"]).glob(f"{kind}-localhost-*.json"), key=lambda p: p.stat().st_mtime)


def newest_report(stack: dict, kind: str) -> dict:
    found = reports(stack, kind)
    assert found, f"no {kind} report in {stack['reports_dir']}"
    return json.loads(found[-1].read_text())


def output(run: subprocess.CompletedProcess[str]) -> str:
    return (run.stdout + run.stderr)[-6000:]
