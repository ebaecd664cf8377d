"""HTTPBackend against real servers: PouchDB Server always, Apache CouchDB when COUCHDB_URL is set.

Every primitive, the error mapping (status, CouchDB error/reason, method and a
redacted URL), and hostile document ids and database names that must reach
exactly their own document and never another endpoint.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settee import errors
from settee.backends.base import CAPABILITIES
from settee.backends.http.backend import HTTPBackend
from tests.conftest import Server, settled, unique_name


@pytest.fixture
def backend(http_server: Server) -> Iterator[HTTPBackend]:
    b = HTTPBackend(http_server.url, auth=http_server.auth)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def db(backend: HTTPBackend) -> Iterator[str]:
    name = unique_name("http")
    backend.create_db(name)
    try:
        yield name
    finally:
        with contextlib.suppress(errors.NotFound):
            backend.delete_db(name)


DESIGN = {
    "_id": "_design/d",
    "views": {
        "by_n": {
            "map": "function (doc) { if (doc.n !== undefined) { emit(doc.n, doc._id); } }",
            "reduce": "_count",
        }
    },
}


def full_quorum(backend: HTTPBackend) -> int | None:
    """``w=`` for writes that listings read at once: every copy of the suite's
    cluster (n=3) where read_your_writes is missing. Each listing request may be
    answered by another copy, so settling one read would not settle the next."""
    return None if "read_your_writes" in backend.capabilities else 3


def fill(backend: HTTPBackend, db: str, count: int = 5) -> list[dict[str, Any]]:
    docs = [{"_id": f"doc{i:02d}", "n": i, "even": i % 2 == 0} for i in range(count)]
    results = backend.bulk_docs(db, docs, w=full_quorum(backend))
    assert all(r.get("ok") for r in results), results
    return docs


# -- server ---------------------------------------------------------------------


def test_server_info_and_capabilities(backend: HTTPBackend, http_server: Server) -> None:
    info = backend.server_info()
    assert "version" in info
    assert backend.capabilities == http_server.capabilities & CAPABILITIES.keys()
    assert backend.kind == "http"
    assert backend.url == http_server.url
    assert http_server.password not in repr(backend)


def test_registered_for_http_urls(http_server: Server) -> None:
    from settee.backends import open_backend

    opened = open_backend(http_server.url + "/", auth=http_server.auth, timeout=5)
    try:
        assert isinstance(opened, HTTPBackend)
        assert opened.transport.timeout == (5.0, 5.0)
        assert isinstance(opened.all_dbs(), list)
    finally:
        opened.close()


def test_capabilities_are_fetched_once(http_server: Server) -> None:
    b = HTTPBackend(http_server.url, auth=http_server.auth)
    try:
        first = b.capabilities
        b.transport.base_url = "http://127.0.0.1:9"  # a second GET / would now fail
        assert b.capabilities is first
    finally:
        b.close()


def test_all_dbs_sorted_and_contains_new_db(backend: HTTPBackend, db: str) -> None:
    names = backend.all_dbs()
    assert db in names
    assert names == sorted(names)


def test_uuids(backend: HTTPBackend) -> None:
    ids = backend.uuids(3)
    assert len(ids) == 3 and len(set(ids)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", u) for u in ids), ids
    assert backend.uuids(0) == []
    many = backend.uuids(2500)  # more than one request's worth
    assert len(many) == 2500 and len(set(many)) == 2500
    with pytest.raises(ValueError):
        backend.uuids(-1)
    with pytest.raises(TypeError):
        backend.uuids("3")  # type: ignore[arg-type]


def test_create_existing_db_is_precondition_failed(
    backend: HTTPBackend, db: str, http_server: Server
) -> None:
    with pytest.raises(errors.PreconditionFailed) as info:
        backend.create_db(db)
    exc = info.value
    assert exc.status == 412 and exc.error == "file_exists"
    assert exc.method == "PUT" and exc.url == f"{http_server.url}/{db}"
    assert db in str(exc) and "412" in str(exc)


def test_missing_database(backend: HTTPBackend) -> None:
    name = unique_name("absent")
    for call in (
        lambda: backend.db_info(name),
        lambda: backend.delete_db(name),
        lambda: backend.get_doc(name, "x"),
        lambda: backend.all_docs(name),
    ):
        with pytest.raises(errors.NotFound) as info:
            call()
        # A missing database is not a missing document.
        assert not isinstance(info.value, errors.DocumentNotFound)
        assert info.value.status == 404 and info.value.error == "not_found"


def test_db_info(backend: HTTPBackend, db: str) -> None:
    fill(backend, db, 3)
    info = backend.db_info(db)
    assert info["db_name"] == db and info["doc_count"] == 3


def test_errors_never_show_credentials(http_server: Server) -> None:
    host = http_server.url.split("://", 1)[1]
    with_creds = f"http://{http_server.user}:{http_server.password}@{host}"
    b = HTTPBackend(with_creds)
    try:
        assert http_server.password not in b.url
        with pytest.raises(errors.NotFound) as info:
            b.db_info(unique_name("absent"))
        assert http_server.password not in str(info.value)
        assert http_server.password not in (info.value.url or "")
        assert info.value.url is not None and info.value.url.startswith(http_server.url)
    finally:
        b.close()


# -- documents --------------------------------------------------------------------


def test_put_get_update_delete(backend: HTTPBackend, db: str, http_server: Server) -> None:
    created = backend.put_doc(db, {"_id": "a", "x": 1})
    assert created["ok"] and created["id"] == "a" and created["rev"].startswith("1-")
    doc = backend.get_doc(db, "a")
    assert doc == {"_id": "a", "_rev": created["rev"], "x": 1}
    doc["x"] = 2
    updated = backend.put_doc(db, doc)
    assert updated["rev"].startswith("2-")
    assert backend.get_doc(db, "a")["x"] == 2
    old = backend.get_doc(db, "a", {"rev": created["rev"]})
    assert old["x"] == 1
    deleted = backend.delete_doc(db, "a", updated["rev"])
    assert deleted["ok"] and deleted["rev"].startswith("3-")
    with pytest.raises(errors.DocumentNotFound) as info:
        backend.get_doc(db, "a")
    # CouchDB says "deleted"; PouchDB Server says "missing" for a tombstone too.
    assert info.value.reason == ("missing" if http_server.kind == "pouchdb" else "deleted")


def test_missing_document(backend: HTTPBackend, db: str, http_server: Server) -> None:
    with pytest.raises(errors.DocumentNotFound) as info:
        backend.get_doc(db, "nope")
    exc = info.value
    assert isinstance(exc, KeyError) and isinstance(exc, errors.NotFound)
    assert exc.status == 404 and exc.error == "not_found" and exc.reason == "missing"
    assert exc.method == "GET" and exc.url == f"{http_server.url}/{db}/nope"
    with pytest.raises(errors.DocumentNotFound):
        backend.delete_doc(db, "nope", "1-0123456789abcdef0123456789abcdef")


def test_stale_rev_is_conflict(backend: HTTPBackend, db: str, http_server: Server) -> None:
    """A write on a stale _rev is a Conflict. A cluster may instead accept it on a copy
    behind the others (202 Accepted): then it is kept, as a conflict revision."""
    strict = "strict_conflicts" in http_server.capabilities
    first = backend.put_doc(db, {"_id": "c", "v": 1})
    second = backend.put_doc(db, {"_id": "c", "_rev": first["rev"], "v": 2})
    kept = {second["rev"]}
    stale_writes = [
        lambda: backend.put_doc(db, {"_id": "c", "_rev": first["rev"], "v": 3}),
        lambda: backend.put_doc(db, {"_id": "c", "v": 4}),  # no _rev on an existing document
        lambda: backend.delete_doc(db, "c", first["rev"]),
    ]
    for write in stale_writes:
        try:
            answer = write()
        except errors.Conflict as exc:
            assert exc.status == 409 and exc.error == "conflict"
            assert exc.method in ("PUT", "DELETE")
        else:
            assert not strict, f"a write on a stale _rev was accepted: {answer}"
            kept.add(answer["rev"])

    def leaves() -> set[str]:
        doc = backend.get_doc(db, "c", {"conflicts": True, "deleted_conflicts": True})
        if strict:
            assert (doc["_rev"], doc["v"]) == (second["rev"], 2)
        return {doc["_rev"], *doc.get("_conflicts", []), *doc.get("_deleted_conflicts", [])}

    deadline = time.monotonic() + 30  # until the copy that took a stale write is replicated
    while not kept <= leaves() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert kept <= leaves()


def test_put_doc_bad_input_is_refused_locally(backend: HTTPBackend, db: str) -> None:
    with pytest.raises(TypeError, match="JSON"):
        backend.put_doc(db, {"_id": "bad", "x": object()})
    with pytest.raises(ValueError):
        backend.put_doc(db, {"x": 1})
    with pytest.raises(TypeError):
        backend.put_doc(db, ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        backend.delete_doc(db, "x", "")
    with pytest.raises(errors.DocumentNotFound):
        backend.get_doc(db, "bad")


def test_get_doc_options(backend: HTTPBackend, db: str) -> None:
    r1 = backend.put_doc(db, {"_id": "o", "v": 1})
    r2 = backend.put_doc(db, {"_id": "o", "_rev": r1["rev"], "v": 2})
    with_revs = backend.get_doc(db, "o", {"revs": True})
    assert with_revs["_revisions"]["start"] == 2 and len(with_revs["_revisions"]["ids"]) == 2
    all_leaves = backend.get_doc(db, "o", {}, open_revs="all")
    assert [leaf["ok"]["_rev"] for leaf in all_leaves] == [r2["rev"]]
    chosen = backend.get_doc(db, "o", open_revs=[r2["rev"]])
    assert chosen[0]["ok"]["v"] == 2
    none = backend.get_doc(db, "o", {"revs": None, "conflicts": False})
    assert "_revisions" not in none and "_conflicts" not in none


def test_conflicts_via_new_edits_false(backend: HTTPBackend, db: str) -> None:
    backend.put_doc(db, {"_id": "k", "v": "base"})
    replicated = [
        {
            "_id": "k",
            "_rev": "1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "_revisions": {"start": 1, "ids": ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]},
            "v": "other",
        },
        {"_id": "fresh", "_rev": "3-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "v": "new"},
    ]
    results = backend.bulk_docs(db, replicated, new_edits=False)
    assert [r for r in results if "error" in r] == []
    doc = backend.get_doc(db, "k", {"conflicts": True})
    assert len(doc["_conflicts"]) == 1
    assert backend.get_doc(db, "fresh")["_rev"] == "3-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    leaves = backend.get_doc(db, "k", {}, open_revs="all")
    assert len(leaves) == 2


def test_bulk_docs_one_result_per_document(
    backend: HTTPBackend, db: str, http_server: Server
) -> None:
    strict = "strict_conflicts" in http_server.capabilities
    first = backend.put_doc(db, {"_id": "b1", "v": 0})
    results = backend.bulk_docs(
        db,
        [
            {"_id": "b1", "v": 1},  # conflict: no _rev
            {"_id": "b2", "v": 2},
            {"_id": "b1", "_rev": first["rev"], "v": 3, "_deleted": True},
            {"v": 4},  # the server picks the id
        ],
    )
    assert len(results) == 4
    assert results[0]["id"] == "b1"
    if strict or "error" in results[0]:
        assert results[0]["error"] == "conflict"
    else:  # a cluster copy without b1 yet took it as a new document (a conflict later)
        assert results[0]["ok"]
    assert results[1]["ok"] and results[1]["id"] == "b2"
    assert results[2]["ok"]
    assert results[3]["ok"] and results[3]["id"]
    if strict:
        with pytest.raises(errors.DocumentNotFound):
            backend.get_doc(db, "b1")


# -- queries ------------------------------------------------------------------------


def test_all_docs_params(backend: HTTPBackend, db: str) -> None:
    fill(backend, db, 5)
    page = backend.all_docs(db, {"startkey": "doc01", "endkey": "doc03", "include_docs": True})
    assert [row["id"] for row in page["rows"]] == ["doc01", "doc02", "doc03"]
    assert page["rows"][0]["doc"]["n"] == 1
    page = backend.all_docs(
        db, {"startkey": "doc03", "inclusive_end": False, "endkey": "doc01", "descending": True}
    )
    assert [row["id"] for row in page["rows"]] == ["doc03", "doc02"]
    page = backend.all_docs(db, {"limit": 2, "skip": 1, "include_docs": False})
    assert [row["id"] for row in page["rows"]] == ["doc01", "doc02"]
    assert "doc" not in page["rows"][0]
    page = backend.all_docs(db, {"key": "doc04"})
    assert [row["id"] for row in page["rows"]] == ["doc04"]
    assert page["total_rows"] == 5


def test_all_docs_sees_ids_above_latin1(backend: HTTPBackend, db: str) -> None:
    """PouchDB Server stops _all_docs at "\xff" unless told otherwise; the backend tells it."""
    ids = ["a", "ÿ", "Ā", "Ωmega", "文字", "🛋"]  # the same order in UTF-8 and UTF-16
    backend.bulk_docs(db, [{"_id": i} for i in ids], w=full_quorum(backend))
    rows = backend.all_docs(db)["rows"]
    assert [r["id"] for r in rows] == ids
    down = backend.all_docs(db, {"descending": True})["rows"]
    assert [r["id"] for r in down] == ids[::-1]
    after = backend.all_docs(db, {"startkey": "Ā", "limit": 3})["rows"]
    assert [r["id"] for r in after] == ["Ā", "Ωmega", "文字"]
    before = backend.all_docs(db, {"startkey": "文字", "descending": True, "skip": 1})["rows"]
    assert [r["id"] for r in before] == ["Ωmega", "Ā", "ÿ", "a"]
    assert backend.all_docs(db, {"key": "🛋"})["rows"][0]["id"] == "🛋"
    assert backend.db_info(db)["doc_count"] == len(ids)


def test_find_sees_ids_above_latin1(backend: HTTPBackend, db: str) -> None:
    """Unindexed _find on PouchDB Server scans _all_docs with the same "\xff" stop."""
    ids = ["a", "Ā", "文字", "🛋"]
    docs = [{"_id": i, "v": n % 2, "n": n} for n, i in enumerate(ids)]
    backend.bulk_docs(db, docs, w=full_quorum(backend))
    found = backend.find(db, {"selector": {"v": 1}})
    assert sorted(d["_id"] for d in found["docs"]) == sorted(["Ā", "🛋"])
    # keyset paging by _id, as a pager does on servers without bookmarks
    keyset = {"selector": {"_id": {"$gt": "a"}}, "fields": ["_id"], "sort": [{"_id": "asc"}]}
    assert [d["_id"] for d in backend.find(db, keyset)["docs"]] == ["Ā", "文字", "🛋"]
    keyset["sort"] = [{"_id": "desc"}]
    assert [d["_id"] for d in backend.find(db, keyset)["docs"]] == ["🛋", "文字", "Ā"]
    backend.create_index(db, {"index": {"fields": ["n"]}})
    query = {"selector": {"n": {"$gte": 0}}, "sort": [{"n": "desc"}]}

    def ordered() -> list[str] | None:
        # On a cluster the index's design document reaches the copies the query reads
        # eventually (a 400 no_usable_index until then): what is checked is the order.
        try:
            return [d["_id"] for d in backend.find(db, query)["docs"]]
        except errors.BadRequest as exc:
            if "read_your_writes" in backend.capabilities or exc.error != "no_usable_index":
                raise
            return None

    read_your_writes = "read_your_writes" in backend.capabilities
    assert (
        settled(ordered, lambda got: got is not None, read_your_writes=read_your_writes)
        == (ids[::-1])
    )


def test_all_docs_keys_posts(backend: HTTPBackend, db: str) -> None:
    fill(backend, db, 3)
    page = backend.all_docs(db, {"include_docs": True}, keys=["doc02", "zzz", "doc00"])
    rows = page["rows"]
    assert [row.get("id") for row in rows[:1]] == ["doc02"]
    assert rows[1]["key"] == "zzz" and rows[1]["error"] == "not_found"
    assert rows[2]["doc"]["n"] == 0


def test_find_and_indexes(backend: HTTPBackend, db: str, http_server: Server) -> None:
    fill(backend, db, 6)
    index: dict[str, Any] = {"index": {"fields": ["n"]}, "ddoc": "by-n", "name": "n-idx"}
    w = full_quorum(backend)
    if w is not None:  # _index takes w= in its body: every copy lists the index at once
        index["w"] = w
    created = backend.create_index(db, {**index, "type": "json"})
    assert created["result"] == "created" and created["id"] == "_design/by-n"
    again = backend.create_index(db, index)
    assert again["result"] == "exists"
    names = [ix["name"] for ix in backend.get_indexes(db)["indexes"]]
    assert "n-idx" in names
    found = backend.find(
        db, {"selector": {"n": {"$gte": 3}}, "fields": ["_id", "n"], "sort": [{"n": "asc"}]}
    )
    assert [d["n"] for d in found["docs"]] == [3, 4, 5]
    assert backend.delete_index(db, "_design/by-n", "n-idx")["ok"]
    names = settled(
        lambda: [ix["name"] for ix in backend.get_indexes(db)["indexes"]],
        lambda names: "n-idx" not in names,
        read_your_writes="read_your_writes" in http_server.capabilities,
    )
    assert "n-idx" not in names
    with pytest.raises(errors.NotFound):
        backend.delete_index(db, "by-n", "n-idx")


def test_views(backend: HTTPBackend, db: str) -> None:
    fill(backend, db, 6)
    backend.put_doc(db, dict(DESIGN))
    total = backend.view(db, "d", "by_n")
    assert total["rows"][0]["value"] == 6
    rows = backend.view(db, "_design/d", "by_n", {"reduce": False, "startkey": 2, "endkey": 4})
    assert [(r["key"], r["value"]) for r in rows["rows"]] == [
        (2, "doc02"),
        (3, "doc03"),
        (4, "doc04"),
    ]
    by_key = backend.view(db, "d", "by_n", {"reduce": False, "key": 5, "include_docs": True})
    assert [r["doc"]["_id"] for r in by_key["rows"]] == ["doc05"]
    keyed = backend.view(db, "d", "by_n", {"reduce": False}, keys=[4, 0, 99])
    assert [r["id"] for r in keyed["rows"]] == ["doc04", "doc00"]
    grouped = backend.view(db, "d", "by_n", {"group": True, "limit": 2})
    assert grouped["rows"] == [{"key": 0, "value": 1}, {"key": 1, "value": 1}]
    with pytest.raises(errors.NotFound):
        backend.view(db, "d", "no_such_view")
    with pytest.raises(errors.NotFound):
        backend.view(db, "nodesign", "by_n")


def test_python_view_is_not_supported(backend: HTTPBackend, db: str) -> None:
    with pytest.raises(errors.NotSupported, match="JavaScript design documents"):
        backend.python_view(db, lambda doc: [(doc["_id"], 1)])


def test_revs_diff(backend: HTTPBackend, db: str, http_server: Server) -> None:
    have = backend.put_doc(db, {"_id": "r", "v": 1})
    diff = settled(  # a cluster answers from copies that may lag the write
        lambda: backend.revs_diff(
            db, {"r": [have["rev"], "2-cccccccccccccccccccccccccccccccc"], "gone": ["1-dd"]}
        ),
        lambda diff: len(diff["r"]["missing"]) == 1,
        read_your_writes="read_your_writes" in http_server.capabilities,
    )
    assert diff["r"]["missing"] == ["2-cccccccccccccccccccccccccccccccc"]
    assert diff["gone"]["missing"] == ["1-dd"]


# -- attachments -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plain.txt", "dir/file name.bin", "ünï?#%.dat"])
def test_attachments(backend: HTTPBackend, db: str, name: str) -> None:
    data = bytes(range(256)) * 4
    created = backend.put_attachment(db, "holder", name, data, "application/octet-stream", rev=None)
    assert created["ok"]
    body, ctype = backend.get_attachment(db, "holder", name)
    assert body == data and ctype.startswith("application/octet-stream")
    doc = backend.get_doc(db, "holder")
    assert list(doc["_attachments"]) == [name]
    replaced = backend.put_attachment(
        db, "holder", name, b"text now", "text/plain", rev=created["rev"]
    )
    body, ctype = backend.get_attachment(db, "holder", name, rev=replaced["rev"])
    assert body == b"text now" and ctype.startswith("text/plain")
    try:
        stale = backend.put_attachment(db, "holder", name, b"x", "text/plain", rev=created["rev"])
    except errors.Conflict:
        pass
    else:  # a cluster's copy behind the others may take it: a conflict, which loses
        assert "strict_conflicts" not in backend.capabilities, f"stale _rev accepted: {stale}"
    removed = backend.delete_attachment(db, "holder", name, rev=replaced["rev"])
    assert removed["ok"]
    with pytest.raises(errors.NotFound):
        backend.get_attachment(db, "holder", name)
    assert "_attachments" not in backend.get_doc(db, "holder")


def test_attachment_bad_input(backend: HTTPBackend, db: str) -> None:
    with pytest.raises(TypeError):
        backend.put_attachment(db, "d", "a", "text", "text/plain", rev=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        backend.get_attachment(db, "d", "")


# -- administration ---------------------------------------------------------------------


def test_security_round_trip(backend: HTTPBackend, db: str, http_server: Server) -> None:
    security = {
        "admins": {"names": ["boss"], "roles": []},
        "members": {"names": [], "roles": ["staff"]},
    }
    assert backend.put_security(db, security)["ok"]
    ryw = "read_your_writes" in http_server.capabilities  # a cluster reads one shard's copy
    got = settled(lambda: backend.get_security(db), security.__eq__, read_your_writes=ryw)
    assert got == security


def test_revs_limit(backend: HTTPBackend, db: str, http_server: Server) -> None:
    if http_server.kind == "pouchdb":
        # PouchDB Server routes /db/_revs_limit to a document: refused, with the reason.
        with pytest.raises(errors.NotSupported, match="_revs_limit"):
            backend.get_revs_limit(db)
        with pytest.raises(errors.NotSupported):
            backend.set_revs_limit(db, 10)
    else:
        assert backend.set_revs_limit(db, 37)["ok"]
        ryw = "read_your_writes" in http_server.capabilities  # a cluster reads one shard's copy
        assert settled(lambda: backend.get_revs_limit(db), (37).__eq__, read_your_writes=ryw) == 37
    with pytest.raises(ValueError):
        backend.set_revs_limit(db, 0)


def test_compact_and_view_cleanup(backend: HTTPBackend, db: str) -> None:
    fill(backend, db, 2)
    assert backend.compact(db)["ok"]
    assert backend.view_cleanup(db)["ok"]


def test_partitions(backend: HTTPBackend, http_server: Server) -> None:
    http_server.require("partitions")
    name = unique_name("part")
    backend.create_db(name, partitioned=True)
    try:
        assert backend.db_info(name)["props"].get("partitioned") is True
        backend.bulk_docs(
            name,
            [
                {"_id": "p1:a", "n": 1},
                {"_id": "p1:b", "n": 2},
                {"_id": "p2:a", "n": 3},
            ],
        )
        backend.put_doc(
            name,
            {
                "_id": "_design/pd",
                "views": {"by_n": {"map": "function (doc) { emit(doc.n, null); }"}},
            },
        )
        # A cluster's listings may answer from a copy behind the writes: settled.
        ryw = "read_your_writes" in http_server.capabilities
        info = settled(lambda: backend.partition_info(name, "p1"),
                       lambda i: i["doc_count"] == 2, read_your_writes=ryw)  # fmt: skip
        assert info["doc_count"] == 2
        rows = settled(lambda: backend.all_docs(name, partition="p1")["rows"],
                       lambda r: len(r) == 2, read_your_writes=ryw)  # fmt: skip
        assert [r["id"] for r in rows] == ["p1:a", "p1:b"]
        found = settled(
            lambda: backend.find(name, {"selector": {"n": {"$gt": 0}}}, partition="p2")["docs"],
            lambda docs: len(docs) == 1,
            read_your_writes=ryw,
        )
        assert [d["_id"] for d in found] == ["p2:a"]
        view = settled(lambda: backend.view(name, "pd", "by_n", partition="p1")["rows"],
                       lambda r: len(r) == 2, read_your_writes=ryw)  # fmt: skip
        assert [r["id"] for r in view] == ["p1:a", "p1:b"]
    finally:
        backend.delete_db(name)


def test_partition_names_are_checked(backend: HTTPBackend, db: str) -> None:
    with pytest.raises(ValueError):
        backend.all_docs(db, partition="_bad")
    with pytest.raises(ValueError):
        backend.partition_info(db, "")


def test_changes_delegates_to_the_feed_module(backend: HTTPBackend, db: str) -> None:
    fill(backend, db, 3)
    stream = backend.changes(db, {"feed": "normal"})
    try:
        ids = sorted(row["id"] for row in stream)
    finally:
        stream.close()
    assert ids == ["doc00", "doc01", "doc02"]
    assert stream.last_seq is not None


def test_db_updates_delegates_to_the_feed_module(backend: HTTPBackend, http_server: Server) -> None:
    http_server.require("db_updates")
    name = unique_name("upd")
    backend.create_db(name)
    try:
        # _global_changes is written in batches: poll until the event is there.
        deadline = time.monotonic() + 60
        while True:
            stream = backend.db_updates({"feed": "normal"})
            try:
                names = {row.get("db_name") for row in stream}
            finally:
                stream.close()
            if name in names or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert name in names
    finally:
        backend.delete_db(name)


# -- hostile ids and names -----------------------------------------------------------------

HOSTILE_IDS = [
    "a/b",
    "../other",
    "..",
    ".",
    "a/../../_all_dbs",
    "q?include_docs=true",
    "frag#ment",
    "100%",
    "%2F",
    "%",
    "with space",
    "plus+sign",
    "ünïcødé/文字",
    "emoji 🛋",
    "Ā",
    "文字",
    "🛋",
    "_design/x/y",
    "_design/..",
    "_local/a b",
    "_local/../x",
    "trailing/",
    "semi;colon",
    "back\\slash",
]


@pytest.mark.parametrize("docid", HOSTILE_IDS)
def test_hostile_ids_round_trip_to_exactly_that_document(
    backend: HTTPBackend, db: str, docid: str
) -> None:
    w = full_quorum(backend)  # every copy holds each write: the reads after it see it
    quorum = None if w is None else {"w": w}
    decoy = backend.put_doc(db, {"_id": "decoy", "mark": "decoy"}, quorum)
    assert decoy["ok"]
    result = backend.put_doc(db, {"_id": docid, "mark": docid}, quorum)
    assert result["id"] == docid
    doc = backend.get_doc(db, docid)
    assert doc["_id"] == docid and doc["mark"] == docid
    doc["mark"] = "updated"
    backend.put_doc(db, doc, quorum)
    assert backend.get_doc(db, docid)["mark"] == "updated"
    assert backend.get_doc(db, "decoy")["mark"] == "decoy"
    if not docid.startswith("_local/"):
        ids = [row["id"] for row in backend.all_docs(db)["rows"]]
        assert sorted(ids) == sorted(["decoy", docid])
    latest = backend.get_doc(db, docid)
    backend.delete_doc(db, docid, latest["_rev"], quorum)
    with pytest.raises(errors.DocumentNotFound):
        backend.get_doc(db, docid)
    assert backend.get_doc(db, "decoy")["mark"] == "decoy"


@pytest.mark.parametrize(
    "docid", ["_all_docs", "_changes", "_design/", "_local/", "_bulk_docs", "_find", ""]
)
def test_reserved_ids_are_refused_before_any_request(
    backend: HTTPBackend, db: str, docid: str
) -> None:
    with pytest.raises(ValueError):
        backend.get_doc(db, docid)
    with pytest.raises(ValueError):
        backend.put_doc(db, {"_id": docid})
    with pytest.raises(ValueError):
        backend.delete_doc(db, docid, "1-abc")


def test_a_relative_id_cannot_reach_another_database(backend: HTTPBackend, db: str) -> None:
    other = unique_name("other")
    backend.create_db(other)
    try:
        backend.put_doc(db, {"_id": f"../{other}/victim", "v": 1})
        backend.put_doc(db, {"_id": f"../{other}", "v": 1})
        assert backend.db_info(other)["doc_count"] == 0
        assert backend.db_info(db)["doc_count"] == 2
        with pytest.raises(errors.DocumentNotFound):
            backend.get_doc(other, "victim")
    finally:
        backend.delete_db(other)


@pytest.mark.parametrize("suffix", ["a/b", "$x", "(p)", "p+q-r_s", "a/_all_docs/c"])
def test_database_names_are_encoded(backend: HTTPBackend, http_server: Server, suffix: str) -> None:
    name = unique_name("n") + suffix
    backend.create_db(name)
    try:
        info = backend.db_info(name)
        if http_server.kind != "pouchdb" or "/" not in suffix:
            assert info["db_name"] == name
            assert name in backend.all_dbs()
        # else: PouchDB Server 4.2.0 stores "a/b" as "ab" (it strips "/"); the
        # round trip below through the encoded name still reaches this database.
        backend.put_doc(name, {"_id": "inside", "v": suffix})
        assert backend.get_doc(name, "inside")["v"] == suffix
        ryw = "read_your_writes" in http_server.capabilities
        count = settled(lambda: backend.db_info(name)["doc_count"], bool, read_your_writes=ryw)
        assert count == 1
        with pytest.raises(errors.PreconditionFailed):
            backend.create_db(name)
    finally:
        backend.delete_db(name)
    with pytest.raises(errors.NotFound):
        backend.db_info(name)


@settings(max_examples=60, deadline=None)
@given(
    docid=st.text(min_size=1, max_size=40).filter(lambda s: not s.startswith("_")),
    value=st.text(max_size=20),
)
def test_any_id_round_trips_to_its_own_document(
    pouchdb_server: Server, docid: str, value: str
) -> None:
    """Property, on PouchDB Server: any non-reserved id is one document, reached exactly."""
    backend = HTTPBackend(pouchdb_server.url, auth=pouchdb_server.auth)
    name = unique_name("prop")
    backend.create_db(name)
    try:
        backend.put_doc(name, {"_id": docid, "v": value})
        assert backend.get_doc(name, docid) == {
            "_id": docid,
            "_rev": backend.get_doc(name, docid)["_rev"],
            "v": value,
        }
        assert [row["id"] for row in backend.all_docs(name)["rows"]] == [docid]
    finally:
        backend.delete_db(name)
        backend.close()
