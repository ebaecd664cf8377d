"""What a user's mypy sees of result sets, clients, databases and documents."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import settee
from settee.pages.bookmarks import QueryResult
from settee.pages.keys import Result
from settee.rows import AllDocsRow, ViewRow
from settee.rql.queryset import MangoQuerySet


def rows(db: settee.Database) -> None:
    result = db.all_docs(include_docs=True)
    assert_type(result, Result[AllDocsRow])
    for row in result:
        assert_type(row, AllDocsRow)
    assert_type(result.first(), AllDocsRow | None)
    assert_type(result[0], AllDocsRow)
    assert_type(result.all(), list[AllDocsRow])
    assert_type(db.all_docs(raw_result=True), dict[str, Any])
    assert_type(db.get_view_result("_design/d", "v"), Result[ViewRow])
    assert_type(db.partition("p").all_docs(), Result[AllDocsRow])


def mango(db: settee.Database) -> None:
    found = db.get_query_result({"kind": "x"}, sort=[{"n": "asc"}])
    assert_type(found, QueryResult)
    for doc in found:
        assert_type(doc, dict[str, Any])
    assert_type(found.first(), dict[str, Any] | None)
    queryset = db.filter(settee.R(kind="x"))
    assert_type(queryset, MangoQuerySet)
    assert_type(queryset.first(), dict[str, Any] | None)


def handles(client: settee.Client, doc: settee.Document) -> None:
    assert_type(client.get("x"), settee.Database | None)
    assert_type(client.get("x", 0), settee.Database | int)
    assert_type(doc.client, settee.Client)
    with doc as inside:
        assert_type(inside, settee.Document)


def misspelt(db: settee.Database) -> None:
    db.all_docs(limt=3)  # type: ignore[call-overload]


def queryset_rows(db: settee.Database) -> None:
    for doc in db.filter(settee.R(kind="x"), page_size=10):
        assert_type(doc, dict[str, Any])
    assert_type(db.filter(settee.R(kind="x"))[0], dict[str, Any])


def clients() -> None:
    with settee.connect("memory:") as client:
        assert_type(client, settee.Client)
    with settee.CouchDB("admin", "pw", url="http://127.0.0.1:5984") as couch:
        assert_type(couch, settee.CouchDB)
    with settee.Cloudant("admin", "pw", account="acct") as cloudant:
        assert_type(cloudant, settee.Cloudant)
    with settee.couchdb("admin", "pw", url="http://127.0.0.1:5984") as managed:
        assert_type(managed, settee.CouchDB)
