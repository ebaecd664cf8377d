"""Write and read quorums (issue 10, item 2): ``Database.write_quorum`` / ``read_quorum``.

On a 3-node CouchDB cluster a write returns once a majority of its n=3 copies
hold it, so a read served by the third copy may miss it (the cluster lacks the
``read_your_writes`` capability). With ``write_quorum = 3`` every copy holds
the write before it returns: ``_all_docs``, ``_find`` and views then see it at
once, on every node. Real servers only: a CouchDB cluster and single node
started by the suite (``SETTEE_COUCHDB_HOME``) or given (``COUCHDB_*URL``),
and PouchDB Server, which keeps one copy and ignores the quorum.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pytest

import settee
import settee.aio
from settee.client import Client
from settee.compat.cloudant.client import CouchDB
from settee.database import Database
from tests.conftest import Server, unique_name

ROUNDS = 30  # bounded: each round is one write and three reads


@pytest.fixture
def cluster_db(couchdb_cluster_server: Server) -> Iterator[tuple[Database, list[Client]]]:
    """A database written through node 1, with a client on every node."""
    urls = couchdb_cluster_server.node_urls or (couchdb_cluster_server.url,)
    clients = [settee.connect(url, auth=couchdb_cluster_server.auth) for url in urls]
    db = clients[0].create_database(unique_name("quorum"))
    try:
        yield db, clients
    finally:
        with contextlib.suppress(settee.NotFound):
            clients[0].delete_database(db.database_name)
        for c in clients:
            c.disconnect()


def test_the_cluster_says_it_lacks_read_your_writes(couchdb_cluster_server: Server) -> None:
    with settee.connect(couchdb_cluster_server.url, auth=couchdb_cluster_server.auth) as c:
        assert "read_your_writes" not in c.backend.capabilities
        assert "strict_conflicts" not in c.backend.capabilities


def test_full_write_quorum_reads_its_writes_on_every_node(
    cluster_db: tuple[Database, list[Client]],
) -> None:
    db, clients = cluster_db
    db.write_quorum = 3
    db.create_query_index(fields=["n"], index_name="by-n")
    readers = [c[db.database_name] for c in clients]
    for n in range(ROUNDS):
        doc = db.create_document({"_id": f"d{n:03d}", "n": n})
        reader = readers[n % len(readers)]  # each node in turn, right after the write
        ids = [row["id"] for row in reader.all_docs(key=doc["_id"])]
        assert ids == [doc["_id"]], f"node {n % len(readers)} missed {doc['_id']}"
        found = list(reader.get_query_result({"n": n}, fields=["_id"]))
        assert [d["_id"] for d in found] == [doc["_id"]]
    doc["n"] = -1
    doc.save()
    assert readers[1].read_doc(doc["_id"])["_rev"] == doc["_rev"]
    doc.delete()
    assert doc["_id"] not in [row["id"] for row in readers[2].all_docs()]


def test_bulk_writes_and_deletes_carry_the_quorum(
    cluster_db: tuple[Database, list[Client]],
) -> None:
    db, clients = cluster_db
    db.write_quorum = 3
    db.read_quorum = 3
    results = db.bulk_docs([{"_id": f"b{i}", "i": i} for i in range(20)])
    assert all(r["ok"] for r in results)
    reader = clients[2][db.database_name]
    assert [row["id"] for row in reader.all_docs()] == [f"b{i}" for i in sorted(range(20), key=str)]
    assert reader.get("b7", remote=True) is not None


def test_a_quorum_the_server_cannot_meet_is_stored_and_logged(
    couchdb_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # A single node holds one copy: w=3 cannot be met; CouchDB stores the write
    # and answers 202 Accepted, which settee logs instead of raising (a retry
    # would then conflict with the stored write).
    with settee.connect(couchdb_server.url, auth=couchdb_server.auth) as c:
        db = c.create_database(unique_name("quorum"))
        try:
            db.write_quorum = 3
            with caplog.at_level(logging.WARNING, logger="settee"):
                doc = db.create_document({"_id": "x", "v": 1})
                db.bulk_docs([{"_id": "y"}])
                doc.delete()
            warnings = [r.getMessage() for r in caplog.records if "202" in r.getMessage()]
            assert len(warnings) == 3, warnings
            assert "w=3" in warnings[0]
            assert db.get("y", remote=True) is not None
            assert "x" not in db.keys(remote=True)
        finally:
            c.delete_database(db.database_name)


def test_the_compat_bulk_docs_carries_the_quorum(
    couchdb_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # python-cloudant's CouchDatabase.bulk_docs writes through the backend itself:
    # the handle's write_quorum goes with it (w=3 on one copy: 202, logged).
    client = CouchDB(
        couchdb_server.user, couchdb_server.password, url=couchdb_server.url, connect=True
    )
    db = client.create_database(unique_name("quorum"))
    try:
        db.write_quorum = 3
        with caplog.at_level(logging.WARNING, logger="settee"):
            assert db.bulk_docs([{"_id": "y"}])[0]["ok"]
        warnings = [r.getMessage() for r in caplog.records if "202" in r.getMessage()]
        assert len(warnings) == 1 and "w=3" in warnings[0], warnings
    finally:
        db.delete()
        client.disconnect()


@pytest.mark.anyio
async def test_the_async_api_carries_the_quorum(
    couchdb_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # settee.aio's writes go with the handle's write_quorum as the sync core's do:
    # w=3 on a single node's one copy is stored and answered 202, logged each time.
    async with settee.aio.connect(couchdb_server.url, auth=couchdb_server.auth) as c:
        db = await c.create_database(unique_name("quorum-aio"))
        try:
            assert db.write_quorum is None
            with pytest.raises(ValueError):
                db.write_quorum = 0
            db.write_quorum = 3
            with caplog.at_level(logging.WARNING, logger="settee"):
                doc = await db.create_document({"_id": "x", "v": 1})
                await db.bulk_docs([{"_id": "y"}])
                await doc.delete()
            warnings = [r.getMessage() for r in caplog.records if "202" in r.getMessage()]
            assert len(warnings) == 3, warnings
            assert all("w=3" in w for w in warnings)
            assert await db.get("y", remote=True) is not None
            assert not await db.contains("x")
        finally:
            await c.delete_database(db.database_name)
