"""OpenAI Responses API: recorded responses and event streams normalised into LLMCallRecords."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tracekit.helpers import openai_responses
from tracekit.helpers.recorder import record_from_response, record_from_stream
from tracekit.model import LLMCallRecord, LLMContentPart, LLMUsage, ToolCallSpec

Loader = Callable[[str, str], Any]
VENDOR = "openai_responses"


def replay(events: list[dict[str, Any]], **kwargs: Any) -> LLMCallRecord:
    """A stream replayed with event i arriving at 0.1 * (i + 1) s after a start at 0.0 s."""
    times = [round(0.1 * (i + 1), 6) for i in range(len(events))]
    return record_from_stream(events, started_at=0.0, received_at=times, call_id="call-1", **kwargs)


@pytest.mark.parametrize(
    "name", ["response_text", "response_function_call", "response_reasoning", "response_incomplete"]
)
def test_response_snapshot(name: str, load_fixture: Loader, snapshot: Any) -> None:
    """Each recorded `response` object normalises to the same record dict as last reviewed."""
    record = record_from_response(load_fixture(VENDOR, name), call_id="call-1")
    assert record.provider == "openai"
    assert record.api_type == "responses"
    assert record.to_dict() == snapshot


@pytest.mark.parametrize(
    "name", ["stream_text", "stream_function_call", "stream_incomplete", "stream_failed"]
)
def test_stream_snapshot(name: str, load_fixture: Loader, snapshot: Any) -> None:
    """Each recorded event stream normalises to the same record dict (chunks and timing included)."""
    record = replay(load_fixture(VENDOR, name))
    assert record.to_dict() == snapshot


def test_text_response_usage(load_fixture: Loader) -> None:
    """The API-reference response gives its text, status as finish reason, and every usage number."""
    payload = load_fixture(VENDOR, "response_text")
    record = record_from_response(payload)
    assert record.output_text is not None
    assert record.output_text.startswith("In a peaceful grove beneath a silver moon")
    assert record.finish_reason == "completed"
    assert record.outcome == "success"
    assert record.usage == LLMUsage(
        input_tokens=36,
        output_tokens=87,
        total_tokens=123,
        reasoning_tokens=0,
        cache_read_tokens=0,
        raw=payload["usage"],
    )


def test_function_calls_use_call_id(load_fixture: Loader) -> None:
    """function_call items become tool calls keyed by call_id, the item id kept in metadata."""
    record = record_from_response(load_fixture(VENDOR, "response_function_call"))
    assert record.output_tool_calls == [
        ToolCallSpec(
            name="get_weather",
            arguments_json='{"location":"Paris, France"}',
            arguments={"location": "Paris, France"},
            call_id="call_12345xyz",
            index=0,
            metadata={"item_id": "fc_12345xyz"},
        ),
        ToolCallSpec(
            name="get_weather",
            arguments_json='{"location":"Bogotá, Colombia"}',
            arguments={"location": "Bogotá, Colombia"},
            call_id="call_67890abc",
            index=1,
            metadata={"item_id": "fc_67890abc"},
        ),
    ]
    assert record.output_text is None
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (291, 46, 337)


def test_reasoning_summary_and_usage(load_fixture: Loader) -> None:
    """Summaries go to reasoning_text, not output_text; cached and reasoning tokens are breakdowns."""
    record = record_from_response(load_fixture(VENDOR, "response_reasoning"))
    assert record.output_text == "The capital of France is Paris."
    assert record.reasoning_text == (
        "**Answering a simple question**\n\nI'm looking at a straightforward question: the capital of France"
        " is Paris.\n\n**Confirming the answer**\n\nParis it is."
    )
    assert [p.type for p in record.output_messages[0].parts] == ["reasoning", "reasoning", "text"]
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (2048, 1035, 3083)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (1024, 1024)


def test_incomplete_response(load_fixture: Loader) -> None:
    """status=incomplete gives outcome incomplete and incomplete_details.reason as finish reason."""
    record = record_from_response(load_fixture(VENDOR, "response_incomplete"))
    assert record.outcome == "incomplete"
    assert record.finish_reason == "max_output_tokens"
    assert record.output_text is None
    assert record.output_messages == []
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.reasoning_tokens) == (
        75,
        300,
        375,
        300,
    )


def test_chunk_kinds_text_stream(load_fixture: Loader) -> None:
    """Lifecycle events are meta, text deltas content, and response.completed is done."""
    state = openai_responses.new_stream_state()
    kinds = [openai_responses.add_chunk(state, e).kind for e in load_fixture(VENDOR, "stream_text")]
    assert kinds == ["meta"] * 4 + ["content"] * 6 + ["meta"] * 3 + ["done"]


def test_chunk_kinds_function_call_stream(load_fixture: Loader) -> None:
    """Reasoning-summary and argument deltas count as content."""
    state = openai_responses.new_stream_state()
    kinds = [openai_responses.add_chunk(state, e).kind for e in load_fixture(VENDOR, "stream_function_call")]
    assert kinds == ["meta"] * 4 + ["content"] * 3 + ["meta"] * 4 + ["content"] * 6 + ["meta"] * 2 + ["done"]


def test_text_stream(load_fixture: Loader) -> None:
    """The text stream's record has the joined text (a ZWJ emoji split across deltas) and usage."""
    record = replay(load_fixture(VENDOR, "stream_text"))
    assert record.output_text == "Hi there! 👩\u200d💻 How can I help?"
    assert record.outcome == "success"
    assert record.finish_reason == "completed"
    assert record.model_name == "gpt-4.1-2025-04-14"
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (37, 11, 48)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (0, 0)


def test_function_call_stream(load_fixture: Loader) -> None:
    """A streamed reasoning summary and function call come out like the non-streamed ones."""
    record = replay(load_fixture(VENDOR, "stream_function_call"))
    assert record.reasoning_text == (
        "**Planning the weather lookup**\n\nThe user wants Paris weather; call get_weather."
    )
    assert [(c.call_id, c.arguments) for c in record.output_tool_calls] == [
        ("call_Ff2Ys3Ah2bL6Tc2kqZJm1G9X", {"location": "Paris, France"})
    ]
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (309, 84, 393)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (256, 64)


def test_incomplete_event_stream(load_fixture: Loader) -> None:
    """A stream ending in response.incomplete is incomplete with the vendor's reason."""
    record = replay(load_fixture(VENDOR, "stream_incomplete"))
    assert record.outcome == "incomplete"
    assert record.finish_reason == "max_output_tokens"
    assert record.output_text == "Once upon a time"
    usage = record.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (12, 16, 28)


def test_failed_stream(load_fixture: Loader) -> None:
    """response.failed gives outcome error with the vendor's code and message."""
    record = replay(load_fixture(VENDOR, "stream_failed"))
    assert record.outcome == "error"
    assert record.finish_reason == "failed"
    assert record.error == {
        "type": "vendor_error",
        "code": "server_error",
        "message": "The model failed to generate a response.",
    }
    assert record.usage is None


def test_stream_cut_short_keeps_deltas(load_fixture: Loader) -> None:
    """A stream cut before its terminal event is incomplete with the partial summary and arguments."""
    events = load_fixture(VENDOR, "stream_function_call")[:15]
    record = replay(events)
    assert record.outcome == "incomplete"
    assert record.finish_reason is None
    assert (
        record.reasoning_text
        == "**Planning the weather lookup**\n\nThe user wants Paris weather; call get_weather."
    )
    assert [(c.call_id, c.arguments_json, c.arguments) for c in record.output_tool_calls] == [
        ("call_Ff2Ys3Ah2bL6Tc2kqZJm1G9X", '{"location":"Paris', None)
    ]
    assert record.usage is None
    assert record.model_name == "o4-mini-2025-04-16"


def test_error_event() -> None:
    """A top-level `error` event ends the stream as an error, keeping the text so far."""
    events = [
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hel"},
        {
            "type": "error",
            "code": "rate_limit_exceeded",
            "message": "Slow down",
            "param": None,
            "sequence_number": 1,
        },
    ]
    record = record_from_stream(events)
    assert record.outcome == "error"
    assert record.error == {
        "type": "vendor_error",
        "code": "rate_limit_exceeded",
        "message": "Slow down",
        "param": None,
    }
    assert record.output_text == "Hel"


def test_malformed_usage_keeps_the_rest(load_fixture: Loader) -> None:
    """A malformed usage detail sets outcome/error; text and finish reason are kept."""
    payload = load_fixture(VENDOR, "response_text")
    payload["usage"]["output_tokens_details"] = 5
    record = record_from_response(payload)
    assert record.outcome == "error"
    assert record.error == {
        "type": "malformed_payload",
        "path": "usage.output_tokens_details",
        "message": "usage.output_tokens_details: expected an object (got 5)",
    }
    assert record.output_text is not None
    assert record.finish_reason == "completed"


def test_request_is_normalised(load_fixture: Loader) -> None:
    """Instructions, input items (parts, function_call, function_call_output), tools and params."""
    request = load_fixture(VENDOR, "request_items")
    record = record_from_response(load_fixture(VENDOR, "response_text"), request=request)
    msgs = record.input_messages
    assert [m.role for m in msgs] == ["system", "user", "assistant", "tool"]
    assert msgs[0].metadata == {"source": "instructions"}
    assert msgs[1].parts[1:] == [
        LLMContentPart(
            type="image", uri=request["input"][0]["content"][1]["image_url"], data={"detail": "auto"}
        ),
        LLMContentPart(
            type="file",
            mime_type="application/pdf",
            base64_data="JVBERi0xLjQ=",
            data={"filename": "itinerary.pdf"},
        ),
    ]
    assert [(c.call_id, c.arguments) for c in msgs[2].tool_calls] == [
        ("call_12345xyz", {"location": "Madison, Wisconsin"})
    ]
    assert msgs[3].tool_call_id == "call_12345xyz"
    assert msgs[3].parts == [
        LLMContentPart(type="tool_result", text='{"temperature": 21, "unit": "celsius"}')
    ]
    assert [(t.name, t.type) for t in record.tools] == [
        ("get_weather", "function"),
        ("web_search_preview", "web_search_preview"),
    ]
    params = record.request_params
    assert (params.temperature, params.max_tokens, params.reasoning_effort, params.json_mode) == (
        0.7,
        500,
        "low",
        True,
    )
    assert params.response_format == request["text"]["format"]
    assert params.stream is True
    assert params.raw_params == {"store": False, "reasoning": request["reasoning"], "text": request["text"]}


def test_string_input_request() -> None:
    """A plain-string input becomes input_text and one user message."""
    parts = openai_responses.parse_request({"model": "gpt-4.1", "input": "Tell me a joke."})
    assert parts.input_text == "Tell me a joke."
    assert [(m.role, m.parts[0].text) for m in parts.input_messages] == [("user", "Tell me a joke.")]
    assert parts.model_name == "gpt-4.1"


def test_detection_shapes(load_fixture: Loader) -> None:
    """Responses and events are told apart from each other and from Anthropic's error event."""
    response = load_fixture(VENDOR, "response_text")
    assert openai_responses.is_response(response)
    assert not openai_responses.is_chunk(response)
    assert openai_responses.is_chunk({"type": "response.created", "response": response})
    assert not openai_responses.is_chunk(
        {"type": "error", "error": {"type": "overloaded_error", "message": "x"}}
    )
