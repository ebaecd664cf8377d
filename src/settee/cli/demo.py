"""``settee demo``: settee's main job, narrated, on whatever backend the client uses.

It creates a database, uses it like a dict, bulk-loads generated documents
with a progress bar, queries them with Mango and with RQL, pages through
results by key, shows a conflict being refused, and follows the changes feed
while another thread writes. Every step prints what it did and what came back.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from typing import Any

from settee import errors
from settee.cli.progress import chunked, progress
from settee.document import Document
from settee.rql.builder import R

__all__ = ["run_demo"]

CATEGORIES = ("books", "music", "garden", "kitchen", "toys")
WORDS = ("red", "small", "vintage", "deluxe", "eco", "classic", "mini", "pro", "smart", "zen")


def _say(text: str) -> None:
    print(text, flush=True)


def generate(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` product documents, the same for the same seed."""
    rng = random.Random(seed)
    docs = []
    for n in range(count):
        docs.append(
            {
                "_id": f"product:{n:06d}",
                "type": "product",
                "name": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {n}",
                "category": rng.choice(CATEGORIES),
                "price": round(rng.uniform(1, 200), 2),
                "stock": rng.randint(0, 50),
                "tags": rng.sample(WORDS, 2),
            }
        )
    return docs


def run_demo(client: Any, *, docs: int = 5000, quiet: bool = False, keep: bool = False) -> None:
    """Run the tour against ``client``; the database is deleted afterwards unless ``keep``."""
    if docs < 10:
        raise ValueError("--docs must be at least 10")
    _say(f"settee demo on {client.backend.kind} backend at {client.url}")
    name = f"settee-demo-{uuid.uuid4().hex[:8]}"
    db = client.create_database(name)
    _say(f"\n1. created database {name!r}; it is in the client like a dict: {name in client}")
    try:
        _dict_like(db)
        _bulk_load(db, docs, quiet)
        _mango(db)
        _rql(db)
        _paging(db)
        _follow(db)
    finally:
        if keep:
            _say(f"\nkept database {name!r}")
        else:
            client.delete_database(name)
            _say(f"\ndeleted database {name!r}. Done.")


def _dict_like(db: Any) -> None:
    doc = db.create_document({"_id": "welcome", "message": "hello from settee", "visits": 0})
    _say(f"2. db.create_document(...) -> id {doc['_id']!r}, rev {doc['_rev']!r}")
    doc["visits"] += 1
    doc.save()
    _say(f"   doc['visits'] += 1; doc.save() -> rev {doc['_rev']!r} (updated in place)")
    fetched = db["welcome"]
    _say(f"   db['welcome'] -> {dict(fetched)}")
    _say(f"   'welcome' in db -> {'welcome' in db}; 'nobody' in db -> {'nobody' in db}")
    try:
        db["nobody"]
    except KeyError as exc:
        _say(f"   db['nobody'] raises {type(exc).__name__} (a KeyError): {exc}")
    stale = dict(doc)  # a copy holding the current _rev
    doc["visits"] = 10
    doc.save()  # the server moves on to a newer revision
    result = db.bulk_docs([stale])[0]
    _say(f"   bulk_docs with the now-stale _rev -> {result} (nothing overwritten)")
    outdated = Document(db, "welcome")
    outdated.update(stale)
    try:
        outdated.save()
    except errors.Conflict as exc:
        _say(f"   Document.save() with a stale _rev raises Conflict: {exc.status} {exc.reason}")


def _bulk_load(db: Any, count: int, quiet: bool) -> None:
    docs = generate(count)
    started = time.monotonic()
    written = failed = 0
    for chunk in chunked(progress(docs, total=count, desc="bulk load", quiet=quiet), 500):
        for result in db.bulk_docs(chunk):
            if "error" in result:
                failed += 1
            else:
                written += 1
    took = time.monotonic() - started
    _say(
        f"\n3. bulk-loaded {written} generated products in {took:.2f} s "
        f"({failed} failed); doc_count() -> {db.doc_count()}"
    )


def _mango(db: Any) -> None:
    db.create_query_index(fields=["category", "price"])
    selector = {"category": "books", "price": {"$lt": 20}}
    result = db.get_query_result(selector, fields=["_id", "name", "price"])
    found = list(result)
    _say(f"\n4. Mango {selector} -> {len(found)} products, e.g.")
    for doc in found[:3]:
        _say(f"     {doc}")


def _rql(db: Any) -> None:
    query = R().category.eq("garden") & R().stock.gt(45)
    found = list(db.filter(query))
    _say(f"\n5. RQL {query} -> {len(found)} products (translated to a Mango selector)")
    text = "and(eq(category,toys),lt(price,5))"
    matched = [doc["_id"] for doc in db.filter(text)]
    _say(f"   RQL text {text!r} -> {len(matched)} products: {matched[:5]}")


def _paging(db: Any) -> None:
    rows = db.all_docs(include_docs=False, page_size=1000)
    seen = sum(1 for _ in rows)
    _say(f"\n6. iterated all_docs by key in pages of 1000 (never skip): {seen} rows")
    window = [row["id"] for row in db.all_docs()[100:105]]
    _say(f"   all_docs()[100:105] -> {window}")
    first = db.all_docs(startkey="product:004", endkey="product:004\ufff0").first()
    if first is not None:
        _say(f"   all_docs(startkey='product:004', ...).first() -> {first['id']}")


def _follow(db: Any, writes: int = 10) -> None:
    since = db.metadata()["update_seq"]
    feed = db.changes(feed="continuous", since=since, heartbeat=1000, include_docs=True)
    _say(f"\n7. following the changes feed from seq {str(since)[:20]!r} while a thread writes")

    def writer() -> None:
        for n in range(writes):
            db.create_document({"_id": f"live:{n}", "type": "live", "n": n})
            time.sleep(0.05)

    thread = threading.Thread(target=writer, name="settee-demo-writer", daemon=True)
    started = time.monotonic()
    thread.start()
    seen: list[str] = []
    deadline = started + 30
    try:
        for change in feed:
            if change["id"].startswith("live:"):
                seen.append(change["id"])
                lag = (time.monotonic() - started) * 1000
                rev = change["changes"][0]["rev"]
                _say(f"   change {change['id']} rev {rev[:12]}... after {lag:.0f} ms")
            if len(seen) == writes or time.monotonic() > deadline:
                break
    finally:
        feed.stop()
        thread.join(timeout=10)
    _say(f"   saw {len(seen)} of {writes} live writes; feed.last_seq = {str(feed.last_seq)[:20]!r}")
