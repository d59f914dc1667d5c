"""Settings of the local stack the scenario ran against."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def stack() -> dict:
    stack_dir = Path(os.environ.get("JARVIS_STACK_DIR", REPO / ".stack"))
    return json.loads((stack_dir / "env.json").read_text())
