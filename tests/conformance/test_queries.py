"""Result sets on every backend: all_docs paging and slicing, views, Mango queries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import settee
from settee.pages.keys import ResultByKey
from tests.conformance.conftest import full_quorum, require, settled

N = 150
IDS = [f"doc{i:04d}" for i in range(N)]

# Each document emits its key `n % 5` twice (value 1 and 2): paging must neither
# repeat nor lose rows of one document that straddle a page boundary.
JS_MAP = "function (doc) { if (doc.n !== undefined) { emit(doc.n % 5, 1); emit(doc.n % 5, 2); } }"


def py_map(doc: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    if "n" in doc:
        yield doc["n"] % 5, 1
        yield doc["n"] % 5, 2


@pytest.fixture
def filled(db: settee.Database) -> settee.Database:
    """``N`` documents, once ``_all_docs`` shows them (a cluster's copies may lag a write:
    there they are written with a full write quorum, so every copy has them)."""
    full_quorum(db)
    results = db.bulk_docs(
        [{"_id": docid, "n": i, "even": i % 2 == 0} for i, docid in enumerate(IDS)]
    )
    assert all(r.get("ok") for r in results)
    settled(db.client, lambda: db.all_docs(limit=N).all(), lambda rows: len(rows) == N)
    return db


def ids(rows: Any) -> list[str]:
    return [row["id"] for row in rows]


def test_all_docs_pages_every_row_once(filled: settee.Database) -> None:
    result = filled.all_docs(page_size=10)
    assert ids(result) == IDS
    assert result.requests == 15
    pages = list(filled.all_docs(page_size=40).pages())
    assert [len(p) for p in pages] == [40, 40, 40, 30]


def test_all_docs_include_docs_and_descending(filled: settee.Database) -> None:
    rows = filled.all_docs(include_docs=True, descending=True, page_size=9).all()
    assert ids(rows) == IDS[::-1]
    assert rows[0]["doc"]["n"] == N - 1


def test_all_docs_startkey_endkey_limit_skip(filled: settee.Database) -> None:
    assert ids(filled.all_docs(startkey="doc0010", endkey="doc0029", page_size=6)) == IDS[10:30]
    assert ids(filled.all_docs(start_key="doc0010", end_key="doc0029", page_size=6)) == IDS[10:30]
    assert (
        ids(filled.all_docs(startkey="doc0010", endkey="doc0029", inclusive_end=False, page_size=4))
        == IDS[10:29]
    )
    assert ids(filled.all_docs(limit=25, skip=3, page_size=7)) == IDS[3:28]
    assert (
        ids(filled.all_docs(descending=True, startkey="doc0100", endkey="doc0090", page_size=3))
        == IDS[90:101][::-1]
    )
    assert ids(filled.all_docs(limit=0)) == []
    with pytest.raises(ValueError):
        filled.all_docs(startkey="a", start_key="b")


def test_all_docs_keys_are_paged_in_chunks(filled: settee.Database) -> None:
    wanted = [IDS[5], "missing", IDS[77], IDS[3]]
    rows = filled.all_docs(keys=wanted, page_size=3).all()
    assert [row["key"] for row in rows] == wanted
    assert rows[1]["error"] == "not_found"
    assert ids(filled.all_docs(keys=IDS, page_size=20, skip=5, limit=30)) == IDS[5:35]


def test_all_docs_indexing_and_slicing(filled: settee.Database) -> None:
    result = filled.all_docs(page_size=10)
    assert result[0]["id"] == IDS[0]
    assert result[42]["id"] == IDS[42]
    with pytest.raises(IndexError):
        result[N]
    with pytest.raises(ValueError):
        result[-1]
    assert ids(result[5:25]) == IDS[5:25]
    assert ids(result[:3]) == IDS[:3]
    assert result[10:10] == []
    tail = result[140:]
    assert isinstance(tail, settee.Result)
    assert ids(tail) == IDS[140:]
    limited = filled.all_docs(limit=20, skip=10)
    assert ids(limited[5:100]) == IDS[15:30]
    with pytest.raises(IndexError):
        limited[20]
    assert filled.all_docs(descending=True)[0]["id"] == IDS[-1]


def test_all_docs_by_key_and_key_range(filled: settee.Database) -> None:
    result = filled.all_docs()
    assert ids(result[ResultByKey("doc0007")]) == ["doc0007"]
    assert ids(result["doc0007"]) == ["doc0007"]
    assert ids(result["doc0007":"doc0010"]) == IDS[7:11]
    assert ids(result[ResultByKey("doc0148") :]) == IDS[148:]
    assert result[ResultByKey("nope")] == []


def test_first_and_raw_result(filled: settee.Database) -> None:
    first = filled.all_docs(include_docs=True).first()
    assert first is not None and first["doc"]["_id"] == IDS[0]
    assert filled.all_docs(startkey="zzz").first() is None
    raw = filled.all_docs(raw_result=True, limit=3)
    assert raw["total_rows"] == N
    assert ids(raw["rows"]) == IDS[:3]


def test_javascript_view_paging_with_duplicate_keys(filled: settee.Database) -> None:
    require(filled.client, "javascript_views")
    ddoc = settee.DesignDocument(filled, "q")
    ddoc.add_view("mod5", JS_MAP)
    ddoc.add_view("mod5_count", JS_MAP, "_count")
    ddoc.save()
    _check_view_rows(
        lambda **kw: filled.get_view_result("q", "mod5", **kw),
        filled.get_view_result("_design/q", "mod5", raw_result=True)["rows"],
    )
    grouped = filled.get_view_result("q", "mod5_count", group=True, page_size=2).all()
    assert grouped == [{"key": k, "value": 60} for k in range(5)]
    assert filled.get_view_result("q", "mod5_count").all() == [{"key": None, "value": 300}]


def test_python_view_paging_with_duplicate_keys(filled: settee.Database) -> None:
    require(filled.client, "python_views")
    everything = filled.view(py_map, page_size=1000).all()
    _check_view_rows(lambda **kw: filled.view(py_map, **kw), everything)
    grouped = filled.view(py_map, reduce="_count", group=True, page_size=2).all()
    assert grouped == [{"key": k, "value": 60} for k in range(5)]


def test_python_view_is_not_supported_over_http(filled: settee.Database) -> None:
    if "python_views" in filled.client.backend.capabilities:
        pytest.skip(f"{filled.client.backend.kind} runs Python views")
    with pytest.raises(settee.NotSupported):
        filled.view(py_map).first()


def _check_view_rows(run: Any, expected: list[dict[str, Any]]) -> None:
    assert len(expected) == 2 * N
    keyed = [(r["key"], r["id"], r["value"]) for r in expected]
    assert keyed == sorted(keyed)
    for page_size in (1, 2, 7, 64):
        rows = run(page_size=page_size).all()
        assert [(r["key"], r["id"], r["value"]) for r in rows] == keyed, page_size
    descending = run(descending=True, page_size=7).all()
    assert [(r["key"], r["id"]) for r in descending] == [(k, i) for k, i, _ in keyed][::-1]
    three = run(page_size=4)[ResultByKey(3)]
    assert len(three) == 60 and {r["key"] for r in three} == {3}
    assert [r["id"] for r in run(key=2, page_size=5)] == [
        r["id"] for r in expected if r["key"] == 2
    ]
    ranged = run(startkey=1, endkey=2, include_docs=True, page_size=11).all()
    assert len(ranged) == 120 and all(r["doc"]["n"] % 5 == r["key"] for r in ranged)
    assert len(run(limit=33, skip=10, page_size=4).all()) == 33
    assert run(page_size=5)[1:4] == expected[1:4]


def test_mango_query_with_index_and_bookmark_paging(filled: settee.Database) -> None:
    created = filled.create_query_index(
        design_document_id="_design/by-n", index_name="n-idx", fields=["n"]
    )
    assert created["result"] in ("created", "exists")
    indexes = settled(filled.client, filled.get_query_indexes,
                      lambda ixs: any(ix.get("name") == "n-idx" for ix in ixs))  # fmt: skip
    assert any(ix.get("name") == "n-idx" for ix in indexes)
    assert "indexes" in filled.get_query_indexes(raw_result=True)
    selector = {"n": {"$gte": 100}}
    result = filled.get_query_result(selector, sort=[{"n": "asc"}], page_size=7)
    docs = result.all()
    assert [d["n"] for d in docs] == list(range(100, N))
    assert result.requests == 8  # 50 docs: seven full pages, then a short one
    fields = filled.get_query_result(selector, fields=["_id"], sort=[{"n": "asc"}], limit=3)
    assert fields.all() == [{"_id": IDS[100]}, {"_id": IDS[101]}, {"_id": IDS[102]}]
    first = filled.get_query_result({"n": {"$gte": 0}}, sort=[{"n": "asc"}]).first()
    assert first is not None and first["n"] == 0
    positioned = filled.get_query_result(selector, sort=[{"n": "asc"}], page_size=4)
    assert positioned[3]["n"] == 103
    assert [d["n"] for d in positioned[10:15]] == list(range(110, 115))
    with pytest.raises(IndexError):
        positioned[50]
    raw = filled.get_query_result(selector, sort=[{"n": "asc"}], raw_result=True, limit=2)
    assert [d["n"] for d in raw["docs"]] == [100, 101]
    evens = filled.get_query_result({"even": True}, page_size=9).all()
    assert sorted(d["n"] for d in evens) == list(range(0, N, 2))
    filled.delete_query_index("_design/by-n", "json", "n-idx")
    left = settled(filled.client, filled.get_query_indexes,
                   lambda ixs: not any(ix.get("name") == "n-idx" for ix in ixs))  # fmt: skip
    assert not any(ix.get("name") == "n-idx" for ix in left)


def test_mango_bad_input(filled: settee.Database) -> None:
    with pytest.raises(TypeError):
        filled.get_query_result(["not", "a", "selector"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        filled.get_query_result({"n": {1, 2}})
    with pytest.raises(ValueError):
        filled.create_query_index(index_name="nofields")
