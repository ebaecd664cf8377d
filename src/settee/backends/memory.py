"""The in-process backend: ``memory:`` (private) and ``memory:NAME`` (shared by name).

Everything lives in Python dicts guarded by one lock, with the same CouchDB
semantics as every other backend (see :mod:`settee.backends._local`). A named
store lives as long as the process (or until :func:`forget_store`) and is
shared by every backend opened with that name; ``memory:`` alone is a fresh
store for this backend only.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from settee.backends._local.backend import LocalBackend, ignore_options
from settee.backends._local.storage import MemoryStorage
from settee.http.options import TransportOptions

__all__ = ["MemoryBackend", "forget_store", "store_names"]

_NAMED: dict[str, MemoryStorage] = {}
_NAMED_LOCK = threading.Lock()


class MemoryBackend(LocalBackend):
    """``MemoryBackend("memory:")`` or ``MemoryBackend("memory:shared-name")``.

    It accepts ``auth`` and the transport options every backend accepts
    (``options=`` a :class:`~settee.http.options.TransportOptions`, or its
    fields as keywords); they mean nothing here: checked as on HTTP (the same
    bad value is refused the same way), then ignored. Anything else is a
    ``TypeError`` naming it.
    """

    kind = "memory"
    _capabilities = frozenset(
        {
            "python_views",
            "feed_timeout",
            "partitions",
            "mango_partial_indexes",
            "mango_bookmarks",
            "changes_selector",
            "changes_filter_404",
        }
    )

    def __init__(
        self,
        url: str = "memory:",
        *,
        auth: object = None,
        options: TransportOptions | None = None,
        **others: object,
    ) -> None:
        ignore_options(self.kind, options, others)
        parts = urlsplit(url)
        if parts.scheme.lower() != "memory":
            raise ValueError(f"not a memory: URL: {url!r}")
        name = parts.netloc or parts.path
        if parts.query or parts.fragment:
            raise ValueError(f"a memory: URL takes only a store name, not {url!r}")
        if name:
            with _NAMED_LOCK:
                storage = _NAMED.setdefault(name, MemoryStorage())
        else:
            storage = MemoryStorage()
        super().__init__(storage)
        self.url = f"memory:{name}"
        self.name = name


def forget_store(name: str) -> bool:
    """Drop the named store ``memory:NAME``: the next connect to it starts empty.

    Backends already open on it keep their data until they are closed. Returns
    whether a store of that name existed. (The pytest plugin,
    :mod:`settee.testing`, calls this between tests.)
    """
    with _NAMED_LOCK:
        return _NAMED.pop(name, None) is not None


def store_names() -> list[str]:
    """The names of the ``memory:NAME`` stores this process holds, sorted."""
    with _NAMED_LOCK:
        return sorted(_NAMED)
