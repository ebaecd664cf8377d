"""AsyncDatabase and AsyncPartition: the sync API's names, awaited.

The hot paths are native: documents (get, create, save, delete, bulk),
result sets (``all_docs``, views, ``get_query_result``/``find``, ``filter``),
feeds and attachments await the async backend directly. Options are checked,
and result sets built, by the sync core's own code (a sync
:class:`~settee.database.Database` over the same backend builds them; its
pagers' plans are driven here). The rest of the API - indexes, security,
revision limit, compaction, design documents, revision diffs - runs the sync
core's method itself in a worker thread, its requests still sent by the async
backend on the loop (:class:`~settee.aio.backends.LoopBridge`): one
implementation, and the loop is never blocked.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from settee import errors
from settee._bulk import BulkWrite
from settee._doccache import BoundedCache
from settee._validate import check_int, ddoc_name, validate_doc_id
from settee._writecheck import checked_write, may_have_applied, settle_write
from settee.aio.document import AsyncDocument
from settee.aio.feeds import AsyncFeed, AsyncInfiniteFeed, AsyncOpener
from settee.aio.pages import AsyncQueryResult, AsyncQuerySet, AsyncResult
from settee.backends.base import MapFunction, ReduceSpec
from settee.database import BULK_CHUNK_SIZE, Database
from settee.feeds.options import (
    ChangesOptions,
    FeedSpec,
    InfiniteChangesOptions,
    feed_spec,
    no_selector_filter,
)
from settee.pages.paging import DEFAULT_PAGE_SIZE, Fetch
from settee.partition import Partition
from settee.queries import FindOptions, PythonViewOptions, ViewOptions
from settee.results import raise_for_result
from settee.rows import AllDocsRow, ChangeRow, ViewRow
from settee.rql.mango import QueryLike
from settee.rql.queryset import MangoQuerySet

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from settee.aio.backends import AsyncBackend
    from settee.aio.client import AsyncClient
    from settee.queries import QueryScope

__all__ = ["AsyncDatabase", "AsyncPartition"]

_T = TypeVar("_T")


class _AsyncScope:
    """The query scope shared by a database and a partition (composed, as on the sync side)."""

    def __init__(self, database: AsyncDatabase, sync: QueryScope, partition: str | None) -> None:
        self._database = database
        self._sync = sync
        self._partition = partition

    def _answer(self, primitive: str, *args: Any, **extra: Any) -> Callable[[Fetch], Any]:
        backend, name, partition = (
            self._database.backend,
            self._database.database_name,
            (self._partition),
        )

        async def answer(fetch: Fetch) -> Any:
            if primitive == "find":
                return await backend.call("find", name, fetch.params, partition=partition)
            return await backend.call(
                primitive, name, *args, fetch.params, keys=fetch.keys, partition=partition, **extra
            )

        return answer

    def all_docs(self, **params: Unpack[ViewOptions]) -> AsyncResult[AllDocsRow]:
        """``_all_docs`` rows, key-paged: ``async for row in db.all_docs(include_docs=True)``."""
        return AsyncResult(self._sync.all_docs(**params), self._answer("all_docs"))

    def get_view_result(
        self, ddoc_id: str, view_name: str, **params: Unpack[ViewOptions]
    ) -> AsyncResult[ViewRow]:
        """A design-document view's rows, key-paged."""
        result = self._sync.get_view_result(ddoc_id, view_name, **params)
        return AsyncResult(result, self._answer("view", ddoc_name(ddoc_id), view_name))

    def view(
        self, map_fn: MapFunction, reduce: ReduceSpec = None, **params: Unpack[PythonViewOptions]
    ) -> AsyncResult[ViewRow]:
        """Rows of a Python-callable view (embedded stores; ``NotSupported`` over HTTP)."""
        result = self._sync.view(map_fn, reduce, **params)
        return AsyncResult(result, self._answer("python_view", map_fn, reduce=reduce))

    def get_query_result(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        **kwargs: Unpack[FindOptions],
    ) -> AsyncQueryResult:
        """A Mango query's documents, bookmark-paged: ``async for doc in db.find(selector)``."""
        result = self._sync.get_query_result(selector, fields, sort, **kwargs)
        return AsyncQueryResult(result, self._answer("find"))

    find = get_query_result

    async def __aiter__(self) -> AsyncIterator[AsyncDocument]:
        """Every document, a page at a time (not cached)."""
        page_size = self._database.fetch_limit
        async for row in self.all_docs(include_docs=True, page_size=page_size):
            body = row.get("doc")
            if body is not None:
                yield self._database.make_document(body)


class AsyncDatabase:
    """One database of an :class:`~settee.aio.AsyncClient`: ``await client.get(name, remote=True)``.

    Documents are cached (bounded) as on the sync side: ``get(id)`` reads the
    cache, ``get(id, remote=True)`` fetches. Iterate with ``async for``.
    """

    def __init__(
        self, client: AsyncClient, database_name: str, *, fetch_limit: int = DEFAULT_PAGE_SIZE
    ) -> None:
        self.client = client
        self.fetch_limit = check_int("fetch_limit", fetch_limit, 1)
        # The sync core's Database over the same backend: checks options and builds
        # result sets (never sends a request from the loop).
        self._sync_db = Database(client.sync_client, database_name)
        self.database_name = self._sync_db.database_name
        self._scope = _AsyncScope(self, self._sync_db, None)
        self.cache: BoundedCache[AsyncDocument] = BoundedCache(
            client.cache_size, client.cache_ttl, client.cache_timer
        )

    def __repr__(self) -> str:
        return f"AsyncDatabase({self.database_name!r}, url={self.client.url!r})"

    @property
    def backend(self) -> AsyncBackend:
        return self.client.backend

    async def run_sync(self, method: Callable[[Database], _T]) -> _T:
        """Run ``method(sync_database)`` in a worker thread (its I/O on the loop)."""
        database = self._sync_db
        return await asyncio.to_thread(method, database)

    # -- the document cache ------------------------------------------------------
    def cache_document(self, doc: AsyncDocument) -> None:
        docid = doc.get("_id")
        if isinstance(docid, str):
            self.cache[docid] = doc

    def forget_document(self, docid: str) -> None:
        self.cache.pop(docid, None)

    def make_document(self, body: Mapping[str, Any]) -> AsyncDocument:
        """An :class:`AsyncDocument` holding ``body``; nothing requested or cached."""
        doc = AsyncDocument(self)
        doc.update(body)
        return doc

    def document(self, docid: str) -> AsyncDocument:
        """A handle for ``async with db.document(id) as doc:`` (fetched on entry, saved on exit)."""
        return AsyncDocument(self, docid)

    def new_document(self) -> AsyncDocument:
        """An empty document (a uuid ``_id`` is given when it is created)."""
        return AsyncDocument(self)

    async def get_doc(self, docid: str) -> dict[str, Any]:
        """The stored document body; ``DocumentNotFound`` if absent."""
        body: dict[str, Any] = await self.backend.call(
            "get_doc", self.database_name, validate_doc_id(docid)
        )
        return body

    @overload
    async def get(
        self, docid: str, default: None = None, remote: bool = False
    ) -> AsyncDocument | None: ...
    @overload
    async def get(self, docid: str, default: _T, remote: bool = False) -> AsyncDocument | _T: ...
    async def get(self, docid: str, default: object = None, remote: bool = False) -> object:
        """The cached document or ``default``; ``remote=True`` fetches (and caches) it."""
        if not remote:
            cached = self.cache.get(docid)
            return default if cached is None else cached
        try:
            doc = self.make_document(await self.get_doc(docid))
        except errors.DocumentNotFound:
            self.forget_document(docid)
            return default
        self.cache[docid] = doc
        return doc

    async def contains(self, docid: str) -> bool:
        """Whether the document exists (the async ``id in db``)."""
        if docid in self.cache:
            return True
        return await self.get(docid, remote=True) is not None

    async def keys(self, remote: bool = False) -> list[str]:
        """Cached ids; ``remote=True``: every id in the database (paged)."""
        if not remote:
            return list(self.cache)
        page_size = max(self.fetch_limit, 1000)
        return [row["id"] async for row in self.all_docs(page_size=page_size)]

    def __aiter__(self) -> AsyncIterator[AsyncDocument]:
        return self._scope.__aiter__()

    # -- lifecycle ------------------------------------------------------------------
    async def create(self, throw_on_exists: bool = False) -> AsyncDatabase:
        """Create the database; ``PreconditionFailed`` if it exists and ``throw_on_exists``."""
        try:
            await self.backend.call("create_db", self.database_name)
        except errors.PreconditionFailed:
            if throw_on_exists:
                raise
        return self

    async def delete(self) -> None:
        """Delete the database; ``NotFound`` if absent."""
        try:
            await self.backend.call("delete_db", self.database_name)
        finally:
            self.client.evict(self.database_name)
            self.cache.clear()

    async def exists(self) -> bool:
        """Whether the database exists (one request)."""
        try:
            await self.metadata()
        except errors.NotFound:
            return False
        return True

    async def metadata(self) -> dict[str, Any]:
        """``GET /db``; ``NotFound`` if absent."""
        info: dict[str, Any] = await self.backend.call("db_info", self.database_name)
        return info

    async def doc_count(self) -> int:
        return int((await self.metadata())["doc_count"])

    # -- writes -------------------------------------------------------------------
    # -- quorums (as Database's, which holds them) --------------------------------------
    @property
    def write_quorum(self) -> int | None:
        """CouchDB's ``w`` for this handle's writes, as
        :attr:`Database.write_quorum <settee.database.Database.write_quorum>`:
        sent with every ``put_doc``/``delete_doc``/``bulk_docs`` (None: the server's)."""
        return self._sync_db.write_quorum

    @write_quorum.setter
    def write_quorum(self, value: int | None) -> None:
        self._sync_db.write_quorum = value

    async def _write(
        self, primitive: str, docid: str, base: Any, sent: dict[str, Any], *args: Any
    ) -> dict[str, Any]:
        method = "PUT" if primitive == "put_doc" else "DELETE"
        w = self.write_quorum
        try:
            try:
                result = await self.backend.call(
                    primitive, self.database_name, *args, None if w is None else {"w": w}
                )
            except errors.NotSupported:  # no single-document write: _bulk_docs, as the sync core
                results = await self.backend.call("bulk_docs", self.database_name, [sent], w=w)
                result = results[0] if results else {"ok": True}
            raise_for_result(result)
        except (errors.CouchError, errors.TransportError) as exc:
            if not isinstance(base, str) or not may_have_applied(exc):
                raise
            # Read back what the stored revisions say, in a worker thread.
            settle = functools.partial(
                settle_write, docid=docid, base=base, sent=sent, method=method, exc=exc
            )
            return await self.run_sync(lambda db: settle(db.backend, db.database_name))
        return checked_write(result, docid, method)

    async def put_doc(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Write one document body; ``Conflict`` for a stale or missing ``_rev``."""
        return await self._write("put_doc", str(doc.get("_id")), doc.get("_rev"), doc, doc)

    async def delete_doc(self, docid: str, rev: str) -> dict[str, Any]:
        """Delete revision ``rev`` of ``docid``; ``Conflict`` when it is stale."""
        tombstone = {"_id": docid, "_rev": rev, "_deleted": True}
        return await self._write("delete_doc", docid, rev, tombstone, docid, rev)

    async def create_document(
        self, data: Mapping[str, Any], throw_on_exists: bool = False
    ) -> AsyncDocument:
        """Create a document from ``data`` (a uuid ``_id`` if none); return it, cached.

        As :meth:`Database.create_document <settee.database.Database.create_document>`:
        an existing id always raises ``Conflict`` and nothing is overwritten;
        ``throw_on_exists`` is accepted for python-cloudant compatibility.
        ``TypeError`` if ``data`` is not a JSON-serialisable dict.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"document data must be a dict, not {type(data).__name__}")
        return await self.make_document(data).create()

    async def bulk_docs(
        self,
        docs: Iterable[Mapping[str, Any]],
        *,
        new_edits: bool = True,
        chunk_size: int = BULK_CHUNK_SIZE,
    ) -> list[dict[str, Any]]:
        """Write many documents; one result per document, in order (errors as results),
        as :meth:`Database.bulk_docs <settee.database.Database.bulk_docs>`."""
        write = BulkWrite(docs, new_edits=new_edits, chunk_size=chunk_size, documents=AsyncDocument)
        for chunk in write.chunks():
            for docid in write.ids(chunk):
                self.forget_document(docid)
            try:
                write.take(
                    chunk,
                    await self.backend.call(
                        "bulk_docs",
                        self.database_name,
                        chunk,
                        new_edits=new_edits,
                        w=self.write_quorum,
                    ),
                )
            except errors.SetteeError as exc:
                write.failed(exc)
                raise
        return write.results

    # -- queries (see _AsyncScope) ---------------------------------------------------
    def all_docs(self, **params: Unpack[ViewOptions]) -> AsyncResult[AllDocsRow]:
        """``_all_docs`` rows, key-paged (constant memory)."""
        return self._scope.all_docs(**params)

    def get_view_result(
        self, ddoc_id: str, view_name: str, **params: Unpack[ViewOptions]
    ) -> AsyncResult[ViewRow]:
        """A design-document view's rows, key-paged."""
        return self._scope.get_view_result(ddoc_id, view_name, **params)

    def view(
        self, map_fn: MapFunction, reduce: ReduceSpec = None, **params: Unpack[PythonViewOptions]
    ) -> AsyncResult[ViewRow]:
        """A Python-callable view (embedded stores)."""
        return self._scope.view(map_fn, reduce, **params)

    def get_query_result(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        **kwargs: Unpack[FindOptions],
    ) -> AsyncQueryResult:
        """A Mango query's documents, bookmark-paged."""
        return self._scope.get_query_result(selector, fields, sort, **kwargs)

    find = get_query_result

    def filter(
        self,
        query: QueryLike | Mapping[str, Any] = None,
        *,
        fields: list[str] | tuple[str, ...] | None = None,
        sort: list[str] | tuple[str, ...] | None = None,
        limit: int | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        **lookups: object,
    ) -> AsyncQuerySet:
        """An RQL/Mango query set: ``async for doc in db.filter(R().status.eq("open"))``."""
        queryset = MangoQuerySet(
            self._sync_db, query, fields=fields, sort=sort, limit=limit, page_size=page_size,
            **lookups,
        )  # fmt: skip
        backend, name = self.backend, self.database_name

        async def find(fetch: Fetch) -> Any:
            return await backend.call("find", name, fetch.params)

        return AsyncQuerySet(queryset, find)

    def partition(self, partition_key: str) -> AsyncPartition:
        """The partition ``partition_key`` of a partitioned database."""
        return AsyncPartition(self, partition_key)

    # -- feeds ----------------------------------------------------------------------
    def _opener(self, spec: FeedSpec) -> AsyncOpener:
        backend, name = self.backend, self.database_name
        wants_selector = spec.body is not None and "selector" in spec.body

        async def open_stream(params: dict[str, Any]) -> Any:
            if wants_selector and "changes_selector" not in await backend.capabilities():
                raise no_selector_filter(backend.kind, backend.url)
            return await backend.changes(name, params, body=spec.body, raw=spec.raw)

        return open_stream

    @overload
    def changes(
        self, *, raw_data: Literal[False] = ..., **options: Unpack[ChangesOptions]
    ) -> AsyncFeed[ChangeRow]: ...
    @overload
    def changes(
        self, *, raw_data: Literal[True], **options: Unpack[ChangesOptions]
    ) -> AsyncFeed[str]: ...
    def changes(
        self, *, raw_data: bool = False, **options: Unpack[ChangesOptions]
    ) -> AsyncFeed[ChangeRow] | AsyncFeed[str]:
        """One ``_changes`` response: ``async for change in db.changes(feed="continuous")``.

        Options as ``Database.changes`` (:class:`~settee.feeds.options.ChangesOptions`).
        """
        spec, _ = feed_spec("changes", options, raw_data)
        feed: AsyncFeed[Any] = AsyncFeed(self._opener(spec), spec.params, raw=spec.raw)
        return feed

    @overload
    def infinite_changes(
        self, *, raw_data: Literal[False] = ..., **options: Unpack[InfiniteChangesOptions]
    ) -> AsyncInfiniteFeed[ChangeRow]: ...
    @overload
    def infinite_changes(
        self, *, raw_data: Literal[True], **options: Unpack[InfiniteChangesOptions]
    ) -> AsyncInfiniteFeed[str]: ...
    def infinite_changes(
        self, *, raw_data: bool = False, **options: Unpack[InfiniteChangesOptions]
    ) -> AsyncInfiniteFeed[ChangeRow] | AsyncInfiniteFeed[str]:
        """Follow ``_changes`` for ever (reconnects, resumes, ``checkpoint=``)."""
        spec, infinite = feed_spec("infinite_changes", options, raw_data)
        feed: AsyncInfiniteFeed[Any] = AsyncInfiniteFeed(
            self._opener(spec), spec.params, raw=spec.raw, **infinite
        )
        return feed

    # -- the rest of the API: the sync core's methods, in a worker thread --------------
    async def create_query_index(self, **kwargs: Any) -> dict[str, Any]:
        """As ``Database.create_query_index`` (``fields=[...]``, ``index_name=``...)."""
        return await self.run_sync(lambda db: db.create_query_index(**kwargs))

    async def get_query_indexes(self) -> list[dict[str, Any]]:
        return await self.run_sync(lambda db: db.get_query_indexes())

    async def delete_query_index(
        self, design_document_id: str, index_type: str, index_name: str
    ) -> dict[str, Any]:
        return await self.run_sync(
            lambda db: db.delete_query_index(design_document_id, index_type, index_name)
        )

    async def get_security_document(self) -> dict[str, Any]:
        return await self.run_sync(lambda db: db.get_security_document())

    async def share_database(
        self, username: str, roles: Iterable[str] = ("_reader",)
    ) -> dict[str, Any]:
        return await self.run_sync(lambda db: db.share_database(username, roles))

    async def unshare_database(self, username: str) -> dict[str, Any]:
        return await self.run_sync(lambda db: db.unshare_database(username))

    async def get_revision_limit(self) -> int:
        return await self.run_sync(lambda db: db.get_revision_limit())

    async def set_revision_limit(self, limit: int) -> dict[str, Any]:
        return await self.run_sync(lambda db: db.set_revision_limit(limit))

    async def compact(self) -> dict[str, Any]:
        return await self.run_sync(lambda db: db.compact())

    async def view_cleanup(self) -> dict[str, Any]:
        return await self.run_sync(lambda db: db.view_cleanup())

    async def revisions_diff(self, doc_id: str, *revisions: str) -> dict[str, Any]:
        return await self.run_sync(lambda db: db.revisions_diff(doc_id, *revisions))

    async def missing_revisions(self, doc_id: str, *revisions: str) -> list[str]:
        return await self.run_sync(lambda db: db.missing_revisions(doc_id, *revisions))

    async def partition_metadata(self, partition_key: str) -> dict[str, Any]:
        return await self.run_sync(lambda db: db.partition_metadata(partition_key))

    async def design_documents(self) -> list[AllDocsRow]:
        return await self.run_sync(lambda db: db.design_documents())

    async def list_design_documents(self) -> list[str]:
        return await self.run_sync(lambda db: db.list_design_documents())


class AsyncPartition(_AsyncScope):
    """One partition of a partitioned database: ``db.partition("sensor-1")``."""

    def __init__(self, database: AsyncDatabase, partition_key: str) -> None:
        sync = Partition(database._sync_db, partition_key)
        super().__init__(database, sync, sync.partition_key)
        self.database = database
        self.partition_key = sync.partition_key

    def __repr__(self) -> str:
        return f"AsyncPartition({self.database.database_name!r}, {self.partition_key!r})"

    async def metadata(self) -> dict[str, Any]:
        """The partition's information (doc counts, sizes)."""
        return await self.database.partition_metadata(self.partition_key)
