"""Fixtures for the local stack tests: the real stack, started once (idempotently)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
import redis

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


def system_postgresql() -> str | None:
    """The machine's own PostgreSQL on 5432: its postmaster start time, or None if it does not answer."""
    try:
        conn = psycopg2.connect("dbname=postgres user=postgres host=127.0.0.1 port=5432 connect_timeout=3")
    except psycopg2.Error:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_postmaster_start_time()::text")
            return cur.fetchone()[0]
    finally:
        conn.close()


def system_redis() -> str | None:
    """The machine's own Redis on 6379: its run_id, or None if it does not answer PING."""
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
        return client.info("server")["run_id"]
    except redis.RedisError:
        return None
    finally:
        client.close()


@pytest.fixture(scope="session")
def system_services() -> dict[str, str | None]:
    """Which of the machine's own servers answer on the standard ports before the stack is touched."""
    return {"postgresql": system_postgresql(), "redis": system_redis()}


@pytest.fixture(scope="session")
def stack(system_services) -> dict:
    stack_cli("up")
    stack_dir = Path(os.environ.get("JARVIS_STACK_DIR") or REPO / ".stack")
    return json.loads((stack_dir / "env.json").read_text())
