# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backend of the redis_maintenance module: INFO as findings, and safe maintenance actions."""

from __future__ import annotations

import os
import re
import time
from functools import partial
from typing import Any, Callable

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _thresholds
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import need
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import OK, Finding, worst
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._thresholds import Threshold
from ansible_collections.jarvis.maintenance.plugins.module_utils._redis._client import (
    connect,
    describe_error,
    redis_argument_spec,
)

ACTIONS = ["delete_keys", "save", "rewrite_aof", "purge_memory", "reset_stats"]

# The one table of warning/critical pairs; documented in the module (a unit test keeps both equal).
THRESHOLDS: dict[str, Threshold] = {
    "fragmentation_ratio": Threshold(1.5, 2.0),
    "maxmemory_percent": Threshold(80, 95, "%"),
    "evicted_keys": Threshold(1, 10000),
    "rejected_connections": Threshold(1, 100),
}
# Single levels (not pairs): name -> default.
LIMITS: dict[str, float] = {"fragmentation_min_bytes": 104857600}
SAMPLE_KEYS = 10


def thresholds_option() -> dict[str, Any]:
    """The thresholds option: the pairs' sub-options and one per limit."""
    option = _thresholds.option(THRESHOLDS)
    option["options"].update({name: {"type": "float", "default": value} for name, value in LIMITS.items()})
    for sub in option["options"].values():
        sub["no_log"] = False  # names like evicted_keys_* are counts, not secrets
    return option


def defaults() -> dict[str, float]:
    """Every threshold value at its default, as the thresholds option gives them."""
    return {name: spec["default"] for name, spec in thresholds_option()["options"].items()}


ARGUMENT_SPEC: dict[str, Any] = dict(
    redis_argument_spec(),
    actions={"type": "list", "elements": "str", "choices": ACTIONS, "default": []},
    delete_pattern={"type": "str"},
    delete_batch_size={"type": "int", "default": 250},
    delete_max_keys={"type": "int", "no_log": False},
    delete_max_seconds={"type": "float"},
    delete_rate_limit={"type": "float"},
    delete_max_share={"type": "float", "default": 50},
    allow_mass_delete={"type": "bool", "default": False},
    wait_timeout={"type": "float", "default": 300},
    rdb_path={"type": "path"},
    thresholds=thresholds_option(),
)  # key names returned by delete_keys, in printable form


class ActionError(Exception):
    """An action failed; the message names the action and the server's reason.

    data: what the action had done or found before it failed (returned under actions.<name>).
    """

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.data = data


def check_params(params: dict[str, Any]) -> str | None:
    """Why the parameters cannot work (naming the parameter), or None."""
    thresholds = params["thresholds"]
    for name in LIMITS:
        if thresholds[name] < 0:
            return f"thresholds.{name} must not be negative, got {thresholds[name]}"
    problem = _thresholds.problem(THRESHOLDS, thresholds)
    if problem:
        return problem
    if "delete_keys" in params["actions"]:
        pattern = params["delete_pattern"]
        if not pattern or not pattern.strip():
            return "delete_pattern is required with action delete_keys and must not be empty"
        if not has_literal(pattern.encode("utf-8", "surrogateescape")):
            return (
                f"delete_pattern {pattern!r} has no literal part, so it can match every key: "
                "name what to delete, for example 'session:*' or '*expired*'"
            )
    share = params.get("delete_max_share", 50)
    if not 0 < share <= 100:
        return f"delete_max_share must be above 0 and at most 100 (a percentage of DBSIZE), got {share:g}"
    if params["delete_batch_size"] < 1 or params["delete_batch_size"] > 10000:
        return f"delete_batch_size must be between 1 and 10000, got {params['delete_batch_size']}"
    for name in ("delete_max_keys", "delete_max_seconds", "delete_rate_limit"):
        if params[name] is not None and params[name] <= 0:
            return f"{name} must be positive, got {params[name]}"
    if params["wait_timeout"] <= 0:
        return f"wait_timeout must be a positive number of seconds, got {params['wait_timeout']}"
    return None


# -- pure parts ----------------------------------------------------------------------------
def _glob_parts(pattern: bytes) -> list[tuple[str, bytes]]:
    """A Redis glob pattern as parts, read exactly as the server's stringmatchlen() reads it.

    ("star", b"") for *, ("one", b"") for ?, ("class", <256 flags>) for [...] (^ negates,
    a-z ranges in either order, backslash escapes; an unclosed [ runs to the end), and
    ("literal", <one byte>) for anything else, a backslash escaping the next byte.
    """
    parts: list[tuple[str, bytes]] = []
    size, i = len(pattern), 0
    while i < size:
        byte = pattern[i]
        if byte == 0x2A:  # *
            parts.append(("star", b""))
        elif byte == 0x3F:  # ?
            parts.append(("one", b""))
        elif byte == 0x5B:  # [
            i += 1
            negate = i < size and pattern[i] == 0x5E  # ^
            if negate:
                i += 1
            members = bytearray(256)
            while i < size and pattern[i] != 0x5D:  # ]
                if pattern[i] == 0x5C and size - i >= 2:  # \x: x itself
                    i += 1
                    members[pattern[i]] = 1
                elif size - i >= 3 and pattern[i + 1] == 0x2D:  # a-z
                    # Redis compares chars as signed: keep its order for bytes >= 0x80.
                    start, end = sorted((_signed(pattern[i]), _signed(pattern[i + 2])))
                    for value in range(256):
                        if start <= _signed(value) <= end:
                            members[value] = 1
                    i += 2
                else:
                    members[pattern[i]] = 1
                i += 1
            if negate:
                members = bytearray(1 - flag for flag in members)
            parts.append(("class", bytes(members)))
        elif byte == 0x5C and size - i >= 2:  # \x
            i += 1
            parts.append(("literal", pattern[i : i + 1]))
        else:
            parts.append(("literal", bytes([byte])))
        i += 1
    return parts


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def has_literal(pattern: bytes) -> bool:
    """Whether a Redis glob pattern has a literal part: at least one byte outside *, ?, [...].

    A pattern without one (*, ?*, *?, [a-z]*) can match every key of a database.
    """
    return any(kind == "literal" for kind, _value in _glob_parts(pattern))


def glob_regex(pattern: bytes) -> re.Pattern[bytes]:
    """A compiled regular expression that fullmatch()es exactly the keys Redis's MATCH does."""
    pieces = []
    for kind, value in _glob_parts(pattern):
        if kind == "star":
            pieces.append(b".*")
        elif kind == "one":
            pieces.append(b".")
        elif kind == "literal":
            pieces.append(re.escape(value))
        else:
            members = [index for index, flag in enumerate(value) if flag]
            pieces.append(b"[" + b"".join(b"\\x%02x" % index for index in members) + b"]" if members else b"(?!)")
    return re.compile(b"".join(pieces), re.DOTALL)


def printable_key(key: bytes) -> str:
    """A key name in a form safe to print and log: UTF-8 text as is, anything else escaped.

    Bytes that are not UTF-8 become \\xNN, control and other unprintable characters
    \\n, \\t, \\xNN or \\uNNNN, and a backslash is doubled, so the form is unambiguous.
    """
    out = []
    for char in key.decode("utf-8", "surrogateescape"):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char == "\\":
            out.append("\\\\")
        elif char.isprintable():
            out.append(char)
        elif char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def mass_delete_problem(pattern: str, matched: int, dbsize: int, share: float, db: int) -> str | None:
    """Why a delete of `matched` of the `dbsize` keys is refused under delete_max_share, or None."""
    if matched <= dbsize * share / 100:
        return None
    percent = 100.0 * matched / dbsize if dbsize else 100.0
    return (
        f"delete_pattern {pattern!r} matches {matched} of the {dbsize} keys of db {db} ({percent:.1f} %), "
        f"more than delete_max_share ({share:g} %): nothing was deleted. "
        "Narrow the pattern, raise delete_max_share, or set allow_mass_delete: true to delete them"
    )


def memory_summary(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "used_bytes": info.get("used_memory"),
        "peak_bytes": info.get("used_memory_peak"),
        "rss_bytes": info.get("used_memory_rss"),
        "fragmentation_ratio": info.get("mem_fragmentation_ratio"),
        "allocator": info.get("mem_allocator"),
        "maxmemory_bytes": info.get("maxmemory"),
        "maxmemory_policy": info.get("maxmemory_policy"),
    }


def persistence_summary(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "rdb_last_save_time": info.get("rdb_last_save_time"),
        "rdb_changes_since_last_save": info.get("rdb_changes_since_last_save"),
        "rdb_bgsave_in_progress": bool(info.get("rdb_bgsave_in_progress")),
        "rdb_last_bgsave_status": info.get("rdb_last_bgsave_status"),
        "aof_enabled": bool(info.get("aof_enabled")),
        "aof_rewrite_in_progress": bool(info.get("aof_rewrite_in_progress")),
        "aof_last_bgrewrite_status": info.get("aof_last_bgrewrite_status"),
        "aof_last_write_status": info.get("aof_last_write_status"),
    }


def keyspace_summary(info: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in info.items() if name.startswith("db") and isinstance(value, dict)}


def judge(info: dict[str, Any], thresholds: dict[str, float]) -> list[Finding]:
    """Findings from INFO: fragmentation, memory vs maxmemory, evictions, failed saves and rewrites,
    rejected connections."""
    findings = []
    ratio = float(info.get("mem_fragmentation_ratio") or 0)
    rss = info.get("used_memory_rss") or 0
    if rss >= thresholds["fragmentation_min_bytes"]:
        findings.append(
            _thresholds.judge(
                THRESHOLDS,
                thresholds,
                "fragmentation_ratio",
                "redis",
                ratio,
                check="fragmentation",
                label="Memory fragmentation ratio (RSS / used)",
                recommendation="Run the purge_memory action (jemalloc), or enable activedefrag.",
            )
        )
    else:
        findings.append(
            Finding(
                "fragmentation",
                OK,
                "redis",
                ratio,
                thresholds["fragmentation_min_bytes"],
                f"Fragmentation ratio {ratio:g} is not judged: RSS is below "
                f"{int(thresholds['fragmentation_min_bytes'])} bytes",
            )
        )
    maxmemory = info.get("maxmemory") or 0
    if maxmemory:
        percent = round(100.0 * (info.get("used_memory") or 0) / maxmemory, 1)
        findings.append(
            _thresholds.judge(
                THRESHOLDS,
                thresholds,
                "maxmemory_percent",
                "redis",
                percent,
                check="maxmemory",
                label=f"Memory used of maxmemory (policy {info.get('maxmemory_policy')})",
                recommendation="Raise maxmemory, expire more keys, or shard.",
            )
        )
    else:
        findings.append(
            Finding(
                "maxmemory",
                OK,
                "redis",
                None,
                None,
                "maxmemory is not set: Redis may use all the host's memory",
                "Set maxmemory and a maxmemory-policy that suits the data.",
            )
        )
    for check, key, pair, what in (
        ("evictions", "evicted_keys", "evicted_keys", "Keys evicted since the last stats reset"),
        ("rejected_connections", "rejected_connections", "rejected_connections", "Connections rejected (maxclients)"),
    ):
        findings.append(
            _thresholds.judge(
                THRESHOLDS,
                thresholds,
                pair,
                "redis",
                info.get(key) or 0,
                check=check,
                label=what,
                recommendation="Raise maxmemory or maxclients, or find the cause (INFO stats).",
            )
        )
    for check, key, what in (
        ("last_save", "rdb_last_bgsave_status", "The last BGSAVE"),
        ("last_rewrite", "aof_last_bgrewrite_status", "The last AOF rewrite"),
        ("aof_write", "aof_last_write_status", "The last AOF write"),
    ):
        status = info.get(key)
        if status is None:
            continue
        findings.append(
            Finding(
                check,
                OK if status == "ok" else "critical",
                "redis",
                status,
                "ok",
                f"{what} is {status}",
                "" if status == "ok" else "Read the Redis log: disk full or permissions are the usual causes.",
            )
        )
    return findings


def delete_matching(
    client: Any,
    pattern: str | bytes,
    batch_size: int = 250,
    max_keys: int | None = None,
    max_seconds: float | None = None,
    rate_limit: float | None = None,
    dry_run: bool = False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    explain: Callable[[BaseException], str] = str,
) -> dict[str, Any]:
    """Delete the keys matching a glob pattern without blocking the server.

    client must return bytes (decode_responses=False): key names are bytes, and any of them
    may be invalid UTF-8. One SCAN cursor walk (MATCH pattern, COUNT batch_size). SCAN may
    return a key more than once: each key is counted and deleted once. Each batch of at
    most batch_size keys goes as one UNLINK (a short command, and large values are freed in
    the background). A key is deleted only if it matches the pattern as Redis reads it, even
    if the server returned it. Limits stop the walk early; dry_run counts without deleting.

    Any error half-way raises ActionError (explain(error) and the count deleted) whose data
    holds the counts so far: deleted_keys is what the server confirmed, unconfirmed_keys a
    batch whose fate is unknown.
    """
    started = clock()
    byte_pattern = pattern.encode("utf-8", "surrogateescape") if isinstance(pattern, str) else pattern
    matcher = glob_regex(byte_pattern)
    seen: set[bytes] = set()
    counts = {"scanned": 0, "matched": 0, "deleted": 0, "unconfirmed": 0}
    samples: list[str] = []
    stopped_by = None
    pending: list[bytes] = []  # matched keys not yet sent

    def outcome() -> dict[str, Any]:
        result = {
            "scanned_keys": counts["scanned"],
            "matched_keys": counts["matched"],
            "deleted_keys": counts["deleted"],
            "sample_keys": samples,
            "seconds": round(clock() - started, 3),
            "stopped_by": stopped_by,
        }
        if counts["unconfirmed"]:
            result["unconfirmed_keys"] = counts["unconfirmed"]
        return result

    def round_trip(scan_cursor: int | None) -> Any:
        """One pipelined round trip: UNLINK a full batch (if one is ready), then the next SCAN."""
        ready = len(pending) >= batch_size or scan_cursor is None
        batch = pending[:batch_size] if ready else []
        pipe = client.pipeline(transaction=False)
        if batch:
            pipe.unlink(*batch)
        if scan_cursor is not None:
            pipe.scan(cursor=scan_cursor, match=byte_pattern, count=batch_size)
        counts["unconfirmed"] = len(batch)  # until the server's reply says otherwise
        replies = pipe.execute(raise_on_error=False)
        counts["unconfirmed"] = 0
        del pending[: len(batch)]
        if batch:
            if isinstance(replies[0], Exception):
                raise replies[0]
            counts["deleted"] += int(replies[0])
        if scan_cursor is None:
            return None
        if isinstance(replies[-1], Exception):
            raise replies[-1]
        return replies[-1]

    try:
        cursor: int | None = 0
        while cursor is not None:
            next_cursor, keys = round_trip(cursor)
            counts["scanned"] += len(keys)
            for key in keys:
                if key in seen or not matcher.fullmatch(key):
                    continue
                if max_keys is not None and counts["matched"] >= max_keys:
                    stopped_by = "max_keys"
                    break
                seen.add(key)
                counts["matched"] += 1
                if len(samples) < SAMPLE_KEYS:
                    samples.append(printable_key(key))
                if not dry_run:
                    pending.append(key)
            if stopped_by:
                break
            if max_seconds is not None and clock() - started >= max_seconds:
                stopped_by = "max_seconds"
                break
            if rate_limit:
                ahead = counts["matched"] / rate_limit - (clock() - started)
                if ahead > 0:
                    sleep(ahead)
            cursor = None if int(next_cursor) == 0 else int(next_cursor)
        while pending:  # what is left, in batches
            round_trip(None)
    except Exception as exc:  # a server error, a dropped connection, anything: say what is gone
        done = outcome()
        unsure = f", and maybe the {done['unconfirmed_keys']} of the batch in flight" if counts["unconfirmed"] else ""
        raise ActionError(f"{explain(exc)} (after deleting {done['deleted_keys']} keys{unsure})", done) from exc
    return outcome()


def error_cause(log_lines: list[str]) -> str:
    """' (<cause>)' from the newest log line that gives an error's cause, else ''.

    The child process logs "Write error saving DB on disk(rdbSaveRio): No space left on
    device"; the parent then only "Background saving error": prefer the line with a cause.
    """
    for line in reversed(log_lines):
        message = line.split(" # ", 1)[-1].strip()
        if "error" in message.lower() and ": " in message:
            return f" ({message})"
    return ""


# -- the module's backend --------------------------------------------------------------------
class RedisMaintenance(Backend):
    """Backend of the redis_maintenance module."""

    def __init__(self, params: Any, check_mode: bool, host: Any) -> None:
        super().__init__(params, check_mode, host)
        self.findings: list[Finding] = []
        self.results: dict[str, Any] = {}
        self.changed = False

    def run(self) -> dict[str, Any]:
        raise_problem("Cannot run Redis maintenance", check_params(self.params))
        self.client = connect(self.params)
        self.redis = need("redis")
        redis = self.redis
        info = self.client.info("all")
        result: dict[str, Any] = {}
        for action in self.params["actions"]:
            try:
                result[action] = getattr(self, f"action_{action}")(info)
            except ActionError as exc:
                self.fail(action, str(exc), {**result, action: exc.data} if exc.data else result)
            except redis.RedisError as exc:
                self.fail(action, describe_error(exc, self.params), result)
            info = self.client.info("all")
        findings = [f.as_dict() for f in [*self.findings, *judge(info, self.params["thresholds"])]]
        return {
            "changed": self.changed,
            "info": {
                "server": {"version": info.get("redis_version"), "uptime_seconds": info.get("uptime_in_seconds")},
                "memory": memory_summary(info),
                "persistence": persistence_summary(info),
                "clients": {
                    "connected": info.get("connected_clients"),
                    "blocked": info.get("blocked_clients"),
                    "maxclients": info.get("maxclients"),
                },
                "keyspace": keyspace_summary(info),
                "stats": {
                    "evicted_keys": info.get("evicted_keys"),
                    "expired_keys": info.get("expired_keys"),
                    "rejected_connections": info.get("rejected_connections"),
                },
            },
            "doctor": self.doctor(),
            "findings": findings,
            "severity": worst(findings),
            "actions": result,
        }

    def fail(self, action: str, reason: str, actions: dict[str, Any]) -> None:
        """Fail naming the action; actions: what the actions so far did (and the failed one had done)."""
        raise ModuleError(f"Cannot {action.replace('_', ' ')}: {reason}", changed=self.changed, actions=actions)

    def doctor(self) -> dict[str, str | None]:
        texts: dict[str, str | None] = {}
        for name, command in (("memory", ("MEMORY", "DOCTOR")), ("latency", ("LATENCY", "DOCTOR"))):
            try:
                texts[name] = str(self.client.execute_command(*command))
            except self.redis.RedisError:  # renamed or disabled commands: just no text
                texts[name] = None
        return texts

    # -- actions: each returns data; check mode plans, changes nothing ----------------------
    def action_delete_keys(self, _info: dict[str, Any]) -> dict[str, Any]:
        """Walk and delete on a client that returns bytes: key names need not be UTF-8.

        Unless allow_mass_delete, a first walk counts the matching keys: more than
        delete_max_share percent of DBSIZE is refused before anything is deleted, and the
        delete itself stops at that share (keys written meanwhile cannot push it over).
        """
        params = self.params
        raw = connect(self.params, decode_responses=False)
        pattern = params["delete_pattern"]
        explain = partial(describe_error, params=params)
        limits = {"batch_size": params["delete_batch_size"], "explain": explain}
        max_keys = params["delete_max_keys"]
        share_cap = None
        if not params["allow_mass_delete"]:
            dbsize = int(raw.dbsize())
            counted = delete_matching(raw, pattern, dry_run=True, **limits)
            problem = mass_delete_problem(
                pattern, counted["matched_keys"], dbsize, params["delete_max_share"], params["db"] or 0
            )
            if problem:
                raise ActionError(
                    problem, {"matched_keys": counted["matched_keys"], "dbsize": dbsize, "deleted_keys": 0}
                )
            share_cap = int(dbsize * params["delete_max_share"] / 100)
            if max_keys is None or share_cap < max_keys:
                max_keys = share_cap
        try:
            outcome = delete_matching(
                raw,
                pattern,
                max_keys=max_keys,
                max_seconds=params["delete_max_seconds"],
                rate_limit=params["delete_rate_limit"],
                dry_run=self.check_mode,
                **limits,
            )
        except ActionError as exc:  # half-way: what is gone is a change
            self.changed = self.changed or bool(exc.data and exc.data["deleted_keys"])
            raise
        if outcome["stopped_by"] == "max_keys" and max_keys == share_cap != params["delete_max_keys"]:
            outcome["stopped_by"] = "delete_max_share"
        outcome["pattern"] = pattern
        if self.check_mode:
            outcome["would_delete_keys"] = outcome["matched_keys"]
            self.changed = self.changed or outcome["matched_keys"] > 0
        else:
            self.changed = self.changed or outcome["deleted_keys"] > 0
        return outcome

    def wait(self, what: str, done: Callable[[], bool]) -> float:
        started = time.monotonic()
        delay = 0.01
        while not done():
            if time.monotonic() - started > self.params["wait_timeout"]:
                raise ActionError(f"{what} did not finish within wait_timeout ({self.params['wait_timeout']:g} s)")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        return round(time.monotonic() - started, 3)

    def action_save(self, info: dict[str, Any]) -> dict[str, Any]:
        path = self.rdb_path()
        if self.check_mode:
            self.changed = True
            return {"planned": "BGSAVE", "rdb_path": path}
        before = self.client.lastsave()
        if info.get("rdb_bgsave_in_progress"):
            self.wait("a BGSAVE already running", lambda: not self.client.info("persistence")["rdb_bgsave_in_progress"])
            before = self.client.lastsave()
        schedule = bool(self.client.info("persistence").get("aof_rewrite_in_progress"))
        self.client.bgsave(schedule=schedule)
        self.changed = True

        def finished() -> bool:
            persistence = self.client.info("persistence")
            if persistence["rdb_bgsave_in_progress"]:
                return False
            if persistence["rdb_last_bgsave_status"] != "ok":
                raise ActionError(f"rdb_last_bgsave_status is {persistence['rdb_last_bgsave_status']}{self.log_hint()}")
            return self.client.lastsave() != before

        seconds = self.wait("BGSAVE", finished)
        size = os.path.getsize(path) if path and os.path.exists(path) else None
        return {"rdb_path": path, "rdb_bytes": size, "seconds": seconds, "lastsave": str(self.client.lastsave())}

    def log_hint(self) -> str:
        """The last error Redis logged about saving, when its log file is readable here."""
        try:
            logfile = self.client.config_get("logfile").get("logfile")
        except self.redis.RedisError:  # CONFIG may be renamed: no hint then
            logfile = None
        if not logfile or not os.path.exists(logfile):
            return ""
        with open(logfile, "rb") as handle:
            handle.seek(max(0, os.path.getsize(logfile) - 16384))  # the tail is enough
            return error_cause(handle.read().decode("utf-8", errors="replace").splitlines()[-50:])

    def rdb_path(self) -> str | None:
        if self.params["rdb_path"]:
            return self.params["rdb_path"]
        try:
            directory = self.client.config_get("dir").get("dir")
            filename = self.client.config_get("dbfilename").get("dbfilename")
        except self.redis.RedisError:  # CONFIG renamed or not allowed: the path is unknown
            return None
        return os.path.join(directory, filename) if directory and filename else None

    def action_rewrite_aof(self, info: dict[str, Any]) -> dict[str, Any]:
        if not info.get("aof_enabled"):
            self.findings.append(Finding("rewrite_aof", OK, "redis", False, True, "AOF is off: nothing to rewrite", ""))
            return {"skipped": "appendonly is off"}
        if self.check_mode:
            self.changed = True
            return {"planned": "BGREWRITEAOF"}
        waited = 0.0
        if self.client.info("persistence")["aof_rewrite_in_progress"]:
            waited = self.wait("the AOF rewrite already running", self.rewrite_finished)
        self.client.bgrewriteaof()
        self.changed = True
        seconds = self.wait("BGREWRITEAOF", self.rewrite_finished)
        status = self.client.info("persistence")["aof_last_bgrewrite_status"]
        if status != "ok":
            raise ActionError(f"aof_last_bgrewrite_status is {status}{self.log_hint()}")
        return {"seconds": seconds, "waited_for_running_rewrite": waited, "status": status}

    def rewrite_finished(self) -> bool:
        persistence = self.client.info("persistence")
        return not persistence["aof_rewrite_in_progress"] and not persistence.get("aof_rewrite_scheduled")

    def action_purge_memory(self, info: dict[str, Any]) -> dict[str, Any]:
        allocator = str(info.get("mem_allocator") or "")
        if not allocator.startswith("jemalloc"):
            self.findings.append(
                Finding(
                    "purge_memory",
                    OK,
                    "redis",
                    allocator,
                    "jemalloc",
                    f"MEMORY PURGE skipped: the allocator is {allocator or 'unknown'}, not jemalloc",
                    "",
                )
            )
            return {"skipped": f"allocator is {allocator}"}
        if self.check_mode:
            self.changed = True
            return {"planned": "MEMORY PURGE"}
        before = info.get("used_memory_rss")
        self.client.memory_purge()
        self.changed = True
        return {"rss_before_bytes": before, "rss_after_bytes": self.client.info("memory").get("used_memory_rss")}

    def action_reset_stats(self, info: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "total_connections_received",
            "total_commands_processed",
            "expired_keys",
            "evicted_keys",
            "keyspace_hits",
            "keyspace_misses",
            "rejected_connections",
        )
        before = {key: info.get(key) for key in keys}
        if self.check_mode:
            self.changed = True
            return {"planned": "CONFIG RESETSTAT", "stats_before": before}
        self.client.config_resetstat()
        self.changed = True
        return {"stats_before": before}
