"""Public front-door functions refuse wrong-typed arguments with a TracekitError, never a bare one."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import notebook
from tracekit.sft import export_sft

WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(object()),
)
"""Values none of the arguments below accept (a path, an iterable of records, a str name...)."""

CALLS: dict[str, Callable[[Any], Any]] = {
    "aggregate(items)": lambda v: tk.aggregate(v),
    "record_from_stream(chunks)": lambda v: tk.record_from_stream(v),
    "notebook.to_records(data)": lambda v: notebook.to_records(v),
    "NDJSONSink(path)": lambda v: tk.NDJSONSink(v),
    "read_ndjson(path)": lambda v: tk.read_ndjson(v),
    "export_sft(db)": lambda v: export_sft(v, "unused.jsonl"),
    "export_sft(out)": lambda v: export_sft(":memory:", v),
    "trace_llm_call(agent=)": lambda v: tk.trace_llm_call(agent=v),
    "trace_llm_call(provider=)": lambda v: tk.trace_llm_call(provider=v),
    "trace_tool(name=)": lambda v: tk.trace_tool(name=v),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@settings(derandomize=True, max_examples=40, deadline=None)
@given(value=WRONG)
def test_wrong_typed_arguments_raise_tracekit_errors(name: str, value: Any) -> None:
    """Each wrong-typed argument is refused at once with a TracekitError naming what it wanted."""
    if value is None and name.endswith("=)"):
        value = 0  # None is the documented default of these keyword arguments
    with pytest.raises(tk.TracekitError):
        CALLS[name](value)


def test_unopenable_sink_and_missing_ndjson_are_tracekit_errors(tmp_path: Path) -> None:
    """A directory as the sink's file and a missing NDJSON file name the path in a TracekitError."""
    with pytest.raises(tk.TracekitError, match=re.escape(str(tmp_path))):
        tk.NDJSONSink(tmp_path)
    missing = tmp_path / "missing.ndjson"
    with pytest.raises(tk.TracekitError, match=r"missing\.ndjson"):
        tk.read_ndjson(missing)


def test_an_unknown_provider_is_refused_at_decoration() -> None:
    """An unknown trace_llm_call(provider=) is refused when decorating, not at the first call."""
    with pytest.raises(tk.TracekitError, match="nope"):
        tk.trace_llm_call(provider="nope")
    assert callable(tk.trace_llm_call(provider="anthropic"))
