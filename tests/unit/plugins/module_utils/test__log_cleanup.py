# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
import yaml

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._units import parse_size
from ansible_collections.jarvis.maintenance.plugins.module_utils._logs._cleanup import (
    ARGUMENT_SPEC,
    PROTECTED_PATHS,
    LogCleanup,
    check_params,
    cleanup_finding,
    inside,
    literal_part,
    protected_by,
)

COLLECTION = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize(
    ("text", "size"),
    [("2048", 2048), ("1k", 1024), ("100M", 100 * 1024**2), ("1.5G", int(1.5 * 1024**3)), ("2 MiB", 2 * 1024**2)],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "", "-1M", "10X"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/opt/app/logs", True),
        ("/opt/app/logs/a.log", True),
        ("/opt/app/logs/sub/b.log", True),
        ("/opt/app/logs2/a.log", False),  # a sibling that shares the prefix is outside
        ("/opt/app", False),
        ("/tmp/x", True),
    ],
)
def test_inside(path, expected):
    assert inside(path, ["/opt/app/logs", "/tmp"]) is expected


def params(**overrides):
    values = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}
    values.update(roots=["/opt/app/logs"])
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"temp_patterns": ["/tmp/*jarvis*"]}, None),
        ({"roots": []}, "roots must name at least one directory"),
        ({"roots": ["/"]}, "roots entry '/' is the whole filesystem"),
        ({"roots": ["/opt/app/logs/../../.."]}, "is the whole filesystem"),
        ({"roots": ["logs"]}, "roots entry 'logs' must be an absolute path"),
        ({"compress_min_size": "big"}, "compress_min_size: 'big' is not a size"),
        ({"max_age_days": -1}, "max_age_days must be 0 or more"),
        ({"temp_max_age_hours": -2}, "temp_max_age_hours must be 0 or more"),
        ({"delete_patterns": ["old/*.gz"]}, "delete_patterns entry 'old/*.gz' must be a file name pattern"),
        ({"compress_patterns": [".."]}, "compress_patterns entry '..' must be a file name pattern"),
        ({"temp_patterns": ["jarvis-*"]}, "temp_patterns entry 'jarvis-*' must be an absolute path pattern"),
        ({"temp_patterns": ["/tmp/*/x"]}, "only the file name may hold"),
        # system and data trees: the tree itself, inside it, or holding it
        ({"roots": ["/usr/share/doc"]}, "roots entry /usr/share/doc is inside the protected /usr (protected_paths)"),
        ({"roots": ["/var/lib/postgresql"]}, "is inside the protected /var/lib"),
        ({"roots": ["/var/lib/redis"]}, "is inside the protected /var/lib"),
        ({"roots": ["/etc"]}, "is inside the protected /etc"),
        ({"roots": ["/lib64"]}, "is inside the protected /lib*"),
        ({"roots": ["/var"]}, "roots entry /var holds the protected /var/"),
        ({"roots": ["/home"]}, "holds the protected /home/*/.*"),
        ({"roots": ["/home/alice"]}, "holds the protected /home/*/.*"),
        ({"roots": ["/home/alice/.ssh"]}, "is inside the protected /home/*/.*"),
        ({"roots": ["/root"]}, "holds the protected /root/.*"),
        ({"roots": ["/root/.config/app"]}, "is inside the protected /root/.*"),
        ({"roots": ["/run/lock"]}, "is inside the protected /run"),
        ({"roots": ["/boot/"]}, "is inside the protected /boot"),
        ({"roots": ["/srv/pg"], "protected_paths_extra": ["/srv/pg"]}, "is inside the protected /srv/pg"),
        ({"protected_paths_extra": ["srv"]}, "protected_paths_extra entry 'srv' must be an absolute"),
        ({"protected_paths": ["/"]}, "protected_paths entry '/' must be an absolute directory pattern"),
        # log directories stay accepted, also a project inside a home (the local stack)
        ({"roots": ["/var/log", "/var/log/nginx", "/tmp", "/opt/sutazaiapp/logs"]}, None),
        ({"roots": ["/home/user/jarvis/.stack/logs", "/root/jarvis/.stack/logs"]}, None),
        ({"roots": ["/var/lib/docker/containers"], "protected_paths": ["/etc"]}, None),
        # patterns that match everything
        ({"delete_patterns": ["*"]}, "delete_patterns entry '*' matches every file; give it a literal part"),
        ({"delete_patterns": ["*.gz", "*.*"]}, "delete_patterns entry '*.*' matches every file"),
        ({"delete_patterns": ["?*"]}, "delete_patterns entry '?*' matches every file"),
        ({"delete_patterns": ["**"]}, "delete_patterns entry '**' matches every file"),
        ({"delete_patterns": ["*?"]}, "matches every file"),
        ({"delete_patterns": ["*[a-z]*"]}, "matches every file"),
        ({"delete_patterns": [".*"]}, "matches every file"),
        ({"compress_patterns": ["*"]}, "compress_patterns entry '*' matches every file"),
        ({"temp_patterns": ["/tmp/*"]}, "temp_patterns entry '/tmp/*' matches every file"),
        ({"delete_patterns": ["*.log.[0-9]*", "app-?.gz", "*.old"]}, None),
    ],
)
def test_check_params(overrides, problem):
    found = check_params(params(**overrides))
    assert (found is None) if problem is None else problem in found, found


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [("*.log", "log"), ("*.*", ""), ("?*", ""), ("*[a-z]*", ""), ("app-[0-9].log", "app-log"), ("[!.]*", "")],
)
def test_literal_part(pattern, literal):
    assert literal_part(pattern) == literal


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/var/lib/postgresql/15/main", ("/var/lib", False)),
        ("/var", ("/var/backups", True)),
        ("/", ("/bin", True)),
        ("/lib32", ("/lib*", False)),
        ("/home/bob/.ssh", ("/home/*/.*", False)),
        ("/home/bob/src/app/logs", None),
        ("/var/log", None),
        ("/library", ("/lib*", False)),  # /lib* is a pattern: a name that starts so is protected too
    ],
)
def test_protected_by(path, found):
    assert protected_by(path, PROTECTED_PATHS) == found


def test_the_role_default_roots_stay_accepted():
    role = yaml.safe_load((COLLECTION / "roles/log_cleanup/defaults/main.yml").read_text())
    local = yaml.safe_load((COLLECTION / "inventories/local/group_vars/jarvis/main.yml").read_text())
    assert "jarvis_local_stack.logs_dir" in local["jarvis_log_dirs"][0]
    for roots in (["/opt/sutazaiapp/logs"], [str(COLLECTION / ".stack/logs")], ["/home/user/jarvis/.stack/logs"]):
        values = params(roots=roots)
        values.update(
            compress_patterns=role["log_cleanup_compress_patterns"],
            delete_patterns=role["log_cleanup_delete_patterns"],
            temp_patterns=role["log_cleanup_temp_patterns"],
            protected_paths_extra=role["log_cleanup_protected_paths_extra"],
        )
        assert check_params(values) is None, roots


# --- Attacks on real files: an entry swapped for a symlink between planning and acting. ---------
# The backend runs in-process with the module's own code path (LogCleanup.run); only the module
# object is a stand-in (params, check_mode, warn, fail_json).


class FakeModule:
    def __init__(self, check_mode=False, **overrides):
        self.params = params(**overrides)
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def age(path, days):
    then = time.time() - days * 86400
    os.utime(path, (then, then), follow_symlinks=False)


def snapshot(path):
    return path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def scene(tmp_path):
    root = tmp_path / "logs"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = write(outside / "secret.txt", b"root's file outside the log roots\n" * 100)
    (outside / "old.log.gz").write_bytes(b"outside archive\n" * 50)
    age(outside / "old.log.gz", 30)
    return root, outside, secret


def test_swapping_a_log_for_a_symlink_while_an_earlier_log_is_compressed(scene):
    root, _outside, secret = scene
    # a big first log so that compressing it takes a moment; random data compresses slowly
    write(root / "a-big.log", os.urandom(24 * 1024 * 1024))
    write(root / "z-app.log", b"app line\n" * 300)
    before = snapshot(secret)
    swapped, done = threading.Event(), threading.Event()

    def attacker():
        # waits for the archive of a-big.log being written (a hidden temporary entry), then swaps
        while not done.is_set():
            if any(name.startswith(".") for name in os.listdir(root)):
                (root / "z-app.log").unlink()
                (root / "z-app.log").symlink_to(secret)
                swapped.set()
                return
            time.sleep(0.001)

    thread = threading.Thread(target=attacker)
    thread.start()
    module = FakeModule(roots=[str(root)], compress_min_size="1k")
    try:
        result = LogCleanup(module.params, module.check_mode, module).run()
    finally:
        done.set()
        thread.join()
    assert swapped.is_set(), "the attacker never saw the archive being written"
    assert snapshot(secret) == before
    assert (root / "z-app.log").is_symlink()
    assert [item["path"] for item in result["compressed"]] == [str(root / "a-big.log")]
    assert [item["path"] for item in result["skipped_entries"]] == [str(root / "z-app.log")]
    assert module.warnings and str(root / "z-app.log") in module.warnings[0]


class SwapAfterPlan(LogCleanup):
    """Plan, then let the attacker act, then act: the module's run() with a hook after plan()."""

    swap = staticmethod(lambda: None)

    def plan(self):
        planned = super().plan()
        self.swap()
        return planned


def test_a_subdirectory_replaced_by_a_symlink_between_plan_and_act(scene):
    root, outside, secret = scene
    write(root / "sub" / "old.log.gz", b"old archive\n" * 50)
    age(root / "sub" / "old.log.gz", 30)
    write(root / "sub" / "secret.txt", b"x" * 2048)  # compress pattern below, big enough
    write(root / "keep" / "old2.log.gz", b"old\n" * 10)
    age(root / "keep" / "old2.log.gz", 30)
    outside_archive = snapshot(outside / "old.log.gz")
    outside_secret = snapshot(secret)

    def swap():
        (root / "sub").rename(root / "sub.moved")
        (root / "sub").symlink_to(outside, target_is_directory=True)

    module = FakeModule(roots=[str(root)], compress_patterns=["*.txt"], compress_min_size="1k")
    cleanup = SwapAfterPlan(module.params, module.check_mode, module)
    cleanup.swap = swap
    result = cleanup.run()
    assert snapshot(outside / "old.log.gz") == outside_archive
    assert snapshot(secret) == outside_secret
    assert sorted(os.listdir(outside)) == ["old.log.gz", "secret.txt"]
    assert [item["path"] for item in result["deleted"]] == [str(root / "keep" / "old2.log.gz")]
    assert sorted(item["path"] for item in result["skipped_entries"]) == [
        str(root / "sub" / "old.log.gz"),
        str(root / "sub" / "secret.txt"),
    ]


def test_a_file_replaced_by_another_file_between_plan_and_act_is_skipped(scene):
    root, _outside, _secret = scene
    write(root / "old.log.gz", b"planned\n" * 20)
    age(root / "old.log.gz", 30)
    write(root / "big.log", b"line\n" * 1000)

    def swap():
        (root / "old.log.gz").rename(root / "old.moved")  # keeps its inode from being reused
        write(root / "old.log.gz", b"a different file under the planned name\n")
        age(root / "old.log.gz", 30)
        os.link(root / "big.log", root / "big.keep")
        (root / "big.log").unlink()
        write(root / "big.log", b"new\n" * 2000)

    module = FakeModule(roots=[str(root)], compress_min_size="1k")
    cleanup = SwapAfterPlan(module.params, module.check_mode, module)
    cleanup.swap = swap
    result = cleanup.run()
    assert (root / "old.log.gz").read_bytes() == b"a different file under the planned name\n"
    assert (root / "big.log").read_bytes() == b"new\n" * 2000
    assert result["deleted"] == [] and result["compressed"] == []
    assert {item["path"]: item["reason"] for item in result["skipped_entries"]} == {
        str(root / "old.log.gz"): "it was replaced since it was planned",
        str(root / "big.log"): "it was replaced since it was planned",
    }


def test_a_planted_symlink_is_skipped_and_the_rest_is_cleaned(scene):
    root, outside, secret = scene
    write(root / "big.log", b"line\n" * 1000)
    write(root / "old.log.gz", b"old\n" * 100)
    age(root / "old.log.gz", 30)
    (root / "escape.log").symlink_to(secret)
    (root / "escape.log.gz").symlink_to(outside / "old.log.gz")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    before = snapshot(secret)
    module = FakeModule(roots=[str(root)], compress_min_size="1k")
    result = LogCleanup(module.params, module.check_mode, module).run()
    assert snapshot(secret) == before and (outside / "old.log.gz").exists()
    assert [item["path"] for item in result["compressed"]] == [str(root / "big.log")]
    assert [item["path"] for item in result["deleted"]] == [str(root / "old.log.gz")]
    assert {item["path"] for item in result["skipped_entries"]} == {
        str(root / "escape.log"),
        str(root / "escape.log.gz"),
        str(root / "linked"),
    }
    assert all("symlink" in item["reason"] for item in result["skipped_entries"])


def test_a_root_that_is_a_symlink_is_refused_and_nothing_changes(scene):
    root, outside, _secret = scene
    root.mkdir()
    (root / "data").symlink_to(outside, target_is_directory=True)
    before = sorted(os.listdir(outside))
    module = FakeModule(roots=[str(root / "data")], delete_patterns=["*.gz"], max_age_days=0)
    refused = r"roots entry .*/data is a symlink \(to .*/outside\); roots are never followed"
    with pytest.raises(ModuleError, match=refused):
        LogCleanup(module.params, module.check_mode, module).run()
    assert sorted(os.listdir(outside)) == before


@pytest.mark.parametrize("marker", ["PG_VERSION", "dump.rdb", "appendonlydir"])
def test_data_directories_in_or_under_a_root_are_skipped_with_everything_below(tmp_path, marker):
    root = tmp_path / "logs"
    write(root / "app.log.gz", b"old\n")
    age(root / "app.log.gz", 30)
    write(root / "db" / marker, b"15\n") if marker != "appendonlydir" else write(root / "db" / marker / "a.aof", b"")
    write(root / "db" / "base" / "1" / "1259.gz", b"live data\n")
    age(root / "db" / "base" / "1" / "1259.gz", 30)
    module = FakeModule(roots=[str(root)], max_age_days=0)
    result = LogCleanup(module.params, module.check_mode, module).run()
    assert [item["path"] for item in result["deleted"]] == [str(root / "app.log.gz")]
    assert (root / "db" / "base" / "1" / "1259.gz").exists()
    assert result["skipped_entries"][0]["path"] == str(root / "db") and marker in result["skipped_entries"][0]["reason"]
    # the marker in the root itself: the whole root is skipped, nothing changes
    write(root / "db" / "new.gz", b"x")
    age(root / "db" / "new.gz", 30)
    module = FakeModule(roots=[str(root / "db")], max_age_days=0)
    result = LogCleanup(module.params, module.check_mode, module).run()
    assert result["changed"] is False and result["planned"] == []
    assert result["skipped_entries"] == [{"path": str(root / "db"), "reason": result["skipped_entries"][0]["reason"]}]


def test_a_hard_link_is_never_truncated(scene):
    root, _outside, secret = scene
    root.mkdir()
    os.link(secret, root / "app.log")  # root could be tricked into truncating the linked file
    before = snapshot(secret)
    module = FakeModule(roots=[str(root)], compress_min_size="1k")
    result = LogCleanup(module.params, module.check_mode, module).run()
    assert snapshot(secret) == before and result["compressed"] == []
    assert "2 hard links" in result["skipped_entries"][0]["reason"]


def test_temp_patterns_through_a_symlinked_directory_are_skipped(scene):
    root, outside, _secret = scene
    write(root / "tmp" / "jarvis-1.tmp", b"t")
    age(root / "tmp" / "jarvis-1.tmp", 30)
    (root / "tmp2").symlink_to(outside, target_is_directory=True)
    (outside / "jarvis-2.tmp").write_bytes(b"outside")
    age(outside / "jarvis-2.tmp", 30)
    module = FakeModule(roots=[str(root)], temp_patterns=[f"{root}/tmp/jarvis-*", f"{outside}/jarvis-*"])
    refused = r"temp_patterns entry .*/outside/jarvis-\*: its directory .* is outside roots"
    with pytest.raises(ModuleError, match=refused):
        LogCleanup(module.params, module.check_mode, module).run()
    module = FakeModule(roots=[str(root)], temp_patterns=[f"{root}/tmp/jarvis-*"])
    result = LogCleanup(module.params, module.check_mode, module).run()
    assert [item["path"] for item in result["deleted"]] == [str(root / "tmp" / "jarvis-1.tmp")]
    assert (outside / "jarvis-2.tmp").exists()


def test_check_mode_plans_and_changes_nothing(scene):
    root, _outside, _secret = scene
    write(root / "big.log", b"line\n" * 1000)
    write(root / "old.log.gz", b"old\n")
    age(root / "old.log.gz", 30)
    (root / "escape.log").symlink_to("/etc/hostname")
    before = {name: snapshot(root / name) for name in ("big.log", "old.log.gz")}
    module = FakeModule(check_mode=True, roots=[str(root)], compress_min_size="1k")
    result = LogCleanup(module.params, module.check_mode, module).run()
    assert result["changed"] is True
    assert [(item["action"], item["path"]) for item in result["planned"]] == [
        ("compress", str(root / "big.log")),
        ("delete", str(root / "old.log.gz")),
    ]
    assert [item["path"] for item in result["skipped_entries"]] == [str(root / "escape.log")]
    assert {name: snapshot(root / name) for name in ("big.log", "old.log.gz")} == before
    assert sorted(os.listdir(root)) == ["big.log", "escape.log", "old.log.gz"]


# --- The log_cleanup finding the role writes to its report (built here, not in the role's Jinja). -----


def test_the_finding_of_a_real_run_with_a_planted_symlink_is_a_warning_naming_it(scene):
    root, _outside, secret = scene
    write(root / "big.log", b"line\n" * 1000)
    write(root / "old.log.gz", b"old\n" * 100)
    age(root / "old.log.gz", 30)
    (root / "escape.log").symlink_to(secret)
    module = FakeModule(roots=[str(root)], compress_min_size="1k")
    result = LogCleanup(module.params, module.check_mode, module).run()
    reason = result["skipped_entries"][0]["reason"]
    assert result["findings"] == [
        {
            "check": "log_cleanup",
            "severity": "warning",
            "subject": str(root),
            "value": result["bytes_reclaimed"],
            "threshold": None,
            "message": (
                f"compressed 1 and deleted 1 file(s), {result['bytes_reclaimed']} bytes reclaimed; skipped 1 entry "
                f"not acted on (symlinks, entries changed while it ran, data directories): {root / 'escape.log'}"
            ),
            "recommendation": (
                f"Find out who put these entries in the log directories (never followed, never cleaned): {reason}"
            ),
        }
    ]
    assert result["bytes_reclaimed"] > 0


def test_the_finding_in_check_mode_counts_what_would_be_done(scene):
    root, _outside, _secret = scene
    write(root / "big.log", b"line\n" * 1000)
    write(root / "old.log.gz", b"old\n")
    age(root / "old.log.gz", 30)
    module = FakeModule(check_mode=True, roots=[str(root)], compress_min_size="1k")
    finding = LogCleanup(module.params, module.check_mode, module).run()["findings"][0]
    assert finding["severity"] == "ok" and finding["recommendation"] == ""
    assert finding["message"] == "would compress 1 and delete 1 file(s) (check mode)"
    assert finding["value"] == 0


def test_a_real_run_whose_planned_entries_were_all_skipped_is_not_called_check_mode():
    planned = [{"action": "compress", "path": "/logs/app.log", "size": 2048, "age_days": 0.1, "reason": "big"}]
    skipped = [{"path": "/logs/app.log", "reason": "it was replaced by a symlink since it was planned"}]
    finding = cleanup_finding(["/logs"], False, planned, [], [], skipped, 0)
    assert finding.message.startswith("compressed 0 and deleted 0 file(s), 0 bytes reclaimed; skipped 1 entry")
    assert "check mode" not in finding.message
    nothing = cleanup_finding(["/logs"], True, [], [], [], [], 0)
    assert nothing.message == "would compress 0 and delete 0 file(s) (check mode)"


def test_the_finding_of_a_clean_run_with_nothing_to_do_is_ok():
    finding = cleanup_finding(["/var/log/jarvis", "/tmp"], False, [], [], [], [], 0).as_dict()
    assert finding["severity"] == "ok" and finding["subject"] == "/var/log/jarvis, /tmp"
    assert finding["message"] == "compressed 0 and deleted 0 file(s), 0 bytes reclaimed"


def test_the_finding_lists_every_skipped_entry_and_each_reason_once():
    skipped = [
        {"path": "/logs/a.log", "reason": "a symlink (to /etc/shadow), never followed"},
        {"path": "/logs/b.log", "reason": "a symlink (to /etc/shadow), never followed"},
        {"path": "/logs/db", "reason": "it holds PostgreSQL data (PG_VERSION)"},
    ]
    finding = cleanup_finding(["/logs"], False, [], [], [], skipped, 0)
    assert finding.severity == "warning"
    assert finding.message.endswith(
        "skipped 3 entries not acted on (symlinks, entries changed while it ran, data "
        "directories): /logs/a.log, /logs/b.log, /logs/db"
    )
    assert finding.recommendation.endswith(
        "never cleaned): a symlink (to /etc/shadow), never followed; it holds PostgreSQL data (PG_VERSION)"
    )


def test_a_secret_in_a_skipped_path_is_redacted_in_the_finding():
    skipped = [{"path": "/logs/password=hunter2.log", "reason": "a symlink, never followed"}]
    finding = cleanup_finding(["/logs"], False, [], [], [], skipped, 0)
    assert "hunter2" not in finding.message


def test_the_documentation_matches_the_argument_spec():
    source = (COLLECTION / "plugins/modules/log_cleanup.py").read_text()
    documented = yaml.safe_load(source.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])["options"]
    returned = yaml.safe_load(source.split('RETURN = r"""', 1)[1].split('"""', 1)[0])
    spec = ARGUMENT_SPEC
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        assert documented[name].get("default") == option.get("default"), name
        assert documented[name]["type"] == option["type"], name
    assert "skipped_entries" in returned and "skipped" not in returned
    assert returned["findings"]["returned"] == "always"
