"""Fixtures for the decorator and instrument tests."""

from __future__ import annotations

import pytest

from tracekit.tracer import SessionTracer


@pytest.fixture
def tracer() -> SessionTracer:
    """An in-memory tracer in strict mode: any recording problem raises instead of being logged."""
    return SessionTracer(strict=True)
