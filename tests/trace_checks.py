"""Helpers for the decorator and instrument tests: vendor fixtures and record comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tracekit as tk

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# fields that depend on when and how the call ran, not on what the vendor sent
VOLATILE = ("call_id", "started_at", "completed_at", "latency_ms", "metadata", "timing", "chunks")


def load(vendor: str, name: str) -> Any:
    """The parsed JSON of tests/fixtures/<vendor>/<name>.json."""
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def comparable(record: tk.LLMCallRecord, *, sdk_spelling: bool = False) -> dict[str, Any]:
    """The record's dict without the fields that depend on timing or identity. `sdk_spelling`
    also drops the raw vendor JSON (google-genai objects dump in snake_case, the wire is camelCase)."""
    data = record.to_dict()
    for key in VOLATILE:
        data.pop(key)
    if sdk_spelling:
        data.pop("response_raw_json", None)
        if data["usage"] is not None:
            data["usage"].pop("raw")
    for key in ("request_raw_json", "response_raw_json"):  # key order follows the SDK's model, not the wire
        if data.get(key) is not None:
            data[key] = json.loads(data[key])
    return data


def only_record(trace: tk.SessionTrace) -> tk.LLMCallRecord:
    """The single LLM call record in `trace` (fails unless there is exactly one event holding one)."""
    events = [e for e in trace.event_history if isinstance(e, tk.LMCAISEvent)]
    assert len(events) == 1, events
    assert len(events[0].call_records) == 1
    return events[0].call_records[0]


def records(trace: tk.SessionTrace) -> list[tk.LLMCallRecord]:
    """Every LLM call record in `trace`, in order."""
    return [r for e in trace.event_history if isinstance(e, tk.LMCAISEvent) for r in e.call_records]
