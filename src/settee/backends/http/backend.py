"""The HTTP backend: CouchDB, Cloudant and PouchDB Server over :class:`~settee.http.Transport`.

:class:`HTTPBackend` is the sync shell: each primitive of
:class:`~settee.backends.base.Backend` is an operation of
:class:`~settee.backends.http.ops.HTTPOps` (sans-I/O: it yields the requests
it needs and never touches a socket) driven with the requests transport;
settee.aio drives the same operations with aiohttp. Every primitive is one
request (the change feeds are opened by :mod:`settee.backends.http.changes`), except
where PouchDB Server 4.2 needs help to give CouchDB's answer: deleting a
missing database or index checks first (it answers 200 or 500),
``_revs_limit`` raises ``NotSupported``, and ``_all_docs`` and unindexed
``_find`` get an explicit upper bound (it silently skips ids from U+0100 up
otherwise). The server is identified once, from ``GET /``. Query
options arrive as Python values with CouchDB's names and are encoded by
:func:`~settee.backends.http.support.encode_params` (beside
:func:`capabilities_for` and the PouchDB Server bounds): the
JSON-valued ones (``key``, ``keys``, ``startkey``, ``endkey``, ...) as JSON,
booleans as ``true``/``false``, ``None`` dropped. Every name is one
percent-encoded path segment (``/`` included) and a document id keeps only
its first ``_design/``/``_local/`` slash (``doc_id_segments``), so no id or
name can address another document or endpoint; ids that CouchDB reserves (a leading ``_`` other
than ``_design/`` and ``_local/``) are refused before any request.

Usage::

    backend = HTTPBackend("http://127.0.0.1:5984", auth=("admin", "pw"))
    backend.put_doc("mydb", {"_id": "a", "n": 1})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO, Any, TypeVar, overload

from settee import errors
from settee.backends.base import ChangesStream, MapFunction, OpenRevs, ReduceSpec
from settee.backends.http.changes import open_changes
from settee.backends.http.ops import Call, HTTPOps, Op, OpRun, check_db
from settee.http.options import TransportOptions
from settee.http.transport import Response, Transport
from settee.urls import redact_url

__all__ = ["HTTPBackend", "run_sync"]

_T = TypeVar("_T")


def _send(transport: Transport, call: Call) -> Response | errors.SetteeError:
    try:
        return transport.request(call.method, call.path, **call.transport_kwargs)
    except errors.SetteeError as exc:
        return exc


def run_sync(transport: Transport, op: Op[_T]) -> _T:
    """Drive ``op`` with ``transport``: send each call, send back its answer or throw its error."""
    with OpRun(op, transport.decode) as run:
        while run.call is not None:
            run.step(_send(transport, run.call))
        return run.result


class HTTPBackend:
    """A CouchDB-compatible server reached over HTTP.

    ``HTTPBackend(url, *, auth=None, options=None, **fields)``: ``auth`` is any
    strategy from :mod:`settee.auth` or a ``(user, password)`` tuple;
    credentials in ``url`` become ``BasicAuth``. ``options`` is a
    :class:`~settee.http.options.TransportOptions` (``timeout``,
    ``max_retries``, ``headers``, ...; its fields may be given as keywords
    instead) for the :class:`~settee.http.Transport`; anything else is a
    ``TypeError`` naming it. ``transport`` is the transport (public: the client
    reaches sessions, ``_config`` and Cloudant endpoints through it); ``ops``
    the sans-I/O operations it drives.
    """

    kind = "http"

    def __init__(
        self,
        url: str,
        *,
        auth: Any = None,
        options: TransportOptions | None = None,
        **fields: object,
    ) -> None:
        options = TransportOptions.checked("the http backend", fields, options)
        self.transport = Transport(url, auth=auth, options=options)
        self.url = redact_url(self.transport.base_url)
        self.ops = HTTPOps(self.transport.base_url)

    def __repr__(self) -> str:
        return f"HTTPBackend({self.url!r})"

    def _run(self, op: Op[_T]) -> _T:
        return run_sync(self.transport, op)

    @property
    def capabilities(self) -> frozenset[str]:
        """Capabilities of the server, from ``GET /`` on first use, then cached."""
        return self._run(self.ops.server_capabilities())

    def _is_pouchdb(self) -> bool:
        """Whether the server is PouchDB Server (whose quirks some primitives work around)."""
        return self._run(self.ops._is_pouchdb())

    # -- server --------------------------------------------------------------
    def server_info(self) -> dict[str, Any]:
        """``GET /`` (welcome, version, vendor...)."""
        return self._run(self.ops.server_info())

    def all_dbs(self) -> list[str]:
        """``GET /_all_dbs``, sorted."""
        return self._run(self.ops.all_dbs())

    def uuids(self, count: int) -> list[str]:
        """``count`` ids from ``GET /_uuids`` (dashes removed: 32 hex digits)."""
        return self._run(self.ops.uuids(count))

    def create_db(
        self, db: str, *, partitioned: bool = False, params: Mapping[str, Any] | None = None
    ) -> None:
        """``PUT /db``; ``PreconditionFailed`` (``file_exists``) if it exists."""
        self._run(self.ops.create_db(db, partitioned=partitioned, params=params))

    def delete_db(self, db: str) -> None:
        """``DELETE /db``; ``NotFound`` if absent."""
        self._run(self.ops.delete_db(db))

    def db_info(self, db: str) -> dict[str, Any]:
        """``GET /db``; ``NotFound`` if absent."""
        return self._run(self.ops.db_info(db))

    def close(self) -> None:
        """Close the transport's connections. Idempotent."""
        self.transport.close()

    # -- documents -----------------------------------------------------------
    @overload
    def get_doc(
        self,
        db: str,
        docid: str,
        params: Mapping[str, Any] | None = None,
        *,
        open_revs: None = None,
    ) -> dict[str, Any]: ...
    @overload
    def get_doc(
        self,
        db: str,
        docid: str,
        params: Mapping[str, Any] | None = None,
        *,
        open_revs: OpenRevs,
    ) -> list[dict[str, Any]]: ...
    def get_doc(
        self,
        db: str,
        docid: str,
        params: Mapping[str, Any] | None = None,
        *,
        open_revs: OpenRevs | None = None,
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """``GET /db/docid``; ``DocumentNotFound`` if absent, ``NotFound`` if the db is;
        with ``open_revs``, the list of ``{"ok": doc}`` / ``{"missing": rev}``.

        ``ServerError`` if the answer is not that document.
        """
        if open_revs is None:
            return self._run(self.ops.get_doc(db, docid, params))
        return self._run(self.ops.get_doc(db, docid, params, open_revs=open_revs))

    def put_doc(
        self, db: str, doc: dict[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``PUT /db/docid``; ``Conflict`` on a stale ``_rev``; ``TypeError`` before sending."""
        return self._run(self.ops.put_doc(db, doc, params))

    def delete_doc(
        self, db: str, docid: str, rev: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``DELETE /db/docid?rev=``; ``Conflict`` on a stale rev, ``DocumentNotFound``."""
        return self._run(self.ops.delete_doc(db, docid, rev, params))

    def bulk_docs(
        self,
        db: str,
        docs: Sequence[dict[str, Any]],
        *,
        new_edits: bool = True,
        w: int | None = None,
    ) -> list[dict[str, Any]]:
        """``POST /db/_bulk_docs``: one result per document (``[]`` with new_edits=False)."""
        return self._run(self.ops.bulk_docs(db, docs, new_edits=new_edits, w=w))

    def all_docs(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """``_all_docs`` (``POST`` with ``{"keys": [...]}`` when ``keys`` is given)."""
        return self._run(self.ops.all_docs(db, params, keys=keys, partition=partition))

    def find(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``POST /db/_find`` (or the partition's)."""
        return self._run(self.ops.find(db, query, partition=partition))

    def explain(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``POST /db/_explain`` (or the partition's): which index a ``_find`` would use."""
        return self._run(self.ops.explain(db, query, partition=partition))

    def create_index(self, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /db/_index``."""
        return self._run(self.ops.create_index(db, index))

    def get_indexes(self, db: str) -> dict[str, Any]:
        """``GET /db/_index``."""
        return self._run(self.ops.get_indexes(db))

    def delete_index(
        self, db: str, ddoc: str, name: str, *, index_type: str = "json"
    ) -> dict[str, Any]:
        """``DELETE /db/_index/_design%2F{ddoc}/{type}/{name}``; ``NotFound`` if absent."""
        return self._run(self.ops.delete_index(db, ddoc, name, index_type=index_type))

    def view(
        self,
        db: str,
        ddoc: str,
        view: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
        counts: bool = True,
    ) -> dict[str, Any]:
        """A design-document view page (``POST`` with ``{"keys": [...]}`` when given);
        ``counts`` is ignored: the server's answer always has them."""
        return self._run(self.ops.view(db, ddoc, view, params, keys=keys, partition=partition))

    def python_view(
        self,
        db: str,
        map_fn: MapFunction,
        params: Mapping[str, Any] | None = None,
        *,
        reduce: ReduceSpec = None,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """Always raises ``NotSupported``: a server runs JavaScript views only."""
        self.ops.python_view(db, map_fn, params, reduce=reduce, keys=keys, partition=partition)

    def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
        chunk_size: int = 65536,
    ) -> ChangesStream:
        """Open ``/db/_changes`` (a POST when ``body`` is given); see ``backends.http.changes``."""
        self._run(self.ops.check_feed_filter(db, params))
        return open_changes(
            self.transport,
            (check_db(db), "_changes"),
            params,
            body=body,
            raw=raw,
            chunk_size=chunk_size,
        )

    def db_updates(
        self, params: Mapping[str, Any] | None = None, *, raw: bool = False, chunk_size: int = 65536
    ) -> ChangesStream:
        """Open the server's ``/_db_updates`` feed (``NotSupported`` where it has none)."""
        self._run(self.ops._require("db_updates", "the _db_updates feed"))
        return open_changes(
            self.transport, ("_db_updates",), params, raw=raw, chunk_size=chunk_size
        )

    def revs_diff(self, db: str, revs: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """``POST /db/_revs_diff``."""
        return self._run(self.ops.revs_diff(db, revs))

    # -- attachments ---------------------------------------------------------
    def get_attachment(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> tuple[bytes, str]:
        """``(data, content_type)``; ``NotFound`` if the attachment, document or db is absent."""
        return self._run(self.ops.get_attachment(db, docid, name, rev=rev))

    def put_attachment(
        self,
        db: str,
        docid: str,
        name: str,
        data: bytes | IO[bytes],
        content_type: str,
        *,
        rev: str | None,
    ) -> dict[str, Any]:
        """``PUT /db/docid/name?rev=``; creates the document when ``rev`` is None. A binary
        file object is sent as a streamed request body (never read whole)."""
        return self._run(self.ops.put_attachment(db, docid, name, data, content_type, rev=rev))

    def stream_attachment(
        self, db: str, docid: str, name: str, write_to: IO[bytes], *, rev: str | None = None
    ) -> str:
        """``GET`` the attachment as a streamed response, written to ``write_to`` in chunks
        of 1 MiB; return its content type. ``NotFound`` if absent."""
        call = self.ops.attachment_call(db, docid, name, rev=rev)
        response = self.transport.request(
            call.method, call.path, **call.transport_kwargs, stream=True
        )
        with response:
            for chunk in self.transport.iter_body(response, 1 << 20):
                write_to.write(chunk)
        return str(response.headers.get("Content-Type", "application/octet-stream"))

    def delete_attachment(self, db: str, docid: str, name: str, *, rev: str) -> dict[str, Any]:
        """``DELETE /db/docid/name?rev=``; ``NotFound``/``Conflict``."""
        return self._run(self.ops.delete_attachment(db, docid, name, rev=rev))

    # -- database administration ---------------------------------------------
    def get_security(self, db: str) -> dict[str, Any]:
        """``GET /db/_security``."""
        return self._run(self.ops.get_security(db))

    def put_security(self, db: str, security: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /db/_security``."""
        return self._run(self.ops.put_security(db, security))

    def get_revs_limit(self, db: str) -> int:
        """``GET /db/_revs_limit``; ``NotSupported`` on PouchDB Server."""
        return self._run(self.ops.get_revs_limit(db))

    def set_revs_limit(self, db: str, limit: int) -> dict[str, Any]:
        """``PUT /db/_revs_limit``; ``NotSupported`` on PouchDB Server."""
        return self._run(self.ops.set_revs_limit(db, limit))

    def compact(self, db: str) -> dict[str, Any]:
        """``POST /db/_compact``."""
        return self._run(self.ops.compact(db))

    def view_cleanup(self, db: str) -> dict[str, Any]:
        """``POST /db/_view_cleanup``."""
        return self._run(self.ops.view_cleanup(db))

    def partition_info(self, db: str, partition: str) -> dict[str, Any]:
        """``GET /db/_partition/{partition}``."""
        return self._run(self.ops.partition_info(db, partition))
