# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._host._container_stats import (
    ARGUMENT_SPEC,
    GIB,
    THRESHOLDS,
    ContainerStats,
    check_params,
    human_bytes,
    judge,
    memory_finding,
    missing_names,
    only_missing,
    parse_count,
    parse_inspect,
    parse_percent,
    parse_size,
    parse_stats,
    parse_stats_line,
    parse_usage,
)

MIB = 1024**2


def levels(**overrides):
    """The thresholds option as Ansible fills it in: every sub-option with its default, then the overrides."""
    values = {name: spec.get("default") for name, spec in ARGUMENT_SPEC["thresholds"]["options"].items()}
    values.update(overrides)
    return values


def defaults(**overrides):
    params = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}
    params["containers"] = ["sutazai-backend"]
    params["thresholds"] = levels(
        **{name: value for name, value in overrides.items() if name.rsplit("_", 1)[0] in THRESHOLDS}
    )
    params.update({name: value for name, value in overrides.items() if name not in params["thresholds"]})
    return params


def stats_line(**fields):
    entry = {
        "BlockIO": "0B / 0B",
        "CPUPerc": "6.93%",
        "Container": "sutazai-backend",
        "ID": "57399c88903cdb45af2a3cd39d09f20456f8da7f59a6511f74fd01e416515174",
        "MemPerc": "0.08%",
        "MemUsage": "19.11MiB / 23.54GiB",
        "Name": "sutazai-backend",
        "NetIO": "16.8kB / 15.9kB",
        "PIDs": "2",
    }
    entry.update(fields)
    return json.dumps(entry)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0B", 0),
        ("512B", 512),
        ("1KiB", 1024),
        ("45.6MiB", round(45.6 * MIB)),
        ("23.54GiB", round(23.54 * GIB)),
        ("1TiB", 1024**4),
        ("2kB", 2000),
        ("2KB", 2000),
        ("1.5MB", 1_500_000),
        ("3GB", 3_000_000_000),
        (" 7 MiB ", 7 * MIB),
        ("1e3B", 1000),
        ("42", 42),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "MiB", "12.3XiB", "-1MiB", "1,5GiB", "lots", None])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45.6MiB / 23.4GiB", (round(45.6 * MIB), round(23.4 * GIB))),
        ("0B / 0B", (0, 0)),
        ("1.2GiB/2GiB", (round(1.2 * GIB), 2 * GIB)),
        ("-- / --", (None, None)),  # a container docker could not measure
        ("--", (None, None)),
        ("45.6MiB", (round(45.6 * MIB), None)),  # Windows containers: no limit
    ],
)
def test_parse_usage(text, expected):
    assert parse_usage(text) == expected


@pytest.mark.parametrize("text", ["1MiB / 2MiB / 3MiB", "a / b", "1MiB / --x", None])
def test_parse_usage_rejects(text):
    with pytest.raises(ValueError):
        parse_usage(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12.34%", 12.34), ("0.00%", 0.0), ("250.5%", 250.5), (" 7 % ", 7.0), ("3", 3.0), ("--", None), ("", None)],
)
def test_parse_percent(text, expected):
    assert parse_percent(text) == expected


@pytest.mark.parametrize("text", ["12.34%%", "-1%", "n/a", "%", None])
def test_parse_percent_rejects(text):
    with pytest.raises(ValueError):
        parse_percent(text)


@pytest.mark.parametrize(("text", "expected"), [("7", 7), ("0", 0), ("--", None)])
def test_parse_count(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize("text", ["7.5", "-1", "seven"])
def test_parse_count_rejects(text):
    with pytest.raises(ValueError):
        parse_count(text)


def test_parse_stats_line():
    name, figures = parse_stats_line(stats_line())
    assert name == "sutazai-backend"
    assert figures == {
        "cpu_percent": 6.93,
        "memory_bytes": round(19.11 * MIB),
        "memory_limit_bytes": round(23.54 * GIB),
        "memory_percent": 0.08,
        "pids": 2,
    }


def test_parse_stats_line_of_a_stopped_container():
    name, figures = parse_stats_line(stats_line(CPUPerc="--", MemPerc="--", MemUsage="-- / --", PIDs="--"))
    assert name == "sutazai-backend"
    assert set(figures.values()) == {None}


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("CONTAINER   CPU %   MEM USAGE", "not JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps({"CPUPerc": "1%"}), "no Container field"),
        (stats_line(CPUPerc="fast"), "not a percentage"),
        (stats_line(MemUsage="19.11XB / 1GiB"), "unknown unit"),
        (stats_line(PIDs="many"), "not a count"),
    ],
)
def test_parse_stats_line_fails_with_the_line(line, why):
    with pytest.raises(ModuleError) as error:
        parse_stats_line("  " + line + "\n")
    message = str(error.value)
    assert why in message
    assert message.endswith(line.strip())  # the raw line, trimmed


def test_parse_stats_line_trims_a_long_line():
    with pytest.raises(ModuleError) as error:
        parse_stats_line("x" * 1000)
    assert len(str(error.value)) < 400
    assert str(error.value).endswith("x...")


def test_parse_stats_reads_every_line():
    output = "\n".join([stats_line(), stats_line(Container="sutazai-redis", CPUPerc="0.19%"), ""])
    result = parse_stats(output)
    assert sorted(result) == ["sutazai-backend", "sutazai-redis"]
    assert result["sutazai-redis"]["cpu_percent"] == 0.19


def inspected(name, status="running", memory=0, restarts=0, health=None):
    state = {
        "Status": status,
        "Running": status == "running",
        "Paused": False,
        "Restarting": False,
        "StartedAt": "2026-11-29T06:08:23Z",
    }
    if health:
        state["Health"] = {"Status": health}
    return {
        "Id": "57399c88903c" + "0" * 52,
        "Name": "/" + name,
        "State": state,
        "RestartCount": restarts,
        "HostConfig": {"Memory": memory},
    }


def test_parse_inspect():
    output = json.dumps(
        [inspected("sutazai-backend", health="healthy", restarts=3), inspected("sutazai-old", "exited")]
    )
    result = parse_inspect(output, ["sutazai-backend", "sutazai-old", "nope"])
    assert result["sutazai-backend"] == {
        "state": "running",
        "running": True,
        "restart_count": 3,
        "started_at": "2026-11-29T06:08:23Z",
        "health": "healthy",
        "memory_limited": False,
    }
    assert result["sutazai-old"]["state"] == "exited"
    assert result["sutazai-old"]["running"] is False
    assert result["nope"]["state"] == "missing"


def test_parse_inspect_matches_an_id_prefix():
    result = parse_inspect(json.dumps([inspected("sutazai-backend", memory=GIB)]), ["57399c88903c"])
    assert result["57399c88903c"]["running"] is True
    assert result["57399c88903c"]["memory_limited"] is True


@pytest.mark.parametrize("output", ["", "[]"])
def test_parse_inspect_of_nothing(output):
    assert parse_inspect(output, ["a"])["a"]["state"] == "missing"


@pytest.mark.parametrize("output", ["not json", '{"Name": "/a"}', "[1]"])
def test_parse_inspect_rejects(output):
    with pytest.raises(ModuleError, match="docker inspect"):
        parse_inspect(output, ["a"])


def test_missing_names():
    err = "Error response from daemon: No such container: nope\nError: No such object: gone\n"
    assert missing_names(err) == ["nope", "gone"]
    assert only_missing(err)
    assert only_missing("")
    assert not only_missing(err + "Cannot connect to the Docker daemon at unix:///x. Is the docker daemon running?")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"containers": []}, "containers"),
        ({"containers": ["a", " "]}, "containers"),
        ({"cpu_percent_warning": -1.0}, "thresholds.cpu_percent_warning"),
        ({"cpu_percent_critical": -5.0}, "thresholds.cpu_percent_warning/cpu_percent_critical: thresholds must not be"),
        ({"memory_bytes_warning": -1.0}, "thresholds.memory_bytes_warning"),
        ({"memory_percent_critical": -1.0}, "thresholds.memory_percent_warning/memory_percent_critical"),
        ({"memory_percent_critical": 101.0}, "thresholds.memory_percent_critical must be at most 100"),
        ({"memory_percent_warning": 101.0, "memory_percent_critical": None}, "thresholds.memory_percent_warning"),
        (
            {"cpu_percent_warning": 96.0},
            "thresholds.cpu_percent_warning/cpu_percent_critical: warning (96.0) must not be",
        ),
        (
            {"cpu_percent_critical": None},
            "thresholds.cpu_percent_warning/cpu_percent_critical: thresholds must be finite",
        ),
        ({"memory_percent_warning": 95.0}, "warning (95.0) must not be above critical (90.0)"),
        ({"timeout": 0.0}, "timeout"),
    ],
)
def test_check_params_names_the_parameter(overrides, named):
    with pytest.raises(ModuleError, match=re.escape(named)):
        check_params(defaults(**overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"cpu_percent_warning": 95.0},
        {"memory_bytes_warning": 0.0, "memory_percent_critical": 100.0},
        {
            "memory_bytes_warning": None,
            "memory_bytes_critical": 2.0 * GIB,
        },  # either level of a pair with a null default
    ],
)
def test_check_params_accepts(overrides):
    check_params(defaults(**overrides))


def test_defaults_are_the_runbook_rules():
    params = defaults()
    assert params["thresholds"]["cpu_percent_warning"] == 80
    assert params["thresholds"]["memory_bytes_warning"] == 1073741824
    assert params["thresholds"]["memory_bytes_critical"] is None
    assert params["thresholds"]["memory_percent_warning"] is None
    assert params["thresholds"]["memory_percent_critical"] == 90
    check_params(params)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1024, "1.0 KiB"),
        (int(45.6 * MIB), "45.6 MiB"),
        (GIB, "1.0 GiB"),
        (2 * 1024**4, "2.0 TiB"),
    ],
)
def test_human_bytes(value, expected):
    assert human_bytes(value) == expected


def measured(cpu=5.0, memory=100 * MIB, percent=None, limit=16 * GIB, limited=False):
    return {
        "state": "running",
        "running": True,
        "cpu_percent": cpu,
        "memory_bytes": memory,
        "memory_limit_bytes": limit,
        "memory_percent": percent if percent is not None else round(100 * memory / limit, 2),
        "pids": 3,
        "memory_limited": limited,
    }


def severities(findings):
    return {(f.subject, f.check): f.severity for f in findings}


@pytest.mark.parametrize(
    ("cpu", "expected"),
    [(0.0, "ok"), (79.99, "ok"), (80.0, "warning"), (94.9, "warning"), (95.0, "critical"), (350.0, "critical")],
)
def test_cpu_thresholds(cpu, expected):
    found = judge({"c": measured(cpu=cpu)}, defaults())
    assert severities(found)[("c", "container_cpu")] == expected


@pytest.mark.parametrize(
    ("memory", "limit", "expected", "threshold"),
    [
        (GIB - 1, 16 * GIB, "ok", GIB),
        (GIB, 16 * GIB, "warning", GIB),  # the runbook's "GiB" rule, at the threshold
        (int(1.5 * GIB), 16 * GIB, "warning", GIB),
        (int(0.9 * 512 * MIB), 512 * MIB, "critical", int(0.9 * 512 * MIB)),  # under 1 GiB but at 90 % of the limit
        (15 * GIB, 16 * GIB, "critical", int(0.9 * 16 * GIB)),
    ],
)
def test_memory_thresholds(memory, limit, expected, threshold):
    finding = judge({"c": measured(memory=memory, limit=limit)}, defaults())[1]
    assert finding.check == "container_memory"
    assert finding.severity == expected
    assert finding.value == memory
    assert finding.threshold == threshold
    assert bool(finding.recommendation) == (expected != "ok")


def test_memory_finding_says_whose_limit():
    limited = memory_finding("c", 600 * MIB, 58.59, 1024 * MIB, levels(), limited=True)
    unlimited = memory_finding("c", 600 * MIB, 2.0, 30 * GIB, levels(), limited=False)
    assert "of its 1.0 GiB limit" in limited.message
    assert "no memory limit set" in unlimited.message
    assert limited.message.endswith("below the warning threshold 1.0 GiB")


def test_memory_finding_without_docker_percent():
    finding = memory_finding("c", 95 * MIB, None, 100 * MIB, levels())
    assert finding.severity == "critical"
    assert finding.message.endswith("at or above the critical threshold 90% of the limit")


@pytest.mark.parametrize(
    ("overrides", "memory", "expected", "threshold"),
    [
        # a warning from a share of the limit, set where the default leaves it out
        ({"memory_percent_warning": 50.0}, 600 * MIB, "warning", 512 * MIB),
        ({"memory_percent_warning": 50.0}, 400 * MIB, "ok", GIB),
        # a critical level in bytes, set where the default leaves it out
        ({"memory_bytes_warning": 100.0 * MIB, "memory_bytes_critical": 200.0 * MIB}, 300 * MIB, "critical", 200 * MIB),
        # the bytes levels turned off: the share of the limit alone judges
        ({"memory_bytes_warning": None}, 100 * MIB, "ok", int(0.9 * 1024 * MIB)),
        ({"memory_bytes_warning": None}, 1000 * MIB, "critical", int(0.9 * 1024 * MIB)),
    ],
)
def test_memory_levels_left_out_by_default_can_be_set(overrides, memory, expected, threshold):
    finding = memory_finding("c", memory, None, 1024 * MIB, levels(**overrides))
    assert (finding.severity, finding.threshold) == (expected, threshold)


def test_memory_not_judged_without_any_level():
    finding = memory_finding(
        "c", 100 * MIB, None, 1024 * MIB, levels(memory_bytes_warning=None, memory_percent_critical=None)
    )
    assert (finding.severity, finding.threshold) == ("ok", None)
    assert finding.message.endswith("no memory threshold set")


def test_low_thresholds_flag_everything():
    found = judge({"c": measured()}, defaults(memory_bytes_warning=1.0, cpu_percent_warning=0.0))
    assert severities(found) == {("c", "container_cpu"): "warning", ("c", "container_memory"): "warning"}


@pytest.mark.parametrize(
    ("info", "value"),
    [
        ({"state": "missing", "running": False}, "missing"),
        ({"state": "exited", "running": False}, "exited"),
        ({**measured(), "cpu_percent": None}, "stopped"),  # stopped between docker inspect and docker stats
    ],
)
def test_not_running_is_a_warning_not_a_failure(info, value):
    found = judge({"gone": info}, defaults())
    assert [(f.check, f.severity, f.subject, f.value) for f in found] == [("container_state", "warning", "gone", value)]
    assert "gone" in found[0].message


class FakeModule:
    """Answers run_command from a table of docker sub-commands."""

    def __init__(self, answers, **params):
        self.params = defaults(**params)
        self.answers = answers
        self.commands = []

    def get_bin_path(self, name, required=False):
        return "/usr/bin/" + name

    def run_command(self, argv, **kwargs):
        self.commands.append(argv)
        subcommand = argv[argv.index("/usr/bin/docker") + 1]
        answer = self.answers[subcommand]
        return answer.pop(0) if isinstance(answer, list) else answer


def test_backend_measures_running_containers_only():
    inspect_out = json.dumps([inspected("sutazai-backend"), inspected("sutazai-old", "exited")])
    module = FakeModule(
        {"inspect": (1, inspect_out, "Error: No such object: nope\n"), "stats": (0, stats_line() + "\n", "")},
        containers=["sutazai-backend", "sutazai-old", "nope"],
    )
    result = ContainerStats(module.params, False, module).run()
    assert result["changed"] is False
    stats_command = module.commands[1]
    assert stats_command[-1] == "sutazai-backend"
    assert "--no-stream" in stats_command and "--no-trunc" in stats_command
    assert stats_command[:2] == ["timeout", "-k"]
    assert result["containers"]["sutazai-backend"]["cpu_percent"] == 6.93
    assert result["containers"]["nope"]["state"] == "missing"
    checks = [(f["check"], f["subject"]) for f in result["findings"]]
    assert checks == [
        ("container_cpu", "sutazai-backend"),
        ("container_memory", "sutazai-backend"),
        ("container_state", "sutazai-old"),
        ("container_state", "nope"),
    ]


def test_backend_copes_with_a_container_removed_after_inspect():
    inspect_out = json.dumps([inspected("sutazai-backend"), inspected("sutazai-redis")])
    module = FakeModule(
        {
            "inspect": (0, inspect_out, ""),
            "stats": [(1, "", "Error response from daemon: No such container: sutazai-redis\n"), (0, stats_line(), "")],
        },
        containers=["sutazai-backend", "sutazai-redis"],
    )
    result = ContainerStats(module.params, False, module).run()
    assert result["containers"]["sutazai-redis"]["state"] == "missing"
    assert module.commands[2][-1] == "sutazai-backend"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"inspect": (1, "", "Cannot connect to the Docker daemon")}, "Cannot inspect the containers"),
        ({"inspect": (124, "", "")}, "timed out after 30 s"),
        (
            {"inspect": (0, json.dumps([inspected("sutazai-backend")]), ""), "stats": (0, "garbage line", "")},
            "garbage line",
        ),
    ],
)
def test_backend_fails_with_a_reason(answers, message):
    with pytest.raises(ModuleError, match=message):
        module = FakeModule(answers)
        ContainerStats(module.params, False, module).run()


def test_backend_rejects_bad_params_before_running_docker():
    module = FakeModule({}, cpu_percent_critical=-1.0)
    with pytest.raises(ModuleError, match="cpu_percent_critical"):
        ContainerStats(module.params, False, module).run()
    assert module.commands == []
