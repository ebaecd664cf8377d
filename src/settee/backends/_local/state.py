"""The state every part of the local engine shares: the storage and the view cache.

:class:`EngineState` is the base of the engine's mixins (:mod:`.admin`,
:mod:`.local_docs`, :mod:`.reads`, :mod:`.writes`); it also holds the two
lookups they all use.
"""

from __future__ import annotations

from settee.backends._local.storage import DbMeta, Storage, Txn
from settee.backends._local.util import db_missing
from settee.backends._local.views import ViewCache
from settee.errors import BadRequest

__all__ = ["EngineState"]


class EngineState:
    """The storage that keeps the records and the cache of built query indexes."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.view_cache = ViewCache()

    # -- helpers ---------------------------------------------------------------
    @staticmethod
    def _db(txn: Txn, name: str) -> DbMeta:
        meta = txn.get_db(name)
        if meta is None:
            raise db_missing()
        return meta

    def _check_partition(self, meta: DbMeta, partition: str | None) -> None:
        if partition is None:
            return
        if not meta.partitioned:
            raise BadRequest("database is not partitioned", error="bad_request")
        if not isinstance(partition, str) or not partition or partition.startswith("_"):
            raise BadRequest("Invalid partition name", error="bad_request")
