"""The save path's row JSON (orjson with the standard library's spelling) and its row building."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import codec
from tracekit.store.mapping import row_json

_text = (
    st.text()
    | st.text(
        alphabet=st.sampled_from(["a", "é", "\n", '"', "\ud800", "\udfff", "\U0001f600", "\x7f", "\u2028"])
    )
    | st.sampled_from(["12:00:40.000000+00:00", "1e-5", "x0.00001", "claude-sonnet-4-5", "e-", "0.0000"])
)
_small = st.sampled_from(
    [1e-5, -1e-5, 1.5e-5, 9.99e-5, 1e-4, 1e-7, 2.5e-8, 1.234e-9, 1e-10, 5e-324, -0.0, 1e16]
)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _small
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@settings(derandomize=True, deadline=None, max_examples=300)
@given(_json)
def test_row_json_is_the_codec_text(value: Any) -> None:
    """row_json writes exactly codec.dumps's text for any checked JSON value (floats orjson spells
    otherwise, big ints, lone surrogates, non-ASCII), and refuses exactly what the codec refuses."""
    try:
        expected = codec.dumps(value)
    except tk.SerializationError as exc:
        refusal = str(exc)
    else:
        assert row_json(value) == expected
        return
    with pytest.raises(tk.SerializationError) as caught:
        row_json(value)
    assert str(caught.value) == refusal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"x": 1e-05}, '{"x":1e-05}'),
        ({"x": [1e-07, -2.5e-08]}, '{"x":[1e-07,-2.5e-08]}'),
        ({"x": 1e-10}, '{"x":1e-10}'),
        ({"t": "2026-05-01T12:16:40.000000+00:00"}, '{"t":"2026-05-01T12:16:40.000000+00:00"}'),
        ({"n": 2**64}, '{"n":18446744073709551616}'),
        ({"s": "a\ud83d"}, '{"s":"a\\ud83d"}'),
        ({"deep": [[[[[[[[[[1]]]]]]]]]]}, '{"deep":[[[[[[[[[[1]]]]]]]]]]}'),
    ],
)
def test_row_json_spells_what_orjson_spells_otherwise_as_python_does(value: Any, text: str) -> None:
    """Floats below 1e-4, timestamps, big ints and lone surrogates come out in the standard library's text."""
    assert row_json(value) == text
