"""Matching ``_bulk_docs`` answers to the documents sent (settee._bulk), and
``Database.bulk_docs`` over a backend whose answers are scripted.

Pure logic: the scripted backend wraps the in-memory one and replaces only
its ``bulk_docs`` answer, which is the thing under test.
"""

from __future__ import annotations

from typing import Any

import pytest

import settee
from settee import errors
from settee._bulk import match_results
from settee.document import Document

DOCS = [{"_id": "a"}, {"_id": "b"}, {"_id": "c"}]


def ok(docid: str, rev: str = "1-x") -> dict[str, Any]:
    return {"ok": True, "id": docid, "rev": rev}


def test_results_are_matched_by_id_not_position() -> None:
    answer = [ok("c", "1-c"), ok("a", "1-a"), ok("b", "1-b")]
    assert [r["rev"] for r in match_results(DOCS, answer)] == ["1-a", "1-b", "1-c"]


def test_docs_without_id_take_the_unknown_ids_in_order() -> None:
    docs = [{"n": 1}, {"_id": "b"}, {"n": 3}]
    answer = [ok("gen1"), ok("b"), ok("gen2")]
    assert [r["id"] for r in match_results(docs, answer)] == ["gen1", "b", "gen2"]


def test_duplicate_ids_keep_their_order() -> None:
    docs = [{"_id": "a", "v": 1}, {"_id": "a", "v": 2}]
    answer = [ok("a"), {"id": "a", "error": "conflict", "reason": "Document update conflict."}]
    matched = match_results(docs, answer)
    assert matched[0]["ok"] and matched[1]["error"] == "conflict"


def test_an_error_without_id_stands_for_the_document_without_a_result() -> None:
    answer = [ok("a"), {"error": "bad_request", "reason": "nope"}, ok("c")]
    assert match_results(DOCS, answer)[1]["error"] == "bad_request"


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        ([ok("a")], "1 results for 3 documents"),
        ([], "0 results for 3 documents"),
        ({"ok": True}, "expected a JSON array, got dict"),
        ([ok("a"), ok("b"), ok("c"), ok("d")], "4 results for 3 documents"),
        ([ok("a"), ok("b"), "c"], "result 2 is a str"),
        ([ok("a"), ok("b"), {"ok": True, "id": "c"}], "has no revision"),
        ([ok("a"), ok("b"), {"ok": True}], "neither an error nor names a document"),
        ([ok("a"), ok("b"), ok("x")], "no result for document 'c'"),
        ([ok("a"), ok("b"), {"ok": True, "id": 3, "rev": "1-x"}], "non-string id"),
    ],
    ids=["one", "empty", "dict", "extra", "not-object", "no-rev", "no-id", "other-id", "int-id"],
)
def test_malformed_answers_are_server_errors(answer: Any, what: str) -> None:
    with pytest.raises(errors.ServerError, match="malformed _bulk_docs answer") as info:
        match_results(DOCS, answer)
    assert what in str(info.value)


def test_new_edits_false_lists_only_rejected_documents() -> None:
    assert match_results(DOCS, [], new_edits=False) == []
    rejected = [{"id": "b", "error": "forbidden", "reason": "no"}]
    assert match_results(DOCS, rejected, new_edits=False) == rejected
    with pytest.raises(errors.ServerError, match="'z', which was not sent"):
        match_results(DOCS, [{"id": "z", "error": "forbidden"}], new_edits=False)


class ScriptedBulk:
    """The memory backend, except that ``bulk_docs`` answers come from ``script``:
    a callable (chunk, real answer) -> answer, called once per request."""

    def __init__(self, real: Any, script: Any) -> None:
        self.real = real
        self.script = script
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def bulk_docs(self, db: str, docs: Any, *, new_edits: bool = True, w: Any = None) -> Any:
        self.calls += 1
        answer = self.real.bulk_docs(db, docs, new_edits=new_edits)
        return self.script(self.calls, answer)


def scripted_db(script: Any) -> tuple[settee.Database, ScriptedBulk]:
    real = settee.connect("memory:")
    real.create_database("d")
    backend = ScriptedBulk(real.backend, script)
    return settee.Client(backend=backend)["d"], backend


def test_reordered_answer_gives_each_document_its_own_rev() -> None:
    """Before the fix the reversed answer gave doc a the _id/_rev of doc c."""
    db, _ = scripted_db(lambda n, answer: list(reversed(answer)))
    docs = [Document(db, i) for i in ("a", "b", "c")]
    results = db.bulk_docs(docs)
    assert [r["id"] for r in results] == ["a", "b", "c"]
    assert [d["_id"] for d in docs] == ["a", "b", "c"]
    for doc in docs:
        doc["v"] = 2
        doc.save()  # each _rev is its own document's: no conflict, nothing overwritten
    assert {d["_id"]: d["v"] for d in db} == {"a": 2, "b": 2, "c": 2}


@pytest.mark.parametrize(
    "bad", [lambda a: a[:1], lambda a: [], lambda a: {"ok": True}], ids=["one", "empty", "dict"]
)
def test_short_or_dict_answer_raises(bad: Any) -> None:
    """Before the fix these were returned as they came (['ok'] for the dict)."""
    db, _ = scripted_db(lambda n, answer: bad(answer))
    with pytest.raises(errors.ServerError, match="malformed _bulk_docs answer"):
        db.bulk_docs([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}])


def test_a_failed_later_chunk_carries_the_results_already_written() -> None:
    def second_fails(n: int, answer: Any) -> Any:
        if n == 2:
            raise errors.ServerError("boom", status=503)
        return answer

    db, backend = scripted_db(second_fails)
    docs = [{"_id": f"d{i}"} for i in range(5)]
    with pytest.raises(errors.ServerError) as info:
        db.bulk_docs(docs, chunk_size=2)
    assert backend.calls == 2
    assert info.value.results is not None
    assert [r["id"] for r in info.value.results] == ["d0", "d1"]
    assert all(r["ok"] for r in info.value.results)


def test_a_failed_first_chunk_carries_no_results() -> None:
    db, _ = scripted_db(lambda n, answer: answer[:1])
    with pytest.raises(errors.ServerError) as info:
        db.bulk_docs([{"_id": "a"}, {"_id": "b"}])
    assert info.value.results == []
