"""The warnings of the store's roll-up, counted in SQL: equal to `tk.aggregate`'s on the same sessions.

Per selected session (ordered by session_id, as tk.aggregate sorts its session roll-ups) one
query counts what `tracekit.analysis.rollups.session_warnings` needs, from the typed columns only
(no trace JSON is read):
- counted events: those in event_history (`events.in_history = 1`) or, when the session has no
  history, every event; likewise messages;
- LLM calls: `llm_calls.in_rollup = 1`; LM events without call records: counted events of an
  LMCAISEvent type with no llm_calls row; runtime events: counted events of a RuntimeEvent type
  (registered subclasses included, as `isinstance` counts them in Python);
- tool messages: counted messages whose type is in TOOL_MESSAGE_TYPES;
- calls held by timesteps: llm_calls rows of events placed in a timestep, when there is a history.
The unpriced line comes from the counted calls with no stored cost: their models come from the
roll-up's own pass; a model the active price table does not know counts as "unknown model", and
only when some unpriced call has a known model are those calls counted ("without usable token
counts"), in one more query.
"""

from __future__ import annotations

from typing import Any

from tracekit.analysis.aggregate_types import TOOL_MESSAGE_TYPES, GroupAggregate
from tracekit.analysis.pricing import get_prices
from tracekit.analysis.rollups import session_warnings, unpriced_warning
from tracekit.model import LMCAISEvent, RuntimeEvent, event_types
from tracekit.store.libsql import Database, Result, Statement
from tracekit.store.queries import SessionFilter
from tracekit.store.rollup_rows import LAYOUT, Summary

__all__ = ["read_warnings", "summary_warning_statement", "summary_warnings", "warning_statement"]


def _types_of(base: type) -> list[str]:
    return sorted(name for name, cls in event_types().items() if issubclass(cls, base))


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


def warning_statement(flt: SessionFilter) -> Statement:
    """Per selected session, the counts its warnings depend on (run in the roll-up's batch)."""
    where, params = flt.where("s")
    lm_types, runtime_types = _types_of(LMCAISEvent), _types_of(RuntimeEvent)
    tool_types = sorted(TOOL_MESSAGE_TYPES)
    counted_event = "(e.in_history = 1 OR q.event_history = 0)"
    counted_message = "(m.in_history = 1 OR q.message_history = 0)"
    # unary +: walk each session's rows by primary key, never a roll-up or event-type index (whose
    # ranges span every session)
    sessions_sql = (
        "SELECT q.session_id, "
        "(SELECT count(*) FROM llm_calls c WHERE c.session_id = q.session_id AND +c.in_rollup = 1), "
        f"(SELECT count(*) FROM events e WHERE e.session_id = q.session_id AND {counted_event} "
        f"AND +e.event_type IN ({_marks(runtime_types)})), "
        f"(SELECT count(*) FROM messages m WHERE m.session_id = q.session_id AND {counted_message} "
        f"AND +m.message_type IN ({_marks(tool_types)})), "
        f"(SELECT count(*) FROM events e WHERE e.session_id = q.session_id AND {counted_event} "
        f"AND +e.event_type IN ({_marks(lm_types)}) AND NOT EXISTS (SELECT 1 FROM llm_calls c "
        "WHERE c.session_id = e.session_id AND c.event_index = e.event_index)), "
        "CASE WHEN q.event_history = 0 THEN 0 ELSE (SELECT count(*) FROM llm_calls c JOIN events e "
        "ON e.session_id = c.session_id AND e.event_index = c.event_index "
        "WHERE c.session_id = q.session_id AND e.step_position IS NOT NULL) END "
        "FROM (SELECT s.session_id, "
        "EXISTS (SELECT 1 FROM events h WHERE h.session_id = s.session_id AND h.in_history = 1) "
        "AS event_history, "
        "EXISTS (SELECT 1 FROM messages h WHERE h.session_id = s.session_id AND h.in_history = 1) "
        f"AS message_history FROM sessions s WHERE {where}) q ORDER BY q.session_id"
    )
    sessions_params: list[Any] = [*runtime_types, *tool_types, *lm_types, *params]  # in text order
    return sessions_sql, sessions_params


def summary_warning_statement(flt: SessionFilter) -> Statement:
    """The columns of `warning_statement`, read from each selected session's roll-up summary (its
    warning counts were taken from the same rows when it was saved); NULLs for a session with no
    summary of this layout, whose counts `warning_statement` must then take from its rows."""
    where, params = flt.where("s")
    layout = f"json_extract(s.rollup_json, '$.v') = {LAYOUT}"
    counts = ", ".join(
        f"CASE WHEN {layout} THEN json_extract(s.rollup_json, '$.w[{i}]') END" for i in range(5)
    )
    return f"SELECT s.session_id, {counts} FROM sessions s WHERE {where} ORDER BY s.session_id", params


async def read_warnings(
    db: Database,
    flt: SessionFilter,
    sessions: Result,
    total: GroupAggregate,
    unpriced_models: set[str],
    unpriced_by_model: dict[str, int] | None = None,
) -> tuple[str, ...]:
    """Every session warning in session order, then the unpriced line (as `tk.aggregate` orders them).

    `unpriced_models` (from the roll-up's own pass) says which models the unpriced calls have; only
    when one of them has a price are those calls counted (they lack usable token counts), from
    `unpriced_by_model` when the pass counted them per model, else in one more query."""
    warnings: list[str] = []
    for sid, llm_calls, runtime_events, tool_messages, empty_lm_events, in_steps in sessions.rows:
        warnings.extend(
            session_warnings(
                str(sid),
                llm_calls=int(llm_calls),
                runtime_events=int(runtime_events),
                tool_messages=int(tool_messages),
                empty_lm_events=int(empty_lm_events),
                calls_in_steps=int(in_steps),
            )
        )
    table = get_prices()
    known = sorted(m for m in unpriced_models if table.pricer(m) is not None)
    unpriced_usage = 0
    if unpriced_by_model is not None:
        unpriced_usage = sum(unpriced_by_model.get(m, 0) for m in known)
    elif total.unpriced_call_count and known:
        where, params = flt.where("s")
        clause = ""
        if where != "1":
            clause = f" AND c.session_id IN (SELECT s.session_id FROM sessions s WHERE {where})"
        result = await db.execute(
            "SELECT count(*) FROM llm_calls c WHERE c.in_rollup = 1 AND c.cost_nanousd IS NULL "
            f"AND c.model_name IN ({_marks(known)}){clause}",
            [*known, *params],
        )
        unpriced_usage = int(result.rows[0][0])
    line = unpriced_warning(
        total.call_count, total.unpriced_call_count, unpriced_usage, unpriced_models.difference(known)
    )
    if line is not None:
        warnings.append(line)
    return tuple(warnings)


def summary_warnings(
    summaries: list[Summary], total: GroupAggregate, unpriced_by_model: dict[str, int]
) -> tuple[str, ...]:
    """The same warnings as `read_warnings`, from the sessions' roll-up summaries (in session order)
    and the unpriced calls per model ("" included); no query."""
    warnings: list[str] = []
    for summary in summaries:
        llm_calls, runtime_events, tool_messages, empty_lm_events, in_steps = summary.warnings
        warnings.extend(
            session_warnings(
                summary.session_id,
                llm_calls=llm_calls,
                runtime_events=runtime_events,
                tool_messages=tool_messages,
                empty_lm_events=empty_lm_events,
                calls_in_steps=in_steps,
            )
        )
    table = get_prices()
    known = {m for m in unpriced_by_model if table.pricer(m) is not None}
    unpriced_usage = sum(unpriced_by_model[m] for m in known)
    line = unpriced_warning(
        total.call_count, total.unpriced_call_count, unpriced_usage, set(unpriced_by_model).difference(known)
    )
    if line is not None:
        warnings.append(line)
    return tuple(warnings)
