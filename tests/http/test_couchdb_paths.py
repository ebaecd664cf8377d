"""CouchDB-only paths run on CouchDB (a single node and the cluster), and refused elsewhere.

Most CouchDB-only paths have their test where the feature lives and run on
every HTTP server through ``http_server`` (``_db_updates`` and its follower:
test_feeds_http.py; partitions and ``_revs_limit``: test_http_backend.py; the
``_selector`` filter and the ``"deleted"`` reason: tests/conformance/; the
forced session expiry through ``_node/_local/_config``: test_auth_http.py).
What had no test on a real CouchDB is here:

* Mango paging by real bookmarks, chosen by the ``mango_bookmarks``
  capability (PouchDB Server, without it, is paged by key);
* a feed's ``timeout=`` ending an idle longpoll and continuous feed.

The requests are recorded by wrapping the backend's ``find`` (observation
only, nothing faked).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import settee
from settee.database import Database
from tests.conftest import Server, settled, unique_name
from tests.http.test_find_paging_http import record_find

N = 23


@pytest.fixture
def db(http_server: Server) -> Iterator[Database]:
    client = settee.connect(http_server.url, auth=http_server.auth)
    database = client.create_database(unique_name("paths"))
    database.bulk_docs([{"_id": f"d{i:03d}", "n": i, "kind": "x"} for i in range(N)])
    try:
        yield database
    finally:
        database.delete()
        client.disconnect()


def test_the_probe_names_mango_bookmarks_as_the_suite_expects(
    db: Database, http_server: Server
) -> None:
    caps = db.backend.capabilities
    assert ("mango_bookmarks" in caps) == ("mango_bookmarks" in http_server.capabilities)
    assert ("mango_bookmarks" in caps) == (http_server.kind != "pouchdb")


def test_mango_paging_by_bookmark_or_by_key_as_the_capability_says(
    db: Database, http_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    rywrites = "read_your_writes" in http_server.capabilities
    # A cluster's _find may answer from a copy behind the bulk write: wait for all N.
    settled(lambda: db.get_query_result({"kind": "x"}).all(), lambda d: len(d) == N,
            read_your_writes=rywrites)  # fmt: skip
    sent = record_find(db, monkeypatch)
    docs = db.get_query_result({"kind": "x"}, page_size=5).all()
    assert sorted(d["_id"] for d in docs) == [f"d{i:03d}" for i in range(N)]
    if "mango_bookmarks" in http_server.capabilities:
        assert len(sent) == 5  # four full pages, then a short one
        # CouchDB's own bookmarks: every page after the first resumes from one.
        assert all(q.get("bookmark") for q in sent[1:])
        assert all(q["selector"] == {"kind": "x"} for q in sent)
    else:
        assert all(not q.get("bookmark") for q in sent)
        assert all("_id" in str(q["selector"]) for q in sent[1:])
    result = db.get_query_result({"kind": "x"}, page_size=5, limit=7)
    first_seven = result.all()
    assert len(first_seven) == 7
    if "mango_bookmarks" in http_server.capabilities:
        # The bookmark of the last answer resumes the query where it stopped.
        assert result.bookmark
        rest = db.get_query_result({"kind": "x"}, page_size=5, bookmark=result.bookmark).all()
        ids = [d["_id"] for d in first_seven + rest]
        assert sorted(ids) == [f"d{i:03d}" for i in range(N)] and len(set(ids)) == N


@pytest.mark.parametrize("feed", ["longpoll", "continuous"])
def test_a_feed_timeout_ends_an_idle_feed(db: Database, http_server: Server, feed: str) -> None:
    http_server.require("feed_timeout")
    changes = db.changes(feed=feed, since="now", timeout=300)
    rows = list(changes)  # ends: the server closes the idle feed after 300 ms
    assert rows == []
    assert changes.last_seq is not None and changes.last_seq != "now"
    # From that position, the next write is the one row (bounded by the timeout).
    db.bulk_docs([{"_id": "after"}])

    def read() -> list[Any]:
        return list(db.changes(feed=feed, since=changes.last_seq, timeout=300))

    after = settled(read, lambda got: bool(got), read_your_writes=False)
    assert [row["id"] for row in after] == ["after"]
