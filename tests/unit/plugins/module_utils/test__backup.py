# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import hashlib
import json

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._backup._set import (
    MANIFEST,
    SCHEMA,
    build_manifest,
    check_retention,
    list_incomplete,
    list_sets,
    merge_entries,
    parse_set_name,
    read_manifest,
    retention,
    root_problem,
    set_name,
    set_scope,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._time import iso

UTC = datetime.timezone.utc


def at(year, month, day, hour=2, minute=0, second=0):
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def times_of(*moments):
    return {set_name(moment): moment for moment in moments}


def daily(first, count):
    """One set a day at first's time of day, count days from first."""
    return [first + datetime.timedelta(days=offset) for offset in range(count)]


# -- names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "name"),
    [
        (at(2026, 11, 28), "jarvis-20261128T020000Z"),
        (at(2026, 1, 1, 0, 0, 0), "jarvis-20260101T000000Z"),
        # Names are always UTC, whatever the zone of the moment.
        (
            datetime.datetime(2027, 1, 1, 0, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
            "jarvis-20261231T233000Z",
        ),
    ],
)
def test_set_name(moment, name):
    assert set_name(moment) == name
    assert parse_set_name(name) == moment
    assert parse_set_name(name).tzinfo == UTC


def test_iso_is_utc():
    moment = datetime.datetime(2026, 11, 28, 3, 0, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert iso(moment) == "2026-11-28T02:00:05Z"


@pytest.mark.parametrize(
    "name",
    [
        "jarvis-20261399T000000Z",
        "jarvis-20260230T020000Z",
        "",
        "jarvis-20261128T020000",
        "jarvis-20261128T0200Z",
        "jarvis-20261128T020000Z.tmp",
        "Jarvis-20261128T020000Z",
        ".incomplete-jarvis-20261128T020000Z",
        "x-jarvis-20261128T020000Z",
        "jarvis-latest",
    ],
)
def test_parse_set_name_rejects_other_names(name):
    assert parse_set_name(name) is None


# -- listing -----------------------------------------------------------------------


def make_root(tmp_path):
    root = tmp_path / "backups"
    root.mkdir()
    (root / "jarvis-20261128T020000Z").mkdir()
    (root / "jarvis-20261128T020000Z" / MANIFEST).write_text("{}")
    (root / "jarvis-20261129T020000Z").mkdir()  # no manifest
    (root / "jarvis-20261126T020000Z").mkdir()
    (root / "jarvis-20261126T020000Z" / MANIFEST).write_text("{}")
    (root / "jarvis-20261127T020000Z").write_text("a file, not a set")
    (root / ".incomplete-jarvis-20261130T020000Z").mkdir()
    (root / ".incomplete-garbage").mkdir()
    (root / ".incomplete-jarvis-20261201T020000Z").write_text("a file, not a set")
    (root / "other").mkdir()
    return root


def test_list_sets_newest_first_with_completeness(tmp_path):
    root = make_root(tmp_path)
    sets = list_sets(str(root))
    assert [(item["name"], item["complete"]) for item in sets] == [
        ("jarvis-20261129T020000Z", False),
        ("jarvis-20261128T020000Z", True),
        ("jarvis-20261126T020000Z", True),
    ]
    assert sets[1]["path"] == str(root / "jarvis-20261128T020000Z")
    assert sets[1]["time"] == at(2026, 11, 28)


def test_list_incomplete(tmp_path):
    root = make_root(tmp_path)
    found = sorted(list_incomplete(str(root)), key=lambda item: item["name"])
    assert found == [
        {"name": ".incomplete-garbage", "path": str(root / ".incomplete-garbage"), "time": None},
        {
            "name": ".incomplete-jarvis-20261130T020000Z",
            "path": str(root / ".incomplete-jarvis-20261130T020000Z"),
            "time": at(2026, 11, 30),
        },
    ]


def test_missing_root_has_no_sets(tmp_path):
    assert list_sets(str(tmp_path / "nowhere")) == []
    assert list_incomplete(str(tmp_path / "nowhere")) == []


# -- retention ---------------------------------------------------------------------


def test_retention_forty_daily_sets_keep_7_4_6():
    # 2026-01-01 (a Thursday) to 2026-02-09 (a Monday), one set a day at 02:00 UTC.
    moments = daily(at(2026, 1, 1), 40)
    keep, remove = retention(times_of(*moments), 7, 4, 6)
    assert keep == {
        "jarvis-20260209T020000Z": ["daily 2026-02-09", "weekly 2026-W07", "monthly 2026-02", "newest"],
        "jarvis-20260208T020000Z": ["daily 2026-02-08", "weekly 2026-W06"],
        "jarvis-20260207T020000Z": ["daily 2026-02-07"],
        "jarvis-20260206T020000Z": ["daily 2026-02-06"],
        "jarvis-20260205T020000Z": ["daily 2026-02-05"],
        "jarvis-20260204T020000Z": ["daily 2026-02-04"],
        "jarvis-20260203T020000Z": ["daily 2026-02-03"],
        "jarvis-20260201T020000Z": ["weekly 2026-W05"],  # Sunday ending ISO week 5
        "jarvis-20260131T020000Z": ["monthly 2026-01"],
        "jarvis-20260125T020000Z": ["weekly 2026-W04"],
    }
    kept_days = {"0209", "0208", "0207", "0206", "0205", "0204", "0203", "0201", "0131", "0125"}
    expected_remove = [set_name(m) for m in reversed(moments) if m.strftime("%m%d") not in kept_days]
    assert remove == expected_remove
    assert len(remove) == 30
    assert remove[0] == "jarvis-20260202T020000Z"
    assert remove[-1] == "jarvis-20260101T020000Z"


@pytest.mark.parametrize("counts", [(0, 0, 0), (-1, -1, -1)])
def test_retention_always_keeps_the_newest(counts):
    moments = daily(at(2026, 1, 1), 10)
    keep, remove = retention(times_of(*moments), *counts)
    assert keep == {"jarvis-20260110T020000Z": ["newest"]}
    assert remove == [set_name(m) for m in reversed(moments[:-1])]


def test_retention_of_nothing():
    assert retention({}, 7, 4, 6) == ({}, [])


def test_retention_keeps_only_the_newest_set_of_a_day():
    times = times_of(
        at(2026, 3, 9, 23, 0, 0),
        at(2026, 3, 10, 1, 0, 0),
        at(2026, 3, 10, 13, 0, 0),
        at(2026, 3, 10, 23, 59, 59),
    )
    keep, remove = retention(times, 2, 0, 0)
    assert keep == {
        "jarvis-20260310T235959Z": ["daily 2026-03-10", "newest"],
        "jarvis-20260309T230000Z": ["daily 2026-03-09"],
    }
    assert remove == ["jarvis-20260310T130000Z", "jarvis-20260310T010000Z"]


def test_retention_counts_days_that_have_a_set():
    # keep_daily counts the last days holding a set (like borg prune), not calendar days.
    times = times_of(at(2026, 3, 1), at(2026, 3, 5), at(2026, 3, 9))
    keep, remove = retention(times, 2, 0, 0)
    assert sorted(keep) == ["jarvis-20260305T020000Z", "jarvis-20260309T020000Z"]
    assert remove == ["jarvis-20260301T020000Z"]


@pytest.mark.parametrize(
    ("moments", "weekly", "kept", "removed"),
    [
        # 2027-01-01..03 belong to ISO week 2026-W53 (2026 has 53 ISO weeks); 2027-01-04 starts 2027-W01.
        (
            [at(2026, 12, 27), at(2026, 12, 28), at(2027, 1, 1), at(2027, 1, 3), at(2027, 1, 4)],
            3,
            {
                "jarvis-20270104T020000Z": ["weekly 2027-W01", "newest"],
                "jarvis-20270103T020000Z": ["weekly 2026-W53"],
                "jarvis-20261227T020000Z": ["weekly 2026-W52"],
            },
            ["jarvis-20270101T020000Z", "jarvis-20261228T020000Z"],
        ),
        # 2024-12-30 and 31 belong to ISO week 2025-W01; 2024-12-29 (a Sunday) to 2024-W52.
        (
            [at(2024, 12, 29), at(2024, 12, 30), at(2024, 12, 31), at(2025, 1, 1)],
            2,
            {
                "jarvis-20250101T020000Z": ["weekly 2025-W01", "newest"],
                "jarvis-20241229T020000Z": ["weekly 2024-W52"],
            },
            ["jarvis-20241231T020000Z", "jarvis-20241230T020000Z"],
        ),
        # Only one week wanted: the whole of 2025-W01 is one bucket across the year end.
        (
            [at(2024, 12, 29), at(2024, 12, 30), at(2025, 1, 1)],
            1,
            {"jarvis-20250101T020000Z": ["weekly 2025-W01", "newest"]},
            ["jarvis-20241230T020000Z", "jarvis-20241229T020000Z"],
        ),
    ],
)
def test_retention_iso_weeks_across_the_year_end(moments, weekly, kept, removed):
    keep, remove = retention(times_of(*moments), 0, weekly, 0)
    assert keep == kept
    assert remove == removed


def test_retention_months_across_the_year_end():
    times = times_of(at(2026, 11, 30), at(2026, 12, 31, 23, 59, 59), at(2027, 1, 1, 0, 0, 0))
    keep, remove = retention(times, 0, 0, 2)
    assert keep == {
        "jarvis-20270101T000000Z": ["monthly 2027-01", "newest"],
        "jarvis-20261231T235959Z": ["monthly 2026-12"],
    }
    assert remove == ["jarvis-20261130T020000Z"]


def test_retention_monthly_sets_over_a_year():
    moments = [at(2026, month, 1) for month in range(1, 13)]
    keep, remove = retention(times_of(*moments), 0, 0, 3)
    assert sorted(keep, reverse=True) == [
        "jarvis-20261201T020000Z",
        "jarvis-20261101T020000Z",
        "jarvis-20261001T020000Z",
    ]
    assert remove == [set_name(m) for m in reversed(moments[:9])]


def test_retention_monthly_prefers_the_newest_full_set():
    moments = daily(at(2026, 1, 1), 40)
    full = {"jarvis-20260201T020000Z", "jarvis-20260105T020000Z", "jarvis-20260112T020000Z"}
    keep, remove = retention(times_of(*moments), 0, 0, 2, full)
    assert keep == {
        "jarvis-20260209T020000Z": ["newest"],
        "jarvis-20260201T020000Z": ["monthly 2026-02"],
        "jarvis-20260112T020000Z": ["monthly 2026-01"],
    }
    assert len(remove) == 37


def test_retention_daily_and_weekly_ignore_full():
    moments = daily(at(2026, 1, 1), 40)
    keep, _remove = retention(times_of(*moments), 1, 1, 0, {"jarvis-20260201T020000Z"})
    assert keep == {"jarvis-20260209T020000Z": ["daily 2026-02-09", "weekly 2026-W07", "newest"]}


def retention_params(**overrides):
    values = {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 6, "stale_hours": 12}
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}, None),
        ({"keep_daily": -1}, "keep_daily must be 0 or more, got -1"),
        ({"keep_weekly": -2}, "keep_weekly must be 0 or more, got -2"),
        ({"keep_monthly": -3}, "keep_monthly must be 0 or more, got -3"),
        ({"stale_hours": 0}, "stale_hours must be more than 0, got 0"),
        ({"stale_hours": -1.5}, "stale_hours must be more than 0, got -1.5"),
    ],
)
def test_check_retention(overrides, problem):
    assert check_retention(retention_params(**overrides)) == problem


# -- manifest ----------------------------------------------------------------------

GOOD = {"schema": SCHEMA, "name": "jarvis-20261128T020000Z", "scope": "full", "files": []}


def test_read_manifest(tmp_path):
    (tmp_path / MANIFEST).write_text(json.dumps(GOOD))
    assert read_manifest(str(tmp_path)) == (GOOD, None)


@pytest.mark.parametrize(
    "content",
    [
        [],
        "text",
        {"schema": "other/1", "files": []},
        {"schema": SCHEMA},
        {"schema": SCHEMA, "files": {}},
    ],
)
def test_read_manifest_rejects_other_documents(tmp_path, content):
    (tmp_path / MANIFEST).write_text(json.dumps(content))
    assert read_manifest(str(tmp_path)) == (None, f"{MANIFEST} is not a {SCHEMA} manifest")


@pytest.mark.parametrize("content", [b'{"schema": ', b"\xff\xfe\x00", b""])
def test_read_manifest_rejects_unparsable_files(tmp_path, content):
    (tmp_path / MANIFEST).write_bytes(content)
    manifest, why = read_manifest(str(tmp_path))
    assert manifest is None
    assert why.startswith(f"{MANIFEST} cannot be read: ")


def test_read_manifest_missing_or_unreadable(tmp_path):
    assert read_manifest(str(tmp_path)) == (None, f"{MANIFEST} is missing")
    assert read_manifest(str(tmp_path / "gone")) == (None, f"{MANIFEST} is missing")
    (tmp_path / MANIFEST).mkdir()
    assert read_manifest(str(tmp_path)) == (None, f"{MANIFEST} is not a regular file")


def test_read_manifest_never_follows_a_symlink(tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(GOOD))
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / MANIFEST).symlink_to(elsewhere)
    manifest, why = read_manifest(str(tmp_path / "set"))
    assert manifest is None
    assert "symlink" in why


def test_read_manifest_refuses_a_set_that_is_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / MANIFEST).write_text(json.dumps(GOOD))
    (tmp_path / "jarvis-20261128T020000Z").symlink_to(tmp_path / "real")
    manifest, why = read_manifest(str(tmp_path / "jarvis-20261128T020000Z"))
    assert manifest is None
    assert "cannot be opened safely" in why


def test_list_sets_skips_symlinks_named_like_sets(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "jarvis-20261128T020000Z").symlink_to(tmp_path / "real")
    (tmp_path / ".incomplete-jarvis-20261127T020000Z").symlink_to(tmp_path / "real")
    (tmp_path / "jarvis-20261126T020000Z").mkdir()
    (tmp_path / "jarvis-20261126T020000Z" / MANIFEST).symlink_to(tmp_path / "real")
    assert [(item["name"], item["complete"]) for item in list_sets(str(tmp_path))] == [
        ("jarvis-20261126T020000Z", False)
    ]
    assert list_incomplete(str(tmp_path)) == []


@pytest.mark.parametrize(
    ("kind", "mode", "writing", "why"),
    [
        ("missing", 0o750, True, None),
        ("dir", 0o750, True, None),
        ("dir", 0o777, False, None),
        ("file", 0o640, False, "is not a directory"),
        ("dir", 0o777, True, "writable by its group and every user"),
        ("dir", 0o770, True, "writable by its group"),
    ],
)
def test_root_problem(tmp_path, kind, mode, writing, why):
    root = tmp_path / "backups"
    if kind == "dir":
        root.mkdir()
    elif kind == "file":
        root.write_text("x")
    if kind != "missing":
        root.chmod(mode)
    got = root_problem(str(root), writing)
    assert (got is None) if why is None else (why in got and str(root) in got)


def test_set_scope(tmp_path):
    assert set_scope(str(tmp_path)) is None
    (tmp_path / MANIFEST).write_text(json.dumps(GOOD))
    assert set_scope(str(tmp_path)) == "full"
    (tmp_path / MANIFEST).write_text(json.dumps({"schema": SCHEMA, "files": []}))
    assert set_scope(str(tmp_path)) is None


def test_build_manifest_sums_sizes_and_keeps_its_own_keys():
    files = [{"path": "a", "size": 10, "sha256": "x"}, {"path": "b/c", "size": 32, "sha256": "y"}]
    manifest = build_manifest(
        "jarvis-20261128T020000Z",
        "2026-11-28T02:00:00Z",
        "2026-11-28T02:05:00Z",
        "web01",
        files,
        {"scope": "full", "postgres": {"databases": {}}, "name": "other", "size": 1, "schema": "x"},
    )
    assert manifest == {
        "schema": SCHEMA,
        "name": "jarvis-20261128T020000Z",
        "host": "web01",
        "started": "2026-11-28T02:00:00Z",
        "finished": "2026-11-28T02:05:00Z",
        "size": 42,
        "files": files,
        "scope": "full",
        "postgres": {"databases": {}},
    }


def test_build_manifest_without_files():
    assert build_manifest("n", "s", "f", "h", [], {})["size"] == 0


def test_merge_entries(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.dump").write_bytes(b"0123456789")
    (tmp_path / "sub" / "b.sql").write_bytes(b"select 1;\n")
    (tmp_path / "c.rdb").write_bytes(b"REDIS")
    (tmp_path / MANIFEST).write_text("{}")
    given = [
        # checksummed by the writer: sha256 kept, size re-read from disk
        {"path": "a.dump", "size": 999, "sha256": "from-the-writer", "kind": "postgres"},
        # no checksum: computed here, extra keys kept
        {"path": "sub/b.sql", "kind": "postgres_globals", "format": "sql"},
        {"path": "gone.dump", "sha256": "abc", "size": 1},
        {"kind": "no path: ignored"},
    ]
    entries, missing = merge_entries(str(tmp_path), given)
    assert entries == [
        {"path": "a.dump", "size": 10, "sha256": "from-the-writer", "kind": "postgres"},
        {"path": "c.rdb", "size": 5, "sha256": hashlib.sha256(b"REDIS").hexdigest()},
        {
            "path": "sub/b.sql",
            "size": 10,
            "sha256": hashlib.sha256(b"select 1;\n").hexdigest(),
            "kind": "postgres_globals",
            "format": "sql",
        },
    ]
    assert missing == ["gone.dump"]
    assert given[0]["size"] == 999  # the caller's entries are not changed


def test_merge_entries_checksums_entries_with_an_empty_sha256(tmp_path):
    (tmp_path / "x").write_bytes(b"x")
    entries, missing = merge_entries(str(tmp_path), [{"path": "x", "sha256": "", "size": 7}])
    assert entries == [{"path": "x", "size": 1, "sha256": hashlib.sha256(b"x").hexdigest()}]
    assert missing == []
