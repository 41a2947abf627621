"""`run_demo`: replay the bundled multi-agent run (tracekit/demo/script.py) into a store.

The agents below are ordinary agent code: they call their LLM client, read the stream (one reader
stops early, one stream ends in a vendor error), run the tools the model asked for through
`@trace_tool` functions, and the environment rewards each turn. Everything is recorded by a
SessionTracer writing to `url`. The official SDK clients are used when installed, else
`@trace_llm_call`-decorated functions (see `DemoRun.replay`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tracekit.decorators import trace_tool
from tracekit.demo.requests import request_kwargs
from tracekit.demo.script import EXPERIMENT, SESSIONS, Call, Session, ToolRun, load_payload
from tracekit.errors import InvalidArgumentError
from tracekit.model import EnvironmentEvent, LMCAISEvent, SessionTrace, ToolCallSpec
from tracekit.store.sync import SyncTursoManager
from tracekit.tracer import FlushResult, SessionTracer, current_session

__all__ = ["DemoRun", "ReplayPath", "clear_demo", "run_demo", "sdks_available"]

ReplayPath = Literal["sdk", "decorators"]

_TOOL_S = 0.08
"""How long each demo tool takes (scaled like the vendor delays)."""


class _Clients(Protocol):
    def send(self, call: Call, payload: Any, kwargs: dict[str, Any], scale: float) -> Any: ...
    def close(self) -> None: ...


class DemoToolError(RuntimeError):
    """What a demo tool raises when the script says it fails (recorded as a failed tool call)."""


@dataclass(frozen=True, slots=True)
class DemoRun:
    """What `run_demo` did: where, how (SDK clients or decorated functions), which sessions."""

    url: str
    run_id: str
    replay: ReplayPath
    session_ids: tuple[str, ...]
    call_count: int
    failed_calls: int
    flush: FlushResult
    elapsed_s: float
    deleted_sessions: int


def sdks_available() -> bool:
    """True when the openai, anthropic and google-genai SDKs (and httpx2) can be imported."""
    if importlib.util.find_spec("google") is None:
        return False
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("openai", "anthropic", "httpx2", "google.genai")
    )


def clear_demo(url: str) -> int:
    """Delete every session of the demo's experiment from the store at `url`; how many were deleted."""
    deleted = 0
    with SyncTursoManager(url) as db:
        ids: list[str] = []
        cursor: str | None = None
        while True:
            page = db.list_sessions(experiment_id=EXPERIMENT, limit=500, after=cursor)
            ids.extend(s.session_id for s in page.sessions)
            cursor = page.next_cursor
            if cursor is None:
                break
        for session_id in ids:
            deleted += db.delete_session(session_id)
    return deleted


def _tool_calls_asked(trace: SessionTrace | None) -> list[ToolCallSpec]:
    """The tool calls of the latest recorded LLM call: what the agent will run."""
    if trace is not None:
        for event in reversed(trace.event_history):
            if isinstance(event, LMCAISEvent) and event.call_records:
                return list(event.call_records[-1].output_tool_calls)
    return []


def _run_tool(run: ToolRun, asked: list[ToolCallSpec], index: int, scale: float) -> None:
    """Run one tool the model asked for, as a `@trace_tool` function; a failing tool is caught."""
    spec = next((c for c in asked if run.call_id is not None and c.call_id == run.call_id), None)
    if spec is None:
        same_name = [c for c in asked if c.name == run.name]
        spec = same_name[index] if index < len(same_name) else None
    arguments = dict(spec.arguments) if spec is not None and isinstance(spec.arguments, dict) else {}

    def tool(tool_call_id: str | None = None, **kwargs: Any) -> Any:
        if scale:
            time.sleep(_TOOL_S * scale)
        if run.fails_with is not None:
            raise DemoToolError(run.fails_with)
        return run.result

    traced = trace_tool(name=run.name)(tool)
    with contextlib.suppress(DemoToolError):  # the agent goes on without it; the failure is in the trace
        traced(tool_call_id=run.call_id, **arguments)


def _make_call(clients: _Clients, call: Call, scale: float) -> bool:
    """Send one call and read its answer the way the agent does; False when the call failed."""
    result = clients.send(call, load_payload(call.payload), request_kwargs(call), scale)
    if not call.stream:
        return True
    try:
        for read, _chunk in enumerate(result, start=1):
            if call.cut_after is not None and read >= call.cut_after:
                break  # the user stopped the answer: the stream is cut short
    except Exception:
        return False  # the vendor's error event (the SDK raises it); the record says outcome=error
    finally:
        close = getattr(result, "close", None)
        if callable(close):
            close()
    return not call.fails


def _play_session(
    tracer: SessionTracer, clients: _Clients, session: Session, scale: float, run_id: str
) -> tuple[str, int, int]:
    calls = failed = 0
    metadata = {**session.metadata, "demo_run": run_id}
    with tracer.session(metadata=metadata, experiment_id=EXPERIMENT) as trace:
        for number, turn in enumerate(session.turns, start=1):
            with tracer.timestep(f"turn-{number}", turn_number=number):
                if number == 1:
                    tracer.record_message(session.task, "user_to_agent", from_role="user", to_role="agent")
                for call in turn.calls:
                    calls += 1
                    if not _make_call(clients, call, scale):
                        failed += 1
                    asked = _tool_calls_asked(current_session())
                    seen: dict[str, int] = {}
                    for run in call.tool_runs:
                        _run_tool(run, asked, seen.get(run.name, 0), scale)
                        seen[run.name] = seen.get(run.name, 0) + 1
                event = tracer.record_event(
                    EnvironmentEvent(
                        system_instance_id="environment",
                        reward=turn.reward.value,
                        metadata={"reason": turn.reward.reason},
                    )
                )
                tracer.record_reward(turn.reward.value, event=event, reward_type="turn")
        tracer.record_reward(session.outcome_reward)
    return trace.session_id, calls, failed


def run_demo(
    url: str = "file:traces.db",
    *,
    fresh: bool = False,
    delay_scale: float = 1.0,
    use_sdk: bool | None = None,
    on_session: Callable[[int, int], None] | None = None,
) -> DemoRun:
    """Replay the bundled run into the store at `url` and wait until it is saved.

    Each session's metadata carries `demo_run` (the run's id). `fresh` first deletes the demo's
    earlier sessions; `delay_scale` multiplies the recorded
    vendor delays (0 = none); `use_sdk` forces (True) or refuses (False) the SDK clients — by
    default they are used when installed. `on_session(done, total)` is called after each session.
    """
    if (
        isinstance(delay_scale, bool)
        or not isinstance(delay_scale, int | float)
        or not 0 <= delay_scale <= 100
    ):
        raise InvalidArgumentError(f"delay_scale must be a number from 0 to 100, got {delay_scale!r}")
    available = sdks_available()
    if use_sdk and not available:
        raise InvalidArgumentError(
            "the vendor SDKs are not installed; install them with `pip install 'tracekit[dev]'` or drop --sdk"
        )
    sdk = available if use_sdk is None else use_sdk
    started = time.perf_counter()
    deleted = clear_demo(url) if fresh else 0
    clients: _Clients
    if sdk:
        from tracekit.demo.sdk_replay import SdkClients

        clients = SdkClients()
    else:
        from tracekit.demo.plain_replay import PlainClients

        clients = PlainClients()
    tracer = SessionTracer(store=url)
    run_id = uuid.uuid4().hex
    ids: list[str] = []
    calls = failed = 0
    try:
        for index, session in enumerate(SESSIONS, start=1):
            session_id, n_calls, n_failed = _play_session(
                tracer, clients, session, float(delay_scale), run_id
            )
            ids.append(session_id)
            calls += n_calls
            failed += n_failed
            if on_session is not None:
                on_session(index, len(SESSIONS))
    finally:
        clients.close()
        flush = tracer.close()
    return DemoRun(
        url=url,
        run_id=run_id,
        replay="sdk" if sdk else "decorators",
        session_ids=tuple(ids),
        call_count=calls,
        failed_calls=failed,
        flush=flush,
        elapsed_s=time.perf_counter() - started,
        deleted_sessions=deleted,
    )
