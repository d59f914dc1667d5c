"""The local stack's Prometheus and node_exporter, tested against the real processes."""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from conftest import port_answers, stack_cli

SCRAPE_WAIT = 30.0  # scrape and evaluation run every 5 s


def api(stack: dict, path: str, method: str = "GET", **params: object) -> dict:
    """Prometheus's HTTP API: the `data` of a successful answer."""
    url = f"{stack['prometheus_url']}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]


def status(url: str, method: str = "GET") -> int | None:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def eventually(what: str, probe: Callable[[], object], timeout: float = SCRAPE_WAIT) -> object:
    """probe's first truthy answer within timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last answer: {answer!r})")
        time.sleep(0.5)


def node_target_health(stack: dict) -> str | None:
    targets = api(stack, "targets", state="active")["activeTargets"]
    return next((t["health"] for t in targets if t["labels"]["job"] == "node"), None)


def query(stack: dict, promql: str) -> list[dict]:
    return api(stack, "query", query=promql)["result"]


def test_prometheus_is_ready_with_the_stack_settings(stack):
    assert status(f"{stack['prometheus_url']}/-/ready") == 200
    assert stack["prometheus_url"] == f"http://127.0.0.1:{stack['ports']['prometheus']}"
    assert stack["node_exporter_url"] == f"http://127.0.0.1:{stack['ports']['node_exporter']}"
    assert os.access(stack["promtool"], os.X_OK)
    textfile = Path(stack["textfile_dir"])
    assert textfile == Path(stack["stack_dir"]) / "textfile"
    assert textfile.stat().st_mode & 0o777 == 0o755
    assert Path(stack["prometheus_rules_dir"]).is_dir()
    flags = api(stack, "status/flags")
    assert flags["storage.tsdb.path"] == stack["prometheus_data_dir"]
    assert flags["storage.tsdb.retention.time"] == "400d"
    assert flags["web.listen-address"] == stack["prometheus_url"].removeprefix("http://")
    config = api(stack, "status/config")["yaml"]
    assert f"{stack['prometheus_rules_dir']}/*.yml" in config
    assert "scrape_interval: 5s" in config
    # node_exporter listens on the loopback only, like Prometheus
    with urllib.request.urlopen(f"{stack['node_exporter_url']}/metrics", timeout=10) as response:
        assert "node_load1 " in response.read().decode()


def test_prometheus_scrapes_node_exporter_and_itself(stack):
    assert eventually("the node target up", lambda: node_target_health(stack) == "up")
    up = eventually("up{job=~'node|prometheus'}", lambda: query(stack, 'up{job=~"node|prometheus"} == 1'))
    assert sorted(series["metric"]["job"] for series in up) == ["node", "prometheus"]


def test_a_metric_in_the_textfile_dir_reaches_prometheus(stack):
    token = secrets.token_hex(4)
    textfile = Path(stack["textfile_dir"])
    prom = textfile / f"stack_test_{token}.prom"
    temp = textfile / f".stack_test_{token}.prom.tmp"  # node_exporter reads only *.prom: write, then rename
    temp.write_text(
        "# HELP jarvis_stack_test_textfile A metric the stack tests write.\n"
        "# TYPE jarvis_stack_test_textfile gauge\n"
        f'jarvis_stack_test_textfile{{token="{token}"}} 42\n'
    )
    temp.rename(prom)
    try:
        found = eventually(
            "the textfile metric in Prometheus", lambda: query(stack, f'jarvis_stack_test_textfile{{token="{token}"}}')
        )
        assert found[0]["value"][1] == "42"
        assert found[0]["metric"]["job"] == "node"
    finally:
        prom.unlink(missing_ok=True)
        temp.unlink(missing_ok=True)


def test_rules_in_the_rules_dir_load_on_reload(stack):
    rules = Path(stack["prometheus_rules_dir"]) / "stack-test.yml"
    rules.write_text(
        "groups:\n  - name: stack_test\n    rules:\n      - alert: StackTestAlwaysFiring\n        expr: vector(1)\n"
    )
    try:
        assert status(f"{stack['prometheus_url']}/-/reload", method="POST") == 200
        groups = api(stack, "rules")["groups"]
        assert "stack_test" in [group["name"] for group in groups]
        eventually(
            "the test alert firing",
            lambda: any(a["labels"]["alertname"] == "StackTestAlwaysFiring" for a in api(stack, "alerts")["alerts"]),
        )
    finally:
        rules.unlink(missing_ok=True)
        assert status(f"{stack['prometheus_url']}/-/reload", method="POST") == 200
    assert "stack_test" not in [group["name"] for group in api(stack, "rules")["groups"]]


def test_backfill_into_the_past_is_queryable(stack, tmp_path):
    """Three weeks back, one sample a minute for an hour: promtool writes blocks, the command waits until they load."""
    token = secrets.token_hex(4)
    start = (int(time.time()) - 21 * 86400) // 60 * 60
    lines = [
        "# HELP jarvis_stack_test_backfill A series the stack tests backfill.",
        "# TYPE jarvis_stack_test_backfill gauge",
        *(f'jarvis_stack_test_backfill{{token="{token}"}} {minute} {start + minute * 60}' for minute in range(60)),
        "# EOF",
    ]
    source = tmp_path / "backfill.om"
    source.write_text("\n".join(lines) + "\n")
    began = time.monotonic()
    result = stack_cli("prometheus-backfill", str(source))
    assert time.monotonic() - began < 30, "the backfill should be quick"
    assert "queryable" in result.stdout, result.stdout
    # queryable as soon as the command returns
    data = api(
        stack,
        "query_range",
        query=f'jarvis_stack_test_backfill{{token="{token}"}}',
        start=start,
        end=start + 59 * 60,
        step="60s",
    )
    assert len(data["result"]) == 1
    values = data["result"][0]["values"]
    assert [(int(t), int(v)) for t, v in values] == [(start + m * 60, m) for m in range(60)]
    # Prometheus came back scraping
    assert eventually("the node target up after the backfill", lambda: node_target_health(stack) == "up")


def test_stop_and_start_node_exporter_and_prometheus(stack):
    try:
        stack_cli("stop-component", "node_exporter")
        assert not port_answers(stack["ports"]["node_exporter"])
        assert "node_exporter: down" in stack_cli("status", check=False).stdout
        # Prometheus sees it: the node target goes down
        eventually("the node target down", lambda: node_target_health(stack) == "down")
    finally:
        assert "node_exporter: started" in stack_cli("start-component", "node_exporter").stdout
    try:
        stack_cli("stop-component", "prometheus")
        assert status(f"{stack['prometheus_url']}/-/ready") is None
        result = stack_cli("status", check=False)
        assert result.returncode == 3
        assert "prometheus: down" in result.stdout
        assert "prometheus: stopped" in stack_cli("stop-component", "prometheus").stdout  # stopped when stopped is fine
    finally:
        assert "prometheus: started" in stack_cli("start-component", "prometheus").stdout
    assert status(f"{stack['prometheus_url']}/-/ready") == 200
    assert "prometheus: running" in stack_cli("start-component", "prometheus").stdout
    eventually("the node target up again", lambda: node_target_health(stack) == "up")
