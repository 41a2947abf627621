"""Price tables and the exact cost arithmetic: Decimal prices in, integer nano-dollars out.

Money is exact: prices are Decimals in USD per million tokens, and a call's cost is rounded once
(ROUND_HALF_EVEN) to an integer number of nano-dollars (1e-9 USD). Sums are integer sums of nanos.

Cost of one call (OpenTelemetry usage: input_tokens includes cache reads and writes)::

    uncached = input_tokens - cache_read_tokens - cache_write_tokens
    usd = (uncached * price.input + cache_read_tokens * price.cache_read
           + (cache_write_tokens - cache_write_1h_tokens) * price.cache_write
           + cache_write_1h_tokens * price.cache_write_1h
           + output_tokens * price.output) / 1_000_000
    nanousd = round_half_even(usd * 1e9)     # exact: integer arithmetic, no float on the way

Reasoning is inside output_tokens; only where a model has a separate `reasoning` price are
reasoning_tokens billed at it (and the rest of the output at `output`).

A breakdown not reported (None) counts as 0; a call whose input_tokens or output_tokens is None
is unpriced (None), never a partial guess; so is a call whose breakdowns do not fit inside its
totals (e.g. more cache reads than input). A price a model entry leaves out defaults to: cache_read
and cache_write -> input, cache_write_1h -> cache_write, reasoning -> output. Tiers (long-context
prices) apply when the call's input_tokens exceed the tier's `above_input_tokens`; the highest
such tier wins. When `usage.cost_usd` is set (a gateway reported it), it is used instead, converted
to nanos from its shortest decimal text with the same rounding.

A table is built from a dict or JSON document ({"version", "models": {name: entry}}, the format of
tracekit/data/prices.json) or in code; malformed input raises PricingError naming the field and
value. Model names match exactly, through an entry's explicit `aliases`, or through one exact
rule per vendor naming a dated snapshot of a listed model: OpenAI `<name>-YYYY-MM-DD`, Anthropic
`<name>-YYYYMMDD`, Google `<name>-NNN`. Never by prefix or substring. Every cost carries the
version of the table (or of the user override) its prices came from.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from tracekit.errors import PricingError
from tracekit.model import LLMUsage

__all__ = [
    "REPORTED_COST_VERSION",
    "USER_VERSION",
    "CallCost",
    "ModelPrice",
    "PriceTable",
    "PriceTier",
    "usd_to_nanousd",
]

logger = logging.getLogger(__name__)

REPORTED_COST_VERSION = "reported"
"""The version stamped on a cost taken from `usage.cost_usd` when no `price_table_version` came with it."""

USER_VERSION = "user"
"""The default version of prices set in code with `set_price`."""

_NANOS_PER_USD = Decimal(1_000_000_000)
_PRICE_KEYS = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning")
_ENTRY_KEYS = frozenset({*_PRICE_KEYS, "provider", "tiers", "aliases", "source", "effective_date", "notes"})
_TIER_KEYS = frozenset({*_PRICE_KEYS, "above_input_tokens"})
_SNAPSHOT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("openai", re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}$")),
    ("anthropic", re.compile(r"^(?P<base>.+)-\d{8}$")),
    ("google", re.compile(r"^(?P<base>.+)-\d{3}$")),
)


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Prices (USD per million tokens) for calls whose input_tokens exceed `above_input_tokens`."""

    above_input_tokens: int
    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None
    reasoning: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """One model's prices in USD per million tokens, with where and when they were read."""

    model: str
    provider: str
    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None
    reasoning: Decimal | None = None
    tiers: tuple[PriceTier, ...] = ()
    aliases: tuple[str, ...] = ()
    source: str | None = None
    effective_date: str | None = None
    version: str = USER_VERSION
    """Version of the table (or override) these prices came from; stamped on every cost."""


@dataclass(frozen=True, slots=True)
class CallCost:
    """The exact cost of one call: nano-dollars, the price version, and how it was obtained."""

    nanousd: int
    price_table_version: str
    origin: Literal["table", "reported"]
    model: str | None = None
    """The price entry used (None for a reported cost)."""

    @property
    def cost_usd(self) -> float:
        """The cost in US dollars as a float (nanousd / 1e9)."""
        return self.nanousd / 1e9


@dataclass(frozen=True, slots=True)
class _Rates:
    """A price set as integers: rate * 10**-scale nano-dollars per token (exact)."""

    divisor: int
    input: int
    output: int
    cache_read: int
    cache_write: int
    cache_write_1h: int
    reasoning: int | None


def _rates(
    input: Decimal,
    output: Decimal,
    cache_read: Decimal | None,
    cache_write: Decimal | None,
    cache_write_1h: Decimal | None,
    reasoning: Decimal | None,
) -> _Rates:
    """Scale a price set to integers so a call's cost is an exact integer sum before rounding."""
    read = input if cache_read is None else cache_read
    write = input if cache_write is None else cache_write
    write_1h = write if cache_write_1h is None else cache_write_1h
    # USD per million tokens * 1000 = nano-dollars per token
    per_token = [p * 1000 for p in (input, output, read, write, write_1h)]
    if reasoning is not None:
        per_token.append(reasoning * 1000)
    scale = max(0, *(-int(p.as_tuple().exponent) for p in per_token))
    factor = 10**scale
    ints = [int(p * factor) for p in per_token]
    return _Rates(
        divisor=factor,
        input=ints[0],
        output=ints[1],
        cache_read=ints[2],
        cache_write=ints[3],
        cache_write_1h=ints[4],
        reasoning=ints[5] if reasoning is not None else None,
    )


def _round_half_even(numerator: int, divisor: int) -> int:
    """numerator / divisor rounded half-to-even, for numerator >= 0 and divisor > 0."""
    if divisor == 1:
        return numerator
    quotient, remainder = divmod(numerator, divisor)
    twice = 2 * remainder
    if twice > divisor or (twice == divisor and quotient % 2 == 1):
        quotient += 1
    return quotient


def usd_to_nanousd(value: float) -> int | None:
    """A USD amount as integer nano-dollars, from the float's shortest decimal text, rounded
    half-to-even (None if not finite): how a reported `usage.cost_usd` is converted."""
    if not math.isfinite(value):
        return None
    nanos = Decimal(repr(value)) * _NANOS_PER_USD
    return int(nanos.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class _Resolved:
    """A model entry with its rates precomputed: base rates and (threshold, rates) tiers ascending."""

    __slots__ = ("base", "price", "tiers")

    def __init__(self, price: ModelPrice) -> None:
        self.price = price
        self.base = _rates(
            price.input,
            price.output,
            price.cache_read,
            price.cache_write,
            price.cache_write_1h,
            price.reasoning,
        )
        self.tiers = tuple(
            (
                t.above_input_tokens,
                _rates(t.input, t.output, t.cache_read, t.cache_write, t.cache_write_1h, t.reasoning),
            )
            for t in sorted(price.tiers, key=lambda t: t.above_input_tokens)
        )

    def nanos(self, usage: LLMUsage) -> int | None:
        """Exact nanos for this usage, or None when the usage cannot be priced."""
        input_tokens = usage.input_tokens
        output_tokens = usage.output_tokens
        if input_tokens is None or output_tokens is None:
            return None
        cache_read = usage.cache_read_tokens or 0
        cache_write = usage.cache_write_tokens or 0
        write_1h = usage.cache_write_1h_tokens or 0
        uncached = input_tokens - cache_read - cache_write
        if uncached < 0 or output_tokens < 0 or cache_read < 0 or write_1h < 0 or write_1h > cache_write:
            logger.debug(
                "usage does not add up (input=%s, cache_read=%s, cache_write=%s, cache_write_1h=%s, "
                "output=%s); the call is left unpriced",
                input_tokens,
                cache_read,
                cache_write,
                write_1h,
                output_tokens,
            )
            return None
        rates = self.base
        for threshold, tier_rates in self.tiers:
            if input_tokens > threshold:
                rates = tier_rates
        total = (
            uncached * rates.input
            + cache_read * rates.cache_read
            + (cache_write - write_1h) * rates.cache_write
            + write_1h * rates.cache_write_1h
        )
        reasoning = usage.reasoning_tokens
        if rates.reasoning is not None and reasoning:
            if reasoning > output_tokens or reasoning < 0:
                logger.debug(
                    "reasoning_tokens=%s outside output_tokens=%s; the call is left unpriced",
                    reasoning,
                    output_tokens,
                )
                return None
            total += (output_tokens - reasoning) * rates.output + reasoning * rates.reasoning
        else:
            total += output_tokens * rates.output
        return total if rates.divisor == 1 else _round_half_even(total, rates.divisor)


class PriceTable:
    """Model prices by name, with explicit aliases and exact dated-snapshot rules.

    Build one from the bundled data (`default_prices()`), a dict or a JSON file in the same
    format, then add or override entries with `set_price` / `load_file`. Lookups are cached.
    """

    __slots__ = ("_aliases", "_cache", "_entries", "version")

    def __init__(self, entries: Iterable[ModelPrice] = (), *, version: str = USER_VERSION) -> None:
        self.version = version
        self._entries: dict[str, _Resolved] = {}
        self._aliases: dict[str, str] = {}
        self._cache: dict[str, _Resolved | None] = {}
        for entry in entries:
            self.add(entry)

    # -- building ------------------------------------------------------------------------------

    def add(self, price: ModelPrice) -> None:
        """Add or replace the entry for `price.model` (and register its aliases)."""
        _check_price(price)
        for alias in price.aliases:
            owner = self._aliases.get(alias)
            if alias in self._entries and alias != price.model:
                raise PricingError(
                    f"alias {alias!r} of {price.model!r} is itself a priced model; remove the alias "
                    "or the other entry"
                )
            if owner is not None and owner != price.model:
                raise PricingError(
                    f"alias {alias!r} of {price.model!r} already points to {owner!r}; an alias can "
                    "name one model only"
                )
        old = self._entries.get(price.model)
        if old is not None:
            for alias in old.price.aliases:
                self._aliases.pop(alias, None)
        self._entries[price.model] = _Resolved(price)
        for alias in price.aliases:
            self._aliases[alias] = price.model
        self._cache.clear()

    def set_price(
        self,
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
        """Add or override one model's prices (USD per million tokens; give Decimals or str, not float)."""
        where = f"set_price({model!r})"
        price = ModelPrice(
            model=model,
            provider=provider,
            input=_price(input, f"{where}.input"),
            output=_price(output, f"{where}.output"),
            cache_read=_optional_price(cache_read, f"{where}.cache_read"),
            cache_write=_optional_price(cache_write, f"{where}.cache_write"),
            cache_write_1h=_optional_price(cache_write_1h, f"{where}.cache_write_1h"),
            reasoning=_optional_price(reasoning, f"{where}.reasoning"),
            tiers=tuple(tiers),
            aliases=tuple(aliases),
            source=source,
            effective_date=effective_date,
            version=version,
        )
        self.add(price)
        return price

    def update(self, other: PriceTable) -> None:
        """Add or override every entry of `other` (entries keep their own versions)."""
        for resolved in other._entries.values():
            self.add(resolved.price)

    def load_file(self, path: str | Path) -> None:
        """Add or override entries from a JSON price file (the bundled format)."""
        self.update(PriceTable.from_file(path))

    @classmethod
    def from_file(cls, path: str | Path) -> PriceTable:
        """Read a JSON price file; PricingError naming the file, field and value when malformed."""
        if not isinstance(path, str | os.PathLike):
            raise PricingError(f"a price file path must be a str or os.PathLike, got {path!r:.80}")
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:  # ValueError: a NUL, a lone surrogate, bytes not UTF-8
            raise PricingError(f"cannot read price file {str(path)!r}: {exc}") from exc
        return cls.from_json(text, origin=str(path))

    @classmethod
    def from_json(cls, text: str | bytes, *, origin: str = "<json>") -> PriceTable:
        """Parse price JSON (numbers are read as exact Decimals)."""
        try:
            data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
        except (ValueError, PricingError) as exc:
            raise PricingError(f"{origin}: not valid price JSON: {exc}") from exc
        return cls.from_dict(data, origin=origin)

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "<dict>") -> PriceTable:
        """Build a table from {"version": str, "models": {name: entry}}; see tracekit/data/prices.json."""
        if not isinstance(data, Mapping):
            raise PricingError(f"{origin}: expected a JSON object at the top, got {_short(data)}")
        unknown = set(data) - {"version", "models", "notes"}
        if unknown:
            raise PricingError(
                f"{origin}: unknown top-level key(s) {sorted(unknown)}; allowed: version, models, notes"
            )
        version = data.get("version")
        if not isinstance(version, str) or not version:
            raise PricingError(
                f"{origin}: 'version' must be a non-empty string (e.g. '2026-11-21'), got {_short(version)}"
            )
        models = data.get("models")
        if not isinstance(models, Mapping):
            raise PricingError(
                f"{origin}: 'models' must be an object of model name -> prices, got {_short(models)}"
            )
        table = cls(version=version)
        for name, entry in models.items():
            where = f"{origin}: models.{name}"
            price = _parse_entry(name, entry, version, where)
            try:
                table.add(price)
            except PricingError as exc:
                raise PricingError(f"{where}: {exc}") from None
        return table

    def copy(self) -> PriceTable:
        """An independent copy (entries are immutable, so this is cheap)."""
        return PriceTable((r.price for r in self._entries.values()), version=self.version)

    # -- reading -------------------------------------------------------------------------------

    def models(self) -> list[str]:
        """The priced model names, sorted."""
        return sorted(self._entries)

    def lookup(self, model_name: str | None) -> ModelPrice | None:
        """The entry pricing `model_name` (exact, alias, or dated-snapshot rule), or None."""
        resolved = self._resolve(model_name)
        return None if resolved is None else resolved.price

    def usage_cost(self, model_name: str | None, usage: LLMUsage | None) -> CallCost | None:
        """The exact cost of one call's usage; None when unpriced (unknown model or usage missing)."""
        if usage is None:
            return None
        if usage.cost_usd is not None:
            nanos = usd_to_nanousd(usage.cost_usd)
            if nanos is None:
                logger.debug("usage.cost_usd=%r is not finite; the call is left unpriced", usage.cost_usd)
                return None
            return CallCost(nanos, usage.price_table_version or REPORTED_COST_VERSION, "reported")
        resolved = self._resolve(model_name)
        if resolved is None:
            return None
        nanos = resolved.nanos(usage)
        if nanos is None:
            return None
        return CallCost(nanos, resolved.price.version, "table", resolved.price.model)

    def pricer(self, model_name: str | None) -> tuple[Callable[[LLMUsage], int | None], str] | None:
        """For bulk pricing: (usage -> nanos or None, version) for this model, or None if unknown.

        The function prices from the table only; callers check `usage.cost_usd` first, as
        `usage_cost` does.
        """
        resolved = self._resolve(model_name)
        return None if resolved is None else (resolved.nanos, resolved.price.version)

    def _resolve(self, model_name: str | None) -> _Resolved | None:
        if not model_name:
            return None
        try:
            return self._cache[model_name]
        except KeyError:
            pass
        resolved = self._exact(model_name)
        if resolved is None:
            for provider, pattern in _SNAPSHOT_RULES:
                match = pattern.match(model_name)
                if match is None:
                    continue
                base = self._exact(match["base"])
                if base is not None and base.price.provider == provider:
                    resolved = base
                    break
        self._cache[model_name] = resolved
        return resolved

    def _exact(self, name: str) -> _Resolved | None:
        entry = self._entries.get(name)
        if entry is None:
            owner = self._aliases.get(name)
            entry = None if owner is None else self._entries.get(owner)
        return entry

    def __repr__(self) -> str:
        return f"PriceTable(version={self.version!r}, models={len(self._entries)})"


# -- parsing and validation ------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise PricingError(f"{name} is not a price; use a decimal number")


def _short(value: Any, limit: int = 80) -> str:
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _price(value: Any, where: str) -> Decimal:
    """A non-negative finite Decimal from a Decimal, int or decimal string (floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise PricingError(
            f"{where}: a price must be a decimal number or string in USD per million tokens, "
            f'got {_short(value)}; write e.g. "2.50" (floats are refused: they are not exact)'
        )
    try:
        price = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise PricingError(f'{where}: {_short(value)} is not a decimal number; write e.g. "2.50"') from None
    if not price.is_finite() or price < 0:
        raise PricingError(f"{where}: price must be finite and >= 0, got {_short(value)}")
    return price


def _optional_price(value: Any, where: str) -> Decimal | None:
    return None if value is None else _price(value, where)


def _string(value: Any, where: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise PricingError(f"{where}: expected a non-empty string, got {_short(value)}")
    return value


def _parse_tier(data: Any, where: str) -> PriceTier:
    if not isinstance(data, Mapping):
        raise PricingError(f"{where}: a tier must be an object, got {_short(data)}")
    unknown = set(data) - _TIER_KEYS
    if unknown:
        raise PricingError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_TIER_KEYS)}")
    threshold = data.get("above_input_tokens")
    if type(threshold) is not int or threshold < 0:
        raise PricingError(
            f"{where}.above_input_tokens: expected a whole number of tokens >= 0, got {_short(threshold)}"
        )
    for key in ("input", "output"):
        if key not in data:
            raise PricingError(f"{where}: missing {key!r} price (USD per million tokens)")
    return PriceTier(
        above_input_tokens=threshold,
        input=_price(data["input"], f"{where}.input"),
        output=_price(data["output"], f"{where}.output"),
        cache_read=_optional_price(data.get("cache_read"), f"{where}.cache_read"),
        cache_write=_optional_price(data.get("cache_write"), f"{where}.cache_write"),
        cache_write_1h=_optional_price(data.get("cache_write_1h"), f"{where}.cache_write_1h"),
        reasoning=_optional_price(data.get("reasoning"), f"{where}.reasoning"),
    )


def _parse_entry(name: Any, data: Any, version: str, where: str) -> ModelPrice:
    if not isinstance(name, str) or not name:
        raise PricingError(f"{where}: model names must be non-empty strings, got {_short(name)}")
    if not isinstance(data, Mapping):
        raise PricingError(f"{where}: expected an object of prices, got {_short(data)}")
    unknown = set(data) - _ENTRY_KEYS
    if unknown:
        raise PricingError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_ENTRY_KEYS)}")
    for key in ("provider", "input", "output"):
        if key not in data:
            raise PricingError(f"{where}: missing {key!r}")
    tiers = data.get("tiers", [])
    if not isinstance(tiers, list):
        raise PricingError(f"{where}.tiers: expected a list of tiers, got {_short(tiers)}")
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise PricingError(f"{where}.aliases: expected a list of non-empty strings, got {_short(aliases)}")
    _string(data.get("notes"), f"{where}.notes", required=False)
    return ModelPrice(
        model=name,
        provider=str(_string(data["provider"], f"{where}.provider", required=True)),
        input=_price(data["input"], f"{where}.input"),
        output=_price(data["output"], f"{where}.output"),
        cache_read=_optional_price(data.get("cache_read"), f"{where}.cache_read"),
        cache_write=_optional_price(data.get("cache_write"), f"{where}.cache_write"),
        cache_write_1h=_optional_price(data.get("cache_write_1h"), f"{where}.cache_write_1h"),
        reasoning=_optional_price(data.get("reasoning"), f"{where}.reasoning"),
        tiers=tuple(_parse_tier(t, f"{where}.tiers[{i}]") for i, t in enumerate(tiers)),
        aliases=tuple(aliases),
        source=_string(data.get("source"), f"{where}.source", required=False),
        effective_date=_string(data.get("effective_date"), f"{where}.effective_date", required=False),
        version=version,
    )


def _check_price(price: ModelPrice) -> None:
    """Validate a ModelPrice built in code (the JSON path validates while parsing)."""
    where = f"price for {price.model!r}"
    if not isinstance(price.model, str) or not price.model:
        raise PricingError(f"{where}: model must be a non-empty string")
    if not isinstance(price.provider, str) or not price.provider:
        raise PricingError(f"{where}: provider must be a non-empty string, got {_short(price.provider)}")
    if not isinstance(price.version, str) or not price.version:
        raise PricingError(f"{where}: version must be a non-empty string, got {_short(price.version)}")
    for key in _PRICE_KEYS:
        value = getattr(price, key)
        if value is not None or key in ("input", "output"):
            _price(value, f"{where}.{key}")
    for i, tier in enumerate(price.tiers):
        if not isinstance(tier, PriceTier):
            raise PricingError(f"{where}.tiers[{i}]: expected a PriceTier, got {_short(tier)}")
        if type(tier.above_input_tokens) is not int or tier.above_input_tokens < 0:
            raise PricingError(
                f"{where}.tiers[{i}].above_input_tokens: expected a whole number >= 0, "
                f"got {_short(tier.above_input_tokens)}"
            )
        for key in _PRICE_KEYS:
            value = getattr(tier, key)
            if value is not None or key in ("input", "output"):
                _price(value, f"{where}.tiers[{i}].{key}")
    for alias in price.aliases:
        if not isinstance(alias, str) or not alias:
            raise PricingError(f"{where}: aliases must be non-empty strings, got {_short(alias)}")
