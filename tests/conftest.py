"""Shared fixtures: fully populated traces built from fixed times and ids (deterministic)."""

from __future__ import annotations

import pytest
from factories import build_call_record, build_trace

import tracekit as tk


@pytest.fixture
def full_trace() -> tk.SessionTrace:
    """A fully populated, deterministic SessionTrace (fresh each test)."""
    return build_trace()


@pytest.fixture
def call_record() -> tk.LLMCallRecord:
    """A fully populated, deterministic LLMCallRecord (fresh each test)."""
    return build_call_record()
