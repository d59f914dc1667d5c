# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/backup.py's reading of backup_verify's restore test, shared with benchmarks/pitr.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from backup import restored_database

RECORD = {"tables": 4, "rows": 7000770, "restore_seconds": 17.6, "mismatches": []}


def result(severity: str, restore: dict) -> dict:
    return {"severity": severity, "sets": [{"restore": restore}], "findings": [{"severity": severity, "message": "m"}]}


def test_a_clean_restore_gives_its_record():
    assert restored_database(result("ok", {"bench": RECORD}), "bench")["rows"] == 7000770


@pytest.mark.parametrize(
    "out",
    [
        result("critical", {"bench": RECORD}),
        result("ok", {}),
        result("ok", {"bench": {**RECORD, "mismatches": ["public.t: 3 rows, manifest 4"]}}),
    ],
)
def test_anything_but_a_clean_restore_raises(out):
    with pytest.raises(RuntimeError, match="backup_verify restore test"):
        restored_database(out, "bench")
