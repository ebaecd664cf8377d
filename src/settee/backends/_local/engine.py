"""CouchDB's database semantics over a :class:`~.storage.Storage`.

One :class:`Engine` serves the memory and the SQLite backend alike: document
writes with revision trees and conflicts, reads with every option the backend
protocol names, ``_all_docs``, Mango, Python views, the changes feed, local
documents, attachments and the database administration calls. Writes of one
``bulk_docs`` call happen in one storage transaction.

The engine is assembled from one mixin per concept: :class:`~.admin.DbAdmin`
(databases), :class:`~.reads.Reads` (documents read), :class:`~.writes.Writes`
(documents written, replication included), :class:`~.local_docs.LocalDocs`; queries,
feeds and attachments are functions in :mod:`.all_docs`, :mod:`.find`,
:mod:`.indexes`, :mod:`.python_views`, :mod:`.changes` and :mod:`.attachments`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from settee.backends._local import all_docs, attachments, find, indexes, python_views
from settee.backends._local.admin import DbAdmin
from settee.backends._local.changes import LocalChangesStream, open_changes
from settee.backends._local.reads import Reads
from settee.backends._local.writes import Writes

__all__ = ["Engine"]


class Engine(Reads, Writes, DbAdmin):
    """The database logic; ``storage`` keeps the records."""

    # -- queries and feeds (all_docs.py, find.py, indexes.py, python_views.py, changes.py)
    def all_docs(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """An ``_all_docs`` page (see :func:`.all_docs.all_docs`)."""
        return all_docs.all_docs(self, db, params, keys=keys, partition=partition)

    def find(
        self, db: str, query_body: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``_find`` (see :func:`.find.find`)."""
        return find.find(self, db, query_body, partition=partition)

    def create_index(self, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /db/_index`` (see :func:`.indexes.create_index`)."""
        return indexes.create_index(self, db, index)

    def get_indexes(self, db: str) -> dict[str, Any]:
        """``GET /db/_index``."""
        return indexes.get_indexes(self, db)

    def delete_index(
        self, db: str, ddoc: str, name: str, *, index_type: str = "json"
    ) -> dict[str, Any]:
        """``DELETE /db/_index/{ddoc}/{type}/{name}``."""
        return indexes.delete_index(self, db, ddoc, name, index_type=index_type)

    def python_view(
        self,
        db: str,
        map_fn: Any,
        params: Mapping[str, Any] | None = None,
        *,
        reduce: Any = None,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """A Python map/reduce view (see :func:`.python_views.python_view`)."""
        return python_views.python_view(
            self, db, map_fn, params, reduce=reduce, keys=keys, partition=partition
        )

    def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> LocalChangesStream:
        """Open a changes feed (see :func:`.changes.open_changes`)."""
        return open_changes(self, db, params, body=body, raw=raw)

    # -- attachments (attachments.py) -----------------------------------------
    def get_attachment(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> tuple[bytes, str]:
        """``(data, content_type)``; ``NotFound`` if absent."""
        return attachments.get_attachment(self, db, docid, name, rev=rev)

    def put_attachment(
        self, db: str, docid: str, name: str, data: bytes, content_type: str, *, rev: str | None
    ) -> dict[str, Any]:
        """Add or replace one attachment (a new revision; a new document when ``rev`` is None)."""
        return attachments.put_attachment(self, db, docid, name, data, content_type, rev=rev)

    def delete_attachment(self, db: str, docid: str, name: str, *, rev: str) -> dict[str, Any]:
        """Remove one attachment (a new revision)."""
        return attachments.delete_attachment(self, db, docid, name, rev=rev)
