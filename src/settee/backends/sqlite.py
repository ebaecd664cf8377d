"""The embedded file backend: ``sqlite:///relative.db`` or ``sqlite:////absolute.db``.

One SQLite file holds many databases, with the same CouchDB semantics as every
other backend (see :mod:`settee.backends._local`). Several threads and
processes may open the same file; writes are one ``BEGIN IMMEDIATE``
transaction per ``bulk_docs`` call, so a stale ``_rev`` is always a
``Conflict``, never a lost update. See :mod:`settee.backends._local.sqlstore`
for the durability settings.
"""

from __future__ import annotations

from typing import Any

from ._local.backend import LocalBackend, check_options
from ._local.sqlstore import SQLiteStorage

__all__ = ["SQLiteBackend"]

_PREFIX = "sqlite:///"


def path_from_url(url: str) -> str:
    """The file path in a ``sqlite:///`` URL (SQLAlchemy's convention); ``ValueError``."""
    if not isinstance(url, str) or not url.lower().startswith(_PREFIX):
        raise ValueError(
            f"not a sqlite URL: {url!r} (use sqlite:///relative.db or sqlite:////absolute.db)"
        )
    path = url[len(_PREFIX) :]
    if not path or "?" in path or "#" in path:
        raise ValueError(f"a sqlite URL needs a file path and nothing else: {url!r}")
    if path == ":memory:":
        raise ValueError("sqlite:///:memory: cannot be shared between threads; use memory:")
    return path


class SQLiteBackend(LocalBackend):
    """``SQLiteBackend("sqlite:///data/app.db", synchronous="NORMAL")``.

    Options: ``synchronous`` (``"NORMAL"``, the default: an acknowledged write
    survives the process being killed; ``"FULL"``: it survives a power cut
    too, at an fsync per write), ``busy_timeout`` (seconds to wait for another
    writer's lock, default 30) and ``poll_interval`` (seconds between checks
    for other processes' writes while a feed waits, default 0.05). The
    transport options every backend accepts (``auth``, ``timeout``,
    ``max_retries``, ``backoff_factor``, ``retry_status_codes``) are ignored;
    anything else is a ``TypeError``.
    """

    kind = "sqlite"
    _capabilities = frozenset(
        {
            "python_views",
            "feed_timeout",
            "partitions",
            "multiprocess",
            "mango_partial_indexes",
            "changes_selector",
        }
    )

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "NORMAL",
        busy_timeout: float = 30.0,
        poll_interval: float = 0.05,
        **options: Any,
    ) -> None:
        check_options(self.kind, options)
        path = path_from_url(url)
        storage = SQLiteStorage(
            path, synchronous=synchronous, busy_timeout=busy_timeout, poll_interval=poll_interval
        )
        super().__init__(storage)
        self.url = _PREFIX + path
        self.path = storage.path
