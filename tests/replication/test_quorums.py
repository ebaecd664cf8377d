"""Replication carries the handles' quorums: the target's ``w=``, the source's ``r=``.

On a CouchDB cluster (n=3) a write returns once a majority of the copies hold
it, so a read right after it, served by the third copy, may miss it. A
replication into ``target`` (with ``target.write_quorum = 3``) writes its
documents and its checkpoint with ``w=3``, so when it returns every copy holds
them; it reads the source's revisions and checkpoint with the source's
``read_quorum``.

Real servers: what goes on the wire to PouchDB Server (which keeps one copy
and ignores the quorums) is recorded by a ``requests`` adapter given to
``settee.connect(adapter=...)``, the transport's public plug point (it sends
as settee's own adapter does); the effect is checked on the 3-node CouchDB
cluster (every node sees the replicated documents at once) and on a single
node, which cannot meet ``w=3``: the checkpoint's ``PUT`` answers 202 Accepted
(logged); CouchDB 3.5 answers a ``new_edits=false`` ``_bulk_docs`` 201 whatever
its ``w`` (its replicated-changes path does not report the quorum).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import settee
from tests.conftest import Server, unique_name
from tests.replication.conftest import RecordingAdapter

ROUNDS = 5  # bounded: each round writes, replicates once and reads on every node


@pytest.fixture
def recorded(pouchdb_server: Server) -> Iterator[tuple[settee.Database, RecordingAdapter]]:
    """A fresh PouchDB Server database through a client whose requests are recorded."""
    adapter = RecordingAdapter()
    client = settee.connect(pouchdb_server.url, auth=pouchdb_server.auth, adapter=adapter)
    db = client.create_database(unique_name("rep-quorum"))
    try:
        yield db, adapter
    finally:
        with contextlib.suppress(settee.NotFound):
            client.delete_database(db.database_name)
        client.disconnect()


def _local(tmp_path: Path, name: str = "local") -> settee.Database:
    return settee.connect(f"sqlite:///{tmp_path / (name + '.db')}").create_database(name)


def test_writes_to_the_target_carry_its_write_quorum(
    recorded: tuple[settee.Database, RecordingAdapter], tmp_path: Path
) -> None:
    target, wire = recorded
    source = _local(tmp_path)
    source.bulk_docs([{"_id": f"d{i:02d}", "n": i} for i in range(25)])
    target.write_quorum = 3
    result = settee.replicate(source, target, batch_size=10)
    assert result.ok and result.docs_written == 25
    writes = wire.calls("POST", "/_bulk_docs")
    assert len(writes) == 3  # 10 + 10 + 5
    assert all(body["w"] == 3 and body["new_edits"] is False for _, body in writes)
    checkpoints = wire.calls("PUT", f"_local/{result.replication_id}")
    assert checkpoints and all(query["w"] == ["3"] for query, _ in checkpoints)
    # The target's log is read with its read quorum (none set here: none sent).
    log_reads = wire.calls("GET", f"_local/{result.replication_id}")
    assert log_reads and all("r" not in query for query, _ in log_reads)
    # Without a quorum none is sent (the server's default).
    target.write_quorum = None
    wire.sent.clear()
    source.put_doc({"_id": "late"})
    settee.replicate(source, target)
    assert [body.get("w") for _, body in wire.calls("POST", "/_bulk_docs")] == [None]
    assert all("w" not in query for query, _ in wire.calls("PUT", "_local/"))


def test_reads_from_the_source_carry_its_read_quorum(
    recorded: tuple[settee.Database, RecordingAdapter], tmp_path: Path
) -> None:
    source, wire = recorded
    source.bulk_docs([{"_id": f"d{i:02d}", "n": i} for i in range(25)])
    source.read_quorum = 2
    source.write_quorum = 2
    target = _local(tmp_path)
    wire.sent.clear()
    result = settee.replicate(source, target, batch_size=10)
    assert result.ok and result.docs_written == 25
    fetches = wire.calls("POST", "/_bulk_get")  # PouchDB Server has _bulk_get
    assert len(fetches) == 3
    assert all(query["r"] == ["2"] and query["revs"] == ["true"] for query, _ in fetches)
    log_reads = wire.calls("GET", f"_local/{result.replication_id}")
    assert log_reads and all(query["r"] == ["2"] for query, _ in log_reads)
    # The source's own checkpoint is a write to the source: its write quorum.
    log_writes = wire.calls("PUT", f"_local/{result.replication_id}")
    assert log_writes and all(query["w"] == ["2"] for query, _ in log_writes)
    # The feed and _revs_diff have no quorum in CouchDB: none is sent there.
    assert all("r" not in query for query, _ in wire.calls("GET", "/_changes"))


def test_embedded_ends_accept_quorums_without_effect(tmp_path: Path) -> None:
    # One copy of each document: a quorum is always met (open_revs reads with r=).
    source, target = _local(tmp_path, "a"), settee.connect("memory:").create_database("b")
    source.bulk_docs([{"_id": f"d{i}"} for i in range(5)])
    source.read_quorum, target.write_quorum = 3, 3
    result = settee.replicate(source, target)
    assert result.ok and result.docs_written == 5
    assert settee.replicate(source, target).docs_written == 0


@pytest.fixture
def cluster(couchdb_cluster_server: Server) -> Iterator[list[settee.Client]]:
    """A client on every node of the cluster."""
    urls = couchdb_cluster_server.node_urls or (couchdb_cluster_server.url,)
    clients = [settee.connect(url, auth=couchdb_cluster_server.auth) for url in urls]
    try:
        yield clients
    finally:
        for client in clients:
            client.disconnect()


def test_one_run_into_a_cluster_with_full_write_quorum_is_on_every_node(
    cluster: list[settee.Client], tmp_path: Path
) -> None:
    first = cluster[0]
    name = unique_name("rep-quorum")
    target = first.create_database(name)
    try:
        target.write_quorum = 3
        readers = [client[name] for client in cluster]
        source = _local(tmp_path)
        for round_ in range(ROUNDS):
            source.bulk_docs([{"_id": f"r{round_}-{i:02d}", "round": round_} for i in range(20)])
            result = settee.replicate(source, target, batch_size=7)
            assert result.ok and result.docs_written == 20
            want = {row["id"] for row in source.changes()}
            for node, reader in enumerate(readers):  # right after the one run, every node
                got = {row["id"] for row in reader.all_docs()}
                assert got == want, f"node {node} misses {sorted(want - got)} in round {round_}"
                log = reader.read_doc(f"_local/{result.replication_id}")
                assert log["session_id"] == result.session_id
        # And back out of the cluster, reading with r=3: the same documents, in one run.
        target.read_quorum = 3
        back = _local(tmp_path, "back")
        assert settee.replicate(target, back).docs_written == 20 * ROUNDS
    finally:
        first.delete_database(name)


def test_a_single_node_cannot_meet_w3_and_says_so(
    couchdb_server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # One copy: w=3 cannot be met. CouchDB stores the replicated revisions (its
    # new_edits=false _bulk_docs answers 201 whatever w is) and answers the
    # checkpoint's PUT 202 Accepted, which settee logs; the replication succeeds.
    with settee.connect(couchdb_server.url, auth=couchdb_server.auth) as client:
        target = client.create_database(unique_name("rep-quorum"))
        try:
            source = _local(tmp_path)
            source.bulk_docs([{"_id": f"d{i}"} for i in range(5)])
            target.write_quorum = 3
            with caplog.at_level(logging.WARNING, logger="settee"):
                result = settee.replicate(source, target)
            assert result.ok and result.docs_written == 5
            accepted = [r.getMessage() for r in caplog.records if "202" in r.getMessage()]
            log_put = f"PUT _local/{result.replication_id}"
            assert any(log_put in m and "w=3" in m for m in accepted), accepted
            assert {row["id"] for row in target.all_docs()} == {f"d{i}" for i in range(5)}
        finally:
            client.delete_database(target.database_name)
