"""Backends register by URL scheme; ``open_backend(url)`` picks one.

Built in: ``http``/``https`` (CouchDB, Cloudant, PouchDB Server), ``memory``
(in-process) and ``sqlite`` (``sqlite:///relative.db``, ``sqlite:////abs.db``).
A third-party backend registers a factory
``(url, *, options: TransportOptions, **backend_options) -> Backend``::

    settee.backends.register_backend("mystore", MyStoreBackend)

``open_backend`` builds the :class:`~settee.http.options.TransportOptions`
once from the keyword options (so every backend accepts and checks the same
ones) and hands the factory the rest (``auth``, backend-specific options),
which the backend refuses with :func:`~settee.http.options.refuse_unknown`
when it does not know them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from settee.backends.base import CAPABILITIES, Backend, ChangesStream
from settee.http.options import TransportOptions, TransportOptionsDict

__all__ = [
    "CAPABILITIES",
    "Backend",
    "ChangesStream",
    "ConnectOptions",
    "open_backend",
    "register_backend",
]


class ConnectOptions(TransportOptionsDict, total=False):
    """The keyword options :func:`settee.connect` and :class:`~settee.client.Client`
    take: the transport's (every backend checks them; the HTTP backend uses them) and
    the ``sqlite:`` backend's (``synchronous``, ``busy_timeout``, ``poll_interval``,
    ``read_only``). A registered backend's own options go to
    :func:`open_backend`, untyped: ``Client(backend=open_backend(url, mine=1))``."""

    synchronous: str
    busy_timeout: float
    poll_interval: float
    read_only: bool


BackendFactory = Callable[..., Backend]

# Built-ins are imported on first use so `import settee` stays cheap.
_BUILTIN: dict[str, str] = {
    "http": "settee.backends.http:HTTPBackend",
    "https": "settee.backends.http:HTTPBackend",
    "memory": "settee.backends.memory:MemoryBackend",
    "sqlite": "settee.backends.sqlite:SQLiteBackend",
}
_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Make ``settee.connect("<scheme>:...")`` call ``factory(url, **options)``."""
    if not scheme or not scheme.isascii() or not scheme.replace("+", "").replace("-", "").isalnum():
        raise ValueError(f"invalid URL scheme {scheme!r}")
    _REGISTRY[scheme.lower()] = factory


def _factory(scheme: str) -> BackendFactory:
    if scheme in _REGISTRY:
        return _REGISTRY[scheme]
    target = _BUILTIN.get(scheme)
    if target is None:
        known = ", ".join(sorted({*_BUILTIN, *_REGISTRY}))
        raise ValueError(f"no settee backend for URL scheme {scheme!r} (known: {known})")
    module_name, _, attr = target.partition(":")
    factory: BackendFactory = getattr(importlib.import_module(module_name), attr)
    return factory


def open_backend(url: str, **options: Any) -> Backend:
    """Build the backend for ``url``: transport options checked once, the rest to its factory."""
    if not isinstance(url, str) or not url:
        raise TypeError(f"url must be a non-empty str, not {url!r}")
    scheme = urlsplit(url).scheme.lower()
    if not scheme:
        raise ValueError(
            f"URL {url!r} has no scheme: use http(s)://host:port, memory: or sqlite:///file.db"
        )
    factory = _factory(scheme)
    transport_options, rest = TransportOptions.split(options)
    return factory(url, options=transport_options, **rest)
