"""The bookmark pager: :class:`QueryResult`, the documents of a Mango ``_find`` query.

Re-exported from :mod:`settee.pages`, whose docstring describes paging and costs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, overload

from settee.pages.paging import DEFAULT_PAGE_SIZE, _check_position, _count, _slice_limit

__all__ = ["QueryFetcher", "QueryResult"]

#: ``find(query)`` answers one ``_find`` page: ``{"docs": [...], "bookmark": ...}``.
QueryFetcher = Callable[[dict[str, Any]], Mapping[str, Any]]


class QueryResult:
    """The documents of a Mango ``_find`` query, fetched lazily in bookmark-paged pages.

    Iterate it for documents; ``pages()``, ``first()``, ``all()``, ``[i]`` and
    slices as on :class:`Result` (positions only). Built by
    :meth:`Database.get_query_result`.
    """

    def __init__(
        self, find: QueryFetcher, query: Mapping[str, Any], *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> None:
        self._find = find
        self.page_size = _count("page_size", page_size, 1)
        body = {k: v for k, v in query.items() if v is not None}
        if not isinstance(body.get("selector"), Mapping):
            raise TypeError("a Mango query needs a selector (a dict)")
        self._limit: int | None = (
            None if body.get("limit") is None else _count("limit", body.pop("limit"), 0)
        )
        self._skip = _count("skip", body.pop("skip", 0), 0)
        self._bookmark: str | None = body.pop("bookmark", None)
        self.query: dict[str, Any] = body
        #: Backend requests made by this result set so far.
        self.requests = 0
        #: Documents the running iteration holds in memory right now.
        self.buffered = 0
        #: The bookmark of the last answer (pass it as ``bookmark=`` to resume).
        self.bookmark: str | None = None

    def __repr__(self) -> str:
        return f"QueryResult(page_size={self.page_size}, {self.query})"

    def _derive(self, *, skip: int, limit: int | None) -> QueryResult:
        query = dict(self.query, skip=skip or None, limit=limit, bookmark=self._bookmark)
        return QueryResult(self._find, query, page_size=self.page_size)

    def _call(self, body: dict[str, Any]) -> Mapping[str, Any]:
        self.requests += 1
        return self._find(body)

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        """Yield the documents a page at a time."""
        remaining = self._limit
        bookmark = self._bookmark
        seen = 0
        use_skip = False
        try:
            while remaining is None or remaining > 0:
                size = self.page_size if remaining is None else min(self.page_size, remaining)
                body = dict(self.query, limit=size)
                if use_skip:
                    body["skip"] = self._skip + seen
                else:
                    if bookmark is not None:
                        body["bookmark"] = bookmark
                    if self._skip and seen == 0:
                        body["skip"] = self._skip
                answer = self._call(body)
                docs: list[dict[str, Any]] = list(answer.get("docs", []))
                next_bookmark = answer.get("bookmark")
                self.bookmark = next_bookmark
                self.buffered = len(docs)
                if docs:
                    yield docs
                seen += len(docs)
                if remaining is not None:
                    remaining -= len(docs)
                if len(docs) < size:
                    return
                if not use_skip and (not next_bookmark or next_bookmark == "nil"):
                    use_skip = True  # the server does not do bookmarks (PouchDB Server)
                elif not use_skip and next_bookmark == bookmark:
                    return
                bookmark = next_bookmark
        finally:
            self.buffered = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page

    def all(self) -> list[dict[str, Any]]:
        """Every document, as one list."""
        return [doc for page in self.pages() for doc in page]

    def first(self) -> dict[str, Any] | None:
        """The first document, or None (one request)."""
        return next(iter(self._derive(skip=self._skip, limit=1)), None)

    @overload
    def __getitem__(self, key: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, key: slice) -> list[dict[str, Any]] | QueryResult: ...

    def __getitem__(self, key: int | slice) -> dict[str, Any] | list[dict[str, Any]] | QueryResult:
        """``[i]`` a document; ``[a:b]`` a list; ``[a:]`` a lazy QueryResult.

        ``IndexError`` past the end; ``ValueError`` for negative bounds or a step;
        ``TypeError`` for anything else (a query result has no keys).
        """
        if isinstance(key, int) and not isinstance(key, bool):
            _check_position(key, self._limit)
            found = self._derive(skip=self._skip + key, limit=1).first()
            if found is None:
                raise IndexError(f"position {key} is past the end")
            return found
        if isinstance(key, slice):
            if key.step not in (None, 1):
                raise ValueError("slices with a step are not supported")
            begin = 0 if key.start is None else key.start
            stop = key.stop
            if not isinstance(begin, int) or (stop is not None and not isinstance(stop, int)):
                raise TypeError("query results slice by position (ints) only")
            limit = _slice_limit(begin, stop, self._limit)
            derived = self._derive(skip=self._skip + begin, limit=limit)
            if stop is None:
                return derived
            return derived.all() if limit else []
        raise TypeError(f"query results are indexed by position or slice, not {key!r}")
