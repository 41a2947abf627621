"""OpenAI Chat Completions: recorded responses and streams normalised into LLMCallRecords."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tracekit.helpers import openai_chat
from tracekit.helpers.recorder import record_from_response, record_from_stream
from tracekit.model import LLMCallRecord, LLMContentPart, LLMUsage, ToolCallSpec

Loader = Callable[[str, str], Any]
VENDOR = "openai_chat"


def replay(chunks: list[dict[str, Any]], **kwargs: Any) -> LLMCallRecord:
    """A stream replayed with chunk i arriving at 0.1 * (i + 1) s after a start at 0.0 s."""
    times = [round(0.1 * (i + 1), 6) for i in range(len(chunks))]
    return record_from_stream(chunks, started_at=0.0, received_at=times, call_id="call-1", **kwargs)


@pytest.mark.parametrize(
    "name",
    [
        "response_basic",
        "response_parallel_tools",
        "response_n3_refusal",
        "response_refusal",
        "response_content_filter",
        "response_cached_reasoning",
    ],
)
def test_response_snapshot(name: str, load_fixture: Loader, snapshot: Any) -> None:
    """Each recorded chat.completion normalises to the same record dict as last reviewed."""
    record = record_from_response(load_fixture(VENDOR, name), call_id="call-1")
    assert record.provider == "openai"
    assert record.api_type == "chat_completions"
    assert record.to_dict() == snapshot


@pytest.mark.parametrize(
    "name", ["stream_text_usage", "stream_no_usage", "stream_tool_calls", "stream_azure", "stream_n2"]
)
def test_stream_snapshot(name: str, load_fixture: Loader, snapshot: Any) -> None:
    """Each recorded chunk stream normalises to the same record dict (chunks and timing included)."""
    record = replay(load_fixture(VENDOR, name))
    assert record.to_dict() == snapshot


def test_basic_response_usage_and_fields(load_fixture: Loader) -> None:
    """The API-reference completion gives its text, finish reason and every usage number."""
    payload = load_fixture(VENDOR, "response_basic")
    record = record_from_response(payload, call_id="call-1")
    assert record.model_name == "gpt-4.1-2025-04-14"
    assert record.response_id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert record.output_text == "Hello! How can I assist you today?"
    assert record.finish_reason == "stop"
    assert record.outcome == "success"
    assert record.error is None
    assert record.outputs == []
    assert record.usage == LLMUsage(
        input_tokens=19,
        output_tokens=10,
        total_tokens=29,
        reasoning_tokens=0,
        cache_read_tokens=0,
        input_audio_tokens=0,
        output_audio_tokens=0,
        raw=payload["usage"],
    )


def test_cached_and_reasoning_usage(load_fixture: Loader) -> None:
    """Cached prompt tokens and reasoning tokens are breakdowns: input and output stay as reported."""
    record = record_from_response(load_fixture(VENDOR, "response_cached_reasoning"))
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (2006, 300, 2306)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (1920, 256)
    assert (usage.input_audio_tokens, usage.output_audio_tokens) == (0, 0)
    assert usage.cache_write_tokens is None


def test_parallel_tool_calls_keep_vendor_order(load_fixture: Loader) -> None:
    """Parallel tool calls come out in vendor order with ids, raw and parsed arguments."""
    record = record_from_response(load_fixture(VENDOR, "response_parallel_tools"))
    assert [(c.call_id, c.name, c.index) for c in record.output_tool_calls] == [
        ("call_12345xyz", "get_weather", 0),
        ("call_67890abc", "get_weather", 1),
        ("call_99999def", "send_email", 2),
    ]
    assert record.output_tool_calls[1].arguments_json == '{"location":"Bogotá, Colombia"}'
    assert record.output_tool_calls[1].arguments == {"location": "Bogotá, Colombia"}
    assert record.output_text is None
    assert record.finish_reason == "tool_calls"
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.reasoning_tokens) == (
        82,
        17,
        99,
        0,
    )
    assert usage.cache_read_tokens is None


def test_n3_choices_with_refusal(load_fixture: Loader) -> None:
    """With n=3 choice 0 is top-level, all three are in `outputs`, and the refusal stays out of text."""
    record = record_from_response(load_fixture(VENDOR, "response_n3_refusal"))
    assert record.output_text == '{"city":"San Francisco","temperature":63,"units":"f"}'
    assert record.refusal is None
    assert len(record.outputs) == 3
    third = record.outputs[2]
    assert [p.type for p in third.parts] == ["refusal"]
    assert third.metadata == {"choice_index": 2, "finish_reason": "stop"}
    assert record.usage is None


def test_refusal_has_its_own_field(load_fixture: Loader) -> None:
    """A refusal fills `refusal`, not `output_text`."""
    record = record_from_response(load_fixture(VENDOR, "response_refusal"))
    assert record.refusal == "I'm sorry, but I can't assist with that request."
    assert record.output_text is None
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (79, 12, 91)


def test_content_filter_finish(load_fixture: Loader) -> None:
    """A content_filter finish keeps the raw reason, no text, and a reported zero output."""
    record = record_from_response(load_fixture(VENDOR, "response_content_filter"))
    assert record.finish_reason == "content_filter"
    assert record.output_text is None
    assert record.outcome == "success"
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (30, 0, 30)


def test_chunk_kinds_with_usage(load_fixture: Loader) -> None:
    """Role chunk is meta, deltas are content, the finish chunk is done, the last one carries usage."""
    state = openai_chat.new_stream_state()
    kinds = [openai_chat.add_chunk(state, c).kind for c in load_fixture(VENDOR, "stream_text_usage")]
    assert kinds == ["meta", "content", "content", "content", "content", "content", "done", "usage"]


def test_chunk_kinds_azure(load_fixture: Loader) -> None:
    """Azure's empty-choices prompt-filter chunk and trailing filter-only choice are metadata."""
    state = openai_chat.new_stream_state()
    kinds = [openai_chat.add_chunk(state, c).kind for c in load_fixture(VENDOR, "stream_azure")]
    assert kinds == ["meta", "meta", "content", "content", "content", "content", "content", "done", "meta"]


def test_stream_with_usage(load_fixture: Loader) -> None:
    """A stream with include_usage rebuilds the text (a ZWJ emoji split across deltas) and usage."""
    record = replay(load_fixture(VENDOR, "stream_text_usage"))
    assert record.output_text == "Hello! 👩\u200d💻 Coder here."
    assert record.outcome == "success"
    assert record.finish_reason == "stop"
    assert record.response_id == "chatcmpl-AyPqR5tuvWxyZ0123456789abcdef"
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (19, 11, 30)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (0, 0)


def test_stream_without_usage(load_fixture: Loader) -> None:
    """Without include_usage the stream still completes, and usage is None (not zeros)."""
    record = replay(load_fixture(VENDOR, "stream_no_usage"))
    assert record.output_text == "The sky is blue."
    assert record.outcome == "success"
    assert record.usage is None
    assert record.timing is not None
    assert record.timing.tpot_ms is None
    assert record.timing.output_tokens_per_second is None


def test_stream_tool_call_deltas(load_fixture: Loader) -> None:
    """Tool-call argument deltas are joined per index into two complete calls."""
    record = replay(load_fixture(VENDOR, "stream_tool_calls"))
    assert [(c.call_id, c.arguments) for c in record.output_tool_calls] == [
        ("call_12345xyz", {"location": "Paris, France"}),
        ("call_67890abc", {"location": "Bogotá, Colombia"}),
    ]
    assert record.finish_reason == "tool_calls"
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (82, 38, 120)


def test_stream_azure(load_fixture: Loader) -> None:
    """An Azure stream (object "" chunks) is detected and read like any other."""
    record = replay(load_fixture(VENDOR, "stream_azure"))
    assert record.output_text == "This is a test!"
    assert record.model_name == "gpt-35-turbo-16k"
    assert record.response_id == "chatcmpl-8PNZz2f8dnCVFyLj0AFWVnBlp5bPq"
    assert record.outcome == "success"


def test_stream_n2(load_fixture: Loader) -> None:
    """Interleaved choices of an n=2 stream are kept apart, each with its own finish reason."""
    record = replay(load_fixture(VENDOR, "stream_n2"))
    assert record.output_text == "Red apple"
    assert [m.parts[0].text for m in record.outputs] == ["Red apple", "Blue whale"]
    assert [m.metadata["finish_reason"] for m in record.outputs] == ["stop", "length"]


def test_surrogate_pair_split_across_deltas() -> None:
    """An emoji whose UTF-16 halves arrive in two JSON deltas is rejoined into one character."""
    halves = ["A\ud83d", "\ude00B"]  # what json.loads makes of "A\\ud83d" and "\\ude00B"
    chunks = [
        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}]}
        for text in halves
    ]
    chunks[-1]["choices"][0]["finish_reason"] = "stop"
    record = record_from_stream(chunks)
    assert record.output_text == "A😀B"
    assert "😀" in record.to_json()


def test_invalid_tool_arguments_kept_raw() -> None:
    """Tool arguments that are not valid JSON give arguments=None and keep arguments_json."""
    payload = {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a": 1'},
                        },
                        {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "NaN"}},
                    ],
                },
            }
        ],
    }
    record = record_from_response(payload)
    assert [(c.arguments_json, c.arguments) for c in record.output_tool_calls] == [
        ('{"a": 1', None),
        ("NaN", None),
    ]
    assert record.outcome == "success"


def test_stream_cut_short_is_incomplete(load_fixture: Loader) -> None:
    """A stream that stops mid tool call is incomplete and keeps the partial text and arguments."""
    chunks = load_fixture(VENDOR, "stream_tool_calls")[:8]
    record = replay(chunks)
    assert record.outcome == "incomplete"
    assert record.finish_reason is None
    assert [(c.call_id, c.arguments_json, c.arguments) for c in record.output_tool_calls] == [
        ("call_12345xyz", '{"location": "Paris, France"}', {"location": "Paris, France"}),
        ("call_67890abc", '{"location": "Bogot', None),
    ]
    assert record.usage is None


def test_malformed_usage_keeps_the_rest(load_fixture: Loader) -> None:
    """A non-integer token count sets outcome/error; that count is None, the other counts and the
    vendor's value (in usage.raw) are kept."""
    payload = load_fixture(VENDOR, "response_basic")
    payload["usage"]["completion_tokens"] = "ten"
    record = record_from_response(payload)
    assert record.outcome == "error"
    assert record.error == {
        "type": "malformed_payload",
        "path": "usage.completion_tokens",
        "message": "usage.completion_tokens: token count is not a whole number in 0..2**63-1 (got 'ten')",
    }
    assert record.output_text == "Hello! How can I assist you today?"
    assert record.usage is not None
    assert (record.usage.input_tokens, record.usage.output_tokens, record.usage.total_tokens) == (
        19,
        None,
        29,
    )
    assert record.usage.raw is not None
    assert record.usage.raw["completion_tokens"] == "ten"


def test_malformed_stream_usage_keeps_the_rest(load_fixture: Loader) -> None:
    """A malformed usage chunk in a stream is noted with its chunk index; the text is kept."""
    chunks = load_fixture(VENDOR, "stream_text_usage")
    chunks[-1]["usage"]["prompt_tokens"] = 1.5
    record = replay(chunks)
    assert record.outcome == "error"
    assert record.error is not None
    assert record.error["path"] == "chunks[7].usage.prompt_tokens"
    assert record.output_text == "Hello! 👩\u200d💻 Coder here."


def test_request_is_normalised(load_fixture: Loader) -> None:
    """The request's messages (text, images, audio, tool calls, tool results), tools and params."""
    request = load_fixture(VENDOR, "request_multimodal")
    record = record_from_response(load_fixture(VENDOR, "response_basic"), request=request)
    msgs = record.input_messages
    assert [m.role for m in msgs] == ["developer", "user", "assistant", "tool"]
    assert msgs[1].parts[1:] == [
        LLMContentPart(
            type="image",
            uri=request["messages"][1]["content"][1]["image_url"]["url"],
            data={"detail": "high"},
        ),
        LLMContentPart(type="image", mime_type="image/png", base64_data="iVBORw0KGgo="),
        LLMContentPart(type="audio", mime_type="audio/wav", base64_data="UklGRg==", data={"format": "wav"}),
    ]
    assert msgs[2].tool_calls == [
        ToolCallSpec(
            name="get_weather",
            arguments_json='{"location":"Paris, France"}',
            arguments={"location": "Paris, France"},
            call_id="call_12345xyz",
            index=0,
        )
    ]
    assert msgs[3].tool_call_id == "call_12345xyz"
    assert [t.name for t in record.tools] == ["get_weather"]
    assert record.tool_choice == "auto"
    params = record.request_params
    assert (params.temperature, params.top_p, params.max_tokens, params.stop) == (0.2, 1.0, 300, ["END"])
    assert (params.seed, params.n, params.stream, params.json_mode) == (42, 1, True, True)
    assert params.raw_params == {
        "stream_options": {"include_usage": True},
        "parallel_tool_calls": True,
        "user": "user-1234",
    }


def test_model_name_falls_back_to_request() -> None:
    """When the response names no model, the request's model is used."""
    payload = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}]
    }
    record = record_from_response(payload, request={"model": "gpt-4o-mini", "messages": []})
    assert record.model_name == "gpt-4o-mini"


def test_is_chunk_and_is_response_shapes(load_fixture: Loader) -> None:
    """Detection accepts responses and chunks (incl. Azure's) and tells them apart."""
    response = load_fixture(VENDOR, "response_basic")
    azure_first = load_fixture(VENDOR, "stream_azure")[0]
    assert openai_chat.is_response(response)
    assert not openai_chat.is_chunk(response)
    assert openai_chat.is_chunk(azure_first)
    assert not openai_chat.is_response(azure_first)
    assert not openai_chat.is_chunk({"type": "message_start"})
