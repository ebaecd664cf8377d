"""cloudant.document: python-cloudant's Document semantics."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests

from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.document import Document
from settee.compat.cloudant.error import CloudantArgumentError, CloudantDocumentException
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


@pytest.mark.parametrize("docid", ["_all_docs", "_design", "_local", "_changes", "_security"])
def test_reserved_ids_are_argument_errors(db: CouchDatabase, docid: str) -> None:
    # python-cloudant: CloudantArgumentError(137) "Invalid document ID: <id>", no request.
    with pytest.raises(CloudantArgumentError) as caught:
        Document(db, docid)
    assert caught.value.status_code == 137 and str(caught.value) == f"Invalid document ID: {docid}"
    doc = Document(db)
    doc["_id"] = docid
    for call in (doc.exists, doc.fetch):
        with pytest.raises(CloudantArgumentError):
            call()


def test_reserved_attachment_names_are_argument_errors(db: CouchDatabase) -> None:
    doc = db.create_document({"_id": "julia"})
    with pytest.raises(CloudantArgumentError) as caught:
        doc.put_attachment("_att", "text/plain", "x")
    assert caught.value.status_code == 138 and str(caught.value) == "Invalid attachment name: _att"
    with pytest.raises(CloudantArgumentError):
        doc.get_attachment("_att")
    with pytest.raises(CloudantArgumentError):
        doc.delete_attachment("_att")
    reserved = Document(db)
    reserved["_id"] = "_index"
    with pytest.raises(CloudantArgumentError) as first:
        reserved.delete_attachment("_design/foo/json/bar")
    assert first.value.status_code == 137  # the id is checked before the name


def test_get_attachment_writes_and_returns(db: CouchDatabase) -> None:
    doc = db.create_document({"_id": "julia"})
    doc.put_attachment("smile.bin", "application/octet-stream", b"\xff\xd8\x00")
    sink = io.BytesIO()
    assert doc.get_attachment("smile.bin", write_to=sink) == b"\xff\xd8\x00"
    assert sink.getvalue() == b"\xff\xd8\x00"


def test_with_block_without_an_id_creates(db: CouchDatabase) -> None:
    with Document(db) as doc:
        doc["_id"] = "julia006"
        doc["age"] = 6
    assert doc["_rev"].startswith("1-")
    assert db["julia006"]["age"] == 6


class RecordingSession:
    """Another session than the client's: it records each call, then sends it through
    the client's ``r_session`` unchanged."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, method: str) -> Any:
        send = getattr(self.session, method)

        def call(url: str, **kwargs: Any) -> requests.Response:
            self.calls.append((method, url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1]))
            return send(url, **kwargs)

        return call


def test_a_document_with_its_own_r_session_sends_through_it(db: CouchDatabase) -> None:
    recording = RecordingSession(db.r_session)

    class Routed(Document):
        @property
        def r_session(self) -> Any:
            return recording

    doc = Routed(db, "julia")
    doc["age"] = 6
    doc.save()  # HEAD (absent), then POST to the database
    assert doc["_rev"].startswith("1-")
    doc["age"] = 7
    doc.save()
    assert doc["_rev"].startswith("2-")
    doc.put_attachment("note.txt", "text/plain", b"hello")
    assert doc.get_attachment("note.txt", attachment_type="text") == "hello"
    assert doc.get_attachment("note.txt") == "hello"  # text/plain: str
    answer = doc.delete_attachment("note.txt")
    assert doc["_rev"] == answer["rev"] and "note.txt" not in doc.get("_attachments", {})
    fetched = Routed(db, "julia")
    fetched.fetch()
    assert fetched["age"] == 7 and fetched["_rev"] == doc["_rev"]
    fetched.delete()
    assert dict(fetched) == {"_id": "julia"}
    assert not Routed(db, "julia").exists()
    with pytest.raises(requests.HTTPError) as missing:  # the answer's own raise_for_status()
        Routed(db, "julia").fetch()
    assert missing.value.response is not None and missing.value.response.status_code == 404
    methods = [m for m, _ in recording.calls]
    assert methods == [
        *["head", "post", "head", "put"],
        *["get", "put", "get"],  # put_attachment: fetch, PUT, fetch
        *["get", "get", "get", "get"],  # get_attachment twice: fetch, GET
        *["get", "delete"],  # delete_attachment: fetch, DELETE
        *["get", "delete", "head", "get"],
    ]
    assert ("put", "julia/note.txt") in recording.calls
    assert Document(db, "other").r_session is db.r_session  # the client's: native path


def test_a_dot_segment_id_keeps_the_native_path(db: CouchDatabase) -> None:
    recording = RecordingSession(db.r_session)

    class Routed(Document):
        @property
        def r_session(self) -> Any:
            return recording

    assert not Routed(db, "..").exists()
    assert recording.calls == []
