"""The memory and SQLite backends against CouchDB's semantics (one suite, both backends)."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import settee
from settee._validate import SYSTEM_DATABASES
from settee.backends import open_backend
from settee.backends._local import js
from settee.backends._local.writes import result_error
from settee.backends.base import Backend, ChangesStream
from settee.errors import (
    ERROR_CLASSES,
    BadRequest,
    Conflict,
    CouchError,
    DocumentNotFound,
    Forbidden,
    NotFound,
    NotSupported,
    PreconditionFailed,
)

DB = "db"


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    url = "memory:" if request.param == "memory" else "sqlite:///" + str(tmp_path / "store.db")
    b = open_backend(url)
    b.create_db(DB)
    yield b
    b.close()


def put(b: Backend, doc: dict[str, Any]) -> str:
    rev: str = b.put_doc(DB, doc)["rev"]
    return rev


# -- server -------------------------------------------------------------------


def test_server_info_and_dbs(backend: Backend) -> None:
    info = backend.server_info()
    assert info["couchdb"] == "Welcome"
    assert info["vendor"]["name"] == "settee"
    backend.create_db("b-second")
    backend.create_db("a_first")
    assert backend.all_dbs() == ["a_first", "b-second", DB]
    with pytest.raises(PreconditionFailed) as exc:
        backend.create_db("a_first")
    assert exc.value.error == "file_exists"
    backend.delete_db("a_first")
    with pytest.raises(NotFound) as missing:
        backend.delete_db("a_first")
    assert missing.value.reason == "Database does not exist."
    with pytest.raises(BadRequest):
        backend.create_db("Bad Name")
    uuids = backend.uuids(3)
    assert len(set(uuids)) == 3 and all(len(u) == 32 for u in uuids)


@pytest.mark.parametrize("name", sorted(SYSTEM_DATABASES))
def test_system_databases_can_be_created_and_opened(backend: Backend, name: str) -> None:
    # CouchDB has _users, _replicator and _global_changes; the local rule is CouchDB's.
    backend.create_db(name)
    assert name in backend.all_dbs()
    assert backend.db_info(name)["db_name"] == name
    backend.put_doc(name, {"_id": "x"})
    assert backend.get_doc(name, "x")["_id"] == "x"


@pytest.mark.parametrize("name", ["Bad Name", "_other", "1db", "", "a" * 239])
def test_ill_named_databases_are_refused_as_couchdb_does(backend: Backend, name: str) -> None:
    with pytest.raises(BadRequest) as exc:
        backend.create_db(name)
    assert exc.value.error == "illegal_database_name"  # CouchDB's answer over HTTP


@pytest.mark.parametrize("name", ["_replicator", "_users"])
def test_client_opens_system_databases_locally(tmp_path: Path, name: str) -> None:
    for url in ("memory:", "sqlite:///" + str(tmp_path / "sys.db")):
        client = settee.connect(url)
        client.create_database(name)
        assert client[name].database_name == name
        client.disconnect()


def test_client_refuses_a_bad_name_as_over_http(tmp_path: Path) -> None:
    def refusal(url: str) -> str:
        client = settee.connect(url)
        try:
            with pytest.raises(ValueError) as exc:
                client.create_database("Bad Name")
        finally:
            client.disconnect()
        return str(exc.value)

    over_http = refusal("http://127.0.0.1:9")  # refused before any request
    assert refusal("memory:") == over_http
    assert refusal("sqlite:///" + str(tmp_path / "bad.db")) == over_http


def test_deleted_database_is_not_found(backend: Backend) -> None:
    put(backend, {"_id": "a"})
    backend.delete_db(DB)
    for call in (
        lambda: backend.get_doc(DB, "a"),
        lambda: backend.all_docs(DB),
        lambda: backend.db_info(DB),
        lambda: backend.bulk_docs(DB, [{"_id": "b"}]),
        lambda: backend.changes(DB),
    ):
        with pytest.raises(NotFound):
            call()
    backend.create_db(DB)
    assert backend.db_info(DB)["doc_count"] == 0  # a new database starts empty


def test_db_info(backend: Backend) -> None:
    rev = put(backend, {"_id": "a"})
    put(backend, {"_id": "b"})
    backend.delete_doc(DB, "a", rev)
    put(backend, {"_id": "_local/x"})
    info = backend.db_info(DB)
    assert info["db_name"] == DB
    assert (info["doc_count"], info["doc_del_count"], info["update_seq"]) == (1, 1, 3)
    assert info["props"] == {}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_options(kind: str, tmp_path: Path) -> None:
    url = "memory:" if kind == "memory" else "sqlite:///" + str(tmp_path / "o.db")
    b = open_backend(url, auth=None, timeout=5, max_retries=3, backoff_factor=0.1)
    assert b.kind == kind
    assert "python_views" in b.capabilities
    assert ("multiprocess" in b.capabilities) is (kind == "sqlite")
    b.close()
    with pytest.raises(TypeError):
        open_backend(url, frobnicate=True)


def test_memory_urls() -> None:
    one = open_backend("memory:shared-test")
    two = open_backend("memory:shared-test")
    private = open_backend("memory:")
    one.create_db("x")
    assert "x" in two.all_dbs()
    assert "x" not in private.all_dbs()
    one.delete_db("x")


def test_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rel = open_backend("sqlite:///rel.db")
    assert (tmp_path / "rel.db").exists()
    rel.close()
    absolute = open_backend("sqlite:///" + str(tmp_path / "abs.db"))
    assert absolute.url == "sqlite:///" + str(tmp_path / "abs.db")
    absolute.close()
    for bad in ("sqlite://rel.db", "sqlite:///", "sqlite:///:memory:", "sqlite:///no/such/dir.db"):
        with pytest.raises(ValueError):
            open_backend(bad)


# -- documents ----------------------------------------------------------------


def test_create_read_update_conflict(backend: Backend) -> None:
    rev1 = put(backend, {"_id": "a", "x": 1})
    assert rev1.startswith("1-") and len(rev1) == 34
    assert backend.get_doc(DB, "a") == {"_id": "a", "_rev": rev1, "x": 1}
    rev2 = put(backend, {"_id": "a", "_rev": rev1, "x": 2})
    assert rev2.startswith("2-")
    with pytest.raises(Conflict) as exc:
        put(backend, {"_id": "a", "_rev": rev1, "x": 3})
    assert (exc.value.error, exc.value.reason, exc.value.status) == (
        "conflict",
        "Document update conflict.",
        409,
    )
    with pytest.raises(Conflict):
        put(backend, {"_id": "a", "x": 3})  # no _rev on an existing document
    with pytest.raises(Conflict):
        put(backend, {"_id": "new", "_rev": rev1})  # a _rev for a document that does not exist
    assert backend.get_doc(DB, "a", {"rev": rev1})["x"] == 1  # old revisions until compaction


def test_identical_edits_get_identical_revisions(backend: Backend) -> None:
    backend.create_db("other")
    a = backend.put_doc(DB, {"_id": "same", "v": [1, 2]})["rev"]
    b = backend.put_doc("other", {"_id": "same", "v": [1, 2]})["rev"]
    assert a == b


def test_missing_and_deleted(backend: Backend) -> None:
    with pytest.raises(DocumentNotFound) as missing:
        backend.get_doc(DB, "nope")
    assert (missing.value.error, missing.value.reason) == ("not_found", "missing")
    assert isinstance(missing.value, KeyError)
    rev = put(backend, {"_id": "a", "x": 1})
    deleted = backend.delete_doc(DB, "a", rev)
    assert deleted["rev"].startswith("2-")
    with pytest.raises(DocumentNotFound) as gone:
        backend.get_doc(DB, "a")
    assert gone.value.reason == "deleted"
    tomb = backend.get_doc(DB, "a", {"rev": deleted["rev"]})
    assert tomb == {"_id": "a", "_rev": deleted["rev"], "_deleted": True}
    with pytest.raises(DocumentNotFound) as already:
        backend.delete_doc(DB, "a", deleted["rev"])  # CouchDB's DELETE answers 404 here
    assert already.value.reason == "deleted"
    with pytest.raises(DocumentNotFound):
        backend.delete_doc(DB, "never", "1-" + "a" * 32)
    again = put(backend, {"_id": "a", "x": 2})  # recreating extends the tombstone
    assert again.startswith("3-")
    assert (
        backend.get_doc(DB, "a", {"revs": True})["_revisions"]["ids"][1]
        == deleted["rev"].split("-")[1]
    )


def test_bulk_docs_results_and_validation(backend: Backend) -> None:
    rev = put(backend, {"_id": "exists"})
    results = backend.bulk_docs(
        DB,
        [
            {"_id": "one", "v": 1},
            {"_id": "exists", "v": 2},
            {"v": 3},
            {"_id": "bad", "_foo": 1},
            {"_id": "_reserved"},
            {"_id": "exists", "_rev": rev, "v": 4},
        ],
    )
    assert results[0]["ok"] and results[0]["id"] == "one"
    assert results[1] == {
        "id": "exists",
        "error": "conflict",
        "reason": "Document update conflict.",
    }
    assert results[2]["ok"] and len(results[2]["id"]) == 32
    assert results[3]["error"] == "doc_validation"
    assert results[4]["error"] == "illegal_docid"
    assert results[5]["ok"] and results[5]["rev"].startswith("2-")
    with pytest.raises(BadRequest):
        backend.put_doc(DB, {"_id": "x", "bad": float("nan")})


def test_documents_may_have_error_and_reason_fields(backend: Backend) -> None:
    result = backend.bulk_docs(DB, [{"_id": "e", "error": "x", "reason": "y"}])[0]
    assert result["ok"]
    assert backend.get_doc(DB, "e")["error"] == "x"


@pytest.mark.parametrize("name", sorted(ERROR_CLASSES))
def test_bulk_docs_error_results_raise_the_class_of_the_one_table(name: str) -> None:
    # The local fast paths class a result's error name as every other path does.
    exc = result_error({"id": "x", "error": name, "reason": "r"})
    expected = ERROR_CLASSES[name]
    assert type(exc) is (DocumentNotFound if expected is NotFound else expected)
    assert (exc.error, exc.reason) == (name, "r")


def test_bulk_docs_errors_are_not_bad_requests_by_default() -> None:
    assert type(result_error({"error": "forbidden", "reason": "no"})) is Forbidden
    assert type(result_error({"error": "sqlite_error", "reason": "disk"})) is CouchError


def test_same_document_twice_in_one_batch(backend: Backend) -> None:
    results = backend.bulk_docs(DB, [{"_id": "d", "v": 1}, {"_id": "d", "v": 2}])
    assert results[0]["ok"]
    assert results[1]["error"] == "conflict"
    first = results[0]["rev"]
    results = backend.bulk_docs(
        DB, [{"_id": "d", "_rev": first, "v": 2}, {"_id": "d", "_rev": first, "v": 3}]
    )
    assert results[0]["ok"] and results[1]["error"] == "conflict"
    assert backend.get_doc(DB, "d")["v"] == 2


def test_revs_and_revs_info_and_revs_limit(backend: Backend) -> None:
    rev = put(backend, {"_id": "a", "n": 0})
    for n in range(1, 6):
        rev = put(backend, {"_id": "a", "_rev": rev, "n": n})
    doc = backend.get_doc(DB, "a", {"revs": True, "revs_info": True})
    assert doc["_revisions"]["start"] == 6
    assert len(doc["_revisions"]["ids"]) == 6
    assert doc["_revs_info"][0] == {"rev": rev, "status": "available"}
    assert backend.get_revs_limit(DB) == 1000
    assert backend.set_revs_limit(DB, 3) == {"ok": True}
    assert backend.get_revs_limit(DB) == 3
    rev = put(backend, {"_id": "a", "_rev": rev, "n": 6})
    doc = backend.get_doc(DB, "a", {"revs": True})
    assert doc["_revisions"]["start"] == 7 and len(doc["_revisions"]["ids"]) == 3
    with pytest.raises(BadRequest):
        backend.set_revs_limit(DB, 0)


def test_new_edits_false_conflicts_and_winner(backend: Backend) -> None:
    base = put(backend, {"_id": "c", "v": "base"})
    base_hash = base.split("-")[1]
    out = backend.bulk_docs(
        DB,
        [
            {
                "_id": "c",
                "_rev": "2-aaa",
                "v": "A",
                "_revisions": {"start": 2, "ids": ["aaa", base_hash]},
            },
            {
                "_id": "c",
                "_rev": "2-bbb",
                "v": "B",
                "_revisions": {"start": 2, "ids": ["bbb", base_hash]},
            },
        ],
        new_edits=False,
    )
    assert out == []
    doc = backend.get_doc(DB, "c", {"conflicts": True})
    assert doc["_rev"] == "2-bbb" and doc["v"] == "B"  # highest rev id wins at equal depth
    assert doc["_conflicts"] == ["2-aaa"]
    # Writing a known revision again changes nothing.
    seq = backend.db_info(DB)["update_seq"]
    backend.bulk_docs(DB, [{"_id": "c", "_rev": "2-aaa", "v": "A"}], new_edits=False)
    assert backend.db_info(DB)["update_seq"] == seq
    # A deeper branch wins; deleting the winner hands over to the live leaf.
    backend.bulk_docs(
        DB,
        [
            {
                "_id": "c",
                "_rev": "3-ccc",
                "v": "C",
                "_revisions": {"start": 3, "ids": ["ccc", "aaa"]},
            }
        ],
        new_edits=False,
    )
    assert backend.get_doc(DB, "c")["_rev"] == "3-ccc"
    backend.delete_doc(DB, "c", "3-ccc")
    doc = backend.get_doc(DB, "c", {"conflicts": True, "deleted_conflicts": True})
    assert doc["_rev"] == "2-bbb"
    assert "_conflicts" not in doc
    assert doc["_deleted_conflicts"][0].startswith("4-")
    # open_revs
    leaves = backend.get_doc(DB, "c", open_revs="all")
    assert {next(iter(item.values()))["_rev"] for item in leaves} == {
        "2-bbb",
        doc["_deleted_conflicts"][0],
    }
    some = backend.get_doc(DB, "c", {"revs": True}, open_revs=["2-bbb", "9-zzz"])
    assert some[0]["ok"]["_revisions"] == {"start": 2, "ids": ["bbb", base_hash]}
    assert some[1] == {"missing": "9-zzz"}
    with pytest.raises(DocumentNotFound):
        backend.get_doc(DB, "nope", open_revs="all")
    assert backend.get_doc(DB, "nope", open_revs=["1-a"]) == [{"missing": "1-a"}]


def test_updating_a_conflict_branch(backend: Backend) -> None:
    backend.bulk_docs(
        DB, [{"_id": "d", "_rev": "1-aaa"}, {"_id": "d", "_rev": "1-bbb"}], new_edits=False
    )
    rev = put(backend, {"_id": "d", "_rev": "1-aaa", "fixed": True})  # edit the losing leaf
    assert rev.startswith("2-")
    assert backend.get_doc(DB, "d", {"conflicts": True})["_conflicts"] == ["1-bbb"]
    backend.delete_doc(DB, "d", "1-bbb")
    assert "_conflicts" not in backend.get_doc(DB, "d", {"conflicts": True})


def test_revs_diff(backend: Backend) -> None:
    rev = put(backend, {"_id": "a"})
    diff = backend.revs_diff(DB, {"a": [rev, "2-zzz", "5-yyy"], "b": ["1-x"], "c": []})
    assert diff == {
        "a": {"missing": ["2-zzz", "5-yyy"], "possible_ancestors": [rev]},
        "b": {"missing": ["1-x"]},
    }
    assert backend.revs_diff(DB, {"a": [rev]}) == {}


def test_local_documents(backend: Backend) -> None:
    r1 = backend.put_doc(DB, {"_id": "_local/ck", "seq": 1})
    assert r1 == {"ok": True, "id": "_local/ck", "rev": "0-1"}
    r2 = backend.put_doc(DB, {"_id": "_local/ck", "_rev": "0-1", "seq": 2})
    assert r2["rev"] == "0-2"
    # Unversioned, as in CouchDB 3.5: a stale _rev is the one sent + 1, the last write wins.
    assert backend.put_doc(DB, {"_id": "_local/ck", "_rev": "0-1", "seq": 3})["rev"] == "0-2"
    assert backend.get_doc(DB, "_local/ck") == {"_id": "_local/ck", "_rev": "0-2", "seq": 3}
    assert backend.put_doc(DB, {"_id": "_local/ck", "_rev": "0-7", "seq": 4})["rev"] == "0-8"
    assert backend.put_doc(DB, {"_id": "_local/ck", "seq": 5})["rev"] == "0-1"
    with pytest.raises(BadRequest):
        backend.put_doc(DB, {"_id": "_local/ck", "_rev": "1-abc", "seq": 6})
    assert backend.get_doc(DB, "_local/ck")["seq"] == 5
    assert backend.put_doc(DB, {"_id": "_local/ck", "_rev": "0-1", "seq": 2})["rev"] == "0-2"
    assert backend.all_docs(DB)["rows"] == []
    assert list(backend.changes(DB)) == []
    assert backend.db_info(DB)["update_seq"] == 0
    assert backend.delete_doc(DB, "_local/ck", "0-2")["rev"] == "0-0"
    with pytest.raises(DocumentNotFound):
        backend.get_doc(DB, "_local/ck")


# -- attachments --------------------------------------------------------------


def _digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def test_inline_attachments(backend: Backend) -> None:
    data = b"hello world"
    rev = put(
        backend,
        {
            "_id": "att",
            "_attachments": {
                "h.txt": {"content_type": "text/plain", "data": base64.b64encode(data).decode()}
            },
        },
    )
    stub = backend.get_doc(DB, "att")["_attachments"]["h.txt"]
    assert stub == {
        "content_type": "text/plain",
        "revpos": 1,
        "digest": _digest(data),
        "length": len(data),
        "stub": True,
    }
    full = backend.get_doc(DB, "att", {"attachments": True})["_attachments"]["h.txt"]
    assert base64.b64decode(full["data"]) == data and "stub" not in full
    # Stubs on update keep the attachment, with its revpos.
    doc = backend.get_doc(DB, "att")
    doc["more"] = 1
    rev2 = backend.put_doc(DB, doc)["rev"]
    assert backend.get_doc(DB, "att")["_attachments"]["h.txt"]["revpos"] == 1
    assert backend.get_attachment(DB, "att", "h.txt") == (data, "text/plain")
    # Leaving _attachments out drops them.
    rev3 = put(backend, {"_id": "att", "_rev": rev2})
    assert "_attachments" not in backend.get_doc(DB, "att")
    bad = backend.bulk_docs(
        DB, [{"_id": "att", "_rev": rev3, "_attachments": {"x": {"stub": True}}}]
    )
    assert bad[0]["error"] == "missing_stub"
    bad = backend.bulk_docs(DB, [{"_id": "z", "_attachments": {"x": {"data": "!!notb64"}}}])
    assert bad[0]["error"] == "bad_request"
    assert rev.startswith("1-")


def test_standalone_attachments(backend: Backend) -> None:
    created = backend.put_attachment(DB, "doc", "a.bin", b"\x00\x01", "application/x", rev=None)
    assert created["ok"] and created["rev"].startswith("1-")
    with pytest.raises(Conflict):
        backend.put_attachment(DB, "doc", "b.bin", b"x", "text/plain", rev=None)
    second = backend.put_attachment(DB, "doc", "b.bin", b"bb", "text/plain", rev=created["rev"])
    atts = backend.get_doc(DB, "doc")["_attachments"]
    assert sorted(atts) == ["a.bin", "b.bin"]
    assert atts["a.bin"]["revpos"] == 1 and atts["b.bin"]["revpos"] == 2
    assert backend.get_attachment(DB, "doc", "a.bin", rev=created["rev"]) == (
        b"\x00\x01",
        "application/x",
    )
    third = backend.delete_attachment(DB, "doc", "a.bin", rev=second["rev"])
    assert list(backend.get_doc(DB, "doc")["_attachments"]) == ["b.bin"]
    with pytest.raises(NotFound):
        backend.get_attachment(DB, "doc", "a.bin")
    with pytest.raises(NotFound):
        backend.delete_attachment(DB, "doc", "a.bin", rev=third["rev"])
    with pytest.raises(Conflict):
        backend.put_attachment(DB, "doc", "c", b"c", "text/plain", rev=created["rev"])
    with pytest.raises(NotFound):
        backend.get_attachment(DB, "missing-doc", "x")


# -- _all_docs ----------------------------------------------------------------


def _ids(body: dict[str, Any]) -> list[str]:
    return [row["id"] for row in body["rows"]]


def test_all_docs_raw_id_order_and_ranges(backend: Backend) -> None:
    ids = ["b", "B", "a", "é", "_design/x", "A1", "a1", "10", "9"]
    backend.bulk_docs(DB, [{"_id": i} for i in ids])
    body = backend.all_docs(DB)
    assert _ids(body) == sorted(ids)  # raw code point order, not ICU
    assert body["total_rows"] == len(ids) and body["offset"] == 0
    row = body["rows"][0]
    assert set(row) == {"id", "key", "value"} and set(row["value"]) == {"rev"}
    assert _ids(backend.all_docs(DB, {"startkey": "a", "endkey": "b"})) == ["a", "a1", "b"]
    assert _ids(
        backend.all_docs(DB, {"start_key": "a", "end_key": "b", "inclusive_end": False})
    ) == [
        "a",
        "a1",
    ]
    desc = backend.all_docs(DB, {"startkey": "b", "endkey": "a", "descending": True})
    assert _ids(desc) == ["b", "a1", "a"]
    assert desc["offset"] == 1  # only "é" comes before "b" going down
    page = backend.all_docs(DB, {"startkey": "A", "limit": 2, "skip": 1})
    assert _ids(page) == ["B", "_design/x"] and page["offset"] == 3
    assert _ids(backend.all_docs(DB, {"key": "a1"})) == ["a1"]
    assert backend.all_docs(DB, {"limit": 0})["rows"] == []
    assert _ids(backend.all_docs(DB, {"startkey": None, "endkey": "10"})) == ["10"]
    assert backend.all_docs(DB, {"startkey": [], "limit": 3})["rows"] == []
    assert len(backend.all_docs(DB, {"startkey": 5})["rows"]) == len(ids)
    assert backend.all_docs(DB, {"update_seq": True})["update_seq"] == len(ids)


def test_all_docs_keys_include_docs_and_conflicts(backend: Backend) -> None:
    rev = put(backend, {"_id": "gone"})
    backend.delete_doc(DB, "gone", rev)
    put(backend, {"_id": "here", "v": 1})
    backend.bulk_docs(DB, [{"_id": "here", "_rev": "1-zzz"}], new_edits=False)
    body = backend.all_docs(
        DB, {"include_docs": True, "conflicts": True}, keys=["here", "gone", "nope", "here"]
    )
    rows = body["rows"]
    assert body["offset"] is None
    assert rows[0]["doc"]["_id"] == "here" and rows[0]["doc"]["_conflicts"]
    assert rows[1]["value"]["deleted"] is True and rows[1]["doc"] is None
    assert rows[2] == {"key": "nope", "error": "not_found"}
    assert rows[3]["id"] == "here"
    assert _ids(backend.all_docs(DB, {"descending": True}, keys=["gone", "here"])) == [
        "here",
        "gone",
    ]


def test_all_docs_pages_beyond_one_scan(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": f"d{i:05d}"} for i in range(2500)])
    assert len(backend.all_docs(DB)["rows"]) == 2500
    assert len(backend.all_docs(DB, {"descending": True})["rows"]) == 2500
    assert backend.all_docs(DB, {"skip": 2499})["rows"][0]["id"] == "d02499"


# -- changes ------------------------------------------------------------------


def test_changes_normal(backend: Backend) -> None:
    r = backend.bulk_docs(DB, [{"_id": "a"}, {"_id": "b"}, {"_id": "c"}])
    backend.delete_doc(DB, "a", r[0]["rev"])
    stream = backend.changes(DB)
    assert isinstance(stream, ChangesStream)
    rows = list(stream)
    assert [(row["seq"], row["id"]) for row in rows] == [(2, "b"), (3, "c"), (4, "a")]
    assert rows[2]["deleted"] is True and rows[2]["changes"][0]["rev"].startswith("2-")
    assert stream.last_seq == 4 and stream.pending == 0
    limited = backend.changes(DB, {"since": 2, "limit": 1, "include_docs": True})
    rows = list(limited)
    assert [row["id"] for row in rows] == ["c"] and rows[0]["doc"]["_id"] == "c"
    assert limited.last_seq == 3 and limited.pending == 1
    assert [row["id"] for row in backend.changes(DB, {"descending": True})] == ["a", "c", "b"]
    now = backend.changes(DB, {"since": "now"})
    assert list(now) == [] and now.last_seq == 4
    raw = list(backend.changes(DB, {"since": 3}, raw=True))
    tomb = rows_rev(backend)
    assert raw == ['{"seq":4,"id":"a","changes":[{"rev":"' + tomb + '"}],"deleted":true}']
    with pytest.raises(BadRequest):
        backend.changes(DB, {"since": "garbage"})


def rows_rev(backend: Backend) -> str:
    return str(backend.get_doc(DB, "a", open_revs="all")[0]["ok"]["_rev"])


def test_changes_filters_and_styles(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": "a", "t": 1}, {"_id": "b", "t": 2}, {"_id": "_design/d"}])
    backend.bulk_docs(DB, [{"_id": "a", "_rev": "1-zzz", "t": 9}], new_edits=False)
    by_id = list(backend.changes(DB, body={"doc_ids": ["b"]}))
    assert [row["id"] for row in by_id] == ["b"]
    by_selector = list(backend.changes(DB, {"filter": "_selector"}, body={"selector": {"t": 2}}))
    assert [row["id"] for row in by_selector] == ["b"]
    design = list(backend.changes(DB, {"filter": "_design"}))
    assert [row["id"] for row in design] == ["_design/d"]
    all_leaves = [r for r in backend.changes(DB, {"style": "all_docs"}) if r["id"] == "a"]
    assert len(all_leaves[0]["changes"]) == 2
    conflicted = [
        r for r in backend.changes(DB, {"include_docs": True, "conflicts": True}) if r["id"] == "a"
    ]
    assert conflicted[0]["doc"]["_conflicts"]
    with pytest.raises(NotFound, match="no design document _design/ddoc"):
        backend.changes(DB, {"filter": "ddoc/filter"})  # missing: as CouchDB answers
    keep = "function(doc, req) { return doc.t === Number(req.query.t); }"
    backend.put_doc(DB, {"_id": "_design/ddoc", "filters": {"filter": keep}})
    if not js.available():
        with pytest.raises(NotSupported):
            backend.changes(DB, {"filter": "ddoc/filter"})  # JavaScript needs settee[js]
        return
    filtered = list(backend.changes(DB, {"filter": "ddoc/filter", "t": "2"}))
    assert [row["id"] for row in filtered] == ["b"]  # run in QuickJS, req.query passed


def _later(delay: float, fn: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        fn()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_longpoll_waits_for_a_change(backend: Backend) -> None:
    put(backend, {"_id": "first"})
    stream = backend.changes(DB, {"feed": "longpoll", "since": "now", "timeout": 10000})
    writer = _later(0.2, lambda: put(backend, {"_id": "second"}))
    rows = list(stream)
    writer.join()
    assert [row["id"] for row in rows] == ["second"]
    assert stream.last_seq == 2
    timed_out = backend.changes(DB, {"feed": "longpoll", "since": "now", "timeout": 50})
    assert list(timed_out) == [] and timed_out.last_seq == 2


def test_continuous_feed_and_close_from_another_thread(backend: Backend) -> None:
    put(backend, {"_id": "before"})
    stream = backend.changes(DB, {"feed": "continuous", "since": 0})
    seen: list[str] = []

    def consume() -> None:
        for row in stream:
            seen.append(row["id"])

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    for i in range(3):
        put(backend, {"_id": f"live{i}"})
    deadline = time.monotonic() + 10
    while len(seen) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == ["before", "live0", "live1", "live2"]
    stream.close()
    consumer.join(5)
    assert not consumer.is_alive()  # close() unblocked the waiting iterator
    stream.close()  # idempotent


def test_continuous_timeout_ends_the_feed(backend: Backend) -> None:
    put(backend, {"_id": "x"})
    stream = backend.changes(DB, {"feed": "continuous", "timeout": 100})
    assert [row["id"] for row in stream] == ["x"]
    assert stream.last_seq == 1


# -- Mango --------------------------------------------------------------------


def _people(b: Backend, count: int = 60) -> None:
    b.bulk_docs(
        DB,
        [
            {"_id": f"p{i:03d}", "age": i % 30, "name": f"n{i}", "even": i % 2 == 0}
            for i in range(count)
        ]
        + [{"_id": "_design/x", "age": 1}],
    )


def test_find_basics(backend: Backend) -> None:
    _people(backend)
    body = backend.find(DB, {"selector": {"age": {"$lt": 2}}})
    assert [d["_id"] for d in body["docs"]] == ["p000", "p001", "p030", "p031"]  # no design docs
    assert body["warning"]
    assert len(backend.find(DB, {"selector": {}})["docs"]) == 25  # CouchDB's default limit
    proj = backend.find(DB, {"selector": {"_id": "p005"}, "fields": ["name", "_id"]})
    assert proj["docs"] == [{"name": "n5", "_id": "p005"}]
    sorted_query = {"selector": {"age": {"$gte": 28}}, "sort": [{"age": "desc"}], "limit": 3}
    with pytest.raises(BadRequest) as no_index:  # as CouchDB: a sort needs an index
        backend.find(DB, sorted_query)
    assert no_index.value.error == "no_usable_index"
    backend.create_index(DB, {"index": {"fields": ["age"]}, "name": "age", "ddoc": "age"})
    desc = backend.find(DB, sorted_query)
    assert [(d["age"], d["_id"]) for d in desc["docs"]] == [
        (29, "p059"),
        (29, "p029"),
        (28, "p058"),
    ]
    skipped = backend.find(DB, {"selector": {"even": True}, "skip": 28, "limit": 5})
    assert [d["_id"] for d in skipped["docs"]] == ["p056", "p058"]
    stats = backend.find(DB, {"selector": {"age": 3}, "execution_stats": True})
    assert stats["execution_stats"]["results_returned"] == 2
    with pytest.raises(BadRequest):
        backend.find(DB, {"fields": ["a"]})
    with pytest.raises(BadRequest):
        backend.find(DB, {"selector": {"a": {"$nope": 1}}})


@pytest.mark.parametrize("sort", [None, ["age"], [{"age": "desc"}]])
def test_find_bookmark_paging_sees_everything_once(backend: Backend, sort: Any) -> None:
    _people(backend)
    query: dict[str, Any] = {"selector": {"age": {"$gte": 10}}, "limit": 7}
    if sort:
        query["sort"] = sort
        backend.create_index(DB, {"index": {"fields": ["age"]}, "name": "age", "ddoc": "age"})
    seen: list[str] = []
    bookmark = None
    for _ in range(20):
        page = backend.find(DB, {**query, "bookmark": bookmark} if bookmark else query)
        if not page["docs"]:
            break
        seen.extend(d["_id"] for d in page["docs"])
        bookmark = page["bookmark"]
    assert len(seen) == len(set(seen)) == 40
    if sort:
        ages = [int(i[1:]) % 30 for i in seen]
        assert ages == sorted(ages, reverse=sort != ["age"])
    with pytest.raises(BadRequest):
        backend.find(DB, {"selector": {}, "bookmark": "not-a-bookmark!"})


def test_indexes(backend: Backend) -> None:
    indexes = backend.get_indexes(DB)
    assert indexes["total_rows"] == 1 and indexes["indexes"][0]["name"] == "_all_docs"
    created = backend.create_index(
        DB, {"index": {"fields": ["age"]}, "name": "by-age", "ddoc": "idx"}
    )
    assert created == {"result": "created", "id": "_design/idx", "name": "by-age"}
    again = backend.create_index(
        DB, {"index": {"fields": ["age"]}, "name": "by-age", "ddoc": "idx"}
    )
    assert again["result"] == "exists"
    auto = backend.create_index(DB, {"index": {"fields": [{"name": "desc"}]}})
    assert auto["id"].startswith("_design/")
    listed = backend.get_indexes(DB)["indexes"]
    assert len(listed) == 3
    assert (listed[0]["ddoc"], listed[0]["name"], listed[0]["type"]) == (
        None,
        "_all_docs",
        "special",
    )
    by_name = {i["name"]: i for i in listed}
    assert by_name["by-age"]["ddoc"] == "_design/idx" and by_name["by-age"]["type"] == "json"
    assert by_name["by-age"]["def"] == {"fields": [{"age": "asc"}]}
    _people(backend, 4)
    assert "warning" not in backend.find(DB, {"selector": {"age": 1}})
    assert backend.delete_index(DB, "idx", "by-age") == {"ok": True}
    with pytest.raises(NotFound):
        backend.delete_index(DB, "idx", "by-age")
    with pytest.raises(DocumentNotFound):
        backend.get_doc(DB, "_design/idx")  # the last index took its design doc with it
    with pytest.raises(BadRequest):
        backend.create_index(DB, {"index": {"fields": []}})


# -- views --------------------------------------------------------------------


def by_age(doc: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    if "age" in doc:
        yield doc["age"], doc["name"]


def test_python_view_map(backend: Backend) -> None:
    _people(backend, 6)
    body = backend.python_view(DB, by_age)
    assert body["total_rows"] == 6 and body["offset"] == 0
    assert [(r["key"], r["id"]) for r in body["rows"]][:3] == [
        (0, "p000"),
        (1, "p001"),
        (2, "p002"),
    ]
    ranged = backend.python_view(DB, by_age, {"startkey": 2, "endkey": 4, "inclusive_end": False})
    assert [r["key"] for r in ranged["rows"]] == [2, 3] and ranged["offset"] == 2
    desc = backend.python_view(DB, by_age, {"descending": True, "limit": 2, "include_docs": True})
    assert [r["key"] for r in desc["rows"]] == [5, 4] and desc["rows"][0]["doc"]["_id"] == "p005"
    keyed = backend.python_view(DB, by_age, keys=[3, 1, 99])
    assert [r["key"] for r in keyed["rows"]] == [3, 1]
    assert [r["id"] for r in backend.python_view(DB, by_age, {"key": 4})["rows"]] == ["p004"]
    # A missing design document is a 404 with settee[js]; without it, NotSupported.
    with pytest.raises(DocumentNotFound if js.available() else NotSupported):
        backend.view(DB, "d", "v")


def test_python_view_reduce(backend: Backend) -> None:
    docs = [{"_id": f"r{i}", "k": [i % 2, i % 3], "v": i} for i in range(6)]
    backend.bulk_docs(DB, docs)

    def emit(doc: dict[str, Any]) -> list[tuple[Any, Any]]:
        return [(doc["k"], doc["v"])] if "k" in doc else []

    assert backend.python_view(DB, emit, reduce="_count")["rows"] == [{"key": None, "value": 6}]
    assert backend.python_view(DB, emit, reduce="_sum")["rows"][0]["value"] == 15
    stats = backend.python_view(DB, emit, reduce="_stats")["rows"][0]["value"]
    assert stats == {"sum": 15, "count": 6, "min": 0, "max": 5, "sumsqr": 55}
    level1 = backend.python_view(DB, emit, {"group_level": 1}, reduce="_sum")["rows"]
    assert level1 == [{"key": [0], "value": 6}, {"key": [1], "value": 9}]
    grouped = backend.python_view(DB, emit, {"group": True}, reduce="_count")["rows"]
    assert len(grouped) == 6
    custom = backend.python_view(DB, emit, reduce=lambda keys, values, rereduce: max(values))[
        "rows"
    ][0]["value"]
    assert custom == 5
    unreduced = backend.python_view(DB, emit, {"reduce": False}, reduce="_sum")
    assert len(unreduced["rows"]) == 6
    with pytest.raises(BadRequest):
        backend.python_view(DB, emit, {"include_docs": True}, reduce="_sum")
    with pytest.raises(BadRequest):
        backend.python_view(DB, emit, {"reduce": True})


# -- administration and partitions ---------------------------------------------


def test_security_compact_cleanup(backend: Backend) -> None:
    assert backend.get_security(DB) == {}
    sec = {"admins": {"names": ["a"], "roles": []}, "members": {"names": [], "roles": ["r"]}}
    assert backend.put_security(DB, sec) == {"ok": True}
    assert backend.get_security(DB) == sec
    rev1 = put(backend, {"_id": "a", "v": 1})
    put(backend, {"_id": "a", "_rev": rev1, "v": 2})
    assert backend.compact(DB) == {"ok": True}
    with pytest.raises(DocumentNotFound):
        backend.get_doc(DB, "a", {"rev": rev1})  # compaction drops non-leaf bodies
    assert backend.get_doc(DB, "a")["v"] == 2
    assert backend.view_cleanup(DB) == {"ok": True}


def test_partitions(backend: Backend) -> None:
    backend.create_db("parts", partitioned=True)
    assert backend.db_info("parts")["props"] == {"partitioned": True}
    results = backend.bulk_docs(
        "parts",
        [
            {"_id": "p1:a", "v": 1},
            {"_id": "p1:b", "v": 2},
            {"_id": "p2:a", "v": 3},
            {"_id": "nope"},
        ],
    )
    assert results[3]["error"] == "illegal_docid"
    with pytest.raises(BadRequest):
        backend.put_doc("parts", {"_id": "nope"})
    body = backend.all_docs("parts", partition="p1")
    assert _ids(body) == ["p1:a", "p1:b"] and body["total_rows"] == 2
    found = backend.find("parts", {"selector": {"v": {"$gt": 0}}}, partition="p2")
    assert [d["_id"] for d in found["docs"]] == ["p2:a"]
    view = backend.python_view("parts", lambda d: [(d["v"], None)], partition="p1")
    assert [r["id"] for r in view["rows"]] == ["p1:a", "p1:b"]
    info = backend.partition_info("parts", "p1")
    assert (info["partition"], info["doc_count"], info["doc_del_count"]) == ("p1", 2, 0)
    with pytest.raises(BadRequest):
        backend.all_docs(DB, partition="p1")  # not a partitioned database


def test_write_batch_is_atomic_on_failure(backend: Backend) -> None:
    class Boom:
        pass

    before = backend.db_info(DB)["update_seq"]
    with pytest.raises(BadRequest):
        backend.put_doc(DB, {"_id": "x", "bad": Boom()})
    assert backend.db_info(DB)["update_seq"] == before


def test_python_view_linked_documents(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": "order", "customer": "cust"}, {"_id": "cust", "name": "Ann"}])

    def link(doc: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        if "customer" in doc:
            yield doc["_id"], {"_id": doc["customer"]}

    rows = backend.python_view(DB, link, {"include_docs": True})["rows"]
    assert rows[0]["doc"]["name"] == "Ann"


def test_find_sorts_ids_raw(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": i, "t": 1} for i in ("b", "B", "a", "A")])
    body = backend.find(DB, {"selector": {"t": 1}, "sort": ["_id"]})
    assert [d["_id"] for d in body["docs"]] == ["A", "B", "a", "b"]


def test_find_narrows_scans_by_id_and_bookmark(backend: Backend) -> None:
    _people(backend)
    query: dict[str, Any] = {
        "selector": {"_id": {"$gt": "p010", "$lte": "p015"}, "age": {"$gte": 0}},
        "execution_stats": True,
    }
    body = backend.find(DB, query)
    assert [d["_id"] for d in body["docs"]] == ["p011", "p012", "p013", "p014", "p015"]
    assert body["execution_stats"]["total_docs_examined"] == 5  # only the id range was read
    first = backend.find(DB, {"selector": {}, "limit": 50, "execution_stats": True})
    rest = backend.find(
        DB, {"selector": {}, "bookmark": first["bookmark"], "execution_stats": True}
    )
    assert [d["_id"] for d in rest["docs"]] == [f"p{i:03d}" for i in range(50, 60)]
    assert rest["execution_stats"]["total_docs_examined"] == 10  # resumed after the bookmark


def test_threads_incrementing_with_retry_lose_nothing(backend: Backend) -> None:
    put(backend, {"_id": "counter", "n": 0})
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                while True:
                    doc = backend.get_doc(DB, "counter")
                    doc["n"] += 1
                    try:
                        backend.put_doc(DB, doc)
                        break
                    except Conflict:
                        continue
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert backend.get_doc(DB, "counter")["n"] == 80


def test_python_view_index_is_reused_until_a_write(backend: Backend) -> None:
    _people(backend, 10)
    calls: list[str] = []

    def counting(doc: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        calls.append(doc["_id"])
        yield doc["age"], None

    for skip in range(0, 10, 3):
        backend.python_view(DB, counting, {"limit": 3, "skip": skip})
    assert len(calls) == 10  # one map pass for four pages
    put(backend, {"_id": "p999", "age": 5, "name": "late", "even": False})
    rows = backend.python_view(DB, counting, {"key": 5})["rows"]
    assert [r["id"] for r in rows] == ["p005", "p999"]  # a write updates the index
    assert len(calls) == 11  # by mapping the one document written, not all of them


def test_python_view_docid_bounds(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": f"d{i}", "k": i % 2} for i in range(6)])

    def by_k(doc: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        yield doc["k"], None

    def ids(params: dict[str, Any]) -> list[str]:
        return [r["id"] for r in backend.python_view(DB, by_k, params)["rows"]]

    assert ids({"startkey": 0, "startkey_docid": "d2", "endkey": 1, "endkey_docid": "d3"}) == [
        "d2",
        "d4",
        "d1",
        "d3",
    ]
    assert ids({"startkey": 1, "startkey_docid": "d3", "descending": True, "limit": 3}) == [
        "d3",
        "d1",
        "d4",
    ]
    assert ids({"startkey": 1, "endkey": 0, "descending": True, "inclusive_end": False}) == [
        "d5",
        "d3",
        "d1",
    ]
    body = backend.python_view(DB, by_k, {"startkey": 1, "descending": True, "skip": 1})
    assert body["offset"] == 1


def test_sorted_find_pages_read_only_their_rows(backend: Backend) -> None:
    _people(backend, 30)
    backend.create_index(DB, {"index": {"fields": ["age"]}, "name": "age", "ddoc": "age"})
    query: dict[str, Any] = {
        "selector": {"age": {"$gte": 0}},
        "sort": [{"age": "desc"}],
        "limit": 10,
        "execution_stats": True,
    }
    first = backend.find(DB, query)
    assert first["execution_stats"]["total_docs_examined"] == 10  # the index is in age order
    first["docs"][0]["age"] = "tampered"  # results are copies
    second = backend.find(DB, {**query, "bookmark": first["bookmark"]})
    assert second["execution_stats"]["total_docs_examined"] == 10
    assert [d["age"] for d in second["docs"]] == list(range(19, 9, -1))
    again = backend.find(DB, query)
    assert again["docs"][0]["age"] == 29
    put(backend, {"_id": "zzz", "age": 99, "name": "x", "even": True})
    fresh = backend.find(DB, query)
    assert fresh["docs"][0]["_id"] == "zzz"  # the write reached the index


def test_partial_index_filters_queries_that_use_it(backend: Backend) -> None:
    _people(backend, 10)
    backend.create_index(
        DB,
        {
            "index": {"fields": ["age"], "partial_filter_selector": {"even": True}},
            "ddoc": "evens",
            "name": "age-even",
        },
    )
    query: dict[str, Any] = {"selector": {"age": {"$gte": 0}}, "sort": ["age"]}
    with pytest.raises(BadRequest):  # a partial index is used only when use_index names it
        backend.find(DB, query)
    for use_index in ("evens", "_design/evens", ["evens", "age-even"], "evens/age-even"):
        used = backend.find(DB, {**query, "use_index": use_index})["docs"]
        assert [d["age"] for d in used] == [0, 2, 4, 6, 8], use_index
    assert "mango_partial_indexes" in backend.capabilities
