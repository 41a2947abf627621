"""A sqld that demands a JWT: the right token works, a wrong or missing one is a clear error,
and the token never shows up in reprs, messages or logs."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store import SyncTursoManager, TursoManager
from tracekit.store.server import SqldServer, start_sqld

pytestmark = pytest.mark.sqld


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def _eddsa_jwt(private_key: Path, claims: dict[str, object]) -> str:
    """A compact JWT signed with Ed25519 by the openssl CLI."""
    head = _b64(json.dumps({"alg": "EdDSA", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    message = private_key.parent / "message"
    message.write_bytes(f"{head}.{body}".encode())
    signature = _openssl("pkeyutl", "-sign", "-inkey", str(private_key), "-rawin", "-in", str(message))
    return f"{head}.{body}.{_b64(signature)}"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(private key, public key, another private key) as PEM files made by openssl."""
    root = tmp_path_factory.mktemp("jwt")
    private, public, other = root / "private.pem", root / "public.pem", root / "other.pem"
    _openssl("genpkey", "-algorithm", "ed25519", "-out", str(private))
    _openssl("pkey", "-in", str(private), "-pubout", "-out", str(public))
    _openssl("genpkey", "-algorithm", "ed25519", "-out", str(other))
    return private, public, other


@pytest.fixture(scope="module")
def auth_sqld(
    keys: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqldServer]:
    """A sqld started with --auth-jwt-key-file."""
    server = start_sqld(tmp_path_factory.mktemp("auth-sqld") / "db.sqld", auth_jwt_key_file=keys[1])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def good_token(keys: tuple[Path, Path, Path]) -> str:
    """A token signed by the key the server trusts."""
    return _eddsa_jwt(keys[0], {"a": "rw"})


@pytest.fixture(scope="module")
def bad_token(keys: tuple[Path, Path, Path]) -> str:
    """A well-formed token signed by a key the server does not trust."""
    return _eddsa_jwt(keys[2], {"a": "rw"})


@pytest.mark.parametrize("scheme", ["http", "ws"])
async def test_right_token_is_accepted(
    auth_sqld: SqldServer, good_token: str, scheme: str, tmp_path: Path
) -> None:
    """With the trusted token a trace saves and reads back over HTTP and WebSocket."""
    url = auth_sqld.url if scheme == "http" else auth_sqld.ws_url
    trace = make_trace(f"auth-{scheme}", steps=2)
    async with TursoManager(url, auth_token=good_token, spool_path=tmp_path / "s.jsonl") as db:
        assert await db.save_session(trace) == "saved"
        assert await db.get_session(trace.session_id) == trace
        assert good_token not in repr(db)


@pytest.mark.parametrize("scheme", ["http", "ws"])
async def test_wrong_token_is_refused_without_showing_it(
    auth_sqld: SqldServer, bad_token: str, scheme: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An untrusted token raises StoreAuthError; neither the message, the repr nor the logs contain it."""
    caplog.set_level(logging.DEBUG)
    url = auth_sqld.url if scheme == "http" else auth_sqld.ws_url
    db = TursoManager(url, auth_token=bad_token, spool_path=tmp_path / "s.jsonl")
    with pytest.raises(tk.StoreAuthError, match="refused the credentials") as info:
        await db.open()
    assert bad_token not in str(info.value)
    assert bad_token not in repr(db)
    assert bad_token not in caplog.text
    assert isinstance(info.value, PermissionError)


async def test_missing_token_says_none_was_given(
    auth_sqld: SqldServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any token the error says so and how to provide one."""
    monkeypatch.delenv("TURSO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("LIBSQL_AUTH_TOKEN", raising=False)
    with pytest.raises(tk.StoreAuthError, match=r"no auth token was given.*TURSO_AUTH_TOKEN"):
        await TursoManager(auth_sqld.url).open()


@pytest.mark.parametrize("variable", ["TURSO_AUTH_TOKEN", "LIBSQL_AUTH_TOKEN"])
async def test_token_from_environment(
    auth_sqld: SqldServer, good_token: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token is read from TURSO_AUTH_TOKEN or LIBSQL_AUTH_TOKEN when not passed."""
    monkeypatch.delenv("TURSO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("LIBSQL_AUTH_TOKEN", raising=False)
    monkeypatch.setenv(variable, good_token)
    async with TursoManager(auth_sqld.url) as db:
        assert await db.execute("SELECT 41 + 1 AS v") == [{"v": 42}]


def test_token_in_url_is_used_and_hidden(auth_sqld: SqldServer, good_token: str) -> None:
    """An authToken query parameter authenticates, and the URL shown everywhere has it removed."""
    with SyncTursoManager(f"{auth_sqld.url}?authToken={good_token}") as db:
        assert db.execute("SELECT 1 AS one") == [{"one": 1}]
        assert good_token not in repr(db)
        assert good_token not in db.manager.url
        assert db.manager.url == auth_sqld.url


OPERATIONS = {
    "save_session": lambda db: db.save_session(make_trace("op-save", steps=1)),
    "save_sessions": lambda db: db.save_sessions([make_trace("op-a", steps=1), make_trace("op-b", steps=1)]),
    "get_session": lambda db: db.get_session("op-save"),
    "delete_session": lambda db: db.delete_session("op-save"),
    "list_sessions": lambda db: db.list_sessions(limit=5),
    "aggregate": lambda db: db.aggregate(by="model"),
    "execute": lambda db: db.execute("SELECT 1 AS one"),
    "create_experiment": lambda db: db.create_experiment("e"),
    "list_experiments": lambda db: db.list_experiments(),
    "session_experiments": lambda db: db.session_experiments("op-save"),
    "get_rewards": lambda db: db.get_rewards("op-save"),
    "conversation_metrics": lambda db: db.conversation_metrics("op-save"),
    "replay_spool": lambda db: db.replay_spool(),
    "iter_call_records": lambda db: anext(db.iter_call_records()),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("token_kind", ["wrong", "missing"])
async def test_every_operation_refuses_a_wrong_or_missing_token(
    auth_sqld: SqldServer,
    bad_token: str,
    operation: str,
    token_kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Each store operation against a JWT sqld with a wrong or no token raises StoreAuthError (a
    save is not spooled: a refused token is not an outage), and the token appears nowhere."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.delenv("TURSO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("LIBSQL_AUTH_TOKEN", raising=False)
    token = bad_token if token_kind == "wrong" else None
    spool = tmp_path / "s.jsonl"
    db = TursoManager(auth_sqld.url, auth_token=token, spool_path=spool, retries=1, retry_backoff_s=0.01)
    try:
        with pytest.raises(tk.StoreAuthError, match="refused the credentials") as info:
            await OPERATIONS[operation](db)
    finally:
        await db.close()
    assert not spool.exists()
    assert not db.breaker.is_open
    out, err = capfd.readouterr()
    for text in (str(info.value), repr(db), caplog.text, out, err):
        assert bad_token not in text


def test_tracer_writer_with_a_wrong_token_keeps_the_trace_and_never_shows_the_token(
    auth_sqld: SqldServer,
    bad_token: str,
    good_token: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The tracer's background writer with a refused token: the session is spooled, not lost or
    failed, the token is in no log line, output or flush report; with the right token it lands."""
    caplog.set_level(logging.DEBUG)
    spool = tmp_path / "s.jsonl"
    tracer = tk.SessionTracer(store=TursoManager(auth_sqld.url, auth_token=bad_token, spool_path=spool))
    with tracer.session(session_id="auth-writer") as trace:
        tracer.record_event(tk.RuntimeEvent(system_instance_id="agent", actions=[1]))
    result = tracer.flush(timeout=30)
    tracer.close(timeout=10)
    assert (result.written, result.spooled, result.failed, result.pending) == (0, 1, 0, 0)
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err, repr(result), repr(tracer)):
        assert bad_token not in text
    assert "refused the credentials" in caplog.text

    with SyncTursoManager(auth_sqld.url, auth_token=good_token, spool_path=spool) as db:
        assert db.get_session("auth-writer") == trace
    assert not spool.exists()
