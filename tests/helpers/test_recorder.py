"""The shared recorder: adapter detection, timing, bad input, SDK objects and chunk-boundary independence."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from factories import SdkObject
from hypothesis import given, settings
from hypothesis import strategies as st

from tracekit.errors import RecordingError, UnsupportedPayloadError
from tracekit.helpers import registry
from tracekit.helpers.recorder import StreamRecorder, record_from_response, record_from_stream, to_mapping
from tracekit.helpers.synth_compat import (
    create_llm_call_record_from_response,
    create_llm_call_record_from_streaming,
)
from tracekit.model import LLMCallRecord, LLMChunk, LLMTiming

Loader = Callable[[str, str], Any]
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeClock:
    """A monotonic clock that returns the queued times in order."""

    def __init__(self, *times: float) -> None:
        self._times: Iterator[float] = iter(times)

    def __call__(self) -> float:
        return next(self._times)


def chat_chunk(
    delta: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A minimal chat.completion.chunk with one choice (or none when `usage` is given)."""
    chunk: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    chunk["choices"] = [] if usage is not None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def text_stream(pieces: list[str], output_tokens: int = 5) -> list[dict[str, Any]]:
    """A chat stream: role chunk, one chunk per piece, finish chunk, usage chunk."""
    chunks = [chat_chunk({"role": "assistant", "content": ""})]
    chunks += [chat_chunk({"content": p}) for p in pieces]
    chunks.append(chat_chunk({}, "stop"))
    usage = {"prompt_tokens": 7, "completion_tokens": output_tokens, "total_tokens": 7 + output_tokens}
    chunks.append(chat_chunk({}, usage=usage))
    return chunks


# ---------------------------------------------------------------------------------------------
# Timing


def test_timing_from_injected_received_at() -> None:
    """TTFT, decode, TPOT, tokens/s and latency follow from the given monotonic times exactly."""
    chunks = text_stream(["Hel", "lo", "!"], output_tokens=5)
    record = record_from_stream(chunks, started_at=10.0, received_at=[10.25, 10.5, 10.75, 11.0, 11.25, 11.5])
    assert record.timing == LLMTiming(
        ttft_ms=500.0,
        decode_ms=1000.0,
        tpot_ms=250.0,
        output_tokens_per_second=4.0,
        chunk_count=6,
    )
    assert record.latency_ms == 1500.0
    assert record.chunks is not None
    assert [c.offset_ms for c in record.chunks] == [250.0, 500.0, 750.0, 1000.0, 1250.0, 1500.0]
    assert [c.metadata["kind"] for c in record.chunks] == [
        "meta",
        "content",
        "content",
        "content",
        "done",
        "usage",
    ]
    assert record.started_at is None
    assert record.chunks[0].received_at is None


def test_received_at_without_start() -> None:
    """Without a start time, figures that need it stay None while decode-based ones are computed."""
    record = record_from_stream(text_stream(["a", "b"], 3), received_at=[1.0, 1.5, 2.0, 2.5, 3.0])
    assert record.timing == LLMTiming(
        ttft_ms=None, decode_ms=1500.0, tpot_ms=750.0, output_tokens_per_second=1.333333, chunk_count=5
    )
    assert record.latency_ms is None


def test_no_times_gives_only_chunk_count() -> None:
    """A replay without times has only chunk_count in timing, and no offsets."""
    record = record_from_stream(text_stream(["a"]))
    assert record.timing == LLMTiming(chunk_count=4)
    assert record.latency_ms is None
    assert record.chunks is not None
    assert {c.offset_ms for c in record.chunks} == {None}


def test_received_at_count_must_match() -> None:
    """A received_at list of the wrong length is refused with both counts named."""
    with pytest.raises(ValueError, match="received_at has 2 time"):
        record_from_stream(text_stream(["a"]), received_at=[0.1, 0.2])


def test_stream_recorder_live_clock() -> None:
    """StreamRecorder reads start from the injected clocks and stamps each chunk's wall time."""
    clock = FakeClock(100.0, 100.2, 100.3, 100.4, 100.5)
    recorder = StreamRecorder(call_id="c-1", clock=clock, now=lambda: T0)
    for chunk in text_stream(["Hi", " you"], 3)[:4]:
        recorder.add(chunk)
    recorder.add(text_stream([], 3)[-1], received_at=100.6)
    record = recorder.finish()
    assert record.call_id == "c-1"
    assert record.output_text == "Hi you"
    assert record.started_at == T0
    assert record.completed_at == T0 + timedelta(seconds=0.6)
    assert record.latency_ms == 600.0
    assert record.chunks is not None
    assert record.chunks[1].received_at == T0 + timedelta(seconds=0.3)
    assert record.timing == LLMTiming(
        ttft_ms=300.0, decode_ms=300.0, tpot_ms=150.0, output_tokens_per_second=6.666667, chunk_count=5
    )
    assert recorder.finish() is record


def test_keep_chunks_false() -> None:
    """keep_chunks=False drops the chunk list but keeps timing and content."""
    recorder = StreamRecorder(clock=FakeClock(0.0), keep_chunks=False)
    for i, chunk in enumerate(text_stream(["x", "y"], 2)):
        recorder.add(chunk, received_at=0.5 * (i + 1))
    record = recorder.finish()
    assert record.chunks is None
    assert record.output_text == "xy"
    assert record.timing == LLMTiming(
        ttft_ms=1000.0, decode_ms=1500.0, tpot_ms=1500.0, output_tokens_per_second=0.666667, chunk_count=5
    )


# ---------------------------------------------------------------------------------------------
# Outcomes and bad input


def test_finish_with_caller_outcome() -> None:
    """A cancelled call keeps its partial text and the caller's outcome and error."""
    recorder = StreamRecorder(clock=FakeClock(0.0, 0.1))
    recorder.add(chat_chunk({"content": "par"}))
    record = recorder.finish(outcome="cancelled", error=TimeoutError("client gave up"))
    assert record.outcome == "cancelled"
    assert record.error == {"type": "TimeoutError", "message": "client gave up"}
    assert record.output_text == "par"


def test_error_without_outcome_means_error() -> None:
    """An error passed to finish without an outcome makes the outcome "error"."""
    recorder = StreamRecorder(clock=FakeClock(0.0, 0.1))
    recorder.add(chat_chunk({"content": "x"}, "stop"))
    record = recorder.finish(error={"type": "http_error", "status": 500})
    assert (record.outcome, record.error) == ("error", {"type": "http_error", "status": 500})


def test_malformed_chunk_is_recorded_not_raised() -> None:
    """A chunk of the wrong shape is kept and noted in `error`; later chunks still count."""
    chunks = text_stream(["ok"], 2)
    chunks.insert(2, {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": ["oops"]})
    record = record_from_stream(chunks)
    assert record.outcome == "error"
    assert record.error is not None
    assert record.error["type"] == "malformed_payload"
    assert record.error["path"] == "chunks[2].choices[0]"
    assert record.error["message"] == "choices[0]: expected an object (got 'oops')"
    assert record.output_text == "ok"
    assert record.finish_reason == "stop"
    assert record.chunks is not None
    assert record.chunks[2].metadata == {"kind": "error"}
    assert record.chunks[2].raw == chunks[2]


def test_malformed_chunk_raises_when_strict() -> None:
    """strict=True turns an unreadable chunk into a RecordingError."""
    recorder = StreamRecorder(strict=True)
    recorder.add(chat_chunk({"content": "x"}))
    with pytest.raises(RecordingError, match="stream chunk 1"):
        recorder.add({"object": "chat.completion.chunk", "choices": ["oops"]})


def test_unrecognised_first_chunk() -> None:
    """An unknown chunk is noted (not raised); finishing with no API identified raises."""
    recorder = StreamRecorder()
    recorder.add({"hello": "world"})
    with pytest.raises(UnsupportedPayloadError, match="no chunk of this stream identified its API"):
        recorder.finish()


def test_detection_retries_after_unknown_chunk() -> None:
    """A leading unknown chunk is noted as an error, and the next chunk still picks the API."""
    record = record_from_stream([{"keepalive": True}, *text_stream(["a"])])
    assert record.api_type == "chat_completions"
    assert record.output_text == "a"
    assert record.error is not None
    assert record.error["path"] == "chunks[0]"


def test_unsupported_response_names_what_was_looked_for() -> None:
    """An unknown response raises UnsupportedPayloadError listing every API's check and the keys."""
    with pytest.raises(UnsupportedPayloadError) as info:
        record_from_response({"foo": 1})
    message = str(info.value)
    assert "'foo'" in message
    for api in ("chat_completions:", "responses:", "messages:", "generate_content:"):
        assert api in message


def test_non_mapping_payload_is_unsupported() -> None:
    """A payload that is neither a mapping nor has model_dump() is refused."""
    with pytest.raises(UnsupportedPayloadError, match="neither a mapping nor an object with model_dump"):
        record_from_response(["not", "a", "dict"])


def test_naive_datetimes_refused() -> None:
    """Naive start/end datetimes are refused rather than guessed at."""
    with pytest.raises(ValueError, match="naive datetime"):
        record_from_response(
            {"object": "chat.completion", "choices": []},
            started_at=datetime(2026, 1, 1),  # noqa: DTZ001 - the naive value is the point of the test
        )


def test_response_latency_from_datetimes(load_fixture: Loader) -> None:
    """latency_ms of a complete response is completed_at - started_at."""
    record = record_from_response(
        load_fixture("openai_chat", "response_basic"),
        started_at=T0,
        completed_at=T0 + timedelta(milliseconds=1234.5),
    )
    assert record.latency_ms == 1234.5
    assert (record.started_at, record.completed_at) == (T0, T0 + timedelta(milliseconds=1234.5))


# ---------------------------------------------------------------------------------------------
# SDK objects and adapter selection


def test_sdk_objects_accepted(load_fixture: Loader) -> None:
    """Objects with model_dump() work as response, request and stream chunks."""
    payload = load_fixture("openai_responses", "response_text")
    request = {"model": "gpt-4.1", "input": "Tell me a story."}
    direct = record_from_response(payload, request=request, call_id="c")
    via_sdk = record_from_response(SdkObject(payload), request=SdkObject(request), call_id="c")
    assert via_sdk == direct
    events = load_fixture("openai_responses", "stream_text")
    assert record_from_stream([SdkObject(e) for e in events], call_id="c") == record_from_stream(
        events, call_id="c"
    )


def test_model_dump_without_exclude_unset() -> None:
    """An object whose model_dump() takes no keywords is dumped plainly."""
    assert to_mapping(SdkObject({"a": 1}, takes_exclude_unset=False)) == {"a": 1}


def test_explicit_api_type_overrides_detection(load_fixture: Loader) -> None:
    """api_type= picks the adapter even for a payload whose shape is ambiguous."""
    payload = {"output": [], "status": "completed"}
    record = record_from_response(payload, provider="openai", api_type="responses")
    assert (record.provider, record.api_type, record.outcome) == ("openai", "responses", "success")


def test_registry_selection() -> None:
    """adapter_for resolves unique names and aliases, and refuses ambiguous or unknown ones."""
    assert registry.adapter_for(api_type="chat_completions").API_TYPE == "chat_completions"
    assert registry.adapter_for(provider="gemini").PROVIDER == "google"
    with pytest.raises(UnsupportedPayloadError, match="matches several APIs"):
        registry.adapter_for(provider="openai")
    with pytest.raises(UnsupportedPayloadError, match="no adapter for provider='mistral'"):
        registry.adapter_for(provider="mistral")


@pytest.mark.parametrize(
    ("payload", "api_type"),
    [
        ({"object": "chat.completion", "choices": []}, "chat_completions"),
        ({"object": "response", "output": [], "status": "completed"}, "responses"),
        ({"type": "message", "role": "assistant", "content": []}, "messages"),
        ({"candidates": [{"content": {"parts": [{"text": "hi"}], "role": "model"}}]}, "generate_content"),
    ],
)
def test_detect_response(payload: dict[str, Any], api_type: str) -> None:
    """Each API's response shape is detected as that API."""
    detected = registry.detect_response(payload).API_TYPE
    assert detected == api_type


# ---------------------------------------------------------------------------------------------
# synth-ai wrappers


def test_synth_response_wrapper(load_fixture: Loader) -> None:
    """The synth-ai response wrapper normalises the payload and fills the request from loose args."""
    record = create_llm_call_record_from_response(
        load_fixture("openai_chat", "response_basic"),
        model_name="gpt-4.1",
        provider="openai",
        messages=[{"role": "user", "content": "Hello!"}],
        temperature=0.3,
        request_params={"max_tokens": 64},
        latency_ms=812,
    )
    assert record.output_text == "Hello! How can I assist you today?"
    assert record.model_name == "gpt-4.1-2025-04-14"
    assert [(m.role, m.parts[0].text) for m in record.input_messages] == [("user", "Hello!")]
    assert (record.request_params.temperature, record.request_params.max_tokens) == (0.3, 64)
    assert record.latency_ms == 812.0
    assert record.usage is not None
    assert record.usage.total_tokens == 29


def test_synth_streaming_wrapper() -> None:
    """The synth-ai streaming wrapper rebuilds the record from LLMChunks that kept `raw`."""
    recorder = StreamRecorder(clock=FakeClock(0.0), now=lambda: T0)
    for i, chunk in enumerate(text_stream(["Hi", "!"], 3)):
        recorder.add(chunk, received_at=0.25 * (i + 1))
    live = recorder.finish()
    assert live.chunks is not None
    rebuilt = create_llm_call_record_from_streaming(
        live.chunks, "gpt-4o-mini", "openai", [{"role": "user", "content": "hey"}], started_at=T0
    )
    assert rebuilt.output_text == "Hi!"
    assert rebuilt.timing == live.timing
    assert rebuilt.latency_ms == live.latency_ms == 1250.0
    assert rebuilt.input_messages[0].parts[0].text == "hey"
    with pytest.raises(UnsupportedPayloadError, match="chunk 0 has no raw payload"):
        create_llm_call_record_from_streaming([LLMChunk(sequence_index=0, delta_text="x")], "m", "openai", [])


# ---------------------------------------------------------------------------------------------
# Chunk-boundary independence


def _split(text: str, cuts: list[int]) -> list[str]:
    """`text` cut at the given positions (clamped and deduplicated)."""
    points = sorted({min(max(c, 0), len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in pairwise(points)]


def _without_chunk_fields(record: LLMCallRecord) -> dict[str, Any]:
    data = record.to_dict()
    del data["chunks"], data["timing"]
    return data


def _chat_stream(text: str, args: str, text_cuts: list[int], arg_cuts: list[int]) -> list[dict[str, Any]]:
    chunks = [chat_chunk({"role": "assistant"})]
    chunks += [chat_chunk({"content": piece}) for piece in _split(text, text_cuts)]
    head = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": ""}}
    chunks.append(chat_chunk({"tool_calls": [head]}))
    for piece in _split(args, arg_cuts):
        chunks.append(chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
    chunks.append(chat_chunk({}, "tool_calls"))
    chunks.append(chat_chunk({}, usage={"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12}))
    return chunks


def _responses_stream(
    text: str, args: str, text_cuts: list[int], arg_cuts: list[int]
) -> list[dict[str, Any]]:
    """Deltas only, no terminal event: the record is rebuilt from the deltas (the harder path)."""
    events: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "response": {"id": "resp_1", "model": "gpt-4.1", "status": "in_progress"},
        },
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"type": "message", "role": "assistant"},
        },
    ]
    events += [
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": piece}
        for piece in _split(text, text_cuts)
    ]
    item = {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": ""}
    events.append({"type": "response.output_item.added", "output_index": 1, "item": item})
    events += [
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": piece}
        for piece in _split(args, arg_cuts)
    ]
    return events


_texts = st.text(min_size=1, max_size=40) | st.sampled_from(
    ["👩\u200d💻 ok", "héllo wörld", "日本語のテキスト"]
)
# integers a record can store (beyond 64 bits the arguments stay text only: test_parse_arguments_refuses_...)
_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_args = st.dictionaries(st.text(max_size=8), _int64 | st.text(max_size=8), max_size=4).map(
    lambda d: json.dumps(d, ensure_ascii=False)
)
_cuts = st.lists(st.integers(min_value=0, max_value=60), max_size=8)


@settings(deadline=None, max_examples=150)
@given(text=_texts, args=_args, cuts_a=_cuts, cuts_b=_cuts, arg_a=_cuts, arg_b=_cuts)
def test_chunk_boundaries_do_not_matter(
    text: str, args: str, cuts_a: list[int], cuts_b: list[int], arg_a: list[int], arg_b: list[int]
) -> None:
    """Re-splitting text and tool-argument deltas differently yields the same record (both OpenAI APIs)."""
    for build in (_chat_stream, _responses_stream):
        first = record_from_stream(build(text, args, cuts_a, arg_a), call_id="c")
        second = record_from_stream(build(text, args, cuts_b, arg_b), call_id="c")
        assert _without_chunk_fields(first) == _without_chunk_fields(second)
        assert first.output_text == text
        assert [c.arguments_json for c in first.output_tool_calls] == [args]
        assert first.output_tool_calls[0].arguments == json.loads(args)


@pytest.mark.parametrize(
    ("vendor", "name"),
    [
        ("openai_chat", "response_n3_refusal"),
        ("openai_chat", "stream_tool_calls"),
        ("openai_chat", "stream_azure"),
        ("openai_responses", "response_reasoning"),
        ("openai_responses", "stream_function_call"),
    ],
)
def test_records_round_trip(vendor: str, name: str, load_fixture: Loader) -> None:
    """Normalised records (with live chunk times) survive to_dict/from_dict and JSON unchanged."""
    payload = load_fixture(vendor, name)
    request = load_fixture(vendor, "request_multimodal" if vendor == "openai_chat" else "request_items")
    if isinstance(payload, list):
        recorder = StreamRecorder(request, clock=FakeClock(0.0), now=lambda: T0)
        for i, chunk in enumerate(payload):
            recorder.add(chunk, received_at=0.01 * (i + 1))
        record = recorder.finish()
    else:
        record = record_from_response(payload, request=request, started_at=T0, completed_at=T0)
    assert LLMCallRecord.from_dict(record.to_dict()) == record
    assert LLMCallRecord.from_json(record.to_json()) == record


def test_sdk_transport_options_never_reach_the_record() -> None:
    """extra_headers, api_key and a google-genai config's http_options (credentials) are not stored."""
    secret = "sk-live-do-not-store"
    request = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.5,
        "extra_headers": {"Authorization": f"Bearer {secret}"},
        "api_key": secret,
        "timeout": 30,
        "config": {"http_options": {"headers": {"x-goog-api-key": secret}}, "seed": 1},
    }
    response = {
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}
        ],
    }
    record = record_from_response(response, request=request, call_id="c1")
    text = record.to_json()
    assert secret not in text
    assert record.request_params.temperature == 0.5
    assert record.request_raw_json is not None
    assert json.loads(record.request_raw_json)["config"] == {"seed": 1}
    assert "extra_headers" not in record.request_params.raw_params
    # the synth-ai compatible path takes loose request_params and must scrub them too
    compat = create_llm_call_record_from_response(
        response,
        "gpt-4o-mini",
        "openai",
        [{"role": "user", "content": "hi"}],
        temperature=0.3,
        request_params=request,
    )
    assert secret not in compat.to_json()
    assert compat.request_params.temperature == 0.3  # synth's explicit argument wins, as in synth-ai


@pytest.mark.parametrize("arguments", ['{"x": 1e999}', '{"x": NaN}', '{"x": -Infinity}'])
def test_non_finite_tool_arguments_count_as_invalid_json(arguments: str) -> None:
    """Arguments whose numbers JSON storage cannot hold give arguments=None, and the record still saves."""
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    response = {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
    }
    record = record_from_response(response, call_id="c1")
    [spec] = record.output_tool_calls
    assert (spec.arguments, spec.arguments_json) == (None, arguments)
    assert LLMCallRecord.from_json(record.to_json()) == record


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 9223372036854775808}',
        '{"n": -9223372036854775809}',
        '{"n": NaN}',
        '{"n": 1e999}',
        "[" * 80 + "]" * 80,
    ],
)
def test_parse_arguments_refuses_what_a_record_cannot_store(text: str) -> None:
    """Tool arguments beyond 64-bit integers, non-finite or nested past MAX_DEPTH parse to None
    (the text is kept in arguments_json); the 64-bit edges themselves parse."""
    from tracekit.helpers._common import parse_arguments

    assert parse_arguments(text) is None
    assert parse_arguments('{"n": 9223372036854775807, "m": -9223372036854775808}') == {
        "n": 2**63 - 1,
        "m": -(2**63),
    }
