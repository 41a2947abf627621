"""Anthropic Messages normaliser: responses, event streams, requests and malformed payloads."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from factories import SdkObject, at, without_chunks
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit.helpers import anthropic
from tracekit.helpers.base import ChunkKind, PayloadProblem
from tracekit.model import LLMContentPart, LLMMessage, ToolCallSpec, ToolDefinition

Load = Callable[[str, str], Any]


@pytest.fixture
def load(load_fixture: Load) -> Callable[[str], Any]:
    """`load(name)` -> tests/fixtures/anthropic/<name>.json."""
    return lambda name: load_fixture("anthropic", name)


def fold(events: list[dict[str, Any]]) -> tuple[list[ChunkKind], anthropic.AnthropicStreamState]:
    """Feed `events` to a fresh stream state; return the chunk kinds and the state."""
    state = anthropic.new_stream_state()
    kinds = [anthropic.add_chunk(state, event).kind for event in events]
    return kinds, state


# ---------------------------------------------------------------------------------------------
# Detection


def test_is_response_accepts_api_and_docs_shapes(load: Callable[[str], Any]) -> None:
    """A `type: message` body and the docs' envelope without `type` are both responses; events are not."""
    assert anthropic.is_response(load("response_text")) is True
    assert anthropic.is_response(load("response_tool_use")) is True
    assert anthropic.is_response(load("stream_text")[0]) is False
    assert anthropic.is_response({"candidates": []}) is False


def test_is_chunk_accepts_every_event_and_rejects_openai_error(load: Callable[[str], Any]) -> None:
    """Every documented event type is a chunk; OpenAI's flat `error` event and responses are not."""
    events = load("stream_tool_use") + load("stream_thinking") + load("stream_error")
    assert all(anthropic.is_chunk(event) for event in events)
    assert anthropic.is_chunk({"type": "error", "code": "x", "message": "m", "sequence_number": 3}) is False
    assert anthropic.is_chunk(load("response_text")) is False


# ---------------------------------------------------------------------------------------------
# Complete responses


def test_text_response_usage_and_fields(load: Callable[[str], Any]) -> None:
    """The API reference example gives its text, ids, raw stop_reason and exact usage."""
    parts = anthropic.parse_response(load("response_text"))
    assert parts.model_name == "claude-3-5-sonnet-20240620"
    assert parts.response_id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert parts.output_text == "Hi! My name is Claude."
    assert parts.reasoning_text is None
    assert parts.finish_reason == "end_turn"
    assert parts.outcome == "success"
    assert parts.error is None
    assert parts.outputs == []
    assert parts.output_messages == [
        LLMMessage(role="assistant", parts=[LLMContentPart(type="text", text="Hi! My name is Claude.")])
    ]
    usage = parts.usage
    assert usage is not None
    assert usage.input_tokens == 2095
    assert usage.output_tokens == 503
    assert usage.total_tokens == 2598
    assert usage.cache_read_tokens is None
    assert usage.cache_write_tokens is None
    assert usage.cache_write_1h_tokens is None
    assert usage.reasoning_tokens is None
    assert usage.raw == {"input_tokens": 2095, "output_tokens": 503}


def test_prompt_cache_usage_adds_cache_reads_and_writes_to_input(load: Callable[[str], Any]) -> None:
    """input = input_tokens + cache_read + cache_creation (2048 + 1800 + 248); breakdowns kept apart."""
    usage = anthropic.parse_response(load("response_prompt_cached")).usage
    assert usage is not None
    assert usage.input_tokens == 2048 + 1800 + 248 == 4096
    assert usage.output_tokens == 503
    assert usage.total_tokens == 4096 + 503
    assert usage.cache_read_tokens == 1800
    assert usage.cache_write_tokens == 248
    assert usage.cache_write_1h_tokens == 100
    assert usage.raw == load("response_prompt_cached")["usage"]


def test_tool_use_response_gives_compact_arguments_and_call_id(load: Callable[[str], Any]) -> None:
    """A tool_use block becomes a tool call keyed by its id, with compact JSON of `input`."""
    parts = anthropic.parse_response(load("response_tool_use"))
    call = ToolCallSpec(
        name="get_weather",
        arguments_json='{"location":"San Francisco, CA","unit":"celsius"}',
        arguments={"location": "San Francisco, CA", "unit": "celsius"},
        call_id="toolu_01A09q90qw90lq917835lq9",
        index=0,
    )
    assert parts.output_tool_calls == [call]
    assert parts.output_messages[0].tool_calls == [call]
    assert parts.output_text == "I'll check the current weather in San Francisco for you."
    assert parts.finish_reason == "tool_use"
    assert parts.usage is None
    assert parts.outcome == "success"


def test_thinking_and_redacted_thinking_stay_out_of_output_text(load: Callable[[str], Any]) -> None:
    """Thinking keeps its signature, redacted thinking its data, and neither reaches output_text."""
    parts = anthropic.parse_response(load("response_redacted_thinking"))
    blocks = load("response_redacted_thinking")["content"]
    assert parts.output_messages[0].parts == [
        LLMContentPart(
            type="thinking",
            text="Let me analyze this step by step...",
            data={"signature": blocks[0]["signature"]},
        ),
        LLMContentPart(type="redacted_thinking", data={"data": blocks[1]["data"]}),
        LLMContentPart(type="text", text="Based on my analysis..."),
    ]
    assert parts.output_text == "Based on my analysis..."
    assert parts.reasoning_text == "Let me analyze this step by step..."


def test_malformed_block_is_reported_and_others_kept(load: Callable[[str], Any]) -> None:
    """A text block whose text is not a string is noted in `error`; the tool call next to it survives."""
    payload = copy.deepcopy(load("response_tool_use"))
    payload["content"][0]["text"] = 5
    parts = anthropic.parse_response(payload)
    assert parts.outcome == "error"
    assert parts.error == {
        "type": "malformed_payload",
        "path": "content[0].text",
        "message": "content[0].text: expected a string (got 5)",
    }
    assert [c.call_id for c in parts.output_tool_calls] == ["toolu_01A09q90qw90lq917835lq9"]
    assert parts.output_text is None


def test_malformed_usage_is_reported_and_content_kept(load: Callable[[str], Any]) -> None:
    """A fractional token count is refused (input None, raw kept) and noted; text and output kept."""
    payload = copy.deepcopy(load("response_text"))
    payload["usage"]["input_tokens"] = 20.5
    parts = anthropic.parse_response(payload)
    assert parts.usage is not None
    assert (parts.usage.input_tokens, parts.usage.output_tokens, parts.usage.total_tokens) == (
        None,
        503,
        None,
    )
    assert parts.usage.raw == {"input_tokens": 20.5, "output_tokens": 503}
    assert parts.outcome == "error"
    assert parts.error is not None
    assert parts.error["path"] == "usage.input_tokens"
    assert parts.output_text == "Hi! My name is Claude."


# ---------------------------------------------------------------------------------------------
# Streams


def test_text_stream_kinds_and_usage(load: Callable[[str], Any]) -> None:
    """The SDK's basic stream: kinds in order, text concatenated, message_delta usage merged in."""
    kinds, state = fold(load("stream_text"))
    assert kinds == ["meta", "meta", "ping", "content", "content", "content", "meta", "usage", "done"]
    parts = anthropic.finish_stream(state)
    assert parts.output_text == "Hello there!"
    assert parts.finish_reason == "end_turn"
    assert parts.outcome == "success"
    assert parts.response_id == "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK"
    assert parts.model_name == "claude-3-opus-latest"
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (11, 6, 17)
    assert usage.raw == {"input_tokens": 11, "output_tokens": 6}


def test_tool_use_stream_concatenates_partial_json(load: Callable[[str], Any]) -> None:
    """input_json_delta pieces join into arguments_json; the empty first piece is not content."""
    kinds, state = fold(load("stream_tool_use"))
    assert kinds == [
        "meta",
        "meta",
        "ping",
        "content",
        "content",
        "meta",
        "meta",
        "meta",
        "content",
        "content",
        "content",
        "content",
        "meta",
        "usage",
        "done",
    ]
    parts = anthropic.finish_stream(state)
    assert parts.output_tool_calls == [
        ToolCallSpec(
            name="get_weather",
            arguments_json='{"location": "Paris"}',
            arguments={"location": "Paris"},
            call_id="toolu_01NRLabsLyVHZPKxbKvkfSMn",
            index=0,
        )
    ]
    assert parts.output_text == "I'll check the current weather in Paris for you."
    assert parts.finish_reason == "tool_use"
    usage = parts.usage
    assert usage is not None
    assert usage.input_tokens == 377 + 0 + 0
    assert usage.output_tokens == 65
    assert usage.total_tokens == 442
    assert usage.cache_read_tokens == 0
    assert usage.cache_write_tokens == 0
    assert usage.cache_write_1h_tokens is None


def test_thinking_stream_keeps_signature_and_reasoning_apart(load: Callable[[str], Any]) -> None:
    """thinking_delta is content kept as reasoning; signature_delta is meta and lands in `data`."""
    kinds, state = fold(load("stream_thinking"))
    assert kinds == [
        "meta",
        "meta",
        "content",
        "content",
        "meta",
        "meta",
        "meta",
        "content",
        "meta",
        "usage",
        "done",
    ]
    parts = anthropic.finish_stream(state)
    assert parts.reasoning_text == (
        "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147"
        "\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0\n\nSo GCD(1071, 462) = 21"
    )
    assert parts.output_text == "The greatest common divisor of 1071 and 462 is **21**."
    assert parts.output_messages[0].parts[0].data == {
        "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."
    }
    assert parts.usage is None
    assert parts.outcome == "success"


def test_message_delta_usage_is_cumulative_newest_field_wins(load: Callable[[str], Any]) -> None:
    """message_delta's usage replaces message_start's field by field (never summed)."""
    _, state = fold(load("stream_cumulative_usage"))
    usage = anthropic.finish_stream(state).usage
    assert usage is not None
    assert usage.input_tokens == 40 + 7 + 12 == 59
    assert usage.output_tokens == 8
    assert usage.total_tokens == 67
    assert usage.cache_read_tokens == 7
    assert usage.cache_write_tokens == 12
    assert usage.cache_write_1h_tokens == 0
    assert usage.raw == {
        "input_tokens": 40,
        "cache_creation_input_tokens": 12,
        "cache_read_input_tokens": 7,
        "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 8,
        "service_tier": "standard",
        "output_tokens_details": {"thinking_tokens": 3},
        "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0},
    }


def test_invalid_tool_json_keeps_text_and_is_not_an_error(load: Callable[[str], Any]) -> None:
    """Unparseable streamed tool input keeps arguments_json, gives arguments None, outcome success."""
    _, state = fold(load("stream_tool_use_invalid_json"))
    parts = anthropic.finish_stream(state)
    (call,) = parts.output_tool_calls
    assert call.arguments_json == '{"location": "Paris", "unit": celsius}'
    assert call.arguments is None
    assert parts.outcome == "success"
    assert parts.error is None


def test_max_tokens_stream_keeps_partial_tool_input(load: Callable[[str], Any]) -> None:
    """A stream stopped by max_tokens mid-argument keeps the partial JSON and the raw stop_reason."""
    _, state = fold(load("stream_max_tokens_partial_json"))
    parts = anthropic.finish_stream(state)
    (call,) = parts.output_tool_calls
    assert call.name == "make_file"
    assert call.arguments is None
    assert call.arguments_json == (
        '{"filename": "taxes.txt", "lines_of_text": [\n"# COMPREHENSIVE TAX GUIDE FOR INDIVIDUALS WITH '
        'MULTIPLE W-2s",\n"",\n"## INTRODUCTION",\n"",\n"Filing taxes'
    )
    assert parts.finish_reason == "max_tokens"
    assert parts.outcome == "success"
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (450, 124)


def test_refusal_stream_keeps_stop_details(load: Callable[[str], Any]) -> None:
    """stop_reason "refusal" is kept raw, with stop_details on the message; the empty block gives ""."""
    _, state = fold(load("stream_refusal"))
    parts = anthropic.finish_stream(state)
    assert parts.finish_reason == "refusal"
    assert parts.output_text == ""
    assert parts.output_messages[0].metadata == {
        "stop_details": {
            "type": "refusal",
            "category": "cyber",
            "explanation": "This request was refused due to policy.",
        }
    }
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (20, 120, 140)


def test_error_event_marks_error_and_keeps_partial_text(load: Callable[[str], Any]) -> None:
    """An overloaded_error event makes the outcome error with the vendor's type and message."""
    kinds, state = fold(load("stream_error"))
    assert kinds == ["meta", "meta", "ping", "content", "error"]
    parts = anthropic.finish_stream(state)
    assert parts.outcome == "error"
    assert parts.error == {"type": "overloaded_error", "message": "Overloaded"}
    assert parts.output_text == "Hello"
    assert parts.finish_reason is None


def test_stream_cut_short_is_incomplete_with_partial_text_and_usage(load: Callable[[str], Any]) -> None:
    """Without message_stop the outcome is incomplete; text and message_start usage are kept."""
    _, state = fold(load("stream_text")[:5])
    parts = anthropic.finish_stream(state)
    assert parts.outcome == "incomplete"
    assert parts.error is None
    assert parts.output_text == "Hello there"
    assert parts.finish_reason is None
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (11, 1, 12)


def test_stream_cut_mid_tool_input_keeps_partial_arguments(load: Callable[[str], Any]) -> None:
    """A stream cut inside tool input keeps the received JSON prefix with arguments None."""
    _, state = fold(load("stream_tool_use")[:9])
    parts = anthropic.finish_stream(state)
    assert parts.outcome == "incomplete"
    (call,) = parts.output_tool_calls
    assert call.arguments_json == '{"locati'
    assert call.arguments is None
    assert call.call_id == "toolu_01NRLabsLyVHZPKxbKvkfSMn"


def test_unicode_split_across_deltas_is_rejoined_exactly(load: Callable[[str], Any]) -> None:
    """An emoji and its variation selector in different deltas, and CJK pieces, rejoin unchanged."""
    events = load("stream_text")
    pieces = ["Zü", "rich 🌦", "\ufe0f 天", "气"]
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
        for p in pieces
    ]
    kinds, state = fold(events[:3] + deltas + events[6:])
    assert kinds == [
        "meta",
        "meta",
        "ping",
        "content",
        "content",
        "content",
        "content",
        "meta",
        "usage",
        "done",
    ]
    assert anthropic.finish_stream(state).output_text == "Zürich 🌦\ufe0f 天气"


def test_utf16_halves_in_separate_deltas_are_paired_again(load: Callable[[str], Any]) -> None:
    """A non-BMP character sent as two \\u escapes in two deltas becomes one character again."""
    events = load("stream_text")
    halves = json.loads('["\\ud83c", "\\udf26", " ok"]')
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": h}}
        for h in halves
    ]
    _, state = fold(events[:3] + deltas + events[6:])
    assert anthropic.finish_stream(state).output_text == "🌦 ok"


def test_non_finite_tool_arguments_count_as_invalid_json(load: Callable[[str], Any]) -> None:
    """NaN in streamed tool input leaves arguments None (a record holding NaN could not be stored)."""
    events = copy.deepcopy(load("stream_tool_use"))
    events[11]["delta"]["partial_json"] = 'is", "t": NaN}'
    _, state = fold(events)
    (call,) = anthropic.finish_stream(state).output_tool_calls
    assert call.arguments_json == '{"location": "Paris", "t": NaN}'
    assert call.arguments is None


def test_server_tool_use_block_is_kept_verbatim_with_streamed_input(load: Callable[[str], Any]) -> None:
    """A server_tool_use block is a content part of its own type holding the streamed input."""
    kinds, state = fold(load("stream_server_tool_use"))
    expected = ["meta", "meta", "content", "meta", "meta", "meta", "content", "content", "content", "meta"]
    assert kinds == [*expected, "usage", "done"]
    parts = anthropic.finish_stream(state)
    assert parts.output_tool_calls == []
    assert parts.output_messages[0].parts == [
        LLMContentPart(type="text", text="Let me search for that."),
        LLMContentPart(
            type="server_tool_use",
            data={
                "type": "server_tool_use",
                "id": "srvtoolu_01WebSearch",
                "name": "web_search",
                "input": {"query": "weather in Paris"},
            },
        ),
    ]
    assert parts.output_text == "Let me search for that."
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (42, 40, 82)


def test_malformed_stream_usage_is_reported_and_text_kept(load: Callable[[str], Any]) -> None:
    """A non-integer output_tokens in message_delta is noted in `error`; the text survives."""
    events = copy.deepcopy(load("stream_text"))
    events[7]["usage"]["output_tokens"] = "6"
    _, state = fold(events)
    parts = anthropic.finish_stream(state)
    assert parts.usage is not None
    assert (parts.usage.input_tokens, parts.usage.output_tokens) == (11, None)
    assert parts.usage.raw == {"input_tokens": 11, "output_tokens": "6"}
    assert parts.outcome == "error"
    assert parts.error == {
        "type": "malformed_payload",
        "path": "usage.output_tokens",
        "message": "usage.output_tokens: token count is not a whole number in 0..2**63-1 (got '6')",
    }
    assert parts.output_text == "Hello there!"


def test_malformed_event_is_noted_and_later_events_kept(load: Callable[[str], Any]) -> None:
    """A delta without an index is noted; the deltas after it still build the text."""
    events = copy.deepcopy(load("stream_text"))
    del events[3]["index"]
    kinds, state = fold(events)
    assert kinds[3] == "meta"
    parts = anthropic.finish_stream(state)
    assert parts.output_text == " there!"
    assert parts.error is not None
    assert parts.error["path"] == "content_block_delta.index"
    assert parts.outcome == "error"


# ---------------------------------------------------------------------------------------------
# Requests


def test_request_with_system_blocks_images_tool_use_and_tool_result(load: Callable[[str], Any]) -> None:
    """System blocks, image sources, tool_use and tool_result all map to normalised messages."""
    request = load("request_tool_result")
    req = anthropic.parse_request(request)
    assert req.model_name == "claude-opus-4-7"
    system, user, assistant, result = req.input_messages
    assert system == LLMMessage(
        role="system",
        parts=[
            LLMContentPart(type="text", text=request["system"][0]["text"]),
            LLMContentPart(
                type="text",
                text="<the entire contents of 'Pride and Prejudice'>",
                data={"cache_control": {"type": "ephemeral"}},
            ),
        ],
    )
    assert user.parts == [
        LLMContentPart(type="image", mime_type="image/jpeg", base64_data="/9j/4AAQSkZJRg..."),
        LLMContentPart(
            type="image",
            uri="https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg",
        ),
        LLMContentPart(type="text", text="What's the weather like in San Francisco?"),
    ]
    assert assistant.role == "assistant"
    assert assistant.tool_calls == [
        ToolCallSpec(
            name="get_weather",
            arguments_json='{"location":"San Francisco, CA","unit":"celsius"}',
            arguments={"location": "San Francisco, CA", "unit": "celsius"},
            call_id="toolu_01A09q90qw90lq917835lq9",
            index=0,
        )
    ]
    assert result.parts == [
        LLMContentPart(
            type="tool_result", text="15 degrees", data={"tool_use_id": "toolu_01A09q90qw90lq917835lq9"}
        )
    ]
    assert req.tools == [
        ToolDefinition(
            name="get_weather",
            description="Get the current weather in a given location",
            parameters=request["tools"][0]["input_schema"],
        )
    ]
    assert req.tool_choice == {"type": "tool", "name": "get_weather"}
    params = req.request_params
    assert (params.temperature, params.top_p, params.top_k, params.max_tokens) == (0.7, 0.7, 5, 1024)
    assert params.stop == ["\n\nHuman:"]
    assert params.thinking_budget_tokens is None
    assert params.raw_params == {}


def test_request_thinking_budget_and_string_content(load: Callable[[str], Any]) -> None:
    """thinking.budget_tokens becomes thinking_budget_tokens; the thinking object stays in raw_params."""
    req = anthropic.parse_request(load("request_thinking"))
    assert req.input_messages == [
        LLMMessage(
            role="user",
            parts=[LLMContentPart(type="text", text="What is the greatest common divisor of 1071 and 462?")],
        )
    ]
    params = req.request_params
    assert params.thinking_budget_tokens == 10000
    assert params.max_tokens == 16000
    assert params.stream is True
    assert params.raw_params == {"thinking": {"type": "enabled", "budget_tokens": 10000}}


def test_request_with_bad_role_raises_payload_problem() -> None:
    """A message role Anthropic does not accept raises PayloadProblem naming the path."""
    with pytest.raises(PayloadProblem, match=r"messages\[0\]\.role: expected 'user' or 'assistant'"):
        anthropic.parse_request({"messages": [{"role": "system", "content": "hi"}]})


# ---------------------------------------------------------------------------------------------
# End to end through the recorder


def test_record_from_response_snapshot(load: Callable[[str], Any], snapshot: Any) -> None:
    """A tool-use response plus its request becomes the snapshotted record (fixed id and times)."""
    record = tk.record_from_response(
        load("response_tool_use"),
        request=load("request_tool_result"),
        started_at=at(0),
        completed_at=at(1234.5),
        call_id="call-anthropic-1",
    )
    assert record.provider == "anthropic"
    assert record.api_type == "messages"
    assert record.latency_ms == 1234.5
    assert record.to_dict() == snapshot


@pytest.mark.parametrize("name", ["stream_tool_use", "stream_thinking", "stream_cumulative_usage"])
def test_record_from_stream_snapshot(name: str, load: Callable[[str], Any], snapshot: Any) -> None:
    """Each recorded stream, timed 10 ms apart from a start at 0 s, gives the snapshotted record."""
    events = load(name)
    received = [0.25 + 0.01 * i for i in range(len(events))]
    record = tk.record_from_stream(events, started_at=0.0, received_at=received, call_id=f"call-{name}")
    assert record.timing is not None
    assert record.timing.chunk_count == len(events)
    assert record.to_dict() == snapshot


def test_record_from_stream_ttft_counts_first_content_chunk(load: Callable[[str], Any]) -> None:
    """TTFT is measured to the first text delta (chunk 3), not to message_start or ping."""
    events = load("stream_tool_use")
    received = [0.25 + 0.01 * i for i in range(len(events))]
    record = tk.record_from_stream(events, started_at=0.0, received_at=received, call_id="c")
    assert record.timing is not None
    assert record.timing.ttft_ms == 280.0
    assert record.timing.decode_ms == 110.0
    assert record.timing.tpot_ms == round(110.0 / 64, 6)
    assert record.chunks is not None
    assert [c.metadata["kind"] for c in record.chunks] == fold(events)[0]


def _resplit(events: list[dict[str, Any]], cuts: list[int]) -> list[dict[str, Any]]:
    """The stream with each block's deltas merged, then re-split at `cuts` (fractions in 0..1000)."""
    out: list[dict[str, Any]] = []
    pending: dict[int, tuple[str, str, list[str]]] = {}
    for event in events:
        if event["type"] == "content_block_delta" and event["delta"]["type"] in (
            "text_delta",
            "input_json_delta",
        ):
            kind = event["delta"]["type"]
            key = "text" if kind == "text_delta" else "partial_json"
            pending.setdefault(event["index"], (kind, key, []))[2].append(event["delta"][key])
            continue
        if event["type"] == "content_block_stop" and event["index"] in pending:
            kind, key, pieces = pending.pop(event["index"])
            whole = "".join(pieces)
            bounds = sorted({0, len(whole), *(c * len(whole) // 1000 for c in cuts)})
            for lo, hi in itertools.pairwise(bounds):
                delta = {"type": kind, key: whole[lo:hi]}
                out.append({"type": "content_block_delta", "index": event["index"], "delta": delta})
        out.append(event)
    return out


@settings(deadline=None, max_examples=60)
@given(cuts=st.lists(st.integers(min_value=0, max_value=1000), max_size=12))
def test_resplitting_deltas_gives_the_same_record(load_fixture: Load, cuts: list[int]) -> None:
    """Re-splitting text and partial_json deltas at other boundaries yields the same record."""
    events = load_fixture("anthropic", "stream_tool_use")
    expected = without_chunks(tk.record_from_stream(events, call_id="c"))
    assert without_chunks(tk.record_from_stream(_resplit(events, cuts), call_id="c")) == expected


def test_sdk_message_object_gives_the_same_record_as_its_json(load: Callable[[str], Any]) -> None:
    """An SDK Message object and stream events give the same records as their JSON dicts."""
    payload = load("response_prompt_cached")
    from_object = tk.record_from_response(SdkObject(payload), call_id="c")
    assert from_object == tk.record_from_response(payload, call_id="c")
    events = load("stream_thinking")
    from_objects = tk.record_from_stream([SdkObject(e) for e in events], call_id="c")
    assert without_chunks(from_objects) == without_chunks(tk.record_from_stream(events, call_id="c"))


def test_request_server_tool_document_and_rich_tool_result() -> None:
    """A server tool keeps its vendor type, a PDF document is a file part, a tool_result with an
    image keeps its blocks in `data`."""
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    search_tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
    request = {
        "model": "claude-opus-4-7",
        "max_tokens": 1024,
        "tools": [search_tool],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [image], "is_error": False},
                ],
            }
        ],
    }
    req = anthropic.parse_request(request)
    assert req.tools == [ToolDefinition(name="web_search", type="web_search_20250305", raw=search_tool)]
    assert req.input_messages[0].parts == [
        LLMContentPart(type="file", uri="https://example.com/a.pdf"),
        LLMContentPart(
            type="tool_result", data={"tool_use_id": "toolu_1", "is_error": False, "content": [image]}
        ),
    ]


def test_non_string_model_is_noted_at_its_key(load: Callable[[str], Any]) -> None:
    """A `model` that is not text is reported at path "model"; the answer is still read."""
    payload = copy.deepcopy(load("response_text"))
    payload["model"] = 5
    parts = anthropic.parse_response(payload)
    assert parts.model_name is None
    assert parts.error == {
        "type": "malformed_payload",
        "path": "model",
        "message": "model: expected a string (got 5)",
    }
    assert parts.output_text == "Hi! My name is Claude."


def test_sdk_transport_options_are_not_stored() -> None:
    """extra_headers / timeout passed with SDK kwargs stay out of the record; real extras stay in."""
    request = {
        "model": "claude-opus-4-7",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}],
        "extra_headers": {"x-api-key": "sk-ant-secret"},
        "timeout": 30,
        "metadata": {"user_id": "u-1"},
    }
    response = {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Hi"}]}
    record = tk.record_from_response(response, request=request, call_id="c1")
    assert record.request_params.raw_params == {"metadata": {"user_id": "u-1"}}
    assert "sk-ant-secret" not in record.to_json()
