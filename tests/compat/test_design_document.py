"""cloudant.design_document and cloudant.view: members, View objects, view results."""

from __future__ import annotations

import pytest

from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.design_document import DesignDocument
from settee.compat.cloudant.error import CloudantArgumentError
from settee.compat.cloudant.result import Result
from settee.compat.cloudant.view import View
from tests.conftest import Server


def test_members_exist_and_empty_ones_are_not_saved(db: CouchDatabase) -> None:
    ddoc = DesignDocument(db, "app")
    assert ddoc["_id"] == "_design/app"
    for member in ("views", "indexes", "lists", "shows"):
        assert ddoc[member] == {}
    assert ddoc["options"] == {"partitioned": False}
    ddoc.save()
    stored = db.all_docs(key="_design/app", include_docs=True)["rows"][0]["doc"]
    assert "views" not in stored and "lists" not in stored
    assert ddoc["views"] == {}


def test_views_and_functions(http_server: Server, db: CouchDatabase) -> None:
    http_server.require("javascript_views")
    db.bulk_docs([{"_id": str(i), "n": i} for i in range(5)])
    ddoc = DesignDocument(db, "_design/app")
    ddoc.add_view("by_n", "function (doc) { emit(doc.n, 1); }", "_count")
    with pytest.raises(CloudantArgumentError) as dup:
        ddoc.add_view("by_n", "function (doc) {}")
    assert dup.value.status_code == 107
    ddoc.add_list_function("l", "function(head, req) { return 'x'; }")
    ddoc.add_show_function("s", "function(doc, req) { return 'shown ' + doc._id; }")
    ddoc.save()
    fetched = db.get_design_document("app")
    view = fetched.get_view("by_n")
    assert isinstance(view, View) and view.url.endswith("/_design/app/_view/by_n")
    assert view(reduce=False, limit=2)["rows"][0]["key"] == 0
    assert view()["rows"][0]["value"] == 5
    assert fetched.list_list_functions() == ["l"] and dict(fetched.itershows())["s"]
    with view.custom_result(reduce=False, page_size=2) as rows:
        assert [row["key"] for row in rows] == [0, 1, 2, 3, 4]
    result = db.get_view_result("_design/app", "by_n", reduce=False)
    assert isinstance(result, Result)
    assert result[1] == [{"id": "1", "key": 1, "value": 1}]
    assert [r["key"] for r in result[1:3]] == [1, 2]
    assert [r["key"] for r in result[3:4]] == [3]
    raw = db.get_view_result("_design/app", "by_n", raw_result=True, reduce=False, limit=1)
    assert isinstance(raw, dict) and len(raw["rows"]) == 1
    assert db.get_show_function_result("app", "s", "2") == "shown 2"


def test_a_reserved_id_is_refused_as_given(db: CouchDatabase) -> None:
    # python-cloudant checks the id before it prefixes _design/: "_index" is not "_design/_index".
    for docid in ("_index", "_design", "_all_docs"):
        with pytest.raises(CloudantArgumentError) as caught:
            DesignDocument(db, docid)
        assert str(caught.value) == f"Invalid document ID: {docid}"
    assert DesignDocument(db, "ddoc001")["_id"] == "_design/ddoc001"
