# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Log analysis: the backend of the log_analysis module.

The runbook's weekly error report was ``docker logs --since=168h | grep -i error | head -20``:
twenty raw lines, the same error twenty times, secrets included, and no count. Here every line
of the window that matches a pattern is counted, grouped under its normalised message (numbers,
ids, times and quoted values taken out), with its first and last time and one sample line with
secrets redacted.
"""

from __future__ import annotations

import datetime
import errno
import glob
import gzip
import io
import os
import re
import stat
from typing import Any, Iterable, Iterator

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds, _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import (
    OK,
    Finding,
    classify,
    worst,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._redact import redact
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import iso

DEFAULT_PATTERNS = {"error": r"(?i)\b(?:error|fatal|panic|critical|traceback)\b"}
SAMPLE_LIMIT = 400
UTC = _time.UTC

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
# 2026-11-29 01:55:52.522 UTC / 2026-11-29T01:55:52.123456789Z / 2026-11-29 01:55:52,123 +0100
_ISO = re.compile(
    r"^\W{0,2}(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?:[.,](?P<fraction>\d+))?"
    r"\s?(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
)
# syslog: Nov 29 01:55:52 (no year)
_SYSLOG = re.compile(r"^(?P<month>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2})\b")

# Normalisation, in order: what varies between two occurrences of the same error.
_NORMALISE = [
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<uuid>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\b[0-9a-f]{16,}\b", re.IGNORECASE), "<hex>"),
    (re.compile(r'"[^"]*"'), "<str>"),
    (re.compile(r"'[^']*'"), "<str>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]


CANNOT = "Cannot analyse the logs"

# Documented in the module's thresholds option: lines of one pattern in one source.
THRESHOLDS = {"count": Threshold(10, 100)}

# The module's options; documented in plugins/modules/log_analysis_info.py.
ARGUMENT_SPEC = {
    "sources": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "paths": {"type": "list", "elements": "str", "default": []},
            "container": {"type": "str"},
            "patterns": {"type": "dict"},
            "exclude": {"type": "list", "elements": "str", "default": []},
            # Each level left out is the module's own (thresholds).
            "thresholds": {
                "type": "dict",
                "options": {name: {"type": "float"} for name in _thresholds.argument_spec(THRESHOLDS)},
            },
            "required": {"type": "bool", "default": False},
        },
    },
    "patterns": {"type": "dict", "default": DEFAULT_PATTERNS},
    "exclude": {"type": "list", "elements": "str", "default": []},
    "since_days": {"type": "float", "default": 7},
    "thresholds": _thresholds.option(THRESHOLDS),
    "max_groups": {"type": "int", "default": 20},
    "redact_patterns": {"type": "list", "elements": "str", "default": []},
    "docker_path": {"type": "path"},
}


def compile_patterns(value: Any, where: str) -> dict[str, re.Pattern[str]]:
    """{name: regex} compiled; ModuleError naming `where` when one is empty or does not compile."""
    if not isinstance(value, dict) or not value:
        raise ModuleError(f"{CANNOT}: {where} must be a non-empty mapping of name to regular expression")
    compiled = {}
    for name, pattern in value.items():
        if not isinstance(pattern, str) or not pattern:
            raise ModuleError(f"{CANNOT}: {where}.{name} must be a non-empty regular expression")
        try:
            compiled[str(name)] = re.compile(pattern)
        except re.error as exc:
            raise ModuleError(
                f"{CANNOT}: {where}.{name} is not a valid regular expression ({pattern!r}): {exc}"
            ) from None
    return compiled


def compile_list(values: list[str], where: str) -> list[re.Pattern[str]]:
    compiled = []
    for index, pattern in enumerate(values):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ModuleError(
                f"{CANNOT}: {where}[{index}] is not a valid regular expression ({pattern!r}): {exc}"
            ) from None
    return compiled


def check_params(params: dict[str, Any]) -> str | None:
    """Why the parameters are unusable, naming the parameter; None when they are fine."""
    if not (0 < params["since_days"] <= 3660):
        return f"since_days must be above 0 and at most 3660 (ten years), got {params['since_days']}"
    if params["max_groups"] < 1:
        return f"max_groups must be at least 1, got {params['max_groups']}"
    problem = _thresholds.problem(THRESHOLDS, params["thresholds"])
    if problem:
        return problem
    names = [source["name"] for source in params["sources"]]
    if not names:
        return "sources must name at least one source"
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        return f"sources: each name must be unique, {', '.join(duplicates)} is given twice"
    for source in params["sources"]:
        where = f"sources[{source['name']}]"
        if bool(source["paths"]) == bool(source["container"]):
            return f"{where} needs either paths or container (not both, not neither)"
        for path in source["paths"]:
            if not os.path.isabs(path):
                return f"{where}.paths: {path!r} must be an absolute path or pattern"
        problem = _thresholds.problem(THRESHOLDS, source_thresholds(source, params), f"{where}.thresholds")
        if problem:
            return problem
    return None


def source_thresholds(source: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A source's thresholds: its own levels, the module's for those it leaves out (pure)."""
    own = source.get("thresholds") or {}
    return {name: own[name] if own.get(name) is not None else value for name, value in params["thresholds"].items()}


def parse_time(line: str, now: datetime.datetime) -> datetime.datetime | None:
    """The time a log line starts with, in UTC (a time without a zone is taken as UTC); None when none."""
    match = _ISO.match(line)
    if match:
        fraction = (match.group("fraction") or "0")[:6].ljust(6, "0")
        try:
            moment = datetime.datetime.strptime(f"{match.group('date')} {match.group('time')}", "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
        moment = moment.replace(microsecond=int(fraction), tzinfo=UTC)
        zone = match.group("zone")
        if zone and zone[0] in "+-":
            digits = zone[1:].replace(":", "")
            offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            moment -= offset if zone[0] == "+" else -offset
        return moment
    match = _SYSLOG.match(line)
    if match and match.group("month").lower() in _MONTHS:
        try:
            clock = datetime.datetime.strptime(match.group("time"), "%H:%M:%S")
            moment = datetime.datetime(
                now.year, _MONTHS[match.group("month").lower()], int(match.group("day")),
                clock.hour, clock.minute, clock.second, tzinfo=UTC,
            )  # fmt: skip
        except ValueError:
            return None
        # No year in syslog: a time in the future is last year's.
        return moment.replace(year=now.year - 1) if moment > now + datetime.timedelta(days=1) else moment
    return None


def strip_prefix(line: str) -> str:
    """The line without its leading time, and PostgreSQL's ``UTC [pid]`` after it."""
    match = _ISO.match(line) or _SYSLOG.match(line)
    rest = line[match.end() :] if match else line
    return re.sub(r"^\s*(?:\[\d+\]\s*)?", "", rest)


def normalise(line: str) -> str:
    """The message with what varies between occurrences (times, ids, numbers, quoted values) replaced."""
    text = strip_prefix(line.rstrip("\n"))
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    return text.strip()[:SAMPLE_LIMIT]


class Grouper:
    """Counts matching lines of a window, grouped by pattern and normalised message (pure)."""

    def __init__(
        self,
        patterns: dict[str, re.Pattern[str]],
        exclude: list[re.Pattern[str]],
        since: datetime.datetime,
        now: datetime.datetime,
        redactions: list[re.Pattern[str]] | None = None,
    ) -> None:
        self.patterns = patterns
        self.exclude = exclude
        self.since = since
        self.now = now
        self.redactions = redactions or []
        self.groups: dict[tuple[str, str], dict[str, Any]] = {}
        self.counts = dict.fromkeys(patterns, 0)
        self.lines = 0
        self.lines_in_window = 0

    def feed(self, lines: Iterable[str], undated: datetime.datetime | None = None) -> None:
        """Lines of one stream; a line without a time has the time of the line before it
        (tracebacks, continuation lines), or `undated` before the first dated line."""
        current = undated
        for line in lines:
            self.lines += 1
            moment = parse_time(line, self.now) if line[:1].isalnum() or line[:1] in "[<" else None
            if moment is not None:
                current = moment
            if current is None or current < self.since:
                continue
            self.lines_in_window += 1
            for name, pattern in self.patterns.items():
                if not pattern.search(line) or any(skip.search(line) for skip in self.exclude):
                    continue
                self.counts[name] += 1
                # Redacted before it is normalised: normalising first would split a secret
                # (AKIAIOSFODNN7EXAMPLE becomes AKIAIOSFODNN<n>EXAMPLE) so that no pattern knows it.
                redacted = redact(line.rstrip("\n"), self.redactions)
                key = (name, normalise(redacted))
                group = self.groups.get(key)
                if group is None:
                    sample = redacted
                    self.groups[key] = {
                        "pattern": name,
                        "message": key[1],
                        "count": 1,
                        "first_seen": current,
                        "last_seen": current,
                        "sample": sample if len(sample) <= SAMPLE_LIMIT else sample[: SAMPLE_LIMIT - 1] + "…",
                    }
                else:
                    group["count"] += 1
                    group["first_seen"] = min(group["first_seen"], current)
                    group["last_seen"] = max(group["last_seen"], current)

    def top(self, limit: int) -> list[dict[str, Any]]:
        ordered = sorted(self.groups.values(), key=lambda g: (-g["count"], g["pattern"], g["message"]))
        return [{**g, "first_seen": iso(g["first_seen"]), "last_seen": iso(g["last_seen"])} for g in ordered[:limit]]


def source_findings(
    name: str, counts: dict[str, int], warning: int, critical: int, top: list[dict[str, Any]]
) -> list[Finding]:
    """One finding per pattern of a source: its count of matching lines against the thresholds."""
    findings = []
    for pattern, count in counts.items():
        severity, threshold = classify(count, warning, critical)
        worst_group = next((g for g in top if g["pattern"] == pattern), None)
        message = f"{name}: {count} {pattern} line(s) in the window"
        if worst_group:
            message += f"; most frequent ({worst_group['count']}x): {worst_group['message']}"
        findings.append(
            Finding(
                check="log_matches",
                severity=severity,
                subject=f"{name}/{pattern}",
                value=count,
                threshold=threshold,
                message=message,
                recommendation=""
                if severity == OK
                else f"Read the {pattern} groups of {name} in the report, most frequent first, and fix their causes.",
            )
        )
    return findings


def open_log(path: str) -> tuple[int, os.stat_result]:
    """An fd of the log file at path, never through a link (O_NOFOLLOW) nor blocking on a FIFO, and its
    fstat; raises OSError saying why a link, a FIFO or a device is not read. Log directories are
    written by the application: a link there could make root read any file into results and reports."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(
                exc.errno, "it is a symlink: not followed (a link among the logs could point anywhere)"
            ) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "it is not a regular file: not read")
    return fd, st


def read_lines(fd: int, path: str) -> Iterator[str]:
    """The lines of the open log fd (gunzipped when path ends in .gz); closes fd."""
    with open(fd, "rb") as raw:
        handle = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
        yield from io.TextIOWrapper(handle, encoding="utf-8", errors="replace")


class LogAnalysis(Backend):
    """Backend of the log_analysis module."""

    def __init__(self, params: Any, check_mode: bool, host: Any, now: datetime.datetime | None = None) -> None:
        super().__init__(params, check_mode, host)
        self.now = now or _time.now()
        self.since = self.now  # the window's start, set by run() once since_days is checked

    def files(self, source: dict[str, Any]) -> list[str]:
        found: set[str] = set()
        for pattern in source["paths"]:
            # every match but directories: a link or a FIFO among them is reported when it is opened
            found.update(path for path in glob.glob(pattern) if os.path.islink(path) or not os.path.isdir(path))
        return sorted(found)

    def docker_lines(self, container: str) -> list[str]:
        docker = self.params["docker_path"] or self.host.get_bin_path("docker")
        if not docker:
            raise ModuleError(f"{CANNOT}: Cannot read the logs of container {container}: docker was not found on PATH")
        since = iso(self.since)
        rc, out, err = self.host.run_command([docker, "logs", "--timestamps", "--since", since, container])
        if rc != 0:
            cause = redact(err.strip()) or f"exit code {rc}"
            raise ModuleError(f"{CANNOT}: Cannot read the logs of container {container}: {cause}")
        # docker logs writes the container's stdout and stderr to its own; each line has its time.
        return sorted(out.splitlines(True) + err.splitlines(True))

    def analyse(self, source: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
        patterns = compile_patterns(
            source["patterns"] if source["patterns"] is not None else self.params["patterns"],
            f"sources[{source['name']}].patterns" if source["patterns"] is not None else "patterns",
        )
        exclude = compile_list(self.params["exclude"], "exclude") + compile_list(
            source["exclude"], f"sources[{source['name']}].exclude"
        )
        redactions = compile_list(self.params["redact_patterns"], "redact_patterns")
        grouper = Grouper(patterns, exclude, self.since, self.now, redactions)
        read: list[dict[str, Any]] = []
        problems: list[str] = []
        if source["container"]:
            lines = self.docker_lines(source["container"])
            grouper.feed(lines)
            read.append({"container": source["container"], "lines": len(lines)})
        else:
            for path in self.files(source):
                try:
                    fd, st = open_log(path)
                except OSError as exc:
                    problems.append(redact(f"{path}: {exc.strerror or exc}"))
                    continue
                modified = datetime.datetime.fromtimestamp(st.st_mtime, UTC)
                if modified < self.since:
                    os.close(fd)
                    continue  # nothing in it can be newer than its last write
                before = grouper.lines
                try:
                    grouper.feed(read_lines(fd, path), undated=modified)
                except (OSError, EOFError) as exc:
                    problems.append(redact(f"{path}: {exc}"))
                    continue
                read.append({"path": path, "size": st.st_size, "lines": grouper.lines - before})
            if not read and source["required"]:
                problems.append(f"no file matching {', '.join(source['paths'])} was written in the window")
        warning, critical = _thresholds.levels(source_thresholds(source, self.params), "count")
        top = grouper.top(self.params["max_groups"])
        findings = source_findings(source["name"], grouper.counts, warning, critical, top)
        for problem in problems:
            findings.append(
                Finding(
                    check="log_source",
                    severity="warning",
                    subject=source["name"],
                    message=f"{source['name']}: {problem}",
                    recommendation="Check the source's paths and the files' permissions.",
                )
            )
        result = {
            "name": source["name"],
            "read": read,
            "lines": grouper.lines,
            "lines_in_window": grouper.lines_in_window,
            "counts": grouper.counts,
            "matches": sum(grouper.counts.values()),
            "groups_total": len(grouper.groups),
            "groups": top,
            "problems": problems,
            "severity": worst(findings),
        }
        return result, findings

    def run(self) -> dict[str, Any]:
        raise_problem(CANNOT, check_params(self.params))
        self.since = self.now - datetime.timedelta(days=self.params["since_days"])
        compile_patterns(self.params["patterns"], "patterns")
        sources, findings = [], []
        for source in self.params["sources"]:
            result, source_findings_ = self.analyse(source)
            sources.append(result)
            findings.extend(source_findings_)
        return {
            "changed": False,
            "since": iso(self.since),
            "until": iso(self.now),
            "sources": sources,
            "matches": sum(source["matches"] for source in sources),
            "findings": [finding.as_dict() for finding in findings],
            "severity": worst(findings),
        }
