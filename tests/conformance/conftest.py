"""The conformance suite: every test here runs on every backend.

``backend_kind`` is parametrised over ``memory``, ``sqlite``, ``pouchdb``
(PouchDB Server, always), ``couchdb`` and ``couchdb-cluster`` (Apache CouchDB,
a single node and 3 nodes, when configured: see tests/conftest.py). The same
assertions must pass on each; a backend without a feature is skipped by
``require(client, capability)`` with the reason, never silently.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

import settee
from settee.backends.base import CAPABILITIES
from tests.conftest import settled as settled_read
from tests.conftest import unique_name

BACKENDS = ["memory", "sqlite", "pouchdb", "couchdb", "couchdb-cluster"]
#: The kind each fixture client was made for, named in skip reasons.
_KIND_OF: weakref.WeakKeyDictionary[settee.Client, str] = weakref.WeakKeyDictionary()
T = TypeVar("T")


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def client(
    backend_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[settee.Client]:
    """A connected :class:`settee.Client` on the backend under test."""
    if backend_kind == "memory":
        c = settee.connect("memory:")
    elif backend_kind == "sqlite":
        c = settee.connect(f"sqlite:///{tmp_path / 'conformance.db'}")
    else:
        server = request.getfixturevalue(f"{backend_kind}_server")
        c = settee.connect(server.url, auth=server.auth)
    remember_kind(c, backend_kind)
    try:
        yield c
    finally:
        c.disconnect()


@pytest.fixture
def db(client: settee.Client) -> Iterator[settee.Database]:
    """A fresh, empty database, deleted afterwards; on a backend without
    read_your_writes (a cluster) it writes to every copy (:func:`full_quorum`), so a
    test's reads see its writes. The tests of a cluster's lag set their own quorum
    (``test_database.py``'s quorum-1 test) or use databases of their own (the soak)."""
    database = full_quorum(client.create_database(unique_name("conf")))
    try:
        yield database
    finally:
        with contextlib.suppress(settee.NotFound):
            client.delete_database(database.database_name)


def remember_kind(client: settee.Client, kind: str) -> None:
    """Tie ``client`` to its kind (``"couchdb-cluster"``...) for :func:`has`."""
    _KIND_OF[client] = kind


def has(client: settee.Client, capability: str) -> bool:
    """Whether the backend under test has ``capability`` (a CAPABILITIES name)."""
    return capability in client.backend.capabilities


def require(client: settee.Client, capability: str) -> None:
    """Skip the calling test, with the reason, if the backend lacks ``capability``."""
    if not has(client, capability):
        kind = _KIND_OF.get(client, client.backend.kind)
        what = CAPABILITIES.get(capability, capability)
        pytest.skip(f"{kind} backend lacks {capability} ({what})")


def full_quorum(db: settee.Database) -> settee.Database:
    """``db`` writing to every copy before a write returns where a read may miss a write
    (the suite's cluster keeps n=3 copies): then its reads see its writes."""
    if not has(db.client, "read_your_writes"):
        db.write_quorum = 3
    return db


def settled(client: settee.Client, read: Callable[[], T], done: Callable[[T], bool]) -> T:
    """``read()``, again until ``done`` where the backend lacks read_your_writes (a cluster)."""
    return settled_read(read, done, read_your_writes=has(client, "read_your_writes"))
