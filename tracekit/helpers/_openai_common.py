"""Pieces shared by the two OpenAI normalisers: type checks that name the bad field, content parts
(data URLs, audio, files), tool definitions and request parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tracekit.helpers._common import as_mapping
from tracekit.helpers.base import PayloadProblem
from tracekit.model import LLMContentPart, LLMRequestParams, ToolDefinition

__all__ = [
    "as_list",
    "as_str",
    "data_url_part",
    "request_params",
    "tool_definition",
]


def as_list(value: Any, path: str) -> list[Any] | tuple[Any, ...]:
    """`value` if it is an array (None counts as empty), else PayloadProblem naming `path`."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return value
    raise PayloadProblem(path, "expected an array", value)


def as_str(value: Any, path: str) -> str | None:
    """`value` if it is a string or None, else PayloadProblem naming `path`."""
    if value is None or isinstance(value, str):
        return value
    raise PayloadProblem(path, "expected a string", value)


def data_url_part(kind: str, url: str, data: dict[str, Any] | None = None) -> LLMContentPart:
    """A part for an image/file given by URL; `data:<mime>;base64,<payload>` URLs are split into
    mime_type and base64_data so the bytes are not stored twice as a URI."""
    if url.startswith("data:"):
        header, sep, payload = url[5:].partition(",")
        if sep and header.endswith(";base64"):
            return LLMContentPart(type=kind, mime_type=header[:-7] or None, base64_data=payload, data=data)
    return LLMContentPart(type=kind, uri=url, data=data)


def tool_definition(tool: Any, path: str) -> ToolDefinition:
    """A tool offered to the model, from either the Chat shape ({"type", "function": {...}}) or the
    Responses shape ({"type": "function", "name", ...}); built-in tools keep their type as name."""
    spec = as_mapping(tool, path)
    kind = as_str(spec.get("type"), f"{path}.type") or "function"
    nested = spec.get(kind)
    body: Mapping[str, Any] = nested if isinstance(nested, Mapping) else spec
    name = as_str(body.get("name"), f"{path}.name") or kind
    parameters = body.get("parameters")
    return ToolDefinition(
        name=name,
        description=as_str(body.get("description"), f"{path}.description"),
        parameters=dict(parameters) if isinstance(parameters, Mapping) else None,
        type=kind,
        raw=dict(spec),
    )


def _float(value: Any, path: str) -> float:
    if type(value) in (int, float):
        return float(value)
    raise PayloadProblem(path, "expected a number", value)


def _int(value: Any, path: str) -> int:
    if type(value) is int:
        return value
    raise PayloadProblem(path, "expected an integer", value)


def _stop(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = as_list(value, path)
    if all(isinstance(item, str) for item in items):
        return list(items)
    raise PayloadProblem(path, "expected a string or an array of strings", value)


def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    raise PayloadProblem(path, "expected true or false", value)


def _dict(value: Any, path: str) -> dict[str, Any]:
    return dict(as_mapping(value, path))


def _str(value: Any, path: str) -> str:
    text = as_str(value, path)
    if text is None:
        raise PayloadProblem(path, "expected a string", value)
    return text


Converter = Callable[[Any, str], Any]

FLOAT: Converter = _float
INT: Converter = _int
STOP: Converter = _stop
BOOL: Converter = _bool
DICT: Converter = _dict
STR: Converter = _str


def request_params(
    request: Mapping[str, Any],
    fields: Mapping[str, tuple[str, Converter]],
    consumed: frozenset[str],
) -> LLMRequestParams:
    """LLMRequestParams from `request`: `fields` maps a request key to (param field, converter);
    keys in neither `fields` nor `consumed` are kept verbatim in `raw_params`."""
    values: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for key, value in request.items():
        target = fields.get(key)
        if target is not None:
            if value is not None and values.get(target[0]) is None:
                values[target[0]] = target[1](value, key)
        elif key not in consumed:
            raw[key] = value
    return LLMRequestParams(raw_params=raw, **values)
