"""Complete responses of a shape seen before are snapshotted as a tuple of their values: the rebuild
is `sdk_json`'s read exactly, anything off the shape is refused, and the shapes per class are capped."""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion
from pydantic import BaseModel
from sdk_transport import VendorServer, anthropic_client, openai_client
from trace_checks import FIXTURES, load

import tracekit as tk
from tracekit.helpers import _response_read
from tracekit.helpers.sdk import sdk_json
from tracekit.tracer import SessionTracer
from tracekit.tracing import response_shapes
from tracekit.tracing.pending import PendingLMCAISEvent

HI = [{"role": "user", "content": "hi"}]
SETTINGS = settings(
    derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
LEARNT = {
    # the responses whose shape the taker writes (the rest hold extras or dict values: text snapshot)
    ("openai_chat", "response_basic"): True,
    ("openai_chat", "response_cached_reasoning"): True,
    ("openai_chat", "response_content_filter"): False,
    ("openai_chat", "response_n3_refusal"): True,
    ("openai_chat", "response_parallel_tools"): True,
    ("openai_chat", "response_refusal"): True,
    ("openai_responses", "response_function_call"): False,
    ("openai_responses", "response_incomplete"): False,
    ("openai_responses", "response_reasoning"): False,
    ("openai_responses", "response_text"): False,
    ("anthropic", "response_prompt_cached"): True,
    ("anthropic", "response_redacted_thinking"): True,
    ("anthropic", "response_text"): True,
    ("anthropic", "response_tool_use"): False,
}


def _call(vendor: str, server: VendorServer) -> Any:
    """One instrumented SDK call of `vendor`'s API answered by `server`; returns the SDK object."""
    if vendor == "anthropic":
        return tk.instrument(anthropic_client(server)).messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=HI
        )
    client = tk.instrument(openai_client(server))
    if vendor == "openai_chat":
        return client.chat.completions.create(model="gpt-4.1", messages=HI)
    return client.responses.create(model="gpt-4.1", input="hi")


def _parked(event: Any) -> Any:
    """The snapshot a pending event was deferred with (read without completing the event)."""
    deferred = PendingLMCAISEvent.__mro__[1].__dict__["call_records"].__get__(event)
    return deferred.build.__self__._payload


def test_every_response_fixture_is_pinned() -> None:
    """LEARNT names every complete-response fixture of the three deferrable APIs, so a new fixture
    gets its path pinned too."""
    found = {
        (vendor, path.stem)
        for vendor in ("openai_chat", "openai_responses", "anthropic")
        for path in (FIXTURES / vendor).glob("response*.json")
    }
    assert found == set(LEARNT)


@pytest.mark.parametrize(("vendor", "name"), sorted(LEARNT))
def test_a_learnt_shape_snapshots_the_next_response_as_its_values(vendor: str, name: str) -> None:
    """From the second response of a shape on, the pending event holds a tuple of values whose
    rebuild is sdk_json's read of the response to the repr (types and key order); other shapes
    keep the JSON text; either way the event equals the eager one."""
    server = VendorServer().reply_json(load(vendor, name), repeat=True)
    with SessionTracer().session() as trace:
        _call(vendor, server)
        response = _call(vendor, server)
        event = trace.event_history[1]
        assert type(event) is PendingLMCAISEvent
        parked = _parked(event)
    assert (type(parked) is tuple) is LEARNT[(vendor, name)]
    if type(parked) is tuple:
        assert repr(response_shapes.rebuild(parked)) == repr(sdk_json(response))
    else:
        assert type(parked) is bytes
    record = event.call_records[0]
    expected = tk.record_from_response(response, provider=record.provider, api_type=record.api_type)
    assert (record.output_text, record.usage) == (expected.output_text, expected.usage)
    assert record.response_raw_json == expected.response_raw_json


def test_changing_a_taken_response_afterwards_reaches_nothing() -> None:
    """A response snapshotted as its values: changing its nested models, lists and scalars after
    the call leaves the record as the response was."""
    server = VendorServer().reply_json(load("openai_chat", "response_parallel_tools"), repeat=True)
    with SessionTracer().session() as trace:
        _call("openai_chat", server)
        response = _call("openai_chat", server)
        before = sdk_json(response)
        event = trace.event_history[1]
        assert type(_parked(event)) is tuple
        response.choices[0].message.tool_calls[0].function.arguments = "{}"
        response.choices[0].message.tool_calls.pop()
        response.choices.append(response.choices[0])
        response.usage.completion_tokens = 1
    record = event.call_records[0]
    assert record.response_raw_json == tk.record_from_response(before).response_raw_json
    assert [c.arguments_json for c in record.output_tool_calls] == [
        c["function"]["arguments"] for c in before["choices"][0]["message"]["tool_calls"]
    ]


class _Color(enum.Enum):
    RED = "red"


class _Text(str):
    """A str subclass (not exactly str: the shape refuses it)."""


hostile = st.sampled_from(
    [
        None, True, 0, 1, 2**63, -(2**63) - 1, 1.0, -0.0, math.nan, math.inf, "", "x", "\ud800",
        _Text("t"), b"bytes", [], ["a"], {}, {"k": 1}, (1,), _Color.RED, object(),
    ]
)  # fmt: skip
paths = st.sampled_from(
    [
        ("id",), ("created",), ("model",), ("object",), ("service_tier",), ("usage",),
        ("usage", "prompt_tokens"), ("usage", "completion_tokens_details"),
        ("usage", "completion_tokens_details", "reasoning_tokens"),
        ("choices", 0, "finish_reason"), ("choices", 0, "index"), ("choices", 0, "logprobs"),
        ("choices", 0, "message"), ("choices", 0, "message", "content"),
        ("choices", 0, "message", "refusal"), ("choices", 0, "message", "annotations"),
        ("choices", 0, "message", "role"), ("choices",),
    ]
)  # fmt: skip


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set the field at `path` (skipped when an earlier change replaced a model on the way)."""
    for step in path[:-1]:
        if isinstance(step, int):
            obj = obj[step] if type(obj) is list and len(obj) > step else None
        else:
            obj = getattr(obj, step, None) if isinstance(obj, BaseModel) else None
    if isinstance(obj, BaseModel):
        setattr(obj, path[-1], value)


@SETTINGS
@given(st.lists(st.tuples(paths, hostile), min_size=1, max_size=3))
def test_a_response_off_the_learnt_shape_is_refused_or_rebuilt_exactly(
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    """Any value of another type, out of range or non-finite, anywhere in a response of a learnt
    shape: the taker refuses it (the text snapshot is taken) or its rebuild is sdk_json's read
    exactly; a response sdk_json cannot read is always refused."""
    body = load("openai_chat", "response_basic")
    response_shapes.learn(ChatCompletion.model_validate(body))
    obj = ChatCompletion.model_validate(body)
    assert response_shapes.take(obj) is not None
    for path, value in changes:
        _set(obj, path, value)
    snap = response_shapes.take(obj)
    try:
        read = sdk_json(obj)
    except Exception:
        assert snap is None
        return
    if snap is not None:
        assert repr(response_shapes.rebuild(snap)) == repr(read)


def test_the_call_path_and_record_from_response_share_their_shapes() -> None:
    """A shape record_from_response learnt serves the call path's snapshot and the reverse, so each
    class compiles a shape once (the cap, 16 shapes and 64 tries a class, is pinned by
    tests/helpers/test_response_read.py on the same table)."""

    class Seen(ChatCompletion):
        """A class of its own, so that no other test's shapes count."""

    class Other(ChatCompletion):
        """Another, learnt on the call path first."""

    body = load("openai_chat", "response_basic")
    tk.record_from_response(Seen.model_validate(body))
    snap = response_shapes.take(Seen.model_validate(body))
    assert snap is not None
    assert repr(response_shapes.rebuild(snap)) == repr(sdk_json(Seen.model_validate(body)))
    response_shapes.learn(Other.model_validate(body))
    assert response_shapes.TAKERS[Other] == _response_read.TAKERS[Other]
    assert len(_response_read.TAKERS[Other]) == 1
