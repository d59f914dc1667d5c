# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run ``a | b | c`` without a shell and without losing any stage's exit status.

Arguments are lists (never a shell string), every stage's stderr is kept, a timeout kills
the whole pipeline, and the error names the stage that failed first in the data's
direction: when ``zstd`` cannot write (disk full) and ``pg_dump`` then dies of SIGPIPE, the
error is zstd's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from typing import Any, Callable, Sequence

SIGPIPE_CODES = (-signal.SIGPIPE, 128 + signal.SIGPIPE)


class PipelineError(Exception):
    pass


def tail(text: str, lines: int = 6) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(kept[-lines:])


def blame(
    names: Sequence[str], codes: Sequence[int | None], errors: Sequence[str], sigpipe_ok: Sequence[int] = ()
) -> str | None:
    """Why a finished pipeline failed, or None when it did not (pure).

    A stage killed by SIGPIPE is a victim when a later stage failed or when its index is in
    sigpipe_ok (a reader that stops early on purpose, like ``pg_restore --list``).
    """
    failed = [index for index, code in enumerate(codes) if code != 0]
    if not failed:
        return None
    reasons = []
    for index in failed:
        later_failed = any(other > index for other in failed)
        if codes[index] in SIGPIPE_CODES and (later_failed or index in sigpipe_ok):
            continue
        message = tail(errors[index]) or "no message"
        reasons.append(f"{names[index]} exited with {codes[index]}: {message}")
    return "; ".join(reasons) or None


def private(path: str, flags: int) -> int:
    """open() opener: new files readable by their owner only (dumps hold the data)."""
    return os.open(path, flags, 0o600)


def run_pipeline(
    stages: Sequence[Sequence[str]],
    env: dict[str, str] | None = None,
    stdin_path: str | None = None,
    stdout_path: str | None = None,
    timeout: float | None = None,
    while_running: Callable[[], Any] | None = None,
    sigpipe_ok: Sequence[int] = (),
) -> Any:
    """Run the stages chained by pipes; stdout of the last goes to stdout_path (or is discarded).

    Returns what while_running() returned (it runs in this process while the pipeline works).
    Raises PipelineError naming the stage that failed, or the timeout; kills every stage first.
    """
    names = [os.path.basename(stage[0]) for stage in stages]
    processes: list[subprocess.Popen] = []
    deadline = time.monotonic() + timeout if timeout else None
    with contextlib.ExitStack() as stack:
        errors = [stack.enter_context(tempfile.TemporaryFile()) for _stage in stages]
        source: Any = stack.enter_context(open(stdin_path, "rb")) if stdin_path else subprocess.DEVNULL
        sink: Any = stack.enter_context(open(stdout_path, "wb", opener=private)) if stdout_path else subprocess.DEVNULL
        try:
            for index, stage in enumerate(stages):
                last = index == len(stages) - 1
                process = subprocess.Popen(
                    list(stage), stdin=source, stdout=sink if last else subprocess.PIPE, stderr=errors[index], env=env
                )
                if processes and processes[-1].stdout:
                    processes[-1].stdout.close()
                processes.append(process)
                source = process.stdout
            result = while_running() if while_running else None
            for process in processes:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                process.wait(timeout=remaining)
            if stdout_path:
                sink.flush()
                os.fsync(sink.fileno())
        except subprocess.TimeoutExpired:
            raise PipelineError(f"timed out after {timeout:g} s ({' | '.join(names)} killed)") from None
        except FileNotFoundError as exc:
            raise PipelineError(f"cannot run {exc.filename}: command not found") from None
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        texts = []
        for handle in errors:
            handle.seek(0)
            texts.append(handle.read().decode("utf-8", "replace"))
    reason = blame(names, [process.returncode for process in processes], texts, sigpipe_ok)
    if reason:
        raise PipelineError(reason)
    return result


def run(command: Sequence[str], env: dict[str, str] | None = None, timeout: float | None = None) -> str:
    """Run one command; return its stdout, or raise PipelineError with its stderr."""
    try:
        done = subprocess.run(list(command), env=env, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"{os.path.basename(command[0])} timed out after {timeout:g} s") from None
    except FileNotFoundError as exc:
        raise PipelineError(f"cannot run {exc.filename}: command not found") from None
    if done.returncode != 0:
        text = tail(done.stderr.decode("utf-8", "replace") or done.stdout.decode("utf-8", "replace"))
        raise PipelineError(f"{os.path.basename(command[0])} exited with {done.returncode}: {text or 'no message'}")
    return done.stdout.decode("utf-8", "replace")
