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

Queries and indexes come from :class:`~settee.queries.QueryMixin`, security
and compaction from :class:`~settee.dbadmin.AdminMixin`; :class:`Partition`
lives in :mod:`settee.partition`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from settee import errors
from settee._bulk import match_results
from settee._doccache import DocumentCache
from settee._validate import (
    check_documents,
    check_int,
    validate_db_name,
    validate_doc_id,
    validate_partition_key,
)
from settee._writecheck import confirm_write
from settee.dbadmin import AdminMixin
from settee.document import DesignDocument, Document
from settee.pages.paging import DEFAULT_PAGE_SIZE
from settee.partition import Partition
from settee.queries import QueryMixin

if TYPE_CHECKING:
    from settee.backends.base import Backend
    from settee.client import Client

__all__ = ["BULK_CHUNK_SIZE", "Database"]

#: Documents per ``_bulk_docs`` request when ``bulk_docs`` is given more.
BULK_CHUNK_SIZE = 500


def raise_for_result(result: Mapping[str, Any]) -> None:
    """Raise the exception a fast-path write would have raised for a per-document error."""
    error = result.get("error")
    if error is not None:
        raise errors.error_for(
            None,
            str(error),
            result.get("reason"),
            body=dict(result),
            not_found=errors.DocumentNotFound,
        )


def _may_have_applied(exc: errors.SetteeError) -> bool:
    # A refusal of a replayed write, or no answer at all: the write may have applied.
    if isinstance(exc, errors.TransportError):
        return True
    return isinstance(exc, (errors.Conflict, errors.NotFound)) and exc.replayed


def _checked_write(result: Any, docid: str, method: str) -> dict[str, Any]:
    """``result`` of a single-document write, refused unless it names ``docid`` and a rev."""
    if not isinstance(result, dict):
        raise errors.ServerError(
            f"malformed answer to {method} of {docid!r}: expected a JSON object, "
            f"got {type(result).__name__}",
            error="bad_response",
            body=result,
        )
    rev = result.get("rev")
    if not isinstance(rev, str) or not rev:
        raise errors.ServerError(
            f"malformed answer to {method} of {docid!r}: no revision ('rev') in {result!r}",
            error="bad_response",
            body=result,
        )
    answered = result.get("id", docid)
    if answered != docid:
        raise errors.ServerError(
            f"malformed answer to {method} of {docid!r}: it names document {answered!r}",
            error="bad_response",
            body=result,
        )
    return result


class Database(QueryMixin, AdminMixin):
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
        self.fetch_limit = check_int("fetch_limit", fetch_limit, 1)
        self.partitioned = bool(partitioned)
        self._cache = DocumentCache(client._new_cache())

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
            self._cache.own(docid, doc)

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
        self._cache.put(docid, doc)
        return doc

    # -- mapping protocol -------------------------------------------------------
    def __getitem__(self, docid: str) -> Document:
        """This thread's cached document, else one fetch; ``DocumentNotFound`` (a KeyError)
        if absent. Another thread never gets the same object."""
        cached = self._cache.get(docid)
        if cached is not None:
            return cached
        return self._fetch(docid)

    def __contains__(self, docid: object) -> bool:
        """Whether the document exists: True if any thread has it cached, else asks the backend."""
        if not isinstance(docid, str):
            return False
        if self._cache.known(docid):
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
        """This thread's cached document or ``default``; ``remote=True`` fetches (and caches) it."""
        if not remote:
            cached = self._cache.get(docid)
            return default if cached is None else cached
        try:
            return self._fetch(docid)
        except errors.DocumentNotFound:
            self._forget(docid)
            return default

    def keys(self, remote: bool = False) -> list[str]:
        """Ids this thread has cached; ``remote=True``: every id in the database (paged)."""
        if not remote:
            return self._cache.ids()
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
        """Drop this thread's cached copy (``KeyError`` if none); the server is untouched."""
        if not self._cache.discard(docid):
            raise KeyError(docid)

    def clear_cache(self) -> None:
        """Forget every cached document, in every thread."""
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
        docid = str(doc.get("_id"))
        base = doc.get("_rev")
        try:
            try:
                result = self.backend.put_doc(self.database_name, doc)
            except errors.NotSupported:
                result = self.backend.bulk_docs(self.database_name, [doc])[0]
                raise_for_result(result)
        except (errors.CouchError, errors.TransportError) as exc:
            if not isinstance(base, str) or not _may_have_applied(exc):
                raise
            return self._confirm_write(docid, base, doc, "PUT", exc)
        return _checked_write(result, docid, "PUT")

    def _delete_doc(self, docid: str, rev: str) -> dict[str, Any]:
        tombstone = {"_id": docid, "_rev": rev, "_deleted": True}
        try:
            try:
                result = self.backend.delete_doc(self.database_name, docid, rev)
            except errors.NotSupported:
                result = self.backend.bulk_docs(self.database_name, [tombstone])[0]
                raise_for_result(result)
        except (errors.CouchError, errors.TransportError) as exc:
            if not _may_have_applied(exc):
                raise
            return self._confirm_write(docid, rev, tombstone, "DELETE", exc)
        return _checked_write(result, docid, "DELETE")

    def _confirm_write(
        self, docid: str, base: str, sent: Mapping[str, Any], method: str, exc: errors.SetteeError
    ) -> dict[str, Any]:
        """A write that may have applied before it failed: read back and report the truth.

        Returns its result when the stored revisions show it applied; re-raises
        ``exc`` when they show it did not (and the server answered); otherwise
        ``TransportError`` saying the outcome is unknown.
        """
        try:
            verdict, rev = confirm_write(self.backend, self.database_name, docid, base, sent)
        except errors.SetteeError as check:
            raise errors.TransportError(
                f"{method} of document {docid!r} (rev {base}): the outcome is unknown - "
                f"{exc}; reading it back failed: {check}",
                method=method,
            ) from exc
        if verdict == "applied":
            return {"ok": True, "id": docid, "rev": rev}
        if verdict == "not_applied" and isinstance(exc, errors.CouchError):
            raise exc
        raise errors.TransportError(
            f"{method} of document {docid!r} (rev {base}): the outcome is unknown - {exc}; "
            "fetch the document to see whether it was written",
            method=method,
        ) from exc

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

        Results are matched to the documents by id, never trusted by position:
        an answer that does not fit (not a list, the wrong number of results, a
        result without ``id``/``rev``) raises ``ServerError``. When a chunk
        fails, the exception's ``results`` holds the results of the chunks
        already written (``[]`` for the first); the failed chunk may or may not
        have been applied.
        """
        check_int("chunk_size", chunk_size, 1)
        originals = list(docs) if not isinstance(docs, list) else docs
        checked = check_documents(originals)
        results: list[dict[str, Any]] = []
        for start in range(0, len(checked), chunk_size):
            chunk = checked[start : start + chunk_size]
            for body in chunk:
                docid = body.get("_id")
                if isinstance(docid, str):
                    self._cache.pop(docid, None)
            try:
                answer = match_results(
                    chunk,
                    self.backend.bulk_docs(self.database_name, chunk, new_edits=new_edits),
                    new_edits=new_edits,
                )
            except errors.SetteeError as exc:
                exc.results = list(results)
                raise
            results.extend(answer)
            if new_edits:
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

    # -- design documents -------------------------------------------------------
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

    # -- elsewhere-implemented features (imported lazily) ---------------------------
    def changes(self, **options: Any) -> Any:
        """A ``_changes`` :class:`~settee.feeds.Feed` (see :func:`settee.feeds.changes_feed`)."""
        from settee.feeds import feed as feeds

        return feeds.changes_feed(self, **options)

    def infinite_changes(self, **options: Any) -> Any:
        """A perpetually reconnecting ``_changes`` feed (``settee.feeds.InfiniteFeed``)."""
        from settee.feeds import feed as feeds

        return feeds.infinite_changes_feed(self, **options)

    def filter(self, query: Any = None, **lookups: Any) -> Any:
        """A lazy RQL/Mango query set: ``db.filter(R(status="new"))``, ``db.filter("eq(a,1)")``."""
        from settee.rql.queryset import MangoQuerySet

        return MangoQuerySet(self, query, **lookups)
