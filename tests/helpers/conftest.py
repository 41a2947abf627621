"""Shared helpers for the vendor normaliser tests: load recorded payloads from tests/fixtures/."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# `from fuzzing import ...`: the fuzz-case builder shared with bench/fuzz_helpers.py
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _load(vendor: str, name: str) -> Any:
    """The parsed JSON of tests/fixtures/<vendor>/<name>.json (a stream is a list of chunks)."""
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def load_fixture() -> Callable[[str, str], Any]:
    """`load_fixture(vendor, name)` -> the fixture's JSON; session-scoped so hypothesis tests can use it."""
    return _load
