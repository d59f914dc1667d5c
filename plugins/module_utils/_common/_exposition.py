# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Metrics for Prometheus: the one table of the collection's metric families, the text exposition
format, and the one writer of node_exporter textfiles.

Every metric the collection exports is a row of FAMILIES: its name, type, help and its label
names, written once (docs/monitoring.md lists them for people; a unit test keeps the two in
step). A writer builds samples of those families (``Samples.add``), ``render`` turns them into the
text format (https://prometheus.io/docs/instrumenting/exposition_formats/), and
``write_textfile`` puts the text into node_exporter's textfile directory atomically (a temporary
entry created O_EXCL|O_NOFOLLOW through the directory's fd, then a rename: a symlink planted at
the name is replaced, never followed).

No dependency on prometheus_client: the managed hosts would need it for the few lines here
(the README says why); the tests check the output with prometheus_client's parser and with
promtool.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Callable, NamedTuple

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs

PREFIX = "jarvis_maintenance_"
# A label value longer than this is cut (with an ellipsis): a name is user input, a series per
# megabyte-long name would hurt Prometheus more than a shortened label.
MAX_LABEL_CHARS = 256
TEXTFILE_MODE = 0o644
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_FILE = re.compile(r"^[a-z0-9_]+\.prom$")


class Family(NamedTuple):
    name: str
    type: str
    help: str
    labels: tuple[str, ...] = ()


def _f(name: str, help_text: str, *labels: str) -> Family:
    return Family(PREFIX + name, "gauge", help_text, labels)


# Gauges only: each describes the last run (a count per run is not a counter), so none ends in
# _total; times are Unix timestamps (_timestamp_seconds), ages are time() minus them in PromQL.
FAMILIES = {
    family.name: family
    for family in (
        _f("run_last_start_timestamp_seconds", "When the last run of the playbook started its work.", "playbook"),
        _f("run_last_end_timestamp_seconds", "When the last run of the playbook ended, well or not.", "playbook"),
        _f(
            "run_last_success_timestamp_seconds",
            "When the last run of the playbook that ended well ended.",
            "playbook",
        ),
        _f("run_duration_seconds", "How long the last run of the playbook took.", "playbook"),
        _f("run_exit_status", "0 when the last run of the playbook ended well, 1 when a step failed.", "playbook"),
        _f("step_last_start_timestamp_seconds", "When the step began in the last run that ran it.", "playbook", "step"),
        _f("step_last_end_timestamp_seconds", "When the step wrote its report.", "playbook", "step"),
        _f(
            "step_last_success_timestamp_seconds",
            "When the step last ended without a critical finding.",
            "playbook",
            "step",
        ),
        _f("step_duration_seconds", "How long the step took in the last run that ran it.", "playbook", "step"),
        _f(
            "findings",
            "Findings of the check at the severity the step reported in the last run.",
            "playbook",
            "step",
            "check",
            "severity",
        ),
        _f("backup_newest_timestamp_seconds", "When the newest backup set was finished.", "playbook"),
        _f("backup_newest_size_bytes", "The size of the newest backup set.", "playbook"),
        _f(
            "backup_verification_ok",
            "1 when every check of the newest backup set passed, 0 when one failed.",
            "playbook",
        ),
        _f("restore_test_ok", "1 when the last restore test passed, 0 when it failed.", "playbook", "kind"),
        _f("restore_test_duration_seconds", "How long the last restore test took.", "playbook", "kind"),
        _f("restore_test_last_timestamp_seconds", "When the last restore test ended.", "playbook", "kind"),
        _f("pitr_last_wal_timestamp_seconds", "When Barman last received WAL.", "playbook", "server"),
        _f(
            "pitr_rpo_seconds",
            "The recovery point objective estimate: committed work a failure now could lose.",
            "playbook",
            "server",
        ),
        _f(
            "pitr_slot_retained_bytes",
            "WAL the Barman replication slot keeps on the PostgreSQL server.",
            "playbook",
            "server",
        ),
        _f(
            "postgres_actions",
            "Maintenance actions the last run did, by database and action.",
            "playbook",
            "database",
            "action",
        ),
        _f(
            "postgres_maintenance_duration_seconds", "How long PostgreSQL maintenance took in the last run.", "playbook"
        ),
        _f("postgres_replay_lag_seconds", "A standby's replay lag, from the health monitor.", "playbook", "standby"),
        _f(
            "postgres_slot_retained_bytes", "WAL a replication slot keeps, from the health monitor.", "playbook", "slot"
        ),
        _f("redis_keys_deleted", "Keys the last run's Redis cleanup deleted.", "playbook"),
        _f("lock_held", "1 while a maintenance run holds the run lock, 0 once given back."),
        _f("lock_acquired_timestamp_seconds", "When the holder of the run lock took it."),
        _f("lock_lease_expiry_timestamp_seconds", "When the run lock's lease runs out unless renewed."),
    )
}


def label_value(value: object) -> str:
    """A label value as the text format wants it inside double quotes (pure): backslash, double
    quote and newline escaped; a lone surrogate (it has no UTF-8) replaced by U+FFFD; cut to
    MAX_LABEL_CHARS characters."""
    text = "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in str(value))
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1] + "\u2026"
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def help_text(value: str) -> str:
    """A HELP text escaped (pure): backslash and newline."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def number(value: float) -> str:
    """A sample value (pure): integers without a fraction, NaN and infinities as the format spells them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class Samples:
    """Samples of FAMILIES, one value per label set (a later add of the same labels replaces the value)."""

    def __init__(self) -> None:
        self.values: dict[str, dict[tuple[str, ...], float]] = {}

    def add(self, name: str, value: float | int | bool | None, **labels: object) -> None:
        """Add a sample of family PREFIX+name; None (not measured) adds nothing. Raises ValueError
        for an unknown family, labels other than the family's, or a value that is not a number."""
        family = FAMILIES.get(PREFIX + name)
        if family is None:
            raise ValueError(f"{PREFIX + name} is not a metric family of the collection")
        if set(labels) != set(family.labels):
            raise ValueError(f"{family.name} takes the labels {list(family.labels)}, got {sorted(labels)}")
        if value is None:
            return
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, (int, float)):
            raise ValueError(f"{family.name} must be a number, got {value!r}")
        key = tuple(str(labels[label]) for label in family.labels)
        self.values.setdefault(family.name, {})[key] = float(value)

    def __len__(self) -> int:
        return sum(len(series) for series in self.values.values())


def render(samples: Samples) -> str:
    """The text exposition format of samples: families in name order, each with its HELP and TYPE,
    its series in label order (pure)."""
    lines = []
    for name in sorted(samples.values):
        family = FAMILIES[name]
        lines.append(f"# HELP {name} {help_text(family.help)}")
        lines.append(f"# TYPE {name} {family.type}")
        for key, value in sorted(samples.values[name].items()):
            labels = ",".join(f'{label}="{label_value(text)}"' for label, text in zip(family.labels, key))
            lines.append(f"{name}{{{labels}}} {number(value)}" if labels else f"{name} {number(value)}")
    return "\n".join(lines) + "\n" if lines else ""


def file_name(stem: str) -> str:
    """A textfile name from a writer's stem (run_daily, lock): jarvis_maintenance_<stem>.prom, every
    character outside [a-z0-9_] turned into _ (pure)."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", stem.lower()) or "run"
    return f"{PREFIX}{cleaned}.prom"


def playbook_label(playbook: str) -> str:
    """The playbook label: the playbook's file name without its directory and .yml (pure)."""
    base = os.path.basename(playbook or "")
    return re.sub(r"\.ya?ml$", "", base) or "run"


def directory_problem(directory: object) -> str | None:
    """Why directory cannot be the textfile directory, or None (pure)."""
    if not isinstance(directory, str) or not directory.startswith("/"):
        return f"must be an absolute path, got {directory!r}"
    if "\x00" in directory:
        return "must not contain a NUL byte"
    return None


def write_textfile(directory: str, name: str, text: str) -> str:
    """Write text as directory/name atomically, readable by node_exporter (0644); creates the
    directory (0755) when it is missing. Nothing is written or read through a symlink at name. Returns
    the path. Raises OSError (or _safe_fs.UnsafePath) when it cannot be written."""
    if not _FILE.match(name):
        raise ValueError(f"textfile name {name!r} is not [a-z0-9_]+.prom")
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o755, exist_ok=True)
        os.chmod(directory, 0o755)  # whatever the umask: node_exporter's user must read it
    dir_fd = _safe_fs.open_dir(directory)
    try:
        _safe_fs.write_at(dir_fd, name, text.encode("utf-8"), TEXTFILE_MODE)
    finally:
        os.close(dir_fd)
    return os.path.join(directory, name)


def export(
    directory: str, stem: str, samples: Samples, check_mode: bool, warn: Callable[[str], None], what: str
) -> dict[str, Any]:
    """A writer's samples into directory as file_name(stem), for a module's result: ``path``,
    ``series``, ``written`` and, when it could not be written, ``error``. Nothing is written in
    check mode. A failure is a warning (what: "the run's metrics"), never the module's failure:
    the metrics serve the alerts, whose rules notice a writer that stops writing."""
    name = file_name(stem)
    path = os.path.join(directory, name)
    result: dict[str, Any] = {"path": path, "series": len(samples), "written": False}
    if check_mode:
        return result
    try:
        write_textfile(directory, name, render(samples))
    except (OSError, _safe_fs.UnsafePath) as exc:
        warn(f"{what} were not written to {path}: {exc}")
        return {**result, "error": str(exc)}
    return {**result, "written": True}
