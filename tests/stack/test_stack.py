"""The local Jarvis stack, tested against the real processes it starts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psycopg2
import pytest
import redis
from conftest import TOOL, port_answers, stack_cli, system_postgresql, system_redis


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def post(url: str, data: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def pids(stack: dict) -> dict[str, str]:
    run = Path(stack["stack_dir"]) / "run"
    return {
        "postgresql": (Path(stack["pg_data_dir"]) / "postmaster.pid").read_text().split()[0],
        "redis": (run / "redis.pid").read_text().strip(),
        "supervisord": (run / "supervisord.pid").read_text().strip(),
        "nginx": (run / "nginx.pid").read_text().strip(),
        "node_exporter": (run / "node_exporter.pid").read_text().strip(),
        "prometheus": (run / "prometheus.pid").read_text().strip(),
        "backend": supervisor_pid(stack, "backend"),
        "frontend": supervisor_pid(stack, "frontend"),
    }


def supervisor_pid(stack: dict, program: str) -> str:
    result = subprocess.run(
        [stack["supervisorctl"], "-c", stack["supervisor_config"], "pid", program],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.strip().isdigit(), result.stdout
    return result.stdout.strip()


def pg_connect(stack: dict, **overrides):
    params = {
        "host": stack["pg_host"],
        "port": stack["pg_port"],
        "user": stack["pg_user"],
        "password": stack["pg_password"],
        "dbname": stack["pg_database"],
        "connect_timeout": 5,
    }
    params.update(overrides)
    return psycopg2.connect(**params)


def test_up_is_idempotent(stack):
    before = pids(stack)
    result = stack_cli("up")
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    components = ("postgresql", "redis", "supervisor", "backend", "frontend", "nginx", "node_exporter", "prometheus")
    for component in components:
        assert lines[component].startswith("running"), result.stdout
    assert pids(stack) == before
    # the same venv interpreter spelled differently (python vs python3) changes nothing either
    other = "python" if Path(sys.executable).name != "python" else "python3"
    subprocess.run([str(Path(sys.executable).with_name(other)), str(TOOL), "up"], check=True, timeout=300)
    assert pids(stack) == before


def test_status_reports_every_component_up(stack):
    result = stack_cli("status")
    assert result.returncode == 0
    assert "health: 200" in result.stdout


@pytest.mark.parametrize("base", ["http_url", "backend_url"])
def test_health_is_200_through_nginx_and_direct(stack, base):
    status, body = get(f"{stack[base]}/health")
    assert status == 200
    assert body["status"] == "healthy"
    assert body["checks"]["database"]["status"] == "up"
    assert body["checks"]["redis"]["status"] == "up"


def test_frontend_is_served_through_nginx(stack):
    with urllib.request.urlopen(f"{stack['http_url']}/", timeout=10) as response:
        assert response.status == 200
        assert "<h1>Jarvis</h1>" in response.read().decode()


def test_simple_chat_echoes_and_rejects_bad_json(stack):
    status, body = post(f"{stack['http_url']}/simple-chat", json.dumps({"message": "hello"}).encode())
    assert (status, body["response"]) == (200, "Echo: hello")
    status, body = post(f"{stack['http_url']}/simple-chat", b"{not json")
    assert status == 400
    assert "JSON" in body["error"]


def test_postgresql_is_15_with_pg_stat_statements(stack):
    # as jarvis, with its password, over TCP
    with pg_connect(stack) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version_num")
        assert 150000 <= int(cur.fetchone()[0]) < 160000
        cur.execute("SELECT current_user, current_database(), inet_server_port()")
        assert cur.fetchone() == ("jarvis", "jarvis", stack["pg_port"])
        cur.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
        assert cur.fetchone()[0] == 1
        # fails with "pg_stat_statements must be loaded via shared_preload_libraries" if not preloaded
        cur.execute("SELECT count(*) FROM pg_stat_statements")
        assert cur.fetchone()[0] >= 0
    conn.close()
    # jarvis is not a superuser (nor pg_read_all_settings): read the setting as postgres over the socket
    superuser = {"host": stack["pg_socket_dir"], "user": stack["pg_superuser"], "password": None}
    with pg_connect(stack, **superuser) as conn, conn.cursor() as cur:
        cur.execute("SHOW shared_preload_libraries")
        assert "pg_stat_statements" in cur.fetchone()[0]
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'jarvis'")
        assert cur.fetchone()[0] is False
    conn.close()


def test_postgresql_contrib_extensions_can_be_created(stack):
    """pgstattuple and amcheck come with contrib: create them in a throwaway database."""
    # as the superuser, over the stack's private unix socket (trust auth)
    superuser = {"host": stack["pg_socket_dir"], "user": stack["pg_superuser"], "password": None}
    admin = pg_connect(stack, dbname="postgres", **superuser)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS stack_test_throwaway")
            cur.execute("CREATE DATABASE stack_test_throwaway")
        scratch = pg_connect(stack, dbname="stack_test_throwaway", **superuser)
        try:
            with scratch, scratch.cursor() as cur:
                cur.execute("CREATE EXTENSION pgstattuple")
                cur.execute("CREATE EXTENSION amcheck")
                cur.execute("SELECT tuple_count FROM pgstattuple('pg_class')")
                assert cur.fetchone()[0] > 0
        finally:
            scratch.close()
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS stack_test_throwaway")
        admin.close()


def test_postgresql_refuses_a_wrong_password(stack):
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        pg_connect(stack, password="wrong")


def test_redis_requires_the_password_and_keeps_an_aof(stack):
    client = redis.Redis(
        host=stack["redis_host"], port=stack["redis_port"], password=stack["redis_password"], decode_responses=True
    )
    assert client.ping()
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    # the password came from a 0600 file, not from redis-server's command line (any user reads argv)
    auth = Path(client.info("server")["config_file"])
    assert auth == Path(stack["stack_dir"]) / "run" / "redis-auth.conf"
    assert auth.stat().st_mode & 0o777 == 0o600
    anonymous = redis.Redis(host=stack["redis_host"], port=stack["redis_port"])
    try:
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        # the raw protocol says NOAUTH
        with socket.create_connection((stack["redis_host"], stack["redis_port"]), timeout=5) as conn:
            conn.sendall(b"PING\r\n")
            assert conn.recv(256).startswith(b"-NOAUTH")
    finally:
        anonymous.close()
        client.close()


@pytest.mark.parametrize(("component", "check"), [("redis", "redis"), ("postgresql", "database")])
def test_an_outage_makes_health_503_naming_the_component(stack, component, check):
    other = {"redis": "database", "database": "redis"}[check]
    try:
        stack_cli("stop-component", component)
        status, body = get(f"{stack['http_url']}/health")
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["checks"][check]["status"] == "down"
        assert body["checks"][check]["error"]
        assert body["checks"][other]["status"] == "up"
        assert stack_cli("status", check=False).returncode == 3
        assert stack["pg_password"] not in json.dumps(body)
    finally:
        stack_cli("start-component", component)
    assert get(f"{stack['http_url']}/health")[0] == 200


def test_ensure_leaves_a_stopped_component_down(stack):
    try:
        stack_cli("stop-component", "redis")
        result = stack_cli("ensure")
        assert "redis: DOWN" in result.stdout
        assert not port_answers(stack["redis_port"])
    finally:
        stack_cli("start-component", "redis")


def test_env_prints_exports_for_a_shell(stack):
    out = stack_cli("env").stdout
    assert f"export PGPORT='{stack['pg_port']}'" in out
    assert f"export REDISCLI_AUTH='{stack['redis_password']}'" in out


@pytest.mark.parametrize("service", ["postgresql", "redis"])
def test_system_services_are_untouched(stack, system_services, service):
    """After the outages above, the machine's own servers on 5432 and 6379 answer, not restarted."""
    before = system_services[service]
    if before is None:
        pytest.skip("no system service on the standard port")
    probe = {"postgresql": system_postgresql, "redis": system_redis}[service]
    assert probe() == before, f"the machine's own {service} must keep running (and not be restarted)"


def test_zz_down_keeps_data_and_leaves_system_services_alone(stack, system_services):
    """Runs last (zz): stops everything, checks, and brings the stack back up."""
    with pg_connect(stack) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS stack_test_survivor (id int)")
        cur.execute("TRUNCATE stack_test_survivor")
        cur.execute("INSERT INTO stack_test_survivor VALUES (42)")
    conn.close()
    try:
        stack_cli("down")
        for port in ("pg_port", "redis_port"):
            assert not port_answers(stack[port])
        for component in ("prometheus", "node_exporter"):
            assert not port_answers(stack["ports"][component])
            assert not (Path(stack["stack_dir"]) / "run" / f"{component}.pid").exists()
        assert not port_answers(int(stack["http_url"].rsplit(":", 1)[1]))
        assert stack_cli("status", check=False).returncode == 3
        assert "redis: stopped" in stack_cli("down").stdout  # down when down is fine
        for port in ("backend_url", "frontend_url"):
            assert not port_answers(int(stack[port].rsplit(":", 1)[1]))
        assert not Path(stack["supervisor_server_url"].removeprefix("unix://")).exists()
        if system_services["postgresql"]:
            assert system_postgresql() == system_services["postgresql"], (
                "the machine's own PostgreSQL must keep running"
            )
        if system_services["redis"]:
            assert system_redis() == system_services["redis"], "the machine's own Redis must keep running"
    finally:
        stack_cli("up")
    with pg_connect(stack) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM stack_test_survivor")
        assert cur.fetchall() == [(42,)]
        cur.execute("DROP TABLE stack_test_survivor")
    conn.close()
