# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Daily metrics documents from Prometheus: the ``source: prometheus`` of capacity_report and threshold_review.

The reports analyse one ``jarvis.maintenance/metrics/1`` document per day whatever the source. Here
range queries (``/api/v1/query_range``) over the report's window, one point a day at the same time of
day (``prometheus_sample_time``: when the daily run writes its document, 02:00 UTC by default), read
node_exporter, postgres_exporter and redis_exporter; each day's values are turned into the results
the measuring modules would have returned (host_resources, pg_maintenance, redis_maintenance) and
built into that day's document by ``_metrics.document``, the writer of the files, with the same
formulas and rounding (``_host._resources``). What follows (trend, forecast, findings, the
threshold review) is the same code for both sources: only the loader differs.

A metric an exporter does not have is missing for that day (null in the document), as a null in
the files; a day without any value is a missing day. The label matchers that pick the host's
series are validated here (``selector_problem``): a list of ``label op "value"``, nothing else of
PromQL reaches the server.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import types
from http.client import HTTPException
from typing import Any, Callable, Dict, List, Mapping, Tuple
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlencode, urlsplit

from ansible.module_utils.urls import open_url

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._resources import (
    disk_usage,
    load_usage,
    memory_usage,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports import _metrics

DAY_SECONDS = 86400
MAX_TIMEOUT = 3600
# An answer larger than this is not a day-a-point answer of one host (3660 days of one series are ~100 KiB).
BODY_LIMIT = 32 * 1024 * 1024
DEFAULT_SAMPLE_TIME = "02:00"

# The options both report modules add; documented in their module files.
ARGUMENT_SPEC: dict[str, Any] = {
    "source": {"type": "str", "default": "files", "choices": ["files", "prometheus"]},
    "prometheus_url": {"type": "str"},
    "prometheus_username": {"type": "str"},
    "prometheus_password": {"type": "str", "no_log": True},
    "prometheus_bearer_token": {"type": "str", "no_log": True},
    "prometheus_timeout": {"type": "float", "default": 30.0},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "client_cert": {"type": "path"},
    "client_key": {"type": "path", "no_log": False},
    "prometheus_selector": {"type": "str"},
    "prometheus_postgres_selector": {"type": "str"},
    "prometheus_redis_selector": {"type": "str"},
    "prometheus_mountpoint": {"type": "str", "default": "/"},
    "prometheus_sample_time": {"type": "str", "default": DEFAULT_SAMPLE_TIME},
}

# -- label matchers (pure) ----------------------------------------------------------------------

_LABEL = r"[A-Za-z_][A-Za-z0-9_]*"
# A double-quoted PromQL string: any character but a quote, a backslash or a newline, or an escape.
_VALUE = r'"(?:[^"\\\n]|\\[abfnrtv\\"\'])*"'
_MATCHER = re.compile(rf"\s*(?P<label>{_LABEL})\s*(?P<op>=~|!~|!=|=)\s*(?P<value>{_VALUE})\s*")
_SAMPLE_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def quote(value: str) -> str:
    """value as a double-quoted PromQL string (pure)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def parse_selector(text: str, option: str = "prometheus_selector") -> str:
    """The label matchers of text, normalised (``a="b", c=~"d"``), braces optional (pure).

    Raises ValueError naming option for anything else: a selector picks series, it is not PromQL."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    refused = ValueError(
        f'{option} must be label matchers like instance="db1:9100", job=~"node|pg" (a label, =, !=, =~ '
        f"or !~, a double-quoted value; comma-separated), got {text!r}"
    )
    matchers, position = [], 0
    while True:
        match = _MATCHER.match(body, position)
        if not match:
            raise refused
        if match.group("label") == "__name__":
            raise ValueError(f"{option} must not match __name__ (the metric names are the module's), got {text!r}")
        matchers.append(f"{match.group('label')}{match.group('op')}{match.group('value')}")
        position = match.end()
        if position == len(body):
            return ", ".join(matchers)
        if body[position] != ",":
            raise refused
        position += 1


def default_selector(host: str) -> str:
    """The host's series when no selector is given: instance is the host, with or without a port (pure).

    Raises ValueError when host is not a plain host name (say which series with prometheus_selector)."""
    if not _HOST_NAME.match(host or ""):
        raise ValueError(f"prometheus_selector is needed: host {host!r} is not a plain host name to match instance")
    pattern = host.replace(".", "\\.")
    return f"instance=~{quote(pattern + '(:[0-9]+)?')}"


def selectors(params: Mapping[str, Any]) -> dict[str, str]:
    """The node, postgres and redis selectors, validated (pure); the exporters' default to the node's.
    Raises ValueError naming the option."""
    given = params.get("prometheus_selector")
    node = parse_selector(given) if given is not None else default_selector(params.get("host") or "")
    result = {"node": node}
    for part in ("postgres", "redis"):
        option = f"prometheus_{part}_selector"
        result[part] = parse_selector(params[option], option) if params.get(option) is not None else node
    return result


def sample_time(text: str) -> datetime.time:
    match = _SAMPLE_TIME.match(text or "")
    if not match:
        raise ValueError(f"prometheus_sample_time must be a UTC time HH:MM, like 02:00, got {text!r}")
    return datetime.time(int(match.group(1)), int(match.group(2)), tzinfo=_time.UTC)


def url_problem(url: str | None) -> str | None:
    if not url:
        return "prometheus_url is required with source prometheus (the server's base URL, like http://prometheus:9090)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        return f"prometheus_url is not a valid URL ({exc}), got {redact(url)!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"prometheus_url must be an http:// or https:// URL with a host, got {redact(url)!r}"
    if parts.query or parts.fragment:
        return f"prometheus_url must be the server's base URL, without a query or fragment, got {redact(url)!r}"
    return None


def check_params(params: Mapping[str, Any]) -> str | None:
    """Why the Prometheus options cannot work, naming the option, or None (pure). Only for source prometheus."""
    if params.get("source", "files") != "prometheus":
        return None
    why = url_problem(params.get("prometheus_url"))
    if why:
        return why
    if not 0 < params["prometheus_timeout"] <= MAX_TIMEOUT:
        return (
            f"prometheus_timeout must be seconds above 0 and at most {MAX_TIMEOUT}, got {params['prometheus_timeout']}"
        )
    if params.get("prometheus_password") is not None and not params.get("prometheus_username"):
        return "prometheus_password needs prometheus_username"
    if params.get("prometheus_bearer_token") is not None and params.get("prometheus_username"):
        return "prometheus_username/prometheus_password and prometheus_bearer_token exclude each other: set one"
    if params.get("prometheus_bearer_token") == "":
        return "prometheus_bearer_token must not be empty"
    if params.get("client_key") and not params.get("client_cert"):
        return "client_key needs client_cert"
    if not (params.get("prometheus_mountpoint") or "").strip():
        return "prometheus_mountpoint must name the data filesystem's mount point, like /"
    try:
        sample_time(params["prometheus_sample_time"])
        selectors(params)
    except ValueError as exc:
        return str(exc)
    return None


def shown_url(url: str) -> str:
    return redact(url.rstrip("/"))


# -- PromQL (pure) ----------------------------------------------------------------------------

# Labels summed away to count a server's connections (postgres_exporter's pg_stat_activity_count).
_ACTIVITY_LABELS = "datname, state, usename, application_name, backend_type"


def queries(chosen: Mapping[str, str], mountpoint: str) -> dict[str, tuple[str, str]]:
    """name -> (the selector option it uses, the PromQL), one per value of the daily document (pure)."""
    node, pg, redis = chosen["node"], chosen["postgres"], chosen["redis"]
    fs = f"{node}, mountpoint={quote(mountpoint)}"

    def filesystem(metric: str) -> str:
        # A mount point can show twice (rootfs and the device); they are the same filesystem.
        return f"max without (device, fstype) ({metric}{{{fs}}})"

    nodes = "prometheus_selector"
    return {
        "memory_total": (nodes, f"node_memory_MemTotal_bytes{{{node}}}"),
        "memory_available": (nodes, f"node_memory_MemAvailable_bytes{{{node}}}"),
        "load_1": (nodes, f"node_load1{{{node}}}"),
        "load_5": (nodes, f"node_load5{{{node}}}"),
        "load_15": (nodes, f"node_load15{{{node}}}"),
        "cpu_count": (nodes, f'count without (cpu, mode) (node_cpu_seconds_total{{{node}, mode="idle"}})'),
        "uptime": (nodes, f"node_time_seconds{{{node}}} - node_boot_time_seconds{{{node}}}"),
        "fs_size": (nodes, filesystem("node_filesystem_size_bytes")),
        "fs_free": (nodes, filesystem("node_filesystem_free_bytes")),
        "fs_avail": (nodes, filesystem("node_filesystem_avail_bytes")),
        "fs_files": (nodes, filesystem("node_filesystem_files")),
        "fs_files_free": (nodes, filesystem("node_filesystem_files_free")),
        "pg_connections": (
            "prometheus_postgres_selector",
            f"sum without ({_ACTIVITY_LABELS}) (pg_stat_activity_count{{{pg}}})",
        ),
        "pg_max_connections": ("prometheus_postgres_selector", f"pg_settings_max_connections{{{pg}}}"),
        # One series per database (datname).
        "pg_database_bytes": ("prometheus_postgres_selector", f"pg_database_size_bytes{{{pg}}}"),
        "redis_used": ("prometheus_redis_selector", f"redis_memory_used_bytes{{{redis}}}"),
        "redis_max": ("prometheus_redis_selector", f"redis_memory_max_bytes{{{redis}}}"),
        "redis_clients": ("prometheus_redis_selector", f"redis_connected_clients{{{redis}}}"),
    }


# -- answers (pure) ---------------------------------------------------------------------------

Series = List[Tuple[Dict[str, str], Dict[float, float]]]


def parse_answer(raw: bytes) -> Series:
    """The series of a query_range answer: (labels, {unix time: value}); values that are not finite
    numbers (NaN, +Inf: no measurement) are left out (pure). Raises ValueError for anything that is
    not a successful matrix answer."""
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"the answer is not JSON ({exc})") from None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        raise ValueError(f"the answer is not a success ({error or 'no status'})")
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise ValueError("the answer is not a range query's matrix")
    series: Series = []
    for item in data["result"]:
        if not isinstance(item, dict) or not isinstance(item.get("metric"), dict):
            raise ValueError("a series of the answer has no labels")
        points: dict[float, float] = {}
        for point in item.get("values") or []:
            if not isinstance(point, list) or len(point) != 2:
                raise ValueError(f"a point of the answer is not [time, value]: {point!r:.80}")
            try:
                stamp, value = float(point[0]), float(point[1])
            except (TypeError, ValueError):
                raise ValueError(f"a point of the answer is not [time, value]: {point!r:.80}") from None
            if math.isfinite(stamp) and _metrics.finite_number(value):
                points[stamp] = value
        series.append(({str(k): str(v) for k, v in item["metric"].items()}, points))
    return series


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{key}={quote(value)}" for key, value in sorted(labels.items())) + "}"


def by_time(answers: Mapping[str, Series], options: Mapping[str, str]) -> dict[float, dict[str, Any]]:
    """{unix time: {value name: value}} from the answers of queries(); pg_database_bytes is a dict by
    database (pure). Raises ValueError naming the selector option when a selector picks the series of
    more than one host (a name answered by two series)."""
    points: dict[float, dict[str, Any]] = {}
    for name, series in answers.items():
        if name == "pg_database_bytes":
            keyed: dict[str, dict[str, str]] = {}
            for labels, values in series:
                database = labels.get("datname", "")
                others = {key: value for key, value in labels.items() if key not in ("datname", "__name__")}
                if database in keyed and keyed[database] != others:
                    raise ValueError(_ambiguous(options[name], name, [keyed[database], others]))
                keyed[database] = others
                for stamp, value in values.items():
                    points.setdefault(stamp, {}).setdefault(name, {})[database] = value
            continue
        if len(series) > 1:
            raise ValueError(_ambiguous(options[name], name, [labels for labels, _values in series]))
        for _labels_of, values in series:
            for stamp, value in values.items():
                points.setdefault(stamp, {})[name] = value
    return points


def _ambiguous(option: str, name: str, label_sets: list[dict[str, str]]) -> str:
    shown = ", ".join(_labels(labels) for labels in label_sets[:4])
    return f"{option} picks more than one series for {name} ({shown}): add a label matcher that picks one host"


def _integer(value: Any) -> int | None:
    return None if value is None else round(value)


def measured(values: Mapping[str, Any], mountpoint: str) -> dict[str, Any]:
    """One day's values as the registered results of the measuring modules that _metrics.document
    reads (pure): host_resources (the same memory, load and disk formulas), pg_maintenance (the
    connections check's percent, the database_size check's bytes) and redis_maintenance. A source
    without any value is absent (null in the document)."""
    result: dict[str, Any] = {}
    memory, load, disks = {}, {}, []
    total, available = values.get("memory_total"), values.get("memory_available")
    if total is not None and available is not None and total > 0:
        memory = memory_usage({"MemTotal": _integer(total), "MemAvailable": _integer(available)})
    loads = [values.get(name) for name in ("load_1", "load_5", "load_15")]
    if values.get("load_5") is not None and values.get("cpu_count"):
        loads = [values["load_5"] if value is None else value for value in loads]
        load = load_usage((loads[0], loads[1], loads[2]), _integer(values["cpu_count"]) or 1)
    size, avail = values.get("fs_size"), values.get("fs_avail")
    if size is not None and avail is not None and size > 0:
        free = values.get("fs_free")
        stat = types.SimpleNamespace(
            f_blocks=_integer(size),
            f_frsize=1,
            # Without the free bytes, the blocks reserved for root count as used.
            f_bfree=_integer(avail if free is None else free),
            f_bavail=_integer(avail),
            f_files=_integer(values.get("fs_files")) or 0,
            f_ffree=_integer(values.get("fs_files_free")) or 0,
        )
        disks = [disk_usage(mountpoint, stat)]
    if memory or load or disks:
        result["host_resources"] = {
            "memory": memory,
            "load": load,
            "disks": disks,
            "uptime_seconds": _integer(values.get("uptime")),
        }
    total_connections, maximum = values.get("pg_connections"), values.get("pg_max_connections")
    sizes = values.get("pg_database_bytes") or {}
    if total_connections is not None or maximum is not None or sizes:
        connections: dict[str, Any] = {"total": _integer(total_connections), "max_connections": _integer(maximum)}
        if total_connections is not None and maximum is not None:
            # As the connections check: round(100 * total / max_connections, 1), 0 without a maximum.
            connections["percent"] = round(100.0 * total_connections / maximum, 1) if maximum else 0.0
        result["pg_maintenance"] = {
            "report": {
                "cluster": {"connections": connections},
                "databases": {
                    name: {"database_size": {"bytes": _integer(size)}} for name, size in sorted(sizes.items())
                },
            }
        }
    used, limit, clients = values.get("redis_used"), values.get("redis_max"), values.get("redis_clients")
    if used is not None or limit is not None or clients is not None:
        result["redis_maintenance"] = {
            "info": {
                "memory": {"used_bytes": _integer(used), "maxmemory_bytes": _integer(limit) or 0},
                "clients": {"connected": _integer(clients)},
            }
        }
    return result


def documents(
    host: str, points: Mapping[float, Mapping[str, Any]], dates: list[datetime.date], mountpoint: str
) -> tuple[dict[datetime.date, dict[str, Any]], list[dict[str, str]], list[str]]:
    """What load_host returns for the files, from the points by time (pure): a document per day of
    dates that has a value (the first point of the day), the points not used with their reason, the
    missing days."""
    wanted = set(dates)
    chosen: dict[datetime.date, dict[str, Any]] = {}
    skipped: list[dict[str, str]] = []
    for stamp in sorted(points):
        moment = datetime.datetime.fromtimestamp(stamp, _time.UTC)
        day = moment.date()
        if day not in wanted or day in chosen:
            continue
        results = measured(points[stamp], mountpoint)
        if not results:
            continue
        document = _metrics.document(host, moment, results, {})
        why = _metrics.problem(document)
        if why:
            skipped.append({"file": f"prometheus at {_time.iso(moment)}", "reason": why})
            continue
        chosen[day] = document
    missing = [day.isoformat() for day in dates if day not in chosen]
    return chosen, skipped, missing


def window(dates: list[datetime.date], at: datetime.time, now: datetime.datetime) -> tuple[float, float] | None:
    """The range query's start and end: the sample time on the first and the last day, the end no
    later than now; None when the window's first sample is still to come (pure)."""
    start = datetime.datetime.combine(dates[0], at)
    end = min(datetime.datetime.combine(dates[-1], at), now)
    if end < start:
        return None
    # Aligned on the days: the last point is a whole number of days after the first.
    end = start + datetime.timedelta(days=math.floor((end - start).total_seconds() / DAY_SECONDS))
    return start.timestamp(), end.timestamp()


# -- the server ---------------------------------------------------------------------------------


def _reason(body: bytes) -> str:
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return body[:200].decode("utf-8", errors="replace").strip()
    if isinstance(answer, dict) and answer.get("error"):
        return f"{answer.get('errorType') or 'error'}: {answer['error']}"
    return ""


class Client:
    """Range queries on one Prometheus server, through ansible's open_url (as http_check)."""

    def __init__(self, params: Mapping[str, Any], opener: Callable[..., Any] | None = None) -> None:
        self.params = params
        self.base = params["prometheus_url"].rstrip("/")
        self.shown = shown_url(params["prometheus_url"])
        self.opener = opener or open_url

    def query_range(self, query: str, start: float, end: float, step: int = DAY_SECONDS) -> Series:
        params = self.params
        url = f"{self.base}/api/v1/query_range?" + urlencode(
            {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)}
        )
        token = params.get("prometheus_bearer_token")
        cannot = f"Cannot read Prometheus at {self.shown}"
        try:
            response = self.opener(
                url,
                method="GET",
                headers={"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
                timeout=params["prometheus_timeout"],
                validate_certs=params["validate_certs"],
                url_username=params.get("prometheus_username"),
                url_password=params.get("prometheus_password"),
                force_basic_auth=bool(params.get("prometheus_username")),
                ca_path=params.get("ca_path"),
                client_cert=params.get("client_cert"),
                client_key=params.get("client_key"),
                # A redirect is not followed: the credentials would go with it.
                follow_redirects="none",
            )
            raw = response.read(BODY_LIMIT + 1)
        except HTTPError as exc:
            reason = _reason(exc.read(64 * 1024) if exc.fp else b"")
            hint = ""
            if exc.code in (401, 403):
                hint = " (check prometheus_username/prometheus_password or prometheus_bearer_token)"
            elif exc.code == 404:
                hint = " (prometheus_url must be the server's base URL, without /api/v1)"
            raise ModuleError(f"{cannot}: HTTP {exc.code} {reason or exc.reason} for {query}{hint}") from None
        except (URLError, OSError, HTTPException, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModuleError(f"{cannot}: {reason} (check prometheus_url and the TLS options)") from None
        if len(raw) > BODY_LIMIT:
            raise ModuleError(f"{cannot}: the answer to {query} is larger than {BODY_LIMIT} bytes")
        try:
            return parse_answer(raw)
        except ValueError as exc:
            raise ModuleError(f"{cannot}: {exc} for {query} (is prometheus_url a Prometheus server?)") from None


def hide_secrets(params: Mapping[str, Any], host: Any) -> None:
    """Keep a password written into prometheus_url out of every output of the task."""
    try:
        password = urlsplit(params.get("prometheus_url") or "").password
    except ValueError:
        password = None
    if password:
        host.hide(password)
        host.hide(unquote(password))


# load(host, dates) -> (documents by day, skipped, missing days)
Loader = Callable[
    [str, List[datetime.date]], Tuple[Dict[datetime.date, Dict[str, Any]], List[Dict[str, str]], List[str]]
]


def loader(params: Mapping[str, Any], now: datetime.datetime, client: Client | None = None) -> Loader:
    """load(host, dates) -> (documents by day, skipped, missing days), as the files' load_host."""
    client = client or Client(params)
    at = sample_time(params["prometheus_sample_time"])
    mountpoint = params["prometheus_mountpoint"]

    def load(
        host: str, dates: list[datetime.date]
    ) -> tuple[dict[datetime.date, dict[str, Any]], list[dict[str, str]], list[str]]:
        span = window(dates, at, now)
        if span is None:
            return {}, [], [day.isoformat() for day in dates]
        chosen = selectors({**params, "host": host})
        asked = queries(chosen, mountpoint)
        answers = {name: client.query_range(query, *span) for name, (_option, query) in asked.items()}
        try:
            points = by_time(answers, {name: option for name, (option, _query) in asked.items()})
        except ValueError as exc:
            raise ModuleError(f"Cannot read Prometheus at {client.shown}: {exc}") from None
        return documents(host, points, dates, mountpoint)

    return load


def source_line(source: Mapping[str, Any] | None) -> list[str]:
    """The line a report's Markdown gives its source when it is Prometheus, else nothing (pure)."""
    if not source or source.get("type") != "prometheus":
        return []
    chosen = "; ".join(f"{part} `{selector}`" for part, selector in (source.get("selectors") or {}).items())
    return [
        f"Read from Prometheus at {source['url']}, one point a day at {source['sample_time']} "
        f"(selectors: {chosen or 'none'}; data filesystem `{source['mountpoint']}`).",
        "",
    ]


def describe(params: Mapping[str, Any], host: str | None = None) -> dict[str, Any]:
    """Where the report's documents came from, for the report (no secret) (pure)."""
    if params.get("source", "files") != "prometheus":
        return {"type": "files", "metrics_dir": params.get("metrics_dir")}
    try:
        chosen = selectors({**params, "host": host or params.get("host") or ""})
    except ValueError:
        chosen = {}
    return {
        "type": "prometheus",
        "url": shown_url(params["prometheus_url"]),
        "selectors": chosen,
        "mountpoint": params["prometheus_mountpoint"],
        "sample_time": f"{params['prometheus_sample_time']} UTC",
    }
