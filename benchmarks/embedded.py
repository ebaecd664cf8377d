"""The embedded backends (``sqlite:``, ``memory:``) vs raw ``sqlite3`` doing the same work.

Run by hand (not in CI)::

    PYTHONPATH=src .venv/bin/python benchmarks/embedded.py            # 10k and 100k docs
    PYTHONPATH=src .venv/bin/python benchmarks/embedded.py --million  # and 1M (slow)
    PYTHONPATH=src .venv/bin/python benchmarks/embedded.py --only insert,reads,scan
    PYTHONPATH=src .venv/bin/python benchmarks/embedded.py --kinds raw,memory

The same rows (~150 B: ``category``, ``price``, ``name``) in each store:

* bulk insert: ``db.bulk_docs`` in chunks of 5,000, a json index on
  ``[category, price]`` created first, vs ``executemany`` of ``(id, rev, seq,
  body)`` in 5,000-row transactions into a table with an expression index on
  ``json_extract(body, '$.category'), json_extract(body, '$.price')``;
* point reads: 2,000 ``db.get(id, remote=True)`` vs ``SELECT body ... WHERE id = ?``
  + ``json.loads``;
* indexed Mango: ``{"category": "books", "price": {"$lt": 20}}``, every match
  (``.all()``), vs the same ``WHERE`` on the expression index + ``json.loads``;
* all_docs scan: iterate ``db.all_docs()`` (ids and revs) vs ``SELECT id, rev
  ORDER BY id``;
* changes: iterate ``db.changes()`` vs ``SELECT seq, id, rev ORDER BY seq``;
* attachments: a 20 MB attachment put and read back vs a blob row;
* view after 1 write (sizes up to 100,000; needs ``settee[js]``): a JavaScript view
  ``emit(doc.price, null)`` built over the rows (not timed), then rounds of one
  ``put`` (not timed) and the timed query ``startkey..endkey, limit=10`` (which
  brings the view up to date with that write), median of the rounds, vs one insert
  (not timed) and ``SELECT ... WHERE json_extract(body, '$.price') BETWEEN ? AND ?
  ORDER BY ... LIMIT 10`` on an expression index.

Each store runs in its own subprocess (so peak RSS is its own), the stores
interleaved round by round (``--kinds`` runs only some); each timing is the best of
``--rounds``. The input rows are dropped once loaded, before the timings after the
insert: a million dicts held by the harness would make every full garbage collection
in the settee rows walk them. Printed:
seconds, the ratio to raw sqlite3 of the same size, growth between sizes, peak RSS,
and ``scan RSS +MiB``: how far one more all_docs scan took the process above its RSS
before it (the peak is reset first through ``/proc/self/clear_refs``; -1 where it
cannot be): flat in the size when the scan pages in constant memory.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK = 5000
READS = 2000
CATEGORIES = ["books", "music", "games", "tools", "food"]
SELECTOR = {"category": "books", "price": {"$lt": 20}}
ATTACHMENT = 20 * 1024 * 1024
KINDS = ("raw", "sqlite", "memory")
#: ``--only`` names: the rows each one runs (the database is always loaded).
WORKS = {
    "insert": "bulk insert",
    "reads": "point reads",
    "mango": "indexed mango",
    "scan": "all_docs scan",
    "changes": "changes",
    "attachment": "attachment 20MB",
    "view": "view after 1 write",
}
VIEW_MAX = 100_000  # a first JS view build over 1M docs takes minutes: not at that size
VIEW_ROUNDS = 50
VIEW_MAP = "function (doc) { if (doc.price !== undefined) emit(doc.price, null); }"


#: The timer: wall time, or with ``--clock cpu`` this process's CPU time (steadier on a
#: loaded machine; it leaves out waiting for the disk, in both stores alike).
clock: Callable[[], float] = time.perf_counter


def has_js() -> bool:
    try:
        import quickjs  # noqa: F401
    except ImportError:
        return False
    return True


def extra_doc(r: int) -> dict[str, Any]:
    return {"_id": f"new{r:08d}", "category": "books", "price": (r * 31) % 100, "name": "new"}


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def make_docs(count: int) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"doc{i:08d}",
            "category": CATEGORIES[i % 5],
            "price": (i * 7919) % 100,
            "name": f"item number {i} of the benchmark catalogue",
        }
        for i in range(count)
    ]


def best(rounds: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(rounds):
        started = clock()
        work()
        times.append(clock() - started)
    return min(times)


_PEAK_BEFORE_RESET = 0.0


def peak_mib() -> float:
    """This process's peak RSS (including what it was before :func:`scan_rss_growth`)."""
    return max(_PEAK_BEFORE_RESET, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def scan_rss_growth(work: Callable[[], Any]) -> float:
    """How far above its RSS before it ``work()`` took this process, in MiB: the peak
    (VmHWM) is reset to the current RSS first (``/proc/self/clear_refs``, Linux), so
    what the loading left behind does not count. -1 where that cannot be reset."""
    global _PEAK_BEFORE_RESET
    _PEAK_BEFORE_RESET = peak_mib()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return -1.0
    before = _status_mib("VmRSS")
    work()
    return max(0.0, _status_mib("VmHWM") - before)


# -- settee ---------------------------------------------------------------------------


def run_settee(url: str, count: int, rounds: int, only: frozenset[str]) -> dict[str, float]:
    import settee

    # Imported before any timing (raw sqlite3 is imported before its timings too): the
    # first connect() would otherwise count the backend modules' import in "bulk insert".
    importlib.import_module(
        "settee.backends.sqlite" if url != "memory:" else "settee.backends.memory"
    )

    docs = make_docs(count)
    ids = random.Random(1).sample([d["_id"] for d in docs], min(READS, count))
    out: dict[str, float] = {}

    def insert() -> Any:
        client = settee.connect(url)
        if "bench" in client.all_dbs():
            client.delete_database("bench")
        db = client.create_database("bench")
        db.create_query_index(fields=["category", "price"])
        for start in range(0, count, CHUNK):
            db.bulk_docs(docs[start : start + CHUNK], chunk_size=CHUNK)
        return db

    # Insert is timed once per round into a fresh database (memory: a fresh store).
    times = []
    loaded = None
    for _ in range(rounds):
        started = clock()
        loaded = insert()
        times.append(clock() - started)
    if "insert" in only:
        out["bulk insert"] = min(times)
    # memory: is private per connect(): the queries run on the last round's store (not
    # one loaded again, which held two stores at once and interleaved their memory).
    db = settee.connect(url)["bench"] if url != "memory:" else loaded
    del loaded
    # The input rows are loaded: dropped, so the garbage collector's full collections
    # during the timings walk the store, not a million dicts the harness holds.
    docs.clear()
    if "reads" in only:
        out["point reads"] = best(rounds, lambda: [db.get(i, remote=True) for i in ids])
    # Counted, not kept: 40,000 documents held would be walked by every full collection.
    out["_rows mango"] = len(db.get_query_result(SELECTOR, page_size=1000).all())
    if "mango" in only:
        out["indexed mango"] = best(
            rounds, lambda: db.get_query_result(SELECTOR, page_size=1000).all()
        )
    if "scan" in only:
        out["all_docs scan"] = best(rounds, lambda: sum(1 for _ in db.all_docs(page_size=1000)))
        out["_scan MiB"] = scan_rss_growth(lambda: sum(1 for _ in db.all_docs(page_size=1000)))
    if "changes" in only:
        out["changes"] = best(rounds, lambda: sum(1 for _ in db.changes()))
    blob = os.urandom(ATTACHMENT)

    def attachment() -> None:
        doc = db.create_document({"_id": f"att-{time.perf_counter_ns()}"})
        doc.put_attachment("blob.bin", "application/octet-stream", blob)
        assert doc.get_attachment("blob.bin", attachment_type="binary") == blob

    if "attachment" in only:
        out["attachment 20MB"] = best(rounds, attachment)
    if "view" in only and count <= VIEW_MAX and has_js():
        ddoc = settee.DesignDocument(db, "bench")
        ddoc.add_view("by_price", VIEW_MAP)
        ddoc.save()
        db.get_view_result("bench", "by_price", limit=1).all()  # the first build
        times = []
        for r in range(VIEW_ROUNDS):
            db.create_document(extra_doc(r))
            low = r % 90
            started = clock()
            got = db.get_view_result(
                "bench", "by_price", startkey=low, endkey=low + 10, limit=10
            ).all()
            times.append(clock() - started)
            assert len(got) == 10
        out["view after 1 write"] = median(times)
    out["_peak MiB"] = peak_mib()
    return out


# -- raw sqlite3 ----------------------------------------------------------------------


def run_raw(path: str, count: int, rounds: int, only: frozenset[str]) -> dict[str, float]:
    docs = make_docs(count)
    ids = random.Random(1).sample([d["_id"] for d in docs], min(READS, count))
    out: dict[str, float] = {}

    def insert() -> sqlite3.Connection:
        if os.path.exists(path):
            os.unlink(path)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE docs (id TEXT PRIMARY KEY, rev TEXT, seq INTEGER UNIQUE, body TEXT)"
            " WITHOUT ROWID"
        )
        conn.execute(
            "CREATE INDEX by_cat_price ON docs "
            "(json_extract(body, '$.category'), json_extract(body, '$.price'))"
        )
        conn.execute("CREATE TABLE atts (id TEXT PRIMARY KEY, data BLOB)")
        for start in range(0, count, CHUNK):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO docs VALUES (?, ?, ?, ?)",
                (
                    (d["_id"], "1-" + "0" * 32, start + n + 1, json.dumps(d))
                    for n, d in enumerate(docs[start : start + CHUNK])
                ),
            )
            conn.execute("COMMIT")
        return conn

    times = []
    for _ in range(rounds):
        started = clock()
        conn = insert()
        times.append(clock() - started)
        conn.close()
    if "insert" in only:
        out["bulk insert"] = min(times)
    conn = sqlite3.connect(path, isolation_level=None)
    docs.clear()  # as in run_settee

    def reads() -> None:
        for docid in ids:
            json.loads(conn.execute("SELECT body FROM docs WHERE id = ?", (docid,)).fetchone()[0])

    if "reads" in only:
        out["point reads"] = best(rounds, reads)
    query = (
        "SELECT body FROM docs WHERE json_extract(body, '$.category') = ? "
        "AND json_extract(body, '$.price') < ? "
        "ORDER BY json_extract(body, '$.category'), json_extract(body, '$.price')"
    )
    out["_rows mango"] = len(conn.execute(query, ("books", 20)).fetchall())
    if "mango" in only:
        out["indexed mango"] = best(
            rounds, lambda: [json.loads(b) for (b,) in conn.execute(query, ("books", 20))]
        )
    if "scan" in only:
        out["all_docs scan"] = best(
            rounds, lambda: sum(1 for _ in conn.execute("SELECT id, rev FROM docs ORDER BY id"))
        )
        out["_scan MiB"] = scan_rss_growth(
            lambda: sum(1 for _ in conn.execute("SELECT id, rev FROM docs ORDER BY id"))
        )
    if "changes" in only:
        out["changes"] = best(
            rounds,
            lambda: sum(1 for _ in conn.execute("SELECT seq, id, rev FROM docs ORDER BY seq")),
        )
    blob = os.urandom(ATTACHMENT)

    def attachment() -> None:
        key = f"att-{time.perf_counter_ns()}"
        conn.execute("INSERT INTO atts VALUES (?, ?)", (key, blob))
        (data,) = conn.execute("SELECT data FROM atts WHERE id = ?", (key,)).fetchone()
        assert data == blob

    if "attachment" in only:
        out["attachment 20MB"] = best(rounds, attachment)
    if "view" in only and count <= VIEW_MAX and has_js():
        conn.execute("CREATE INDEX by_price ON docs (json_extract(body, '$.price'), id)")
        view_query = (
            "SELECT id, json_extract(body, '$.price') FROM docs "
            "WHERE json_extract(body, '$.price') BETWEEN ? AND ? "
            "ORDER BY json_extract(body, '$.price'), id LIMIT 10"
        )
        times = []
        for r in range(VIEW_ROUNDS):
            doc = extra_doc(r)
            conn.execute(
                "INSERT INTO docs VALUES (?, ?, ?, ?)",
                (doc["_id"], "1-" + "0" * 32, count + r + 1, json.dumps(doc)),
            )
            low = r % 90
            started = clock()
            got = conn.execute(view_query, (low, low + 10)).fetchall()
            times.append(clock() - started)
            assert len(got) == 10
        out["view after 1 write"] = median(times)
    out["_peak MiB"] = peak_mib()
    return out


# -- driver ---------------------------------------------------------------------------


def child(
    kind: str, count: int, rounds: int, workdir: str, only: str, timer: str
) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(count), str(rounds), workdir, only, timer],
        check=True,
        capture_output=True,
        text=True,
    )
    parsed: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--million", action="store_true", help="also 1,000,000 documents")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated doc counts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only",
        default=",".join(WORKS),
        help=f"comma-separated works to time, of {', '.join(WORKS)} (default: all)",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time with the wall clock (default) or each process's CPU time",
    )
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"comma-separated stores to run, of {', '.join(KINDS)} (default: all; the"
        " ratios need raw)",
    )
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, count, rounds, workdir, names, timer = args.child
        global clock
        clock = time.process_time if timer == "cpu" else time.perf_counter
        n, r, only = int(count), int(rounds), frozenset(names.split(","))
        if kind == "raw":
            out = run_raw(os.path.join(workdir, f"raw-{n}.db"), n, r, only)
        elif kind == "sqlite":
            out = run_settee(f"sqlite:///{workdir}/settee-{n}.db", n, r, only)
        else:
            out = run_settee("memory:", n, r, only)
        print(json.dumps(out))
        return
    unknown = set(args.only.split(",")) - set(WORKS)
    if unknown:
        parser.error(f"--only: unknown work(s) {', '.join(sorted(unknown))}")
    kinds = tuple(k for k in KINDS if k in args.kinds.split(","))
    if set(args.kinds.split(",")) - set(KINDS):
        parser.error(f"--kinds: of {', '.join(KINDS)}")
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.million:
        sizes.append(1_000_000)
    results: dict[int, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="settee-bench-") as workdir:
        for size in sizes:
            rounds = 1 if size >= 1_000_000 else args.rounds
            # Rounds interleave the stores (raw, sqlite, memory, raw, ...), each in a fresh
            # process, so a change in the machine's load hits all of them alike.
            runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
            for _ in range(rounds):
                for kind in kinds:
                    runs[kind].append(child(kind, size, 1, workdir, args.only, args.clock))
                    for name in list(Path(workdir).iterdir()):
                        name.unlink()
            results[size] = {
                kind: {
                    work: (max if work.endswith(" MiB") else min)(run[work] for run in done)
                    for work in done[0]
                }
                for kind, done in runs.items()
            }
    first = results[sizes[0]][kinds[0]]
    works = [w for w in first if not w.startswith("_")]
    for size in sizes:
        row = results[size]
        matches = int(row[kinds[0]]["_rows mango"])
        print(f"\n{size:,} documents ({matches} Mango matches)")
        if kinds == KINDS:
            head = f"{'raw s':>9}{'sqlite s':>10}{'ratio':>7}{'memory s':>10}{'ratio':>7}"
        else:
            head = "".join(f"{kind + ' s':>10}" for kind in kinds)
        print(f"{'work':<18}{head}")
        for work in works:
            if work not in row[kinds[0]]:
                continue  # the view row, above VIEW_MAX or without settee[js]
            if kinds != KINDS:
                print(f"{work:<18}" + "".join(f"{row[kind][work]:>10.5f}" for kind in kinds))
                continue
            raw = row["raw"][work]
            sq = row["sqlite"][work]
            mem = row["memory"][work]
            ratios = f"{sq:>10.5f}{sq / raw:>6.1f}x{mem:>10.5f}{mem / raw:>6.1f}x"
            print(f"{work:<18}{raw:>9.5f}{ratios}")
        peaks = "  ".join(f"{kind} {row[kind]['_peak MiB']:.0f}" for kind in kinds)
        print(f"{'peak RSS MiB':<18}{peaks}")
        if "_scan MiB" in row[kinds[0]]:
            grown = "  ".join(f"{kind} {row[kind]['_scan MiB']:.1f}" for kind in kinds)
            print(f"{'scan RSS +MiB':<18}{grown}")
    for small, large in itertools.pairwise(sizes):
        print(f"\ngrowth time({large:,}) / time({small:,})")
        for work in works:
            if work not in results[large][kinds[0]]:
                continue
            cells = "  ".join(
                f"{kind} {results[large][kind][work] / results[small][kind][work]:.1f}"
                for kind in kinds
            )
            print(f"{work:<18}{cells}")


if __name__ == "__main__":
    main()
