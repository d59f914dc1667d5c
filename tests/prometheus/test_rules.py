"""The alerting rules keep to the metrics contract, each has its runbook section and its promtool test.

promtool itself checks and tests the rules (make prometheus-tests runs both, then this).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES_FILE = REPO / "prometheus" / "jarvis-maintenance.rules.yml"
TESTS_FILE = REPO / "tests" / "prometheus" / "jarvis-maintenance.rules.test.yml"
GUIDE = REPO / "docs" / "operator-guide.md"
CONTRACT = REPO / "docs" / "monitoring.md"

RULES = [rule for group in yaml.safe_load(RULES_FILE.read_text())["groups"] for rule in group["rules"]]
ALERTS = [rule for rule in RULES if "alert" in rule]
# The metrics node_exporter itself exports that a rule may read besides the contract's.
NODE_EXPORTER_METRICS = {"node_exporter_build_info"}


def contract_metrics() -> set[str]:
    """The metric names of docs/monitoring.md's table (first column of its rows)."""
    return set(re.findall(r"^\| `(jarvis_maintenance_[a-z_]+)` \|", CONTRACT.read_text(), re.M))


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def guide_anchors() -> set[str]:
    return {github_anchor(line.lstrip("#")) for line in GUIDE.read_text().splitlines() if line.startswith("#")}


def test_there_are_alerts_with_distinct_names():
    names = [rule["alert"] for rule in ALERTS]
    assert names and len(names) == len(set(names))


def test_every_metric_read_is_in_the_contract():
    known = contract_metrics()
    assert len(known) > 20, "docs/monitoring.md's metric table was not found"
    metrics = {name for rule in RULES for name in re.findall(r"\b(jarvis_maintenance_\w+|node_\w+)", rule["expr"])}
    assert metrics, "no metric found in the expressions"
    assert metrics - known - NODE_EXPORTER_METRICS == set()


@pytest.mark.parametrize("rule", ALERTS, ids=lambda rule: rule["alert"])
def test_an_alert_has_a_severity_a_summary_a_description_and_its_runbook(rule):
    assert rule["labels"]["severity"] in ("critical", "warning")
    annotations = rule["annotations"]
    assert annotations["summary"].strip() and annotations["description"].strip()
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    base = galaxy["repository"].rstrip("/") + "/blob/main/docs/operator-guide.md#"
    url = annotations["runbook_url"]
    assert url.startswith(base), f"runbook_url {url} is not in the repository's operator guide ({base})"
    anchor = url[len(base) :]
    assert anchor == github_anchor(rule["alert"]), "each alert has the operator guide's subsection of its own name"
    assert anchor in guide_anchors(), f"docs/operator-guide.md has no heading {rule['alert']}"


@pytest.mark.parametrize("rule", ALERTS, ids=lambda rule: rule["alert"])
def test_an_alert_has_a_promtool_test_that_fires_it_and_one_that_does_not(rule):
    tests = yaml.safe_load(TESTS_FILE.read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", []) if case["alertname"] == rule["alert"]]
    assert any(case.get("exp_alerts") for case in cases), "no test time where it fires"
    assert any(not case.get("exp_alerts") for case in cases), "no test time where it does not fire"
