"""The normal/longpoll feed body: ``{"results": [row, ...], "last_seq": ..., "pending": ...}``.

:class:`NormalFeedParser` parses rows with :mod:`ijson` (its C ``yajl2_c``
backend when present; ``IJSON_BACKEND`` says which) as the chunks arrive, then
reads ``last_seq``/``pending`` from the body's tail (:func:`trailing_members`).
Raw rows go through the stdlib scanner (:class:`_TextScanner`) instead, which
reports each row's exact text.

Opened with ``heartbeats=True`` (off by default) the parser also yields
:data:`~settee.feeds.stream.HEARTBEAT` for each blank line before a row (what
CouchDB sends while a longpoll waits), as soon as it arrives; such a body is
read with the stdlib scanner.

Integers beyond 64 bits, which yajl cannot hold, arrive exact too: until a
row with a real seq has been handed out the bytes read so far are kept (at
most ``retain_bytes``), and on an overflow the body is read again from its
start with the stdlib scanner, skipping the rows already handed out. Past a
real seq the parser raises :class:`IntegerOverflow` saying where to ask again
(the last real seq, and the rows after it to skip), which the HTTP backend
does.
"""

from __future__ import annotations

import codecs
import gc
import itertools
import json
import re
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from typing import Any

from ijson import common as ijson_common

from settee.errors import FeedError
from settee.feeds.base import FeedParserBase
from settee.feeds.stream import HEARTBEAT

__all__ = [
    "RETAIN_BYTES",
    "TAIL_BYTES",
    "IntegerOverflow",
    "NormalFeedParser",
    "row_identity",
    "trailing_members",
]


def _pick_ijson() -> tuple[Any, str]:
    # The C backend is ~5x faster than the pure-Python one; fall back quietly
    # and say which one is active (settee --info, docs/feeds.md).
    try:
        import ijson.backends.yajl2_c as backend
    except ImportError:
        import ijson as backend
    return backend, str(getattr(backend, "backend", "python"))


_ijson, IJSON_BACKEND = _pick_ijson()
_IJSONError: type[Exception] = ijson_common.JSONError


#: Bytes of the end of a normal body kept to read the members after ``results``.
TAIL_BYTES = 64 * 1024
#: Bytes of a normal body kept from its start until a row with a real seq is
#: handed out, to read it again exactly after an integer overflow.
RETAIN_BYTES = 8 * 1024 * 1024


def row_identity(row: dict[str, Any]) -> str:
    """A row's change without its seq (and doc): the same change read twice matches."""
    return json.dumps(
        {k: v for k, v in row.items() if k not in ("seq", "doc")},
        sort_keys=True,
        separators=(",", ":"),
        default=repr,
    )


class _ChunkReader:
    """A file-like ``read()`` over byte chunks for ijson; keeps the body's tail."""

    def __init__(self, chunks: Iterator[bytes], tail_bytes: int, retain_bytes: int) -> None:
        self.chunks = chunks
        self._tail: deque[bytes] = deque()
        self._tail_len = 0
        self._tail_bytes = tail_bytes
        self.total = 0
        #: Every chunk read so far, while that is at most ``retain_bytes``
        #: and the parser still wants them; None once dropped.
        self.retained: list[bytes] | None = [] if retain_bytes > 0 else None
        self._retain_bytes = retain_bytes
        #: Set while the parser has the cyclic GC paused around a parse step.
        self.gc_paused = False

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        if self.gc_paused:
            # Never hold the collector off while waiting for the network.
            gc.enable()
            try:
                return self._next_chunk()
            finally:
                gc.disable()
        return self._next_chunk()

    def _next_chunk(self) -> bytes:
        for chunk in self.chunks:
            if not chunk:
                continue
            self.total += len(chunk)
            retained = self.retained
            if retained is not None:
                if self.total <= self._retain_bytes:
                    retained.append(chunk)
                else:
                    self.retained = None
            tail = self._tail
            tail.append(chunk)
            self._tail_len += len(chunk)
            while self._tail_len - len(tail[0]) >= self._tail_bytes:
                self._tail_len -= len(tail.popleft())
            return chunk
        return b""

    def tail(self) -> bytes:
        return b"".join(self._tail)


_WS = b" \t\r\n"
_SCALAR_CHARS = frozenset(b"0123456789+-.eEtrufalsn")


def _string_start(buf: bytes, end: int) -> int:
    """Index of the opening quote of the string whose closing quote is at ``end``."""
    i = end - 1
    while True:
        i = buf.rfind(b'"', 0, i + 1)
        if i < 0:
            raise ValueError("string start not in the tail")
        # A quote preceded by an odd number of backslashes is escaped.
        j = i - 1
        while j >= 0 and buf[j] == 0x5C:
            j -= 1
        if (i - 1 - j) % 2 == 0:
            return i
        i -= 1


def _container_start(buf: bytes, end: int) -> int:
    """Index of the bracket opening the container closed at ``end``."""
    depth = 0
    i = end
    while i >= 0:
        c = buf[i]
        if c == 0x22:  # '"'
            i = _string_start(buf, i) - 1
            continue
        if c in (0x5D, 0x7D):
            depth += 1
        elif c in (0x5B, 0x7B):
            depth -= 1
            if depth == 0:
                return i
        i -= 1
    raise ValueError("container start not in the tail")


def trailing_members(tail: bytes) -> dict[str, Any]:
    """The top-level members after the ``results`` array of a *valid* JSON object.

    Reads backwards from the end of ``tail`` (the last bytes of a body that
    ijson has already validated), so only the few bytes after the last row are
    looked at. Scalar members are read until a container member is reached; a
    container member (an old-style array seq) is read too while ``last_seq``
    has not been seen yet. Raises ``ValueError`` if the tail is not the end of
    an object.
    """
    members: dict[str, Any] = {}
    i = len(tail) - 1
    while i >= 0 and tail[i] in _WS:
        i -= 1
    if i < 0 or tail[i] != 0x7D:
        raise ValueError("the body is not a JSON object")
    i -= 1
    while True:
        while i >= 0 and tail[i] in _WS:
            i -= 1
        if i < 0:
            raise ValueError("ran out of tail")
        c = tail[i]
        if c == 0x7B and not members:  # "{}"
            return members
        # The value of a member.
        if c == 0x22:
            start = _string_start(tail, i)
        elif c in (0x5D, 0x7D):
            if "last_seq" in members:
                return members  # reached the results array: everything after it is read
            try:
                start = _container_start(tail, i)
            except ValueError:
                return members
        else:
            start = i
            while start > 0 and tail[start - 1] in _SCALAR_CHARS:
                start -= 1
        value_text = tail[start : i + 1]
        i = start - 1
        while i >= 0 and tail[i] in _WS:
            i -= 1
        if i < 0 or tail[i] != 0x3A:  # ':'
            raise ValueError("expected ':' before a member value")
        i -= 1
        while i >= 0 and tail[i] in _WS:
            i -= 1
        if i < 0 or tail[i] != 0x22:
            raise ValueError("expected a member name")
        key_start = _string_start(tail, i)
        key = json.loads(tail[key_start : i + 1])
        if key == "results":
            return members
        # Scanning backwards: the first value seen is the one JSON keeps.
        members.setdefault(key, json.loads(value_text))
        i = key_start - 1
        while i >= 0 and tail[i] in _WS:
            i -= 1
        if i < 0:
            raise ValueError("ran out of tail")
        if tail[i] == 0x7B:
            return members
        if tail[i] != 0x2C:
            raise ValueError("expected ',' between members")
        i -= 1


class IntegerOverflow(FeedError):
    """ijson's C backend met an integer beyond 64 bits past the bytes kept.

    Ask again from ``last_seq`` (the last real seq handed out; None: the
    request's own ``since``) and read that body with ``exact=True,
    skip=skip``: ``skip`` are the :func:`row_identity` of the rows handed out
    after ``last_seq``, ``handed_out`` counts every row handed out.
    """

    def __init__(
        self,
        message: str,
        *,
        last_seq: Any = None,
        skip: tuple[str, ...] = (),
        handed_out: int = 0,
    ) -> None:
        super().__init__(message, last_seq=last_seq)
        self.skip = skip
        self.handed_out = handed_out


class NormalFeedParser(FeedParserBase):
    """Rows of a normal/longpoll body, parsed incrementally.

    Iterate to get rows (dicts, or ``str`` when ``raw``); afterwards
    ``last_seq`` and ``pending`` hold the server's values. Raises
    :class:`FeedError` when the body is malformed or breaks off.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        raw: bool = False,
        exact: bool = False,
        tail_bytes: int = TAIL_BYTES,
        retain_bytes: int = RETAIN_BYTES,
        resumable: bool = True,
        skip: Collection[str] = (),
        heartbeats: bool = False,
    ) -> None:
        super().__init__(chunks, raw=raw)
        #: Yield :data:`~settee.feeds.stream.HEARTBEAT` for each blank line
        #: before a row (set before iterating).
        self.heartbeats = heartbeats
        self._tail_bytes = tail_bytes
        #: Parse with the stdlib scanner instead of ijson (integers beyond 64 bits).
        self.exact = exact
        self._retain_bytes = retain_bytes
        # A body that cannot be asked for again (descending) keeps its bytes
        # past the first real seq too, still at most retain_bytes.
        self._resumable = resumable
        # Rows a re-read hands out again: skipped once each, by identity.
        self._skip: dict[str, int] = {}
        for identity in skip:
            self._skip[identity] = self._skip.get(identity, 0) + 1

    def __iter__(self) -> Iterator[Any]:
        if self.raw or self.exact or self.heartbeats:
            return self._iter_text()
        return self._iter_ijson()

    def _finish(self, members: dict[str, Any]) -> None:
        if "error" in members and "last_seq" not in members:
            raise self._fail(f"the server reported an error: {members!r}")
        if "last_seq" not in members:
            raise self._fail("the body has no last_seq")
        self.last_seq = members["last_seq"]
        pending = members.get("pending")
        self.pending = pending if isinstance(pending, int) else None
        self.finished = True

    def _iter_ijson(self) -> Iterator[Any]:
        reader = _ChunkReader(self._chunks, self._tail_bytes, self._retain_bytes)
        rows = _ijson.items(reader, "results.item", use_float=True)
        # Locals only in the per-row loop; last_seq is filled in when it ends.
        count = 0
        last_seq: Any = None
        # Identities of the rows handed out since the last real seq ("seq": null
        # with seq_interval): what a re-read from that seq would repeat.
        window: list[str] = []
        drop_retained = self._resumable
        again: list[bytes] | None = None
        # While ijson builds a buffer's rows the cyclic GC is paused: the rows
        # are short-lived, and re-scanning them costs ~8% of the parse. It is
        # back on before each row is handed out and while the reader waits for
        # the network, so the consumer's code runs with the collector as it was.
        pause = reader.gc_paused = gc.isenabled()
        disable, enable = gc.disable, gc.enable
        take = rows.__next__
        try:
            while True:
                if pause:
                    disable()
                try:
                    row = take()
                except StopIteration:
                    break
                finally:
                    if pause:
                        enable()
                if type(row) is not dict:
                    self._note(count, last_seq)
                    raise self._fail(f"a results row is not an object: {row!r:.80}")
                seq = row.get("seq")
                if seq is not None:
                    last_seq = seq
                    if window:
                        window.clear()
                    if drop_retained:
                        # From here on a re-read can start at a real seq.
                        reader.retained = None
                        drop_retained = False
                else:
                    window.append(row_identity(row))
                count += 1
                yield row
        except FeedError as exc:
            self._note(count, last_seq)
            raise self._rewrap(exc) from exc.__cause__
        except _IJSONError as exc:
            self._note(count, last_seq)
            if reader.total == 0:
                raise self._fail("the body is empty", exc) from exc
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            message = f"malformed or truncated body: {reason}"
            if "integer overflow" not in reason:
                raise self._fail(message, exc) from exc
            # yajl's fast integer path stops at 64 bits; the body itself may be
            # fine. Read it again exactly: from its start when every byte is
            # still here, else from the last real seq (the caller asks again).
            again = reader.retained
            if again is None:
                raise IntegerOverflow(
                    f"{message} (last good seq: {self.last_seq!r})",
                    last_seq=self.last_seq,
                    skip=tuple(window),
                    handed_out=count,
                ) from exc
        if again is not None:
            # Outside the except block, so later errors do not chain to the overflow.
            scanner = _TextScanner(itertools.chain(again, reader.chunks), self)
            del again
            try:
                yield from self._walk(scanner, handed_out=count)
            except FeedError as exc:
                raise self._rewrap(exc) from exc.__cause__
            return
        self._note(count, last_seq)
        tail = reader.tail()
        try:
            members = trailing_members(tail)
            if "last_seq" not in members and len(tail) == reader.total:
                # Small body with members before "results": read them all.
                whole = json.loads(tail)
                members = {k: v for k, v in whole.items() if k != "results"}
        except (ValueError, UnicodeDecodeError, AttributeError) as exc:
            raise self._fail(f"unexpected body layout: {exc}", exc) from exc
        self._finish(members)

    def _iter_text(self) -> Iterator[Any]:
        scanner = _TextScanner(self._chunks, self)
        try:
            yield from self._walk(scanner)
        except FeedError as exc:
            raise self._rewrap(exc) from exc.__cause__

    def _walk(self, s: _TextScanner, *, handed_out: int = 0) -> Iterator[Any]:
        # ``handed_out``: rows of this very body already handed out (a re-read
        # after an overflow), skipped by position; ``self._skip``: rows of an
        # earlier body asked again from a seq, skipped by identity.
        skip = self._skip
        members: dict[str, Any] = {}
        beats = self.heartbeats
        if beats:
            yield from s.blank_lines(at_start=True)
        s.expect("{")
        if s.peek() == "}":
            s.take()
        else:
            while True:
                key, _ = s.value()
                if not isinstance(key, str):
                    raise self._fail("expected a member name")
                s.expect(":")
                if key == "results":
                    s.expect("[")
                    if beats:
                        yield from s.blank_lines()
                    if s.peek() == "]":
                        s.take()
                    else:
                        while True:
                            row, text = s.value()
                            if not isinstance(row, dict):
                                raise self._fail(f"a results row is not an object: {text:.80}")
                            seq = row.get("seq")
                            if seq is not None:  # seq_interval: most rows say null
                                self.last_seq = seq
                            if handed_out:
                                handed_out -= 1
                            elif skip and self._skipped(row):
                                pass
                            else:
                                yield text if self.raw else row
                            if s.expect_one(",]") == "]":
                                break
                            if beats:
                                yield from s.blank_lines()
                else:
                    value, _ = s.value()
                    members.setdefault(key, value)
                if s.expect_one(",}") == "}":
                    break
        if s.peek() != "":
            raise self._fail("trailing data after the body")
        self._finish(members)

    def _skipped(self, row: dict[str, Any]) -> bool:
        identity = row_identity(row)
        left = self._skip.get(identity)
        if not left:
            return False
        if left == 1:
            del self._skip[identity]
        else:
            self._skip[identity] = left - 1
        return True


_WS_RE = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


class _TextScanner:
    """Pull JSON tokens and values from decoded chunks, reading only as needed."""

    def __init__(self, chunks: Iterator[bytes], owner: FeedParserBase) -> None:
        self._chunks = chunks
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._owner = owner
        self.buf = ""
        self.pos = 0
        self.eof = False

    def _more(self) -> bool:
        if self.eof:
            return False
        for chunk in self._chunks:
            try:
                text = self._decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise self._owner._fail("the body is not UTF-8", exc) from exc
            if text:
                self.buf = self.buf[self.pos :] + text
                self.pos = 0
                return True
        try:
            text = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise self._owner._fail("the body ends inside a UTF-8 sequence", exc) from exc
        self.eof = True
        if text:
            self.buf = self.buf[self.pos :] + text
            self.pos = 0
            return True
        return False

    def blank_lines(self, *, at_start: bool = False) -> Iterator[Any]:
        """Consume the blanks up to the next token, yielding
        :data:`~settee.feeds.stream.HEARTBEAT` for each blank line as soon as it
        is read (before waiting for more). JSON strings hold no raw newline, so
        every newline seen here ends a line; the one ending the line of the token
        before (or the body's first line, when it is blank) is no heartbeat."""
        # Whether the line being read has nothing but blanks so far.
        blank = at_start
        while True:
            match = _WS_RE.match(self.buf, self.pos)
            end = match.end() if match else self.pos
            for ch in self.buf[self.pos : end]:
                if ch == "\n":
                    if blank:
                        yield HEARTBEAT
                    blank = True
            self.pos = end
            if self.pos < len(self.buf) or not self._more():
                return

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the body), not consumed."""
        while True:
            match = _WS_RE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def take(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def expect(self, ch: str) -> None:
        got = self.take()
        if got != ch:
            raise self._owner._fail(self._unexpected(got, repr(ch)))

    def expect_one(self, chars: str) -> str:
        got = self.take()
        if got == "" or got not in chars:
            raise self._owner._fail(self._unexpected(got, " or ".join(map(repr, chars))))
        return got

    @staticmethod
    def _unexpected(got: str, wanted: str) -> str:
        if got == "":
            return f"the body broke off where {wanted} was expected"
        return f"malformed body: {got!r} where {wanted} was expected"

    def value(self) -> tuple[Any, str]:
        """One complete JSON value and its exact text."""
        if self.peek() == "":
            raise self._owner._fail("the body broke off where a value was expected")
        while True:
            start = self.pos
            try:
                obj, end = _DECODER.raw_decode(self.buf, start)
            except json.JSONDecodeError as exc:
                if not self._maybe_incomplete(exc) or not self._grow():
                    raise self._owner._fail(f"malformed or truncated body: {exc}", exc) from exc
                continue
            # A number at the very end of the buffer may go on in the next chunk.
            at_end = end == len(self.buf) and not self.eof
            if at_end and self.buf[start] not in '{["' and self._grow():
                continue
            self.pos = end
            return obj, self.buf[start:end]

    def _maybe_incomplete(self, exc: json.JSONDecodeError) -> bool:
        if self.eof:
            return False
        # Only a long string can fail far from the end and still be cut short.
        return exc.msg.startswith("Unterminated string") or len(self.buf) - exc.pos <= 16

    def _grow(self) -> bool:
        # Read until the pending text has doubled, so a value spread over many
        # chunks is re-scanned O(log n) times rather than once per chunk.
        want = 2 * (len(self.buf) - self.pos) + 1
        grew = False
        while len(self.buf) - self.pos < want and self._more():
            grew = True
        return grew
