"""What both feed-body parsers share: the JSON loader in use and the parser base.

``loads`` is :func:`orjson.loads` with the ``settee[speed]`` extra, else
:func:`json.loads` (``JSON_LOADS`` says which). orjson turns an integer beyond
64 bits into a float without a word, so a text holding a run of 19 or more
digits is read with :func:`json.loads` instead: integers always arrive exact.
:class:`FeedParserBase` holds ``last_seq``/``pending``/``finished`` and builds
the :class:`~settee.errors.FeedError` that carries the last good seq.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from settee.errors import FeedError

__all__ = []

# 19 digits reach past int64 (and 20 past uint64): such a text may hold an
# integer orjson cannot represent. A false hit (digits in a string, a long
# fraction) only costs a parse with the stdlib. The run is found by mapping every
# digit to "1" and every other byte to "0" and looking for nineteen "1"s: two C
# passes, ~8x cheaper than a regex search, which cost 25x orjson's parse itself.
_DIGIT_MAP = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x30 for byte in range(256))
_DIGIT_RUN = b"1" * 19


def _has_long_digit_run(data: bytes | str) -> bool:
    """Whether ``data`` holds 19 or more ASCII digits in a row."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return _DIGIT_RUN in raw.translate(_DIGIT_MAP)


try:
    import orjson

    _orjson_loads = orjson.loads

    def _exact_orjson_loads(data: bytes | str) -> Any:
        """orjson's loads, or json's where orjson would round a large integer."""
        if _has_long_digit_run(data):
            return json.loads(data)
        return _orjson_loads(data)

    loads: Callable[[bytes | str], Any] = _exact_orjson_loads
    JSON_LOADS = "orjson"
except ImportError:  # the speed extra is optional: settee[speed]
    loads = json.loads
    JSON_LOADS = "json"

LOAD_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError)


class FeedParserBase:
    """Shared state: ``last_seq`` follows the rows handed out, then the server's."""

    #: Feeds read this to learn the seq of a raw (text) row without parsing it again.
    tracks_row_seq = True

    def __init__(self, chunks: Iterable[bytes], *, raw: bool = False) -> None:
        self._chunks = iter(chunks)
        self.raw = raw
        self.last_seq: Any = None
        self.pending: int | None = None
        #: True once the body ended the way the server ends it (``last_seq`` read).
        self.finished = False
        #: Rows handed out by the ijson path (counted when it stops).
        self.rows_out = 0

    def _note(self, count: int, last_seq: Any) -> None:
        # ``last_seq`` is the last *real* seq handed out: with seq_interval most
        # rows carry ``"seq": null``, and a position never moves to None.
        self.rows_out += count
        if last_seq is not None:
            self.last_seq = last_seq

    def _fail(self, message: str, cause: BaseException | None = None) -> FeedError:
        error = FeedError(f"{message} (last good seq: {self.last_seq!r})", last_seq=self.last_seq)
        if cause is not None:
            error.__cause__ = cause
        return error

    def _rewrap(self, exc: FeedError) -> FeedError:
        # A FeedError from the byte source (connection broke mid-body) does not
        # know the seq; give it ours. A subclass (a read timeout that is also
        # requests' ConnectionError) keeps its class and text: it is given the seq.
        if exc.last_seq is None and self.last_seq is not None:
            if type(exc) is not FeedError:
                exc.last_seq = self.last_seq
                return exc
            return self._fail(str(exc), exc)
        return exc
