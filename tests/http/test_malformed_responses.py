"""Malformed answers to document reads and writes, from a fake server.

No real server answers a document GET with a JSON array, a 201 without a
``rev``, another document, or a short ``_bulk_docs`` list, so every test here
runs against a small fake (tests/http/fakes.py) that does. Each must be a
``ServerError`` saying what was wrong, and nothing local may be changed by it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import settee
from settee import errors
from settee.document import Document

from .fakes import WELCOME, FakeServer, Recorded, Reply

Answer = Callable[[Recorded], Reply]


class Scripted:
    """Answers ``GET /`` with a welcome, ``GET /db`` with database info, and every
    other request with ``self.answer`` (set by the test)."""

    def __init__(self) -> None:
        self.answer: Answer = lambda req: Reply.json(404, {"error": "not_found"})

    def __call__(self, req: Recorded) -> Reply:
        if req.method == "GET" and req.route == "/":
            return Reply.json(200, WELCOME)
        if req.method == "GET" and req.route == "/db":
            return Reply.json(200, {"db_name": "db", "doc_count": 0})
        return self.answer(req)


@pytest.fixture
def script() -> Scripted:
    return Scripted()


@pytest.fixture
def db(script: Scripted) -> Iterator[settee.Database]:
    with FakeServer(script) as fake:
        client = settee.connect(fake.url, max_retries=0)
        try:
            yield client["db"]
        finally:
            client.disconnect()


def always(status: int, body: Any) -> Answer:
    return lambda req: Reply.json(status, body)


# -- GET /db/doc ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "what"),
    [(["a", "b"], "got list"), ("a document", "got str"), (17, "got int")],
    ids=["array", "string", "number"],
)
def test_a_document_body_that_is_not_an_object(
    db: settee.Database, script: Scripted, body: Any, what: str
) -> None:
    """Before the fix: AttributeError ('list' object has no attribute 'get')."""
    script.answer = always(200, body)
    with pytest.raises(errors.ServerError, match="expected a JSON object") as info:
        db["d"]
    assert what in str(info.value) and "'d'" in str(info.value)
    doc = Document(db, "d")
    with pytest.raises(errors.ServerError):
        doc.fetch()
    assert dict(doc) == {"_id": "d"}  # the local copy is untouched


def test_a_get_answering_another_document(db: settee.Database, script: Scripted) -> None:
    """Before the fix the other document was accepted (and cached) as 'd'."""
    script.answer = always(200, {"_id": "other", "_rev": "1-x", "secret": True})
    with pytest.raises(errors.ServerError, match="the answer is document 'other'"):
        db["d"]
    assert db.get("d") is None  # nothing cached


def test_open_revs_answer_that_is_not_a_list(db: settee.Database, script: Scripted) -> None:
    script.answer = always(200, {"_id": "d"})
    with pytest.raises(errors.ServerError, match="expected a JSON array for open_revs"):
        db.backend.get_doc("db", "d", open_revs="all")


# -- PUT / DELETE -----------------------------------------------------------------------


def test_a_201_without_rev(db: settee.Database, script: Scripted) -> None:
    """Before the fix: KeyError('rev')."""
    script.answer = always(201, {"ok": True, "id": "d"})
    with pytest.raises(errors.ServerError, match=r"no revision \('rev'\)"):
        db.create_document({"_id": "d", "n": 1})
    assert db.get("d") is None


def test_a_save_answered_without_rev_keeps_the_old_rev(
    db: settee.Database, script: Scripted
) -> None:
    script.answer = always(201, {"ok": True, "id": "d", "rev": None})
    doc = Document(db, "d")
    doc.update({"_rev": "1-a", "n": 2})
    with pytest.raises(errors.ServerError, match="no revision"):
        doc.save()
    assert doc["_rev"] == "1-a"


def test_a_put_answering_another_id(db: settee.Database, script: Scripted) -> None:
    """Before the fix the local document was renamed to the id in the answer."""
    script.answer = always(201, {"ok": True, "id": "_design/_local", "rev": "1-x"})
    doc = Document(db, "d")
    doc["n"] = 1
    with pytest.raises(errors.ServerError, match="it names document '_design/_local'"):
        doc.create()
    assert doc["_id"] == "d" and "_rev" not in doc


@pytest.mark.parametrize("body", [["ok"], {"ok": True}], ids=["array", "no-rev"])
def test_a_delete_answer_without_rev(db: settee.Database, script: Scripted, body: Any) -> None:
    script.answer = always(200, body)
    doc = Document(db, "d")
    doc["_rev"] = "1-a"
    with pytest.raises(errors.ServerError, match="malformed answer to DELETE"):
        doc.delete()
    assert doc["_rev"] == "1-a"  # not cleared: the delete is not known to have happened


# -- POST /db/_bulk_docs --------------------------------------------------------------


def bulk_answer(shape: Callable[[list[dict[str, Any]]], Any]) -> Answer:
    def answer(req: Recorded) -> Reply:
        docs = req.json()["docs"]
        return Reply.json(201, shape([{"ok": True, "id": d["_id"], "rev": "1-x"} for d in docs]))

    return answer


@pytest.mark.parametrize(
    "shape",
    [lambda rs: rs[:1], lambda rs: [], lambda rs: {"ok": True}],
    ids=["one-result", "empty", "dict"],
)
def test_bulk_answers_that_do_not_fit(
    db: settee.Database, script: Scripted, shape: Callable[[Any], Any]
) -> None:
    """Before the fix: returned as they came (['ok'] for the dict)."""
    script.answer = bulk_answer(shape)
    with pytest.raises(errors.ServerError, match="malformed _bulk_docs answer"):
        db.bulk_docs([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}])


def test_a_reordered_bulk_answer_is_matched_by_id(db: settee.Database, script: Scripted) -> None:
    """Before the fix each Document got the _id/_rev of another."""

    def reordered(req: Recorded) -> Reply:
        docs = req.json()["docs"]
        results = [{"ok": True, "id": d["_id"], "rev": f"1-{d['_id']}"} for d in docs]
        return Reply.json(201, list(reversed(results)))

    script.answer = reordered
    docs = [Document(db, i) for i in ("a", "b", "c")]
    results = db.bulk_docs(docs)
    assert [(r["id"], r["rev"]) for r in results] == [("a", "1-a"), ("b", "1-b"), ("c", "1-c")]
    assert [(d["_id"], d["_rev"]) for d in docs] == [("a", "1-a"), ("b", "1-b"), ("c", "1-c")]


def test_a_failing_second_chunk_carries_the_first_chunks_results(
    db: settee.Database, script: Scripted
) -> None:
    calls = []

    def second_fails(req: Recorded) -> Reply:
        calls.append(req)
        if len(calls) == 2:
            return Reply.json(500, {"error": "unknown_error", "reason": "disk full"})
        return bulk_answer(lambda rs: rs)(req)

    script.answer = second_fails
    with pytest.raises(errors.ServerError, match="disk full") as info:
        db.bulk_docs([{"_id": f"d{i}"} for i in range(5)], chunk_size=2)
    assert [r["id"] for r in info.value.results or []] == ["d0", "d1"]
