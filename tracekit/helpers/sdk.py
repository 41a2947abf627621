"""Vendor SDK objects -> the vendor's JSON, and the SDK stream helpers' own events recognised.

The official SDKs (openai, anthropic, google-genai) hand over pydantic models; tracekit never
imports them. An object is read through its `model_dump` in JSON terms: wire field names
(`by_alias`), only what the vendor sent (`exclude_unset`), enum members as their values and bytes
as standard base64 text, so no SDK type ever enters a record. google-genai is dumped in Python
mode and made plain here because pydantic writes its bytes (thought signatures) as URL-safe
base64 while the API sends standard base64.

The stream helpers (`chat.completions.stream()`, `responses.stream()`, `messages.stream()`) yield
events of their own beside the vendor's: openai's ChunkEvent wraps the raw chunk (unwrapped here);
the derived events (`content.delta`, `text`, `input_json`, ...) repeat what the raw events carry
and are skipped; snapshots the SDKs attach to raw events (`snapshot`, `message`, `parsed`, ...)
are dropped, so each recorded chunk is what the vendor sent.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Final

from pydantic import BaseModel

from tracekit.codec import loads as _loads

__all__ = [
    "DERIVED_EVENT_TYPES",
    "JsonRequest",
    "chunk_of",
    "json_ready",
    "request_json",
    "sdk_json",
    "sdk_json_from_text",
    "sdk_json_text",
]

DERIVED_EVENT_TYPES: Final = frozenset(
    {
        # openai chat.completions.stream() (its "chunk" event wraps the raw chunk: unwrapped instead)
        "content.delta",
        "content.done",
        "refusal.delta",
        "refusal.done",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.arguments.done",
        "logprobs.content.delta",
        "logprobs.content.done",
        "logprobs.refusal.delta",
        "logprobs.refusal.done",
        # anthropic messages.stream() (and its beta variant)
        "text",
        "input_json",
        "thinking",
        "signature",
        "citation",
        "compaction",
    }
)
"""Event types only the SDK stream helpers emit, each restating what a raw event carried."""

_SNAPSHOT_KEYS: Final = {
    # anthropic MessageStream adds the accumulated message / block to these raw events
    "message_stop": ("message",),
    "content_block_stop": ("content_block",),
    # openai ResponseStream adds the text / arguments accumulated so far
    "response.output_text.delta": ("snapshot",),
    "response.function_call_arguments.delta": ("snapshot",),
    "response.output_text.done": ("parsed",),
}
_DEPTH_LIMIT: Final = 100
"""How deep request_json looks for SDK objects (the storable check cuts nesting at 64 anyway)."""
_GENAI_CLIENT_KEYS: Final = ("sdkHttpResponse", "automaticFunctionCallingHistory", "parsed")
"""google-genai response fields the client fills in (HTTP headers, its own function-calling loop,
parsed output), not part of what the API sent."""


def json_ready(value: Any, depth: int = 0) -> Any:
    """A JSON-ready copy of an SDK value dumped in Python mode: enum members become their values,
    bytes standard base64 text, datetimes ISO-8601 text; mappings and sequences are copied (down to
    `_DEPTH_LIMIT` levels; deeper values are left for the storable check to cut). Hot path (every
    google-genai chunk): plain dicts, lists and scalars are told apart by exact type, inline."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None or depth > _DEPTH_LIMIT:
        return value
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                key = str(json_ready(key, depth + 1))
            kind = type(item)
            if kind is str or kind is int or kind is float or kind is bool or item is None:
                out[key] = item
            else:
                out[key] = json_ready(item, depth + 1)
        return out
    if kind is list or kind is tuple:
        items: list[Any] = []
        for item in value:
            kind = type(item)
            if kind is str or kind is int or kind is float or kind is bool or item is None:
                items.append(item)
            else:
                items.append(json_ready(item, depth + 1))
        return items
    return _json_ready_other(value, depth)


def _json_ready_other(value: Any, depth: int) -> Any:
    """json_ready for what is not a plain dict, list, tuple or JSON scalar."""
    if isinstance(value, Mapping):
        return {
            k if type(k) is str else str(json_ready(k, depth + 1)): json_ready(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [json_ready(v, depth + 1) for v in value]
    if isinstance(value, Enum):
        return json_ready(value.value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return sdk_json(value)
    return value


def _dump_json(obj: Any, dump: Any, **options: Any) -> Any:
    """`obj.model_dump(mode="json", ...)`, or a plain `model_dump()` for a model that takes no options."""
    try:
        return dump(mode="json", warnings=False, **options)
    except TypeError:
        return json_ready(dump())


_GENAI_PLANS: dict[type, set[str] | None] = {}
"""Per SDK class (read once per class; the hot path asks per chunk): None when it is not
google-genai's, else the names of its fields that hold `_GENAI_CLIENT_KEYS` (left out of the dump
rather than dumped and dropped: the HTTP headers alone cost more than the rest of a chunk)."""


def _genai_plan(obj: Any) -> set[str] | None:
    kind = type(obj)
    try:
        return _GENAI_PLANS[kind]
    except KeyError:
        pass
    plan: set[str] | None = None
    if kind.__module__.startswith("google.genai"):
        plan = set()
        fields = getattr(kind, "model_fields", None)
        if isinstance(fields, Mapping):
            for name, info in fields.items():
                wire = getattr(info, "serialization_alias", None) or getattr(info, "alias", None) or name
                if wire in _GENAI_CLIENT_KEYS:
                    plan.add(name)
    _GENAI_PLANS[kind] = plan
    return plan


def _ready_in_place(value: Any, depth: int) -> Any:
    """json_ready for a fresh Python-mode dump (its dicts and lists are the dump's own, never the
    caller's): values are converted where they stand instead of copying every container."""
    if type(value) is dict:
        if depth > _DEPTH_LIMIT:
            return value
        for key, item in value.items():
            if type(key) is not str:
                return json_ready(value, depth)  # keys to convert: rebuilt, order kept
            kind = type(item)
            if kind is str or kind is int or kind is float or kind is bool or item is None:
                continue
            new = _ready_in_place(item, depth + 1)
            if new is not item:
                value[key] = new
        return value
    if type(value) is list:
        if depth > _DEPTH_LIMIT:
            return value
        for i, item in enumerate(value):
            kind = type(item)
            if kind is str or kind is int or kind is float or kind is bool or item is None:
                continue
            new = _ready_in_place(item, depth + 1)
            if new is not item:
                value[i] = new
        return value
    return json_ready(value, depth)


def _strip_parsed(data: dict[str, Any]) -> None:
    """Drop what openai's `parse`/`stream` helpers add to a completion or response: `parsed`,
    `parsed_arguments` (chat messages and tool calls; Responses output items and content)."""
    for choice in data.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            message.pop("parsed", None)
            for call in message.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    function.pop("parsed_arguments", None)
    for item in data.get("output") or ():
        if isinstance(item, dict):
            item.pop("parsed_arguments", None)
            for part in item.get("content") or ():
                if isinstance(part, dict):
                    part.pop("parsed", None)


def _drop_helper_fields(data: Any) -> None:
    """Remove what the SDK stream helpers and `parse` add to a JSON-mode dump (see the module doc)."""
    if isinstance(data, dict):
        kind = data.get("type")
        for key in _SNAPSHOT_KEYS.get(kind, ()) if isinstance(kind, str) else ():
            data.pop(key, None)
        response = data.get("response")
        _strip_parsed(response if isinstance(response, dict) else data)


_TEXT_PLANS: dict[type, bool] = {}
"""Per class: whether its `model_dump_json` text reads back as `sdk_json`'s dump (see sdk_json_text)."""


def _text_plan(kind: type) -> bool:
    try:
        return _TEXT_PLANS[kind]
    except KeyError:
        pass
    ok = (
        issubclass(kind, BaseModel)
        and kind.model_dump is BaseModel.model_dump
        and kind.model_dump_json is BaseModel.model_dump_json
        and not kind.__module__.startswith("google.genai")
    )
    _TEXT_PLANS[kind] = ok
    return ok


def sdk_json_text(obj: Any) -> str | None:
    """An immutable snapshot of a pydantic SDK object: the JSON text of the dump `sdk_json` makes
    (same options; pydantic's own JSON writer, in Rust), which `sdk_json_from_text` turns into the
    same dict. None when the object is not a pydantic model whose text can stand for that dump
    (google-genai, whose bytes differ; a model overriding its dump) or the dump fails."""
    kind = type(obj)
    if not _text_plan(kind):
        return None
    try:
        text: str = obj.model_dump_json(by_alias=True, exclude_unset=True, warnings=False)
    except Exception:  # anything the writer refuses (lone surrogates, odd values) is for sdk_json
        return None
    return text


def sdk_json_from_text(text: str) -> dict[str, Any] | None:
    """`sdk_json` of the object `text` was taken from by `sdk_json_text` (parsed by orjson where
    that gives json.loads' data: `codec.loads`)."""
    data = _loads(text)
    _drop_helper_fields(data)
    return data if isinstance(data, dict) else None


def sdk_json(obj: Any) -> dict[str, Any] | None:
    """The vendor JSON of an SDK object (None when `obj` has no `model_dump`/`to_dict`)."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump) and not isinstance(obj, type):
        genai = _genai_plan(obj)
        if genai is not None:
            dumped = (
                dump(by_alias=True, exclude_unset=True, exclude=genai)
                if genai
                else dump(by_alias=True, exclude_unset=True)
            )
            data = _ready_in_place(dumped, 0)
            if isinstance(data, dict):
                for key in _GENAI_CLIENT_KEYS:
                    data.pop(key, None)
        else:
            data = _dump_json(obj, dump, by_alias=True, exclude_unset=True)
            _drop_helper_fields(data)
        return data if isinstance(data, dict) else None
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict) and not isinstance(obj, type):
        data = json_ready(to_dict())
        return data if isinstance(data, dict) else None
    return None


def chunk_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The vendor chunk a stream item carries: an SDK helper's ChunkEvent unwrapped; None for a
    derived helper event (skip it). `obj` is a mapping here (SDK objects already dumped)."""
    kind = obj.get("type")
    if kind is None or type(kind) is not str:
        return obj
    if kind in DERIVED_EVENT_TYPES:
        return None
    if kind == "chunk" and "chunk" in obj:
        inner = obj["chunk"]
        if isinstance(inner, Mapping):
            return inner
    return obj


class JsonRequest(dict[str, Any]):
    """A request the tracer has already copied into pure JSON values (dicts, lists, str, int,
    float, bool, None of exactly those types, no SDK objects): `request_json` takes it as it is
    instead of walking it a second time."""

    __slots__ = ()


def request_json(value: Any, depth: int = 0) -> Any:
    """A request with every SDK object inside (google-genai `GenerateContentConfig`, `Content`,
    ...) replaced by its fields as the user set them (Python names, nulls left out). Plain JSON
    values come back as they are (a container is copied only when something inside changed);
    nesting deeper than `limit` is left for the storable check to cut."""
    kind = type(value)
    if kind is JsonRequest:
        return value
    if kind is str or kind is int or kind is float or kind is bool or value is None or depth > _DEPTH_LIMIT:
        return value
    if kind is dict:
        # hot path (every call's request): scalars are checked inline, the dict copied only once
        # something inside it changed
        copied: dict[Any, Any] | None = None
        for position, (key, item) in enumerate(value.items()):
            kind = type(item)
            if kind is str or kind is int or kind is float or kind is bool or item is None:
                if copied is not None:
                    copied[key] = item
                continue
            new = request_json(item, depth + 1)
            if copied is None and new is not item:
                copied = dict(list(value.items())[:position])
            if copied is not None:
                copied[key] = new
        return value if copied is None else copied
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            out[key] = request_json(item, depth + 1)
        return out
    if kind is list or isinstance(value, list | tuple):
        items = [request_json(item, depth + 1) for item in value]
        if kind is list and all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return request_json(dump(exclude_none=True), depth)
        except TypeError:
            return request_json(dump(), depth)
    return json_ready(value)
