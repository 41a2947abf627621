"""Seeded mutations of real records for from_dict/from_json, and the invariant they must keep.

Shared by tests/test_fuzz_codec.py (the suite's budget) and bench/fuzz_codec.py (long runs). The
seeds are real records: the full factory trace and call record, and the records every vendor
response and stream fixture normalises to. A case applies one to three mutations to a seed's dict
(a wrong-typed or extreme value, a missing key, an extra key, an unknown or swapped event_type, a
dict turned into a list, a list item doubled, nesting past the depth limit) and reads it back
through `from_dict`, or through `from_json` after damaging the text (truncated, a byte inserted,
a number overflowed, wrapped in thousands of brackets, not UTF-8). The invariant: an
InvalidDataError (a TracekitError), or a record of the requested class that `to_json` accepts and
that reads back equal through both `from_json` and `from_dict`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from doc_paths import paths, slot
from factories import build_call_record, build_trace
from hypothesis import strategies as st

import tracekit as tk

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CASE_LIMIT_S = 10.0
"""A case slower than this counts as a hang (the slowest real case takes milliseconds)."""


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"d": value} if depth % 2 else [value]
    return value


def _vendor_records() -> dict[str, dict[str, Any]]:
    """name -> LLMCallRecord dict of every whole vendor response and every stream fixture."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(FIXTURES.glob("*/*.json")):
        kind = path.stem.split("_", 1)[0]
        doc = json.loads(path.read_text(encoding="utf-8"))
        if kind == "response":
            try:
                record = tk.record_from_response(doc)
            except tk.UnsupportedPayloadError:  # a fragment of a response, not a whole one
                continue
        elif kind == "stream":
            chunks = doc if isinstance(doc, list) else [doc]
            record = tk.record_from_stream(
                chunks, started_at=0.0, received_at=[0.1 * i for i in range(len(chunks))]
            )
        else:
            continue
        found[f"{path.parent.name}/{path.stem}"] = record.to_dict()
    return found


SEEDS: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "factory/trace": (tk.SessionTrace, build_trace().to_dict()),
    "factory/call": (tk.LLMCallRecord, build_call_record().to_dict()),
    **{name: (tk.LLMCallRecord, doc) for name, doc in _vendor_records().items()},
}
NAMES = sorted(SEEDS)
WEIGHTED = [*NAMES, *["factory/trace"] * 4]
"""The whole trace (every event kind, messages, timesteps) is drawn about a tenth of the time."""
OTHER_CLASSES: tuple[type[Any], ...] = (
    tk.SessionTrace,
    tk.SessionTimeStep,
    tk.LMCAISEvent,
    tk.BaseEvent,
    tk.LLMCallRecord,
    tk.LLMUsage,
    tk.LLMChunk,
    tk.SessionEventMarkovBlanketMessage,
)

VALUES: dict[str, Any] = {
    "none": None,
    "true": True,
    "zero": 0,
    "-1": -1,
    "int70": 2**70,
    "-int64-1": -(2**63) - 1,
    "1.5": 1.5,
    "1e308": 1e308,
    "-0.0": -0.0,
    "nan": math.nan,
    "inf": math.inf,
    "empty": "",
    "str": "x",
    "nul": "a\x00b",
    "sql": "'; DROP TABLE sessions; --",
    "surrogate": "\ud83d",
    "naive-time": "2026-01-01T00:00:00",
    "bad-time": "2026-13-45T25:61:00Z",
    "year-0": "0000-01-01T00:00:00Z",
    "epoch": 1_780_000_000.5,
    "list": [1, "two", None],
    "dict": {"text": 3},
    "empty-list": [],
    "empty-dict": {},
    "int-key": {1: "x"},
    "tuple": (1, 2),
    "bytes": b"\xff",
    "event-type-unknown": {"event_type": "no-such-event", "system_instance_id": "x"},
}
DICT_KINDS = (*VALUES, "delete", "extra-key", "as-list", "double", "deep150", "deep5000", "swap-event")
TEXT_KINDS = ("none", "none", "truncate", "insert", "overflow", "brackets", "not-utf8", "utf16", "nan-token")
SWAP_EVENT = {"cais": "environment", "environment": "runtime", "runtime": "cais", "test_judge": "cais"}


PATHS = {name: list(paths(doc))[1:] for name, (_, doc) in SEEDS.items()}


def _swappable(node: Any) -> bool:
    """Whether `node` is an event the swap-event mutation can retag (an earlier mutation may have
    made its event_type anything, e.g. an unhashable list)."""
    return isinstance(node, dict) and isinstance(tag := node.get("event_type"), str) and tag in SWAP_EVENT


def mutate(doc: Any, path: tuple[Any, ...], kind: str) -> bool:
    """Apply one mutation at `path` in place; False when the path no longer exists."""
    found = slot(doc, path)
    if found is None:
        return False
    parent, last = found
    current = parent[last]
    if kind == "delete":
        del parent[last]
    elif kind == "extra-key":
        if not isinstance(current, dict):
            return False
        current["zz_not_a_field"] = 1
    elif kind == "as-list":
        if not isinstance(current, dict):
            return False
        parent[last] = list(current.values())
    elif kind == "double":
        if not isinstance(current, list) or not current:
            return False
        current.append(json.loads(json.dumps(current[0])))
    elif kind in ("deep150", "deep5000"):
        parent[last] = _deep(int(kind[4:]))
    elif kind == "swap-event":  # the nearest event at or above `path` claims another event type
        event = None
        node = doc
        for step in path:
            if _swappable(node):
                event = node
            node = node[step] if isinstance(node, dict | list) else None
        if _swappable(node):
            event = node
        if event is None:
            return False
        event["event_type"] = SWAP_EVENT[event["event_type"]]
    else:
        value = VALUES[kind]
        parent[last] = json.loads(json.dumps(value)) if isinstance(value, dict | list) else value
    return True


@dataclass(slots=True)
class Case:
    """One fuzz case: a seed record, its mutations, the class asked for, and how it is read."""

    name: str
    mutations: list[tuple[tuple[Any, ...], str]]
    cls: type[Any]
    via: str
    """"dict" (from_dict) or "json" (from_json after the text damage `text_kind`)."""
    text_kind: str = "none"
    text_at: float = 0.5
    """Where in the text the damage goes, as a fraction of its length."""
    applied: list[str] = field(default_factory=list)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A seed record with one to three mutations, the class to read it as, and dict or JSON."""
    name = draw(st.sampled_from(WEIGHTED))
    own_cls, _ = SEEDS[name]
    paths = PATHS[name]
    count = draw(st.integers(1, 3))
    mutations = [
        (paths[draw(st.integers(0, len(paths) - 1))], draw(st.sampled_from(DICT_KINDS))) for _ in range(count)
    ]
    cls = own_cls if draw(st.integers(0, 9)) else draw(st.sampled_from(OTHER_CLASSES))
    via = draw(st.sampled_from(("dict", "json")))
    text_kind = draw(st.sampled_from(TEXT_KINDS)) if via == "json" else "none"
    text_at = draw(st.floats(0.0, 1.0))
    return Case(name, mutations, cls, via, text_kind, text_at)


def _text(doc: Any, case: Case) -> str | bytes:
    """The mutated doc as JSON text (NaN/Infinity tokens kept, as a careless writer would), damaged."""
    try:
        text = json.dumps(doc, ensure_ascii=False, default=repr)
    except (ValueError, TypeError, RecursionError):  # int keys mixed with str keys, or too deep
        text = json.dumps({"unwritable": True})
    at = int(len(text) * case.text_at)
    kind = case.text_kind
    if kind == "truncate":
        return text[:at]
    if kind == "insert":
        return text[:at] + "\x01}" + text[at:]
    if kind == "overflow":
        return text.replace(":1", ":1e999", 1) if ":1" in text else text[:at] + "1e999" + text[at:]
    if kind == "brackets":
        return "[" * 50_000 + text + "]" * 50_000
    if kind == "not-utf8":
        raw = text.encode("utf-8", "surrogatepass")
        return raw[:at] + b"\xff\xfe" + raw[at:]
    if kind == "utf16":
        return text.encode("utf-16", "surrogatepass")
    if kind == "nan-token":
        return text[:at] + "NaN" + text[at:]
    return text


def run(case: Case) -> Any:
    """Read the mutated seed as `case.cls`; None when tracekit refused it with a TracekitError."""
    _, seed = SEEDS[case.name]
    doc = json.loads(json.dumps(seed))
    for path, kind in case.mutations:
        if mutate(doc, path, kind):
            case.applied.append(kind)
    try:
        if case.via == "dict":
            return case.cls.from_dict(doc)
        return case.cls.from_json(_text(doc, case))
    except tk.InvalidDataError:
        return None


def check(case: Case, record: Any) -> None:
    """The invariant on an accepted read: the requested class, written by to_json without complaint,
    and read back equal through from_json and from_dict."""
    assert isinstance(record, case.cls), f"{type(record).__name__} for {case.cls.__name__}: {case}"
    text = record.to_json()
    assert type(record).from_json(text) == record, case
    assert type(record).from_dict(record.to_dict()) == record, case


def timed(case: Case) -> tuple[Any, float]:
    """run(case) and the seconds it took."""
    start = time.perf_counter()
    record = run(case)
    return record, time.perf_counter() - start
