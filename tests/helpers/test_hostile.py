"""Hostile and unusual vendor values on the recording path: named in `error`, never raised, and
never stored in a form JSON or the store cannot hold."""

from __future__ import annotations

import math
from typing import Any

import pytest

import tracekit as tk
from tracekit.helpers.base import PayloadProblem


def _chat_chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m", "choices": [choice], **extra}


def test_impossible_counts_keep_the_raw_value_as_text() -> None:
    """A usage count of 2**70 or NaN is refused into `error` (outcome "error"), kept in usage.raw as
    text, and the record serialises and reads back equal."""
    payload = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4.1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2**70, "completion_tokens": math.nan, "total_tokens": 3},
    }
    record = tk.record_from_response(payload)
    assert record.outcome == "error"
    assert record.usage is not None
    assert (record.usage.input_tokens, record.usage.output_tokens, record.usage.total_tokens) == (
        None,
        None,
        3,
    )
    assert record.usage.raw == {"prompt_tokens": str(2**70), "completion_tokens": "NaN", "total_tokens": 3}
    assert record.error is not None
    assert record.error["path"] == "usage.prompt_tokens"
    assert record.error["replaced"] == [
        {
            "path": "response.usage.prompt_tokens",
            "value": str(2**70),
            "replaced_by": "text (outside 64-bit integers)",
        },
        {
            "path": "response.usage.completion_tokens",
            "value": "NaN",
            "replaced_by": "text (not a finite number)",
        },
    ]
    assert tk.LLMCallRecord.from_json(record.to_json()) == record


def test_non_finite_values_never_enter_raw_chunks_params_or_tools() -> None:
    """NaN and Infinity in a chunk, the request's temperature and a tool's schema are replaced by
    text and each is named; the record serialises."""
    request = {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}],
        "top_p": math.inf,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"maximum": math.nan}}}],
    }
    chunks = [_chat_chunk({"content": "ok"}, logprob=-math.inf), _chat_chunk({}, "stop")]
    record = tk.record_from_stream(chunks, request=request)
    assert record.error is not None
    assert [(n["path"], n["value"]) for n in record.error["replaced"]] == [
        ("chunks[0].logprob", "-Infinity"),
        ("request.top_p", "Infinity"),
        ("request.tools[0].function.parameters.maximum", "NaN"),
    ]
    assert record.output_text == "ok"
    assert tk.LLMCallRecord.from_json(record.to_json()) == record


def test_bad_arrival_times_and_error_dicts_are_named() -> None:
    """A NaN arrival time, an arrival 1e308 s later and an error dict holding NaN leave no
    non-finite timing and are named in `error`."""
    clock = iter([0.0, 0.5, 2.0])
    recorder = tk.StreamRecorder(clock=lambda: next(clock))
    recorder.add(_chat_chunk({"content": "a"}), math.nan)
    recorder.add(_chat_chunk({"content": "b"}), 1e308)
    recorder.add(_chat_chunk({}, "stop"))
    record = recorder.finish(error={"type": "timeout", "elapsed_s": math.nan})
    assert record.error is not None
    assert [n["path"] for n in record.error["replaced"]] == [
        "chunks[0].received_at",
        "chunks[1].received_at",
        "error.elapsed_s",
    ]
    assert record.timing is not None
    assert record.timing.output_tokens_per_second is None
    assert tk.LLMCallRecord.from_json(record.to_json()) == record


def test_wrong_typed_stream_values_never_reach_typed_fields() -> None:
    """A numeric finish_reason, a dict as delta text, model or id, and a string choice index are
    named in `error`; the typed fields take the next well-typed value or stay None."""
    chunks = [
        {
            "id": {"x": 1},
            "object": "chat.completion.chunk",
            "model": 7,
            "choices": [{"index": 0, "delta": {"content": {"t": 1}}}],
        },
        _chat_chunk({"content": "ok"}),
        {"object": "chat.completion.chunk", "choices": [{"index": "0", "delta": {"content": "lost"}}]},
        _chat_chunk({}, finish=3),  # type: ignore[arg-type]
    ]
    record = tk.record_from_stream(chunks)
    assert (record.response_id, record.model_name, record.output_text, record.finish_reason) == (
        "chatcmpl-1",
        "m",
        "ok",
        None,
    )
    assert record.outcome == "error"
    assert record.error is not None
    assert record.error["path"] == "chunks[0].id"
    assert tk.LLMCallRecord.from_json(record.to_json()) == record


def test_a_dict_role_is_named_not_raised() -> None:
    """A chat message whose role is a dict is a malformed field (no TypeError)."""
    payload = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": {"r": 1}, "content": "x"}}],
    }
    record = tk.record_from_response(payload)
    assert record.error is not None
    assert record.error["path"] == "choices[0].message.role"


def test_deep_nesting_is_cut_and_named_without_recursion_error() -> None:
    """A 5,000-deep list inside a payload is cut at MAX_DEPTH and named; PayloadProblem's repr of
    such a value stays short."""
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    payload = {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "extra": deep}]}
    record = tk.record_from_response(payload)
    assert record.output_text == "hi"
    assert record.error is not None
    assert record.error["replaced"][0]["replaced_by"] == "null (nested over 64)"
    assert tk.LLMCallRecord.from_json(record.to_json()) == record
    assert len(repr(PayloadProblem("p", "bad", deep))) < 300


def test_strict_raises_for_a_replaced_value_but_not_for_sdk_events() -> None:
    """strict=True raises on a value that had to be replaced, and skips helper-only events
    (anthropic `text`, openai `content.delta`) and unknown Anthropic event types without raising."""
    recorder = tk.StreamRecorder(strict=True)
    recorder.add(
        {"type": "message_start", "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 1}}}
    )
    recorder.add({"type": "text", "text": "hi", "snapshot": "hi"})
    recorder.add({"type": "content.delta", "delta": "hi", "snapshot": "hi"})
    recorder.add({"type": "future_event", "data": 1})
    record = recorder.finish()
    assert record.timing is not None
    assert record.timing.chunk_count == 2
    assert record.error is None
    strict = tk.StreamRecorder(strict=True)
    with pytest.raises(tk.RecordingError, match="replaced"):
        strict.add({"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": math.nan}}})


def test_chat_helper_chunk_event_is_unwrapped() -> None:
    """openai's ChunkEvent ({"type": "chunk", "chunk": ...}) records the chunk it wraps."""
    inner = _chat_chunk({"content": "hi"}, "stop")
    record = tk.record_from_stream([{"type": "chunk", "chunk": inner, "snapshot": {}}])
    assert record.output_text == "hi"
    assert record.chunks is not None
    assert record.chunks[0].raw == inner


def test_chat_stream_reasoning_content_legacy_function_call_and_audio() -> None:
    """Streamed reasoning_content (non-OpenAI servers), a legacy delta.function_call and
    delta.audio are assembled like their complete-response forms."""
    chunks = [
        _chat_chunk({"role": "assistant", "reasoning_content": "Think"}),
        _chat_chunk({"reasoning_content": "ing."}),
        _chat_chunk({"function_call": {"name": "lookup", "arguments": '{"q":'}}),
        _chat_chunk({"function_call": {"arguments": ' "x"}'}}),
        _chat_chunk({"audio": {"id": "audio_1", "transcript": "Hel"}}),
        _chat_chunk({"audio": {"transcript": "lo", "expires_at": 1729018505}}, "function_call"),
    ]
    record = tk.record_from_stream(chunks)
    assert record.error is None
    assert record.reasoning_text == "Thinking."
    assert record.output_tool_calls == [
        tk.ToolCallSpec(name="lookup", arguments_json='{"q": "x"}', arguments={"q": "x"}, index=0)
    ]
    audio = record.output_messages[0].parts[-1]
    assert (audio.type, audio.text, audio.data) == (
        "audio",
        "Hello",
        {"id": "audio_1", "expires_at": 1729018505},
    )


def test_anthropic_citations_delta_is_merged_into_the_text_part() -> None:
    """citations_delta events add their citations to the text block, as a complete response holds them."""
    citation = {
        "type": "char_location",
        "cited_text": "grass is green",
        "document_index": 0,
        "document_title": "Facts",
        "start_char_index": 0,
        "end_char_index": 14,
    }
    events = [
        {
            "type": "message_start",
            "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 5}},
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": "", "citations": []},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Grass is green."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "citations_delta", "citation": citation},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}},
        {"type": "message_stop"},
    ]
    record = tk.record_from_stream(events)
    assert record.error is None
    part = record.output_messages[0].parts[0]
    assert (part.text, part.data) == ("Grass is green.", {"citations": [citation]})


def test_gemini_safety_ratings_are_kept() -> None:
    """Gemini's prompt and candidate safety ratings go to `safety` (and the candidate's metadata)."""
    ratings = [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]
    payload = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "hi"}]},
                "finishReason": "STOP",
                "safetyRatings": ratings,
            }
        ],
        "promptFeedback": {"safetyRatings": ratings},
        "modelVersion": "gemini-2.5-flash",
    }
    record = tk.record_from_response(payload)
    assert record.safety == {"prompt_safety_ratings": ratings, "safety_ratings": ratings}
    assert record.output_messages[0].metadata["safety_ratings"] == ratings


def test_fast_check_agrees_with_clean_at_the_depth_limit() -> None:
    """is_clean (the per-chunk check) accepts exactly what clean keeps unchanged, for dicts and
    lists nested around MAX_DEPTH."""
    from tracekit.helpers._clean import MAX_DEPTH, clean, is_clean

    for depth in range(MAX_DEPTH - 3, MAX_DEPTH + 3):
        for first_is_list in (True, False):
            root: Any = [] if first_is_list else {}
            node = root
            for level in range(depth):
                child: Any = {} if (level % 2 == 0) == first_is_list else []
                if isinstance(node, list):
                    node.append(child)
                else:
                    node["k"] = child
                node = child
            notes: list[dict[str, Any]] = []
            assert (clean(root, "p", notes) is root) == is_clean(root) == (not notes)


def test_an_sdk_object_whose_own_dump_fails_is_an_unsupported_payload() -> None:
    """A ChatCompletion built without validation around a value pydantic cannot write (its own
    model_dump raises) is refused as UnsupportedPayloadError naming the type, not pydantic's error."""
    from openai.types.chat import ChatCompletion

    response = ChatCompletion.construct(
        id="chatcmpl-1",
        object="chat.completion",
        created=1,
        model="gpt-4.1",
        choices=[
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": object()}}
        ],
    )
    with pytest.raises(tk.UnsupportedPayloadError, match=r"ChatCompletion could not be read as JSON"):
        tk.record_from_response(response, request={"model": "gpt-4.1", "messages": []})
