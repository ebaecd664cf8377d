"""The server's replicator (ServerReplicator), and interop with CouchDB's own replicator.

Needs Apache CouchDB (SETTEE_COUCHDB_HOME or COUCHDB_URL, see tests/conftest.py)
for everything but the NotSupported checks: PouchDB Server and the local
stores have no server replicator (capability ``server_replicator``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import settee
from settee.replication.server import ServerReplicator, endpoint
from tests.conftest import Server, unique_name
from tests.replication.conftest import RecordingAdapter, doc_ids, same_trees, tracked_client, trees


@pytest.fixture
def couch(couchdb_server: Server) -> Iterator[settee.Client]:
    yield from tracked_client(couchdb_server)


def _db(client: settee.Client) -> settee.Database:
    name = unique_name("srv-rep")
    client.made.append(name)  # type: ignore[attr-defined]
    return client.create_database(name)


def test_no_server_replicator_is_not_supported(pouchdb_server: Server, tmp_path: Path) -> None:
    # Every call, before any request of its own (PouchDB Server's requests are
    # recorded: none is sent once the server's capabilities are known).
    wire = RecordingAdapter()
    pouchdb = settee.connect(pouchdb_server.url, auth=pouchdb_server.auth, adapter=wire)
    for client in (
        settee.connect("memory:"),
        settee.connect(f"sqlite:///{tmp_path / 'x.db'}"),
        pouchdb,
    ):
        replicator = ServerReplicator(client)
        a, b = settee.Database(client, "a"), settee.Database(client, "b")
        assert "server_replicator" not in client.backend.capabilities  # asks GET / once
        wire.sent.clear()
        calls: list[tuple[str, tuple[object, ...]]] = [
            ("create_replication", (a, b)),
            ("list_replications", ()),
            ("get_replication", ("r",)),
            ("cancel_replication", ("r",)),
            ("replication_state", ("r",)),
            ("follow_replication", ("r",)),
            ("scheduler_jobs", ()),
            ("scheduler_docs", ()),
            ("scheduler_doc", ("r",)),
            ("replicate", (a, b)),
        ]
        for method, args in calls:
            with pytest.raises(settee.NotSupported, match=r"server_replicator|HTTP"):
                answer = getattr(replicator, method)(*args)
                if method == "follow_replication":
                    next(answer)  # a generator: its first state is its first request
        assert wire.sent == []
        client.disconnect()


def test_endpoint_puts_credentials_in_the_auth_object(pouchdb_server: Server) -> None:
    client = settee.connect(pouchdb_server.url, auth=pouchdb_server.auth)
    end = endpoint(settee.Database(client, "anything"))
    assert end["url"] == f"{pouchdb_server.url}/anything"
    assert end["auth"] == {
        "basic": {"username": pouchdb_server.user, "password": pouchdb_server.password}
    }
    plain = endpoint("http://u:p%40ss@127.0.0.1:5984/db")
    assert plain == {
        "url": "http://127.0.0.1:5984/db",
        "auth": {"basic": {"username": "u", "password": "p@ss"}},
    }
    assert pouchdb_server.password not in repr(ServerReplicator(client))
    given = {"url": "http://127.0.0.1:5984/db", "headers": {"Authorization": "Basic eDp5"}}
    built = endpoint(given)  # type: ignore[arg-type]  # a plain dict, as callers pass one
    assert built == given and built is not given
    with pytest.raises(TypeError):
        endpoint({"headers": {}})
    client.disconnect()


def test_endpoint_objects_and_further_fields(couch: settee.Client) -> None:
    source, target = _db(couch), _db(couch)
    replicator = ServerReplicator(couch)
    doc = replicator.create_replication(
        endpoint(source),
        endpoint(target),
        fields={"worker_processes": 1, "_rev": "9-x", "source": "overridden"},
    )
    stored = replicator.get_replication(doc["_id"])
    assert stored["source"] == endpoint(source)
    assert stored["worker_processes"] == 1  # type: ignore[typeddict-item]
    assert stored["_rev"] == doc["_rev"] and doc["_rev"].startswith("1-")
    replicator.cancel_replication(doc["_id"])


def test_replication_document_lifecycle(couch: settee.Client) -> None:
    source, target = _db(couch), _db(couch)
    source.bulk_docs([{"_id": f"d{i}", "n": i} for i in range(20)])
    replicator = ServerReplicator(couch)
    doc = replicator.create_replication(source, target)
    assert doc["_rev"] and doc["source"]["auth"]["basic"]["username"]
    assert doc["_id"] in {d["_id"] for d in replicator.list_replications()}
    states = list(replicator.follow_replication(doc["_id"], interval=0.2, timeout=120))
    assert states[-1] == "completed", states
    assert replicator.replication_state(doc["_id"]) == "completed"
    assert replicator.scheduler_doc(doc["_id"])["state"] == "completed"
    assert "docs" in replicator.scheduler_docs(limit=50)
    assert len(doc_ids(target)) == 20
    same_trees(source, target)
    replicator.cancel_replication(doc["_id"])
    with pytest.raises(settee.DocumentNotFound):
        replicator.get_replication(doc["_id"])


def test_continuous_replication_document_runs_until_cancelled(couch: settee.Client) -> None:
    source, target = _db(couch), _db(couch)
    replicator = ServerReplicator(couch)
    doc = replicator.create_replication(source, target, continuous=True)
    try:
        for state in replicator.follow_replication(doc["_id"], interval=0.2, timeout=120):
            if state == "running":
                break
        assert replicator.replication_state(doc["_id"]) == "running"
        jobs = replicator.scheduler_jobs()["jobs"]
        assert any(job.get("doc_id") == doc["_id"] for job in jobs)
        source.put_doc({"_id": "late", "v": 1})
        deadline = time.monotonic() + 60
        while "late" not in doc_ids(target) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "late" in doc_ids(target)
    finally:
        replicator.cancel_replication(doc["_id"])


def test_one_shot_post_replicate(couch: settee.Client) -> None:
    source, target = _db(couch), _db(couch)
    source.bulk_docs([{"_id": f"d{i}"} for i in range(5)])
    answer = ServerReplicator(couch).replicate(source, target, doc_ids=["d1", "d3"])
    assert answer["ok"] is True
    assert doc_ids(target) == {"d1", "d3"}


def test_interop_settee_then_couchdbs_replicator_onward_and_back(
    couch: settee.Client, tmp_path: Path
) -> None:
    """Data replicated by settee into CouchDB, then by CouchDB onward, and back: one tree."""
    local = settee.connect(f"sqlite:///{tmp_path / 'local.db'}").create_database("local")
    local.bulk_docs([{"_id": f"d{i}", "n": i} for i in range(10)])
    doc = local.backend.get_doc("local", "d0")
    local.put_doc({**doc, "n": 100})
    couch_a, couch_b = _db(couch), _db(couch)
    assert settee.replicate(local, couch_a).ok
    # A conflict made on CouchDB's side.
    doc = couch_a.backend.get_doc(couch_a.database_name, "d1")
    couch_a.put_doc({**doc, "side": "couch"})
    doc = local.backend.get_doc("local", "d1")
    local.put_doc({**doc, "side": "local"})
    assert settee.replicate(local, couch_a).ok
    replicator = ServerReplicator(couch)
    assert replicator.replicate(couch_a, couch_b)["ok"] is True
    same_trees(couch_a, couch_b)
    # And back: CouchDB's copy into a fresh local store by settee.
    back = settee.connect(f"sqlite:///{tmp_path / 'back.db'}").create_database("back")
    assert settee.replicate(couch_b, back).ok
    same_trees(couch_a, back)
    assert len(trees(back, {"d1"})["d1"]["leafs"]) == 2
    # An edit in the local copy goes to CouchDB by settee and onward by CouchDB.
    doc = back.backend.get_doc("back", "d2")
    back.put_doc({**doc, "from": "back"})
    assert settee.replicate(back, couch_b).ok
    assert replicator.replicate(couch_b, couch_a)["ok"] is True
    same_trees(back, couch_a)
    assert settee.replicate(couch_a, local).ok
    same_trees(couch_a, local)
    local.client.disconnect()
    back.client.disconnect()
