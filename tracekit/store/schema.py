"""The store's tables, declared with SQLAlchemy Core (no connection is ever opened here).

Every saved record keeps its full JSON (`*_json` columns) so read-back is exact; the typed
columns beside it exist for filtering and SQL roll-ups. Times are ISO-8601 UTC text with fixed
microsecond width, so text order is time order. Foreign keys carry ON DELETE CASCADE for servers
that enforce them; the store still deletes children explicitly, because the embedded `file:`
backend opens a fresh connection per statement with foreign keys off.

`llm_calls` repeats two facts of its event so roll-ups need no join: `in_rollup` (1 when the
call counts in aggregates: its event is in the session's event_history, or the history is empty
and the event sits in a timestep, as tracekit.analysis.aggregates counts) and `step_id` (the timestep
holding the event, NULL when none or ""). The call's full JSON lives in `llm_call_records`, so
a roll-up scans only the narrow typed rows. `tool_calls` repeats its call's `in_rollup` and group
keys (step_id, system_instance_id, model_name, provider), so tool counts by name scan that table
alone. `session_metadata` holds each top-level metadata key with its value's JSON text, for
exact filtering (SQLite's JSON functions cut strings at NUL).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = [
    "ROLLUP_INDEX_KEYS",
    "SCHEMA_VERSION",
    "TIMESTEP_SUM_COLUMNS",
    "event_rewards",
    "events",
    "experiments",
    "llm_call_records",
    "llm_calls",
    "messages",
    "metadata",
    "outcome_rewards",
    "schema_version",
    "session_experiments",
    "session_metadata",
    "sessions",
    "table_ddl",
    "timesteps",
    "tool_calls",
]

SCHEMA_VERSION = 4
"""The schema version this tracekit writes; migrations.py brings older databases up to it."""

metadata = MetaData()


def _session_fk() -> Column[str]:
    return Column("session_id", Text, ForeignKey("sessions.session_id", ondelete="CASCADE"), primary_key=True)


schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("applied_at", Text, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", Text, primary_key=True),
    Column("created_at", Text, nullable=False),
    Column("saved_at", Text, nullable=False),
    Column("num_timesteps", Integer, nullable=False),
    Column("num_events", Integer, nullable=False),
    Column("num_messages", Integer, nullable=False),
    Column("num_llm_calls", Integer, nullable=False),
    Column("has_error", Integer, nullable=False),
    Column("metadata_json", Text, nullable=False),
    Column("trace_json", Text, nullable=False),
    # per-session roll-up summary (tracekit/store/rollup_rows.py); NULL only for a session saved before v3
    Column("rollup_json", Text),
)

session_metadata = Table(
    "session_metadata",
    metadata,
    _session_fk(),
    Column("key", Text, primary_key=True),
    Column("value_json", Text, nullable=False),
)

timesteps = Table(
    "timesteps",
    metadata,
    _session_fk(),
    Column("position", Integer, primary_key=True),
    Column("step_id", Text, nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("turn_number", Integer),
    Column("timestamp", Text, nullable=False),
    Column("completed_at", Text),
    Column("step_json", Text, nullable=False),
)

events = Table(
    "events",
    metadata,
    _session_fk(),
    Column("event_index", Integer, primary_key=True),
    Column("in_history", Integer, nullable=False),
    Column("step_position", Integer),
    Column("step_slot", Integer),
    Column("event_type", Text, nullable=False),
    Column("system_instance_id", Text, nullable=False),
    Column("event_time", Text, nullable=False),
    Column("model_name", Text),
    Column("reward", Float),
    Column("event_json", Text, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    _session_fk(),
    Column("message_index", Integer, primary_key=True),
    Column("in_history", Integer, nullable=False),
    Column("step_position", Integer),
    Column("step_slot", Integer),
    Column("message_type", Text, nullable=False),
    Column("event_time", Text, nullable=False),
    Column("message_json", Text, nullable=False),
)

_USAGE_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "reasoning_tokens",
    "reasoning_input_tokens",
    "reasoning_output_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "tool_use_input_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "billable_input_tokens",
    "billable_output_tokens",
)

llm_calls = Table(
    "llm_calls",
    metadata,
    _session_fk(),
    Column("event_index", Integer, primary_key=True),
    Column("call_index", Integer, primary_key=True),
    Column("call_id", Text, nullable=False),
    Column("in_rollup", Integer, nullable=False),
    Column("step_id", Text),
    Column("system_instance_id", Text, nullable=False),
    Column("model_name", Text, nullable=False),
    Column("provider", Text),
    Column("api_type", Text, nullable=False),
    Column("started_at", Text),
    Column("completed_at", Text),
    Column("latency_ms", Float),
    Column("ttft_ms", Float),
    Column("decode_ms", Float),
    Column("tpot_ms", Float),
    Column("output_tokens_per_second", Float),
    Column("chunk_count", Integer),
    *(Column(name, Integer) for name in _USAGE_COLUMNS),
    Column("cost_nanousd", Integer),
    Column("price_table_version", Text),
    Column("finish_reason", Text),
    Column("outcome", Text),
    Column("tool_call_count", Integer, nullable=False),
    ForeignKeyConstraint(
        ["session_id", "event_index"], ["events.session_id", "events.event_index"], ondelete="CASCADE"
    ),
)

llm_call_records = Table(
    "llm_call_records",
    metadata,
    _session_fk(),
    Column("event_index", Integer, primary_key=True),
    Column("call_index", Integer, primary_key=True),
    Column("record_json", Text, nullable=False),
    ForeignKeyConstraint(
        ["session_id", "event_index", "call_index"],
        ["llm_calls.session_id", "llm_calls.event_index", "llm_calls.call_index"],
        ondelete="CASCADE",
    ),
)

tool_calls = Table(
    "tool_calls",
    metadata,
    _session_fk(),
    Column("event_index", Integer, primary_key=True),
    Column("call_index", Integer, primary_key=True),
    Column("tool_index", Integer, primary_key=True),
    Column("tool_call_id", Text),
    Column("name", Text, nullable=False),
    # the call's roll-up facts, repeated so counts by name need no join (before the wide arguments)
    Column("in_rollup", Integer, nullable=False),
    Column("step_id", Text),
    Column("system_instance_id", Text, nullable=False),
    Column("model_name", Text, nullable=False),
    Column("provider", Text),
    Column("arguments_json", Text, nullable=False),
    ForeignKeyConstraint(
        ["session_id", "event_index", "call_index"],
        ["llm_calls.session_id", "llm_calls.event_index", "llm_calls.call_index"],
        ondelete="CASCADE",
    ),
)

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("created_at", Text, nullable=False),
    Column("metadata_json", Text, nullable=False),
)

session_experiments = Table(
    "session_experiments",
    metadata,
    Column(
        "experiment_id", Text, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), primary_key=True
    ),
    _session_fk(),
)

outcome_rewards = Table(
    "outcome_rewards",
    metadata,
    Column("reward_id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.session_id", ondelete="CASCADE"), nullable=False),
    Column("total_reward", Float, nullable=False),
    Column("achievements_count", Integer),
    Column("created_at", Text, nullable=False),
    Column("metadata_json", Text, nullable=False),
)

event_rewards = Table(
    "event_rewards",
    metadata,
    Column("reward_id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.session_id", ondelete="CASCADE"), nullable=False),
    Column("event_index", Integer),
    Column("reward_value", Float, nullable=False),
    Column("reward_type", Text),
    Column("key", Text),
    Column("created_at", Text, nullable=False),
    Column("metadata_json", Text, nullable=False),
)

Index("ix_sessions_created_at", sessions.c.created_at, sessions.c.session_id)
# partial: empty once every session has its roll-up summary, so "any left to back-fill?" is one lookup
Index("ix_sessions_without_summary", sessions.c.session_id, sqlite_where=sessions.c.rollup_json.is_(None))
Index("ix_session_metadata_key_value", session_metadata.c.key, session_metadata.c.value_json)
Index("ix_events_type", events.c.event_type)
Index("ix_llm_calls_model", llm_calls.c.model_name)
Index("ix_llm_calls_provider", llm_calls.c.provider)
Index("ix_llm_calls_agent", llm_calls.c.system_instance_id)
Index("ix_llm_calls_started_at", llm_calls.c.started_at)
ROLLUP_INDEX_KEYS = {
    "model": "model_name",
    "provider": "provider",
    "agent": "system_instance_id",
    "timestep": "step_id",
}
"""Groupings whose nearest-rank percentiles are picked by index position (ix_llm_calls_rollup_<by>_<m>)."""

TIMESTEP_SUM_COLUMNS = (
    "in_rollup",
    "step_id",
    "model_name",
    "provider",
    "price_table_version",
    "outcome",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nanousd",
    "tool_call_count",
    "latency_ms",
    "ttft_ms",
    "tpot_ms",
    "output_tokens_per_second",
)
"""ix_llm_calls_rollup_timestep: every llm_calls column the by="timestep" roll-up reads, led by its
key and then the columns its distinct lists come from. The sums by (step, model, provider, price
version) walk it in that order (no sort of a million rows, no table reads, no DISTINCT per row);
steps are shared across sessions ("step-3" of every run), so no per-session summary can hold them."""
Index("ix_llm_calls_rollup_timestep", *(llm_calls.c[name] for name in TIMESTEP_SUM_COLUMNS))
Index("ix_tool_calls_rollup_timestep", tool_calls.c.in_rollup, tool_calls.c.step_id, tool_calls.c.name)

for _metric in ("latency_ms", "ttft_ms", "tpot_ms", "output_tokens_per_second"):
    # nearest-rank percentiles by index position (LIMIT 1 OFFSET r) instead of sorting every row
    Index(f"ix_llm_calls_rollup_{_metric}", llm_calls.c.in_rollup, llm_calls.c[_metric])
    for _by, _key in ROLLUP_INDEX_KEYS.items():
        Index(
            f"ix_llm_calls_rollup_{_by}_{_metric}",
            llm_calls.c.in_rollup,
            llm_calls.c[_key],
            llm_calls.c[_metric],
        )
Index("ix_session_experiments_session", session_experiments.c.session_id)
Index("ix_outcome_rewards_session", outcome_rewards.c.session_id)
Index("ix_event_rewards_session", event_rewards.c.session_id)

_DIALECT = sqlite.dialect()


def table_ddl(table: Table) -> list[str]:
    """CREATE TABLE / CREATE INDEX statements (IF NOT EXISTS, so re-running is harmless) for SQLite."""
    statements = [str(CreateTable(table, if_not_exists=True).compile(dialect=_DIALECT)).strip()]
    for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
        statements.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=_DIALECT)).strip())
    return statements
