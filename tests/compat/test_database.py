"""cloudant.database: the database is a dict of fetched documents; JSON answers."""

from __future__ import annotations

import pytest

from settee.compat.cloudant.client import CouchDB
from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.design_document import DesignDocument
from settee.compat.cloudant.document import Document
from settee.compat.cloudant.error import CloudantArgumentError, CloudantDatabaseException
from settee.compat.cloudant.security_document import SecurityDocument
from tests.conftest import Server


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


def test_del_is_the_dict_and_remote_true_the_server(db: CouchDatabase) -> None:
    db.create_document({"_id": "gone", "v": 1})
    del db["gone"]  # python-cloudant: the dict entry only
    assert "gone" in db  # still on the server (asks it: not cached)
    db.__delitem__("gone", remote=True)
    assert "gone" not in db and db.get("gone") is None
    with pytest.raises(KeyError):
        del db["gone"]


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


def test_an_encoder_that_is_no_json_encoder_fails_every_body(
    http_server: Server, db: CouchDatabase
) -> None:
    # python-cloudant hands `encoder` to json.dumps as cls: a str fails every body it sends.
    client = CouchDB(
        http_server.user, http_server.password, url=http_server.url, encoder="AEncoder"
    )
    other = CouchDatabase(client, db.database_name)
    with pytest.raises(TypeError):
        other.bulk_docs([{"_id": "a"}])
    with pytest.raises(TypeError):
        other.missing_revisions("a", "1-abc")
    with pytest.raises(CloudantArgumentError) as caught:
        other.all_docs(endkey=["foo", 10])
    assert caught.value.status_code == 136
    assert db.all_docs()["rows"] == []  # nothing was written


def test_update_handler_sends_a_dict_as_a_form(db: CouchDatabase) -> None:
    ddoc = DesignDocument(db, "_design/ddoc001")
    ddoc["updates"] = {
        "make": "function(doc, req) { var d = req.form; d._id = 'made'; "
        "return [d, 'form: ' + JSON.stringify(req.form)]; }"
    }
    ddoc.save()
    answer = db.update_handler_result("ddoc001", "make", data={"message": "hello"})
    assert answer == 'form: {"message":"hello","_id":"made"}'
    assert db["made"]["message"] == "hello"


def test_list_function_options_are_checked(db: CouchDatabase) -> None:
    with pytest.raises(CloudantArgumentError) as caught:
        db.get_list_function_result("ddoc001", "list001", "view001", foo={"bar": "baz"})
    assert str(caught.value) == "Invalid argument foo"


def test_get_takes_remote_as_its_second_positional_parameter(db: CouchDatabase) -> None:
    # python-cloudant: Database.get(key, remote=False) - db.get(id, True) fetches.
    db.create_document({"_id": "pos-remote", "n": 1})
    db.clear()
    assert db.get("pos-remote") is None
    fetched = db.get("pos-remote", True)
    assert fetched is not None and fetched["n"] == 1
    assert db.get("absent-id", True) is None
    assert db.get("absent-id", True, default="x") == "x"
