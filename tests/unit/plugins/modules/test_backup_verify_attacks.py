# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""backup_verify and backup_set run as root on real files that another user can write to.

The attacker is the real user nobody (runuser), the modules run in-process through their
main() as they would under Ansible; what comes back is the module's JSON."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._set import SCHEMA, set_name
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import now
from ansible_collections.jarvis.maintenance.plugins.modules import backup_set, backup_verify

SHADOW = "/etc/shadow"

# Outside CI a non-root run skips them (no second user to attack with); under CI=true they must run.
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 and os.environ.get("CI") != "true", reason="the attacks need root and the user nobody"
)


def run(module, capsys, **args):
    """Run a module's main() in-process; its JSON result (a traceback fails the test)."""
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def shadow_digest():
    with open(SHADOW, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def public(tmp_path):
    """A directory nobody can reach (pytest's own tmp_path is 0700)."""
    path = tempfile.mkdtemp(prefix="jarvis-verify-attack-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


def world_writable_set(public, files, extra=None):
    """A set directory anyone can write to (mode 1777 is what a careless backup mount looks like)."""
    root = os.path.join(public, "backups")
    os.mkdir(root, 0o755)
    path = os.path.join(root, set_name(now()))
    os.mkdir(path)
    os.chmod(path, 0o777)
    manifest = {"schema": SCHEMA, "name": os.path.basename(path), "size": 1, "files": files, **(extra or {})}
    with open(os.path.join(path, "MANIFEST.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    return root, path


def as_nobody(*argv):
    subprocess.run(["runuser", "-u", "nobody", "--", *argv], check=True)


def verify(capsys, path, **extra):
    return run(backup_verify, capsys, path=path, fail_on_critical=False, **extra)


def findings_of(result, check=None):
    return [f for f in result["findings"] if check is None or f["check"] == check]


# -- 14: manifest paths outside the set ------------------------------------------------


def test_manifest_path_leaving_the_set_is_a_finding_and_no_hash(public, capsys):
    escape = "../" * 12 + "etc/shadow"
    size = os.path.getsize(SHADOW)
    _root, path = world_writable_set(public, [{"path": escape, "size": size, "sha256": "0" * 64}])
    result = verify(capsys, path)
    assert shadow_digest() not in json.dumps(result)
    bad = [f for f in findings_of(result) if f["severity"] == "critical" and escape in f["subject"]]
    assert bad and bad[0]["check"] == "unsafe_path"
    assert bad[0]["value"] is None
    assert result["severity"] == "critical"


def test_entry_swapped_for_a_symlink_by_another_user_is_not_followed(public, capsys):
    size = os.path.getsize(SHADOW)
    _root, path = world_writable_set(public, [{"path": "postgres-app.dump", "size": size, "sha256": "0" * 64}])
    as_nobody("ln", "-s", SHADOW, os.path.join(path, "postgres-app.dump"))
    result = verify(capsys, path)
    assert shadow_digest() not in json.dumps(result)
    bad = [f for f in findings_of(result, "unsafe_path") if f["subject"].endswith("/postgres-app.dump")]
    assert bad and bad[0]["severity"] == "critical"
    assert "symlink" in bad[0]["message"]


def test_directory_component_swapped_for_a_symlink_is_not_followed(public, capsys):
    size = os.path.getsize(SHADOW)
    _root, path = world_writable_set(public, [{"path": "postgres-app.dir/shadow", "size": size, "sha256": "0" * 64}])
    as_nobody("ln", "-s", "/etc", os.path.join(path, "postgres-app.dir"))
    result = verify(capsys, path)
    assert shadow_digest() not in json.dumps(result)
    assert [f for f in findings_of(result, "unsafe_path") if f["subject"].endswith("postgres-app.dir/shadow")]


def test_a_fifo_in_the_set_is_not_a_regular_file(public, capsys):
    _root, path = world_writable_set(public, [{"path": "redis-dump.rdb", "size": 0, "sha256": "0" * 64}])
    as_nobody("mkfifo", os.path.join(path, "redis-dump.rdb"))
    result = verify(capsys, path)  # would block forever reading the fifo
    bad = findings_of(result, "unsafe_path")
    assert bad and "not a regular file" in bad[0]["message"]


def test_a_symlinked_manifest_is_not_read(public, capsys):
    outside = os.path.join(public, "elsewhere")
    os.mkdir(outside)
    with open(os.path.join(outside, "MANIFEST.json"), "w", encoding="utf-8") as handle:
        json.dump({"schema": SCHEMA, "size": 1, "files": []}, handle)
    _root, path = world_writable_set(public, [])
    os.unlink(os.path.join(path, "MANIFEST.json"))
    as_nobody("ln", "-s", os.path.join(outside, "MANIFEST.json"), os.path.join(path, "MANIFEST.json"))
    result = verify(capsys, path)
    manifest = findings_of(result, "manifest")
    assert manifest[0]["severity"] == "critical"
    assert "symlink" in manifest[0]["message"]


def test_unlisted_symlink_is_reported_not_followed(public, capsys):
    good = os.path.join(public, "good.bin")
    with open(good, "wb") as handle:
        handle.write(b"data")
    digest = hashlib.sha256(b"data").hexdigest()
    _root, path = world_writable_set(public, [{"path": "good.bin", "size": 4, "sha256": digest}])
    shutil.copy(good, os.path.join(path, "good.bin"))
    as_nobody("ln", "-s", SHADOW, os.path.join(path, "extra.dump"))
    result = verify(capsys, path)
    unlisted = findings_of(result, "unlisted_file")
    assert [f["subject"].rsplit("/", 1)[1] for f in unlisted] == ["extra.dump"]
    assert "symlink" in unlisted[0]["message"]
    assert shadow_digest() not in json.dumps(result)


def test_a_sound_set_still_verifies_and_decodes_through_its_fds(public, capsys):
    """The guard must not cost the real work: zstd, gzip and tar get the files this module opened."""
    data = b"CREATE ROLE app;\n" * 2000
    members = {
        "postgres-globals.sql.zst": subprocess.run(
            ["zstd", "-q", "-c"], input=data, capture_output=True, check=True
        ).stdout,
        "postgres-app.dir/3071.dat.gz": gzip.compress(data),
        "files.tar.gz": subprocess.run(
            ["tar", "-czf", "-", "-C", "/etc", "hostname"], capture_output=True, check=True
        ).stdout,
    }
    formats = {
        "postgres-globals.sql.zst": "sql+zstd",
        "postgres-app.dir/3071.dat.gz": "sql+gzip",
        "files.tar.gz": "tar+gzip",
    }
    entries = [
        {"path": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest(), "format": formats[name]}
        for name, body in members.items()
    ]
    _root, path = world_writable_set(public, entries)
    os.mkdir(os.path.join(path, "postgres-app.dir"))
    for name, body in members.items():
        with open(os.path.join(path, name), "wb") as handle:
            handle.write(body)
    result = verify(capsys, path)
    assert result["severity"] == "ok", [f for f in result["findings"] if f["severity"] != "ok"]
    assert [f["value"] for f in findings_of(result, "decode")] == [3]


def test_a_damaged_file_still_fails_decoding(public, capsys):
    body = subprocess.run(["zstd", "-q", "-c"], input=b"x" * 100000, capture_output=True, check=True).stdout[:-4]
    entry = {"path": "a.sql.zst", "size": len(body), "sha256": hashlib.sha256(body).hexdigest(), "format": "sql+zstd"}
    _root, path = world_writable_set(public, [entry])
    with open(os.path.join(path, "a.sql.zst"), "wb") as handle:
        handle.write(body)
    result = verify(capsys, path)
    bad = [f for f in findings_of(result, "decode") if f["severity"] == "critical"]
    assert bad and bad[0]["subject"].endswith("/a.sql.zst")
    assert "/proc/" not in bad[0]["message"]


# -- 13: bad input is a message or a finding, never a traceback ---------------------------


def test_backup_set_root_that_is_a_file_is_refused_naming_root(tmp_path, capsys):
    root = tmp_path / "backups"
    root.write_text("not a directory")
    for state in ("started", "pruned"):
        result = run(backup_set, capsys, root=str(root), state=state)
        assert result["failed"]
        assert "root" in result["msg"] and "not a directory" in result["msg"]
        assert "Traceback" not in json.dumps(result)
    assert root.read_text() == "not a directory"


@pytest.mark.parametrize(
    "entries, why",
    [
        (["postgres-app.dump"], "entry 1 is not a dict"),
        ([{"size": 3}], "entry 1 has no path"),
        ([{"path": 7}], "entry 1 has no path"),
        ([{"path": "a.dump", "size": "big"}], "entry 1 (a.dump) has no size"),
    ],
)
def test_manifest_entry_of_the_wrong_shape_is_a_finding(public, capsys, entries, why):
    _root, path = world_writable_set(public, entries)
    result = verify(capsys, path)
    bad = findings_of(result, "manifest")
    assert bad[0]["severity"] == "critical"
    assert why in bad[0]["message"]


@pytest.mark.parametrize(
    "extra",
    [{"size": "big"}, {"postgres": []}, {"postgres": {"databases": ["app"]}}, {"postgres": {"databases": {"a": 1}}}],
)
def test_manifest_sections_of_the_wrong_shape_are_findings(public, capsys, extra):
    _root, path = world_writable_set(public, [], extra)
    result = verify(capsys, path, restore_test=True, login_port=1)
    assert result["severity"] == "critical"
    assert findings_of(result, "manifest")[0]["severity"] == "critical"


def test_sets_all_checks_each_set_on_its_own(public, capsys):
    root, bad = world_writable_set(public, ["postgres-app.dump"])
    good = os.path.join(root, "jarvis-20261101T020000Z")
    os.mkdir(good)
    with open(os.path.join(good, "a.bin"), "wb") as handle:
        handle.write(b"abc")
    entry = {"path": "a.bin", "size": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}
    with open(os.path.join(good, "MANIFEST.json"), "w", encoding="utf-8") as handle:
        json.dump({"schema": SCHEMA, "size": 3, "files": [entry]}, handle)
    result = verify(capsys, root, sets="all")
    by_name = {item["name"]: item for item in result["sets"]}
    assert by_name[os.path.basename(bad)]["severity"] == "critical"
    assert by_name["jarvis-20261101T020000Z"]["severity"] == "ok"
    assert by_name["jarvis-20261101T020000Z"]["checks_passed"] >= 2


def test_a_critical_finding_in_check_mode_with_a_restore_test_fails_with_one_message(public, capsys):
    _root, path = world_writable_set(public, [{"path": "gone.dump", "size": 1, "sha256": "0" * 64}])
    result = run(backup_verify, capsys, path=path, restore_test=True, _ansible_check_mode=True)
    assert result["failed"]
    assert "1 critical problem(s)" in result["msg"] and "gone.dump" in result["msg"]
    assert "restore test skipped in check mode" in result["msg"]
    assert result["restore_test"] == "skipped in check mode"
