"""Seeded mutations of every vendor fixture, and the recording-path invariant they must keep.

Shared by tests/helpers/test_fuzz.py (the suite's budget) and bench/fuzz_helpers.py (long runs).
A case is one fixture with one to three mutations (a wrong type, a deletion, NaN/inf, 2**70,
1e308, a negative, deep nesting, a dict where a string goes, a chunk dropped or doubled) sent
through record_from_response, record_from_stream or a StreamRecorder (with bad arrival times and
a bad `finish(error=...)` among the mutations). The invariant: a TracekitError, or a record that
serialises, reads back equal, holds only finite floats and 64-bit integers, and names every value
it had to replace in `record.error`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from doc_paths import paths, slot
from hypothesis import strategies as st

import tracekit as tk

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VENDORS = ("openai_chat", "openai_responses", "anthropic", "gemini")


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


UNSTORABLE = ("nan", "inf", "-inf", "int70", "-int70", "deep600")
"""Mutations whose value JSON cannot hold exactly: the record must name the replacement."""
VALUES: dict[str, Any] = {
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "int70": 2**70,
    "-int70": -(2**70),
    "deep600": None,  # built fresh per use
    "1e308": 1e308,
    "-1": -1,
    "-1.5": -1.5,
    "zero": 0,
    "true": True,
    "none": None,
    "str": "x",
    "dict": {"text": "not a string"},
    "list": [1, "two"],
    "float": 2.5,
    "deep20": None,
}
KINDS = (*VALUES, "delete")


def _load_all() -> dict[str, tuple[str, str, str]]:
    """name -> (vendor, kind, JSON text) of every fixture."""
    found: dict[str, tuple[str, str, str]] = {}
    for vendor in VENDORS:
        for path in sorted((FIXTURES / vendor).glob("*.json")):
            kind = path.stem.split("_", 1)[0]
            found[f"{vendor}/{path.stem}"] = (vendor, kind, path.read_text(encoding="utf-8"))
    return found


FIXTURE_TEXT = _load_all()
NAMES = sorted(FIXTURE_TEXT)
RESPONSE_FOR_REQUEST = {
    "openai_chat": "openai_chat/response_basic",
    "openai_responses": "openai_responses/response_text",
    "anthropic": "anthropic/response_text",
    "gemini": "gemini/response_implicit_caching",
}


PATHS = {name: list(paths(json.loads(text)))[1:] for name, (_, _, text) in FIXTURE_TEXT.items()}


def mutate(doc: Any, path: tuple[Any, ...], kind: str) -> bool:
    """Apply one mutation at `path` (in place); False when the path no longer exists."""
    found = slot(doc, path)
    if found is None:
        return False
    parent, last = found
    if kind == "delete":
        del parent[last]
        return True
    if kind == "deep600":
        value: Any = _deep(600)
    elif kind == "deep20":
        value = _deep(20)
    else:
        value = VALUES[kind]
        if isinstance(value, dict | list):
            value = json.loads(json.dumps(value))
    parent[last] = value
    return True


@dataclass(slots=True)
class Case:
    """One fuzz case: a fixture, its mutations, and how it is recorded."""

    name: str
    mutations: list[tuple[tuple[Any, ...], str]]
    entry: str
    """"response", "stream", "recorder" or "request"."""
    bad_time: str | None = None
    bad_error: bool = False
    applied: list[str] = field(default_factory=list)
    had_unstorable: bool = False


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A fixture with one to three mutations and the entry point that records it."""
    name = draw(st.sampled_from(NAMES))
    paths = PATHS[name]
    count = draw(st.integers(1, 3))
    mutations = [
        (paths[draw(st.integers(0, len(paths) - 1))], draw(st.sampled_from(KINDS))) for _ in range(count)
    ]
    _, kind, _ = FIXTURE_TEXT[name]
    entry = draw(st.sampled_from(("stream", "recorder"))) if kind == "stream" else kind
    bad_time = (
        draw(st.sampled_from((None, None, "nan", "inf", "1e308", "-1e308"))) if entry == "recorder" else None
    )
    bad_error = entry == "recorder" and draw(st.booleans())
    return Case(name, mutations, entry, bad_time, bad_error)


def run(case: Case) -> tk.LLMCallRecord | None:
    """Record the mutated fixture; None when tracekit refused it with a TracekitError."""
    vendor, _, text = FIXTURE_TEXT[case.name]
    doc = json.loads(text)
    for path, kind in case.mutations:
        if mutate(doc, path, kind):
            case.applied.append(kind)
    case.had_unstorable = unstorable(doc)
    try:
        if case.entry == "response":
            return tk.record_from_response(doc)
        if case.entry == "request":
            response = json.loads(FIXTURE_TEXT[RESPONSE_FOR_REQUEST[vendor]][2])
            return tk.record_from_response(response, request=doc)
        chunks = doc if isinstance(doc, list) else [doc]
        if case.entry == "stream":
            return tk.record_from_stream(
                chunks, started_at=0.0, received_at=[0.1 * i for i in range(len(chunks))]
            )
        bad = {"nan": math.nan, "inf": math.inf, "1e308": 1e308, "-1e308": -1e308}
        clock = iter(range(10_000))
        recorder = tk.StreamRecorder(clock=lambda: float(next(clock)) / 10)
        for i, chunk in enumerate(chunks):
            at = bad[case.bad_time] if case.bad_time is not None and i == len(chunks) // 2 else None
            recorder.add(chunk, at)
        error = {"type": "timeout", "elapsed": math.nan, "big": 2**70} if case.bad_error else None
        return recorder.finish(error=error)
    except tk.TracekitError:
        return None


def _scan(value: Any, where: str) -> None:
    """Every float finite and every int a 64-bit integer, all the way down."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if type(item) is float:
            assert math.isfinite(item), f"non-finite float at {path}"
        elif type(item) is int:
            assert -(2**63) <= item <= 2**63 - 1, f"integer out of range at {path}"
        elif isinstance(item, dict):
            stack.extend((v, f"{path}.{k}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(item))


def unstorable(doc: Any) -> bool:
    """Whether `doc` holds a value JSON cannot hold exactly (non-finite, outside 64-bit, nested
    deeper than tracekit keeps)."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        item, depth = stack.pop()
        if type(item) is float and not math.isfinite(item):
            return True
        if type(item) is int and not -(2**63) <= item <= 2**63 - 1:
            return True
        if isinstance(item, dict | list):
            if depth > 60:
                return True
            values = item.values() if isinstance(item, dict) else item
            stack.extend((v, depth + 1) for v in values)
    return False


def check(case: Case, record: tk.LLMCallRecord) -> None:
    """The invariant on a record the recording path returned: it serialises and reads back equal,
    holds only finite floats and 64-bit integers, names every replaced value in `error`, and keeps
    token counts within 0..2**63-1."""
    text = record.to_json()
    assert tk.LLMCallRecord.from_json(text) == record
    _scan(record.to_dict(), "record")
    if case.had_unstorable or case.bad_error or case.bad_time:
        error = record.error
        assert error is not None, f"unstorable value not named: {case}"
        assert "replaced" in error, f"unstorable value not named: {case}"
    if record.usage is not None:
        for name in (
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cache_read_tokens",
            "reasoning_tokens",
        ):
            count = getattr(record.usage, name)
            assert count is None or 0 <= count <= 2**63 - 1
