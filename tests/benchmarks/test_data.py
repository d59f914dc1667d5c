"""benchmarks/_data.py: realistic rows that are well-formed COPY text, reproducible, and compress 2-4x."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import _data


@pytest.mark.parametrize(("table", "fields"), [("messages", 5), ("documents", 3)])
def test_lines_are_copy_text(table, fields):
    lines = list(_data.Generator().lines(table, 200_000))
    assert sum(len(line) for line in lines) >= 200_000
    for line in lines:
        assert line.endswith("\n")
        assert line.count("\n") == 1
        assert len(line.rstrip("\n").split("\t")) == fields
    if table == "documents":
        payload = json.loads(lines[0].rstrip("\n").split("\t")[2].replace("\\\\", "\\"))
        assert {"user", "tags", "score", "items", "summary"} <= set(payload)


def test_same_seed_same_rows():
    first = list(_data.Generator(seed=7).lines("messages", 20_000))
    again = list(_data.Generator(seed=7).lines("messages", 20_000))
    other = list(_data.Generator(seed=8).lines("messages", 20_000))
    assert first == again
    assert first != other


def test_compresses_like_real_data():
    assert 2.0 <= _data.gzip_ratio(sample_bytes=2 << 20) <= 4.0
