"""The local engine's json indexes: key bytes ordered as CouchDB collates, the planner."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settee.backends import open_backend
from settee.backends._local.collation import collate
from settee.backends._local.jsonindex import IndexDef, encode, plan
from settee.backends._local.mango import parse_sort
from settee.backends.base import Backend
from settee.errors import BadRequest

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**170), max_value=2**170)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


@given(json_values, json_values)
def test_key_bytes_order_as_collation(a: Any, b: Any) -> None:
    ka, kb = encode(a), encode(b)
    assert _sign((ka > kb) - (ka < kb)) == collate(a, b)


@given(st.lists(json_values, min_size=2, max_size=2), st.lists(json_values, min_size=2, max_size=2))
def test_compound_keys_order_field_by_field(a: list[Any], b: list[Any]) -> None:
    ka, kb = encode(a[0]) + encode(a[1]), encode(b[0]) + encode(b[1])
    expected = collate(a[0], b[0]) or collate(a[1], b[1])
    assert _sign((ka > kb) - (ka < kb)) == expected


@given(st.text(max_size=8), st.text(max_size=8))
def test_raw_keys_order_by_code_point(a: str, b: str) -> None:
    ka, kb = encode(a, raw=True), encode(b, raw=True)
    assert (ka < kb) == (a < b) and (ka == kb) == (a == b)


def _index(name: str, *fields: str, partial: Any = None) -> IndexDef:
    definition: dict[str, Any] = {"fields": [{f: "asc"} for f in fields]}
    if partial is not None:
        definition["partial_filter_selector"] = partial
    return IndexDef(f"_design/{name}", name, definition)


INDEXES = [
    _index("a", "a"),
    _index("ab", "a", "b"),
    _index("c", "c"),
    _index("p", "q", partial={"x": 1}),
]


@pytest.mark.parametrize(
    ("selector", "sort", "chosen"),
    [
        ({"a": 1, "b": {"$lt": 3}}, None, "ab"),  # the longer narrowing prefix
        ({"a": {"$gt": 1}}, None, "a"),  # as narrow, fewer fields
        ({"a": 1}, [{"b": "asc"}], "ab"),  # a fixed: b's order is the index's
        ({"$and": [{"a": 1}, {"b": 2}]}, None, "ab"),
        ({"a": {"b": 1}}, None, None),  # a.b, not a: no index on it
        ({"c": {"$exists": True}}, None, "c"),
        ({"c": {"$exists": False}}, None, None),  # not required to exist: unusable
        ({"$or": [{"a": 1}, {"a": 2}]}, None, None),
        ({"z": 1}, [{"_id": "desc"}], None),  # _all_docs serves an _id sort
    ],
)
def test_planner_chooses_like_couchdb(selector: Any, sort: Any, chosen: str | None) -> None:
    got = plan(INDEXES, selector, parse_sort(sort), None)
    assert (got.index.name if got.index else None) == chosen


def test_planner_refuses_a_sort_no_index_serves() -> None:
    with pytest.raises(BadRequest) as refused:
        plan(INDEXES, {"a": 1}, parse_sort([{"z": "asc"}]), None)
    assert refused.value.error == "no_usable_index"
    with pytest.raises(BadRequest):
        plan(INDEXES, {"x": 1}, parse_sort(["q"]), None)  # p is partial: only when named
    # A sort field need not be in the selector: the index holds only documents with it.
    assert plan(INDEXES, {"x": 1}, parse_sort(["a"]), None).index == INDEXES[0]


def test_planner_uses_a_named_index_or_says_why_not() -> None:
    named = plan(INDEXES, {"q": {"$gt": 0}}, [], "_design/p")
    assert named.index is not None and named.index.name == "p"
    fallback = plan(INDEXES, {"a": 1}, [], ["c", "c"])
    assert fallback.index is not None and fallback.index.name == "a"
    assert fallback.warning is not None and "_design/c" in fallback.warning


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    url = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path}/x.db"
    b = open_backend(url)
    b.create_db("db")
    yield b
    b.close()


def test_explain_and_find_read_only_the_range(backend: Backend) -> None:
    backend.bulk_docs("db", [{"_id": f"d{i:03d}", "a": i % 10, "b": i} for i in range(200)])
    backend.create_index("db", {"index": {"fields": ["a", "b"]}, "ddoc": "ab", "name": "ab"})
    query: dict[str, Any] = {"selector": {"a": 3, "b": {"$gte": 50, "$lt": 120}}}
    plan_body = backend.explain("db", query)  # type: ignore[attr-defined]
    assert plan_body["index"]["name"] == "ab" and plan_body["mrargs"]["start_key"] == [3, 50]
    body = backend.find("db", {**query, "execution_stats": True})
    assert [d["b"] for d in body["docs"]] == list(range(53, 120, 10))
    assert body["execution_stats"]["total_docs_examined"] == 7  # only the range is read
    assert "warning" not in body
    sorted_by_b = backend.find("db", {"selector": {"a": 3}, "sort": [{"b": "desc"}], "limit": 3})
    assert [d["b"] for d in sorted_by_b["docs"]] == [193, 183, 173]
    # A design document written directly (not through create_index) is indexed too.
    backend.put_doc(
        "db",
        {
            "_id": "_design/direct",
            "language": "query",
            "views": {
                "b": {"map": {"fields": {"b": "asc"}}, "options": {"def": {"fields": ["b"]}}}
            },
        },
    )
    direct = backend.find("db", {"selector": {"b": {"$gt": 197}}, "execution_stats": True})
    assert [d["b"] for d in direct["docs"]] == [198, 199]
    assert direct["execution_stats"]["total_docs_examined"] == 2
    backend.delete_index("db", "ab", "ab")
    with pytest.raises(BadRequest):
        backend.find("db", {"selector": {"a": 3}, "sort": [{"a": "desc"}, {"b": "desc"}]})


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-5, max_value=5)
    | st.sampled_from([2**60, 2**60 + 1, 0.5, -0.0])
    | st.sampled_from(["", "a", "A", "b", "é"])
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.fixed_dictionaries({"a": scalars, "b": scalars}), max_size=12),
    st.sampled_from(["$gt", "$gte", "$lt", "$lte", "$eq"]),
    scalars,
    st.booleans(),
)
def test_an_index_answers_what_a_scan_answers(
    docs: list[dict[str, Any]], op: str, bound: Any, descending: bool
) -> None:
    b = open_backend("memory:")
    b.create_db("db")
    b.bulk_docs("db", [{"_id": f"d{i:02d}", **doc} for i, doc in enumerate(docs)])
    b.bulk_docs("db", [{"_id": "lacks-b", "a": 1}])
    selector = {"a": {op: bound}}
    scanned = b.find("db", {"selector": selector, "limit": 100})
    assert "warning" in scanned  # no index yet: _all_docs
    b.create_index("db", {"index": {"fields": ["a", "b"]}, "ddoc": "ab", "name": "ab"})
    direction = "desc" if descending else "asc"
    indexed = b.find(
        "db",
        {"selector": selector, "sort": [{"a": direction}, {"b": direction}], "limit": 100},
    )
    assert "warning" not in indexed
    # The index holds only documents with both fields (CouchDB's json index).
    expected = {d["_id"] for d in scanned["docs"] if "b" in d}
    assert {d["_id"] for d in indexed["docs"]} == expected
    keys = [(d["a"], d["b"]) for d in indexed["docs"]]
    for first, second in itertools.pairwise(keys):
        order = collate(list(first), list(second))
        assert order >= 0 if descending else order <= 0
    b.close()


@pytest.mark.parametrize("descending", [False, True])
def test_bookmarks_resume_inside_and_outside_the_range(backend: Backend, descending: bool) -> None:
    # Many rows share each key, so a resumed page must seek to its bookmark, not to the
    # range's start (SQLite: the bookmark bounds the read on its side); a bookmark from
    # another query, below or above this one's range, answers as the rows after it.
    docs = [{"_id": f"d{i:03d}", "a": i % 4, "b": i % 3} for i in range(120)]
    backend.bulk_docs("db", docs)
    backend.create_index("db", {"index": {"fields": ["a", "b"]}, "ddoc": "ab", "name": "ab"})
    direction = "desc" if descending else "asc"
    sort = [{"a": direction}, {"b": direction}]

    def page(selector: dict[str, Any], bookmark: str | None, limit: int) -> dict[str, Any]:
        query: dict[str, Any] = {"selector": selector, "sort": sort, "limit": limit}
        if bookmark is not None:
            query["bookmark"] = bookmark
        return backend.find("db", query)

    middle = {"a": {"$gte": 1, "$lte": 2}}
    whole = [d["_id"] for d in page(middle, None, 1000)["docs"]]
    assert len(whole) == 60
    seen: list[str] = []
    bookmark = None
    for _ in range(20):  # bounded: 60 rows in pages of 7
        body = page(middle, bookmark, 7)
        seen += [d["_id"] for d in body["docs"]]
        if len(body["docs"]) < 7:
            break
        bookmark = body["bookmark"]
    assert seen == whole
    low = page({"a": 0}, None, 5)["bookmark"]  # a bookmark below the middle rows
    high = page({"a": 3}, None, 5)["bookmark"]  # and one above them
    before, after = (high, low) if descending else (low, high)
    assert [d["_id"] for d in page(middle, before, 1000)["docs"]] == whole
    assert page(middle, after, 1000)["docs"] == []
