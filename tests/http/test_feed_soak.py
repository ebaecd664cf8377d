"""Soak: an InfiniteFeed follows thousands of documents through a proxy that cuts every ~64 KB.

A writer thread creates ``DOCS`` documents straight on the server (every 7th
then updated, every 11th deleted) while ``db.infinite_changes()`` follows
through the fault proxy (tests/http/conftest.py). The stop rule never compares
seqs (a cluster's seqs are opaque and not comparable): the follower stops once
the writer is done and every document's final revision has been seen, and the
test fails when that has not happened within ``DEADLINE`` seconds. A row may
repeat only across a reconnection. The final revision is the writer's last one
where the server has ``strict_conflicts``; on a cluster it is what the server
holds once its copies agree (a copy behind the others may apply a create after
the delete that followed it, and the document lives on as a revision 3: seen
in the suite, and counted in the soak's summary).

* ``test_soak_follows_every_change_through_cuts``: every HTTP server.
* ``test_soak_with_a_session_cookie_that_expires_mid_run``: the proxy answers
  401 to the old cookie (PouchDB Server would let it through as anonymous,
  CouchDB answers 401), settee logs in again and the feed goes on.
* ``test_cluster_soak_with_a_node_killed``: the 3-node cluster the suite
  started; writes go through nodes 1 and 2 in turn, the follower reads node 3
  through the proxy, and node 3 is killed (SIGKILL) once a third is written
  and restarted (same data and ports) while the writes go on; the last third
  is written after it rejoined.
* ``test_since_now_and_resume_with_cluster_seqs``: ``since="now"`` and an
  InfiniteFeed's ``last_seq`` resume on the cluster's opaque seqs.

``SETTEE_SOAK_DOCS`` changes the number of documents (default 10,000).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import threading
import time
import urllib.error
from collections.abc import Callable
from typing import Any

import pytest

import settee
from tests.conftest import Server, unique_name
from tests.http.proxy import FaultProxy

pytestmark = pytest.mark.slow

DOCS = int(os.environ.get("SETTEE_SOAK_DOCS", "10000"))
BATCH = 250
CUT_EVERY = 64 * 1024
#: Seconds a soak may take before it fails (pytest's own timeout is 300).
DEADLINE = 240.0
#: What a write through a node that is being killed may raise; it is retried.
_WRITE_FAULTS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class Writer:
    """Writes the soak's documents through ``nodes`` in turn; knows each final revision.

    A batch that fails (the node died under it) is sent again through the
    next node; documents the retry finds already written (``conflict``) are
    looked up at the end, so ``final`` is exact either way: the revisions are
    deterministic (same body, same parent), so a replay never forks a document.
    """

    def __init__(self, server: Server, nodes: list[str], db: str) -> None:
        self.server = server
        self.nodes = nodes
        self.db = db
        self.final: dict[str, str] = {}
        self.unknown: set[str] = set()
        self.written = 0
        self.retries = 0
        self.done = threading.Event()
        self.error: BaseException | None = None
        #: Set by a test to hold the writes from two thirds on until it is set.
        self.gate: threading.Event | None = None
        self._turn = 0

    def bulk(self, docs: list[dict[str, Any]]) -> None:
        last: BaseException | None = None
        for _ in range(20):
            node = self.nodes[self._turn % len(self.nodes)]
            self._turn += 1
            try:
                results = self.server.raw_at(node, "POST", f"/{self.db}/_bulk_docs", {"docs": docs})
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    raise
                last = exc
            except _WRITE_FAULTS as exc:
                last = exc
            else:
                assert isinstance(results, list)
                for r in results:
                    if "rev" in r:
                        self.final[r["id"]] = r["rev"]
                        self.unknown.discard(r["id"])
                    else:
                        assert r.get("error") == "conflict", r
                        self.unknown.add(r["id"])
                return
            self.retries += 1
            time.sleep(0.5)
        raise AssertionError(f"a batch could not be written through {self.nodes}: {last!r}")

    def run(self) -> None:
        try:
            for start in range(0, DOCS, BATCH):
                if self.gate is not None and start >= 2 * DOCS // 3:
                    assert self.gate.wait(150), "the writes were held too long"
                ids = [f"doc-{i:06d}" for i in range(start, start + BATCH)]
                self.bulk([{"_id": i} for i in ids])
                edits: list[dict[str, Any]] = []
                for i, doc_id in enumerate(ids, start):
                    rev = self.final.get(doc_id)
                    if rev is None:
                        continue
                    if i % 11 == 0:
                        edits.append({"_id": doc_id, "_rev": rev, "_deleted": True})
                    elif i % 7 == 0:
                        edits.append({"_id": doc_id, "_rev": rev, "v": 2})
                self.bulk(edits)
                self.written = start + BATCH
            self.resolve_unknown()
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.done.set()

    def winners(self, ids: list[str]) -> dict[str, str]:
        """The server's winning revision of each of ``ids`` now (deleted ones too)."""
        answer = self.server.raw("POST", f"/{self.db}/_all_docs", {"keys": ids})
        assert isinstance(answer, dict)
        return {row["id"]: row["value"]["rev"] for row in answer["rows"] if "value" in row}

    def resolve_unknown(self) -> None:
        # _all_docs with keys gives the winning rev of deleted documents too.
        if not self.unknown:
            return
        keys = sorted(self.unknown)
        answer = self.server.raw("POST", f"/{self.db}/_all_docs", {"keys": keys})
        assert isinstance(answer, dict)
        for row in answer["rows"]:
            self.final[row["id"]] = row["value"]["rev"]
            self.unknown.discard(row["id"])
        assert not self.unknown, f"not found after the writes: {sorted(self.unknown)[:5]}"


class Follower:
    """Follows ``feed`` until the writer is done and every final revision was seen."""

    def __init__(self, feed: settee.InfiniteFeed[Any], writer: Writer) -> None:
        self.feed = feed
        self.writer = writer
        self.seen: set[tuple[str, str]] = set()
        self.first_conn: dict[tuple[str, str], int] = {}
        self.duplicates: list[tuple[str, str]] = []
        #: Documents whose winner on the server is not the writer's last revision.
        self.changed_by_server: dict[str, str] = {}
        self._lock = threading.Lock()
        self.complete = threading.Event()

    def missing(self) -> set[str]:
        with self._lock:
            return {i for i, rev in self.writer.final.items() if (i, rev) not in self.seen}

    def watch(self) -> None:
        # The stop rule: the writer is done and nothing is missing (checked
        # here too, for a feed sitting idle on heartbeats after its last row).
        deadline = time.monotonic() + DEADLINE
        refreshed = 0.0
        while time.monotonic() < deadline:
            if self.writer.done.is_set():
                missing = [] if self.writer.error else sorted(self.missing())
                if not missing:
                    self.complete.set()
                    break
                if time.monotonic() - refreshed > 2:
                    self.refresh(missing)
                    refreshed = time.monotonic()
            time.sleep(0.25)
        self.feed.stop()

    def refresh(self, ids: list[str]) -> None:
        # Without strict_conflicts (a cluster), a copy behind the others can
        # apply a create after the delete that followed it: the document lives
        # on as a new revision (3-...) that the writer never made. The final
        # revision is what the server holds once the copies agree.
        with contextlib.suppress(OSError):
            winners = self.writer.winners(ids)
            with self._lock:
                for doc_id, rev in winners.items():
                    if self.writer.final[doc_id] != rev:
                        self.writer.final[doc_id] = rev
                        self.changed_by_server[doc_id] = rev

    def follow(self, on_row: Callable[[int], None] | None = None) -> None:
        watcher = threading.Thread(target=self.watch, daemon=True)
        watcher.start()
        try:
            for row in self.feed:
                key = (row["id"], row["changes"][0]["rev"])
                with self._lock:
                    if key in self.first_conn:
                        # A repeat is only allowed when it came over a new connection.
                        assert self.first_conn[key] != self.feed.connections, (
                            f"duplicate within a connection: {key}"
                        )
                        self.duplicates.append(key)
                    else:
                        self.first_conn[key] = self.feed.connections
                    self.seen.add(key)
                if on_row is not None:
                    on_row(len(self.first_conn))
        finally:
            self.feed.stop()
            watcher.join(timeout=DEADLINE)

    def explain(self, ids: list[str]) -> str:
        """What the follower saw of ``ids`` and what the server's feed says of them now."""
        writer = self.writer
        seen = {i: sorted(rev for doc_id, rev in self.seen if doc_id == i) for i in ids}
        try:
            rows = writer.server.raw(
                "POST", f"/{writer.db}/_changes?filter=_doc_ids", {"doc_ids": ids}
            )
        except OSError as exc:
            rows = repr(exc)
        return f"written {[writer.final[i] for i in ids]}, seen {seen}, server's feed {rows}"

    def check(self, started: float) -> str:
        writer = self.writer
        if writer.error is not None:
            raise AssertionError(f"the writer failed: {writer.error!r}") from writer.error
        assert writer.done.is_set() and len(writer.final) == DOCS
        changed = self.changed_by_server
        if "strict_conflicts" in writer.server.capabilities:
            assert not changed, f"the server's winners are not the writes: {changed}"
        missing = self.missing()
        assert not missing, (
            f"{len(missing)} documents' final revision not seen in {DEADLINE:.0f} s, "
            f"e.g. {sorted(missing)[:5]}; {self.explain(sorted(missing)[:3])}"
        )
        return (
            f"{DOCS} docs, {len(self.first_conn)} distinct rows, {len(self.duplicates)} repeats, "
            f"{self.feed.connections} connections, {self.feed.reconnects} reconnects, "
            f"{writer.retries} write retries, {len(changed)} documents whose winner a "
            f"lagging copy made, in {time.monotonic() - started:.1f} s"
        )


def soak(server: Server, proxy: FaultProxy, db: str, auth: Any, expire_at: int | None) -> None:
    client = settee.connect(proxy.url, auth=auth, max_retries=0, backoff_factor=0)
    proxy.cut_after_bytes = CUT_EVERY
    writer = Writer(server, [server.url], db)
    feed = client[db].infinite_changes(since=0, heartbeat=1000, backoff_base=0.01, backoff_max=0.1)
    follower = Follower(feed, writer)

    def on_row(distinct: int) -> None:
        if expire_at is not None and distinct == expire_at:
            proxy.expire_sessions()

    started = time.monotonic()
    write_thread = threading.Thread(target=writer.run, daemon=True)
    write_thread.start()
    try:
        follower.follow(on_row)
    finally:
        client.disconnect()
        write_thread.join(timeout=60)
    summary = follower.check(started)
    assert feed.reconnects >= 10, "the proxy should have cut the feed many times"
    assert proxy.cuts >= 10
    print(f"soak on {server.kind}: {summary}")


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


def test_cluster_soak_with_a_node_killed(couchdb_cluster_server: Server) -> None:
    server = couchdb_cluster_server
    cluster = server.require_launched()
    assert len(server.node_urls) == 3
    db = unique_name("soak-kill")
    server.raw("PUT", f"/{db}")
    victim = 2  # the follower's node: its connection dies with it
    writer = Writer(server, list(server.node_urls[:2]), db)
    writer.gate = threading.Event()  # the last third is written once node 3 is back
    chaos: list[str] = []

    def kill_and_restart() -> None:
        # Once a third of the documents is written: SIGKILL node 3, restart it.
        try:
            while writer.written < DOCS // 3 and not writer.done.is_set():
                time.sleep(0.01)
            cluster.kill(victim)
            chaos.append(f"killed at {writer.written} docs")
            time.sleep(2)  # writes go on through nodes 1 and 2 meanwhile
            cluster.restart(victim, timeout=120)
            chaos.append(f"rejoined at {writer.written} docs")
        finally:
            assert writer.gate is not None
            writer.gate.set()

    with FaultProxy.to(server.node_urls[victim], max_lifetime=DEADLINE + 30) as proxy:
        proxy.cut_after_bytes = CUT_EVERY
        client = settee.connect(proxy.url, auth=server.auth, max_retries=0, backoff_factor=0)
        feed = client[db].infinite_changes(
            since=0, heartbeat=1000, backoff_base=0.05, backoff_max=0.5
        )
        follower = Follower(feed, writer)
        started = time.monotonic()
        threads = [
            threading.Thread(target=writer.run, daemon=True),
            threading.Thread(target=kill_and_restart, daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            follower.follow()
            summary = follower.check(started)
        finally:
            client.disconnect()
            for thread in threads:
                thread.join(timeout=150)
            server.raw("DELETE", f"/{db}")
    assert chaos[-1:] and chaos[-1].startswith("rejoined"), f"the node did not rejoin: {chaos}"
    assert feed.reconnects >= 1 and proxy.cuts >= 1
    print(f"cluster soak, node 3 {', '.join(chaos)}: {summary}")


def test_since_now_and_resume_with_cluster_seqs(couchdb_cluster_server: Server) -> None:
    server = couchdb_cluster_server
    db_name = unique_name("soak-now")
    server.raw("PUT", f"/{db_name}")
    client = settee.connect(server.url, auth=server.auth)
    before = {"docs": [{"_id": f"before-{i}"} for i in range(5)]}
    server.raw("POST", f"/{db_name}/_bulk_docs", before)
    node2 = server.node_urls[1] if len(server.node_urls) > 1 else server.url

    def follow(feed: settee.InfiniteFeed[Any], node: str, prefix: str) -> set[str]:
        """Write 5 documents through ``node`` once the feed holds a real seq; their ids seen."""
        wanted = {f"{prefix}-{i}" for i in range(5)}
        got: set[str] = set()

        def consume() -> None:
            for row in feed:
                got.add(row["id"])
                if wanted <= got:
                    feed.stop()

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while feed.last_seq in (None, "now") and time.monotonic() < deadline:
            time.sleep(0.05)  # since="now" is resolved to a concrete seq first
        assert isinstance(feed.last_seq, str) and feed.last_seq != "now", feed.last_seq
        docs = {"docs": [{"_id": i} for i in sorted(wanted)]}
        server.raw_at(node, "POST", f"/{db_name}/_bulk_docs", docs)
        thread.join(timeout=60)  # bounded: the check below fails if not all came
        feed.stop()
        thread.join(timeout=10)
        assert wanted <= got, f"never seen: {sorted(wanted - got)}"
        return got

    try:
        db = client[db_name]
        normal = db.changes(since="now")
        assert list(normal) == [] and isinstance(normal.last_seq, str)
        now = db.infinite_changes(since="now", heartbeat=500)
        got = follow(now, node2, "after")
        assert not {i for i in got if i.startswith("before-")}, "since=now replayed older writes"
        resume_from = now.last_seq
        # At least once: a feed resumed from a cluster seq may repeat rows, never lose one.
        follow(db.infinite_changes(since=resume_from, heartbeat=500), server.url, "later")
        follow(db.infinite_changes(since=normal.last_seq, heartbeat=500), node2, "again")
    finally:
        client.disconnect()
        server.raw("DELETE", f"/{db_name}")
