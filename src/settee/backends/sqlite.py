"""The embedded file backend: ``sqlite:///relative.db`` or ``sqlite:////absolute.db``.

One SQLite file holds many databases, with the same CouchDB semantics as every
other backend (see :mod:`settee.backends._local`). Several threads and
processes may open the same file; writes are one ``BEGIN IMMEDIATE``
transaction per ``bulk_docs`` call, so a stale ``_rev`` is always a
``Conflict``, never a lost update. See :mod:`settee.backends._local.sqlstore`
for the durability settings.
"""

from __future__ import annotations

from settee.backends._local.backend import LocalBackend, ignore_options
from settee.backends._local.sqlstore import SQLiteStorage
from settee.backends.memory import MemoryBackend
from settee.http.options import TransportOptions

__all__ = ["SQLiteBackend"]

_PREFIX = "sqlite:///"
_READ_ONLY = "?mode=ro"


def path_from_url(url: str) -> str:
    """The file path in a ``sqlite:///`` URL (SQLAlchemy's convention); ``ValueError``."""
    return parse_url(url)[0]


def parse_url(url: str) -> tuple[str, bool]:
    """``(path, read_only)`` of ``sqlite:///path`` or ``sqlite:///path?mode=ro``; ``ValueError``."""
    if not isinstance(url, str) or not url.lower().startswith(_PREFIX):
        raise ValueError(
            f"not a sqlite URL: {url!r} (use sqlite:///relative.db or sqlite:////absolute.db)"
        )
    path = url[len(_PREFIX) :]
    read_only = path.endswith(_READ_ONLY)
    if read_only:
        path = path[: -len(_READ_ONLY)]
    if not path or "?" in path or "#" in path:
        raise ValueError(
            f"a sqlite URL needs a file path and nothing else but an optional ?mode=ro: {url!r}"
        )
    if path == ":memory:":
        raise ValueError("sqlite:///:memory: cannot be shared between threads; use memory:")
    return path, read_only


class SQLiteBackend(LocalBackend):
    """``SQLiteBackend("sqlite:///data/app.db", synchronous="NORMAL")``.

    Options: ``synchronous`` (``"NORMAL"``, the default: an acknowledged write
    survives the process being killed; ``"FULL"``: it survives a power cut
    too, at an fsync per write), ``busy_timeout`` (seconds to wait for another
    writer's lock, default 30, >= 0), ``poll_interval`` (seconds between checks
    for other processes' writes while a feed waits, default 0.05, > 0) and
    ``read_only`` (open with SQLite's ``mode=ro``: reads only, every write is
    ``Forbidden``; also chosen by a ``?mode=ro`` URL and for a file this
    process may not write, which would otherwise not open at all). ``auth``
    and the transport options every backend accepts (``options=`` a
    :class:`~settee.http.options.TransportOptions`, or its fields as
    keywords) are checked as on HTTP, then ignored; anything else is a
    ``TypeError`` naming it.
    """

    kind = "sqlite"
    # The embedded engine's, as in memory, and other processes' writes seen.
    _capabilities = MemoryBackend._capabilities | {"multiprocess"}

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "NORMAL",
        busy_timeout: float = 30.0,
        poll_interval: float = 0.05,
        read_only: bool = False,
        auth: object = None,
        options: TransportOptions | None = None,
        **others: object,
    ) -> None:
        ignore_options(self.kind, options, others)
        path, ro_url = parse_url(url)
        storage = SQLiteStorage(
            path,
            synchronous=synchronous,
            busy_timeout=busy_timeout,
            poll_interval=poll_interval,
            read_only=ro_url or read_only,
        )
        super().__init__(storage)
        self.url = _PREFIX + path + (_READ_ONLY if storage.read_only else "")
        #: True when the store was opened read-only (see the class docstring).
        self.read_only = storage.read_only
        self.path = storage.path
