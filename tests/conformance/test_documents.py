"""Documents on every backend: CRUD, conflicts, odd ids, bad input, attachments, design docs."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import pytest

import settee
from settee.document import Document
from tests.conformance.conftest import full_quorum, settled


def stored(db: settee.Database, docid: str) -> dict[str, Any]:
    """The stored body, read past every cache."""
    body: dict[str, Any] = db.backend.get_doc(db.database_name, docid)
    return body


def test_create_fetch_save_delete(db: settee.Database) -> None:
    doc = db.create_document({"_id": "julia", "age": 30})
    assert doc["_rev"].startswith("1-")
    assert db["julia"] is doc  # cached by create
    doc["age"] = 31
    doc.save()
    assert doc["_rev"].startswith("2-")
    assert stored(db, "julia")["age"] == 31
    fresh = Document(db, "julia")
    assert fresh.exists()
    fresh.fetch()
    assert fresh == doc
    doc.delete()
    assert doc == {"_id": "julia"}
    assert "julia" not in db
    with pytest.raises(settee.DocumentNotFound):
        db["julia"]
    with pytest.raises(KeyError):  # DocumentNotFound is a KeyError
        db["julia"]
    assert not fresh.exists()


def test_getitem_is_one_fetch_then_cached(db: settee.Database) -> None:
    db.create_document({"_id": "a", "v": 1})
    db.clear_cache()
    assert db.get("a") is None  # cache only
    first = db["a"]
    assert first["v"] == 1
    assert db["a"] is first
    assert db.keys() == ["a"]
    assert db.get("a", remote=True)["v"] == 1
    assert db.get("nope", "dflt", remote=True) == "dflt"
    assert "a" in db and "nope" not in db


def test_del_item_is_the_cache_and_remote_true_the_server(db: settee.Database) -> None:
    db.create_document({"_id": "kept", "v": 1})
    del db["kept"]  # python-cloudant's rule: the cached copy only
    assert stored(db, "kept")["v"] == 1
    with pytest.raises(KeyError, match="only drops a cached copy"):
        del db["kept"]  # not cached now: said loudly, never a silent no-op
    assert stored(db, "kept")["v"] == 1
    db.__delitem__("kept", remote=True)  # not cached: the current revision is deleted
    with pytest.raises(settee.DocumentNotFound):
        stored(db, "kept")
    with pytest.raises(settee.DocumentNotFound):
        db.__delitem__("kept", remote=True)
    stale = db.create_document({"_id": "stale", "v": 1})
    newer = Document(db, "stale").fetch()
    newer["v"] = 2
    newer.save()
    db.cache_document(stale)
    with pytest.raises(settee.Conflict):  # the cached revision is stale: nothing deleted
        db.__delitem__("stale", remote=True)
    assert stored(db, "stale")["v"] == 2


def test_stale_rev_is_conflict_and_nothing_is_overwritten(db: settee.Database) -> None:
    doc = db.create_document({"_id": "c", "v": 1})
    other = Document(db, "c").fetch()
    other["v"] = 2
    other.save()
    doc["v"] = 99
    with pytest.raises(settee.Conflict):
        doc.save()
    assert stored(db, "c")["v"] == 2
    with pytest.raises(settee.Conflict):
        doc.delete()
    assert stored(db, "c")["v"] == 2


def test_create_existing_id_is_conflict(db: settee.Database) -> None:
    # On a cluster a create below quorum may reach a copy without the first write
    # and be accepted (202): with every copy written, each refuses it.
    full_quorum(db)
    db.create_document({"_id": "dup", "v": 1})
    with pytest.raises(settee.Conflict):
        db.create_document({"_id": "dup", "v": 2})
    with pytest.raises(settee.Conflict):
        db.create_document({"_id": "dup", "v": 3}, throw_on_exists=True)
    unsaved = Document(db, "dup")
    unsaved["v"] = 4
    with pytest.raises(settee.Conflict):
        unsaved.save()  # no _rev: a create, which must not overwrite
    assert stored(db, "dup")["v"] == 1


def test_new_document_and_create_without_id_get_uuids(db: settee.Database) -> None:
    doc = db.new_document()
    assert len(doc["_id"]) == 32 and doc["_rev"].startswith("1-")
    other = db.create_document({"x": 1})
    assert other["_id"] != doc["_id"]
    assert stored(db, other["_id"])["x"] == 1


def test_delete_needs_rev(db: settee.Database) -> None:
    db.create_document({"_id": "r"})
    with pytest.raises(ValueError, match="_rev"):
        Document(db, "r").delete()
    assert "r" in db


@pytest.mark.parametrize(
    "docid",
    [
        "a/b",
        "..",
        ".",
        "a?b=c",
        "frag#ment",
        "üñíçødé ☃ 日本",
        "with space",
        "%2F",
        "a/../b",
        "_design/x/y",
        "plus+sign",
        "&amp;",
    ],
)
def test_odd_ids_round_trip_to_exactly_that_document(db: settee.Database, docid: str) -> None:
    db.create_document({"_id": "decoy", "decoy": True})
    doc = db.create_document({"_id": docid, "marker": docid})
    db.clear_cache()
    fetched = db[docid]
    assert fetched["_id"] == docid and fetched["marker"] == docid
    assert docid in db
    expected = sorted(["decoy", docid])
    ids = settled(db.client, lambda: sorted(db.keys(remote=True)), expected.__eq__)
    assert ids == expected
    doc["marker2"] = 1
    doc.save()
    doc.delete()
    assert docid not in db
    assert "decoy" in db


@pytest.mark.parametrize("docid", ["", "_reserved", "_design/", "_local/", "_users"])
def test_reserved_or_empty_ids_are_refused(db: settee.Database, docid: str) -> None:
    with pytest.raises(ValueError):
        db.create_document({"_id": docid})
    with pytest.raises(ValueError):
        db[docid]
    assert docid not in db
    assert db.doc_count() == 0


def test_non_str_id_is_typeerror(db: settee.Database) -> None:
    with pytest.raises(TypeError):
        db.create_document({"_id": 5})
    with pytest.raises(TypeError):
        Document(db, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [{"s": {1, 2}}, {"o": object()}, {"nan": math.nan}, {"inf": math.inf}, {"b": b"bytes"}],
)
def test_non_serialisable_documents_are_typeerror_and_nothing_written(
    db: settee.Database, bad: dict[str, Any]
) -> None:
    full_quorum(db)  # doc_count below counts the write at once on a cluster too
    with pytest.raises(TypeError):
        db.create_document({"_id": "bad", **bad})
    assert "bad" not in db
    good = db.create_document({"_id": "good", "v": 1})
    good.update(bad)
    with pytest.raises(TypeError):
        good.save()
    assert stored(db, "good") == {"_id": "good", "_rev": good["_rev"], "v": 1}
    assert db.doc_count() == 1


def test_update_field_retries_on_conflict(db: settee.Database) -> None:
    full_quorum(db)  # a save on a stale _rev must meet the rival's write on every copy
    db.create_document({"_id": "u", "tags": ["a"]})
    doc = Document(db, "u")
    interfered = []

    def append_after_interference(target: Document, field: str, value: Any) -> None:
        if not interfered:  # someone else writes between our fetch and our save
            rival = Document(db, "u").fetch()
            rival["tags"].append("rival")
            rival.save()
            interfered.append(True)
        Document.list_field_append(target, field, value)

    doc.update_field(append_after_interference, "tags", "b")

    def now(done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        # A cluster's GET may reach a copy behind the write that just returned.
        return settled(db.client, lambda: stored(db, "u"), done)

    assert now(lambda d: d["tags"] == ["a", "rival", "b"])["tags"] == ["a", "rival", "b"]
    doc.update_field(Document.list_field_remove, "tags", "a")
    doc.update_field(Document.field_set, "name", "n")
    final = now(lambda d: d["tags"] == ["rival", "b"] and d.get("name") == "n")
    assert final["tags"] == ["rival", "b"]
    assert final["name"] == "n"
    doc.update_field(Document.field_set, "name", None)
    assert "name" not in now(lambda d: "name" not in d)


def test_update_field_gives_up_after_max_tries(db: settee.Database) -> None:
    full_quorum(db)  # each save on a stale _rev must meet the rival's write on every copy
    db.create_document({"_id": "u", "n": 0})

    def always_interfere(target: Document, field: str, value: Any) -> None:
        rival = Document(db, "u").fetch()
        rival["n"] += 1
        rival.save()
        target[field] = value

    with pytest.raises(settee.Conflict):
        Document(db, "u").update_field(always_interfere, "x", 1, max_tries=3)
    assert stored(db, "u")["n"] == 3
    assert "x" not in stored(db, "u")


def test_with_block_creates_updates_and_skips_save_on_error(db: settee.Database) -> None:
    with Document(db, "w") as doc:
        doc["n"] = 1
    assert stored(db, "w")["n"] == 1
    with Document(db, "w") as doc:
        assert doc["n"] == 1  # fetched on entry
        doc["n"] = 2
    assert stored(db, "w")["n"] == 2
    with pytest.raises(RuntimeError), Document(db, "w") as doc:
        doc["n"] = 3
        raise RuntimeError("boom")
    assert stored(db, "w")["n"] == 2


def test_json_and_repr(db: settee.Database) -> None:
    doc = db.create_document({"_id": "j", "v": [1, "x"]})
    assert '"v": [1, "x"]' in doc.json()
    assert "j" in repr(doc)
    assert doc.document_id == "j"
    assert doc.database is db


def test_attachments_text_binary_json_and_stubs(db: settee.Database) -> None:
    doc = db.create_document({"_id": "att", "v": 1})
    first_rev = doc["_rev"]
    doc.put_attachment("note.txt", "text/plain", "héllo")
    assert doc["_rev"] != first_rev
    payload = bytes(range(256))
    doc.put_attachment("blob.bin", "application/octet-stream", io.BytesIO(payload))
    doc.put_attachment("data.json", "application/json", b'{"a": [1, 2]}')
    assert doc.get_attachment("note.txt") == "héllo"
    assert doc.get_attachment("blob.bin") == payload
    assert doc.get_attachment("data.json") == {"a": [1, 2]}
    assert doc.get_attachment("note.txt", attachment_type="binary") == "héllo".encode()
    sink = io.BytesIO()
    doc.get_attachment("blob.bin", write_to=sink)
    assert sink.getvalue() == payload
    text_sink = io.StringIO()
    doc.get_attachment("note.txt", write_to=text_sink)
    assert text_sink.getvalue() == "héllo"
    # Saving the document again keeps its attachments (stubs).
    doc["v"] = 2
    doc.save()
    assert Document(db, "att").fetch().get_attachment("blob.bin") == payload
    doc.delete_attachment("note.txt")
    assert "note.txt" not in doc["_attachments"]
    with pytest.raises(settee.NotFound):
        Document(db, "att").fetch().get_attachment("note.txt")
    stale = Document(db, "att")
    stale["_rev"] = first_rev
    with pytest.raises(settee.Conflict):
        stale.put_attachment("x.txt", "text/plain", "x")


def test_put_attachment_on_new_document_creates_it(db: settee.Database) -> None:
    doc = Document(db, "fresh")
    doc.put_attachment("a.txt", "text/plain", "abc")
    assert doc["_rev"].startswith("1-")
    assert Document(db, "fresh").fetch().get_attachment("a.txt") == "abc"


def test_design_document_views_round_trip(db: settee.Database) -> None:
    ddoc = settee.DesignDocument(db, "app")
    assert ddoc["_id"] == "_design/app"
    ddoc.add_view("by_n", "function (doc) { emit(doc.n, 1); }", "_count")
    with pytest.raises(ValueError):
        ddoc.add_view("by_n", "function (doc) {}")
    ddoc.add_view("other", "function (doc) { emit(doc._id, null); }")
    ddoc.update_view("other", "function (doc) { emit(doc._id, 1); }")
    with pytest.raises(KeyError):
        ddoc.update_view("missing", "function (doc) {}")
    ddoc.delete_view("other")
    ddoc.save()
    fetched = db.get_design_document("_design/app")
    assert isinstance(fetched, settee.DesignDocument)
    assert fetched.list_views() == ["by_n"]
    assert fetched.get_view("by_n") == {
        "map": "function (doc) { emit(doc.n, 1); }",
        "reduce": "_count",
    }
    assert db.list_design_documents() == ["_design/app"]
    assert [row["doc"]["_id"] for row in db.design_documents()] == ["_design/app"]
    assert isinstance(db["_design/app"], settee.DesignDocument)
    missing = db.get_design_document("nothing")
    assert missing["_id"] == "_design/nothing" and "_rev" not in missing
