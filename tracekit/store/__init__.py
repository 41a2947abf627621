"""Turso/libSQL storage for traces: TursoManager (async) and SyncTursoManager (blocking).

from tracekit.store import TursoManager
async with TursoManager("file:traces.db") as db:
    await db.save_session(trace)
"""

from tracekit.store.manager import SaveOutcome, TursoManager
from tracekit.store.queries import SessionFilter, SessionPage, SessionSummary
from tracekit.store.sync import SyncTursoManager

__all__ = [
    "SaveOutcome",
    "SessionFilter",
    "SessionPage",
    "SessionSummary",
    "SyncTursoManager",
    "TursoManager",
]
