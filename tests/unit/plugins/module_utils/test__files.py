# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._files import (
    CHUNK,
    file_entry,
    fsync_path,
    sha256_file,
    tree_files,
    write_atomic,
)


@pytest.mark.parametrize(
    ("content", "mode", "data"),
    [
        ("{}\n", 0o600, b"{}\n"),
        ("café\n", 0o644, "café\n".encode()),
        (b"\x00\xff", 0o640, b"\x00\xff"),
        ("", 0o600, b""),
    ],
)
def test_write_atomic_sets_the_mode_and_leaves_no_temporary_file(tmp_path, content, mode, data):
    target = tmp_path / "MANIFEST.json"
    write_atomic(str(target), content, mode)
    assert target.read_bytes() == data
    assert target.stat().st_mode & 0o777 == mode
    assert os.listdir(tmp_path) == ["MANIFEST.json"]


def test_write_atomic_replaces_an_existing_file(tmp_path):
    target = tmp_path / "f"
    target.write_text("old and longer")
    os.chmod(target, 0o666)
    write_atomic(str(target), "new", 0o600)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["f"]


def test_write_atomic_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_atomic("here.txt", "x", 0o600)
    assert (tmp_path / "here.txt").read_text() == "x"
    assert os.listdir(tmp_path) == ["here.txt"]


def test_write_atomic_failure_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # a directory cannot be replaced by a file
    with pytest.raises(OSError):
        write_atomic(str(target), "x", 0o600)
    assert os.listdir(tmp_path) == ["taken"]
    assert os.listdir(target) == []


def test_write_atomic_streams_through_a_writer(tmp_path):
    target = tmp_path / "big.bin"
    write_atomic(str(target), lambda handle: [handle.write(b"x" * 1000) for chunk in range(3)], 0o600)
    assert target.read_bytes() == b"x" * 3000
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_write_atomic_writer_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")

    def broken(handle):
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(str(target), broken, 0o644)
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["r.json"]


def test_fsync_path_takes_files_and_directories(tmp_path):
    (tmp_path / "f").write_text("x")
    fsync_path(str(tmp_path / "f"))
    fsync_path(str(tmp_path))


@pytest.mark.parametrize(
    "data",
    [b"", b"abc", os.urandom(CHUNK - 1), os.urandom(CHUNK), os.urandom(2 * CHUNK + 123)],
    ids=["empty", "small", "chunk-1", "chunk", "two-chunks-and-more"],
)
def test_sha256_file_matches_hashlib(tmp_path, data):
    path = tmp_path / "data"
    path.write_bytes(data)
    assert sha256_file(str(path)) == hashlib.sha256(data).hexdigest()


def test_sha256_of_known_content(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert sha256_file(str(path)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def make_tree(root):
    (root / "b" / "deep" / "er").mkdir(parents=True)
    (root / "a").mkdir()
    (root / "empty").mkdir()
    (root / "z.txt").write_bytes(b"z")
    (root / "a.txt").write_bytes(b"aa")
    (root / "a" / "z").write_bytes(b"zzz")
    (root / "b" / "deep" / "er" / "file.gz").write_bytes(b"1234")
    (root / ".hidden").write_bytes(b"h")
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not part of the set")
    os.symlink(outside / "secret", root / "link-to-file")
    os.symlink(outside, root / "link-to-dir")
    os.symlink(root / "missing", root / "dangling")


def test_tree_files_relative_sorted_without_symlinks(tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    make_tree(root)
    assert tree_files(str(root)) == [".hidden", "a.txt", "a/z", "b/deep/er/file.gz", "z.txt"]


def test_tree_of_nothing(tmp_path):
    assert tree_files(str(tmp_path)) == []
    assert tree_files(str(tmp_path / "missing")) == []


def test_file_entry(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.dump").write_bytes(b"hello")
    assert file_entry(str(tmp_path), "sub/f.dump") == {
        "path": "sub/f.dump",
        "size": 5,
        "sha256": hashlib.sha256(b"hello").hexdigest(),
    }
