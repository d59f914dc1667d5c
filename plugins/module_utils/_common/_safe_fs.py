# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""File work under a directory other users can write to, done through file descriptors.

The collection runs as root on hosts where the application and other users write into log,
lock and backup directories. A path string checked once and used later can be swapped for a
symlink in between. Here every step goes through a directory fd opened component by
component with ``O_NOFOLLOW``: a symlink anywhere below the root fails the open instead of
being followed, and what was planned is re-checked by identity (device, inode, type) before
anything is acted on.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from typing import Callable, Iterator, NamedTuple

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class UnsafePath(Exception):
    """A path that is, or became, a symlink, not a directory, or otherwise not what was planned."""


class Entry(NamedTuple):
    """One entry found under a root: its path relative to the root and its lstat."""

    relative: str
    stat: os.stat_result


def identity(st: os.stat_result) -> tuple[int, int, int]:
    """What makes a file the same file: device, inode and type (pure)."""
    return st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode)


def parts(relative: str) -> list[str]:
    """The components of a path relative to a root; raises UnsafePath for '..', absolute or empty (pure)."""
    if not relative or relative.startswith("/"):
        raise UnsafePath(f"{relative!r} is not a path relative to the root")
    names = [name for name in relative.split("/") if name not in ("", ".")]
    if not names or ".." in names:
        raise UnsafePath(f"{relative!r} leaves the root or names nothing")
    return names


def _open(name: str, flags: int, dir_fd: int | None, mode: int = 0o600) -> int:
    try:
        return os.open(name, flags, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise UnsafePath(f"{name} is a symlink or not a directory") from exc
        raise


def open_dir(path: str) -> int:
    """An fd of the directory path resolves to now, every component opened with O_NOFOLLOW from /.

    A component swapped for a symlink after the path was resolved fails the open (UnsafePath).
    Whether the path itself may contain symlinks is the caller's rule (see is_symlink)."""
    real = os.path.realpath(path)
    fd = _open("/", DIR_FLAGS, None)
    try:
        for name in [name for name in real.split("/") if name]:
            child = _open(name, DIR_FLAGS, fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_beneath(root_fd: int, relative: str, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
    """An fd of relative under root_fd; no component may be a symlink or '..' (UnsafePath)."""
    names = parts(relative)
    fd = root_fd
    try:
        for name in names[:-1]:
            child = _open(name, DIR_FLAGS, fd)
            if fd != root_fd:
                os.close(fd)
            fd = child
        return _open(names[-1], flags | FILE_FLAGS, fd, mode)
    finally:
        if fd != root_fd:
            os.close(fd)


def open_parent(root_fd: int, relative: str) -> tuple[int, str]:
    """An fd of the directory holding relative (a new fd, to close) and the entry's name."""
    names = parts(relative)
    if len(names) == 1:
        return os.dup(root_fd), names[0]
    return open_beneath(root_fd, "/".join(names[:-1]), DIR_FLAGS), names[-1]


def walk(root_fd: int, recurse: bool = True, prefix: str = "") -> Iterator[Entry]:
    """Every entry under root_fd (lstat, never following a link), directories descended into
    through O_NOFOLLOW fds, in name order. Directories themselves are not yielded."""
    with os.scandir(root_fd) as found:
        entries = sorted(found, key=lambda item: item.name)
    for item in entries:
        try:
            st = os.stat(item.name, dir_fd=root_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        relative = prefix + item.name
        if stat.S_ISDIR(st.st_mode):
            if not recurse:
                continue
            try:
                child = _open(item.name, DIR_FLAGS, root_fd)
            except (UnsafePath, FileNotFoundError):
                yield Entry(relative, st)  # swapped meanwhile: the caller sees a non-directory
                continue
            try:
                if identity(os.fstat(child)) != identity(st):
                    continue
                yield from walk(child, recurse, relative + "/")
            finally:
                os.close(child)
        else:
            yield Entry(relative, st)


def check_same(fd: int, planned: os.stat_result) -> None:
    """Raise UnsafePath unless the open fd is the file that was planned."""
    if identity(os.fstat(fd)) != identity(planned):
        raise UnsafePath("it was replaced since it was planned")


def writable_by_others(st: os.stat_result, owner: int | None = None) -> str | None:
    """Why a directory is not safe to keep root's files in, or None (pure): owned by somebody other
    than root or owner, or writable by group or others."""
    owners = {0} if owner is None else {0, owner}
    if st.st_uid not in owners:
        return f"it is owned by uid {st.st_uid}"
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        who = " and ".join(name for bit, name in ((0o020, "its group"), (0o002, "every user")) if mode & bit)
        return f"it is writable by {who} (mode {mode:04o})"
    return None


def write_at(dir_fd: int, name: str, content: bytes, mode: int) -> None:
    """Write name in dir_fd atomically: a new temporary entry (O_EXCL, never through a link),
    fsynced, given mode, renamed over name; the directory fsynced. A failure leaves name as it was."""

    def fill(fd: int) -> None:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]

    create_at(dir_fd, name, fill, mode)


def create_at(dir_fd: int, name: str, fill: Callable[[int], None], mode: int) -> None:
    """Like write_at, for content streamed by fill(fd) into the temporary entry (a compressor, a
    copy): the temporary ``.<name>.partial-<pid>`` is created with O_EXCL|O_NOFOLLOW in dir_fd,
    filled, fsynced, given mode and renamed over name. A failure removes the temporary entry only."""
    temp = f".{name}.partial-{os.getpid()}"
    fd = _open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | FILE_FLAGS, dir_fd, 0o600)
    try:
        try:
            fill(fd)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=dir_fd)
        raise
    os.fsync(dir_fd)


def is_symlink(path: str) -> bool:
    return os.path.islink(path.rstrip("/") or "/")


def fd_path(fd: int) -> str:
    """A path a child process can open to reach the file this process has open as fd (no pass_fds
    needed): programs get the file that was opened and checked, never a name that can be swapped."""
    return f"/proc/{os.getpid()}/fd/{fd}"


def sha256_fd(fd: int, chunk: int = 1024 * 1024) -> tuple[int, str]:
    """Size and sha256 of an open file, read from its start."""
    digest = hashlib.sha256()
    size = 0
    os.lseek(fd, 0, os.SEEK_SET)
    while block := os.read(fd, chunk):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()


def remove_tree(parent_fd: int, name: str) -> None:
    """Remove the directory name in parent_fd and everything in it, through O_NOFOLLOW fds: a link
    inside is removed, never followed (shutil.rmtree takes dir_fd only from Python 3.11)."""
    fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    try:
        with os.scandir(fd) as found:
            names = [entry.name for entry in found]
        for child in names:
            if stat.S_ISDIR(os.stat(child, dir_fd=fd, follow_symlinks=False).st_mode):
                remove_tree(fd, child)
            else:
                os.unlink(child, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)
