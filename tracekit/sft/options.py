"""What to export: the session and call filters of `export_sft`, checked once, and the per-call test.

Session filters run in the store's SQL (time window, experiment, metadata equality, minimum
outcome reward), except `metadata_predicate`, a Python callable on each session's metadata.
Call filters run on each call record; the first one a call fails names its drop reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tracekit.analysis import pricing
from tracekit.errors import InvalidArgumentError
from tracekit.model import LLMCallRecord
from tracekit.sft.convert import Reasoning

__all__ = ["CallContext", "SFTOptions"]

MetadataScalar = str | int | float | bool | None


@dataclass(slots=True, frozen=True)
class CallContext:
    """Where a call sits: its session, the index of its event in event_history, its agent and
    the best per-event reward recorded for that event (None when there is none)."""

    session_id: str
    event_index: int | None
    agent: str | None
    event_reward: float | None


def _names(value: str | Collection[str] | None, name: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, Collection) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise InvalidArgumentError(f"{name} must be a str or a collection of str, got {value!r}")


def _number(value: float | None, name: str, *, minimum: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgumentError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{name} must be at least {minimum:g}, got {value!r}")
    return float(value)


def _bounds(low: float | None, high: float | None, name: str) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidArgumentError(f"min_{name} ({low:g}) is above max_{name} ({high:g}); swap or widen them")


@dataclass(slots=True, frozen=True)
class SFTOptions:
    """Every option of `export_sft`, validated (InvalidArgumentError naming the bad argument)."""

    created_after: datetime | None = None
    created_before: datetime | None = None
    experiment_id: str | None = None
    metadata: Mapping[str, MetadataScalar] | None = None
    metadata_predicate: Callable[[Mapping[str, Any]], bool] | None = None
    min_outcome_reward: float | None = None
    min_event_reward: float | None = None
    models: frozenset[str] | None = None
    agents: frozenset[str] | None = None
    success_only: bool = True
    finish_reasons: frozenset[str] | None = None
    min_tokens: float | None = None
    max_tokens: float | None = None
    min_cost_usd: float | None = None
    max_cost_usd: float | None = None
    min_latency_ms: float | None = None
    max_latency_ms: float | None = None
    reasoning: Reasoning = "drop"
    train_on: Literal["last", "all"] = "last"
    validation_fraction: float = 0.0
    seed: int = 0
    dedupe: bool = True

    @classmethod
    def build(
        cls,
        *,
        model: str | Collection[str] | None = None,
        agent: str | Collection[str] | None = None,
        finish_reason: str | Collection[str] | None = None,
        **options: Any,
    ) -> SFTOptions:
        """Options from export_sft's keyword arguments, each checked."""
        made = cls(
            models=_names(model, "model"),
            agents=_names(agent, "agent"),
            finish_reasons=_names(finish_reason, "finish_reason"),
            **options,
        )
        made.check()
        return made

    def check(self) -> None:
        """Raise InvalidArgumentError for a value no export could use."""
        for name in ("min_outcome_reward", "min_event_reward"):
            _number(getattr(self, name), name)
        for name in ("tokens", "cost_usd", "latency_ms"):
            low = _number(getattr(self, f"min_{name}"), f"min_{name}", minimum=0)
            high = _number(getattr(self, f"max_{name}"), f"max_{name}", minimum=0)
            _bounds(low, high, name)
        fraction = _number(self.validation_fraction, "validation_fraction", minimum=0)
        if fraction is None or fraction > 1:
            raise InvalidArgumentError(
                f"validation_fraction must be within [0, 1], got {self.validation_fraction!r}"
            )
        if self.reasoning not in ("drop", "field", "inline"):
            raise InvalidArgumentError(
                f"reasoning must be 'drop', 'field' or 'inline', got {self.reasoning!r}"
            )
        if self.train_on not in ("last", "all"):
            raise InvalidArgumentError(f"train_on must be 'last' or 'all', got {self.train_on!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InvalidArgumentError(f"seed must be an int, got {self.seed!r}")
        if self.metadata_predicate is not None and not callable(self.metadata_predicate):
            raise InvalidArgumentError(
                "metadata_predicate must be a callable taking the metadata dict, "
                f"got {self.metadata_predicate!r}"
            )
        for name in ("created_after", "created_before"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
                raise InvalidArgumentError(
                    f"{name} must be a timezone-aware datetime, got {value!r}; add tzinfo=UTC"
                )

    def session_query(self) -> dict[str, Any]:
        """The list_sessions keyword arguments these options select by in SQL."""
        return {
            "created_after": self.created_after,
            "created_before": self.created_before,
            "experiment_id": self.experiment_id,
            "metadata": self.metadata,
            "min_reward": self.min_outcome_reward,
        }

    def call_reason(self, record: LLMCallRecord, where: CallContext) -> str | None:
        """Why this call is left out (a drop reason of the report), or None to keep it."""
        if self.success_only and record.outcome != "success":
            return "not_success"
        if self.models is not None and record.model_name not in self.models:
            return "model"
        if self.agents is not None and where.agent not in self.agents:
            return "agent"
        if self.finish_reasons is not None and record.finish_reason not in self.finish_reasons:
            return "finish_reason"
        if self.min_event_reward is not None and (
            where.event_reward is None or where.event_reward < self.min_event_reward
        ):
            return "event_reward"
        if self.min_tokens is not None or self.max_tokens is not None:
            tokens = example_tokens(record)
            if tokens is None:
                return "tokens_unknown"
            if self.max_tokens is not None and tokens > self.max_tokens:
                return "over_max_tokens"
            if self.min_tokens is not None and tokens < self.min_tokens:
                return "under_min_tokens"
        if self.min_cost_usd is not None or self.max_cost_usd is not None:
            cost = pricing.call_cost(record)
            if cost is None:
                return "cost_unknown"
            usd = cost.nanousd / 1e9
            if (self.max_cost_usd is not None and usd > self.max_cost_usd) or (
                self.min_cost_usd is not None and usd < self.min_cost_usd
            ):
                return "cost"
        if self.min_latency_ms is not None or self.max_latency_ms is not None:
            latency = record.latency_ms
            if latency is None:
                return "latency_unknown"
            if (self.max_latency_ms is not None and latency > self.max_latency_ms) or (
                self.min_latency_ms is not None and latency < self.min_latency_ms
            ):
                return "latency"
        return None


def example_tokens(record: LLMCallRecord) -> int | None:
    """An example's length in tokens as the vendor counted the call: total, else input + output."""
    usage = record.usage
    if usage is None:
        return None
    if usage.total_tokens is not None:
        return usage.total_tokens
    if usage.input_tokens is not None and usage.output_tokens is not None:
        return usage.input_tokens + usage.output_tokens
    return None
