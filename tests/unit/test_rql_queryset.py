"""MangoQuerySet paging and refinement logic.

The database here is a tiny fake exposing ``backend.find`` ONLY, to test the
paging logic (page sizes, bookmarks, the skip fallback, stop conditions,
laziness) and the ``_find`` bodies sent. It does not evaluate selectors: the
real-server behaviour (CouchDB / PouchDB Server) is tested through
``db.filter`` in tests/rest/test_rql_differential.py and the conformance suite.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settee.errors import BadRequest, NotSupported, RQLSyntaxError
from settee.rql.builder import R
from settee.rql.queryset import MangoQuerySet


class FakeBackend:
    """Answers ``find`` from a list of documents, honouring limit/skip/bookmark/fields.

    Of the selector it understands only what the keyset fallback adds,
    ``{"_id": {"$gt": x}}`` (alone or in a top-level ``$and``), and of sorts only
    ``_id``. Without a sort, documents come in list order ("index order").
    ``short_by`` drops that many documents from every keyset page, as PouchDB
    does when it applies ``limit`` before its in-memory filter.
    """

    def __init__(self, docs: list[dict[str, Any]], *, bookmarks: bool = True) -> None:
        self.docs = docs
        self.bookmarks = bookmarks
        self.requests: list[dict[str, Any]] = []
        self.error: BadRequest | None = None
        self.stuck_bookmark = False
        self.short_by = 0

    @property
    def capabilities(self) -> frozenset[str]:
        # The pager picks bookmark or key paging by this capability.
        return frozenset({"mango_bookmarks"}) if self.bookmarks else frozenset()

    @staticmethod
    def _after(selector: dict[str, Any]) -> Any:
        clauses = selector.get("$and", [selector])
        for clause in clauses:
            if set(clause) == {"_id"} and "$gt" in clause["_id"]:
                return clause["_id"]["$gt"]
        return None

    def find(
        self, db: str, query: dict[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        assert db == "things"
        self.requests.append(dict(query))
        if self.error is not None:
            raise self.error
        docs = self.docs
        after = self._after(query["selector"])
        if query.get("sort") == [{"_id": "asc"}]:
            docs = sorted(docs, key=lambda d: d["_id"])
        if after is not None:
            docs = [d for d in docs if d["_id"] > after]
        for clause in query["selector"].get("$and", [query["selector"]]):
            for field, condition in clause.items():
                if isinstance(condition, dict) and "$gte" in condition:  # sorted keyset paging
                    docs = [d for d in docs if d[field] >= condition["$gte"]]
                if isinstance(condition, dict) and "$lte" in condition:
                    docs = [d for d in docs if d[field] <= condition["$lte"]]
        start = int(query.get("skip", 0))
        if "bookmark" in query:
            start = int(query["bookmark"].removeprefix("bm-"))
        limit = query.get("limit", 25)
        page = docs[start : start + limit]
        if "$and" in query["selector"] or set(query["selector"]) == {"_id"}:
            page = page[: max(len(page) - self.short_by, 0)] if len(page) == limit else page
        if "fields" in query:
            page = [{k: d[k] for k in query["fields"] if k in d} for d in page]
        answer: dict[str, Any] = {"docs": page}
        if self.bookmarks:
            answer["bookmark"] = "bm-0" if self.stuck_bookmark else f"bm-{start + len(page)}"
        return answer


class FakeDatabase:
    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend
        self.database_name = "things"


def make(n: int, *, bookmarks: bool = True) -> tuple[FakeDatabase, FakeBackend]:
    backend = FakeBackend([{"_id": f"d{i:04d}", "n": i} for i in range(n)], bookmarks=bookmarks)
    return FakeDatabase(backend), backend


def test_nothing_is_requested_until_used() -> None:
    db, backend = make(5)
    qs = MangoQuerySet(db, R(status="new"))
    qs = qs.filter(total__gt=3).order_by("-n").select("_id").limit(3)
    assert "selector=" in repr(qs)
    assert backend.requests == []


@pytest.mark.parametrize(("count", "requests"), [(0, 1), (99, 1), (100, 2), (250, 3), (300, 4)])
def test_pages_follow_bookmarks_until_a_short_page(count: int, requests: int) -> None:
    db, backend = make(count)
    docs = list(MangoQuerySet(db, page_size=100))
    assert [d["n"] for d in docs] == list(range(count))
    assert len(backend.requests) == requests
    assert backend.requests[0] == {"selector": {}, "limit": 100}
    for i, body in enumerate(backend.requests[1:], start=1):
        assert body["bookmark"] == f"bm-{i * 100}"
        assert "skip" not in body


def test_iteration_holds_one_page() -> None:
    db, backend = make(250)
    it = iter(MangoQuerySet(db, page_size=100))
    next(it)
    assert len(backend.requests) == 1
    for _ in range(99):
        next(it)
    assert len(backend.requests) == 1
    next(it)
    assert len(backend.requests) == 2


def test_without_bookmarks_pages_by_id_keyset() -> None:
    # PouchDB Server returns no bookmark (apache/pouchdb#8497). The fake's "index
    # order" is reversed ids; the keyset restart is in _id order and must give
    # every document exactly once.
    db, backend = make(250, bookmarks=False)
    backend.docs.reverse()
    docs = list(MangoQuerySet(db, R(kind="x"), page_size=100))
    ids = [d["_id"] for d in docs]
    assert len(ids) == 250 == len(set(ids))
    assert ids[:100] == [f"d{i:04d}" for i in range(249, 149, -1)]  # page 1, index order
    assert ids[100:] == [f"d{i:04d}" for i in range(150)]
    assert all("skip" not in r and "bookmark" not in r for r in backend.requests)
    keyset = backend.requests[1:]
    assert keyset[0]["selector"] == {"$and": [{"kind": {"$eq": "x"}}, {"_id": {"$gt": None}}]}
    assert keyset[1]["selector"]["$and"][1] == {"_id": {"$gt": "d0099"}}
    assert all(r["sort"] == [{"_id": "asc"}] for r in keyset)
    assert len(keyset[-1]["selector"]) == 1
    assert backend.requests[-1]["selector"]["$and"][1] == {"_id": {"$gt": "d0249"}}


def test_keyset_survives_short_pages_and_honours_limit() -> None:
    db, backend = make(50, bookmarks=False)
    backend.short_by = 3  # PouchDB: limit applied before its in-memory filter
    docs = list(MangoQuerySet(db, page_size=10))
    assert [d["n"] for d in docs] == list(range(50))
    backend.requests.clear()
    limited = list(MangoQuerySet(db, page_size=10, limit=25))
    assert [d["n"] for d in limited] == list(range(25))
    assert MangoQuerySet(db, page_size=10).count() == 50


def test_keyset_with_fields_that_omit_the_id() -> None:
    db, backend = make(30, bookmarks=False)
    docs = list(MangoQuerySet(db, page_size=10).select("n"))
    assert docs == [{"n": i} for i in range(30)]
    assert all(r["fields"] == ["n", "_id"] for r in backend.requests)


def test_without_bookmarks_a_sorted_set_pages_by_its_sort_key() -> None:
    # Issue 9: was skip=100, 200, ...; now ``n >= last n`` skipping the run of that n.
    db, backend = make(250, bookmarks=False)
    docs = list(MangoQuerySet(db, page_size=100).order_by("n"))
    assert [d["n"] for d in docs] == list(range(250))
    assert [r.get("skip") for r in backend.requests] == [None, 1, 1]
    assert [r["selector"] for r in backend.requests[1:3]] == [
        {"n": {"$gte": 99}},
        {"n": {"$gte": 199}},
    ]
    assert all("bookmark" not in r for r in backend.requests)


def test_a_repeated_bookmark_stops_paging() -> None:
    db, backend = make(500)
    backend.stuck_bookmark = True  # bm-0 every time: following it would loop forever
    docs = list(MangoQuerySet(db, page_size=100))
    assert len(backend.requests) == 2
    assert len(docs) == 200


def test_limit_caps_results_and_last_page_size() -> None:
    db, backend = make(500)
    docs = list(MangoQuerySet(db, page_size=100).limit(150))
    assert len(docs) == 150
    assert [r["limit"] for r in backend.requests] == [100, 50]
    backend.requests.clear()
    assert len(list(MangoQuerySet(db, limit=30, page_size=100))) == 30
    assert [r["limit"] for r in backend.requests] == [30]


@pytest.mark.parametrize("bad", [0, -1])
def test_limit_must_be_positive(bad: int) -> None:
    db, _ = make(1)
    with pytest.raises(ValueError, match="limit must be an int >= 1"):
        MangoQuerySet(db).limit(bad)
    with pytest.raises(ValueError, match="page_size must be an int >= 1"):
        MangoQuerySet(db, page_size=bad)


@pytest.mark.parametrize("bad", ["3", 1.5, True, None])
def test_limit_must_be_an_int(bad: object) -> None:
    db, _ = make(1)
    with pytest.raises(TypeError, match="int"):
        MangoQuerySet(db).limit(bad)  # type: ignore[arg-type]


def test_filter_ands_and_returns_a_new_set() -> None:
    db, backend = make(1)
    base = MangoQuerySet(db, R(status="new"))
    narrowed = base.filter("gt(total,3)", kind="a")
    assert base.selector == {"status": {"$eq": "new"}}
    assert narrowed.selector == {
        "$and": [
            {"status": {"$eq": "new"}},
            {"total": {"$gt": 3, "$type": "number"}},
            {"kind": {"$eq": "a"}},
        ]
    }
    assert MangoQuerySet(db).filter(R(a=1)).selector == {"a": {"$eq": 1}}
    assert MangoQuerySet(db, a=1).selector == {"a": {"$eq": 1}}
    list(narrowed)
    assert backend.requests[-1]["selector"] == narrowed.selector


def test_a_mango_dict_is_used_as_is() -> None:
    db, _ = make(1)
    raw = {"type": "order", "n": {"$gt": 1}}
    assert MangoQuerySet(db, raw).selector == raw
    assert MangoQuerySet(db, raw, a=1).selector == {
        "$and": [{"type": "order"}, {"n": {"$gt": 1}}, {"a": {"$eq": 1}}]
    }


def test_order_by_select_and_their_bodies() -> None:
    db, backend = make(3)
    qs = MangoQuerySet(db).order_by("-n", "+kind", "name").select("_id", "n")
    assert qs.find_body() == {
        "selector": {},
        "fields": ["_id", "n"],
        "sort": [{"n": "desc"}, {"kind": "asc"}, {"name": "asc"}],
    }
    list(qs)
    assert backend.requests[0]["sort"] == [{"n": "desc"}, {"kind": "asc"}, {"name": "asc"}]
    assert backend.requests[0]["fields"] == ["_id", "n"]
    assert qs.order_by("n").find_body()["sort"] == [{"n": "asc"}]  # replaces
    with pytest.raises(ValueError, match="exclude"):
        qs.select("-n")
    with pytest.raises(TypeError):
        qs.order_by(3)  # type: ignore[arg-type]


def test_rql_text_brings_select_ordering_limit_offset() -> None:
    db, backend = make(50)
    qs = MangoQuerySet(db, "eq(a,1)&select(_id)&ordering(-n)&limit=5&offset=2")
    assert qs.find_body() == {
        "selector": {"a": {"$eq": 1}},
        "fields": ["_id"],
        "sort": [{"n": "desc"}],
        "limit": 5,
        "skip": 2,
    }
    assert [d["_id"] for d in qs] == [f"d{i:04d}" for i in range(2, 7)]
    assert backend.requests[0]["skip"] == 2
    # explicit keyword options win over the text
    assert MangoQuerySet(db, "eq(a,1)&limit=5", limit=9).find_body()["limit"] == 9


def test_untranslatable_or_bad_rql_raises_at_construction() -> None:
    db, _ = make(1)
    with pytest.raises(NotSupported):
        MangoQuerySet(db, "select(-a)")
    with pytest.raises(RQLSyntaxError):
        MangoQuerySet(db, "eq(a,")
    with pytest.raises(TypeError):
        MangoQuerySet(db, 42)  # type: ignore[arg-type]


def test_first_all_bool() -> None:
    db, backend = make(3)
    qs = MangoQuerySet(db)
    assert qs.first() == {"_id": "d0000", "n": 0}
    assert backend.requests[-1]["limit"] == 1
    assert len(qs.all()) == 3
    assert bool(qs) is True
    assert backend.requests[-1] == {"selector": {}, "limit": 1, "fields": ["_id"]}
    assert MangoQuerySet(db).select("n").first() == {"n": 0}  # _id asked for, not returned
    empty_db, _ = make(0)
    assert MangoQuerySet(empty_db).first() is None
    assert bool(MangoQuerySet(empty_db)) is False
    assert MangoQuerySet(empty_db).all() == []


def test_count_pages_through_ids_only() -> None:
    db, backend = make(230)
    assert MangoQuerySet(db, page_size=100).count() == 230
    assert len(backend.requests) == 3
    assert all(r["fields"] == ["_id"] for r in backend.requests)
    backend.requests.clear()
    assert MangoQuerySet(db, page_size=100).limit(120).count() == 120


def test_indexing() -> None:
    db, backend = make(10)
    qs = MangoQuerySet(db)
    assert qs[3] == {"_id": "d0003", "n": 3}
    assert backend.requests[-1] == {"selector": {}, "limit": 1, "skip": 3}
    with pytest.raises(IndexError):
        qs[10]
    with pytest.raises(IndexError):
        qs.limit(2)[2]
    with pytest.raises(ValueError, match="from the end"):
        qs[-1]
    with pytest.raises(TypeError):
        qs["a"]  # type: ignore[call-overload]


def test_slicing() -> None:
    db, backend = make(20)
    qs = MangoQuerySet(db, page_size=4)
    window = qs[5:12]
    assert isinstance(window, MangoQuerySet)
    assert backend.requests == []
    assert [d["n"] for d in window] == list(range(5, 12))
    assert backend.requests[0]["skip"] == 5
    assert [r["limit"] for r in backend.requests] == [4, 3]
    assert [d["n"] for d in window[2:4]] == [7, 8]  # a slice of a slice
    assert [d["n"] for d in qs[18:]] == [18, 19]
    assert [d["n"] for d in qs.limit(6)[4:]] == [4, 5]
    assert [d["n"] for d in qs.limit(6)[4:100]] == [4, 5]
    assert list(qs[3:3]) == []
    assert window[0] == {"_id": "d0005", "n": 5}
    with pytest.raises(ValueError, match="step"):
        qs[::2]
    with pytest.raises(ValueError, match="negative"):
        qs[-3:]


def test_slicing_without_bookmarks_keeps_the_offset() -> None:
    db, backend = make(20, bookmarks=False)
    assert [d["n"] for d in MangoQuerySet(db, page_size=4)[5:14]] == list(range(5, 14))
    assert [r.get("skip") for r in backend.requests] == [5, 9, 13]  # an offset: skip paging


def test_missing_sort_index_is_explained() -> None:
    db, backend = make(3)
    backend.error = BadRequest(
        "No index exists for this sort, try indexing by the sort fields.",
        error="no_usable_index",
        method="POST",
        url="http://127.0.0.1:5984/things/_find",
    )
    with pytest.raises(BadRequest, match=r"sorting by -n needs a Mango index") as info:
        list(MangoQuerySet(db).order_by("-n"))
    assert info.value.error == "no_usable_index"
    assert isinstance(info.value.__cause__, BadRequest)
    # Without a sort, the server's error passes through untouched.
    with pytest.raises(BadRequest) as plain:
        list(MangoQuerySet(db))
    assert plain.value is backend.error


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(0, 60),
    page_size=st.integers(1, 12),
    limit=st.none() | st.integers(1, 70),
    window=st.none() | st.tuples(st.integers(0, 70), st.none() | st.integers(0, 70)),
    bookmarks=st.booleans(),
    short_by=st.integers(0, 2),
    sort=st.booleans(),
)
def test_paging_property(
    count: int,
    page_size: int,
    limit: int | None,
    window: tuple[int, int | None] | None,
    bookmarks: bool,
    short_by: int,
    sort: bool,
) -> None:
    # Whatever the paging path, the documents are those of plain list slicing.
    db, backend = make(count, bookmarks=bookmarks)
    backend.docs.reverse()  # "index order" differs from _id order
    if not bookmarks and not sort and page_size > short_by:
        backend.short_by = short_by  # PouchDB-like short keyset pages
    qs = MangoQuerySet(db, page_size=page_size)
    expected = list(backend.docs)
    if sort:
        qs = qs.order_by("-n")  # the fake ignores it: list order, which is -n
    if limit is not None:
        qs = qs.limit(limit)
        expected = expected[:limit]
    if window is not None:
        qs = qs[window[0] : window[1]]
        expected = expected[window[0] : window[1]]
    got = [d["_id"] for d in qs]
    want = [d["_id"] for d in expected]
    start = window[0] if window is not None else 0
    if not bookmarks and not sort and start == 0:
        # Keyset restart: the first page in index order, the rest by _id.
        first = min(page_size, qs._limit) if qs._limit is not None else page_size
        order = [d["_id"] for d in backend.docs]
        want = (order[:first] + sorted(order[first:]))[: len(want)]
    assert got == want
    assert qs.count() == len(want)
