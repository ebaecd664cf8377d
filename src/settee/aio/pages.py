"""Async result sets: the sync pagers' plans (:mod:`settee.pages`) driven with ``await``.

:class:`AsyncResult` (``_all_docs``, views; key-paged, limit+1) and
:class:`AsyncQueryResult` / :class:`AsyncQuerySet` (``_find``, bookmark-paged)
hold a sync result set for its validated options and run its ``plan()`` -
the same paging code, one page in memory at a time. ``async for`` yields
rows/documents; ``pages()``, ``first()`` and ``all()`` are awaitable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from settee.errors import BadRequest
from settee.pages import QueryResult, Result
from settee.pages.paging import Fetch, PagePlan, PlanRun
from settee.rql.mango import QueryLike
from settee.rql.queryset import MangoQuerySet

__all__ = ["AsyncQueryResult", "AsyncQuerySet", "AsyncResult", "drive_pages_async"]

RowT = TypeVar("RowT")

#: ``await answer(fetch)``: one page's JSON answer.
AsyncAnswer = Callable[[Fetch], Awaitable[Mapping[str, Any]]]


async def drive_pages_async(
    plan: PagePlan, answer: AsyncAnswer
) -> AsyncIterator[list[dict[str, Any]]]:
    """The pages of ``plan``, each :class:`Fetch` awaited (the twin of ``drive_pages``)."""
    with PlanRun(plan) as run:
        for step in run:
            if isinstance(step, Fetch):
                run.reply = await answer(step)
            else:
                yield step


class _Paged(Generic[RowT]):
    """``async for``, ``pages()``, ``all()``, ``first()`` over a plan factory."""

    def _plan(self, *, first: bool = False) -> PagePlan:
        raise NotImplementedError

    _answer: AsyncAnswer

    async def pages(self) -> AsyncIterator[list[RowT]]:
        """Yield the rows a page at a time."""
        async for page in drive_pages_async(self._plan(), self._answer):
            yield page  # type: ignore[misc]  # rows are the caller's TypedDict

    async def __aiter__(self) -> AsyncIterator[RowT]:
        async for page in self.pages():
            for row in page:
                yield row

    async def all(self) -> list[RowT]:
        """Every row as one list (memory grows with the result)."""
        return [row async for row in self]

    async def first(self) -> RowT | None:
        """The first row, or None (one request)."""
        async for page in drive_pages_async(self._plan(first=True), self._answer):
            return page[0] if page else None  # type: ignore[return-value]
        return None


class AsyncResult(_Paged[RowT]):
    """The rows of ``_all_docs`` or a view, key-paged (see :class:`~settee.pages.Result`)."""

    def __init__(self, result: Result[RowT], answer: AsyncAnswer) -> None:
        self._result = result
        self._answer = answer

    def __repr__(self) -> str:
        return f"Async{self._result!r}"

    @property
    def requests(self) -> int:
        """Backend requests made so far."""
        return self._result.requests

    def _plan(self, *, first: bool = False) -> PagePlan:
        return (self._result._derive(limit=1) if first else self._result).plan()


class AsyncQueryResult(_Paged[dict[str, Any]]):
    """The documents of a Mango query, bookmark-paged (see :class:`~settee.pages.QueryResult`)."""

    def __init__(self, result: QueryResult, answer: AsyncAnswer) -> None:
        self._result = result
        self._answer = answer

    def __repr__(self) -> str:
        return f"Async{self._result!r}"

    def _plan(self, *, first: bool = False) -> PagePlan:
        result = self._result
        if first:
            result = result._derive(skip=result._skip, limit=1)
        return result.pager().plan()


class AsyncQuerySet(_Paged[dict[str, Any]]):
    """An RQL/Mango query set (``db.filter(...)``), awaited: every refinement returns a new set.

    ``filter``, ``order_by``, ``select``, ``limit`` and slices as on
    :class:`~settee.rql.MangoQuerySet`; ``await qs.count()``, ``await qs.first()``,
    ``await qs.all()``, ``await qs.exists()``, ``async for doc in qs``.
    """

    def __init__(self, queryset: MangoQuerySet, find: AsyncAnswer) -> None:
        self._qs = queryset
        self._find = find

    def __repr__(self) -> str:
        return f"Async{self._qs!r}"

    async def _answer(self, fetch: Fetch) -> Mapping[str, Any]:
        try:
            return await self._find(fetch)
        except BadRequest as exc:
            explained = self._qs.explain_error(exc)
            if explained is exc:
                raise
            raise explained from exc

    def _plan(self, *, first: bool = False) -> PagePlan:
        return (self._qs.limit(1) if first else self._qs).pager().plan()

    def _wrap(self, queryset: MangoQuerySet) -> AsyncQuerySet:
        return AsyncQuerySet(queryset, self._find)

    def filter(
        self, query: QueryLike | Mapping[str, Any] = None, **lookups: object
    ) -> AsyncQuerySet:
        """ANDed with another condition (as :meth:`MangoQuerySet.filter`)."""
        return self._wrap(self._qs.filter(query, **lookups))

    def order_by(self, *fields: str) -> AsyncQuerySet:
        return self._wrap(self._qs.order_by(*fields))

    def select(self, *fields: str) -> AsyncQuerySet:
        return self._wrap(self._qs.select(*fields))

    def limit(self, count: int) -> AsyncQuerySet:
        return self._wrap(self._qs.limit(count))

    def __getitem__(self, key: slice) -> AsyncQuerySet:
        """``qs[a:b]``: a new set (positions are awaited with ``first()`` on a slice)."""
        if not isinstance(key, slice):
            raise TypeError("an async query set slices (qs[a:b]); await qs[i:i+1].first()")
        return self._wrap(self._qs[key])

    @property
    def selector(self) -> dict[str, Any]:
        """The Mango selector."""
        return self._qs.selector

    def find_body(self) -> dict[str, Any]:
        return self._qs.find_body()

    async def count(self) -> int:
        """How many documents match (pages through their ``_id`` s)."""
        total = 0
        async for page in drive_pages_async(self._qs.pager(("_id",)).plan(), self._answer):
            total += len(page)
        return total

    async def exists(self) -> bool:
        """Whether at least one document matches (one request)."""
        plan = self._qs.limit(1).pager(("_id",)).plan()
        async for page in drive_pages_async(plan, self._answer):
            if page:
                return True
        return False
