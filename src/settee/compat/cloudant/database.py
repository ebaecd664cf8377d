"""python-cloudant's ``cloudant.database``: :class:`CouchDatabase` and
:class:`CloudantDatabase`.

A :class:`settee.database.Database` that is also a ``dict`` of the documents
it has fetched, as python-cloudant's is: ``db[id]`` fetches on a miss and
keeps the document, ``id in db`` asks the server on a miss, iterating walks
every remote document (and keeps each), ``len(db)``/``keys()``/``values()``/
``clear()`` are the ``dict``'s. The cache has no bound, as in python-cloudant:
``clear()`` it in long-running code. ``all_docs()`` and ``get_view_result(...,
raw_result=True)`` answer JSON; ``get_view_result`` and ``get_query_result``
default to :class:`~settee.compat.cloudant.result.Result` /
:class:`~settee.compat.cloudant.result.QueryResult`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import urlencode

from settee import database as native
from settee import errors
from settee.compat.cloudant import _raw
from settee.compat.cloudant.design_document import DesignDocument
from settee.compat.cloudant.document import Document, encode
from settee.compat.cloudant.error import (
    CloudantArgumentError,
    CloudantDatabaseException,
)
from settee.compat.cloudant.feed import Feed, InfiniteFeed
from settee.compat.cloudant.index import Index, SpecialIndex, TextIndex
from settee.compat.cloudant.query import Query
from settee.compat.cloudant.result import QueryResult, Result
from settee.compat.cloudant.security_document import SecurityDocument
from settee.compat.cloudant.view import View
from settee.queries import ViewOptions, ddoc_name
from settee.urls import quote_segment

if TYPE_CHECKING:
    from settee.client import Client
    from settee.http.session import AuthenticatedSession

__all__ = ["CloudantDatabase", "CouchDatabase"]

_T = TypeVar("_T")

_ROLES = (
    "_admin",
    "_reader",
    "_writer",
    "_replicator",
    "_db_updates",
    "_design",
    "_shards",
    "_security",
)


#: List, show and update functions answer what they render (HTML, text), not only JSON.
_ANY = {"Accept": "*/*"}


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


class CouchDatabase(native.Database, dict[str, Any]):
    """``CouchDatabase(client, database_name, fetch_limit=100, partitioned=False)``."""

    def __init__(
        self,
        client: Client,
        database_name: str,
        fetch_limit: int = 100,
        partitioned: bool = False,
    ) -> None:
        dict.__init__(self)
        native.Database.__init__(self, client, database_name, fetch_limit, partitioned)
        self._fetch_limit = fetch_limit
        self.result = Result(self.all_docs)

    def __repr__(self) -> str:
        return f"CouchDatabase({self.database_name!r}, url={self.client.url!r})"

    # Equality is the dict's (the cached documents), as python-cloudant's; a handle
    # stays hashable by identity.
    __hash__ = object.__hash__  # type: ignore[assignment]

    # -- where it lives -------------------------------------------------------------
    @property
    def r_session(self) -> AuthenticatedSession | None:
        """The client's authenticated session (None before it connects)."""
        session: AuthenticatedSession | None = getattr(self.client, "r_session", None)
        return session

    @property
    def admin_party(self) -> bool:
        """Whether the client sends no credentials."""
        return self.client.admin_party

    @property
    def creds(self) -> dict[str, Any]:
        """``{"basic_auth": ..., "user_ctx": ...}`` of the session (for replications)."""
        session = self.client.session() if not self.admin_party else {}
        return {
            "basic_auth": self.client.basic_auth_str(),
            "user_ctx": session.get("userCtx") if isinstance(session, dict) else None,
        }

    def database_partition_url(self, partition_key: str) -> str:
        """The URL of partition ``partition_key`` of the database."""
        return f"{self.database_url}/_partition/{partition_key}"

    # -- the document cache is the dict itself -------------------------------------------
    def cache_document(self, doc: Any) -> None:
        docid = doc.get("_id")
        if isinstance(docid, str):
            dict.__setitem__(self, docid, doc)

    def forget_document(self, docid: str) -> None:
        dict.pop(self, docid, None)

    def make_document(self, body: Any) -> Document:
        docid = body.get("_id")
        doc: Document
        if isinstance(docid, str) and docid.startswith("_design/"):
            doc = DesignDocument(self, docid)
        else:
            doc = Document(self, docid)
        doc.update(body)
        if isinstance(doc, DesignDocument):
            doc._wrap_views()
        return doc

    def _new(self, docid: str | None) -> Document:
        if isinstance(docid, str) and docid.startswith("_design/"):
            return DesignDocument(self, docid)
        return Document(self, docid)

    def __getitem__(self, key: str) -> Document:
        """The cached document, else fetched and kept; ``KeyError`` if it does not exist."""
        if dict.__contains__(self, key):
            cached: Document = dict.__getitem__(self, key)
            return cached
        doc = self._new(key)
        try:
            doc.fetch()
        except errors.DocumentNotFound:
            raise KeyError(key) from None
        dict.__setitem__(self, key, doc)
        return doc

    # python-cloudant's signature, not dict's (nor settee's Database.get(docid, default)):
    # a python-cloudant caller's db.get(doc_id, True) must mean remote=True.
    @overload  # type: ignore[override]
    def get(self, key: str, remote: bool = False, *, default: None = None) -> Document | None: ...

    @overload
    def get(self, key: str, remote: bool = False, *, default: _T) -> Document | _T: ...

    def get(self, key: str, remote: bool = False, *, default: object = None) -> object:
        """The cached document or ``default``; ``remote=True`` fetches it on a miss.

        ``remote`` is the second positional parameter, as in python-cloudant
        (``db.get(doc_id, True)`` fetches); ``default`` is settee's addition."""
        if remote:
            try:
                return self[key]
            except KeyError:
                return default
        cached: object = dict.get(self, key, default)
        return cached

    def __contains__(self, key: object) -> bool:
        """Whether the document is cached or exists on the server."""
        if dict.__contains__(self, key):
            return True
        if not isinstance(key, str):
            return False
        try:
            return self._new(key).exists()
        except ValueError:
            return False

    def __iter__(self, remote: bool = True) -> Iterator[Document]:  # type: ignore[override]
        """Every remote document, ``fetch_limit`` at a time, each kept in the cache;
        ``remote=False`` walks the cached ones."""
        if not remote:
            yield from list(dict.values(self))
            return
        for row in native.Database.all_docs(self, include_docs=True, page_size=self._fetch_limit):
            body = row.get("doc")
            if body is None:
                continue
            doc = self.make_document(body)
            dict.__setitem__(self, row["id"], doc)
            yield doc

    def __len__(self) -> int:
        return dict.__len__(self)

    def __bool__(self) -> bool:
        return True

    def __delitem__(self, key: str, remote: bool = False) -> None:
        """python-cloudant's (a dict's): drop the cached document; ``remote=True`` (settee's
        addition, as on the native Database) deletes it on the server too."""
        if remote:
            doc = dict.get(self, key)
            (doc if doc is not None else self[key]).delete()
            dict.pop(self, key, None)
            return
        dict.__delitem__(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)

    def keys(self, remote: bool = False) -> Any:
        """The cached ids (a dict view); ``remote=True``: every id in the database (a list)."""
        if not remote:
            return dict.keys(self)
        rows = native.Database.all_docs(self, page_size=max(self._fetch_limit, 1000))
        return [row["id"] for row in rows]

    def clear_cache(self) -> None:
        dict.clear(self)

    # -- lifecycle --------------------------------------------------------------------------
    def create(self, throw_on_exists: bool = False) -> CouchDatabase:
        """Create the database; return self. ``CloudantDatabaseException``: 412 if it
        exists and ``throw_on_exists``, 400/401 as the server refuses."""
        try:
            self.backend.create_db(self.database_name, partitioned=self.partitioned)
        except errors.PreconditionFailed as exc:
            if throw_on_exists:
                raise CloudantDatabaseException(412, self.database_name) from exc
        except errors.BadRequest as exc:
            raise CloudantDatabaseException(400, self.database_name) from exc
        except errors.Unauthorized as exc:
            raise CloudantDatabaseException(401, self.database_name) from exc
        return self

    def delete(self) -> None:
        """Delete the database (a 404 ``NotFound`` if absent) and clear the cache."""
        native.Database.delete(self)
        dict.clear(self)

    def exists(self) -> bool:
        """Whether the database exists: ``HEAD`` through ``r_session``, as python-cloudant's.
        An error answer but 404 raises."""
        session = _raw.session(self.client)
        if session is None:
            return native.Database.exists(self)
        return _raw.exists(self.client, session, self.database_url)

    def partition_metadata(self, partition_key: str) -> dict[str, Any]:
        """The partition's information."""
        return native.Database.partition_metadata(self, partition_key)

    # -- documents --------------------------------------------------------------------------
    def create_document(  # type: ignore[override]
        self, data: dict[str, Any], throw_on_exists: bool = False
    ) -> Document:
        """Create a document from ``data``; return it, cached. An existing id:
        ``CloudantDatabaseException(409)`` with ``throw_on_exists``, else the
        document is returned as given (without ``_rev``)."""
        docid = data.get("_id")
        doc = self._new(docid)
        doc.update(data)
        try:
            doc.create()
        except errors.Conflict as exc:
            if throw_on_exists:
                raise CloudantDatabaseException(409, docid) from exc
        dict.__setitem__(self, doc["_id"], doc)
        return doc

    def new_document(self) -> Document:
        """Create an empty document with a server uuid; return it, cached."""
        doc = Document(self, None)
        doc.create()
        dict.__setitem__(self, doc["_id"], doc)
        return doc

    def design_documents(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """The design documents' ``_all_docs`` rows, with their docs."""
        answer = self.all_docs(startkey="_design/", endkey="_design0", include_docs=True)
        rows: list[dict[str, Any]] = answer.get("rows", [])
        return rows

    def list_design_documents(self) -> list[str]:
        """The design document ids."""
        answer = self.all_docs(startkey="_design/", endkey="_design0")
        return [row["key"] for row in answer.get("rows", [])]

    def get_design_document(self, ddoc_id: str) -> DesignDocument:  # type: ignore[override]
        """The design document, fetched (an empty one when it does not exist)."""
        ddoc = DesignDocument(self, ddoc_id)
        with contextlib.suppress(errors.DocumentNotFound):
            ddoc.fetch()
        return ddoc

    def get_security_document(self) -> SecurityDocument:
        """The database's :class:`SecurityDocument`, fetched."""
        sdoc = SecurityDocument(self)
        sdoc.fetch()
        return sdoc

    def bulk_docs(self, docs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:  # type: ignore[override]
        """Write ``docs`` in one ``_bulk_docs`` (with :attr:`write_quorum`); return one
        result per document."""
        bodies = [encode(dict(doc), self.client_encoder) for doc in docs]
        result: list[dict[str, Any]] = self.backend.bulk_docs(
            self.database_name, bodies, w=self.write_quorum
        )
        return result

    @property
    def client_encoder(self) -> type[json.JSONEncoder] | None:
        """The client's ``encoder`` (every JSON body and key goes through it); None
        under a native settee client, which has none."""
        encoder: type[json.JSONEncoder] | None = getattr(self.client, "encoder", None)
        return encoder

    # -- queries -------------------------------------------------------------------------------
    def all_docs(self, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """``_all_docs``' JSON (``rows``, ``total_rows``, ``offset``) for python-cloudant's
        view options; ``CloudantArgumentError(136)`` for keys the encoder cannot encode."""
        for name in _JSON_KEYS:
            if name in kwargs:
                try:
                    kwargs[name] = encode(kwargs[name], self.client_encoder)
                except (TypeError, ValueError) as exc:
                    raise CloudantArgumentError(136, name, exc) from exc
        with _raw.raise_for_status():
            answer: dict[str, Any] = native.Database.all_docs(
                self, raw_result=True, **_options(kwargs)
            )
        return answer

    def partitioned_all_docs(self, partition_key: str, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """``_all_docs``' JSON within a partition."""
        with _raw.raise_for_status():
            answer: dict[str, Any] = self.partition(partition_key).all_docs(
                raw_result=True, **_options(kwargs)
            )
        return answer

    @contextlib.contextmanager
    def custom_result(self, **options: Any) -> Iterator[Result]:
        """``with db.custom_result(include_docs=True) as rows:`` a :class:`Result` of
        ``_all_docs`` with ``options``."""
        yield Result(self.all_docs, **options)

    def _view(self, ddoc_id: str, view_name: str, partition_key: str | None = None) -> View:
        ddoc = DesignDocument(self, ddoc_id)
        return View(ddoc, view_name, partition_key=partition_key)

    def get_view_result(  # type: ignore[override]
        self, ddoc_id: str, view_name: str, raw_result: bool = False, **kwargs: Any
    ) -> Result | dict[str, Any]:
        """The view's rows: a :class:`Result` over ``kwargs``, or the JSON of one
        request with ``raw_result=True``."""
        view = self._view(ddoc_id, view_name)
        if raw_result:
            return view(**kwargs)
        if kwargs:
            return Result(view, **kwargs)
        return view.result

    def get_partitioned_view_result(  # type: ignore[override]
        self,
        partition_key: str,
        ddoc_id: str,
        view_name: str,
        raw_result: bool = False,
        **kwargs: Any,
    ) -> Result | dict[str, Any]:
        """:meth:`get_view_result` within a partition."""
        view = self._view(ddoc_id, view_name, partition_key)
        if raw_result:
            return view(**kwargs)
        return Result(view, **kwargs)

    def get_query_result(  # type: ignore[override]
        self,
        selector: dict[str, Any],
        fields: list[str] | None = None,
        raw_result: bool = False,
        **kwargs: Any,
    ) -> QueryResult | dict[str, Any]:
        """The documents ``selector`` finds: a :class:`QueryResult`, or ``_find``'s JSON
        with ``raw_result=True``. ``kwargs``: ``sort``, ``limit``, ``skip``,
        ``use_index``, ``bookmark``, ``r``, ``page_size``."""
        page_size = kwargs.pop("page_size", 100)
        query = Query(self, selector=selector, fields=fields, **kwargs)
        if raw_result:
            return query()
        return QueryResult(query, page_size=page_size)

    def get_partitioned_query_result(  # type: ignore[override]
        self,
        partition_key: str,
        selector: dict[str, Any],
        fields: list[str] | None = None,
        raw_result: bool = False,
        **kwargs: Any,
    ) -> QueryResult | dict[str, Any]:
        """:meth:`get_query_result` within a partition."""
        page_size = kwargs.pop("page_size", 100)
        query = Query(self, selector=selector, fields=fields, partition_key=partition_key, **kwargs)
        if raw_result:
            return query()
        return QueryResult(query, page_size=page_size)

    def get_query_indexes(self, raw_result: bool = False) -> Any:
        """The Mango indexes as :class:`Index`/:class:`TextIndex`/:class:`SpecialIndex`
        objects, or the JSON with ``raw_result=True``."""
        answer = native.Database.get_query_indexes(self, raw_result=True)
        if raw_result:
            return answer
        indexes: list[Index] = []
        for data in answer.get("indexes", []):
            kind = data.get("type")
            definition = dict(data.get("def", {}))
            if kind == "special":
                indexes.append(SpecialIndex(self, None, data.get("name"), **definition))
            elif kind == "text":
                indexes.append(TextIndex(self, data.get("ddoc"), data.get("name"), **definition))
            elif kind == "json":
                partitioned = data.get("partitioned")
                indexes.append(
                    Index(self, data.get("ddoc"), data.get("name"), partitioned, **definition)
                )
            else:
                raise CloudantDatabaseException(101, kind)
        return indexes

    def create_query_index(  # type: ignore[override]
        self,
        design_document_id: str | None = None,
        index_name: str | None = None,
        index_type: str = "json",
        partitioned: bool | None = None,
        **kwargs: Any,
    ) -> Index:
        """Create a Mango index and return it as an :class:`Index`/:class:`TextIndex`.
        ``CloudantArgumentError(103)`` for another ``index_type``."""
        index: Index
        if index_type == "json":
            index = Index(self, design_document_id, index_name, partitioned, **kwargs)
        elif index_type == "text":
            index = TextIndex(self, design_document_id, index_name, **kwargs)
            index._partitioned = partitioned
        else:
            raise CloudantArgumentError(103, index_type)
        index.create()
        return index

    def delete_query_index(  # type: ignore[override]
        self, design_document_id: str, index_type: str, index_name: str
    ) -> None:
        """Delete a Mango index. ``CloudantArgumentError(103)`` for an unknown type."""
        index: Index
        if index_type == "json":
            index = Index(self, design_document_id, index_name)
        elif index_type == "text":
            index = TextIndex(self, design_document_id, index_name)
        else:
            raise CloudantArgumentError(103, index_type)
        index.delete()

    # -- design-document functions ---------------------------------------------------------
    def _ddoc_request(self, method: str, segments: tuple[str, ...], **kwargs: Any) -> Any:
        transport = self.client.server_session.transport("design document functions")
        return transport.request(method, (self.database_name, *segments), **kwargs)

    def get_list_function_result(
        self, ddoc_id: str, list_name: str, view_name: str, **kwargs: Any
    ) -> str:
        """The text a list function renders over a view (``kwargs``: view options)."""
        response = self._ddoc_request(
            "GET",
            ("_design", ddoc_name(ddoc_id), "_list", list_name, view_name),
            params=_view_params(kwargs, self.client_encoder),
            headers=_ANY,
        )
        return str(response.text)

    def get_show_function_result(self, ddoc_id: str, show_name: str, doc_id: str) -> str:
        """The text a show function renders for ``doc_id``."""
        response = self._ddoc_request(
            "GET", ("_design", ddoc_name(ddoc_id), "_show", show_name, doc_id), headers=_ANY
        )
        return str(response.text)

    def update_handler_result(
        self,
        ddoc_id: str,
        handler_name: str,
        doc_id: str | None = None,
        data: Any = None,
        **params: Any,
    ) -> str:
        """The text an update handler answers (POST without ``doc_id``, PUT with it), sent
        through ``r_session`` as python-cloudant does: ``data`` as ``requests`` sends it
        (a dict is a form, ``req.form``), another JSON value encoded with the encoder."""
        name = ddoc_name(ddoc_id)
        segments: tuple[str, ...] = ("_design", name, "_update", handler_name)
        method = "POST"
        if doc_id:
            segments = (*segments, doc_id)
            method = "PUT"
        body = data
        if not isinstance(data, (Mapping, bytes, str)) and data is not None:
            body = json.dumps(data, cls=self.client_encoder)
        session = _raw.session(self.client, name, handler_name, doc_id or "")
        if session is not None:
            ddoc_url = str(DesignDocument(self, ddoc_id).document_url)
            url = "/".join([ddoc_url, *map(quote_segment, segments[2:])])
            send = session.put if method == "PUT" else session.post
            return str(_raw.checked(self.client, send(url, params=params, data=body)).text)
        headers = _ANY
        if isinstance(body, Mapping):  # a form, as requests sends a dict
            body = urlencode(body)
            headers = {**_ANY, "Content-Type": "application/x-www-form-urlencoded"}
        response = self._ddoc_request(
            method, segments, params=params or None, data=body, headers=headers
        )
        return str(response.text)

    # -- revisions ---------------------------------------------------------------------------
    def missing_revisions(self, doc_id: str, *revisions: str) -> list[str]:
        """The revisions of ``doc_id`` among ``revisions`` the database lacks."""
        encode({doc_id: list(revisions)}, self.client_encoder)  # python-cloudant's TypeError
        return native.Database.missing_revisions(self, doc_id, *revisions)

    def revisions_diff(self, doc_id: str, *revisions: str) -> dict[str, Any]:
        """``_revs_diff``' answer for ``doc_id``."""
        encode({doc_id: list(revisions)}, self.client_encoder)  # python-cloudant's TypeError
        return native.Database.revisions_diff(self, doc_id, *revisions)

    def set_revision_limit(self, limit: int) -> dict[str, Any]:
        """Set ``_revs_limit``; return the answer."""
        return native.Database.set_revision_limit(self, limit)

    # -- feeds ---------------------------------------------------------------------------------
    def changes(self, raw_data: bool = False, **kwargs: Any) -> Feed:  # type: ignore[override]
        """The ``_changes`` :class:`Feed` (python-cloudant's options)."""
        return Feed(self, raw_data=raw_data, **kwargs)

    def infinite_changes(self, **kwargs: Any) -> InfiniteFeed:  # type: ignore[override]
        """A continuous ``_changes`` feed that reconnects for ever."""
        return InfiniteFeed(self, **kwargs)


#: The view options a list function's view takes (settee's one table of them).
_VIEW_OPTIONS = frozenset(ViewOptions.__annotations__) - {"page_size"}
_JSON_KEYS = ("key", "keys", "startkey", "start_key", "endkey", "end_key")


def _view_params(kwargs: dict[str, Any], encoder: Any) -> dict[str, Any]:
    """Query parameters for a view's options: ``CloudantArgumentError(116)`` for an
    unknown one, keys as JSON through ``encoder`` (``136`` when it cannot encode them)."""
    params: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name not in _VIEW_OPTIONS:
            raise CloudantArgumentError(116, name)
        if name in _JSON_KEYS:
            try:
                value = json.dumps(value, cls=encoder)
            except (TypeError, ValueError) as exc:
                raise CloudantArgumentError(136, name, exc) from exc
        elif isinstance(value, bool):
            value = "true" if value else "false"
        params[name] = value
    return params


class CloudantDatabase(CouchDatabase):
    """A :class:`CouchDatabase` with Cloudant's extras: security document helpers,
    ``share_database``/``unshare_database``, ``shards()``, search."""

    @property
    def security_document(self) -> SecurityDocument:
        """The security document, fetched."""
        return self.get_security_document()

    @property
    def security_url(self) -> str:
        """Cloudant's security endpoint of the database."""
        return f"{self.client.url}/_api/v2/db/{self.database_name}/_security"

    def share_database(self, username: str, roles: Sequence[str] | None = None) -> dict[str, Any]:  # type: ignore[override]
        """Give ``username`` ``roles`` (default ``_reader``); ``CloudantArgumentError(102)``
        for an unknown role."""
        roles = list(roles) if roles is not None else ["_reader"]
        if not roles or any(r not in _ROLES for r in roles):
            raise CloudantArgumentError(102, roles, list(_ROLES))
        return native.Database.share_database(self, username, roles)

    def unshare_database(self, username: str) -> dict[str, Any]:
        """Remove ``username`` from the security document."""
        return native.Database.unshare_database(self, username)

    def shards(self) -> dict[str, Any]:
        """``GET /db/_shards``."""
        response = self._ddoc_request("GET", ("_shards",))
        answer: dict[str, Any] = response.json()
        return answer

    def get_search_result(
        self, ddoc_id: str, index_name: str, **query_params: Any
    ) -> dict[str, Any]:
        """A search index's JSON answer (``query``/``q`` and search options)."""
        if ("query" in query_params) == ("q" in query_params):
            raise CloudantArgumentError(104, query_params)
        if "query" in query_params:
            query_params["q"] = query_params.pop("query")
        response = self._ddoc_request(
            "POST", ("_design", ddoc_name(ddoc_id), "_search", index_name), json_body=query_params
        )
        answer: dict[str, Any] = response.json()
        return answer

    def get_partitioned_search_result(
        self, partition_key: str, ddoc_id: str, index_name: str, **query_params: Any
    ) -> dict[str, Any]:
        """:meth:`get_search_result` within a partition."""
        if ("query" in query_params) == ("q" in query_params):
            raise CloudantArgumentError(104, query_params)
        if "query" in query_params:
            query_params["q"] = query_params.pop("query")
        response = self._ddoc_request(
            "POST",
            ("_partition", partition_key, "_design", ddoc_name(ddoc_id), "_search", index_name),
            json_body=query_params,
        )
        answer: dict[str, Any] = response.json()
        return answer
