"""SQL-injection text, NUL bytes and LIKE wildcards in every string field a trace has are stored as data
on both backends: the trace reads back equal, the filters match them literally, and no table changes."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from factories import build_trace

import tracekit as tk
from tracekit.store import TursoManager

HOSTILE = {
    "injection": '\'; DROP TABLE sessions; --" OR "1"="1 ?1 :a @b $c',
    "nul": "\x00'\x00",
    "like-wildcards": "%_\\",
}
TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"


def _string_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every string leaf and every dict key in a to_dict() tree (keys marked with ("key", k))."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, str):
        found.append(prefix)
    elif isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, ("key", key)))
            found.extend(_string_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_string_paths(item, (*prefix, i)))
    return found


@functools.cache
def _poisoned_dict(suffix: str) -> tuple[dict[str, Any], int]:
    """The factory trace with `suffix` appended to every string and dict key the codec accepts it in
    (ids, names, free text, metadata keys and values; not timestamps or closed vocabularies),
    and how many places took it."""
    doc = build_trace().to_dict()
    taken = 0
    paths = _string_paths(doc)
    values = [path for path in paths if not isinstance(path[-1], tuple)]
    keys = sorted((path for path in paths if isinstance(path[-1], tuple)), key=len, reverse=True)
    for path in values + keys:  # deepest keys first: renaming one never moves a path still to come
        parent: Any = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if isinstance(last, tuple):
            key = last[1]
            if key not in parent or not isinstance(parent, dict) or _is_field_dict(path):
                continue
            renamed = {(k + suffix if k == key else k): v for k, v in parent.items()}
            before = dict(parent)
            parent.clear()
            parent.update(renamed)
            undo = lambda p=parent, b=before: (p.clear(), p.update(b))  # noqa: E731 - tiny local closure
        else:
            old = parent[last]
            parent[last] = old + suffix if last != "json_payload" else json.dumps({"text": suffix})
            undo = lambda p=parent, k=last, o=old: p.__setitem__(k, o)  # noqa: E731 - tiny local closure
        try:
            tk.SessionTrace.from_dict(doc).to_json()
            taken += 1
        except tk.TracekitError:
            undo()
    return doc, taken


def _poisoned(suffix: str) -> tuple[tk.SessionTrace, int]:
    """The poisoned trace (built once per suffix: probing each place costs a validation) and its count."""
    doc, taken = _poisoned_dict(suffix)
    return tk.SessionTrace.from_dict(doc), taken


_FREE_FORM = ("metadata", "step_metadata", "system_state_before", "system_state_after", "session_metadata")


def _is_field_dict(path: tuple[Any, ...]) -> bool:
    """Whether the key at `path` names a dataclass field (only free-form JSON dicts get renamed keys)."""
    return not any(isinstance(step, str) and step in _FREE_FORM for step in path[:-1])


@pytest.mark.parametrize("suffix", HOSTILE.values(), ids=list(HOSTILE))
async def test_hostile_text_everywhere_round_trips_as_data(store: TursoManager, suffix: str) -> None:
    """A trace with `suffix` in every string field and free-form key reads back equal, is found by
    model and metadata filters holding the same text (not by a wildcard), and leaves the tables alone."""
    trace, taken = _poisoned(suffix)
    assert taken >= 40
    tables = await store.execute(TABLES)
    assert await store.save_session(trace) == "saved"
    assert await store.get_session(trace.session_id) == trace
    model = trace.event_history[0].call_records[0].model_name  # type: ignore[attr-defined]
    assert model is not None
    assert model.endswith(suffix)
    by_model = await store.list_sessions(model=model)
    assert [s.session_id for s in by_model.sessions] == [trace.session_id]
    assert (await store.list_sessions(model="%")).sessions == []
    experiment_key = "experiment" + suffix
    assert trace.metadata[experiment_key] == "baseline" + suffix
    by_meta = await store.list_sessions(metadata={experiment_key: "baseline" + suffix})
    assert [s.session_id for s in by_meta.sessions] == [trace.session_id]
    assert (await store.list_sessions(metadata={experiment_key: "baseline"})).sessions == []
    records = [r async for r in store.iter_call_records(model=model)]
    assert records == trace.event_history[0].call_records  # type: ignore[attr-defined]
    assert await store.execute(TABLES) == tables
    assert await store.delete_session(trace.session_id) is True
    assert (await store.list_sessions()).sessions == []
