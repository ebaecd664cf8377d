"""cloudant.feed, cloudant.security_document, cloudant.scheduler, cloudant.replicator,
cloudant.adapters."""

from __future__ import annotations

import pytest

from settee.compat.cloudant.adapters import Replay429Adapter
from settee.compat.cloudant.client import CouchDB
from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.error import CloudantArgumentError
from settee.compat.cloudant.feed import Feed, InfiniteFeed
from settee.compat.cloudant.security_document import SecurityDocument
from tests.conftest import Server, settled


def test_feed_over_a_database(db: CouchDatabase) -> None:
    db.bulk_docs([{"_id": "a"}, {"_id": "b"}])
    feed = Feed(db, include_docs=True)
    assert sorted(change["id"] for change in feed) == ["a", "b"]
    assert feed.last_seq is not None
    raw = list(db.changes(raw_data=True))
    assert all(isinstance(line, str) for line in raw)


def test_infinite_feed_stops(db: CouchDatabase) -> None:
    db.create_document({"_id": "a"})
    feed = InfiniteFeed(db, since=0)
    for change in feed:
        assert change["id"] == "a"
        feed.stop()
    with pytest.raises(CloudantArgumentError):
        InfiniteFeed(db, feed="normal")


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
