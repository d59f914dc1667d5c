# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common import _safe_fs as fs


@pytest.mark.parametrize(
    "relative, expected",
    [("a", ["a"]), ("a/b", ["a", "b"]), ("./a//b/", ["a", "b"])],
)
def test_parts(relative, expected):
    assert fs.parts(relative) == expected


@pytest.mark.parametrize("relative", ["", "/etc/shadow", "../x", "a/../../x", ".", "a/.."])
def test_parts_refuses_escapes(relative):
    with pytest.raises(fs.UnsafePath):
        fs.parts(relative)


@pytest.mark.parametrize(
    "uid, mode, owner, why",
    [
        (0, 0o700, None, None),
        (0, 0o755, None, None),
        (1000, 0o700, 1000, None),
        (1000, 0o700, None, "owned by uid 1000"),
        (0, 0o775, None, "writable by its group"),
        (0, 0o1777, None, "writable by its group and every user"),
    ],
)
def test_writable_by_others(uid, mode, owner, why):
    st = os.stat_result((0o040000 | mode, 1, 1, 1, uid, 0, 0, 0, 0, 0))
    got = fs.writable_by_others(st, owner)
    assert (got is None) if why is None else (why in got)


def tree(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.log").write_text("a")
    (root / "sub" / "b.log").write_text("b")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    return root, outside


def test_walk_does_not_follow_links(tmp_path):
    root, outside = tree(tmp_path)
    (root / "linkdir").symlink_to(outside)
    (root / "link.log").symlink_to(outside / "secret")
    fd = fs.open_dir(str(root))
    try:
        found = {entry.relative: entry.stat for entry in fs.walk(fd)}
        flat = [entry.relative for entry in fs.walk(fd, recurse=False)]
    finally:
        os.close(fd)
    assert sorted(found) == ["a.log", "link.log", "linkdir", "sub/b.log"]
    assert os.path.islink(root / "linkdir") and not any(name.startswith("linkdir/") for name in found)
    assert flat == ["a.log", "link.log", "linkdir"]


def test_open_beneath_refuses_a_symlinked_directory_or_file(tmp_path):
    root, outside = tree(tmp_path)
    fd = fs.open_dir(str(root))
    try:
        os.close(fs.open_beneath(fd, "sub/b.log"))
        (root / "sub" / "b.log").unlink()
        (root / "sub").rmdir()
        (root / "sub").symlink_to(outside)  # swapped after planning
        with pytest.raises(fs.UnsafePath):
            fs.open_beneath(fd, "sub/secret")
        (root / "a.log").unlink()
        (root / "a.log").symlink_to(outside / "secret")
        with pytest.raises(fs.UnsafePath):
            fs.open_beneath(fd, "a.log", os.O_RDWR)
        with pytest.raises(fs.UnsafePath):
            fs.open_beneath(fd, "../outside/secret")
    finally:
        os.close(fd)
    assert (outside / "secret").read_text() == "s"


def test_check_same_sees_a_replaced_file(tmp_path):
    root, _outside = tree(tmp_path)
    planned = os.lstat(root / "a.log")
    os.link(root / "a.log", root / "kept")  # keeps the inode from being reused
    (root / "a.log").unlink()
    (root / "a.log").write_text("new")
    fd = os.open(root / "a.log", os.O_RDONLY)
    try:
        with pytest.raises(fs.UnsafePath):
            fs.check_same(fd, planned)
    finally:
        os.close(fd)


def test_write_at_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path):
    root, outside = tree(tmp_path)
    (root / "report.json").symlink_to(outside / "secret")
    fd = fs.open_dir(str(root))
    try:
        fs.write_at(fd, "report.json", b"{}", 0o640)
    finally:
        os.close(fd)
    assert (outside / "secret").read_text() == "s"
    assert not os.path.islink(root / "report.json")
    assert (root / "report.json").read_text() == "{}"
    assert oct(os.stat(root / "report.json").st_mode & 0o777) == oct(0o640)
    assert sorted(os.listdir(root)) == ["a.log", "report.json", "sub"]


def test_open_dir_of_a_path_through_a_link_opens_its_target(tmp_path):
    root, _outside = tree(tmp_path)
    (tmp_path / "via").symlink_to(root)
    fd = fs.open_dir(str(tmp_path / "via"))
    try:
        assert fs.identity(os.fstat(fd)) == fs.identity(os.stat(root))
    finally:
        os.close(fd)
    assert fs.is_symlink(str(tmp_path / "via")) and not fs.is_symlink(str(root))


def test_create_at_streams_into_a_new_entry_and_cleans_up_after_a_failed_fill(tmp_path):
    root, outside = tree(tmp_path)
    (root / f".a.gz.partial-{os.getpid()}").symlink_to(outside / "secret")  # planted at the temp name
    fd = fs.open_dir(str(root))
    try:
        with pytest.raises(FileExistsError):  # O_EXCL: never written through the planted link
            fs.create_at(fd, "a.gz", lambda out: os.write(out, b"x"), 0o640)
        (root / f".a.gz.partial-{os.getpid()}").unlink()
        fs.create_at(fd, "a.gz", lambda out: [os.write(out, b"chunk") for _chunk in range(3)], 0o640)

        def broken(out):
            os.write(out, b"half")
            raise OSError(28, "No space left on device")

        with pytest.raises(OSError, match="No space"):
            fs.create_at(fd, "a.gz", broken, 0o640)
    finally:
        os.close(fd)
    assert (root / "a.gz").read_bytes() == b"chunk" * 3
    assert oct(os.stat(root / "a.gz").st_mode & 0o777) == oct(0o640)
    assert (outside / "secret").read_text() == "s"
    assert sorted(os.listdir(root)) == ["a.gz", "a.log", "sub"]


def test_remove_tree_removes_links_never_their_targets(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    tree = tmp_path / "dest" / "postgres-a.dir.partial"
    (tree / "sub").mkdir(parents=True)
    (tree / "toc.dat").write_text("toc")
    (tree / "sub" / "1.dat.gz").write_text("data")
    (tree / "link-to-dir").symlink_to(outside)
    (tree / "sub" / "link-to-file").symlink_to(outside / "keep")
    dest_fd = os.open(tmp_path / "dest", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fs.remove_tree(dest_fd, "postgres-a.dir.partial")
    finally:
        os.close(dest_fd)
    assert list((tmp_path / "dest").iterdir()) == []
    assert (outside / "keep").read_text() == "keep"


def test_fd_path_and_sha256_fd_read_the_open_file_not_its_name(tmp_path):
    path = tmp_path / "dump"
    path.write_bytes(b"dump")
    fd = os.open(path, os.O_RDONLY)
    try:
        path.unlink()
        path.write_bytes(b"swapped")  # a new file at the name; the fd still names the old one
        with open(fs.fd_path(fd), "rb") as reopened:
            assert reopened.read() == b"dump"
        assert fs.sha256_fd(fd) == (4, hashlib.sha256(b"dump").hexdigest())
    finally:
        os.close(fd)
