"""Paging logic of Result / QueryResult, driven by a tiny in-test fake of a view index.

The fake (``FakeIndex``) is not a backend: it answers ``fetch(params, keys)``
over a sorted list of rows with CouchDB's meaning of startkey, startkey_docid,
endkey, inclusive_end, descending, limit and skip, and records every request,
so the tests can check what the pagers ask for (no ever-growing skip, limit+1)
and that they yield every row exactly once. ``honour_docid=False`` mimics
PouchDB Server, which ignores startkey_docid. Keys here are ints/strs/None only,
ordered None < numbers < strings as CouchDB collates them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settee.errors import SetteeError
from settee.pages.bookmarks import BookmarkPager, QueryResult
from settee.pages.keys import Result, ResultByKey


def _rank(key: Any) -> tuple[int, Any]:
    if key is None:
        return (0, 0)
    if isinstance(key, (int, float)):
        return (1, key)
    return (2, key)


def _pos(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (_rank(row["key"]), row.get("id", ""))


class FakeIndex:
    def __init__(self, rows: list[dict[str, Any]], *, honour_docid: bool = True) -> None:
        self.rows = sorted(rows, key=_pos)
        self.honour_docid = honour_docid
        self.requests: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any], keys: list[Any] | None) -> dict[str, Any]:
        self.requests.append(dict(params, keys=keys))
        if keys is not None:
            out = [r for k in keys for r in self.rows if r["key"] == k]
            return {"rows": out}
        rows = self.rows[::-1] if params.get("descending") else list(self.rows)
        sign = -1 if params.get("descending") else 1
        if "startkey" in params:
            start: tuple[Any, ...] = (_rank(params["startkey"]),)
            docid = params.get("startkey_docid") if self.honour_docid else None
            rows = [
                r
                for r in rows
                if (
                    (_pos(r)[:1] > start or (_pos(r)[:1] == start and docid is None))
                    or (_pos(r)[:1] == start and r.get("id", "") >= docid)
                    if sign == 1
                    else (_pos(r)[:1] < start or (_pos(r)[:1] == start and docid is None))
                    or (_pos(r)[:1] == start and r.get("id", "") <= docid)
                )
            ]
        if "endkey" in params:
            end = _rank(params["endkey"])
            inclusive = params.get("inclusive_end", True)
            rows = [
                r
                for r in rows
                if (
                    (_rank(r["key"]) < end or (inclusive and _rank(r["key"]) == end))
                    if sign == 1
                    else (_rank(r["key"]) > end or (inclusive and _rank(r["key"]) == end))
                )
            ]
        skip = params.get("skip", 0)
        rows = rows[skip:]
        if "limit" in params:
            rows = rows[: params["limit"]]
        return {"total_rows": len(self.rows), "offset": skip, "rows": [dict(r) for r in rows]}


def make_rows(spec: list[tuple[Any, str]]) -> list[dict[str, Any]]:
    """Rows from (key, id) pairs; a repeated pair is a doc emitting one key twice."""
    return [{"key": k, "id": i, "value": n} for n, (k, i) in enumerate(spec)]


def order(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(_rank(r["key"]), r.get("id"), r["value"]) for r in rows]


def docs(n: int) -> list[dict[str, Any]]:
    return make_rows([(f"d{i:03d}", f"d{i:03d}") for i in range(n)])


def test_all_rows_once_with_limit_plus_one_and_no_skip() -> None:
    fake = FakeIndex(docs(25))
    result = Result(fake, page_size=10, docid_paging=False)
    assert [r["id"] for r in result] == [f"d{i:03d}" for i in range(25)]
    assert [q["limit"] for q in fake.requests] == [11, 11, 11]
    assert all("skip" not in q for q in fake.requests)
    assert [q.get("startkey") for q in fake.requests] == [None, "d010", "d020"]
    assert all("startkey_docid" not in q for q in fake.requests)


def test_exact_multiple_of_page_size_ends_on_short_answer() -> None:
    fake = FakeIndex(docs(20))
    assert len(Result(fake, page_size=10, docid_paging=False).all()) == 20
    assert len(fake.requests) == 2  # the look-ahead row tells the second page is the last


def test_buffered_is_at_most_one_page_plus_lookahead() -> None:
    result = Result(FakeIndex(docs(95)), page_size=10, docid_paging=False)
    most = 0
    for _ in result:
        most = max(most, result.buffered)
    assert most == 11
    assert result.buffered == 0


def test_limit_and_skip_apply_once() -> None:
    fake = FakeIndex(docs(50))
    rows = Result(fake, page_size=7, docid_paging=False, limit=20, skip=5).all()
    assert [r["id"] for r in rows] == [f"d{i:03d}" for i in range(5, 25)]
    assert fake.requests[0]["skip"] == 5
    assert all("skip" not in q for q in fake.requests[1:])
    assert fake.requests[-1]["limit"] == 6  # the last page asks for exactly what is left


def test_descending_and_aliases() -> None:
    fake = FakeIndex(docs(30))
    rows = Result(
        fake, page_size=4, docid_paging=False, descending=True, start_key="d020", end_key="d010"
    ).all()
    assert [r["id"] for r in rows] == [f"d{i:03d}" for i in range(20, 9, -1)]
    with pytest.raises(ValueError):
        Result(fake, startkey="a", start_key="b")


def test_key_means_startkey_and_endkey() -> None:
    fake = FakeIndex(make_rows([(1, "a"), (2, "a"), (2, "b"), (2, "c"), (3, "a")]))
    assert [r["id"] for r in Result(fake, page_size=1, key=2)] == ["a", "b", "c"]
    with pytest.raises(ValueError):
        Result(fake, key=2, startkey=1)


@pytest.mark.parametrize("honour_docid", [True, False])
@pytest.mark.parametrize("page_size", [1, 2, 3, 5, 100])
def test_duplicate_keys_and_ids_straddling_pages(honour_docid: bool, page_size: int) -> None:
    # "b" emits key 1 three times; keys 1 and 2 are shared by many documents.
    spec = [(1, "a"), (1, "b"), (1, "b"), (1, "b"), (1, "c"), (2, "a"), (2, "b"), (3, "z")]
    fake = FakeIndex(make_rows(spec), honour_docid=honour_docid)
    rows = Result(fake, page_size=page_size).all()
    assert order(rows) == order(fake.rows)
    desc = Result(fake, page_size=page_size, descending=True).all()
    assert order(desc) == order(fake.rows)[::-1]


def test_docid_paging_skips_only_rows_of_the_same_document() -> None:
    spec = [(1, f"id{i}") for i in range(6)]
    fake = FakeIndex(make_rows(spec))
    Result(fake, page_size=2).all()
    assert [q.get("skip", 0) for q in fake.requests] == [0, 0, 0]
    assert [q.get("startkey_docid") for q in fake.requests] == [None, "id2", "id4"]


def test_server_ignoring_startkey_docid_switches_to_key_and_skip() -> None:
    spec = [(1, f"id{i}") for i in range(6)] + [(2, "x")]
    fake = FakeIndex(make_rows(spec), honour_docid=False)
    rows = Result(fake, page_size=2).all()
    assert order(rows) == order(fake.rows)
    # Second request noticed the wrong first row and was replayed by key + skip.
    assert fake.requests[2].get("skip") == 2 and "startkey_docid" not in fake.requests[2]


def test_null_keys_fall_back_to_skip() -> None:
    spec = [(None, f"n{i}") for i in range(5)] + [(1, "a"), (2, "b")]
    for descending in (False, True):
        fake = FakeIndex(make_rows(spec))
        rows = Result(fake, page_size=2, descending=descending).all()
        expected = order(fake.rows)
        assert order(rows) == (expected[::-1] if descending else expected)


def test_reduce_rows_without_ids_page_by_key() -> None:
    fake = FakeIndex([{"key": k, "value": k * 10} for k in range(7)])
    rows = Result(fake, page_size=3).all()
    assert [r["key"] for r in rows] == list(range(7))
    assert all("startkey_docid" not in q and "skip" not in q for q in fake.requests)


def test_keys_are_sent_in_chunks_with_client_side_skip_and_limit() -> None:
    fake = FakeIndex(docs(30))
    keys = [f"d{i:03d}" for i in range(0, 30, 2)]
    rows = Result(fake, page_size=4, keys=keys, skip=2, limit=9).all()
    assert [r["id"] for r in rows] == keys[2:11]
    assert [len(q["keys"]) for q in fake.requests] == [4, 4, 4]
    with pytest.raises(TypeError):
        Result(fake, keys="d001")


def test_indexing_by_position_is_one_request() -> None:
    fake = FakeIndex(docs(30))
    result = Result(fake, page_size=10, docid_paging=False, skip=2)
    assert result[5]["id"] == "d007"
    assert fake.requests == [{"limit": 1, "skip": 7, "keys": None}]
    with pytest.raises(IndexError):
        result[28]
    with pytest.raises(ValueError):
        result[-1]


def test_slices() -> None:
    fake = FakeIndex(docs(30))
    result = Result(fake, page_size=4, docid_paging=False)
    window = result[5:15]
    assert isinstance(window, list) and [r["id"] for r in window] == [
        f"d{i:03d}" for i in range(5, 15)
    ]
    tail = result[27:]
    assert isinstance(tail, Result) and [r["id"] for r in tail] == ["d027", "d028", "d029"]
    assert result[3:3] == []
    assert [r["id"] for r in Result(fake, limit=5)[3:10]] == ["d003", "d004"]
    assert [r["id"] for r in result["d010":"d012"]] == ["d010", "d011", "d012"]
    with pytest.raises(ValueError):
        result[1:5:2]
    with pytest.raises(ValueError):
        result[-3:]


def test_by_key() -> None:
    fake = FakeIndex(make_rows([(5, "a"), (5, "b"), (6, "c"), ("5", "d")]))
    result = Result(fake, page_size=1)
    assert [r["id"] for r in result[ResultByKey(5)]] == ["a", "b"]
    assert [r["id"] for r in result["5"]] == ["d"]
    assert result[ResultByKey(7)] == []
    assert [r["id"] for r in result[ResultByKey(5) : ResultByKey(6)]] == ["a", "b", "c"]
    assert ResultByKey(5) == ResultByKey(5) and ResultByKey(5) != ResultByKey("5")
    with pytest.raises(ValueError, match="null"):
        result[ResultByKey(None)]


def test_first_asks_for_one_row() -> None:
    fake = FakeIndex(docs(3))
    first = Result(fake, docid_paging=False).first()
    assert first is not None and first["id"] == "d000"
    assert fake.requests[0]["limit"] == 1
    assert Result(FakeIndex([])).first() is None


def test_bad_options() -> None:
    fake = FakeIndex([])
    for bad in ({"page_size": 0}, {"limit": -1}):
        with pytest.raises(ValueError):
            Result(fake, **bad)
    for bad in ({"skip": "3"}, {"page_size": True}):  # the wrong type: TypeError
        with pytest.raises(TypeError):
            Result(fake, **bad)


@settings(max_examples=150, deadline=None)
@given(
    spec=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 4), st.sampled_from(["a", "b"])),
            st.sampled_from(["p", "q", "r"]),
        ),
        max_size=40,
    ),
    page_size=st.integers(1, 8),
    descending=st.booleans(),
    honour_docid=st.booleans(),
    limit=st.one_of(st.none(), st.integers(0, 45)),
    skip=st.integers(0, 5),
)
def test_paging_equals_one_big_request(
    spec: list[tuple[Any, str]],
    page_size: int,
    descending: bool,
    honour_docid: bool,
    limit: int | None,
    skip: int,
) -> None:
    fake = FakeIndex(make_rows(spec), honour_docid=honour_docid)
    options: dict[str, Any] = {"descending": descending, "skip": skip}
    if limit is not None:
        options["limit"] = limit
    everything = fake(dict(options), None)["rows"]
    fake.requests.clear()
    result = Result(fake, page_size=page_size, **options)
    assert order(result.all()) == order(everything)
    assert result.buffered == 0


# -- QueryResult --------------------------------------------------------------------


class FakeFind:
    """``_find`` over a list of docs; bookmarks are positions, or none (PouchDB)."""

    def __init__(self, n: int, *, bookmarks: bool = True) -> None:
        self.docs = [{"_id": f"d{i:03d}", "n": i} for i in range(n)]
        self.bookmarks = bookmarks
        self.requests: list[dict[str, Any]] = []

    def __call__(self, query: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(dict(query))
        after = query.get("selector", {}).get("_id", {}).get("$gt")  # keyset paging
        docs = [d for d in self.docs if after is None or d["_id"] > after]
        start = int(query["bookmark"]) if "bookmark" in query else 0
        start += query.get("skip", 0)
        page = docs[start : start + query.get("limit", 25)]
        answer: dict[str, Any] = {"docs": page}
        if self.bookmarks:
            answer["bookmark"] = str(start + len(page)) if page else query.get("bookmark", "nil")
        return answer


def test_bookmark_paging() -> None:
    fake = FakeFind(23)
    result = QueryResult(fake, {"selector": {}}, page_size=10)
    assert [d["n"] for d in result] == list(range(23))
    assert [q.get("bookmark") for q in fake.requests] == [None, "10", "20"]
    assert all(q["limit"] == 10 for q in fake.requests)
    assert result.bookmark == "23"


def test_bookmark_paging_stops_on_a_short_or_empty_page() -> None:
    fake = FakeFind(20)
    assert len(QueryResult(fake, {"selector": {}}, page_size=10).all()) == 20
    assert len(fake.requests) == 3  # the third, empty page ends it


def test_no_bookmark_falls_back_to_skip() -> None:
    fake = FakeFind(23, bookmarks=False)
    result = QueryResult(
        fake, {"selector": {}, "skip": 2, "limit": 15}, page_size=6, bookmarks=False
    )
    assert [d["n"] for d in result] == list(range(2, 17))
    assert [q.get("skip") for q in fake.requests] == [2, 8, 14]
    assert [q["limit"] for q in fake.requests] == [6, 6, 3]


def test_no_bookmark_falls_back_to_id_keys_not_a_growing_skip() -> None:
    # Issue 9: get_query_result went on with skip=6, 12, ...; filter() by _id keys.
    fake = FakeFind(23, bookmarks=False)
    result = QueryResult(fake, {"selector": {}, "limit": 15}, page_size=6, bookmarks=False)
    assert [d["n"] for d in result] == list(range(15))
    assert all("skip" not in q for q in fake.requests)
    assert [q["selector"] for q in fake.requests] == [
        {},
        {"_id": {"$gt": None}},
        {"_id": {"$gt": "d005"}},
        {"_id": {"$gt": "d011"}},
    ]
    assert [q["sort"] for q in fake.requests[1:]] == [[{"_id": "asc"}]] * 3


def test_the_fallback_is_chosen_by_capability_not_by_a_missing_bookmark() -> None:
    # Without mango_bookmarks: key paging after the first page, even when the
    # answers carry bookmarks; with it, a full page without one is an error.
    fake = FakeFind(13)
    result = QueryResult(fake, {"selector": {}}, page_size=6, bookmarks=False)
    assert [d["n"] for d in result] == list(range(13))
    assert all("bookmark" not in q for q in fake.requests)
    assert fake.requests[1]["selector"] == {"_id": {"$gt": None}}
    without = FakeFind(13, bookmarks=False)
    with pytest.raises(SetteeError, match="without a bookmark"):
        QueryResult(without, {"selector": {}}, page_size=6).all()
    assert len(without.requests) == 1


def test_query_result_index_slice_first() -> None:
    fake = FakeFind(30)
    result = QueryResult(fake, {"selector": {}}, page_size=4)
    assert result[7]["n"] == 7
    assert [d["n"] for d in result[3:9]] == list(range(3, 9))
    tail = result[28:]
    assert isinstance(tail, QueryResult) and [d["n"] for d in tail] == [28, 29]
    first = result.first()
    assert first is not None and first["n"] == 0
    with pytest.raises(IndexError):
        result[30]
    with pytest.raises(TypeError):
        result["key"]  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        QueryResult(fake, {"fields": ["a"]})


def test_key_paging_narrows_the_selector_s_own_bound() -> None:
    """Without bookmarks, the next page's bound replaces the selector's bound on that
    field (one range), not a second one in an ``$and``: PouchDB Server takes the
    first range of an ``$and`` for its index and would answer from the start again."""
    rows = [{"_id": f"d{i}", "k": i} for i in range(7)]
    sent: list[dict[str, Any]] = []

    def find(body: dict[str, Any]) -> Mapping[str, Any]:
        sent.append(body)
        low = body["selector"]["k"]["$gte"]
        skip = body.get("skip", 0)
        matching = [r for r in rows if low is None or r["k"] >= low]
        return {"docs": matching[skip : skip + body["limit"]]}

    pager = BookmarkPager(
        find,
        {"selector": {"k": {"$gte": None}}, "sort": [{"k": "asc"}]},
        page_size=3,
        bookmarks=False,
    )
    got = [d["_id"] for page in pager.pages() for d in page]
    assert got == [r["_id"] for r in rows]
    assert all(set(b["selector"]) == {"k"} for b in sent)


def test_key_paging_that_makes_no_progress_raises_instead_of_looping() -> None:
    """A server that ignores the key condition, answering two pages in turn for ever,
    is refused once a page repeats an earlier position (bounded: the fake counts)."""
    pages = [
        [{"_id": "a", "k": 1}, {"_id": "b", "k": 2}],
        [{"_id": "c", "k": 3}, {"_id": "d", "k": 4}],
    ]
    calls = 0

    def find(body: dict[str, Any]) -> Mapping[str, Any]:
        nonlocal calls
        calls += 1
        assert calls < 50, "the pager kept asking"
        return {"docs": pages[calls % 2]}

    pager = BookmarkPager(
        find, {"selector": {}, "sort": [{"k": "asc"}]}, page_size=2, bookmarks=False
    )
    with pytest.raises(SetteeError, match="did not answer sorted"):
        for _ in pager.pages():
            pass
    assert calls < 10
