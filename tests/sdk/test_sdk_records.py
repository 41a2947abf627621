"""Every vendor fixture through each official SDK client gives the same record as the plain dict.

Each fixture is served by the fake transport and read by the vendor's own client: complete
responses through create() (sync and async), streams through create(stream=True) /
generate_content_stream and through the stream helpers (chat.completions.stream(),
responses.stream(), messages.stream()), sync and async. The record made from what the SDK
handed over must equal the record made from the fixture's dicts, minus arrival times; where an
SDK drops or stops at a vendor event (anthropic pings, Azure filter chunks in the chat helper, an
error event), the dict side is fed exactly what the SDK delivered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sdk_transport import VendorServer, anthropic_client, gemini_client, openai_client

import tracekit as tk

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VENDORS = ("openai_chat", "openai_responses", "anthropic", "gemini")
REQUESTS: dict[str, dict[str, Any]] = {
    "openai_chat": {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]},
    "openai_responses": {"model": "gpt-4.1", "input": "hi"},
    "anthropic": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    },
    "gemini": {"model": "gemini-2.5-flash", "contents": "hi"},
}
API_OF = {
    "openai_chat": ("openai", "chat_completions"),
    "openai_responses": ("openai", "responses"),
    "anthropic": ("anthropic", "messages"),
    "gemini": ("google", "generate_content"),
}
_ARRIVAL = ("call_id", "timing", "latency_ms", "started_at", "completed_at")


def load(vendor: str, name: str) -> Any:
    """The parsed JSON of tests/fixtures/<vendor>/<name>.json."""
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def fixtures(prefix: str) -> list[tuple[str, str]]:
    """(vendor, name) of every fixture whose name starts with `prefix`."""
    return [
        (vendor, path.stem)
        for vendor in VENDORS
        for path in sorted((FIXTURES / vendor).glob(f"{prefix}*.json"))
    ]


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def normalised(record: tk.LLMCallRecord) -> dict[str, Any]:
    """The record's dict without arrival times; raw JSON parsed, so an SDK's float `created_at`
    (1741476542.0) equals the wire's integer, and raw chunks without the nulls an SDK fills in."""
    data = record.to_dict()
    for key in _ARRIVAL:
        data.pop(key)
    for key in ("request_raw_json", "response_raw_json"):
        if data[key] is not None:
            data[key] = _drop_nulls(json.loads(data[key]))
    for chunk in data["chunks"] or ():
        chunk.pop("received_at")
        chunk.pop("offset_ms")
        chunk["raw"] = _drop_nulls(chunk["raw"])
    return data


def content_of(record: tk.LLMCallRecord) -> dict[str, Any]:
    """What a final message/response must carry like the stream it was built from."""
    usage = record.usage.to_dict() if record.usage is not None else None
    if usage is not None:
        usage.pop("raw")
    return {
        "model_name": record.model_name,
        "response_id": record.response_id,
        "output_text": record.output_text,
        "reasoning_text": record.reasoning_text,
        "refusal": record.refusal,
        "output_tool_calls": [c.to_dict() for c in record.output_tool_calls],
        "finish_reason": record.finish_reason,
        "usage": usage,
    }


# ---------------------------------------------------------------------------------------------
# Complete responses: create(), sync and async


def _create(vendor: str, server: VendorServer, is_async: bool) -> Any:
    request = REQUESTS[vendor]
    if vendor == "gemini":
        client = gemini_client(server)
        if is_async:
            return asyncio.run(client.aio.models.generate_content(**request))
        return client.models.generate_content(**request)
    if vendor == "anthropic":
        client = anthropic_client(server, is_async=is_async)
        call = client.messages.create
    else:
        client = openai_client(server, is_async=is_async)
        call = client.chat.completions.create if vendor == "openai_chat" else client.responses.create
    if is_async:

        async def run() -> Any:
            return await call(**request)

        return asyncio.run(run())
    return call(**request)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("vendor", "name"), fixtures("response"))
def test_create_gives_the_dict_record(vendor: str, name: str, is_async: bool) -> None:
    """A complete response read by the SDK's create() is recorded exactly as its JSON dict is."""
    body = load(vendor, name)
    server = VendorServer().reply_json(body)
    sdk_object = _create(vendor, server, is_async)
    assert not isinstance(sdk_object, dict)
    request = REQUESTS[vendor]
    try:
        tk.record_from_response(body)
        api: dict[str, str] = {}
    except tk.UnsupportedPayloadError:  # a docs example without its envelope (e.g. only `content`)
        provider, api_type = API_OF[vendor]
        api = {"provider": provider, "api_type": api_type}
    got = tk.record_from_response(sdk_object, request=request, **api)
    expected = tk.record_from_response(body, request=request, **api)
    assert normalised(got) == normalised(expected)
    assert got.response_raw_json is not None
    assert tk.LLMCallRecord.from_json(got.to_json()) == got


# ---------------------------------------------------------------------------------------------
# Streams: raw (create(stream=True) / generate_content_stream) and the stream helpers


@dataclass(slots=True)
class Run:
    """What one SDK stream delivered: the recorded record, the items seen, the exception the SDK
    raised (if any) and the helper's final object (if it gave one)."""

    record: tk.LLMCallRecord
    delivered: int
    error: BaseException | None
    final: Any = None


def _open(vendor: str, server: VendorServer, mode: str) -> tuple[Any, Callable[[Any], Any] | None]:
    """The SDK's stream (a context manager or an iterable) and the helper's get_final_* (or None)."""
    is_async = mode.endswith("async")
    request = REQUESTS[vendor]
    if vendor == "gemini":
        client = gemini_client(server)
        if is_async:
            return client.aio.models.generate_content_stream(**request), None
        return client.models.generate_content_stream(**request), None
    if vendor == "anthropic":
        messages = anthropic_client(server, is_async=is_async).messages
        if mode.startswith("helper"):
            return messages.stream(**request), lambda s: s.get_final_message()
        return messages.create(**request, stream=True), None
    client = openai_client(server, is_async=is_async)
    if vendor == "openai_chat":
        if mode.startswith("helper"):
            return client.chat.completions.stream(**request), lambda s: s.get_final_completion()
        return client.chat.completions.create(**request, stream=True), None
    if mode.startswith("helper"):
        return client.responses.stream(**request), lambda s: s.get_final_response()
    return client.responses.create(**request, stream=True), None


def _record_sync(vendor: str, server: VendorServer, mode: str) -> Run:
    recorder = tk.StreamRecorder(request=REQUESTS[vendor], strict=True)
    stream, final_of = _open(vendor, server, mode)
    seen, error, final = 0, None, None
    try:
        if final_of is not None:
            with stream as events:
                for event in events:
                    seen += 1
                    recorder.add(event)
                try:
                    final = final_of(events)
                except RuntimeError:  # the Responses helper has no final response without response.completed
                    final = None
        else:
            for event in stream:
                seen += 1
                recorder.add(event)
    except tk.TracekitError:
        raise
    except Exception as exc:  # the SDK itself raised (an error event, a length stop in the chat helper)
        error = exc
    return Run(recorder.finish(error=error), seen, error, final)


def _record_async(vendor: str, server: VendorServer, mode: str) -> Run:
    async def run() -> Run:
        recorder = tk.StreamRecorder(request=REQUESTS[vendor], strict=True)
        stream, final_of = _open(vendor, server, mode)
        seen, error, final = 0, None, None
        try:
            if final_of is not None:
                async with stream as events:
                    async for event in events:
                        seen += 1
                        recorder.add(event)
                    try:
                        final = await final_of(events)
                    except RuntimeError:
                        final = None
            else:
                async for event in await stream:
                    seen += 1
                    recorder.add(event)
        except tk.TracekitError:
            raise
        except Exception as exc:
            error = exc
        return Run(recorder.finish(error=error), seen, error, final)

    return asyncio.run(run())


def _delivered_chunks(vendor: str, mode: str, chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The vendor chunks an SDK passes on, in order: the anthropic SDK drops pings; the openai chat
    helper drops chunks whose `object` is not "chat.completion.chunk" (Azure's filter chunks)."""
    if vendor == "anthropic":
        return [c for c in chunks if c.get("type") != "ping"]
    if vendor == "openai_chat" and mode.startswith("helper"):
        return [c for c in chunks if c.get("object") == "chat.completion.chunk"]
    return chunks


STREAM_MODES = {
    "openai_chat": ("raw_sync", "raw_async", "helper_sync", "helper_async"),
    "openai_responses": ("raw_sync", "raw_async", "helper_sync", "helper_async"),
    "anthropic": ("raw_sync", "raw_async", "helper_sync", "helper_async"),
    "gemini": ("raw_sync", "raw_async"),
}
SDK_RAISES = {
    # the vendor's error event
    ("anthropic", "stream_error", "raw"): "APIStatusError",
    ("anthropic", "stream_error", "helper"): "APIStatusError",
    # the chat helper refuses a `length` finish
    ("openai_chat", "stream_n2", "helper"): "LengthFinishReasonError",
    # the anthropic helper parses tool input JSON at content_block_stop
    ("anthropic", "stream_tool_use_invalid_json", "helper"): "ValueError",
    # the extended-thinking docs example's message_delta has no `usage`, which the helper requires
    ("anthropic", "stream_thinking", "helper"): "AttributeError",
}
"""The (fixture x mode) combinations where the SDK itself raises; every other stream is delivered whole."""

STREAM_CASES = [
    pytest.param(vendor, name, mode, id=f"{vendor}-{name}-{mode}")
    for vendor, name in fixtures("stream")
    for mode in STREAM_MODES[vendor]
]


@pytest.mark.parametrize(("vendor", "name", "mode"), STREAM_CASES)
def test_stream_gives_the_dict_record(vendor: str, name: str, mode: str) -> None:
    """A stream read through the SDK (raw or helper, sync or async) is recorded, in strict mode,
    exactly as the vendor chunks it delivered are; helper-only events are never chunks, and the SDK
    raises only where SDK_RAISES says."""
    chunks = load(vendor, name)
    server = VendorServer().reply_stream(vendor, chunks)  # type: ignore[arg-type]
    run = (_record_async if mode.endswith("async") else _record_sync)(vendor, server, mode)
    raised = None if run.error is None else type(run.error).__name__
    assert raised == SDK_RAISES.get((vendor, name, mode.split("_")[0]))
    delivered = _delivered_chunks(vendor, mode, chunks)
    folded = run.record.timing.chunk_count if run.record.timing is not None else None
    if run.error is None:
        assert folded == len(delivered)
    expected_recorder = tk.StreamRecorder(request=REQUESTS[vendor], strict=True)
    for chunk in delivered[:folded]:
        expected_recorder.add(chunk)
    expected = expected_recorder.finish(error=run.error)
    assert normalised(run.record) == normalised(expected)
    assert tk.LLMCallRecord.from_json(run.record.to_json()) == run.record
    if run.final is not None:
        final_record = tk.record_from_response(run.final, request=REQUESTS[vendor])
        assert final_record.response_raw_json is not None
        final = content_of(final_record)
        want = content_of(expected)
        for got_call, want_call in zip(final["output_tool_calls"], want["output_tool_calls"], strict=True):
            if vendor == "anthropic":
                # a Message holds the parsed `input`, not the streamed text: compare the arguments
                got_call.pop("arguments_json")
                want_call.pop("arguments_json")
            if want_call["arguments"] is None:
                # arguments cut short (max_tokens): the SDK's final message holds its own lenient
                # parse of the partial JSON, the stream keeps the text as sent
                for key in ("arguments", "arguments_json"):
                    got_call.pop(key, None)
                    want_call.pop(key, None)
        assert final == want


def test_gemini_request_with_sdk_config_keeps_its_raw_json() -> None:
    """A generate_content request whose config is a GenerateContentConfig gives the same record,
    request_raw_json included, as the same request written as a dict."""
    from google.genai import types

    as_dict = load("gemini", "request_sdk_kwargs")
    as_sdk = {
        "model": "gemini-2.5-flash",
        "contents": "How does AI work?",
        "config": types.GenerateContentConfig(
            system_instruction="You are a cat. Your name is Neko.",
            thinking_config=types.ThinkingConfig(thinking_budget=0),
            temperature=0.1,
        ),
    }
    response = load("gemini", "response_implicit_caching")
    got = tk.record_from_response(response, request=as_sdk, call_id="c")
    expected = tk.record_from_response(response, request=as_dict, call_id="c")
    assert normalised(got) == normalised(expected)  # the raw JSON's key order is the SDK's field order
    assert got.request_raw_json is not None
    assert json.loads(got.request_raw_json) == as_dict


def test_gemini_sdk_stream_keeps_enum_values_and_base64_signatures() -> None:
    """google-genai chunks enter the record as JSON: FinishReason.STOP as "STOP", bytes thought
    signatures as the standard base64 the API sent; the record saves to JSON and reads back equal."""
    chunks = load("gemini", "stream_thinking_function_call")
    server = VendorServer().reply_stream("gemini", chunks)
    client = gemini_client(server)
    record = tk.record_from_stream(client.models.generate_content_stream(**REQUESTS["gemini"]))
    assert record.finish_reason == "STOP"
    assert record.chunks is not None
    assert [c.raw for c in record.chunks] == chunks
    signature = chunks[-1]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    assert record.output_tool_calls[0].metadata == {"thought_signature": signature}
    assert tk.LLMCallRecord.from_json(record.to_json()) == record
