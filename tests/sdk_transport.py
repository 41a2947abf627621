"""The official openai, anthropic and google-genai clients over a fake HTTP transport (no network).

`VendorServer` is an httpx transport (sync and async) that answers every request with the next
queued reply: a JSON body, or a recorded stream sent as server-sent events one chunk per network
read, in the wire format each vendor uses. Requests are kept (method, path, parsed JSON body) so
tests can compare what the SDK sent with what tracekit captured. The clients are the vendors' own;
only the socket is replaced.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2 as httpx  # the HTTP client the current openai/anthropic/google-genai SDKs are built on

Wire = Literal["openai_chat", "openai_responses", "anthropic", "gemini"]

BASE_URLS: dict[str, str] = {
    "openai": "http://vendor.test/v1",
    "anthropic": "http://vendor.test",
    "gemini": "http://vendor.test",
}


def sse_events(wire: Wire, chunks: list[Any]) -> list[bytes]:
    """The server-sent-event frames a vendor sends for `chunks` (one bytes object per event)."""
    if wire == "openai_chat":
        frames = [f"data: {json.dumps(c)}\n\n" for c in chunks]
        frames.append("data: [DONE]\n\n")
    elif wire in ("openai_responses", "anthropic"):
        frames = [f"event: {c['type']}\ndata: {json.dumps(c)}\n\n" for c in chunks]
    else:  # gemini's streamGenerateContent?alt=sse uses CRLF line ends
        frames = [f"data: {json.dumps(c)}\r\n\r\n" for c in chunks]
    return [f.encode("utf-8") for f in frames]


@dataclass(slots=True)
class Reply:
    """One queued answer: a JSON body, or SSE frames (optionally `delay_s` apart), with a status."""

    status: int = 200
    body: Any = None
    frames: list[bytes] | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class SeenRequest:
    """A request the SDK sent: method, URL path (+ query) and the parsed JSON body."""

    method: str
    path: str
    body: Any


class _Frames(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered one SSE frame per read, as a network would."""

    def __init__(self, frames: list[bytes], delay_s: float) -> None:
        self._frames = frames
        self._delay_s = delay_s

    def __iter__(self) -> Iterator[bytes]:
        for frame in self._frames:
            if self._delay_s:
                time.sleep(self._delay_s)
            yield frame

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for frame in self._frames:
            if self._delay_s:
                await asyncio.sleep(self._delay_s)
            yield frame


class VendorServer(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A fake vendor endpoint: queue replies with `reply_json`/`reply_stream`, read `requests` after."""

    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self._replies: deque[Reply] = deque()
        self.default: Reply | None = None

    def reply_json(self, body: Any, *, status: int = 200, repeat: bool = False) -> VendorServer:
        """Answer the next request (every request when `repeat`) with `body` as JSON."""
        return self._queue(Reply(status=status, body=body), repeat)

    def reply_stream(
        self, wire: Wire, chunks: list[Any], *, delay_s: float = 0.0, repeat: bool = False
    ) -> VendorServer:
        """Answer the next request (every request when `repeat`) with `chunks` as the vendor's SSE."""
        return self._queue(Reply(frames=sse_events(wire, chunks), delay_s=delay_s), repeat)

    def _queue(self, reply: Reply, repeat: bool) -> VendorServer:
        if repeat:
            self.default = reply
        else:
            self._replies.append(reply)
        return self

    def _answer(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        body = json.loads(content) if content else None
        self.requests.append(SeenRequest(request.method, request.url.raw_path.decode("ascii"), body))
        if self._replies:
            reply = self._replies.popleft()
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}: no reply queued")
        if reply.frames is not None:
            headers = {"content-type": "text/event-stream", **reply.headers}
            return httpx.Response(
                reply.status, headers=headers, stream=_Frames(reply.frames, reply.delay_s), request=request
            )
        return httpx.Response(reply.status, json=reply.body, headers=reply.headers, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._answer(request)


def openai_client(server: VendorServer, *, is_async: bool = False) -> Any:
    """The official `openai.OpenAI` (or `AsyncOpenAI`) client talking to `server`."""
    import openai

    if is_async:
        return openai.AsyncOpenAI(
            api_key="sk-test", base_url=BASE_URLS["openai"], max_retries=0,
            http_client=httpx.AsyncClient(transport=server),
        )  # fmt: skip
    return openai.OpenAI(
        api_key="sk-test", base_url=BASE_URLS["openai"], max_retries=0,
        http_client=httpx.Client(transport=server),
    )  # fmt: skip


def anthropic_client(server: VendorServer, *, is_async: bool = False) -> Any:
    """The official `anthropic.Anthropic` (or `AsyncAnthropic`) client talking to `server`."""
    import anthropic

    if is_async:
        return anthropic.AsyncAnthropic(
            api_key="sk-ant-test", base_url=BASE_URLS["anthropic"], max_retries=0,
            http_client=httpx.AsyncClient(transport=server),
        )  # fmt: skip
    return anthropic.Anthropic(
        api_key="sk-ant-test", base_url=BASE_URLS["anthropic"], max_retries=0,
        http_client=httpx.Client(transport=server),
    )  # fmt: skip


def gemini_client(server: VendorServer) -> Any:
    """The official `google.genai.Client` talking to `server` (its `.aio` side uses the same transport)."""
    from google import genai
    from google.genai import types

    options = types.HttpOptions(
        base_url=BASE_URLS["gemini"],
        httpx_client=httpx.Client(transport=server),
        httpx_async_client=httpx.AsyncClient(transport=server),
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(api_key="gemini-test", http_options=options)
