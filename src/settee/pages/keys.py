"""Lazy, paged result sets: :class:`Result` (all_docs and views) and :class:`QueryResult` (_find).

Nothing is requested until a result set is iterated, indexed or sliced.
Iteration asks for ``page_size`` rows at a time and holds one page in memory
(``buffered`` says how many rows it holds right now).

Paging is key based, never an ever-growing ``skip``:

* :class:`Result` asks for ``page_size + 1`` rows; the extra row's key (and
  document id, for views) becomes the next page's ``startkey`` (and
  ``startkey_docid``). A document that emits the same key several times
  straddling a page boundary is handled: the rows of the next answer that
  were already yielded are dropped client-side. ``descending``, ``startkey``
  / ``endkey`` / ``inclusive_end``, ``key``, ``keys``, ``limit`` and ``skip``
  given by the caller are honoured; ``skip`` is sent once, on the first page.
  One exception: a view row whose key is ``null`` cannot be a ``startkey``
  (``None`` means "not given" to a backend), so after such a row paging
  continues with ``skip``.
* :class:`QueryResult` sends ``limit=page_size`` and the ``bookmark`` of the
  previous answer, and stops at the first short page. PouchDB Server returns
  no bookmark; then the next pages use ``skip`` (the only way to page an
  arbitrary Mango sort there).

What costs what: ``result[i]`` is one request with ``skip=i, limit=1`` (the
server walks ``i`` rows); ``result[a:b]`` is one ``skip=a`` then key paging,
``ceil((b - a) / page_size)`` requests, and returns a list; ``result[a:]``
returns a lazy result set that starts at ``a``; ``result[ResultByKey(k)]``
(or ``result["k"]``) returns the list of rows whose key is ``k``;
``result[k1:k2]`` with non-int bounds returns the rows from key ``k1`` to
``k2`` inclusive. Unlike python-cloudant, ``result[i]`` returns the row itself
(not a one-element list) and raises ``IndexError`` past the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast, overload

from settee._validate import check_int, is_int
from settee.pages.paging import (
    DEFAULT_PAGE_SIZE,
    Fetch,
    PagePlan,
    check_position,
    drive_pages,
    slice_limit,
    take_window,
)

__all__ = ["Result", "ResultByKey", "RowFetcher"]

#: The row type of a result set: :class:`~settee.rows.AllDocsRow` or :class:`~settee.rows.ViewRow`.
RowT = TypeVar("RowT")

#: ``fetch(params, keys)`` answers one ``_all_docs`` / view page: ``{"rows": [...], ...}``.
RowFetcher = Callable[[dict[str, Any], "list[Any] | None"], Mapping[str, Any]]

_ALIASES = {
    "start_key": "startkey",
    "end_key": "endkey",
    "start_key_doc_id": "startkey_docid",
    "end_key_doc_id": "endkey_docid",
}


class ResultByKey:
    """Wrap a key so ``result[ResultByKey(5)]`` means "rows with key 5", not position 5."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"ResultByKey({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResultByKey) and _same(self.value, other.value)

    def __hash__(self) -> int:
        return hash(_canonical(self.value))


def _canonical(value: Any) -> str:
    # JSON text tells apart what CouchDB collates apart (1 vs true vs 1.0 aside).
    return json.dumps(value, sort_keys=False, separators=(",", ":"))


def _same(a: Any, b: Any) -> bool:
    return _canonical(a) == _canonical(b)


def _same_row(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.get("id") == b.get("id") and _same(a.get("key"), b.get("key"))


def _trailing(rows: Sequence[dict[str, Any]], like: Mapping[str, Any], *, by_id: bool) -> int:
    """How many rows at the end of ``rows`` share ``like``'s key (and id, ``by_id``)."""
    count = 0
    for row in reversed(rows):
        if not (_same_row(row, like) if by_id else _same(row.get("key"), like.get("key"))):
            break
        count += 1
    return count


def _normalise(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        canonical = _ALIASES.get(name, name)
        if canonical != name and canonical in params:
            raise ValueError(f"give either {canonical} or {name}, not both")
        if value is not None:
            out[canonical] = value
    return out


class Result(Generic[RowT]):
    """The rows of ``_all_docs`` or a view, fetched lazily in key-paged pages.

    Iterate it for rows (``{"id", "key", "value", "doc"?}``); ``pages()`` for
    lists of rows; ``first()`` and ``all()`` as named. Options are CouchDB's
    query parameters plus ``page_size`` (rows per request, default 100).
    Built by :meth:`Database.all_docs`, :meth:`Database.get_view_result` and
    :meth:`Database.view`.
    """

    def __init__(
        self,
        fetch: RowFetcher,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        docid_paging: bool = True,
        **params: Any,
    ) -> None:
        self._fetch = fetch
        self.page_size = check_int("page_size", page_size, 1)
        self._docid_paging = docid_paging
        params = _normalise(params)
        keys = params.pop("keys", None)
        if keys is not None and (isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence)):
            raise TypeError("keys must be a list of keys")
        self._keys: list[Any] | None = None if keys is None else list(keys)
        if "key" in params:
            if self._keys is not None or "startkey" in params or "endkey" in params:
                raise ValueError("key cannot be combined with keys, startkey or endkey")
            key = params.pop("key")
            params["startkey"] = params["endkey"] = key
            params.pop("inclusive_end", None)
        self._limit, self._skip = take_window(params)
        self.options: dict[str, Any] = params
        #: Backend requests made by this result set so far.
        self.requests = 0
        #: Rows the running iteration holds in memory right now (one page at most).
        self.buffered = 0

    def __repr__(self) -> str:
        shown = dict(self.options)
        if self._limit is not None:
            shown["limit"] = self._limit
        if self._skip:
            shown["skip"] = self._skip
        if self._keys is not None:
            shown["keys"] = f"<{len(self._keys)} keys>"
        return f"{type(self).__name__}(page_size={self.page_size}, {shown})"

    def _derive(self, **changes: Any) -> Result[RowT]:
        params = dict(self.options)
        params.update(limit=self._limit, skip=self._skip or None, keys=self._keys)
        params.update(changes)
        return Result(
            self._fetch, page_size=self.page_size, docid_paging=self._docid_paging, **params
        )

    def _call(self, params: dict[str, Any], keys: list[Any] | None) -> list[dict[str, Any]]:
        self.requests += 1
        rows: list[dict[str, Any]] = list(self._fetch(params, keys).get("rows", []))
        return rows

    def _request(
        self, params: dict[str, Any], keys: list[Any] | None
    ) -> Generator[Fetch, Mapping[str, Any], list[dict[str, Any]]]:
        self.requests += 1
        answer = yield Fetch(params, keys)
        rows: list[dict[str, Any]] = list(answer.get("rows", []))
        return rows

    def _answer(self, fetch: Fetch) -> Mapping[str, Any]:
        return self._fetch(fetch.params, fetch.keys)

    # -- paging -------------------------------------------------------------
    def pages(self) -> Iterator[list[RowT]]:
        """Yield the rows a page at a time (each list at most ``page_size`` long)."""
        # Rows are handled as the JSON dicts they are; their type is the caller's.
        for rows in self._pages():
            yield cast("list[RowT]", rows)

    def _pages(self) -> Iterator[list[dict[str, Any]]]:
        try:
            yield from drive_pages(self.plan(), self._answer)
        finally:
            self.buffered = 0

    def plan(self) -> PagePlan:
        """The sans-I/O pager: yields :class:`~settee.pages.paging.Fetch` es and pages."""
        if self._keys is not None:
            yield from self._keys_pages()
        else:
            yield from self._key_pages()

    def _key_pages(self) -> PagePlan:
        params = dict(self.options)
        remaining = self._limit
        skip = self._skip
        drop = 0  # rows at the head of the next answer that were already yielded
        by_docid = self._docid_paging
        # The look-ahead row the next page starts with, and how many rows of its
        # key (key_run) and of its key and id (id_run) were already yielded.
        expected: dict[str, Any] | None = None
        key_run = id_run = 0
        use_skip = False  # the null-key fallback: plain skip from the original start
        restart = False  # this one request counts from the original start
        consumed = self._skip
        while remaining is None or remaining > 0:
            last = remaining is not None and remaining <= self.page_size
            want = remaining if last and remaining is not None else self.page_size
            from_start = use_skip or restart
            query = dict(self.options if from_start else params)
            query["limit"] = want + drop + (0 if last else 1)
            if skip:
                query["skip"] = skip
            rows = yield from self._request(query, None)
            if not from_start and (
                drop or (by_docid and expected is not None and "id" in expected)
            ):
                # With startkey/startkey_docid the answer starts at the first row of
                # the look-ahead row's (key, id). A server that ignores
                # startkey_docid (PouchDB Server) starts at the key's first row,
                # which has another id whenever it matters: page by key + skip.
                assert expected is not None
                head = rows[0] if rows else None
                if head is None or not _same_row(head, expected):
                    by_docid = False
                    params.pop("startkey_docid", None)
                    drop, skip = 0, key_run
                    if self._skip and key_run == consumed - self._skip:
                        restart, skip = True, consumed  # the caller's skip may hide more
                    continue
            rows = rows[drop:]
            if len(rows) <= want:
                self.buffered = len(rows)
                if rows:
                    yield rows
                return
            following = rows[want]
            rows = rows[:want]
            self.buffered = len(rows) + 1
            consumed += want
            if use_skip or following.get("key") is None:
                use_skip, skip, drop, expected = True, consumed, 0, None
            else:
                key = following["key"]
                k = _trailing(rows, following, by_id=False)
                continued = expected is not None and _same(expected.get("key"), key)
                key_run = key_run + k if k == len(rows) and continued else k
                i = _trailing(rows, following, by_id=True)
                same_id = expected is not None and _same_row(expected, following)
                id_run = id_run + i if i == len(rows) and same_id else i
                expected = following
                paged_by_id = by_docid and "id" in following
                run = id_run if paged_by_id else (key_run if "id" in following else 0)
                restart = bool(self._skip and run and run == consumed - self._skip)
                if restart:
                    # Every row yielded so far shares the look-ahead row's key (and
                    # id), and so may rows the caller's skip passed over: only a
                    # skip from the original start is exact here.
                    skip, drop = consumed, 0
                else:
                    params["startkey"] = key
                    if paged_by_id:
                        params["startkey_docid"] = following["id"]
                        skip, drop = 0, id_run
                    else:
                        params.pop("startkey_docid", None)
                        skip, drop = run, 0
            yield rows
            if remaining is not None:
                remaining -= want

    def _keys_pages(self) -> PagePlan:
        # Each request carries page_size keys; skip/limit apply to the joined rows.
        assert self._keys is not None
        to_skip = self._skip
        remaining = self._limit
        for start in range(0, len(self._keys), self.page_size):
            if remaining is not None and remaining <= 0:
                return
            keys = self._keys[start : start + self.page_size]
            rows = yield from self._request(dict(self.options), keys)
            if to_skip:
                taken = min(to_skip, len(rows))
                rows, to_skip = rows[taken:], to_skip - taken
            if remaining is not None:
                rows = rows[:remaining]
                remaining -= len(rows)
            self.buffered = len(rows)
            if rows:
                yield rows

    # -- reading ------------------------------------------------------------
    def __iter__(self) -> Iterator[RowT]:
        for page in self.pages():
            yield from page

    def all(self) -> list[RowT]:
        """Every row, as one list (memory grows with the result)."""
        rows: list[dict[str, Any]] = []
        for page in self._pages():
            rows += page
        return cast("list[RowT]", rows)

    def first(self) -> RowT | None:
        """The first row, or None when there is none (one request)."""
        return next(iter(self._derive(limit=1)), None)

    # A key may be any JSON value, an int too with ResultByKey: the overloads
    # overlap on purpose, the first that fits is what a caller means.
    @overload
    def __getitem__(self, key: int) -> RowT: ...  # type: ignore[overload-overlap]

    @overload
    def __getitem__(self, key: slice) -> list[RowT] | Result[RowT]: ...  # type: ignore[overload-overlap]

    @overload
    def __getitem__(self, key: object) -> list[RowT]: ...

    def __getitem__(self, key: object) -> RowT | list[RowT] | Result[RowT]:
        """``[i]`` a row by position; ``[a:b]`` a list; ``[a:]`` a lazy Result; else by key.

        ``IndexError`` past the end; ``ValueError`` for negative positions or a step.
        """
        if isinstance(key, bool):
            return self._by_key(key)
        if isinstance(key, int):
            return self._by_position(key)
        if isinstance(key, slice):
            return self._slice(key)
        if isinstance(key, ResultByKey):
            return self._by_key(key.value)
        return self._by_key(key)

    def _by_position(self, index: int) -> RowT:
        check_position(index, self._limit)
        if self._keys is not None:
            for position, row in enumerate(self):
                if position == index:
                    return row
            raise IndexError(f"position {index} is past the end")
        params = dict(self.options, limit=1, skip=self._skip + index)
        rows = self._call(params, None)
        if not rows:
            raise IndexError(f"position {index} is past the end")
        return cast("RowT", rows[0])

    def _slice(self, part: slice) -> list[RowT] | Result[RowT]:
        if part.step not in (None, 1):
            raise ValueError("slices with a step are not supported")
        start, stop = part.start, part.stop
        positional = all(bound is None or is_int(bound) for bound in (start, stop))
        if not positional:
            narrowed = {
                k: v
                for k, v in self.options.items()
                if k not in ("startkey", "endkey", "startkey_docid", "endkey_docid")
            }
            narrowed["startkey"] = start.value if isinstance(start, ResultByKey) else start
            narrowed["endkey"] = stop.value if isinstance(stop, ResultByKey) else stop
            if stop is not None:
                narrowed["inclusive_end"] = True
            narrow: Result[RowT] = Result(
                self._fetch, page_size=self.page_size, docid_paging=self._docid_paging, **narrowed
            )
            return narrow.all()
        begin = 0 if start is None else start
        limit = slice_limit(begin, stop, self._limit)
        rows = self._derive(skip=self._skip + begin or None, limit=limit)
        if stop is None:
            return rows
        return rows.all() if limit else []

    def _by_key(self, key: Any) -> list[RowT]:
        if self._keys is not None:
            rows = [row for page in self._pages() for row in page if _same(row.get("key"), key)]
            return cast("list[RowT]", rows)
        if key is None:
            # A backend reads a None parameter as "not given": the lookup would
            # silently become the whole view.
            raise ValueError("rows with a null key cannot be looked up by key")
        narrowed = dict(self.options)
        for name in ("startkey", "endkey", "startkey_docid", "endkey_docid", "inclusive_end"):
            narrowed.pop(name, None)
        found: Result[RowT] = Result(
            self._fetch,
            page_size=self.page_size,
            docid_paging=self._docid_paging,
            key=key,
            **narrowed,
        )
        return found.all()
