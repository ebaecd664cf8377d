"""``ResourceSet``: a lazy, filtered, ordered, paged view of a collection.

Pages are fetched with ``limit``/``offset`` query parameters and walked with
the ``Content-Range: items <first>-<last>/<total>`` header (django-rql's
``RQLContentRangeLimitOffsetPagination``, CloudBlue Connect). Iterating holds
one page at a time, so memory stays flat however large the set, unless the
client was built with ``resourceset_append=True``: then fetched items are kept
and a second iteration replays them without a request (Connect's behaviour).

Every builder method (``filter``, ``order_by``, ``select``, ``search``,
``limit``, ``configure``, slicing) returns a new ResourceSet; the original is
left as it was.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from settee._validate import is_int
from settee.errors import TransportError
from settee.pages.paging import PlanRun
from settee.rest._http import check_limit, decode_body, encode_rql, pick, with_params
from settee.rql.builder import R
from settee.rql.render import directive_terms
from settee.urls import redact_url

if TYPE_CHECKING:
    from settee.http.async_transport import AsyncResponse
    from settee.http.transport import Response
    from settee.rest._base import ClientBase
    from settee.rest.client import Client

__all__ = ["PagePlan", "ResourceSet", "ResourceSetBase", "parse_content_range"]

_RS = TypeVar("_RS", bound="ResourceSetBase")

#: The paging plan: yields ``(limit, offset)`` of the next page, is sent
#: ``(items, total)`` of the page fetched, returns when the walk is over.
PagePlan = Generator[tuple[int, int], tuple[list[Any], "int | None"], None]

_CONTENT_RANGE = re.compile(r"^\s*items\s+(\d+)\s*-\s*(\d+)\s*/\s*(\d+|\*)\s*$")
_CONFIG_KEYS = frozenset({"headers", "params", "timeout"})


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``(first, last, total)`` from ``items 0-99/1234`` (total None for ``*``); None if absent."""
    if not value:
        return None
    m = _CONTENT_RANGE.match(value)
    if m is None:
        return None
    total = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), int(m.group(2)), total


def _rql_text(query: Any) -> str:
    if isinstance(query, str):
        text = query.strip()
        # A bare top-level `|` would bind looser than the `&` we join terms with.
        return f"({text})" if "|" in text or ";" in text else text
    if isinstance(query, R):
        return str(query)
    raise TypeError(f"a filter must be an RQL string or an R object, not {type(query).__name__}")


def _lookups_text(lookups: Mapping[str, Any]) -> str:
    return str(R(**lookups))


def _check_fields(method: str, fields: tuple[Any, ...]) -> tuple[str, ...]:
    for f in fields:
        if not isinstance(f, str) or not f.strip("+-"):
            raise TypeError(f"{method}() takes field names as non-empty strings, not {f!r}")
        if any(c in f for c in ",()&"):
            raise ValueError(f"{method}(): {f!r} is not a field name")
    return fields


class ResourceSetBase:
    """A ResourceSet's state, builders, URLs, page parsing and paging plan (no I/O).

    :class:`ResourceSet` (requests) and :class:`~settee.rest.aio.AsyncResourceSet`
    (aiohttp) only send the page requests this plans and feed the answers back.
    """

    _client: ClientBase

    def __init__(
        self,
        client: ClientBase,
        url: str,
        *,
        query: tuple[str, ...] = (),
        ordering: tuple[str, ...] = (),
        select: tuple[str, ...] = (),
        search: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        stop: int | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._url = url
        self._query = query
        self._ordering = ordering
        self._select = select
        self._search = search
        self._limit = limit if limit is not None else client.default_limit
        self._offset = offset
        self._stop = stop
        self._config: dict[str, Any] = dict(config or {})
        self._append = client.resourceset_append
        self._total: int | None = None
        self._cache: list[Any] = []
        self._complete = False

    def _copy(self: _RS, **changes: Any) -> _RS:
        state: dict[str, Any] = {
            "query": self._query,
            "ordering": self._ordering,
            "select": self._select,
            "search": self._search,
            "limit": self._limit,
            "offset": self._offset,
            "stop": self._stop,
            "config": self._config,
        }
        state.update(changes)
        return type(self)(self._client, self._url, **state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url_for(self._limit, self._offset)!r})"

    def help(self) -> str:
        """Print and return what the OpenAPI spec says about listing this collection."""
        text = self._client.describe(
            self._url, exact=True, title=f"{type(self).__name__} {self._url}"
        )
        print(text)
        return text

    # -- building ----------------------------------------------------------------
    def all(self: _RS) -> _RS:
        """A copy of this ResourceSet (nothing fetched)."""
        return self._copy()

    def filter(self: _RS, *queries: Any, **lookups: Any) -> _RS:
        """A copy with RQL ``queries`` (strings or ``R``) and ``field__op=value`` lookups added.

        Everything is combined with ``and``. Raises ``TypeError`` for a query
        that is neither a string nor an ``R``.
        """
        terms = [_rql_text(q) for q in queries]
        if lookups:
            terms.append(_lookups_text(lookups))
        return self._copy(query=self._query + tuple(t for t in terms if t))

    def order_by(self: _RS, *fields: str) -> _RS:
        """A copy ordered by ``fields`` too (``"-created"`` for descending)."""
        return self._copy(ordering=self._ordering + _check_fields("order_by", fields))

    def select(self: _RS, *fields: str) -> _RS:
        """A copy with the RQL ``select`` operator (``"-field"`` leaves a field out)."""
        return self._copy(select=self._select + _check_fields("select", fields))

    def search(self: _RS, term: str) -> _RS:
        """A copy that asks for the server's full-text ``search=term``."""
        if not isinstance(term, str):
            raise TypeError(f"search() takes a str, not {type(term).__name__}")
        return self._copy(search=term)

    def limit(self: _RS, limit: int) -> _RS:
        """A copy that fetches ``limit`` resources per request.

        Raises ``TypeError`` if ``limit`` is not an int, ``ValueError`` if it is not positive.
        """
        return self._copy(limit=check_limit(limit))

    def configure(self: _RS, **kwargs: Any) -> _RS:
        """A copy whose page requests also send ``headers=``, ``params=`` or use ``timeout=``."""
        unknown = set(kwargs) - _CONFIG_KEYS
        if unknown:
            raise TypeError(f"configure() got unexpected keyword(s) {sorted(unknown)}")
        return self._copy(config={**self._config, **kwargs})

    # -- URLs ----------------------------------------------------------------------
    def _rql_terms(self) -> list[str]:
        return [*self._query, *directive_terms(self._select, self._ordering, self._search)]

    def rql(self) -> str:
        """The RQL query text (filters, select, ordering, search), not yet URL-encoded."""
        return "&".join(self._rql_terms())

    def url_for(self, limit: int, offset: int) -> str:
        """The URL of the page of ``limit`` items starting at ``offset``."""
        # Each term is encoded on its own, so the "&" between terms stays a separator.
        terms = [encode_rql(t) for t in self._rql_terms()]
        terms.append(f"limit={limit}")
        terms.append(f"offset={offset}")
        url = f"{self._url}?{'&'.join(terms)}"
        return with_params(url, self._config.get("params"))

    def _page_request(self, limit: int, offset: int) -> dict[str, Any]:
        """The keywords of the client's ``send`` for one page."""
        return {
            "headers": self._config.get("headers"),
            "timeout": self._config.get("timeout", "default"),
        }

    # -- the pure steps of paging ---------------------------------------------------------
    def _take_page(self, response: Response | AsyncResponse) -> list[Any]:
        """The items of one page's answer; its Content-Range total is kept."""
        body = decode_body(response, empty=[])
        if not isinstance(body, list):
            raise TransportError(
                f"expected a JSON list from a collection, got {type(body).__name__}",
                method="GET",
                url=redact_url(str(response.url or "")),
            )
        content_range = parse_content_range(response.headers.get("Content-Range"))
        if content_range is not None and content_range[2] is not None:
            self._total = content_range[2]
        return body

    def _plan(self, start: int) -> PagePlan:
        """Which pages to fetch from ``start`` on, told what each page held."""
        offset = start
        while True:
            limit = self._limit
            if self._stop is not None:
                limit = min(limit, self._stop - offset)
            if limit <= 0:
                return
            self._total = None  # learn it afresh from this walk's own pages
            items, total = yield limit, offset
            if not items:
                return
            offset += len(items)
            if total is not None:
                # The server may cap the page below `limit`: go by the total.
                if offset >= total:
                    return
            elif len(items) < limit:
                return  # without Content-Range, a short page is the last one

    def _resume_at(self) -> int | None:
        """Where an appending walk resumes (None: it is complete, replay the kept items)."""
        return None if self._complete else self._offset + len(self._cache)

    def _counted(self) -> int:
        """The count from the total learnt (``TransportError`` if the server sent none)."""
        if self._total is None:
            raise TransportError(
                "the server sent no Content-Range total, so the set cannot be counted",
                method="GET",
                url=redact_url(self._url),
            )
        end = self._total if self._stop is None else min(self._total, self._stop)
        return max(0, end - self._offset)

    def _first_known(self) -> tuple[bool, Any]:
        """``(True, answer)`` when ``first()`` needs no request, else ``(False, None)``."""
        if self._append and self._cache:
            return True, self._cache[0]
        if self._stop is not None and self._stop <= self._offset:
            return True, None
        return False, None

    def _window(self: _RS, key: slice) -> _RS:
        """``rs[a:b]``: a copy over that window (``ValueError``/``TypeError`` for bad bounds)."""
        if key.step not in (None, 1):
            raise ValueError("a ResourceSet slice cannot have a step")
        start = key.start or 0
        stop = key.stop
        if not isinstance(start, int) or (stop is not None and not isinstance(stop, int)):
            raise TypeError("slice bounds must be ints")
        if start < 0 or (key.stop is not None and key.stop < 0):
            raise ValueError("a ResourceSet slice cannot have negative bounds")
        new_start = self._offset + start
        new_stop = None if key.stop is None else self._offset + max(key.stop, start)
        if self._stop is not None:
            new_start = min(new_start, self._stop)
            new_stop = self._stop if new_stop is None else min(new_stop, self._stop)
        return self._copy(offset=new_start, stop=new_stop)

    @staticmethod
    def _check_index(key: object) -> int:
        if not is_int(key):
            raise TypeError(f"ResourceSet indices must be ints or slices, not {type(key).__name__}")
        return key

    def _position(self, index: int) -> tuple[bool, Any]:
        """For a non-negative ``index``: ``(True, item)`` if kept, else ``(False, offset)``
        to fetch; ``IndexError`` past a window's end."""
        if self._append and index < len(self._cache):
            return True, self._cache[index]
        position = self._offset + index
        if self._stop is not None and position >= self._stop:
            raise IndexError("ResourceSet index out of range")
        return False, position

    @staticmethod
    def _check_value_fields(fields: tuple[Any, ...]) -> None:
        for f in fields:
            if not isinstance(f, str) or not f:
                raise TypeError("values_list() takes field names as non-empty strings")


class ResourceSet(ResourceSetBase):
    """A lazy set of resources from one collection; iterate it to page through the server."""

    _client: Client

    def _fetch(self, limit: int, offset: int) -> list[Any]:
        response = self._client.send(
            "GET", self.url_for(limit, offset), **self._page_request(limit, offset)
        )
        return self._take_page(response)

    def _pages(self, start: int) -> Iterator[list[Any]]:
        with PlanRun(self._plan(start)) as run:
            for limit, offset in run:
                items = self._fetch(limit, offset)
                yield items
                run.reply = (items, self._total)

    def __iter__(self) -> Iterator[Any]:
        if not self._append:
            for page in self._pages(self._offset):
                yield from page
            return
        yield from list(self._cache)
        resume = self._resume_at()
        if resume is None:
            return
        for page in self._pages(resume):
            self._cache.extend(page)
            yield from page
        self._complete = True

    def count(self) -> int:
        """The number of resources in the set (one ``limit=0`` request if none was fetched)."""
        if self._total is None:
            self._fetch(0, 0)
        return self._counted()

    def first(self) -> Any:
        """The first resource, or None if the set is empty (one request of one item)."""
        known, answer = self._first_known()
        if known:
            return answer
        items = self._fetch(1, self._offset)
        return items[0] if items else None

    def __bool__(self) -> bool:
        if self._append and self._cache:
            return True
        return self.first() is not None

    def values_list(self, *fields: str) -> list[dict[str, Any]]:
        """``[{field: value}, ...]`` for dot-path ``fields`` of every resource in the set."""
        self._check_value_fields(fields)
        return [pick(item, fields) for item in self]

    @overload
    def __getitem__(self, key: int) -> Any: ...

    @overload
    def __getitem__(self, key: slice) -> ResourceSet: ...

    def __getitem__(self, key: int | slice) -> Any:
        """``rs[i]``: the i-th resource (one request); ``rs[a:b]``: a ResourceSet of that window.

        Raises ``IndexError`` past the end, ``ValueError`` for a slice step or
        negative slice bounds, ``TypeError`` for any other key.
        """
        if isinstance(key, slice):
            return self._window(key)
        index = self._check_index(key)
        if index < 0:
            index += self.count()
            if index < 0:
                raise IndexError("ResourceSet index out of range")
        known, found = self._position(index)
        if known:
            return found
        items = self._fetch(1, found)
        if not items:
            raise IndexError("ResourceSet index out of range")
        return items[0]
