"""python-cloudant's ``cloudant.feed``: :class:`Feed` and :class:`InfiniteFeed`.

``Feed(db_or_client, raw_data=False, **options)`` follows a database's
``_changes`` or (given a client) the server's ``_db_updates``;
:class:`InfiniteFeed` reconnects for ever. Both run on settee's feeds
(:mod:`settee.feeds.feed`): bodies parsed as they arrive, ``stop()`` from any
thread. As in python-cloudant, the options are checked when iteration starts
(``CloudantArgumentError`` 116-121, before any request), options a ``_changes``
feed does not know are query parameters for its ``filter`` function, raw rows
are ``bytes`` (those of a normal or longpoll feed join into the response's
JSON body, as python-cloudant's lines do), and ``last_seq`` is the server's
``last_seq`` once a feed has ended by itself (None while it runs, after
``stop()``, and for raw feeds).
A continuous or longpoll feed's heartbeats come out as python-cloudant's do:
``None`` when ``heartbeat`` is set, ``b""`` for a raw feed (settee's
``heartbeats`` opt-in; the local backends send none).
python-cloudant's ``chunk_size`` is accepted and ignored (rows are read as
they arrive).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from settee import errors
from settee._validate import is_int
from settee.cloudant import Cloudant as NativeCloudant
from settee.compat.cloudant.error import (
    ClientDisconnected,
    CloudantArgumentError,
    CloudantFeedException,
)
from settee.feeds import feed as native
from settee.feeds.stream import HEARTBEAT
from settee.rows import Seq

__all__ = ["Feed", "InfiniteFeed"]

logger = logging.getLogger(__name__)

#: The failures an :class:`InfiniteFeed` connection is started again after.
_RECOVERABLE: tuple[type[BaseException], ...] = (
    errors.TransportError,
    errors.FeedError,
    errors.ServerError,
    errors.TooManyRequests,
)
_BACKOFF_MAX = 30.0  # seconds

_INT = (int, type(None))
#: python-cloudant's documented option types; ``_changes`` passes any other
#: option to its filter function, ``_db_updates`` refuses it.
_UPDATES_TYPES: Mapping[str, tuple[type, ...]] = {
    "feed": (str,),
    "heartbeat": (bool,),
    "timeout": _INT,
    "since": (int, str),
}
_CHANGES_TYPES: Mapping[str, tuple[type, ...]] = {
    **_UPDATES_TYPES,
    "heartbeat": _INT,
    "descending": (bool,),
    "limit": _INT,
    "conflicts": (bool,),
    "doc_ids": (list,),
    "filter": (str,),
    "include_docs": (bool,),
    "style": (str,),
}
#: settee's further ``_changes`` options, passed on as they are.
_NATIVE_CHANGES = ("selector", "view", "seq_interval", "attachments", "att_encoding_info")


def _is_database(source: object) -> bool:
    return hasattr(source, "database_name") and hasattr(source, "backend")


def _check(name: str, value: Any, types: tuple[type, ...], feeds: tuple[str, ...]) -> None:
    """python-cloudant's rule for one option: its type (117), no negative int (118), the
    ``feed`` (119) and ``style`` (120) values."""
    if not isinstance(value, types) or (isinstance(value, bool) and int in types):
        raise CloudantArgumentError(117, name, types)
    if is_int(value) and value < 0:
        raise CloudantArgumentError(118, name, value)
    if name == "feed" and value not in feeds:
        raise CloudantArgumentError(119, value, feeds)
    if name == "style" and value not in ("main_only", "all_docs"):
        raise CloudantArgumentError(120, value)


class Feed:
    """``Feed(source, raw_data=False, **options)``: ``source`` a database or client;
    ``options`` CouchDB's feed options (``feed``, ``since``, ``include_docs``,
    ``heartbeat``, ``timeout``, ``filter``, ``limit``, ``descending``, ``style``...),
    checked when iteration starts."""

    def __init__(self, source: Any, raw_data: bool = False, **options: Any) -> None:
        self._source = source
        self._raw_data = raw_data
        #: python-cloudant's read size; kept for its readers, unused (rows are read
        #: as they arrive).
        self._chunk_size: int = options.pop("chunk_size", 512)
        self._options = options
        self._feed: native.Feed[Any] | None = None
        self._rows: Iterator[Any] | None = None
        self._stopped = False
        self._last_seq: Seq | None = None

    @property
    def _url(self) -> str:
        """The feed's endpoint, as python-cloudant's ``_url``: the database's
        ``_changes`` or the server's ``_db_updates``."""
        if _is_database(self._source):
            return f"{self._source.database_url}/_changes"
        return f"{self._source.server_url}/_db_updates"

    @property
    def _r_session(self) -> Any:
        """The source's ``requests`` session, as python-cloudant's ``_r_session``."""
        return self._source.r_session

    def _translate(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """python-cloudant's ``_translate``: ``options`` checked as iteration checks
        them, then as query-string values (strings as they are, booleans
        ``"true"``/``"false"``, ints as they are, others JSON; None left out)."""
        self._checked(options)
        translation: dict[str, Any] = {}
        for key, value in options.items():
            if isinstance(value, str):
                translation[key] = value
            elif isinstance(value, bool):
                translation[key] = "true" if value else "false"
            elif isinstance(value, int):
                translation[key] = value
            elif value is not None:
                if isinstance(value, tuple):
                    value = list(value)
                try:
                    translation[key] = json.dumps(value)
                except (TypeError, ValueError) as exc:
                    raise CloudantArgumentError(115, key, exc) from exc
        return translation

    def _native_options(self) -> dict[str, Any]:
        """The options for settee's feed, after python-cloudant's checks."""
        return self._checked(self._options)

    def _checked(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` after python-cloudant's checks, as settee's feed takes them."""
        changes = _is_database(self._source)
        types = _CHANGES_TYPES if changes else _UPDATES_TYPES
        feeds: tuple[str, ...] = ("normal", "longpoll", "continuous")
        if not changes and not isinstance(self._source, NativeCloudant):
            feeds = ("longpoll", "continuous")  # CouchDB's _db_updates has no normal feed
        given: dict[str, Any] = {}
        query: dict[str, Any] = {}
        for name, value in options.items():
            if name in types:
                _check(name, value, types[name], feeds)
                given[name] = value
            elif changes and name in _NATIVE_CHANGES:
                given[name] = value
            elif changes:
                query[name] = value
            else:
                raise CloudantArgumentError(116, name)
        if query:
            given["query_params"] = query
        return given

    def _open(self, options: dict[str, Any]) -> native.Feed[Any]:
        try:
            feed: native.Feed[Any]
            if _is_database(self._source):
                feed = native.changes_feed(self._source, raw_data=self._raw_data, **options)
            else:
                feed = native.db_updates_feed(self._source, raw_data=self._raw_data, **options)
        except (TypeError, ValueError) as exc:
            raise CloudantArgumentError(105, exc) from exc
        feed.heartbeats = self._wants_heartbeats()
        return feed

    def _wants_heartbeats(self) -> bool:
        """Whether heartbeats come out (as python-cloudant's ``_process_data`` hands
        them out): a continuous or longpoll feed's, raw (``b""``) or with ``heartbeat``
        set (None)."""
        if self._options.get("feed", "normal") not in ("continuous", "longpoll"):
            return False
        return self._raw_data or bool(self._options.get("heartbeat", False))

    @property
    def last_seq(self) -> Seq | None:
        """The server's ``last_seq`` once the feed ended by itself; else None."""
        return self._last_seq

    def stop(self) -> None:
        """End the feed (from any thread); iteration stops."""
        self._stopped = True
        if self._feed is not None:
            self._feed.stop()

    def __iter__(self) -> Feed:
        return self

    def __next__(self) -> Any:
        if self._rows is None:
            if self._stopped:
                raise StopIteration
            self._feed = self._open(self._native_options())
            self._rows = self._generate(self._feed)
        return next(self._rows)

    def _whole_body(self) -> bool:
        """Whether raw rows are the lines of one JSON body (a normal or longpoll feed)."""
        return self._raw_data and self._options.get("feed", "normal") != "continuous"

    def _generate(self, feed: native.Feed[Any]) -> Iterator[Any]:
        """The rows; raw ones as ``bytes``. A raw normal/longpoll feed is framed as
        python-cloudant hands it out: its pieces join into the response's JSON body."""
        body = self._whole_body()
        opening = b'{"results":['
        for row in feed:
            if row is HEARTBEAT:
                yield b"" if self._raw_data else None
                continue
            if isinstance(row, str):
                row = row.encode("utf-8")
                if body:
                    row, opening = opening + row, b","
            yield row
        if self._stopped:
            return
        if not self._raw_data:
            self._last_seq = feed.last_seq
        elif body:
            tail: dict[str, Any] = {"last_seq": feed.last_seq}
            pending = getattr(feed, "pending", None)
            if pending is not None:
                tail["pending"] = pending
            start = opening if opening != b"," else b""
            yield start + b"]," + json.dumps(tail, separators=(",", ":")).encode()[1:]

    def next(self) -> Any:
        """The next row (python 2 spelling of ``__next__``)."""
        return self.__next__()


class InfiniteFeed(Feed):
    """``InfiniteFeed(source, **options)``: a continuous feed that reconnects for ever.
    When iteration starts: ``CloudantArgumentError(121)`` for another ``feed`` than
    ``continuous``; ``CloudantFeedException(101)`` for a CouchDB client's
    ``_db_updates`` (python-cloudant follows only Cloudant's for ever).

    As python-cloudant's, each connection is one :meth:`_start`: the first from the
    options' ``since``, every next one from where the previous one ended (the
    server's ``timeout`` ended it, or it broke off). A connection that fails with
    one of settee's recoverable errors (transport, feed body, 5xx, 429) is
    started again after a jittered backoff (python-cloudant raises it); any other
    error goes up, ``ClientDisconnected`` too (the client's ``disconnect()`` ran).
    ``last_seq`` stays None: the feed never ends by itself.
    """

    def __init__(self, source: Any, **options: Any) -> None:
        super().__init__(source, raw_data=bool(options.pop("raw_data", False)), **options)
        self._options.setdefault("feed", "continuous")
        #: Where the next connection resumes (None: the options' own ``since``).
        self._resume: Any = None
        self._failures = 0
        self._wake = threading.Event()

    def _whole_body(self) -> bool:
        return False  # always continuous: one line a row

    def _checked(self, options: Mapping[str, Any]) -> dict[str, Any]:
        feed = options.get("feed", "continuous")
        if feed != "continuous":
            raise CloudantArgumentError(121, feed)
        if not _is_database(self._source) and not isinstance(self._source, NativeCloudant):
            raise CloudantFeedException(101)
        return super()._checked(options)

    def _start(self) -> None:
        """Open the next connection (python-cloudant's ``_start``): one continuous feed
        from where the last one ended, its rows read by the next ``next()``."""
        options = self._native_options()
        if self._resume is not None:
            options["since"] = self._resume
        self._feed = self._open(options)
        self._rows = self._generate(self._feed)

    @property
    def last_seq(self) -> Seq | None:
        """None: an infinite feed does not end by itself."""
        return None

    def stop(self) -> None:
        """End the feed (from any thread), a backoff wait too; iteration stops."""
        super().stop()
        self._wake.set()

    def __next__(self) -> Any:
        while not self._stopped:
            if self._rows is None:
                self._start()
            assert self._rows is not None and self._feed is not None
            try:
                row = next(self._rows)
            except StopIteration:  # the server ended this connection: the next one
                self._ended()
                continue
            except ClientDisconnected:
                raise  # disconnect() ran: no connection until connect(), as python-cloudant's
            except _RECOVERABLE as exc:
                self._ended()
                if self._stopped:
                    break
                self._failures += 1
                delay = random.uniform(0, min(_BACKOFF_MAX, 0.5 * 2 ** min(self._failures - 1, 32)))
                logger.info("feed interrupted (%s); resuming in %.2f s", exc, delay)
                self._wake.wait(delay)
                continue
            self._failures = 0
            return row
        raise StopIteration

    def _ended(self) -> None:
        """The connection is over: the next one resumes from its last seq."""
        assert self._feed is not None
        if self._feed.last_seq is not None:
            self._resume = self._feed.last_seq
        self._rows = None
