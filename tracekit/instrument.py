"""`instrument(client)`: trace every LLM call an OpenAI, Anthropic or google-genai client makes.

The client's own resource objects get traced versions of their call methods as instance
attributes (the classes, and other clients, are untouched); `uninstrument(client)` removes them.
Calls made outside a tracer session run untouched.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from tracekit.decorators import traced_llm
from tracekit.errors import InvalidArgumentError
from tracekit.helpers.sdk import JsonRequest
from tracekit.tracing.capture import SKIP, snapshot
from tracekit.tracing.llm_call import CallSpec

__all__ = ["instrument", "uninstrument"]

C = TypeVar("C")

_TARGETS: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    "openai": (
        ("chat.completions", "create", "chat_completions"),
        ("chat.completions", "stream", "chat_completions"),
        ("responses", "create", "responses"),
        ("responses", "stream", "responses"),
    ),
    "anthropic": (
        ("messages", "create", "messages"),
        ("messages", "stream", "messages"),
    ),
    "google": (
        ("models", "generate_content", "generate_content"),
        ("models", "generate_content_stream", "generate_content"),
        ("aio.models", "generate_content", "generate_content"),
        ("aio.models", "generate_content_stream", "generate_content"),
    ),
}
"""Per provider: (resource path on the client, method, API) of every call that is traced."""

_MARK = "__tracekit_original__"


def _provider_of(client: Any) -> str:
    module = type(client).__module__
    root = module.partition(".")[0]
    if root in ("openai", "anthropic"):
        return root
    if module.startswith("google.genai"):
        return "google"
    raise InvalidArgumentError(
        f"instrument(client) got a {type(client).__module__}.{type(client).__qualname__}; pass an "
        "openai.OpenAI/AsyncOpenAI, anthropic.Anthropic/AsyncAnthropic or google.genai.Client"
    )


def _resource(client: Any, path: str) -> Any:
    obj = client
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _sdk_request(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The request of an SDK call: its keyword arguments as JSON-ready copies (the SDK methods
    take the request by keyword only; values the SDK marks as not given are left out)."""
    out: dict[str, Any] = JsonRequest()  # made a plain dict at the end if a copy is not pure
    pure = True
    for key, value in kwargs.items():
        kind = type(value)
        if kind is str or kind is int or kind is float or kind is bool or value is None:
            out[key] = value  # what snapshot() gives a scalar, without its call
            continue
        copied, exact = snapshot(value)
        if not exact:
            pure = False
        if copied is not SKIP:
            out[key] = copied
    return out if pure else dict(out)


def _sdk_stream_request(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The request of an OpenAI/Anthropic `.stream()` call: the SDK sends it with `stream: true`."""
    out = _sdk_request(args, kwargs)
    out["stream"] = True
    return out


def instrument(client: C, *, agent: str | None = None, capture_content: bool = True) -> C:
    """Trace every `create` / `stream` (OpenAI chat completions and responses, Anthropic messages)
    or `generate_content(_stream)` (google-genai, `client.aio` included) call `client` makes, as
    if each were decorated with `@trace_llm_call`. Returns the same client; instrumenting twice is
    a no-op. `agent` names the events' system (default: the provider's name)."""
    provider = _provider_of(client)
    for path, method, api_type in _TARGETS[provider]:
        resource = _resource(client, path)
        original = getattr(resource, method, None) if resource is not None else None
        if original is None or getattr(original, _MARK, None) is not None:
            continue
        spec = CallSpec(
            agent=agent or provider,
            provider=provider,
            api_type=api_type,
            capture_content=capture_content,
            request_of=_sdk_stream_request if method == "stream" else _sdk_request,
            sdk_method=True,
            nests=not (method == "create" and provider in ("openai", "anthropic")),
            default_agent=agent is None,
        )
        traced = traced_llm(original, spec)
        setattr(traced, _MARK, original)
        setattr(resource, method, traced)
    return client


def uninstrument(client: C) -> C:
    """Undo `instrument(client)`: the client's methods are its class's again. Returns the client."""
    provider = _provider_of(client)
    for path, method, _ in _TARGETS[provider]:
        resource = _resource(client, path)
        if resource is not None and getattr(vars(resource).get(method), _MARK, None) is not None:
            delattr(resource, method)
    return client
