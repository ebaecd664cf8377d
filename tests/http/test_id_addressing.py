"""Ids and names reach exactly their own resource on real servers (issue 8, item 1).

PouchDB Server always, Apache CouchDB when ``COUCHDB_URL`` is set. Both
servers read ``PUT /db/_design/_local/x`` as attachment ``x`` of design
document ``_design/_local``: only the first ``_design/``/``_local/`` prefix
of a document id may keep its slash, every other slash in every name is
sent as ``%2F``. Each test goes through the public API (``create_document``,
``Document``, attachments, views) and then checks, with a fresh read and
``_all_docs``, that exactly the intended document exists and no other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

import settee
from settee import errors
from settee.client import Client
from settee.database import Database
from settee.document import DesignDocument, Document
from tests.conformance.conftest import remember_kind, settled
from tests.conftest import Server, unique_name

PREFIXED_IDS = [
    "_design/_local/x",
    "_design/_design/x",
    "_local/_design/x",
    "_local/_local/x",
    "_design/a/b",
    "_design/x?y#z%",
    "_local/a/b",
]
OTHER_IDS = ["a/b", "a/_design/b", "q?x=1", "f#g", "100%", "%2F", "ünï/文字", "..", "a/../b"]


@pytest.fixture
def client(http_server: Server) -> Iterator[Client]:
    c = settee.connect(http_server.url, auth=http_server.auth)
    remember_kind(c, http_server.kind)
    try:
        yield c
    finally:
        c.disconnect()


@pytest.fixture
def db(client: Client) -> Iterator[Database]:
    name = unique_name("ids")
    database = client.create_database(name)
    try:
        yield database
    finally:
        with contextlib.suppress(errors.NotFound):
            client.delete_database(name)


def stored_ids(db: Database, expected: list[str]) -> list[str]:
    """Every document id in ``_all_docs`` (design documents included; not ``_local``),
    once it is ``expected`` where a cluster's copies may lag a write (bounded)."""

    def listed() -> list[str]:
        return sorted(row["id"] for row in db.all_docs(raw_result=True)["rows"])

    return settled(db.client, listed, lambda ids: ids == expected)


@pytest.mark.parametrize("docid", PREFIXED_IDS + OTHER_IDS)
def test_create_fetch_save_delete_reach_exactly_that_document(db: Database, docid: str) -> None:
    doc = db.create_document({"_id": docid, "mark": docid})
    assert doc["_id"] == docid
    fresh = Document(db, docid).fetch()
    assert fresh["_id"] == docid and fresh["mark"] == docid
    expected = [] if docid.startswith("_local/") else [docid]
    assert stored_ids(db, expected) == expected
    # No design document named after the id's first two segments was created.
    for wrong in ("_design/_local", "_design/_design", "_design/a", "_design/x?y"):
        if wrong != docid:
            with pytest.raises(errors.DocumentNotFound):
                db.backend.get_doc(db.database_name, wrong)
    fresh["mark"] = "updated"
    fresh.save()
    assert Document(db, docid).fetch()["mark"] == "updated"
    assert Document(db, docid).exists()
    fresh.delete()
    # measured: a cluster may still show a deleted _local document for a moment
    assert not settled(db.client, Document(db, docid).exists, lambda exists: not exists)
    assert stored_ids(db, []) == []


def test_prefix_ids_are_distinct_documents(db: Database) -> None:
    """``_design/_local/x``, ``_local/x`` and ``_design/x`` are three documents."""
    ids = ["_design/_local/x", "_local/x", "_design/x", "_local/_design/x", "_design/_design/x"]
    for docid in ids:
        db.create_document({"_id": docid, "mark": docid})
    for docid in ids:
        assert Document(db, docid).fetch()["mark"] == docid
    designs = sorted(i for i in ids if i.startswith("_design/"))
    assert stored_ids(db, designs) == designs


@pytest.mark.parametrize("name", ["a/b.txt", "x/_design/y", "..", "q?x#y%", "ü/文"])
@pytest.mark.parametrize("docid", ["plain", "_design/_local/x", "_design/a/b"])
def test_attachment_names_reach_exactly_that_attachment(
    db: Database, docid: str, name: str
) -> None:
    doc = Document(db, docid)
    doc.put_attachment(name, "text/plain", b"payload")
    doc.put_attachment("other", "text/plain", b"other")
    assert Document(db, docid).get_attachment(name, attachment_type="binary") == b"payload"
    stored = Document(db, docid).fetch()
    assert sorted(stored["_attachments"]) == sorted([name, "other"])
    assert stored_ids(db, [docid]) == [docid]
    doc.delete_attachment(name)
    with pytest.raises(errors.NotFound):
        db.backend.get_attachment(db.database_name, docid, name)
    assert db.backend.get_attachment(db.database_name, docid, "other")[0] == b"other"


@pytest.mark.parametrize("name", ["_design/x", "_local/y"])
def test_attachment_names_with_a_prefix_are_refused_not_redirected(db: Database, name: str) -> None:
    """``/db/doc/_design%2Fx``: the server sees one name starting with ``_`` and refuses it."""
    doc = db.create_document({"_id": "doc"})
    with pytest.raises(errors.BadRequest):
        doc.put_attachment(name, "text/plain", b"payload")
    assert stored_ids(db, ["doc"]) == ["doc"]
    assert "_attachments" not in Document(db, "doc").fetch()


@pytest.mark.parametrize(
    ("ddoc", "view"), [("a/b", "v/w"), ("_local/x", "by_n"), ("d", ".."), ("d", "v?w#x%")]
)
def test_view_names_reach_exactly_that_view(
    db: Database, http_server: Server, ddoc: str, view: str
) -> None:
    if http_server.kind == "pouchdb" and "/" in ddoc + view:
        pytest.skip("PouchDB Server splits 'ddoc/view' on '/': it has no view of such a name")
    design = DesignDocument(db, f"_design/{ddoc}")
    design.add_view(view, "function (doc) { if (doc.n) { emit(doc.n, null); } }")
    design.create()
    db.create_document({"_id": "one", "n": 1})
    expected = sorted([f"_design/{ddoc}", "one"])
    assert stored_ids(db, expected) == expected
    path = f"_design/{ddoc}"
    rows = settled(db.client, lambda: db.get_view_result(path, view, raw_result=True)["rows"], bool)
    assert [row["id"] for row in rows] == ["one"]
