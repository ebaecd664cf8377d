"""Where a test's settee backend comes from: ``memory``, ``sqlite`` or ``server``.

Pure helpers shared by the pytest plugin (:mod:`settee.testing.plugin`) and
usable without pytest: :func:`backend_url` picks a URL for a kind,
:func:`unique_name` a database name no other test uses.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from settee.backends.memory import forget_store

__all__ = ["KINDS", "SERVER_URL_ENV", "NoServer", "backend_url", "release", "unique_name"]

#: The backend kinds a test may run on.
KINDS = ("memory", "sqlite", "server")

#: The environment variable naming the real server (``http://user:pw@host:5984``).
SERVER_URL_ENV = "SETTEE_TEST_URL"


class NoServer(LookupError):
    """No real server is configured (the test is skipped with this message)."""


def unique_name(prefix: str = "test") -> str:
    """A database name valid on CouchDB and unique to this call (``test-3f2a...``)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def backend_url(kind: str, directory: Path, *, server_url: str | None = None) -> str:
    """The URL a test on ``kind`` connects to.

    ``memory``: a named store of its own (``memory:settee-test-...``: code under
    test that connects to the same URL shares it); ``sqlite``: a file in
    ``directory``; ``server``: ``server_url``, else ``$SETTEE_TEST_URL``.
    ``ValueError`` for another kind, :class:`NoServer` when no server is set.
    """
    if kind == "memory":
        return "memory:" + unique_name("settee-test")
    if kind == "sqlite":
        return f"sqlite:///{directory / 'settee-test.db'}"
    if kind == "server":
        url = server_url or os.environ.get(SERVER_URL_ENV)
        if not url:
            raise NoServer(
                f"no server for settee's `server` backend: set {SERVER_URL_ENV} "
                "(http://user:password@host:5984) or pass --settee-server-url"
            )
        return url
    raise ValueError(f"unknown settee backend {kind!r}: use one of {', '.join(KINDS)}")


def release(url: str) -> None:
    """After a test: forget its ``memory:NAME`` store (other URLs keep their data)."""
    if url.startswith("memory:") and url != "memory:":
        forget_store(url[len("memory:") :])
