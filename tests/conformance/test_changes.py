"""Change feeds: the same assertions on every backend (memory, sqlite, PouchDB Server, CouchDB).

What every backend promises (docs/semantics.md): each change at least once,
per-document order, opaque seqs, ``since=`` resumes. Write order across
documents and seq arithmetic are asserted only where ``changes_total_order``
says so (CouchDB's shards are ordered each on their own); a cluster without
``read_your_writes`` is read until the writes show (:func:`settled`).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

import settee
from settee.feeds.checkpoints import LocalDocumentCheckpoint
from tests.conformance.conftest import has, require, settled


def seq_number(seq: Any) -> int:
    return int(str(seq).split("-", 1)[0])


def fill(db: settee.Database, n: int) -> dict[str, str]:
    """``n`` documents d000..., their revs; once a full feed shows every one of them."""
    results = db.bulk_docs([{"_id": f"d{i:03d}", "n": i} for i in range(n)])
    revs = {r["id"]: r["rev"] for r in results}
    settled(db.client, lambda: list(db.changes()), lambda rows: len(rows) >= n)
    return revs


def in_write_order(client: settee.Client, got: list[Any], expected: list[Any]) -> bool:
    """``got == expected`` where the backend keeps write order, the same multiset elsewhere."""
    if has(client, "changes_total_order"):
        return got == expected
    return sorted(got) == sorted(expected)


def take(feed: Any, count: int, deadline: float = 30.0) -> list[Any]:
    got: list[Any] = []
    watchdog = threading.Timer(deadline, feed.stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        for row in feed:
            got.append(row)
            if len(got) >= count:
                feed.stop()
    finally:
        watchdog.cancel()
    return got


def test_normal_feed_has_every_change_once(client: settee.Client, db: settee.Database) -> None:
    revs = fill(db, 12)
    feed = db.changes()
    rows = list(feed)
    assert sorted(r["id"] for r in rows) == sorted(revs)
    assert {r["id"]: r["changes"][0]["rev"] for r in rows} == revs
    assert feed.last_seq is not None
    if has(client, "changes_total_order"):
        numbers = [seq_number(r["seq"]) for r in rows]
        assert numbers == sorted(numbers)
        assert seq_number(feed.last_seq) >= numbers[-1]


def test_since_and_limit_page_through_the_feed(client: settee.Client, db: settee.Database) -> None:
    fill(db, 10)
    first = db.changes(limit=4)
    head = list(first)
    assert len(head) == 4
    rest = list(db.changes(since=first.last_seq))
    everything = [r["id"] for r in db.changes()]
    assert in_write_order(client, [r["id"] for r in head + rest], everything)
    done = db.changes(since=rest[-1]["seq"])
    assert list(done) == []


def test_include_docs_and_deleted(client: settee.Client, db: settee.Database) -> None:
    revs = fill(db, 3)
    db.bulk_docs([{"_id": "d001", "_rev": revs["d001"], "_deleted": True}])
    rows = settled(
        client,
        lambda: {r["id"]: r for r in db.changes(include_docs=True)},
        lambda rows: rows["d001"].get("deleted") is True,
    )
    assert rows["d000"]["doc"]["n"] == 0
    assert rows["d001"].get("deleted") is True
    assert rows["d001"]["changes"][0]["rev"].startswith("2-")


def test_descending(client: settee.Client, db: settee.Database) -> None:
    fill(db, 5)
    rows = list(db.changes(descending=True))
    newest_first = [f"d{i:03d}" for i in reversed(range(5))]
    assert in_write_order(client, [r["id"] for r in rows], newest_first)


def test_doc_ids_filter(db: settee.Database) -> None:
    fill(db, 8)
    rows = list(db.changes(doc_ids=["d003", "d006"]))
    assert sorted(r["id"] for r in rows) == ["d003", "d006"]


def test_selector_filter(client: settee.Client, db: settee.Database) -> None:
    require(client, "changes_selector")
    fill(db, 8)
    selector = {"n": {"$gt": 5}}
    rows = settled(client, lambda: list(db.changes(selector=selector)), lambda r: len(r) >= 2)
    assert sorted(r["id"] for r in rows) == ["d006", "d007"]


def test_raw_data_rows_are_json_text(client: settee.Client, db: settee.Database) -> None:
    fill(db, 3)
    feed = db.changes(raw_data=True, include_docs=True)
    rows = list(feed)
    assert all(isinstance(r, str) for r in rows)
    assert in_write_order(client, [json.loads(r)["doc"]["n"] for r in rows], [0, 1, 2])
    assert feed.last_seq is not None


def test_continuous_feed_delivers_new_writes_and_stops_from_another_thread(
    client: settee.Client, db: settee.Database
) -> None:
    fill(db, 2)
    feed = db.changes(feed="continuous", heartbeat=1000)
    assert in_write_order(client, [next(feed)["id"], next(feed)["id"]], ["d000", "d001"])
    threading.Timer(0.2, db.create_document, ({"_id": "late"},)).start()
    assert next(feed)["id"] == "late"
    stopper = threading.Timer(0.3, feed.stop)
    stopper.start()
    started = time.monotonic()
    assert list(feed) == []
    assert time.monotonic() - started < 2.0
    stopper.join()


def test_longpoll_waits_for_the_next_change(client: settee.Client, db: settee.Database) -> None:
    fill(db, 1)
    head = db.changes()
    list(head)
    feed = db.changes(feed="longpoll", since=head.last_seq, heartbeat=1000)
    threading.Timer(0.2, db.create_document, ({"_id": "wake"},)).start()
    assert [r["id"] for r in feed] == ["wake"]
    assert feed.last_seq != head.last_seq
    if has(client, "changes_total_order"):
        assert seq_number(feed.last_seq) > seq_number(head.last_seq)


def test_infinite_changes_follow_and_checkpoint(client: settee.Client, db: settee.Database) -> None:
    fill(db, 3)
    store = LocalDocumentCheckpoint(db, "_local/settee-checkpoint-conformance")
    feed = db.infinite_changes(since=0, checkpoint=store, heartbeat=1000)
    threading.Timer(0.2, db.create_document, ({"_id": "later"},)).start()
    rows = take(feed, 4)
    assert in_write_order(client, [r["id"] for r in rows[:3]], ["d000", "d001", "d002"])
    assert rows[3]["id"] == "later"
    # stop() after the 4th row, then the loop came back: row 4 is checkpointed
    assert store.load() == rows[-1]["seq"]
    again = db.infinite_changes(since=0, checkpoint=store, heartbeat=1000)
    threading.Timer(0.2, db.create_document, ({"_id": "newest"},)).start()
    assert [r["id"] for r in take(again, 1)] == ["newest"]


def test_unknown_options_fail_before_any_request(db: settee.Database) -> None:
    with pytest.raises(TypeError, match="flavour"):
        db.changes(flavour="mint")
    with pytest.raises(ValueError, match="feed"):
        db.changes(feed="sometimes")


def test_missing_database_is_not_found(client: settee.Client) -> None:
    db = client.create_database("conf-gone-" + str(time.monotonic_ns()))
    db_name = db.database_name
    client.delete_database(db_name)
    with pytest.raises(settee.NotFound):
        list(db.changes())
    with pytest.raises(settee.NotFound):
        next(db.infinite_changes(backoff_base=0))
    assert db_name


def test_db_updates(client: settee.Client) -> None:
    require(client, "db_updates")
    feed = client.db_updates()
    rows = list(feed)
    assert feed.last_seq is not None
    assert all("db_name" in r and "type" in r for r in rows)


def test_selector_filter_refused_where_unsupported(
    client: settee.Client, db: settee.Database
) -> None:
    """A backend without the _selector filter refuses it before sending anything."""
    if "changes_selector" in client.backend.capabilities:
        pytest.skip(f"{client.backend.kind} has the _selector filter (tested above)")
    with pytest.raises(settee.NotSupported, match="_selector"):
        db.changes(selector={"n": {"$gt": 5}})
    assert db.doc_count() == 0  # the server is still there and answering
