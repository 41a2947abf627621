"""Vendor payloads and streams -> one LLMCallRecord: the entry points every caller shares.

`record_from_response` normalises a complete response; `StreamRecorder` records a live stream (each
chunk timed on a monotonic clock and snapshotted as it arrives, all folded at the end) and
`record_from_stream` replays a recorded one.
The vendor adapter is detected from the payload's shape unless `provider=`/`api_type=` says.

Recording never breaks the caller's LLM call: a malformed chunk or field is logged and noted in
`record.error` (outcome "error") while everything readable is kept; `strict=True` raises instead.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tracekit.errors import InvalidArgumentError, RecordingError, TracekitError, UnsupportedPayloadError
from tracekit.helpers import registry
from tracekit.helpers._clean import MAX_DEPTH, clean, short_repr
from tracekit.helpers._common import scrub_transport
from tracekit.helpers._dict_shapes import DICT_TAKERS, learn_dict, promote_dict
from tracekit.helpers._dict_shapes import PER_STREAM as DICT_PER_STREAM
from tracekit.helpers._dict_shapes import TIMED as DICT_TIMED
from tracekit.helpers._exact_json import json_bytes, json_text
from tracekit.helpers._ids import new_call_id
from tracekit.helpers._json import encode_json
from tracekit.helpers._record_build import record_builder
from tracekit.helpers._response_read import learn as learn_response
from tracekit.helpers._response_read import read_json as read_response_json
from tracekit.helpers._shapes import TAKERS, TIMED, learn, promote
from tracekit.helpers._snapshot import Unsnappable, copy_json, freeze_dict, sdk_chunk, thaw_dict
from tracekit.helpers.base import ChunkInfo, PayloadProblem, RequestParts, ResponseParts, VendorAdapter
from tracekit.helpers.sdk import DERIVED_EVENT_TYPES, chunk_of, request_json, sdk_json
from tracekit.model import LLMCallRecord, LLMChunk, LLMTiming, Outcome, is_valid_unicode, utc_now

__all__ = [
    "StreamRecorder",
    "record_from_response",
    "record_from_stream",
    "to_mapping",
]

logger = logging.getLogger(__name__)


def to_mapping(obj: Any, what: str = "payload") -> Mapping[str, Any]:
    """A plain mapping as is; an SDK object as the vendor JSON it holds (see `helpers.sdk`: JSON
    mode, wire names, only what was sent); anything else is UnsupportedPayloadError."""
    if isinstance(obj, Mapping):
        return obj
    try:
        data = sdk_json(obj)
    except TracekitError:
        raise
    except Exception as exc:  # the SDK object's own dump failed (e.g. a value pydantic cannot write)
        raise UnsupportedPayloadError(
            f"{what} of type {type(obj).__name__} could not be read as JSON by its own model_dump() "
            f"({type(exc).__name__}: {short_repr(str(exc))}); pass the vendor's JSON as a dict"
        ) from exc
    if data is not None:
        return data
    raise UnsupportedPayloadError(
        f"{what} of type {type(obj).__name__} is neither a mapping nor an object with model_dump(); "
        "pass the vendor's JSON as a dict, or the SDK object itself"
    )


def _response_mapping(payload: Any) -> tuple[Mapping[str, Any], str | None]:
    """`to_mapping(payload, "response")` and, for an SDK response of a shape seen before (read
    through its learnt shape: the same dict, see `_response_read`), the raw JSON text `_storable`
    would write for it (None: `_storable` writes it). Any other SDK object is dumped, teaching its
    shape."""
    fast = read_response_json(payload)
    if fast is not None:
        return fast
    data = to_mapping(payload, "response")
    if data is not payload and type(data) is dict:
        learn_response(payload, data)
    return data, None


_MAX_SPAN_S = 1e9
"""Longest span between two times of one call that is taken as real (about 31 years): beyond it
(or non-finite) the clock values are wrong, and timing is left out rather than overflowing."""


def _plausible(seconds: float) -> bool:
    return -_MAX_SPAN_S <= seconds <= _MAX_SPAN_S


def _ms(seconds: float) -> float:
    """Seconds as milliseconds, rounded to the nanosecond so float noise does not show."""
    return round(seconds * 1000.0, 6)


_ENCODE = json_text
_JSON_BYTES = json_bytes
"""`json.dumps(ensure_ascii=False, separators=(",", ":"), allow_nan=False)`: orjson's text where it is
provably the same (see `_exact_json`), else the standard library's C encoder built once."""


def _raw_json(data: Mapping[str, Any] | None, encode: Callable[[Any], str] = _ENCODE) -> str | None:
    if data is None:
        return None
    try:
        return encode(data)
    except (TypeError, ValueError, RecursionError) as exc:
        logger.debug("payload not kept as raw JSON: %s", exc)
        return None


_DIGIT_MAP = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
"""bytes.translate table: every ASCII digit to "0", every other byte to a space."""
_LONG_RUN = b"0" * 19
"""19 digits in a row: the shortest run that can spell an integer outside 64 bits."""


def _has_long_number(text: str) -> bool:
    """Whether `text` holds 19 or more digits in a row (a translate and a substring search in C:
    much cheaper than a regex over payloads with long base64 strings). A run inside a string
    is a false alarm that only costs the exact check."""
    return _LONG_RUN in text.encode("utf-8", "surrogatepass").translate(_DIGIT_MAP)


def _storable(data: Mapping[str, Any], path: str, notes: list[dict[str, Any]]) -> tuple[Any, str | None]:
    """`data` made storable (see `_clean`) and its raw JSON. The JSON text screens it cheaply:
    json.dumps refuses NaN/inf and non-JSON values; a clean text with no 19-digit run and fewer
    brackets than MAX_DEPTH cannot hold an out-of-range integer or deep nesting. orjson's UTF-8
    bytes of that text, when it writes it, are screened as they are (no second encoding)."""
    raw = _JSON_BYTES(data)
    if raw is not None:
        if _LONG_RUN not in raw.translate(_DIGIT_MAP) and raw.count(b"{") + raw.count(b"[") < MAX_DEPTH:
            return data, raw.decode("utf-8")
        text: str | None = raw.decode("utf-8")
    else:  # orjson's text could differ: the standard library's encoder writes it
        text = _raw_json(data, encode_json)
    if text is not None and not _has_long_number(text) and text.count("{") + text.count("[") < MAX_DEPTH:
        return data, text
    cleaned = clean(data, path, notes)
    if cleaned is data:
        return data, text
    return cleaned, _raw_json(cleaned)


_new_call_id = new_call_id
"""`model.new_id()`'s uuid4 hex, drawn from a pooled block of random bytes (see `helpers._ids`)."""


def _aware(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidArgumentError(
            f"{name} must be an aware datetime or None, got {type(value).__name__} {value!r:.60}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgumentError(
            f"{name}={value!r} is a naive datetime; pass an aware one (e.g. tzinfo=UTC)"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidArgumentError(
            f"{name}={value!r} falls outside years 1-9999 in UTC; pass a time within them"
        ) from None


def _call_id(value: Any) -> str:
    """The call id given, or a new one for None or ""; anything but text is refused at once (it
    would make a record that cannot be saved)."""
    if value is None:
        return _new_call_id()
    if isinstance(value, str) and is_valid_unicode(value):
        return value or _new_call_id()
    raise InvalidArgumentError(f"call_id must be a str or None, got {type(value).__name__} {value!r:.60}")


def _parse_request(
    adapter: VendorAdapter, request: Any, notes: list[dict[str, Any]]
) -> tuple[RequestParts, dict[str, Any] | None, str | None]:
    """The request's parts by the response's own vendor, its raw JSON, and a malformed-field error.
    SDK objects inside (e.g. google-genai's GenerateContentConfig) are read as the user set them;
    values JSON cannot hold exactly are replaced and noted in `notes`."""
    if request is None:
        return RequestParts(), None, None
    data = scrub_transport(to_mapping(request, "request"))
    data = request_json(data)
    data, text = _storable(data, "request", notes)
    try:
        return adapter.parse_request(data), None, text
    except PayloadProblem as exc:
        logger.warning("tracekit: unreadable request field %s", exc)
        error = {"type": "malformed_payload", "path": f"request.{exc.path}", "message": str(exc)}
        return RequestParts(), error, text


def _error_info(
    error: BaseException | Mapping[str, Any] | None, notes: list[dict[str, Any]]
) -> dict[str, Any] | None:
    if error is None:
        return None
    if isinstance(error, BaseException):
        try:
            message = str(error)
        except Exception:  # an exception whose __str__ fails must not break recording
            message = repr(type(error))
        return {"type": type(error).__name__, "message": message}
    if not isinstance(error, Mapping):
        raise InvalidArgumentError(
            f"error={type(error).__name__} value; pass an exception, a dict such as "
            '{"type": ..., "message": ...}, or None'
        )
    cleaned = clean(dict(error), "error", notes)
    return cleaned if isinstance(cleaned, dict) else None


_TRUSTED_ROOTS = ("usage", "usageMetadata", "usage_metadata", "timing")


def _note_replaced(record: LLMCallRecord, notes: list[dict[str, Any]]) -> None:
    """Name every replaced value in `record.error`; a replaced number users trust (usage, timing)
    makes the outcome "error"."""
    if not notes:
        return
    shown = notes[:100]
    if record.error is None:
        record.error = {
            "type": "replaced_values",
            "path": notes[0]["path"],
            "message": f"{len(notes)} value(s) JSON cannot hold exactly were replaced; see `replaced`",
            "replaced": shown,
        }
    else:
        record.error = {**record.error, "replaced": shown}
    if len(notes) > len(shown):
        record.error["replaced_count"] = len(notes)
    trusted = any(
        root in note["path"].replace("[", ".").split(".") for note in notes for root in _TRUSTED_ROOTS
    )
    if trusted:
        record.outcome = "error"


def _check_typed(record: LLMCallRecord, notes: list[dict[str, Any]]) -> None:
    """The record's own text fields hold text: a vendor value of another type that slipped
    through a parser is replaced (model_name by "", the others by None) and noted."""
    for name in ("response_id", "output_text", "reasoning_text", "refusal", "finish_reason"):
        value = getattr(record, name)
        if value is not None and type(value) is not str:
            setattr(record, name, None)
            notes.append({"path": name, "value": repr(type(value)), "replaced_by": "null (not text)"})
    if type(record.model_name) is not str:
        notes.append({"path": "model_name", "value": repr(type(record.model_name)), "replaced_by": '""'})
        record.model_name = ""


_RESPONSE_FIELDS = (
    "call_id",
    "api_type",
    "provider",
    "model_name",
    "response_id",
    "output_messages",
    "outputs",
    "output_text",
    "reasoning_text",
    "refusal",
    "output_tool_calls",
    "usage",
    "finish_reason",
    "outcome",
    "error",
    "safety",
)
_RESPONSE_ONLY = record_builder(_RESPONSE_FIELDS)
_WITH_REQUEST = record_builder(
    (*_RESPONSE_FIELDS, "request_params", "input_messages", "input_text", "tool_choice", "tools")
)
"""`LLMCallRecord(**fields)` for these fields, without matching keywords (see `_record_build`)."""


def _build(
    adapter: VendorAdapter,
    parts: ResponseParts,
    req: RequestParts | None,
    *,
    call_id: str | None,
    outcome: Outcome | None,
    errors: Sequence[dict[str, Any] | None],
) -> LLMCallRecord:
    """The record from response + request parts (None: no request, the record's own defaults); the
    first error in `errors` wins, and any error makes the outcome "error" unless the caller named one."""
    error = None
    for candidate in errors:
        if candidate is not None:
            error = candidate
            break
    if outcome is None:
        outcome = "error" if error is not None else parts.outcome
    response = (
        _call_id(call_id),
        adapter.API_TYPE,
        adapter.PROVIDER,
        parts.model_name or (req.model_name if req is not None else "") or "",
        parts.response_id,
        parts.output_messages,
        parts.outputs,
        parts.output_text,
        parts.reasoning_text,
        parts.refusal,
        parts.output_tool_calls,
        parts.usage,
        parts.finish_reason,
        outcome,
        error,
        parts.safety,
    )
    if req is None:  # without a request the record's own defaults stand
        return _RESPONSE_ONLY(*response)
    return _WITH_REQUEST(
        *response, req.request_params, req.input_messages, req.input_text, req.tool_choice, req.tools
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
    # hot path (every recorded call, and every deferred event completed): the common cases (a
    # plain dict, no request, no times) skip the calls that would only hand their input back
    notes: list[dict[str, Any]] = []
    if type(payload) is dict:
        data, response_json = _storable(payload, "response", notes)
    else:
        data, response_json = _response_mapping(payload)
        if response_json is None:  # not a learnt shape's read, whose values its take checked
            data, response_json = _storable(data, "response", notes)
    candidates = registry.adapters_for(provider, api_type)
    adapter = candidates[0] if len(candidates) == 1 else registry.detect_response(data, candidates)
    start = None if started_at is None else _aware(started_at, "started_at")
    end = None if completed_at is None else _aware(completed_at, "completed_at")
    try:
        parts = adapter.parse_response(data)
    except (PayloadProblem, LookupError, TypeError, AttributeError, ValueError) as exc:
        # parsers check each field they read; anything that still slips through is reported,
        # never raised into the caller's code
        logger.warning("tracekit: unreadable response: %s", exc)
        parts = ResponseParts(
            outcome="error",
            error={"type": "malformed_payload", "path": "", "message": f"{type(exc).__name__}: {exc}"},
        )
    req: RequestParts | None = None
    req_error: dict[str, Any] | None = None
    req_json: str | None = None
    if request is not None:
        req, req_error, req_json = _parse_request(adapter, request, notes)
    record = _build(adapter, parts, req, call_id=call_id, outcome=None, errors=(parts.error, req_error))
    record.started_at = start
    record.completed_at = end
    if start is not None and end is not None:
        record.latency_ms = _ms((end - start).total_seconds())
    record.request_raw_json = req_json
    record.response_raw_json = response_json
    if not _all_text(record):
        _check_typed(record, notes)
    if notes:
        _note_replaced(record, notes)
    return record


def _all_text(record: LLMCallRecord) -> bool:
    """Whether `_check_typed` has nothing to replace (the hot path's case: one check in C, no loop)."""
    texts = (
        record.response_id,
        record.output_text,
        record.reasoning_text,
        record.refusal,
        record.finish_reason,
    )
    return type(record.model_name) is str and _TEXT_OR_NONE.issuperset(map(type, texts))


_TEXT_OR_NONE = frozenset((str, type(None)))


_CLEAN, _CLEANED, _UNREADABLE, _SKIP, _FAST = range(5)
"""How `add` kept a chunk: a fresh copy holding plain JSON only (a dict copied, an SDK object read);
a value made storable at once (frozen, with its notes); an object that is no payload (the exception
and its repr); a derived SDK helper event (not kept); an SDK object or plain dict of a known shape
(the tuple of its values headed by the function rebuilding its read or copy, see `_shapes` and
`_dict_shapes`). The pending list holds `(form, snapshot, arrival)` per chunk, except for a chunk
kept by a shape's timed taker: its own tuple `(build_at, arrival, *values)`, told apart by its head
(a function, not an int)."""


def _no_take(chunk: Any, at: Any) -> tuple[Any, ...] | None:
    """The timed taker of a recorder with no shape to try first (none yet, strict, or finished)."""
    return None


class _OddTime:
    """An arrival time that was no finite number: its repr, noted when the chunk is folded."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class StreamRecorder:
    """Records one streamed LLM call: `add(chunk)` per chunk as it arrives, then `finish()`.

    The start is read from `clock()` (monotonic seconds) and `now()` (aware wall time) when the
    recorder is made, so make it just before sending the request. `add(chunk, received_at=None)`
    takes the chunk's arrival in the same clock's seconds (default: `clock()` at the call).
    `add` only takes the arrival time and an immutable snapshot of the chunk; the chunks are
    folded in `finish()`. Malformed chunks never raise out of `add` or `finish` unless
    `strict=True` (then each chunk is folded in `add`, which raises): they are kept, logged when
    folded, and noted in the record's `error`. `keep_chunks=False` drops the per-chunk LLMChunk list.
    """

    __slots__ = (
        "_adapter",
        "_candidates",
        "_chunks",
        "_clock",
        "_error",
        "_first_content",
        "_folded",
        "_last",
        "_learnt",
        "_notes",
        "_pending",
        "_record",
        "_request",
        "_spans",
        "_start",
        "_started_at",
        "_state",
        "_strict",
        "_take",
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
        self.call_id = _call_id(call_id)
        if not callable(clock) or not callable(now):
            raise InvalidArgumentError(
                f"clock and now must be functions (monotonic seconds, aware wall time), got "
                f"{clock!r:.40} and {now!r:.40}"
            )
        self._request = request
        self._candidates = registry.adapters_for(provider, api_type)
        self._adapter: VendorAdapter | None = None
        self._state: Any = None
        if len(self._candidates) == 1:
            self._use(self._candidates[0])
        self._clock = clock
        self._strict = strict
        self._chunks: list[LLMChunk] | None = [] if keep_chunks else None
        self._spans: list[float | None] = []
        # per kept chunk: seconds from the start to its arrival (None when untimed)
        self._pending: list[tuple[Any, ...]] = []
        # per chunk taken but not yet folded: (form, snapshot, arrival as taken), or a timed
        # taker's (build_at, arrival, *values)
        self._take: Callable[[Any, Any], tuple[Any, ...] | None] = _no_take
        # the timed taker of the last chunk's shape, tried first on the next chunk (see `add`)
        self._folded = 0
        self._error: dict[str, Any] | None = None
        self._notes: list[dict[str, Any]] = []
        self._first_content: float | None = None
        self._last: float | None = None
        self._record: LLMCallRecord | None = None
        self._timed = True
        self._learnt = 0  # dict shapes this stream tried to learn (see `_dict_shapes`)
        self._start: float | None = clock()
        self._started_at: datetime | None = _aware(now(), "now()")

    @property
    def identified(self) -> bool:
        """Whether the stream's API is known (given, or detected from a folded chunk): `finish()`
        can then always build a record."""
        return self._adapter is not None

    def stop_clock(self) -> None:
        """Read the clock now and let `finish()` see that time whenever it runs: the call ended now
        (a stream whose record is finished later, off the caller's path)."""
        at = self._clock()
        self._clock = lambda: at

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

    @property
    def _count(self) -> int:
        """Chunks taken so far (folded or pending; derived helper events are not counted)."""
        return self._folded + len(self._pending)

    def add(self, chunk: Any, received_at: float | None = None) -> None:
        """Take one chunk (dict or SDK object) received at `received_at` (monotonic seconds).

        Only what must happen at arrival happens here: the arrival time is taken and an immutable
        snapshot of the chunk kept (see `_snapshot`; an SDK or dict chunk of a shape seen before, such
        as the run of text deltas, is kept as a tuple of its values, see `_shapes` and
        `_dict_shapes`), so changing the chunk afterwards does not change the record. Folding,
        storability checks and their notes, timing and the chunk list are done in `finish()`, where
        an unreadable chunk is noted; with `strict=True` each chunk is folded at once and a problem
        raises from `add`. The SDK stream helpers' own events are recognised: openai's ChunkEvent is
        unwrapped, the derived events
        (`content.delta`, anthropic `text`, ...) are skipped (not counted as chunks)."""
        if type(received_at) is float and received_at - received_at == 0.0:
            # the hot path: a finite arrival, and a chunk of the shape of the one before it, kept by
            # that shape's timed taker as one tuple (a recorder strict or finished has none)
            snap = self._take(chunk, received_at)
            if snap is not None:
                self._pending.append(snap)
                return
        elif received_at is None:
            # the same with the recorder's clock, read (as on the exact path) only for a chunk kept
            snap = self._take(chunk, None)
            if snap is not None:
                self._pending.append((_FAST, snap, self._clock() if self._timed else None))
                return
        self._add(chunk, received_at)

    def _add(self, chunk: Any, received_at: Any) -> None:
        """`add` for every chunk but one of the shape of the chunk before it arriving at a finite time
        (`self._take` was tried on it then, and refused it)."""
        if self._record is not None:
            if self._strict:
                raise RecordingError("add() after finish(): make a new StreamRecorder for each call")
            logger.warning("tracekit: chunk added after finish() ignored (call %s)", self.call_id)
            return
        form: int
        payload: Any
        taken: Callable[[Any, Any], tuple[Any, ...] | None] | None = None
        if type(chunk) is dict:
            kind = chunk.get("type")
            keys: tuple[Any, ...] | None = None
            payload = None
            if type(kind) is str and (kind in DERIVED_EVENT_TYPES or kind == "chunk"):
                unwrapped = chunk_of(chunk)
                if unwrapped is None:
                    return
                chunk = unwrapped
            else:
                keys = tuple(chunk)
                dict_takers = DICT_TAKERS.get(keys)
                if dict_takers is not None:  # a shape seen before: its leaves in a tuple (`_dict_shapes`)
                    for dict_take in dict_takers:
                        payload = dict_take(chunk)
                        if payload is not None:
                            if dict_take is not dict_takers[0]:
                                promote_dict(keys, dict_take)
                            taken = DICT_TIMED.get(dict_take)
                            break
            if payload is not None:
                form = _FAST
            else:
                try:
                    if type(chunk) is not dict:
                        raise Unsnappable("not a plain dict")
                    form, payload = _CLEAN, copy_json(chunk)
                except (Unsnappable, RecursionError):
                    form, payload = self._slow_snapshot(chunk)
                if (
                    form == _CLEAN
                    and keys is not None
                    and self._learnt < DICT_PER_STREAM
                    and learn_dict(keys, chunk, payload)
                ):
                    self._learnt += 1
        else:
            payload = None
            takers = TAKERS.get(type(chunk))
            if takers is not None:  # a shape seen before: its values in a tuple (see `_shapes`)
                for take in takers:
                    payload = take(chunk)
                    if payload is not None:
                        if take is not takers[0]:
                            promote(type(chunk), take)
                        taken = TIMED.get(take)
                        break
            if payload is not None:
                form = _FAST
            else:
                form, payload = self._read(chunk)
                if form == _SKIP:
                    return
        if type(received_at) is float and received_at - received_at == 0.0:
            at: Any = received_at
        elif received_at is None:
            at = self._clock() if self._timed else None
        else:
            at = self._odd_time(received_at)
        self._pending.append((form, payload, at))
        if self._strict:
            self._drain()
        elif taken is not None:
            self._take = taken  # the next chunk likely has this chunk's shape

    def _read(self, chunk: Any) -> tuple[int, Any]:
        """The snapshot of an SDK object of a shape not seen before: read field by field (and its
        shape learnt for the next chunks) or, failing that, through its dump; (_SKIP, None) for a
        derived helper event."""
        try:
            data = sdk_chunk(chunk)
        except Exception:  # Unsnappable, or an object unlike its class: read through its dump
            data = None
        if data is None:
            return self._dumped(chunk)
        kind = data.get("type")
        if type(kind) is str and (kind in DERIVED_EVENT_TYPES or kind == "chunk"):
            unwrapped = chunk_of(data)
            if unwrapped is None:
                return _SKIP, None
            if type(unwrapped) is dict:
                return _CLEAN, unwrapped
            return self._slow_snapshot(unwrapped)
        learn(chunk, data)
        return _CLEAN, data

    def _dumped(self, chunk: Any) -> tuple[int, Any]:
        """The snapshot of an object not read field by field: its vendor JSON through `to_mapping`
        (a fresh dump), unwrapped and made storable now; (_SKIP, None) for a derived helper event,
        (_UNREADABLE, (exception, repr, replaced_by)) for an object that is no payload or cannot be
        dumped."""
        try:
            data = to_mapping(chunk, "stream chunk")
        except UnsupportedPayloadError as exc:
            # with a cause: an SDK object whose own dump failed (e.g. an unknown value inside)
            replaced = "null (not an object)" if exc.__cause__ is None else "null (its model_dump failed)"
            return _UNREADABLE, (exc, short_repr(chunk), replaced)
        except Exception as exc:  # anything else reading it raised
            return _UNREADABLE, (exc, short_repr(chunk), "null (its model_dump failed)")
        unwrapped = chunk_of(data)
        if unwrapped is None:
            return _SKIP, None
        return self._slow_snapshot(unwrapped)

    def _slow_snapshot(self, chunk: Mapping[str, Any]) -> tuple[int, Any]:
        """A chunk that is not plain JSON (or not a plain dict) made storable now, with the notes of
        what was replaced kept beside it, then frozen (`freeze_dict`) so nothing is shared with the
        caller."""
        notes: list[dict[str, Any]] = []
        cleaned = clean(chunk, f"chunks[{self._count}]", notes)
        try:
            frozen: Any = freeze_dict(cleaned) if type(cleaned) is dict else cleaned
        except Unsnappable:  # cleaned values are plain JSON; kept as they are if marshal still balks
            frozen = cleaned
        return _CLEANED, (frozen, notes)

    def _odd_time(self, received_at: Any) -> _OddTime | float | None:
        """An arrival given as an int (kept) or as no finite number (strict: raise; else the time is
        left out and the stream untimed, noted when the chunk is folded)."""
        if type(received_at) is int or (type(received_at) is float and received_at - received_at == 0.0):
            return received_at
        if self._strict:
            raise RecordingError(f"received_at={received_at!r} is not a finite number of seconds")
        self._timed = False
        return _OddTime(repr(received_at)[:80])

    def _drain(self) -> None:
        """Fold every chunk taken so far, in arrival order."""
        pending = self._pending
        if not pending:
            return
        self._pending = []
        index = self._folded
        self._folded = index + len(pending)
        fold = self._fold
        for entry in pending:
            head = entry[0]
            if type(head) is int:
                fold(index, head, entry[1], entry[2])
            else:  # a timed taker's tuple: (build_at, arrival, *values)
                fold(index, _FAST, entry, entry[1])
            index += 1

    def _arrived(self, index: int, at: Any) -> float | None:
        """The arrival kept by `add`; an unusable one is noted here (in chunk order) as None."""
        if type(at) is _OddTime:
            self._notes.append(
                {"path": f"chunks[{index}].received_at", "value": at.text, "replaced_by": "null"}
            )
            return None
        return at  # type: ignore[no-any-return]

    def _fold(self, index: int, form: int, payload: Any, at_taken: Any) -> None:
        """Fold one chunk's snapshot into the vendor state and keep its LLMChunk."""
        if form == _UNREADABLE:
            exc, text, replaced_by = payload
            message = str(exc) if isinstance(exc, UnsupportedPayloadError) else f"{type(exc).__name__}: {exc}"
            self._problem(index, f"chunks[{index}]", message, exc)
            self._notes.append({"path": f"chunks[{index}]", "value": text, "replaced_by": replaced_by})
            self._keep(index, self._arrived(index + 1, at_taken), None, None)
            return
        at = at_taken if type(at_taken) is float else self._arrived(index, at_taken)
        if at is not None:
            self._last = at
        if form == _CLEAN:
            chunk = payload
        elif form == _FAST:
            chunk = payload[0](payload)
        else:
            frozen, notes = payload
            chunk = thaw_dict(frozen) if type(frozen) is bytes else frozen
            if notes:
                self._notes.extend(notes)
                if self._strict:
                    raise RecordingError(
                        f"stream chunk {index}: values JSON cannot hold exactly were replaced: {self._notes}"
                    )
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
        """Keep the chunk as an LLMChunk; its times are set in `finish()` from the span kept here
        (the range check is made now, so notes keep their order)."""
        if self._chunks is None:
            return
        start = self._start
        span: float | None = None
        if at is not None and start is not None:
            span = at - start
            if not -_MAX_SPAN_S <= span <= _MAX_SPAN_S:
                span = None
                self._notes.append(
                    {"path": f"chunks[{index}].received_at", "value": repr(at)[:80], "replaced_by": "null"}
                )
        self._spans.append(span)
        raw = chunk if type(chunk) is dict else (dict(chunk) if chunk is not None else None)
        if info is None:
            self._chunks.append(LLMChunk(index, None, None, None, None, None, None, raw, {"kind": "error"}))
        else:
            self._chunks.append(
                LLMChunk(
                    index,
                    None,
                    None,
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
        self._drain()
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
        notes = self._notes
        req, req_error, req_json = _parse_request(adapter, self._request, notes)
        given_error = _error_info(error, notes)
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
        record.chunks = self._chunk_times()
        self._set_timing(record)
        _check_typed(record, notes)
        _note_replaced(record, notes)
        if self._strict and notes:
            raise RecordingError(f"values JSON cannot hold exactly were replaced: {notes[:3]}")
        self._record = record
        self._take = _no_take  # every later chunk goes to `_add`, which ignores it
        return record

    def _chunk_times(self) -> list[LLMChunk] | None:
        """The kept chunks with their offsets and wall-clock arrival times filled in (computed here,
        once per stream, rather than on the hot path of `add`)."""
        chunks = self._chunks
        if chunks is None:
            return None
        started = self._started_at
        for chunk, span in zip(chunks, self._spans, strict=True):
            if span is not None:
                chunk.offset_ms = round(span * 1000.0, 6)
                if started is not None:
                    chunk.received_at = started + timedelta(seconds=span)
        return chunks

    def _set_timing(self, record: LLMCallRecord) -> None:
        timing = LLMTiming(chunk_count=self._count)
        record.timing = timing
        if not self._timed:
            return
        start = self._start
        end = self._last if self._last is not None else (self._clock() if start is not None else None)
        first = self._first_content
        spans = [t - start for t in (end, first) if t is not None and start is not None]
        if end is not None and first is not None:
            spans.append(end - first)
        if not all(_plausible(span) for span in spans):
            self._notes.append(
                {"path": "timing", "value": repr(spans)[:80], "replaced_by": "null (times out of range)"}
            )
            return
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
    if started_at is not None and not (type(started_at) in (int, float) and math.isfinite(started_at)):
        raise InvalidArgumentError(f"started_at={started_at!r}: give monotonic seconds as a finite number")
    if not isinstance(chunks, Iterable) or isinstance(chunks, str | bytes | Mapping):
        raise InvalidArgumentError(
            f"chunks must be the stream's chunks in order (a list or iterator), got {chunks!r:.80}"
        )
    if received_at is not None and not isinstance(received_at, Iterable):
        raise InvalidArgumentError(
            f"received_at must be a sequence of arrival times, got {received_at!r:.80}"
        )
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
