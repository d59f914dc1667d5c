# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Prometheus text format the collection writes: read back by prometheus_client's parser and
by promtool (Debian's prometheus package), label values from users included; the textfile writer
against a symlink planted at its name; FAMILIES against docs/monitoring.md."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _exposition
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._exposition import (
    FAMILIES,
    PREFIX,
    Samples,
    render,
)

COLLECTION = Path(__file__).resolve().parents[4]
HOSTILE = [
    'db"with"quotes',
    "back\\slash\\",
    "new\nline",
    "carriage\rreturn\ttab",
    "caf\u00e9 \u6570\u636e \U0001f4be",
    "lone \ud800 surrogate",
    "",
    "x" * 1000,
    '}{="injected"} 1\njarvis_maintenance_lock_held 1',
]


def parsed(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def expected_label(value: str) -> str:
    text = "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in value)
    return text if len(text) <= _exposition.MAX_LABEL_CHARS else text[: _exposition.MAX_LABEL_CHARS - 1] + "\u2026"


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.fail("promtool is missing: it comes with Debian's prometheus package (apt-get install prometheus)")
    return found


def test_every_family_follows_the_naming_conventions():
    for name, family in FAMILIES.items():
        assert name.startswith(PREFIX)
        assert family.type == "gauge"
        assert not name.endswith("_total"), "gauges only: nothing here is a counter"
        if "timestamp" in name:
            assert name.endswith("_timestamp_seconds")
        assert re.match(r"^[a-z_]+$", name)


def test_families_are_the_ones_docs_monitoring_lists():
    text = (COLLECTION / "docs" / "monitoring.md").read_text()
    documented = dict(re.findall(r"^\| `(jarvis_maintenance_[a-z_]+)` \|([^|]*)\|", text, re.M))
    assert set(documented) == set(FAMILIES)
    for name, labels in documented.items():
        assert tuple(re.findall(r"`([a-z_]+)`", labels)) == FAMILIES[name].labels, name


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_label_values_round_trip_through_the_parser(value):
    samples = Samples()
    samples.add("postgres_actions", 2, playbook="daily", database=value, action="vacuum")
    samples.add("lock_held", True)
    result = parsed(render(samples))
    key = (
        "jarvis_maintenance_postgres_actions",
        tuple(sorted({"playbook": "daily", "database": expected_label(value), "action": "vacuum"}.items())),
    )
    assert result == {key: 2.0, ("jarvis_maintenance_lock_held", ()): 1.0}


def test_promtool_checks_a_file_with_every_family_and_hostile_labels(tmp_path):
    samples = Samples()
    for index, family in enumerate(FAMILIES.values()):
        labels = {label: HOSTILE[(index + position) % len(HOSTILE)] for position, label in enumerate(family.labels)}
        samples.add(family.name[len(PREFIX) :], index * 1.5, **labels)
    samples.add("run_duration_seconds", float("nan"), playbook="nan")
    samples.add("run_duration_seconds", float("inf"), playbook="inf")
    text = render(samples)
    result = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(parsed(text)) == len(samples) == len(FAMILIES) + 2


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.floats(allow_nan=False))
def test_any_label_value_and_number_parse_back(value, number):
    samples = Samples()
    samples.add("postgres_slot_retained_bytes", number, playbook="weekly", slot=value)
    ((name, labels), parsed_value), *rest = parsed(render(samples)).items()
    assert not rest
    assert name == "jarvis_maintenance_postgres_slot_retained_bytes"
    assert dict(labels) == {"playbook": "weekly", "slot": expected_label(value)}
    assert parsed_value == number


def test_samples_refuse_what_is_not_a_family_or_its_labels():
    samples = Samples()
    with pytest.raises(ValueError, match="not a metric family"):
        samples.add("nonsense", 1)
    with pytest.raises(ValueError, match=r"takes the labels \['playbook'\]"):
        samples.add("run_exit_status", 1)
    with pytest.raises(ValueError, match="must be a number"):
        samples.add("run_exit_status", "1", playbook="daily")
    samples.add("run_exit_status", None, playbook="daily")
    assert len(samples) == 0 and render(samples) == ""


@pytest.mark.parametrize(
    ("stem", "name"),
    [
        ("run_daily", "jarvis_maintenance_run_daily.prom"),
        ("run_../../etc/x", "jarvis_maintenance_run_______etc_x.prom"),
    ],
)
def test_file_names_stay_in_the_directory(stem, name):
    assert _exposition.file_name(stem) == name


@pytest.mark.parametrize(
    ("playbook", "label"), [("daily.yml", "daily"), ("/x/playbooks/monthly.yaml", "monthly"), ("", "run")]
)
def test_playbook_label(playbook, label):
    assert _exposition.playbook_label(playbook) == label


def test_a_symlink_planted_at_the_name_is_replaced_never_followed(tmp_path):
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    (textfiles / "jarvis_maintenance_lock.prom").symlink_to(target)
    samples = Samples()
    samples.add("lock_held", 0)
    path = _exposition.write_textfile(str(textfiles), "jarvis_maintenance_lock.prom", render(samples))
    assert target.read_text() == "keep me\n"
    assert stat.S_ISREG(os.lstat(path).st_mode)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o644
    assert parsed(Path(path).read_text()) == {("jarvis_maintenance_lock_held", ()): 0.0}
    assert sorted(os.listdir(textfiles)) == ["jarvis_maintenance_lock.prom"], "no temporary file left"


def test_the_configured_path_is_resolved_once_and_names_stay_inside(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    # the configured path resolves through the link to elsewhere: written there, never into a swapped target
    path = _exposition.write_textfile(str(link), "jarvis_maintenance_lock.prom", "")
    assert os.path.realpath(path) == str(elsewhere / "jarvis_maintenance_lock.prom")
    with pytest.raises(ValueError):
        _exposition.write_textfile(str(real), "../escape.prom", "")


def test_a_missing_directory_is_created_0755(tmp_path):
    directory = tmp_path / "node-exporter"
    _exposition.write_textfile(str(directory), "jarvis_maintenance_lock.prom", "")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755


def test_directory_problem():
    assert _exposition.directory_problem("relative/dir") == "must be an absolute path, got 'relative/dir'"
    assert _exposition.directory_problem("/var/lib/prometheus/node-exporter") is None


def test_export_writes_plans_in_check_mode_and_warns_when_it_cannot(tmp_path):
    samples = Samples()
    samples.add("lock_held", 1)
    warnings: list[str] = []
    planned = _exposition.export(str(tmp_path / "t"), "lock", samples, True, warnings.append, "the lock's metrics")
    assert planned == {"path": str(tmp_path / "t" / "jarvis_maintenance_lock.prom"), "series": 1, "written": False}
    assert not (tmp_path / "t").exists()
    written = _exposition.export(str(tmp_path / "t"), "lock", samples, False, warnings.append, "the lock's metrics")
    assert written["written"] and (tmp_path / "t" / "jarvis_maintenance_lock.prom").read_text() == render(samples)
    (tmp_path / "file").write_text("not a directory")
    failed = _exposition.export(str(tmp_path / "file"), "lock", samples, False, warnings.append, "the lock's metrics")
    assert not failed["written"] and failed["error"]
    assert warnings == [f"the lock's metrics were not written to {failed['path']}: {failed['error']}"]
