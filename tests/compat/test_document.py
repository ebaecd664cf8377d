"""cloudant.document: python-cloudant's Document semantics."""

from __future__ import annotations

import pytest

from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.document import Document
from settee.compat.cloudant.error import CloudantDocumentException
from settee.errors import Conflict


def test_create_fetch_save_delete(db: CouchDatabase) -> None:
    doc = Document(db, "julia")
    assert doc.document_url is not None and doc.document_url.endswith("/julia")
    assert not doc.exists()
    doc["age"] = 6
    assert doc.create() is None
    rev = doc["_rev"]
    doc["age"] = 7
    doc.save()
    assert doc["_rev"] != rev
    other = Document(db, "julia")
    other.fetch()
    assert other["age"] == 7
    doc.delete()
    assert dict(doc) == {"_id": "julia"}
    with pytest.raises(CloudantDocumentException) as caught:
        doc.delete()
    assert caught.value.status_code == 103


def test_no_id(db: CouchDatabase) -> None:
    doc = Document(db)
    assert doc.document_url is None and doc.exists() is False
    with pytest.raises(CloudantDocumentException) as caught:
        doc.fetch()
    assert caught.value.status_code == 101
    doc.create()
    assert doc["_id"] and doc["_rev"]


def test_with_block_and_update_field(db: CouchDatabase) -> None:
    with Document(db, "w") as doc:
        doc["n"] = 1
    stored = Document(db, "w")
    stored.fetch()
    assert stored["n"] == 1
    stale = Document(db, "w")
    stale.fetch()
    stored.update_field(Document.field_set, "n", 2)
    with pytest.raises(Conflict):
        stale["x"] = 1
        stale.save()
    stale.update_field(Document.list_field_append, "list", "v")
    stale.fetch()
    assert stale["n"] == 2 and stale["list"] == ["v"]
    with pytest.raises(CloudantDocumentException):
        Document.list_field_append(stale, "n", 3)


def test_attachments(db: CouchDatabase) -> None:
    doc = db.create_document({"_id": "att"})
    doc.put_attachment("a.txt", "text/plain", b"hello")
    assert doc["_attachments"]["a.txt"]["content_type"] == "text/plain"
    assert doc.get_attachment("a.txt", attachment_type="text") == "hello"
    doc.delete_attachment("a.txt")
    assert "_attachments" not in doc
