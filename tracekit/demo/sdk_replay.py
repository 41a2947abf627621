"""Replay through the official openai, anthropic and google-genai clients over a fake HTTP transport.

Only the socket is replaced: each request is answered with the next recorded payload (JSON, or the
vendor's server-sent events one frame per read) after the recorded delay, and the clients are
instrumented with `tk.instrument`. Importing this module needs the SDKs (`pip install
'tracekit[dev]'`); tracekit.demo.run checks for them before importing it.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx  # the HTTP client the openai / anthropic / google-genai SDKs are built on

from tracekit.demo.script import Call
from tracekit.instrument import instrument

__all__ = ["SdkClients"]

_BASE_URL = "http://vendor.demo"


def _frames(call: Call, chunks: list[Any]) -> list[bytes]:
    """The server-sent events the vendor sends for `chunks`, one frame per chunk."""
    if call.api == "chat":
        frames = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
    elif call.api in ("responses", "messages"):
        frames = [f"event: {c['type']}\ndata: {json.dumps(c)}\n\n" for c in chunks]
    else:  # Gemini's streamGenerateContent?alt=sse ends lines with CRLF
        frames = [f"data: {json.dumps(c)}\r\n\r\n" for c in chunks]
    return [frame.encode("utf-8") for frame in frames]


class _Body(httpx.SyncByteStream):
    """A streamed body: the first frame after `first_s`, then one frame every `gap_s`."""

    def __init__(self, frames: list[bytes], first_s: float, gap_s: float) -> None:
        self._frames = frames
        self._first_s = first_s
        self._gap_s = gap_s

    def __iter__(self) -> Iterator[bytes]:
        for index, frame in enumerate(self._frames):
            delay = self._first_s if index == 0 else self._gap_s
            if delay:
                time.sleep(delay)
            yield frame


@dataclass(slots=True)
class _Reply:
    payload: Any
    call: Call
    scale: float


class _ReplayTransport(httpx.BaseTransport):
    """Answers each request with the next queued payload, after its recorded delay."""

    def __init__(self) -> None:
        self.replies: deque[_Reply] = deque()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        reply = self.replies.popleft()
        call = reply.call
        if call.stream:
            body = _Body(
                _frames(call, reply.payload), call.latency_s * reply.scale, call.chunk_gap_s * reply.scale
            )
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=body, request=request
            )
        if call.latency_s * reply.scale:
            time.sleep(call.latency_s * reply.scale)
        return httpx.Response(200, json=reply.payload, request=request)


class SdkClients:
    """One instrumented SDK client per (agent, provider), all talking to one replay transport."""

    def __init__(self) -> None:
        self._transport = _ReplayTransport()
        self._clients: dict[tuple[str, str], Any] = {}
        for provider in ("openai", "anthropic", "google"):  # import the SDKs now, not inside the first call
            _close(self._make(provider))

    def _client(self, agent: str, api: str) -> Any:
        provider = "google" if api == "generate_content" else "anthropic" if api == "messages" else "openai"
        key = (agent, provider)
        if key not in self._clients:
            self._clients[key] = instrument(self._make(provider), agent=agent)
        return self._clients[key]

    def _make(self, provider: str) -> Any:
        if provider == "openai":
            import openai

            return openai.OpenAI(
                api_key="sk-demo",
                base_url=_BASE_URL + "/v1",
                max_retries=0,
                http_client=httpx.Client(transport=self._transport),
            )
        if provider == "anthropic":
            import anthropic

            return anthropic.Anthropic(
                api_key="sk-ant-demo",
                base_url=_BASE_URL,
                max_retries=0,
                http_client=httpx.Client(transport=self._transport),
            )
        from google import genai
        from google.genai import types

        options = types.HttpOptions(
            base_url=_BASE_URL,
            httpx_client=httpx.Client(transport=self._transport),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        return genai.Client(api_key="gemini-demo", http_options=options)

    def send(self, call: Call, payload: Any, kwargs: dict[str, Any], scale: float) -> Any:
        """Make `call` with the agent's client; the transport answers with `payload`."""
        self._transport.replies.append(_Reply(payload, call, scale))
        client = self._client(call.agent, call.api)
        if call.api == "chat":
            return client.chat.completions.create(**kwargs)
        if call.api == "responses":
            return client.responses.create(**kwargs)
        if call.api == "messages":
            return client.messages.create(**kwargs)
        if call.stream:
            return client.models.generate_content_stream(**kwargs)
        return client.models.generate_content(**kwargs)

    def close(self) -> None:
        """Close every client's HTTP connection pool."""
        for client in self._clients.values():
            _close(client)
        self._clients.clear()


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()
