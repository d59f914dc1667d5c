"""What every module's documentation says about itself, as ansible-doc shows it: the attributes the
community's collections declare (check_mode, diff_mode, idempotent, platform, action_group), the
*_info name of exactly the modules that only observe, and the redirects from the 0.x names."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
RUNTIME = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
MODULES = sorted(f"jarvis.maintenance.{path.stem}" for path in (REPO / "plugins" / "modules").glob("*.py"))


@pytest.fixture(scope="module")
def docs() -> dict[str, dict]:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(BIN / "ansible-doc"), "--json", *MODULES], capture_output=True, text=True, timeout=300, env=env,
        cwd=REPO, check=True,
    )  # fmt: skip
    return {name: entry["doc"] for name, entry in json.loads(result.stdout).items()}


def test_ansible_doc_shows_every_module(docs):
    assert sorted(docs) == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_the_attributes_every_module_declares(docs, name):
    attributes = docs[name]["attributes"]
    assert {"check_mode", "diff_mode", "idempotent", "platform"} <= set(attributes), sorted(attributes)
    assert attributes["platform"]["platforms"] == "posix"
    assert attributes["platform"]["support"] == "full"
    assert attributes["check_mode"]["support"] in ("full", "partial")


@pytest.mark.parametrize("name", MODULES)
def test_read_only_modules_and_only_they_are_named_info(docs, name):
    # the READ_ONLY fragment of plugins/doc_fragments/attributes.py says so; backup_verify, whose restore
    # test creates and drops a scratch database, does not
    idempotent = docs[name]["attributes"]["idempotent"]
    # (package_updates_info adds that update_cache=true refreshes apt's lists, a cache)
    changes_nothing = any(line.startswith("This module changes nothing") for line in idempotent.get("details") or [])
    assert changes_nothing == name.endswith("_info"), f"{name}: idempotent {idempotent}"


@pytest.mark.parametrize("name", MODULES)
def test_the_documented_action_group_is_the_one_runtime_yml_puts_it_in(docs, name):
    short = name.rsplit(".", 1)[1]
    groups = sorted(f"jarvis.maintenance.{group}" for group, members in RUNTIME["action_groups"].items()
                    if short in members)  # fmt: skip
    documented = docs[name]["attributes"].get("action_group", {}).get("membership") or []
    assert sorted(documented) == groups


def test_the_0x_names_redirect_to_existing_modules_until_2_0_0():
    routing = RUNTIME["plugin_routing"]["modules"]
    assert routing, "no redirects"
    for old, route in routing.items():
        assert route["redirect"] == f"jarvis.maintenance.{old}_info"
        assert route["redirect"] in MODULES
        assert route["deprecation"]["removal_version"] == "2.0.0"
        assert not (REPO / "plugins" / "modules" / f"{old}.py").exists()
