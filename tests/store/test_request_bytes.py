"""request_bytes bounds the HTTP body libsql-client really builds for a batch, and a save to a server
is split into batches whose real body stays under max_batch_bytes (aiohttp's large-body warning)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any

import aiohttp
import aiohttp.payload
from hypothesis import given, settings
from hypothesis import strategies as st
from libsql_client.hrana.convert import _batch_to_proto
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.carried import REWARD_KEY
from tracekit.store.libsql import LARGE_BODY_BYTES, Statement, request_bytes
from tracekit.store.manager import _default_cost, _remote_batches, _save_statements

SAVED_AT = "2026-05-01T12:00:00.000000+00:00"


def real_body(statements: Sequence[Statement]) -> int:
    """The bytes of the body libsql-client's HttpClient.batch posts: its own hrana conversion,
    written by aiohttp's default JSON serialiser and encoded as UTF-8 (aiohttp's JsonPayload)."""
    request = {"batch": _batch_to_proto([(sql, list(params)) for sql, params in statements])}
    return len(json.dumps(request).encode("utf-8"))


def test_the_body_is_written_as_assumed() -> None:
    """aiohttp still serialises `json=` bodies with json.dumps and warns past 1 MiB: the two facts
    request_bytes and the default max_batch_bytes rest on."""
    assert inspect.signature(aiohttp.ClientSession).parameters["json_serialize"].default is json.dumps
    assert aiohttp.payload.TOO_LARGE_BYTES_BODY == LARGE_BODY_BYTES


_values = st.one_of(
    st.none(),
    st.text(),  # any code point: quotes, backslashes, controls, non-ASCII, astral, lone surrogates
    st.text(alphabet='"\\\n\x00é\U0001f600a'),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.binary(max_size=40),
    st.booleans(),
)
_statements = st.lists(st.tuples(st.text(max_size=60), st.lists(_values, max_size=12)), max_size=14)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(statements=_statements)
def test_request_bytes_bounds_the_real_body(statements: list[tuple[str, list[Any]]]) -> None:
    """For any SQL and values libsql-client takes, request_bytes is at least the real body and at
    most 6 bytes a statement (its step number counted as 7 digits) plus 12 over it."""
    real = real_body(statements)
    assert real <= request_bytes(statements) <= real + 6 * len(statements) + 12


def test_request_bytes_of_saves_is_the_real_body() -> None:
    """On real saves (record JSON full of quotes to escape) the bound is the real body to within
    6 bytes a statement, while the raw SQL and values are about half of it."""
    for count in (1, 7, 40):
        traces = [make_trace(f"s{i:03d}", steps=3, seed=i) for i in range(count)]
        statements = _save_statements(traces, SAVED_AT, _default_cost())
        real = real_body(statements)
        assert real <= request_bytes(statements) <= real + 6 * len(statements) + 12
        raw = sum(len(sql) + sum(len(v) if isinstance(v, str) else 8 for v in p) for sql, p in statements)
        assert raw < 0.55 * real


def _traces(count: int, seed: int) -> list[tk.SessionTrace]:
    """`count` sessions of varied sizes, some with non-ASCII text and carried rewards."""
    traces = []
    for i in range(count):
        trace = make_trace(f"t{seed}-{i}", steps=1 + (seed + i) % 6, seed=seed + i)
        if i % 3 == 0:
            trace.metadata["note"] = "données «citées» \U0001f600 " * (1 + i % 40)
        if i % 4 == 1:
            trace.session_metadata = [
                {REWARD_KEY: {"reward_key": f"r{k}", "kind": "outcome", "value": k * 0.5, "metadata": {}}}
                for k in range(1 + i % 5)
            ]
        traces.append(trace)
    return traces


@settings(max_examples=30, derandomize=True, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=1000),
    max_bytes=st.integers(min_value=1, max_value=400_000),
)
def test_remote_batches_stay_under_max_bytes(count: int, seed: int, max_bytes: int) -> None:
    """A save's batches hold every trace once, in order; every batch of two or more traces has a
    real body under max_bytes, and one trace alone is never split."""
    traces = _traces(count, seed)
    batches = _remote_batches(traces, SAVED_AT, _default_cost(), max_bytes)
    assert [t for group, _ in batches for t in group] == traces
    for group, statements in batches:
        if len(group) > 1:
            assert real_body(statements) <= max_bytes
        assert statements == _save_statements(group, SAVED_AT, _default_cost())
    if request_bytes(_save_statements(traces, SAVED_AT, _default_cost())) <= max_bytes:
        assert len(batches) == 1


def test_the_default_bound_keeps_80_sessions_under_aiohttps_warning() -> None:
    """80 typical sessions (a 1.4 MB body in one batch) go in batches each under 1 MiB."""
    traces = [make_trace(f"d{i:03d}", steps=3, seed=i) for i in range(80)]
    assert real_body(_save_statements(traces, SAVED_AT, _default_cost())) > LARGE_BODY_BYTES
    default = inspect.signature(TursoManager).parameters["max_batch_bytes"].default
    batches = _remote_batches(traces, SAVED_AT, _default_cost(), default)
    assert len(batches) == 2
    assert all(real_body(statements) <= default < LARGE_BODY_BYTES for _, statements in batches)
