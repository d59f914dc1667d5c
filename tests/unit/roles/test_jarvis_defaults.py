# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The jarvis_* defaults are written once (roles/jarvis) and reach every role through its dependency."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).absolute().parents[3]
ROLES = ROOT / "roles"
GLOBALS = yaml.safe_load((ROLES / "jarvis" / "defaults" / "main.yml").read_text())
OTHER_ROLES = sorted(
    path.name for path in ROLES.iterdir() if (path / "meta" / "main.yml").is_file() and path.name != "jarvis"
)
# ansible-test runs the tests inside .../ansible_collections/jarvis/maintenance; a checkout has .build/collections
COLLECTIONS = ROOT.parents[2] if ROOT.parents[1].name == "ansible_collections" else ROOT / ".build" / "collections"

# Run in a fresh interpreter: the collection loader must be set up before anything imports ansible_collections.
LOAD = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
import ansible.playbook.role
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play import Play
# Only the roles' metadata and defaults matter here: their tasks, which name modules of other
# collections (not installed where ansible-test runs the units), are not parsed.
ansible.playbook.role.load_list_of_blocks = lambda *args, **kwargs: []
from ansible.template import Templar
from ansible.vars.manager import VariableManager
role, names, extra = sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
loader = DataLoader()
play = Play().load({"hosts": "localhost", "roles": ["jarvis.maintenance." + role]}, VariableManager(loader), loader)
defaults = play.get_roles()[0].get_default_vars()
templar = Templar(loader=loader, variables={**defaults, **extra})
print(json.dumps({name: templar.template(defaults[name]) for name in names}))
"""


def role_defaults(role: str, names: list[str], extra: dict | None = None) -> dict:
    """The values of a role's defaults when a play uses the role on its own, as Ansible loads them."""
    argv = [sys.executable, "-c", LOAD, str(COLLECTIONS), role, json.dumps(names), json.dumps(extra or {})]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_globals_are_jarvis_variables_with_literal_defaults():
    assert GLOBALS and all(name.startswith("jarvis_") for name in GLOBALS)
    assert GLOBALS["jarvis_backend_url"] == "http://127.0.0.1:10010"


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_no_role_writes_a_global_default_again(role):
    again = []
    for path in (ROLES / role).rglob("*"):
        if path.is_file() and path.suffix in (".yml", ".j2"):
            for name in re.findall(r"\b(jarvis_[a-z_]+) \| default\(", path.read_text()):
                if name in GLOBALS:
                    again.append(f"{path.relative_to(ROOT)}: {name}")
    assert again == [], "a jarvis_* default belongs in roles/jarvis/defaults/main.yml only"


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_a_role_that_reads_a_global_depends_on_the_jarvis_role(role):
    text = "".join(
        path.read_text()
        for path in (ROLES / role).rglob("*.yml")
        if path.is_file() and path.name != "argument_specs.yml"
    )
    read = {name for name in re.findall(r"\{\{[^}]*?\b(jarvis_[a-z_]+)\b(?!=)", text) if name in GLOBALS}
    meta = yaml.safe_load((ROLES / role / "meta" / "main.yml").read_text())
    depends = [dependency.get("role") for dependency in meta.get("dependencies") or []]
    assert ("jarvis" in depends) == bool(read), f"{role} reads {sorted(read)}; dependencies {depends}"


@pytest.mark.parametrize("role", sorted(path.parent.parent.name for path in ROLES.glob("*/meta/argument_specs.yml")))
def test_every_documented_default_is_the_role_s_default(role):
    """Ansible does not apply an argument spec's default: defaults/main.yml must hold the same value."""
    defaults: dict = {}
    for name in ("defaults", "vars"):
        path = ROLES / role / name / "main.yml"
        if path.is_file():
            defaults.update(yaml.safe_load(path.read_text()) or {})
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    wrong = []
    for entry_point, spec in specs.items():
        for name, option in (spec.get("options") or {}).items():
            if "default" not in option:
                continue
            if name not in defaults:
                wrong.append(f"{entry_point}: {name} is documented with a default but has none")
            elif " ".join(str(defaults[name]).split()) != " ".join(str(option["default"]).split()):
                wrong.append(f"{entry_point}: {name} is {defaults[name]!r}, documented {option['default']!r}")
    assert wrong == []


def test_a_role_on_its_own_sees_the_global_defaults():
    assert role_defaults("capacity_planning", ["capacity_planning_backend_url", "capacity_planning_reports_dir"]) == {
        "capacity_planning_backend_url": "http://127.0.0.1:10010/health",
        "capacity_planning_reports_dir": "/var/lib/jarvis/reports",
    }
    assert role_defaults("log_cleanup", ["log_cleanup_roots"]) == {"log_cleanup_roots": ["/opt/sutazaiapp/logs"]}


@pytest.mark.parametrize(
    ("role", "variable"),
    [
        ("health_check", "health_check_reports_dir"),
        ("backup_verification", "backup_verification_reports_dir"),
        ("maintenance_run", "maintenance_run_reports_dir"),
    ],
)
def test_one_inventory_value_changes_every_role(role, variable):
    assert role_defaults(role, [variable], {"jarvis_reports_dir": "/srv/reports"}) == {variable: "/srv/reports"}


def without_description(option: dict) -> dict:
    return {key: value for key, value in option.items() if key not in ("description", "short_description")}


@pytest.mark.parametrize("role", sorted(path.parent.parent.name for path in ROLES.glob("*/meta/argument_specs.yml")))
def test_an_option_shared_by_entry_points_is_written_once(role):
    """Entry points share an option through a YAML anchor; a second copy is allowed only when the spec differs.

    PyYAML builds an alias (and a merge key's values) into the very object of its anchor, so a copy is
    an option with the same name that is another object.
    """
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    first: dict[str, tuple[str, dict]] = {}
    copies = []
    for entry_point, spec in specs.items():
        for name, option in (spec.get("options") or {}).items():
            if name not in first:
                first[name] = (entry_point, option)
                continue
            where, seen = first[name]
            if option is not seen and without_description(option) == without_description(seen):
                copies.append(f"{name}: written in {where} and again in {entry_point}")
    assert copies == [], "use a YAML anchor (&name / *name) for an option several entry points share"
