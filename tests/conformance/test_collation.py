"""CouchDB's collation on every backend: view keys and Mango sort order.

Local backends order a Python view, HTTP backends a JavaScript view; both
must give the table's order. String order is ICU's on CouchDB and on the
local backends; PouchDB Server compares strings by code point, so the
ICU-specific rows are checked only where the server collates with ICU.
"""

from __future__ import annotations

from typing import Any

import pytest

import settee
from tests.unit.test_collation import COLLATION_TABLE

# Rows whose relative order is the same under ICU and under code point order.
PORTABLE_TABLE: list[Any] = [
    None,
    False,
    True,
    -1,
    0,
    1,
    1.5,
    2,
    3.0,
    4,
    "a",
    "aa",
    "b",
    "ba",
    "bb",
    ["a"],
    ["b"],
    ["b", "c"],
    ["b", "c", "a"],
    ["b", "d"],
    {"a": 1},
    {"a": 2},
    {"b": 1},
    {"b": 2, "a": 1},
    {"b": 2, "c": 2},
]

JS_MAP = "function (doc) { if ('k' in doc) { emit(doc.k, null); } }"


def _emit(doc: dict[str, Any]) -> Any:
    if "k" in doc:
        yield doc["k"], None


def _fill(db: settee.Database, table: list[Any]) -> None:
    # Ids in reverse so that id order cannot pass for key order.
    docs = [{"_id": f"k{len(table) - i:03d}", "k": value} for i, value in enumerate(table)]
    results = db.bulk_docs(docs)
    assert all(r.get("ok") for r in results)


def _view_keys(db: settee.Database) -> list[Any]:
    if "python_views" in db.client.backend.capabilities:
        return [row["key"] for row in db.view(_emit, page_size=7)]
    ddoc = settee.DesignDocument(db, "collation")
    ddoc.add_view("by_k", JS_MAP)
    ddoc.save()
    return [row["key"] for row in db.get_view_result("collation", "by_k", page_size=7)]


def _uses_icu(backend_kind: str) -> bool:
    return backend_kind != "pouchdb"


def test_view_keys_follow_type_order(db: settee.Database) -> None:
    _fill(db, PORTABLE_TABLE)
    assert _view_keys(db) == PORTABLE_TABLE


def test_view_keys_follow_icu_string_order(db: settee.Database, backend_kind: str) -> None:
    if not _uses_icu(backend_kind):
        pytest.skip("PouchDB Server collates view strings by code point, not with ICU")
    _fill(db, COLLATION_TABLE)
    assert _view_keys(db) == COLLATION_TABLE


def test_mango_sort_follows_collation(db: settee.Database, backend_kind: str) -> None:
    table = COLLATION_TABLE if _uses_icu(backend_kind) else PORTABLE_TABLE
    _fill(db, table)
    db.create_query_index(design_document_id="_design/k", index_name="k", fields=["k"])
    docs = db.get_query_result({"k": {"$gte": None}}, sort=[{"k": "asc"}], page_size=9).all()
    assert [d["k"] for d in docs] == table
    down = db.get_query_result({"k": {"$gte": None}}, sort=[{"k": "desc"}], page_size=9).all()
    assert [d["k"] for d in down] == table[::-1]
