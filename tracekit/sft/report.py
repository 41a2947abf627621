"""SFTReport: what an export kept and dropped, and why (JSON-ready for the CLI's --json)."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

from tracekit.analysis.aggregate_types import Distribution

__all__ = ["DROP_REASONS", "SFTReport", "TokenLengths"]

DROP_REASONS: dict[str, str] = {
    "not_success": "the call's outcome was not 'success' (success_only)",
    "model": "model not among `model`",
    "agent": "agent not among `agent`",
    "finish_reason": "finish reason not among `finish_reason`",
    "event_reward": "no per-event reward at or above min_event_reward",
    "tokens_unknown": "a token bound was given but the call reported no token counts",
    "over_max_tokens": "example longer than max_tokens",
    "under_min_tokens": "example shorter than min_tokens",
    "cost_unknown": "a cost bound was given but the call is unpriced",
    "cost": "cost outside [min_cost_usd, max_cost_usd]",
    "latency_unknown": "a latency bound was given but the call reported no latency",
    "latency": "latency outside [min_latency_ms, max_latency_ms]",
    "empty_output": "the call produced neither text nor tool calls",
    "refusal": "the model refused",
    "unsupported_content": "audio, files or other content the chat format cannot hold exactly",
    "non_function_tool": "a built-in (non-function) tool was offered",
    "non_function_tool_call": "the model called a built-in (non-function) tool",
    "orphan_tool_result": "a tool result that answers no earlier tool call",
    "duplicate": "the same example was already written",
}
"""Every reason a call can be left out, in the order the checks run."""


class TokenLengths:
    """Lengths of the kept examples (8 bytes each, so a million examples take 8 MB)."""

    __slots__ = ("unknown", "values")

    def __init__(self) -> None:
        self.values = array("q")
        self.unknown = 0

    def add(self, tokens: int | None) -> None:
        if tokens is None:
            self.unknown += 1
        else:
            self.values.append(tokens)

    def distribution(self) -> Distribution:
        """count, mean, min, nearest-rank p50/p90/p99 and max (as tk.aggregate computes them)."""
        ordered = sorted(self.values)
        n = len(ordered)
        if n == 0:
            return Distribution()

        def rank(percent: int) -> float:
            return float(ordered[max(-(-(percent * n) // 100), 1) - 1])

        return Distribution(
            count=n,
            mean=sum(ordered) / n,
            min=float(ordered[0]),
            p50=rank(50),
            p90=rank(90),
            p99=rank(99),
            max=float(ordered[-1]),
        )


@dataclass(slots=True)
class SFTReport:
    """The outcome of an export.

    sessions_seen: sessions the store's filters selected; sessions_skipped: those the
    metadata_predicate refused; calls_seen: their call records; kept = train + validation lines
    written; dropped: calls left out by reason (see DROP_REASONS; only reasons that occurred);
    orphan_tool_results: tool results answering no earlier call (their examples are dropped);
    over_max_tokens: examples longer than max_tokens; token_length: lengths of the kept examples
    (the call's total tokens as the vendor reported them), tokens_unknown: kept examples without
    a reported count.
    """

    train_path: str
    validation_path: str | None = None
    sessions_seen: int = 0
    sessions_skipped: int = 0
    calls_seen: int = 0
    train: int = 0
    validation: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    orphan_tool_results: int = 0
    token_length: Distribution = field(default_factory=Distribution)
    tokens_unknown: int = 0

    @property
    def kept(self) -> int:
        """Examples written (train + validation)."""
        return self.train + self.validation

    @property
    def over_max_tokens(self) -> int:
        """Examples dropped for being longer than max_tokens."""
        return self.dropped.get("over_max_tokens", 0)

    def drop(self, reason: str) -> None:
        """Count one call left out for `reason`."""
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; `dropped` in DROP_REASONS order."""
        return {
            "train_path": self.train_path,
            "validation_path": self.validation_path,
            "sessions_seen": self.sessions_seen,
            "sessions_skipped": self.sessions_skipped,
            "calls_seen": self.calls_seen,
            "kept": self.kept,
            "train": self.train,
            "validation": self.validation,
            "dropped": {r: self.dropped[r] for r in DROP_REASONS if r in self.dropped},
            "orphan_tool_results": self.orphan_tool_results,
            "over_max_tokens": self.over_max_tokens,
            "token_length": self.token_length.to_dict(),
            "tokens_unknown": self.tokens_unknown,
        }
