"""`tracer.live_metrics()`: running totals of a tracer's sessions while they run.

Nothing is added to the recording path: each poll folds only the events and messages appended
to each open session's history since the previous poll (a cursor per session), so a poll costs
what happened since the last one, not the session's size. A finished session is folded once
more and then only its totals are kept. The numbers follow tracekit.analysis.aggregates exactly (calls
found in event_history; tokens summed over the calls that reported them, None when none did;
cost in integer nano-dollars from the active price table or the reported cost; agent =
the LMCAISEvent's system_instance_id), so at any moment they equal `tk.aggregate` over the
sessions so far. Tool runs come from @trace_tool's EnvironmentEvents (tool_name, status,
duration_ms); p50 is nearest-rank.
"""

from __future__ import annotations

import bisect
import threading
from typing import Any

from tracekit.analysis.aggregate_types import TOOL_MESSAGE_TYPES
from tracekit.analysis.pricing import get_prices
from tracekit.analysis.turn_shapes import no_llm_calls_warning
from tracekit.errors import InvalidArgumentError
from tracekit.model import EnvironmentEvent, LLMCallRecord, LMCAISEvent, RuntimeEvent, SessionTrace

__all__ = ["LiveMetrics"]

_ERRORS = frozenset({"error", "timeout", "cancelled"})
_TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
_FOLD_ENDED_AT = 256  # ended sessions waiting for their last fold before one is done on the spot


class _Calls:
    """Sums over LLM calls (None until some call reports a value: not reported is not zero)."""

    __slots__ = ("calls", "errors", "incomplete", "nanos", "success", "tokens", "tool_calls", "unpriced")

    def __init__(self) -> None:
        self.calls = self.success = self.errors = self.incomplete = self.unpriced = self.tool_calls = 0
        self.tokens: list[int | None] = [None] * len(_TOKEN_FIELDS)
        self.nanos: int | None = None

    def add(self, record: LLMCallRecord, nanos: int | None) -> None:
        self.calls += 1
        outcome = record.outcome
        if outcome == "success":
            self.success += 1
        elif outcome in _ERRORS:
            self.errors += 1
        elif outcome == "incomplete":
            self.incomplete += 1
        usage = record.usage
        if usage is not None:
            tokens = self.tokens
            for index, value in enumerate(
                (
                    usage.input_tokens,
                    usage.output_tokens,
                    usage.total_tokens,
                    usage.cache_read_tokens,
                    usage.cache_write_tokens,
                    usage.reasoning_tokens,
                )
            ):
                if value is not None:
                    current = tokens[index]
                    tokens[index] = value if current is None else current + value
        if nanos is None:
            self.unpriced += 1
        else:
            self.nanos = nanos if self.nanos is None else self.nanos + nanos
        self.tool_calls += len(record.output_tool_calls)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "llm_calls": self.calls,
            "success": self.success,
            "errors": self.errors,
            "incomplete": self.incomplete,
        }
        out.update(zip(_TOKEN_FIELDS, self.tokens, strict=True))
        out["cost_usd"] = None if self.nanos is None else self.nanos / 1e9
        out["cost_nanousd"] = self.nanos
        out["unpriced_calls"] = self.unpriced
        out["tool_calls_requested"] = self.tool_calls
        return out


class _Tool:
    """Runs of one tool: counts and durations kept sorted (for the median)."""

    __slots__ = ("durations", "failed", "runs", "succeeded")

    def __init__(self) -> None:
        self.runs = self.succeeded = self.failed = 0
        self.durations: list[float] = []

    def to_dict(self, name: str) -> dict[str, Any]:
        durations = self.durations
        p50 = durations[max(-(-(50 * len(durations)) // 100), 1) - 1] if durations else None
        return {
            "name": name,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "success_rate": self.succeeded / self.runs if self.runs else None,
            "p50_ms": p50,
        }


class _Totals:
    """Everything live_metrics reports for one session or for all of them."""

    __slots__ = ("agents", "calls", "empty_lm_events", "runtime_events", "tool_messages", "tools")

    def __init__(self) -> None:
        self.calls = _Calls()
        self.agents: dict[str | None, _Calls] = {}
        self.tools: dict[str, _Tool] = {}
        self.runtime_events = self.tool_messages = self.empty_lm_events = 0

    def add_call(self, agent: str | None, record: LLMCallRecord, nanos: int | None) -> None:
        self.calls.add(record, nanos)
        group = self.agents.get(agent)
        if group is None:
            group = self.agents[agent] = _Calls()
        group.add(record, nanos)

    def add_tool(self, name: str, ok: bool, duration_ms: Any) -> None:
        tool = self.tools.get(name)
        if tool is None:
            tool = self.tools[name] = _Tool()
        tool.runs += 1
        if ok:
            tool.succeeded += 1
        else:
            tool.failed += 1
        if isinstance(duration_ms, int | float) and not isinstance(duration_ms, bool):
            bisect.insort(tool.durations, float(duration_ms))

    def lacks_llm_calls(self) -> bool:
        return self.calls.calls == 0 and bool(
            self.runtime_events or self.tool_messages or self.empty_lm_events
        )

    def to_dict(self) -> dict[str, Any]:
        out = self.calls.to_dict()
        out["agents"] = [
            {"agent": agent, **calls.to_dict()}
            for agent, calls in sorted(self.agents.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ]
        out["tools"] = [tool.to_dict(name) for name, tool in sorted(self.tools.items())]
        out["runtime_events"] = self.runtime_events
        out["tool_messages"] = self.tool_messages
        return out


class _Session:
    __slots__ = ("ended", "events", "messages", "totals", "trace")

    def __init__(self, trace: SessionTrace) -> None:
        self.trace: SessionTrace | None = trace
        self.events = 0
        self.messages = 0
        self.ended = False
        self.totals = _Totals()


class LiveMetrics:
    """The running aggregate behind `tracer.live_metrics()` (thread-safe)."""

    __slots__ = ("_ended", "_flagged", "_lock", "_open", "_sessions", "_total")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._open: dict[str, _Session] = {}
        self._ended: list[_Session] = []
        self._total = _Totals()
        self._flagged: set[str] = set()

    def started(self, trace: SessionTrace) -> None:
        """Track a session from its start."""
        state = _Session(trace)
        with self._lock:
            previous = self._sessions.get(trace.session_id)
            if previous is not None and previous.trace is not None:
                self._fold(trace.session_id, previous)  # same id reused: keep what it had
            self._sessions[trace.session_id] = self._open[trace.session_id] = state

    def ended(self, trace: SessionTrace) -> None:
        """A session closed: folded at the next poll (or now, when many are waiting)."""
        with self._lock:
            state = self._open.pop(trace.session_id, None)
            if state is None or state.trace is not trace:
                return
            state.ended = True
            self._ended.append(state)
            if len(self._ended) >= _FOLD_ENDED_AT:
                self._fold_ended()

    def snapshot(self, session_id: str | None = None, dropped_events: int = 0) -> dict[str, Any]:
        """The running totals of one session, or of every session this tracer has seen."""
        if session_id is not None and not isinstance(session_id, str):
            raise InvalidArgumentError(f"session_id must be a str or None, got {session_id!r}")
        with self._lock:
            for sid, state in self._open.items():
                self._fold(sid, state)
            self._fold_ended()
            if session_id is None:
                totals, sessions = self._total, len(self._sessions)
                flagged = sorted(self._flagged)
            else:
                one = self._sessions.get(session_id)
                if one is None:
                    raise InvalidArgumentError(
                        f"no session {session_id!r} on this tracer; live_metrics() without session_id "
                        "covers every session it has seen"
                    )
                totals, sessions = one.totals, 1
                flagged = [session_id] if session_id in self._flagged else []
            out: dict[str, Any] = {
                "session_id": session_id,
                "sessions": sessions,
                "open_sessions": len(self._open) if session_id is None else int(session_id in self._open),
            }
            out.update(totals.to_dict())
            warnings = []
            for sid in flagged:
                t = self._sessions[sid].totals
                warnings.append(
                    no_llm_calls_warning(
                        f"session {sid!r}", t.runtime_events, t.tool_messages, t.empty_lm_events
                    )
                )
        calls = totals.calls
        if calls.unpriced:
            warnings.append(
                f"{calls.unpriced} of {calls.calls} LLM call(s) are unpriced and not in cost_usd; add "
                "prices with tk.set_price(...) or tk.load_prices(path)"
            )
        if dropped_events:
            warnings.append(f"{dropped_events} live event(s) were dropped by slow subscribers (full buffers)")
        out["dropped_events"] = dropped_events
        out["warnings"] = warnings
        return out

    def _fold_ended(self) -> None:
        ended, self._ended = self._ended, []
        for state in ended:
            trace = state.trace
            if trace is not None:
                self._fold(trace.session_id, state)
                state.trace = None  # keep the totals only

    def _fold(self, sid: str, state: _Session) -> None:
        """Add what the session recorded since the last fold (its cursors move on)."""
        trace = state.trace
        if trace is None:
            return
        history, messages = trace.event_history, trace.markov_blanket_message_history
        n_events, n_messages = len(history), len(messages)
        if n_events == state.events and n_messages == state.messages:
            return
        mine, total = state.totals, self._total
        prices = get_prices()
        for index in range(state.events, n_events):
            event = history[index]
            if isinstance(event, LMCAISEvent):
                records = event.call_records
                if not records:
                    mine.empty_lm_events += 1
                    total.empty_lm_events += 1
                agent = event.system_instance_id or None
                for record in records:
                    cost = prices.usage_cost(record.model_name, record.usage)
                    nanos = None if cost is None else cost.nanousd
                    mine.add_call(agent, record, nanos)
                    total.add_call(agent, record, nanos)
            elif isinstance(event, RuntimeEvent):
                mine.runtime_events += 1
                total.runtime_events += 1
            elif isinstance(event, EnvironmentEvent):
                meta = event.metadata
                name, status = meta.get("tool_name"), meta.get("status")
                if isinstance(name, str) and status in ("ok", "error"):
                    mine.add_tool(name, status == "ok", meta.get("duration_ms"))
                    total.add_tool(name, status == "ok", meta.get("duration_ms"))
        for index in range(state.messages, n_messages):
            if messages[index].message_type in TOOL_MESSAGE_TYPES:
                mine.tool_messages += 1
                total.tool_messages += 1
        state.events, state.messages = n_events, n_messages
        if mine.lacks_llm_calls():
            self._flagged.add(sid)
        else:
            self._flagged.discard(sid)
