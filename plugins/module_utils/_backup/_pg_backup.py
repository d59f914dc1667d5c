# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PostgreSQL dumps with row counts from the same snapshot: the backend of pg_backup.

For each database one session opens a REPEATABLE READ transaction and exports its snapshot;
``pg_dump --snapshot`` dumps exactly that snapshot while the session counts every table's rows
in it, so the counts in the manifest are the counts in the dump. ``pg_dump -Fc -Z0 | zstd``
runs as a pipeline whose every exit status is checked; its output reaches the file through this
process, which counts the file's sha256 on the way (no second read of what was just written).
Without ``compression_level`` the zstd level is chosen from a sample of the largest database
(see _compression).

``dest`` may be a directory other people can reach, so nothing is written through a path in it:
``dest`` is opened once (``O_NOFOLLOW`` per component, see _safe_fs), refused when another user
can write to it, and each dump goes into ``<name>.partial``, created ``O_EXCL|O_NOFOLLOW``
relative to that directory fd and handed to the pipeline as an open fd. Only when every dump
has succeeded are the ``.partial`` entries fsynced and renamed over their final names; on any
failure exactly the ``.partial`` entries this run created (identity re-checked) are removed, so
older dumps in ``dest`` stay as they were. Before any dump starts, the free space of ``dest``'s
filesystem is compared with the databases' size times ``expected_size_ratio`` plus
``free_space_margin``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import os
import re
import stat
import threading
import time
from typing import Any, NamedTuple

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._compression import auto_choice, measure
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import need
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import (
    PipelineError,
    Sink,
    run_pipeline,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._safe_fs import (
    DIR_FLAGS,
    UnsafePath,
    fd_path,
    identity,
    open_beneath,
    open_dir,
    remove_tree,
    sha256_fd,
    walk,
    writable_by_others,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import iso, now
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import human_bytes, margin_bytes
from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import (
    client_argument_spec,
    client_command,
    connection_kwargs,
    conninfo_dbname,
    count_rows,
    describe_target,
    libpq_env,
    open_connection,
    pg_reason,
    postgres_argument_spec,
)

DATABASES_SQL = """
SELECT datname, pg_database_size(oid) FROM pg_database
WHERE datallowconn AND NOT datistemplate ORDER BY datname
"""

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
PARTIAL = ".partial"
CHUNK = 1024 * 1024

# The longest timeout: the row counts run under statement_timeout, whose limit is INT_MAX ms.
MAX_TIMEOUT = 2_147_483
# A dump's expected size as a share of pg_database_size, by compression (expected_size_ratio's
# default). A dump holds no index, no free space and no page or tuple overhead; measured on
# pgbench data a zstd dump is 0.6 % of the database, on random md5 filler 15 %: 0.5 leaves room
# for data that compresses badly. Uncompressed, text output of some types (bytea as hex) can
# outgrow the stored form: 1.
DEFAULT_SIZE_RATIO = {"zstd": 0.5, "gzip": 0.5, "none": 1.0}
# compression_level when it is not given and not chosen from a sample (the option's default before
# the choice from a sample: 3).
DEFAULT_LEVEL = {"zstd": 3, "gzip": 3, "none": 0}
LEVEL_LIMITS = {"zstd": (1, 19), "gzip": (1, 9), "none": (0, 9)}
# The longest the sample for the level may take (it takes a fraction of a second).
SAMPLE_SECONDS = 10.0

FORMATS = {
    # (format, compression) -> (file suffix, manifest format)
    ("custom", "zstd"): (".dump.zst", "pg_custom+zstd"),
    ("custom", "gzip"): (".dump", "pg_custom"),
    ("custom", "none"): (".dump", "pg_custom"),
    ("directory", "gzip"): (".dir", "pg_directory"),
    ("directory", "none"): (".dir", "pg_directory"),
}
GLOBALS = {
    "zstd": ("postgres-globals.sql.zst", "sql+zstd"),
    "gzip": ("postgres-globals.sql.gz", "sql+gzip"),
    "none": ("postgres-globals.sql", "sql"),
}

ARGUMENT_SPEC = {
    **postgres_argument_spec(),
    **client_argument_spec(),
    "dest": {"type": "path", "required": True},
    "databases": {"type": "list", "elements": "str", "default": []},
    "exclude_databases": {"type": "list", "elements": "str", "default": []},
    "format": {"type": "str", "choices": ["custom", "directory"], "default": "custom"},
    "compression": {"type": "str", "choices": ["zstd", "gzip", "none"], "default": "zstd"},
    "compression_level": {"type": "int"},
    "compression_threads": {"type": "int", "default": 0},
    "jobs": {"type": "int", "default": 2},
    "concurrency": {"type": "int", "default": 2},
    "globals": {"type": "bool", "default": True},
    "count_rows": {"type": "bool", "default": True},
    "lock_wait_timeout": {"type": "str", "default": "60s"},
    "timeout": {"type": "int", "default": 3600},
    "expected_size_ratio": {"type": "float"},
    "free_space_margin": {"type": "str", "default": "5%"},
}


def file_stem(database: str) -> str:
    """A file name for a database name (any byte is legal in one): unsafe bytes as %XX."""
    return "postgres-" + _SAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), database)


def dump_args(
    database: str,
    snapshot: str | None,
    fmt: str,
    compression: str,
    level: int,
    jobs: int,
    lock_wait_timeout: str,
    target: str | None,
) -> list[str]:
    """pg_dump's arguments (pure)."""
    args = ["--no-password", f"--format={fmt}", f"--lock-wait-timeout={lock_wait_timeout}"]
    args.append(f"--compress={level if compression == 'gzip' else 0}")
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    if fmt == "directory":
        args += [f"--jobs={jobs}", f"--file={target}"]
    args += ["--dbname", conninfo_dbname(database)]
    return args


def compressor(compression: str, level: int) -> list[str] | None:
    """The one-process compressor of a stream (pure): restore tests and globals use it too."""
    if compression == "zstd":
        return ["zstd", "-q", "-T0", f"-{level}", "-c"]
    if compression == "gzip":
        return ["gzip", "-c", f"-{level}"]
    return None


def compress_stages(compression: str, level: int, threads: int, pzstd: str | None) -> list[list[str]]:
    """The stages after pg_dump -Fc -Z0 that compress the archive (pure).

    With more than one thread and pzstd (zstd's parallel front end, in the same package) at hand,
    pzstd compresses on every thread into independent zstd frames: any zstd reads them, and
    pzstd decompresses them in parallel. Measured on pgbench data it keeps up with pg_dump where
    ``zstd -T0`` does not (benchmarks/backup.py). The file is written by the pipeline's Sink,
    which names the cause of a failed write (ENOSPC) that pzstd would not.
    """
    if compression == "zstd" and pzstd and threads > 1:
        return [[pzstd, "-q", "-p", str(threads), f"-{level}", "-c"]]
    squeeze = compressor(compression, level)
    if squeeze and compression == "zstd" and threads:
        squeeze[2] = f"-T{threads}"
    return [squeeze] if squeeze else []


def dump_order(sizes: dict[str, int], databases: list[str]) -> list[str]:
    """Largest database first (pure): with several dumps at a time, the long one starts at once
    and the small ones run beside it."""
    return sorted(databases, key=lambda name: (-sizes.get(name, 0), name))


def check_params(params: dict[str, Any]) -> str | None:
    """Why these parameters cannot work, or None (pure). Names the parameter."""
    key = (params["format"], params["compression"])
    if key not in FORMATS:
        return (
            f"compression={params['compression']} does not work with format={params['format']}: "
            "PostgreSQL 15's pg_dump compresses directory dumps with gzip only"
        )
    level = params["compression_level"]
    limits = LEVEL_LIMITS[params["compression"]]
    if level is not None and not limits[0] <= level <= limits[1]:
        return f"compression_level must be between {limits[0]} and {limits[1]} for {params['compression']}, got {level}"
    if params["jobs"] < 1:
        return f"jobs must be 1 or more, got {params['jobs']}"
    if params["concurrency"] < 1:
        return f"concurrency must be 1 or more, got {params['concurrency']}"
    if params["compression_threads"] < 0:
        return f"compression_threads must be 0 (every CPU) or more, got {params['compression_threads']}"
    if not 1 <= params["timeout"] <= MAX_TIMEOUT:
        return (
            f"timeout must be between 1 and {MAX_TIMEOUT} seconds (24 days, the longest statement_timeout "
            f"PostgreSQL takes for the row counts), got {params['timeout']}"
        )
    ratio = params.get("expected_size_ratio")
    if ratio is not None and not (math.isfinite(ratio) and 0 <= ratio <= 100):
        return f"expected_size_ratio must be between 0 and 100 (a share of the databases' size), got {ratio}"
    try:
        margin_bytes(params.get("free_space_margin", "0"), 0)
    except ValueError as exc:
        return f"free_space_margin {exc}"
    if params["client"] == "docker":
        if not params.get("docker_container"):
            return "docker_container is required with client=docker"
        if params["format"] == "directory":
            return "format=directory needs client=host (a directory dump is written where pg_dump runs)"
    overlap = set(params["databases"]) & set(params["exclude_databases"])
    if overlap:
        return f"databases and exclude_databases both name {', '.join(sorted(overlap))}"
    return None


def size_ratio(params: dict[str, Any]) -> float:
    """expected_size_ratio, or its default for the compression (pure)."""
    ratio = params.get("expected_size_ratio")
    return DEFAULT_SIZE_RATIO[params["compression"]] if ratio is None else float(ratio)


def space_needed(database_bytes: int, ratio: float, margin: int) -> int:
    """Bytes a backup needs free in dest: the databases' size times the ratio, plus the margin (pure)."""
    return math.ceil(database_bytes * ratio) + margin


def space_problem(
    dest: str, database_bytes: int, ratio: float, margin_text: str, margin: int, available: int
) -> str | None:
    """Why dest's filesystem is too small for the backup, or None (pure). Names both numbers and
    the options."""
    needed = space_needed(database_bytes, ratio, margin)
    if needed <= available:
        return None
    return (
        f"Cannot back up PostgreSQL to dest {dest}: the backup needs about {human_bytes(needed)} ({needed} bytes: "
        f"{human_bytes(database_bytes)} of databases x expected_size_ratio {ratio:g} + free_space_margin "
        f"{margin_text} = {human_bytes(margin)} kept free) but its filesystem has {human_bytes(available)} "
        f"({available} bytes) available; free space or choose another dest (expected_size_ratio: 0 and "
        "free_space_margin: 0 switch this check off)"
    )


def dest_problem(dest: str, st: os.stat_result, euid: int) -> str | None:
    """Why dest is not safe to write the dumps into, or None (pure): a directory another user can
    write to could get a link planted at a dump's name, or be filled."""
    why = writable_by_others(st, euid)
    if why is None:
        return None
    return (
        f"Cannot back up PostgreSQL to dest {dest}: {why}; other users could plant links at the dumps' names "
        f"or fill it. Use a directory only uid {euid} can write to (chmod go-w, chown), or a new path: "
        "pg_backup creates it with mode 0700"
    )


def link_problem(dest: str, links: list[tuple[str, os.stat_result]], euid: int) -> str | None:
    """Why the symlinks on the way to dest (each with its lstat) make it untrustworthy, or None
    (pure): a link owned by another user was that user's choice of where root writes (Linux's
    protected_symlinks rule, for every directory rather than sticky ones only)."""
    for path, st in links:
        if st.st_uid not in (0, euid):
            return (
                f"Cannot back up PostgreSQL to dest {dest}: {path} is a symlink owned by uid {st.st_uid}, who could "
                "point it anywhere; name the real directory"
            )
    return None


def path_links(path: str) -> list[tuple[str, os.stat_result]]:
    """The symlinks among path's components, each with its lstat (components that do not exist end
    the walk)."""
    found = []
    current = "/"
    for name in [name for name in os.path.abspath(path).split("/") if name]:
        current = os.path.join(current, name)
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            break
        if stat.S_ISLNK(st.st_mode):
            found.append((current, st))
            current = os.path.realpath(current)
    return found


def entry_problem(dest: str, name: str, st: os.stat_result | None, directory: bool) -> str | None:
    """Why a dump cannot be put at name in dest, given what is there now (lstat or None), or None
    (pure). A file replaces an older file or link atomically; a directory dump needs the name free."""
    if st is None:
        return None
    if name.endswith(PARTIAL):
        return (
            f"dest {dest} already holds {name}, left by a killed run or being written by another one; "
            "remove it when no backup is running"
        )
    if directory:
        return f"dest {dest} already holds {name}; a directory dump does not replace one, move it away"
    if stat.S_ISDIR(st.st_mode):
        return f"dest {dest} holds a directory named {name}, where the dump goes; move it away"
    return None


class BackupError(Exception):
    """A dump that failed; its message is the module's failure message."""


class NotStarted(BackupError):
    """A dump not started because another one had failed."""


class Partial(NamedTuple):
    """An entry this run created in dest: <final>.partial, its identity, and an open fd of it."""

    final: str
    name: str
    fd: int
    identity: tuple[int, int, int]
    directory: bool


class Dest:
    """The dest directory of one run: opened once (never through another user's link), checked for
    room and for what is at the dumps' names, and the .partial entries this run creates in it, which
    are either all renamed over their final names (commit) or all removed."""

    def __init__(self, params: Any, check_mode: bool) -> None:
        self.params, self.check_mode = params, check_mode
        self.fd: int | None = None
        self.created: list[Partial] = []
        self.lock = threading.Lock()

    def close(self) -> None:
        for partial in self.created:
            with contextlib.suppress(OSError):
                os.close(partial.fd)
        if self.fd is not None:
            os.close(self.fd)

    def open(self) -> None:
        """Open dest (creating it with mode 0700 when missing, not in check mode) and refuse it when
        another user can write to it. In check mode a missing dest is left missing."""
        dest = self.params["dest"]
        euid = os.geteuid()
        problem = link_problem(dest, path_links(dest), euid)
        if problem:
            raise ModuleError(problem)
        try:
            try:
                self.fd = open_dir(dest)
            except FileNotFoundError:
                if self.check_mode:
                    return
                parent = os.path.dirname(os.path.abspath(dest))
                os.makedirs(parent, exist_ok=True)
                with contextlib.suppress(FileExistsError):  # made meanwhile: checked below like any other
                    os.mkdir(dest, 0o700)
                self.fd = open_dir(dest)
            st = os.fstat(self.fd)
        except UnsafePath as exc:
            raise ModuleError(f"Cannot back up PostgreSQL to dest {dest}: {exc}") from None
        except OSError as exc:
            raise ModuleError(
                f"Cannot back up PostgreSQL: cannot open or create dest {dest}: {exc.strerror or exc}"
            ) from None
        # The links again, now that dest is open: one swapped in meanwhile is refused as well.
        problem = link_problem(dest, path_links(dest), euid) or dest_problem(dest, st, euid)
        if problem:
            raise ModuleError(problem)

    def check_space(self, database_bytes: int) -> dict[str, Any]:
        """Refuse, before any dump starts, a backup that would leave less than free_space_margin free."""
        dest = self.params["dest"]
        if self.fd is not None:
            vfs = os.fstatvfs(self.fd)
        else:  # check mode, dest still to be made: the filesystem it would be made on
            existing = os.path.abspath(dest)
            while not os.path.isdir(existing):
                existing = os.path.dirname(existing)
            vfs = os.statvfs(existing)
        available = vfs.f_bavail * vfs.f_frsize
        ratio = size_ratio(self.params)
        margin_text = str(self.params["free_space_margin"])
        margin = margin_bytes(margin_text, vfs.f_blocks * vfs.f_frsize)
        problem = space_problem(dest, database_bytes, ratio, margin_text, margin, available)
        if problem:
            raise ModuleError(problem)
        return {
            "database_bytes": database_bytes,
            "expected_size_ratio": ratio,
            "margin": margin,
            "needed": space_needed(database_bytes, ratio, margin),
            "available": available,
        }

    def check_entries(self, targets: list[tuple[str, bool]]) -> None:
        """Refuse, before any dump starts, (name, is a directory dump) targets in dest that a dump
        cannot be put at, or whose .partial exists (see entry_problem)."""
        dest = self.params["dest"]
        for final, directory in targets:
            for name in (final + PARTIAL, final):
                try:
                    st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
                except FileNotFoundError:
                    st = None
                except OSError as exc:
                    raise ModuleError(
                        f"Cannot back up PostgreSQL: cannot look at {name} in dest {dest}: {exc}"
                    ) from None
                problem = entry_problem(dest, name, st, directory)
                if problem:
                    raise ModuleError(f"Cannot back up PostgreSQL: {problem}")

    def create_partial(self, final: str, directory: bool, what: str) -> Partial:
        """Create <final>.partial in dest, never through a link and never over an existing entry,
        and remember it: it is the only thing a failure removes. BackupError starting with what
        when it cannot be created."""
        name = final + PARTIAL
        try:
            if directory:
                os.mkdir(name, 0o700, dir_fd=self.fd)
                fd = os.open(name, DIR_FLAGS, dir_fd=self.fd)
            else:
                flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(name, flags, 0o600, dir_fd=self.fd)
        except OSError as exc:
            raise BackupError(f"{what}: cannot create {name} in dest {self.params['dest']}: {exc}") from None
        partial = Partial(final, name, fd, identity(os.fstat(fd)), directory)
        with self.lock:
            self.created.append(partial)
        return partial

    def remove_partials(self) -> None:
        """Remove the .partial entries this run created, each only while it is still the same entry."""
        for partial in self.created:
            try:
                st = os.stat(partial.name, dir_fd=self.fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if identity(st) != partial.identity:
                continue
            with contextlib.suppress(OSError):
                if partial.directory:
                    remove_tree(self.fd, partial.name)
                else:
                    os.unlink(partial.name, dir_fd=self.fd)

    def commit(self) -> None:
        """Every dump succeeded: rename each .partial over its final name, then fsync dest."""
        done: list[str] = []
        for partial in self.created:
            try:
                st = os.stat(partial.name, dir_fd=self.fd, follow_symlinks=False)
                if identity(st) != partial.identity:
                    raise OSError(f"{partial.name} was replaced during the backup")
                os.rename(partial.name, partial.final, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            except OSError as exc:
                self.created = [item for item in self.created if item.final not in done]
                self.remove_partials()
                replaced = f" (already in place: {', '.join(done)})" if done else ""
                raise ModuleError(
                    f"Cannot back up PostgreSQL: cannot move {partial.name} to {partial.final} in dest "
                    f"{self.params['dest']}: {exc}{replaced}"
                ) from None
            done.append(partial.final)
        os.fsync(self.fd)

    def entries(self, partial: Partial, sink: Sink | None = None) -> list[dict[str, Any]]:
        """Path (relative to dest, under the final name), size and sha256 of what a dump wrote: a
        file's as its sink counted them on the way in, a directory's files read through its fd."""
        if sink is not None:
            return [{"path": partial.final, "size": sink.size, "sha256": sink.sha256}]
        found = []
        for entry in walk(partial.fd):
            if not stat.S_ISREG(entry.stat.st_mode):
                continue
            fd = open_beneath(partial.fd, entry.relative)
            try:
                size, digest = sha256_fd(fd)
            finally:
                os.close(fd)
            found.append({"path": f"{partial.final}/{entry.relative}", "size": size, "sha256": digest})
        os.fsync(partial.fd)
        return found


class PgBackup(Backend):
    """Backend of the pg_backup module."""

    def __init__(self, params: Any, check_mode: bool, host: Any) -> None:
        super().__init__(params, check_mode, host)
        self.env = libpq_env(self.params)
        self.stop = threading.Event()
        self.dest = Dest(params, check_mode)

    def run(self) -> dict[str, Any]:
        self.psycopg2 = need("psycopg2", "psycopg2-binary")
        self.sql = need("psycopg2.sql", "psycopg2-binary")
        try:
            return self._run()
        finally:
            self.dest.close()

    def _run(self) -> dict[str, Any]:
        raise_problem("Cannot back up PostgreSQL", check_params(self.params))
        conn = open_connection(self.params)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT current_setting('server_version'), current_setting('server_version_num')::int")
                version, version_num = cursor.fetchone()
                cursor.execute(DATABASES_SQL)
                sizes = dict(cursor.fetchall())
        finally:
            conn.close()
        databases = self.select(sizes)
        fmt, compression = self.params["format"], self.params["compression"]
        suffix, label = FORMATS[(fmt, compression)]
        planned = [
            {"database": name, "file": file_stem(name) + suffix, "format": label, "database_size": sizes[name]}
            for name in databases
        ]
        if self.params["globals"]:
            planned.append({"database": None, "file": GLOBALS[compression][0], "format": GLOBALS[compression][1]})
        result: dict[str, Any] = {
            "changed": True,
            "server_version": version,
            "server_version_num": version_num,
            "planned": planned,
        }
        self.dest.open()
        result["space"] = self.dest.check_space(sum(sizes[name] for name in databases))
        if self.check_mode:
            return result
        self.dest.check_entries(
            [(entry["file"], entry["database"] is not None and fmt == "directory") for entry in planned]
        )
        started, began = now(), time.monotonic()
        deadline = began + self.params["timeout"]
        threads = self.params["compression_threads"] or os.cpu_count() or 1
        pzstd = self.host.get_bin_path("pzstd") if compression == "zstd" and threads > 1 else None
        tasks: list[str | None] = list(dump_order(sizes, databases))
        self.choice = self.choose_compression(tasks[0], threads, pzstd, deadline)
        self.level = self.choice["level"]
        self.squeeze = compress_stages(compression, self.level, threads, pzstd)
        if self.params["globals"]:
            tasks.append(None)
        done = self.dump_all(tasks, suffix, label, deadline)
        self.dest.commit()
        files: list[dict[str, Any]] = []
        details: dict[str, Any] = {}
        for name in databases:
            details[name], entries = done[name]
            files += entries
        if self.params["globals"]:
            files += done[None][1]
        finished = now()
        result.update(
            files=files,
            databases=details,
            started_at=iso(started),
            finished_at=iso(finished),
            seconds=round(time.monotonic() - began, 3),
            size=sum(entry["size"] for entry in files),
        )
        result["compression"] = self.choice
        if self.squeeze:
            result["compressor"] = self.choice["program"]
        return result

    def choose_compression(self, largest: str, threads: int, pzstd: str | None, deadline: float) -> dict[str, Any]:
        """The compression of this run, as the manifest records it: program, level, threads and how the
        level was chosen (given, the format's default, or measured on a sample of the largest database)."""
        compression, level = self.params["compression"], self.params["compression_level"]
        program = {"zstd": "pzstd" if pzstd else "zstd", "gzip": "gzip", "none": None}[compression]
        base = {"compression": compression, "program": program, "threads": threads if compression == "zstd" else 1}
        if level is not None:
            return {**base, "level": level, "chosen": "compression_level"}
        if compression != "zstd":
            return {**base, "level": DEFAULT_LEVEL[compression], "chosen": "default"}
        # The sample is a guess's input, never a reason to fail or delay the backup: it waits for no lock
        # (a locked table is left out), takes a tenth of the time left at most, and on any failure the
        # level is the default one, with why.
        limit = min(SAMPLE_SECONDS, self.remaining(deadline, f"database {largest}") / 10)
        try:
            conn = self.psycopg2.connect(**connection_kwargs(self.params, largest))
            try:
                conn.autocommit = True
                with conn.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '50ms'")
                    cursor.execute("SELECT set_config('statement_timeout', %s, false)", (f"{int(limit * 1000)}ms",))
                    zstd = self.host.get_bin_path("zstd") or "zstd"
                    measured = measure(self.host, cursor, zstd, limit)
            finally:
                conn.close()
        except (self.psycopg2.Error, PipelineError, OSError) as exc:
            reason = pg_reason(exc) if isinstance(exc, self.psycopg2.Error) else str(exc)
            return {**base, "level": DEFAULT_LEVEL[compression], "chosen": "default", "reason": f"no sample: {reason}"}
        return {**base, **auto_choice(measured, threads)}

    def dump_all(
        self, tasks: list[str | None], suffix: str, label: str, deadline: float
    ) -> dict[str | None, tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Runs the dumps, O(concurrency) at a time; None is the globals. On the first failure no
        other dump starts, the running ones finish, every .partial this run created is removed (older
        dumps in dest stay) and the module fails with the first failure's message."""

        def one(name: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            if self.stop.is_set():
                raise NotStarted("not started: an earlier dump failed")
            try:
                if name is None:
                    return {}, [self.dump_globals(deadline)]
                return self.dump_database(name, suffix, label, deadline)
            except BackupError:
                self.stop.set()
                raise

        workers = max(1, min(self.params["concurrency"], len(tasks)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(one, name) for name in tasks]
            concurrent.futures.wait(futures)
        failures = [future.exception() for future in futures if future.exception() is not None]
        if failures:
            self.dest.remove_partials()
            first = next((exc for exc in failures if not isinstance(exc, NotStarted)), failures[0])
            if isinstance(first, BackupError):
                raise ModuleError(str(first))
            raise first
        return {name: future.result() for name, future in zip(tasks, futures)}

    def select(self, sizes: dict[str, int]) -> list[str]:
        wanted = self.params["databases"] or list(sizes)
        unknown = [name for name in wanted if name not in sizes]
        if unknown:
            raise ModuleError(
                f"Cannot back up PostgreSQL: databases lists {', '.join(unknown)}, not on the server "
                f"(it has {', '.join(sizes)})"
            )
        chosen = [name for name in wanted if name not in self.params["exclude_databases"]]
        if not chosen:
            raise ModuleError("Cannot back up PostgreSQL: no database left after exclude_databases")
        return chosen

    def remaining(self, deadline: float, what: str) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BackupError(
                f"Cannot back up {what}: the whole backup's timeout={self.params['timeout']} s "
                "ran out before it started"
            )
        return left

    def timed_out(self, reason: str) -> str:
        """A pipeline's timeout message, saying which limit it was."""
        if reason.startswith("timed out"):
            return f"{reason}: the whole backup may take timeout={self.params['timeout']} s"
        return reason

    def dump_database(
        self, name: str, suffix: str, label: str, deadline: float
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        params, sql = self.params, self.sql
        relative = file_stem(name) + suffix
        timeout = self.remaining(deadline, f"database {name}")
        began = time.monotonic()
        directory = params["format"] == "directory"
        partial = self.dest.create_partial(relative, directory, f"Cannot back up database {name}")
        try:
            conn = self.psycopg2.connect(**connection_kwargs(params, name))
        except self.psycopg2.Error as exc:
            reason = pg_reason(exc)
            raise BackupError(
                f"Cannot back up database {name}: cannot connect to {describe_target(params)}: {reason}"
            ) from None
        try:
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            cursor = conn.cursor()
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", (f"{int(timeout * 1000)}ms",))
            # The counts wait for table locks no longer than pg_dump does.
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", (params["lock_wait_timeout"],))
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            args = dump_args(
                name,
                snapshot,
                params["format"],
                params["compression"],
                self.level,
                params["jobs"],
                params["lock_wait_timeout"],
                fd_path(partial.fd),
            )
            stages = [client_command(params, "pg_dump", args)]
            if params["format"] == "custom" and params["compression"] == "zstd":
                stages += self.squeeze
            sink = None if directory else Sink(partial.fd, f"{partial.name} in dest {params['dest']}")
            counts = run_pipeline(
                self.host,
                stages,
                env=self.env,
                timeout=timeout,
                while_running=(lambda: count_rows(cursor, sql)) if params["count_rows"] else None,
                sink=sink,
            )
            entries = self.dest.entries(partial, sink)
        except PipelineError as exc:
            raise BackupError(f"Cannot back up database {name}: {self.timed_out(str(exc))}") from None
        except self.psycopg2.Error as exc:
            reason = pg_reason(exc)
            if getattr(exc, "pgcode", None) == "57014":  # query_canceled: our statement_timeout
                reason = (
                    f"counting rows ran past the whole backup's timeout={params['timeout']} s "
                    f"(statement_timeout of the counting session): {reason}"
                )
            elif getattr(exc, "pgcode", None) == "55P03":  # lock_not_available
                reason = f"a table stayed locked longer than lock_wait_timeout={params['lock_wait_timeout']}: {reason}"
            raise BackupError(f"Cannot back up database {name}: {reason}") from None
        except (OSError, UnsafePath) as exc:
            raise BackupError(f"Cannot back up database {name} to {relative} in dest {params['dest']}: {exc}") from None
        finally:
            conn.close()
        recorded = {key: self.choice[key] for key in ("compression", "program", "level")}
        for entry in entries:
            entry.update(kind="postgres", format=label, database=name, compression=recorded)
        detail = {
            "file": relative,
            "format": label,
            "compression": self.choice,
            "seconds": round(time.monotonic() - began, 3),
            "size": sum(entry["size"] for entry in entries),
        }
        if counts is not None:
            detail.update(tables=counts, table_count=len(counts), row_count=sum(counts.values()))
        return detail, entries

    def dump_globals(self, deadline: float) -> dict[str, Any]:
        relative, label = GLOBALS[self.params["compression"]]
        what = "Cannot back up PostgreSQL globals (roles, tablespaces)"
        partial = self.dest.create_partial(relative, False, what)
        stages = [client_command(self.params, "pg_dumpall", ["--no-password", "--globals-only"])]
        squeeze = compressor(self.params["compression"], self.level)
        if squeeze:
            stages.append(squeeze)
        sink = Sink(partial.fd, f"{partial.name} in dest {self.params['dest']}")
        try:
            run_pipeline(self.host, stages, env=self.env, timeout=self.remaining(deadline, "globals"), sink=sink)
            (entry,) = self.dest.entries(partial, sink)
        except PipelineError as exc:
            raise BackupError(f"{what}: {self.timed_out(str(exc))}") from None
        except OSError as exc:
            raise BackupError(f"{what}: {exc}") from None
        entry.update(kind="postgres_globals", format=label)
        return entry
