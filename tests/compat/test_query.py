"""cloudant.query, cloudant.index, cloudant.result: Mango through python-cloudant's names."""

from __future__ import annotations

import pytest
import requests

from settee import errors
from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.design_document import DesignDocument
from settee.compat.cloudant.error import (
    CloudantArgumentError,
    CloudantIndexException,
    ResultException,
)
from settee.compat.cloudant.index import Index, SpecialIndex
from settee.compat.cloudant.query import Query
from settee.compat.cloudant.result import QueryResult, Result, ResultByKey
from tests.conformance.conftest import settled
from tests.conftest import Server


def test_query_and_query_result(db: CouchDatabase) -> None:
    db.bulk_docs([{"_id": f"{i:02}", "n": i} for i in range(12)])
    query = Query(db, selector={"n": {"$gte": 5}}, fields=["_id", "n"])
    answer = query(limit=3)
    assert [d["n"] for d in answer["docs"]] == [5, 6, 7]
    assert [d["n"] for d in query.result] == list(range(5, 12))
    with query.custom_result(page_size=2) as docs:
        assert len(list(docs)) == 7
        assert docs[0] == [{"_id": "05", "n": 5}]
    result = db.get_query_result({"n": {"$lt": 3}}, page_size=2)
    assert isinstance(result, QueryResult)
    assert sorted(d["n"] for d in result) == [0, 1, 2]
    with pytest.raises(CloudantArgumentError) as caught:
        Query(db)()
    assert caught.value.status_code == 131


def test_indexes(db: CouchDatabase) -> None:
    index = db.create_query_index("ddoc_n", "by_n", fields=["n"])
    assert isinstance(index, Index) and index.design_document_id == "_design/ddoc_n"
    # A cluster lists the design documents from one copy, which may lag the write.
    found = settled(db.client, db.get_query_indexes, lambda ixs: any(i.name == "by_n" for i in ixs))
    assert any(isinstance(i, SpecialIndex) for i in found)
    assert any(i.name == "by_n" for i in found)
    with pytest.raises(CloudantIndexException):
        SpecialIndex(db).create()
    db.delete_query_index("ddoc_n", "json", "by_n")
    left = settled(db.client, db.get_query_indexes, lambda ixs: all(i.name != "by_n" for i in ixs))
    assert not any(i.name == "by_n" for i in left)


def test_result_access(db: CouchDatabase) -> None:
    db.bulk_docs([{"_id": k} for k in "abcde"])
    result = Result(db.all_docs, page_size=2)
    assert [r["id"] for r in result] == list("abcde")
    assert [r["id"] for r in result[0]] == ["a"]
    assert [r["id"] for r in result["c"]] == ["c"]
    assert [r["id"] for r in result[ResultByKey("d")]] == ["d"]
    assert [r["id"] for r in result["b":"c"]] == ["b", "c"]
    assert [r["id"] for r in result[3:]] == ["d", "e"]
    with pytest.raises(ResultException) as refused:
        iter(Result(db.all_docs, limit=1))
    assert refused.value.status_code == 103
    with pytest.raises(ResultException):
        iter(Result(db.all_docs, page_size=0))  # checked when iterating, as python-cloudant does


def test_a_view_error_answer_reads_as_requests_raise_for_status(db: CouchDatabase) -> None:
    ddoc = DesignDocument(db, "_design/d")
    ddoc.add_view("by_id", "function (doc) { emit(doc._id, 1); }")
    ddoc.save()
    db.create_document({"_id": "a"})
    view = ddoc.get_view("by_id")
    # A start key after the end key: CouchDB's and PouchDB's 400 query_parse_error.
    for query in (lambda: view(startkey="b", endkey="a"), lambda: Result(view)["b":"a"]):
        with pytest.raises(requests.HTTPError) as caught:
            query()
        # python-cloudant's text is requests' raise_for_status(), the reason carrying
        # CouchDB's error (a connected client's hook); settee's class all the same.
        text = str(caught.value)
        assert text.startswith("400 Client Error: Bad Request query_parse_error"), text
        assert text.endswith(f"for url: {caught.value.url}") and "pw@" not in text
        assert isinstance(caught.value, errors.BadRequest)
        assert caught.value.response.status_code == 400
        assert caught.value.error == "query_parse_error"


def test_query_options_are_checked_when_it_runs(db: CouchDatabase) -> None:
    query = Query(db, foo={"bar": "baz"})  # python-cloudant keeps any field until the call
    assert query == {"foo": {"bar": "baz"}} and isinstance(query.result, QueryResult)
    with pytest.raises(CloudantArgumentError) as caught:
        query(selector={"a": 1})
    assert str(caught.value) == "Invalid argument: foo"


def test_a_json_index_takes_only_fields(db: CouchDatabase) -> None:
    with pytest.raises(CloudantArgumentError) as caught:
        Index(db, fields=["name", "age"], selector={}).create()
    assert caught.value.status_code == 124
    assert str(caught.value).endswith(
        "A JSON index requires that only a 'fields' argument is provided."
    )


def test_a_query_no_index_fits_carries_the_servers_warning(
    http_server: Server, db: CouchDatabase
) -> None:
    # python-cloudant's test_index_usage_via_query. On PouchDB Server settee adds an
    # _id bound to such a query (it would stop at U+00FF), which PouchDB's planner
    # serves from _all_docs, so it would not warn: settee asks its _explain instead.
    Index(db, "ddoc001", "index001", fields=["name"]).create()
    db.bulk_docs([{"_id": f"j{i:03}", "name": f"n{i}", "age": i % 10} for i in range(30)])
    db.bulk_docs([{"_id": "\u0101-past-u00ff", "name": "wide", "age": 6}])
    result = db.get_query_result(
        fields=["name", "age"], selector={"age": {"$eq": 6}}, raw_result=True
    )
    assert str(result["warning"]).lower().startswith("no matching index found")
    # Results unchanged: every match, the id past U+00FF too.
    names = sorted(doc["name"] for doc in result["docs"])
    assert names == sorted(["wide", *(f"n{i}" for i in range(30) if i % 10 == 6)])
    served = db.get_query_result(selector={"name": {"$gt": None}}, raw_result=True, limit=50)
    assert "warning" not in served and len(served["docs"]) == 31  # an index fits: no warning
    by_id = db.get_query_result(selector={"_id": {"$gt": "j"}}, raw_result=True, limit=50)
    assert len(by_id["docs"]) == 31
    # The server's own answer: PouchDB's planner counts _all_docs as an index for
    # _id, CouchDB 3 warns whenever _all_docs serves a query.
    assert ("warning" in by_id) is (http_server.kind != "pouchdb")
