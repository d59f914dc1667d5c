# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backup sets: names, the manifest, retention, and the backend of the backup_set module.

A set is a directory ``<root>/jarvis-<YYYYmmddTHHMMSSZ>``. It is written as
``<root>/.incomplete-jarvis-...`` and renamed only after ``MANIFEST.json`` (every file's size
and sha256) has been written and everything fsynced, so a directory with the final name is
always complete.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import socket
import stat
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs as fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._files import (
    file_entry,
    fsync_path,
    tree_files,
    write_atomic,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import STAMP_FORMAT, UTC, iso, now, stamp

SCHEMA = "jarvis.maintenance/backup/1"
MANIFEST = "MANIFEST.json"
PREFIX = "jarvis-"
INCOMPLETE = ".incomplete-"
_NAME = re.compile(r"^jarvis-(\d{8}T\d{6}Z)$")
# A manifest is a few kB per thousand files: anything this big is not one of ours.
MANIFEST_MAX_BYTES = 64 * 1024 * 1024


ARGUMENT_SPEC = {
    "root": {"type": "path", "required": True},
    "state": {"type": "str", "choices": ["started", "completed", "aborted", "pruned"], "default": "started"},
    "name": {"type": "str"},
    "min_interval_hours": {"type": "float", "default": 0},
    "files": {"type": "list", "elements": "dict", "default": []},
    "parts": {"type": "dict", "default": {}},
    "started": {"type": "str"},
    "host": {"type": "str"},
    "keep_daily": {"type": "int", "default": 7},
    "keep_weekly": {"type": "int", "default": 4},
    "keep_monthly": {"type": "int", "default": 6},
    "stale_hours": {"type": "float", "default": 24},
}
REQUIRED_IF = [("state", "completed", ["name"]), ("state", "aborted", ["name"])]


def set_name(moment: datetime.datetime) -> str:
    return PREFIX + stamp(moment)


def parse_set_name(name: str) -> datetime.datetime | None:
    """The UTC time in a set's name, or None when name is not a set name."""
    match = _NAME.match(name)
    if not match:
        return None
    try:
        return datetime.datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:  # right shape, impossible date (month 13, 30 February)
        return None


def _is_dir(path: str) -> bool:
    """A real directory, not a symlink to one (lstat)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_file(path: str) -> bool:
    """A regular file, not a symlink to one (lstat)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _names(root: str) -> list[str]:
    """The entries of root; none when root is missing (NotADirectoryError when it is not a directory)."""
    try:
        return os.listdir(root)
    except FileNotFoundError:
        return []


def list_sets(root: str) -> list[dict[str, Any]]:
    """Sets under root, newest first: name, path, time, complete (has a manifest).

    A symlink named like a set is not a set (it is never followed, verified or removed).
    Raises NotADirectoryError when root is not a directory; a missing root has no sets."""
    sets = []
    for name in _names(root):
        moment = parse_set_name(name)
        path = os.path.join(root, name)
        if moment is None or not _is_dir(path):
            continue
        sets.append({"name": name, "path": path, "time": moment, "complete": _is_file(os.path.join(path, MANIFEST))})
    return sorted(sets, key=lambda item: item["time"], reverse=True)


def list_incomplete(root: str) -> list[dict[str, Any]]:
    found = []
    for name in _names(root):
        if name.startswith(INCOMPLETE) and _is_dir(os.path.join(root, name)):
            moment = parse_set_name(name[len(INCOMPLETE) :])
            found.append({"name": name, "path": os.path.join(root, name), "time": moment})
    return found


def retention(
    times: dict[str, datetime.datetime],
    keep_daily: int,
    keep_weekly: int,
    keep_monthly: int,
    full: set[str] | frozenset[str] = frozenset(),
) -> tuple[dict[str, list[str]], list[str]]:
    """Which sets to keep (with why) and which to remove, grandfather-father-son (pure).

    times maps complete set names to their UTC times. The newest set of each of the last
    keep_daily days, keep_weekly ISO weeks and keep_monthly months is kept; for a month, the
    newest full set (names in full) is kept in preference to a newer partial one. The newest
    set overall is always kept, whatever the counts say.
    """
    newest_first = sorted(times, key=lambda name: times[name], reverse=True)
    keep: dict[str, list[str]] = {}
    rules = (
        ("daily", keep_daily, lambda t: t.strftime("%Y-%m-%d")),
        ("weekly", keep_weekly, lambda t: "{}-W{:02d}".format(*t.isocalendar()[:2])),
        ("monthly", keep_monthly, lambda t: t.strftime("%Y-%m")),
    )
    for label, count, bucket_of in rules:
        buckets: dict[str, list[str]] = {}
        for name in newest_first:
            buckets.setdefault(bucket_of(times[name]), []).append(name)
        for bucket in list(buckets)[: max(count, 0)]:
            members = buckets[bucket]
            preferred = [name for name in members if name in full] if label == "monthly" else []
            chosen = (preferred or members)[0]
            keep.setdefault(chosen, []).append(f"{label} {bucket}")
    if newest_first:
        keep.setdefault(newest_first[0], []).append("newest")
    remove = [name for name in newest_first if name not in keep]
    return keep, remove


def check_retention(params: dict[str, Any]) -> str | None:
    for key in ("keep_daily", "keep_weekly", "keep_monthly"):
        if params[key] < 0:
            return f"{key} must be 0 or more, got {params[key]}"
    if params["stale_hours"] <= 0:
        return f"stale_hours must be more than 0, got {params['stale_hours']}"
    return None


def open_set(path: str) -> int:
    """An fd of the set directory path: its parent resolved as it is now, the set itself opened with
    O_NOFOLLOW (a set swapped for a symlink is refused, fs.UnsafePath). The caller closes it."""
    path = path.rstrip("/") or "/"
    parent = fs.open_dir(os.path.dirname(path) or ".")
    try:
        return fs.open_beneath(parent, os.path.basename(path), fs.DIR_FLAGS)
    finally:
        os.close(parent)


def open_planned(set_fd: int, relative: str, planned: os.stat_result) -> int:
    """An fd of relative beneath the set, the very file checked before (fs.UnsafePath if not)."""
    fd = fs.open_beneath(set_fd, relative, os.O_RDONLY)
    try:
        fs.check_same(fd, planned)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_manifest_at(set_fd: int) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, None) or (None, why it cannot be used), read through the set's directory fd:
    a MANIFEST.json that is a symlink, not a regular file or implausibly big is not read."""
    try:
        fd = fs.open_beneath(set_fd, MANIFEST, os.O_RDONLY)
    except FileNotFoundError:
        return None, f"{MANIFEST} is missing"
    except fs.UnsafePath:
        return None, f"{MANIFEST} is a symlink (not followed): someone else can write into this set"
    except OSError as exc:
        return None, f"{MANIFEST} cannot be read: {exc}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, f"{MANIFEST} is not a regular file"
        if st.st_size > MANIFEST_MAX_BYTES:
            return None, f"{MANIFEST} is {st.st_size} bytes, more than a manifest can be ({MANIFEST_MAX_BYTES})"
        with os.fdopen(os.dup(fd), "rb") as handle:
            manifest = json.loads(handle.read(MANIFEST_MAX_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"{MANIFEST} cannot be read: {exc}"
    finally:
        os.close(fd)
    if (
        not isinstance(manifest, dict)
        or manifest.get("schema") != SCHEMA
        or not isinstance(manifest.get("files"), list)
    ):
        return None, f"{MANIFEST} is not a {SCHEMA} manifest"
    return manifest, None


def read_manifest(set_path: str) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, None) or (None, why it cannot be used); see read_manifest_at."""
    try:
        set_fd = open_set(set_path)
    except fs.UnsafePath as exc:
        return None, f"the set directory cannot be opened safely: {exc}"
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            return None, f"{MANIFEST} is missing"
        return None, f"{MANIFEST} cannot be read: {exc}"
    try:
        return read_manifest_at(set_fd)
    finally:
        os.close(set_fd)


def set_scope(set_path: str) -> str | None:
    """The manifest's scope (full, daily), or None."""
    manifest, _problem = read_manifest(set_path)
    scope = manifest.get("scope") if manifest else None
    return scope if isinstance(scope, str) else None


def build_manifest(
    name: str, started: str, finished: str, host: str, files: list[dict[str, Any]], parts: dict[str, Any]
) -> dict[str, Any]:
    manifest = {
        "schema": SCHEMA,
        "name": name,
        "host": host,
        "started": started,
        "finished": finished,
        "size": sum(entry["size"] for entry in files),
        "files": files,
    }
    for key, value in parts.items():
        if key not in manifest:
            manifest[key] = value
    return manifest


def merge_entries(root: str, given: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """One manifest entry per file under root: given entries (checksummed by whoever wrote the
    file; sizes re-read) with their extra keys, the other files checksummed here. Returns the
    entries and the given paths that are not on disk."""
    by_path = {entry["path"]: dict(entry) for entry in given if entry.get("path")}
    entries = []
    for relative in tree_files(root):
        if relative == MANIFEST:
            continue
        entry = by_path.pop(relative, None)
        if entry and entry.get("sha256"):
            entry["size"] = os.path.getsize(os.path.join(root, relative))
        else:
            extra = entry or {}
            entry = {**extra, **file_entry(root, relative)}
        entries.append(entry)
    return entries, sorted(by_path)


def root_problem(root: str, writing: bool) -> str | None:
    """Why root cannot hold backup sets, or None: not a directory; when writing, a directory other
    users can write to (they could rename the set being written and put their own in its place)."""
    try:
        st = os.stat(root)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"root {root} cannot be read: {exc}"
    if not stat.S_ISDIR(st.st_mode):
        return f"root {root} is not a directory"
    why = fs.writable_by_others(st, os.geteuid()) if writing else None
    if why:
        return (
            f"root {root} is not safe to write backups into: {why} (another user could swap the set being "
            "written); make it owned by root and not writable by group or others (chmod 0750)"
        )
    return None


def fsync_tree(root: str) -> None:
    for directory, _dirs, filenames in os.walk(root):
        for filename in filenames:
            fsync_path(os.path.join(directory, filename))
        fsync_path(directory)


class BackupSet(Backend):
    """Backend of the backup_set module: start, complete, abort and prune sets."""

    def __init__(self, params: Any, check_mode: bool, host: Any) -> None:
        super().__init__(params, check_mode, host)
        self.root = params["root"]

    def run(self) -> dict[str, Any]:
        result = self.run_state()
        if not self.host.diff:
            result.pop("diff", None)
        return result

    def run_state(self) -> dict[str, Any]:
        state = self.params["state"]
        if state in ("completed", "aborted") and not self.params.get("name"):
            raise ModuleError(f"Cannot handle backup set: name is required with state={state}")
        name = self.params.get("name")
        if name and parse_set_name(name) is None:
            raise ModuleError(f"Cannot handle backup set: name must look like jarvis-YYYYmmddTHHMMSSZ, got {name!r}")
        problem = root_problem(self.root, writing=state in ("started", "completed"))
        if problem:
            raise ModuleError(f"Cannot handle backup set: {problem}")
        return getattr(self, f"state_{state}")()

    def state_started(self) -> dict[str, Any]:
        interval = self.params["min_interval_hours"]
        if interval < 0:
            raise ModuleError(f"Cannot start backup set: min_interval_hours must be 0 or more, got {interval}")
        recent = [item for item in list_sets(self.root) if item["complete"]]
        if interval and recent and (now() - recent[0]["time"]).total_seconds() < interval * 3600:
            return {
                "changed": False,
                "recent_set": recent[0]["name"],
                "path": recent[0]["path"],
                "msg": f"{recent[0]['name']} is less than {interval:g} hours old (min_interval_hours): no new set",
            }
        name = self.params.get("name") or set_name(now())
        final = os.path.join(self.root, name)
        path = os.path.join(self.root, INCOMPLETE + name)
        if os.path.lexists(final):
            raise ModuleError(f"Cannot start backup set {name}: {final} already exists")
        result = {"changed": True, "name": name, "path": path, "final_path": final, "started": iso(now())}
        result["created"] = not self.check_mode
        if self.check_mode:
            return result
        try:
            os.makedirs(self.root, mode=0o750, exist_ok=True)
            os.mkdir(path, 0o700)
        except OSError as exc:
            raise ModuleError(f"Cannot start backup set {name} in {self.root}: {exc}") from None
        return result

    def state_completed(self) -> dict[str, Any]:
        name = self.params["name"]
        path = os.path.join(self.root, INCOMPLETE + name)
        final = os.path.join(self.root, name)
        if _is_dir(final) and not _is_dir(path):
            manifest, problem = read_manifest(final)
            if manifest is None:
                raise ModuleError(f"Cannot complete backup set {name}: {problem}")
            return {"changed": False, "name": name, "path": final, "manifest": manifest}
        if self.check_mode:
            return {"changed": True, "name": name, "path": final}
        if not _is_dir(path):
            raise ModuleError(f"Cannot complete backup set {name}: {path} does not exist (was it started?)")
        for index, entry in enumerate(self.params["files"], 1):
            if not isinstance(entry.get("path"), str) or not entry["path"]:
                raise ModuleError(
                    f"Cannot complete backup set {name}: files entry {index} has no path (relative to the set)"
                )
        try:
            entries, missing = merge_entries(path, self.params["files"])
            if missing:
                raise ModuleError(
                    f"Cannot complete backup set {name}: files listed but not written: {', '.join(missing)}"
                )
            if not entries:
                raise ModuleError(f"Cannot complete backup set {name}: it holds no file")
            manifest = build_manifest(
                name,
                self.params.get("started") or iso(parse_set_name(name)),
                iso(now()),
                self.params.get("host") or socket.getfqdn(),
                entries,
                self.params["parts"],
            )
            fsync_tree(path)
            write_atomic(os.path.join(path, MANIFEST), json.dumps(manifest, indent=2, default=str) + "\n", 0o600)
            os.rename(path, final)
            fsync_path(self.root)
        except OSError as exc:
            raise ModuleError(f"Cannot complete backup set {name}: {exc}") from None
        return {"changed": True, "name": name, "path": final, "manifest": manifest}

    def state_aborted(self) -> dict[str, Any]:
        name = self.params["name"]
        path = os.path.join(self.root, INCOMPLETE + name)
        if not os.path.lexists(path):
            return {"changed": False, "name": name, "removed": None}
        if not self.check_mode:
            try:
                shutil.rmtree(path)
            except OSError as exc:
                raise ModuleError(f"Cannot remove incomplete backup set {path}: {exc}") from None
        return {"changed": True, "name": name, "removed": path}

    def state_pruned(self) -> dict[str, Any]:
        problem = check_retention(self.params)
        if problem:
            raise ModuleError(f"Cannot prune backup sets: {problem}")
        sets = list_sets(self.root)
        complete = {item["name"]: item["time"] for item in sets if item["complete"]}
        full = {item["name"] for item in sets if item["complete"] and set_scope(item["path"]) == "full"}
        keep, remove = retention(
            complete, self.params["keep_daily"], self.params["keep_weekly"], self.params["keep_monthly"], full
        )
        moment = now()
        stale = [
            item["name"]
            for item in list_incomplete(self.root)
            if item["time"] is None or (moment - item["time"]).total_seconds() > self.params["stale_hours"] * 3600
        ]
        unknown = sorted(item["name"] for item in sets if not item["complete"])
        removed = remove + stale
        before = sorted(complete) + sorted(item["name"] for item in list_incomplete(self.root))
        if removed and not self.check_mode:
            for name in removed:
                try:
                    shutil.rmtree(os.path.join(self.root, name))
                except OSError as exc:
                    raise ModuleError(f"Cannot remove backup set {name} from {self.root}: {exc}") from None
        return {
            "changed": bool(removed),
            "kept": [{"name": name, "why": keep[name]} for name in sorted(keep, reverse=True)],
            "removed": remove,
            "removed_incomplete": stale,
            "without_manifest": unknown,
            "diff": {
                "before": "\n".join(sorted(before)) + "\n",
                "after": "\n".join(sorted(set(before) - set(removed))) + "\n",
            },
        }
