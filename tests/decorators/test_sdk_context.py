"""Which instrumented SDK methods mark their context while they run: the ones that may run other
traced methods inside (`.stream()` calls `.create()`), not openai's and anthropic's `create`."""

from __future__ import annotations

import httpx2 as httpx
from sdk_transport import VendorServer, anthropic_client, openai_client
from trace_checks import load, records

import tracekit as tk
from tracekit.tracer import SessionTracer
from tracekit.tracing.llm_call import IN_SDK_CALL

HI = [{"role": "user", "content": "hi"}]


class _Watching(VendorServer):
    """A VendorServer noting, per request, whether the SDK-call mark was set when it arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[bool] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.marked.append(IN_SDK_CALL.get())
        return super().handle_request(request)


def test_create_runs_unmarked_and_stream_marked_each_recorded_once() -> None:
    """openai chat/responses and anthropic `create` send their request with no SDK-call mark set;
    openai's `.stream()` (which calls `.create()`) sends it marked; every call is recorded once."""
    chat = _Watching().reply_json(load("openai_chat", "response_basic"), repeat=True)
    responses = _Watching().reply_json(load("openai_responses", "response_text"), repeat=True)
    messages = _Watching().reply_json(load("anthropic", "response_text"), repeat=True)
    streamed = _Watching().reply_stream("openai_chat", load("openai_chat", "stream_text_usage"))
    with SessionTracer(strict=True).session() as trace:
        tk.instrument(openai_client(chat)).chat.completions.create(model="gpt-4.1", messages=HI)
        tk.instrument(openai_client(responses)).responses.create(model="gpt-4.1", input="hi")
        tk.instrument(anthropic_client(messages)).messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=HI
        )
        with tk.instrument(openai_client(streamed)).chat.completions.stream(
            model="gpt-4.1", messages=HI, stream_options={"include_usage": True}
        ) as stream:
            for _ in stream:
                pass
    marked = (chat.marked, responses.marked, messages.marked, streamed.marked)
    assert marked == ([False], [False], [False], [True])
    apis = [r.api_type for r in records(trace)]
    assert apis == ["chat_completions", "responses", "messages", "chat_completions"]
    assert IN_SDK_CALL.get() is False
