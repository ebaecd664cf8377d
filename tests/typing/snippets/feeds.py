"""What a user's mypy sees of change feeds."""

from __future__ import annotations

from typing import Literal

from typing_extensions import assert_type

import settee
from settee.feeds.feed import Feed, InfiniteFeed
from settee.feeds.stream import HEARTBEAT, Heartbeat
from settee.rows import ChangeRow, DbUpdateRow, Seq


def changes(db: settee.Database) -> None:
    feed = db.changes(include_docs=True, since=0)
    assert_type(feed, Feed[ChangeRow])
    for change in feed:
        assert_type(change, ChangeRow)
        assert_type(change["id"], str)
        assert_type(change["seq"], Seq | None)
    assert_type(feed.last_seq, Seq | None)
    feed.stop()
    with db.changes(feed="continuous", heartbeat=1000) as followed:
        assert_type(followed, Feed[ChangeRow])
    assert_type(db.changes(raw_data=True), Feed[str])
    for text in db.changes(raw_data=True):
        assert_type(text, str)


def infinite(db: settee.Database, client: settee.Client) -> None:
    follower = db.infinite_changes(since="now", max_reconnects=3)
    assert_type(follower, InfiniteFeed[ChangeRow])
    assert_type(next(follower), ChangeRow)
    assert_type(follower.last_seq, Seq | None)
    follower.close()
    assert_type(client.db_updates(), Feed[DbUpdateRow])
    assert_type(client.infinite_db_updates(raw_data=True), InfiniteFeed[str])


def misspelt(db: settee.Database) -> None:
    db.changes(include_doc=True)  # type: ignore[call-overload]
    db.infinite_changes(limit=3)  # type: ignore[call-overload]


def updates(client: settee.Client) -> None:
    for update in client.db_updates(feed="longpoll"):
        assert_type(update, DbUpdateRow)
        assert_type(update["db_name"], str)
    client.db_updates(include_docs=True)  # type: ignore[call-overload]


def heartbeats(db: settee.Database) -> None:
    feed = db.changes(feed="continuous", heartbeat=1000).with_heartbeats()
    assert_type(feed, Feed[ChangeRow | Heartbeat])
    for row in feed:
        if row is HEARTBEAT:
            assert_type(row, Literal[Heartbeat.HEARTBEAT])
            continue
        assert_type(row, ChangeRow)
        assert_type(row["id"], str)
