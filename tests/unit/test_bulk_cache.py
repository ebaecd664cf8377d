"""``bulk_docs`` forgets the documents it writes from the cache, for every thread."""

from __future__ import annotations

import threading

import settee


def test_bulk_docs_forgets_written_ids_for_every_thread() -> None:
    db = settee.connect("memory:").create_database("bulkcache")
    db.bulk_docs([{"_id": "a", "n": 1}, {"_id": "b", "n": 1}, {"_id": "c", "n": 1}])
    first = db["a"]
    db["c"]
    other: list[settee.Document] = []
    worker = threading.Thread(target=lambda: other.append(db["a"]))
    worker.start()
    worker.join()
    assert other and other[0] is not first
    assert db.cache.known("a") and db.cache.known("c")

    results = db.bulk_docs([{"_id": "a", "_rev": first["_rev"], "n": 2}, {"_id": "b", "n": 9}])

    assert [r.get("ok") for r in results] == [True, None]  # b: a conflict, still forgotten
    assert not db.cache.known("a")
    assert not db.cache.known("b")
    assert db.cache.known("c")  # not written: kept
    fresh = db["a"]
    assert fresh is not first
    assert fresh["n"] == 2
    assert fresh["_rev"] == results[0]["rev"]


def test_forget_on_an_empty_cache_and_unknown_ids() -> None:
    db = settee.connect("memory:").create_database("bulkcache")
    db.cache.forget(["x", "y"])
    db.bulk_docs([{"_id": "x"}])
    db["x"]
    db.cache.forget(["nope"])
    assert db.cache.known("x")
    db.cache.forget(iter(["x"]))
    assert not db.cache.known("x")
