"""Sessions and timesteps live in contextvars: concurrent sessions never mix, nesting restores."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk

MakeTracer = Callable[..., tk.SessionTracer]


def ev(name: str) -> tk.RuntimeEvent:
    """A runtime event whose system_instance_id names where it was recorded."""
    return tk.RuntimeEvent(system_instance_id=name)


def names(events: list[tk.BaseEvent]) -> list[str]:
    """The system_instance_id of each event, in order."""
    return [e.system_instance_id for e in events]


def assert_exactly_once(trace: tk.SessionTrace) -> None:
    """Every event of the history is in exactly one step, once, and steps hold nothing else."""
    in_steps = [e for step in trace.session_time_steps for e in step.events]
    assert sorted(map(id, in_steps)) == sorted(map(id, trace.event_history))
    assert len({id(e) for e in in_steps}) == len(in_steps)


async def test_fifty_concurrent_async_sessions_do_not_mix(make_tracer: MakeTracer) -> None:
    """50 tasks interleaving sessions on one tracer each get exactly their own events, in order."""
    tracer = make_tracer()

    async def agent(n: int) -> tk.SessionTrace:
        async with tracer.session(session_id=f"s{n}") as trace:
            for turn in range(3):
                async with tracer.timestep(f"turn-{turn}", turn_number=turn):
                    for k in range(4):
                        tracer.record_event(ev(f"s{n}-t{turn}-e{k}"))
                        await asyncio.sleep(0)  # let the other 49 sessions run in between
                    tracer.record_message(f"s{n}-t{turn}", "user_to_agent")
            tracer.record_event(ev(f"s{n}-after"))
        return trace

    traces = await asyncio.gather(*(agent(n) for n in range(50)))
    for n, trace in enumerate(traces):
        expected = [f"s{n}-t{t}-e{k}" for t in range(3) for k in range(4)] + [f"s{n}-after"]
        assert trace.session_id == f"s{n}"
        assert names(trace.event_history) == expected
        assert [s.step_id for s in trace.session_time_steps] == ["turn-0", "turn-1", "turn-2", "implicit-3"]
        assert [names(s.events) for s in trace.session_time_steps] == [
            expected[0:4],
            expected[4:8],
            expected[8:12],
            [f"s{n}-after"],
        ]
        assert [m.content.text for m in trace.markov_blanket_message_history] == [
            f"s{n}-t{t}" for t in range(3)
        ]
        assert_exactly_once(trace)
    assert sorted(tracer.sessions) == sorted(f"s{n}" for n in range(50))
    assert tk.current_tracer() is None


def test_eight_threads_share_one_tracer(make_tracer: MakeTracer) -> None:
    """8 threads running sessions on one tracer at once keep their events apart, none lost."""
    tracer = make_tracer()
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for s in range(5):
                with tracer.session(session_id=f"w{n}-s{s}"):
                    barrier.wait() if s == 0 else None
                    for turn in range(2):
                        with tracer.timestep(turn_number=turn):
                            for k in range(50):
                                tracer.record_event(ev(f"w{n}-s{s}-{turn}-{k}"))
        except BaseException as exc:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sessions = tracer.sessions
    assert len(sessions) == 40
    for n in range(8):
        for s in range(5):
            trace = sessions[f"w{n}-s{s}"]
            expected = [f"w{n}-s{s}-{turn}-{k}" for turn in range(2) for k in range(50)]
            assert names(trace.event_history) == expected
            assert [step.step_id for step in trace.session_time_steps] == ["step-0", "step-1"]
            assert [step.turn_number for step in trace.session_time_steps] == [0, 1]
            assert_exactly_once(trace)


def test_nested_contexts_restore_the_outer_one(make_tracer: MakeTracer) -> None:
    """An inner session or timestep takes over the context and gives the outer one back on exit."""
    tracer = make_tracer()
    with tracer.session(session_id="outer") as outer, tracer.timestep("o1") as o1:
        tracer.record_event(ev("o1-a"))
        with tracer.timestep("o1-inner") as inner_step:
            assert tk.current_timestep() is inner_step
            tracer.record_event(ev("inner-step"))
        assert tk.current_timestep() is o1
        with tracer.session(session_id="inner") as inner:
            assert tk.current_session() is inner
            tracer.record_event(ev("inner-session"))
        assert tk.current_session() is outer
        assert tk.current_timestep() is o1
        tracer.record_event(ev("o1-b"))
    assert tk.current_session() is None
    assert tk.current_timestep() is None
    assert names(outer.event_history) == ["o1-a", "inner-step", "o1-b"]
    assert [names(s.events) for s in outer.session_time_steps] == [["o1-a", "o1-b"], ["inner-step"]]
    assert names(inner.event_history) == ["inner-session"]
    assert [s.step_id for s in inner.session_time_steps] == ["implicit-0"]


def test_calls_outside_a_timestep_go_to_an_implicit_step(make_tracer: MakeTracer) -> None:
    """Events outside timesteps share one implicit step until an explicit step starts."""
    tracer = make_tracer()
    with tracer.session() as trace:
        tracer.record_event(ev("a"))
        tracer.record_event(ev("b"))
        with tracer.timestep("t", turn_number=1, metadata={"k": 1}):
            tracer.record_event(ev("c"))
        tracer.record_event(ev("d"))
    steps = trace.session_time_steps
    assert [(s.step_id, s.step_index, names(s.events)) for s in steps] == [
        ("implicit-0", 0, ["a", "b"]),
        ("t", 1, ["c"]),
        ("implicit-2", 2, ["d"]),
    ]
    assert [s.step_metadata for s in steps] == [{"implicit": True}, {"k": 1}, {"implicit": True}]
    assert all(s.completed_at is not None and s.completed_at >= s.timestamp for s in steps)


def test_exception_in_timestep_is_recorded_and_reraised(make_tracer: MakeTracer) -> None:
    """Leaving a timestep and a session by an exception records it on both and re-raises it as is."""
    tracer = make_tracer()
    boom = KeyError("missing tool")
    traces: list[tk.SessionTrace] = []

    def agent() -> None:
        with tracer.session(session_id="err") as trace, tracer.timestep("bad"):
            traces.append(trace)
            tracer.record_event(ev("before"))
            raise boom

    with pytest.raises(KeyError) as caught:
        agent()
    assert caught.value is boom
    [trace] = traces
    assert trace.session_time_steps[0].step_metadata == {
        "error": {"type": "KeyError", "message": "'missing tool'"}
    }
    assert trace.metadata == {"error": {"type": "KeyError", "message": "'missing tool'"}}
    assert tracer.get("err") is trace
    assert tk.current_session() is None


async def test_cancelled_session_records_the_cancellation(make_tracer: MakeTracer) -> None:
    """A task cancelled inside `async with` records CancelledError and still propagates it."""
    tracer = make_tracer()
    entered = asyncio.Event()

    async def agent() -> None:
        async with tracer.session(session_id="c"):
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(agent())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tracer.sessions["c"].metadata == {"error": {"type": "CancelledError", "message": ""}}


def test_recording_without_a_session_is_a_clear_error(make_tracer: MakeTracer) -> None:
    """record_*/timestep() outside a session raise NoActiveSessionError saying what to do."""
    tracer = make_tracer()
    for call in (
        lambda: tracer.record_event(ev("x")),
        lambda: tracer.record_message("hi", "user_to_agent"),
        lambda: tracer.record_reward(1.0),
        lambda: tracer.timestep("t").__enter__(),
    ):
        with pytest.raises(tk.NoActiveSessionError, match=r"inside `with tracer\.session\(\):`"):
            call()
    other = make_tracer()
    with other.session(), pytest.raises(tk.TracekitError, match="another tracer's session is active here"):
        tracer.record_event(ev("x"))


def test_messages_store_text_json_roles_and_step(make_tracer: MakeTracer) -> None:
    """record_message keeps str as text, other content as JSON, and roles/call_id/step in metadata."""
    tracer = make_tracer()
    with tracer.session() as trace, tracer.timestep("t1"):
        text = tracer.record_message("hello", "user_to_agent", from_role="user", to_role="agent")
        data = tracer.record_message({"q": [1, 2.5, None]}, "tool_result", call_id="call-1")
    assert text.content == tk.SessionMessageContent(text="hello")
    assert text.metadata == {"step_id": "t1", "from_system_role": "user", "to_system_role": "agent"}
    assert data.content == tk.SessionMessageContent(json_payload='{"q":[1,2.5,null]}')
    assert data.metadata == {"step_id": "t1", "call_id": "call-1"}
    assert trace.markov_blanket_message_history == [text, data]
    assert trace.session_time_steps[0].markov_blanket_messages == [text, data]


def test_bad_arguments_are_refused_at_once(make_tracer: MakeTracer) -> None:
    """Values the trace could not store exactly are refused with a TracekitError naming them."""
    tracer = make_tracer()
    with pytest.raises(tk.SerializationError, match="non-finite float"):
        tracer.session(metadata={"x": float("nan")}).__enter__()
    with tracer.session(session_id="dup") as trace:
        with pytest.raises(tk.InvalidArgumentError, match="'dup' is already open"):
            tracer.session(session_id="dup").__enter__()
        with pytest.raises(tk.InvalidArgumentError, match=r"takes a tracekit event .* got dict"):
            tracer.record_event({"type": "x"})  # type: ignore[arg-type]
        with pytest.raises(
            tk.SerializationError, match=r"content \{1, 2\} \(a set\) cannot be stored as JSON exactly"
        ):
            tracer.record_message({1, 2}, "x")
        with pytest.raises(tk.InvalidArgumentError, match="message_type must be a non-empty str, got ''"):
            tracer.record_message("x", "")
        with pytest.raises(tk.InvalidArgumentError, match="turn_number must be an int or None, got '1'"):
            tracer.timestep(turn_number="1")  # type: ignore[arg-type]
        with pytest.raises(tk.InvalidArgumentError, match="reward value must be a finite number, got inf"):
            tracer.record_reward(float("inf"))
        with pytest.raises(tk.InvalidArgumentError, match="was not recorded in session 'dup'"):
            tracer.record_reward(1.0, event=ev("stranger"))
    assert trace.event_history == []
    assert trace.session_metadata is None


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    content=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=3)
            | st.sets(st.integers(), max_size=2)
        ),
        max_leaves=6,
    )
)
def test_message_content_is_stored_exactly_or_refused(content: object) -> None:
    """Any content either reads back equal from the stored JSON or raises a TracekitError."""
    tracer = tk.SessionTracer()
    with tracer.session():
        try:
            message = tracer.record_message(content, "m")
        except tk.TracekitError:
            return
    if isinstance(content, str):
        assert message.content.text == content
    else:
        assert message.content.json_payload is not None
        assert json.loads(message.content.json_payload) == content


@settings(max_examples=100, derandomize=True, deadline=None)
@given(
    value=st.one_of(st.floats(), st.integers(-(2**70), 2**70), st.booleans(), st.text(max_size=3), st.none())
)
def test_rewards_accept_finite_numbers_only(value: object) -> None:
    """record_reward keeps finite numbers as floats and refuses everything else with a TracekitError."""
    tracer = tk.SessionTracer()
    with tracer.session() as trace:
        try:
            tracer.record_reward(value)  # type: ignore[arg-type]
        except tk.TracekitError:
            assert trace.session_metadata is None
            return
    assert isinstance(value, int | float)
    assert not isinstance(value, bool)
    assert trace.session_metadata is not None
    assert trace.session_metadata[0]["tracekit_reward"]["value"] == float(value)


async def test_a_task_outliving_its_session_records_nothing(make_tracer: MakeTracer) -> None:
    """A task that copied the session's context and runs on after it ended sees no active session."""
    tracer = make_tracer()
    ended = asyncio.Event()

    async def straggler() -> tuple[object, str]:
        await ended.wait()
        try:
            tracer.record_event(ev("late"))
        except tk.NoActiveSessionError as exc:
            return tk.current_tracer(), str(exc)
        return tk.current_tracer(), "recorded"

    async with tracer.session(session_id="short") as trace:
        task = asyncio.create_task(straggler())
        tracer.record_event(ev("in-time"))
    ended.set()
    current, outcome = await task
    assert current is None
    assert outcome.startswith("record_event(): session 'short' has already ended")
    assert names(trace.event_history) == ["in-time"]
