# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fuzz every module's arguments (issue 21, item 13).

Each module runs in-process (as ansible-core's unit tests run modules) with values Hypothesis
generates from the module's own argument spec: strings with quotes, `..`, `/`, control and
non-ASCII characters, huge and negative numbers, NaN and infinities, wrong types, empty lists.
Every path points into a fresh temporary sandbox, every network option at a closed port on
127.0.0.1, and the commands that could change the machine (apt-get, nginx, docker, supervisorctl,
systemctl) are stand-ins that fail, so nothing real is touched. Two passes per module:
test_fuzz_module_arguments (Hypothesis: one odd value among ordinary ones, or odd values
everywhere) and test_edge_value_of_each_option (a fixed table: every option at each edge value of
its type, every failure listed). Each example runs in check mode first, then for real. The
properties:

- the module ends with exit_json / fail_json and prints one strict JSON object (no NaN);
- a failure has a non-empty `msg` and no `exception` / traceback (no raw Python error);
- check mode changes nothing in the sandbox and leaves nothing in TMPDIR;
- a real run changes nothing outside the sandbox (a fence directory beside it stays as it was),
  and every .json file it writes is strict JSON.

A failure names the module, the arguments (<sandbox> stands for the example's directory) and what
went wrong; Hypothesis reports each distinct crash (exception type and line) separately.

Bounded for CI (profile `ci`: derandomized, MAX_EXAMPLES per module, no deadline). To explore
further: JARVIS_FUZZ_PROFILE=explore pytest tests/unit/plugins/modules/test_fuzz_arguments.py
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import shutil
import signal
import socket
import stat
import tempfile
import time
import traceback
from typing import Any, Callable
from unittest import mock

import pytest
from ansible.module_utils import basic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PREFIX = "ansible_collections.jarvis.maintenance.plugins.modules."

# Every module of the collection. A module whose fuzzing finds a crash stays in this list (no
# skip, no xfail): its test fails until the module is fixed.
MODULES = [
    "backup_set",
    "barman_backup",
    "barman_info",
    "barman_recover",
    "backup_verify",
    "capacity_report",
    "container_stats_info",
    "host_resources_info",
    "http_check_info",
    "log_analysis_info",
    "log_cleanup",
    "maintenance_mode",
    "monthly_report",
    "package_updates_info",
    "pg_backup",
    "pg_maintenance",
    "redis_maintenance",
    "report",
    "run_lock",
    "run_summary",
    "supervisor_status_info",
    "threshold_review",
    "users_audit_info",
]

# Ordinary arguments a module needs that its argument spec does not say (checked in its code,
# like run_lock's run_id with state=acquired): without them every example stops at that check.
BASE_ARGUMENTS: dict[str, dict[str, Any]] = {
    "run_lock": {"run_id": "run-1"},
}

MAX_EXAMPLES = 25
EXAMPLE_SECONDS = 30  # one example (check mode + real run) taking longer is a hang
SANDBOX = "<sandbox>"  # stands for the example's sandbox in the drawn arguments (readable, reproducible)
# Commands that could change the machine: first in PATH, they fail without doing anything.
FAKE_COMMANDS = [
    "apt-get",
    "apt",
    "nginx",
    "docker",
    "podman",
    "supervisorctl",
    "systemctl",
    "service",
    "reboot",
    "barman",
    "runuser",
]

settings.register_profile(
    "ci",
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("explore", parent=settings.get_profile("ci"), max_examples=300, derandomize=False)


def closed_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (bound then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CLOSED_PORT = closed_port()


# -- argument specs ----------------------------------------------------------------------------


class _SpecCaptured(Exception):
    pass


def module_spec(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The argument spec and AnsibleModule keywords a module's main() uses (its own, so this
    test cannot drift from the modules)."""

    def capture(self: Any, argument_spec: dict[str, Any], **kwargs: Any) -> None:
        raise _SpecCaptured(argument_spec, kwargs)

    module = importlib.import_module(PREFIX + name)
    with mock.patch.object(basic.AnsibleModule, "__init__", capture):
        try:
            module.main()
        except _SpecCaptured as captured:
            return captured.args[0], captured.args[1]
    raise AssertionError(f"{name}.main() did not create an AnsibleModule")


# -- value strategies --------------------------------------------------------------------------

ODD_PIECES = [
    "..",
    ".",
    "a b",
    "'",
    '"',
    "\\",
    "$HOME",
    "${x}",
    "`id`",
    "~",
    "*",
    "?*",
    "[a-z]",
    "-rf",
    "--help",
    ";",
    "|",
    "&&",
    "\n",
    "\t",
    "\r",
    "\x1b[31m",
    "\x7f",
    "é",
    "日本",
    "\u202e",
    "%s",
    "%(x)s",
    "{0}",
    "{{ x }}",
    "<b>",
    "&amp;",
    "#",
    "=",
    ":",
    "@",
    "0",
    "-1",
    "1e400",
    "nan",
    "null",
    "true",
    "",
]
piece = st.one_of(st.sampled_from(ODD_PIECES), st.text(max_size=6))
odd_text = st.builds("".join, st.lists(piece, max_size=4))
# Path components: never more than three '..' in a row from the sandbox's depth of five.
component = st.one_of(
    st.sampled_from(["..", ".", "new", "file.txt", "dir", "link", "empty", "metrics", "reports", " ", "-x", "a'b"]),
    st.text(max_size=6).filter(lambda text: "/" not in text and text not in ("", "..")),
)
interesting_path = st.sampled_from(
    [
        SANDBOX,
        f"{SANDBOX}/",
        f"{SANDBOX}/file.txt",
        f"{SANDBOX}/dir",
        f"{SANDBOX}/dir/",
        f"{SANDBOX}/link",
        f"{SANDBOX}/empty",
        f"{SANDBOX}/new/deeper/x",
        f"{SANDBOX}/metrics",
        f"{SANDBOX}/reports",
        f"{SANDBOX}/file.txt/below",
        f"{SANDBOX}//dir/./",
        f"{SANDBOX}/dir/../new",
    ]
)
# The existing entries of the sandbox (a file where a directory is expected, a symlink, ...)
# three times out of six: that is where modules break.
sandbox_path = st.one_of(
    interesting_path,
    interesting_path,
    interesting_path,
    st.builds(lambda parts: "/".join([SANDBOX, *parts]), st.lists(component, min_size=1, max_size=3)),
    # relative to the working directory, which is in the sandbox
    st.builds("/".join, st.lists(component, min_size=1, max_size=3)),
    st.just(""),
)
huge_numbers = st.sampled_from([0, -1, 1, 2**31, -(2**31), 2**63, 10**30, -(10**30), 10**400])
ints = st.one_of(st.integers(min_value=-5, max_value=100), huge_numbers)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, 0.5, 1e300, -1e300, 1e-300, math.nan, math.inf, -math.inf]),
    st.integers(min_value=-5, max_value=100),
)
json_scalar = st.one_of(st.none(), st.booleans(), ints, floats, odd_text)
json_value = st.recursive(
    json_scalar,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(odd_text, children, max_size=3)),
    max_leaves=6,
)
wrong_type = st.one_of(
    st.none(),
    st.just([]),
    st.just({}),
    st.just([[]]),
    st.just({"a": {}}),
    st.just("not-a-number"),
    st.just(1.5),
    st.just(True),
)
# A number or a bool given to a dict option with suboptions crashes ansible-core's own argument
# validation (TypeError in set_fallbacks, ansible/ansible PR #81631, not fixed in 2.21): no module
# can turn that into a message, so those options get the other wrong types only.
wrong_type_for_suboptions = st.one_of(st.none(), st.just([]), st.just([[]]), st.just("not-a-dict"))
ports = st.sampled_from([CLOSED_PORT, 0, -1, 65536, 2**31, 10**30])
hosts = st.sampled_from(["127.0.0.1", "localhost", "127.0.0.1'; --", "127.0.0.1 port=1", "", "[::1", f"{SANDBOX}/sock"])
urls = st.one_of(
    st.sampled_from(
        [
            f"http://127.0.0.1:{CLOSED_PORT}/health",
            f"https://127.0.0.1:{CLOSED_PORT}/",
            f"http://user:secret@127.0.0.1:{CLOSED_PORT}/",
            f"http://127.0.0.1:{CLOSED_PORT}",
            f"ftp://127.0.0.1:{CLOSED_PORT}/",
            f"unix://{SANDBOX}/supervisor.sock",
            f"file://{SANDBOX}/file.txt",
            "http://127.0.0.1:99999/",
            "http://[::1",
            "http://",
            "not a url",
            "",
        ]
    ),
    st.builds(lambda text: f"http://127.0.0.1:{CLOSED_PORT}/{text}", odd_text),
)
binaries = st.sampled_from(["missing-binary-jarvis", f"{SANDBOX}/file.txt", f"{SANDBOX}/dir", "", "a b", "../x"])

# Options that reach the network or run a program, by name: pointed at closed ports, stand-ins,
# the sandbox. Everything else is generated from its type.
BY_NAME: dict[str, Any] = {
    "login_host": hosts,
    "docker_login_host": hosts,
    "login_port": ports,
    "docker_login_port": ports,
    "url": urls,
    "server_url": urls,
    "prometheus_url": urls,
    "docker_binary": binaries,
    "nginx_binary": binaries,
    "redis_check_rdb": binaries,
}


def by_type(spec: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    """Values for one option: mostly of its type (choices, elements, suboptions), sometimes wrong."""
    kind = spec.get("type", "str")
    if name in BY_NAME:
        right = BY_NAME[name]
    elif spec.get("choices") and kind != "list":
        right = st.sampled_from(list(spec["choices"]))
    elif kind == "path":
        right = sandbox_path
    elif kind == "str":
        right = odd_text
    elif kind == "int":
        right = ints
    elif kind == "float":
        right = floats
    elif kind == "bool":
        right = st.one_of(st.booleans(), st.sampled_from(["yes", "no", "maybe", 2]))
    elif kind == "raw":
        right = json_value
    elif kind == "list":
        element = {"type": spec.get("elements", "str"), "options": spec.get("options")}
        if spec.get("choices"):
            element["choices"] = spec["choices"]
        right = st.lists(by_type(element, name), max_size=3)
    elif kind == "dict":
        right = (
            suboptions(spec["options"]) if spec.get("options") else st.dictionaries(odd_text, json_value, max_size=3)
        )
    else:
        right = json_value
    return right


def wrong_for(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    return wrong_type_for_suboptions if spec.get("options") else wrong_type


def suboptions(options: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {key: by_type(sub, key) for key, sub in options.items() if sub.get("required")},
        optional={key: by_type(sub, key) for key, sub in options.items() if not sub.get("required")},
    )


def plausible(spec: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    """An ordinary value for an option: its default, one of its choices, a sandbox path, a name."""
    kind = spec.get("type", "str")
    if name in BY_NAME:
        return BY_NAME[name]
    if kind == "path":
        return interesting_path
    if kind == "list" and spec.get("elements") == "path":
        return st.lists(interesting_path, min_size=1, max_size=2)
    if spec.get("default") is not None:
        return st.just(spec["default"])
    if spec.get("choices"):
        return st.sampled_from(list(spec["choices"])) if kind != "list" else st.just([])
    if spec.get("options") and kind == "dict":
        return suboptions(spec["options"])
    ordinary = {
        "str": st.sampled_from(["web01", "test", "2026-11-28T02:00:00Z", "run-1"]),
        "int": st.sampled_from([1, 7, 30]),
        "float": st.sampled_from([1.0, 50.0]),
        "bool": st.booleans(),
        "list": st.just([]),
        "dict": st.just({}),
    }
    return ordinary.get(kind, st.none())


def arguments(spec: dict[str, Any], extra: dict[str, Any] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments for a whole module, two ways:

    - ordinary values for the options a run needs, and ONE option drawn from everything (odd
      strings, huge numbers, NaN, the sandbox's file where a directory is expected, or a wrong
      type): that is how a single bad value gets past the other checks to where it breaks;
    - every option drawn from its type at once (odd values in combination).

    Every path option is always set (a default such as /etc/nginx/snippets/... must never be
    used here), and so is every option with a default that reaches outside (login_host, ...).
    extra: ordinary values of options the module needs beyond its spec (BASE_ARGUMENTS)."""
    extra = extra or {}
    always = {
        name: option
        for name, option in spec.items()
        if option.get("required")
        or option.get("type") == "path"
        or name in BY_NAME
        or (option.get("type") == "list" and option.get("elements") == "path")
    }
    base = st.fixed_dictionaries(
        {name: st.just(value) for name, value in extra.items()}
        | {name: plausible(option, name) for name, option in always.items()}
    )
    one = st.one_of(
        *(
            st.tuples(st.just(name), st.one_of(by_type(option, name), by_type(option, name), wrong_for(option)))
            for name, option in spec.items()
        )
    )
    every = st.fixed_dictionaries(
        {name: by_type(option, name) for name, option in always.items()},
        optional={name: by_type(option, name) for name, option in spec.items() if name not in always},
    )

    @st.composite
    def single(draw_: Any) -> dict[str, Any]:
        values = draw_(base)
        name, value = draw_(one)
        values[name] = value
        return values

    return st.one_of(single(), every)


# -- the sandbox -------------------------------------------------------------------------------


def make_sandbox(root: str) -> dict[str, str]:
    """root/t/s/a/b/c is the sandbox (five levels deep, so three '..' stay inside root/t) with a
    file, a directory, a symlink to it and an empty directory; root/t/fence must never change;
    root/tmp is TMPDIR; the working directory is in the sandbox."""
    places = {
        "sandbox": os.path.join(root, "t", "s", "a", "b", "c"),
        "fence": os.path.join(root, "t", "fence"),
        "tmp": os.path.join(root, "tmp"),
    }
    for path in places.values():
        os.makedirs(path)
    sandbox = places["sandbox"]
    with open(os.path.join(sandbox, "file.txt"), "w", encoding="utf-8") as handle:
        handle.write("a line\n")
    os.makedirs(os.path.join(sandbox, "dir", "sub"))
    with open(os.path.join(sandbox, "dir", "app.log"), "w", encoding="utf-8") as handle:
        handle.write("ERROR something\n" * 10)
    os.symlink("dir", os.path.join(sandbox, "link"))
    os.makedirs(os.path.join(sandbox, "empty"))
    os.makedirs(os.path.join(sandbox, "work"))
    with open(os.path.join(places["fence"], "keep"), "w", encoding="utf-8") as handle:
        handle.write("must not change\n")
    return places


def snapshot(top: str, skip: tuple[str, ...] = ()) -> dict[str, tuple[Any, ...]]:
    """Every entry under top: type, mode, owner, size, content time, symlink target (directories'
    own times are left out: listing and stat-ing change nothing)."""
    found: dict[str, tuple[Any, ...]] = {}
    for directory, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if os.path.join(directory, d) not in skip]
        for name in dirnames + filenames:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            link = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
            timed = None if stat.S_ISDIR(info.st_mode) else info.st_mtime_ns
            found[os.path.relpath(path, top)] = (info.st_mode, info.st_uid, info.st_gid, info.st_size, timed, link)
    return found


def not_strict_json(path: str) -> str | None:
    """Why a .json file written by a module is not strict JSON (NaN, Infinity), or None."""
    if not path.endswith(".json") or not os.path.isfile(path) or os.path.islink(path):
        return None

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        with open(path, encoding="utf-8") as handle:
            json.load(handle, parse_constant=refuse)
    except ValueError as exc:
        return str(exc)
    return None


def substitute(value: Any, sandbox: str) -> Any:
    if isinstance(value, str):
        return value.replace(SANDBOX, sandbox)
    if isinstance(value, list):
        return [substitute(item, sandbox) for item in value]
    if isinstance(value, dict):
        return {substitute(key, sandbox): substitute(item, sandbox) for key, item in value.items()}
    return value


@pytest.fixture(scope="module")
def fake_bin(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("fake-bin")
    for name in FAKE_COMMANDS:
        path = directory / name
        path.write_text(f"#!/bin/sh\necho 'fake {name}: not run by the fuzz test' >&2\nexit 1\n")
        path.chmod(0o755)
    return str(directory)


class ExampleTimeout(Exception):
    pass


_BUG_TYPES: dict[str, type] = {}


def bug(signature: str, message: str) -> AssertionError:
    """An AssertionError of a class named after signature: Hypothesis reports each distinct
    class (each distinct crash) separately instead of only the first one it met."""
    name = "Fuzz_" + "".join(c if c.isalnum() else "_" for c in signature)[:120]
    kind = _BUG_TYPES.setdefault(name, type(name, (AssertionError,), {}))
    return kind(message)


def signature_of(failures: list[tuple[str, str]]) -> str:
    return "+".join(sorted({kind for kind, _text in failures}))


def crash_site(exc: BaseException) -> str:
    """ExceptionType at the innermost frame of the collection (or of whatever raised it)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if "/plugins/" in frame.filename] or frames
    frame = ours[-1]
    return f"{type(exc).__name__} {os.path.basename(frame.filename)}:{frame.lineno}"


@contextlib.contextmanager
def guarded(fake_bin: str, places: dict[str, str]):
    """The process state a module may touch, set for the example and put back: cwd, umask, PATH
    with the stand-ins first, TMPDIR, no PG*/REDIS* settings, short sleeps, an alarm against hangs."""
    saved_env = dict(os.environ)
    saved_cwd, saved_umask = os.getcwd(), os.umask(0o022)
    saved_tempdir = tempfile.tempdir

    def alarm(_signum: int, _frame: Any) -> None:
        raise ExampleTimeout(f"the example ran longer than {EXAMPLE_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    real_sleep = time.sleep
    try:
        # Retries and polls (redis-py's backoff against the closed port, run_lock's wait) sleep
        # at most 10 ms: the fuzz looks for crashes, not for timing.
        time.sleep = lambda seconds: real_sleep(min(max(seconds, 0), 0.01))
        for key in list(os.environ):
            if key.startswith(("PG", "REDIS", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")):
                del os.environ[key]
        os.environ["PATH"] = f"{fake_bin}:{saved_env.get('PATH', '/usr/bin:/bin')}"
        os.environ["TMPDIR"] = places["tmp"]
        tempfile.tempdir = places["tmp"]
        os.chdir(os.path.join(places["sandbox"], "work"))
        signal.alarm(EXAMPLE_SECONDS)
        yield
    finally:
        time.sleep = real_sleep
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(saved_cwd)
        os.umask(saved_umask)
        tempfile.tempdir = saved_tempdir
        os.environ.clear()
        os.environ.update(saved_env)


def problems_of(
    run_module: Callable[..., Any], name: str, check_mode: bool, args: dict[str, Any]
) -> tuple[Any, dict[str, Any], list[tuple[str, str]]]:
    """Run the module; what is wrong with how it ended, as (kind, text) (empty: a clean result)."""
    try:
        code, text, result = run_module(name, args, check_mode=check_mode)
    except ExampleTimeout:
        raise
    except json.JSONDecodeError as exc:
        return None, {}, [("not JSON", f"output is not one JSON object: {exc}")]
    except Exception as exc:
        if "is not JSON" in str(exc) and "conftest" in traceback.extract_tb(exc.__traceback__)[-1].filename:
            return None, {}, [("NaN in result", f"the result holds a value that is not JSON: {exc}")]
        return None, {}, [(crash_site(exc), "raised instead of failing with a message:\n" + traceback.format_exc())]
    problems = []
    if not isinstance(result, dict) or not result:
        problems.append(("no result", f"no JSON result on stdout (exit code {code!r}): {text[:300]!r}"))
        return code, {}, problems
    if code not in (0, 1):
        problems.append(("exit code", f"exit code {code!r}"))
    if result.get("failed"):
        msg = result.get("msg")
        if not isinstance(msg, str) or not msg.strip():
            problems.append(("no msg", f"failed without a message: msg={msg!r}"))
        elif "Traceback (most recent call last)" in msg:
            problems.append(("traceback in msg", f"a traceback as the message: {msg[:300]}"))
        if "exception" in result:
            summary = str(result["exception"])
            where = msg.split(":")[0][:40] if isinstance(msg, str) else ""
            problems.append((f"exception key {where}", f"reported a raw exception (msg {msg!r}): {summary[:500]}"))
        if code != 1:
            problems.append(("exit code", f"failed with exit code {code!r}"))
    elif code != 0:
        problems.append(("exit code", f"exit code {code!r} without failed: true"))
    return code, result, problems


def check_example(
    name: str, drawn: dict[str, Any], fake_bin: str, run_module: Callable[..., Any]
) -> list[tuple[str, str]]:
    """Run one example in a fresh sandbox, in check mode then for real; what went wrong."""
    root = tempfile.mkdtemp(prefix="jarvis-fuzz-")
    try:
        places = make_sandbox(root)
        args = substitute(drawn, places["sandbox"])
        failures: list[tuple[str, str]] = []
        outside = os.path.dirname(places["fence"])
        inside = os.path.join(root, "t", "s")
        with guarded(fake_bin, places):
            before = snapshot(root, skip=(places["tmp"],))
            _code, result, problems = problems_of(run_module, name, True, args)
            failures += [(kind, f"check mode: {text}") for kind, text in problems]
            after = snapshot(root, skip=(places["tmp"],))
            if after != before:
                changed = sorted(set(before.items()) ^ set(after.items()))[:5]
                failures.append(("check mode changed", f"check mode changed files: {changed} (result {result})"))
            if os.listdir(places["tmp"]):
                failures.append(("TMPDIR", f"check mode left files in TMPDIR: {os.listdir(places['tmp'])}"))
            fence = snapshot(outside, skip=(inside,))
            _code, result, problems = problems_of(run_module, name, False, args)
            failures += [(kind, f"real run: {text}") for kind, text in problems]
            if snapshot(outside, skip=(inside,)) != fence:
                failures.append(("escaped", f"real run changed files outside the sandbox (result {result})"))
            written = snapshot(root, skip=(places["tmp"],))
            for path in sorted(set(written.items()) - set(after.items())):
                problem = not_strict_json(os.path.join(root, path[0]))
                if problem:
                    failures.append(("JSON file", f"real run wrote {path[0]}, which is not JSON: {problem}"))
        return failures
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("name", MODULES)
def test_fuzz_module_arguments(name: str, fake_bin: str, module_runner: Callable[..., Any]) -> None:
    """Random arguments (Hypothesis): one odd value among ordinary ones, or odd values everywhere."""
    spec, _kwargs = module_spec(name)
    strategy = arguments(spec, BASE_ARGUMENTS.get(name))

    @settings(settings.get_profile(os.environ.get("JARVIS_FUZZ_PROFILE", "ci")))
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        drawn = data.draw(strategy, label=f"{name} arguments")
        failures = check_example(name, drawn, fake_bin, module_runner)
        if failures:
            raise bug(signature_of(failures), f"{name} with {drawn!r}:\n" + "\n".join(t for _k, t in failures))

    fuzz()


# -- every option, one edge value at a time ------------------------------------------------------

EDGES: dict[str, list[Any]] = {
    "path": [f"{SANDBOX}/file.txt", f"{SANDBOX}/link", f"{SANDBOX}/file.txt/below", "", "../../../x"],
    "str": ["", "..", "../../etc/x", "'\"$;`\n\u202e", "x" * 5000],
    "int": [-1, 0, 2**63],
    "float": [math.nan, math.inf, -1.0, 1e300],
    "raw": [math.nan],
    "list": [[], [""]],
    "dict": [{}, {"x": math.nan}],
}


def ordinary(spec: dict[str, Any], name: str) -> Any:
    """The first ordinary value of an option (deterministic), for the edge pass."""
    fixed = {
        "login_host": "127.0.0.1",
        "docker_login_host": "127.0.0.1",
        "login_port": CLOSED_PORT,
        "docker_login_port": CLOSED_PORT,
        "url": f"http://127.0.0.1:{CLOSED_PORT}/health",
        "server_url": f"http://127.0.0.1:{CLOSED_PORT}/",
        "prometheus_url": f"http://127.0.0.1:{CLOSED_PORT}",
    }
    kind = spec.get("type", "str")
    if name in fixed:
        return fixed[name]
    if name in BY_NAME:
        return "missing-binary-jarvis"
    if kind == "path":
        return f"{SANDBOX}/new/{name}"
    if kind == "list" and spec.get("elements") == "path":
        return [f"{SANDBOX}/dir"]
    if spec.get("default") is not None:
        return spec["default"]
    if spec.get("choices"):
        return next(iter(spec["choices"])) if kind != "list" else []
    return {"str": "web01", "int": 7, "float": 1.0, "bool": False, "list": [], "dict": {}}.get(kind)


NETWORK_EDGES: dict[str, list[Any]] = {
    "login_host": ["", "127.0.0.1'; --"],
    "docker_login_host": [""],
    "login_port": [0, 65536],
    "docker_login_port": [0],
    "url": ["http://[::1", "", "not a url", f"ftp://127.0.0.1:{CLOSED_PORT}/"],
    "server_url": ["http://[::1", "", "not a url"],
    "prometheus_url": ["http://[::1", "", "not a url", f"http://127.0.0.1:{CLOSED_PORT}/?q=1"],
}


def edges(spec: dict[str, Any], name: str) -> list[Any]:
    kind = spec.get("type", "str")
    if name in BY_NAME:
        return NETWORK_EDGES.get(name, ["", f"{SANDBOX}/file.txt"])
    values = list(EDGES.get(kind, []))
    if kind == "list" and spec.get("elements") == "path":
        values += [[f"{SANDBOX}/file.txt"], [f"{SANDBOX}/link"], [""]]
    if kind == "list" and spec.get("elements") == "dict":
        values += [[{}]]
    if spec.get("options") and kind == "dict":
        values += [{key: math.nan for key, sub in spec["options"].items() if sub.get("type") == "float"}]
    return values


@pytest.mark.parametrize("name", MODULES)
def test_edge_value_of_each_option(name: str, fake_bin: str, module_runner: Callable[..., Any]) -> None:
    """Ordinary arguments with one option at an edge value (a file where a directory is expected,
    '..', NaN, 2**63, ...), for every option and every edge of its type: a complete, fixed table
    that random sampling could miss. Every failure is listed, not only the first."""
    spec, _kwargs = module_spec(name)
    base = BASE_ARGUMENTS.get(name, {}) | {
        option_name: ordinary(option, option_name)
        for option_name, option in spec.items()
        if option.get("required")
        or option.get("type") == "path"
        or option_name in BY_NAME
        or (option.get("type") == "list" and option.get("elements") == "path")
    }
    found: dict[str, str] = {}
    for option_name, option in spec.items():
        for value in edges(option, option_name):
            drawn = {**base, option_name: value}
            for kind, text in check_example(name, drawn, fake_bin, module_runner):
                found.setdefault(f"{option_name}: {kind}", f"{name} with {drawn!r}:\n{text}")
    assert not found, f"{len(found)} problem(s):\n\n" + "\n\n".join(found.values())


def test_every_module_is_fuzzed() -> None:
    directory = importlib.import_module(PREFIX.rstrip(".")).__path__[0]
    modules = sorted(name[:-3] for name in os.listdir(directory) if name.endswith(".py") and name != "__init__.py")
    assert modules == sorted(MODULES)
