"""Fixtures for the local stack tests: the real stack, started once (idempotently)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "jarvis-stack"


def stack_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=300, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"jarvis-stack {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def system_services() -> dict[str, bool]:
    """Which of the machine's own servers answer on the standard ports before the tests."""
    return {"postgresql": port_answers(5432), "redis": port_answers(6379)}


@pytest.fixture(scope="session")
def stack(system_services) -> dict:
    stack_cli("up")
    stack_dir = Path(os.environ.get("JARVIS_STACK_DIR") or REPO / ".stack")
    return json.loads((stack_dir / "env.json").read_text())
