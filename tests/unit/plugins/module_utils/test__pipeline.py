# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._pipeline import (
    PipelineError,
    blame,
    run,
    run_pipeline,
    tail,
)

SIGPIPE = -13  # a stage killed by SIGPIPE, as subprocess reports it
SHELL_SIGPIPE = 141  # the same, as a shell reports it (128 + 13)


@pytest.mark.parametrize(
    ("text", "lines", "expected"),
    [
        ("", 6, ""),
        ("  \n\n  ", 6, ""),
        ("one\n", 6, "one"),
        ("  one  \n\n two\n", 6, "one / two"),
        ("\n".join(f"line {number}" for number in range(1, 11)), 6, "line 5 / line 6 / line 7 / line 8 / line 9 / line 10"),
        ("a\nb\nc\n", 2, "b / c"),
    ],
)
def test_tail(text, lines, expected):
    assert tail(text, lines) == expected


@pytest.mark.parametrize(
    ("codes", "errors", "sigpipe_ok", "expected"),
    [
        ([0, 0], ["", ""], (), None),
        ([0], ["warnings are not failures"], (), None),
        # the writer failed (disk full); pg_dump then died of SIGPIPE: only zstd is blamed
        ([SIGPIPE, 1], ["", "zstd: error 70 : Write error : No space left on device"], (), (
            "zstd exited with 1: zstd: error 70 : Write error : No space left on device"
        )),
        ([SHELL_SIGPIPE, 2], ["", "bad"], (), "zstd exited with 2: bad"),
        # SIGPIPE with no later failure is a failure, unless the stage is allowed to die of it
        ([SIGPIPE, 0], ["", ""], (), "pg_dump exited with -13: no message"),
        ([SIGPIPE, 0], ["", ""], (0,), None),
        ([SHELL_SIGPIPE, 0], ["", ""], (0,), None),
        ([SIGPIPE, 0], ["", ""], (1,), "pg_dump exited with -13: no message"),
        # a real upstream failure is reported with the downstream one
        ([1, 2], ["connection refused", "unexpected end"], (), (
            "pg_dump exited with 1: connection refused; zstd exited with 2: unexpected end"
        )),
        ([3, 0], ["line 1\nline 2\n"], (), "pg_dump exited with 3: line 1 / line 2"),
        ([0, -9], ["", ""], (), "zstd exited with -9: no message"),
        ([None, 0], ["", ""], (), "pg_dump exited with None: no message"),
    ],
)
def test_blame(codes, errors, sigpipe_ok, expected):
    names = ["pg_dump", "zstd"][: len(codes)]
    errors = (errors + [""] * len(codes))[: len(codes)]
    assert blame(names, codes, errors, sigpipe_ok) == expected


def test_blame_three_stages():
    names = ["pg_dump", "zstd", "tee"]
    assert blame(names, [SIGPIPE, SIGPIPE, 1], ["", "", "tee: disk full"]) == "tee exited with 1: tee: disk full"
    assert blame(names, [SIGPIPE, 0, 0], ["", "", ""], sigpipe_ok=(0,)) is None
    assert blame(names, [0, SIGPIPE, 0], ["", "", ""], sigpipe_ok=(0,)) == "zstd exited with -13: no message"


# -- real processes ------------------------------------------------------------------


def test_bytes_go_to_stdout_path_readable_by_the_owner_only(tmp_path):
    target = tmp_path / "out.bin"
    assert run_pipeline([["sh", "-c", "printf 'a\\000b\\377'"], ["cat"]], stdout_path=str(target)) is None
    assert target.read_bytes() == b"a\x00b\xff"
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_stdin_path_feeds_the_first_stage(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    data = os.urandom(300_000)
    source.write_bytes(data)
    run_pipeline([["cat"], ["cat"], ["cat"]], stdin_path=str(source), stdout_path=str(target))
    assert target.read_bytes() == data


def test_without_stdout_path_output_is_discarded():
    assert run_pipeline([["sh", "-c", "echo hello"]]) is None


def test_env_reaches_the_stages(tmp_path):
    target = tmp_path / "out"
    env = {"PATH": os.environ["PATH"], "JARVIS_TEST": "value"}
    run_pipeline([["sh", "-c", 'printf %s "$JARVIS_TEST"']], env=env, stdout_path=str(target))
    assert target.read_text() == "value"


def test_while_running_result_is_returned(tmp_path):
    target = tmp_path / "out"
    assert run_pipeline([["sh", "-c", "echo data"]], stdout_path=str(target), while_running=lambda: 42) == 42
    assert target.read_text() == "data\n"


def test_failure_of_the_last_stage_is_blamed_not_the_sigpipe_victim():
    script = "head -c 1 >/dev/null; echo 'write error: no space left' >&2; exit 3"
    with pytest.raises(PipelineError) as caught:
        run_pipeline([["yes"], ["sh", "-c", script]])
    assert str(caught.value) == "sh exited with 3: write error: no space left"


def test_failure_upstream_is_blamed():
    with pytest.raises(PipelineError) as caught:
        run_pipeline([["sh", "-c", "echo 'connection refused' >&2; exit 2"], ["cat"]])
    assert str(caught.value) == "sh exited with 2: connection refused"


def test_every_failed_stage_is_reported():
    with pytest.raises(PipelineError) as caught:
        run_pipeline([["sh", "-c", "exit 2"], ["false"]])
    assert str(caught.value) == "sh exited with 2: no message; false exited with 1: no message"


def test_reader_stopping_early_needs_sigpipe_ok(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(PipelineError) as caught:
        run_pipeline([["yes"], ["head", "-c", "10"]], stdout_path=str(target))
    assert str(caught.value) == "yes exited with -13: no message"
    run_pipeline([["yes"], ["head", "-c", "10"]], stdout_path=str(target), sigpipe_ok=(0,))
    assert target.read_bytes() == b"y\n" * 5


def test_timeout_kills_the_pipeline_and_raises(tmp_path):
    pid_file = tmp_path / "pid"
    began = time.monotonic()
    with pytest.raises(PipelineError) as caught:
        run_pipeline([["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"], ["cat"]], timeout=0.5)
    assert time.monotonic() - began < 10
    assert str(caught.value) == "timed out after 0.5 s (sh | cat killed)"
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_timeout_covers_while_running():
    began = time.monotonic()
    with pytest.raises(PipelineError, match=r"^timed out after 0\.3 s \(sleep killed\)$"):
        run_pipeline([["sleep", "30"]], timeout=0.3, while_running=lambda: time.sleep(0.5))
    assert time.monotonic() - began < 10


@pytest.mark.parametrize(
    "stages",
    [
        [["jarvis-no-such-command"]],
        [["sleep", "30"], ["jarvis-no-such-command"]],
        [["jarvis-no-such-command"], ["cat"]],
    ],
)
def test_missing_command_raises_a_clear_error(stages):
    began = time.monotonic()
    with pytest.raises(PipelineError) as caught:
        run_pipeline(stages, timeout=20)
    assert str(caught.value) == "cannot run jarvis-no-such-command: command not found"
    assert time.monotonic() - began < 10  # the stage already started was killed, not waited for


def test_missing_command_by_path(tmp_path):
    missing = str(tmp_path / "bin" / "pg_dump")
    with pytest.raises(PipelineError, match="^cannot run .*/bin/pg_dump: command not found$"):
        run_pipeline([[missing]])


# -- run -----------------------------------------------------------------------------


def test_run_returns_stdout():
    assert run(["sh", "-c", "echo out; echo err >&2"]) == "out\n"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo out; echo 'it broke' >&2; exit 4", "sh exited with 4: it broke"),
        ("echo 'only stdout'; exit 5", "sh exited with 5: only stdout"),
        ("exit 6", "sh exited with 6: no message"),
    ],
)
def test_run_failure(script, message):
    with pytest.raises(PipelineError) as caught:
        run(["sh", "-c", script])
    assert str(caught.value) == message


def test_run_timeout():
    began = time.monotonic()
    with pytest.raises(PipelineError) as caught:
        run(["sleep", "30"], timeout=0.3)
    assert str(caught.value) == "sleep timed out after 0.3 s"
    assert time.monotonic() - began < 10


def test_run_missing_command():
    with pytest.raises(PipelineError) as caught:
        run(["jarvis-no-such-command", "--list"])
    assert str(caught.value) == "cannot run jarvis-no-such-command: command not found"


def test_run_env():
    env = {"PATH": os.environ["PATH"], "JARVIS_TEST": "x"}
    assert run(["sh", "-c", 'printf %s "$JARVIS_TEST"'], env=env) == "x"
