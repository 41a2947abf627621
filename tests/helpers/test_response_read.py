"""record_from_response on an SDK object of a shape seen before reads it through the learnt shape:
the record (raw JSON copy, notes and errors included) is the one the dumped dict gives, anything off
the shape takes the dump, and the shapes learnt per class are capped."""

from __future__ import annotations

import copy
import enum
import math
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion
from pydantic import BaseModel
from sdk_transport import VendorServer, anthropic_client, gemini_client, openai_client

import tracekit as tk
from tracekit.errors import UnsupportedPayloadError
from tracekit.helpers import _response_read
from tracekit.helpers.sdk import sdk_json
from tracekit.model import LLMCallRecord

Load = Callable[[str, str], Any]
HI = [{"role": "user", "content": "hi"}]
SETTINGS = settings(
    derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
READ_FAST = {
    # the fixtures whose shape `_shapes` writes (the others hold extras, dict values or nested lists)
    ("openai_chat", "response_basic"): True,
    ("openai_chat", "response_cached_reasoning"): True,
    ("openai_chat", "response_content_filter"): False,
    ("openai_chat", "response_n3_refusal"): True,
    ("openai_chat", "response_parallel_tools"): True,
    ("openai_chat", "response_refusal"): True,
    ("openai_responses", "response_function_call"): False,
    ("openai_responses", "response_text"): False,
    ("anthropic", "response_prompt_cached"): True,
    ("anthropic", "response_redacted_thinking"): True,
    ("anthropic", "response_text"): True,
    ("anthropic", "response_tool_use"): False,
    ("gemini", "response_implicit_caching"): True,
    ("gemini", "response_parallel_calls"): False,
    ("gemini", "response_prompt_blocked"): True,
    ("gemini", "response_url_context"): True,
}
FUZZED = [key for key, fast in sorted(READ_FAST.items()) if fast]
API = {
    "openai_chat": ("openai", "chat_completions"),
    "openai_responses": ("openai", "responses"),
    "anthropic": ("anthropic", "messages"),
    "gemini": ("google", "generate_content"),
}


def _sdk_response(vendor: str, body: dict[str, Any]) -> Any:
    """The vendor SDK's own response object for `body`, from its real client over the fake transport."""
    server = VendorServer().reply_json(body)
    if vendor == "anthropic":
        return anthropic_client(server).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI)
    if vendor == "gemini":
        return gemini_client(server).models.generate_content(model="gemini-2.5-flash", contents="hi")
    client = openai_client(server)
    if vendor == "openai_chat":
        return client.chat.completions.create(model="gpt-4.1", messages=HI)
    return client.responses.create(model="gpt-4.1", input="hi")


@cache
def _made(vendor: str, name: str) -> Any:
    """One SDK object per fixture (tests change deep copies of it)."""
    from conftest import _load

    return _sdk_response(vendor, _load(vendor, name))


def _record(vendor: str, payload: Any) -> LLMCallRecord:
    """record_from_response of `payload` as `vendor`'s API (some fixtures are fragments that
    detection alone would refuse), with a fixed call id."""
    provider, api_type = API[vendor]
    return tk.record_from_response(payload, provider=provider, api_type=api_type, call_id="c")


def _outcome(vendor: str, payload: Any) -> LLMCallRecord | tuple[str, str]:
    """The record, or the type and text of the error record_from_response raised."""
    try:
        return _record(vendor, payload)
    except Exception as exc:
        return type(exc).__name__, str(exc)


def _exact(vendor: str, obj: Any) -> LLMCallRecord:
    """The record of the dict sdk_json dumps from `obj` (the path every SDK object took before)."""
    data = sdk_json(obj)
    assert data is not None
    return _record(vendor, data)


@pytest.mark.parametrize(("vendor", "name"), sorted(READ_FAST))
def test_a_learnt_shape_gives_the_record_of_the_dump(vendor: str, name: str) -> None:
    """From the second response of a shape on, the SDK object is read through its learnt shape (or,
    for shapes `_shapes` cannot write, dumped) and the record equals the dumped dict's, raw JSON
    text included."""
    obj = _made(vendor, name)
    first = _record(vendor, copy.deepcopy(obj))
    fast = _response_read.read(obj)
    assert (fast is not None) is READ_FAST[(vendor, name)]
    if fast is not None:
        assert repr(fast) == repr(sdk_json(obj))
    second = _record(vendor, obj)
    assert first == second == _exact(vendor, obj)
    assert second.response_raw_json is not None
    assert second.response_raw_json == _exact(vendor, obj).response_raw_json


def test_a_read_is_fresh_each_time() -> None:
    """The read is of the object as it is now: a changed value after the shape was learnt shows in
    the next record, and the dict handed back is a new one each time."""
    obj = copy.deepcopy(_made("openai_chat", "response_basic"))
    tk.record_from_response(obj)
    before = _response_read.read(obj)
    assert before is not None
    assert before is not _response_read.read(obj)
    obj.choices[0].message.content = "Changed."
    obj.usage.completion_tokens = 3
    record = tk.record_from_response(obj)
    assert record.output_text == "Changed."
    assert record.usage is not None
    assert record.usage.output_tokens == 3
    assert '"completion_tokens":3' in (record.response_raw_json or "")


class _Color(enum.Enum):
    RED = "red"


class _Text(str):
    """A str subclass (not exactly str: the shape refuses it)."""


hostile = st.sampled_from(
    [
        None, True, 0, 1, -1, 2**63, 2**64, -(2**63) - 1, 1.0, -0.0, 1e-7, math.nan, math.inf, "", "x",
        "\ud800", "\x00", _Text("t"), b"bytes", [], ["a"], {}, {"k": 1}, (1,), _Color.RED, object(),
    ]
)  # fmt: skip


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field and list item under `obj`, as attribute names and list indexes from it."""
    found: list[tuple[Any, ...]] = []
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            found.append((*prefix, name))
            found.extend(_paths(getattr(obj, name), (*prefix, name)))
    elif type(obj) is list:
        for i, item in enumerate(obj):
            found.append((*prefix, i))
            found.extend(_paths(item, (*prefix, i)))
    return found


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set the field or item at `path` (skipped when an earlier change replaced a model on the way)."""
    for step in path[:-1]:
        if isinstance(step, int):
            obj = obj[step] if type(obj) is list and len(obj) > step else None
        else:
            obj = getattr(obj, step, None) if isinstance(obj, BaseModel) else None
    last = path[-1]
    if isinstance(last, int):
        if type(obj) is list and len(obj) > last:
            obj[last] = value
    elif isinstance(obj, BaseModel):
        setattr(obj, last, value)


@SETTINGS
@given(
    st.sampled_from(FUZZED),
    st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), hostile), min_size=1, max_size=3),
)
def test_a_changed_response_gives_the_record_of_its_dump(
    fixture: tuple[str, str], changes: list[tuple[int, Any]]
) -> None:
    """Values of another type, out of range, non-finite or not JSON anywhere in a response of a
    learnt shape: the record equals the one of sdk_json's dict (errors and notes included), and a
    response sdk_json cannot read is refused with the same error as before."""
    vendor, name = fixture
    original = _made(vendor, name)
    _record(vendor, copy.deepcopy(original))  # the shape is learnt
    obj = copy.deepcopy(original)
    paths = _paths(obj)
    for pick, value in changes:
        _set(obj, paths[pick % len(paths)], value)
    try:
        data = sdk_json(obj)
    except Exception:
        with pytest.raises(UnsupportedPayloadError, match="could not be read as JSON by its own model_dump"):
            _record(vendor, obj)
        return
    assert data is not None
    fast = _response_read.read(obj)
    if fast is not None:
        assert repr(fast) == repr(data)
    assert _outcome(vendor, obj) == _outcome(vendor, data)


def test_the_shapes_of_a_class_are_capped() -> None:
    """A class of ever-new shapes stops being learnt: 16 shapes kept, then none tried; a class
    whose shapes cannot be written is tried 64 times, then no more, and still recorded exactly."""

    class Many(ChatCompletion):
        """A class of its own, so that no other test's shapes count."""

    class Extra(ChatCompletion):
        """Another: its responses carry a field the SDK does not declare (the taker refuses extras)."""

    from conftest import _load

    body = _load("openai_chat", "response_basic")
    for n in range(80):
        data = {**body, "choices": [body["choices"][0]] * (1 + n % 8)}
        if n // 8 % 2:
            data.pop("usage")
        if n // 16 % 2:
            data["system_fingerprint"] = "fp"
        tk.record_from_response(Many.model_validate(data))
        extra = Extra.model_validate({**data, "vendor_extra": n})
        assert _record("openai_chat", extra) == _exact("openai_chat", extra)
    assert len(_response_read.TAKERS[Many]) == 16
    assert _response_read._TRIES[Many] == 16
    assert Extra not in _response_read.TAKERS
    assert _response_read._TRIES[Extra] == 64
