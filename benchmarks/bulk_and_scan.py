"""settee vs raw ``requests`` making the identical HTTP calls: bulk insert and a full scan.

Run by hand (not in CI)::

    .venv/bin/python benchmarks/bulk_and_scan.py                  # starts PouchDB Server
    .venv/bin/python benchmarks/bulk_and_scan.py http://admin:pw@127.0.0.1:5984

Parts, each timed in its own subprocess (a fresh interpreter, so ``ru_maxrss``
is the peak of that part alone):

* insert: ``--docs`` documents (default 50,000) through ``_bulk_docs`` in
  chunks of 500 — ``db.bulk_docs(docs)`` vs ``session.post(.../_bulk_docs)``
  with the same chunks.
* scan: every document through ``_all_docs?include_docs=true`` key-paged with
  ``limit=page_size+1`` — ``db.all_docs(include_docs=True)`` vs a loop of
  ``session.get`` sending the same parameters.

The scan is also run over the first 10,000 documents (``endkey``) to show
that peak memory does not grow with the number of rows iterated. Each
timing is the best of ``--repeat`` runs. Prints both times and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 500


def make_docs(count: int) -> list[dict[str, Any]]:
    return [
        {"_id": f"doc{i:07d}", "n": i, "kind": "bench", "text": f"document number {i} " * 4}
        for i in range(count)
    ]


# -- the parts, run in child processes ------------------------------------------------


def insert_settee(url: str, db_name: str, count: int) -> dict[str, Any]:
    import settee

    docs = make_docs(count)
    client = settee.connect(url)
    db = client.create_database(db_name)
    started = time.perf_counter()
    results = db.bulk_docs(docs, chunk_size=CHUNK)
    elapsed = time.perf_counter() - started
    assert len(results) == count and all(r.get("ok") for r in results)
    client.disconnect()
    return {"seconds": elapsed, "rows": len(results)}


def insert_raw(url: str, db_name: str, count: int) -> dict[str, Any]:
    import requests

    from settee.urls import split_credentials

    base, creds = split_credentials(url)
    docs = make_docs(count)
    session = requests.Session()
    session.trust_env = False  # as settee's Transport: no proxy/netrc lookups per request
    if creds:
        session.auth = creds
    session.put(f"{base}/{db_name}").raise_for_status()
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    for start in range(0, count, CHUNK):
        body = json.dumps({"docs": docs[start : start + CHUNK]}, separators=(",", ":"))
        response = session.post(
            f"{base}/{db_name}/_bulk_docs",
            data=body.encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        response.raise_for_status()
        results.extend(response.json())
    elapsed = time.perf_counter() - started
    assert len(results) == count and all(r.get("ok") for r in results)
    return {"seconds": elapsed, "rows": len(results)}


def scan_settee(url: str, db_name: str, page_size: int, endkey: str | None) -> dict[str, Any]:
    import settee

    client = settee.connect(url)
    db = client[db_name]
    params: dict[str, Any] = {"include_docs": True, "page_size": page_size}
    if endkey is not None:
        params["endkey"] = endkey
    started = time.perf_counter()
    rows = 0
    for row in db.all_docs(**params):
        rows += row["doc"]["n"] >= 0
    elapsed = time.perf_counter() - started
    client.disconnect()
    return {"seconds": elapsed, "rows": rows}


def scan_raw(url: str, db_name: str, page_size: int, endkey: str | None) -> dict[str, Any]:
    import requests

    from settee.urls import split_credentials

    base, creds = split_credentials(url)
    session = requests.Session()
    session.trust_env = False  # as settee's Transport: no proxy/netrc lookups per request
    if creds:
        session.auth = creds
    headers = {"Accept": "application/json"}
    params: dict[str, str] = {"include_docs": "true", "limit": str(page_size + 1)}
    if endkey is not None:
        params["endkey"] = json.dumps(endkey)
    started = time.perf_counter()
    rows = 0
    while True:
        response = session.get(f"{base}/{db_name}/_all_docs", params=params, headers=headers)
        response.raise_for_status()
        page = response.json()["rows"]
        for row in page[:page_size]:
            rows += row["doc"]["n"] >= 0
        if len(page) <= page_size:
            break
        params["startkey"] = json.dumps(page[page_size]["id"])
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "rows": rows}


def child(args: argparse.Namespace) -> None:
    if args.part == "insert":
        fn = insert_settee if args.impl == "settee" else insert_raw
        out = fn(args.url, args.db, args.docs)
    else:
        fn2 = scan_settee if args.impl == "settee" else scan_raw
        out = fn2(args.url, args.db, args.page_size, args.endkey)
    out["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))


# -- orchestration --------------------------------------------------------------------


def run_child(*argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *argv],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    if done.returncode != 0:
        sys.exit(f"part {argv[:4]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def start_pouchdb() -> tuple[str, subprocess.Popen[bytes], str]:
    binary = os.environ.get("SETTEE_POUCHDB_BIN") or str(
        ROOT / ".cache/npm/node_modules/.bin/pouchdb-server"
    )
    if not Path(binary).exists():
        found = shutil.which("pouchdb-server")
        if found is None:
            sys.exit("no server URL given and pouchdb-server is not installed (make pouchdb)")
        binary = found
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="settee-bench-")
    process = subprocess.Popen(
        [binary, "--in-memory", "--port", str(port), "--host", "127.0.0.1", "--no-stdout-logs"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.terminate()
                sys.exit("pouchdb-server did not start")
            time.sleep(0.2)
    return url, process, workdir


def drop_database(url: str, name: str) -> None:
    import settee

    client = settee.connect(url)
    try:
        client.delete_database(name)
    except settee.NotFound:
        pass
    finally:
        client.disconnect()


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return min(runs, key=lambda r: r["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="server URL (default: start PouchDB Server)")
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=["insert", "scan"], help=argparse.SUPPRESS)
    parser.add_argument("--impl", choices=["settee", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--endkey", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    process = None
    url = args.url
    if url is None:
        url, process, _ = start_pouchdb()
    print(f"server: {url.split('@')[-1]}  docs: {args.docs}  page_size: {args.page_size}")
    made: list[str] = []
    try:
        inserts: dict[str, list[dict[str, Any]]] = {"settee": [], "raw": []}
        for attempt in range(args.repeat):
            # Alternate who goes first: the server warms up (JIT, caches) as it runs.
            for impl in ("raw", "settee") if attempt % 2 == 0 else ("settee", "raw"):
                name = f"bench-{impl}-{uuid.uuid4().hex[:8]}"
                made.append(name)
                inserts[impl].append(
                    run_child(
                        "--part",
                        "insert",
                        "--impl",
                        impl,
                        "--db",
                        name,
                        "--docs",
                        str(args.docs),
                        url,
                    )
                )
                if len(made) > 1:  # keep one filled database; an in-memory server fills up
                    drop_database(url, made.pop(0))
        scan_db = made[-1]  # both scans read the same database
        scans: dict[tuple[str, str], list[dict[str, Any]]] = {}
        limits = {"10k": f"doc{10_000 - 1:07d}", "all": None}
        for label, endkey in limits.items():
            for attempt in range(args.repeat):
                for impl in ("raw", "settee") if attempt % 2 == 0 else ("settee", "raw"):
                    extra = ["--endkey", endkey] if endkey else []
                    scans.setdefault((label, impl), []).append(
                        run_child(
                            "--part",
                            "scan",
                            "--impl",
                            impl,
                            "--db",
                            scan_db,
                            "--page-size",
                            str(args.page_size),
                            *extra,
                            url,
                        )
                    )
        print()
        print(f"{'part':<28}{'raw requests':>14}{'settee':>10}{'ratio':>8}")
        pairs = [
            (f"insert {args.docs} (bulk_docs)", best(inserts["raw"]), best(inserts["settee"])),
            (
                "scan 10k (all_docs docs)",
                best(scans[("10k", "raw")]),
                best(scans[("10k", "settee")]),
            ),
            (
                f"scan {args.docs} (all_docs docs)",
                best(scans[("all", "raw")]),
                best(scans[("all", "settee")]),
            ),
        ]
        for label, raw, ours in pairs:
            assert raw["rows"] == ours["rows"], (raw, ours)
            ratio = ours["seconds"] / raw["seconds"]
            print(f"{label:<28}{raw['seconds']:>13.2f}s{ours['seconds']:>9.2f}s{ratio:>8.2f}")
        print()
        print("peak RSS of the scan process (ru_maxrss):")
        for label in limits:
            raw_rss = max(r["max_rss_kb"] for r in scans[(label, "raw")]) / 1024
            our_rss = max(r["max_rss_kb"] for r in scans[(label, "settee")]) / 1024
            rows = scans[(label, "settee")][0]["rows"]
            print(f"  {rows:>6} rows: raw {raw_rss:6.1f} MiB   settee {our_rss:6.1f} MiB")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        else:
            for name in made:
                drop_database(url, name)


if __name__ == "__main__":
    main()
