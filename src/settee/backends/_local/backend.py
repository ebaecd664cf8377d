"""The Backend protocol over the local engine; memory and SQLite differ only in storage."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from settee._validate import check_changes_filter, check_int
from settee.backends._local.engine import Engine
from settee.backends._local.storage import Storage
from settee.backends.base import ChangesStream, MapFunction, ReduceSpec
from settee.errors import NotSupported
from settee.http.options import TransportOptions, refuse_unknown

__all__ = ["LocalBackend", "ignore_options", "settee_version"]

def ignore_options(
    kind: str, options: TransportOptions | None, others: Mapping[str, object]
) -> None:
    """Check transport options as the HTTP backend does, then ignore them.

    ``options`` and any :class:`~settee.http.options.TransportOptions` field
    in ``others`` are validated the same way on every backend (a bad value is
    refused the same way); anything else in ``others`` is a ``TypeError``
    naming it (a second spelling names the right one).
    """
    _, unknown = TransportOptions.split(others, options)
    refuse_unknown(f"the {kind} backend", unknown)


def settee_version() -> str:
    """The installed settee version (``"0+unknown"`` when running from an uninstalled tree)."""
    try:
        return metadata.version("settee")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class LocalBackend:
    """Everything but storage: subclasses set ``kind``, ``url`` and ``capabilities``."""

    kind: str = "local"
    url: str = ""
    _capabilities: frozenset[str] = frozenset()

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._engine = Engine(storage)

    @property
    def capabilities(self) -> frozenset[str]:
        """Names from ``CAPABILITIES`` this backend has."""
        return self._capabilities

    @property
    def engine(self) -> Engine:
        """The engine (for tests and tools)."""
        return self._engine

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
        return self._engine.all_dbs()

    def uuids(self, count: int) -> list[str]:
        """``count`` random 32-hex-digit ids."""
        return [uuid.uuid4().hex for _ in range(check_int("count", count))]

    def create_db(
        self, db: str, *, partitioned: bool = False, params: Mapping[str, Any] | None = None
    ) -> None:
        """Create ``db``; ``PreconditionFailed`` if it exists."""
        self._engine.create_db(db, partitioned=partitioned)

    def delete_db(self, db: str) -> None:
        """Delete ``db``; ``NotFound`` if absent."""
        self._engine.delete_db(db)

    def db_info(self, db: str) -> dict[str, Any]:
        """``GET /db``."""
        return self._engine.db_info(db)

    def close(self) -> None:
        """Release the store (idempotent)."""
        self._storage.close()

    # -- documents ---------------------------------------------------------------
    def get_doc(self, db: str, docid: str, params: Mapping[str, Any] | None = None) -> Any:
        """The document, or the ``open_revs`` list."""
        return self._engine.get_doc(db, docid, params)

    def put_doc(
        self, db: str, doc: dict[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Write one document: ``{"ok", "id", "rev"}``; ``Conflict`` on a stale ``_rev``."""
        return self._engine.put_doc(db, doc, params)

    def delete_doc(self, db: str, docid: str, rev: str) -> dict[str, Any]:
        """Write a tombstone; ``Conflict`` on a stale ``rev``."""
        return self._engine.delete_doc(db, docid, rev)

    def bulk_docs(
        self, db: str, docs: Sequence[dict[str, Any]], *, new_edits: bool = True
    ) -> list[dict[str, Any]]:
        """One result per document (none for successful ``new_edits=False`` writes)."""
        return self._engine.bulk_docs(db, docs, new_edits=new_edits)

    def all_docs(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """An ``_all_docs`` page."""
        return self._engine.all_docs(db, params, keys=keys, partition=partition)

    def find(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``_find``."""
        return self._engine.find(db, query, partition=partition)

    def create_index(self, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /db/_index``."""
        return self._engine.create_index(db, index)

    def get_indexes(self, db: str) -> dict[str, Any]:
        """``GET /db/_index``."""
        return self._engine.get_indexes(db)

    def delete_index(
        self, db: str, ddoc: str, name: str, *, index_type: str = "json"
    ) -> dict[str, Any]:
        """``DELETE /db/_index/{ddoc}/{type}/{name}``."""
        return self._engine.delete_index(db, ddoc, name, index_type=index_type)

    def view(
        self,
        db: str,
        ddoc: str,
        view: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """Always ``NotSupported``: local stores run Python views, not JavaScript."""
        raise NotSupported(
            f"The {self.kind} backend cannot run JavaScript design-document views "
            f"(_design/{ddoc}/_view/{view}); query it with python_view and a Python map function."
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
        return self._engine.python_view(
            db, map_fn, params, reduce=reduce, keys=keys, partition=partition
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
        ``NotFound``, as on CouchDB (an existing JavaScript filter is
        ``NotSupported``).
        """
        check_changes_filter(params or {}, lambda docid: self._engine.get_doc(db, docid))
        return self._engine.changes(db, params, body=body, raw=raw)

    def db_updates(
        self, params: Mapping[str, Any] | None = None, *, raw: bool = False, chunk_size: int = 65536
    ) -> ChangesStream:
        """Always ``NotSupported``."""
        raise NotSupported(f"The {self.kind} backend has no server-wide _db_updates feed.")

    def revs_diff(self, db: str, revs: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """``_revs_diff``."""
        return self._engine.revs_diff(db, revs)

    def get_attachment(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> tuple[bytes, str]:
        """``(data, content_type)``; ``NotFound`` if absent."""
        return self._engine.get_attachment(db, docid, name, rev=rev)

    def put_attachment(
        self, db: str, docid: str, name: str, data: bytes, content_type: str, *, rev: str | None
    ) -> dict[str, Any]:
        """Add or replace one attachment (a new revision)."""
        return self._engine.put_attachment(db, docid, name, data, content_type, rev=rev)

    def delete_attachment(self, db: str, docid: str, name: str, *, rev: str) -> dict[str, Any]:
        """Remove one attachment (a new revision)."""
        return self._engine.delete_attachment(db, docid, name, rev=rev)

    # -- administration ----------------------------------------------------------
    def get_security(self, db: str) -> dict[str, Any]:
        """The security object (``{}`` by default)."""
        return self._engine.get_security(db)

    def put_security(self, db: str, security: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the security object."""
        return self._engine.put_security(db, security)

    def get_revs_limit(self, db: str) -> int:
        """``revs_limit`` (default 1000)."""
        return self._engine.get_revs_limit(db)

    def set_revs_limit(self, db: str, limit: int) -> dict[str, Any]:
        """Set ``revs_limit``."""
        return self._engine.set_revs_limit(db, limit)

    def compact(self, db: str) -> dict[str, Any]:
        """Drop non-leaf revision bodies."""
        return self._engine.compact(db)

    def view_cleanup(self, db: str) -> dict[str, Any]:
        """A no-op: Python views keep no index files."""
        return self._engine.view_cleanup(db)

    def partition_info(self, db: str, partition: str) -> dict[str, Any]:
        """Counts for one partition of a partitioned database."""
        return self._engine.partition_info(db, partition)
