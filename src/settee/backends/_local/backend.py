"""The local engine: the Backend protocol over a storage; memory and SQLite differ only in it.

:class:`LocalBackend` does the server and database administration itself and
calls the concept modules for the rest: :mod:`.reads`, :mod:`.writes` (and
:mod:`.local_docs` through them), :mod:`.all_docs`, :mod:`.find`,
:mod:`.indexes`, :mod:`.python_views`, :mod:`.changes`; attachments are
written through ``get_doc``/``put_doc`` (stored form in :mod:`.attachments`).
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import IO, Any, overload

from settee._validate import check_changes_filter, check_int, is_int, is_valid_db_name
from settee.backends._local import all_docs, find, indexes, js, python_views, reads, writes
from settee.backends._local.attachments import content_chunks, store_content
from settee.backends._local.changes import open_changes
from settee.backends._local.state import EngineState, check_partition, open_db
from settee.backends._local.storage import Storage
from settee.backends._local.util import b64, conflict, dumps, partition_bounds
from settee.backends.base import (
    ChangesStream,
    MapFunction,
    OpenRevs,
    ReduceSpec,
    doc_params,
    require,
)
from settee.errors import BadRequest, DocumentNotFound, NotFound, NotSupported, PreconditionFailed
from settee.http.options import TransportOptions

__all__ = ["BLOB_GRACE_SECONDS", "LocalBackend", "ignore_options", "settee_version"]

#: How old an unreferenced attachment content must be before compaction drops it.
BLOB_GRACE_SECONDS = 3600.0

# Attachments given as bytes up to this size stay inline in the revision body.
_INLINE_MAX = 64 * 1024

#: One copy, one writer at a time: what the engine promises beyond every backend's
#: baseline. ``_local`` documents are unversioned, as in CouchDB 3.
_ENGINE_SEMANTICS = frozenset(
    {"changes_total_order", "read_your_writes", "strict_conflicts", "couchdb_view_surface"}
)


def ignore_options(
    kind: str, options: TransportOptions | None, others: Mapping[str, object]
) -> None:
    """Check transport options as the HTTP backend does, then ignore them.

    ``options`` and any :class:`~settee.http.options.TransportOptions` field
    in ``others`` are validated the same way on every backend (a bad value is
    refused the same way); anything else in ``others`` is a ``TypeError``
    naming it (a second spelling names the right one).
    """
    TransportOptions.checked(f"the {kind} backend", others, options)


def settee_version() -> str:
    """The installed settee version (``"0+unknown"`` when running from an uninstalled tree)."""
    try:
        return metadata.version("settee")
    except metadata.PackageNotFoundError:
        return "0+unknown"


_JS_CAPABILITIES = frozenset({"javascript_views"}) if js.available() else frozenset()


class LocalBackend:
    """CouchDB's semantics over ``storage``; subclasses set ``kind``, ``url`` and ``capabilities``.

    Writes of one ``bulk_docs`` call happen in one storage transaction.
    """

    kind: str = "local"
    url: str = ""
    _capabilities: frozenset[str] = frozenset()

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._state = EngineState(storage)

    @property
    def capabilities(self) -> frozenset[str]:
        """Names from ``CAPABILITIES`` this backend has (``javascript_views``: ``settee[js]``)."""
        return self._capabilities | _ENGINE_SEMANTICS | _JS_CAPABILITIES

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- server ------------------------------------------------------------------
    def server_info(self) -> dict[str, Any]:
        """``{"couchdb": "Welcome", "version", "vendor", "features"}``."""
        version = settee_version()
        return {
            "couchdb": "Welcome",
            "version": version,
            "vendor": {"name": "settee", "version": version, "backend": self.kind},
            "features": sorted(self.capabilities),
        }

    def all_dbs(self) -> list[str]:
        """Every database name, sorted."""
        with self._storage.read() as txn:
            return sorted(txn.list_dbs())

    def uuids(self, count: int) -> list[str]:
        """``count`` random 32-hex-digit ids."""
        return [uuid.uuid4().hex for _ in range(check_int("count", count))]

    def create_db(
        self, db: str, *, partitioned: bool = False, params: Mapping[str, Any] | None = None
    ) -> None:
        """Create ``db``; ``PreconditionFailed`` if it exists, ``BadRequest`` if ill-named."""
        if not is_valid_db_name(db):
            raise BadRequest(
                f"Name: '{db}'. Only lowercase characters (a-z), digits (0-9), and any of the "
                "characters _, $, (, ), +, -, and / are allowed. Must begin with a letter.",
                error="illegal_database_name",
            )
        with self._storage.write() as txn:
            if txn.get_db(db) is not None:
                raise PreconditionFailed(
                    "The database could not be created, the file already exists.",
                    error="file_exists",
                )
            txn.create_db(db, partitioned)

    def delete_db(self, db: str) -> None:
        """Delete ``db``; ``NotFound`` if absent."""
        with self._storage.write() as txn:
            txn.drop_db(open_db(txn, db))

    def db_info(self, db: str) -> dict[str, Any]:
        """CouchDB's ``GET /db`` body; ``NotFound`` if absent."""
        with self._storage.read() as txn:
            meta = open_db(txn, db)
            live, deleted = txn.count_ids(meta, None, True, None, True)
        return {
            "db_name": db,
            "doc_count": live,
            "doc_del_count": deleted,
            "update_seq": meta.update_seq,
            "purge_seq": 0,
            "compact_running": False,
            "instance_start_time": "0",
            "disk_format_version": 8,
            "sizes": {"active": 0, "external": 0, "file": 0},
            "props": {"partitioned": True} if meta.partitioned else {},
        }

    def close(self) -> None:
        """Release the store (idempotent)."""
        self._storage.close()

    # -- documents ---------------------------------------------------------------
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
        """The document, or the ``open_revs`` list; ``DocumentNotFound``."""
        answer: dict[str, Any] | list[dict[str, Any]] = reads.get_doc(
            self._state, db, docid, doc_params(params, open_revs)
        )
        return answer

    def put_doc(
        self, db: str, doc: dict[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Write one document: ``{"ok", "id", "rev"}``; ``Conflict`` on a stale ``_rev``."""
        return writes.put_doc(self._state, db, doc, params)

    def delete_doc(
        self, db: str, docid: str, rev: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Write a tombstone; ``Conflict`` on a stale ``rev``, ``DocumentNotFound`` if gone.
        ``params`` (a quorum ``w``) has no effect on one copy."""
        return writes.delete_doc(self._state, db, docid, rev)

    def bulk_docs(
        self,
        db: str,
        docs: Sequence[dict[str, Any]],
        *,
        new_edits: bool = True,
        w: int | None = None,
    ) -> list[dict[str, Any]]:
        """One result per document (none for successful ``new_edits=False`` writes).
        ``w`` (a quorum) has no effect on one copy."""
        return writes.bulk_docs(self._state, db, docs, new_edits=new_edits)

    def revs_diff(self, db: str, revs: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """``{id: {"missing": [...], "possible_ancestors"?: [...]}}`` for unknown revisions."""
        return writes.revs_diff(self._state, db, revs)

    # -- queries and feeds -------------------------------------------------------
    def all_docs(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """An ``_all_docs`` page."""
        return all_docs.all_docs(self._state, db, params, keys=keys, partition=partition)

    def find(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """A ``_find`` page: ``{"docs", "bookmark"}`` (and ``"warning"``)."""
        return find.find(self._state, db, query, partition=partition)

    def explain(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``_explain``: which index a ``_find`` of ``query`` reads, and its key range."""
        return find.explain(self._state, db, query, partition=partition)

    def create_index(self, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /db/_index``."""
        return indexes.create_index(self._state, db, index)

    def get_indexes(self, db: str) -> dict[str, Any]:
        """``GET /db/_index``."""
        return indexes.get_indexes(self._state, db)

    def delete_index(
        self, db: str, ddoc: str, name: str, *, index_type: str = "json"
    ) -> dict[str, Any]:
        """``DELETE /db/_index/{ddoc}/{type}/{name}``."""
        return indexes.delete_index(self._state, db, ddoc, name, index_type=index_type)

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
        """A design document's view, run by QuickJS (``NotSupported`` without ``settee[js]``)."""
        return python_views.design_view(
            self._state, db, ddoc, view, params, keys=keys, partition=partition, counts=counts
        )

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
        """A view computed from ``map_fn`` (and ``reduce``) over the live documents."""
        return python_views.python_view(
            self._state, db, map_fn, params, reduce=reduce, keys=keys, partition=partition
        )

    def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
        chunk_size: int = 65536,
    ) -> ChangesStream:
        """Open the changes feed (``chunk_size`` means nothing locally).

        A ``filter=`` naming a missing design document or function is
        ``NotFound``, as on CouchDB (an existing JavaScript filter runs in
        QuickJS with ``settee[js]``, else ``NotSupported``).
        """
        check_changes_filter(params or {}, lambda docid: self.get_doc(db, docid))
        return open_changes(self._state, db, params, body=body, raw=raw)

    def db_updates(
        self, params: Mapping[str, Any] | None = None, *, raw: bool = False, chunk_size: int = 65536
    ) -> ChangesStream:
        """Always ``NotSupported``: a local store has no server-wide feed."""
        require(self, "db_updates", "the _db_updates feed")
        raise NotSupported(f"The {self.kind} backend has no server-wide _db_updates feed.")

    # -- attachments -------------------------------------------------------------
    def get_attachment(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> tuple[bytes, str]:
        """``(data, content_type)``; ``NotFound`` for a missing document or attachment."""
        att = self._stored_attachment(db, docid, name, rev)
        return b"".join(content_chunks(self._state, db, att)), str(att["content_type"])

    def stream_attachment(
        self, db: str, docid: str, name: str, write_to: IO[bytes], *, rev: str | None = None
    ) -> str:
        """Write the attachment's content to ``write_to`` one chunk at a time; return its
        content type. ``NotFound`` for a missing document or attachment."""
        att = self._stored_attachment(db, docid, name, rev)
        for chunk in content_chunks(self._state, db, att):
            write_to.write(chunk)
        return str(att["content_type"])

    def _stored_attachment(self, db: str, docid: str, name: str, rev: str | None) -> dict[str, Any]:
        with self._storage.read() as txn:
            meta = open_db(txn, db)
            info = txn.load_docs(meta, [docid]).get(docid)
            if info is None or (rev is None and info.deleted):
                raise DocumentNotFound("deleted" if info else "missing", error="not_found")
            wanted = info.winner if rev is None else rev
            body = txn.load_bodies(meta, [(docid, wanted)]).get((docid, wanted))
        if body is None:
            raise DocumentNotFound("missing", error="not_found")
        att = (json.loads(body).get("_attachments") or {}).get(name)
        if not isinstance(att, dict):
            raise NotFound("Document is missing attachment", error="not_found")
        return att

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
        """Add or replace one attachment: a new revision (a new document when ``rev`` is None).

        ``data`` is bytes, or a binary file object read to its end one chunk at a time
        and stored in chunks (never whole in memory).
        """
        if not isinstance(data, (bytes, bytearray)) and not hasattr(data, "read"):
            raise TypeError("attachment data must be bytes or a binary file object")
        if rev is None:
            doc: dict[str, Any] = {"_id": docid}
            try:
                current = self.get_doc(db, docid)
            except DocumentNotFound:
                current = None
            if current is not None:
                raise conflict()
        else:
            try:
                doc = self.get_doc(db, docid, {"rev": rev})
            except DocumentNotFound as exc:
                raise conflict() from exc
            doc.pop("_deleted", None)
        atts = doc.setdefault("_attachments", {})
        if isinstance(data, (bytes, bytearray)):
            if len(data) <= _INLINE_MAX:
                atts[name] = {"content_type": content_type, "data": b64(bytes(data))}
                return self.put_doc(db, doc)
            data = io.BytesIO(data)  # large: stored in chunks, no base64 or JSON of it
        content = store_content(self._state, db, data)
        atts[name] = {"stub": True}
        stored = {name: {**content, "content_type": content_type}}
        return writes.put_doc(self._state, db, doc, stored=stored)

    def delete_attachment(self, db: str, docid: str, name: str, *, rev: str) -> dict[str, Any]:
        """Remove one attachment: a new revision without it."""
        try:
            doc = self.get_doc(db, docid, {"rev": rev})
        except DocumentNotFound as exc:
            raise conflict() from exc
        atts = doc.get("_attachments") or {}
        if name not in atts:
            raise NotFound("Document is missing attachment", error="not_found")
        del atts[name]
        if not atts:
            doc.pop("_attachments", None)
        return self.put_doc(db, doc)

    # -- administration ----------------------------------------------------------
    def get_security(self, db: str) -> dict[str, Any]:
        """The security object (``{}`` until one is set)."""
        with self._storage.read() as txn:
            security: dict[str, Any] = json.loads(dumps(open_db(txn, db).security))
            return security

    def put_security(self, db: str, security: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the security object; ``BadRequest`` unless a JSON object."""
        if not isinstance(security, Mapping):
            raise BadRequest("Security object must be a JSON object", error="bad_request")
        text = dumps(dict(security))
        with self._storage.write() as txn:
            meta = open_db(txn, db)
            meta.security = json.loads(text)
            txn.set_db_props(meta)
        return {"ok": True}

    def get_revs_limit(self, db: str) -> int:
        """How many revisions each branch keeps (default 1000)."""
        with self._storage.read() as txn:
            return open_db(txn, db).revs_limit

    def set_revs_limit(self, db: str, limit: int) -> dict[str, Any]:
        """Set ``revs_limit``; ``BadRequest`` unless a positive integer."""
        if not is_int(limit) or limit <= 0:
            raise BadRequest("The revs_limit must be a positive integer", error="bad_request")
        with self._storage.write() as txn:
            meta = open_db(txn, db)
            meta.revs_limit = limit
            txn.set_db_props(meta)
        return {"ok": True}

    def compact(self, db: str) -> dict[str, Any]:
        """Drop the bodies of non-leaf revisions, as CouchDB's compaction does."""
        with self._storage.write() as txn:
            meta = open_db(txn, db)
            txn.prune_bodies(meta)
            # Contents stored a while ago that no revision refers to (an upload whose
            # revision never got written); recent ones may be an upload under way.
            txn.prune_blobs(meta, time.time() - BLOB_GRACE_SECONDS)
        self._storage.reclaim()
        return {"ok": True}

    def view_cleanup(self, db: str) -> dict[str, Any]:
        """Drop the view indexes of design documents that are gone or changed."""
        return python_views.view_cleanup(self._state, db)

    def partition_info(self, db: str, partition: str) -> dict[str, Any]:
        """``GET /db/_partition/{p}``: counts for one partition of a partitioned database."""
        with self._storage.read() as txn:
            meta = open_db(txn, db)
            check_partition(meta, partition)
            plo, phi = partition_bounds(partition)
            live, deleted = txn.count_ids(meta, plo, True, phi, False)
        return {
            "db_name": db,
            "partition": partition,
            "doc_count": live,
            "doc_del_count": deleted,
            "sizes": {"active": 0, "external": 0},
        }
