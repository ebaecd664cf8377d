"""Database operations on every backend: lifecycle, bulk writes, iteration, admin, partitions."""

from __future__ import annotations

from typing import Any

import pytest

import settee
from settee.document import Document
from tests.conformance.conftest import full_quorum, require, settled
from tests.conftest import unique_name


class CountingBackend:
    """Wraps the real backend and records each bulk_docs call (what was sent)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.bulk_calls: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def bulk_docs(self, db: str, docs: Any, *, new_edits: bool = True, w: Any = None) -> Any:
        self.bulk_calls.append(len(docs))
        return self.real.bulk_docs(db, docs, new_edits=new_edits, w=w)


def test_lifecycle_exists_metadata_len(client: settee.Client) -> None:
    name = unique_name("db")
    db = settee.Database(client, name)
    assert not db.exists()
    with pytest.raises(settee.NotFound):
        db.metadata()
    assert db.create() is db
    assert db.create() is db  # exists: fine without throw_on_exists
    with pytest.raises(settee.PreconditionFailed):
        db.create(throw_on_exists=True)
    try:
        assert db.exists()
        assert db.metadata()["doc_count"] == 0
        assert len(db) == 0 and db.doc_count() == 0
        assert bool(db)  # an empty database is truthy
        db.create_document({"_id": "a"})
        assert settled(db.client, lambda: len(db), lambda n: n == 1) == 1  # a cluster may lag
    finally:
        db.delete()
    assert not db.exists()
    assert client.get(name) is None
    with pytest.raises(settee.NotFound):
        db.metadata()


def test_bulk_docs_one_result_per_doc_with_conflicts(db: settee.Database) -> None:
    db.create_document({"_id": "taken", "v": 1})
    results = db.bulk_docs([{"_id": "new1"}, {"_id": "taken", "v": 2}, {"_id": "new2"}])
    assert [r["id"] for r in results] == ["new1", "taken", "new2"]
    assert results[0]["ok"] and results[2]["ok"]
    assert results[1]["error"] == "conflict"
    assert db.backend.get_doc(db.database_name, "taken")["v"] == 1


def test_bulk_docs_updates_document_revs(db: settee.Database) -> None:
    doc = Document(db, "d")
    doc["v"] = 1
    [result] = db.bulk_docs([doc])
    assert doc["_rev"] == result["rev"]
    doc["v"] = 2
    doc.save()  # the new _rev is current: no conflict
    assert doc["_rev"].startswith("2-")


def test_bulk_docs_chunks_large_inputs_in_order(db: settee.Database) -> None:
    counting = CountingBackend(db.client.backend)
    spy = settee.Client(backend=counting)
    sdb = full_quorum(spy[db.database_name])  # doc_count counts them at once on a cluster
    docs = [{"_id": f"doc{i:05d}", "n": i} for i in range(1201)]
    results = sdb.bulk_docs(docs)
    assert counting.bulk_calls == [500, 500, 201]
    assert [r["id"] for r in results] == [d["_id"] for d in docs]
    assert all(r.get("ok") for r in results)
    assert db.doc_count() == 1201
    again = sdb.bulk_docs(docs[:3], chunk_size=2)
    assert counting.bulk_calls[-2:] == [2, 1]
    assert [r["error"] for r in again] == ["conflict"] * 3


@pytest.mark.parametrize(
    "bad, error",
    [
        ([{"_id": "a"}, {"s": {1}}], TypeError),
        ([{"_id": "a"}, "not a dict"], TypeError),
        ([{"_id": "a"}, {"_id": "_bad"}], ValueError),
        ([{"_id": "a"}, {"x": float("nan")}], TypeError),
        ({"_id": "single"}, TypeError),
    ],
)
def test_bulk_docs_bad_input_fails_before_any_request(
    db: settee.Database, bad: Any, error: type[Exception]
) -> None:
    counting = CountingBackend(db.client.backend)
    sdb = settee.Client(backend=counting)[db.database_name]
    docs = ([{"_id": f"ok{i:04d}"} for i in range(600)] + bad) if isinstance(bad, list) else bad
    with pytest.raises(error):
        sdb.bulk_docs(docs)
    assert counting.bulk_calls == []
    assert db.doc_count() == 0


def test_iterating_2000_docs_holds_one_page(db: settee.Database) -> None:
    db.bulk_docs([{"_id": f"doc{i:05d}", "n": i} for i in range(2000)])
    result = db.all_docs(include_docs=True, page_size=100)
    seen = 0
    most = 0
    for row in result:
        assert row["doc"]["n"] == seen
        seen += 1
        most = max(most, result.buffered)
    assert seen == 2000
    assert most <= 101  # one page plus the look-ahead row
    assert result.requests == 20
    assert result.buffered == 0  # released at the end
    docs = 0
    for doc in db:
        assert isinstance(doc, Document)
        assert doc["n"] == docs
        docs += 1
    assert docs == 2000


def test_keys_remote_lists_every_id(db: settee.Database) -> None:
    db.bulk_docs([{"_id": f"k{i:04d}"} for i in range(1500)])
    assert db.keys() == []
    ids = db.keys(remote=True)
    assert ids == [f"k{i:04d}" for i in range(1500)]


def test_revisions_diff_and_missing_revisions(db: settee.Database) -> None:
    full_quorum(db)  # each _revs_diff may be answered by another copy: all hold the write
    doc = db.create_document({"_id": "r", "v": 1})
    have = doc["_rev"]
    settled(db.client, lambda: db.missing_revisions("r", have), lambda missing: not missing)
    diff = db.revisions_diff("r", have, "2-0123456789abcdef0123456789abcdef")
    assert diff["r"]["missing"] == ["2-0123456789abcdef0123456789abcdef"]
    assert db.missing_revisions("r", have) == []
    assert db.missing_revisions("nope", "1-abc") == ["1-abc"]


def test_revision_limit(db: settee.Database, backend_kind: str) -> None:
    if backend_kind == "pouchdb":
        with pytest.raises(settee.NotSupported):
            db.get_revision_limit()
        return
    assert db.get_revision_limit() == 1000
    db.set_revision_limit(7)
    assert db.get_revision_limit() == 7
    with pytest.raises(ValueError):
        db.set_revision_limit(0)


def test_compact_and_view_cleanup(db: settee.Database) -> None:
    db.create_document({"_id": "a"})
    assert isinstance(db.compact(), dict)
    assert isinstance(db.view_cleanup(), dict)


def _names(security: dict[str, Any], section: str) -> Any:
    return security.get(section, {}).get("names")


def test_security_document_share_unshare(db: settee.Database) -> None:
    start = db.get_security_document()
    assert isinstance(start, dict)
    # share/unshare read _security and write it back. A cluster reads it from one
    # copy, which may lag the write before (no read_your_writes): each step is
    # settled before the next reads it.
    read = db.get_security_document
    db.share_database("bob")
    settled(db.client, read, lambda s: _names(s, "members") == ["bob"])
    db.share_database("alice", roles=["_admin"])
    security = settled(db.client, read, lambda s: _names(s, "admins") == ["alice"])
    assert _names(security, "members") == ["bob"]
    db.share_database("bob")  # already shared: not listed twice
    security = settled(db.client, read, lambda s: _names(s, "admins") == ["alice"])
    assert _names(security, "members") == ["bob"]
    assert _names(security, "admins") == ["alice"]
    db.unshare_database("bob")
    security = settled(db.client, read, lambda s: _names(s, "members") == [])
    assert _names(security, "admins") == ["alice"]
    with pytest.raises(ValueError):
        db.share_database("carol", roles=["_root"])


def test_database_url_is_http_only(db: settee.Database) -> None:
    if db.client.backend.kind == "http":
        assert db.database_url.endswith("/" + db.database_name)
    else:
        with pytest.raises(settee.NotSupported):
            _ = db.database_url


def test_partitions(client: settee.Client) -> None:
    require(client, "partitions")
    db = client.create_database(unique_name("part"), partitioned=True)
    try:
        assert db.partitioned
        db.bulk_docs(
            [{"_id": f"p1:{i:03d}", "kind": "a", "n": i} for i in range(25)]
            + [{"_id": f"p2:{i:03d}", "kind": "a", "n": i} for i in range(5)]
        )
        p1 = db.partition("p1")

        def listed() -> list[str]:
            return [row["id"] for row in p1.all_docs(page_size=7)]

        ids = settled(client, listed, lambda ids: len(ids) >= 25)
        assert ids == [f"p1:{i:03d}" for i in range(25)]
        assert db.partition_metadata("p2")["doc_count"] == 5
        assert p1.metadata()["doc_count"] == 25
        found = p1.get_query_result({"n": {"$gte": 20}}, page_size=2).all()
        assert sorted(doc["_id"] for doc in found) == [f"p1:{i:03d}" for i in range(20, 25)]
        assert len(list(db.partition("p2"))) == 5
        assert len(db.partitioned_all_docs("p2").all()) == 5
        client.clear_cache()
        assert client[db.database_name].partitioned
    finally:
        client.delete_database(db.database_name)
    with pytest.raises(ValueError):
        db.partition("_bad")
    with pytest.raises(ValueError):
        db.partition("a:b")


def test_quorums_are_validated_and_accepted_everywhere(db: settee.Database) -> None:
    # One copy (embedded stores, PouchDB Server, a single node with n=1 ... w=1):
    # a quorum of 1 is always met; the writes and reads behave as without it.
    db.write_quorum = None  # the fixture's full quorum on a cluster: start from none
    assert db.write_quorum is None and db.read_quorum is None
    for bad in (0, -1):
        with pytest.raises(ValueError, match="write_quorum"):
            db.write_quorum = bad
    for wrong in ("2", 1.5, True):
        with pytest.raises(TypeError, match="read_quorum"):
            db.read_quorum = wrong  # type: ignore[assignment]
    db.write_quorum = 1
    db.read_quorum = 1
    doc = db.create_document({"_id": "q", "v": 1})
    doc["v"] = 2
    doc.save()
    assert db.bulk_docs([{"_id": "r"}])[0]["ok"]

    # A cluster's w=1, r=1 (1 + 1 <= n=3) may read a copy the write has not reached.
    def version() -> Any:
        try:
            return db.read_doc("q")["v"]
        except settee.DocumentNotFound:  # a copy the create has not reached yet
            return None

    assert settled(db.client, version, (2).__eq__) == 2
    assert settled(db.client, lambda: db.get("r", remote=True), bool) is not None
    doc.delete()
    assert "q" not in settled(db.client, lambda: db.keys(remote=True), lambda ids: "q" not in ids)
    db.write_quorum = None
    assert db.write_quorum is None
