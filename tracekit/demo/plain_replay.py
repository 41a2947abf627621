"""Replay without the vendor SDKs: `@trace_llm_call`-decorated functions return the recorded payloads.

Used when openai / anthropic / google-genai are not installed (they are not runtime dependencies).
Each function sleeps for the recorded latency and returns the vendor's JSON, or yields its stream
chunks with the recorded gaps, exactly as a thin HTTP wrapper around the vendor API would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from tracekit.decorators import trace_llm_call
from tracekit.demo.requests import PROVIDERS
from tracekit.demo.script import Call

__all__ = ["PlainClients"]


def _chunks(chunks: list[Any], first_s: float, gap_s: float) -> Iterator[Any]:
    for index, chunk in enumerate(chunks):
        delay = first_s if index == 0 else gap_s
        if delay:
            time.sleep(delay)
        yield chunk


def _vendor_api(payload: Any, call: Call, scale: float, **request: Any) -> Any:
    """What the vendor answers `request` with: the recorded JSON, or an iterator of its chunks."""
    if call.stream:
        return _chunks(payload, call.latency_s * scale, call.chunk_gap_s * scale)
    if call.latency_s * scale:
        time.sleep(call.latency_s * scale)
    return payload


class PlainClients:
    """One `@trace_llm_call(agent=..., provider=...)` function per (agent, API)."""

    def __init__(self) -> None:
        self._functions: dict[tuple[str, str], Callable[..., Any]] = {}

    def send(self, call: Call, payload: Any, kwargs: dict[str, Any], scale: float) -> Any:
        """Make `call` through the agent's decorated function, answered with `payload`."""
        key = (call.agent, call.api)
        if key not in self._functions:
            self._functions[key] = trace_llm_call(agent=call.agent, provider=PROVIDERS[call.api])(_vendor_api)
        return self._functions[key](payload, call, scale, **kwargs)

    def close(self) -> None:
        """Nothing to release (no connections)."""
        self._functions.clear()
