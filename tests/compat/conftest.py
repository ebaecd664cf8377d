"""Fixtures for the python-cloudant compat tests: a connected compat client and a fresh
database on every real HTTP server (PouchDB Server always, CouchDB when configured)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from settee.compat.cloudant.client import CouchDB
from settee.compat.cloudant.database import CouchDatabase
from tests.conformance.conftest import full_quorum
from tests.conftest import Server, unique_name


@pytest.fixture
def client(http_server: Server) -> Iterator[CouchDB]:
    c = CouchDB(http_server.user, http_server.password, url=http_server.url, connect=True)
    yield c
    c.disconnect()


@pytest.fixture
def db(client: CouchDB) -> Iterator[CouchDatabase]:
    """A fresh database whose writes reach every copy before they return (on the
    cluster: these tests are about python-cloudant's API, not a cluster's lag)."""
    database = client.create_database(unique_name("compat"))
    full_quorum(database)
    yield database
    database.delete()
