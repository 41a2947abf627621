"""Exact LLM call costs from the bundled, versioned price table (never fetched at run time).

The bundled table is tracekit/data/prices.json (vendor pricing pages, read on each row's
effective_date). The active table is that plus your overrides (`set_price`, `load_prices`);
every function here uses it unless a PriceTable is passed. A call's cost is an integer number of
nano-dollars, None when unpriced (unknown model or missing token counts: never $0), and carries
the version of the prices used. The formula and name-matching rules are in tracekit.analysis.price_table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from tracekit.analysis.price_table import (
    REPORTED_COST_VERSION,
    USER_VERSION,
    CallCost,
    ModelPrice,
    PriceTable,
    PriceTier,
    usd_to_nanousd,
)
from tracekit.errors import PricingError
from tracekit.model import LLMCallRecord, LLMUsage

__all__ = [
    "REPORTED_COST_VERSION",
    "CallCost",
    "ModelPrice",
    "PriceTable",
    "PriceTier",
    "as_usage",
    "call_cost",
    "call_cost_nanousd",
    "default_prices",
    "estimate_cost",
    "get_prices",
    "load_prices",
    "reset_prices",
    "set_price",
    "table_or_active",
    "usage_cost",
    "usd_to_nanousd",
]

_USAGE_FIELDS = tuple(f.name for f in dataclasses.fields(LLMUsage))
_TEXT_FIELDS = frozenset({"price_table_version"})
_DICT_FIELDS = frozenset({"raw"})
_NUMBER_FIELDS = frozenset({"cost_usd"})
"""LLMUsage's fields that are not token counts (every other field is an int or None)."""

_bundled: PriceTable | None = None
_active: PriceTable | None = None


def default_prices() -> PriceTable:
    """A fresh copy of the bundled price table (tracekit/data/prices.json)."""
    global _bundled
    if _bundled is None:
        text = resources.files("tracekit").joinpath("data/prices.json").read_text(encoding="utf-8")
        _bundled = PriceTable.from_json(text, origin="tracekit/data/prices.json")
    return _bundled.copy()


def get_prices() -> PriceTable:
    """The active price table used when no table is passed (the bundled one plus your overrides)."""
    global _active
    if _active is None:
        _active = default_prices()
    return _active


def set_price(
    model: str,
    *,
    input: Decimal | int | str,
    output: Decimal | int | str,
    provider: str = "custom",
    cache_read: Decimal | int | str | None = None,
    cache_write: Decimal | int | str | None = None,
    cache_write_1h: Decimal | int | str | None = None,
    reasoning: Decimal | int | str | None = None,
    tiers: Iterable[PriceTier] = (),
    aliases: Iterable[str] = (),
    source: str | None = None,
    effective_date: str | None = None,
    version: str = USER_VERSION,
) -> ModelPrice:
    """Add or override a model's prices in the active table (USD per million tokens, exact values).

    Example: ``tk.set_price("my-llama", input="0.20", output="0.80", provider="local")``.
    """
    return get_prices().set_price(
        model,
        input=input,
        output=output,
        provider=provider,
        cache_read=cache_read,
        cache_write=cache_write,
        cache_write_1h=cache_write_1h,
        reasoning=reasoning,
        tiers=tiers,
        aliases=aliases,
        source=source,
        effective_date=effective_date,
        version=version,
    )


def load_prices(path: str | Path) -> None:
    """Add or override prices in the active table from a JSON file in the bundled format."""
    get_prices().load_file(path)


def reset_prices() -> None:
    """Drop every override: the active table goes back to the bundled prices."""
    global _active
    _active = None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field_problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be LLMUsage's field `name` (None when it can)."""
    if value is None:
        return None
    if name in _TEXT_FIELDS:
        ok = isinstance(value, str)
        wanted = "a str"
    elif name in _DICT_FIELDS:
        ok = isinstance(value, dict)
        wanted = "a dict"
    elif name in _NUMBER_FIELDS:
        ok = isinstance(value, int | float) and not isinstance(value, bool)  # NaN: unpriced, as documented
        wanted = "a number"
    else:
        ok = isinstance(value, int) and not isinstance(value, bool)
        wanted = "an int"
    return None if ok else f"usage.{name} must be {wanted} or None, got {_short(value)}"


def as_usage(usage: LLMUsage | Mapping[str, Any] | None) -> LLMUsage | None:
    """`usage` as an LLMUsage: an LLMUsage, a mapping with LLMUsage's keys, or None; anything else,
    an unknown key or a wrongly typed value is a PricingError naming it."""
    if usage is None:
        return None
    if isinstance(usage, LLMUsage):
        values = {name: getattr(usage, name) for name in _USAGE_FIELDS}
    elif isinstance(usage, Mapping):
        unknown = [key for key in usage if key not in _USAGE_FIELDS]
        if unknown:
            raise PricingError(
                f"usage has keys LLMUsage does not: {_short(unknown)} (in {_short(usage)}); use "
                f"LLMUsage's keys ({', '.join(_USAGE_FIELDS[:3])}, ...) or pass an LLMUsage"
            )
        values = dict(usage)
    else:
        raise PricingError(
            f"usage must be an LLMUsage or a mapping with its keys, got {type(usage).__name__} "
            f"{_short(usage)}; e.g. {{'input_tokens': 1200, 'output_tokens': 300}}"
        )
    problems = [p for p in (_field_problem(name, value) for name, value in values.items()) if p]
    if problems:
        raise PricingError("; ".join(problems) + "; token counts are ints, None when not reported")
    return usage if isinstance(usage, LLMUsage) else LLMUsage(**values)


def table_or_active(prices: Any) -> PriceTable:
    """`prices`, or the active table when None; anything but a PriceTable is a PricingError."""
    if prices is None:
        return get_prices()
    if not isinstance(prices, PriceTable):
        raise PricingError(
            f"prices must be a PriceTable or None, got {type(prices).__name__} {_short(prices)}; "
            "pass tk.get_prices() with your overrides, or leave it out"
        )
    return prices


def _model_name(model_name: Any) -> str | None:
    if model_name is None or isinstance(model_name, str):
        return model_name
    raise PricingError(f"model_name must be a str or None, got {_short(model_name)}")


def usage_cost(
    model_name: str | None,
    usage: LLMUsage | Mapping[str, Any] | None,
    prices: PriceTable | None = None,
) -> CallCost | None:
    """The exact cost of a call's usage under `prices` (default: the active table); None = unpriced.
    `usage` is an LLMUsage or a mapping with its keys (PricingError otherwise)."""
    return table_or_active(prices).usage_cost(_model_name(model_name), as_usage(usage))


def call_cost(record: LLMCallRecord, prices: PriceTable | None = None) -> CallCost | None:
    """The exact cost of one recorded call (nanos + price version); None = unpriced."""
    return table_or_active(prices).usage_cost(record.model_name, record.usage)


def call_cost_nanousd(record: LLMCallRecord, prices: PriceTable | None = None) -> int | None:
    """A call's cost in integer nano-dollars (1e-9 USD); None = unpriced, never 0 for unknown."""
    cost = call_cost(record, prices)
    return None if cost is None else cost.nanousd


def estimate_cost(
    model_name: str | None,
    usage: LLMUsage | Mapping[str, Any] | None,
    prices: PriceTable | None = None,
) -> float | None:
    """The cost in USD as a float (nanos / 1e9); None when the model is unknown or usage is missing.

    `usage` is an LLMUsage or a mapping with LLMUsage's keys, e.g.
    ``tk.estimate_cost("gpt-4o", {"input_tokens": 1200, "output_tokens": 300})``; anything else is
    a PricingError naming the value.
    """
    cost = usage_cost(model_name, usage, prices)
    return None if cost is None else cost.nanousd / 1e9
