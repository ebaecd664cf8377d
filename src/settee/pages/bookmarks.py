"""The ONE bookmark pager (:class:`BookmarkPager`) and :class:`QueryResult`, a ``_find`` result set.

Re-exported from :mod:`settee.pages`, whose docstring describes paging and costs.

Paging sends ``limit`` and the previous answer's ``bookmark``, and stops at
the first short page. Whether to page by bookmark is the backend's
``mango_bookmarks`` capability (``bookmarks=``), never read from an answer: a
backend without it (PouchDB Server, apache/pouchdb#8497) is paged by key
after the first page, never by an ever-growing ``skip``: by the sort's first
field (``$gte`` the last value seen, skipping the run of rows with that value
already handed out), or, unsorted, by ``_id`` (it restarts sorted by ``_id``,
``$gt`` the last id, and drops the ids already handed out). A backend with the
capability that answers a full page without a bookmark raises
:class:`~settee.errors.SetteeError`. One case keeps a ``skip`` that grows:
unsorted with a caller's ``skip`` on a server without bookmarks (which
documents that skip passed over, in the server's index order, cannot be known).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, overload

from settee._validate import check_int, is_int
from settee.errors import SetteeError
from settee.pages.paging import (
    DEFAULT_PAGE_SIZE,
    Fetch,
    PagePlan,
    check_position,
    drive_pages,
    slice_limit,
    take_window,
)
from settee.rows import DocumentBody

__all__ = ["BookmarkPager", "Bookmarks", "QueryFetcher", "QueryResult"]

log = logging.getLogger("settee")

#: ``find(query)`` answers one ``_find`` page: ``{"docs": [...], "bookmark": ...}``.
QueryFetcher = Callable[[dict[str, Any]], Mapping[str, Any]]
#: Whether a backend has ``mango_bookmarks``: known, or asked when first needed.
Bookmarks = bool | Callable[[], bool]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _order_of(sort: Any) -> tuple[str, bool]:
    """The sort's first field and whether it is descending (``("_id", False)`` unsorted)."""
    if not sort:
        return "_id", False
    first = sort[0]
    if isinstance(first, str):
        return first, False
    if isinstance(first, Mapping) and len(first) == 1:
        ((field, direction),) = first.items()
        return str(field), direction == "desc"
    raise TypeError(f"a Mango sort is a list of field names or {{field: 'asc'|'desc'}}: {sort!r}")


def _field_value(doc: Mapping[str, Any], field: str) -> Any:
    value: Any = doc
    for part in field.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _and(selector: Mapping[str, Any], field: str, condition: dict[str, Any]) -> dict[str, Any]:
    clause = {field: condition}
    if not selector:
        return clause
    if set(selector) == {"$and"} and isinstance(selector["$and"], list):
        return {"$and": [*selector["$and"], clause]}
    return {"$and": [dict(selector), clause]}


def _narrow(selector: Mapping[str, Any], field: str, bound: dict[str, Any]) -> dict[str, Any]:
    """``selector`` with ``field``'s bound on the paging side replaced by ``bound``.

    Every row handed out matched ``selector``, so the last value seen already
    meets its bound on that side: the new bound is as tight or tighter, and
    replacing it (not adding a second one in an ``$and``) keeps one range a
    server can use (PouchDB Server picks the first range of an ``$and`` for
    its index and would page from the start again).
    """
    existing = selector.get(field)
    if isinstance(existing, Mapping) and all(str(k).startswith("$") for k in existing):
        same_side = ("$gt", "$gte") if {"$gt", "$gte"} & set(bound) else ("$lt", "$lte")
        merged = {k: v for k, v in existing.items() if k not in same_side}
        return {**selector, field: {**merged, **bound}}
    return _and(selector, field, bound)


class BookmarkPager:
    """The pages of one Mango query: by bookmark, else by key (see the module docstring).

    ``find`` answers one ``_find`` body; ``query`` holds ``selector`` and
    optionally ``fields``/``sort`` and the rest of a ``_find`` body (never
    ``limit``/``skip``/``bookmark``: they are the arguments). ``bookmark`` is
    the last answer's, ``requests`` counts the calls of ``find``. ``bookmarks``:
    the backend has the ``mango_bookmarks`` capability (else: key paging), or a
    callable that says so, asked only once a full page has come (after the
    first request, so a backend has its capabilities at hand by then).
    """

    def __init__(
        self,
        find: QueryFetcher | None,
        query: Mapping[str, Any],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        limit: int | None = None,
        skip: int = 0,
        bookmark: str | None = None,
        bookmarks: Bookmarks = True,
    ) -> None:
        self._find = find
        self._bookmarks = bookmarks
        self.query = dict(query)
        self.page_size = page_size
        self.limit = limit
        self.skip = skip
        self._start = bookmark
        self.bookmark: str | None = None
        self.requests = 0
        self._order, self._descending = _order_of(self.query.get("sort"))
        fields = self.query.get("fields")
        # The key a fallback pages by must come back: ask for it, strip it after.
        if fields is None:
            self._strip: tuple[str, ...] = ()
        else:
            fields = list(fields)
            self._strip = tuple(f for f in dict.fromkeys(("_id", self._order)) if f not in fields)
            self.query["fields"] = [*fields, *self._strip]

    def _call(
        self, body: dict[str, Any]
    ) -> Generator[Fetch, Mapping[str, Any], list[DocumentBody]]:
        self.requests += 1
        answer = yield Fetch(body)
        if answer.get("warning"):
            log.debug("_find warning: %s", answer["warning"])
        self.bookmark = answer.get("bookmark")
        docs: list[DocumentBody] = list(answer.get("docs", []))
        return docs

    def _deliver(self, docs: list[DocumentBody]) -> list[DocumentBody]:
        if not self._strip:
            return docs
        strip = self._strip
        return [{k: v for k, v in doc.items() if k not in strip} for doc in docs]

    def pages(self) -> Iterator[list[DocumentBody]]:
        """Yield the documents a page at a time (``find`` answers each request)."""
        if self._find is None:
            raise TypeError("this pager has no find function: drive its plan()")
        find = self._find
        return drive_pages(self.plan(), lambda fetch: find(fetch.params))

    @property
    def use_bookmarks(self) -> bool:
        """Whether the backend pages ``_find`` by bookmark (see ``bookmarks=``)."""
        if callable(self._bookmarks):
            self._bookmarks = bool(self._bookmarks())
        return self._bookmarks

    def plan(self) -> PagePlan:
        """The sans-I/O pager: yields :class:`~settee.pages.paging.Fetch` es and pages."""
        remaining = self.limit
        bookmark = self._start
        given: list[DocumentBody] = []  # what was handed out, kept only until bookmarks work
        while remaining is None or remaining > 0:
            size = self.page_size if remaining is None else min(self.page_size, remaining)
            body = dict(self.query, limit=size)
            if bookmark is not None:
                body["bookmark"] = bookmark
            if self.skip and self.requests == 0:
                body["skip"] = self.skip
            docs = yield from self._call(body)
            if docs:
                yield self._deliver(docs)
            if remaining is not None:
                remaining -= len(docs)
            if len(docs) < size or remaining == 0:
                return
            next_bookmark = self.bookmark
            if not self.use_bookmarks:
                given.extend(docs)
                yield from self._key_pages(given, remaining)
                return
            if not next_bookmark or next_bookmark == "nil":
                raise SetteeError(
                    f"_find answered a full page of {size} without a bookmark, from a backend "
                    "with the mango_bookmarks capability: the next page cannot be asked for"
                )
            if next_bookmark == bookmark:
                return
            given = []
            bookmark = next_bookmark

    def _key_pages(self, given: list[DocumentBody], remaining: int | None) -> PagePlan:
        field, descending = self._order, self._descending
        if field == "_id" and "sort" not in self.query:
            if self.skip:
                yield from self._skip_pages(len(given), remaining)
            else:
                seen = {str(doc.get("_id")) for doc in given}
                yield from self._id_pages(None, seen, remaining)
            return
        if field == "_id":
            yield from self._id_pages(str(given[-1]["_id"]), set(), remaining, descending)
            return
        value = _field_value(given[-1], field)
        key = _canonical(value)
        run = 0
        for doc in reversed(given):
            if _canonical(_field_value(doc, field)) != key:
                break
            run += 1
        consumed = len(given)
        selector = self.query["selector"]
        states = {(key, run)}
        while remaining is None or remaining > 0:
            body = dict(self.query, limit=self.page_size)
            if self.skip and run == consumed:
                # Every row so far shares one value, and so may the rows the
                # caller's skip passed over: only a count from the start is exact.
                body["skip"] = self.skip + consumed
            else:
                body["selector"] = _narrow(
                    selector, field, {"$lte" if descending else "$gte": value}
                )
                if run:
                    body["skip"] = run
            docs = yield from self._call(body)
            # A short page ends it, as it did under the skip this replaced.
            short = len(docs) < self.page_size
            if remaining is not None:
                docs = docs[:remaining]
                remaining -= len(docs)
            if not docs:
                return
            yield self._deliver(docs)
            if short:
                return
            consumed += len(docs)
            last = _canonical(_field_value(docs[-1], field))
            tail = 0
            for doc in reversed(docs):
                if _canonical(_field_value(doc, field)) != last:
                    break
                tail += 1
            run = run + tail if last == key and tail == len(docs) else tail
            if (last, run) in states:
                # The answer ignored the sort or the condition: going on would loop.
                raise SetteeError(
                    f"the server did not answer sorted by {field!r}; "
                    "cannot page this query by key without bookmarks"
                )
            states.add((last, run))
            key, value = last, _field_value(docs[-1], field)

    def _id_pages(
        self, last: str | None, seen: set[str], remaining: int | None, descending: bool = False
    ) -> PagePlan:
        # Always a whole page (trimmed here): a tiny limit is what PouchDB can
        # turn into an empty page while matches remain, so only an empty page ends it.
        selector = self.query["selector"]
        while remaining is None or remaining > 0:
            body = dict(self.query, limit=self.page_size)
            body["sort"] = [{"_id": "desc" if descending else "asc"}]
            # From the start, ``$gt: null`` (below every id) keeps the one shape.
            body["selector"] = _and(selector, "_id", {"$lt" if descending else "$gt": last})
            docs = yield from self._call(body)
            if not docs:
                return
            last = str(docs[-1]["_id"])
            fresh = [doc for doc in docs if doc["_id"] not in seen] if seen else docs
            if remaining is not None:
                fresh = fresh[:remaining]
                remaining -= len(fresh)
            if fresh:
                yield self._deliver(fresh)

    def _skip_pages(self, done: int, remaining: int | None) -> PagePlan:
        # The one growing skip (see the module docstring).
        while remaining is None or remaining > 0:
            size = self.page_size if remaining is None else min(self.page_size, remaining)
            body = dict(self.query, limit=size, skip=self.skip + done)
            docs = yield from self._call(body)
            if docs:
                yield self._deliver(docs)
            done += len(docs)
            if remaining is not None:
                remaining -= len(docs)
            if len(docs) < size:
                return


class QueryResult:
    """The documents of a Mango ``_find`` query, fetched lazily in bookmark-paged pages.

    Iterate it for documents; ``pages()``, ``first()``, ``all()``, ``[i]`` and
    slices as on :class:`Result` (positions only). Built by
    :meth:`Database.get_query_result`; ``bookmarks``: the backend has the
    ``mango_bookmarks`` capability (see :class:`BookmarkPager`).
    """

    def __init__(
        self,
        find: QueryFetcher,
        query: Mapping[str, Any],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        bookmarks: Bookmarks = True,
    ) -> None:
        self._find = find
        self._bookmarks = bookmarks
        self.page_size = check_int("page_size", page_size, 1)
        body = {k: v for k, v in query.items() if v is not None}
        if not isinstance(body.get("selector"), Mapping):
            raise TypeError("a Mango query needs a selector (a dict)")
        self._limit, self._skip = take_window(body)
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
        return QueryResult(self._find, query, page_size=self.page_size, bookmarks=self._bookmarks)

    def _call(self, body: dict[str, Any]) -> Mapping[str, Any]:
        self.requests += 1
        return self._find(body)

    def pager(self, find: QueryFetcher | None = None) -> BookmarkPager:
        """The bookmark pager of this result set (settee.aio drives its ``plan()``)."""
        return BookmarkPager(
            find,
            self.query,
            page_size=self.page_size,
            limit=self._limit,
            skip=self._skip,
            bookmark=self._bookmark,
            bookmarks=self._bookmarks,
        )

    def pages(self) -> Iterator[list[DocumentBody]]:
        """Yield the documents a page at a time."""
        pager = self.pager(self._call)
        try:
            for docs in pager.pages():
                self.bookmark = pager.bookmark
                self.buffered = len(docs)
                yield docs
        finally:
            self.bookmark = pager.bookmark
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
        if is_int(key):
            check_position(key, self._limit)
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
            limit = slice_limit(begin, stop, self._limit)
            derived = self._derive(skip=self._skip + begin, limit=limit)
            if stop is None:
                return derived
            return derived.all() if limit else []
        raise TypeError(f"query results are indexed by position or slice, not {key!r}")
