"""Writes whose response was lost, against real servers.

Every test runs on PouchDB Server (always) and Apache CouchDB (when
``COUCHDB_URL`` is set). A lost response can only be shown by a fault, so
settee talks to the server through one of two stand-ins the tests own:

* the loopback :class:`FaultProxy` (tests/http/proxy.py), which lets a
  request reach the server and then closes the connection before any byte
  of the answer comes back (``cut_next_after(0)``);
* :class:`Gateway`, a small fake HTTP server (tests/http/fakes.py) that
  forwards to the real server and answers the next document write with a
  504 - after applying it, or after another writer got there first.

``proxy`` and ``db_name`` are the shared fixtures of tests/http/conftest.py.
The client sends ``Connection: close`` so that every request opens its own
connection and an armed fault hits exactly the next request. The transport's
retry replays the write; the server refuses the replay (409, or 404 for a
deleted document) and settee must report what really happened.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import settee
from settee import errors
from settee.document import Document
from tests.conftest import Server
from tests.http.fakes import FakeServer, Recorded, Reply
from tests.http.proxy import FaultProxy

FAST: dict[str, Any] = {"backoff_factor": 0.01, "backoff_max": 0.1}
CLOSE = {"Connection": "close"}


@pytest.fixture
def via_proxy(http_server: Server, proxy: FaultProxy) -> Iterator[settee.Client]:
    c = settee.connect(proxy.url, auth=http_server.auth, headers=CLOSE, **FAST)
    try:
        yield c
    finally:
        c.disconnect()


def stored(server: Server, db: str, docid: str) -> dict[str, Any]:
    doc = server.raw("GET", f"/{db}/{docid}")
    assert isinstance(doc, dict)
    return doc


def is_deleted(server: Server, db: str, docid: str) -> bool:
    try:
        server.raw("GET", f"/{db}/{docid}")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
        return True
    return False


def create(server: Server, db: str, body: dict[str, Any]) -> str:
    answer = server.raw("POST", f"/{db}", body)
    assert isinstance(answer, dict)
    return str(answer["rev"])


class Gateway:
    """A fake gateway in front of ``server``: forwards everything, and the next
    document write (PUT/DELETE with ``rev=``) once gets a 504 instead of the
    server's answer. ``apply`` decides whether that write is forwarded first;
    ``before`` runs just before (e.g. another writer)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.armed = False
        self.apply = True
        self.before: Callable[[], None] | None = None
        self.fake = FakeServer(self.handle)
        self.url = self.fake.url
        self.answered_504 = 0

    def forward(self, req: Recorded) -> Reply:
        headers = {k: v for k, v in req.headers.items() if k.lower() not in ("host", "connection")}
        request = urllib.request.Request(
            self.server.url + req.path,
            method=req.method,
            data=req.body if req.method in ("PUT", "POST") else None,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return Reply(resp.status, resp.read(), {"Content-Type": "application/json"})
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read(), {"Content-Type": "application/json"})

    def handle(self, req: Recorded) -> Reply:
        if self.armed and req.method in ("PUT", "DELETE") and "rev" in req.query:
            self.armed = False
            if self.before is not None:
                self.before()
            if self.apply:
                self.forward(req)
            self.answered_504 += 1
            return Reply.json(504, {"error": "gateway_timeout", "reason": "upstream timed out"})
        return self.forward(req)

    def __enter__(self) -> Gateway:
        self.fake.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake.stop()


@pytest.fixture
def gateway(http_server: Server) -> Iterator[Gateway]:
    with Gateway(http_server) as g:
        yield g


@pytest.fixture
def via_gateway(http_server: Server, gateway: Gateway) -> Iterator[settee.Client]:
    c = settee.connect(gateway.url, auth=http_server.auth, headers=CLOSE, **FAST)
    try:
        yield c
    finally:
        c.disconnect()


# -- the response is lost after the server applied the write ------------------------


def test_save_whose_response_was_lost_reports_success(
    http_server: Server, proxy: FaultProxy, via_proxy: settee.Client, db_name: str
) -> None:
    """Fault proxy: the PUT ?rev= reaches the server, its answer never comes back."""
    create(http_server, db_name, {"_id": "d", "n": 0})
    doc = via_proxy[db_name]["d"]
    doc["n"] = 1
    proxy.cut_next_after(0)
    doc.save()  # the replay met a 409: before the fix, Conflict
    assert proxy.cuts == 1
    now = stored(http_server, db_name, "d")
    assert now["n"] == 1
    assert doc["_rev"] == now["_rev"]
    doc["n"] = 2
    doc.save()  # the reported rev is the real one: the next save is not a conflict
    assert stored(http_server, db_name, "d")["n"] == 2


def test_delete_whose_response_was_lost_reports_success(
    http_server: Server, proxy: FaultProxy, via_proxy: settee.Client, db_name: str
) -> None:
    """Fault proxy: the DELETE ?rev= reaches the server, its answer never comes back."""
    create(http_server, db_name, {"_id": "d", "n": 0})
    doc = via_proxy[db_name]["d"]
    proxy.cut_next_after(0)
    doc.delete()  # before the fix: Conflict (PouchDB) or DocumentNotFound (CouchDB)
    assert proxy.cuts == 1
    assert is_deleted(http_server, db_name, "d")
    assert dict(doc) == {"_id": "d"}


def test_update_field_append_whose_response_was_lost_applies_once(
    http_server: Server, proxy: FaultProxy, via_proxy: settee.Client, db_name: str
) -> None:
    """Fault proxy: the first save's answer is lost; before the fix ['vip', 'vip']."""
    create(http_server, db_name, {"_id": "d", "tags": []})
    armed = [True]

    def append_then_cut(doc: Document, field: str, value: Any) -> None:
        Document.list_field_append(doc, field, value)
        if armed[0]:  # the fetch is done: the next request is the save
            armed[0] = False
            proxy.cut_next_after(0)

    doc = via_proxy[db_name]["d"]
    doc.update_field(append_then_cut, "tags", "vip")
    assert proxy.cuts == 1
    assert stored(http_server, db_name, "d")["tags"] == ["vip"]
    assert doc["tags"] == ["vip"]


def test_increment_whose_response_was_lost_applies_once(
    http_server: Server, proxy: FaultProxy, via_proxy: settee.Client, db_name: str
) -> None:
    """Fault proxy: an increment through update_field; before the fix n ended at 2."""
    create(http_server, db_name, {"_id": "d", "n": 0})
    armed = [True]

    def increment(doc: Document, field: str, by: int) -> None:
        doc[field] = doc.get(field, 0) + by
        if armed[0]:
            armed[0] = False
            proxy.cut_next_after(0)

    via_proxy[db_name]["d"].update_field(increment, "n", 1)
    assert stored(http_server, db_name, "d")["n"] == 1


def test_outcome_unknown_when_nothing_can_be_read_back(
    http_server: Server, proxy: FaultProxy, via_proxy: settee.Client, db_name: str
) -> None:
    """Fault proxy: every answer is cut, the read-back too: the outcome is unknown."""
    create(http_server, db_name, {"_id": "d", "n": 0})
    doc = via_proxy[db_name]["d"]
    doc["n"] = 1
    proxy.cut_after_bytes = 0
    with pytest.raises(errors.TransportError, match="outcome is unknown"):
        doc.save()
    proxy.cut_after_bytes = None
    assert stored(http_server, db_name, "d")["n"] == 1  # it did apply; settee did not guess


# -- a gateway answers 504 --------------------------------------------------------------


def test_save_applied_behind_a_504_reports_success(
    http_server: Server, gateway: Gateway, via_gateway: settee.Client, db_name: str
) -> None:
    """Fake gateway: applies the PUT, answers 504; the replay meets a 409."""
    create(http_server, db_name, {"_id": "d", "tags": []})
    doc = via_gateway[db_name]["d"]
    gateway.armed = True
    doc.update_field(Document.list_field_append, "tags", "vip")
    assert gateway.answered_504 == 1
    assert stored(http_server, db_name, "d")["tags"] == ["vip"]


def test_delete_applied_behind_a_504_reports_success(
    http_server: Server, gateway: Gateway, via_gateway: settee.Client, db_name: str
) -> None:
    """Fake gateway: applies the DELETE, answers 504; the replay is refused."""
    create(http_server, db_name, {"_id": "d"})
    doc = via_gateway[db_name]["d"]
    gateway.armed = True
    doc.delete()
    assert gateway.answered_504 == 1
    assert is_deleted(http_server, db_name, "d")


def test_replay_refused_because_of_another_writer_is_a_conflict(
    http_server: Server, gateway: Gateway, via_gateway: settee.Client, db_name: str
) -> None:
    """Fake gateway: another writer updates the document, the gateway drops our PUT
    and answers 504; the replay's 409 is a real conflict and nothing of ours is stored."""
    rev = create(http_server, db_name, {"_id": "d", "n": 0})
    doc = via_gateway[db_name]["d"]
    doc["n"] = 1

    def other_writer() -> None:
        http_server.raw("PUT", f"/{db_name}/d", {"_id": "d", "_rev": rev, "n": 100})

    gateway.armed, gateway.apply, gateway.before = True, False, other_writer
    with pytest.raises(errors.Conflict):
        doc.save()
    assert stored(http_server, db_name, "d")["n"] == 100


def test_update_field_after_a_504_that_did_not_apply_retries(
    http_server: Server, gateway: Gateway, via_gateway: settee.Client, db_name: str
) -> None:
    """Fake gateway: as above, inside update_field: the change is applied once, on top
    of the other writer's."""
    rev = create(http_server, db_name, {"_id": "d", "tags": []})

    def other_writer() -> None:
        http_server.raw("PUT", f"/{db_name}/d", {"_id": "d", "_rev": rev, "tags": ["other"]})

    gateway.armed, gateway.apply, gateway.before = True, False, other_writer
    via_gateway[db_name]["d"].update_field(Document.list_field_append, "tags", "vip")
    assert stored(http_server, db_name, "d")["tags"] == ["other", "vip"]
