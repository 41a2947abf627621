"""Complete responses normalised off the caller's path: the pending event is exact, complete at its
first use of any kind, immune to later mutation of the caller's objects, and completed once."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import pickle
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion
from sdk_transport import VendorServer, anthropic_client, gemini_client, openai_client
from trace_checks import FIXTURES, comparable, load

import tracekit as tk
from tracekit.model import TimeRecord
from tracekit.store import TursoManager
from tracekit.tracer import SessionTracer
from tracekit.tracing.pending import PendingLMCAISEvent, pending_event

HI = [{"role": "user", "content": "hi"}]
REQUESTS: dict[str, dict[str, Any]] = {
    "openai_chat": {"model": "gpt-4.1", "messages": HI},
    "openai_responses": {"model": "gpt-4.1", "input": "hi"},
    "anthropic": {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": HI},
    "gemini": {"model": "gemini-2.5-flash", "contents": "hi"},
}
AGENTS = {"openai_chat": "openai", "openai_responses": "openai", "anthropic": "anthropic", "gemini": "google"}
API_OF = {
    "openai_chat": "chat_completions",
    "openai_responses": "responses",
    "anthropic": "messages",
    "gemini": "generate_content",
}
RESPONSES = [
    (vendor, path.stem) for vendor in REQUESTS for path in sorted((FIXTURES / vendor).glob("response*.json"))
]


def _caller(vendor: str, server: VendorServer, *, is_async: bool = False, **options: Any) -> Any:
    """The instrumented SDK method that sends `vendor`'s request (a coroutine function when async)."""
    if vendor == "gemini":
        client = tk.instrument(gemini_client(server), **options)
        return client.aio.models.generate_content if is_async else client.models.generate_content
    if vendor == "anthropic":
        return tk.instrument(anthropic_client(server, is_async=is_async), **options).messages.create
    client = tk.instrument(openai_client(server, is_async=is_async), **options)
    return client.chat.completions.create if vendor == "openai_chat" else client.responses.create


def _send(call: Any, vendor: str, is_async: bool) -> Any:
    if is_async:

        async def run() -> Any:
            return await call(**REQUESTS[vendor])

        return asyncio.run(run())
    return call(**REQUESTS[vendor])


def _eager_event(
    response: Any, vendor: str, record: tk.LLMCallRecord, agent: str | None = None
) -> tk.LMCAISEvent:
    """The event the eager path records for `response`, with the call's identity and times."""
    agent = agent or AGENTS[vendor]
    eager = tk.record_from_response(
        response,
        request=REQUESTS[vendor],
        started_at=record.started_at,
        completed_at=record.completed_at,
        call_id=record.call_id,
        provider=AGENTS[vendor],
        api_type=API_OF[vendor],
    )
    eager.latency_ms = record.latency_ms
    eager.metadata["agent_id"] = agent
    usage = eager.usage
    return tk.LMCAISEvent(
        system_instance_id=agent,
        time_record=TimeRecord(event_time=eager.started_at),
        model_name=eager.model_name,
        provider=eager.provider,
        input_tokens=None if usage is None else usage.input_tokens,
        output_tokens=None if usage is None else usage.output_tokens,
        total_tokens=None if usage is None else usage.total_tokens,
        latency_ms=eager.latency_ms,
        call_records=[eager],
    )


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("vendor", "name"), RESPONSES)
def test_lazy_record_is_the_eager_record(vendor: str, name: str, is_async: bool) -> None:
    """Every response fixture through the real SDK client: the event read right after the call is,
    to the JSON text, the event the eager path builds from the same SDK object (google-genai stays eager)."""
    server = VendorServer().reply_json(load(vendor, name), repeat=True)
    call = _caller(vendor, server, is_async=is_async)
    with SessionTracer().session() as trace:
        _send(call, vendor, is_async)  # a class's first response is recorded eagerly (and checked)
        response = _send(call, vendor, is_async)
        event = trace.event_history[1]
        deferred = type(event) is PendingLMCAISEvent
        record = event.call_records[0]
    assert deferred is (vendor != "gemini")
    assert type(event) is tk.LMCAISEvent
    expected = _eager_event(response, vendor, record)
    assert event.to_json() == expected.to_json()
    assert event == expected
    with SessionTracer(strict=True).session() as strict_trace:
        _send(call, vendor, is_async)
    strict_event = strict_trace.event_history[0]
    assert type(strict_event) is tk.LMCAISEvent
    assert comparable(strict_event.call_records[0]) == comparable(record)


def test_mutating_the_sdk_object_after_the_call_cannot_change_the_record() -> None:
    """The SDK object the caller got back is snapshotted at the call: changing it later reaches nothing."""
    server = VendorServer().reply_json(load("openai_chat", "response_basic"), repeat=True)
    call = _caller("openai_chat", server)
    with SessionTracer().session() as trace:
        call(**REQUESTS["openai_chat"])
        response = call(**REQUESTS["openai_chat"])
        event = trace.event_history[1]
        assert type(event) is PendingLMCAISEvent
        response.choices[0].message.content = "changed"
        response.usage.prompt_tokens = 999
        response.model = "other"
    record = event.call_records[0]
    assert (record.output_text, record.model_name) == (
        "Hello! How can I assist you today?",
        "gpt-4.1-2025-04-14",
    )
    assert record.usage is not None
    assert (record.usage.input_tokens, record.usage.output_tokens, record.usage.total_tokens) == (19, 10, 29)
    assert record.usage.raw is not None
    assert record.usage.raw["prompt_tokens"] == 19
    assert (event.model_name, event.input_tokens) == ("gpt-4.1-2025-04-14", 19)


def test_mutating_a_returned_dict_after_the_call_cannot_change_the_record() -> None:
    """A plain dict returned by a decorated function is copied at the call: later edits reach nothing."""
    payload = load("openai_chat", "response_basic")

    @tk.trace_llm_call(agent="planner")
    def ask(model: str, messages: list[dict[str, str]]) -> dict[str, Any]:
        return payload

    with SessionTracer().session() as trace:
        ask("gpt-4.1", HI)
        event = trace.event_history[0]
        assert type(event) is PendingLMCAISEvent
        payload["usage"]["prompt_tokens"] = 999
        payload["choices"][0]["message"]["content"] = "changed"
        payload["model"] = "other"
    record = event.call_records[0]
    assert (record.output_text, record.model_name) == (
        "Hello! How can I assist you today?",
        "gpt-4.1-2025-04-14",
    )
    assert record.usage is not None
    assert record.usage.input_tokens == 19
    assert record.usage.raw is not None
    assert record.usage.raw["prompt_tokens"] == 19
    assert record.metadata["agent_id"] == "planner"


ACCESSES: dict[str, Callable[[Any], Any]] = {
    "field": lambda e: e.model_name,
    "__class__": lambda e: e.__class__,
    "==": lambda e: e == e,
    "repr": repr,
    "dataclasses.fields": dataclasses.fields,
    "dataclasses.asdict": dataclasses.asdict,
    "dataclasses.replace": dataclasses.replace,
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "pickle": lambda e: pickle.loads(pickle.dumps(e)),
    "to_json": lambda e: e.to_json(),
    "to_dict": lambda e: e.to_dict(),
    "setattr": lambda e: setattr(e, "cost_usd", 0.5),
    "type().from_json": lambda e: type(e).from_json(e.to_json()),
}
TRACE_ACCESSES: dict[str, Callable[[tk.SessionTrace], Any]] = {
    "trace.to_json": lambda t: t.to_json(),
    "aggregate": lambda t: tk.aggregate([t]),
    "trace ==": lambda t: t == tk.SessionTrace.from_json(t.to_json()),
}


def _pending_call(tracer: SessionTracer) -> tuple[tk.SessionTrace, Any]:
    """A session holding one event for the openai_chat basic response, and the SDK object."""
    server = VendorServer().reply_json(load("openai_chat", "response_basic"), repeat=True)
    call = _caller("openai_chat", server)
    with SessionTracer().session():
        call(**REQUESTS["openai_chat"])  # a class's first response is recorded eagerly
    with tracer.session() as trace:
        response = call(**REQUESTS["openai_chat"])
    return trace, response


@pytest.mark.parametrize("access", list(ACCESSES), ids=list(ACCESSES))
def test_any_access_completes_the_event(access: str) -> None:
    """Each kind of access completes the pending event first and sees the eager event."""
    trace, response = _pending_call(SessionTracer())
    event = trace.event_history[0]
    assert type(event) is PendingLMCAISEvent
    result = ACCESSES[access](event)
    assert type(event) is tk.LMCAISEvent
    expected = _eager_event(response, "openai_chat", event.call_records[0])
    if access == "setattr":
        expected.cost_usd = 0.5
    assert event.to_json() == expected.to_json()
    if isinstance(result, tk.LMCAISEvent):
        assert type(result) is tk.LMCAISEvent
        assert result == expected
    if access == "repr":
        assert result.startswith("LMCAISEvent(system_instance_id='openai'")


@pytest.mark.parametrize("access", list(TRACE_ACCESSES), ids=list(TRACE_ACCESSES))
def test_reading_the_session_completes_its_events(access: str) -> None:
    """Encoding, aggregating or comparing the session completes the pending events it walks."""
    trace, response = _pending_call(SessionTracer())
    event = trace.event_history[0]
    assert type(event) is PendingLMCAISEvent
    TRACE_ACCESSES[access](trace)
    assert type(event) is tk.LMCAISEvent
    assert event.to_json() == _eager_event(response, "openai_chat", event.call_records[0]).to_json()
    if access == "aggregate":
        assert tk.aggregate([trace]).total.total_tokens == 29


def test_event_recorded_hook_sees_the_complete_event() -> None:
    """An event_recorded hook reads the complete event (completed on the caller's path then)."""
    seen: list[tuple[str, str | None, int | None]] = []

    def hook(event: Any, trace: Any) -> None:
        seen.append((event.model_name, event.call_records[0].output_text, event.input_tokens))

    trace, _ = _pending_call(SessionTracer(hooks={"event_recorded": hook}))
    assert type(trace.event_history[0]) is tk.LMCAISEvent
    assert seen == [("gpt-4.1-2025-04-14", "Hello! How can I assist you today?", 19)]


def test_completion_runs_once_whichever_thread_reads_first() -> None:
    """Eight threads reading the same pending events at once see complete events, each built once."""
    builds: list[int] = []

    def build_of(n: int) -> Callable[[], tk.LMCAISEvent]:
        def build() -> tk.LMCAISEvent:
            builds.append(n)
            return tk.LMCAISEvent(system_instance_id=f"agent-{n}", model_name=f"m{n}", input_tokens=n)

        return build

    events = [pending_event(build_of(n)) for n in range(200)]
    barrier = threading.Barrier(8)
    seen: list[list[tuple[str, str, int | None]]] = []

    def reader(order: int) -> None:
        barrier.wait()
        ordered = events if order % 2 else list(reversed(events))
        seen.append([(e.system_instance_id, e.model_name, e.input_tokens) for e in ordered])

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(builds) == list(range(200))
    want = sorted((f"agent-{n}", f"m{n}", n) for n in range(200))
    assert [sorted(s) == want for s in seen] == [True] * 8
    assert {type(e) for e in events} == {tk.LMCAISEvent}


def test_writer_thread_and_user_thread_read_the_same_events(tmp_path: Path) -> None:
    """The background writer saving a session of pending events while the user's thread reads them:
    both see the same complete events, and the stored session reads back equal."""
    payload = load("openai_chat", "response_parallel_tools")

    @tk.trace_llm_call(agent="worker")
    def ask(model: str, messages: list[dict[str, str]]) -> dict[str, Any]:
        return payload

    expected = tk.record_from_response(payload)
    assert expected.usage is not None
    url = f"file:{tmp_path / 'traces.db'}"
    tracer = SessionTracer(store=url)
    with tracer.session(session_id="lazy") as trace:
        for _ in range(60):
            ask("gpt-4.1", HI)
        assert {type(e) for e in trace.event_history} == {PendingLMCAISEvent}
    # the session is with the writer now: read the events here while it encodes them there
    read = [
        (e.model_name, e.input_tokens, e.call_records[0].output_tool_calls[0].name)
        for e in reversed(trace.event_history)
    ]
    result = tracer.flush(timeout=60)
    assert (result.written, result.failed, result.pending) == (1, 0, 0)
    tool = expected.output_tool_calls[0].name
    assert read == [(expected.model_name, expected.usage.input_tokens, tool)] * 60
    assert {type(e) for e in trace.event_history} == {tk.LMCAISEvent}

    async def stored() -> tk.SessionTrace:
        async with TursoManager(url) as db:
            return await db.get_session("lazy")

    assert asyncio.run(stored()) == trace


def test_a_response_that_cannot_be_normalised_is_recorded_with_its_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A deferred response that turns out unreadable never raises at first use: the call is
    recorded as failed with the reason (or, when not even the API is known, noted on the event)."""
    good = openai_client(VendorServer().reply_json(load("openai_chat", "response_basic")))
    first = good.chat.completions.create(**REQUESTS["openai_chat"])
    odd = ChatCompletion.model_construct(
        id="x", object="not.a.completion", created=0, model="gpt-4.1", choices=[]
    )

    @tk.trace_llm_call(agent="odd")
    def ask(model: str, reply: Any) -> Any:
        return reply

    with caplog.at_level(logging.WARNING, logger="tracekit.tracing.llm_call"):
        with SessionTracer().session() as trace:
            ask("gpt-4.1", first)
            ask("gpt-4.1", odd)
            ask("mystery-model", odd)
        assert [type(e) for e in trace.event_history[1:]] == [PendingLMCAISEvent, PendingLMCAISEvent]
        failed = trace.event_history[1]
        record = failed.call_records[0]
        noted = trace.event_history[2]
        assert noted.call_records == []
    assert (record.outcome, record.provider, record.api_type, record.model_name) == (
        "error",
        "openai",
        "chat_completions",
        "gpt-4.1",
    )
    assert record.error is not None
    assert record.error["type"] == "UnsupportedPayloadError"
    assert record.error["message"].startswith("unrecognised response payload with keys ['id', 'choices'")
    assert record.latency_ms == failed.latency_ms
    assert record.metadata["agent_id"] == "odd"
    assert noted.metadata["tracekit_error"]["type"] == "UnsupportedPayloadError"
    assert noted.system_instance_id == "odd"
    assert caplog.text.count("could not record the LLM response") == 2
    assert tk.SessionTrace.from_json(trace.to_json()) == trace


def test_strict_content_free_and_gemini_calls_are_recorded_eagerly() -> None:
    """A strict tracer (it must raise at the call), capture_content=False (no content kept) and
    google-genai objects (their dump is not the JSON text's) record on the caller's path."""
    body = load("openai_chat", "response_basic")
    server = VendorServer().reply_json(body, repeat=True)
    call = _caller("openai_chat", server)
    content_free = _caller("openai_chat", server, capture_content=False)
    gemini = _caller(
        "gemini", VendorServer().reply_json(load("gemini", "response_parallel_calls"), repeat=True)
    )
    with SessionTracer(strict=True).session() as strict_trace:
        call(**REQUESTS["openai_chat"])
        call(**REQUESTS["openai_chat"])
    with SessionTracer().session() as trace:
        call(**REQUESTS["openai_chat"])  # a class's first response is recorded eagerly
        call(**REQUESTS["openai_chat"])
        content_free(**REQUESTS["openai_chat"])
        gemini(**REQUESTS["gemini"])
        gemini(**REQUESTS["gemini"])
        kinds = [type(e) for e in trace.event_history[1:]]
    assert [type(e) for e in strict_trace.event_history] == [tk.LMCAISEvent, tk.LMCAISEvent]
    assert kinds == [PendingLMCAISEvent, tk.LMCAISEvent, tk.LMCAISEvent, tk.LMCAISEvent]
    assert trace.event_history[2].call_records[0].output_text is None


odd_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text()
    | st.binary(max_size=4)
    | st.just(object()),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage=odd_values, content=odd_values, model=odd_values)
def test_odd_sdk_values_are_recorded_as_the_eager_path_records_them(
    usage: Any, content: Any, model: Any
) -> None:
    """A ChatCompletion holding wrong-typed or extreme values (the SDK builds responses without
    validating them) is recorded exactly as the eager path records it, or eagerly when its JSON text
    could not stand for its dump; replacing its fields after the call changes nothing."""
    body = load("openai_chat", "response_basic")
    body["usage"]["prompt_tokens"] = usage
    body["choices"][0]["message"]["content"] = content
    body["model"] = model
    warm = ChatCompletion.construct(**load("openai_chat", "response_basic"))
    response = ChatCompletion.construct(**body)
    before = copy.deepcopy(response)

    @tk.trace_llm_call(agent="odd")
    def ask(model: str, messages: list[dict[str, str]], reply: Any) -> Any:
        return reply

    with SessionTracer().session() as trace:
        ask("gpt-4.1", HI, warm)
        ask("gpt-4.1", HI, response)
        response.model = "mutated"
        response.choices = []
        response.usage = None
    events = trace.event_history[1:]
    try:
        eager = tk.record_from_response(before, request={"model": "gpt-4.1", "messages": HI})
    except tk.UnsupportedPayloadError:  # a dump pydantic itself refuses is never deferred
        assert events == []  # the eager path records nothing for it either (logged)
        return
    assert eager.error is None or eager.error["type"] != "UnsupportedPayloadError"
    assert len(events) == 1
    event = events[0]
    expected = _eager_event(before, "openai_chat", event.call_records[0], agent="odd")
    assert event.to_json() == expected.to_json()
