"""Async change feeds: :class:`AsyncFeed` (one response) and :class:`AsyncInfiniteFeed`.

The options are validated by :mod:`settee.feeds.options` exactly as for
``db.changes()``; the follower's rules (resume from the last real seq,
full-jitter backoff, which errors are terminal, checkpoint after the consumer
comes back for the next row) are one :class:`~settee.feeds.follower.FollowerState`'s,
the same object the sync :class:`~settee.feeds.feed.InfiniteFeed` drives; here
it is driven with ``await``: backoff is an ``asyncio.sleep``, a checkpoint
store is called in a worker thread.

``stop()`` (from any task) ends the iteration; cancelling the iterating task
closes the connection at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from settee import errors
from settee.aio.streams import AsyncChangesStream
from settee.feeds.follower import RETRYABLE, FollowerState, Following, row_seq
from settee.rows import Seq

__all__ = ["AsyncFeed", "AsyncInfiniteFeed", "AsyncOpener"]

RowT = TypeVar("RowT")

#: ``await opener(params)`` opens one feed response.
AsyncOpener = Callable[[dict[str, Any]], Awaitable[AsyncChangesStream]]


class _Stop:
    """``stop()``: end the iteration and close the open stream (from any task)."""

    def __init__(self) -> None:
        self.stopped = False
        self.stream: AsyncChangesStream | None = None
        self.wake = asyncio.Event()

    def stop(self) -> None:
        self.stopped = True
        self.wake.set()
        stream = self.stream
        if stream is not None:
            with contextlib.suppress(RuntimeError):  # no running loop: nothing is iterating
                asyncio.get_running_loop().create_task(stream.aclose())


class AsyncFeed(Generic[RowT]):
    """One feed response: ``async for change in db.changes(...)``.

    ``last_seq`` is the seq of the last row handed out, then the server's once
    the response ends; ``pending`` is set at the end. Iterate once.
    """

    def __init__(self, opener: AsyncOpener, params: Mapping[str, Any], *, raw: bool) -> None:
        self._opener = opener
        self.params = dict(params)
        self.raw = raw
        self.last_seq: Seq | None = None
        self.pending: int | None = None
        self._stop = _Stop()

    def __repr__(self) -> str:
        return f"AsyncFeed({self.params!r}, last_seq={self.last_seq!r})"

    def stop(self) -> None:
        """End the iteration (the open connection is closed). Idempotent."""
        self._stop.stop()

    async def __aiter__(self) -> AsyncIterator[RowT]:
        if self._stop.stopped:
            return
        stream = await self._opener(dict(self.params))
        self._stop.stream = stream
        try:
            async for row in stream:
                if self._stop.stopped:
                    return
                seq = row_seq(row, stream)
                if seq is not None:  # seq_interval: "seq": null keeps the position
                    self.last_seq = seq
                yield row
            if not self._stop.stopped:
                if stream.last_seq is not None:
                    self.last_seq = stream.last_seq
                self.pending = stream.pending
        except errors.FeedError as exc:
            if self._stop.stopped:
                return
            if exc.last_seq is None and self.last_seq is not None:
                exc.last_seq = self.last_seq
            raise
        finally:
            await stream.aclose()


class AsyncInfiniteFeed(Following, Generic[RowT]):
    """Follow a feed for ever: ``async for change in db.infinite_changes(...)``.

    Options as :class:`~settee.feeds.feed.InfiniteFeed` (``checkpoint``,
    ``max_reconnects``, ``on_error``, ``backoff_base``, ``backoff_max``);
    the same terminal errors are raised. The rules are :attr:`state`'s
    (a :class:`~settee.feeds.follower.FollowerState`), as for the sync feed.
    """

    def __init__(
        self, opener: AsyncOpener, params: Mapping[str, Any], *, raw: bool, **infinite: Any
    ) -> None:
        self._opener = opener
        self.raw = raw
        #: The follower's position, checkpoint bookkeeping, backoff and stop flag.
        self.state = FollowerState(params, **infinite)
        self._stop = _Stop()

    def stop(self) -> None:
        """End the iteration, also during a backoff. Idempotent."""
        self.state.stop()
        self._stop.stop()

    async def _sleep(self, exc: BaseException) -> None:
        delay = self.state.failure_delay(exc)
        if delay > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wake.wait(), delay)

    async def _commit(self) -> None:
        seq = self.state.take_unsaved()
        checkpoint = self.state.checkpoint
        if seq is not None and checkpoint is not None:
            await asyncio.to_thread(checkpoint.save, seq)

    async def _start(self) -> None:
        state = self.state
        checkpoint = state.checkpoint
        state.start(await asyncio.to_thread(checkpoint.load) if checkpoint is not None else None)
        while state.pinning_now and not state.stopped:
            # "now" becomes a concrete seq first, or a reconnect would skip changes.
            try:
                stream = await self._opener(state.now_params())
                try:
                    async for _ in stream:
                        pass
                finally:
                    await stream.aclose()
            except RETRYABLE as exc:
                await self._sleep(exc)
                continue
            state.pinned_now(stream.last_seq)
            break

    async def __aiter__(self) -> AsyncIterator[RowT]:
        state = self.state
        await self._start()
        while not state.stopped:
            try:
                stream = await self._opener(state.connect_params())
            except RETRYABLE as exc:
                await self._sleep(exc)
                continue
            self._stop.stream = stream
            state.connected()
            try:
                async for row in stream:
                    if state.stopped:
                        break
                    state.handed_out(row_seq(row, stream))
                    yield row
                    await self._commit()  # the consumer is back: the row is done
                else:
                    if state.server_ended(stream.last_seq):
                        await self._commit()
            except RETRYABLE as exc:
                if state.stopped:
                    break
                await self._sleep(exc)
            finally:
                self._stop.stream = None
                await stream.aclose()
