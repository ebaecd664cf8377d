"""Threads sharing one HTTP client on a real server (issue 8, item 9).

PouchDB Server always; CouchDB when COUCHDB_URL is set. Eight threads share
one client, so they share its connection pool, its database handle cache and
each database's document cache; each still gets its own ``Document``, so the
documented update patterns count exactly. The conformance suite
(tests/conformance/test_threads.py) pins the thread model on every backend.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import settee
from settee.document import Document
from tests.conformance.conftest import remember_kind
from tests.conformance.test_threads import (
    INCREMENTS,
    THREADS,
    assert_every_save_counted,
    increment,
    run_threads,
)
from tests.conftest import Server, unique_name

#: update_field calls per thread (each call re-fetches on every conflict).
UPDATES = 20


@pytest.fixture
def client(http_server: Server) -> Iterator[settee.Client]:
    c = settee.connect(http_server.url, auth=http_server.auth)
    remember_kind(c, http_server.kind)
    try:
        yield c
    finally:
        c.disconnect()


@pytest.fixture
def name(client: settee.Client) -> Iterator[str]:
    db = client.create_database(unique_name("threads"))
    try:
        yield db.database_name
    finally:
        client.delete_database(db.database_name)


def test_shared_client_fetch_modify_save_counts_exactly(client: settee.Client, name: str) -> None:
    """``client[name][id]`` in every thread: the handle cache is shared, the documents are not."""
    client[name].create_document({"_id": "counter", "n": 0})
    run_threads(THREADS, lambda _: increment(client[name], "counter"))
    assert_every_save_counted(client[name], "counter", THREADS * INCREMENTS)


def add(doc: Document, field: str, value: Any) -> None:
    doc[field] = doc.get(field, 0) + value
    time.sleep(0)  # let the other threads run before the save, as real work would


def test_update_field_on_cached_documents_counts_exactly(client: settee.Client, name: str) -> None:
    """``db[id].update_field(...)`` re-fetches on each Conflict: exact when the copies are
    per thread (a shared copy is re-fetched under another thread's unsaved change)."""
    db = client[name]
    db.create_document({"_id": "counter", "n": 0})

    def work(_: int) -> None:
        for _ in range(UPDATES):
            db["counter"].update_field(add, "n", 1, max_tries=THREADS * UPDATES)

    run_threads(THREADS, work)
    assert_every_save_counted(db, "counter", THREADS * UPDATES)
