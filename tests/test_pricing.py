"""Pricing: the bundled table, exact name matching, exact nano-dollar costs, overrides, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit.analysis import pricing
from tracekit.analysis.pricing import PriceTable, call_cost, call_cost_nanousd, usage_cost

VERSION = "2026-11-21"


@pytest.fixture(autouse=True)
def _fresh_prices() -> Iterator[None]:
    """Every test starts and ends with the bundled prices only."""
    tk.reset_prices()
    yield
    tk.reset_prices()


def usage(**kwargs: int | float | str | None) -> tk.LLMUsage:
    return tk.LLMUsage(**kwargs)  # type: ignore[arg-type]


def record(model: str, u: tk.LLMUsage | None) -> tk.LLMCallRecord:
    return tk.LLMCallRecord(call_id="c", api_type="chat_completions", model_name=model, usage=u)


# -- the bundled table ---------------------------------------------------------------------------


def test_bundled_file_is_package_data() -> None:
    """prices.json is found inside the installed package through importlib.resources."""
    data = resources.files("tracekit").joinpath("data/prices.json")
    assert data.is_file()
    assert json.loads(data.read_text(encoding="utf-8"))["version"] == VERSION


def test_bundled_rows_carry_provenance() -> None:
    """Every bundled row names its vendor pricing page and the date it was read."""
    table = tk.get_prices()
    assert table.version == VERSION
    sources = {
        "openai": "https://developers.openai.com/api/docs/pricing",
        "anthropic": "https://platform.claude.com/docs/en/about-claude/pricing",
        "google": "https://ai.google.dev/gemini-api/docs/pricing",
    }
    for name in table.models():
        price = table.lookup(name)
        assert price is not None
        assert price.source == sources[price.provider], name
        assert price.effective_date == VERSION, name
        assert price.version == VERSION, name


def test_bundled_table_covers_current_models() -> None:
    """The OpenAI, Anthropic and Gemini models the issue lists all have prices."""
    expected = {
        "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o1", "o3", "o3-mini",
        "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano",
        "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-7-sonnet", "claude-sonnet-4", "claude-opus-4",
        "claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5",
        "gemini-1.5-pro", "gemini-1.5-flash", "gemini-2.0-flash", "gemini-2.0-flash-lite",
        "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
    }  # fmt: skip
    assert expected <= set(tk.get_prices().models())


def test_bundled_prices_read_from_vendor_pages() -> None:
    """A few rows hold exactly the figures read from the vendors' pages."""
    table = tk.get_prices()
    sonnet = table.lookup("claude-sonnet-4-5")
    assert sonnet is not None
    assert (sonnet.input, sonnet.output, sonnet.cache_read, sonnet.cache_write, sonnet.cache_write_1h) == (
        Decimal("3.00"),
        Decimal("15.00"),
        Decimal("0.30"),
        Decimal("3.75"),
        Decimal("6.00"),
    )
    assert [(t.above_input_tokens, t.input, t.output) for t in sonnet.tiers] == [
        (200000, Decimal("6.00"), Decimal("22.50"))
    ]
    gpt4o = table.lookup("gpt-4o")
    assert gpt4o is not None
    assert (gpt4o.input, gpt4o.cache_read, gpt4o.output) == (
        Decimal("2.50"),
        Decimal("1.25"),
        Decimal("10.00"),
    )
    pro = table.lookup("gemini-2.5-pro")
    assert pro is not None
    assert [(t.above_input_tokens, t.input, t.output, t.cache_read) for t in pro.tiers] == [
        (200000, Decimal("2.50"), Decimal("15.00"), Decimal("0.25"))
    ]


# -- name matching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "entry"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-2024-11-20", "gpt-4o"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-5-chat-latest", "gpt-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-4-0", "claude-opus-4"),
        ("claude-3-5-sonnet-20240620", "claude-3-5-sonnet"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("gemini-1.5-pro-002", "gemini-1.5-pro"),
        ("gemini-2.5-pro-preview-06-05", "gemini-2.5-pro"),
    ],
)
def test_names_match_exactly_or_through_explicit_rules(name: str, entry: str) -> None:
    """Exact names, listed aliases and the per-vendor dated-snapshot rules find the right row."""
    price = tk.get_prices().lookup(name)
    assert price is not None
    assert price.model == entry


@pytest.mark.parametrize(
    "name",
    [
        "gpt-4",  # a prefix of gpt-4o
        "gpt-4o-mini-tts",  # gpt-4o-mini plus something
        "gpt-4o-2024-08",  # not a full date
        "GPT-4O",  # names are case-sensitive
        "openai/gpt-4o",  # no provider-prefix guessing
        "claude-sonnet-4-5-2025092",  # 7 digits
        "gpt-4o-20240806",  # Anthropic's date form on an OpenAI model
        "claude-3-5-haiku-2024-10-22",  # OpenAI's date form on an Anthropic model
        "gemini-2.0-flash-01",  # two digits, not a -NNN version
        "gpt-4o-001",  # Google's version form on an OpenAI model
        "claude-sonnet",
        "",
    ],
)
def test_no_loose_matching(name: str) -> None:
    """Prefixes, substrings, other vendors' snapshot forms and case variants do not match."""
    assert tk.get_prices().lookup(name) is None


# -- cost arithmetic -----------------------------------------------------------------------------


def test_openai_cached_input() -> None:
    """gpt-4o: cached input tokens are part of input and priced at the cached rate."""
    u = usage(input_tokens=1200, cache_read_tokens=1000, output_tokens=300, reasoning_tokens=100)
    # uncached 200 * $2.50/M = 500_000 nanos; cached 1000 * $1.25/M = 1_250_000;
    # output 300 * $10/M = 3_000_000 (reasoning is inside output) -> 4_750_000 nanos
    cost = usage_cost("gpt-4o-2024-08-06", u)
    assert cost == tk.CallCost(4_750_000, VERSION, "table", "gpt-4o")
    assert tk.estimate_cost("gpt-4o-2024-08-06", u) == 0.00475


def test_usage_as_a_mapping_costs_the_same_as_an_llmusage() -> None:
    """estimate_cost takes a dict with LLMUsage's keys and prices it exactly like the LLMUsage."""
    keys = {"input_tokens": 1200, "cache_read_tokens": 1000, "output_tokens": 300, "reasoning_tokens": 100}
    assert tk.estimate_cost("gpt-4o-2024-08-06", keys) == 0.00475
    assert usage_cost("gpt-4o-2024-08-06", keys) == usage_cost("gpt-4o-2024-08-06", usage(**keys))
    assert tk.estimate_cost("gpt-4o", {"cost_usd": 0.25}) == 0.25
    assert tk.estimate_cost("gpt-4o", {}) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"input_tokens": 10, "output": 5},
            "usage has keys LLMUsage does not: ['output'] (in {'input_tokens': 10, 'output': 5}); "
            "use LLMUsage's keys (input_tokens, output_tokens, total_tokens, ...) or pass an LLMUsage",
        ),
        (
            {"input_tokens": "10", "output_tokens": 5},
            "usage.input_tokens must be an int or None, got '10'; token counts are ints, None when not "
            "reported",
        ),
        (
            {"input_tokens": True, "output_tokens": 2.5},
            "usage.input_tokens must be an int or None, got True; "
            "usage.output_tokens must be an int or None, got 2.5; "
            "token counts are ints, None when not reported",
        ),
        ({"cost_usd": "0.25"}, "usage.cost_usd must be a number or None, got '0.25'"),
        ({"price_table_version": 3}, "usage.price_table_version must be a str or None, got 3"),
        (
            [("input_tokens", 1)],
            "usage must be an LLMUsage or a mapping with its keys, got list [('input_tokens', 1)]; "
            "e.g. {'input_tokens': 1200, 'output_tokens': 300}",
        ),
        ("1200", "usage must be an LLMUsage or a mapping with its keys, got str '1200'"),
        (
            tk.LLMUsage(input_tokens="3", output_tokens=1),
            "usage.input_tokens must be an int or None, got '3'",
        ),  # type: ignore[arg-type]
    ],
)
def test_usage_that_is_not_usage_is_a_pricing_error(value: object, message: str) -> None:
    """Anything but an LLMUsage or a well-typed mapping with its keys is a PricingError naming the value."""
    with pytest.raises(tk.PricingError) as caught:
        tk.estimate_cost("gpt-4o", value)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_a_model_name_that_is_not_a_string_is_a_pricing_error() -> None:
    """A model name of the wrong type is refused with a PricingError, not looked up."""
    with pytest.raises(tk.PricingError, match=r"model_name must be a str or None, got \['gpt-4o'\]"):
        tk.estimate_cost(["gpt-4o"], {"input_tokens": 1, "output_tokens": 1})  # type: ignore[arg-type]


def test_anthropic_5m_and_1h_cache_writes() -> None:
    """claude-sonnet-4-5: 5-minute and 1-hour cache writes use their own prices."""
    u = usage(
        input_tokens=10_000,
        cache_read_tokens=2_000,
        cache_write_tokens=3_000,
        cache_write_1h_tokens=1_000,
        output_tokens=500,
    )
    # uncached 10000-2000-3000 = 5000 * $3/M = 15_000_000; read 2000 * $0.30/M = 600_000;
    # 5m writes (3000-1000) * $3.75/M = 7_500_000; 1h writes 1000 * $6/M = 6_000_000;
    # output 500 * $15/M = 7_500_000 -> 36_600_000 nanos
    assert call_cost_nanousd(record("claude-sonnet-4-5-20250929", u)) == 36_600_000


def test_anthropic_long_context_tier() -> None:
    """claude-sonnet-4 above 200k input tokens bills every token at the long-context prices."""
    over = usage(input_tokens=250_000, output_tokens=2_000)
    # 250000 * $6/M = 1_500_000_000; 2000 * $22.50/M = 45_000_000 -> 1_545_000_000
    assert call_cost_nanousd(record("claude-sonnet-4-20250514", over)) == 1_545_000_000
    at_threshold = usage(input_tokens=200_000, output_tokens=2_000)
    # exactly 200k is not above it: 200000 * $3/M = 600_000_000; 2000 * $15/M = 30_000_000
    assert call_cost_nanousd(record("claude-sonnet-4", at_threshold)) == 630_000_000


def test_gemini_long_prompt_tier_with_cache_and_thoughts() -> None:
    """gemini-2.5-pro above 200k prompt tokens: tier prices for input, cached input and output."""
    u = usage(input_tokens=300_000, cache_read_tokens=100_000, output_tokens=1_000, reasoning_tokens=400)
    # uncached 200000 * $2.50/M = 500_000_000; cached 100000 * $0.25/M = 25_000_000;
    # output 1000 * $15/M = 15_000_000 (thoughts are inside output) -> 540_000_000
    assert call_cost_nanousd(record("gemini-2.5-pro", u)) == 540_000_000


def test_half_nanos_round_to_even() -> None:
    """A cost ending in half a nano-dollar rounds to the even neighbour, once per call."""
    # gemini-1.5-flash-8b input $0.0375/M = 37.5 nanos per token
    assert call_cost_nanousd(record("gemini-1.5-flash-8b", usage(input_tokens=1, output_tokens=0))) == 38
    assert call_cost_nanousd(record("gemini-1.5-flash-8b", usage(input_tokens=3, output_tokens=0))) == 112
    # 2 tokens = 75 exactly: rounding happens on the call's sum, not per token
    assert call_cost_nanousd(record("gemini-1.5-flash-8b", usage(input_tokens=2, output_tokens=0))) == 75


def test_unreported_breakdowns_count_as_zero() -> None:
    """cache_read None is 0 cached tokens, so all input is billed at the input price."""
    u = usage(input_tokens=1_000, output_tokens=100)
    # 1000 * $0.15/M = 150_000; 100 * $0.60/M = 60_000
    assert call_cost_nanousd(record("gpt-4o-mini", u)) == 210_000


@pytest.mark.parametrize(
    "u",
    [
        None,
        usage(output_tokens=10),
        usage(input_tokens=10),
        usage(input_tokens=10, cache_read_tokens=11, output_tokens=1),
        usage(input_tokens=10, cache_write_tokens=5, cache_write_1h_tokens=6, output_tokens=1),
    ],
)
def test_missing_or_inconsistent_usage_is_unpriced(u: tk.LLMUsage | None) -> None:
    """No usage, no input or output count, or breakdowns larger than their total: None, never a guess."""
    assert call_cost(record("gpt-4o", u)) is None
    assert tk.estimate_cost("gpt-4o", u) is None


def test_unknown_model_is_unpriced_not_zero() -> None:
    """A model the table does not know costs None, not $0."""
    assert tk.estimate_cost("my-local-llama", usage(input_tokens=10, output_tokens=10)) is None


def test_reported_cost_wins() -> None:
    """usage.cost_usd from a gateway is used as is (to nanos, half-even), even for unknown models."""
    u = usage(input_tokens=10, output_tokens=10, cost_usd=0.0123456789)
    # 0.0123456789 USD = 12_345_678.9 nanos -> 12_345_679
    assert usage_cost("my-local-llama", u) == tk.CallCost(12_345_679, "reported", "reported")
    assert usage_cost("gpt-4o", usage(cost_usd=2.5e-9)) == tk.CallCost(2, "reported", "reported")
    assert usage_cost("gpt-4o", usage(cost_usd=1.5e-9, price_table_version="gw-7")) == tk.CallCost(
        2, "gw-7", "reported"
    )


def test_non_finite_reported_cost_is_unpriced() -> None:
    """A NaN reported cost (built in code, bypassing validation) is unpriced, not NaN."""
    assert usage_cost("gpt-4o", usage(input_tokens=1, output_tokens=1, cost_usd=float("nan"))) is None


@settings(deadline=None, max_examples=150)
@given(
    prices=st.lists(
        st.decimals(min_value=0, max_value=100, places=5, allow_nan=False, allow_infinity=False),
        min_size=6,
        max_size=6,
    ),
    counts=st.tuples(*(st.integers(0, 2_000_000) for _ in range(5))),
)
def test_integer_arithmetic_equals_decimal(prices: list[Decimal], counts: tuple[int, ...]) -> None:
    """The exact integer path gives the same nanos as the Decimal formula rounded half-even."""
    uncached, read, write_5m, write_1h, output = counts
    table = PriceTable()
    table.set_price(
        "m",
        input=prices[0],
        output=prices[1],
        cache_read=prices[2],
        cache_write=prices[3],
        cache_write_1h=prices[4],
    )
    u = usage(
        input_tokens=uncached + read + write_5m + write_1h,
        cache_read_tokens=read,
        cache_write_tokens=write_5m + write_1h,
        cache_write_1h_tokens=write_1h,
        output_tokens=output,
    )
    usd = (
        uncached * prices[0]
        + read * prices[2]
        + write_5m * prices[3]
        + write_1h * prices[4]
        + output * prices[1]
    ) / Decimal(1_000_000)
    expected = int((usd * Decimal(1_000_000_000)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert call_cost_nanousd(record("m", u), table) == expected


# -- overrides -----------------------------------------------------------------------------------


def test_set_price_adds_a_model_with_its_own_version() -> None:
    """A price set in code prices its model and stamps its own version."""
    tk.set_price("my-local-llama", input="0.20", output="0.80", provider="local", version="lab-2026-11")
    u = usage(input_tokens=1_000, output_tokens=500)
    # 1000 * $0.20/M = 200_000; 500 * $0.80/M = 400_000
    assert usage_cost("my-local-llama", u) == tk.CallCost(600_000, "lab-2026-11", "table", "my-local-llama")
    tk.reset_prices()
    assert usage_cost("my-local-llama", u) is None


def test_set_price_overrides_a_bundled_model_and_its_snapshots() -> None:
    """Overriding gpt-4o also reprices its dated snapshots (same entry), stamped "user"."""
    tk.set_price("gpt-4o", input=Decimal(1), output=Decimal(2), provider="openai")
    u = usage(input_tokens=1_000, output_tokens=1_000)
    # cache_read defaults to input: 1000 * $1/M + 1000 * $2/M = 3_000_000
    assert usage_cost("gpt-4o-2024-08-06", u) == tk.CallCost(3_000_000, "user", "table", "gpt-4o")


def test_override_replaces_aliases() -> None:
    """Re-adding a model with other aliases drops the old ones; an alias naming another model is refused."""
    table = PriceTable()
    table.set_price("a", input=1, output=1, aliases=["a-latest"])
    table.set_price("a", input=2, output=2, aliases=["a-new"])
    assert table.lookup("a-latest") is None
    price = table.lookup("a-new")
    assert price is not None
    assert price.input == Decimal(2)
    table.set_price("b", input=1, output=1)
    with pytest.raises(tk.PricingError, match="alias 'b' of 'c' is itself a priced model"):
        table.set_price("c", input=1, output=1, aliases=["b"])
    assert table.models() == ["a", "b"]


def test_explicit_table_leaves_active_table_alone() -> None:
    """Passing a PriceTable prices with it only; copies of the bundled table are independent."""
    table = tk.get_prices().copy()
    table.set_price("gpt-4o", input=0, output=0, provider="openai")
    u = usage(input_tokens=1000, output_tokens=1000)
    assert tk.estimate_cost("gpt-4o", u, table) == 0.0
    # bundled: 1000 * 2500 + 1000 * 10000 = 12_500_000 nanos
    assert tk.estimate_cost("gpt-4o", u) == 0.0125
    assert pricing.default_prices().lookup("gpt-4o") == tk.get_prices().lookup("gpt-4o")


def test_separate_reasoning_price() -> None:
    """Where a model prices reasoning apart, reasoning tokens use it and the rest of output does not."""
    table = PriceTable()
    table.set_price("thinker", input=1, output=2, reasoning=5)
    u = usage(input_tokens=10, output_tokens=100, reasoning_tokens=40)
    # 10 * $1/M = 10_000; (100-40) * $2/M = 120_000; 40 * $5/M = 200_000
    assert call_cost_nanousd(record("thinker", u), table) == 330_000


def test_load_prices_from_json_file(tmp_path: Path) -> None:
    """A JSON file in the bundled format adds models with the file's version, tiers included."""
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "version": "team-2026-11",
                "models": {
                    "house-model": {
                        "provider": "house",
                        "input": "0.5",
                        "output": 1.5,
                        "aliases": ["house-model-latest"],
                        "tiers": [{"above_input_tokens": 1000, "input": "1", "output": "3"}],
                    }
                },
            }
        )
    )
    tk.load_prices(path)
    small = usage(input_tokens=1_000, output_tokens=10)
    big = usage(input_tokens=1_001, output_tokens=10)
    # 1000 * $0.5/M = 500_000 + 10 * $1.5/M = 15_000
    assert usage_cost("house-model-latest", small) == tk.CallCost(
        515_000, "team-2026-11", "table", "house-model"
    )
    # above 1000: 1001 * $1/M = 1_001_000 + 10 * $3/M = 30_000
    assert call_cost_nanousd(record("house-model", big)) == 1_031_000
    assert tk.estimate_cost("gpt-4o-mini", small) == 0.000156  # bundled rows still there: 150_000 + 6_000


def test_price_table_from_file_is_independent(tmp_path: Path) -> None:
    """PriceTable.from_file builds a table of only that file's rows; the active table is untouched."""
    path = tmp_path / "p.json"
    path.write_text('{"version": "v1", "models": {"a": {"provider": "x", "input": 1, "output": 1}}}')
    table = PriceTable.from_file(path)
    assert table.models() == ["a"]
    assert table.version == "v1"
    assert tk.get_prices().lookup("a") is None


# -- malformed input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid price JSON"),
        ('{"version": "v", "models": {"m": {"provider": "p", "input": NaN, "output": 1}}}', "NaN"),
        ('{"models": {}}', "'version' must be a non-empty string"),
        ('{"version": "v", "models": []}', "'models' must be an object"),
        ('{"version": "v", "models": {}, "extra": 1}', "unknown top-level key(s) ['extra']"),
        ('{"version": "v", "models": {"m": {"provider": "p", "output": 1}}}', "models.m: missing 'input'"),
        (
            '{"version": "v", "models": {"m": {"provider": "p", "input": -1, "output": 1}}}',
            "models.m.input: price must be finite and >= 0, got -1",
        ),
        (
            '{"version": "v", "models": {"m": {"provider": "p", "input": "two", "output": 1}}}',
            "models.m.input: 'two' is not a decimal number",
        ),
        (
            '{"version": "v", "models": {"m": {"provider": "p", "input": true, "output": 1}}}',
            "models.m.input: a price must be a decimal number or string in USD per million tokens, got True",
        ),
        (
            '{"version": "v", "models": {"m": {"provider": "p", "input": 1, "output": 1, "cache_reads": 1}}}',
            "models.m: unknown key(s) ['cache_reads']",
        ),
        (
            '{"version": "v", "models": {"m": {"provider": "p", "input": 1, "output": 1, '
            '"tiers": [{"above_input_tokens": "200k", "input": 1, "output": 1}]}}}',
            "models.m.tiers[0].above_input_tokens: expected a whole number of tokens >= 0, got '200k'",
        ),
        (
            '{"version": "v", "models": {"a": {"provider": "p", "input": 1, "output": 1, "aliases": ["x"]}, '
            '"b": {"provider": "p", "input": 1, "output": 1, "aliases": ["x"]}}}',
            "alias 'x' of 'b' already points to 'a'",
        ),
    ],
)
def test_malformed_price_file_raises_pricing_error(tmp_path: Path, document: str, message: str) -> None:
    """A malformed price file raises PricingError naming the file, the field and the value."""
    path = tmp_path / "bad.json"
    path.write_text(document)
    with pytest.raises(tk.PricingError) as info:
        tk.load_prices(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_price_file_raises_pricing_error(tmp_path: Path) -> None:
    """A price file that cannot be read is a PricingError naming the path."""
    with pytest.raises(tk.PricingError, match=r"cannot read price file .*nope\.json"):
        tk.load_prices(tmp_path / "nope.json")


def test_set_price_refuses_floats_and_negatives() -> None:
    """Prices set in code must be exact: floats and negative values raise PricingError."""
    with pytest.raises(tk.PricingError, match=r"set_price\('m'\)\.input: a price must be .* got 0\.1"):
        tk.set_price("m", input=0.1, output=1)  # type: ignore[arg-type]
    with pytest.raises(tk.PricingError, match=r"set_price\('m'\)\.output: price must be finite and >= 0"):
        tk.set_price("m", input=1, output="-2")
    assert tk.get_prices().lookup("m") is None


def test_pricing_module_exports() -> None:
    """The pricing module's __all__ lists what it defines for users."""
    assert "call_cost_nanousd" in pricing.__all__
    assert all(hasattr(pricing, name) for name in pricing.__all__)
