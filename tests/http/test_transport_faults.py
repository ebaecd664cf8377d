"""Transport faults, injected by fake loopback servers (tests/http/fakes.py).

No real server here answers garbage, truncates a body, or says 503/429 on
demand, so every test in this module runs against a fake that does, and
counts the requests it received to prove what was (not) replayed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import unquote

import pytest

from settee import errors
from settee.backends.http.backend import HTTPBackend
from settee.http.transport import Transport

from .fakes import WELCOME, FakeServer, Recorded, Reply, refused_url

FAST = {"backoff_factor": 0.01, "backoff_max": 0.5}


def scripted(*replies: Reply, welcome: bool = True) -> Callable[[Recorded], Reply]:
    """Answer with ``replies`` in turn, then keep repeating the last one.

    ``GET /`` and ``GET /_membership`` (the backend's one-off capability probe)
    are answered as a CouchDB single node outside the script unless ``welcome``
    is False.
    """
    queue = list(replies)

    def handler(req: Recorded) -> Reply:
        if welcome and req.method == "GET" and req.route == "/":
            return Reply.json(200, WELCOME)
        if welcome and req.method == "GET" and req.route == "/_membership":
            return Reply.json(200, {"all_nodes": ["couchdb@127.0.0.1"]})
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def test_non_json_body_is_a_transport_error() -> None:
    """Fake: answers 200 with an HTML page."""
    page = Reply(200, "<html><body>proxy login</body></html>", {"Content-Type": "text/html"})
    with FakeServer(lambda r: page) as fake:
        backend = HTTPBackend(fake.url)
        with pytest.raises(errors.TransportError, match="not valid JSON") as info:
            backend.server_info()
        assert "text/html" in str(info.value)
        assert info.value.method == "GET" and info.value.url == fake.url + "/"
        backend.close()


def test_truncated_json_body_is_a_transport_error() -> None:
    """Fake: answers a complete HTTP message whose JSON body stops half-way."""
    with FakeServer(lambda r: Reply(200, b'{"rows": [{"id": "a"}, {"id": ')) as fake:
        backend = HTTPBackend(fake.url)
        with pytest.raises(errors.TransportError, match="not valid JSON"):
            backend.all_docs("db")
        backend.close()


def test_connection_closed_mid_body_is_a_transport_error() -> None:
    """Fake: announces the whole body in Content-Length, sends 10 bytes, closes."""
    body = b'{"rows": [' + b'{"id": "x"},' * 100 + b"]}"
    with FakeServer(lambda r: Reply(200, body, truncate_to=10)) as fake:
        backend = HTTPBackend(fake.url, max_retries=0)
        with pytest.raises(errors.TransportError) as info:
            backend.all_docs("db")
        assert "GET" in str(info.value) and fake.url in str(info.value)
        backend.close()


def test_error_body_that_is_not_json_keeps_its_text() -> None:
    """Fake: a 500 from a proxy, plain text."""
    with FakeServer(lambda r: Reply(500, "upstream exploded", {"Content-Type": "text/plain"})) as f:
        backend = HTTPBackend(f.url, max_retries=0)
        with pytest.raises(errors.ServerError) as info:
            backend.db_info("db")
        assert info.value.status == 500 and info.value.reason == "upstream exploded"
        backend.close()


def test_503_then_200_with_retry_after_is_retried_for_get() -> None:
    """Fake: 503 with Retry-After: 1, then the answer."""
    handler = scripted(
        Reply.json(503, {"error": "unavailable"}, **{"Retry-After": "1"}),
        Reply.json(200, WELCOME),
        welcome=False,
    )
    with FakeServer(handler) as fake:
        backend = HTTPBackend(fake.url, **FAST)
        assert backend.server_info()["version"] == "3.3.3"
        assert len(fake.seen("GET", "/")) == 2
        backend.close()


@pytest.mark.timeout(60)
def test_retry_after_is_capped_by_backoff_max() -> None:
    """Fake: asks for an hour's wait; backoff_max=0.2 caps it (uncapped, the timeout fails it)."""
    handler = scripted(
        Reply.json(503, {"error": "unavailable"}, **{"Retry-After": "3600"}),
        Reply.json(200, WELCOME),
        welcome=False,
    )
    with FakeServer(handler) as fake:
        backend = HTTPBackend(fake.url, backoff_factor=0.01, backoff_max=0.2)
        assert backend.server_info()["couchdb"] == "Welcome"
        assert len(fake.requests) == 2
        backend.close()


def test_retries_run_out_into_server_error() -> None:
    """Fake: 503 forever."""
    with FakeServer(lambda r: Reply.json(503, {"error": "unavailable", "reason": "down"})) as f:
        backend = HTTPBackend(f.url, max_retries=2, **FAST)
        with pytest.raises(errors.ServerError) as info:
            backend.db_info("db")
        assert info.value.status == 503 and info.value.reason == "down"
        assert len(f.requests) == 3  # the first try and two retries
        backend.close()


def test_bulk_docs_answered_503_is_not_replayed() -> None:
    """Fake: 503 to every request; a _bulk_docs POST may have applied, so it is sent once."""
    with FakeServer(lambda r: Reply.json(503, {"error": "unavailable"})) as fake:
        backend = HTTPBackend(fake.url, **FAST)
        with pytest.raises(errors.ServerError):
            backend.bulk_docs("db", [{"_id": "a"}])
        assert len(fake.seen("POST", "/db/_bulk_docs")) == 1
        backend.close()


@pytest.mark.parametrize(
    ("call", "method", "route", "sent"),
    [
        (lambda b: b.put_doc("db", {"_id": "d"}), "PUT", "/db/d", 1),  # create: not replayed
        (lambda b: b.put_doc("db", {"_id": "d", "_rev": "1-a"}), "PUT", "/db/d", 2),
        (lambda b: b.delete_doc("db", "d", "1-a"), "DELETE", "/db/d", 2),
        (lambda b: b.create_db("db"), "PUT", "/db", 1),
        (lambda b: b.find("db", {"selector": {}}), "POST", "/db/_find", 2),
        (lambda b: b.all_docs("db", keys=["a"]), "POST", "/db/_all_docs", 2),
        (lambda b: b.view("db", "d", "v", keys=[1]), "POST", "/db/_design/d/_view/v", 2),
        (lambda b: b.revs_diff("db", {"a": ["1-x"]}), "POST", "/db/_revs_diff", 2),
    ],
)
def test_502_is_replayed_only_when_harmless(
    call: Callable[[HTTPBackend], object], method: str, route: str, sent: int
) -> None:
    """Fake: 502 once, then 200: replayed only where sending twice cannot apply twice."""
    handler = scripted(
        Reply.json(502, {"error": "bad_gateway"}),
        Reply.json(200, {"ok": True, "id": "d", "rev": "2-b", "rows": [], "docs": []}),
    )
    with FakeServer(handler) as fake:
        backend = HTTPBackend(fake.url, **FAST)
        if sent == 1:
            with pytest.raises(errors.ServerError):
                call(backend)
        else:
            call(backend)
        assert len(fake.seen(method, route)) == sent
        backend.close()


def test_429_is_replayed_even_for_bulk_docs() -> None:
    """Fake: 429 (the request was not processed), then the bulk result."""
    handler = scripted(
        Reply.json(429, {"error": "too_many_requests"}, **{"Retry-After": "0"}),
        Reply.json(201, [{"ok": True, "id": "a", "rev": "1-x"}]),
    )
    with FakeServer(handler) as fake:
        backend = HTTPBackend(fake.url, **FAST)
        assert backend.bulk_docs("db", [{"_id": "a"}]) == [{"ok": True, "id": "a", "rev": "1-x"}]
        assert len(fake.seen("POST", "/db/_bulk_docs")) == 2
        backend.close()


def test_persistent_429_is_too_many_requests() -> None:
    """Fake: 429 forever."""
    with FakeServer(lambda r: Reply.json(429, {"error": "too_many_requests"})) as fake:
        backend = HTTPBackend(fake.url, max_retries=1, **FAST)
        with pytest.raises(errors.TooManyRequests):
            backend.all_dbs()
        assert len(fake.requests) == 2
        backend.close()


def test_connection_refused_is_a_transport_error() -> None:
    """No server at all: a closed loopback port."""
    url = refused_url()
    backend = HTTPBackend(url, max_retries=1, **FAST)
    with pytest.raises(errors.TransportError) as info:
        backend.server_info()
    assert info.value.method == "GET" and info.value.url == url + "/"
    assert "ConnectionError" in str(info.value)
    backend.close()


def test_read_timeout_is_a_transport_error() -> None:
    """Fake: stalls longer than the read timeout."""
    with FakeServer(lambda r: Reply.json(200, WELCOME, stall=30)) as fake:
        backend = HTTPBackend(fake.url, timeout=(5, 0.3), max_retries=0)
        with pytest.raises(errors.TransportError, match="timed out"):
            backend.server_info()
        backend.close()


def test_read_timeout_on_get_is_retried_but_not_on_bulk_docs() -> None:
    """Fake: stalls every answer; GET is tried twice (max_retries=1), _bulk_docs once."""
    with FakeServer(lambda r: Reply.json(200, WELCOME, stall=30)) as fake:
        backend = HTTPBackend(fake.url, timeout=(5, 0.3), max_retries=1, **FAST)
        with pytest.raises(errors.TransportError):
            backend.db_info("db")
        with pytest.raises(errors.TransportError):
            backend.bulk_docs("db", [{"_id": "a"}])
        assert len(fake.seen("GET", "/db")) == 2
        assert len(fake.seen("POST", "/db/_bulk_docs")) == 1
        backend.close()


def test_non_serialisable_documents_fail_before_any_request() -> None:
    """Fake: would answer anything; it must see nothing."""
    with FakeServer(lambda r: Reply.json(201, {"ok": True})) as fake:
        backend = HTTPBackend(fake.url)
        bad = {"_id": "x", "when": object()}
        with pytest.raises(TypeError, match="JSON"):
            backend.put_doc("db", bad)
        with pytest.raises(TypeError, match="JSON"):
            backend.bulk_docs("db", [{"_id": "ok"}, bad])
        with pytest.raises(TypeError):
            backend.put_doc("db", {"_id": "nan", "v": float("nan")})
        with pytest.raises(TypeError):
            backend.all_docs("db", {"startkey": {1, 2}})
        with pytest.raises(TypeError):
            backend.find("db", {"selector": {"a": b"bytes"}})
        assert fake.requests == []
        backend.close()


def test_wire_format(caplog: pytest.LogCaptureFixture) -> None:
    """Fake: records what arrives — encoded paths, JSON params, methods, bodies, headers.

    It answers each request the shape settee checks for: a list for ``open_revs``,
    the written id and a rev for a PUT, an ``ok`` body for the rest."""

    def answer(r: Recorded) -> Reply:
        if r.route == "/":  # the capability probe: a CouchDB 3 (partitions)
            return Reply.json(200, WELCOME)
        if r.route == "/_membership":  # and its single node
            return Reply.json(200, {"all_nodes": ["couchdb@127.0.0.1"]})
        if "open_revs" in r.query:
            return Reply.json(200, [])
        return Reply.json(200, {"ok": True, "id": "x", "rev": "2-a", "rows": [], "uuids": []})

    with FakeServer(answer) as fake:
        backend = HTTPBackend(fake.url, headers={"X-Extra": "1"})
        backend.get_doc("my/db", "a/b?c#d", {"revs": True, "latest": None}, open_revs="all")
        backend.all_docs("db", {"startkey": ["a", 1], "descending": False}, keys=["k"])
        backend.put_doc("db", {"_id": "x", "_rev": "1-a"}, {"batch": "ok"})
        backend.create_db("p", partitioned=True)
        backend.compact("db")
        backend.put_attachment("db", "d", "f/g.txt", b"\x00\x01", "application/x-raw", rev="2-b")
        probes = ("/", "/_membership")
        get, post, put, create, compact, att = [r for r in fake.requests if r.route not in probes]
        assert get.method == "GET" and get.route == "/my%2Fdb/a%2Fb%3Fc%23d"
        assert get.query == {"open_revs": ["all"], "revs": ["true"]}
        assert get.headers["Accept"] == "application/json"
        assert get.headers["X-Extra"] == "1"
        assert post.method == "POST" and post.route == "/db/_all_docs"
        assert post.query == {"startkey": ['["a",1]'], "descending": ["false"]}
        assert post.json() == {"keys": ["k"]}
        assert put.query == {"batch": ["ok"], "rev": ["1-a"]}
        assert put.json() == {"_id": "x", "_rev": "1-a"}
        assert put.headers["Content-Type"] == "application/json"
        assert create.method == "PUT" and create.query == {"partitioned": ["true"]}
        assert compact.headers["Content-Type"] == "application/json"
        assert att.route == "/db/d/f%2Fg.txt" and att.body == b"\x00\x01"
        assert att.headers["Content-Type"] == "application/x-raw"
        assert att.query == {"rev": ["2-b"]}
        backend.close()


def test_dot_segments_stay_encoded_on_the_wire() -> None:
    """Fake: records raw paths. requests would turn %2E back into "." (a dot segment
    any proxy collapses into another endpoint); settee sends the URL as encoded.
    It answers each GET with the document the path names (settee checks the _id)."""

    def answer(r: Recorded) -> Reply:
        segments = [unquote(s) for s in r.route.split("/")[2:]]
        return Reply.json(200, {"ok": True, "_id": "/".join(segments)})

    with FakeServer(answer) as fake:
        backend = HTTPBackend(fake.url)
        for docid in ("..", ".", "_local/..", "_design/.."):
            backend.get_doc("db", docid)
        backend.db_info("..x")
        assert [r.path for r in fake.requests] == [
            "/db/%2E%2E",
            "/db/%2E",
            "/db/_local/%2E%2E",
            "/db/_design/%2E%2E",
            "/..x",
        ]
        backend.close()


def test_secrets_stay_out_of_logs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    """Fake: 401 to everything; credentials arrive in the URL and a secret query value."""
    with FakeServer(lambda r: Reply.json(401, {"error": "unauthorized"})) as fake:
        host = fake.url.split("://", 1)[1]
        transport = Transport(f"http://admin:Sup3rS3cret@{host}", max_retries=0)
        caplog.set_level(logging.DEBUG)
        with pytest.raises(errors.Unauthorized) as info:
            transport.json("GET", ("db",), params={"apikey": "K3yS3cret", "limit": 1})
        shown = str(info.value) + repr(info.value) + (info.value.url or "") + repr(transport)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert caplog.records, "the transport logs each request at DEBUG"
        for secret in ("Sup3rS3cret", "K3yS3cret"):
            assert secret not in shown
            assert secret not in logged
        assert fake.requests[0].headers["Authorization"].startswith("Basic ")
        transport.close()


def test_a_refused_capability_probe_does_not_fail_the_call() -> None:
    """Fake: a proxy that answers 403 to GET / but serves the database."""

    def handler(req: Recorded) -> Reply:
        if req.route == "/":
            return Reply.json(403, {"error": "forbidden", "reason": "root is not routed"})
        return Reply.json(200, {"total_rows": 0, "offset": 0, "rows": []})

    with FakeServer(handler) as fake:
        backend = HTTPBackend(fake.url)
        assert backend.all_docs("db") == {"total_rows": 0, "offset": 0, "rows": []}
        assert fake.requests[-1].query == {}  # no PouchDB bound added
        with pytest.raises(errors.Forbidden):
            _ = backend.capabilities
        backend.close()
