"""settee.http.AsyncTransport against PouchDB Server, and through the fault proxy."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

import settee
from settee import errors
from settee.http.async_transport import AsyncTransport
from settee.http.options import TransportOptions
from settee.http.retry import NOTHING_SENT, SENT, RetryPolicy
from tests.aio.conftest import SlowSteps
from tests.conftest import Server, unique_name
from tests.http.proxy import FaultProxy

pytestmark = pytest.mark.anyio


async def test_json_errors_and_ids(pouchdb_server: Server) -> None:
    async with await AsyncTransport.open(pouchdb_server.url, auth=pouchdb_server.auth) as t:
        db = unique_name("at")
        assert (await t.json("PUT", (db,)))["ok"] is True
        with pytest.raises(errors.PreconditionFailed):
            await t.json("PUT", (db,))
        # ".." and "a/b" stay one segment each: no id reaches another endpoint.
        for docid in ("..", "a/b", "é ?#"):
            answer = await t.json("PUT", (db, docid), json_body={"n": 1})
            assert answer["id"] == docid
            assert (await t.json("GET", (db, docid)))["_id"] == docid
        with pytest.raises(errors.NotFound):
            await t.json("GET", (db, "missing"))
        with pytest.raises(TypeError):
            await t.json("PUT", (db, "x"), json_body={"bad": object()})
        await t.json("DELETE", (db,))


async def test_streamed_body(pouchdb_server: Server) -> None:
    async with await AsyncTransport.open(pouchdb_server.url, auth=pouchdb_server.auth) as t:
        db = unique_name("at")
        await t.json("PUT", (db,))
        await t.json("POST", (db, "_bulk_docs"), json_body={"docs": [{"n": i} for i in range(50)]})
        response = await t.request("GET", (db, "_all_docs"), stream=True)
        body = b"".join([block async for block in response.aiter_bytes()])
        await response.aclose()
        assert body.count(b'"id"') == 50
        await t.json("DELETE", (db,))


@pytest.fixture
def proxy(pouchdb_server: Server) -> Iterator[FaultProxy]:
    with FaultProxy(int(pouchdb_server.url.rsplit(":", 1)[1])) as running:
        yield running


async def test_retries_a_read_not_a_write(pouchdb_server: Server, proxy: FaultProxy) -> None:
    options = TransportOptions(backoff_factor=0.01)
    async with await AsyncTransport.open(proxy.url, auth=pouchdb_server.auth, options=options) as t:
        db = unique_name("at")
        await t.json("PUT", (db,))
        # Injected answers go to new connections: drop the pooled one first.
        proxy.drop_all()
        proxy.inject_status(503, 2)
        assert (await t.json("GET", (db,)))["db_name"] == db  # replayed after two 503s
        proxy.drop_all()
        proxy.inject_status(503, 1)
        with pytest.raises(errors.ServerError) as refused:
            await t.json("POST", (db,), json_body={"n": 1})  # a POST may have applied
        assert refused.value.status == 503
        proxy.drop_all()
        proxy.inject_status(429, 1)
        assert (await t.json("POST", (db,), json_body={"n": 2}))["ok"]  # 429: not processed
        await t.json("DELETE", (db,))


async def test_a_write_after_the_server_closed_idle_connections_goes_out_once(
    pouchdb_server: Server, proxy: FaultProxy
) -> None:
    # Servers close idle keep-alive connections (Node after 5 s): a POST must not be sent
    # on such a connection (it would fail after being written, and is never replayed).
    async with await AsyncTransport.open(proxy.url, auth=pouchdb_server.auth) as t:
        db = unique_name("at")
        await t.json("PUT", (db,))
        for n in range(5):
            proxy.drop_all()
            assert (await t.json("POST", (db,), json_body={"n": n}))["ok"]
        assert (await t.json("GET", (db,)))["doc_count"] == 5
        await t.json("DELETE", (db,))


async def test_a_put_or_delete_cut_before_its_answer_is_replayed_by_settee_only(
    pouchdb_server: Server, proxy: FaultProxy
) -> None:
    # aiohttp 3.10+ re-sends a PUT/DELETE itself, once and silently, when the connection
    # drops before the answer: an attempt settee's policy never saw. A PUT without rev=
    # (which settee never replays) went out twice; a replay's 409 was not marked replayed.
    options = TransportOptions(backoff_factor=0.01)
    async with await AsyncTransport.open(proxy.url, auth=pouchdb_server.auth, options=options) as t:
        db = unique_name("at")
        await t.json("PUT", (db,))
        proxy.cut_request(f"PUT /{db}/d ".encode())
        with pytest.raises(errors.TransportError):  # applied, unanswered: not replayed
            await t.json("PUT", (db, "d"), json_body={"n": 1})
        rev = (await t.json("GET", (db, "d")))["_rev"]
        assert rev.startswith("1-")
        proxy.cut_request(f"PUT /{db}/d?rev=".encode())
        with pytest.raises(errors.Conflict) as replayed:  # replayable: settee replays it
            await t.json("PUT", (db, "d"), params={"rev": rev}, json_body={"n": 2})
        assert replayed.value.replayed  # ...and knows the 409 met the first attempt's write
        await t.json("DELETE", (db,))
    once = TransportOptions(max_retries=0)
    async with await AsyncTransport.open(proxy.url, auth=pouchdb_server.auth, options=once) as t:
        db = unique_name("at")
        await t.json("PUT", (db,))
        rev = (await t.json("PUT", (db, "d"), json_body={"n": 1}))["rev"]
        proxy.cut_request(f"DELETE /{db}/d?rev=".encode())
        with pytest.raises(errors.TransportError):  # max_retries=0: sent once
            await t.json("DELETE", (db, "d"), params={"rev": rev})
        with pytest.raises(errors.NotFound):
            await t.json("GET", (db, "d"))
        await t.json("DELETE", (db,))


async def test_connection_refused_is_a_transport_error() -> None:
    options = TransportOptions(max_retries=1, backoff_factor=0.01)
    async with await AsyncTransport.open("http://127.0.0.1:9", options=options) as t:
        with pytest.raises(errors.TransportError):
            await t.json("GET", ())


def test_next_attempt_is_the_sync_rules() -> None:
    policy = RetryPolicy(
        total=2,
        connect=2,
        read=2,
        status=2,
        status_forcelist=(503,),
        allowed_methods=None,
        raise_on_status=False,
        backoff_factor=0.0,
    )
    url = "http://h/db/doc"
    assert policy.next_attempt("GET", url, status=503, headers={}) is not None
    assert policy.next_attempt("POST", url, status=503, headers={}) is None
    assert policy.next_attempt("POST", url, status=200, headers={}) is None
    assert policy.next_attempt("POST", url, failure=NOTHING_SENT) is not None
    assert policy.next_attempt("POST", url, failure=SENT) is None
    assert policy.next_attempt("PUT", url + "?rev=1-a", failure=SENT) is not None
    following, _ = policy.next_attempt("GET", url, failure=SENT) or (None, 0)
    assert following is not None
    twice, _ = following.next_attempt("GET", url, failure=SENT) or (None, 0)
    assert twice is None or twice.next_attempt("GET", url, failure=SENT) is None


async def test_backoff_does_not_block_the_loop() -> None:
    # Two refused connections back off with asyncio.sleep: a ticker keeps running.
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    options = TransportOptions(max_retries=2, backoff_factor=0.1)
    async with await AsyncTransport.open("http://127.0.0.1:9", options=options) as t:
        with pytest.raises(errors.TransportError):
            await t.json("GET", ())
    task.cancel()
    assert time.monotonic() - started > 0.1  # it did wait
    assert ticks >= 5


async def test_the_loop_check_catches_a_blocking_sleep(loop_never_blocks: SlowSteps) -> None:
    # The check this directory relies on: a coroutine that blocks (a sync sleep) is caught.
    time.sleep(0.001)
    await asyncio.sleep(0)
    assert any("time.sleep" in seen for seen in loop_never_blocks.seen)
    loop_never_blocks.seen.clear()  # expected here; any other test fails on it


async def test_the_loop_check_catches_blocking_socket_io(loop_never_blocks: SlowSteps) -> None:
    # A sync HTTP client's way of talking: a blocking socket, used on the loop's thread.
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"
    await asyncio.sleep(0)
    assert any("socket.sendall on a blocking socket" in seen for seen in loop_never_blocks.seen)
    loop_never_blocks.seen.clear()


async def test_the_loop_check_passes_non_blocking_sockets(loop_never_blocks: SlowSteps) -> None:
    # The loop's own sockets are non-blocking: streams over them are not reported.
    left, right = socket.socketpair()
    _reader, writer = await asyncio.open_connection(sock=left)
    right.setblocking(False)
    writer.write(b"ping")
    await writer.drain()
    loop = asyncio.get_running_loop()
    assert await loop.sock_recv(right, 4) == b"ping"
    writer.close()
    await writer.wait_closed()
    right.close()
    assert loop_never_blocks.seen == []


async def test_the_loop_check_catches_an_embedded_store_used_on_the_loop(
    loop_never_blocks: SlowSteps,
) -> None:
    # The sync embedded backend used from a coroutine (not through settee.aio's threads).
    client = settee.connect("memory:")
    client.create_database(unique_name("onloop"))
    await asyncio.sleep(0)
    assert any("MemoryStorage.write()" in seen for seen in loop_never_blocks.seen)
    loop_never_blocks.seen.clear()
