"""Change feeds against real servers, through the fault proxy (tests/http/proxy.py).

Every test runs on PouchDB Server (always) and Apache CouchDB (when
``COUCHDB_URL`` is set). settee talks to the server only through a
:class:`FaultProxy`; the test writes documents straight to the server. Faults
(cuts, stalls, refused connections, injected 5xx/429) come from the proxy,
never from patching settee.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import settee
from settee import errors
from settee.feeds.stream import HEARTBEAT
from tests.conftest import Server, settled, unique_name
from tests.http.proxy import FaultProxy


@pytest.fixture
def proxy(http_server: Server) -> Iterator[FaultProxy]:
    port = int(http_server.url.rsplit(":", 1)[1])
    with FaultProxy(port, max_lifetime=300) as p:
        yield p


@pytest.fixture
def client(http_server: Server, proxy: FaultProxy) -> Iterator[settee.Client]:
    # No transport-level retries: the feed layer must cope with every fault itself.
    c = settee.connect(proxy.url, auth=http_server.auth, max_retries=0, backoff_factor=0)
    try:
        yield c
    finally:
        c.disconnect()


@pytest.fixture
def db_name(http_server: Server) -> Iterator[str]:
    name = unique_name("feed")
    http_server.raw("PUT", f"/{name}")
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):  # the test may have deleted it
            http_server.raw("DELETE", f"/{name}")


def write(server: Server, db: str, docs: list[dict[str, Any]]) -> list[Any]:
    result = server.raw("POST", f"/{db}/_bulk_docs", {"docs": docs})
    assert isinstance(result, list)
    return result


def seed(server: Server, db: str, n: int, size: int = 0) -> None:
    # Random padding: a gzip-ing server must not shrink it below the cut points.
    for start in range(0, n, 500):
        docs = [
            {"_id": f"doc-{i:06d}", "n": i, "pad": os.urandom(size // 2 + 1).hex()[:size]}
            for i in range(start, min(n, start + 500))
        ]
        write(server, db, docs)

    def listed() -> int:
        changes = server.raw("GET", f"/{db}/_changes")
        assert isinstance(changes, dict)
        return len(changes["results"])

    ryw = "read_your_writes" in server.capabilities
    settled(listed, lambda count: count >= n, read_your_writes=ryw)


def follow(feed: Any, count: int, deadline: float = 60.0) -> list[Any]:
    """Take ``count`` rows from ``feed`` (then stop it); a watchdog stops it after ``deadline``."""
    got: list[Any] = []
    watchdog = threading.Timer(deadline, feed.stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        for row in feed:
            got.append(row)
            if len(got) >= count:
                feed.stop()
    finally:
        watchdog.cancel()
    return got


def test_normal_feed_rows_and_last_seq(
    http_server: Server, client: settee.Client, db_name: str
) -> None:
    seed(http_server, db_name, 25)
    feed = client[db_name].changes(include_docs=True)
    rows = list(feed)
    assert sorted(r["id"] for r in rows) == [f"doc-{i:06d}" for i in range(25)]
    assert all(r["doc"]["n"] == int(r["id"][4:]) for r in rows)
    assert feed.last_seq is not None
    limited = client[db_name].changes(limit=5)
    assert len(list(limited)) == 5 and limited.last_seq is not None
    # resuming from a seq gives the rest
    rest = list(client[db_name].changes(since=limited.last_seq))
    assert len(rest) == 20


def test_longpoll_waits_for_a_change(
    http_server: Server, client: settee.Client, db_name: str
) -> None:
    seed(http_server, db_name, 3)
    first = client[db_name].changes()
    assert len(list(first)) == 3
    since = first.last_seq
    feed = client[db_name].changes(feed="longpoll", since=since, heartbeat=500)
    timer = threading.Timer(0.3, write, (http_server, db_name, [{"_id": "late"}]))
    timer.start()
    rows = list(feed)
    timer.join()
    assert [r["id"] for r in rows] == ["late"]
    assert feed.last_seq is not None and feed.last_seq != since


def test_continuous_feed_and_raw_data(
    http_server: Server, client: settee.Client, db_name: str
) -> None:
    seed(http_server, db_name, 10)
    rows = follow(client[db_name].changes(feed="continuous", heartbeat=1000), 10)
    assert sorted(r["id"] for r in rows) == [f"doc-{i:06d}" for i in range(10)]
    raw_rows = follow(client[db_name].changes(feed="continuous", raw_data=True, heartbeat=1000), 10)
    assert all(isinstance(r, str) for r in raw_rows)
    raw_ids = [json.loads(r)["id"] for r in raw_rows]
    if "changes_total_order" in http_server.capabilities:
        assert raw_ids == [r["id"] for r in rows]
    else:  # each read merges the shards' rows as they come
        assert sorted(raw_ids) == sorted(r["id"] for r in rows)
    normal_raw = list(client[db_name].changes(raw_data=True, include_docs=True))
    assert all(isinstance(r, str) and json.loads(r)["doc"]["_id"] for r in normal_raw)


def test_doc_ids_filter_is_a_post(http_server: Server, client: settee.Client, db_name: str) -> None:
    seed(http_server, db_name, 10)
    wanted = ["doc-000002", "doc-000007"]
    rows = list(client[db_name].changes(doc_ids=wanted))
    assert sorted(r["id"] for r in rows) == wanted
    rows = follow(client[db_name].changes(feed="continuous", doc_ids=wanted, heartbeat=1000), 2)
    assert sorted(r["id"] for r in rows) == wanted


def test_selector_filter_is_a_post(
    http_server: Server, client: settee.Client, db_name: str
) -> None:
    http_server.require("changes_selector")
    seed(http_server, db_name, 10)
    rows = list(client[db_name].changes(selector={"n": {"$gte": 8}}))
    assert sorted(r["id"] for r in rows) == ["doc-000008", "doc-000009"]


def test_stop_from_another_thread_on_an_idle_continuous_feed(
    http_server: Server, client: settee.Client, db_name: str
) -> None:
    seed(http_server, db_name, 2)
    feed = client[db_name].changes(feed="continuous", heartbeat=1000)
    got = [next(feed), next(feed)]  # now idle: the next read blocks
    stopped_at: list[float] = []

    def stop() -> None:
        stopped_at.append(time.monotonic())
        feed.stop()

    timer = threading.Timer(0.5, stop)
    timer.start()
    rest = list(feed)
    returned = time.monotonic()
    timer.join()
    assert len(got) == 2 and rest == []
    assert returned - stopped_at[0] < 2.0  # the bound: within 2 s


def test_heartbeats_come_out_only_when_asked(
    http_server: Server, client: settee.Client, db_name: str
) -> None:
    # Opted in: an idle continuous feed hands out each heartbeat as HEARTBEAT.
    feed = client[db_name].changes(feed="continuous", since="now", heartbeat=50).with_heartbeats()
    assert feed.heartbeats  # the attribute python-cloudant's Feed sets says so too
    guard = threading.Timer(60, feed.stop)  # a bound if none ever comes
    guard.start()
    beats: list[Any] = []
    try:
        for item in feed:
            beats.append(item)
            if len(beats) == 3:
                feed.stop()
    finally:
        guard.cancel()
    assert beats == [HEARTBEAT] * 3
    assert "heartbeats" not in feed.params  # nothing new is sent to the server
    # The default: ~10 heartbeats pass unseen before the row written half a second on.
    feed = client[db_name].changes(feed="continuous", since="now", heartbeat=50)
    writer = threading.Timer(0.5, write, (http_server, db_name, [{"_id": "late"}]))
    writer.start()
    guard = threading.Timer(60, feed.stop)
    guard.start()
    try:
        first = next(feed)
        feed.stop()
    finally:
        writer.join()
        guard.cancel()
    assert first["id"] == "late"


def test_a_change_reaches_the_consumer_without_waiting_for_more_bytes(
    http_server: Server, client: settee.Client, db_name: str
) -> None:
    # With chunk_size=512 a row of ~800 bytes must be handed out as soon as it has
    # arrived, not held until more bytes come. The next bytes would be the next
    # heartbeat, a minute away: each row must arrive well before it (a deadline,
    # not a latency threshold; latency is measured in benchmarks/feeds/).
    feed = client[db_name].changes(feed="continuous", since="now", heartbeat=60000, chunk_size=512)
    seen: dict[str, float] = {}

    def consume() -> None:
        for row in feed:
            seen[row["id"]] = time.monotonic()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    time.sleep(0.5)  # the feed is open and idle
    for i in range(5):
        doc_id = f"lat-{i:02d}"
        write(http_server, db_name, [{"_id": doc_id, "pad": "y" * 700}])
        deadline = time.monotonic() + 30  # half the heartbeat interval
        while doc_id not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert doc_id in seen, f"{doc_id} was held back until more bytes came"
    feed.stop()
    thread.join(timeout=5)


def test_truncated_body_raises_feed_error_with_last_good_seq(
    http_server: Server, client: settee.Client, proxy: FaultProxy, db_name: str
) -> None:
    seed(http_server, db_name, 200, size=100)
    expected = settled(
        lambda: list(client[db_name].changes(include_docs=True)),
        lambda rows: len(rows) == 200,
        read_your_writes="read_your_writes" in http_server.capabilities,
    )
    proxy.cut_in_body(5000)  # in the middle of a chunk, well inside the results
    proxy.drop_all()  # the next request opens a new connection: the armed one
    got: list[Any] = []
    with pytest.raises(errors.FeedError) as info:
        got.extend(client[db_name].changes(include_docs=True, chunk_size=1024))
    assert 0 < len(got) < len(expected)
    if "changes_total_order" in http_server.capabilities:
        assert got == expected[: len(got)]  # no fake rows
    else:  # two reads may interleave the shards (and name other copies in seqs) differently
        rows = {r["id"]: {**r, "seq": None} for r in expected}
        assert all(rows[r["id"]] == {**r, "seq": None} for r in got)  # no fake rows
        assert len({r["id"] for r in got}) == len(got)
    assert info.value.last_seq == got[-1]["seq"]


def test_continuous_feed_cut_mid_chunk_raises_on_a_finite_feed(
    http_server: Server, client: settee.Client, proxy: FaultProxy, db_name: str
) -> None:
    seed(http_server, db_name, 100, size=100)
    proxy.cut_in_body(3000)
    proxy.drop_all()
    feed = client[db_name].changes(feed="continuous", heartbeat=1000)
    got: list[Any] = []
    with pytest.raises(errors.FeedError) as info:
        got.extend(feed)
    assert got and info.value.last_seq == got[-1]["seq"] == feed.last_seq


def test_infinite_feed_resumes_through_cuts_refusals_stalls_and_injected_errors(
    http_server: Server, proxy: FaultProxy, db_name: str
) -> None:
    # A configured feed read timeout makes a stalled connection count as dead quickly.
    c = settee.connect(
        proxy.url, auth=http_server.auth, max_retries=0, backoff_factor=0, feed_timeout=(5, 1.5)
    )
    seed(http_server, db_name, 50, size=200)
    failures: list[str] = []
    feed = c[db_name].infinite_changes(
        since=0,
        heartbeat=500,
        include_docs=True,
        backoff_base=0.05,
        backoff_max=0.2,
        on_error=lambda exc, delay: failures.append(type(exc).__name__),
    )
    proxy.cut_after_bytes = 4000  # every connection dies after ~4 KB

    def faults() -> None:
        proxy.cut_after_bytes = None
        proxy.inject_status(503, 2)
        proxy.inject_status(429, 1)
        proxy.drop_all()
        time.sleep(0.5)
        proxy.refuse_for(0.8)
        time.sleep(1.0)
        proxy.stall(3.0)
        write(http_server, db_name, [{"_id": "after-stall"}])

    seen: dict[str, Any] = {}
    fault_thread = threading.Thread(target=faults, daemon=True)
    watchdog = threading.Timer(90, feed.stop)
    watchdog.start()
    try:
        for row in feed:
            seen[row["id"]] = row
            if len(seen) == 50 and fault_thread.ident is None:
                fault_thread.start()  # phase two, once the cut-every-4-KB phase is through
            if "after-stall" in seen:
                feed.stop()
    finally:
        watchdog.cancel()
        c.disconnect()
    fault_thread.join(timeout=10)
    assert len(seen) == 51, sorted(set(f"doc-{i:06d}" for i in range(50)) - set(seen))
    assert {"FeedError", "ServerError", "TooManyRequests", "TransportError"} <= set(failures)
    assert feed.reconnects >= 5


def test_infinite_feed_stops_with_not_found_when_the_database_is_deleted(
    http_server: Server, client: settee.Client, proxy: FaultProxy, db_name: str
) -> None:
    seed(http_server, db_name, 3)
    feed = client[db_name].infinite_changes(since=0, heartbeat=500, backoff_base=0.01)
    got = [next(feed) for _ in range(3)]
    http_server.raw("DELETE", f"/{db_name}")
    proxy.drop_all()  # force a reconnect, like a server restart would
    watchdog = threading.Timer(30, feed.stop)
    watchdog.start()
    try:
        with pytest.raises(errors.NotFound):
            for _ in feed:
                pass
    finally:
        watchdog.cancel()
    assert len(got) == 3


def test_db_updates(http_server: Server, client: settee.Client) -> None:
    http_server.require("db_updates")
    name = unique_name("upd")
    feed = client.infinite_db_updates(since="now", heartbeat=500)
    got: list[Any] = []

    def consume() -> None:
        for row in feed:
            got.append(row)
            if row.get("db_name") == name:
                feed.stop()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    time.sleep(0.5)
    http_server.raw("PUT", f"/{name}")
    thread.join(timeout=30)
    feed.stop()
    http_server.raw("DELETE", f"/{name}")
    assert any(r.get("db_name") == name and r.get("type") == "created" for r in got)
    normal = client.db_updates()
    rows = list(normal)
    assert normal.last_seq is not None and all("db_name" in r for r in rows)


def test_a_read_timeout_is_a_feed_error_and_requests_connection_error(
    http_server: Server, proxy: FaultProxy, db_name: str
) -> None:
    # The fault proxy (tests/http/proxy.py, ours) holds the server's bytes past the
    # read timeout; the server itself keeps sending heartbeats, so the silence is
    # the proxy's. python-cloudant's users catch requests.ConnectionError there.
    write(http_server, db_name, [{"_id": "first"}])
    client = settee.connect(proxy.url, auth=http_server.auth, max_retries=0, feed_timeout=(10, 0.5))
    try:
        feed = client[db_name].changes(feed="continuous", heartbeat=100, since=0)
        first = next(feed)
        assert first["id"] == "first"
        proxy.stall(5.0)
        write(http_server, db_name, [{"_id": "held"}])
        with pytest.raises(errors.FeedError) as caught:
            next(feed)
    finally:
        client.disconnect()
    assert isinstance(caught.value, requests.ConnectionError)
    assert str(caught.value).endswith(
        f"HTTPConnectionPool(host='127.0.0.1', port={proxy.port}): Read timed out."
    )
    assert caught.value.last_seq == first["seq"]  # where a follower resumes
