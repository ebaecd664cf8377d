"""Feed positions with ``seq_interval`` (issue 8, item 2), offline.

CouchDB 3.5 sends ``"seq": null`` on most rows when ``seq_interval=N`` is
set: only every Nth row and ``last_seq`` carry a real seq. A feed's position
(``last_seq``, what a checkpoint stores, where a reconnect resumes) may only
move to a real seq. The scripted streams here are not a server: they let the
position logic be checked exactly; the same over HTTP, through resets and
cuts, is in tests/http/test_feed_positions.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import settee
from settee import errors
from settee.feeds.checkpoints import FileCheckpoint, LocalDocumentCheckpoint, MemoryCheckpoint
from settee.feeds.feed import changes_feed, infinite_changes_feed
from settee.feeds.normal import NormalFeedParser
from settee.feeds.stream import ContinuousFeedParser
from tests.unit.test_feeds import FakeBackend, FakeDB, ScriptedStream

INTERVAL = 5


def seq_of(n: int) -> str:
    return f"{n}-g1AAAAopaque{n:06d}"


def interval_rows(first: int, count: int, interval: int = INTERVAL) -> list[dict[str, Any]]:
    """Changes ``first .. first+count-1``; only every ``interval``-th row of the
    response carries its seq, the way CouchDB 3.5 answers ``seq_interval``."""
    out = []
    for i, n in enumerate(range(first, first + count), 1):
        seq = seq_of(n) if i % interval == 0 else None
        out.append({"seq": seq, "id": f"d{n}", "changes": [{"rev": f"1-{n}"}]})
    return out


class RecordingCheckpoint(MemoryCheckpoint):
    def __init__(self, seq: Any = None) -> None:
        super().__init__(seq)
        self.saved: list[Any] = []

    def save(self, seq: Any) -> None:
        self.saved.append(seq)
        super().save(seq)


# -- the follower ----------------------------------------------------------------------


def test_infinite_feed_resumes_from_the_last_real_seq_not_from_since() -> None:
    first = interval_rows(1, 7)  # real seq on row 5 only
    backend = FakeBackend(
        [
            ScriptedStream([*first, errors.FeedError("cut")]),
            ScriptedStream(interval_rows(6, 3), last_seq=seq_of(8)),
            ScriptedStream([errors.Forbidden("stop here")]),
        ]
    )
    checkpoint = RecordingCheckpoint()
    feed = infinite_changes_feed(
        FakeDB(backend), since=0, seq_interval=INTERVAL, backoff_base=0, checkpoint=checkpoint
    )
    got = []
    with pytest.raises(errors.Forbidden):
        for row in feed:
            got.append(row["id"])
            assert feed.last_seq is not None
    # The reconnect resumed from row 5's seq: rows 6 and 7 came again (the
    # at-least-once window since the last real seq), nothing was lost.
    assert [p.get("since") for p in backend.opened] == [0, seq_of(5), seq_of(8)]
    assert got == [f"d{n}" for n in (1, 2, 3, 4, 5, 6, 7, 6, 7, 8)]
    assert None not in checkpoint.saved
    assert checkpoint.saved == [seq_of(5), seq_of(8)]


def test_since_now_is_kept_until_a_real_seq_arrives() -> None:
    backend = FakeBackend(
        [
            ScriptedStream([], last_seq=seq_of(10)),  # since=now resolved
            ScriptedStream([*interval_rows(11, 3), errors.FeedError("reset")]),
            ScriptedStream([errors.Forbidden("stop here")]),
        ]
    )
    checkpoint = RecordingCheckpoint()
    feed = infinite_changes_feed(
        FakeDB(backend), since="now", seq_interval=INTERVAL, backoff_base=0, checkpoint=checkpoint
    )
    with pytest.raises(errors.Forbidden):
        for _ in feed:
            assert feed.last_seq == seq_of(10)
    assert backend.opened[2]["since"] == seq_of(10)
    assert None not in checkpoint.saved


def test_checkpoint_never_stores_none_and_a_restart_resumes_correctly() -> None:
    checkpoint = RecordingCheckpoint(seq_of(3))
    backend = FakeBackend([ScriptedStream([*interval_rows(4, 4), errors.Forbidden("x")])])
    feed = infinite_changes_feed(
        FakeDB(backend), seq_interval=INTERVAL, backoff_base=0, checkpoint=checkpoint
    )
    with pytest.raises(errors.Forbidden):
        for _ in feed:
            pass
    assert backend.opened[0]["since"] == seq_of(3)
    assert checkpoint.saved == []  # no real seq went by: nothing new to save
    assert checkpoint.load() == seq_of(3)


def test_raw_rows_with_null_seqs_keep_the_position() -> None:
    body = "\n".join(json.dumps(r) for r in interval_rows(1, 6)).encode() + b"\n"
    stream = ContinuousFeedParser([body], raw=True)  # ends without last_seq: a break

    class Raw:
        tracks_row_seq = True

        def __init__(self) -> None:
            self.parser = stream
            self.pending = None

        @property
        def last_seq(self) -> Any:
            return self.parser.last_seq

        def __iter__(self) -> Iterator[Any]:
            return iter(self.parser)

        def close(self) -> None:
            pass

    backend = FakeBackend([Raw(), ScriptedStream([errors.Forbidden("x")])])
    feed = infinite_changes_feed(FakeDB(backend), since=0, raw_data=True, backoff_base=0)
    positions = []
    with pytest.raises(errors.Forbidden):
        for _ in feed:
            positions.append(feed.last_seq)
    assert positions == [0, 0, 0, 0, seq_of(5), seq_of(5)]
    assert backend.opened[1]["since"] == seq_of(5)


class SimulatedCouch:
    """Serves ``since=`` the CouchDB 3.5 way with ``seq_interval``; each
    connection breaks after ``cut`` rows (a pure-logic stand-in for a server)."""

    def __init__(self, total: int, cut: int) -> None:
        self.total = total
        self.cut = cut
        self.opened = 0

    def changes(self, db: str, params: dict[str, Any], **_: Any) -> ScriptedStream:
        self.opened += 1
        since = params.get("since", 0)
        start = 0 if since in (0, None) else int(str(since).split("-", 1)[0])
        rows = interval_rows(start + 1, self.total - start, params["seq_interval"])
        script: list[Any] = list(rows[: self.cut])
        if len(rows) > self.cut:
            script.append(errors.FeedError("connection reset"))
        return ScriptedStream(script, last_seq=seq_of(self.total))


def test_since_zero_with_seq_interval_terminates() -> None:
    sim = SimulatedCouch(total=200, cut=12)
    db = FakeDB(FakeBackend([]))
    db.backend = sim  # type: ignore[assignment]
    feed = infinite_changes_feed(db, since=0, seq_interval=INTERVAL, backoff_base=0)
    seen: set[str] = set()
    rows = 0
    for row in feed:
        rows += 1
        seen.add(row["id"])
        if len(seen) == 200 or rows > 2000:  # bounded: a livelock would replay since=0
            break
    feed.stop()
    assert len(seen) == 200
    # Each reconnect replays at most the INTERVAL-1 rows after the last real seq.
    assert rows - 200 <= sim.opened * (INTERVAL - 1)


# -- Feed and the parsers ---------------------------------------------------------------


def test_feed_last_seq_moves_only_to_real_seqs_then_takes_the_body_last_seq() -> None:
    backend = FakeBackend([ScriptedStream(interval_rows(1, 7), last_seq=seq_of(7))])
    feed = changes_feed(FakeDB(backend), seq_interval=INTERVAL)
    positions = []
    for _ in feed:
        positions.append(feed.last_seq)
    assert positions == [None, None, None, None, seq_of(5), seq_of(5), seq_of(5)]
    assert feed.last_seq == seq_of(7)


@pytest.mark.parametrize("raw", [False, True])
def test_normal_parser_last_seq_is_the_last_real_seq(raw: bool) -> None:
    rows = interval_rows(1, 7)
    body = json.dumps({"results": rows, "last_seq": seq_of(7)}).encode()
    cut = body[: body.index(b'"d7"')]
    parser = NormalFeedParser([cut], raw=raw)
    with pytest.raises(errors.FeedError) as info:
        list(parser)
    assert info.value.last_seq == seq_of(5)
    whole = NormalFeedParser([body], raw=raw)
    assert len(list(whole)) == 7 and whole.last_seq == seq_of(7)


def test_continuous_parser_last_seq_is_the_last_real_seq() -> None:
    lines = [json.dumps(r) for r in interval_rows(1, 7)]
    parser = ContinuousFeedParser([("\n".join(lines) + "\n").encode()])
    with pytest.raises(errors.FeedError) as info:
        for _ in parser:
            assert parser.last_seq in (None, seq_of(5))
    assert info.value.last_seq == seq_of(5)


# -- the local backends accept seq_interval ---------------------------------------------


@pytest.mark.parametrize("url", ["memory:", "sqlite"])
def test_local_backends_accept_seq_interval_and_send_every_seq(url: str, tmp_path: Any) -> None:
    if url == "sqlite":
        url = f"sqlite:///{tmp_path / 'x.db'}"
    client = settee.connect(url)
    db = client.create_database("seqs")
    for i in range(4):
        db.create_document({"_id": f"d{i}"})
    rows = list(db.changes(seq_interval=2))
    assert len(rows) == 4 and all(r["seq"] is not None for r in rows)
    with pytest.raises(errors.BadRequest, match="seq_interval"):
        list(db.backend.changes("seqs", {"feed": "normal", "seq_interval": "x"}))
    client.disconnect()


@pytest.mark.parametrize("kind", ["memory", "file", "local"])
def test_checkpoint_stores_refuse_none(kind: str, tmp_path: Any) -> None:
    client = settee.connect("memory:")
    store: Any
    if kind == "memory":
        store = MemoryCheckpoint()
    elif kind == "file":
        store = FileCheckpoint(tmp_path / "seq.json")
    else:
        store = LocalDocumentCheckpoint(client.create_database("cp"))
    with pytest.raises(ValueError, match="None"):
        store.save(None)
    assert store.load() is None
    store.save("3-x")
    assert store.load() == "3-x"
    client.disconnect()
