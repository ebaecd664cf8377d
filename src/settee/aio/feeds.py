"""Async change feeds: :class:`AsyncFeed` (one response) and :class:`AsyncInfiniteFeed`.

The options are validated by :mod:`settee.feeds.options` exactly as for
``db.changes()``; the follower's rules (resume from the last real seq,
full-jitter backoff, which errors are terminal, checkpoint after the consumer
comes back for the next row) are :class:`~settee.feeds.feed.InfiniteFeed`'s
own bookkeeping, composed here and driven with ``await``: backoff is an
``asyncio.sleep``, a checkpoint store is called in a worker thread.

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
from settee.feeds.feed import _NOTHING, _RETRYABLE, InfiniteFeed, _row_seq
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
                seq = _row_seq(row, stream)  # type: ignore[arg-type]  # reads last_seq only
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


def _not_sync(params: dict[str, Any]) -> Any:
    raise RuntimeError("an AsyncInfiniteFeed opens its streams with await")


class AsyncInfiniteFeed(Generic[RowT]):
    """Follow a feed for ever: ``async for change in db.infinite_changes(...)``.

    Options as :class:`~settee.feeds.feed.InfiniteFeed` (``checkpoint``,
    ``max_reconnects``, ``on_error``, ``backoff_base``, ``backoff_max``);
    the same terminal errors are raised.
    """

    def __init__(
        self, opener: AsyncOpener, params: Mapping[str, Any], *, raw: bool, **infinite: Any
    ) -> None:
        self._opener = opener
        # The sync follower's bookkeeping (validation, positions, backoff, checkpoints);
        # its own opener is never called.
        self._book: InfiniteFeed[Any] = InfiniteFeed(_not_sync, params, raw=raw, **infinite)
        self._stop = _Stop()

    def __repr__(self) -> str:
        return f"AsyncInfiniteFeed({self._book.params!r}, last_seq={self.last_seq!r})"

    @property
    def last_seq(self) -> Seq | None:
        """The last real seq handed out (where a reconnect resumes)."""
        return self._book.last_seq

    @property
    def connections(self) -> int:
        return self._book.connections

    @property
    def reconnects(self) -> int:
        return self._book.reconnects

    @property
    def params(self) -> dict[str, Any]:
        return self._book.params

    def stop(self) -> None:
        """End the iteration, also during a backoff. Idempotent."""
        self._book._stopped = True
        self._stop.stop()

    async def _sleep(self, exc: BaseException) -> None:
        delay = self._book._failure_delay(exc)
        if delay > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wake.wait(), delay)

    async def _commit(self) -> None:
        seq = self._book._take_unsaved()
        checkpoint = self._book.checkpoint
        if seq is not _NOTHING and checkpoint is not None:
            await asyncio.to_thread(checkpoint.save, seq)

    async def _start(self) -> None:
        book = self._book
        book._started = True
        if book.checkpoint is not None:
            saved = await asyncio.to_thread(book.checkpoint.load)
            if saved is not None:
                book.last_seq = saved
        while book.last_seq == "now" and not self._stop.stopped:
            # "now" becomes a concrete seq first, or a reconnect would skip changes.
            try:
                stream = await self._opener(book._now_params())
                try:
                    async for _ in stream:
                        pass
                finally:
                    await stream.aclose()
            except _RETRYABLE as exc:
                await self._sleep(exc)
                continue
            if stream.last_seq is not None:
                book.last_seq = stream.last_seq
            break

    async def __aiter__(self) -> AsyncIterator[RowT]:
        book = self._book
        await self._start()
        while not self._stop.stopped:
            try:
                stream = await self._opener(book._connect_params())
            except _RETRYABLE as exc:
                await self._sleep(exc)
                continue
            self._stop.stream = stream
            book.connections += 1
            try:
                async for row in stream:
                    if self._stop.stopped:
                        break
                    book._handed_out(_row_seq(row, stream))  # type: ignore[arg-type]
                    yield row
                    await self._commit()  # the consumer is back: the row is done
                else:
                    if book._server_ended(stream.last_seq):
                        await self._commit()
            except _RETRYABLE as exc:
                if self._stop.stopped:
                    break
                await self._sleep(exc)
            finally:
                self._stop.stream = None
                await stream.aclose()
