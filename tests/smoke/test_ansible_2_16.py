"""Smoke tests on the oldest ansible-core the collection supports (meta/runtime.yml, requires_ansible).

`make smoke-2.16` runs them with the venv .venv-2.16 (tests/smoke/requirements-2.16.txt), the
community collections at the floor versions galaxy.yml declares (those of the ansible 10.7.0
package) in .build/collections-2.16, and the local stack up. They check that every module, filter
and role documents itself without a warning, that every playbook parses, and that modules, the
db_health playbook and the health_check role run for real against PostgreSQL, Redis, nginx and the host.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
import redis
import yaml
from ansible.release import __version__ as ANSIBLE_CORE_VERSION

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COLLECTIONS = REPO / ".build" / "collections-2.16"
PYTHON = str(BIN / "python")
# The floor versions (galaxy.yml) are those the ansible 10.7.0 package bundles (Makefile, smoke-2.16).
FLOOR = {
    "community.general": "9.5.2",
    "community.postgresql": "3.9.0",
    "community.docker": "3.13.3",
    "community.crypto": "2.22.3",
}
MODULES = sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py") if path.stem != "__init__")
FILTERS = sorted(path.stem for path in (REPO / "plugins" / "filter").glob("*.yml"))
ROLES = sorted(path.parent.parent.name for path in (REPO / "roles").glob("*/meta/argument_specs.yml"))
PLAYBOOKS = sorted(path.stem for path in (REPO / "playbooks").glob("*.yml"))
# Warnings ansible-core 2.16 prints that are known and not the collection's to fix here.
KNOWN_WARNINGS = {
    # pitr_setup.yml and pitr_restore.yml name the Barman host group, which inventories/local lacks.
    r"Could not match supplied host pattern, ignoring: jarvis_backup",
}


def ansible_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        PATH=f"{BIN}:{env.get('PATH', '')}",
    )
    return env


def ansible(program: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / program), *args],
        cwd=REPO,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def unknown_warnings(stderr: str) -> list[str]:
    """The [WARNING] and [DEPRECATION WARNING] messages (ansible prints them on stderr, wrapped) that
    KNOWN_WARNINGS does not explain, each on one line."""
    text = " ".join(stderr.split())
    marker = r"\[(?:DEPRECATION )?WARNING\]: "
    found = [warning.strip() for warning in re.findall(marker + r"(.*?)(?=" + marker + r"|$)", text)]
    return [warning for warning in found if not any(re.fullmatch(known, warning) for known in KNOWN_WARNINGS)]


def playbook(target: str, *extra_vars: str) -> subprocess.CompletedProcess[str]:
    """Run a playbook on inventories/local. That inventory runs the modules with ansible_playbook_python:
    this venv's Python (3.12) is named anyway, as 2.16 does not support the main venv's 3.13 on a host."""
    extra = [arg for value in (f"ansible_python_interpreter={PYTHON}", *extra_vars) for arg in ("-e", value)]
    return ansible("ansible-playbook", "-i", "inventories/local", target, *extra, timeout=600)


@pytest.fixture(scope="module")
def stack() -> dict:
    env_json = Path(os.environ.get("JARVIS_STACK_DIR") or REPO / ".stack") / "env.json"
    if not env_json.is_file():
        pytest.fail(f"{env_json} is missing: start the local stack first (make stack-up)")
    return json.loads(env_json.read_text())


def test_the_oldest_supported_ansible_core_and_the_floor_collections():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    floor = re.fullmatch(r">=\s*(\d+\.\d+)(?:\.\d+)?", runtime["requires_ansible"].strip())
    assert floor, f"meta/runtime.yml requires_ansible {runtime['requires_ansible']!r} is not >=X.Y.Z"
    assert ANSIBLE_CORE_VERSION.startswith(floor.group(1) + "."), (
        f"this venv has ansible-core {ANSIBLE_CORE_VERSION}, meta/runtime.yml's oldest is {floor.group(1)}:"
        " update tests/smoke/requirements-2.16.txt"
    )
    installed = {}
    for name in FLOOR:
        manifest = COLLECTIONS / "ansible_collections" / name.replace(".", "/") / "MANIFEST.json"
        installed[name] = json.loads(manifest.read_text())["collection_info"]["version"]
    assert installed == FLOOR
    assert (COLLECTIONS / "ansible_collections" / "jarvis" / "maintenance").resolve() == REPO
    # whatever galaxy.yml declares is met by the floor versions tested here
    dependencies = yaml.safe_load((REPO / "galaxy.yml").read_text()).get("dependencies") or {}
    for name, spec in dependencies.items():
        assert name in FLOOR, f"galaxy.yml depends on {name}: add it to the smoke layer (Makefile, FLOOR)"
        lowest = re.search(r">=\s*([\d.]+)", str(spec))
        if lowest:
            version = tuple(int(part) for part in FLOOR[name].split("."))
            assert tuple(int(part) for part in lowest.group(1).split(".")) <= version, (name, spec)


@pytest.mark.parametrize(("kind", "names"), [("module", MODULES), ("filter", FILTERS), ("role", ROLES)])
def test_ansible_doc_documents_every_plugin_and_role_without_a_warning(kind, names):
    assert names
    result = ansible("ansible-doc", "-t", kind, "--json", *(f"jarvis.maintenance.{name}" for name in names))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    docs = json.loads(result.stdout)
    assert sorted(docs) == [f"jarvis.maintenance.{name}" for name in names]
    for name, doc in docs.items():
        if kind == "role":
            specs = yaml.safe_load((REPO / "roles" / name.split(".")[-1] / "meta" / "argument_specs.yml").read_text())
            assert sorted(doc["entry_points"]) == sorted(specs["argument_specs"]), name
            for entry_point in doc["entry_points"].values():
                assert entry_point.get("short_description"), name
        else:
            assert doc["doc"]["short_description"], name
            assert doc["examples"], name
        if kind == "module":
            assert doc["doc"]["options"] and doc["return"], name


def test_ansible_doc_lists_no_undocumented_filter():
    result = ansible("ansible-doc", "-t", "filter", "-l", "jarvis.maintenance")
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    listed = sorted(line.split()[0].rsplit(".", 1)[-1] for line in result.stdout.splitlines() if line.strip())
    assert listed == FILTERS


def test_every_role_with_tasks_has_argument_specs():
    """ansible-doc documents a role by its meta/argument_specs.yml (the jarvis role only holds variables)."""
    with_tasks = sorted(path.parent.name for path in (REPO / "roles").glob("*/tasks"))
    assert [name for name in with_tasks if name not in ROLES] == []


@pytest.mark.parametrize("by", ["name", "path"])
def test_every_playbook_passes_the_syntax_check(by):
    targets = [f"jarvis.maintenance.{name}" if by == "name" else f"playbooks/{name}.yml" for name in PLAYBOOKS]
    result = ansible("ansible-playbook", "-i", "inventories/local", "--syntax-check", *targets)
    assert result.returncode == 0, result.stdout + result.stderr
    parsed = re.findall(r"^playbook: (.+)$", result.stdout, re.MULTILINE)
    assert [Path(path).stem for path in parsed] == PLAYBOOKS
    assert unknown_warnings(result.stderr) == []


def newest_report(stack: dict, prefix: str, since: float) -> dict:
    reports = Path(stack["reports_dir"])
    found = [path for path in reports.glob(f"{prefix}-*.json") if path.stat().st_mtime >= since]
    assert found, f"no {prefix} report written in {reports} by this run"
    return json.loads(max(found, key=lambda path: path.stat().st_mtime).read_text())


def test_db_health_playbook_runs_for_real(stack):
    started = time.time() - 1
    result = playbook("jarvis.maintenance.db_health")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert unknown_warnings(result.stderr) == []
    summary = newest_report(stack, "run-summary", started)
    assert (summary["data"]["playbook"], summary["data"]["outcome"]) == ("db_health.yml", "ok"), summary["data"]
    assert [report["kind"] for report in summary["data"]["reports"]] == ["postgres-health"]
    health = newest_report(stack, "postgres-health", started)
    assert health["data"]["server_role"] == "primary"
    assert re.match(r"\d+", health["data"]["server_version"])
    assert stack["pg_database"] in health["data"]["databases"]
    # numbers stay numbers (2.16 renders a templated value of a dict to text)
    assert isinstance(health["data"]["seconds"], (int, float))
    checks = {finding["check"] for finding in health["findings"]}
    assert {"connections", "cache_hit", "wraparound", "replication_slots"} <= checks


@pytest.fixture
def seeded(stack):
    """A table of 3,000 rows never analyzed (autovacuum off on it) and Redis keys, removed after."""
    suffix = secrets.token_hex(4)
    table = f"smoke216_{suffix}"
    pg = dict(
        host=stack["pg_host"],
        port=stack["pg_port"],
        user=stack["pg_user"],
        password=stack["pg_password"],
        dbname=stack["pg_database"],
    )
    conn = psycopg2.connect(**pg)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE public.{table} (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)")
        cur.execute(f"INSERT INTO public.{table} SELECT g, md5(g::text) FROM generate_series(1, 3000) g")
    conn.close()  # the backend's exit reports the 3,000 changes to the statistics
    client = redis.Redis(host=stack["redis_host"], port=stack["redis_port"], password=stack["redis_password"])
    doomed = [f"smoke216:{suffix}:expired:{n}" for n in range(5)]
    kept = [f"smoke216:{suffix}:live:{n}" for n in range(10)]
    client.mset(dict.fromkeys(doomed + kept, "x"))
    try:
        yield {"pg": pg, "table": table, "redis": client, "pattern": f"smoke216:{suffix}:expired:*", "doomed": doomed}
    finally:
        client.delete(*doomed, *kept)
        client.close()
        conn = psycopg2.connect(**pg)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS public.{table}")
        conn.close()


def last_analyze(pg: dict, table: str):
    conn = psycopg2.connect(**pg)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", (table,))
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_modules_run_for_real_on_the_stack(stack, seeded, tmp_path):
    results = tmp_path / "results.json"
    result = playbook(
        "tests/smoke/playbooks/modules.yml", f"smoke_redis_pattern={seeded['pattern']}", f"smoke_results={results}"
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert unknown_warnings(result.stderr) == []
    got = json.loads(results.read_text())
    assert got["ansible_version"].startswith("2.16.")
    target = f"public.{seeded['table']}"

    # PostgreSQL: check mode plans the ANALYZE and does nothing; the real run does it
    planned = got["pg_planned"]
    assert planned["changed"] is True and planned["actions_taken"] == []
    assert {"action": "analyze", "target": target} in [
        {"action": item["action"], "target": item["target"]} for item in planned["planned"]
    ]
    assert any(f["check"] == "maintenance_age" and f["subject"].endswith(target) for f in planned["findings"])
    taken = [item for item in got["pg_analyzed"]["actions_taken"] if item["target"] == target]
    assert [(item["action"], item["status"]) for item in taken] == [("analyze", "done")]
    assert last_analyze(seeded["pg"], seeded["table"]) is not None

    # Redis: check mode counts the 5 keys it would delete and deletes none
    delete = got["redis"]["actions"]["delete_keys"]
    assert (delete["matched_keys"], delete["would_delete_keys"], delete["deleted_keys"]) == (5, 5, 0)
    assert got["redis"]["changed"] is True
    assert seeded["redis"].exists(*seeded["doomed"]) == 5

    # HTTP: the stack's /health behind nginx
    http = got["http"]
    assert (http["status"], http["severity"], http["json"]["status"]) == (200, "ok", "healthy")
    assert http["url"] == f"{stack['http_url']}/health"
    assert isinstance(http["elapsed_ms"], (int, float)) and http["elapsed_ms"] >= 0

    # the host: memory, load, the stack's filesystem
    host = got["host"]
    assert [disk["path"] for disk in host["disks"]] == [stack["stack_dir"]]
    assert 0 < host["disks"][0]["percent"] < 100 and host["disks"][0]["total_bytes"] > 0
    assert host["memory"]["total_bytes"] > 0 and 0 < host["memory"]["percent"] < 100
    assert host["load"]["cpu_count"] == os.cpu_count()
    assert {f["check"] for f in host["findings"]} >= {"memory_percent", "load_per_core", "disk_percent"}

    # the health check role: its report, named and dated from the run's start (a datetime on 2.19+)
    report_path = Path(got["health_report"])
    stamp = re.fullmatch(r"health-localhost-(\d{8}T\d{6}Z)\.json", report_path.name)
    assert stamp and report_path.parent == Path(stack["reports_dir"]), report_path
    health = json.loads(report_path.read_text())
    assert health["generated_at"].replace("-", "").replace(":", "") == stamp.group(1)
    assert {"backend", "postgresql", "redis", "host"} <= set(health["data"]["components"])
    availability = [f for f in health["findings"] if f["check"] == "availability"]
    assert availability and all(f["severity"] == "ok" for f in availability), availability
    assert sum(health["summary"].values()) == len(health["findings"])
