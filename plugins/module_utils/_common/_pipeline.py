# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run ``a | b | c`` through the host's run_command without losing any stage's exit status.

Pipes need a shell: the pipeline is a bash script built here from argument lists, every
argument quoted with shlex.quote (no user input is ever interpreted by the shell). Each stage
runs under coreutils ``timeout`` and writes its stderr to its own file; bash's PIPESTATUS
gives every stage's exit status, and the error names the stage that failed first in the
data's direction: when ``zstd`` cannot write (disk full) and ``pg_dump`` then dies of
SIGPIPE, the error is zstd's. Output files are created with umask 077.

With a ``Sink`` the last stage writes into a FIFO that a thread of this process reads: each
block is hashed (sha256) and written to the sink's open fd on the way, so the output's checksum
costs no second read of the file, and a failed write (disk full) is named as such.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shlex
import shutil
import signal
import tempfile
import threading
from typing import Any, Callable, Sequence

SIGPIPE_CODES = (-signal.SIGPIPE, 128 + signal.SIGPIPE)
TIMEOUT_CODES = (124, 128 + signal.SIGKILL)
KILL_AFTER = 10


CHUNK = 1024 * 1024


class PipelineError(Exception):
    pass


class Sink:
    """A pipeline's output written to an open fd by this process, its size and sha256 counted on the way."""

    def __init__(self, fd: int, what: str) -> None:
        self.fd, self.what = fd, what
        self.size = 0
        self.hash = hashlib.sha256()
        self.error: OSError | None = None

    @property
    def sha256(self) -> str:
        return self.hash.hexdigest()

    def drain(self, fifo: str) -> None:
        """Copy the FIFO into fd until its writer closes it; a failed write is kept in error and ends
        the reading (the writer then dies of SIGPIPE, a victim: the error is this one)."""
        source = os.open(fifo, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with contextlib.suppress(OSError):  # a 1 MiB pipe: a quarter of the reads of the 64 KiB default
                fcntl.fcntl(source, fcntl.F_SETPIPE_SZ, CHUNK)
            while block := os.read(source, CHUNK):
                self.hash.update(block)
                self.size += len(block)
                view = memoryview(block)
                while view:
                    view = view[os.write(self.fd, view) :]
        except OSError as exc:
            self.error = exc
        finally:
            os.close(source)


def tail(text: str, lines: int = 6) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(kept[-lines:])


def seconds(timeout: float) -> str:
    """coreutils timeout's duration: fractions allowed, at least 0.1 s (pure)."""
    return f"{max(0.1, round(timeout, 1)):g}"


def stage_name(argv: Sequence[str]) -> str:
    """pg_dump for /usr/bin/pg_dump; "pg_dump (docker exec)" for docker exec [options] container pg_dump (pure)."""
    name = os.path.basename(argv[0])
    if name in ("docker", "podman") and len(argv) > 1 and argv[1] == "exec":
        index = 2
        while index < len(argv) and argv[index].startswith("-"):
            takes_value = argv[index] in ("-e", "--env", "-u", "--user", "-w", "--workdir", "--env-file")
            index += 2 if takes_value else 1
        if index + 1 < len(argv):
            return f"{os.path.basename(argv[index + 1])} ({name} exec)"
    return name


def blame(
    names: Sequence[str],
    codes: Sequence[int | None],
    errors: Sequence[str],
    sigpipe_ok: Sequence[int] = (),
    timeout: float | None = None,
) -> str | None:
    """Why a finished pipeline failed, or None when it did not (pure).

    A stage killed by SIGPIPE is a victim when a later stage failed or when its index is in
    sigpipe_ok (a reader that stops early on purpose, like ``pg_restore --list``).
    """
    failed = [index for index, code in enumerate(codes) if code != 0]
    if not failed:
        return None
    if timeout and any(codes[index] in TIMEOUT_CODES for index in failed):
        return f"timed out after {round(timeout, 1):g} s ({' | '.join(names)} killed)"
    reasons = []
    for index in failed:
        later_failed = any(other > index for other in failed)
        if codes[index] in SIGPIPE_CODES and (later_failed or index in sigpipe_ok):
            continue
        message = tail(errors[index]) or "no message"
        reasons.append(f"{names[index]} exited with {codes[index]}: {message}")
    return "; ".join(reasons) or None


def script(
    stages: Sequence[Sequence[str]],
    error_paths: Sequence[str],
    status_path: str,
    stdin_path: str | None = None,
    stdout_path: str | None = None,
    timeout: float | None = None,
) -> str:
    """The bash script that runs the pipeline (pure). Every word is shlex-quoted."""
    commands = []
    for index, argv in enumerate(stages):
        words = list(argv)
        if timeout:
            words = ["timeout", "-k", str(KILL_AFTER), seconds(timeout), *words]
        command = " ".join(shlex.quote(word) for word in words) + " 2>" + shlex.quote(error_paths[index])
        if index == 0:
            command += " <" + shlex.quote(stdin_path or "/dev/null")
        commands.append(command)
    line = " | ".join(commands) + " >" + shlex.quote(stdout_path or "/dev/null")
    return f'umask 077; {line}; echo "${{PIPESTATUS[*]}}" >{shlex.quote(status_path)}'


def release(fifo: str) -> None:
    """Let a reader still waiting in open(fifo) go on to end of file: bash never opened its write end
    when the pipeline could not start."""
    with contextlib.suppress(OSError):  # ENXIO: no reader left, it has already seen its writer close
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC))


def run_pipeline(
    host: Any,
    stages: Sequence[Sequence[str]],
    env: dict[str, str] | None = None,
    stdin_path: str | None = None,
    stdout_path: str | None = None,
    timeout: float | None = None,
    while_running: Callable[[], Any] | None = None,
    sigpipe_ok: Sequence[int] = (),
    sink: Sink | None = None,
) -> Any:
    """Run the stages chained by pipes through host.run_command (the backend's Host, or anything with
    AnsibleModule's run_command); stdout of the last goes to stdout_path, or through sink (hashed,
    written to its fd and fsynced), or is discarded.

    Returns what while_running() returned (it runs in a thread while the pipeline works; its
    exception, if any, is raised after the pipeline ended). Raises PipelineError naming the
    stage that failed, or the timeout.
    """
    names = [stage_name(stage) for stage in stages]
    work = tempfile.mkdtemp(prefix="jarvis-pipe-")
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = while_running()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    try:
        error_paths = [os.path.join(work, f"stage{index}.err") for index in range(len(stages))]
        status_path = os.path.join(work, "status")
        drainer = None
        if sink:
            stdout_path = os.path.join(work, "output")
            os.mkfifo(stdout_path, 0o600)
            drainer = threading.Thread(target=sink.drain, args=(stdout_path,), daemon=True)
            drainer.start()
        text = script(stages, error_paths, status_path, stdin_path, stdout_path, timeout)
        thread = threading.Thread(target=worker, daemon=True) if while_running else None
        if thread:
            thread.start()
        # No $VAR or ~ expansion by run_command: the words are already quoted for bash.
        rc, _out, err = host.run_command(
            ["/bin/bash", "-c", text], environ_update=env or {}, expand_user_and_vars=False
        )
        while drainer and stdout_path and drainer.is_alive():
            release(stdout_path)
            drainer.join(0.1)
        if thread:
            thread.join()
        if rc != 0 and not os.path.exists(status_path):
            raise PipelineError(f"cannot run the pipeline {' | '.join(names)}: {tail(err) or rc}")
        with open(status_path, encoding="utf-8") as handle:
            codes = [int(code) for code in handle.read().split()]
        errors = []
        for path in error_paths:
            with open(path, encoding="utf-8", errors="replace") as handle:
                errors.append(handle.read())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if sink and sink.error:
        raise PipelineError(f"cannot write {sink.what}: {sink.error.strerror or sink.error}")
    reason = blame(names, codes, errors, sigpipe_ok, timeout)
    if reason:
        raise PipelineError(reason)
    if "error" in box:
        raise box["error"]
    if sink:
        os.fsync(sink.fd)
    elif stdout_path:
        fd = os.open(stdout_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return box.get("value")


def run(host: Any, command: Sequence[str], env: dict[str, str] | None = None, timeout: float | None = None) -> str:
    """Run one command (no shell); return its stdout, or raise PipelineError with its stderr."""
    argv = list(command)
    if timeout:
        argv = ["timeout", "-k", str(KILL_AFTER), seconds(timeout), *argv]
    rc, out, err = host.run_command(argv, environ_update=env or {}, expand_user_and_vars=False)
    if rc in TIMEOUT_CODES and timeout:
        raise PipelineError(f"{stage_name(command)} timed out after {round(timeout, 1):g} s")
    if rc != 0:
        raise PipelineError(f"{stage_name(command)} exited with {rc}: {tail(err or out) or 'no message'}")
    return out
