"""Database queries: ``_all_docs``, design-document and Python views, Mango.

:class:`QueryMixin` gives :class:`~settee.database.Database` its read-side
query methods. Each returns a lazy, paged result set from :mod:`settee.pages`
(or, with ``raw_result=True``, one request's JSON). The ``_all_docs``, view
and ``_find`` helpers take a partition key so :class:`~settee.partition.Partition`
runs the same code scoped to one partition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from settee._validate import check_int, check_json, check_query_params
from settee.pages.bookmarks import QueryResult
from settee.pages.keys import Result
from settee.pages.paging import DEFAULT_PAGE_SIZE

if TYPE_CHECKING:
    from settee.backends.base import Backend, MapFunction, ReduceSpec

__all__ = ["QueryMixin"]


def _ddoc_name(ddoc_id: str) -> str:
    if not isinstance(ddoc_id, str) or not ddoc_id:
        raise ValueError("design document id must be a non-empty str")
    name = ddoc_id[len("_design/") :] if ddoc_id.startswith("_design/") else ddoc_id
    if not name:
        raise ValueError(f"invalid design document id {ddoc_id!r}")
    return name


class QueryMixin:
    """``_all_docs``, views and Mango queries and indexes of one database."""

    if TYPE_CHECKING:
        # Provided by Database.
        database_name: str

        @property
        def backend(self) -> Backend: ...

    def all_docs(self, raw_result: bool = False, **params: Any) -> Any:
        """The ``_all_docs`` rows as a lazy, key-paged :class:`Result`.

        ``params`` are CouchDB's (``include_docs``, ``startkey``, ``endkey``,
        ``keys``, ``descending``, ``limit``, ``skip``...) plus ``page_size``.
        ``raw_result=True`` makes one request and returns its JSON instead.
        """
        return self._all_docs(None, raw_result, params)

    def _all_docs(self, partition: str | None, raw_result: bool, params: dict[str, Any]) -> Any:
        check_query_params(params)
        backend, name = self.backend, self.database_name

        def fetch(query: dict[str, Any], keys: list[Any] | None) -> dict[str, Any]:
            return backend.all_docs(name, query, keys=keys, partition=partition)

        if raw_result:
            params.pop("page_size", None)
            keys = params.pop("keys", None)
            return fetch(params, None if keys is None else list(keys))
        return Result(fetch, docid_paging=False, **params)

    def get_view_result(
        self, ddoc_id: str, view_name: str, raw_result: bool = False, **params: Any
    ) -> Any:
        """A design-document view's rows as a lazy :class:`Result` (JSON with raw_result).

        ``params``: CouchDB's view options plus ``page_size``.
        """
        return self._view_result(None, ddoc_id, view_name, raw_result, params)

    def _view_result(
        self,
        partition: str | None,
        ddoc_id: str,
        view_name: str,
        raw_result: bool,
        params: dict[str, Any],
    ) -> Any:
        backend, name, ddoc = self.backend, self.database_name, _ddoc_name(ddoc_id)
        if not isinstance(view_name, str) or not view_name:
            raise ValueError("view_name must be a non-empty str")
        check_query_params(params)

        def fetch(query: dict[str, Any], keys: list[Any] | None) -> dict[str, Any]:
            return backend.view(name, ddoc, view_name, query, keys=keys, partition=partition)

        if raw_result:
            params.pop("page_size", None)
            keys = params.pop("keys", None)
            return fetch(params, None if keys is None else list(keys))
        return Result(fetch, **params)

    def view(self, map_fn: MapFunction, reduce: ReduceSpec = None, **params: Any) -> Result:
        """Rows of a view computed by a Python callable (local backends; ``NotSupported``
        on HTTP). ``map_fn(doc)`` yields ``(key, value)`` pairs."""
        return self._python_view(None, map_fn, reduce, params)

    def _python_view(
        self,
        partition: str | None,
        map_fn: MapFunction,
        reduce: ReduceSpec,
        params: dict[str, Any],
    ) -> Result:
        if not callable(map_fn):
            raise TypeError("map_fn must be a callable: doc -> iterable of (key, value)")
        check_query_params(params)
        backend, name = self.backend, self.database_name

        def fetch(query: dict[str, Any], keys: list[Any] | None) -> dict[str, Any]:
            return backend.python_view(
                name, map_fn, query, reduce=reduce, keys=keys, partition=partition
            )

        return Result(fetch, **params)

    # -- Mango ------------------------------------------------------------------
    def create_query_index(
        self,
        design_document_id: str | None = None,
        index_name: str | None = None,
        index_type: str = "json",
        partitioned: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Create a Mango index; ``kwargs`` form its definition (``fields=[...]``,
        ``partial_filter_selector=...``, text-index options). Returns
        ``{"result": "created"|"exists", "id", "name"}``."""
        if index_type not in ("json", "text"):
            raise ValueError("index_type must be 'json' or 'text'")
        if index_type == "json" and not kwargs.get("fields"):
            raise ValueError("a json index needs fields=[...]")
        if "fields" in kwargs and (
            isinstance(kwargs["fields"], str) or not isinstance(kwargs["fields"], (list, tuple))
        ):
            raise TypeError("fields must be a list")
        definition = dict(kwargs)
        if "fields" in definition:
            definition["fields"] = list(definition["fields"])
        body: dict[str, Any] = {"index": definition, "type": index_type}
        if design_document_id is not None:
            body["ddoc"] = _ddoc_name(design_document_id)
        if index_name is not None:
            body["name"] = index_name
        if partitioned is not None:
            body["partitioned"] = bool(partitioned)
        check_json(body, "index definition")
        answer: dict[str, Any] = self.backend.create_index(self.database_name, body)
        return answer

    def get_query_indexes(self, raw_result: bool = False) -> Any:
        """The Mango indexes: a list of index dicts (the JSON answer with raw_result)."""
        answer: dict[str, Any] = self.backend.get_indexes(self.database_name)
        if raw_result:
            return answer
        return list(answer.get("indexes", []))

    def delete_query_index(
        self, design_document_id: str, index_type: str, index_name: str
    ) -> dict[str, Any]:
        """Delete a Mango index; ``NotFound`` if absent."""
        answer: dict[str, Any] = self.backend.delete_index(
            self.database_name,
            _ddoc_name(design_document_id),
            index_name,
            index_type=index_type,
        )
        return answer

    def get_query_result(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        raw_result: bool = False,
        **kwargs: Any,
    ) -> Any:
        """A Mango query's documents as a lazy, bookmark-paged :class:`QueryResult`.

        ``kwargs``: ``limit``, ``skip``, ``bookmark``, ``use_index``, ``r``,
        ``conflicts``, ``execution_stats``, ``page_size``... ``raw_result=True``
        makes one request and returns its JSON.
        """
        return self._query_result(None, selector, fields, sort, raw_result, kwargs)

    def _query_result(
        self,
        partition: str | None,
        selector: Mapping[str, Any],
        fields: list[str] | None,
        sort: list[Any] | None,
        raw_result: bool,
        kwargs: dict[str, Any],
    ) -> Any:
        if not isinstance(selector, Mapping):
            raise TypeError("selector must be a dict")
        page_size = kwargs.pop("page_size", DEFAULT_PAGE_SIZE)
        query: dict[str, Any] = {"selector": dict(selector), **kwargs}
        if fields is not None:
            query["fields"] = list(fields)
        if sort is not None:
            query["sort"] = list(sort)
        check_json(query, "query")
        for option in ("limit", "skip"):
            if query.get(option) is not None:
                check_int(option, query[option])
        backend, name = self.backend, self.database_name

        def find(body: dict[str, Any]) -> dict[str, Any]:
            return backend.find(name, body, partition=partition)

        if raw_result:
            return find({k: v for k, v in query.items() if v is not None})
        return QueryResult(find, query, page_size=page_size)
