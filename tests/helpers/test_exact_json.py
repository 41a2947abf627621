"""The per-call raw JSON text written by orjson where it provably matches equals the standard
library's text (and raises what it raises); snapshot text reads back as json.loads reads it; pooled
call ids stay unique across threads and forks."""

from __future__ import annotations

import enum
import json
import os
import threading
import uuid
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracekit.helpers._exact_json import _orjson_text, json_text
from tracekit.helpers._ids import new_call_id
from tracekit.helpers._json import encode_json
from tracekit.helpers.sdk import _drop_helper_fields, sdk_json_from_text

SETTINGS = settings(
    derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class Colour(enum.Enum):
    RED = "red"


class Loose(enum.Enum):
    """An enum that claims equality with its value (orjson writes the value; json.dumps refuses)."""

    ONE = 1

    def __eq__(self, other: object) -> bool:
        return other == self.value or other is self

    __hash__ = enum.Enum.__hash__


class Key(str):
    pass


floats = st.floats() | st.sampled_from(
    [1e-5, 1e-7, 1e-9, 1e-4, 1e16, 1e22, 5e-324, -0.0, 2.2250738585072014e-308, float("nan"), float("-inf")]
)
ints = st.integers() | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1])
texts = st.text() | st.sampled_from(["\ud800", "a\udfff", "\x00\x1f\x7f\u2028", "é😀"])
odd = st.sampled_from(
    [Colour.RED, Loose.ONE, uuid.UUID(int=7), b"x", {1, 2}, 1j, Key("k"), OrderedDict(a=1), (1, "a"), True]
)
leaves = st.none() | st.booleans() | ints | floats | texts | odd
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(texts | st.sampled_from([Key("k"), 1, None, 2.5]), inner, max_size=4)
        | st.tuples(inner, inner)
    ),
    max_leaves=20,
)


def _outcome(encode: Any, value: Any) -> tuple[str, str]:
    try:
        return "text", encode(value)
    except Exception as exc:  # the type of what the standard library raises is part of the contract
        return "raised", type(exc).__name__


@SETTINGS
@given(values)
def test_json_text_equals_the_standard_librarys_text(value: Any) -> None:
    """Over JSON values, floats of every spelling, NaN, 64-bit edges, surrogates, enums (one equal
    to its value), UUIDs, subclasses, bytes, sets and tuples: the same text, or the same exception."""
    assert _outcome(json_text, value) == _outcome(encode_json, value)


def test_orjson_writes_plain_payloads_and_refuses_what_it_would_spell_differently() -> None:
    """A plain vendor payload takes orjson's text; NaN, an enum equal to its value, a UUID, a short
    exponent and a str subclass are left to the standard library."""
    payload = {"id": "x", "n": [1, 2.5, None, True], "usage": {"prompt_tokens": 19}, "t": "é"}
    assert (
        _orjson_text(payload)
        == encode_json(payload)
        == '{"id":"x","n":[1,2.5,null,true],"usage":{"prompt_tokens":19},"t":"é"}'
    )
    for odd_value in (float("nan"), float("inf"), Loose.ONE, uuid.UUID(int=7), 1e-05, Key("k"), [Colour.RED]):
        assert _orjson_text({"v": odd_value}) is None, odd_value


def test_call_ids_are_unique_uuid4_hex_across_threads() -> None:
    """Ids drawn from four threads at once (several pool refills) never repeat and are uuid4 hex."""
    drawn: list[list[str]] = [[] for _ in range(4)]

    def draw(out: list[str]) -> None:
        out.extend(new_call_id() for _ in range(3000))

    threads = [threading.Thread(target=draw, args=(out,)) for out in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for out in drawn for i in out]
    assert len(set(ids)) == 12000
    parsed = uuid.UUID(hex=ids[-1])
    assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, ids[-1])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_does_not_repeat_its_parents_pooled_ids() -> None:
    """A child forked with a half-used pool draws fresh ids, none of which the parent hands out next."""
    new_call_id()  # the parent's pool is filled and partly used
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its next ids and leave at once
        os.close(read)
        os.write(write, ",".join(new_call_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode().split(",")
    os.waitpid(pid, 0)
    parent = [new_call_id() for _ in range(100)]
    assert len(child) == 100
    assert not set(child) & set(parent)


json_values = st.recursive(
    st.none() | st.booleans() | ints | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=8,
)


@settings(SETTINGS, max_examples=50)
@given(st.dictionaries(texts, json_values, max_size=3))
def test_sdk_snapshot_text_reads_back_as_json_loads_does(data: dict[str, Any]) -> None:
    """A snapshot's text (big integers, lone surrogate escapes, every float) reads back through
    orjson or the standard library as exactly json.loads reads it."""
    text = json.dumps(data)
    expected = json.loads(text)
    _drop_helper_fields(expected)
    assert repr(sdk_json_from_text(text)) == repr(expected)
