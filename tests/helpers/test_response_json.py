"""record_from_response on an SDK object of a learnt shape writes its raw JSON text with one orjson
call and no second check: the text is the checked path's, byte for byte, floats and lone surrogates
included; the short-exponent check finds exactly what its regex finds."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion
from sdk_transport import VendorServer, anthropic_client, gemini_client, openai_client

import tracekit as tk
from tracekit.helpers import _response_read
from tracekit.helpers._exact_json import _SHORT_EXPONENT, _short_exponent, json_text
from tracekit.helpers.recorder import _storable
from tracekit.helpers.sdk import sdk_json
from tracekit.model import LLMCallRecord

SETTINGS = settings(
    derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
HI = [{"role": "user", "content": "hi"}]
FAST = [
    ("openai_chat", "response_basic"),
    ("openai_chat", "response_cached_reasoning"),
    ("openai_chat", "response_n3_refusal"),
    ("openai_chat", "response_parallel_tools"),
    ("anthropic", "response_text"),
    ("anthropic", "response_prompt_cached"),
    ("gemini", "response_implicit_caching"),
    ("gemini", "response_url_context"),
]


@cache
def _made(vendor: str, name: str) -> Any:
    """The vendor SDK's own response object for the fixture, from its real client over the fake
    transport (tests change deep copies of it)."""
    from conftest import _load

    server = VendorServer().reply_json(_load(vendor, name))
    if vendor == "anthropic":
        return anthropic_client(server).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI)
    if vendor == "gemini":
        return gemini_client(server).models.generate_content(model="gemini-2.5-flash", contents="hi")
    return openai_client(server).chat.completions.create(model="gpt-4.1", messages=HI)


def _dumped(obj: Any) -> LLMCallRecord:
    """The record of the dict sdk_json dumps from `obj` (the checked path), with a fixed call id."""
    data = sdk_json(obj)
    assert data is not None
    return tk.record_from_response(data, call_id="c")


@pytest.mark.parametrize(("vendor", "name"), FAST)
def test_the_text_of_a_read_is_the_checked_paths(vendor: str, name: str) -> None:
    """For each recorded response of a learnt shape, read_json's text is the text `_storable` writes
    for the same dict, and the record equals the dumped dict's."""
    obj = _made(vendor, name)
    tk.record_from_response(copy.deepcopy(obj))  # the shape is learnt
    fast = _response_read.read_json(obj)
    assert fast is not None
    data, text = fast
    assert text is not None
    assert text == json_text(data) == _storable(data, "response", [])[1]
    record = tk.record_from_response(obj, call_id="c")
    assert record == _dumped(obj)
    assert record.response_raw_json == text


def _with_logprob(logprob: float, token: str = "Hi") -> ChatCompletion:
    """A chat completion whose first choice carries one token's logprob (a shape holding floats)."""
    from conftest import _load

    body = _load("openai_chat", "response_basic")
    body["choices"][0]["logprobs"] = {
        "content": [{"token": token, "logprob": logprob, "bytes": [72, 105], "top_logprobs": []}],
        "refusal": None,
    }
    return ChatCompletion.model_validate(body)


class _LogprobChat(ChatCompletion):
    """A class of its own, so that its shapes are this test's alone."""


@SETTINGS
@given(
    st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-5, 1e-7, 1e-9, 1e-4, 2.5e-10, 1e16, 5e-324, -0.0, -1e-7, 0.00001234]),
    st.text() | st.sampled_from(["\ud800", "1e-7", "0.00001", "claude-3e-5"]),
)
def test_a_shape_holding_floats_writes_each_float_as_the_checked_path(logprob: float, token: str) -> None:
    """A shape with a float is marked so: its text is orjson's only where every float is spelled as
    repr spells it (1e-7, 0.00001 go the checked way), and a lone surrogate takes the checked path;
    the record, raw JSON included, is the dumped dict's for any float and any token text."""
    learnt = _LogprobChat.model_validate(_with_logprob(-0.5).model_dump(mode="json", exclude_unset=True))
    tk.record_from_response(learnt)
    obj = _LogprobChat.model_validate(_with_logprob(logprob, token).model_dump(exclude_unset=True))
    fast = _response_read.read_json(obj)
    assert fast is not None
    assert any(taker in _response_read._FLOATY for taker in _response_read.TAKERS[_LogprobChat])
    data, text = fast
    if text is not None:
        assert text == json_text(data)
    if logprob in (1e-5, 1e-7, -1e-7, 0.00001234) or "\ud800" in token:
        assert text is None
    record = tk.record_from_response(obj, call_id="c")
    assert record == _dumped(obj)


def test_a_shape_without_floats_is_not_marked() -> None:
    """The typical chat response holds no float: its shape needs no spelling check."""
    obj = _made("openai_chat", "response_basic")
    tk.record_from_response(copy.deepcopy(obj))
    takers = _response_read.TAKERS[type(obj)]
    assert any(taker(obj) is not None and taker not in _response_read._FLOATY for taker in takers)


@SETTINGS
@given(
    st.binary(max_size=60)
    | st.lists(st.sampled_from([b"1", b"e", b"-", b"9", b"a", b'"']), max_size=80).map(b"".join)
)
def test_the_short_exponent_check_finds_what_the_regex_finds(text: bytes) -> None:
    """Looking at each "e-" in place (then the regex past 16 of them) answers as the regex does."""
    assert _short_exponent(text) is (_SHORT_EXPONENT(text) is not None)


def test_the_short_exponent_check_on_known_texts() -> None:
    """A model id's "e-" is no exponent; orjson's "1e-7" is; a two-digit exponent is repr's own."""
    assert _short_exponent(b'{"model":"claude-3-5-sonnet-20240620"}') is False
    assert _short_exponent(b'{"x":1e-7}') is True
    assert _short_exponent(b'{"x":2.5e-10}') is False
    assert _short_exponent(b"1e-7") is True
    assert _short_exponent(b"e-7") is False
    assert _short_exponent(b"1e-") is False
    assert _short_exponent(b"time-e-" * 40 + b"3e-4") is True
