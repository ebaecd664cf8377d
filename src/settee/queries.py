"""Query scopes: ``_all_docs``, design-document and Python views, Mango ``_find``.

A :class:`QueryScope` is one database, or one partition of it: a
:class:`~settee.database.Database` is the whole-database scope and a
:class:`~settee.partition.Partition` the scope of one partition key; both
are query scopes and share every query method below. Each returns a lazy,
paged result set from :mod:`settee.pages` (or, with ``raw_result=True``, one
request's JSON). Options are keyword-only and listed in :class:`ViewOptions`
and :class:`FindOptions`: a misspelt option is a type error for mypy and a
``TypeError`` before any request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload

from settee._validate import check_int, check_json, check_query_params

# settee.compat imports ddoc_name from here (the rule itself is settee._validate's).
from settee._validate import ddoc_name as ddoc_name
from settee.pages.bookmarks import QueryResult
from settee.pages.keys import Result
from settee.pages.paging import DEFAULT_PAGE_SIZE
from settee.rows import AllDocsRow, FindPage, ViewRow

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from settee.backends.base import Backend, MapFunction, ReduceSpec
    from settee.client import Client

__all__ = ["FindOptions", "PythonViewOptions", "QueryPlan", "QueryScope", "ViewOptions"]


class PythonViewOptions(TypedDict, total=False):
    """The query options of a Python view (:meth:`QueryScope.view`): those of
    :class:`ViewOptions` but ``reduce``, which is the view's reduce function there."""

    conflicts: bool
    descending: bool
    key: Any
    keys: Sequence[Any]
    startkey: Any
    start_key: Any
    endkey: Any
    end_key: Any
    startkey_docid: str
    start_key_doc_id: str
    endkey_docid: str
    end_key_doc_id: str
    inclusive_end: bool
    include_docs: bool
    attachments: bool
    att_encoding_info: bool
    limit: int | None
    skip: int
    group: bool
    group_level: int
    sorted: bool
    stable: bool
    stale: str
    update: bool | str
    update_seq: bool
    page_size: int


class ViewOptions(PythonViewOptions, total=False):
    """CouchDB's ``_all_docs`` and view query options, plus ``page_size`` (rows per request).

    ``None`` means "not given". ``key``/``startkey``/``endkey`` and ``keys``
    are JSON values; ``limit``/``skip`` count rows across pages.
    """

    reduce: bool


class QueryPlan(TypedDict, total=False):
    """CouchDB's ``_explain`` answer: the chosen ``index`` (``ddoc``, ``name``, ``type``,
    ``def``), the query as understood, and the key range read (``mrargs``)."""

    dbname: str
    index: dict[str, Any]
    partitioned: Any
    selector: dict[str, Any]
    opts: dict[str, Any]
    limit: int
    skip: int
    fields: Any
    mrargs: dict[str, Any]
    covering: bool


class FindOptions(TypedDict, total=False):
    """CouchDB's ``_find`` options beside ``selector``/``fields``/``sort``, plus ``page_size``."""

    limit: int | None
    skip: int
    bookmark: str | None
    use_index: str | list[str]
    r: int
    conflicts: bool
    update: bool
    stable: bool
    stale: str
    execution_stats: bool
    allow_fallback: bool
    page_size: int


#: The option names of each options TypedDict (worked out once: every query checks them).
_KNOWN: dict[type[Any], frozenset[str]] = {}


def check_options(method: str, given: Mapping[str, object], allowed: type[Any]) -> None:
    """``TypeError`` (as Python's own) for a keyword not in the TypedDict ``allowed``."""
    known = _KNOWN.get(allowed)
    if known is None:
        known = _KNOWN[allowed] = allowed.__required_keys__ | allowed.__optional_keys__
    for name in given:
        if name not in known:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")


def _find_query(
    method: str,
    selector: Mapping[str, Any],
    fields: list[str] | None,
    sort: list[Any] | None,
    options: Mapping[str, Any],
) -> tuple[dict[str, Any], int]:
    """The ``_find`` body of ``method``'s arguments, checked, and the page size.

    ``TypeError`` for an option :class:`FindOptions` has not, a selector that is not a
    dict, a body that is not JSON or a ``limit``/``skip`` that is not an int.
    """
    check_options(method, options, FindOptions)
    if not isinstance(selector, Mapping):
        raise TypeError("selector must be a dict")
    query: dict[str, Any] = {"selector": dict(selector), **options}
    page_size: int = query.pop("page_size", DEFAULT_PAGE_SIZE)
    if fields is not None:
        query["fields"] = list(fields)
    if sort is not None:
        query["sort"] = list(sort)
    check_json(query, "query")
    for option in ("limit", "skip"):
        if query.get(option) is not None:
            check_int(option, query[option])
    return query, page_size


def _raw_params(params: dict[str, Any]) -> tuple[dict[str, Any], list[Any] | None]:
    params.pop("page_size", None)
    keys = params.pop("keys", None)
    return params, None if keys is None else list(keys)


class QueryScope:
    """The queries of database ``database_name`` of ``client``, or of one partition of it
    (``partition_key``). Built as a :class:`~settee.database.Database` or by
    ``db.partition(key)``.
    """

    def __init__(self, client: Client, database_name: str, partition_key: str | None) -> None:
        self.client = client
        self.database_name = database_name
        self.partition_key = partition_key

    @property
    def backend(self) -> Backend:
        """The client's backend, which answers the queries."""
        return self.client.backend

    # -- _all_docs and views ----------------------------------------------------
    @overload
    def all_docs(
        self, raw_result: Literal[False] = False, **params: Unpack[ViewOptions]
    ) -> Result[AllDocsRow]: ...
    @overload
    def all_docs(
        self, raw_result: Literal[True], **params: Unpack[ViewOptions]
    ) -> dict[str, Any]: ...
    @overload
    def all_docs(
        self, raw_result: bool, **params: Unpack[ViewOptions]
    ) -> Result[AllDocsRow] | dict[str, Any]: ...
    def all_docs(
        self, raw_result: bool = False, **params: Unpack[ViewOptions]
    ) -> Result[AllDocsRow] | dict[str, Any]:
        """The ``_all_docs`` rows as a lazy, key-paged :class:`~settee.pages.keys.Result`.

        Options: :class:`ViewOptions` (``TypeError`` for another keyword).
        ``raw_result=True`` makes one request and returns its JSON instead.
        """
        check_options("all_docs", params, ViewOptions)
        options: dict[str, Any] = dict(params)
        check_query_params(options)
        backend, name, partition = self.backend, self.database_name, self.partition_key

        def fetch(query: dict[str, Any], keys: list[Any] | None) -> dict[str, Any]:
            return backend.all_docs(name, query, keys=keys, partition=partition)

        if raw_result:
            return fetch(*_raw_params(options))
        return Result(fetch, docid_paging=False, **options)

    @overload
    def get_view_result(
        self,
        ddoc_id: str,
        view_name: str,
        raw_result: Literal[False] = False,
        **params: Unpack[ViewOptions],
    ) -> Result[ViewRow]: ...
    @overload
    def get_view_result(
        self, ddoc_id: str, view_name: str, raw_result: Literal[True], **params: Unpack[ViewOptions]
    ) -> dict[str, Any]: ...
    @overload
    def get_view_result(
        self, ddoc_id: str, view_name: str, raw_result: bool, **params: Unpack[ViewOptions]
    ) -> Result[ViewRow] | dict[str, Any]: ...
    def get_view_result(
        self,
        ddoc_id: str,
        view_name: str,
        raw_result: bool = False,
        **params: Unpack[ViewOptions],
    ) -> Result[ViewRow] | dict[str, Any]:
        """A design-document view's rows as a lazy :class:`~settee.pages.keys.Result`
        (its JSON with ``raw_result=True``). Options: :class:`ViewOptions`."""
        check_options("get_view_result", params, ViewOptions)
        ddoc = ddoc_name(ddoc_id)
        if not isinstance(view_name, str) or not view_name:
            raise ValueError("view_name must be a non-empty str")
        options: dict[str, Any] = dict(params)
        check_query_params(options)
        backend, name, partition = self.backend, self.database_name, self.partition_key

        if raw_result:
            query, keys = _raw_params(options)
            return backend.view(name, ddoc, view_name, query, keys=keys, partition=partition)

        def fetch(query: dict[str, Any], keys: list[Any] | None) -> dict[str, Any]:
            # The pager reads rows only: total_rows and offset need not be worked out.
            return backend.view(
                name, ddoc, view_name, query, keys=keys, partition=partition, counts=False
            )

        return Result(fetch, **options)

    def view(
        self, map_fn: MapFunction, reduce: ReduceSpec = None, **params: Unpack[PythonViewOptions]
    ) -> Result[ViewRow]:
        """Rows of a view computed by a Python callable (local backends; ``NotSupported``
        on HTTP). ``map_fn(doc)`` yields ``(key, value)`` pairs. Options: :class:`ViewOptions`."""
        check_options("view", params, PythonViewOptions)
        if not callable(map_fn):
            raise TypeError("map_fn must be a callable: doc -> iterable of (key, value)")
        options: dict[str, Any] = dict(params)
        check_query_params(options)
        backend, name, partition = self.backend, self.database_name, self.partition_key

        def fetch(query: dict[str, Any], keys: list[Any] | None) -> dict[str, Any]:
            return backend.python_view(
                name, map_fn, query, reduce=reduce, keys=keys, partition=partition
            )

        return Result(fetch, **options)

    # -- Mango ------------------------------------------------------------------
    @overload
    def get_query_result(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        raw_result: Literal[False] = False,
        **kwargs: Unpack[FindOptions],
    ) -> QueryResult: ...
    @overload
    def get_query_result(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        *,
        raw_result: Literal[True],
        **kwargs: Unpack[FindOptions],
    ) -> FindPage: ...
    @overload
    def get_query_result(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        raw_result: bool = False,
        **kwargs: Unpack[FindOptions],
    ) -> QueryResult | FindPage: ...
    def get_query_result(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        raw_result: bool = False,
        **kwargs: Unpack[FindOptions],
    ) -> QueryResult | FindPage:
        """A Mango query's documents as a lazy, bookmark-paged
        :class:`~settee.pages.bookmarks.QueryResult`.

        Options: :class:`FindOptions` (``TypeError`` for another keyword).
        ``raw_result=True`` makes one request and returns its JSON
        (:class:`~settee.rows.FindPage`).
        """
        query, page_size = _find_query("get_query_result", selector, fields, sort, kwargs)
        backend, name, partition = self.backend, self.database_name, self.partition_key

        def find(body: dict[str, Any]) -> dict[str, Any]:
            return backend.find(name, body, partition=partition)

        if raw_result:
            page: FindPage = find({k: v for k, v in query.items() if v is not None})  # type: ignore[assignment]
            return page
        return QueryResult(
            find,
            query,
            page_size=page_size,
            bookmarks=lambda: "mango_bookmarks" in backend.capabilities,
        )

    def explain_query(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        **kwargs: Unpack[FindOptions],
    ) -> QueryPlan:
        """CouchDB's ``_explain`` of the query :meth:`get_query_result` would send: which
        index it reads (``plan["index"]["name"]``) and the key range (``mrargs``).

        Options as for :meth:`get_query_result` (``page_size`` aside). A ``sort`` no
        index serves is ``BadRequest`` (``no_usable_index``), as on CouchDB.
        """
        query, _ = _find_query("explain_query", selector, fields, sort, kwargs)
        body = {k: v for k, v in query.items() if v is not None}
        plan: QueryPlan = self.backend.explain(  # type: ignore[assignment]
            self.database_name, body, partition=self.partition_key
        )
        return plan
