# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""source: prometheus - the selector check, the PromQL, the answers turned into the daily documents,
and the reports built from them through the same analysis as the files."""

from __future__ import annotations

import datetime
import io
import json
import urllib.parse
from urllib.error import HTTPError, URLError

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Host, ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports import _prometheus, _threshold_review
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._capacity import (
    ARGUMENT_SPEC,
    CapacityReport,
    analyse,
    files_loader,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._metrics import problem

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
END = NOW.date()
GIB = 1024**3


def params(**overrides):
    values = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}
    values.update(source="prometheus", prometheus_url="http://prom:9090", host="web1", end_date=END.isoformat())
    values.update(overrides)
    return values


# -- selectors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ('instance="db1:9100"', 'instance="db1:9100"'),
        ('{instance="db1:9100", job=~"node|pg"}', 'instance="db1:9100", job=~"node|pg"'),
        (' job != "x" ,env!~"dev.*" ', 'job!="x", env!~"dev.*"'),
        (r'instance=~"db1\\.example\\.com(:[0-9]+)?"', r'instance=~"db1\\.example\\.com(:[0-9]+)?"'),
        (r'name="say \"hi\""', r'name="say \"hi\""'),
    ],
)
def test_a_selector_is_label_matchers_normalised(text, normalised):
    assert _prometheus.parse_selector(text) == normalised


@pytest.mark.parametrize(
    "text",
    [
        "",
        "instance",
        "instance=db1",
        "instance='db1'",
        'instance="db1"} or vector(1',
        'instance="db1"}[5m]) or on() vector(1) #',
        'instance="db1" or up',
        'instance="db1"; drop',
        'instance="db1",',
        'instance="db1" job="x"',
        'instance="db1\\"',
        'instance="a\nb"',
        '__name__="up"',
        '1abc="x"',
        'instance="db1"} + sum(up{',
        r'instance="\q"',
    ],
)
def test_anything_but_label_matchers_is_refused_naming_the_option(text):
    with pytest.raises(ValueError, match=r"^prometheus_redis_selector must"):
        _prometheus.parse_selector(text, "prometheus_redis_selector")


def test_the_default_selector_is_the_host_as_instance_with_any_port():
    assert _prometheus.default_selector("db1.example.com") == r'instance=~"db1\\.example\\.com(:[0-9]+)?"'
    with pytest.raises(ValueError, match="prometheus_selector is needed"):
        _prometheus.default_selector('db1"}')
    chosen = _prometheus.selectors(params(prometheus_postgres_selector='job="pg"'))
    assert chosen == {"node": 'instance=~"web1(:[0-9]+)?"', "postgres": 'job="pg"', "redis": chosen["node"]}


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({}, None),
        ({"source": "files", "prometheus_url": None}, None),
        ({"prometheus_url": None}, "prometheus_url is required with source prometheus"),
        ({"prometheus_url": "ftp://prom"}, "prometheus_url must be an http:// or https:// URL"),
        ({"prometheus_url": "http://prom:9090/?x=1"}, "prometheus_url must be the server's base URL"),
        ({"prometheus_url": "http://prom:99999"}, "prometheus_url is not a valid URL"),
        ({"prometheus_url": "http://u:hunter2@prom:99999"}, "prometheus_url is not a valid URL"),
        ({"prometheus_timeout": 0.0}, "prometheus_timeout must be seconds above 0"),
        ({"prometheus_password": "x"}, "prometheus_password needs prometheus_username"),
        ({"prometheus_username": "u", "prometheus_bearer_token": "t"}, "prometheus_username/prometheus_password and"),
        ({"client_key": "/k"}, "client_key needs client_cert"),
        ({"prometheus_mountpoint": " "}, "prometheus_mountpoint must name"),
        ({"prometheus_sample_time": "2:00"}, "prometheus_sample_time must be a UTC time HH:MM"),
        ({"prometheus_sample_time": "24:00"}, "prometheus_sample_time must be a UTC time HH:MM"),
        ({"prometheus_selector": "up"}, "prometheus_selector must be label matchers"),
        ({"prometheus_postgres_selector": "x=1"}, "prometheus_postgres_selector must be label matchers"),
        ({"host": "a/b"}, "prometheus_selector is needed"),
    ],
)
def test_check_params_names_the_option(overrides, words):
    found = _prometheus.check_params(params(**overrides))
    assert (found is None) if words is None else found.startswith(words), found
    assert "hunter2" not in (found or "")


# -- PromQL and answers -------------------------------------------------------------------------


def test_queries_use_the_selectors_and_quote_the_mountpoint():
    asked = _prometheus.queries({"node": 'a="1"', "postgres": 'b="2"', "redis": 'c="3"'}, '/data "x"')
    assert asked["memory_total"] == ("prometheus_selector", 'node_memory_MemTotal_bytes{a="1"}')
    assert (
        asked["fs_avail"][1]
        == 'max without (device, fstype) (node_filesystem_avail_bytes{a="1", mountpoint="/data \\"x\\""})'
    )
    assert asked["cpu_count"][1] == 'count without (cpu, mode) (node_cpu_seconds_total{a="1", mode="idle"})'
    assert (
        asked["pg_connections"][0] == "prometheus_postgres_selector"
        and 'pg_stat_activity_count{b="2"}' in asked["pg_connections"][1]
    )
    assert asked["redis_max"] == ("prometheus_redis_selector", 'redis_memory_max_bytes{c="3"}')


def matrix(*series):
    return json.dumps(
        {
            "status": "success",
            "data": {"resultType": "matrix", "result": [{"metric": m, "values": v} for m, v in series]},
        }
    ).encode()


def test_an_answer_is_series_of_finite_points():
    raw = matrix(({"instance": "a"}, [[1.0, "2.5"], [2.0, "NaN"], [3.0, "+Inf"], [4.0, "1e300"], [5.0, "7"]]))
    assert _prometheus.parse_answer(raw) == [({"instance": "a"}, {1.0: 2.5, 5.0: 7.0})]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"<html>", "the answer is not JSON"),
        (b"\xff", "the answer is not JSON"),
        (b"[]", "the answer is not a success"),
        (b'{"status": "error", "error": "bad query"}', "the answer is not a success (bad query)"),
        (b'{"status": "success", "data": {"resultType": "vector", "result": []}}', "not a range query's matrix"),
        (b'{"status": "success", "data": {"resultType": "matrix", "result": [1]}}', "has no labels"),
        (matrix(({}, [[1, "2", 3]])), "a point of the answer is not [time, value]"),
        (matrix(({}, [["x", "2"]])), "a point of the answer is not [time, value]"),
    ],
)
def test_a_bad_answer_is_a_value_error(raw, words):
    with pytest.raises(ValueError) as error:
        _prometheus.parse_answer(raw)
    assert words in str(error.value)


def test_a_selector_that_picks_two_hosts_is_an_error_naming_it():
    answers = {"load_5": [({"instance": "a"}, {1.0: 1.0}), ({"instance": "b"}, {1.0: 2.0})]}
    with pytest.raises(
        ValueError, match=r'^prometheus_selector picks more than one series for load_5 \(\{instance="a"\}'
    ):
        _prometheus.by_time(answers, {"load_5": "prometheus_selector"})
    databases = {
        "pg_database_bytes": [({"datname": "a", "i": "1"}, {1.0: 5.0}), ({"datname": "b", "i": "1"}, {1.0: 6.0})]
    }
    assert _prometheus.by_time(databases, {"pg_database_bytes": "x"}) == {
        1.0: {"pg_database_bytes": {"a": 5.0, "b": 6.0}}
    }
    twice = {"pg_database_bytes": [({"datname": "a", "i": "1"}, {}), ({"datname": "a", "i": "2"}, {})]}
    with pytest.raises(ValueError, match=r"^prometheus_postgres_selector picks more"):
        _prometheus.by_time(twice, {"pg_database_bytes": "prometheus_postgres_selector"})


FULL_DAY = {
    "memory_total": 8.0 * GIB,
    "memory_available": 2.0 * GIB,
    "load_1": 1.0,
    "load_5": 2.0,
    "load_15": 3.0,
    "cpu_count": 4.0,
    "uptime": 1000.4,
    "fs_size": 100e9,
    "fs_free": 30e9,
    "fs_avail": 25e9,
    "fs_files": 1000.0,
    "fs_files_free": 750.0,
    "pg_connections": 25.0,
    "pg_max_connections": 200.0,
    "pg_database_bytes": {"jarvis": 5e8, "other": 1e8},
    "redis_used": 0.5 * GIB,
    "redis_max": 2.0 * GIB,
    "redis_clients": 7.0,
}


def test_a_day_of_values_is_the_document_the_daily_run_writes():
    moment = datetime.datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    docs, skipped, missing = _prometheus.documents("web1", {moment.timestamp(): FULL_DAY}, [END], "/")
    doc = docs[END]
    assert (skipped, missing, problem(doc)) == ([], [], None)
    assert (doc["date"], doc["timestamp"], doc["host"]) == ("2026-11-28", "2026-11-28T02:00:00Z", "web1")
    assert doc["memory"] == {"total_bytes": 8 * GIB, "available_bytes": 2 * GIB, "used_bytes": 6 * GIB, "percent": 75.0}
    assert doc["load"]["per_core_5"] == 0.5 and doc["cpu_count"] == 4 and doc["uptime_seconds"] == 1000
    # As df (and host_resources): used / (used + available to users); 70 / 95.
    assert doc["disk"]["percent"] == 73.7 and doc["disk"]["inode_percent"] == 25.0 and doc["disk"]["path"] == "/"
    assert doc["postgres"] == {
        "connections": 25,
        "max_connections": 200,
        "connections_percent": 12.5,
        "databases": {"jarvis": 500000000, "other": 100000000},
        "total_bytes": 600000000,
    }
    assert doc["redis"] == {
        "connected_clients": 7,
        "used_memory_bytes": GIB // 2,
        "maxmemory_bytes": 2 * GIB,
        "memory_percent": 25.0,
    }
    assert doc["backend"] is None and doc["unavailable"] == {}


def test_what_an_exporter_does_not_have_is_null_and_a_day_without_values_is_missing():
    day1 = datetime.datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    node_only = {key: value for key, value in FULL_DAY.items() if not key.startswith(("pg_", "redis_"))}
    no_max = {**node_only, "redis_used": 1.0, "redis_max": 0.0, "fs_free": None, "load_1": None}
    docs, _skipped, missing = _prometheus.documents(
        "web1", {day1.timestamp(): no_max, day1.timestamp() + 86400: {}}, [END - datetime.timedelta(days=1), END], "/"
    )
    assert missing == ["2026-11-28"]
    doc = docs[datetime.date(2026, 11, 27)]
    assert doc["postgres"] is None
    assert doc["redis"]["memory_percent"] is None and doc["redis"]["connected_clients"] is None
    # Without the free bytes, the reserved blocks count as used: 1 - avail / size.
    assert doc["disk"]["percent"] == 75.0 and doc["load"]["load_1"] == 2.0
    memory_only = {"memory_total": 100.0, "memory_available": 40.0}
    docs, _skipped, _missing = _prometheus.documents("web1", {day1.timestamp(): memory_only}, [day1.date()], "/")
    assert docs[day1.date()]["memory"]["percent"] == 60.0 and docs[day1.date()]["load"]["per_core_5"] is None


def test_the_window_is_one_point_a_day_at_the_sample_time_until_now():
    at = _prometheus.sample_time("02:00")
    dates = [END - datetime.timedelta(days=2), END - datetime.timedelta(days=1), END]
    start, end = _prometheus.window(dates, at, NOW)
    assert (end - start) == 2 * 86400 and datetime.datetime.fromtimestamp(start, UTC).hour == 2
    early = datetime.datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    start, end = _prometheus.window(dates, at, early)
    assert end - start == 86400
    assert _prometheus.window([END], at, early) is None


# -- the reports, through a fake server -----------------------------------------------------------


class FakeServer:
    """Answers query_range like Prometheus for a memory rising 1.5 points a day (and a constant load)."""

    def __init__(self, status=200, body=None):
        self.calls = []
        self.status, self.body = status, body

    def value(self, name, stamp):
        days = (stamp - datetime.datetime(2026, 11, 1, tzinfo=UTC).timestamp()) / 86400
        return {
            "node_memory_MemTotal_bytes": 1000.0,
            "node_memory_MemAvailable_bytes": 1000.0 - (400.0 + 15.0 * days),
            "node_load5": 0.8,
            "node_load1": 0.8,
            "node_load15": 0.8,
        }.get(name)

    def __call__(self, url, **kwargs):
        self.calls.append((url, kwargs))
        if self.status != 200:
            raise HTTPError(url, self.status, "Unauthorized", {}, io.BytesIO(self.body or b""))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        start, end, step = (float(query[key][0]) for key in ("start", "end", "step"))
        promql = query["query"][0]
        name = promql.split("{")[0].split("(")[-1].strip()
        stamps = [start + step * index for index in range(int((end - start) // step) + 1)]
        if promql.startswith("count without"):
            series = [({"instance": "web1:9100"}, [[stamp, "2"] for stamp in stamps])]
        elif self.value(name, start) is None:
            series = []
        else:
            series = [({"instance": "web1:9100"}, [[stamp, repr(self.value(name, stamp))] for stamp in stamps])]
        return io.BytesIO(matrix(*series))


def documents_of(server, dates, at="02:00"):
    """The documents the files would hold: the same values at the same times."""
    result = {}
    for day in dates:
        moment = datetime.datetime.combine(day, _prometheus.sample_time(at))
        stamp = moment.timestamp()
        values = {
            "memory_total": server.value("node_memory_MemTotal_bytes", stamp),
            "memory_available": server.value("node_memory_MemAvailable_bytes", stamp),
            "load_1": 0.8,
            "load_5": 0.8,
            "load_15": 0.8,
            "cpu_count": 2.0,
        }
        result.update(_prometheus.documents("web1", {stamp: values}, [day], "/")[0])
    return result


def test_the_prometheus_report_is_the_files_report_of_the_same_documents(tmp_path):
    server = FakeServer()
    wanted = params(days=14, end_date=None, prometheus_bearer_token="s3cr3t-token-value")
    load = _prometheus.loader(wanted, NOW, _prometheus.Client(wanted, server))
    from_prometheus = analyse(wanted, END, load)
    dates = [END - datetime.timedelta(days=13 - index) for index in range(14)]
    docs = documents_of(server, dates)
    host = tmp_path / "web1"
    host.mkdir()
    for day, doc in docs.items():
        (host / f"metrics-{day.isoformat()}.json").write_text(json.dumps(doc))
    from_files = analyse(
        {**wanted, "source": "files", "metrics_dir": str(tmp_path)}, END, files_loader({"metrics_dir": str(tmp_path)})
    )
    assert from_prometheus["findings"] == from_files["findings"]
    assert from_prometheus["hosts"] == from_files["hosts"]
    memory = from_prometheus["hosts"]["web1"]["memory_percent"]
    assert memory["samples"] == 14 and memory["slope_per_day"] == pytest.approx(1.5)
    assert any(f["check"] == "forecast" and f["severity"] == "warning" for f in from_prometheus["findings"])
    # One range query per value, a day a step, aligned on the sample time; the token in a header.
    url, kwargs = server.calls[0]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert url.startswith("http://prom:9090/api/v1/query_range?") and query["step"] == ["86400"]
    assert datetime.datetime.fromtimestamp(float(query["start"][0]), UTC) == datetime.datetime(
        2026, 11, 15, 2, 0, tzinfo=UTC
    )
    assert kwargs["headers"]["Authorization"] == "Bearer s3cr3t-token-value" and kwargs["url_username"] is None
    review = {
        **wanted,
        "days": 14,
        "noisy_percent": 20.0,
        "title": None,
        "thresholds": [{"name": "Memory", "metric": "memory_percent", "warning": 80.0, "critical": 90.0}],
    }
    reviewed = _threshold_review.analyse(review, END, load)
    files_review = _threshold_review.analyse(
        {**review, "metrics_dir": str(tmp_path)}, END, files_loader({"metrics_dir": str(tmp_path)})
    )
    assert reviewed["rows"] == files_review["rows"] and reviewed["rows"][0]["samples"] == 14


def run_module(args, monkeypatch, server):
    monkeypatch.setattr(_prometheus, "open_url", server)
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    return module, CapacityReport(module.params, module.check_mode, Host(module), now=NOW)


def test_the_module_reads_prometheus_and_keeps_secrets_out(tmp_path, monkeypatch):
    server = FakeServer()
    out = tmp_path / "c.json"
    args = params(prometheus_url="http://jarvis:hunter2@prom:9090/", prometheus_password=None, json=str(out))
    module, backend = run_module(args, monkeypatch, server)
    result = backend.run()
    assert "hunter2" in module.no_log_values
    assert result["hosts"]["web1"]["memory_percent"]["samples"] == 7
    report = out.read_text()
    assert "hunter2" not in report and "hunter2" not in json.dumps(result)
    assert json.loads(report)["source"]["url"] == "http://jarvis:<redacted>@prom:9090"


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (401, b"", "HTTP 401 Unauthorized for node_memory_MemTotal_bytes"),
        (400, b'{"status":"error","errorType":"bad_data","error":"parse error"}', "HTTP 400 bad_data: parse error"),
        (404, b"404 page not found", "without /api/v1"),
    ],
)
def test_an_error_answer_is_a_module_error_with_a_hint(monkeypatch, status, body, words):
    _module, backend = run_module(
        params(prometheus_username="u", prometheus_password="pw-hunter2"), monkeypatch, FakeServer(status, body)
    )
    with pytest.raises(ModuleError) as error:
        backend.run()
    assert error.value.msg.startswith("Cannot read Prometheus at http://prom:9090: ") and words in error.value.msg
    if status == 401:
        assert "prometheus_username/prometheus_password or prometheus_bearer_token" in error.value.msg


def test_an_unreachable_server_names_the_option(monkeypatch):
    def refuse(url, **kwargs):
        assert kwargs["url_username"] == "u" and kwargs["url_password"] == "pw" and kwargs["force_basic_auth"]
        raise URLError("Connection refused")

    _module, backend = run_module(params(prometheus_username="u", prometheus_password="pw"), monkeypatch, refuse)
    with pytest.raises(
        ModuleError, match=r"Cannot read Prometheus at http://prom:9090: Connection refused \(check prometheus_url"
    ):
        backend.run()


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"host": None}, "host is required with source prometheus"),
        ({"measured": {"host_resources": {}}}, "measured writes today's metrics document"),
        ({"prometheus_selector": 'instance="a"} or vector(1'}, "prometheus_selector must be label matchers"),
        ({"source": "files"}, "metrics_dir is required with source files"),
    ],
)
def test_the_module_refuses_what_cannot_work(monkeypatch, overrides, words):
    _module, backend = run_module(params(**overrides), monkeypatch, FakeServer())
    with pytest.raises(ModuleError, match=f"^Cannot write the (capacity report|metrics document): {words}"):
        backend.run()


def test_the_markdown_says_the_report_was_read_from_prometheus(tmp_path, monkeypatch):
    out = tmp_path / "c.md"
    _module, backend = run_module(params(markdown=str(out)), monkeypatch, FakeServer())
    backend.run()
    assert (
        'Read from Prometheus at http://prom:9090, one point a day at 02:00 UTC (selectors: node `instance=~"web1'
        in (out.read_text())
    )
    assert _prometheus.source_line({"type": "files", "metrics_dir": "/m"}) == []
