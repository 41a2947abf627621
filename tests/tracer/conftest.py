"""Tracer fixtures: tracers closed at teardown (no writer thread outlives its test), and stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tracekit as tk
from tracekit.store import TursoManager

MakeTracer = Callable[..., tk.SessionTracer]


@pytest.fixture
def make_tracer() -> Iterator[MakeTracer]:
    """Build SessionTracers that are closed when the test ends."""
    made: list[tk.SessionTracer] = []

    def make(*args: Any, **kwargs: Any) -> tk.SessionTracer:
        tracer = tk.SessionTracer(*args, **kwargs)
        made.append(tracer)
        return tracer

    yield make
    for tracer in made:
        tracer.close(timeout=10)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """An embedded database file in tmp_path."""
    return f"file:{tmp_path / 'traces.db'}"


@pytest.fixture
def file_store(db_url: str, tmp_path: Path) -> TursoManager:
    """An unopened manager on the embedded database, spooling into tmp_path."""
    return TursoManager(db_url, spool_path=tmp_path / "spool.jsonl", retries=1, retry_backoff_s=0.01)
