"""cloudant.feed, cloudant.security_document, cloudant.scheduler, cloudant.replicator,
cloudant.adapters."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests

from settee.compat.cloudant.adapters import Replay429Adapter
from settee.compat.cloudant.client import CouchDB
from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.error import (
    ClientDisconnected,
    CloudantArgumentError,
    CloudantFeedException,
)
from settee.compat.cloudant.feed import Feed, InfiniteFeed
from settee.compat.cloudant.security_document import SecurityDocument
from tests.conftest import Server, settled, unique_name


def test_feed_over_a_database(db: CouchDatabase) -> None:
    db.bulk_docs([{"_id": "a"}, {"_id": "b"}])
    feed = Feed(db, include_docs=True)
    assert sorted(change["id"] for change in feed) == ["a", "b"]
    assert feed.last_seq is not None  # a normal feed that ended: the server's last_seq
    raw = list(db.changes(raw_data=True))
    assert raw and all(isinstance(line, bytes) for line in raw)  # python-cloudant's type
    body = json.loads(b"".join(raw))  # the pieces join into the response's body
    assert sorted(r["id"] for r in body["results"]) == ["a", "b"] and "last_seq" in body
    empty = CouchDatabase(db.client, db.database_name)
    assert json.loads(b"".join(Feed(empty, raw_data=True, since="now")))["results"] == []


def test_feed_options_are_checked_when_iteration_starts(db: CouchDatabase) -> None:
    cases = [
        ({"conflicts": 0}, 117, "Argument conflicts not instance of expected type:"),
        ({"limit": -1}, 118, "Argument limit must be > 0.  Found: -1"),
        ({"feed": "foo"}, 119, "Invalid value (foo) for feed option."),
        ({"style": "foo"}, 120, "Invalid value (foo) for style option."),
    ]
    for options, code, text in cases:
        feed = Feed(db, **options)  # nothing is checked or sent yet
        with pytest.raises(CloudantArgumentError) as caught:
            list(feed)
        assert caught.value.status_code == code and str(caught.value).startswith(text)


def test_unknown_changes_options_go_to_the_filter(db: CouchDatabase) -> None:
    db.create_document(
        {
            "_id": "_design/mail",
            "filters": {"box": "function(doc, req) { return doc.box == req.query.box; }"},
        }
    )
    db.bulk_docs([{"_id": "a", "box": "new"}, {"_id": "b", "box": "old"}])
    assert [c["id"] for c in Feed(db, filter="mail/box", box="new")] == ["a"]


def test_continuous_feed_stopped_has_no_last_seq(db: CouchDatabase) -> None:
    db.bulk_docs([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}])
    feed = Feed(db, feed="continuous")
    seen = []
    for change in feed:
        seen.append(change["id"])
        if len(seen) == 2:
            feed.stop()
    assert len(seen) == 2 and feed.last_seq is None


def test_db_updates_options(client: CouchDB) -> None:
    for options, text in [
        ({"foo": "bar"}, "Invalid argument foo"),
        ({"descending": True}, "Invalid argument descending"),
        ({"heartbeat": 6}, "Argument heartbeat not instance of expected type:"),
        ({"timeout": -1}, "Argument timeout must be > 0.  Found: -1"),
        ({"feed": "normal"}, "Invalid value (normal) for feed option."),  # CouchDB's _db_updates
    ]:
        with pytest.raises(CloudantArgumentError) as caught:
            list(Feed(client, **options))
        assert str(caught.value).startswith(text)
    with pytest.raises(CloudantFeedException):
        list(InfiniteFeed(client))


def test_infinite_feed_stops(db: CouchDatabase) -> None:
    db.create_document({"_id": "a"})
    feed = InfiniteFeed(db, since=0)
    for change in feed:
        assert change["id"] == "a"
        feed.stop()
    with pytest.raises(CloudantArgumentError) as caught:
        list(InfiniteFeed(db, feed="longpoll"))
    assert str(caught.value) == (
        "Invalid infinite feed option: longpoll.  Must be set to continuous."
    )


def test_infinite_feed_starts_a_connection_each_time_the_server_ends_one(
    http_server: Server, db: CouchDatabase
) -> None:
    if http_server.kind == "pouchdb":
        pytest.skip("PouchDB Server ends a continuous feed neither at its limit nor timeout")
    db.bulk_docs([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}, {"_id": "d"}, {"_id": "e"}])
    # Each connection ends after 2 rows (limit); python-cloudant's
    # _start opens the next one from where it ended (its tests count the calls).
    feed = InfiniteFeed(db, limit=2)
    start = feed._start
    starts: list[int] = []

    def counted() -> None:
        starts.append(len(starts) + 1)
        if len(starts) > 10:  # bound the test if a connection saw nothing
            feed.stop()
        start()

    feed._start = counted  # type: ignore[method-assign]
    seen = []
    for change in feed:
        seen.append(change["id"])
        if len(seen) == 5:
            feed.stop()
    assert sorted(seen) == ["a", "b", "c", "d", "e"]  # nothing twice: each resumed at the end
    assert starts == [1, 2, 3]
    assert feed.last_seq is None


def test_infinite_feed_of_a_disconnected_client_raises(http_server: Server) -> None:
    client = CouchDB(http_server.user, http_server.password, url=http_server.url, connect=True)
    db = client.create_database(unique_name("gone"))
    try:
        client.disconnect()
        # Not a failure to recover from: python-cloudant's None session raises too.
        with pytest.raises(ClientDisconnected):
            next(InfiniteFeed(db, since=0))
    finally:
        client.connect()
        db.delete()
        client.disconnect()


def test_infinite_feed_reconnects_after_the_servers_timeout(
    http_server: Server, db: CouchDatabase
) -> None:
    if http_server.kind == "pouchdb":
        pytest.skip("PouchDB Server ends a continuous feed neither at its limit nor timeout")
    db.bulk_docs([{"_id": "a"}])
    feed = InfiniteFeed(db, timeout=100)  # the server ends a silent connection after 100 ms
    start = feed._start
    starts: list[int] = []

    def counted() -> None:
        starts.append(len(starts) + 1)
        if len(starts) == 2:  # the first connection ended: a change for the second
            db.create_document({"_id": "b"})
        if len(starts) > 10:
            feed.stop()
        start()

    feed._start = counted  # type: ignore[method-assign]
    seen = []
    for change in feed:
        seen.append(change["id"])
        if len(seen) == 2:
            feed.stop()
    assert seen == ["a", "b"] and starts == [1, 2]


def test_security_document(http_server: Server, db: CouchDatabase) -> None:
    with SecurityDocument(db) as sec:
        sec["members"] = {"names": ["someone"], "roles": []}

    def fetched() -> SecurityDocument:
        fresh = SecurityDocument(db)
        fresh.fetch()
        return fresh

    # A cluster answers GET _security from one copy, which may lag the write.
    fresh = settled(
        fetched,
        lambda doc: "members" in doc,
        read_your_writes="read_your_writes" in http_server.capabilities,
    )
    assert fresh["members"]["names"] == ["someone"]
    assert fresh.document_url.endswith("/_security")


def test_adapter_mounts(http_server: Server) -> None:
    client = CouchDB(
        http_server.user, http_server.password, url=http_server.url, adapter=Replay429Adapter(2)
    )
    client.connect()
    assert client.r_session is not None
    assert isinstance(client.r_session.get_adapter(http_server.url), Replay429Adapter)
    assert client.all_dbs() is not None
    client.disconnect()


@pytest.mark.parametrize("raw", [False, True], ids=["rows", "raw"])
def test_continuous_feed_with_heartbeat_yields_heartbeats_on_an_idle_database(
    db: CouchDatabase, raw: bool
) -> None:
    # python-cloudant hands out each heartbeat: None, or the empty line (b"") when raw.
    feed = Feed(db, raw_data=raw, feed="continuous", heartbeat=100)
    guard = threading.Timer(60, feed.stop)  # a bound if no heartbeat ever comes
    guard.start()
    seen: list[Any] = []
    try:
        for item in feed:
            seen.append(item)
            if len(seen) == 3:
                feed.stop()
    finally:
        guard.cancel()
    assert seen == [b"" if raw else None] * 3


def test_longpoll_feed_with_heartbeat_yields_none_while_it_waits(db: CouchDatabase) -> None:
    # python-cloudant's test_get_longpoll_feed: each blank line the server sends
    # while the longpoll waits comes out as None; the row written then ends it.
    feed = Feed(db, feed="longpoll", heartbeat=50)
    guard = threading.Timer(60, feed.stop)  # a bound if no heartbeat ever comes
    guard.start()
    rows: list[Any] = []
    beats = 0
    try:
        for item in feed:
            if item is None:
                beats += 1
                if beats == 1:
                    db.create_document({"_id": "julia000"})
                continue
            rows.append(item)
    finally:
        guard.cancel()
    assert beats >= 1
    assert [row["id"] for row in rows] == ["julia000"]
    assert str(feed.last_seq).startswith("1")


def test_feed_attributes_python_cloudant_users_read(db: CouchDatabase, client: CouchDB) -> None:
    # python-cloudant's _url, _r_session, _options and _chunk_size, as its own tests read them.
    feed = Feed(db, raw_data=True, chunk_size=1, feed="continuous")
    assert feed._url == f"{db.database_url}/_changes"
    assert feed._r_session is client.r_session is not None
    assert feed._options == {"feed": "continuous"} and feed._chunk_size == 1
    updates = Feed(client, feed="continuous", heartbeat=False, timeout=2)
    assert updates._url == f"{client.server_url}/_db_updates"
    assert updates._options == {"feed": "continuous", "heartbeat": False, "timeout": 2}
    assert Feed(db)._chunk_size == 512
    infinite = InfiniteFeed(db, chunk_size=1, timeout=100)
    assert infinite._options == {"feed": "continuous", "timeout": 100}
    assert infinite._url == f"{db.database_url}/_changes" and infinite._chunk_size == 1


def test_feed_translate_checks_and_converts_options(db: CouchDatabase, client: CouchDB) -> None:
    feed = Feed(db, filter="mailbox/new_mail", foo="bar", include_docs=False)
    params = feed._translate(feed._options)
    assert params == {"filter": "mailbox/new_mail", "foo": "bar", "include_docs": "false"}
    assert feed._translate({"timeout": None, "limit": 3, "doc_ids": ["a"]}) == {
        "limit": 3,
        "doc_ids": '["a"]',
    }
    with pytest.raises(CloudantArgumentError) as err:
        feed._translate({"limit": "3"})
    assert err.value.status_code == 117
    with pytest.raises(CloudantArgumentError) as err:
        Feed(client)._translate({"foo": "bar"})  # _db_updates takes no filter options
    assert err.value.status_code == 116
    with pytest.raises(CloudantArgumentError) as err:
        InfiniteFeed(db)._translate({"feed": "longpoll"})
    assert err.value.status_code == 121


def test_a_silent_feed_past_the_read_timeout_is_requests_connection_error(
    http_server: Server, db: CouchDatabase
) -> None:
    # python-cloudant's test_timeout_in_create_replication: a client read timeout
    # ends a continuous feed the server keeps silent (no heartbeat asked for) with
    # requests.ConnectionError ending in requests' "Read timed out.". A row first:
    # PouchDB Server sends a continuous feed's headers only with its first row
    # (before them, a timeout is the request's TransportError, not the body's).
    db.create_document({"_id": "a"})
    client = CouchDB(
        http_server.user, http_server.password, url=http_server.url, connect=True, timeout=(30, 0.5)
    )
    try:
        feed = client[db.database_name].changes(feed="continuous", since=0)
        with pytest.raises(requests.ConnectionError) as caught:
            for _ in feed:
                continue
    finally:
        client.disconnect()
    assert str(caught.value).endswith("Read timed out.")
