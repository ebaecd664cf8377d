"""Mango json indexes on every backend: which index a query reads (``_explain``), the
order an index gives, sorts an index serves or no index does, updates and deletes
reaching the index, partial indexes, bookmark paging through an index.

The local engine's answers are checked against the same assertions PouchDB Server
and CouchDB pass: the same index chosen, the same documents in the same order.
"""

from __future__ import annotations

from typing import Any

import pytest

import settee
from tests.conformance.conftest import full_quorum, has, settled

CATEGORIES = ["books", "music", "games"]


@pytest.fixture
def shop(db: settee.Database) -> settee.Database:
    """60 items (category, price, name) and two json indexes, once _all_docs shows them."""
    docs = [
        {
            "_id": f"item{i:03d}",
            "category": CATEGORIES[i % 3],
            "price": (i * 37) % 50,
            "name": f"n{i:03d}",
        }
        for i in range(60)
    ]
    docs.append({"_id": "no-price", "category": "books", "name": "free"})
    results = full_quorum(db).bulk_docs(docs)
    assert all(r.get("ok") for r in results)
    db.create_query_index("_design/cat", "cat", fields=["category"])
    db.create_query_index("_design/cat-price", "cat-price", fields=["category", "price"])
    settled(db.client, lambda: db.all_docs().all(), lambda rows: len(rows) >= 63)
    return db


def expected_books(db: settee.Database, below: int) -> list[tuple[int, str]]:
    """(price, id) of every book priced below ``below``, read without any index."""
    rows = db.all_docs(include_docs=True).all()
    docs = [row["doc"] for row in rows if not row["id"].startswith("_design/")]
    return sorted(
        (d["price"], d["_id"])
        for d in docs
        if d.get("category") == "books" and isinstance(d.get("price"), int) and d["price"] < below
    )


def test_explain_names_the_narrowest_index(shop: settee.Database) -> None:
    selector = {"category": "books", "price": {"$lt": 20}}
    plan = shop.explain_query(selector)
    assert plan["index"]["name"] == "cat-price"
    assert plan["index"]["ddoc"] == "_design/cat-price"
    assert plan["index"]["type"] == "json"
    assert shop.explain_query({"category": "music"})["index"]["name"] in ("cat", "cat-price")
    # Nothing an index can serve: the special _all_docs index.
    assert shop.explain_query({"name": "n001"})["index"]["name"] == "_all_docs"


def without_price(found: list[Any], backend_kind: str) -> list[Any]:
    """``found`` less the book that has no price, which only PouchDB Server returns.

    PouchDB Server matches a document lacking ``price`` to ``{"price": {"$lt": 20}}``;
    CouchDB (and the local engine) never match a missing field but with ``$exists``.
    """
    if backend_kind != "pouchdb":
        return found
    assert [d["_id"] for d in found if "price" not in d] in ([], ["no-price"])
    return [d for d in found if "price" in d]


def test_an_index_gives_its_order_and_its_range(shop: settee.Database, backend_kind: str) -> None:
    selector = {"category": "books", "price": {"$lt": 20}}
    # One request: paging an unsorted query is the pager's business (test_queries.py).
    page = shop.get_query_result(selector, raw_result=True, limit=100)
    found = without_price(page["docs"], backend_kind)
    # In index order (category, price), ties by id: the same on every backend.
    assert [(d["price"], d["_id"]) for d in found] == expected_books(shop, 20)
    # (CouchDB would also take sort=[{"price": "desc"}] here, category being fixed;
    # PouchDB Server needs every index field in the sort.)
    both = shop.get_query_result(
        {"category": "books", "price": {"$gte": 10, "$lte": 30}},
        sort=[{"category": "desc"}, {"price": "desc"}],
    ).all()
    prices = [d["price"] for d in both]
    assert prices == sorted(prices, reverse=True) and all(10 <= p <= 30 for p in prices)
    assert {d["_id"] for d in both} == {i for p, i in expected_books(shop, 31) if p >= 10}


def test_sorted_paging_through_an_index_sees_each_document_once(shop: settee.Database) -> None:
    selector = {"category": "books", "price": {"$gte": 0}}
    result = shop.get_query_result(
        selector, sort=[{"category": "asc"}, {"price": "asc"}], page_size=4
    )
    docs = result.all()
    assert [(d["price"], d["_id"]) for d in docs] == expected_books(shop, 10**6)
    assert result.requests >= 5  # 20 books in pages of 4


def test_a_sort_no_index_serves_is_refused(shop: settee.Database) -> None:
    with pytest.raises(settee.BadRequest):
        shop.get_query_result({"category": "books"}, sort=[{"name": "asc"}], raw_result=True)
    with pytest.raises(settee.BadRequest):
        shop.get_query_result({"name": {"$gt": None}}, sort=["price"], raw_result=True)


def test_writes_reach_the_index(shop: settee.Database, backend_kind: str) -> None:
    selector = {"category": "books", "price": {"$lt": 20}}
    before = expected_books(shop, 20)
    cheapest = before[0][1]
    doc = shop[cheapest]
    doc["price"] = 45  # moves out of the range
    doc.save()
    shop.create_document({"_id": "new-book", "category": "books", "price": 1, "name": "x"})
    gone = shop[before[1][1]]
    gone.delete()
    now = expected_books(shop, 20)
    assert cheapest not in {i for _, i in now} and "new-book" in {i for _, i in now}
    found = settled(
        shop.client,
        lambda: [
            (d["price"], d["_id"])
            for d in without_price(shop.get_query_result(selector).all(), backend_kind)
        ],
        lambda rows: rows == now,
    )
    assert found == now


def test_partial_index_only_when_named(shop: settee.Database) -> None:
    if not has(shop.client, "mango_partial_indexes"):
        pytest.skip("the server lacks mango_partial_indexes (partial_filter_selector)")
    shop.create_query_index(
        "_design/cheap",
        "cheap",
        fields=["price"],
        partial_filter_selector={"price": {"$lt": 10}},
    )
    selector = {"price": {"$gte": 0}}
    # Not chosen unless named: a sort on price has no other index, so it is refused.
    with pytest.raises(settee.BadRequest):
        shop.get_query_result(selector, sort=["price"], raw_result=True)
    named = shop.get_query_result(selector, sort=["price"], use_index="_design/cheap").all()
    prices = [d["price"] for d in named]
    assert prices == sorted(prices) and prices and all(p < 10 for p in prices)
    assert (
        shop.explain_query(selector, sort=["price"], use_index="_design/cheap")["index"]["name"]
        == "cheap"
    )
