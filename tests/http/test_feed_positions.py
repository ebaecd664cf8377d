"""Feed positions over HTTP: ``seq_interval`` null seqs, and integers beyond 64 bits (issue 8).

Item 2 uses a FAKE server: CouchDB 3.5 with ``seq_interval=N`` sends
``"seq": null`` on every row but each Nth (and a real ``last_seq``). PouchDB
Server ignores ``seq_interval`` and no CouchDB runs in this suite, so
:class:`SeqIntervalCouch` below answers ``_changes`` in CouchDB's exact
layout (continuous lines, normal/longpoll bodies, heartbeats, chunked) and
the loopback fault proxy resets and cuts the connections in between.

Item 6: a document holding 123456789012345678901234567890 through normal,
longpoll (``since="now"`` while another thread writes), continuous and
infinite feeds, with ``include_docs``. CouchDB (Erlang) keeps such an integer
exact, but PouchDB Server is JavaScript and stores it as a double
(``1.2345678901234568e+29``), so exactness is shown on the same fake (which
sends the integer as CouchDB does); on the real servers each feed row must
equal ``json.loads`` of what the server itself sends for the document.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import settee
from settee.feeds.checkpoints import MemoryCheckpoint
from tests.conftest import Server, settled, unique_name
from tests.http.proxy import FaultProxy

BIG = 123456789012345678901234567890
INTERVAL = 10


def seq_of(n: int) -> str:
    """An opaque CouchDB-3-style seq for the n-th change."""
    return f"{n}-g1AAAAFTeJzLYWBg4MhgTmHgz8tPSTV0MDQy{n:08x}"


class SeqIntervalCouch:
    """A fake CouchDB 3.5 ``_changes`` honouring ``seq_interval`` the way it does.

    ``write()`` appends a change (a new document); requests with ``since=``
    get the changes after it. Within one response only every
    ``seq_interval``-th row carries its seq, the others ``"seq": null``.
    """

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        self.requests: list[dict[str, str]] = []
        self.following = threading.Event()
        self.longpolling = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with contextlib.suppress(OSError):
                    fake.answer(self)

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> SeqIntervalCouch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        with self.cond:
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def write(self, doc: dict[str, Any]) -> None:
        with self.cond:
            self.docs.append(doc)
            self.cond.notify_all()

    # -- HTTP -----------------------------------------------------------------------
    def answer(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/":
            self.json(h, {"couchdb": "Welcome", "version": "3.5.0", "vendor": {"name": "ASF"}})
        elif url.path == "/db":
            self.json(h, {"db_name": "db", "update_seq": seq_of(len(self.docs))})
        elif url.path == "/db/_changes":
            self.requests.append(query)
            self.changes(h, query)
        else:
            self.json(h, {"error": "not_found", "reason": "missing"}, 404)

    def json(self, h: BaseHTTPRequestHandler, value: Any, status: int = 200) -> None:
        payload = json.dumps(value).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(payload)

    def changes(self, h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
        since = q.get("since", "0")
        with self.cond:
            start = len(self.docs) if since == "now" else int(since.split("-", 1)[0])
        interval = int(q.get("seq_interval", "1"))
        heartbeat = int(q.get("heartbeat", "0")) / 1000 or None
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

        def send(data: bytes) -> None:
            if not data:
                return  # an empty chunk would end the body
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()

        count = 0

        def row(i: int) -> bytes:
            nonlocal count
            count += 1
            doc = self.docs[i]
            out: dict[str, Any] = {
                "seq": seq_of(i + 1) if count % interval == 0 else None,
                "id": doc["_id"],
                "changes": [{"rev": doc["_rev"]}],
            }
            if q.get("include_docs") == "true":
                out["doc"] = doc
            return json.dumps(out, separators=(",", ":")).encode()

        feed = q.get("feed", "normal")
        pos = start
        if feed == "continuous":
            self.following.set()
            while not self.stopping.is_set():
                with self.cond:
                    if pos >= len(self.docs):
                        self.cond.wait(heartbeat)
                    end = len(self.docs)
                if pos == end:
                    send(b"\n")  # heartbeat
                    continue
                send(b"".join(row(i) + b"\n" for i in range(pos, end)))
                pos = end
            return
        if feed == "longpoll":
            with self.cond:
                self.longpolling.set()
                while len(self.docs) <= start and not self.stopping.is_set():
                    self.cond.wait(0.2)
        with self.cond:
            end = len(self.docs)
        send(b'{"results":[\n')
        send(b",\r\n".join(row(i) for i in range(pos, end)))
        send(b'\n],\n"last_seq":"%s","pending":0}\n' % seq_of(end).encode())
        h.wfile.write(b"0\r\n\r\n")


class RecordingCheckpoint(MemoryCheckpoint):
    def __init__(self) -> None:
        super().__init__()
        self.saved: list[Any] = []

    def save(self, seq: Any) -> None:
        self.saved.append(seq)
        super().save(seq)


@pytest.fixture
def couch() -> Iterator[SeqIntervalCouch]:
    with SeqIntervalCouch() as fake:
        yield fake


@pytest.fixture
def proxy(couch: SeqIntervalCouch) -> Iterator[FaultProxy]:
    with FaultProxy(couch.port, max_lifetime=300) as p:
        yield p


def new_doc(number: int, **fields: Any) -> dict[str, Any]:
    return {"_id": f"doc-{number:05d}", "_rev": f"1-{number:032x}", **fields}


def follow(
    couch: SeqIntervalCouch,
    proxy: FaultProxy,
    *,
    since: Any,
    total: int,
    preload: int = 0,
    reset_every: int | None = None,
) -> tuple[dict[str, int], int, settee.InfiniteFeed, RecordingCheckpoint]:
    """Follow until every change after ``since`` is seen (bounded); check the
    at-least-once window: a row may come again only if it came after the last
    real seq before a reconnect."""
    for n in range(preload):
        couch.write(new_doc(n))
    client = settee.connect(proxy.url, max_retries=0, backoff_factor=0)
    checkpoint = RecordingCheckpoint()
    feed = client["db"].infinite_changes(
        since=since,
        seq_interval=INTERVAL,
        heartbeat=200,
        backoff_base=0,
        backoff_max=0,
        checkpoint=checkpoint,
    )
    expected = {f"doc-{n:05d}" for n in range(preload if since == "now" else 0, preload + total)}

    progress = threading.Condition()

    def writer() -> None:
        couch.following.wait(30)  # since="now" is pinned before the continuous request
        for start in range(preload, preload + total, 30):
            for n in range(start, min(start + 30, preload + total)):
                couch.write(new_doc(n))
            want = min(start + 30, preload + total) - preload

            def caught_up(want: int = want) -> bool:
                return len(seen) >= want

            with progress:  # paced by the follower, so resets land mid-feed (bounded)
                progress.wait_for(caught_up, 10)

    watchdog = threading.Timer(60, feed.stop)  # only a broken feed lasts that long
    watchdog.daemon = True
    thread = threading.Thread(target=writer, daemon=True)
    seen: dict[str, int] = {}
    after_real: list[str] = []  # rows handed out since the last real seq
    window: set[str] = set()
    connection = -1
    rows = 0
    thread.start()
    watchdog.start()
    try:
        for row in feed:
            rows += 1
            if feed.connections != connection:
                connection = feed.connections
                window = set(after_real)
            doc_id = row["id"]
            if doc_id in seen:
                assert doc_id in window, f"{doc_id} came again from outside the window"
            with progress:
                seen[doc_id] = seen.get(doc_id, 0) + 1
                progress.notify_all()
            if row["seq"] is None:
                after_real.append(doc_id)
            else:
                after_real = []
            if reset_every and rows % reset_every == 0 and row["seq"] is None:
                proxy.drop_all()  # a reset right after a "seq": null row
            if expected <= set(seen) or rows > 20 * len(expected):
                break
    finally:
        feed.stop()
        watchdog.cancel()
        thread.join(timeout=30)
        client.disconnect()
    lost = expected - set(seen)
    assert not lost, f"{len(lost)} of {len(expected)} changes never delivered"
    assert set(seen) <= expected, "a change from before since='now' was delivered"
    repeats = sum(seen.values()) - len(seen)
    assert repeats <= feed.reconnects * (INTERVAL - 1)
    assert None not in checkpoint.saved
    assert all(str(seq).split("-", 1)[1].startswith("g1AAAA") for seq in checkpoint.saved)
    return seen, repeats, feed, checkpoint


def test_since_now_through_resets_loses_nothing(couch: SeqIntervalCouch, proxy: FaultProxy) -> None:
    _, _, feed, _ = follow(couch, proxy, since="now", total=600, preload=50, reset_every=17)
    assert feed.reconnects >= 5, "the proxy should have reset the feed many times"


def test_since_now_through_cuts_loses_nothing(couch: SeqIntervalCouch, proxy: FaultProxy) -> None:
    proxy.cut_after_bytes = 4000  # every connection: about 50 rows, then cut
    _, _, feed, _ = follow(couch, proxy, since="now", total=600, preload=50)
    assert proxy.cuts >= 5 and feed.reconnects >= 5


def test_since_zero_with_seq_interval_through_cuts_terminates(
    couch: SeqIntervalCouch, proxy: FaultProxy
) -> None:
    proxy.cut_after_bytes = 4000
    _, _, feed, checkpoint = follow(couch, proxy, since=0, total=100, preload=500)
    assert checkpoint.saved and feed.reconnects >= 5


def test_normal_and_longpoll_feeds_take_the_body_last_seq(
    couch: SeqIntervalCouch, proxy: FaultProxy
) -> None:
    for n in range(25):
        couch.write(new_doc(n))
    client = settee.connect(proxy.url)
    for feed_kind in ("normal", "longpoll"):
        feed = client["db"].changes(feed=feed_kind, since=0, seq_interval=INTERVAL)
        positions = [feed.last_seq for _ in feed]
        assert positions[:9] == [None] * 9 and positions[9] == seq_of(10)
        assert positions[-1] == seq_of(20)
        assert feed.last_seq == seq_of(25)
    client.disconnect()


def test_an_overflow_after_null_seqs_is_asked_again_without_repeats(
    couch: SeqIntervalCouch,
) -> None:
    # Past the first real seq the body is asked again from it: the rows after
    # it that were already handed out (seq null) must not come twice.
    for n in range(30):
        couch.write(new_doc(n, n=BIG if n == 13 else n))
    client = settee.connect(f"http://127.0.0.1:{couch.port}")
    rows = list(client["db"].changes(since=0, seq_interval=INTERVAL, include_docs=True))
    assert [r["id"] for r in rows] == [f"doc-{n:05d}" for n in range(30)]
    assert rows[13]["doc"]["n"] == BIG and type(rows[13]["doc"]["n"]) is int
    assert [r.get("since") for r in couch.requests] == ["0", seq_of(10)]
    client.disconnect()


# -- integers beyond 64 bits ------------------------------------------------------------


def assert_exact(row: dict[str, Any]) -> None:
    assert row["doc"]["n"] == BIG and type(row["doc"]["n"]) is int


def test_big_integers_in_normal_feeds(couch: SeqIntervalCouch) -> None:
    couch.write(new_doc(0, n=BIG))  # the first row: read again in place
    couch.write(new_doc(1, n=1))
    couch.write(new_doc(2, n=BIG))  # after a real seq: asked again from it
    client = settee.connect(f"http://127.0.0.1:{couch.port}")
    rows = list(client["db"].changes(include_docs=True))
    assert [r["id"] for r in rows] == ["doc-00000", "doc-00001", "doc-00002"]
    assert_exact(rows[0])
    assert_exact(rows[2])
    client.disconnect()


def test_big_integers_in_a_longpoll_since_now(couch: SeqIntervalCouch) -> None:
    couch.write(new_doc(0))

    def writer() -> None:
        couch.longpolling.wait(30)  # the longpoll has pinned "now" and waits
        couch.write(new_doc(1, n=BIG))

    client = settee.connect(f"http://127.0.0.1:{couch.port}")
    feed = client["db"].changes(feed="longpoll", since="now", include_docs=True)
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    rows = list(feed)
    thread.join(timeout=30)
    assert [r["id"] for r in rows] == ["doc-00001"], "the change was lost"
    assert_exact(rows[0])
    assert [r.get("since") for r in couch.requests] == ["now"], "the body was asked again"
    client.disconnect()


def test_big_integers_in_continuous_and_infinite_feeds(couch: SeqIntervalCouch) -> None:
    couch.write(new_doc(0, n=BIG))
    client = settee.connect(f"http://127.0.0.1:{couch.port}")
    db = client["db"]
    for raw in (False, True):
        with db.changes(feed="continuous", include_docs=True, raw_data=raw) as feed:
            row = next(iter(feed))
        assert_exact(json.loads(row) if raw else row)
    for kind in ("continuous", "longpoll"):
        with db.infinite_changes(since=0, include_docs=True, feed=kind) as infinite:
            assert_exact(next(infinite))
    client.disconnect()


@pytest.fixture
def real_db(http_server: Server) -> Iterator[tuple[Server, settee.Database]]:
    client = settee.connect(http_server.url, auth=http_server.auth)
    db = client.create_database(unique_name("bigint"))
    try:
        yield http_server, db
    finally:
        with contextlib.suppress(Exception):
            client.delete_database(db.database_name)
        client.disconnect()


def test_big_integers_arrive_as_the_server_sends_them(
    real_db: tuple[Server, settee.Database],
) -> None:
    server, db = real_db
    db.create_document({"_id": "a", "n": BIG})
    db.create_document({"_id": "b", "n": 1})
    db.create_document({"_id": "c", "n": BIG, "m": -(2**70)})
    name = db.database_name
    sent = {i: server.raw("GET", f"/{name}/{i}") for i in "abc"}  # json.loads of the body
    if server.kind.startswith("couchdb"):
        assert sent["a"]["n"] == BIG  # type: ignore[index]
    ryw = "read_your_writes" in server.capabilities  # a cluster copy may lag the writes
    settled(lambda: list(db.changes()), lambda rows: len(rows) == 3, read_your_writes=ryw)
    feeds = [
        list(db.changes(include_docs=True)),
        list(db.changes(feed="longpoll", since=0, include_docs=True)),
    ]
    with db.changes(feed="continuous", include_docs=True, heartbeat=1000) as feed:
        feeds.append([row for _, row in zip(range(3), feed, strict=False)])
    with db.infinite_changes(since=0, include_docs=True) as infinite:
        feeds.append([next(infinite) for _ in range(3)])
    for rows in feeds:
        assert {r["id"]: r["doc"] for r in rows} == sent
