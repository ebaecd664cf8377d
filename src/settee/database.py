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
It is per thread (:mod:`settee._doccache`): one thread's ``db[doc_id]`` is
never another thread's object, so fetch-modify-save with a retry on
``Conflict`` is exact under threads.

A database is a :class:`~settee.queries.QueryScope` (``all_docs``, views,
Mango), the same one a :class:`~settee.partition.Partition` is; indexes,
security, revision limit and compaction are its own methods here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from settee import errors
from settee._bulk import BulkWrite
from settee._doccache import BoundedCache, DocumentCache
from settee._validate import (
    check_int,
    check_json,
    ddoc_name,
    validate_db_name,
    validate_doc_id,
    validate_partition_key,
)
from settee._writecheck import checked_write, may_have_applied, settle_write
from settee.document import DesignDocument, Document
from settee.feeds import feed as feeds
from settee.feeds.feed import Feed, InfiniteFeed
from settee.feeds.options import ChangesOptions, InfiniteChangesOptions
from settee.pages.bookmarks import QueryResult
from settee.pages.keys import Result
from settee.pages.paging import DEFAULT_PAGE_SIZE
from settee.partition import Partition
from settee.queries import FindOptions, QueryScope, ViewOptions
from settee.results import write_one
from settee.rows import AllDocsRow, ChangeRow, FindPage, ViewRow
from settee.rql.mango import QueryLike
from settee.rql.queryset import MangoQuerySet

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from settee.client import Client
    from settee.replication import ReplicateOptions, Replication, ReplicationResult

__all__ = ["BULK_CHUNK_SIZE", "Database", "install_replicator"]

#: Documents per ``_bulk_docs`` request when ``bulk_docs`` is given more (sync and async).
BULK_CHUNK_SIZE = 500

_T = TypeVar("_T")

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


# The replication engine sits above this layer (settee.replication reads feeds and
# creates targets through Database handles); it installs its entry point here when
# imported, which ``import settee`` does, so replicate_to/replicate_from call down
# into it without this module importing it.
_replicate: Callable[..., Any] | None = None


def install_replicator(replicate: Callable[..., Any]) -> None:
    """Set what :meth:`Database.replicate_to` calls (``settee.replication.replicate``)."""
    global _replicate  # the one late-bound entry point, set once at import
    _replicate = replicate


def _replicator() -> Callable[..., Any]:
    if _replicate is None:
        raise errors.NotSupported("replication needs settee.replication (import settee)")
    return _replicate


class Database(QueryScope):
    """One database of ``client``. Built by ``client[name]`` / ``create_database``.

    Attributes: ``client``, ``backend``, ``database_name``, ``partitioned``,
    ``fetch_limit`` (rows per page when iterating, default 100), ``cache``
    (the per-thread :class:`~settee._doccache.DocumentCache`).
    ``ValueError`` if ``database_name`` breaks CouchDB's naming rule.
    """

    partition_key: None

    def __init__(
        self,
        client: Client,
        database_name: str,
        fetch_limit: int = DEFAULT_PAGE_SIZE,
        partitioned: bool = False,
    ) -> None:
        super().__init__(client, validate_db_name(database_name), None)
        self.fetch_limit = check_int("fetch_limit", fetch_limit, 1)
        self.partitioned = bool(partitioned)
        self.cache = DocumentCache(
            BoundedCache(client.cache_size, client.cache_ttl, client.cache_timer)
        )
        self._write_quorum: int | None = None
        self._read_quorum: int | None = None

    def __repr__(self) -> str:
        return f"Database({self.database_name!r}, url={self.client.url!r})"

    @property
    def database_url(self) -> str:
        """The database's URL (HTTP backends only; ``NotSupported`` elsewhere)."""
        transport = self.client.server_session.transport("database_url")
        return str(transport.url(self.database_name))

    # -- quorums (a CouchDB cluster's w= and r=) ---------------------------------
    @property
    def write_quorum(self) -> int | None:
        """CouchDB's ``w``: how many copies must hold a write before it returns.

        ``None`` (the default) leaves it to the server (a majority of the
        ``n`` copies). Set it to ``n`` (3 on a default cluster) and every
        ``_all_docs``/``_find``/view/``_changes`` read after a write returns
        sees it, whichever node serves it (docs/semantics.md). Sent with
        every document write and ``_bulk_docs`` of this handle; a server that
        could not reach that many copies in time still stores the write and
        answers 202, which is logged as a warning. Embedded stores and
        PouchDB Server keep one copy: accepted, without effect.
        ``ValueError`` for an int below 1, ``TypeError`` for a non-int.
        """
        return self._write_quorum

    @write_quorum.setter
    def write_quorum(self, value: int | None) -> None:
        self._write_quorum = None if value is None else check_int("write_quorum", value, 1)

    @property
    def read_quorum(self) -> int | None:
        """CouchDB's ``r``: how many copies must answer a document read
        (``db[id]``, ``get(..., remote=True)``, ``Document.fetch()``) before it
        returns; ``None`` leaves it to the server. ``_find`` takes ``r=`` per
        query; ``_all_docs`` and views have no read quorum in CouchDB (use
        :attr:`write_quorum`). Validated like :attr:`write_quorum`.
        """
        return self._read_quorum

    @read_quorum.setter
    def read_quorum(self, value: int | None) -> None:
        self._read_quorum = None if value is None else check_int("read_quorum", value, 1)

    def read_doc(self, docid: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The stored body of ``docid`` (``params`` as the backend's ``get_doc``), read
        with :attr:`read_quorum`; ``DocumentNotFound`` (a ``KeyError``) when absent."""
        query = dict(params) if params else None  # the plain read: nothing to copy
        if self._read_quorum is not None:
            query = {"r": self._read_quorum, **(query or {})}  # an "r" in params wins
        body: dict[str, Any] = self.backend.get_doc(
            self.database_name, validate_doc_id(docid), query
        )
        return body

    # -- the document cache (Document keeps it current) -------------------------
    def cache_document(self, doc: Document) -> None:
        """Keep ``doc`` (just written by this thread) as this thread's cached copy;
        other threads' copies of it are dropped."""
        docid = doc.get("_id")
        if isinstance(docid, str):
            self.cache.own(docid, doc)

    def forget_document(self, docid: str) -> None:
        """Drop every thread's cached copy of ``docid`` (the server is untouched)."""
        self.cache.pop(docid, None)

    def make_document(self, body: Mapping[str, Any]) -> Document:
        """A :class:`Document` (a :class:`DesignDocument` for ``_design/`` ids) holding
        ``body``; nothing is requested or cached."""
        docid = body.get("_id")
        doc: Document
        if isinstance(docid, str) and docid.startswith("_design/"):
            doc = DesignDocument(self)
        else:
            doc = Document(self)
        doc.update(body)
        return doc

    def _fetch(self, docid: str) -> Document:
        body = self.read_doc(docid)
        doc = self.make_document(body)
        self.cache.put(docid, doc)
        return doc

    # -- mapping protocol -------------------------------------------------------
    def __getitem__(self, docid: str) -> Document:
        """This thread's cached document, else one fetch; ``DocumentNotFound`` (a KeyError)
        if absent. Another thread never gets the same object."""
        cached = self.cache.get(docid)
        if cached is not None:
            return cached
        return self._fetch(docid)

    def __contains__(self, docid: object) -> bool:
        """Whether the document exists: True if any thread has it cached, else asks the backend."""
        if not isinstance(docid, str):
            return False
        if self.cache.known(docid):
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

    @overload
    def get(self, docid: str, default: None = None, remote: bool = False) -> Document | None: ...
    @overload
    def get(self, docid: str, default: _T, remote: bool = False) -> Document | _T: ...
    def get(self, docid: str, default: object = None, remote: bool = False) -> object:
        """This thread's cached document or ``default``; ``remote=True`` fetches (and caches) it."""
        if not remote:
            cached = self.cache.get(docid)
            return default if cached is None else cached
        try:
            return self._fetch(docid)
        except errors.DocumentNotFound:
            self.forget_document(docid)
            return default

    def keys(self, remote: bool = False) -> list[str]:
        """Ids this thread has cached; ``remote=True``: every id in the database (paged)."""
        if not remote:
            return self.cache.ids()
        return [row["id"] for row in self.all_docs(page_size=max(self.fetch_limit, 1000))]

    def __iter__(self) -> Iterator[Document]:
        """Every stored document, fetched ``fetch_limit`` at a time (not cached)."""
        for row in self.all_docs(include_docs=True, page_size=self.fetch_limit):
            body = row.get("doc")
            if body is not None:
                yield self.make_document(body)

    def __len__(self) -> int:
        """The server's ``doc_count`` (one request)."""
        return self.doc_count()

    def __bool__(self) -> bool:
        return True  # an empty database is still a database: `if db:` must not ask the server

    def __delitem__(self, docid: str, remote: bool = False) -> None:
        """Drop this thread's cached copy; the server is untouched (python-cloudant's rule,
        as ``del client[name]``). ``KeyError`` naming the rule if nothing is cached.

        ``db.__delitem__(docid, remote=True)`` deletes the document on the server too:
        the cached revision if there is one (``Conflict`` when it is stale), else the
        current one (``DocumentNotFound`` if absent).
        """
        if remote:
            doc = self.cache.get(docid)
            (doc if doc is not None else self._fetch(docid)).delete()
            self.cache.discard(docid)
            return
        if not self.cache.discard(docid):
            raise KeyError(
                f"{docid!r} is not cached: del db[id] only drops a cached copy; delete on "
                "the server with db[id].delete() or db.__delitem__(id, remote=True)"
            )

    def clear_cache(self) -> None:
        """Forget every cached document, in every thread."""
        self.cache.clear()

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
            with contextlib.suppress(KeyError):
                del self.client[self.database_name]
            self.cache.clear()

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
    def put_doc(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Write one document body (what :meth:`Document.save` sends); return
        ``{"ok", "id", "rev"}``.

        Uses the backend's single-document write, else ``_bulk_docs``. A write
        whose answer was lost is read back: returned when it applied, the
        original error when it did not, ``TransportError`` when that cannot be
        told. ``Conflict`` for a stale or missing ``_rev``; ``ServerError`` for
        an answer without ``rev`` or naming another id.
        """
        return self._write(
            "PUT",
            str(doc.get("_id")),
            doc.get("_rev"),
            doc,
            lambda: self.backend.put_doc(self.database_name, doc, self._write_params()),
        )

    def delete_doc(self, docid: str, rev: str) -> dict[str, Any]:
        """Delete revision ``rev`` of ``docid`` (what :meth:`Document.delete` sends), checked
        and verified as :meth:`put_doc` is; ``Conflict`` when ``rev`` is stale."""
        tombstone = {"_id": docid, "_rev": rev, "_deleted": True}
        return self._write(
            "DELETE",
            docid,
            rev,
            tombstone,
            lambda: self.backend.delete_doc(self.database_name, docid, rev, self._write_params()),
        )

    def _write_params(self) -> dict[str, Any] | None:
        return None if self._write_quorum is None else {"w": self._write_quorum}

    def _write(
        self,
        method: str,
        docid: str,
        base: object,
        sent: dict[str, Any],
        send: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """One document write by ``send`` (over ``base``), checked; settled when its answer
        was lost (see :meth:`put_doc`)."""
        try:
            result = write_one(self.backend, self.database_name, sent, send, w=self._write_quorum)
        except (errors.CouchError, errors.TransportError) as exc:
            if not isinstance(base, str) or not may_have_applied(exc):
                raise
            return settle_write(self.backend, self.database_name, docid, base, sent, method, exc)
        return checked_write(result, docid, method)

    def create_document(self, data: Mapping[str, Any], throw_on_exists: bool = False) -> Document:
        """Create a document from ``data`` (a uuid ``_id`` if none); return it, cached.

        An existing id always raises ``Conflict`` and nothing is overwritten;
        ``throw_on_exists`` is accepted for python-cloudant compatibility.
        ``TypeError`` if ``data`` is not JSON-serialisable.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"document data must be a dict, not {type(data).__name__}")
        return self.make_document(data).create()

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

        Results are matched to the documents by id, never trusted by position:
        an answer that does not fit (not a list, the wrong number of results, a
        result without ``id``/``rev``) raises ``ServerError``. When a chunk
        fails, the exception's ``results`` holds the results of the chunks
        already written (``[]`` for the first); the failed chunk may or may not
        have been applied.
        """
        write = BulkWrite(docs, new_edits=new_edits, chunk_size=chunk_size, documents=Document)
        for chunk in write.chunks():
            self.cache.forget(write.ids(chunk))
            try:
                write.take(
                    chunk,
                    self.backend.bulk_docs(
                        self.database_name, chunk, new_edits=new_edits, w=self._write_quorum
                    ),
                )
            except errors.SetteeError as exc:
                write.failed(exc)
                raise
        return write.results

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

    @overload
    def partitioned_all_docs(
        self,
        partition_key: str,
        *,
        raw_result: Literal[False] = False,
        **params: Unpack[ViewOptions],
    ) -> Result[AllDocsRow]: ...
    @overload
    def partitioned_all_docs(
        self, partition_key: str, *, raw_result: Literal[True], **params: Unpack[ViewOptions]
    ) -> dict[str, Any]: ...
    def partitioned_all_docs(
        self, partition_key: str, *, raw_result: bool = False, **params: Unpack[ViewOptions]
    ) -> Result[AllDocsRow] | dict[str, Any]:
        """python-cloudant name for ``partition(key).all_docs(**params)``."""
        return self.partition(partition_key).all_docs(raw_result, **params)

    @overload
    def get_partitioned_view_result(
        self,
        partition_key: str,
        ddoc_id: str,
        view_name: str,
        *,
        raw_result: Literal[False] = False,
        **params: Unpack[ViewOptions],
    ) -> Result[ViewRow]: ...
    @overload
    def get_partitioned_view_result(
        self,
        partition_key: str,
        ddoc_id: str,
        view_name: str,
        *,
        raw_result: Literal[True],
        **params: Unpack[ViewOptions],
    ) -> dict[str, Any]: ...
    def get_partitioned_view_result(
        self,
        partition_key: str,
        ddoc_id: str,
        view_name: str,
        *,
        raw_result: bool = False,
        **params: Unpack[ViewOptions],
    ) -> Result[ViewRow] | dict[str, Any]:
        """python-cloudant name for ``partition(key).get_view_result(...)``."""
        partition = self.partition(partition_key)
        return partition.get_view_result(ddoc_id, view_name, raw_result, **params)

    @overload
    def get_partitioned_query_result(
        self,
        partition_key: str,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        *,
        raw_result: Literal[False] = False,
        **kwargs: Unpack[FindOptions],
    ) -> QueryResult: ...
    @overload
    def get_partitioned_query_result(
        self,
        partition_key: str,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        *,
        raw_result: Literal[True],
        **kwargs: Unpack[FindOptions],
    ) -> FindPage: ...
    def get_partitioned_query_result(
        self,
        partition_key: str,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        *,
        raw_result: bool = False,
        **kwargs: Unpack[FindOptions],
    ) -> QueryResult | FindPage:
        """python-cloudant name for ``partition(key).get_query_result(...)``."""
        partition = self.partition(partition_key)
        return partition.get_query_result(selector, fields, sort, raw_result, **kwargs)

    # -- design documents -------------------------------------------------------
    def get_design_document(self, ddoc_id: str) -> DesignDocument:
        """The design document, fetched; an empty one (not yet saved) if it does not exist."""
        ddoc = DesignDocument(self, ddoc_id)
        with contextlib.suppress(errors.DocumentNotFound):
            ddoc.fetch()
        return ddoc

    def design_documents(self) -> list[AllDocsRow]:
        """The ``_all_docs`` rows (with ``doc``) of every design document."""
        return self.all_docs(startkey="_design/", endkey="_design0", include_docs=True).all()

    def list_design_documents(self) -> list[str]:
        """The ids of every design document."""
        rows = self.all_docs(startkey="_design/", endkey="_design0")
        return [row["id"] for row in rows]

    # -- Mango indexes ------------------------------------------------------------
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
            body["ddoc"] = ddoc_name(design_document_id)
        if index_name is not None:
            body["name"] = index_name
        if partitioned is not None:
            body["partitioned"] = bool(partitioned)
        check_json(body, "index definition")
        answer: dict[str, Any] = self.backend.create_index(self.database_name, body)
        return answer

    @overload
    def get_query_indexes(self, raw_result: Literal[False] = False) -> list[dict[str, Any]]: ...
    @overload
    def get_query_indexes(self, raw_result: Literal[True]) -> dict[str, Any]: ...
    def get_query_indexes(self, raw_result: bool = False) -> list[dict[str, Any]] | dict[str, Any]:
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
            ddoc_name(design_document_id),
            index_name,
            index_type=index_type,
        )
        return answer

    # -- security, revision limit, compaction -------------------------------------
    def get_revision_limit(self) -> int:
        """The ``_revs_limit``."""
        return int(self.backend.get_revs_limit(self.database_name))

    def set_revision_limit(self, limit: int) -> dict[str, Any]:
        """Set the ``_revs_limit``; ``ValueError`` unless an int >= 1."""
        check_int("limit", limit, 1)
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

        It reads ``_security`` and writes it back. A CouchDB cluster (no
        ``read_your_writes``) answers that read from one copy, which may lag a
        change just made: let a change show in :meth:`get_security_document`
        before the next ``share_database``/``unshare_database``, or it is undone.
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
        """Remove ``username`` from the admins, members (and Cloudant) lists.

        Reads and writes back ``_security`` as :meth:`share_database` does.
        """
        security = self.get_security_document()
        for section in ("admins", "members"):
            names = security.get(section, {}).get("names")
            if isinstance(names, list) and username in names:
                names.remove(username)
        if isinstance(security.get("cloudant"), dict):
            security["cloudant"].pop(username, None)
        answer: dict[str, Any] = self.backend.put_security(self.database_name, security)
        return answer

    # -- feeds and RQL ----------------------------------------------------------------
    @overload
    def changes(
        self, *, raw_data: Literal[False] = False, **options: Unpack[ChangesOptions]
    ) -> Feed[ChangeRow]: ...
    @overload
    def changes(
        self, *, raw_data: Literal[True], **options: Unpack[ChangesOptions]
    ) -> Feed[str]: ...
    @overload
    def changes(
        self, *, raw_data: bool, **options: Unpack[ChangesOptions]
    ) -> Feed[ChangeRow] | Feed[str]: ...
    def changes(
        self, *, raw_data: bool = False, **options: Unpack[ChangesOptions]
    ) -> Feed[ChangeRow] | Feed[str]:
        """A ``_changes`` :class:`~settee.feeds.feed.Feed` of change rows (each row's JSON
        text with ``raw_data=True``); options: :class:`~settee.feeds.options.ChangesOptions`,
        ``TypeError`` for another keyword, before any request."""
        return feeds.changes_feed(self, raw_data=raw_data, **options)

    @overload
    def infinite_changes(
        self, *, raw_data: Literal[False] = False, **options: Unpack[InfiniteChangesOptions]
    ) -> InfiniteFeed[ChangeRow]: ...
    @overload
    def infinite_changes(
        self, *, raw_data: Literal[True], **options: Unpack[InfiniteChangesOptions]
    ) -> InfiniteFeed[str]: ...
    @overload
    def infinite_changes(
        self, *, raw_data: bool, **options: Unpack[InfiniteChangesOptions]
    ) -> InfiniteFeed[ChangeRow] | InfiniteFeed[str]: ...
    def infinite_changes(
        self, *, raw_data: bool = False, **options: Unpack[InfiniteChangesOptions]
    ) -> InfiniteFeed[ChangeRow] | InfiniteFeed[str]:
        """A perpetually reconnecting ``_changes`` feed (:class:`~settee.feeds.feed.InfiniteFeed`);
        options: :class:`~settee.feeds.options.InfiniteChangesOptions`."""
        return feeds.infinite_changes_feed(self, raw_data=raw_data, **options)

    # -- replication (settee.replication) --------------------------------------------
    @overload
    def replicate_to(
        self,
        target: Database,
        *,
        continuous: Literal[False] = False,
        **options: Unpack[ReplicateOptions],
    ) -> ReplicationResult: ...
    @overload
    def replicate_to(
        self, target: Database, *, continuous: Literal[True], **options: Unpack[ReplicateOptions]
    ) -> Replication: ...
    def replicate_to(
        self, target: Database, *, continuous: bool = False, **options: Unpack[ReplicateOptions]
    ) -> ReplicationResult | Replication:
        """``settee.replicate(self, target, ...)``: this database's changes into ``target``."""
        answer: ReplicationResult | Replication = _replicator()(
            self, target, continuous=continuous, **options
        )
        return answer

    @overload
    def replicate_from(
        self,
        source: Database,
        *,
        continuous: Literal[False] = False,
        **options: Unpack[ReplicateOptions],
    ) -> ReplicationResult: ...
    @overload
    def replicate_from(
        self, source: Database, *, continuous: Literal[True], **options: Unpack[ReplicateOptions]
    ) -> Replication: ...
    def replicate_from(
        self, source: Database, *, continuous: bool = False, **options: Unpack[ReplicateOptions]
    ) -> ReplicationResult | Replication:
        """``settee.replicate(source, self, ...)``: ``source``'s changes into this database."""
        answer: ReplicationResult | Replication = _replicator()(
            source, self, continuous=continuous, **options
        )
        return answer

    def filter(
        self,
        query: QueryLike | Mapping[str, Any] = None,
        *,
        fields: list[str] | tuple[str, ...] | None = None,
        sort: list[str] | tuple[str, ...] | None = None,
        limit: int | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        **lookups: object,
    ) -> MangoQuerySet:
        """A lazy RQL/Mango query set: ``db.filter(R(status="new"))``, ``db.filter("eq(a,1)")``,
        ``db.filter(status="new")`` (``lookups``: field=value equalities)."""
        return MangoQuerySet(
            self, query, fields=fields, sort=sort, limit=limit, page_size=page_size, **lookups
        )
