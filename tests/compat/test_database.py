"""cloudant.database: the database is a dict of fetched documents; JSON answers."""

from __future__ import annotations

import pytest

from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.document import Document
from settee.compat.cloudant.error import CloudantDatabaseException
from settee.compat.cloudant.security_document import SecurityDocument


def test_dict_of_documents(db: CouchDatabase) -> None:
    for i in range(3):
        db.create_document({"_id": f"d{i}", "i": i})
    assert len(db) == 3 and sorted(db.keys()) == ["d0", "d1", "d2"]
    db.clear()
    assert len(db) == 0
    assert "d1" in db  # asks the server
    assert db.get("d1") is None
    assert isinstance(db["d1"], Document) and "d1" in list(db.keys())
    assert sorted(db.keys(remote=True)) == ["d0", "d1", "d2"]
    db.clear()
    assert sorted(d["_id"] for d in db) == ["d0", "d1", "d2"]
    assert len(db) == 3  # iteration fills the cache
    with pytest.raises(KeyError):
        db["missing"]


def test_all_docs_is_json(db: CouchDatabase) -> None:
    db.bulk_docs([{"_id": "a"}, {"_id": "b"}])
    answer = db.all_docs(include_docs=True)
    assert [row["id"] for row in answer["rows"]] == ["a", "b"]
    assert answer["total_rows"] == 2
    with db.custom_result(startkey="b") as rows:
        assert [row["id"] for row in rows] == ["b"]


def test_create_document_throw_on_exists(db: CouchDatabase) -> None:
    db.create_document({"_id": "x"})
    assert "_rev" not in db.create_document({"_id": "x"})
    with pytest.raises(CloudantDatabaseException) as caught:
        db.create_document({"_id": "x"}, throw_on_exists=True)
    assert caught.value.status_code == 409


def test_create_exists_and_security(db: CouchDatabase) -> None:
    assert db.exists() and db.create() is db
    with pytest.raises(CloudantDatabaseException) as caught:
        db.create(throw_on_exists=True)
    assert caught.value.status_code == 412
    sec = db.get_security_document()
    assert isinstance(sec, SecurityDocument)
    assert db.revisions_diff("nope", "1-abc") == {"nope": {"missing": ["1-abc"]}}
