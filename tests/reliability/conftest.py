"""Reliability fixtures: a fresh sqld per test on a free loopback port (counts start from zero)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tracekit.store.server import SqldServer, start_sqld


@pytest.fixture
def fresh_sqld(tmp_path: Path) -> Iterator[SqldServer]:
    """A sqld of its own for one test, stopped after it."""
    server = start_sqld(tmp_path / "db.sqld")
    try:
        yield server
    finally:
        server.stop()
