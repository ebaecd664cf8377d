"""Async change streams: one open ``_changes`` / ``_db_updates`` response, for ``async for``.

The bodies are parsed by the same pure parsers as the sync side
(:mod:`settee.feeds.stream`, :mod:`settee.feeds.normal`):

* continuous feeds: :class:`~settee.feeds.stream.ContinuousFeedParser` fed by
  a :class:`~settee.feeds.stream.ChunkFeeder` on the loop - each read from the
  socket is pushed in, every complete line comes out at once, and the parser
  says :data:`~settee.feeds.stream.NEED_DATA` when it wants more;
* normal/longpoll bodies: :class:`~settee.feeds.normal.NormalFeedParser`
  (ijson) in a worker thread, pulling each chunk from the loop as it arrives
  and handing rows back in batches, so the loop is never blocked by parsing;
* embedded stores: their sync stream iterated in a worker thread.

Cancelling the task that iterates closes the response (the connection) at once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Protocol

from settee import errors
from settee.backends.base import ChangesStream
from settee.backends.http.changes import FeedRequest, encode_feed_params
from settee.feeds.normal import NormalFeedParser
from settee.feeds.stream import NEED_DATA, ChunkFeeder, ContinuousFeedParser
from settee.http.async_transport import AsyncResponse, AsyncTransport
from settee.rows import Seq

__all__ = ["AsyncChangesStream", "AsyncHTTPChangesStream", "ThreadedChangesStream"]

#: Rows a worker thread hands back per hop (normal bodies only: a continuous
#: feed hands each row out as it arrives).
_BATCH = 256


class AsyncChangesStream(Protocol):
    """The async twin of :class:`~settee.backends.base.ChangesStream`."""

    @property
    def last_seq(self) -> Seq | None: ...

    @property
    def pending(self) -> int | None: ...

    def __aiter__(self) -> AsyncIterator[Any]: ...

    async def aclose(self) -> None: ...


def _take(rows: Iterator[Any], count: int) -> tuple[list[Any], BaseException | None]:
    # Up to ``count`` rows, and the error that cut them short: the rows before it
    # are handed out first, so the error's last good seq is the last row's.
    taken: list[Any] = []
    try:
        taken.extend(itertools.islice(rows, count))
    except Exception as exc:
        return taken, exc
    return taken, None


async def _batches(rows: Iterator[Any], count: int) -> AsyncIterator[Any]:
    """``rows`` (a sync iterator that may block) iterated in a worker thread, in batches."""
    while True:
        batch, error = await asyncio.to_thread(_take, rows, count)
        for row in batch:
            yield row
        if error is not None:
            raise error
        if len(batch) < count:
            return


class AsyncHTTPChangesStream:
    """A streamed feed response over aiohttp; built by :meth:`open`."""

    tracks_row_seq = True

    def __init__(
        self, transport: AsyncTransport, response: AsyncResponse, plan: FeedRequest, raw: bool
    ) -> None:
        self._transport = transport
        self._response = response
        self.feed = plan.feed
        self.raw = raw
        self._parser: ContinuousFeedParser | NormalFeedParser | None = None
        self._closed = False
        self.bytes_read = 0

    @classmethod
    async def open(
        cls, transport: AsyncTransport, plan: FeedRequest, *, raw: bool = False
    ) -> AsyncHTTPChangesStream:
        """Send the feed request; the stream of its body (errors as the transport raises them)."""
        response = await transport.request(
            plan.method,
            plan.path,
            params=encode_feed_params(plan.options),
            json_body=plan.json_body,
            headers=plan.headers,
            stream=True,
            timeout=plan.timeout,
        )
        return cls(transport, response, plan, raw)

    @property
    def last_seq(self) -> Seq | None:
        return None if self._parser is None else self._parser.last_seq

    @property
    def pending(self) -> int | None:
        return None if self._parser is None else self._parser.pending

    async def _blocks(self) -> AsyncIterator[bytes]:
        try:
            async for block in self._transport.body_chunks(self._response):
                self.bytes_read += len(block)
                yield block
        except errors.TransportError as exc:
            raise errors.FeedError(
                f"the connection broke after {self.bytes_read} bytes of the body ({exc})",
                last_seq=self.last_seq,
            ) from exc

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            if self.feed == "continuous":
                async for row in self._continuous():
                    yield row
            else:
                async for row in self._normal():
                    yield row
        except errors.FeedError:
            if not self._closed:
                raise
        finally:
            await self.aclose()

    async def _continuous(self) -> AsyncIterator[Any]:
        feeder = ChunkFeeder()
        parser = ContinuousFeedParser(feeder, raw=self.raw)
        self._parser = parser
        blocks = self._blocks()
        for item in parser:
            if item is NEED_DATA:
                block = await anext(blocks, None)
                if block is None:
                    feeder.end()
                else:
                    feeder.push(block)
                continue
            yield item

    async def _normal(self) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        blocks = self._blocks()

        def chunks() -> Iterator[bytes]:  # runs in the worker thread
            while True:
                block = asyncio.run_coroutine_threadsafe(anext(blocks, None), loop).result()
                if block is None:
                    return
                yield block

        parser = NormalFeedParser(chunks(), raw=self.raw, resumable=False)
        self._parser = parser
        async for row in _batches(iter(parser), _BATCH):
            yield row

    async def aclose(self) -> None:
        """Close the response (its connection). Idempotent."""
        self._closed = True
        await self._response.aclose()


class ThreadedChangesStream:
    """An embedded store's sync :class:`ChangesStream`, iterated in a worker thread;
    ``params`` are those the stream was opened with (their ``feed`` kind sets the batching)."""

    def __init__(self, stream: ChangesStream, params: Mapping[str, Any] | None) -> None:
        self._stream = stream
        feed = (params or {}).get("feed") or "normal"
        # A continuous/longpoll feed waits for writes: one row per hop, never held back.
        self._batch = _BATCH if feed == "normal" else 1
        self.tracks_row_seq = bool(getattr(stream, "tracks_row_seq", False))

    @property
    def last_seq(self) -> Seq | None:
        return self._stream.last_seq

    @property
    def pending(self) -> int | None:
        return self._stream.pending

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            async for row in _batches(iter(self._stream), self._batch):
                yield row
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the stream: a worker blocked on it returns promptly. Idempotent."""
        self._stream.close()  # thread-safe and quick by the protocol
