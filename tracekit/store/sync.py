"""SyncTursoManager: TursoManager for plain scripts and notebooks (blocking calls).

The async manager runs on a private event loop in a daemon thread, so these methods work the
same inside a running Jupyter loop as in a script; each call blocks until its result is ready.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Coroutine, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from tracekit import codec
from tracekit.analysis.aggregates import AggregateResult, GroupBy
from tracekit.errors import StoreError
from tracekit.model import LLMCallRecord, SessionTrace
from tracekit.store.manager import SaveOutcome, TursoManager
from tracekit.store.mapping import CallCost
from tracekit.store.queries import MetadataValue, SessionPage

__all__ = ["SyncTursoManager"]

T = TypeVar("T")


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class SyncTursoManager:
    """Blocking twin of TursoManager (same arguments, same methods, same results)."""

    def __init__(
        self,
        url: str = "file:traces.db",
        auth_token: str | None = None,
        *,
        timeout_s: float = 30.0,
        retries: int = 3,
        retry_backoff_s: float = 0.2,
        spool_path: str | Path | None = None,
        cost: CallCost | None = None,
    ) -> None:
        self.manager = TursoManager(
            url,
            auth_token,
            timeout_s=timeout_s,
            retries=retries,
            retry_backoff_s=retry_backoff_s,
            spool_path=spool_path,
            cost=cost,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tracekit-store", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"SyncTursoManager(url={self.manager.url!r})"

    def __enter__(self) -> SyncTursoManager:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, coro: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
        if self._loop.is_closed():
            if isinstance(coro, Coroutine):
                coro.close()
            raise StoreError("this SyncTursoManager is closed; create a new one")
        return asyncio.run_coroutine_threadsafe(_await(coro), self._loop).result()

    def open(self) -> None:
        """Connect, migrate and replay the spool (done on first use otherwise)."""
        self._run(self.manager.open())

    def close(self) -> None:
        """Close the connection and stop the background loop; the manager cannot be used after."""
        if self._loop.is_closed():
            return
        try:
            self._run(self.manager.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def save_session(self, trace: SessionTrace) -> SaveOutcome:
        """See TursoManager.save_session."""
        return self._run(self.manager.save_session(trace))

    def save_sessions(self, traces: Iterable[SessionTrace]) -> SaveOutcome:
        """See TursoManager.save_sessions."""
        return self._run(self.manager.save_sessions(traces))

    def replay_spool(self) -> int:
        """See TursoManager.replay_spool."""
        return self._run(self.manager.replay_spool())

    def get_session(self, session_id: str) -> SessionTrace:
        """See TursoManager.get_session."""
        return self._run(self.manager.get_session(session_id))

    def delete_session(self, session_id: str) -> bool:
        """See TursoManager.delete_session."""
        return self._run(self.manager.delete_session(session_id))

    def list_sessions(self, **filters: Any) -> SessionPage:
        """See TursoManager.list_sessions (same keyword arguments)."""
        return self._run(self.manager.list_sessions(**filters))

    def iter_call_records(
        self,
        *,
        session_id: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        page_size: int = 2000,
    ) -> Iterator[LLMCallRecord]:
        """See TursoManager.iter_call_records. The background loop is asked for a page at a time (not
        a record at a time); its records are read here, in the caller's thread."""
        read = codec.trusted_json_reader(LLMCallRecord)
        pages = self.manager._call_record_pages(session_id, model, provider, page_size)
        try:
            while True:
                try:
                    texts = self._run(pages.__anext__())
                except StopAsyncIteration:
                    return
                for text in texts:  # a damaged row still goes through the full checks
                    yield read(text)
        finally:
            if not self._loop.is_closed():
                self._run(pages.aclose())

    def aggregate(
        self,
        by: GroupBy | None = None,
        *,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        experiment_id: str | None = None,
        model: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        min_reward: float | None = None,
        has_error: bool | None = None,
        session_ids: Sequence[str] | None = None,
    ) -> AggregateResult:
        """See TursoManager.aggregate."""
        return self._run(
            self.manager.aggregate(
                by,
                created_after=created_after,
                created_before=created_before,
                experiment_id=experiment_id,
                model=model,
                metadata=metadata,
                min_reward=min_reward,
                has_error=has_error,
                session_ids=session_ids,
            )
        )

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """See TursoManager.execute."""
        return self._run(self.manager.execute(sql, params))

    def create_experiment(self, name: str, **options: Any) -> str:
        """See TursoManager.create_experiment."""
        return self._run(self.manager.create_experiment(name, **options))

    def link_session(self, experiment_id: str, session_id: str) -> None:
        """See TursoManager.link_session."""
        self._run(self.manager.link_session(experiment_id, session_id))

    def session_experiments(self, session_id: str) -> list[dict[str, Any]]:
        """See TursoManager.session_experiments."""
        return self._run(self.manager.session_experiments(session_id))

    def list_experiments(self) -> list[dict[str, Any]]:
        """See TursoManager.list_experiments."""
        return self._run(self.manager.list_experiments())

    def add_outcome_reward(self, session_id: str, total_reward: float, **options: Any) -> int:
        """See TursoManager.add_outcome_reward."""
        return self._run(self.manager.add_outcome_reward(session_id, total_reward, **options))

    def add_event_reward(self, session_id: str, reward_value: float, **options: Any) -> int:
        """See TursoManager.add_event_reward."""
        return self._run(self.manager.add_event_reward(session_id, reward_value, **options))

    def get_rewards(self, session_id: str) -> dict[str, list[dict[str, Any]]]:
        """See TursoManager.get_rewards."""
        return self._run(self.manager.get_rewards(session_id))

    def conversation_metrics(self, session_id: str) -> dict[str, Any]:
        """See TursoManager.conversation_metrics."""
        return self._run(self.manager.conversation_metrics(session_id))
