"""Database: a dict-like view of one database's documents, and its operations.

``db[doc_id]`` fetches the document on a cache miss (one request) and caches
the :class:`~settee.document.Document`; ``doc_id in db`` asks the backend on a
miss; ``get(doc_id, default, remote=False)`` and ``keys(remote=False)`` read
the cache unless ``remote=True``. Iterating a database walks every stored
document in key-paged ``_all_docs`` pages, holding one page in memory.
``len(db)`` is the server's ``doc_count`` (one request); a database is always
truthy.

The handle cache is bounded (the client's ``cache_size``/``cache_ttl``) and
only ever holds what this process read or wrote: a document another process
changed is refreshed with ``get(doc_id, remote=True)`` or ``doc.fetch()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import errors
from ._validate import (
    check_documents,
    check_json,
    validate_db_name,
    validate_doc_id,
    validate_partition_key,
)
from .document import DesignDocument, Document
from .pages import DEFAULT_PAGE_SIZE, QueryResult, Result

if TYPE_CHECKING:
    from .backends.base import Backend, MapFunction, ReduceSpec
    from .client import Client

__all__ = ["BULK_CHUNK_SIZE", "Database", "Partition"]

#: Documents per ``_bulk_docs`` request when ``bulk_docs`` is given more.
BULK_CHUNK_SIZE = 500

_ERROR_CLASSES: dict[str, type[errors.CouchError]] = {
    "conflict": errors.Conflict,
    "forbidden": errors.Forbidden,
    "unauthorized": errors.Unauthorized,
    "not_found": errors.DocumentNotFound,
    "bad_request": errors.BadRequest,
    "file_exists": errors.PreconditionFailed,
}

_SECURITY_ROLES = frozenset(
    {
        "_reader",
        "_writer",
        "_admin",
        "_replicator",
        "_db_updates",
        "_design",
        "_shards",
        "_security",
    }
)


def raise_for_result(result: Mapping[str, Any]) -> None:
    """Raise the exception a fast-path write would have raised for a per-document error."""
    error = result.get("error")
    if error is None:
        return
    cls = _ERROR_CLASSES.get(str(error), errors.CouchError)
    raise cls(result.get("reason"), error=str(error), body=dict(result))


def _ddoc_name(ddoc_id: str) -> str:
    if not isinstance(ddoc_id, str) or not ddoc_id:
        raise ValueError("design document id must be a non-empty str")
    name = ddoc_id[len("_design/") :] if ddoc_id.startswith("_design/") else ddoc_id
    if not name:
        raise ValueError(f"invalid design document id {ddoc_id!r}")
    return name


class Database:
    """One database of ``client``. Built by ``client[name]`` / ``create_database``.

    Attributes: ``client``, ``backend``, ``database_name``, ``partitioned``,
    ``fetch_limit`` (rows per page when iterating, default 100).
    ``ValueError`` if ``database_name`` breaks CouchDB's naming rule.
    """

    def __init__(
        self,
        client: Client,
        database_name: str,
        fetch_limit: int = DEFAULT_PAGE_SIZE,
        partitioned: bool = False,
    ) -> None:
        self.client = client
        self.database_name = validate_db_name(database_name)
        if not isinstance(fetch_limit, int) or isinstance(fetch_limit, bool) or fetch_limit < 1:
            raise ValueError("fetch_limit must be an int >= 1")
        self.fetch_limit = fetch_limit
        self.partitioned = bool(partitioned)
        self._cache = client._new_cache()

    @property
    def backend(self) -> Backend:
        """The client's backend."""
        return self.client.backend

    def __repr__(self) -> str:
        return f"Database({self.database_name!r}, url={self.client.url!r})"

    @property
    def database_url(self) -> str:
        """The database's URL (HTTP backends only; ``NotSupported`` elsewhere)."""
        return str(self.client._http_transport("database_url").url(self.database_name))

    # -- the document cache ---------------------------------------------------
    def _remember(self, doc: Document) -> None:
        docid = doc.get("_id")
        if isinstance(docid, str):
            self._cache[docid] = doc

    def _forget(self, docid: str) -> None:
        self._cache.pop(docid, None)

    def _wrap(self, body: Mapping[str, Any]) -> Document:
        docid = body.get("_id")
        doc: Document
        if isinstance(docid, str) and docid.startswith("_design/"):
            doc = DesignDocument(self)
        else:
            doc = Document(self)
        doc.update(body)
        return doc

    def _fetch(self, docid: str) -> Document:
        body = self.backend.get_doc(self.database_name, validate_doc_id(docid))
        doc = self._wrap(body)
        self._cache[docid] = doc
        return doc

    # -- mapping protocol -------------------------------------------------------
    def __getitem__(self, docid: str) -> Document:
        """The cached document, else one fetch; ``DocumentNotFound`` (a KeyError) if absent."""
        cached: Document | None = self._cache.get(docid)
        if cached is not None:
            return cached
        return self._fetch(docid)

    def __contains__(self, docid: object) -> bool:
        """Whether the document exists: True from the cache, else asks the backend."""
        if not isinstance(docid, str):
            return False
        if docid in self._cache:
            return True
        try:
            validate_doc_id(docid)
        except ValueError:
            return False
        try:
            self._fetch(docid)
        except errors.DocumentNotFound:
            return False
        return True

    def get(self, docid: str, default: Any = None, remote: bool = False) -> Any:
        """The cached document or ``default``; ``remote=True`` fetches (and caches) it."""
        if not remote:
            return self._cache.get(docid, default)
        try:
            return self._fetch(docid)
        except errors.DocumentNotFound:
            self._forget(docid)
            return default

    def keys(self, remote: bool = False) -> list[str]:
        """Cached document ids; ``remote=True``: every id in the database (paged requests)."""
        if not remote:
            return list(self._cache.keys())
        return [row["id"] for row in self.all_docs(page_size=max(self.fetch_limit, 1000))]

    def __iter__(self) -> Iterator[Document]:
        """Every stored document, fetched ``fetch_limit`` at a time (not cached)."""
        for row in self.all_docs(include_docs=True, page_size=self.fetch_limit):
            body = row.get("doc")
            if body is not None:
                yield self._wrap(body)

    def __len__(self) -> int:
        """The server's ``doc_count`` (one request)."""
        return self.doc_count()

    def __bool__(self) -> bool:
        return True  # an empty database is still a database: `if db:` must not ask the server

    def __delitem__(self, docid: str) -> None:
        """Drop a document from the cache (``KeyError`` if not cached); the server is untouched."""
        del self._cache[docid]

    def clear_cache(self) -> None:
        """Forget every cached document."""
        self._cache.clear()

    # -- database lifecycle -----------------------------------------------------
    def create(self, throw_on_exists: bool = False) -> Database:
        """Create the database; return self. ``PreconditionFailed`` if it exists and
        ``throw_on_exists``."""
        try:
            self.backend.create_db(self.database_name, partitioned=self.partitioned)
        except errors.PreconditionFailed:
            if throw_on_exists:
                raise
        return self

    def delete(self) -> None:
        """Delete the database; ``NotFound`` if absent. Evicts it from the client's cache."""
        try:
            self.backend.delete_db(self.database_name)
        finally:
            self.client._evict(self.database_name)
            self._cache.clear()

    def exists(self) -> bool:
        """Whether the database exists (one request)."""
        try:
            self.backend.db_info(self.database_name)
        except errors.NotFound:
            return False
        return True

    def metadata(self) -> dict[str, Any]:
        """The database information (``GET /db``); ``NotFound`` if absent."""
        info: dict[str, Any] = self.backend.db_info(self.database_name)
        return info

    def doc_count(self) -> int:
        """Number of (non-deleted) documents, per the server."""
        return int(self.metadata()["doc_count"])

    # -- documents --------------------------------------------------------------
    def _put_doc(self, doc: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.backend.put_doc(self.database_name, doc)
        except errors.NotSupported:
            result = self.backend.bulk_docs(self.database_name, [doc])[0]
            raise_for_result(result)
            return result

    def _delete_doc(self, docid: str, rev: str) -> dict[str, Any]:
        try:
            return self.backend.delete_doc(self.database_name, docid, rev)
        except errors.NotSupported:
            tombstone = {"_id": docid, "_rev": rev, "_deleted": True}
            result = self.backend.bulk_docs(self.database_name, [tombstone])[0]
            raise_for_result(result)
            return result

    def create_document(self, data: Mapping[str, Any], throw_on_exists: bool = False) -> Document:
        """Create a document from ``data`` (a uuid ``_id`` if none); return it, cached.

        An existing id always raises ``Conflict`` and nothing is overwritten;
        ``throw_on_exists`` is accepted for python-cloudant compatibility.
        ``TypeError`` if ``data`` is not JSON-serialisable.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"document data must be a dict, not {type(data).__name__}")
        docid = data.get("_id")
        doc: Document
        if isinstance(docid, str) and docid.startswith("_design/"):
            doc = DesignDocument(self, docid)
        else:
            doc = Document(self, docid)
        doc.update(data)
        doc.create()
        return doc

    def new_document(self) -> Document:
        """Create an empty document with a fresh uuid; return it."""
        return Document(self).create()

    def bulk_docs(
        self,
        docs: Iterable[Mapping[str, Any]],
        *,
        new_edits: bool = True,
        chunk_size: int = BULK_CHUNK_SIZE,
    ) -> list[dict[str, Any]]:
        """Write many documents; return one result per document, in order.

        A result is ``{"ok": True, "id", "rev"}`` or ``{"id", "error", "reason"}``
        (conflicts included, never raised). Inputs larger than ``chunk_size``
        go in several requests. Every document is checked first: ``TypeError``
        (not a dict / not JSON) or ``ValueError`` (reserved ``_id``) before any
        request. :class:`Document` inputs get their new ``_rev``.
        """
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
            raise ValueError("chunk_size must be an int >= 1")
        originals = list(docs) if not isinstance(docs, list) else docs
        checked = check_documents(originals)
        results: list[dict[str, Any]] = []
        for start in range(0, len(checked), chunk_size):
            chunk = checked[start : start + chunk_size]
            answer = self.backend.bulk_docs(self.database_name, chunk, new_edits=new_edits)
            results.extend(answer)
            for body in chunk:
                docid = body.get("_id")
                if isinstance(docid, str):
                    self._cache.pop(docid, None)
            if new_edits and len(answer) == len(chunk):
                inputs = originals[start : start + chunk_size]
                for original, result in zip(inputs, answer, strict=True):
                    if isinstance(original, Document) and result.get("ok"):
                        original["_id"] = result["id"]
                        original["_rev"] = result["rev"]
        return results

    def revisions_diff(self, doc_id: str, *revisions: str) -> dict[str, Any]:
        """``_revs_diff`` for one document: ``{doc_id: {"missing": [...], ...}}`` or ``{}``."""
        validate_doc_id(doc_id)
        answer: dict[str, Any] = self.backend.revs_diff(
            self.database_name, {doc_id: list(revisions)}
        )
        return answer

    def missing_revisions(self, doc_id: str, *revisions: str) -> list[str]:
        """Which of ``revisions`` the database does not have."""
        entry = self.revisions_diff(doc_id, *revisions).get(doc_id) or {}
        return list(entry.get("missing", []))

    # -- administration ---------------------------------------------------------
    def get_revision_limit(self) -> int:
        """The ``_revs_limit``."""
        return int(self.backend.get_revs_limit(self.database_name))

    def set_revision_limit(self, limit: int) -> dict[str, Any]:
        """Set the ``_revs_limit``; ``ValueError`` unless an int >= 1."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError("the revision limit must be an int >= 1")
        answer: dict[str, Any] = self.backend.set_revs_limit(self.database_name, limit)
        return answer

    def compact(self) -> dict[str, Any]:
        """Start compaction."""
        answer: dict[str, Any] = self.backend.compact(self.database_name)
        return answer

    def view_cleanup(self) -> dict[str, Any]:
        """Remove index files no design document uses."""
        answer: dict[str, Any] = self.backend.view_cleanup(self.database_name)
        return answer

    def get_security_document(self) -> dict[str, Any]:
        """The ``_security`` document (``{"admins": {...}, "members": {...}}``, maybe ``{}``)."""
        security: dict[str, Any] = self.backend.get_security(self.database_name)
        return security

    def share_database(self, username: str, roles: Iterable[str] = ("_reader",)) -> dict[str, Any]:
        """Give ``username`` access: ``_admin`` in ``roles`` -> admins, else members.

        On Cloudant (a ``cloudant`` field in the security document) the user's
        roles are also set there. Returns the server's answer.
        """
        if not isinstance(username, str) or not username:
            raise ValueError("username must be a non-empty str")
        role_list = [roles] if isinstance(roles, str) else list(roles)
        unknown = [r for r in role_list if r not in _SECURITY_ROLES]
        if not role_list or unknown:
            raise ValueError(
                f"roles must be a non-empty list of {sorted(_SECURITY_ROLES)}; got {role_list!r}"
            )
        security = self.get_security_document()
        section = "admins" if "_admin" in role_list else "members"
        names = security.setdefault(section, {}).setdefault("names", [])
        if username not in names:
            names.append(username)
        if isinstance(security.get("cloudant"), dict):
            security["cloudant"][username] = role_list
        answer: dict[str, Any] = self.backend.put_security(self.database_name, security)
        return answer

    def unshare_database(self, username: str) -> dict[str, Any]:
        """Remove ``username`` from the admins, members (and Cloudant) lists."""
        security = self.get_security_document()
        for section in ("admins", "members"):
            names = security.get(section, {}).get("names")
            if isinstance(names, list) and username in names:
                names.remove(username)
        if isinstance(security.get("cloudant"), dict):
            security["cloudant"].pop(username, None)
        answer: dict[str, Any] = self.backend.put_security(self.database_name, security)
        return answer

    # -- partitions ---------------------------------------------------------------
    def partition(self, partition_key: str) -> Partition:
        """A view of this database scoped to one partition (all_docs, find, views)."""
        return Partition(self, partition_key)

    def partition_metadata(self, partition_key: str) -> dict[str, Any]:
        """``GET /db/_partition/{key}``: doc counts and sizes of one partition."""
        info: dict[str, Any] = self.backend.partition_info(
            self.database_name, validate_partition_key(partition_key)
        )
        return info

    def partitioned_all_docs(self, partition_key: str, **params: Any) -> Any:
        """python-cloudant name for ``partition(key).all_docs(**params)``."""
        return self.partition(partition_key).all_docs(**params)

    def get_partitioned_view_result(
        self, partition_key: str, ddoc_id: str, view_name: str, **params: Any
    ) -> Any:
        """python-cloudant name for ``partition(key).get_view_result(...)``."""
        return self.partition(partition_key).get_view_result(ddoc_id, view_name, **params)

    def get_partitioned_query_result(
        self, partition_key: str, selector: Mapping[str, Any], **kwargs: Any
    ) -> Any:
        """python-cloudant name for ``partition(key).get_query_result(...)``."""
        return self.partition(partition_key).get_query_result(selector, **kwargs)

    # -- queries ----------------------------------------------------------------
    def all_docs(self, raw_result: bool = False, **params: Any) -> Any:
        """The ``_all_docs`` rows as a lazy, key-paged :class:`Result`.

        ``params`` are CouchDB's (``include_docs``, ``startkey``, ``endkey``,
        ``keys``, ``descending``, ``limit``, ``skip``...) plus ``page_size``.
        ``raw_result=True`` makes one request and returns its JSON instead.
        """
        return self._all_docs(None, raw_result, params)

    def _all_docs(self, partition: str | None, raw_result: bool, params: dict[str, Any]) -> Any:
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
        backend, name = self.backend, self.database_name

        def fetch(query: dict[str, Any], keys: list[Any] | None) -> dict[str, Any]:
            return backend.python_view(
                name, map_fn, query, reduce=reduce, keys=keys, partition=partition
            )

        return Result(fetch, **params)

    def get_design_document(self, ddoc_id: str) -> DesignDocument:
        """The design document, fetched; an empty one (not yet saved) if it does not exist."""
        ddoc = DesignDocument(self, ddoc_id)
        with contextlib.suppress(errors.DocumentNotFound):
            ddoc.fetch()
        return ddoc

    def design_documents(self) -> list[dict[str, Any]]:
        """The ``_all_docs`` rows (with ``doc``) of every design document."""
        return self.all_docs(startkey="_design/", endkey="_design0", include_docs=True).all()  # type: ignore[no-any-return]

    def list_design_documents(self) -> list[str]:
        """The ids of every design document."""
        rows = self.all_docs(startkey="_design/", endkey="_design0")
        return [row["id"] for row in rows]

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
        backend, name = self.backend, self.database_name

        def find(body: dict[str, Any]) -> dict[str, Any]:
            return backend.find(name, body, partition=partition)

        if raw_result:
            return find({k: v for k, v in query.items() if v is not None})
        return QueryResult(find, query, page_size=page_size)

    # -- elsewhere-implemented features (imported lazily) ---------------------------
    def changes(self, **options: Any) -> Any:
        """A ``_changes`` :class:`~settee.feeds.Feed` (see :func:`settee.feeds.changes_feed`)."""
        from . import feeds

        return feeds.changes_feed(self, **options)

    def infinite_changes(self, **options: Any) -> Any:
        """A perpetually reconnecting ``_changes`` feed (``settee.feeds.InfiniteFeed``)."""
        from . import feeds

        return feeds.infinite_changes_feed(self, **options)

    def filter(self, query: Any = None, **lookups: Any) -> Any:
        """A lazy RQL/Mango query set: ``db.filter(R(status="new"))``, ``db.filter("eq(a,1)")``."""
        from .rql.queryset import MangoQuerySet

        return MangoQuerySet(self, query, **lookups)


class Partition:
    """One partition of a partitioned database: ``db.partition("sensor-1")``.

    Offers ``all_docs``, ``get_view_result``, ``view``, ``get_query_result``,
    ``metadata`` and iteration, each scoped to ``partition_key``.
    """

    def __init__(self, database: Database, partition_key: str) -> None:
        self.database = database
        self.partition_key = validate_partition_key(partition_key)

    def __repr__(self) -> str:
        return f"Partition({self.database.database_name!r}, {self.partition_key!r})"

    def metadata(self) -> dict[str, Any]:
        """The partition's information (doc counts, sizes)."""
        return self.database.partition_metadata(self.partition_key)

    def all_docs(self, raw_result: bool = False, **params: Any) -> Any:
        """The partition's ``_all_docs`` rows (a :class:`Result`)."""
        return self.database._all_docs(self.partition_key, raw_result, params)

    def get_view_result(
        self, ddoc_id: str, view_name: str, raw_result: bool = False, **params: Any
    ) -> Any:
        """The partition's rows of a design-document view."""
        return self.database._view_result(
            self.partition_key, ddoc_id, view_name, raw_result, params
        )

    def view(self, map_fn: MapFunction, reduce: ReduceSpec = None, **params: Any) -> Result:
        """The partition's rows of a Python view (local backends)."""
        return self.database._python_view(self.partition_key, map_fn, reduce, params)

    def get_query_result(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        raw_result: bool = False,
        **kwargs: Any,
    ) -> Any:
        """The partition's documents matching a Mango selector."""
        return self.database._query_result(
            self.partition_key, selector, fields, sort, raw_result, kwargs
        )

    def __iter__(self) -> Iterator[Document]:
        """Every document of the partition, a page at a time."""
        for row in self.all_docs(include_docs=True, page_size=self.database.fetch_limit):
            body = row.get("doc")
            if body is not None:
                yield self.database._wrap(body)
