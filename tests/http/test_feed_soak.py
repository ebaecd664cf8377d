"""Soak: an InfiniteFeed follows 20,000 documents through a proxy that cuts every ~64 KB.

A writer thread creates 20,000 documents straight on the server (some then
updated, some deleted) while ``db.infinite_changes()`` follows through the
fault proxy. At the end the follower must have seen every document's final
revision, no seq may have gone backwards, and a row may repeat only across a
reconnection. The second test does the same with a cookie session that
expires mid-run: the proxy answers 401 to the old cookie (PouchDB Server would
let it through as anonymous, CouchDB answers 401), settee logs in again and
the feed goes on.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import settee
from tests.conftest import Server, unique_name
from tests.http.proxy import FaultProxy

pytestmark = pytest.mark.slow

DOCS = 20_000
BATCH = 500
CUT_EVERY = 64 * 1024


def seq_number(seq: Any) -> int:
    """The numeric part of a seq (PouchDB: an int; CouchDB: ``"N-opaque"``)."""
    return int(str(seq).split("-", 1)[0])


@pytest.fixture
def proxy(http_server: Server) -> Iterator[FaultProxy]:
    port = int(http_server.url.rsplit(":", 1)[1])
    with FaultProxy(port, max_lifetime=300) as p:
        yield p


@pytest.fixture
def db_name(http_server: Server) -> Iterator[str]:
    name = unique_name("soak")
    http_server.raw("PUT", f"/{name}")
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            http_server.raw("DELETE", f"/{name}")


def writer(server: Server, db: str, final: dict[str, str], done: threading.Event) -> None:
    """Create DOCS documents in batches; update every 7th, delete every 11th."""
    try:
        for start in range(0, DOCS, BATCH):
            ids = [f"doc-{i:06d}" for i in range(start, start + BATCH)]
            results = server.raw("POST", f"/{db}/_bulk_docs", {"docs": [{"_id": i} for i in ids]})
            assert isinstance(results, list)
            revs = {r["id"]: r["rev"] for r in results}
            final.update(revs)
            edits: list[dict[str, Any]] = []
            for i, doc_id in enumerate(ids, start):
                if i % 11 == 0:
                    edits.append({"_id": doc_id, "_rev": revs[doc_id], "_deleted": True})
                elif i % 7 == 0:
                    edits.append({"_id": doc_id, "_rev": revs[doc_id], "v": 2})
            results = server.raw("POST", f"/{db}/_bulk_docs", {"docs": edits})
            assert isinstance(results, list)
            final.update({r["id"]: r["rev"] for r in results})
    finally:
        done.set()


def soak(server: Server, proxy: FaultProxy, db: str, auth: Any, expire_at: int | None) -> None:
    client = settee.connect(proxy.url, auth=auth, max_retries=0, backoff_factor=0)
    proxy.cut_after_bytes = CUT_EVERY
    final: dict[str, str] = {}
    done = threading.Event()
    write_thread = threading.Thread(target=writer, args=(server, db, final, done), daemon=True)
    feed = client[db].infinite_changes(since=0, heartbeat=1000, backoff_base=0.01, backoff_max=0.1)
    watchdog = threading.Timer(170, feed.stop)
    watchdog.daemon = True
    seen: dict[str, str] = {}
    first_conn: dict[tuple[str, str], int] = {}
    duplicates: list[tuple[str, str]] = []
    previous = -1
    target: list[int] = []

    def stop_at_the_end() -> None:
        # Once the writer is done, the feed ends at the database's update_seq.
        done.wait(150)
        info = server.raw("GET", f"/{db}")
        assert isinstance(info, dict)
        target.append(seq_number(info["update_seq"]))
        if feed.last_seq is not None and seq_number(feed.last_seq) >= target[0]:
            feed.stop()

    monitor = threading.Thread(target=stop_at_the_end, daemon=True)
    started = time.monotonic()
    write_thread.start()
    monitor.start()
    watchdog.start()
    try:
        for row in feed:
            number = seq_number(row["seq"])
            assert number >= previous, f"seq went backwards: {previous} -> {row['seq']}"
            previous = number
            key = (row["id"], row["changes"][0]["rev"])
            if key in first_conn:
                # A repeat is only allowed when the row came again over a new connection.
                assert first_conn[key] != feed.connections, f"duplicate within a connection: {key}"
                duplicates.append(key)
            else:
                first_conn[key] = feed.connections
            seen[row["id"]] = row["changes"][0]["rev"]
            if expire_at is not None and len(seen) == expire_at:
                proxy.expire_sessions()
            if target and number >= target[0]:
                feed.stop()
    finally:
        watchdog.cancel()
        client.disconnect()
        write_thread.join(timeout=60)
        monitor.join(timeout=10)
    elapsed = time.monotonic() - started
    assert done.is_set() and len(final) == DOCS
    missing = {i for i, rev in final.items() if seen.get(i) != rev}
    assert not missing, (
        f"{len(missing)} documents' final revision never seen, e.g. {sorted(missing)[:5]}"
    )
    assert feed.reconnects >= 10, "the proxy should have cut the feed many times"
    assert proxy.cuts >= 10
    print(
        f"soak: {DOCS} docs, {len(first_conn)} distinct rows, {len(duplicates)} repeats, "
        f"{feed.connections} connections, {feed.reconnects} reconnects in {elapsed:.1f} s"
    )


def test_soak_follows_every_change_through_cuts(
    http_server: Server, proxy: FaultProxy, db_name: str
) -> None:
    soak(http_server, proxy, db_name, http_server.auth, expire_at=None)


def test_soak_with_a_session_cookie_that_expires_mid_run(
    http_server: Server, proxy: FaultProxy, db_name: str
) -> None:
    auth = settee.SessionAuth(http_server.user, http_server.password)
    soak(http_server, proxy, db_name, auth, expire_at=DOCS // 3)
    assert proxy.expired_answers >= 1, "the expired cookie was never presented"
