"""The conformance suite: every test here runs on every backend.

``backend_kind`` is parametrised over ``memory``, ``sqlite``, ``pouchdb``
(PouchDB Server, always) and ``couchdb`` (when ``COUCHDB_URL`` is set). The
same assertions must pass on each; a backend without a feature is skipped by
``require(client, capability)`` with the reason, never silently.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import settee
from settee.backends import CAPABILITIES
from tests.conftest import unique_name

BACKENDS = ["memory", "sqlite", "pouchdb", "couchdb"]


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
    try:
        yield c
    finally:
        c.disconnect()


@pytest.fixture
def db(client: settee.Client) -> Iterator[settee.Database]:
    """A fresh, empty database, deleted afterwards."""
    database = client.create_database(unique_name("conf"))
    try:
        yield database
    finally:
        with contextlib.suppress(settee.NotFound):
            client.delete_database(database.database_name)


def require(client: settee.Client, capability: str) -> None:
    """Skip the calling test, with the reason, if the backend lacks ``capability``."""
    caps = client.backend.capabilities
    if capability not in caps:
        pytest.skip(
            f"{client.backend.kind} backend lacks {capability} "
            f"({CAPABILITIES.get(capability, capability)})"
        )
