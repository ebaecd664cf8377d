"""settee vs raw requests (+ijson) vs python-cloudant vs ibmcloudant on one Apache CouchDB.

Run by hand (not in CI), against a CouchDB you give it::

    .venv/bin/pip install -e '.[bench]'        # python-cloudant, ibmcloudant
    .venv/bin/python benchmarks/couchdb.py http://admin:pw@127.0.0.1:5984
    SETTEE_COUCHDB_HOME=/opt/couchdb .venv/bin/python benchmarks/couchdb.py   # starts a node

Parts, each run in a fresh child process (the client's imports done before
the clock starts) (so ``ru_maxrss`` is that part's
peak alone), every client in turn within a round, the order rotating round by
round; each client's time is divided by the raw baseline's time *of the same
round* and the median of those ratios is printed (the machine is shared, so
ratios within a round are steadier than times):

* ``insert``: ``--docs`` documents through ``_bulk_docs`` in chunks of 500;
* ``scan``: every document through ``_all_docs?include_docs=true``, key-paged
  (``limit`` = page size + 1) by the client's own pager;
* ``normal``: the whole ``_changes?include_docs=true`` feed (raw: ``ijson``
  over the streamed body);
* ``continuous``: the same rows from ``feed=continuous`` (raw: a JSON parse
  per line), stopped after the last document.

A client that has no such call prints ``n/a``. Every part checks that it saw
exactly ``--docs`` documents.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 500
PARTS = ("insert", "scan", "normal", "continuous")
CLIENTS = ("raw", "settee", "cloudant", "ibmcloudant")


def make_docs(count: int) -> list[dict[str, Any]]:
    return [
        {"_id": f"doc{i:07d}", "n": i, "kind": "bench", "text": f"document number {i} " * 4}
        for i in range(count)
    ]


def split(url: str) -> tuple[str, str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.hostname}:{parts.port}"
    return base, parts.username or "", parts.password or ""


# -- raw requests (+ijson): the baseline -------------------------------------------------


def raw(part: str, url: str, db: str, count: int, page: int) -> int:
    import ijson
    import requests

    base, user, password = split(url)
    session = requests.Session()
    session.trust_env = False
    session.auth = (user, password)
    json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
    seen = 0
    if part == "insert":
        session.put(f"{base}/{db}").raise_for_status()
        docs = make_docs(count)
        for start in range(0, count, CHUNK):
            body = json.dumps({"docs": docs[start : start + CHUNK]}, separators=(",", ":"))
            answer = session.post(f"{base}/{db}/_bulk_docs", data=body, headers=json_headers)
            answer.raise_for_status()
            seen += sum(1 for r in answer.json() if r.get("ok"))
    elif part == "scan":
        params = {"include_docs": "true", "limit": str(page + 1)}
        while True:
            rows = session.get(f"{base}/{db}/_all_docs", params=params).json()["rows"]
            seen += sum(row["doc"]["n"] >= 0 for row in rows[:page])
            if len(rows) <= page:
                break
            params["startkey"] = json.dumps(rows[page]["id"])
    elif part == "normal":
        with session.get(
            f"{base}/{db}/_changes", params={"include_docs": "true"}, stream=True
        ) as response:
            response.raise_for_status()
            response.raw.decode_content = True
            for row in ijson.items(response.raw, "results.item"):
                seen += row["doc"]["n"] >= 0
    else:
        params = {"feed": "continuous", "include_docs": "true", "heartbeat": "5000"}
        with session.get(f"{base}/{db}/_changes", params=params, stream=True) as response:
            response.raise_for_status()
            for line in response.iter_lines(chunk_size=65536):
                if line:
                    seen += json.loads(line)["doc"]["n"] >= 0
                    if seen == count:
                        break
    return seen


# -- settee -------------------------------------------------------------------------------


def with_settee(part: str, url: str, db: str, count: int, page: int) -> int:
    import settee

    seen = 0
    with settee.connect(url) as client:
        if part == "insert":
            results = client.create_database(db).bulk_docs(make_docs(count), chunk_size=CHUNK)
            return sum(1 for r in results if r.get("ok"))
        database = client[db]
        if part == "scan":
            for row in database.all_docs(include_docs=True, page_size=page):
                seen += row["doc"]["n"] >= 0
        elif part == "normal":
            for change in database.changes(include_docs=True):
                seen += change["doc"]["n"] >= 0
        else:
            feed = database.changes(feed="continuous", include_docs=True, heartbeat=5000)
            for change in feed:
                seen += change["doc"]["n"] >= 0
                if seen == count:
                    feed.stop()
    return seen


# -- python-cloudant 2.15 ---------------------------------------------------------------


def with_cloudant(part: str, url: str, db: str, count: int, page: int) -> int:
    from cloudant.client import CouchDB
    from cloudant.result import Result

    base, user, password = split(url)
    client = CouchDB(user, password, url=base, connect=True)
    seen = 0
    try:
        if part == "insert":
            database = client.create_database(db)
            docs = make_docs(count)
            for start in range(0, count, CHUNK):
                answer = database.bulk_docs(docs[start : start + CHUNK])
                seen += sum(1 for r in answer if r.get("ok"))
            return seen
        database = client[db]
        if part == "scan":
            for row in Result(database.all_docs, include_docs=True, page_size=page):
                seen += row["doc"]["n"] >= 0
        elif part == "normal":
            for change in database.changes(include_docs=True):
                if change:  # python-cloudant yields None for a line it skips
                    seen += change["doc"]["n"] >= 0
        else:
            feed = database.changes(feed="continuous", include_docs=True, heartbeat=5000)
            for change in feed:
                if change and "doc" in change:
                    seen += change["doc"]["n"] >= 0
                if seen == count:
                    feed.stop()
    finally:
        client.disconnect()
    return seen


# -- ibmcloudant --------------------------------------------------------------------------


def with_ibmcloudant(part: str, url: str, db: str, count: int, page: int) -> int:
    from ibm_cloud_sdk_core.authenticators import BasicAuthenticator
    from ibmcloudant.cloudant_v1 import BulkDocs, CloudantV1

    if part == "continuous":
        raise NotImplementedError("no continuous feed (its ChangesFollower polls normal feeds)")
    base, user, password = split(url)
    service = CloudantV1(authenticator=BasicAuthenticator(user, password))
    service.set_service_url(base)
    seen = 0
    if part == "insert":
        service.put_database(db=db)
        docs = make_docs(count)
        for start in range(0, count, CHUNK):
            body = BulkDocs.from_dict({"docs": docs[start : start + CHUNK]})
            answer = service.post_bulk_docs(db=db, bulk_docs=body).get_result()
            seen += sum(1 for r in answer if r.get("ok"))
    elif part == "scan":
        start_key = None
        while True:
            rows = service.post_all_docs(
                db=db, include_docs=True, limit=page + 1, start_key=start_key
            ).get_result()["rows"]
            seen += sum(row["doc"]["n"] >= 0 for row in rows[:page])
            if len(rows) <= page:
                break
            start_key = rows[page]["id"]
    else:
        answer = service.post_changes(db=db, include_docs=True).get_result()
        seen += sum(row["doc"]["n"] >= 0 for row in answer["results"])
    return seen


RUNNERS: dict[str, Callable[[str, str, str, int, int], int]] = {
    "raw": raw,
    "settee": with_settee,
    "cloudant": with_cloudant,
    "ibmcloudant": with_ibmcloudant,
}


#: What each client imports, loaded before the clock starts (a one-off cost per process).
IMPORTS = {
    "raw": ["requests", "ijson"],
    "settee": ["settee"],
    "cloudant": ["cloudant.client", "cloudant.result"],
    "ibmcloudant": ["ibmcloudant.cloudant_v1", "ibm_cloud_sdk_core.authenticators"],
}


def child(args: argparse.Namespace) -> None:
    for module in IMPORTS[args.impl]:
        importlib.import_module(module)
    started = time.perf_counter()
    cpu_before = time.process_time()
    try:
        seen = RUNNERS[args.impl](args.part, args.url, args.db, args.docs, args.page_size)
    except NotImplementedError as exc:
        print(json.dumps({"na": str(exc)}))
        return
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    if seen != args.docs:
        sys.exit(f"{args.impl} {args.part}: saw {seen} documents, expected {args.docs}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "rss_mib": rss}))


# -- orchestration ------------------------------------------------------------------------


def run_child(impl: str, part: str, url: str, db: str, args: argparse.Namespace) -> dict[str, Any]:
    argv = ["--child", "--impl", impl, "--part", part, "--db", db]
    argv += ["--docs", str(args.docs), "--page-size", str(args.page_size), url]
    done = subprocess.run(
        [sys.executable, __file__, *argv],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=3600,
    )
    if done.returncode != 0:
        sys.exit(f"{impl} {part} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def admin_call(url: str, method: str, path: str) -> None:
    import requests

    base, user, password = split(url)
    with requests.Session() as session:
        session.trust_env = False
        session.request(method, f"{base}/{path}", auth=(user, password), timeout=60)


def start_couchdb() -> tuple[str, Any]:
    home = os.environ.get("SETTEE_COUCHDB_HOME")
    if not home:
        sys.exit("give a CouchDB URL (http://admin:pw@127.0.0.1:5984) or set SETTEE_COUCHDB_HOME")
    sys.path.insert(0, str(ROOT))
    from tests.servers.couchdb.launcher import launch

    workdir = Path(tempfile.mkdtemp(prefix="settee-bench-couchdb-"))
    started = launch(home, workdir, nodes=1, user="admin", password=uuid.uuid4().hex)
    return started.url.replace("://", f"://admin:{started.password}@", 1), started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="CouchDB URL with admin credentials")
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    parser.add_argument("--impl", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    clients = [c for c in args.clients.split(",") if c]
    if clients[0] != "raw":
        clients = ["raw", *[c for c in clients if c != "raw"]]
    launched = None
    url = args.url
    if url is None:
        url, launched = start_couchdb()
    base = split(url)[0]
    print(f"CouchDB at {base}; {args.docs} docs, page size {args.page_size}, {args.rounds} rounds")
    shared = f"bench-read-{uuid.uuid4().hex[:8]}"
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        run_child("raw", "insert", url, shared, args)  # what scan and the feeds read
        for rnd in range(args.rounds):
            order = clients[rnd % len(clients) :] + clients[: rnd % len(clients)]
            for part in PARTS:
                for impl in order:
                    db = f"bench-w-{uuid.uuid4().hex[:8]}" if part == "insert" else shared
                    results.setdefault((part, impl), []).append(
                        run_child(impl, part, url, db, args)
                    )
                    if part == "insert":
                        admin_call(url, "DELETE", db)
    finally:
        admin_call(url, "DELETE", shared)
        if launched is not None:
            launched.stop()
    header = f"{'part':<12}" + "".join(f"{c:>24}" for c in clients)
    for measure, title in (("seconds", "wall"), ("cpu", "CPU (user+sys)")):
        print(f"\n{title} seconds (median) / ratio to raw (median of per-round ratios) / RSS")
        print(header)
        for part in PARTS:
            cells = []
            baseline = results[(part, "raw")]
            for impl in clients:
                runs = results[(part, impl)]
                if "na" in runs[0]:
                    cells.append(f"{'n/a':>24}")
                    continue
                ratio = statistics.median(
                    r[measure] / b[measure] for r, b in zip(runs, baseline, strict=True)
                )
                secs = statistics.median(r[measure] for r in runs)
                rss = max(r["rss_mib"] for r in runs)
                cells.append(f"{secs:>9.2f}s {ratio:>5.2f}x {rss:>4.0f}M")
            print(f"{part:<12}" + "".join(cells))


if __name__ == "__main__":
    main()
