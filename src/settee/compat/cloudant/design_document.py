"""python-cloudant's ``cloudant.design_document``: :class:`DesignDocument`.

A :class:`~settee.compat.cloudant.document.Document` whose ``views``,
``indexes``, ``lists`` and ``shows`` members always exist (empty ones are not
saved) and whose views are :class:`~settee.compat.cloudant.view.View`
objects (:class:`~settee.compat.cloudant.view.QueryIndexView` for Mango
``language: query`` documents).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from settee._validate import validate_doc_id
from settee.compat.cloudant import _raw
from settee.compat.cloudant.document import Document
from settee.compat.cloudant.error import CloudantArgumentError, CloudantDesignDocumentException
from settee.compat.cloudant.view import QueryIndexView, View
from settee.queries import ddoc_name
from settee.urls import quote_segment

if TYPE_CHECKING:
    from settee.compat.cloudant.database import CouchDatabase

__all__ = ["DesignDocument"]

_QUERY = "query"
_NESTED = ("views", "indexes", "lists", "shows")


class DesignDocument(Document):
    """``DesignDocument(database, document_id=None, partitioned=False)``; the id gets
    ``_design/`` when it lacks it. As in python-cloudant the id is checked as given
    first: one CouchDB reserves (``_index``, ``_design``) is ``CloudantArgumentError(137)``."""

    def __init__(
        self, database: CouchDatabase, document_id: str | None = None, partitioned: bool = False
    ) -> None:
        if document_id:
            try:
                validate_doc_id(document_id)
            except ValueError as exc:
                raise CloudantArgumentError(137, document_id) from exc
        if document_id and not document_id.startswith("_design/"):
            document_id = f"_design/{document_id}"
        super().__init__(database, document_id)
        self.setdefault("options", {"partitioned": bool(partitioned)})
        for prop in _NESTED:
            self.setdefault(prop, {})

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "_id" and isinstance(value, str) and not value.startswith("_design/"):
            value = f"_design/{value}"
        super().__setitem__(key, value)

    # -- members --------------------------------------------------------------------
    @property
    def validate_doc_update(self) -> Any:
        """The update validator function (None when unset)."""
        return self.get("validate_doc_update")

    @property
    def filters(self) -> Any:
        """The ``filters`` functions (None when unset)."""
        return self.get("filters")

    @property
    def updates(self) -> Any:
        """The update handlers (None when unset)."""
        return self.get("updates")

    @property
    def st_indexes(self) -> Any:
        """The geospatial indexes (None when unset)."""
        return self.get("st_indexes")

    @property
    def lists(self) -> dict[str, Any]:
        """The list functions."""
        lists: dict[str, Any] = self.setdefault("lists", {})
        return lists

    @property
    def shows(self) -> dict[str, Any]:
        """The show functions."""
        shows: dict[str, Any] = self.setdefault("shows", {})
        return shows

    @property
    def rewrites(self) -> Any:
        """The rewrite rules (None when unset)."""
        return self.get("rewrites")

    @property
    def views(self) -> dict[str, Any]:
        """The views (:class:`View` objects)."""
        views: dict[str, Any] = self.setdefault("views", {})
        return views

    @property
    def indexes(self) -> dict[str, Any]:
        """The search indexes."""
        indexes: dict[str, Any] = self.setdefault("indexes", {})
        return indexes

    def document_partition_url(self, partition_key: str) -> str:
        """The design document's URL under partition ``partition_key``."""
        db_url = self.database.database_url
        name = ddoc_name(str(self["_id"]))
        return f"{db_url}/_partition/{quote_segment(partition_key)}/_design/{quote_segment(name)}"

    # -- adding, updating, deleting -------------------------------------------------
    def _query_language(self) -> bool:
        return self.get("language") == _QUERY

    def add_view(
        self, view_name: str, map_func: str, reduce_func: str | None = None, **kwargs: Any
    ) -> None:
        """Add a view; ``CloudantArgumentError(107)`` if it exists,
        ``CloudantDesignDocumentException(101)`` in a query-index document."""
        if self.get_view(view_name) is not None:
            raise CloudantArgumentError(107, view_name)
        if self._query_language():
            raise CloudantDesignDocumentException(101)
        self.views[view_name] = View(self, view_name, map_func, reduce_func, **kwargs)

    def add_search_index(self, index_name: str, search_func: str, analyzer: Any = None) -> None:
        """Add a search index; ``CloudantArgumentError(108)`` if it exists."""
        if self.get_index(index_name) is not None:
            raise CloudantArgumentError(108, index_name)
        index: dict[str, Any] = {"index": search_func}
        if analyzer is not None:
            index["analyzer"] = analyzer
        self.indexes[index_name] = index

    def add_list_function(self, list_name: str, list_func: str) -> None:
        """Add a list function; ``CloudantArgumentError(109)`` if it exists."""
        if self.get_list_function(list_name) is not None:
            raise CloudantArgumentError(109, list_name)
        self.lists[list_name] = str(list_func)

    def add_show_function(self, show_name: str, show_func: str) -> None:
        """Add a show function; ``CloudantArgumentError(110)`` if it exists."""
        if self.get_show_function(show_name) is not None:
            raise CloudantArgumentError(110, show_name)
        self.shows[show_name] = str(show_func)

    def update_view(
        self, view_name: str, map_func: str, reduce_func: str | None = None, **kwargs: Any
    ) -> None:
        """Replace a view; ``CloudantArgumentError(111)`` if there is none,
        ``CloudantDesignDocumentException(102)`` for a query-index view."""
        view = self.get_view(view_name)
        if view is None:
            raise CloudantArgumentError(111, view_name)
        if isinstance(view, QueryIndexView):
            raise CloudantDesignDocumentException(102)
        self.views[view_name] = View(self, view_name, map_func, reduce_func, **kwargs)

    def update_search_index(self, index_name: str, search_func: str, analyzer: Any = None) -> None:
        """Replace a search index; ``CloudantArgumentError(112)`` if there is none."""
        if self.get_index(index_name) is None:
            raise CloudantArgumentError(112, index_name)
        index: dict[str, Any] = {"index": search_func}
        if analyzer is not None:
            index["analyzer"] = analyzer
        self.indexes[index_name] = index

    def update_list_function(self, list_name: str, list_func: str) -> None:
        """Replace a list function; ``CloudantArgumentError(113)`` if there is none."""
        if self.get_list_function(list_name) is None:
            raise CloudantArgumentError(113, list_name)
        self.lists[list_name] = str(list_func)

    def update_show_function(self, show_name: str, show_func: str) -> None:
        """Replace a show function; ``CloudantArgumentError(114)`` if there is none."""
        if self.get_show_function(show_name) is None:
            raise CloudantArgumentError(114, show_name)
        self.shows[show_name] = str(show_func)

    def delete_view(self, view_name: str) -> None:
        """Remove a view (nothing if absent); ``CloudantDesignDocumentException(103)``
        for a query-index view."""
        view = self.get_view(view_name)
        if view is None:
            return
        if isinstance(view, QueryIndexView):
            raise CloudantDesignDocumentException(103)
        self.views.pop(view_name, None)

    def delete_index(self, index_name: str) -> None:
        """Remove a search index (nothing if absent)."""
        self.indexes.pop(index_name, None)

    def delete_list_function(self, list_name: str) -> None:
        """Remove a list function (nothing if absent)."""
        self.lists.pop(list_name, None)

    def delete_show_function(self, show_name: str) -> None:
        """Remove a show function (nothing if absent)."""
        self.shows.pop(show_name, None)

    # -- remote ---------------------------------------------------------------------
    def _wrap_views(self) -> None:
        views = self.get("views")
        if not isinstance(views, dict):
            return
        for name, definition in list(views.items()):
            if isinstance(definition, View) or not isinstance(definition, dict):
                continue
            body = dict(definition)
            map_func, reduce_func = body.pop("map", None), body.pop("reduce", None)
            if self._query_language():
                views[name] = QueryIndexView(self, name, map_func, reduce_func, **body)
            else:
                views[name] = View(self, name, map_func, reduce_func, **body)

    def fetch(self) -> None:  # type: ignore[override]
        """Replace the content with the stored design document; views become :class:`View`."""
        super().fetch()
        self._wrap_views()
        for prop in _NESTED:
            self.setdefault(prop, {})

    def save(self) -> None:  # type: ignore[override]
        """Create or update it; empty ``views``/``indexes``/``lists``/``shows`` are not
        saved. ``CloudantDesignDocumentException`` 104/105 for a view of the other
        language, 106/107 for a search index of the wrong shape."""
        query = self._query_language()
        for name, view in self.iterviews():
            if not query and isinstance(view, QueryIndexView):
                raise CloudantDesignDocumentException(104, name)
            if query and not isinstance(view, QueryIndexView):
                raise CloudantDesignDocumentException(105, name)
        for name, index in self.iterindexes():
            if not query and not isinstance(index.get("index"), str):
                raise CloudantDesignDocumentException(106, name)
            if query and not isinstance(index.get("index"), dict):
                raise CloudantDesignDocumentException(107, name)
        for prop in _NESTED:
            if not self.get(prop):
                self.pop(prop, None)
        try:
            super().save()
        finally:
            for prop in _NESTED:
                self.setdefault(prop, {})

    # -- reading --------------------------------------------------------------------
    def iterviews(self) -> Iterator[tuple[str, Any]]:
        """``(name, view)`` pairs."""
        yield from list(self.views.items())

    def iterindexes(self) -> Iterator[tuple[str, Any]]:
        """``(name, index)`` pairs of the search indexes."""
        yield from list(self.indexes.items())

    def iterlists(self) -> Iterator[tuple[str, Any]]:
        """``(name, function)`` pairs of the list functions."""
        yield from list(self.lists.items())

    def itershows(self) -> Iterator[tuple[str, Any]]:
        """``(name, function)`` pairs of the show functions."""
        yield from list(self.shows.items())

    def list_views(self) -> list[str]:
        """The view names."""
        return list(self.views)

    def list_indexes(self) -> list[str]:
        """The search index names."""
        return list(self.indexes)

    def list_list_functions(self) -> list[str]:
        """The list function names."""
        return list(self.lists)

    def list_show_functions(self) -> list[str]:
        """The show function names."""
        return list(self.shows)

    def get_view(self, view_name: str) -> Any:
        """The :class:`View` (None when absent)."""
        return self.views.get(view_name)

    def get_index(self, index_name: str) -> Any:
        """The search index's definition (None when absent)."""
        return self.indexes.get(index_name)

    def get_list_function(self, list_name: str) -> Any:
        """The list function's source (None when absent)."""
        return self.lists.get(list_name)

    def get_show_function(self, show_name: str) -> Any:
        """The show function's source (None when absent)."""
        return self.shows.get(show_name)

    def _ddoc_json(self, *segments: str) -> dict[str, Any]:
        name = ddoc_name(str(self["_id"]))
        session = _raw.session(self.client, name, *segments)
        if session is not None:  # python-cloudant's r_session.get, seen by code patching it
            raw: dict[str, Any] = _raw.json_of(
                self.client,
                session.get("/".join([str(self.document_url), *map(quote_segment, segments)])),
            )
            return raw
        transport = self.client.server_session.transport("design document info")
        answer: dict[str, Any] = transport.json(
            "GET", (self.database.database_name, "_design", name, *segments)
        )
        return answer

    def info(self) -> dict[str, Any]:
        """``GET /db/_design/name/_info``: the view index's size and state."""
        return self._ddoc_json("_info")

    def search_info(self, search_index: str) -> dict[str, Any]:
        """``GET .../_search_info/index`` (Cloudant/search-enabled servers)."""
        return self._ddoc_json("_search_info", search_index)

    def search_disk_size(self, search_index: str) -> dict[str, Any]:
        """``GET .../_search_disk_size/index`` (Cloudant)."""
        return self._ddoc_json("_search_disk_size", search_index)
