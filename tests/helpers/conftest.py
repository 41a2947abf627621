"""Shared helpers for the vendor normaliser tests: load recorded payloads from tests/fixtures/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _load(vendor: str, name: str) -> Any:
    """The parsed JSON of tests/fixtures/<vendor>/<name>.json (a stream is a list of chunks)."""
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def load_fixture() -> Callable[[str, str], Any]:
    """`load_fixture(vendor, name)` -> the fixture's JSON; session-scoped so hypothesis tests can use it."""
    return _load
