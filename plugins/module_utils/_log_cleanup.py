# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Log cleanup inside configured directories only: the backend of the log_cleanup module.

The runbook ran ``find ... -name "*.log" -size +100M -exec gzip {} \\;`` (which unlinks a log a
process is still writing: its lines go to a file nobody sees), ``find ... -mtime +7 -delete``
and ``find /tmp -name "*jarvis*" -delete``. Here the whole plan is made first and checked: every
path must resolve inside one of ``roots``; a symlink or ``..`` that leads outside refuses the
run before anything is touched. Then a big log is compressed into ``<name>.<UTC>.gz`` and
truncated in place (copy-truncate: a process holding it open keeps logging), and old
compressed logs and stale temporary files are deleted.
"""

from __future__ import annotations

import datetime
import fnmatch
import gzip
import os
import re
import shutil
import stat
from typing import Any, BinaryIO

from ansible_collections.jarvis.maintenance.plugins.module_utils._files import write_atomic

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


class CleanupError(Exception):
    """A refused plan or a failed step; the message is the module's failure message."""


def argument_spec() -> dict[str, dict[str, Any]]:
    """The module's options; documented in plugins/modules/log_cleanup.py."""
    return {
        "roots": {"type": "list", "elements": "path", "required": True},
        "compress": {"type": "bool", "default": True},
        "compress_patterns": {"type": "list", "elements": "str", "default": ["*.log"]},
        "compress_min_size": {"type": "str", "default": "100M"},
        "delete_patterns": {"type": "list", "elements": "str", "default": ["*.gz"]},
        "max_age_days": {"type": "float", "default": 7},
        "temp_patterns": {"type": "list", "elements": "str", "default": []},
        "temp_max_age_hours": {"type": "float", "default": 24},
        "recurse": {"type": "bool", "default": True},
    }


def parse_size(text: Any) -> int:
    """Bytes in '100M', '1.5G', '512k', '2048' (pure). Raises ValueError."""
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a size like 100M, 1G or 2048")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def inside(path: str, roots: list[str]) -> bool:
    """Whether a resolved path is one of the roots or below one (pure)."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def check_params(params: dict[str, Any]) -> str | None:
    """Why these parameters cannot work, or None (pure). Names the parameter."""
    if not params["roots"]:
        return "roots must name at least one directory"
    for root in params["roots"]:
        if not os.path.isabs(root):
            return f"roots entry {root!r} must be an absolute path"
        if os.path.realpath(root) == os.sep:
            return f"roots entry {root!r} is the whole filesystem; name the log directories"
    try:
        parse_size(params["compress_min_size"])
    except ValueError as exc:
        return f"compress_min_size: {exc}"
    if params["max_age_days"] < 0:
        return f"max_age_days must be 0 or more, got {params['max_age_days']}"
    if params["temp_max_age_hours"] < 0:
        return f"temp_max_age_hours must be 0 or more, got {params['temp_max_age_hours']}"
    for name in ("compress_patterns", "delete_patterns"):
        for pattern in params[name]:
            if os.sep in pattern or pattern in ("", ".", ".."):
                return f"{name} entry {pattern!r} must be a file name pattern like *.log, not a path"
    for pattern in params["temp_patterns"]:
        if not os.path.isabs(pattern):
            return f"temp_patterns entry {pattern!r} must be an absolute path pattern like /tmp/jarvis-*"
        if any(char in os.path.dirname(pattern) for char in "*?["):
            return f"temp_patterns entry {pattern!r}: only the file name may hold * ? [ ], not the directory"
    return None


def walk(root: str, recurse: bool) -> list[str]:
    """Every entry under root (files and symlinks; directories not followed when they are links)."""
    found = []
    for directory, dirs, files in os.walk(root, followlinks=False):
        found += [os.path.join(directory, name) for name in files]
        found += [os.path.join(directory, name) for name in dirs if os.path.islink(os.path.join(directory, name))]
        if not recurse:
            break
    return sorted(found)


def matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(os.path.basename(path), pattern) for pattern in patterns)


def entry(path: str, now: float) -> dict[str, Any]:
    stat = os.lstat(path)
    return {"path": path, "size": stat.st_size, "age_days": round((now - stat.st_mtime) / 86400, 2)}


class LogCleanup:
    """Backend of the log_cleanup module."""

    def __init__(self, module: Any, now: datetime.datetime | None = None) -> None:
        self.module = module
        self.params = module.params
        self.now = now or datetime.datetime.now(datetime.timezone.utc)

    def plan(self) -> list[dict[str, Any]]:
        """Every action, each {action, path, size, age_days, reason}; raises CleanupError naming each
        path that would lead outside the roots."""
        params = self.params
        roots = []
        for root in params["roots"]:
            real = os.path.realpath(root)
            if not os.path.isdir(real):
                raise CleanupError(f"Cannot clean logs: roots entry {root} is not a directory")
            roots.append(real)
        now = self.now.timestamp()
        min_size = parse_size(params["compress_min_size"])
        escapes: list[str] = []
        actions: list[dict[str, Any]] = []
        seen: set[str] = set()

        def consider(path: str, action: str, reason: str) -> None:
            if path in seen:
                return
            real = os.path.realpath(path)
            if os.path.islink(path) or real != os.path.abspath(path):
                if not inside(real, roots):
                    escapes.append(f"{path} -> {real}")
                    return
                return  # a link inside the roots: its target is handled under its own name
            seen.add(path)
            actions.append({"action": action, **entry(path, now), "reason": reason})

        for root in roots:
            for path in walk(root, params["recurse"]):
                link, stat = os.path.islink(path), os.lstat(path)
                if params["compress"] and matches(path, params["compress_patterns"]):
                    if link or stat.st_size >= min_size:
                        consider(path, "compress", f"{params['compress_min_size']} or more")
                    continue
                old = (now - stat.st_mtime) / 86400 > params["max_age_days"]
                if matches(path, params["delete_patterns"]) and (link or old):
                    consider(path, "delete", f"older than {params['max_age_days']:g} days")
        for pattern in params["temp_patterns"]:
            base = os.path.realpath(os.path.dirname(pattern))
            if not inside(base, roots):
                escapes.append(f"temp pattern {pattern} (its directory {base} is outside roots)")
                continue
            for path in sorted(self.glob(base, os.path.basename(pattern))):
                if os.path.isdir(path) and not os.path.islink(path):
                    continue
                if os.path.islink(path) or (now - os.lstat(path).st_mtime) / 3600 > params["temp_max_age_hours"]:
                    consider(path, "delete", f"temporary, older than {params['temp_max_age_hours']:g} hours")
        if escapes:
            raise CleanupError(
                "Cannot clean logs: refusing paths that lead outside roots "
                f"({', '.join(os.path.realpath(r) for r in params['roots'])}); nothing was changed: "
                + "; ".join(escapes)
            )
        return actions

    @staticmethod
    def glob(directory: str, pattern: str) -> list[str]:
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        return [os.path.join(directory, name) for name in names if fnmatch.fnmatch(name, pattern)]

    def compress(self, item: dict[str, Any]) -> dict[str, Any]:
        """Copy-truncate: gzip the log into <name>.<UTC>.gz (atomically, same mode), then truncate
        the log in place so a process holding it open keeps logging into it."""
        path = item["path"]
        archive = f"{path}.{self.now.strftime('%Y%m%dT%H%M%SZ')}.gz"

        def pack(raw: BinaryIO) -> None:
            name = os.path.basename(path)
            with open(path, "rb") as source, gzip.GzipFile(filename=name, mode="wb", fileobj=raw) as packed:
                shutil.copyfileobj(source, packed, 1024 * 1024)

        write_atomic(archive, pack, stat.S_IMODE(os.stat(path).st_mode))
        os.truncate(path, 0)
        return {**item, "archive": archive, "archive_size": os.path.getsize(archive)}

    def run(self) -> dict[str, Any]:
        problem = check_params(self.params)
        if problem:
            self.module.fail_json(msg=f"Cannot clean logs: {problem}")
        try:
            planned = self.plan()
        except CleanupError as exc:
            self.module.fail_json(msg=str(exc))
        compressed, deleted, errors = [], [], []
        if not self.module.check_mode:
            for item in planned:
                try:
                    if item["action"] == "compress":
                        compressed.append(self.compress(item))
                    else:
                        os.unlink(item["path"])
                        deleted.append(item)
                except OSError as exc:
                    errors.append({"path": item["path"], "action": item["action"], "error": str(exc)})
        reclaimed = sum(item["size"] for item in deleted) + sum(
            item["size"] - item["archive_size"] for item in compressed
        )
        would = sum(item["size"] for item in planned if item["action"] == "delete")
        result = {
            "changed": bool(planned),
            "planned": planned,
            "compressed": compressed,
            "deleted": deleted,
            "errors": errors,
            "bytes_reclaimed": reclaimed,
            "bytes_to_delete": would,
            "bytes_to_compress": sum(item["size"] for item in planned if item["action"] == "compress"),
        }
        if errors:
            first = "; ".join(f"{e['action']} {e['path']}: {e['error']}" for e in errors[:3])
            self.module.fail_json(msg=f"Cannot clean logs: {len(errors)} step(s) failed: {first}", **result)
        return result
