"""Threads sharing one client, on every backend (issue 8, item 9).

The thread model: the document cache is per thread. ``db[id]`` in one thread
keeps returning that thread's cached ``Document``; another thread never gets
that object, it gets its own (one fetch). A write evicts the other threads'
copies, which it has just made stale. So the documented update pattern
(fetch, modify, save, on ``Conflict`` fetch again) counts exactly under threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import settee
from settee.document import Document
from tests.conformance.conftest import has

THREADS = 8
INCREMENTS = 50
#: A thread's save fails only if another thread saved since its fetch, and each
#: of the others' saves falls in at most one of its fetch-to-save windows: so it
#: needs at most its own increments plus everyone else's attempts.
MAX_ATTEMPTS = THREADS * INCREMENTS
JOIN_TIMEOUT = 120.0


def run_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` in ``count`` threads; return their results, re-raise their errors."""
    results: list[Any] = [None] * count
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = target(index)
        except BaseException as exc:  # reported in the main thread below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker did not finish"
    if failures:
        raise failures[0]
    return results


def increment(db: settee.Database, docid: str) -> int:
    """The documented update pattern, ``INCREMENTS`` times; return how many attempts it took."""
    saved = 0
    attempts = 0
    while saved < INCREMENTS and attempts < MAX_ATTEMPTS:
        attempts += 1
        doc = db[docid]
        doc["n"] += 1
        time.sleep(0)  # let the other threads run between modify and save, as real work would
        try:
            doc.save()
        except settee.Conflict:
            doc.fetch()
            continue
        saved += 1
    assert saved == INCREMENTS, f"gave up after {attempts} attempts"
    return attempts


def assert_every_save_counted(db: settee.Database, docid: str, saves: int) -> None:
    """The counter ``docid`` (from n=0, +1 per save) holds all ``saves`` saves.

    Only with ``strict_conflicts``: a CouchDB cluster accepts a save on a
    stale _rev when one copy behind the others takes it (202 Accepted; it is
    kept as a conflict revision), and two threads' identical saves on the same
    base are one revision there (revision ids are content hashes), so some
    increments are not in the winner. There the count is only bounded.
    """
    n = Document(db, docid).fetch()["n"]
    if has(db.client, "strict_conflicts"):
        assert n == saves
    else:
        assert 0 < n <= saves


def test_fetch_modify_save_under_threads_counts_exactly(db: settee.Database) -> None:
    db.create_document({"_id": "counter", "n": 0})
    run_threads(THREADS, lambda _: increment(db, "counter"))
    assert_every_save_counted(db, "counter", THREADS * INCREMENTS)


def test_two_threads_never_get_the_same_document(db: settee.Database) -> None:
    db.create_document({"_id": "x", "v": 1})
    mine = db["x"]
    assert db["x"] is mine  # one thread: the cached object, as python-cloudant
    mine["v"] = 99  # modified, not saved
    theirs = run_threads(2, lambda _: db["x"])
    assert theirs[0] is not mine and theirs[1] is not mine
    assert theirs[0] is not theirs[1]
    assert theirs[0]["v"] == 1 and theirs[1]["v"] == 1  # not the unsaved change
    assert db["x"] is mine and mine["v"] == 99


def test_each_thread_keeps_its_own_cached_document(db: settee.Database) -> None:
    db.create_document({"_id": "x", "v": 1})

    def twice(_: int) -> bool:
        first = db["x"]
        return db["x"] is first and db.get("x") is first and db.keys() == ["x"]

    assert run_threads(4, twice) == [True] * 4


def test_a_write_evicts_the_other_threads_copies(db: settee.Database) -> None:
    db.create_document({"_id": "x", "v": 1})
    db.clear_cache()
    barrier = threading.Barrier(2)

    def reader(_: int) -> list[int]:
        seen = [db["x"]["v"]]
        barrier.wait()  # the writer saves now
        barrier.wait()
        seen.append(db["x"]["v"])
        return seen

    def writer(_: int) -> None:
        doc = db["x"]
        barrier.wait()
        doc["v"] = 2
        doc.save()
        barrier.wait()

    results = run_threads(2, lambda i: reader(i) if i == 0 else writer(i))
    assert results[0] == [1, 2]


def test_clear_cache_and_delete_reach_every_thread(db: settee.Database) -> None:
    db.create_document({"_id": "x", "v": 1})
    db.create_document({"_id": "y", "v": 1})
    run_threads(2, lambda _: (db["x"], db["y"]))
    assert "x" in db and "y" in db
    db.clear_cache()
    assert run_threads(2, lambda _: db.get("x")) == [None, None]
    other = run_threads(1, lambda _: db["x"])[0]
    db["x"].delete()
    assert "x" not in db
    assert run_threads(1, lambda _: db.get("x"))[0] is None
    assert other["_rev"]  # the other thread's object itself is left alone
