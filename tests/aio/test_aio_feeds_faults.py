"""Async feeds through the fault proxy (tests/http/proxy.py) on every HTTP server: cuts,
refusals, stalls, injected errors and expired cookies lose nothing; cancelling the
consuming task closes its connection within one heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

import settee
import settee.aio
from settee.auth import SessionAuth
from settee.feeds.checkpoints import MemoryCheckpoint
from tests.conftest import Server, unique_name
from tests.http.proxy import FaultProxy

pytestmark = pytest.mark.anyio


@pytest.fixture
def proxy(http_server: Server) -> Iterator[FaultProxy]:
    with FaultProxy(int(http_server.url.rsplit(":", 1)[1]), max_lifetime=300) as running:
        yield running


@pytest.fixture
def db_name(http_server: Server) -> Iterator[str]:
    name = unique_name("aiofault")
    http_server.raw("PUT", f"/{name}")
    yield name
    with contextlib.suppress(Exception):
        http_server.raw("DELETE", f"/{name}")


async def write(server: Server, db: str, docs: list[dict[str, Any]]) -> None:
    await asyncio.to_thread(server.raw, "POST", f"/{db}/_bulk_docs", {"docs": docs})


def padded(start: int, stop: int) -> list[dict[str, Any]]:
    # Random padding: a gzip-ing server must not shrink it below the cut points.
    return [{"_id": f"doc-{i:06d}", "pad": os.urandom(100).hex()} for i in range(start, stop)]


async def test_infinite_feed_loses_nothing_through_faults(
    http_server: Server, proxy: FaultProxy, db_name: str
) -> None:
    await write(http_server, db_name, padded(0, 50))
    async with settee.aio.connect(
        proxy.url, auth=http_server.auth, max_retries=0, backoff_factor=0, feed_timeout=(5, 1.5)
    ) as client:
        db = client.database(db_name)
        failures: list[str] = []
        checkpoint = MemoryCheckpoint()
        feed = db.infinite_changes(
            since=0,
            heartbeat=500,
            include_docs=True,
            checkpoint=checkpoint,
            backoff_base=0.05,
            backoff_max=0.2,
            on_error=lambda exc, delay: failures.append(type(exc).__name__),
        )
        proxy.cut_after_bytes = 4000  # every connection dies after ~4 KB

        async def faults() -> None:
            proxy.cut_after_bytes = None
            proxy.inject_status(503, 2)
            proxy.inject_status(429, 1)
            proxy.drop_all()
            await asyncio.sleep(0.5)
            proxy.refuse_for(0.8)
            await asyncio.sleep(1.0)
            proxy.stall(3.0)
            await write(http_server, db_name, padded(50, 60))

        seen: dict[str, Any] = {}
        fault_task: asyncio.Task[None] | None = None
        async with asyncio.timeout(90):
            async for row in feed:
                seen[row["id"]] = row
                if len(seen) == 50 and fault_task is None:
                    fault_task = asyncio.create_task(faults())
                if len(seen) == 60:
                    feed.stop()
        assert fault_task is not None
        await fault_task
    assert sorted(seen) == [f"doc-{i:06d}" for i in range(60)]
    assert {"FeedError", "ServerError", "TooManyRequests", "TransportError"} <= set(failures)
    assert feed.reconnects >= 5
    assert checkpoint.load() is not None


async def test_expired_cookie_is_renewed_mid_feed(
    http_server: Server, proxy: FaultProxy, db_name: str
) -> None:
    http_server.require("sessions")
    auth = SessionAuth(*http_server.auth)
    async with settee.aio.connect(proxy.url, auth=auth, backoff_factor=0) as client:
        db = client.database(db_name)
        await db.create_document({"_id": "first"})
        feed = db.infinite_changes(since=0, heartbeat=500, backoff_base=0.05, backoff_max=0.1)
        seen: list[str] = []
        async with asyncio.timeout(60):
            async for row in feed:
                seen.append(row["id"])
                if row["id"] == "first":
                    proxy.expire_sessions()
                    proxy.drop_all()  # the feed reconnects with the expired cookie
                    await client.database(db_name).create_document({"_id": "second"})
                if row["id"] == "second":
                    feed.stop()
    assert {"first", "second"} <= set(seen)
    assert proxy.expired_answers >= 1


async def test_cancelling_the_consumer_closes_the_connection(
    http_server: Server, proxy: FaultProxy, db_name: str
) -> None:
    # Issue 14: a cancelled task closes its feed connection within one heartbeat.
    # The heartbeat is long, so the server writes nothing to the idle feed while
    # the test waits: the proxy can only see the connection end because settee
    # closed it, not because a heartbeat failed to reach a closed socket.
    heartbeat_ms = 30_000
    async with settee.aio.connect(proxy.url, auth=http_server.auth) as client:
        db = client.database(db_name)

        async def consume() -> None:
            async for _ in db.changes(feed="continuous", since="now", heartbeat=heartbeat_ms):
                pass

        task = asyncio.create_task(consume())
        async with asyncio.timeout(10):
            while proxy.open_connections == 0:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # idle on the open feed
        assert proxy.open_connections == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(heartbeat_ms / 1000 / 2):
            while proxy.open_connections:
                await asyncio.sleep(0.01)


async def test_normal_feed_cut_mid_body_is_a_feed_error_with_the_last_good_seq(
    http_server: Server, proxy: FaultProxy, db_name: str
) -> None:
    await write(http_server, db_name, padded(0, 200))
    async with settee.aio.connect(proxy.url, auth=http_server.auth) as client:
        db = client.database(db_name)
        proxy.cut_in_body(5000)
        proxy.drop_all()
        got: list[Any] = []
        feed = db.changes(include_docs=True)
        with pytest.raises(settee.FeedError) as info:
            async for row in feed:
                got.append(row)
        assert 0 < len(got) < 200
        assert info.value.last_seq == got[-1]["seq"]
