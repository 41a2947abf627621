"""Wrong-typed arguments to the store come back as tracekit errors naming the value, never bare ones."""

from __future__ import annotations

import pytest
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store import TursoManager


async def test_wrong_typed_arguments_are_tracekit_errors() -> None:
    """execute(5), list_sessions(limit="3") and a str reward raise tracekit errors with the value."""
    async with TursoManager(":memory:") as db:
        await db.save_session(make_trace("s", steps=1))
        with pytest.raises(tk.StoreError, match=r"read-only queries .* got '5'"):
            await db.execute(5)  # type: ignore[arg-type]
        refused = "limit must be an int from 1 to 9223372036854775806"
        with pytest.raises(tk.InvalidArgumentError, match=f"{refused}, got '3'"):
            await db.list_sessions(limit="3")  # type: ignore[arg-type]
        with pytest.raises(tk.InvalidArgumentError, match=refused):
            await db.list_sessions(limit=2**63 - 1)  # one more row is fetched: it blamed the URL
        with pytest.raises(tk.SerializationError, match="total_reward must be a finite number, got 'abc'"):
            await db.add_outcome_reward("s", "abc")  # type: ignore[arg-type]
        with pytest.raises(tk.SerializationError, match="reward_value must be a finite number, got True"):
            await db.add_event_reward("s", True)


async def test_a_url_the_http_client_cannot_use_is_a_connection_error() -> None:
    """A port out of range reaches the HTTP client and comes back as StoreConnectionError, not ValueError."""
    with pytest.raises(tk.StoreConnectionError, match=r"cannot reach http://127\.0\.0\.1:99999"):
        await TursoManager("http://127.0.0.1:99999", timeout_s=2).open()
