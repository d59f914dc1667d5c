# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import os
import time

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._pipeline import (
    PipelineError,
    Sink,
    blame,
    run,
    run_pipeline,
    script,
    seconds,
    stage_name,
    tail,
)

SIGPIPE = -13  # a stage killed by SIGPIPE, as subprocess reports it
SHELL_SIGPIPE = 141  # the same, as a shell reports it (128 + 13)


@pytest.fixture
def module():
    """A real AnsibleModule: the pipelines run through its run_command."""
    with patch_module_args({}):
        return AnsibleModule(argument_spec={})


@pytest.mark.parametrize(
    ("text", "lines", "expected"),
    [
        ("", 6, ""),
        ("  \n\n  ", 6, ""),
        ("one\n", 6, "one"),
        ("  one  \n\n two\n", 6, "one / two"),
        (
            "\n".join(f"line {number}" for number in range(1, 11)),
            6,
            "line 5 / line 6 / line 7 / line 8 / line 9 / line 10",
        ),
        ("a\nb\nc\n", 2, "b / c"),
    ],
)
def test_tail(text, lines, expected):
    assert tail(text, lines) == expected


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["pg_dump", "--dbname", "app"], "pg_dump"),
        (["/usr/lib/postgresql/15/bin/pg_restore", "--list"], "pg_restore"),
        (
            ["docker", "exec", "-i", "-e", "PGPASSWORD", "-e", "PGAPPNAME", "jarvis-postgres", "pg_dump", "--username"],
            "pg_dump (docker exec)",
        ),
        (
            ["/usr/bin/docker", "exec", "jarvis-redis", "redis-check-rdb", "/data/dump.rdb"],
            "redis-check-rdb (docker exec)",
        ),
        (["docker", "exec", "jarvis-postgres", "sh"], "sh (docker exec)"),
        (["docker", "exec", "-i", "pg_main", "pg_restore", "--list"], "pg_restore (docker exec)"),
        (["podman", "exec", "-u", "postgres", "redis", "redis-check-rdb"], "redis-check-rdb (podman exec)"),
        (["docker", "ps"], "docker"),
        (["zstd", "-q", "-c"], "zstd"),
    ],
)
def test_stage_name(argv, name):
    assert stage_name(argv) == name


@pytest.mark.parametrize(
    ("codes", "errors", "sigpipe_ok", "expected"),
    [
        ([0, 0], ["", ""], (), None),
        ([0], ["warnings are not failures"], (), None),
        # the writer failed (disk full); pg_dump then died of SIGPIPE: only zstd is blamed
        (
            [SIGPIPE, 1],
            ["", "zstd: error 70 : Write error : No space left on device"],
            (),
            "zstd exited with 1: zstd: error 70 : Write error : No space left on device",
        ),
        ([SHELL_SIGPIPE, 2], ["", "bad"], (), "zstd exited with 2: bad"),
        # SIGPIPE with no later failure is a failure, unless the stage is allowed to die of it
        ([SIGPIPE, 0], ["", ""], (), "pg_dump exited with -13: no message"),
        ([SHELL_SIGPIPE, 0], ["", ""], (), "pg_dump exited with 141: no message"),
        ([SIGPIPE, 0], ["", ""], (0,), None),
        ([SHELL_SIGPIPE, 0], ["", ""], (0,), None),
        ([SIGPIPE, 0], ["", ""], (1,), "pg_dump exited with -13: no message"),
        # a real upstream failure is reported with the downstream one
        (
            [1, 2],
            ["connection refused", "unexpected end"],
            (),
            "pg_dump exited with 1: connection refused; zstd exited with 2: unexpected end",
        ),
        ([3, 0], ["line 1\nline 2\n", ""], (), "pg_dump exited with 3: line 1 / line 2"),
        ([0, 137], ["", ""], (), "zstd exited with 137: no message"),
        ([124, 0], ["", ""], (), "pg_dump exited with 124: no message"),
    ],
)
def test_blame(codes, errors, sigpipe_ok, expected):
    names = ["pg_dump", "zstd"][: len(codes)]
    assert blame(names, codes, errors, sigpipe_ok) == expected


@pytest.mark.parametrize(
    ("codes", "timeout", "expected"),
    [
        ([124, 0], 60, "timed out after 60 s (pg_dump | zstd killed)"),
        ([124, 124], 3600, "timed out after 3600 s (pg_dump | zstd killed)"),
        ([SHELL_SIGPIPE, 124], 60, "timed out after 60 s (pg_dump | zstd killed)"),
        ([137, 0], 2.5, "timed out after 2.5 s (pg_dump | zstd killed)"),  # killed by timeout -k
        ([0, 0], 60, None),
        ([1, 0], 60, "pg_dump exited with 1: no message"),
    ],
)
def test_blame_timeout(codes, timeout, expected):
    assert blame(["pg_dump", "zstd"], codes, ["", ""], timeout=timeout) == expected


def test_blame_three_stages():
    names = ["pg_dump", "zstd", "tee"]
    assert blame(names, [SIGPIPE, SIGPIPE, 1], ["", "", "tee: disk full"]) == "tee exited with 1: tee: disk full"
    assert blame(names, [SIGPIPE, 0, 0], ["", "", ""], sigpipe_ok=(0,)) is None
    assert blame(names, [0, SIGPIPE, 0], ["", "", ""], sigpipe_ok=(0,)) == "zstd exited with -13: no message"


def test_script_quotes_every_word():
    text = script(
        [["pg_dump", "--dbname", "my db; rm -rf /"], ["zstd", "-c"]],
        ["/w/stage0.err", "/w/stage1.err"],
        "/w/status",
        stdout_path="/backups/post gres.dump.zst",
    )
    assert text == (
        "umask 077; pg_dump --dbname 'my db; rm -rf /' 2>/w/stage0.err </dev/null"
        " | zstd -c 2>/w/stage1.err >'/backups/post gres.dump.zst'"
        '; echo "${PIPESTATUS[*]}" >/w/status'
    )


def test_script_with_stdin_and_timeout():
    text = script([["cat"]], ["/w/e"], "/w/s", stdin_path="/in", timeout=3600)
    assert text == 'umask 077; timeout -k 10 3600 cat 2>/w/e </in >/dev/null; echo "${PIPESTATUS[*]}" >/w/s'


# -- real processes ------------------------------------------------------------------


def test_bytes_go_to_stdout_path_readable_by_the_owner_only(module, tmp_path):
    target = tmp_path / "out.bin"
    assert run_pipeline(module, [["sh", "-c", "printf 'a\\000b\\377'"], ["cat"]], stdout_path=str(target)) is None
    assert target.read_bytes() == b"a\x00b\xff"
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_stdin_path_feeds_the_first_stage(module, tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    data = os.urandom(300_000)
    source.write_bytes(data)
    run_pipeline(module, [["cat"], ["cat"], ["cat"]], stdin_path=str(source), stdout_path=str(target), timeout=60)
    assert target.read_bytes() == data


def test_sink_writes_the_output_and_counts_its_sha256_on_the_way(module, tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    data = os.urandom(3 * 1024 * 1024 + 17)
    source.write_bytes(data)
    fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        sink = Sink(fd, "out")
        assert run_pipeline(module, [["cat"], ["cat"]], stdin_path=str(source), sink=sink, timeout=60) is None
    finally:
        os.close(fd)
    assert target.read_bytes() == data
    assert (sink.size, sink.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_sink_write_failure_is_named_not_the_sigpipe_victim(module):
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        with pytest.raises(PipelineError, match=r"^cannot write the dump: No space left on device$"):
            run_pipeline(module, [["yes"], ["cat"]], sink=Sink(fd, "the dump"), timeout=60)
    finally:
        os.close(fd)


def test_sink_is_released_when_the_pipeline_cannot_start(module):
    fd = os.open("/dev/null", os.O_WRONLY)
    try:
        with pytest.raises(PipelineError, match="jarvis-no-such-program"):
            run_pipeline(module, [["jarvis-no-such-program"]], sink=Sink(fd, "out"), timeout=60)
    finally:
        os.close(fd)


def test_without_stdout_path_output_is_discarded(module):
    assert run_pipeline(module, [["sh", "-c", "echo hello"]]) is None


def test_dollar_variables_and_tildes_stay_literal(module, tmp_path):
    target = tmp_path / "out"
    word = "literal $HOME and ${HOME} and ~"
    run_pipeline(module, [["printf", "%s", word]], stdout_path=str(target))
    assert target.read_text() == word
    assert run(module, ["printf", "%s", "$HOME"], timeout=5) == "$HOME"


def test_shell_characters_in_arguments_are_not_interpreted(module, tmp_path):
    target = tmp_path / "out"
    word = "a'b\"c; echo pwned >&2 | cat `id` $(id) && exit 7 || * ? \\ \n end"
    run_pipeline(module, [["printf", "%s", word]], stdout_path=str(target))
    assert target.read_text() == word


def test_env_reaches_the_stages(module, tmp_path):
    target = tmp_path / "out"
    run_pipeline(
        module, [["sh", "-c", 'printf %s "$JARVIS_TEST"']], env={"JARVIS_TEST": "value"}, stdout_path=str(target)
    )
    assert target.read_text() == "value"


def test_while_running_result_is_returned(module, tmp_path):
    target = tmp_path / "out"
    result = run_pipeline(module, [["sh", "-c", "echo data"]], stdout_path=str(target), while_running=lambda: 42)
    assert result == 42
    assert target.read_text() == "data\n"


def test_while_running_error_is_raised_after_the_pipeline(module, tmp_path):
    target = tmp_path / "out"

    def count():
        raise ValueError("counting failed")

    with pytest.raises(ValueError, match=r"^counting failed$"):
        run_pipeline(module, [["sh", "-c", "sleep 0.2; echo data"]], stdout_path=str(target), while_running=count)
    assert target.read_text() == "data\n"


def test_pipeline_failure_wins_over_while_running_error(module):
    def count():
        raise ValueError("counting failed")

    with pytest.raises(PipelineError, match=r"^false exited with 1: no message$"):
        run_pipeline(module, [["false"]], while_running=count)


def test_failure_of_the_last_stage_is_blamed_not_the_sigpipe_victim(module):
    script_text = "head -c 1 >/dev/null; echo 'write error: no space left' >&2; exit 3"
    with pytest.raises(PipelineError) as caught:
        run_pipeline(module, [["yes"], ["sh", "-c", script_text]], timeout=60)
    assert str(caught.value) == "sh exited with 3: write error: no space left"


def test_failure_upstream_is_blamed(module):
    with pytest.raises(PipelineError) as caught:
        run_pipeline(module, [["sh", "-c", "echo 'connection refused' >&2; exit 2"], ["cat"]])
    assert str(caught.value) == "sh exited with 2: connection refused"


def test_every_failed_stage_is_reported(module):
    with pytest.raises(PipelineError) as caught:
        run_pipeline(module, [["sh", "-c", "exit 2"], ["false"]])
    assert str(caught.value) == "sh exited with 2: no message; false exited with 1: no message"


@pytest.mark.parametrize("timeout", [None, 60])
def test_reader_stopping_early_needs_sigpipe_ok(module, tmp_path, timeout):
    target = tmp_path / "out"
    with pytest.raises(PipelineError) as caught:
        run_pipeline(module, [["yes"], ["head", "-c", "10"]], stdout_path=str(target), timeout=timeout)
    assert str(caught.value) == "yes exited with 141: no message"
    run_pipeline(module, [["yes"], ["head", "-c", "10"]], stdout_path=str(target), timeout=timeout, sigpipe_ok=(0,))
    assert target.read_bytes() == b"y\n" * 5


def test_timeout_kills_the_pipeline_and_raises(module, tmp_path):
    pid_file = tmp_path / "pid"
    began = time.monotonic()
    with pytest.raises(PipelineError) as caught:
        run_pipeline(module, [["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"], ["cat"]], timeout=1)
    assert time.monotonic() - began < 10
    assert str(caught.value) == "timed out after 1 s (sh | cat killed)"
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


@pytest.mark.parametrize(
    ("stages", "timeout", "message"),
    [
        (
            [["jarvis-no-such-command"]],
            None,
            r"^jarvis-no-such-command exited with 127: .*jarvis-no-such-command: command not found$",
        ),
        (
            [["jarvis-no-such-command"]],
            60,
            r"^jarvis-no-such-command exited with 127: .*jarvis-no-such-command.*: No such file or directory$",
        ),
        # the upstream stage dies of SIGPIPE and is not blamed
        (
            [["yes"], ["jarvis-no-such-command", "-c"]],
            60,
            r"^jarvis-no-such-command exited with 127: .*jarvis-no-such-command.*: No such file or directory$",
        ),
    ],
)
def test_missing_command_raises_a_clear_error(module, stages, timeout, message):
    with pytest.raises(PipelineError, match=message):
        run_pipeline(module, stages, timeout=timeout)


def test_unwritable_stdout_path_is_blamed_on_the_last_stage(module, tmp_path):
    target = tmp_path / "missing-directory" / "out"
    with pytest.raises(PipelineError, match=r"^cat exited with 1: .*missing-directory/out: No such file or directory$"):
        run_pipeline(module, [["yes"], ["cat"]], stdout_path=str(target), timeout=60)


# -- run -----------------------------------------------------------------------------


def test_run_returns_stdout(module):
    assert run(module, ["sh", "-c", "echo out; echo err >&2"]) == "out\n"
    assert run(module, ["sh", "-c", "echo out"], timeout=60) == "out\n"


@pytest.mark.parametrize(
    ("script_text", "message"),
    [
        ("echo out; echo 'it broke' >&2; exit 4", "sh exited with 4: it broke"),
        ("echo 'only stdout'; exit 5", "sh exited with 5: only stdout"),
        ("exit 6", "sh exited with 6: no message"),
    ],
)
def test_run_failure(module, script_text, message):
    with pytest.raises(PipelineError) as caught:
        run(module, ["sh", "-c", script_text], timeout=60)
    assert str(caught.value) == message


def test_run_timeout(module):
    began = time.monotonic()
    with pytest.raises(PipelineError) as caught:
        run(module, ["sleep", "30"], timeout=1)
    assert str(caught.value) == "sleep timed out after 1 s"
    assert time.monotonic() - began < 10


def test_run_missing_command(module):
    with pytest.raises(PipelineError, match=r"^jarvis-no-such-command exited with 127: .*No such file or directory$"):
        run(module, ["jarvis-no-such-command", "--list"], timeout=60)


def test_run_env(module):
    assert run(module, ["sh", "-c", 'printf %s "$JARVIS_TEST"'], env={"JARVIS_TEST": "x"}) == "x"


@pytest.mark.parametrize(("timeout", "text"), [(2.9, "2.9"), (0.5, "0.5"), (0.01, "0.1"), (3600, "3600"), (1.04, "1")])
def test_seconds_keeps_fractions(timeout, text):
    assert seconds(timeout) == text
