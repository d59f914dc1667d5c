# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A run's metrics for Prometheus, from what run_summary already reads: this run's reports and
the earlier run summaries of the host in the reports directory (pure).

The last success of a playbook, and of each of its steps, is read from those summaries (the
reports directory is root's): nothing is read back from the textfile directory, which
node_exporter's user or others may be able to write. Each report kind's data gives its own
metrics (``FROM_DATA``): a report that lacks a value gives no sample rather than a wrong one.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _time
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._exposition import Samples, playbook_label
from ansible_collections.jarvis.maintenance.plugins.module_utils._reports._metrics import finite_number

Doc = Mapping[str, Any]


def _stamp(value: Any) -> float | None:
    moment = _time.try_parse_iso(value) if isinstance(value, str) else None
    return moment.timestamp() if moment is not None else None


def _num(value: Any) -> float | None:
    return float(value) if finite_number(value) else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def backup_verification(samples: Samples, playbook: str, report: Doc, step: Mapping[str, Any]) -> None:
    """The newest set's finish, size and checks; the restore test when it ran."""
    sets = [item for item in _list(_dict(report.get("data")).get("sets")) if isinstance(item, dict)]
    dated = [(stamp, item) for item in sets if (stamp := _stamp(item.get("finished"))) is not None]
    if not dated:
        return
    finished, newest = max(dated, key=lambda pair: pair[0])
    samples.add("backup_newest_timestamp_seconds", finished, playbook=playbook)
    samples.add("backup_newest_size_bytes", _num(newest.get("size")), playbook=playbook)
    failed = newest.get("checks_failed")
    ok = newest.get("severity") != "critical" and (not finite_number(failed) or failed == 0)
    samples.add("backup_verification_ok", ok, playbook=playbook)
    if _dict(report.get("data")).get("restore_test") is True:
        restore_test(samples, playbook, "logical", newest, step)


def restore_test(
    samples: Samples, playbook: str, kind: str, judged: Mapping[str, Any], step: Mapping[str, Any]
) -> None:
    """The restore test of a step: it passed when what it judged has no critical finding."""
    findings = [item for item in _list(judged.get("findings")) if isinstance(item, dict)]
    ok = judged.get("severity") != "critical" and not any(item.get("severity") == "critical" for item in findings)
    samples.add("restore_test_ok", ok, playbook=playbook, kind=kind)
    samples.add("restore_test_duration_seconds", step["seconds"], playbook=playbook, kind=kind)
    samples.add("restore_test_last_timestamp_seconds", step["end"], playbook=playbook, kind=kind)


def dr_test(samples: Samples, playbook: str, report: Doc, step: Mapping[str, Any]) -> None:
    """The monthly DR test restores the newest logical set."""
    if _dict(report.get("data")).get("restore_test") in (None, False):
        return
    restore_test(samples, playbook, "logical", report, step)


def pitr_restore_test(samples: Samples, playbook: str, report: Doc, step: Mapping[str, Any]) -> None:
    restore_test(samples, playbook, "pitr", report, step)


def barman(samples: Samples, playbook: str, server: Any, rpo: Any, last_received_at: Any, retained: Any) -> None:
    """Barman's last WAL, RPO estimate and slot, for one server."""
    if not isinstance(server, str) or not server:
        return
    samples.add("pitr_last_wal_timestamp_seconds", _stamp(last_received_at), playbook=playbook, server=server)
    samples.add("pitr_rpo_seconds", _num(rpo), playbook=playbook, server=server)
    samples.add("pitr_slot_retained_bytes", _num(retained), playbook=playbook, server=server)


def pitr(samples: Samples, playbook: str, report: Doc, _step: Mapping[str, Any]) -> None:
    """The pitr role's check report."""
    data = _dict(report.get("data"))
    received = _dict(data.get("wal")).get("last_received_at")
    barman(
        samples,
        playbook,
        data.get("server"),
        data.get("rpo_seconds"),
        received,
        _dict(data.get("slot")).get("retained_bytes"),
    )


def health(samples: Samples, playbook: str, report: Doc, _step: Mapping[str, Any]) -> None:
    """The health check's Barman component (on jarvis_backup hosts)."""
    component = _dict(_dict(_dict(report.get("data")).get("components")).get("pitr"))
    if component.get("available") is False:
        return
    barman(
        samples,
        playbook,
        component.get("server"),
        component.get("rpo_seconds"),
        component.get("last_received_at"),
        component.get("slot_retained_bytes"),
    )


def postgres(samples: Samples, playbook: str, report: Doc, _step: Mapping[str, Any]) -> None:
    """Actions done and their time; the standbys' replay lag and the slots' retained WAL."""
    data = _dict(report.get("data"))
    counts: dict[tuple[str, str], int] = {}
    for action in _list(data.get("actions_taken")):
        if isinstance(action, dict) and action.get("status", "done") == "done":
            key = (str(action.get("database") or ""), str(action.get("action") or "unknown"))
            counts[key] = counts.get(key, 0) + 1
    for (database, action), count in counts.items():
        samples.add("postgres_actions", count, playbook=playbook, database=database, action=action)
    samples.add("postgres_maintenance_duration_seconds", _num(data.get("seconds")), playbook=playbook)
    cluster = _dict(_dict(data.get("checks")).get("cluster"))
    replication = _dict(cluster.get("replication"))
    for row in _list(replication.get("standbys")):
        if isinstance(row, dict):
            name = row.get("application_name") or row.get("client_addr") or "standby"
            samples.add(
                "postgres_replay_lag_seconds", _num(row.get("replay_lag_seconds")), playbook=playbook, standby=name
            )
    if replication.get("role") == "standby":
        lag = _num(replication.get("replay_lag_seconds"))
        samples.add("postgres_replay_lag_seconds", lag, playbook=playbook, standby="this server")
    for row in _list(_dict(cluster.get("replication_slots")).get("slots")):
        if isinstance(row, dict) and row.get("slot_name"):
            retained = _num(row.get("retained_bytes")) or 0.0
            samples.add("postgres_slot_retained_bytes", retained, playbook=playbook, slot=row["slot_name"])


def redis(samples: Samples, playbook: str, report: Doc, _step: Mapping[str, Any]) -> None:
    """Keys the cleanup deleted (every delete_keys action of the step)."""
    deleted = [
        _dict(action.get("delete_keys")).get("deleted_keys")
        for actions in _list(_dict(report.get("data")).get("actions"))
        for action in (actions if isinstance(actions, list) else [actions])
        if isinstance(action, dict) and "delete_keys" in action
    ]
    numbers = [value for value in deleted if finite_number(value)]
    if numbers:
        samples.add("redis_keys_deleted", sum(numbers), playbook=playbook)


# The metrics each report kind's data gives (the kind is the report name's prefix: postgres-daily).
FROM_DATA: list[tuple[Callable[[str], bool], Callable[[Samples, str, Doc, Mapping[str, Any]], None]]] = [
    (lambda kind: kind == "backup-verification", backup_verification),
    (lambda kind: kind == "dr-test", dr_test),
    (lambda kind: kind == "pitr-restore-test", pitr_restore_test),
    (lambda kind: kind == "pitr", pitr),
    (lambda kind: kind == "health", health),
    (lambda kind: kind.startswith("postgres-"), postgres),
    (lambda kind: kind.startswith("redis-"), redis),
]


def earlier_runs(documents: list[tuple[str, Any]], host: str, playbook: str, prefix: str) -> list[Doc]:
    """The run summaries of host and playbook among documents (pure)."""
    return [
        doc
        for name, doc in documents
        if name.startswith(prefix + "-")
        and isinstance(doc, dict)
        and doc.get("host") == host
        and isinstance(doc.get("data"), dict)
        and doc["data"].get("playbook") == playbook
    ]


def steps_of(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A summary's steps with their start and end as timestamps (pure)."""
    found = []
    for report in _list(run.get("reports")):
        end = _stamp(report.get("generated_at")) if isinstance(report, dict) else None
        seconds = _num(report.get("seconds")) if isinstance(report, dict) else None
        if end is None or seconds is None or not isinstance(report.get("kind"), str):
            continue
        found.append(
            {
                "kind": report["kind"],
                "end": end,
                "start": end - seconds,
                "seconds": seconds,
                "severity": report.get("severity"),
            }
        )
    return found


def run_samples(
    data: Mapping[str, Any],
    reports: Mapping[str, Doc],
    earlier: list[Doc],
) -> Samples:
    """The metrics of a run (pure).

    data is this run's summary data (run_summary's ``data``: playbook, outcome, started, finished,
    reports with kind, severity, generated_at and seconds); reports maps each of its report files
    to the document; earlier are the host's earlier summaries of the same playbook."""
    samples = Samples()
    playbook = playbook_label(data["playbook"])
    started, finished = _stamp(data["started"]), _stamp(data["finished"])
    samples.add("run_last_start_timestamp_seconds", started, playbook=playbook)
    samples.add("run_last_end_timestamp_seconds", finished, playbook=playbook)
    samples.add("run_duration_seconds", _num(data.get("duration_seconds")), playbook=playbook)
    samples.add("run_exit_status", 0 if data["outcome"] == "ok" else 1, playbook=playbook)
    runs = [_dict(doc.get("data")) for doc in earlier] + [data]
    successes = [_stamp(run.get("finished")) for run in runs if run.get("outcome") == "ok"]
    samples.add("run_last_success_timestamp_seconds", max((s for s in successes if s), default=None), playbook=playbook)
    # Steps: the last run that ran each one (runs oldest first: a later one replaces an earlier).
    last_success: dict[str, float] = {}
    ordered = sorted(runs, key=lambda run: _stamp(run.get("finished")) or 0.0)
    for run in ordered:
        for step in steps_of(run):
            for name, value in (
                ("step_last_start_timestamp_seconds", step["start"]),
                ("step_last_end_timestamp_seconds", step["end"]),
                ("step_duration_seconds", step["seconds"]),
            ):
                samples.add(name, value, playbook=playbook, step=step["kind"])
            if step["severity"] != "critical":
                last_success[step["kind"]] = max(step["end"], last_success.get(step["kind"], 0.0))
    for kind, moment in last_success.items():
        samples.add("step_last_success_timestamp_seconds", moment, playbook=playbook, step=kind)
    this_run = {step["kind"]: step for step in steps_of(data)}
    for report in _list(data.get("reports")):
        doc = reports.get(report.get("file")) if isinstance(report, dict) else None
        step = this_run.get(report.get("kind")) if isinstance(report, dict) else None
        if doc is None or step is None:
            continue
        counts: dict[tuple[str, str], int] = {}
        for finding in _list(doc.get("findings")):
            if isinstance(finding, dict) and finding.get("severity") in ("ok", "warning", "critical"):
                key = (str(finding.get("check") or "unknown"), finding["severity"])
                counts[key] = counts.get(key, 0) + 1
        for (check, severity), count in counts.items():
            samples.add("findings", count, playbook=playbook, step=step["kind"], check=check, severity=severity)
        for matches, extract in FROM_DATA:
            if matches(step["kind"]):
                extract(samples, playbook, doc, step)
    return samples
