"""synth-ai's record builders under their old names and signatures, as thin wrappers.

synth-ai callers pass the request as loose arguments (model name, chat-style messages,
temperature, extra params, tools); these wrappers rebuild that request, normalise the vendor
payload with the real parsers, and return the same LLMCallRecord the new API would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tracekit.errors import InvalidArgumentError, UnsupportedPayloadError
from tracekit.helpers import openai_chat, registry
from tracekit.helpers._common import scrub_transport
from tracekit.helpers.base import PayloadProblem
from tracekit.helpers.recorder import record_from_response, record_from_stream
from tracekit.model import LLMCallRecord, LLMChunk

__all__ = ["create_llm_call_record_from_response", "create_llm_call_record_from_streaming"]


def _known_provider(provider: str | None) -> str | None:
    """`provider` if tracekit has an adapter for it; synth-ai also passed free-form names."""
    if provider is None:
        return None
    try:
        registry.adapters_for(provider)
    except UnsupportedPayloadError:
        return None
    return provider


def _checked_time(value: Any, name: str) -> datetime | None:
    """An aware datetime or None, else refused naming `name` (a naive time is ambiguous)."""
    if value is None or (isinstance(value, datetime) and value.utcoffset() is not None):
        return value
    raise InvalidArgumentError(
        f"{name} must be an aware datetime or None, got {value!r:.60}; pass tzinfo=UTC"
    )


def _checked_params(request_params: Any) -> Mapping[str, Any]:
    if request_params is None:
        return {}
    if isinstance(request_params, Mapping):
        return request_params
    raise InvalidArgumentError(
        f"request_params must be a dict of request options or None, got {request_params!r:.60}"
    )


def _apply_request(
    record: LLMCallRecord,
    model_name: str,
    messages: list[dict[str, Any]],
    temperature: float | None,
    request_params: dict[str, Any] | None,
    tools: list[Any] | None,
) -> None:
    """Fill the request side from synth-ai's loose arguments (messages are chat-style dicts)."""
    request: dict[str, Any] = {
        **scrub_transport(dict(_checked_params(request_params))),
        "model": model_name,
        "messages": messages,
    }
    if temperature is not None:
        request["temperature"] = temperature
    if tools:
        request["tools"] = tools
    try:
        parts = openai_chat.parse_request(request)
    except PayloadProblem as exc:
        if record.error is None:
            record.error = {"type": "malformed_payload", "path": f"request.{exc.path}", "message": str(exc)}
            record.outcome = "error"
        return
    record.input_messages = parts.input_messages
    record.tools = parts.tools
    record.tool_choice = parts.tool_choice
    record.request_params = parts.request_params
    if not record.model_name:
        record.model_name = model_name


def create_llm_call_record_from_response(
    response: Any,
    model_name: str,
    provider: str,
    messages: list[dict[str, Any]],
    temperature: float = 0.8,
    request_params: dict[str, Any] | None = None,
    tools: list[Any] | None = None,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    latency_ms: float | None = None,
) -> LLMCallRecord:
    """synth-ai compatible: a record from a vendor response (dict or SDK object) plus the request
    given as loose arguments. Prefer `record_from_response(payload, request=...)`."""
    _checked_params(request_params)
    if latency_ms is not None and (
        isinstance(latency_ms, bool)
        or not isinstance(latency_ms, int | float)
        or not math.isfinite(float(latency_ms))
    ):
        raise InvalidArgumentError(f"latency_ms must be a finite number or None, got {latency_ms!r:.60}")
    record = record_from_response(
        response,
        started_at=_checked_time(started_at, "started_at"),
        completed_at=_checked_time(completed_at, "completed_at"),
        provider=_known_provider(provider),
    )
    _apply_request(record, model_name, messages, temperature, request_params, tools)
    if record.latency_ms is None and latency_ms is not None:
        record.latency_ms = float(latency_ms)
    return record


def create_llm_call_record_from_streaming(
    chunks: Sequence[LLMChunk],
    model_name: str,
    provider: str,
    messages: list[dict[str, Any]],
    temperature: float = 0.8,
    request_params: dict[str, Any] | None = None,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
) -> LLMCallRecord:
    """synth-ai compatible: a record rebuilt from LLMChunks that kept the vendor's `raw` payload.

    Arrival times come from each chunk's `received_at` relative to `started_at` (or from
    `offset_ms`). Raises UnsupportedPayloadError when a chunk has no `raw`: text deltas alone
    cannot say which API answered, nor give tool calls and usage."""
    started_at = _checked_time(started_at, "started_at")
    completed_at = _checked_time(completed_at, "completed_at")
    _checked_params(request_params)
    if isinstance(chunks, str | bytes | Mapping) or not isinstance(chunks, Sequence):
        raise InvalidArgumentError(f"chunks must be a list of LLMChunk, got {chunks!r:.60}")
    raws: list[dict[str, Any]] = []
    for index, chunk in enumerate(chunks):
        if not isinstance(chunk, LLMChunk):
            raise InvalidArgumentError(
                f"chunks[{index}] must be an LLMChunk (with the vendor's raw chunk), got {chunk!r:.60}"
            )
        if chunk.raw is None:
            raise UnsupportedPayloadError(
                f"chunk {chunk.sequence_index} has no raw payload; tracekit rebuilds records from the "
                "vendor's chunks, so keep raw=<chunk dict> on each LLMChunk (StreamRecorder does)"
            )
        raws.append(chunk.raw)
    received: list[float] | None = None
    start: float | None = None
    if started_at is not None and all(c.received_at is not None for c in chunks):
        received = [(c.received_at - started_at).total_seconds() for c in chunks if c.received_at is not None]
        start = 0.0
    elif all(c.offset_ms is not None for c in chunks):
        received = [c.offset_ms / 1000.0 for c in chunks if c.offset_ms is not None]
        start = 0.0
    record = record_from_stream(
        raws, started_at=start, received_at=received, provider=_known_provider(provider)
    )
    record.chunks = list(chunks)
    record.started_at = started_at
    record.completed_at = completed_at
    _apply_request(record, model_name, messages, temperature, request_params, None)
    return record
