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
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from settee.document import Document

__all__ = ["DocumentCache"]


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

    ``store`` is a bounded cache from :meth:`settee.client.Client._new_cache`.
    """

    def __init__(self, store: MutableMapping[str, Any]) -> None:
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
