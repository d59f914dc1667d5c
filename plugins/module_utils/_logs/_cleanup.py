# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Log cleanup inside configured directories only: the backend of the log_cleanup module.

The runbook ran ``find ... -name "*.log" -size +100M -exec gzip {} \\;`` (which unlinks a log a
process is still writing: its lines go to a file nobody sees), ``find ... -mtime +7 -delete``
and ``find /tmp -name "*jarvis*" -delete``. Here the plan is made first, then acted on, as root,
in directories other users may write to. So:

- the parameters are checked before anything is read: a root may not be, hold or lie inside a
  protected system or data tree (``protected_paths``), may not itself be a symlink, and every
  pattern needs a literal part (``*``, ``*.*``, ``?*`` are refused);
- the plan is made by walking each root through directory fds opened with ``O_NOFOLLOW``
  (``_safe_fs.walk``): a symlink found inside a root is never followed, it is reported in
  ``skipped_entries`` and the rest of the cleanup runs; a directory holding PostgreSQL or Redis data
  (``PG_VERSION``, ``dump.rdb``, ...) is skipped with everything below it;
- every action goes through fds again: the file's directory is opened from the root down with
  ``O_DIRECTORY|O_NOFOLLOW``, the file with ``O_NOFOLLOW`` relative to it, its identity (device,
  inode, type) compared with the plan; the archive is compressed from that fd into the same
  directory fd (``O_EXCL`` temporary, renamed), the log truncated with ``ftruncate`` on that fd,
  and a deletion is ``unlink(name, dir_fd=...)`` after an ``lstat`` re-check. An entry that
  changed in between is skipped and reported, never acted on.

A big log is compressed into ``<name>.<UTC>.gz`` and truncated in place (copy-truncate: a process
holding it open keeps logging); old compressed logs and stale temporary files are deleted.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import fnmatch
import gzip
import os
import re
import stat
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs as fs
from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._findings import OK, WARNING, Finding
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import parse_size

_CLASS = re.compile(r"\[!?\]?[^\]]*\]")

# System trees and data directories a root may not be, lie inside or hold (patterns per path
# component). Home directories: /root and /home/<user> themselves are refused because they hold
# the hidden trees below (.ssh, .config, ...), but a project directory inside a home, such as the
# local stack's /home/<user>/jarvis/.stack/logs, is accepted.
PROTECTED_PATHS = [
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib*",
    "/proc",
    "/run",
    "/sbin",
    "/snap",
    "/sys",
    "/usr",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/mail",
    "/var/spool",
    "/root/.*",
    "/home/*/.*",
]

# Names that mark a data directory found in or under a root: it is skipped with all below it.
DATA_MARKERS = {
    "PG_VERSION": "PostgreSQL data",
    "postmaster.pid": "PostgreSQL data",
    "dump.rdb": "Redis data",
    "appendonly.aof": "Redis data",
    "appendonlydir": "Redis data",
}

OPEN_LOG = os.O_RDWR | os.O_NOCTTY


CANNOT = "Cannot clean logs"
SKIPPED_ADVICE = "Find out who put these entries in the log directories (never followed, never cleaned): "

# The module's options; documented in plugins/modules/log_cleanup.py.
ARGUMENT_SPEC = {
    "roots": {"type": "list", "elements": "path", "required": True},
    "compress": {"type": "bool", "default": True},
    "compress_patterns": {"type": "list", "elements": "str", "default": ["*.log"]},
    "compress_min_size": {"type": "str", "default": "100M"},
    "delete_patterns": {"type": "list", "elements": "str", "default": ["*.gz"]},
    "max_age_days": {"type": "float", "default": 7},
    "temp_patterns": {"type": "list", "elements": "str", "default": []},
    "temp_max_age_hours": {"type": "float", "default": 24},
    "recurse": {"type": "bool", "default": True},
    "protected_paths": {"type": "list", "elements": "str", "default": list(PROTECTED_PATHS)},
    "protected_paths_extra": {"type": "list", "elements": "str", "default": []},
}


def inside(path: str, roots: list[str]) -> bool:
    """Whether a resolved path is one of the roots or below one (pure)."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def literal_part(pattern: str) -> str:
    """What a file name pattern matches literally: without * ? [...] and without dots (pure).
    Empty means the pattern matches (nearly) every name: '*', '*.*', '?*', '*[a-z]*'."""
    return _CLASS.sub("", pattern).replace("*", "").replace("?", "").replace(".", "")


def _components(path: str) -> list[str]:
    return [name for name in os.path.normpath(path).split(os.sep) if name]


def protected_by(path: str, protected: list[str]) -> tuple[str, bool] | None:
    """The protected entry a directory is, lies inside or holds, and whether it holds it (pure).

    Entries are absolute path patterns matched component by component (``/lib*``, ``/home/*/.*``)."""
    have = _components(path)
    for entry in protected:
        want = _components(entry)
        if all(fnmatch.fnmatchcase(name, pattern) for name, pattern in zip(have, want)):
            return entry, len(have) < len(want)
    return None


def check_params(params: dict[str, Any]) -> str | None:
    """Why these parameters cannot work, or None. Names the parameter; reads only realpath."""
    protected = list(params["protected_paths"]) + list(params["protected_paths_extra"])
    for name in ("protected_paths", "protected_paths_extra"):
        for entry in params[name]:
            if not os.path.isabs(entry) or not _components(entry):
                return f"{name} entry {entry!r} must be an absolute directory pattern like /var/lib, not /"
    if not params["roots"]:
        return "roots must name at least one directory"
    for root in params["roots"]:
        if not os.path.isabs(root):
            return f"roots entry {root!r} must be an absolute path"
        real = os.path.realpath(root)
        if real == os.sep or os.path.normpath(root) == os.sep:
            return f"roots entry {root!r} is the whole filesystem; name the log directories"
        for path in dict.fromkeys((os.path.normpath(root), real)):
            found = protected_by(path, protected)
            if found:
                entry, holds = found
                where = f"holds the protected {entry}" if holds else f"is inside the protected {entry}"
                shown = root if path == os.path.normpath(root) else f"{root} (resolved {path})"
                return (
                    f"roots entry {shown} {where} (protected_paths); name the log directories themselves"
                    if holds
                    else f"roots entry {shown} {where} (protected_paths): a system or data directory, not a log one"
                )
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
            if not literal_part(pattern):
                return f"{name} entry {pattern!r} matches every file; give it a literal part, like *.log or *.gz"
    for pattern in params["temp_patterns"]:
        if not os.path.isabs(pattern):
            return f"temp_patterns entry {pattern!r} must be an absolute path pattern like /tmp/jarvis-*"
        if any(char in os.path.dirname(pattern) for char in "*?["):
            return f"temp_patterns entry {pattern!r}: only the file name may hold * ? [ ], not the directory"
        if not literal_part(os.path.basename(pattern)):
            return f"temp_patterns entry {pattern!r} matches every file; give the name a literal part, like jarvis-*"
    return None


def matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(os.path.basename(name), pattern) for pattern in patterns)


def data_dirs(relatives: list[str]) -> dict[str, str]:
    """Directories (relative, '' for the root) that hold a data marker, with what they hold (pure).
    A marker may be a file (PG_VERSION) or a directory (appendonlydir) on an entry's path."""
    found: dict[str, str] = {}
    for relative in relatives:
        names = relative.split("/")
        for depth, name in enumerate(names):
            if name in DATA_MARKERS:
                found.setdefault("/".join(names[:depth]), f"{DATA_MARKERS[name]} ({name})")
                break
    return found


def below(relative: str, directory: str) -> bool:
    return directory == "" or relative == directory or relative.startswith(directory + "/")


@dataclasses.dataclass
class Item:
    """One planned action on an entry found under a root, with the lstat it was planned on."""

    action: str
    root: int
    relative: str
    path: str
    st: os.stat_result
    reason: str

    def public(self, now: float) -> dict[str, Any]:
        return {
            "action": self.action,
            "path": self.path,
            "size": self.st.st_size,
            "age_days": round((now - self.st.st_mtime) / 86400, 2),
            "reason": self.reason,
        }


class Skip(Exception):
    """An entry that is not acted on; the message is the reason reported in ``skipped_entries``."""


class LogCleanup(Backend):
    """Backend of the log_cleanup module: plan() through fds, then act() on each item through fds."""

    def __init__(self, params: Any, check_mode: bool, host: Any, now: datetime.datetime | None = None) -> None:
        super().__init__(params, check_mode, host)
        self.now = now or _time.now()
        self.root_fds: list[int] = []
        self.root_paths: list[str] = []
        self.skipped: dict[str, str] = {}

    # --- plan ------------------------------------------------------------------------------
    def skip(self, path: str, reason: str) -> None:
        self.skipped.setdefault(path, reason)

    def open_roots(self) -> None:
        for root in self.params["roots"]:
            if fs.is_symlink(root):
                raise ModuleError(
                    f"{CANNOT}: roots entry {root} is a symlink (to {os.path.realpath(root)}); "
                    "roots are never followed: name the directory itself"
                )
            real = os.path.realpath(root)
            try:
                fd = fs.open_dir(real)
            except (fs.UnsafePath, FileNotFoundError, NotADirectoryError) as exc:
                raise ModuleError(
                    f"{CANNOT}: roots entry {root} is not a directory (or a directory on its path was "
                    "replaced by a symlink while it was opened)"
                ) from exc
            self.root_fds.append(fd)
            self.root_paths.append(real)

    def plan(self) -> list[Item]:
        """Every action, in order; symlinks, data directories and other odd entries go to skipped_entries.
        Raises ModuleError for a root or temp pattern that cannot be used."""
        params = self.params
        self.open_roots()
        now = self.now.timestamp()
        min_size = parse_size(params["compress_min_size"])
        actions: list[Item] = []
        seen: set[tuple[int, int, int]] = set()

        def consider(index: int, relative: str, st: os.stat_result, action: str, reason: str) -> None:
            path = os.path.join(self.root_paths[index], relative)
            if stat.S_ISLNK(st.st_mode):
                self.skip(path, f"it is a symlink (to {self.link_target(path)}): links are never followed")
            elif not stat.S_ISREG(st.st_mode):
                self.skip(path, "it is not a regular file")
            elif action == "compress" and st.st_nlink > 1:
                self.skip(path, f"it has {st.st_nlink} hard links: it may be a file from outside the roots")
            elif fs.identity(st) not in seen:
                seen.add(fs.identity(st))
                actions.append(Item(action, index, relative, path, st, reason))

        for index, root_fd in enumerate(self.root_fds):
            entries = list(fs.walk(root_fd, params["recurse"]))
            data = data_dirs([entry.relative for entry in entries])
            for directory, what in data.items():
                self.skip(os.path.join(self.root_paths[index], directory).rstrip("/"), f"it holds {what}")
            for entry in entries:
                if any(below(entry.relative, directory) for directory in data):
                    continue
                st, name = entry.stat, entry.relative
                if stat.S_ISLNK(st.st_mode):
                    consider(index, name, st, "none", "")
                elif params["compress"] and matches(name, params["compress_patterns"]):
                    if st.st_size >= min_size:
                        consider(index, name, st, "compress", f"{params['compress_min_size']} or more")
                elif matches(name, params["delete_patterns"]) and (now - st.st_mtime) / 86400 > params["max_age_days"]:
                    consider(index, name, st, "delete", f"older than {params['max_age_days']:g} days")
        for pattern in params["temp_patterns"]:
            for index, relative, st in self.temp_entries(pattern):
                if stat.S_ISDIR(st.st_mode):
                    continue
                if stat.S_ISLNK(st.st_mode) or (now - st.st_mtime) / 3600 > params["temp_max_age_hours"]:
                    consider(
                        index, relative, st, "delete", f"temporary, older than {params['temp_max_age_hours']:g} hours"
                    )
        return actions

    @staticmethod
    def link_target(path: str) -> str:
        try:
            return os.readlink(path)
        except OSError:
            return "?"

    def temp_entries(self, pattern: str) -> list[tuple[int, str, os.stat_result]]:
        """(root index, path relative to it, lstat) of the names matching a temp pattern."""
        base = os.path.realpath(os.path.dirname(pattern))
        index = next((i for i, root in enumerate(self.root_paths) if inside(base, [root])), None)
        if index is None:
            raise ModuleError(
                f"{CANNOT}: temp_patterns entry {pattern}: its directory {base} is outside roots "
                f"({', '.join(self.root_paths)}); add it to roots"
            )
        directory = os.path.relpath(base, self.root_paths[index])
        try:
            fd = (
                os.dup(self.root_fds[index])
                if directory == "."
                else fs.open_beneath(self.root_fds[index], directory, fs.DIR_FLAGS)
            )
        except FileNotFoundError:
            return []
        except fs.UnsafePath:
            self.skip(base, "a directory on its path is a symlink: links are never followed")
            return []
        found = []
        try:
            for name in sorted(os.listdir(fd)):
                if fnmatch.fnmatch(name, os.path.basename(pattern)):
                    try:
                        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    found.append((index, name if directory == "." else f"{directory}/{name}", st))
        finally:
            os.close(fd)
        return found

    # --- act -------------------------------------------------------------------------------
    def act(self, item: Item) -> dict[str, Any]:
        """Compress or delete one planned entry through fds; raises Skip when it changed."""
        try:
            dir_fd, name = fs.open_parent(self.root_fds[item.root], item.relative)
        except fs.UnsafePath as exc:
            raise Skip("a directory on its path was replaced by a symlink or a file since it was planned") from exc
        except FileNotFoundError as exc:
            raise Skip("its directory disappeared since it was planned") from exc
        try:
            if item.action == "compress":
                return self.compress_at(dir_fd, name, item)
            return self.delete_at(dir_fd, name, item)
        finally:
            os.close(dir_fd)

    def delete_at(self, dir_fd: int, name: str, item: Item) -> dict[str, Any]:
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError as exc:
            raise Skip("it disappeared since it was planned") from exc
        if fs.identity(st) != fs.identity(item.st):
            raise Skip("it was replaced since it was planned")
        os.unlink(name, dir_fd=dir_fd)
        return item.public(self.now.timestamp())

    def compress_at(self, dir_fd: int, name: str, item: Item) -> dict[str, Any]:
        """Copy-truncate through one fd: gzip it into <name>.<UTC>.gz beside it (O_EXCL temporary in
        the same directory fd, renamed, same mode), then ftruncate that fd so a process holding the
        log open keeps logging into it."""
        try:
            fd = fs.open_beneath(dir_fd, name, OPEN_LOG)
        except fs.UnsafePath as exc:
            raise Skip("it was replaced by a symlink since it was planned") from exc
        except FileNotFoundError as exc:
            raise Skip("it disappeared since it was planned") from exc
        try:
            try:
                fs.check_same(fd, item.st)
            except fs.UnsafePath as exc:
                raise Skip(str(exc)) from exc
            st = os.fstat(fd)
            if st.st_nlink > 1:
                raise Skip(f"it has {st.st_nlink} hard links: it may be a file from outside the roots")
            archive = self.archive_name(dir_fd, name)
            fs.create_at(dir_fd, archive, lambda out: gzip_fd(fd, out, name, st.st_mtime), stat.S_IMODE(st.st_mode))
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)
        packed = os.stat(archive, dir_fd=dir_fd, follow_symlinks=False).st_size
        return {
            **item.public(self.now.timestamp()),
            "archive": os.path.join(os.path.dirname(item.path), archive),
            "archive_size": packed,
        }

    def archive_name(self, dir_fd: int, name: str) -> str:
        stamp = _time.stamp(self.now)
        for number in range(100):
            archive = f"{name}.{stamp}.gz" if number == 0 else f"{name}.{stamp}-{number}.gz"
            try:
                os.stat(archive, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                return archive
        raise OSError(errno.EEXIST, f"{name}.{stamp}.gz and 99 numbered archives exist")

    # --- run -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        raise_problem(CANNOT, check_params(self.params))
        try:
            return self.run_plan()
        finally:
            for fd in self.root_fds:
                os.close(fd)

    def run_plan(self) -> dict[str, Any]:
        planned = self.plan()
        now = self.now.timestamp()
        compressed, deleted, errors = [], [], []
        if not self.check_mode:
            for item in planned:
                try:
                    (compressed if item.action == "compress" else deleted).append(self.act(item))
                except Skip as exc:
                    self.skip(item.path, str(exc))
                except OSError as exc:
                    errors.append({"path": item.path, "action": item.action, "error": str(exc)})
        skipped = [{"path": path, "reason": reason} for path, reason in self.skipped.items()]
        if skipped:
            listed = "; ".join(f"{entry['path']}: {entry['reason']}" for entry in skipped[:5])
            more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            self.host.warn(
                f"log_cleanup skipped {len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'} "
                f"(not acted on): {listed}{more}"
            )
        reclaimed = sum(item["size"] for item in deleted) + sum(
            item["size"] - item["archive_size"] for item in compressed
        )
        public = [item.public(now) for item in planned]
        result = {
            "changed": bool(planned) if self.check_mode else bool(compressed or deleted),
            "planned": public,
            "compressed": compressed,
            "deleted": deleted,
            "skipped_entries": skipped,
            "errors": errors,
            "bytes_reclaimed": reclaimed,
            "bytes_to_delete": sum(item.st.st_size for item in planned if item.action == "delete"),
            "bytes_to_compress": sum(item.st.st_size for item in planned if item.action == "compress"),
            "findings": [
                cleanup_finding(
                    self.params["roots"], self.check_mode, public, compressed, deleted, skipped, reclaimed
                ).as_dict()
            ],
        }
        if errors:
            first = "; ".join(f"{e['action']} {e['path']}: {e['error']}" for e in errors[:3])
            raise ModuleError(f"{CANNOT}: {len(errors)} step(s) failed: {first}", **result)
        return result


def cleanup_finding(
    roots: list[str],
    check_mode: bool,
    planned: list[dict[str, Any]],
    compressed: list[dict[str, Any]],
    deleted: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    reclaimed: int,
) -> Finding:
    """The log_cleanup finding of a run: what was (or would be) done, a warning when entries were skipped.

    A symlink or a swapped entry in a log directory is somebody else's doing: worth a look. The plan is told
    by check mode itself (a real run whose planned entries were all skipped did nothing; it is not a plan).
    """
    if check_mode:
        count = {action: sum(1 for item in planned if item["action"] == action) for action in ("compress", "delete")}
        message = f"would compress {count['compress']} and delete {count['delete']} file(s) (check mode)"
    else:
        message = f"compressed {len(compressed)} and deleted {len(deleted)} file(s), {reclaimed} bytes reclaimed"
    recommendation = ""
    if skipped:
        paths = ", ".join(entry["path"] for entry in skipped)
        message += (
            f"; skipped {len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'} not acted on"
            f" (symlinks, entries changed while it ran, data directories): {paths}"
        )
        recommendation = SKIPPED_ADVICE + "; ".join(dict.fromkeys(entry["reason"] for entry in skipped))
    return Finding(
        check="log_cleanup",
        severity=WARNING if skipped else OK,
        subject=", ".join(roots),
        value=reclaimed,
        threshold=None,
        message=message,
        recommendation=recommendation,
    )


def gzip_fd(source: int, out: int, name: str, mtime: float) -> None:
    """Write the gzip of the whole file open at source into out (both fds), as gzip(1) would."""
    with (
        open(out, "wb", closefd=False) as raw,
        gzip.GzipFile(filename=name, mode="wb", fileobj=raw, mtime=mtime) as packed,
    ):
        offset = 0
        while chunk := os.pread(source, 1024 * 1024, offset):
            packed.write(chunk)
            offset += len(chunk)
