"""The calls python-cloudant makes on ``r_session`` itself go through it here too.

``Database.exists``, ``Document.exists``, a design document's ``info()``,
``update_handler_result`` and the ``Scheduler`` are one ``r_session.head/get/put/post``
each in python-cloudant, and code patching ``client.r_session`` sees them. A spy
(recording each call, then sending it on unchanged) checks what is called; the
answers are the real server's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from settee import errors
from settee.compat.cloudant import _raw
from settee.compat.cloudant.client import CouchDB
from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.design_document import DesignDocument
from settee.compat.cloudant.document import Document
from settee.compat.cloudant.scheduler import Scheduler
from tests.conftest import Server, unique_name

Calls = list[tuple[str, str, dict[str, Any]]]


def spy(client: CouchDB) -> Calls:
    """Record every raw call on ``client.r_session`` (method, URL, keywords)."""
    session = client.r_session
    assert session is not None
    calls: Calls = []

    def recording(name: str, send: Callable[..., requests.Response]) -> Callable[..., Any]:
        def call(url: str, **kwargs: Any) -> requests.Response:
            calls.append((name, url, kwargs))
            return send(url, **kwargs)

        return call

    for name in ("head", "get", "put", "post"):
        setattr(session, name, recording(name, getattr(session, name)))
    return calls


@pytest.fixture
def calls(client: CouchDB) -> Iterator[Calls]:
    yield spy(client)


def test_exists_is_a_head_through_r_session(db: CouchDatabase, calls: Calls) -> None:
    assert db.exists()
    doc = db.create_document({"_id": "julia"})
    assert doc.exists()
    assert not Document(db, "nobody").exists()
    gone = CouchDatabase(db.client, unique_name("absent"))
    assert not gone.exists()
    assert [(m, u) for m, u, _ in calls] == [
        ("head", db.database_url),
        ("head", doc.document_url),
        ("head", Document(db, "nobody").document_url),
        ("head", gone.database_url),
    ]


def test_a_dot_segment_stays_on_the_native_path(db: CouchDatabase, calls: Calls) -> None:
    # requests would send "%2E%2E" as "..": another endpoint once normalised.
    assert not Document(db, "..").exists()
    assert calls == []


def test_an_error_answer_raises_settees_error_which_is_an_http_error(
    http_server: Server, db: CouchDatabase
) -> None:
    wrong = CouchDB(http_server.user, "not-the-password", url=http_server.url, use_basic_auth=True)
    wrong.connect()
    try:
        with pytest.raises(requests.HTTPError) as caught:
            wrong[db.database_name] = CouchDatabase(wrong, db.database_name)
            wrong[db.database_name].exists()
        assert isinstance(caught.value, errors.Unauthorized)
        assert caught.value.response is not None and caught.value.response.status_code == 401
    finally:
        wrong.disconnect()


def test_design_document_info_and_update_handler(
    http_server: Server, db: CouchDatabase, calls: Calls
) -> None:
    http_server.require("javascript_views")
    ddoc = DesignDocument(db, "_design/ddoc001")
    ddoc.add_view("v", "function (doc) { emit(doc._id, 1); }")
    ddoc["updates"] = {"up": "function(doc, req) { return [null, 'field: ' + req.query.f]; }"}
    ddoc.save()
    info = ddoc.info()
    assert isinstance(info, dict) and "view_index" in info, info
    assert db.update_handler_result("ddoc001", "up", f="x", data={"a": "b"}) == "field: x"
    raw = [(m, u, kw) for m, u, kw in calls if m != "head"]  # save() asks exists() first
    assert raw == [
        ("get", f"{ddoc.document_url}/_info", {}),
        ("post", f"{ddoc.document_url}/_update/up", {"params": {"f": "x"}, "data": {"a": "b"}}),
    ]


def test_scheduler_gets_through_r_session(couchdb_server: Server) -> None:
    client = CouchDB(
        couchdb_server.user, couchdb_server.password, url=couchdb_server.url, connect=True
    )
    try:
        calls = spy(client)
        scheduler = Scheduler(client)
        assert "jobs" in scheduler.list_jobs(limit=10, skip=0)
        assert "docs" in scheduler.list_docs()
        with pytest.raises(errors.NotFound):
            scheduler.get_doc(unique_name("no-such-repl"))
        assert [(u.removeprefix(client.url), kw) for _, u, kw in calls[:2]] == [
            ("/_scheduler/jobs", {"params": {"limit": 10, "skip": 0}}),
            ("/_scheduler/docs", {"params": {}}),
        ]
        assert calls[2][1].startswith(f"{client.url}/_scheduler/docs/_replicator/no-such-repl")
    finally:
        client.disconnect()


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"null"])
def test_an_answer_that_is_json_but_not_an_object_is_a_transport_error(body: bytes) -> None:
    """Every answer the raw calls read is a JSON object; anything else is named, not
    handed on as a list or string for ``answer["rev"]`` to fail on later. (A built
    ``requests.Response``: no server answers these endpoints with a non-object.)"""
    response = requests.Response()
    response.status_code, response._content = 200, body
    with pytest.raises(errors.TransportError, match="expected a JSON object"):
        _raw.text_json(response)
    response._content = b'{"ok": true}'
    assert _raw.text_json(response) == {"ok": True}
