"""Mango paging on PouchDB Server, which answers ``_find`` without bookmarks (issue 9).

``get_query_result`` used to go on with a growing ``skip``; the one bookmark
pager goes on by ``_id`` (unsorted) or by the sort key. The requests are
recorded by wrapping the backend's ``find`` (observation only, nothing faked).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import settee
from settee.client import Client
from settee.database import Database
from tests.conftest import Server, unique_name


@pytest.fixture
def db(pouchdb_server: Server) -> Iterator[Database]:
    client: Client = settee.connect(pouchdb_server.url, auth=pouchdb_server.auth)
    database = client.create_database(unique_name("find-paging"))
    database.bulk_docs([{"_id": f"d{i:03d}", "n": i, "kind": "x"} for i in range(23)])
    try:
        yield database
    finally:
        database.delete()
        client.disconnect()


def record_find(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ``_find`` body ``db`` sends from now on, in order."""
    sent: list[dict[str, Any]] = []
    find = db.backend.find

    def recording(name: str, query: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
        sent.append(dict(query))
        answer: dict[str, Any] = find(name, query, **kw)
        return answer

    monkeypatch.setattr(db.backend, "find", recording)
    return sent


def test_get_query_result_pages_by_id_without_bookmarks(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = record_find(db, monkeypatch)
    docs = list(db.get_query_result({"kind": "x"}, page_size=5))
    assert sorted(d["_id"] for d in docs) == [f"d{i:03d}" for i in range(23)]
    assert len(docs) == 23
    assert len(sent) > 4  # more than 3 pages
    assert all(not q.get("bookmark") for q in sent)
    assert all(q.get("skip", 0) == 0 for q in sent[1:])


def test_filter_and_sorted_query_page_by_key_without_bookmarks(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.create_query_index(fields=["n"])
    sent = record_find(db, monkeypatch)
    docs = list(db.get_query_result({"n": {"$gte": 0}}, sort=[{"n": "asc"}], page_size=4))
    assert [d["n"] for d in docs] == list(range(23))
    assert len(sent) > 4
    assert all(q.get("skip", 0) <= 1 for q in sent[1:])  # the run of one n, never a page
    sent.clear()
    assert sorted(d["n"] for d in db.filter(settee.R(kind="x"), page_size=6)) == list(range(23))
    assert len(sent) > 4
    assert all(q.get("skip", 0) == 0 for q in sent)
