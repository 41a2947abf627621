"""Scale-out fixtures: a real sqld primary serving replicas over gRPC and one replica of it, on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tracekit.store import TursoManager
from tracekit.store.server import SqldServer, start_sqld


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqldServer, SqldServer]]:
    """(primary, replica): the replica follows the primary; the schema is created through the replica
    (its DDL is forwarded to the primary), so both start with tracekit's tables."""
    root = tmp_path_factory.mktemp("cluster")
    primary = start_sqld(root / "primary.sqld", grpc_port=0)
    try:
        replica = start_sqld(root / "replica.sqld", replica_of=primary.grpc_url)
        try:

            async def create_schema() -> None:
                async with TursoManager(replica.url, spool_path=root / "schema.spool.jsonl"):
                    pass

            asyncio.run(create_schema())
            yield primary, replica
        finally:
            replica.stop()
    finally:
        primary.stop()
