"""`db.conversation_metrics(session_id)`: a stored session's completed turns as camelCase metrics.

Read from the typed columns (timesteps, llm_calls joined to their event's timestep position,
event and message counts per timestep); no record JSON is parsed. The shapes and the rules are
tracekit.analysis.turn_shapes', so the result equals `tk.turn_metrics(step)` over the same trace's
completed timesteps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracekit.analysis.aggregate_types import TOOL_MESSAGE_TYPES
from tracekit.analysis.turn_shapes import step_shape, turn_shape
from tracekit.errors import NotFoundError
from tracekit.store.libsql import Database, Statement

__all__ = ["conversation_metrics"]

_TOOL_TYPES = sorted(TOOL_MESSAGE_TYPES)


def _statements(session_id: str) -> list[Statement]:
    marks = ", ".join("?" * len(_TOOL_TYPES))
    return [
        ("SELECT 1 FROM sessions WHERE session_id = ?", [session_id]),
        (
            "SELECT position, step_id, turn_number, timestamp, completed_at FROM timesteps "
            "WHERE session_id = ? AND completed_at IS NOT NULL ORDER BY position",
            [session_id],
        ),
        (
            "SELECT e.step_position, c.call_id, c.system_instance_id, c.model_name, c.provider, c.outcome, "
            "c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, "
            "c.ttft_ms, c.decode_ms, c.latency_ms "
            "FROM llm_calls c JOIN events e ON e.session_id = c.session_id AND e.event_index = c.event_index "
            "WHERE c.session_id = ? AND e.step_position IS NOT NULL "
            "ORDER BY e.step_position, e.step_slot, c.call_index",
            [session_id],
        ),
        (
            "SELECT e.step_position, SUM(e.event_type = 'runtime'), "
            "SUM(e.event_type = 'cais' AND NOT EXISTS (SELECT 1 FROM llm_calls c "
            "WHERE c.session_id = e.session_id AND c.event_index = e.event_index)) "
            "FROM events e WHERE e.session_id = ? AND e.step_position IS NOT NULL GROUP BY e.step_position",
            [session_id],
        ),
        (
            "SELECT step_position, COUNT(*) FROM messages WHERE session_id = ? "
            f"AND step_position IS NOT NULL AND message_type IN ({marks}) GROUP BY step_position",
            [session_id, *_TOOL_TYPES],
        ),
    ]


async def conversation_metrics(db: Database, url: str, session_id: str) -> dict[str, Any]:
    """{"turns": [...]} for the session's completed timesteps in order; NotFoundError if not stored."""
    found, steps, calls, events, messages = await db.batch(_statements(session_id))
    if not found.rows:
        raise NotFoundError(f"no session {session_id!r} in {url}; list_sessions() shows what is stored")
    by_step: dict[int, list[dict[str, Any]]] = {}
    for row in calls.rows:
        by_step.setdefault(row[0], []).append(
            step_shape(
                call_id=row[1],
                agent=row[2] or None,
                model=row[3] or None,
                provider=row[4],
                outcome=row[5],
                tokens=(row[6], row[7], row[8], row[9]),
                ttft_ms=_float(row[10]),
                decode_ms=_float(row[11]),
                latency_ms=_float(row[12]),
            )
        )
    activity = {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in events.rows}
    tool_messages = {row[0]: int(row[1]) for row in messages.rows}
    turns = []
    for position, step_id, turn_number, timestamp, completed_at in steps.rows:
        runtime, empty = activity.get(position, (0, 0))
        turns.append(
            turn_shape(
                step_id=step_id,
                turn_number=turn_number,
                started_at=datetime.fromisoformat(timestamp),
                completed_at=datetime.fromisoformat(completed_at),
                steps=by_step.get(position, []),
                runtime_events=runtime,
                tool_messages=tool_messages.get(position, 0),
                empty_lm_events=empty,
            )
        )
    return {"turns": turns}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
