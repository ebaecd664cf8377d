"""``MangoQuerySet``: a lazy, paged ``_find`` result set over a settee Database.

``db.filter(R(status="new") & R().total.gt(3))`` returns one. Nothing is
requested until you iterate, index, slice, count or test it. Iteration asks for
``page_size`` documents at a time and holds one page in memory.

Paging is :class:`~settee.pages.bookmarks.BookmarkPager`'s, the same as
``db.get_query_result()``: bookmarks where the server sends them, else by key
(the sort's first field, or ``_id``), never an ever-growing ``skip``.

Every selector is sent in the :func:`~settee.rql.mango.pouch_safe` shape:
the same meaning on every server, and one PouchDB Server evaluates right.

Sorting: CouchDB needs a Mango index whose fields match ``order_by``; without
one it answers 400 ``no_usable_index``, which is raised as
:class:`~settee.errors.BadRequest` naming the sort and the index to create.
Nothing is ever sorted client-side.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol, overload

from settee._validate import check_int, is_int
from settee.errors import BadRequest, recast
from settee.pages.bookmarks import BookmarkPager
from settee.pages.paging import DEFAULT_PAGE_SIZE
from settee.rql.mango import (
    QueryLike,
    and_selectors,
    node_to_selector,
    pouch_safe,
    sort_spec,
    to_mango_query,
    to_query,
)
from settee.rql.nodes import Query

__all__ = ["MangoQuerySet"]


class _Finder(Protocol):
    @property
    def capabilities(self) -> frozenset[str]: ...

    def find(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]: ...


class SupportsFind(Protocol):
    """What a ``MangoQuerySet`` needs from a Database: its backend and its name."""

    @property
    def backend(self) -> _Finder: ...

    @property
    def database_name(self) -> str: ...


def _selector_of(
    query: QueryLike | Mapping[str, Any], lookups: dict[str, object]
) -> tuple[dict[str, Any], Query | None]:
    """Return (selector, parsed Query or None) for a constructor/filter argument."""
    if isinstance(query, Mapping):
        selector = dict(query)
        if not lookups:
            return selector, None  # a ready selector is kept as given
        extra = to_query(None, **lookups).where
        return and_selectors(selector, node_to_selector(extra)), None
    parsed = to_query(query, **lookups)
    return node_to_selector(parsed.where), parsed


def _check_fields(fields: tuple[str, ...], *, signed: bool) -> None:
    for field in fields:
        if not isinstance(field, str):
            raise TypeError(f"a field name must be a str, not {type(field).__name__}")
        name = field[1:] if signed and field[:1] in "+-" and field else field
        if not name:
            raise ValueError(f"invalid field name {field!r}")


class MangoQuerySet:
    """A lazy result set of ``_find`` over ``database``; every refinement returns a new set.

    ``query`` is an ``R``, RQL text (its ``select``/``ordering``/``limit``/
    ``offset`` parts are used too), a ready Mango selector ``dict``, or
    ``None`` (every document); keyword ``lookups`` follow ``R(**lookups)`` and
    are ANDed with it. ``fields`` (Mango ``fields``), ``sort`` (``"-f"`` for
    descending), ``limit`` (the most documents to return) and ``page_size``
    are keyword-only, so fields with those names are filtered through ``R``.

    Raises ``RQLSyntaxError`` for bad RQL text, ``TypeError``/``ValueError``
    for bad arguments, ``NotSupported`` for RQL Mango cannot express.
    """

    def __init__(
        self,
        database: SupportsFind,
        query: QueryLike | Mapping[str, Any] = None,
        *,
        fields: list[str] | tuple[str, ...] | None = None,
        sort: list[str] | tuple[str, ...] | None = None,
        limit: int | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        **lookups: object,
    ) -> None:
        selector, parsed = _selector_of(query, lookups)
        self._database = database
        self._selector: dict[str, Any] = selector
        self._fields: tuple[str, ...] | None = None
        self._sort: tuple[str, ...] = ()
        self._limit: int | None = None
        self._skip = 0
        self._page_size = check_int("page_size", page_size, 1)
        if parsed is not None:
            self._apply_parsed(parsed)
        if fields is not None:
            self._set_fields(tuple(fields))
        if sort is not None:
            self._set_sort(tuple(sort))
        if limit is not None:
            self._limit = check_int("limit", limit, 1)

    def _apply_parsed(self, parsed: Query) -> None:
        mango = to_mango_query(parsed)  # raises NotSupported for select(-x) / search
        if mango.fields is not None:
            self._fields = tuple(mango.fields)
        if parsed.ordering:
            self._sort = tuple(parsed.ordering)
        if parsed.limit is not None:
            self._limit = parsed.limit
        if parsed.offset:
            self._skip += parsed.offset

    def _set_fields(self, fields: tuple[str, ...]) -> None:
        _check_fields(fields, signed=False)
        self._fields = fields

    def _set_sort(self, sort: tuple[str, ...]) -> None:
        _check_fields(sort, signed=True)
        self._sort = sort

    def _clone(self) -> MangoQuerySet:
        clone = object.__new__(MangoQuerySet)
        clone.__dict__.update(self.__dict__)
        return clone

    # -- refining -----------------------------------------------------------
    def filter(
        self, query: QueryLike | Mapping[str, Any] = None, **lookups: object
    ) -> MangoQuerySet:
        """Return a new set that also requires ``query`` and ``lookups`` (AND)."""
        selector, parsed = _selector_of(query, lookups)
        clone = self._clone()
        clone._selector = and_selectors(self._selector, selector)
        if parsed is not None:
            clone._apply_parsed(parsed)
        return clone

    def order_by(self, *fields: str) -> MangoQuerySet:
        """Return a new set sorted by ``fields`` (``"-f"`` descending), replacing any sort.

        The server needs a Mango index on the sort fields (see the module docstring).
        """
        clone = self._clone()
        clone._set_sort(tuple(fields))
        return clone

    def select(self, *fields: str) -> MangoQuerySet:
        """Return a new set whose documents hold only ``fields`` (Mango ``fields``).

        Raises ``ValueError`` for ``"-field"``: Mango cannot exclude fields.
        """
        for field in fields:
            if isinstance(field, str) and field.startswith("-"):
                raise ValueError(f"Mango can only include fields; cannot exclude {field!r}")
        clone = self._clone()
        clone._set_fields(tuple(f.removeprefix("+") for f in fields))
        return clone

    def limit(self, count: int) -> MangoQuerySet:
        """Return a new set of at most ``count`` documents (a positive int).

        Raises ``TypeError`` for a non-int, ``ValueError`` for ``count < 1``.
        """
        clone = self._clone()
        clone._limit = check_int("limit", count, 1)
        return clone

    # -- the Mango request --------------------------------------------------
    @property
    def selector(self) -> dict[str, Any]:
        """The Mango selector (``{}`` matches every document)."""
        return self._selector

    def find_body(self) -> dict[str, Any]:
        """The whole query as one ``_find`` body (no paging): what ``raw_result`` users send.

        The selector is in the :func:`~settee.rql.mango.pouch_safe` shape that
        every page is sent in.
        """
        body: dict[str, Any] = {"selector": pouch_safe(self._selector)}
        if self._fields is not None:
            body["fields"] = list(self._fields)
        if self._sort:
            body["sort"] = sort_spec(self._sort)
        if self._limit is not None:
            body["limit"] = self._limit
        if self._skip:
            body["skip"] = self._skip
        return body

    def _find(self, body: dict[str, Any]) -> dict[str, Any]:
        database = self._database
        try:
            return database.backend.find(database.database_name, body)
        except BadRequest as exc:
            explained = self.explain_error(exc)
            if explained is exc:
                raise
            raise explained from exc

    def explain_error(self, exc: BadRequest) -> BadRequest:
        """``exc`` or, when a sort needs an index the database lacks, one that says which."""
        text = f"{exc.error or ''} {exc.reason or ''}".lower()
        if self._sort and "index" in text and "sort" in text:
            names = [f.lstrip("+-") for f in self._sort]
            reason = (
                f"sorting by {', '.join(self._sort)} needs a Mango index on those fields, "
                f"e.g. db.create_query_index(fields={names!r}); "
                f"server said: {exc.reason}"
            )
            return recast(exc, BadRequest, reason)
        return exc

    def _body(
        self, selector: dict[str, Any], size: int, fields: list[str] | None
    ) -> dict[str, Any]:
        # pouch_safe: same meaning everywhere, and PouchDB Server reads it right too.
        body: dict[str, Any] = {"selector": pouch_safe(selector), "limit": size}
        if fields is not None:
            body["fields"] = list(fields)
        if self._sort:
            body["sort"] = sort_spec(self._sort)
        return body

    def _pages(self, fields: tuple[str, ...] | None) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of documents (the one bookmark pager, :class:`BookmarkPager`)."""
        return self.pager(fields).pages()

    def pager(self, fields: tuple[str, ...] | None = None) -> BookmarkPager:
        """The bookmark pager of this set (``fields`` None: the set's own); settee.aio
        drives its ``plan()``."""
        if fields is None:
            fields = self._fields
        query = self._body(
            self._selector, self._page_size, None if fields is None else list(fields)
        )
        del query["limit"]
        backend = self._database.backend
        return BookmarkPager(
            self._find,
            query,
            page_size=self._page_size,
            limit=self._limit,
            skip=self._skip,
            bookmarks=lambda: "mango_bookmarks" in backend.capabilities,
        )

    # -- reading ------------------------------------------------------------
    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield every matching document, one ``page_size`` page in memory at a time."""
        for page in self._pages(None):
            yield from page

    def all(self) -> list[dict[str, Any]]:
        """Return every matching document as a list (this one does hold them all)."""
        return list(self)

    def first(self) -> dict[str, Any] | None:
        """Return the first matching document, or ``None`` if there is none."""
        for doc in self.limit(1):
            return doc
        return None

    def count(self) -> int:
        """Return how many documents match.

        Mango has no count: this pages through the matches asking only for
        ``_id`` (``fields=["_id"]``), so it costs one request per ``page_size``
        matches but never holds more than a page of ids.
        """
        return sum(len(page) for page in self._pages(("_id",)))

    def __bool__(self) -> bool:
        """Whether at least one document matches (one request for one ``_id``)."""
        clone = self.limit(1)
        return any(True for _ in clone._pages(("_id",)))

    @overload
    def __getitem__(self, key: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, key: slice) -> MangoQuerySet: ...

    def __getitem__(self, key: int | slice) -> dict[str, Any] | MangoQuerySet:
        """``qs[i]``: the i-th document (``IndexError`` past the end); ``qs[a:b]``: a new set.

        Indexes are non-negative and slices have no step (``ValueError``),
        because a lazy set does not know its length.
        """
        if isinstance(key, slice):
            start, stop, step = key.start or 0, key.stop, key.step
            for bound in (start, stop):
                if bound is not None and not is_int(bound):
                    raise TypeError("slice bounds must be ints")
            if step not in (None, 1):
                raise ValueError("a MangoQuerySet slice cannot have a step")
            if start < 0 or (stop is not None and stop < 0):
                raise ValueError("a MangoQuerySet cannot be sliced with negative bounds")
            clone = self._clone()
            clone._skip = self._skip + start
            if stop is not None:
                count = max(stop - start, 0)
                if self._limit is not None:
                    count = min(count, max(self._limit - start, 0))
                clone._limit = count
            elif self._limit is not None:
                clone._limit = max(self._limit - start, 0)
            return clone
        if not is_int(key):
            raise TypeError(
                f"MangoQuerySet indices must be ints or slices, not {type(key).__name__}"
            )
        if key < 0:
            raise ValueError("a MangoQuerySet cannot be indexed from the end")
        if self._limit is not None and key >= self._limit:
            raise IndexError("MangoQuerySet index out of range")
        for doc in self[key : key + 1]:
            return doc
        raise IndexError("MangoQuerySet index out of range")

    def __repr__(self) -> str:
        return (
            f"<MangoQuerySet {self._database.database_name!r} selector={self._selector!r}"
            f"{f' sort={list(self._sort)!r}' if self._sort else ''}"
            f"{f' limit={self._limit}' if self._limit is not None else ''}>"
        )
