"""The AWX schedules of awx/vars/main.yml: the runs they make, and that AWX accepts them.

The rules are read from the same file awx/configure.yml sends to AWX; dateutil (what AWX
itself parses schedules with) computes the next runs after a fixed instant, compared with
dates written out by hand from a calendar.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from dateutil.rrule import rrulestr

REPO = Path(__file__).resolve().parents[2]
VARS = REPO / "awx" / "vars" / "main.yml"

# Sunday 29 November 2026, noon UTC: runs are counted strictly after it.
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


class VarsLoader(yaml.SafeLoader):
    """safe_load plus Ansible's !unsafe tag (the credential type's AWX templates)."""


VarsLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_vars() -> dict:
    with VARS.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=VarsLoader)


AWX_VARS = load_vars()
SCHEDULES = {schedule["job_template"]: schedule for schedule in AWX_VARS["jarvis_awx_schedules"]}
TEMPLATES = {template["name"]: template for template in AWX_VARS["jarvis_awx_job_templates"]}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def next_runs(rule: str, after: datetime, count: int = 5) -> list[datetime]:
    recurrence = rrulestr(rule)
    runs: list[datetime] = []
    when = after
    while len(runs) < count:
        when = recurrence.after(when)
        assert when is not None, f"{rule} has fewer than {count} runs after {after}"
        runs.append(when)
    return runs


EXPECTED = {
    "Jarvis daily maintenance": [utc(2026, 11, 30, 2, 0), *(utc(2026, 12, day, 2, 0) for day in range(1, 5))],
    # Sundays at 01:00 (29 November's run was at 01:00, before noon)
    "Jarvis weekly maintenance": [
        utc(2026, 12, 6, 1, 0),
        utc(2026, 12, 13, 1, 0),
        utc(2026, 12, 20, 1, 0),
        utc(2026, 12, 27, 1, 0),
        utc(2027, 1, 3, 1, 0),
    ],
    # first Sundays at midnight, not the 1st of the month (the runbook's cron 0 0 1 * *)
    "Jarvis monthly maintenance": [
        utc(2026, 12, 6, 0, 0),
        utc(2027, 1, 3, 0, 0),
        utc(2027, 2, 7, 0, 0),
        utc(2027, 3, 7, 0, 0),
        utc(2027, 4, 4, 0, 0),
    ],
    # first Sundays of January, April, July and October at 05:00, after the monthly window
    "Jarvis quarterly maintenance": [
        utc(2027, 1, 3, 5, 0),
        utc(2027, 4, 4, 5, 0),
        utc(2027, 7, 4, 5, 0),
        utc(2027, 10, 3, 5, 0),
        utc(2028, 1, 2, 5, 0),
    ],
    "Jarvis security updates check": [utc(2026, 11, 30, 3, 30), *(utc(2026, 12, day, 3, 30) for day in range(1, 5))],
    # every 6 hours from midnight; noon itself is not after noon
    "Jarvis database health": [
        utc(2026, 11, 29, 18, 0),
        utc(2026, 11, 30, 0, 0),
        utc(2026, 11, 30, 6, 0),
        utc(2026, 11, 30, 12, 0),
        utc(2026, 11, 30, 18, 0),
    ],
    # Mondays at 06:00
    "Jarvis certificate check": [
        utc(2026, 11, 30, 6, 0),
        utc(2026, 12, 7, 6, 0),
        utc(2026, 12, 14, 6, 0),
        utc(2026, 12, 21, 6, 0),
        utc(2026, 12, 28, 6, 0),
    ],
}


def test_every_schedule_is_checked() -> None:
    assert set(SCHEDULES) == set(EXPECTED)
    assert len(SCHEDULES) == len(AWX_VARS["jarvis_awx_schedules"]), "one schedule per job template"


@pytest.mark.parametrize("template", sorted(EXPECTED))
def test_next_five_runs(template: str) -> None:
    assert next_runs(SCHEDULES[template]["rrule"], NOW) == EXPECTED[template]


@pytest.mark.parametrize("template", sorted(EXPECTED))
def test_dtstart_is_utc_and_the_first_run(template: str) -> None:
    rule = SCHEDULES[template]["rrule"]
    match = re.fullmatch(r"DTSTART:(\d{8}T\d{6})Z RRULE:\S+", rule)
    assert match, f"{rule}: want 'DTSTART:YYYYMMDDTHHMMSSZ RRULE:...' (UTC, one rule)"
    start = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    assert rrulestr(rule)[0] == start, f"{rule}: DTSTART is not a run of its own rule"


@pytest.mark.parametrize("template", sorted(EXPECTED))
def test_runs_stay_at_the_same_utc_time_all_year(template: str) -> None:
    """No drift across the daylight saving changes of March and October."""
    runs = next_runs(SCHEDULES[template]["rrule"], NOW, count=400)
    assert runs[-1] - runs[0] > timedelta(days=90)
    step = SCHEDULES[template]["rrule"].endswith("FREQ=HOURLY;INTERVAL=6")
    times = {(run.hour % 6 if step else run.hour, run.minute) for run in runs}
    assert len(times) == 1, f"{template}: runs at several times of day: {sorted(times)}"


@pytest.mark.parametrize("template", sorted(EXPECTED))
def test_awx_accepts_the_rule(template: str) -> None:
    """AWX's own restrictions on schedule rules (awx/api/serializers.py, validate_rrule)."""
    rule = SCHEDULES[template]["rrule"]
    assert len(re.findall(r"DTSTART[:;]", rule)) == 1, "exactly one DTSTART"
    assert "TZID" not in rule, "UTC, written with Z"
    for part in re.findall(r"RULE:(\S+)", rule):
        assert "INTERVAL=" in part, f"AWX requires INTERVAL: {part}"
        assert not re.search(r"BYDAY=[^;]*\d", part), f"AWX refuses BYDAY with a numeric prefix: {part}"
        assert "SECONDLY" not in part and "BYYEARDAY" not in part and "BYWEEKNO" not in part
        assert not ("COUNT" in part and "UNTIL" in part)


def test_first_sunday_rule_differs_from_the_runbooks_cron() -> None:
    """1 December 2026 is a Tuesday: the runbook's cron would run then, the schedule does not."""
    runs = next_runs(SCHEDULES["Jarvis monthly maintenance"]["rrule"], NOW, count=24)
    assert utc(2026, 12, 1, 0, 0) not in runs
    assert all(run.weekday() == 6 and run.day <= 7 for run in runs)


def test_schedules_point_at_job_templates_and_playbooks() -> None:
    for template, schedule in SCHEDULES.items():
        assert template in TEMPLATES, f"{schedule['name']}: no job template {template}"
    for name, template in TEMPLATES.items():
        assert (REPO / template["playbook"]).is_file(), f"{name}: no {template['playbook']}"


@pytest.mark.parametrize("template", ["Jarvis weekly maintenance", "Jarvis monthly maintenance"])
def test_window_templates_pass_the_window_variable(template: str) -> None:
    assert TEMPLATES[template]["extra_vars"] == {"jarvis_maintenance_window": True, "jarvis_run_lock_wait_minutes": 240}


@pytest.mark.parametrize(
    "template",
    [
        "Jarvis daily maintenance",
        "Jarvis weekly maintenance",
        "Jarvis monthly maintenance",
        "Jarvis quarterly maintenance",
    ],
)
def test_scheduled_runs_wait_for_the_maintenance_lock(template: str) -> None:
    # the monthly run holds the lock on the first Sunday when the weekly and daily runs start
    assert TEMPLATES[template]["extra_vars"]["jarvis_run_lock_wait_minutes"] == 240


def test_security_updates_template_only_checks() -> None:
    template = TEMPLATES["Jarvis security updates check"]
    assert template["playbook"] == "playbooks/system_update.yml"
    assert template["job_type"] == "check"
    assert template["extra_vars"]["jarvis_maintenance_window"] is False


def test_maintenance_mode_survey() -> None:
    spec = {question["variable"]: question for question in TEMPLATES["Jarvis maintenance mode"]["survey_spec"]["spec"]}
    assert sorted(spec) == ["maintenance_window_duration_minutes", "maintenance_window_reason", "mode"]
    assert sorted(spec["mode"]["choices"]) == ["disable", "enable", "status"]
    assert spec["mode"]["required"] is True
    assert spec["maintenance_window_duration_minutes"]["type"] == "integer"


def test_lock_template_breaks_a_cancelled_runs_lock_by_its_run_id() -> None:
    """After an AWX cancel (the job's process group killed, no always:), the lock is broken by the
    run id it shows: the survey's variable is the one maintenance_run reads."""
    template = TEMPLATES["Jarvis maintenance lock"]
    assert template["playbook"] == "playbooks/run_lock.yml"
    assert template["ask_limit_on_launch"] is True
    [question] = template["survey_spec"]["spec"]
    assert question["variable"] == "jarvis_run_lock_break" and question["required"] is False
    defaults = yaml.safe_load((REPO / "roles" / "maintenance_run" / "defaults" / "main.yml").read_text())
    assert "jarvis_run_lock_break" in defaults["maintenance_run_lock_break"]
    assert "awx_job_id" in defaults["maintenance_run_awx_job_id"]


def test_no_secret_in_the_vars() -> None:
    """Secrets are read at run time; the vars hold names and AWX templates only."""
    assert AWX_VARS["jarvis_awx_secrets"] == {}
    credential_type = AWX_VARS["jarvis_awx_secrets_credential_type"]
    assert all(field["secret"] for field in credential_type["inputs"]["fields"])
    for value in credential_type["injectors"]["extra_vars"].values():
        assert re.fullmatch(r"\{\{ \w+ \}\}", value), value
