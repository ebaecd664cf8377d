"""Change-feed body parsers: pure functions of an iterator of byte chunks, no I/O.

Two layouts, one per feed kind:

* normal / longpoll: one JSON object ``{"results": [row, ...], "last_seq": ...,
  "pending": ...}``. Rows are parsed with :mod:`ijson` (its C ``yajl2_c``
  backend when present) as the chunks arrive; nothing assumes one row per line
  (PouchDB Server sends the whole body on one line, CouchDB joins rows with
  ``,\\r\\n``). ``last_seq``/``pending`` come from the members after the
  ``results`` array, read once the body has been validated to the end.
* continuous: one JSON object per line, blank heartbeat lines in between, and
  a final ``{"last_seq": ..., "pending": ...}`` line. Every complete line is
  parsed and yielded as soon as its chunk arrives: nothing is read ahead.

A body that is malformed or breaks off raises :class:`~settee.errors.FeedError`
carrying ``last_seq`` = the seq of the last row handed out, never a fake row.
With ``raw=True`` rows are yielded as their JSON text (``str``), exactly as
the server sent them (normal bodies are then split by the stdlib JSON scanner,
which reports where each row ends).

The code lives in one module per concept: :mod:`settee.feeds.base` (the
JSON loader and the parser base), :mod:`settee.feeds.normal` (normal bodies)
and :mod:`settee.feeds.stream` (HTTP chunked decoding and continuous lines);
this module picks the parser for a feed kind.
"""

from __future__ import annotations

from collections.abc import Iterable

from settee.feeds.normal import (
    NormalFeedParser,
)
from settee.feeds.stream import ContinuousFeedParser

__all__ = ["feed_parser"]


def feed_parser(
    feed: str, chunks: Iterable[bytes], *, raw: bool = False
) -> NormalFeedParser | ContinuousFeedParser:
    """The parser for a feed kind (``normal``/``longpoll`` or ``continuous``)."""
    if feed == "continuous":
        return ContinuousFeedParser(chunks, raw=raw)
    if feed in ("normal", "longpoll"):
        return NormalFeedParser(chunks, raw=raw)
    raise ValueError(f"unknown feed kind {feed!r}")
