"""python-cloudant's ``cloudant.feed``: :class:`Feed` and :class:`InfiniteFeed`.

``Feed(db_or_client, raw_data=False, **options)`` follows a database's
``_changes`` or (given a client) the server's ``_db_updates``;
:class:`InfiniteFeed` reconnects for ever from the last seq. Both run on
settee's feeds (:mod:`settee.feeds.feed`): bodies parsed as they arrive,
``stop()`` from any thread, ``last_seq``. python-cloudant's ``chunk_size``
is accepted and ignored (settee reads rows as they arrive).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from settee.compat.cloudant.error import CloudantArgumentError
from settee.feeds import feed as native

__all__ = ["Feed", "InfiniteFeed"]


def _is_database(source: object) -> bool:
    return hasattr(source, "database_name") and hasattr(source, "backend")


class Feed:
    """``Feed(source, raw_data=False, **options)``: ``source`` a database or client;
    ``options`` CouchDB's feed options (``feed``, ``since``, ``include_docs``,
    ``heartbeat``, ``timeout``, ``filter``, ``limit``, ``descending``, ``style``...)."""

    def __init__(self, source: Any, raw_data: bool = False, **options: Any) -> None:
        self._source = source
        self._raw_data = raw_data
        options.pop("chunk_size", None)
        self._options = options
        self._feed: native.Feed[Any] | native.InfiniteFeed[Any] = self._open(options)
        self._rows: Iterator[Any] | None = None

    def _open(self, options: dict[str, Any]) -> native.Feed[Any] | native.InfiniteFeed[Any]:
        try:
            if _is_database(self._source):
                return native.changes_feed(self._source, raw_data=self._raw_data, **options)
            return native.db_updates_feed(self._source, raw_data=self._raw_data, **options)
        except (TypeError, ValueError) as exc:
            raise CloudantArgumentError(116, exc) from exc

    @property
    def last_seq(self) -> Any:
        """The last seq handed out (then the server's ``last_seq``)."""
        return self._feed.last_seq

    def stop(self) -> None:
        """End the feed (from any thread); iteration stops."""
        self._feed.stop()

    def __iter__(self) -> Feed:
        return self

    def __next__(self) -> Any:
        if self._rows is None:
            self._rows = iter(self._feed)
        return next(self._rows)

    def next(self) -> Any:
        """The next row (python 2 spelling of ``__next__``)."""
        return self.__next__()


class InfiniteFeed(Feed):
    """``InfiniteFeed(source, **options)``: a continuous feed that reconnects for ever.
    ``CloudantArgumentError(121)`` for another ``feed`` than ``continuous``."""

    def __init__(self, source: Any, **options: Any) -> None:
        feed = options.get("feed", "continuous")
        if feed != "continuous":
            raise CloudantArgumentError(121, feed)
        super().__init__(source, raw_data=bool(options.pop("raw_data", False)), **options)

    def _open(self, options: dict[str, Any]) -> native.Feed[Any] | native.InfiniteFeed[Any]:
        try:
            if _is_database(self._source):
                return native.infinite_changes_feed(
                    self._source, raw_data=self._raw_data, **options
                )
            return native.infinite_db_updates_feed(self._source, raw_data=self._raw_data, **options)
        except (TypeError, ValueError) as exc:
            raise CloudantArgumentError(116, exc) from exc
