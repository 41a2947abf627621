"""Vendor payloads and streams -> one LLMCallRecord: the entry points every caller shares.

`record_from_response` normalises a complete response; `StreamRecorder` folds a live stream chunk
by chunk (timing each one on a monotonic clock) and `record_from_stream` replays a recorded one.
The vendor adapter is detected from the payload's shape unless `provider=`/`api_type=` says.

Recording never breaks the caller's LLM call: a malformed chunk or field is logged and noted in
`record.error` (outcome "error") while everything readable is kept; `strict=True` raises instead.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tracekit.errors import InvalidArgumentError, RecordingError, UnsupportedPayloadError
from tracekit.helpers import registry
from tracekit.helpers._common import scrub_transport
from tracekit.helpers.base import ChunkInfo, PayloadProblem, RequestParts, ResponseParts, VendorAdapter
from tracekit.model import LLMCallRecord, LLMChunk, LLMTiming, Outcome, new_id, utc_now

__all__ = [
    "StreamRecorder",
    "record_from_response",
    "record_from_stream",
    "to_mapping",
]

logger = logging.getLogger(__name__)


def to_mapping(obj: Any, what: str = "payload") -> Mapping[str, Any]:
    """A plain mapping as is; an SDK object through `model_dump(exclude_unset=True)` (plain
    `model_dump()` if that keyword is not supported); anything else is UnsupportedPayloadError."""
    if isinstance(obj, Mapping):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        try:
            data = dump(exclude_unset=True)
        except TypeError:
            data = dump()
        if isinstance(data, Mapping):
            return data
    raise UnsupportedPayloadError(
        f"{what} of type {type(obj).__name__} is neither a mapping nor an object with model_dump(); "
        "pass the vendor's JSON as a dict, or the SDK object itself"
    )


def _ms(seconds: float) -> float:
    """Seconds as milliseconds, rounded to the nanosecond so float noise does not show."""
    return round(seconds * 1000.0, 6)


def _raw_json(data: Mapping[str, Any] | None) -> str | None:
    if data is None:
        return None
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        logger.debug("payload not kept as raw JSON: %s", exc)
        return None


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgumentError(
            f"{name}={value!r} is a naive datetime; pass an aware one (e.g. tzinfo=UTC)"
        )
    return value.astimezone(UTC)


def _parse_request(
    adapter: VendorAdapter, request: Any
) -> tuple[RequestParts, dict[str, Any] | None, str | None]:
    """The request's parts by the response's own vendor, its raw JSON, and a malformed-field error."""
    if request is None:
        return RequestParts(), None, None
    data = scrub_transport(to_mapping(request, "request"))
    try:
        return adapter.parse_request(data), None, _raw_json(data)
    except PayloadProblem as exc:
        logger.warning("tracekit: unreadable request field %s", exc)
        error = {"type": "malformed_payload", "path": f"request.{exc.path}", "message": str(exc)}
        return RequestParts(), error, _raw_json(data)


def _error_info(error: BaseException | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if error is None:
        return None
    if isinstance(error, BaseException):
        return {"type": type(error).__name__, "message": str(error)}
    return dict(error)


def _build(
    adapter: VendorAdapter,
    parts: ResponseParts,
    req: RequestParts,
    *,
    call_id: str | None,
    outcome: Outcome | None,
    errors: Sequence[dict[str, Any] | None],
) -> LLMCallRecord:
    """The record from response + request parts; the first error in `errors` wins, and any error
    makes the outcome "error" unless the caller named one."""
    error = next((e for e in errors if e is not None), None)
    if outcome is None:
        outcome = "error" if error is not None else parts.outcome
    return LLMCallRecord(
        call_id=call_id or new_id(),
        api_type=adapter.API_TYPE,
        provider=adapter.PROVIDER,
        model_name=parts.model_name or req.model_name or "",
        request_params=req.request_params,
        input_messages=req.input_messages,
        input_text=req.input_text,
        tool_choice=req.tool_choice,
        tools=req.tools,
        response_id=parts.response_id,
        output_messages=parts.output_messages,
        outputs=parts.outputs,
        output_text=parts.output_text,
        reasoning_text=parts.reasoning_text,
        refusal=parts.refusal,
        output_tool_calls=parts.output_tool_calls,
        usage=parts.usage,
        finish_reason=parts.finish_reason,
        outcome=outcome,
        error=error,
    )


def record_from_response(
    payload: Any,
    *,
    request: Any = None,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    provider: str | None = None,
    api_type: str | None = None,
    call_id: str | None = None,
) -> LLMCallRecord:
    """An LLMCallRecord from a complete (non-streamed) response: a dict or SDK object.

    The API is detected from the payload's shape (`provider`/`api_type` override); `request`, the
    body that was sent, is read by the same vendor's parser. `started_at`/`completed_at` are aware
    datetimes; `latency_ms` is their difference when both are given. Raises
    UnsupportedPayloadError for a payload of no known shape; malformed fields set `error`.
    """
    data = to_mapping(payload, "response")
    candidates = registry.adapters_for(provider, api_type)
    adapter = candidates[0] if len(candidates) == 1 else registry.detect_response(data, candidates)
    start = _aware(started_at, "started_at")
    end = _aware(completed_at, "completed_at")
    parts = adapter.parse_response(data)
    req, req_error, req_json = _parse_request(adapter, request)
    record = _build(adapter, parts, req, call_id=call_id, outcome=None, errors=(parts.error, req_error))
    record.started_at = start
    record.completed_at = end
    if start is not None and end is not None:
        record.latency_ms = _ms((end - start).total_seconds())
    record.request_raw_json = req_json
    record.response_raw_json = _raw_json(data)
    return record


class StreamRecorder:
    """Records one streamed LLM call: `add(chunk)` per chunk as it arrives, then `finish()`.

    The start is read from `clock()` (monotonic seconds) and `now()` (aware wall time) when the
    recorder is made, so make it just before sending the request. `add(chunk, received_at=None)`
    takes the chunk's arrival in the same clock's seconds (default: `clock()` at the call).
    Malformed chunks never raise out of `add` unless `strict=True`: they are kept, logged, and
    noted in the record's `error`. `keep_chunks=False` drops the per-chunk LLMChunk list.
    """

    __slots__ = (
        "_adapter",
        "_candidates",
        "_chunks",
        "_clock",
        "_count",
        "_error",
        "_first_content",
        "_last",
        "_record",
        "_request",
        "_start",
        "_started_at",
        "_state",
        "_strict",
        "_timed",
        "call_id",
    )

    def __init__(
        self,
        request: Any = None,
        *,
        provider: str | None = None,
        api_type: str | None = None,
        call_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
        keep_chunks: bool = True,
        strict: bool = False,
    ) -> None:
        self.call_id = call_id or new_id()
        self._request = request
        self._candidates = registry.adapters_for(provider, api_type)
        self._adapter: VendorAdapter | None = None
        self._state: Any = None
        if len(self._candidates) == 1:
            self._use(self._candidates[0])
        self._clock = clock
        self._strict = strict
        self._chunks: list[LLMChunk] | None = [] if keep_chunks else None
        self._count = 0
        self._error: dict[str, Any] | None = None
        self._first_content: float | None = None
        self._last: float | None = None
        self._record: LLMCallRecord | None = None
        self._timed = True
        self._start: float | None = clock()
        self._started_at: datetime | None = _aware(now(), "now()")

    def _use(self, adapter: VendorAdapter) -> None:
        self._adapter = adapter
        self._state = adapter.new_stream_state()

    def _problem(self, index: int, path: str, message: str, exc: Exception) -> None:
        """Note an unreadable chunk (the first one becomes `record.error`), or raise when strict."""
        if self._strict:
            raise RecordingError(f"stream chunk {index}: {message}") from exc
        logger.warning("tracekit: unreadable stream chunk %d (%s): %s", index, path, message)
        if self._error is None:
            self._error = {"type": "malformed_payload", "path": path, "message": message}

    def add(self, chunk: Any, received_at: float | None = None) -> None:
        """Fold one chunk (dict or SDK object) received at `received_at` (monotonic seconds)."""
        if self._record is not None:
            if self._strict:
                raise RecordingError("add() after finish(): make a new StreamRecorder for each call")
            logger.warning("tracekit: chunk added after finish() ignored (call %s)", self.call_id)
            return
        at = received_at if received_at is not None or not self._timed else self._clock()
        index = self._count
        self._count = index + 1
        if at is not None:
            self._last = at
        if type(chunk) is not dict:
            try:
                chunk = to_mapping(chunk, "stream chunk")
            except UnsupportedPayloadError as exc:
                self._problem(index, f"chunks[{index}]", str(exc), exc)
                self._keep(index, at, None, None)
                return
        info: ChunkInfo | None = None
        adapter = self._adapter
        try:
            if adapter is None:
                adapter = registry.detect_chunk(chunk, self._candidates)
                self._use(adapter)
            info = adapter.add_chunk(self._state, chunk)
        except PayloadProblem as exc:
            self._problem(index, f"chunks[{index}].{exc.path}", str(exc), exc)
        except UnsupportedPayloadError as exc:
            self._problem(index, f"chunks[{index}]", str(exc), exc)
        except (LookupError, TypeError, AttributeError, ValueError) as exc:
            # adapters read chunks without re-validating each field (the hot path); a chunk of the
            # wrong shape surfaces here as a lookup or type error
            self._problem(index, f"chunks[{index}]", f"{type(exc).__name__}: {exc}", exc)
        if info is not None and info.kind == "content" and self._first_content is None:
            self._first_content = at
        self._keep(index, at, info, chunk)

    def _keep(self, index: int, at: float | None, info: ChunkInfo | None, chunk: Any) -> None:
        if self._chunks is None:
            return
        start = self._start
        offset = received = None
        if at is not None and start is not None:
            offset = _ms(at - start)
            if self._started_at is not None:
                received = self._started_at + timedelta(seconds=at - start)
        raw = chunk if type(chunk) is dict else (dict(chunk) if chunk is not None else None)
        if info is None:
            self._chunks.append(
                LLMChunk(index, received, offset, None, None, None, None, raw, {"kind": "error"})
            )
        else:
            self._chunks.append(
                LLMChunk(
                    index,
                    received,
                    offset,
                    info.event_type,
                    info.choice_index,
                    info.delta_text,
                    None,
                    raw,
                    {"kind": info.kind},
                )
            )

    def finish(
        self, outcome: Outcome | None = None, error: BaseException | Mapping[str, Any] | None = None
    ) -> LLMCallRecord:
        """The call's record. A stream that never reached its terminal event is "incomplete" with
        what arrived; pass outcome="cancelled"/"error"/"timeout" (and `error`, an exception or a
        dict) when the call ended that way. Calling it again returns the same record. Raises
        UnsupportedPayloadError if no chunk identified the API and none was given (a call cancelled
        before its first chunk needs provider=/api_type= on the recorder)."""
        if self._record is not None:
            return self._record
        adapter = self._adapter
        if adapter is None:
            raise UnsupportedPayloadError(
                f"no chunk of this stream identified its API ({self._count} chunk(s) seen); "
                "pass provider= and api_type= to StreamRecorder/record_from_stream"
            )
        try:
            parts = adapter.finish_stream(self._state)
        except (PayloadProblem, LookupError, TypeError, AttributeError, ValueError) as exc:
            if self._strict:
                raise RecordingError(f"could not finish the stream: {exc}") from exc
            logger.warning("tracekit: could not finish the stream: %s", exc)
            parts = ResponseParts(
                outcome="error", error={"type": "malformed_payload", "path": "", "message": str(exc)}
            )
        req, req_error, req_json = _parse_request(adapter, self._request)
        given_error = _error_info(error)
        if outcome is None and given_error is not None:
            outcome = "error"
        record = _build(
            adapter,
            parts,
            req,
            call_id=self.call_id,
            outcome=outcome,
            errors=(given_error, parts.error, self._error, req_error),
        )
        record.request_raw_json = req_json
        record.chunks = self._chunks
        self._set_timing(record)
        self._record = record
        return record

    def _set_timing(self, record: LLMCallRecord) -> None:
        timing = LLMTiming(chunk_count=self._count)
        record.timing = timing
        if not self._timed:
            return
        start = self._start
        end = self._last if self._last is not None else (self._clock() if start is not None else None)
        first = self._first_content
        if start is not None and end is not None:
            record.latency_ms = _ms(end - start)
            if self._started_at is not None:
                record.started_at = self._started_at
                record.completed_at = self._started_at + timedelta(seconds=end - start)
        if first is None:
            return
        if start is not None:
            timing.ttft_ms = _ms(first - start)
        if end is not None:
            timing.decode_ms = decode = _ms(end - first)
            output_tokens = record.usage.output_tokens if record.usage is not None else None
            if output_tokens is not None and output_tokens > 1:
                timing.tpot_ms = round(decode / (output_tokens - 1), 6)
                if decode > 0:
                    timing.output_tokens_per_second = round((output_tokens - 1) / (decode / 1000.0), 6)


def record_from_stream(
    chunks: Iterable[Any],
    *,
    request: Any = None,
    started_at: float | None = None,
    received_at: Sequence[float] | None = None,
    provider: str | None = None,
    api_type: str | None = None,
    call_id: str | None = None,
) -> LLMCallRecord:
    """An LLMCallRecord from a recorded stream: its chunks/events in order (dicts or SDK objects).

    Times are optional and all in one monotonic clock's seconds (e.g. `time.monotonic()` values):
    `received_at` holds one arrival time per chunk, `started_at` when the request was sent. With
    both, the record gets ttft_ms, decode_ms, tpot_ms, output_tokens_per_second and latency_ms;
    with `received_at` only, the figures that need no start (decode_ms, tpot_ms, ...). Without
    times, timing has only chunk_count. Wall-clock `started_at`/`completed_at` stay None (a
    monotonic clock has no date). Malformed chunks are noted in `error`, never raised.
    """
    recorder = StreamRecorder(request, provider=provider, api_type=api_type, call_id=call_id)
    recorder._start = started_at
    recorder._started_at = None
    recorder._timed = received_at is not None
    if received_at is None:
        for chunk in chunks:
            recorder.add(chunk)
    else:
        times = list(received_at)
        count = 0
        for chunk in chunks:
            if count >= len(times):
                raise InvalidArgumentError(
                    f"received_at has {len(times)} time(s) but the stream has more chunks; give one per chunk"
                )
            recorder.add(chunk, times[count])
            count += 1
        if count != len(times):
            raise InvalidArgumentError(
                f"received_at has {len(times)} time(s) for {count} chunk(s); give one per chunk"
            )
    return recorder.finish()
