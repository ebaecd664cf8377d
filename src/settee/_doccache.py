"""A database's document cache, safe to share between threads.

The thread model: a cached :class:`~settee.document.Document` belongs to one
thread. ``db[id]`` returns the calling thread's cached copy (the same object
each time, as python-cloudant does), or fetches one for that thread; no two
threads are ever handed the same mutable ``Document``. A write (``save()``,
``create()``, attachments) keeps only the writer's copy in the cache: the other
threads' copies are stale now, so their next ``db[id]`` fetches again. A
delete, ``clear_cache()`` and ``bulk_docs`` forget the id for every thread.

Under the bounded cachetools cache (keyed by document id, LRU with optional
TTL) each entry maps a thread to its ``Document`` weakly: the thread's key
lives in a thread-local, so a finished thread's copies go with it. The bound
is ``cache_size`` ids, each with at most one copy per live thread. Compound
steps (read the entry, change it) run under one lock, because the cachetools
caches are not thread-safe by themselves.

:class:`BoundedCache` is that bounded store (also the client's cache of
``Database`` handles): a cachetools LRU or TTL cache behind a lock.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

import cachetools

from settee._validate import check_int, check_number

if TYPE_CHECKING:
    from settee.document import Document

__all__ = ["BoundedCache", "DocumentCache", "check_cache_options"]

_V = TypeVar("_V")
_T = TypeVar("_T")


def check_cache_options(cache_size: object, cache_ttl: object) -> None:
    """``TypeError``/``ValueError`` unless ``cache_size`` is an int >= 1 and ``cache_ttl``
    a positive number of seconds or None (what a :class:`BoundedCache` is built from)."""
    check_int("cache_size", cache_size, 1)
    if cache_ttl is not None:
        check_number("cache_ttl", cache_ttl, strict=True)


class BoundedCache(MutableMapping[str, _V]):
    """At most ``size`` entries (least recently used go first), each expiring after
    ``ttl`` seconds of ``timer`` when given; safe to share between threads."""

    def __init__(
        self, size: int, ttl: float | None = None, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._cache: cachetools.Cache[str, _V]
        if ttl is not None:
            self._cache = cachetools.TTLCache(maxsize=size, ttl=ttl, timer=timer)
        else:
            self._cache = cachetools.LRUCache(maxsize=size)
        # The cachetools caches' LRU/TTL bookkeeping is not thread-safe.
        self._lock = threading.RLock()

    def __getitem__(self, key: str) -> _V:
        with self._lock:
            return self._cache[key]

    def __setitem__(self, key: str, value: _V) -> None:
        with self._lock:
            self._cache[key] = value

    def __delitem__(self, key: str) -> None:
        with self._lock:
            del self._cache[key]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._cache

    @overload
    def get(self, key: str, default: None = None) -> _V | None: ...
    @overload
    def get(self, key: str, default: _V | _T) -> _V | _T: ...
    def get(self, key: str, default: object = None) -> object:
        # A miss without raising (Mapping.get would raise KeyError twice inside):
        # every first read of a document misses. The item is still read (not peeked),
        # so a hit counts as a use for the LRU order, as Mapping.get's self[key] did.
        with self._lock:
            if key not in self._cache:
                return default
            try:
                return self._cache[key]
            except KeyError:  # a TTL entry that expired between the two lookups
                return default

    def pop(self, key: str, *default: Any) -> Any:
        with self._lock:
            return self._cache.pop(key, *default)

    def _expire(self) -> None:
        if isinstance(self._cache, cachetools.TTLCache):
            self._cache.expire()

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            self._expire()
            return iter(list(self._cache))

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._cache)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


class _ThreadKey:
    """Stands for one thread; only that thread's thread-local holds it, so it dies with it."""

    __slots__ = ("__weakref__",)


_thread_state = threading.local()


def _thread_key() -> _ThreadKey:
    key: _ThreadKey | None = getattr(_thread_state, "key", None)
    if key is None:
        key = _ThreadKey()
        _thread_state.key = key
    return key


_Slots = weakref.WeakKeyDictionary[_ThreadKey, "Document"]


class DocumentCache:
    """Document id -> the calling thread's cached :class:`Document`, over ``store``.

    ``store`` is a :class:`BoundedCache` (the client's ``cache_size``/``cache_ttl``).
    """

    def __init__(self, store: MutableMapping[str, _Slots]) -> None:
        self._store = store
        self._lock = threading.Lock()

    def get(self, docid: str) -> Document | None:
        """The calling thread's cached document, or None."""
        key = _thread_key()
        with self._lock:
            slots: _Slots | None = self._store.get(docid)
            return None if slots is None else slots.get(key)

    def put(self, docid: str, doc: Document) -> None:
        """Cache what the calling thread just read; other threads keep their copies."""
        key = _thread_key()
        with self._lock:
            slots: _Slots | None = self._store.get(docid)
            if slots is None:
                slots = weakref.WeakKeyDictionary()
                self._store[docid] = slots
            slots[key] = doc

    def own(self, docid: str, doc: Document) -> None:
        """Cache what the calling thread just wrote; the other threads' copies are dropped."""
        slots: _Slots = weakref.WeakKeyDictionary({_thread_key(): doc})
        with self._lock:
            self._store[docid] = slots

    def discard(self, docid: str) -> bool:
        """Drop the calling thread's copy; whether there was one."""
        key = _thread_key()
        with self._lock:
            slots: _Slots | None = self._store.get(docid)
            if slots is None or slots.pop(key, None) is None:
                return False
            if not slots:
                self._store.pop(docid, None)
            return True

    def pop(self, docid: str, default: Any = None) -> Any:
        """Forget ``docid`` for every thread; the calling thread's copy, else ``default``."""
        key = _thread_key()
        with self._lock:
            slots: _Slots | None = self._store.pop(docid, None)
        found = None if slots is None else slots.get(key)
        return default if found is None else found

    def forget(self, docids: Iterable[str]) -> None:
        """Forget each of ``docids`` for every thread (a bulk write's ids)."""
        with self._lock:
            if not len(self._store):
                return
            for docid in docids:
                self._store.pop(docid, None)

    def known(self, docid: str) -> bool:
        """Whether some thread holds a cached copy of ``docid``."""
        with self._lock:
            slots: _Slots | None = self._store.get(docid)
            return bool(slots)

    def ids(self) -> list[str]:
        """The ids the calling thread has cached, least recently used first."""
        key = _thread_key()
        with self._lock:
            found = []
            for docid in list(self._store):
                slots: _Slots | None = self._store.get(docid)
                if slots is not None and key in slots:
                    found.append(docid)
            return found

    def clear(self) -> None:
        """Forget every cached document, for every thread."""
        with self._lock:
            self._store.clear()
