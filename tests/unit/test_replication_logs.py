"""Pure replication logic: the replication id, comparing the two logs, a new log."""

from __future__ import annotations

import inspect

import pytest

import settee
from settee.replication import ReplicateOptions, replicate
from settee.replication.checkpoints import (
    HISTORY_LIMIT,
    HistoryEntry,
    compare_logs,
    new_log,
    replication_id,
)
from settee.replication.engine import ReplicationOptions


def _entry(session: str, recorded: int) -> HistoryEntry:
    return {
        "session_id": session, "start_time": "", "end_time": "", "start_last_seq": 0,
        "end_last_seq": recorded, "recorded_seq": recorded, "docs_read": 0, "docs_written": 0,
        "doc_write_failures": 0, "missing_checked": 0, "missing_found": 0,
    }  # fmt: skip


def test_replication_id_depends_on_the_ends_and_the_filter_only() -> None:
    base = replication_id("a/db", "b/db", {})
    assert base == replication_id("a/db", "b/db", {})
    assert base != replication_id("b/db", "a/db", {})
    assert base != replication_id("a/db", "b/db", {"doc_ids": ["x"]})
    assert replication_id("a", "b", {"x": 1, "y": 2}) == replication_id("a", "b", {"y": 2, "x": 1})
    plain = ReplicationOptions().id_options()
    assert plain == ReplicationOptions(batch_size=7, since=3, continuous=True).id_options()
    assert plain != ReplicationOptions(selector={"a": 1}).id_options()


def test_compare_logs() -> None:
    assert compare_logs(None, None) == 0
    assert compare_logs({"session_id": "s1", "source_last_seq": 9}, None) == 0
    same = {"session_id": "s2", "source_last_seq": "12-abc", "history": []}
    assert compare_logs(same, dict(same)) == "12-abc"
    source = {"session_id": "s3", "source_last_seq": 30,
              "history": [_entry("s3", 30), _entry("s2", 20), _entry("s1", 10)]}  # fmt: skip
    target = {"session_id": "s2b", "source_last_seq": 25,
              "history": [_entry("s2b", 25), _entry("s1", 10)]}  # fmt: skip
    assert compare_logs(source, target) == 10  # the newest session both hold
    assert compare_logs(source, {"session_id": "x", "history": [_entry("y", 1)]}) == 0


def test_new_log_keeps_history_newest_first_and_bounded() -> None:
    previous = {"history": [_entry(f"s{i}", i) for i in range(HISTORY_LIMIT + 5)]}
    log = new_log("_local/r", "now", 99, _entry("now", 99), previous)
    assert log["session_id"] == "now" and log["source_last_seq"] == 99
    assert log["history"][0]["session_id"] == "now"
    assert len(log["history"]) == HISTORY_LIMIT
    again = new_log("_local/r", "now", 100, _entry("now", 100), log)
    assert [h["session_id"] for h in again["history"]].count("now") == 1


def test_options_are_checked_before_any_request() -> None:
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        ReplicationOptions(batch_size=0)
    # max_retries=True and a negative interval were accepted before the one int rule
    with pytest.raises(TypeError, match="max_retries must be an int >= 0"):
        ReplicationOptions(max_retries=True)
    with pytest.raises(ValueError, match="max_retries must be an int >= 0"):
        ReplicationOptions(max_retries=-1)
    with pytest.raises(ValueError, match="checkpoint_interval must be a finite number >= 0"):
        ReplicationOptions(checkpoint_interval=float("inf"))
    with pytest.raises(ValueError, match="at most one"):
        ReplicationOptions(doc_ids=("a",), selector={"x": 1})
    with pytest.raises(ValueError, match="query_params"):
        ReplicationOptions(query_params={"a": 1})
    with pytest.raises(TypeError):
        ReplicationOptions(selector=[1])  # type: ignore[arg-type]


def test_replicate_refuses_bad_arguments_up_front() -> None:
    db = settee.connect("memory:").create_database("x")
    with pytest.raises(TypeError, match="source_db must be a settee Database"):
        settee.replicate("memory:/x", db)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="batch_size"):
        db.replicate_to(db, batch_size=-1)


def test_replicate_options_typeddict_lists_every_keyword_of_replicate() -> None:
    # replicate()'s overloads take **Unpack[ReplicateOptions]: the TypedDict must name
    # exactly the implementation's keywords (but continuous), or a valid call would be
    # a type error / a misspelt one pass.
    keywords = {
        name
        for name, p in inspect.signature(replicate).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert set(ReplicateOptions.__annotations__) == keywords - {"continuous"}
