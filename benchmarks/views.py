"""Views as indexes on the embedded backend: a view query right after one write,
against a raw sqlite3 indexed range query on the same rows, and a first build.

    PYTHONPATH=src python benchmarks/views.py [N docs, default 100000] [rounds, default 200]

settee's side: a JavaScript design-document view (QuickJS, ``settee[js]``)
``emit(doc.price, doc.n)`` on ``sqlite:`` (and ``memory:``), and a Python
view. Each round writes one document, then queries ``startkey..endkey``,
``limit=10``; only the query is timed (it includes bringing the index up to
date with that write: one map call and one write transaction). The baseline
is raw ``sqlite3`` on a table ``(price, id, n)`` with an index on
``(price, id)``: one insert, then ``SELECT ... WHERE price BETWEEN ? AND ?
ORDER BY price, id LIMIT 10``, the insert not timed either. Medians over the
rounds, ratios within the run.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from settee.backends import open_backend
from settee.backends.base import Backend

MAP = "function (doc) { if (doc.price !== undefined) emit(doc.price, doc.n); }"
CATEGORIES = ["books", "games", "music", "toys", "tools"]


def make_doc(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "_id": f"d{i:08d}",
        "type": "item",
        "category": CATEGORIES[i % len(CATEGORIES)],
        "price": round(rng.uniform(0, 1000), 2),
        "n": i,
        "note": "x" * 60,
    }


def fill(backend: Backend, n: int) -> float:
    rng = random.Random(1)
    start = time.perf_counter()
    for lo in range(0, n, 5000):
        backend.bulk_docs("db", [make_doc(i, rng) for i in range(lo, min(n, lo + 5000))])
    return time.perf_counter() - start


def by_price(doc: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    if "price" in doc:
        yield doc["price"], doc["n"]


def timed_rounds(
    rounds: int, write: Callable[[int], None], query: Callable[[float], int]
) -> list[float]:
    rng = random.Random(2)
    times: list[float] = []
    for r in range(rounds):
        write(r)
        low = rng.uniform(0, 990)
        start = time.perf_counter()
        got = query(low)
        times.append(time.perf_counter() - start)
        assert got == 10, got
    return times


def settee_rounds(backend: Backend, rounds: int, *, python: bool) -> list[float]:
    rng = random.Random(3)
    first = 2 * 10**7 if python else 10**7

    def write(r: int) -> None:
        backend.put_doc("db", make_doc(first + r, rng))

    def query(low: float) -> int:
        params = {"startkey": low, "endkey": low + 10, "limit": 10}
        if python:
            body = backend.python_view("db", by_price, params)
        else:
            body = backend.view("db", "bench", "by_price", params)
        return len(body["rows"])

    return timed_rounds(rounds, write, query)


def raw_rounds(path: str, n: int, rounds: int) -> list[float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE rows (price REAL, id TEXT, n INTEGER)")
    rng = random.Random(1)
    docs = [make_doc(i, rng) for i in range(n)]
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO rows VALUES (?, ?, ?)", [(d["price"], d["_id"], d["n"]) for d in docs]
    )
    conn.execute("COMMIT")
    conn.execute("CREATE INDEX rows_by_price ON rows (price, id)")
    wrng = random.Random(3)

    def write(r: int) -> None:
        d = make_doc(10**7 + r, wrng)
        conn.execute("INSERT INTO rows VALUES (?, ?, ?)", (d["price"], d["_id"], d["n"]))

    def query(low: float) -> int:
        cur = conn.execute(
            "SELECT id, price, n FROM rows WHERE price >= ? AND price <= ? "
            "ORDER BY price, id LIMIT 10",
            (low, low + 10),
        )
        return len(cur.fetchall())

    try:
        return timed_rounds(rounds, write, query)
    finally:
        conn.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, float] = {}
        raw = raw_rounds(os.path.join(tmp, "raw.db"), n, rounds)
        results["raw sqlite3 range query"] = statistics.median(raw)
        for url in (f"sqlite:///{os.path.join(tmp, 'settee.db')}", "memory:"):
            kind = url.split(":")[0]
            backend = open_backend(url)
            backend.create_db("db")
            print(f"{kind}: bulk insert of {n} docs {fill(backend, n):.2f} s")
            backend.put_doc("db", {"_id": "_design/bench", "views": {"by_price": {"map": MAP}}})
            start = time.perf_counter()
            backend.view("db", "bench", "by_price", {"limit": 1})
            build = time.perf_counter() - start
            print(f"{kind}: first build of the JS view over {n} docs {build:.2f} s "
                  f"({n / build:,.0f} docs/s)")  # fmt: skip
            start = time.perf_counter()
            backend.python_view("db", by_price, {"limit": 1})
            build = time.perf_counter() - start
            print(f"{kind}: first build of the Python view over {n} docs {build:.2f} s")
            js_times = settee_rounds(backend, rounds, python=False)
            results[f"{kind}: JS view query after 1 write"] = statistics.median(js_times)
            py_times = settee_rounds(backend, rounds, python=True)
            results[f"{kind}: Python view query after 1 write"] = statistics.median(py_times)
            backend.close()
        base = results["raw sqlite3 range query"]
        print(f"\nmedian over {rounds} rounds, {n} docs")
        for name, value in results.items():
            print(f"  {name:42s} {value * 1e3:8.3f} ms  {value / base:6.1f}x")


if __name__ == "__main__":
    main()
