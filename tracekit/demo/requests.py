"""The requests the demo's agents send, in each vendor's own request shape (SDK keyword arguments)."""

from __future__ import annotations

from typing import Any, Final

from tracekit.demo.script import Call

__all__ = ["PROVIDERS", "request_kwargs"]

PROVIDERS: Final[dict[str, str]] = {
    "chat": "openai",
    "responses": "openai",
    "messages": "anthropic",
    "generate_content": "google",
}
"""The provider behind each API the script uses."""

_NUMBER_PAIR: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
    "required": ["x", "y"],
}

_TOOLS: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    "get_weather": (
        "Get the current weather in a given location",
        {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"}
            },
            "required": ["location"],
        },
    ),
    "send_email": (
        "Send an email to a given recipient with a subject and message.",
        {
            "type": "object",
            "properties": {"to": {"type": "string"}, "body": {"type": "string"}},
            "required": ["to", "body"],
        },
    ),
    "now": ("The current date and time (UTC)", {"type": "object", "properties": {}}),
    "sum": ("x + y", _NUMBER_PAIR),
    "multiply": ("x * y", _NUMBER_PAIR),
    "subtract": ("x - y", _NUMBER_PAIR),
}
"""Tool name -> (description, JSON Schema of its arguments)."""


def _tools(call: Call) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in call.tools:
        description, schema = _TOOLS[name]
        if call.api == "chat":
            out.append(
                {
                    "type": "function",
                    "function": {"name": name, "description": description, "parameters": schema},
                }
            )
        elif call.api == "responses":
            out.append({"type": "function", "name": name, "description": description, "parameters": schema})
        elif call.api == "messages":
            out.append({"name": name, "description": description, "input_schema": schema})
        else:
            out.append(
                {"function_declarations": [{"name": name, "description": description, "parameters": schema}]}
            )
    return out


def request_kwargs(call: Call) -> dict[str, Any]:
    """The keyword arguments the agent passes to its client (or decorated function) for `call`."""
    tools = _tools(call)
    kwargs: dict[str, Any] = {"model": call.model}
    if call.api == "chat":
        kwargs["messages"] = [{"role": "user", "content": call.prompt}]
        if call.stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
    elif call.api == "responses":
        kwargs["input"] = call.prompt
        if call.stream:
            kwargs["stream"] = True
    elif call.api == "messages":
        kwargs["max_tokens"] = 1024
        kwargs["messages"] = [{"role": "user", "content": call.prompt}]
        if call.stream:
            kwargs["stream"] = True
    else:
        kwargs["contents"] = call.prompt
        if tools:
            kwargs["config"] = {"tools": tools}
        return kwargs
    if tools:
        kwargs["tools"] = tools
    return kwargs
