"""The shared connection helpers (module_utils/_postgres/_client.py, _redis/_client.py) against the real stack."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The collection, wired in from the working tree by `make collection`.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".build" / "collections"))

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres import _client as _postgres
from ansible_collections.jarvis.maintenance.plugins.module_utils._redis import _client as _redis


def pg_params(stack: dict, **overrides) -> dict:
    params = {name: spec.get("default") for name, spec in _postgres.postgres_argument_spec().items()}
    params.update(
        login_host=stack["pg_host"],
        login_port=stack["pg_port"],
        login_user=stack["pg_user"],
        login_password=stack["pg_password"],
        login_db=stack["pg_database"],
        connect_timeout=5,
    )
    params.update(overrides)
    return params


def redis_params(stack: dict, **overrides) -> dict:
    params = {name: spec.get("default") for name, spec in _redis.redis_argument_spec().items()}
    params.update(
        login_host=stack["redis_host"], login_port=stack["redis_port"], login_password=stack["redis_password"]
    )
    params.update(overrides)
    return params


def test_postgres_connect_over_tcp_with_password(stack):
    conn = _postgres.open_connection(pg_params(stack))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database(), current_setting('application_name')")
            assert cur.fetchone() == ("jarvis", "jarvis", "jarvis.maintenance")
        assert conn.autocommit is True
    finally:
        conn.close()


def test_postgres_connect_over_the_unix_socket(stack):
    params = pg_params(stack, login_unix_socket=stack["pg_socket_dir"], login_user="postgres", login_password=None)
    conn = _postgres.open_connection(params, database="postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database()")
            assert cur.fetchone() == ("postgres", "postgres")
    finally:
        conn.close()


def test_postgres_wrong_password_names_the_target_and_hides_the_password(stack):
    with pytest.raises(ModuleError) as failure:
        _postgres.open_connection(pg_params(stack, login_password="not-the-password-xyz"))
    message = str(failure.value)
    assert message.startswith(f"Cannot connect to PostgreSQL at 127.0.0.1:{stack['pg_port']} as jarvis: ")
    assert "password authentication failed" in message
    assert "not-the-password-xyz" not in message


def test_postgres_bad_port_fails_before_connecting(stack):
    with pytest.raises(ModuleError, match="login_port must be between 1 and 65535, got 0"):
        _postgres.open_connection(pg_params(stack, login_port=0))


def test_redis_connect_and_ping(stack):
    client = _redis.connect(redis_params(stack))
    assert client.ping() is True
    assert client.client_getname() == "jarvis.maintenance"


def test_redis_wrong_password_and_closed_port_are_clear(stack):
    with pytest.raises(ModuleError) as failure:
        _redis.connect(redis_params(stack, login_password="not-the-password-xyz"))
    assert str(failure.value).startswith(f"Cannot connect to Redis at redis://127.0.0.1:{stack['redis_port']}/0: ")
    assert "not-the-password-xyz" not in str(failure.value)
    with pytest.raises(ModuleError, match=r"Cannot connect to Redis at redis://127.0.0.1:9/0: .*"):
        _redis.connect(redis_params(stack, login_port=9, connect_timeout=2))
