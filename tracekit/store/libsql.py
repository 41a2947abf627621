"""The one module that talks to libsql-client: connect, execute, batch, and error translation.

Remote URLs (`http(s)://`, `ws(s)://`, `libsql://`) go through libsql-client on the event loop,
each call under a timeout. `file:` and `:memory:` databases are one stdlib sqlite3 connection kept
open for the Database's lifetime (embedded.py: statements prepared once, synchronous=FULL so a
save that returned is on disk); every call on it runs on one private worker thread, so the
caller's event loop never blocks (one thread also serialises this process's writers).

File URLs read as SQLite and Turso read them: `file:traces.db` and `file:./runs/t.db` are relative
to the working directory (resolved once, when the Database is made), `file:/abs/t.db` and
`file:///abs/t.db` are absolute, and `:memory:` (or `file::memory:`) is a private in-memory
database that lives as long as the Database is open. Missing parent directories are created on
open; a path that cannot be opened (a directory, an unwritable place) is a StoreError naming
the path and the reason. Other processes' writes to the same file are waited for (busy timeout
`timeout_s`), not failed at once.

Errors come out as tracekit StoreErrors keeping libsql's code; the auth token never appears in
a message, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import json.encoder
import logging
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp  # libsql-client's own transport; only its exception types are used here
import libsql_client

from tracekit.errors import StoreAuthError, StoreConnectionError, StoreError, TracekitError
from tracekit.store.embedded import FileConnection, StatementRows
from tracekit.store.prepared import WriteQueue

__all__ = [
    "BUSY_CODES",
    "LARGE_BODY_BYTES",
    "MEMORY",
    "Database",
    "Result",
    "Statement",
    "StatementRows",
    "file_path",
    "is_busy",
    "redact_url",
    "request_bytes",
    "resolve_token",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

Statement = tuple[str, Sequence[Any]]
"""An SQL text with its positional `?` parameters."""

_REMOTE_SCHEMES = ("http", "https", "ws", "wss", "libsql")
_BUSY_CODES = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})
_TXN_CODES = frozenset({"TRANSACTION_TIMEOUT", "TRANSACTION_BUSY"})
_BUSY_HTTP = {"429": "HTTP_429", "503": "HTTP_503"}
"""sqld answers 429 Too Many Requests when a request waited too long for a connection (it runs
`--max-concurrent-connections` at a time) and 503 while it is overloaded or starting."""
BUSY_CODES = _BUSY_CODES | _TXN_CODES | frozenset(_BUSY_HTTP.values())
"""Codes of a write that lost to another writer (the server is up): worth retrying after a pause.

sqld gives a write transaction 5 s from taking the write lock; a waiting writer then steals the
lock and the holder's batch is rolled back with TRANSACTION_TIMEOUT."""
_AUTH_MARKERS = ("401", "403", "unauthorized", "authentication", "jwt", "auth token")
_FILE_CODES = frozenset(
    {"SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_NOTADB", "SQLITE_IOERR", "SQLITE_PERM"}
)

MEMORY = ":memory:"
"""The URL of a private in-memory database (also accepted as `file::memory:`)."""


@dataclass(slots=True, frozen=True)
class Result:
    """Rows of one statement as tuples, with the column names."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    rows_affected: int


LARGE_BODY_BYTES = 2**20
"""aiohttp's TOO_LARGE_BYTES_BODY: over HTTP, libsql-client sends a batch as one bytes body, and
aiohttp emits a ResourceWarning ("Sending a large body directly with raw bytes...") for a larger one."""

# The hrana JSON libsql-client 0.3 sends for `batch()` (hrana/convert.py `_batch_to_proto`, written by
# aiohttp's default `json.dumps`: ", " and ": " separators, ASCII-only escapes), in bytes. A step's
# number ({"type": "ok", "step": N}) is counted as 7 digits, so sizes add up across statements and
# batches: a bound within 6 bytes a statement of the real body (batches under 10,000,000 statements).
_STEP_DIGITS = 7
_BATCH_BYTES = 273 + 2 * _STEP_DIGITS  # {"batch": {"steps": [BEGIN, ..., COMMIT, ROLLBACK]}}
_STATEMENT_BYTES = 109 + _STEP_DIGITS  # one step around its SQL and args, but for those
# A value as an object in "args", with the ", " after it (the last one has none: see request_bytes).
_NULL_BYTES = 18  # {"type": "null"}
_TEXT_BYTES = 29  # {"type": "text", "value": } (the escaped text with its quotes)
_INTEGER_BYTES = 34  # {"type": "integer", "value": ""} (digits between the quotes)
_FLOAT_BYTES = 30  # {"type": "float", "value": } (repr of the float)
_BLOB_BYTES = 32  # {"type": "blob", "base64": ""}
_escaped = json.encoder.encode_basestring_ascii  # the escaper json.dumps uses: "text" with its quotes


def request_bytes(statements: Sequence[Statement]) -> int:
    """An upper bound (within 6 bytes a statement) of the HTTP body libsql-client sends for
    `batch(statements)`: the hrana JSON, every value wrapped in a typed object and text JSON-escaped
    (about twice a save's raw SQL and values). Sizes add up: the statements of several batches sent
    as one weigh at most the sum of the batches'."""
    total = _BATCH_BYTES
    for sql, params in statements:
        total += _STATEMENT_BYTES + len(_escaped(sql))
        if params:
            total -= 2  # no ", " after the last value
        for value in params:
            kind = type(value)
            if kind is str:
                total += _TEXT_BYTES + len(_escaped(value))
            elif value is None:
                total += _NULL_BYTES
            elif kind is int:
                total += _INTEGER_BYTES + len(str(value))
            elif kind is float:
                total += _FLOAT_BYTES + len(float.__repr__(value))
            else:
                total += _other_value_bytes(value)
    return total


def _other_value_bytes(value: Any) -> int:
    """`request_bytes` of a value that is not exactly str, int, float or None, converted as
    libsql-client converts it (`_normalize_value`); 0 for one it refuses (the send fails anyway)."""
    if isinstance(value, datetime.datetime):
        value = int(value.timestamp() * 1000)
    elif isinstance(value, bool):
        value = int(value)
    if isinstance(value, str):
        return _TEXT_BYTES + len(_escaped(value))
    if isinstance(value, int):
        return _INTEGER_BYTES + len(str(value))
    if isinstance(value, float):
        return _FLOAT_BYTES + len(float.__repr__(value))
    try:
        size = memoryview(value).nbytes
    except TypeError:
        return 0
    return _BLOB_BYTES + 4 * -(-size // 3)  # base64


def is_busy(exc: StoreError) -> bool:
    """Whether `exc` is a write that lost to another writer (retry it) rather than an unreachable
    server or bad data."""
    return isinstance(exc, StoreConnectionError) and exc.code in BUSY_CODES


def resolve_token(auth_token: str | None) -> str | None:
    """The explicit token, else TURSO_AUTH_TOKEN, else LIBSQL_AUTH_TOKEN, else None."""
    if auth_token:
        return auth_token
    return os.environ.get("TURSO_AUTH_TOKEN") or os.environ.get("LIBSQL_AUTH_TOKEN") or None


def _split_url(url: str) -> tuple[str, str | None]:
    """The URL without an `authToken` query parameter, and that parameter's value."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    token = next((value for key, value in query if key == "authToken"), None)
    kept = [(key, value) for key, value in query if key != "authToken"]
    clean = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(kept)))
    return clean, token or None


def redact_url(url: str) -> str:
    """`url` with any authToken query parameter and password removed, safe to show."""
    clean, _token = _split_url(url)
    parts = urllib.parse.urlsplit(clean)
    if parts.password is not None:
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
        clean = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return clean


def file_path(url: str) -> Path | None:
    """The absolute path a `file:` URL names (relative paths against the working directory now),
    None for `:memory:`; StoreError for a file URL with no path, a host or query parameters."""
    if url == MEMORY:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "file":
        raise StoreError(f"{url!r} is not a file: URL")
    path = urllib.parse.unquote(parts.path)
    if parts.netloc not in ("", "localhost"):
        raise StoreError(
            f"file URL {url!r} names a host ({parts.netloc!r}); write file:relative/path.db, "
            "file:/absolute/path.db or file:///absolute/path.db"
        )
    if parts.query or parts.fragment:
        raise StoreError(
            f"file URL {url!r} has query parameters or a fragment, which tracekit does not use; remove them"
        )
    if path == MEMORY:
        return None
    if not path:
        raise StoreError(f"file URL {url!r} names no file; write e.g. file:traces.db")
    return Path(os.path.abspath(path))


def redact_url_safely(url: str) -> str:
    """`redact_url`, or a placeholder when the URL cannot even be parsed (it might hold a token)."""
    try:
        return redact_url(url)
    except ValueError:
        return "<unparseable URL>"


def _to_result(result_set: Any) -> Result:
    rows = [row.astuple() for row in result_set.rows]
    return Result(tuple(result_set.columns), rows, int(result_set.rows_affected))


class Database:
    """An open libSQL database (embedded file or remote server) behind tracekit's error types."""

    __slots__ = (
        "_client",
        "_client_url",
        "_executor",
        "_token",
        "_writes",
        "is_remote",
        "path",
        "timeout_s",
        "url",
    )

    def __init__(self, url: str, *, auth_token: str | None = None, timeout_s: float = 30.0) -> None:
        if not isinstance(url, str):
            raise StoreError(f"the database URL must be a str, got {url!r}; e.g. 'file:traces.db'")
        try:
            clean, url_token = _split_url(url) if url != MEMORY else (url, None)
            scheme = "file" if url == MEMORY else urllib.parse.urlsplit(clean).scheme
        except ValueError as exc:
            raise StoreError(f"cannot read the database URL {redact_url_safely(url)!r}: {exc}") from exc
        if scheme != "file" and scheme not in _REMOTE_SCHEMES:
            raise StoreError(
                f"unsupported database URL scheme {scheme!r} in {redact_url(url)!r}; "
                "use file:, :memory:, http(s)://, ws(s):// or libsql://"
            )
        self.is_remote = scheme != "file"
        self.path: Path | None = None
        """The database file (absolute) for a file: URL; None for :memory: and servers."""
        if self.is_remote:
            self.url = redact_url(clean)
        else:
            self.path = file_path(url)
            self.url = MEMORY if self.path is None else f"file:{self.path}"
        self.timeout_s = timeout_s
        self._token = resolve_token(auth_token or url_token) if self.is_remote else None
        self._client: Any = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._writes = WriteQueue()
        self._client_url = clean

    def __repr__(self) -> str:
        return f"Database(url={self.url!r}, remote={self.is_remote})"

    async def open(self) -> None:
        """Create the client (and, for file:, the worker thread) and check the database answers."""
        if self.is_remote:
            try:
                self._client = libsql_client.create_client(self._client_url, auth_token=self._token)
            except libsql_client.LibsqlError as exc:
                raise self._translate(exc) from None
        else:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tracekit-libsql")
            try:
                self._client = await self._in_thread(self._file_client)
            except BaseException:
                self._executor.shutdown(wait=False)
                self._executor = None
                raise
        try:
            if self.is_remote:
                await self._guard(self._handshake())
            await self.execute("SELECT 1")
        except BaseException:
            await self.close()
            raise

    def _file_client(self) -> FileConnection:
        """The sqlite3 client for a file: or :memory: URL, after checking the path can hold a database."""
        path = self.path
        if path is not None:
            if path.is_dir():
                raise StoreError(
                    f"cannot open the database file {str(path)!r}: it is a directory; "
                    "give the path of a file (it is created when missing)"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the directory {str(path.parent)!r} for the database file "
                    f"{str(path)!r}: {exc.strerror or exc}; choose a path in a writable directory"
                ) from exc
        try:
            return FileConnection(path, self.timeout_s)
        except sqlite3.Error as exc:
            raise self._sqlite_error(exc) from exc

    def _file_error(self, exc: sqlite3.Error) -> StoreError:
        """A file: failure as a StoreError naming the path and the reason (and sqlite's code)."""
        reason, code = str(exc) or type(exc).__name__, getattr(exc, "sqlite_errorname", None)
        if self.path is None:
            return StoreError(f"the in-memory database failed: {reason}", code=code)
        return StoreError(
            f"cannot use the database file {str(self.path)!r}: {reason}; check that the path is a "
            "database file (or does not exist yet) in a directory you can write to",
            code=code,
        )

    def _sqlite_error(self, exc: sqlite3.Error) -> StoreError:
        """An embedded database's failure, as the same StoreError a server's would be: busy or
        locked -> StoreConnectionError (retried), file problems naming the path, the rest with
        sqlite's code."""
        code = getattr(exc, "sqlite_errorname", None)
        base = "_".join(code.split("_")[:2]) if code else None  # SQLITE_BUSY_SNAPSHOT -> SQLITE_BUSY
        if base in _BUSY_CODES:
            return StoreConnectionError(
                f"{self.url} is locked by another writer: {exc}; retry, or write through one manager",
                code=code,
            )
        if code == "SQLITE_FULL" or (code or "").startswith("SQLITE_IOERR_WRITE"):
            return StoreError(
                f"cannot write the database file {str(self.path)!r}: {exc} (the disk is full, or the "
                "file reached a size limit); nothing of this save was written: free space and save again",
                code=code,
            )
        if base in _FILE_CODES:
            return self._file_error(exc)
        if code is None:  # a parameter sqlite3 cannot bind (no SQLite error code)
            return StoreError(
                f"{self.url} refused the request: {exc}; pass only str, int (64-bit), finite float, "
                "bytes or None as values",
            )
        return StoreError(f"{self.url}: {exc}", code=code)

    async def _handshake(self) -> None:
        """WebSocket only: wait for the server's answer to the hello (which carries the token).

        A server refusing the token replies hello_error; libsql-client 0.3 then closes the socket
        before recording the error, and a request sent in that window fails as a closed transport,
        losing the real cause. So wait for the hello answer (and that close) before any request.
        """
        conn = getattr(self._client, "_conn", None)
        wait_connected = getattr(conn, "wait_connected", None)
        if wait_connected is None:
            return
        await wait_connected()
        if getattr(getattr(conn, "_socket", None), "closed", False):
            # hello_error: the client closes the socket first and records the error after that
            receive_task = getattr(conn, "_receive_task", None)
            if receive_task is not None:
                await asyncio.wait({receive_task})
        problem = getattr(conn, "exception", None)
        if problem is not None:
            raise problem

    async def close(self) -> None:
        """Close the client and stop the worker thread; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            if self.is_remote:
                try:
                    await asyncio.wait_for(client.close(), self.timeout_s)
                except (TimeoutError, OSError, aiohttp.ClientError, libsql_client.LibsqlError) as exc:
                    log.warning("closing %s failed: %s", self.url, self._redact(str(exc)))
            else:
                await self._in_thread(client.close)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        self._writes.close()
        self._writes = WriteQueue()

    async def probe(self, timeout_s: float) -> None:
        """Check that the server answers, on a fresh connection under `timeout_s` (the circuit
        breaker's cheap probe); StoreConnectionError (or StoreAuthError) when it does not."""
        fresh = Database(self._client_url, auth_token=self._token, timeout_s=timeout_s)
        await fresh.open()
        await fresh.close()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement with positional parameters."""
        if not self.is_remote:
            return Result(*await self._call("execute", sql, params))
        return _to_result(await self._call("execute", sql, list(params)))

    async def batch(self, statements: Sequence[Statement]) -> list[Result]:
        """Run statements atomically (one transaction: all apply or none)."""
        if not statements:
            return []
        if not self.is_remote:
            return [Result(*result) for result in await self._call("batch", statements)]
        stmts = [(sql, list(params)) for sql, params in statements]
        return [_to_result(rs) for rs in await self._call("batch", stmts)]

    async def write(self, groups: Sequence[StatementRows]) -> None:
        """Run each SQL text once per row of its group, atomically: the save path. Embedded, one
        executemany per group on a prepared statement; on a server, one batch of single-row
        statements (servers prefer multi-row INSERTs sent with `batch`, see writer.py)."""
        if not self.is_remote:
            await self._call("write", groups)
        else:
            await self.batch([(sql, row) for sql, rows in groups for row in rows])

    async def write_prepared(self, prepare: Callable[[], Sequence[StatementRows]]) -> None:
        """Embedded only: `prepare()` (a save's CPU work: checking, encoding, building rows), then
        `write` of the groups it returns, in ONE trip to the worker thread: a save crosses threads
        twice instead of four times. While a save commits, the next queued one is prepared on a
        second thread (prepared.py). A TracekitError from `prepare` (a refused value) comes out as it
        is, and nothing is written."""
        client = self._client
        if client is None or self.is_remote:
            raise StoreError(f"the database {self.url!r} is closed or not embedded; open a new TursoManager")
        writing: list[float] = []  # when prepare() returned: timeout_s bounds the write, not the encoding
        writes = self._writes
        job = writes.add(prepare)

        def run() -> None:
            writes.discard(job)  # it runs now: the next queued save is the one to prepare ahead
            groups = job.groups()
            writing.append(time.monotonic())
            client.write(groups, writes.prepare_next)

        try:
            await self._guard(self._write_within_timeout(self._in_thread(run), writing), timeout=False)
        finally:
            writes.discard(job)  # cancelled before it ran: no longer prepared ahead

    async def _write_within_timeout(self, future: Awaitable[None], writing: list[float]) -> None:
        """Await `future`, raising TimeoutError once its write (after `writing` got its start) has
        run for timeout_s; however long the preparation before it took."""
        task = asyncio.ensure_future(future)
        try:
            while True:
                started = writing[0] if writing else time.monotonic()
                left = started + self.timeout_s - time.monotonic()
                done, _pending = await asyncio.wait({task}, timeout=max(left, 0.0))
                if done:
                    return task.result()
                if writing and time.monotonic() >= writing[0] + self.timeout_s:
                    raise TimeoutError
        finally:
            task.cancel()  # no-op once done; the worker thread finishes what it runs either way

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _call(self, method: str, *args: Any) -> Any:
        client = self._client
        if client is None:
            raise StoreError(f"the database {self.url!r} is closed; open a new TursoManager")
        if not self.is_remote:
            return await self._guard(self._in_thread(getattr(client, method), *args))
        return await self._guard(getattr(client, method)(*args))

    async def _guard(self, awaitable: Awaitable[T], *, timeout: bool = True) -> T:
        """Await under the timeout (`timeout=False`: the awaitable bounds itself and raises
        TimeoutError), turning every client failure into a StoreError."""
        try:
            return await (asyncio.wait_for(awaitable, self.timeout_s) if timeout else awaitable)
        except TracekitError:  # already one of ours (write_prepared's refusals): not a client failure
            raise
        except TimeoutError:
            raise StoreConnectionError(
                f"{self.url} did not answer within {self.timeout_s:g} s; check the server is up "
                "and reachable, or raise timeout_s"
            ) from None
        except libsql_client.LibsqlError as exc:
            raise self._translate(exc) from None
        except sqlite3.Error as exc:  # file: only
            raise self._sqlite_error(exc) from exc
        except (OSError, aiohttp.ClientError) as exc:
            raise StoreConnectionError(
                f"cannot reach {self.url}: {self._redact(str(exc)) or type(exc).__name__}; "
                "check the URL and that the server is running"
            ) from None
        except (ValueError, OverflowError, TypeError) as exc:  # a malformed URL or parameter
            raise StoreError(
                f"{self.url} refused the request: {self._redact(str(exc)) or type(exc).__name__}; check "
                "the URL, and pass only str, int (64-bit), finite float, bytes or None as values"
            ) from None

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _translate(self, exc: libsql_client.LibsqlError) -> StoreError:
        code = str(exc.code)
        message = self._redact(str(exc.explanation))
        lowered = message.lower()
        if self.is_remote and (
            code.startswith("AUTH_") or any(marker in lowered for marker in _AUTH_MARKERS)
        ):
            hint = "the token was refused" if self._token else "no auth token was given"
            return StoreAuthError(
                f"{self.url} refused the credentials ({hint}): {message}; pass auth_token= or set "
                "TURSO_AUTH_TOKEN / LIBSQL_AUTH_TOKEN to a valid token",
                code=code,
            )
        if self.is_remote and code in _TXN_CODES:
            return StoreConnectionError(
                f"{self.url} rolled back the write: {message}; another writer waited for the lock "
                "longer than sqld's 5 s transaction limit (tracekit retries it; smaller batches avoid it)",
                code=code,
            )
        status = message.removeprefix("Server returned HTTP status ")[:3]
        if self.is_remote and code == "SERVER_ERROR" and status in _BUSY_HTTP:
            return StoreConnectionError(
                f"{self.url} is busy: {message}; another writer held its connection (tracekit retries it)",
                code=_BUSY_HTTP[status],
            )
        if code in _BUSY_CODES:
            return StoreConnectionError(
                f"{self.url} is locked by another writer: {message}; retry, or write through one manager",
                code=code,
            )
        if code == "HRANA_WEBSOCKET_ERROR" or "websocket" in lowered:
            return StoreConnectionError(
                f"lost the WebSocket connection to {self.url}: {message}; check the server is running",
                code=code,
            )
        if "too big" in lowered:  # sqld takes at most 5,000,000 bytes per value (README: Limits)
            return StoreError(
                f"{self.url}: {message}; one stored value (a call record's JSON) is over the server's "
                "5,000,000-byte limit: shorten the content, keep it outside the trace, or use a file: store",
                code=code,
            )
        return StoreError(f"{self.url}: {message}", code=code)
