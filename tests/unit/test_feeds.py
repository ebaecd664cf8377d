"""Feed / InfiniteFeed logic (settee.feeds) over a fake backend.

The fake backend below is not a server: it hands out scripted change streams
(rows, then an end, an error, or a block until close()) so reconnect, resume,
backoff and checkpoint ordering can be checked exactly and offline. The same
behaviour over real servers and the fault proxy is in tests/http/.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import settee
from settee import errors
from settee.feeds.checkpoints import FileCheckpoint, LocalDocumentCheckpoint, MemoryCheckpoint
from settee.feeds.feed import (
    InfiniteFeed,
    changes_feed,
    db_updates_feed,
    infinite_changes_feed,
    infinite_db_updates_feed,
)
from settee.feeds.options import INFINITE_HEARTBEAT_MS

BLOCK = object()  # script item: block until close()


class ScriptedStream:
    """A ChangesStream that yields a script: rows, exceptions to raise, BLOCK."""

    def __init__(self, script: list[Any], last_seq: Any = None, pending: int | None = None) -> None:
        self.script = script
        self.final_last_seq = last_seq
        self.final_pending = pending
        self.last_seq: Any = None
        self.pending: int | None = None
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[Any]:
        for item in self.script:
            if self.closed.is_set():
                return
            if item is BLOCK:
                self.closed.wait(10)
                return
            if isinstance(item, BaseException):
                raise item
            yield item
        self.last_seq = self.final_last_seq
        self.pending = self.final_pending

    def close(self) -> None:
        self.closed.set()


class FakeBackend:
    """Hands out the next scripted stream (or raises the next scripted error) per open."""

    kind = "fake"
    url = "fake:"
    capabilities = frozenset({"changes_selector"})

    def __init__(self, streams: list[Any]) -> None:
        self.streams = list(streams)
        self.opened: list[dict[str, Any]] = []
        self.bodies: list[Any] = []

    def _next(self, params: dict[str, Any]) -> Any:
        self.opened.append(dict(params))
        item = self.streams.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def changes(
        self,
        db: str,
        params: dict[str, Any],
        *,
        body: Any = None,
        raw: bool = False,
        chunk_size: int = 65536,
    ) -> Any:
        self.bodies.append(body)
        return self._next(params)

    def db_updates(
        self, params: dict[str, Any], *, raw: bool = False, chunk_size: int = 65536
    ) -> Any:
        return self._next(params)


class FakeDB:
    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend
        self.database_name = "db"


def rows(*seqs: int) -> list[dict[str, Any]]:
    return [{"seq": s, "id": f"d{s}", "changes": [{"rev": f"1-{s}"}]} for s in seqs]


# -- Feed ------------------------------------------------------------------------------


def test_feed_rows_then_server_last_seq() -> None:
    backend = FakeBackend([ScriptedStream(rows(1, 2, 3), last_seq=5, pending=0)])
    feed = changes_feed(FakeDB(backend), include_docs=True)
    assert backend.opened == []  # nothing is sent before iteration
    seen = []
    for row in feed:
        seen.append(row["seq"])
        assert feed.last_seq == row["seq"]
    assert seen == [1, 2, 3]
    assert feed.last_seq == 5 and feed.pending == 0
    assert backend.opened == [{"feed": "normal", "include_docs": True}]
    assert list(feed) == []


def test_feed_raw_rows_track_seq() -> None:
    texts = [json.dumps(r) for r in rows(7, 8)]
    backend = FakeBackend([ScriptedStream(texts, last_seq=8)])
    feed = changes_feed(FakeDB(backend), raw_data=True)
    assert next(feed) == texts[0] and feed.last_seq == 7
    assert list(feed) == [texts[1]] and feed.last_seq == 8


def test_feed_error_carries_last_seq_and_ends() -> None:
    stream = ScriptedStream([*rows(1, 2), errors.FeedError("broke", last_seq=2)])
    feed = changes_feed(FakeDB(FakeBackend([stream])))
    got = []
    with pytest.raises(errors.FeedError) as info:
        got.extend(feed)
    assert [r["seq"] for r in got] == [1, 2] and info.value.last_seq == 2 == feed.last_seq
    assert stream.closed.is_set()
    assert list(feed) == []


def test_feed_stop_from_another_thread_unblocks() -> None:
    stream = ScriptedStream([*rows(1), BLOCK])
    feed = changes_feed(FakeDB(FakeBackend([stream])), feed="continuous")
    assert next(feed)["seq"] == 1
    timer = threading.Timer(0.2, feed.stop)
    timer.start()
    started = time.monotonic()
    assert list(feed) == []
    assert time.monotonic() - started < 5
    assert stream.closed.is_set() and feed.stopped
    timer.join()


def test_feed_context_manager_stops() -> None:
    stream = ScriptedStream([*rows(1, 2), BLOCK])
    with changes_feed(FakeDB(FakeBackend([stream])), feed="continuous") as feed:
        assert next(feed)["seq"] == 1
    assert stream.closed.is_set()


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"bogus": 1}, TypeError, "bogus"),
        ({"feed": "eventsource"}, ValueError, "feed"),
        ({"since": 1.5}, TypeError, "since"),
        ({"since": -1}, ValueError, "since"),
        ({"limit": "10"}, TypeError, "limit"),
        ({"limit": -1}, ValueError, "limit"),
        ({"include_docs": "yes"}, TypeError, "include_docs"),
        ({"heartbeat": 0}, ValueError, "heartbeat"),
        ({"timeout": "1"}, TypeError, "timeout"),
        ({"doc_ids": "abc"}, TypeError, "doc_ids"),
        ({"doc_ids": ["a"], "selector": {}}, ValueError, "not both"),
        ({"doc_ids": ["a"], "filter": "ddoc/f"}, ValueError, "filter"),
        ({"selector": ["a"]}, TypeError, "selector"),
        ({"style": "odd"}, ValueError, "style"),
        ({"seq_interval": 0}, ValueError, "seq_interval"),
        ({"chunk_size": 0}, ValueError, "chunk_size"),
        ({"raw_data": 1}, TypeError, "raw_data"),
        ({"query_params": {"since": 1}}, ValueError, "since"),
    ],
)
def test_options_are_checked_before_any_request(
    options: dict[str, Any], error: type[Exception], match: str
) -> None:
    backend = FakeBackend([])
    with pytest.raises(error, match=match):
        changes_feed(FakeDB(backend), **options)
    assert backend.opened == []


def test_doc_ids_selector_view_and_query_params_encoding() -> None:
    backend = FakeBackend([ScriptedStream([], 0) for _ in range(4)])
    db = FakeDB(backend)
    list(changes_feed(db, doc_ids=["a", "b"]))
    list(changes_feed(db, selector={"type": "x"}))
    list(changes_feed(db, view="d/v"))
    list(changes_feed(db, filter="d/f", query_params={"k": "v"}, since="now", heartbeat=True))
    assert backend.bodies[:2] == [{"doc_ids": ["a", "b"]}, {"selector": {"type": "x"}}]
    assert backend.opened[0]["filter"] == "_doc_ids"
    assert backend.opened[1]["filter"] == "_selector"
    assert backend.opened[2] == {"feed": "normal", "filter": "_view", "view": "d/v"}
    assert backend.opened[3] == {
        "feed": "normal",
        "filter": "d/f",
        "k": "v",
        "since": "now",
        "heartbeat": True,
    }


def test_db_updates_options() -> None:
    backend = FakeBackend(
        [ScriptedStream([{"db_name": "a", "type": "created", "seq": "1-x"}], "1-x")]
    )
    feed = db_updates_feed(FakeDB(backend), feed="longpoll", since="now", descending=False)
    assert [r["db_name"] for r in feed] == ["a"] and feed.last_seq == "1-x"
    with pytest.raises(TypeError, match="include_docs"):
        db_updates_feed(FakeDB(backend), include_docs=True)


# -- InfiniteFeed ------------------------------------------------------------------------


def test_infinite_resumes_from_last_yielded_seq_after_each_kind_of_failure() -> None:
    backend = FakeBackend(
        [
            ScriptedStream([*rows(1, 2), errors.FeedError("cut mid-chunk")]),
            errors.TransportError("connection refused"),
            errors.ServerError("boom", status=503),
            errors.TooManyRequests("slow down"),
            ScriptedStream([*rows(3), errors.TransportError("reset")]),
            ScriptedStream([*rows(4, 5), BLOCK]),
        ]
    )
    delays: list[float] = []
    feed = infinite_changes_feed(
        FakeDB(backend),
        since=0,
        include_docs=True,
        on_error=lambda exc, delay: delays.append(delay),
        backoff_base=0.001,
        backoff_max=0.004,
    )
    seen = []
    for row in feed:
        seen.append(row["seq"])
        if row["seq"] == 5:
            feed.stop()
    assert seen == [1, 2, 3, 4, 5]
    assert [p["since"] for p in backend.opened] == [0, 2, 2, 2, 2, 3]
    assert all(
        p["feed"] == "continuous" and p["heartbeat"] == INFINITE_HEARTBEAT_MS
        for p in backend.opened
    )
    assert len(delays) == 5 and all(0 <= d <= 0.004 for d in delays)
    assert feed.connections == 3 and feed.reconnects == 5


@pytest.mark.parametrize(
    "terminal",
    [
        errors.BadRequest("bad"),
        errors.Unauthorized("expired and re-login failed"),
        errors.Forbidden("no"),
        errors.NotFound("Database does not exist."),
        errors.NotSupported("no _db_updates here"),
        errors.CouchError("teapot", status=418),
    ],
)
def test_infinite_stops_on_terminal_errors(terminal: Exception) -> None:
    backend = FakeBackend([ScriptedStream([*rows(1), errors.FeedError("cut")]), terminal])
    feed = infinite_changes_feed(FakeDB(backend), backoff_base=0)
    assert next(feed)["seq"] == 1
    with pytest.raises(type(terminal)):
        next(feed)
    assert len(backend.opened) == 2


def test_infinite_max_reconnects_raises_the_last_error() -> None:
    failures = [errors.TransportError(f"refused {i}") for i in range(4)]
    feed = infinite_changes_feed(FakeDB(FakeBackend(failures)), max_reconnects=2, backoff_base=0)
    with pytest.raises(errors.TransportError, match="refused 2"):
        next(feed)


def test_backoff_is_full_jitter_and_capped() -> None:
    feed = InfiniteFeed(
        lambda p: ScriptedStream([]), {}, backoff_base=0.5, backoff_max=4.0, rng=lambda: 1.0
    )
    assert [feed.backoff(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert feed.backoff(10_000) == 4.0
    zero = InfiniteFeed(lambda p: ScriptedStream([]), {}, rng=lambda: 0.0)
    assert zero.backoff(5) == 0.0


def test_stop_during_backoff_returns_promptly() -> None:
    backend = FakeBackend([errors.TransportError("down")] * 3)
    feed = infinite_changes_feed(FakeDB(backend), backoff_base=60, backoff_max=60)
    feed.state.rng = lambda: 1.0  # always the full minute
    timer = threading.Timer(0.2, feed.stop)
    timer.start()
    started = time.monotonic()
    assert list(feed) == []
    assert time.monotonic() - started < 5
    timer.join()


def test_longpoll_answers_chain_from_the_server_last_seq() -> None:
    backend = FakeBackend(
        [
            ScriptedStream(rows(1), last_seq=1),
            ScriptedStream([], last_seq=9),
            ScriptedStream([*rows(10), BLOCK]),
        ]
    )
    store = MemoryCheckpoint()
    feed = infinite_changes_feed(FakeDB(backend), feed="longpoll", checkpoint=store)
    assert next(feed)["seq"] == 1
    assert next(feed)["seq"] == 10
    assert [p["since"] for p in backend.opened if "since" in p] == [1, 9]
    assert store.seq == 9  # the empty answer moved the checkpoint on
    feed.stop()


def test_checkpoint_is_saved_after_the_consumer_took_the_row() -> None:
    store = MemoryCheckpoint()
    backend = FakeBackend([ScriptedStream([*rows(1, 2, 3), BLOCK])])
    feed = infinite_changes_feed(FakeDB(backend), checkpoint=store)
    assert next(feed)["seq"] == 1
    assert store.seq is None  # row 1 handed out, not yet processed
    assert next(feed)["seq"] == 2
    assert store.seq == 1  # coming back for row 2 means row 1 is done
    processed = []
    with pytest.raises(RuntimeError):
        for row in feed:
            if row["seq"] == 3:
                raise RuntimeError("consumer crashed while handling row 3")
            processed.append(row)
    assert store.seq == 2  # row 3 was not finished: it will be delivered again
    feed.stop()

    # A restarted process continues where it stopped (row 3 again: at least once).
    backend2 = FakeBackend([ScriptedStream([*rows(3, 4), BLOCK])])
    feed2 = infinite_changes_feed(FakeDB(backend2), since=0, checkpoint=store)
    assert next(feed2)["seq"] == 3
    assert backend2.opened[0]["since"] == 2
    feed2.stop()
    assert list(feed2) == []
    assert store.seq == 3  # the loop came back after row 3 (and stopped)


def test_since_now_is_pinned_before_following() -> None:
    backend = FakeBackend(
        [
            ScriptedStream([], last_seq="42-x"),
            ScriptedStream([errors.FeedError("cut")]),
            ScriptedStream([*rows(43), BLOCK]),
        ]
    )
    feed = infinite_changes_feed(FakeDB(backend), since="now", backoff_base=0)
    assert next(feed)["seq"] == 43
    assert backend.opened[0]["feed"] == "normal" and backend.opened[0]["since"] == "now"
    assert [p["since"] for p in backend.opened[1:]] == ["42-x", "42-x"]
    feed.stop()


def test_infinite_option_rules() -> None:
    db = FakeDB(FakeBackend([]))
    with pytest.raises(TypeError, match="limit"):
        infinite_changes_feed(db, limit=5)
    with pytest.raises(ValueError, match="continuous"):
        infinite_changes_feed(db, feed="normal")
    with pytest.raises(TypeError, match="checkpoint"):
        infinite_changes_feed(db, checkpoint=object())
    with pytest.raises(ValueError, match="max_reconnects"):
        infinite_changes_feed(db, max_reconnects=-1)
    feed = infinite_db_updates_feed(db, timeout=1000)
    assert "heartbeat" not in feed.params and feed.params["timeout"] == 1000


def test_db_updates_on_a_backend_without_it_raises_not_supported() -> None:
    client = settee.connect("memory:")
    try:
        with pytest.raises(settee.NotSupported):
            next(client.infinite_db_updates())
        with pytest.raises(settee.NotSupported):
            list(client.db_updates())
    finally:
        client.disconnect()


# -- checkpoint stores -------------------------------------------------------------------


def test_file_checkpoint_round_trip_and_atomic(tmp_path: Path) -> None:
    store = FileCheckpoint(tmp_path / "sub" / "cp.json", every=1)
    assert store.load() is None
    store.save("12-abc")
    store.save([3, "old-style"])
    assert store.load() == [3, "old-style"]
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["cp.json"]  # no temp left
    (tmp_path / "sub" / "cp.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        store.load()


def test_local_document_checkpoint_on_the_memory_backend() -> None:
    client = settee.connect("memory:")
    try:
        db = client.create_database("cp")
        store = LocalDocumentCheckpoint(db, "_local/settee-checkpoint-test", every=1)
        assert store.load() is None
        store.save(5)
        store.save(6)
        again = LocalDocumentCheckpoint(db, "_local/settee-checkpoint-test", every=1)
        assert again.load() == 6
        again.save(7)
        store.save(8)  # stale rev: re-read and written once more
        assert LocalDocumentCheckpoint(db, "_local/settee-checkpoint-test").load() == 8
        with pytest.raises(ValueError):
            LocalDocumentCheckpoint(db, "not-local")
    finally:
        client.disconnect()
