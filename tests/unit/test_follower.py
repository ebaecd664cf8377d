"""FollowerState: the follow rules written once, and both followers driving them.

The rules are checked on the state object directly (pure logic, no I/O); then the
sync :class:`InfiniteFeed` and the async :class:`AsyncInfiniteFeed` are run over
the same scripted streams (not a server: tests/unit/test_feeds.py's scripted
fake, given an async face here) and must open, resume and checkpoint alike.
The same behaviour over real servers and the fault proxy is in tests/http/ and
tests/aio/.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from settee import errors
from settee.aio.feeds import AsyncInfiniteFeed
from settee.feeds.feed import InfiniteFeed
from settee.feeds.follower import RETRYABLE, FollowerState, row_seq
from settee.rows import Seq
from tests.unit.test_feeds import ScriptedStream, rows

AIO_FEEDS = Path(__file__).resolve().parents[2] / "src" / "settee" / "aio" / "feeds.py"


class Recorder:
    """A checkpoint store that remembers every save."""

    def __init__(self, saved: Seq | None = None) -> None:
        self.saved = saved
        self.saves: list[Seq] = []

    def load(self) -> Seq | None:
        return self.saved

    def save(self, seq: Seq) -> None:
        self.saves.append(seq)


# -- the rules, on the state ----------------------------------------------------------


def test_the_position_moves_only_to_a_real_seq_and_only_handed_out_seqs_are_saved() -> None:
    state = FollowerState({"since": 0, "feed": "continuous"}, checkpoint=Recorder())
    assert state.connect_params() == {"since": 0, "feed": "continuous"}
    assert state.take_unsaved() is None  # nothing handed out yet
    state.handed_out(1)
    state.handed_out(None)  # a "seq": null row (seq_interval) keeps the position
    assert state.last_seq == 1 and state.connect_params()["since"] == 1
    assert state.take_unsaved() == 1
    assert state.take_unsaved() is None  # marked saved
    state.handed_out(1)  # the same seq again (a replay) is nothing new to save
    assert state.take_unsaved() is None
    assert state.server_ended("9-x") and state.last_seq == "9-x"
    assert state.take_unsaved() == "9-x"
    assert not state.server_ended(None)  # no last_seq: the position stays
    assert state.params == {"since": 0, "feed": "continuous"}  # the options are not touched


def test_without_a_checkpoint_nothing_is_to_be_saved() -> None:
    state = FollowerState({})
    state.handed_out(3)
    assert state.take_unsaved() is None and state.last_seq == 3


def test_start_from_a_checkpoint_and_pin_now() -> None:
    state = FollowerState({"since": "now", "heartbeat": 10, "timeout": 5, "include_docs": True})
    state.start(None)  # nothing saved: since stays
    assert state.started and state.pinning_now
    assert state.now_params() == {"feed": "normal", "since": "now", "include_docs": True}
    state.pinned_now(None)  # no last_seq in the answer: still to pin
    assert state.pinning_now
    state.pinned_now("42-x")
    assert not state.pinning_now and state.connect_params()["since"] == "42-x"
    resumed = FollowerState({"since": "now"})
    resumed.start("7-y")  # a saved seq wins over since
    assert resumed.last_seq == "7-y" and not resumed.pinning_now


def test_failures_back_off_until_max_reconnects_and_a_row_resets_the_count() -> None:
    seen: list[tuple[str, float]] = []
    state = FollowerState(
        {},
        max_reconnects=2,
        on_error=lambda exc, delay: seen.append((str(exc), delay)),
        backoff_base=1.0,
        backoff_max=3.0,
        rng=lambda: 1.0,
    )
    assert [state.failure_delay(errors.TransportError(f"down {i}")) for i in (1, 2)] == [1.0, 2.0]
    state.handed_out(1)  # a row came through: the next failure is the first again
    assert state.failure_delay(errors.TransportError("down 3")) == 1.0
    assert state.failure_delay(errors.TransportError("down 4")) == 2.0
    with pytest.raises(errors.TransportError, match="down 5"):
        state.failure_delay(errors.TransportError("down 5"))
    assert seen == [("down 1", 1.0), ("down 2", 2.0), ("down 3", 1.0), ("down 4", 2.0)]
    assert state.reconnects == 5
    state.stop()
    assert state.stopped and state.failure_delay(errors.TransportError("late")) == 0.0
    assert not state.server_ended("10")  # a stopped follower books no more


def test_which_failures_are_retried() -> None:
    assert all(isinstance(exc, RETRYABLE) for exc in _retryable())
    for terminal in (errors.BadRequest("b"), errors.NotFound("n"), errors.NotSupported("x")):
        assert not isinstance(terminal, RETRYABLE)


def _retryable() -> list[Exception]:
    return [
        errors.TransportError("t"),
        errors.FeedError("f"),
        errors.ServerError("s", status=503),
        errors.TooManyRequests("r"),
    ]


def test_option_rules() -> None:
    with pytest.raises(TypeError, match="checkpoint"):
        FollowerState({}, checkpoint=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_reconnects must be an int >= 0"):
        FollowerState({}, max_reconnects=True)
    with pytest.raises(TypeError, match="on_error"):
        FollowerState({}, on_error=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backoff"):
        FollowerState({}, backoff_max=-1)


def test_row_seq_of_dict_raw_and_tracked_rows() -> None:
    stream = ScriptedStream([])
    assert row_seq({"seq": 4}, stream) == 4
    assert row_seq('{"seq": "5-x", "id": "a"}', stream) == "5-x"
    assert row_seq("not json", stream) is None
    stream.tracks_row_seq = True  # type: ignore[attr-defined]
    stream.last_seq = "6-y"
    assert row_seq('{"seq": "ignored"}', stream) == "6-y"


# -- the same rules, sync and async -------------------------------------------------------


class AsyncScripted:
    """A ScriptedStream's script handed out with ``async for``."""

    def __init__(self, stream: ScriptedStream) -> None:
        self.stream = stream

    @property
    def last_seq(self) -> Seq | None:
        seq: Seq | None = self.stream.last_seq
        return seq

    @property
    def pending(self) -> int | None:
        return self.stream.pending

    async def __aiter__(self) -> AsyncIterator[Any]:
        for row in self.stream:
            yield row

    async def aclose(self) -> None:
        self.stream.close()


def _script() -> list[Any]:
    return [
        ScriptedStream([], last_seq="3"),  # since="now" pinned at 3
        ScriptedStream([*rows(4, 5), errors.FeedError("cut mid-body")]),
        errors.TransportError("refused"),
        ScriptedStream(rows(6), last_seq=7),  # the server ends this one (longpoll answer)
        ScriptedStream([*rows(8, 9, 10)]),  # the consumer stops at 9: 10 is never handed out
    ]


def _sync_run(script: list[Any]) -> tuple[list[Any], list[dict[str, Any]], Recorder, Any]:
    opened: list[dict[str, Any]] = []

    def opener(params: dict[str, Any]) -> Any:
        opened.append(params)
        item = script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    store = Recorder()
    feed: InfiniteFeed[Any] = InfiniteFeed(
        opener, {"since": "now", "feed": "longpoll"}, checkpoint=store, rng=lambda: 0.0
    )
    seen = []
    for row in feed:
        seen.append(row["seq"])
        if row["seq"] == 9:
            feed.stop()
    return seen, opened, store, feed


def _async_run(script: list[Any]) -> tuple[list[Any], list[dict[str, Any]], Recorder, Any]:
    opened: list[dict[str, Any]] = []

    async def opener(params: dict[str, Any]) -> Any:
        opened.append(params)
        item = script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return AsyncScripted(item)

    store = Recorder()
    feed: AsyncInfiniteFeed[Any] = AsyncInfiniteFeed(
        opener, {"since": "now", "feed": "longpoll"}, raw=False, checkpoint=store, rng=lambda: 0.0
    )
    seen = []

    async def follow() -> None:
        async for row in feed:
            seen.append(row["seq"])
            if row["seq"] == 9:
                feed.stop()

    asyncio.run(follow())
    return seen, opened, store, feed


def test_sync_and_async_followers_open_resume_and_checkpoint_alike() -> None:
    sync_seen, sync_opened, sync_store, sync_feed = _sync_run(_script())
    async_seen, async_opened, async_store, async_feed = _async_run(_script())
    assert sync_seen == async_seen == [4, 5, 6, 8, 9]
    assert [p["since"] for p in sync_opened] == ["now", "3", 5, 5, 7]
    assert async_opened == sync_opened
    assert sync_opened[0]["feed"] == "normal"
    # Each seq once the consumer came back for the next row; 7 when the server ended.
    assert sync_store.saves == async_store.saves == [4, 5, 6, 7, 8, 9]
    for feed in (sync_feed, async_feed):
        assert isinstance(feed.state, FollowerState)
        assert (feed.last_seq, feed.connections, feed.reconnects) == (9, 3, 2)
        # one set of properties (feeds.follower.Following) on both
        assert feed.stopped and feed.checkpoint is feed.state.checkpoint
        assert feed.params == {"since": "now", "feed": "longpoll"}
    assert repr(sync_feed) == "InfiniteFeed({'since': 'now', 'feed': 'longpoll'}, last_seq=9)"
    assert repr(async_feed) == repr(sync_feed).replace("Infinite", "AsyncInfinite")


def test_the_async_follower_touches_no_private_name_of_another_module() -> None:
    # What FollowerState is for: settee.aio.feeds drives public methods only.
    found = []
    for node in ast.walk(ast.parse(AIO_FEEDS.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("settee"):
            found += [alias.name for alias in node.names if alias.name.startswith("_")]
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id == "self")
        ):
            found.append(f"line {node.lineno}: .{node.attr}")
    assert found == []
