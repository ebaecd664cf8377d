"""What every part of the local engine shares: the storage, the view cache, two lookups.

The concept modules (:mod:`.reads`, :mod:`.writes`, :mod:`.all_docs`,
:mod:`.find`, :mod:`.indexes`, :mod:`.python_views`, :mod:`.changes`) are
functions taking an :class:`EngineState` first; the backend holds one.
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import LRUCache

from settee.backends._local.storage import DbMeta, DocInfo, Storage, Txn
from settee.backends._local.util import db_missing
from settee.backends._local.views import ViewCache, ViewGroups
from settee.errors import BadRequest

__all__ = ["EngineState", "Positions", "check_partition", "design_infos", "open_db"]


class EngineState:
    """The storage that keeps the records, the cache of built query indexes, the view
    groups, and ``positions``: counts worked out for one snapshot (keyed by database
    handle and update_seq), so the next page of a listing need not count again."""

    __slots__ = ("positions", "storage", "view_cache", "views")

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.view_cache = ViewCache()
        #: The in-process view groups (:mod:`.python_views`).
        self.views = ViewGroups()
        self.positions = Positions()


class Positions:
    """A bounded, thread-safe ``{key: count}`` (keys start with a database uid and seq)."""

    __slots__ = ("_cache", "_lock")

    def __init__(self, size: int = 1024) -> None:
        self._cache: LRUCache[tuple[Any, ...], int] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> int | None:
        """The count stored under ``key``, or None."""
        with self._lock:
            return self._cache.get(key)

    def put(self, key: tuple[Any, ...], value: int) -> None:
        """Remember ``value`` under ``key`` (the least recently used key goes when full)."""
        with self._lock:
            self._cache[key] = value


def design_infos(txn: Txn, meta: DbMeta) -> list[DocInfo]:
    """Every live ``_design/`` document of ``meta`` in this snapshot, in id order."""
    return txn.scan_ids(
        meta, "_design/", True, "_design0", False, descending=False, limit=10**9,
        include_deleted=False,
    )  # fmt: skip


def open_db(txn: Txn, name: str) -> DbMeta:
    """The database ``name``; ``NotFound`` if it does not exist."""
    meta = txn.get_db(name)
    if meta is None:
        raise db_missing()
    return meta


def check_partition(meta: DbMeta, partition: str | None) -> None:
    """``BadRequest`` unless ``partition`` is None or a partition of a partitioned ``meta``."""
    if partition is None:
        return
    if not meta.partitioned:
        raise BadRequest("database is not partitioned", error="bad_request")
    if not isinstance(partition, str) or not partition or partition.startswith("_"):
        raise BadRequest("Invalid partition name", error="bad_request")
