"""python-cloudant's ``cloudant.result``: :class:`Result`, :class:`QueryResult`,
:class:`ResultByKey`.

A :class:`Result` wraps a callable that answers one request's JSON
(``method_ref(**options)``: a database's ``all_docs``, a
:class:`~settee.compat.cloudant.view.View`); iterating it pages by key with
settee's key pager (:class:`settee.pages.keys.Result`). Indexing and slicing
return lists of rows, as python-cloudant's do: ``result[9]`` is a one-row
list, ``result["k"]`` the rows whose key is ``"k"``, ``result[10:20]`` and
``result["a":"c"]`` lists. :class:`QueryResult` does the same over a
:class:`~settee.compat.cloudant.query.Query` with bookmark paging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from settee._validate import is_int
from settee.compat.cloudant.error import ResultException
from settee.pages import bookmarks, keys

__all__ = ["QueryResult", "Result", "ResultByKey"]

_KEY_OPTIONS = ("key", "keys", "startkey", "endkey", "start_key", "end_key")
_ITERATION_REFUSED = ("limit", "skip")
_ALLOWED = frozenset(
    {
        "descending",
        "endkey",
        "end_key",
        "endkey_docid",
        "end_key_doc_id",
        "group",
        "group_level",
        "include_docs",
        "inclusive_end",
        "key",
        "keys",
        "limit",
        "page_size",
        "reduce",
        "skip",
        "stable",
        "stale",
        "startkey",
        "start_key",
        "startkey_docid",
        "start_key_doc_id",
        "update",
        "conflicts",
        "attachments",
        "att_encoding_info",
        "update_seq",
        "sorted",
        "partition_key",
    }
)


class ResultByKey(keys.ResultByKey):
    """A key to look up, not a position: ``result[ResultByKey(9)]``; ``k()`` gives the key."""

    def __call__(self) -> Any:
        return self.value


def _check_page_size(page_size: object) -> int:
    """``page_size`` as a positive int (``"3"`` is read as 3); ``ResultException(104)``."""
    if not isinstance(page_size, (int, str)):
        raise ResultException(104, page_size)
    try:
        size = int(page_size)
    except ValueError:
        raise ResultException(104, page_size) from None
    if isinstance(page_size, bool) or size <= 0:
        raise ResultException(104, page_size)
    return size


class Result:
    """``Result(method_ref, **options)``: rows of ``method_ref(**options)``, paged by key.

    Options are python-cloudant's view options (``descending``, ``startkey``,
    ``include_docs``, ``page_size`` (100) ...). ``ResultException``: 101 for
    an index that is neither a position nor a key, 102 for key access while
    ``key``/``keys``/``startkey``/``endkey`` are set, 103 for iteration while
    ``limit``/``skip`` are set, 104 for a bad ``page_size``.
    """

    def __init__(self, method_ref: Callable[..., Mapping[str, Any]], **options: Any) -> None:
        self.method_ref = method_ref
        self._ref = method_ref  # python-cloudant's attribute name
        self._page_size: Any = options.pop("page_size", 100)
        self.options = options

    def _fetch(self, query: dict[str, Any], keys_: list[Any] | None) -> Mapping[str, Any]:
        params = {k: v for k, v in query.items() if v is not None}
        if keys_ is not None:
            params["keys"] = keys_
        return self.method_ref(**params)

    def _native(self, **changes: Any) -> keys.Result[dict[str, Any]]:
        options = {**self.options, **changes}
        return keys.Result(self._fetch, page_size=_check_page_size(self._page_size), **options)

    def _rows(self, **params: Any) -> list[dict[str, Any]]:
        merged = {k: v for k, v in {**self.options, **params}.items() if v is not None}
        answer = self.method_ref(**merged)
        rows: list[dict[str, Any]] = list(answer.get("rows", []))
        return rows

    def __getitem__(self, arg: Any) -> list[dict[str, Any]]:
        if isinstance(arg, bool):
            raise ResultException(101, arg)
        if isinstance(arg, int):
            if arg < 0:
                raise ResultException(101, arg)
            return self._window(arg, arg + 1)
        if isinstance(arg, slice):
            return self._slice(arg)
        if isinstance(arg, (str, list, ResultByKey, keys.ResultByKey)) or arg is None:
            return self._by_key(arg)
        raise ResultException(101, arg)

    def _window(self, start: int, stop: int | None) -> list[dict[str, Any]]:
        """Rows ``start`` to ``stop`` (exclusive) of the result, counted after the
        result's own ``skip`` and within its own ``limit``."""
        base_skip = int(self.options.get("skip") or 0)
        base_limit = self.options.get("limit")
        if base_limit is not None:
            stop = base_limit if stop is None else min(stop, base_limit)
        if stop is not None and stop <= start:
            return []
        params: dict[str, Any] = {"skip": base_skip + start or None}
        params["limit"] = None if stop is None else stop - start
        return self._rows(**params)

    def _key_options_given(self) -> list[str]:
        return [k for k in _KEY_OPTIONS if self.options.get(k) is not None]

    def _by_key(self, arg: Any) -> list[dict[str, Any]]:
        refused = self._key_options_given()
        if refused:
            raise ResultException(102, refused, self.options)
        key = arg.value if isinstance(arg, keys.ResultByKey) else arg
        return self._rows(key=key)

    def _slice(self, part: slice) -> list[dict[str, Any]]:
        start, stop = part.start, part.stop
        if part.step is not None:
            raise ResultException(101, part)
        ints = all(x is None or is_int(x) for x in (start, stop))
        if ints:
            if (start is not None and start < 0) or (stop is not None and stop < 0):
                raise ResultException(101, part)
            if start is not None and stop is not None and stop <= start:
                raise ResultException(101, part)
            return self._window(start or 0, stop)
        if start is not None and stop is not None and type(start) is not type(stop):
            raise ResultException(101, part)
        refused = self._key_options_given()
        if refused:
            raise ResultException(102, refused, self.options)
        params: dict[str, Any] = {}
        if start is not None:
            params["startkey"] = start.value if isinstance(start, keys.ResultByKey) else start
        if stop is not None:
            params["endkey"] = stop.value if isinstance(stop, keys.ResultByKey) else stop
        return self._rows(**params)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        refused = [k for k in _ITERATION_REFUSED if self.options.get(k) is not None]
        if refused:
            raise ResultException(103, refused, self.options)
        return iter(self._native())

    def all(self) -> list[dict[str, Any]]:
        """Every row, in one request."""
        return self[:]


class QueryResult(Result):
    """``QueryResult(query, **options)``: the documents a
    :class:`~settee.compat.cloudant.query.Query` finds, bookmark-paged when iterated.

    Options: ``bookmark``, ``fields``, ``page_size`` (100), ``r``, ``selector``,
    ``sort``, ``use_index``, ``limit``/``skip`` (not while iterating). Only
    positions and slices of positions index it (``ResultException(101)``
    otherwise).
    """

    def __init__(self, query: Callable[..., Mapping[str, Any]], **options: Any) -> None:
        if isinstance(query, Mapping):
            for name in ("skip", "limit"):
                if name in query and name not in options:
                    options[name] = query[name]
        super().__init__(query, **options)

    def _rows(self, **params: Any) -> list[dict[str, Any]]:
        merged = {k: v for k, v in {**self.options, **params}.items() if v is not None}
        answer = self.method_ref(**merged)
        docs: list[dict[str, Any]] = list(answer.get("docs", []))
        return docs

    def __getitem__(self, arg: Any) -> list[dict[str, Any]]:
        if is_int(arg) and arg >= 0:
            return self._window(arg, arg + 1)
        if (
            isinstance(arg, slice)
            and all(x is None or (is_int(x) and x >= 0) for x in (arg.start, arg.stop))
            and arg.step is None
        ):
            return self._slice(arg)
        raise ResultException(101, arg)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        refused = [k for k in _ITERATION_REFUSED if self.options.get(k) is not None]
        if refused:
            raise ResultException(103, refused, self.options)
        base: dict[str, Any] = dict(getattr(self.method_ref, "items", lambda: [])())
        base.update(self.options)
        base.setdefault("selector", {})

        def find(body: dict[str, Any]) -> dict[str, Any]:
            merged = {k: v for k, v in body.items()}
            return dict(self.method_ref(**merged))

        database = getattr(self.method_ref, "_database", None)
        paging: bookmarks.Bookmarks = True
        if database is not None:
            backend = database.backend
            paging = lambda: "mango_bookmarks" in backend.capabilities  # noqa: E731
        return iter(
            bookmarks.QueryResult(
                find, base, page_size=_check_page_size(self._page_size), bookmarks=paging
            )
        )
