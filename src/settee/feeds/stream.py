"""Byte-stream framing: HTTP/1.1 chunked decoding and the continuous feed's lines.

:func:`dechunk` undoes ``Transfer-Encoding: chunked`` in bulk, block by block;
:class:`ContinuousFeedParser` splits a continuous feed into lines and parses
each complete line as soon as its chunk arrives.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Iterable, Iterator
from typing import Any, Final

from settee.errors import FeedError
from settee.feeds.base import LOAD_ERRORS, FeedParserBase, loads

__all__ = [
    "HEARTBEAT",
    "NEED_DATA",
    "ChunkFeeder",
    "ContinuousFeedParser",
    "Heartbeat",
    "dechunk",
]


class _NeedData(bytes):
    __slots__ = ()


#: A chunk source with nothing yet (a :class:`ChunkFeeder`) gives this; the
#: continuous parser then yields it back instead of a row, so an async shell
#: can await more bytes and push them (``feeder.push(chunk)``) without a thread.
NEED_DATA: bytes = _NeedData()


class Heartbeat(enum.Enum):
    """The type of :data:`HEARTBEAT`, its one value (so ``row is HEARTBEAT`` narrows
    ``RowT | Heartbeat`` to ``RowT`` for a type checker)."""

    HEARTBEAT = "heartbeat"

    def __repr__(self) -> str:
        return "HEARTBEAT"


#: What a :class:`ContinuousFeedParser` opened with ``heartbeats=True`` yields
#: for each blank line (a server heartbeat); test with ``row is HEARTBEAT``.
HEARTBEAT: Final = Heartbeat.HEARTBEAT


class ChunkFeeder:
    """A chunk iterator the caller fills: the bytes pushed, :data:`NEED_DATA` when
    there are none, the end after :meth:`end`."""

    def __init__(self) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._ended = False

    def push(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def end(self) -> None:
        self._ended = True

    def __iter__(self) -> ChunkFeeder:
        return self

    def __next__(self) -> bytes:
        if self._chunks:
            return self._chunks.popleft()
        if self._ended:
            raise StopIteration
        return NEED_DATA


class ContinuousFeedParser(FeedParserBase):
    """Rows of a continuous feed, one per line, yielded as each line completes.

    Blank lines (heartbeats) are skipped, or yielded as :data:`HEARTBEAT` when
    opened with ``heartbeats=True`` (off by default); ``last_seq`` follows the rows' real
    seqs (a ``"seq": null`` row, as CouchDB sends with ``seq_interval``, leaves
    it where it is); the ``{"last_seq": ...}`` line sets ``last_seq``/``pending``
    and ends iteration. A line that does not parse, an
    ``{"error": ...}`` line, or a body that ends without the ``last_seq`` line
    raises :class:`FeedError`. Fed by a :class:`ChunkFeeder`, it yields
    :data:`NEED_DATA` whenever the feeder is empty.
    """

    def __init__(
        self, chunks: Iterable[bytes], *, raw: bool = False, heartbeats: bool = False
    ) -> None:
        super().__init__(chunks, raw=raw)
        #: Yield :data:`HEARTBEAT` for each blank line instead of skipping it.
        self.heartbeats = heartbeats

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self._lines()
        except FeedError as exc:
            raise self._rewrap(exc) from exc.__cause__

    def _lines(self) -> Iterator[Any]:
        parse = loads
        raw = self.raw
        heartbeats = self.heartbeats
        parts: list[bytes] = []
        for chunk in self._chunks:
            if chunk is NEED_DATA:
                yield NEED_DATA
                continue
            if b"\n" not in chunk:
                if chunk:
                    parts.append(chunk)
                continue
            if parts:
                parts.append(chunk)
                chunk = b"".join(parts)
                parts = []
            lines = chunk.split(b"\n")
            rest = lines.pop()
            if rest:
                parts.append(rest)
            for line in lines:
                if not line or line.isspace():  # a heartbeat
                    if heartbeats:
                        yield HEARTBEAT
                    continue
                try:
                    obj = parse(line)
                except LOAD_ERRORS as exc:
                    raise self._fail(f"malformed line {line[:80]!r}: {exc}", exc) from exc
                if type(obj) is dict and "seq" in obj:
                    seq = obj["seq"]
                    if seq is not None:  # seq_interval: most rows say "seq": null
                        self.last_seq = seq
                    yield line.decode("utf-8").strip() if raw else obj
                    continue
                if type(obj) is not dict:
                    raise self._fail(f"a feed line is not an object: {line[:80]!r}")
                if "last_seq" in obj:
                    self.last_seq = obj["last_seq"]
                    pending = obj.get("pending")
                    self.pending = pending if isinstance(pending, int) else None
                    self.finished = True
                    return
                if "error" in obj:
                    raise self._fail(f"the server reported an error: {line[:200]!r}")
                # A row without a seq (some servers' db_updates): hand it out as is.
                yield line.decode("utf-8").strip() if raw else obj
        tail = b"".join(parts)
        if tail.strip():
            raise self._fail(f"the feed broke off inside a line ({len(tail)} bytes)")
        raise self._fail("the feed ended without its last_seq line")


_HEADER, _DATA, _CRLF, _TRAILER = range(4)
_MAX_LINE = 4096


def dechunk(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Decode HTTP/1.1 chunked transfer encoding from arbitrary byte blocks.

    Yields the payload found in each block as soon as that block is decoded
    (nothing waits for a chunk to be complete), so a large socket read turns
    into one parser call however many small chunks it holds. Returns after the
    terminating zero-size chunk and its trailers; raises :class:`FeedError` if
    the blocks end before it or the framing is malformed.
    """
    state = _HEADER
    left = 0  # payload bytes (state _DATA) or CRLF bytes (state _CRLF) still due
    rest = b""  # an incomplete size or trailer line carried to the next block
    for block in blocks:
        if rest:
            block = rest + block
            rest = b""
        pos = 0
        end = len(block)
        out: list[bytes] = []
        while pos < end:
            if state == _DATA:
                take = left if left < end - pos else end - pos
                out.append(block[pos : pos + take])
                pos += take
                left -= take
                if not left:
                    state, left = _CRLF, 2
                continue
            if state == _CRLF:
                take = left if left < end - pos else end - pos
                if block[pos : pos + take] != b"\r\n"[2 - left : 2 - left + take]:
                    raise FeedError("malformed chunked body: missing CRLF after a chunk")
                pos += take
                left -= take
                if not left:
                    state = _HEADER
                continue
            eol = block.find(b"\n", pos)
            if eol < 0:
                rest = block[pos:]
                if len(rest) > _MAX_LINE:
                    raise FeedError("malformed chunked body: a chunk header line is too long")
                break
            if state == _HEADER:
                # Fast path: whole chunks (size line, data, CRLF) inside this block.
                find = block.find
                append = out.append
                while eol >= 0 and eol - pos < 18:
                    try:
                        size = int(block[pos:eol], 16)  # int() ignores the \r
                    except ValueError:  # an extension (";"): the general path
                        break
                    stop = eol + 1 + size
                    if size <= 0 or stop + 2 > end or not block.startswith(b"\r\n", stop):
                        break
                    append(block[eol + 1 : stop])
                    pos = stop + 2
                    eol = find(b"\n", pos)
                if pos >= end:
                    break
                if eol < 0:
                    continue
            line = block[pos:eol]
            pos = eol + 1
            if state == _TRAILER:
                if not line.strip():
                    if out:
                        yield b"".join(out)
                    return
                continue
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise FeedError(f"malformed chunked body: bad chunk size {line[:40]!r}") from None
            if size < 0:
                raise FeedError(f"malformed chunked body: bad chunk size {line[:40]!r}")
            if size == 0:
                state = _TRAILER
            else:
                state, left = _DATA, size
        if out:
            yield out[0] if len(out) == 1 else b"".join(out)
    raise FeedError("the connection closed before the end of the chunked body")
