"""Interop: settee's replications and CouchDB's own replicator hand the same trees along.

A local SQLite store holds every kind of history a replication must keep
(updates, a deletion, a conflict of three branches of different lengths, one
of them deleted, a ``_design`` document, text and binary attachments). It goes
along a chain where each hop replicates the previous replicator's output:

    local -settee-> CouchDB A -CouchDB-> CouchDB B -CouchDB-> PouchDB Server P
          -CouchDB-> CouchDB C -settee-> a local copy
          (P's design document and attachments are copied by settee, not by
          CouchDB: PouchDB Server's answers break CouchDB's replicator there,
          see _PUT_ONE_BY_ONE)
    back: edits on the copy -settee-> P -CouchDB-> B -CouchDB-> A -settee-> local

After each hop the two ends hold identical revision trees (every leaf with its
``_revisions`` ancestry, body and attachments by content; the winner, its
``_conflicts`` and its ``revs_info``: tests/replication/conftest.py ``tree``).
"CouchDB" is its replicator's ``POST /_replicate``, on the single node and then
on the 3-node cluster, every CouchDB database of the chain on that server; on
the cluster settee writes with ``write_quorum = 3`` and reads with
``read_quorum = 3`` (CouchDB's replicator writes with its default ``w``, so the
reads after its hops ask every copy). Needs Apache CouchDB (else skipped:
tests/conftest.py) and PouchDB Server.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import settee
from settee.replication.server import ServerReplicator
from tests.conftest import Server, unique_name
from tests.replication.conftest import doc_ids, read_your_writes, tracked_client, trees


def _inline(data: bytes, content_type: str) -> dict[str, str]:
    return {"content_type": content_type, "data": base64.b64encode(data).decode()}


def _history(db: settee.Database) -> None:
    """Everything a replication must carry, made on ``db`` (a local store)."""
    db.bulk_docs([{"_id": f"d{i:02d}", "n": i} for i in range(20)])
    for i in range(0, 20, 4):  # updates, two each
        for step in (1, 2):
            doc = db.backend.get_doc(db.database_name, f"d{i:02d}")
            db.put_doc({**doc, "n": doc["n"] + 100 * step})
    doc = db.backend.get_doc(db.database_name, "d03")
    db.delete_doc("d03", doc["_rev"])
    db.put_doc({"_id": "_design/app", "views": {"n": {"map": "function (d) { emit(d.n); }"}}})
    db.put_doc(
        {
            "_id": "files",
            "_attachments": {
                "a.txt": _inline(b"hello " * 100, "text/plain"),  # CouchDB gzips this one
                "b.bin": _inline(bytes(range(256)) * 30, "application/octet-stream"),
            },
        }
    )
    # A conflict: three branches off d05's first revision (two live, one deleted),
    # of different lengths, written as another replica would (new_edits=false).
    first = db.backend.get_doc(db.database_name, "d05", {"revs": True})
    start, root = first["_revisions"]["start"], first["_revisions"]["ids"][-1]
    assert start == 1
    b1, c1, c2, e1 = (hashlib.md5(tag.encode()).hexdigest() for tag in ("b1", "c1", "c2", "e1"))

    def leaf(ids: list[str], **body: object) -> dict[str, object]:
        start = len(ids) + 1
        return {"_id": "d05", "_rev": f"{start}-{ids[0]}", **body,
                "_revisions": {"start": start, "ids": [*ids, root]}}  # fmt: skip

    branches = [leaf([b1], side="b"), leaf([c2, c1], side="c"), leaf([e1], _deleted=True)]
    db.backend.bulk_docs(db.database_name, branches, new_edits=False)


@pytest.fixture(params=["couchdb", "couchdb-cluster"])
def couch(request: pytest.FixtureRequest) -> Iterator[settee.Client]:
    """A client of CouchDB (single node, then the cluster); its databases go at the end."""
    server: Server = request.getfixturevalue(f"{request.param}_server")
    yield from tracked_client(server)


@pytest.fixture
def pouch(pouchdb_server: Server) -> Iterator[settee.Client]:
    yield from tracked_client(pouchdb_server)


def _db(client: settee.Client) -> settee.Database:
    name = unique_name("interop")
    client.made.append(name)  # type: ignore[attr-defined]
    db = client.create_database(name)
    if not read_your_writes(db):  # the cluster: every copy written and read
        db.write_quorum = 3
        db.read_quorum = 3
    return db


def _same(ids: set[str], *dbs: settee.Database) -> None:
    """Every ``db`` holds the first one's trees for ``ids`` (by id, not by feed: a
    cluster's feed is read from one copy)."""
    first = trees(dbs[0], ids)
    assert first and all(t["leafs"] for t in first.values())
    for db in dbs[1:]:
        assert trees(db, ids) == first, db


def _by_couchdb(
    replicator: ServerReplicator,
    source: settee.Database,
    target: settee.Database,
    doc_ids: set[str] | None = None,
) -> None:
    """One ``POST /_replicate`` by CouchDB's replicator; it must write everything."""
    answer = replicator.replicate(source, target, doc_ids=sorted(doc_ids) if doc_ids else None)
    assert answer["ok"] is True, answer
    history = answer.get("history") or [{}]
    assert history[0].get("doc_write_failures", 0) == 0, answer


#: What CouchDB's replicator moves one by one, with multipart bodies, instead of in
#: _bulk_get/_bulk_docs: design documents, and documents with attachments. PouchDB
#: Server answers neither way as CouchDB's replicator reads it, so the job crashes:
#: * into it: a PUT with new_edits=false answers ``[]`` (PouchDB's put(),
#:   apache/pouchdb#7914, wontfix), not the object the replicator takes the rev
#:   from (function_clause in couch_replicator_api_wrap:update_doc's callback);
#: * out of it: ``open_revs`` with ``Accept: multipart/mixed`` answers a JSON array
#:   as ``text/plain``, which the replicator parses as multipart
#:   (``open_doc_revs_failed``).
#: So between CouchDB and PouchDB Server CouchDB replicates the other documents
#: (``doc_ids``), and settee these. And out of PouchDB Server, CouchDB's replicator
#: is given only documents the target lacks: a batch of changes of which the target
#: has every revision is still fetched, with a ``_bulk_get`` of no documents, which
#: PouchDB Server never answers (the job fails on ``req_timedout``, ~100 s later).
_PUT_ONE_BY_ONE = {"_design/app", "files"}


def test_trees_survive_settee_and_couchdbs_replicator_in_a_chain(
    couch: settee.Client, pouch: settee.Client, tmp_path: Path
) -> None:
    local = settee.connect(f"sqlite:///{tmp_path / 'local.db'}").create_database("local")
    copy = settee.connect(f"sqlite:///{tmp_path / 'copy.db'}").create_database("copy")
    _history(local)
    ids = doc_ids(local)
    assert len(ids) == 22
    assert len(trees(local, {"d05"})["d05"]["leafs"]) == 3  # two live branches, one deleted
    replicator = ServerReplicator(couch)
    couch_a, couch_b, couch_c, pouch_p = _db(couch), _db(couch), _db(couch), _db(pouch)

    # Out: settee into CouchDB, CouchDB onward, CouchDB into PouchDB Server and out
    # of it again (what it can move there, settee the rest), settee out.
    first = settee.replicate(local, couch_a)
    assert first.ok and first.docs_written == first.missing_found
    _same(ids, local, couch_a)
    _by_couchdb(replicator, couch_a, couch_b)
    _same(ids, local, couch_b)
    _by_couchdb(replicator, couch_b, pouch_p, doc_ids=ids - _PUT_ONE_BY_ONE)
    _same(ids - _PUT_ONE_BY_ONE, local, pouch_p)
    rest = settee.replicate(couch_b, pouch_p)
    assert rest.ok and rest.docs_written == 2  # the design document and "files"
    _same(ids, local, pouch_p)
    _by_couchdb(replicator, pouch_p, couch_c, doc_ids=ids - _PUT_ONE_BY_ONE)
    _same(ids - _PUT_ONE_BY_ONE, local, couch_c)
    assert settee.replicate(pouch_p, couch_c).docs_written == 2
    _same(ids, local, couch_c)
    assert settee.replicate(couch_c, copy).ok
    _same(ids, local, copy)
    data, ctype = copy.backend.get_attachment("copy", "files", "b.bin")
    assert data == bytes(range(256)) * 30 and ctype == "application/octet-stream"

    # Back: new edits on the far copy (an update of the conflict's winner, a new
    # document, a deletion) by settee into PouchDB Server, by CouchDB out of it and
    # onward, by settee home.
    winner = copy.backend.get_doc("copy", "d05")
    copy.put_doc({**winner, "side": "edited on the copy"})
    copy.put_doc({"_id": "from-copy", "n": -1})
    gone = copy.backend.get_doc("copy", "d07")
    copy.delete_doc("d07", gone["_rev"])
    ids = ids | {"from-copy"}
    assert settee.replicate(copy, pouch_p).docs_written == 3
    _by_couchdb(replicator, pouch_p, couch_b, doc_ids={"d05", "from-copy", "d07"})
    _by_couchdb(replicator, couch_b, couch_a)
    back = settee.replicate(couch_a, local)
    assert back.ok and back.docs_written == 3
    _same(ids, copy, pouch_p, couch_b, couch_a, local)
    assert len(trees(local, {"d05"})["d05"]["leafs"]) == 3  # the edit extends the winner
    # Each hop again: nothing left to write.
    assert settee.replicate(local, couch_a).docs_written == 0
    assert settee.replicate(couch_a, pouch_p).docs_written == 0
    local.client.disconnect()
    copy.client.disconnect()
