"""settee.aio against aiocouch and against sync settee on threads, same server, same run.

    pip install -e '.[bench]'        # httpx, aiohttp, aiocouch
    python benchmarks/aio.py [--url http://admin:pw@127.0.0.1:5984] [--rounds 3]

Without ``--url`` it starts PouchDB Server (in memory, ``SETTEE_POUCHDB_BIN``
or ``pouchdb-server`` on PATH) on a free port and stops it at the end.
Measured, each as a ratio against settee.aio in the same round (median over
rounds), wall seconds:

1. 1,000 concurrent document reads: settee.aio (``asyncio.gather`` of
   ``db.get_doc``), aiocouch (``db[id]``), sync settee on 100 threads.
2. 100 concurrent consumers of one continuous ``_changes`` feed, each until
   it has every row: settee.aio tasks, aiocouch tasks, sync settee threads.
3. One consumer's feed throughput (normal feed with ``include_docs``, and a
   continuous one): settee.aio vs the sync ``Feed``.
4. The library choice: 1,000 concurrent raw GETs with httpx vs aiohttp
   (100 pooled connections each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiocouch
import aiohttp
import httpx

import settee
import settee.aio

READS = 1000
CONSUMERS = 100
FEED_DOCS = 300
THROUGHPUT_DOCS = 5000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_pouchdb() -> tuple[subprocess.Popen[bytes], str]:
    binary = os.environ.get("SETTEE_POUCHDB_BIN") or shutil.which("pouchdb-server")
    if not binary:
        sys.exit("no PouchDB Server: set SETTEE_POUCHDB_BIN or pass --url")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="settee-aio-bench-")
    process = subprocess.Popen(
        [binary, "--in-memory", "--port", str(port)],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("PouchDB Server did not start")


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


def timed_sync(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def split_auth(url: str) -> tuple[str, str | None, str | None]:
    clean, creds = settee.http.split_credentials(url)
    if creds is None:
        return clean, None, None
    return clean, creds[0], creds[1]


async def seed(url: str, name: str, count: int) -> None:
    async with settee.aio.connect(url) as client:
        db = await client.create_database(name)
        for start in range(0, count, 1000):
            docs = [
                {"_id": f"doc-{i:06d}", "n": i, "pad": "x" * 300}
                for i in range(start, min(count, start + 1000))
            ]
            await db.bulk_docs(docs)


# -- 1. concurrent reads -----------------------------------------------------------
async def reads_aio(url: str, db_name: str) -> float:
    async with settee.aio.connect(url) as client:
        db = client.database(db_name)
        await db.get_doc("doc-000000")  # connect once outside the timing
        ids = [f"doc-{i % FEED_DOCS:06d}" for i in range(READS)]
        return await timed(lambda: asyncio.gather(*(db.get_doc(i) for i in ids)))


async def reads_aiocouch(url: str, db_name: str) -> float:
    server, user, password = split_auth(url)
    async with aiocouch.CouchDB(server, user=user, password=password) as couch:
        db = aiocouch.database.Database(couch, db_name)  # no HEAD probe: PouchDB answers text
        await db["doc-000000"]
        ids = [f"doc-{i % FEED_DOCS:06d}" for i in range(READS)]

        async def read(docid: str) -> Any:
            return await db[docid]

        return await timed(lambda: asyncio.gather(*(read(i) for i in ids)))


def reads_threads(url: str, db_name: str) -> float:
    client = settee.connect(url, pool_maxsize=100)
    backend = client.backend
    backend.get_doc(db_name, "doc-000000")
    ids = [f"doc-{i % FEED_DOCS:06d}" for i in range(READS)]
    with ThreadPoolExecutor(max_workers=100) as pool:
        elapsed = timed_sync(lambda: list(pool.map(lambda i: backend.get_doc(db_name, i), ids)))
    client.disconnect()
    return elapsed


# -- 2. many consumers of one feed --------------------------------------------------
async def consumers_aio(url: str, db_name: str) -> float:
    async with settee.aio.connect(url, feed_timeout=(10, 300)) as client:
        db = client.database(db_name)

        async def consume() -> None:
            feed = db.changes(feed="continuous", since=0, heartbeat=5000)
            seen = 0
            async for _ in feed:
                seen += 1
                if seen == FEED_DOCS:
                    feed.stop()

        return await timed(lambda: asyncio.gather(*(consume() for _ in range(CONSUMERS))))


async def consumers_aiocouch(url: str, db_name: str) -> float:
    server, user, password = split_auth(url)
    connector = aiohttp.TCPConnector(limit=CONSUMERS + 10)
    async with aiocouch.CouchDB(server, user=user, password=password, connector=connector) as couch:
        db = aiocouch.database.Database(couch, db_name)

        async def consume() -> None:
            seen = 0
            async for _ in db.changes(feed="continuous", since=0, heartbeat=5000):
                seen += 1
                if seen == FEED_DOCS:
                    break

        return await timed(lambda: asyncio.gather(*(consume() for _ in range(CONSUMERS))))


def consumers_threads(url: str, db_name: str) -> float:
    # A loaded server answers 100 feeds slowly: a long read timeout, as for settee.aio.
    client = settee.connect(url, pool_maxsize=CONSUMERS + 10, feed_timeout=(10, 300))
    db = client[db_name]

    def consume() -> None:
        feed = db.changes(feed="continuous", since=0, heartbeat=5000)
        for seen, _ in enumerate(feed, 1):
            if seen == FEED_DOCS:
                feed.stop()

    with ThreadPoolExecutor(max_workers=CONSUMERS) as pool:
        elapsed = timed_sync(
            lambda: [f.result() for f in [pool.submit(consume) for _ in range(CONSUMERS)]]
        )
    client.disconnect()
    return elapsed


# -- 3. one consumer's throughput --------------------------------------------------
async def throughput_aio(url: str, db_name: str, feed_kind: str) -> float:
    async with settee.aio.connect(url) as client:
        db = client.database(db_name)

        async def read() -> None:
            feed = db.changes(feed=feed_kind, since=0, include_docs=True, heartbeat=5000)
            seen = 0
            async for _ in feed:
                seen += 1
                if seen == THROUGHPUT_DOCS:
                    feed.stop()

        return await timed(read)


def throughput_sync(url: str, db_name: str, feed_kind: str) -> float:
    client = settee.connect(url)
    db = client[db_name]

    def read() -> None:
        feed = db.changes(feed=feed_kind, since=0, include_docs=True, heartbeat=5000)
        for seen, _ in enumerate(feed, 1):
            if seen == THROUGHPUT_DOCS:
                feed.stop()

    elapsed = timed_sync(read)
    client.disconnect()
    return elapsed


# -- 4. httpx vs aiohttp, raw -------------------------------------------------------
async def raw_httpx(url: str, db_name: str) -> float:
    server, user, password = split_auth(url)
    auth = (user, password) if user and password else None
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(auth=auth, limits=limits) as client:
        await client.get(f"{server}/{db_name}/doc-000000")
        urls = [f"{server}/{db_name}/doc-{i % FEED_DOCS:06d}" for i in range(READS)]

        async def get(u: str) -> Any:
            return (await client.get(u)).json()

        return await timed(lambda: asyncio.gather(*(get(u) for u in urls)))


async def raw_aiohttp(url: str, db_name: str) -> float:
    server, user, password = split_auth(url)
    auth = aiohttp.BasicAuth(user, password) if user and password else None
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(auth=auth, connector=connector) as session:
        async with session.get(f"{server}/{db_name}/doc-000000") as first:
            await first.read()
        urls = [f"{server}/{db_name}/doc-{i % FEED_DOCS:06d}" for i in range(READS)]

        async def get(u: str) -> Any:
            async with session.get(u) as response:
                return json.loads(await response.read())  # PouchDB answers text/plain

        return await timed(lambda: asyncio.gather(*(get(u) for u in urls)))


async def server_info(url: str) -> dict[str, Any]:
    async with settee.aio.connect(url) as client:
        return await client.metadata()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a CouchDB-compatible server (default: start PouchDB Server)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    process = None
    url = args.url
    if url is None:
        process, url = start_pouchdb()
    try:
        run(url, args.rounds)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)


def run(url: str, rounds: int) -> None:
    small, big = f"bench-feed-{os.getpid()}", f"bench-big-{os.getpid()}"
    asyncio.run(seed(url, small, FEED_DOCS))
    asyncio.run(seed(url, big, THROUGHPUT_DOCS))
    results: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        results.setdefault(name, []).append(seconds)
        print(f"  {name}: {seconds:.3f} s", flush=True)

    # aiocouch insists on a JSON Content-Type that PouchDB Server 4.2 does not send
    # (it answers documents as text/plain): it is measured against CouchDB only.
    with_aiocouch = "couchdb" in asyncio.run(server_info(url))
    for _ in range(rounds):
        record("reads: settee.aio", asyncio.run(reads_aio(url, small)))
        if with_aiocouch:
            record("reads: aiocouch", asyncio.run(reads_aiocouch(url, small)))
        record("reads: settee sync, 100 threads", reads_threads(url, small))
        record("consumers: settee.aio", asyncio.run(consumers_aio(url, small)))
        if with_aiocouch:
            record("consumers: aiocouch", asyncio.run(consumers_aiocouch(url, small)))
        record("consumers: settee sync, 100 threads", consumers_threads(url, small))
        for kind in ("normal", "continuous"):
            record(f"one {kind} feed: settee.aio", asyncio.run(throughput_aio(url, big, kind)))
            record(f"one {kind} feed: settee sync Feed", throughput_sync(url, big, kind))
        record("raw GETs: httpx", asyncio.run(raw_httpx(url, small)))
        record("raw GETs: aiohttp", asyncio.run(raw_aiohttp(url, small)))
    baselines = {
        "reads": "reads: settee.aio",
        "consumers": "consumers: settee.aio",
        "one normal feed": "one normal feed: settee.aio",
        "one continuous feed": "one continuous feed: settee.aio",
        "raw GETs": "raw GETs: httpx",
    }
    print(f"server {settee.http.redact_url(url)}, {rounds} rounds; wall seconds (median)")
    print(f"{'measurement':45} {'median s':>9} {'x baseline':>10}")
    for name, times in results.items():
        base = baselines[name.split(":")[0]]
        ratios = [t / b for t, b in zip(times, results[base], strict=True)]
        print(f"{name:45} {statistics.median(times):9.3f} {statistics.median(ratios):10.2f}")
    rows = READS / statistics.median(results["reads: settee.aio"])
    print(f"settee.aio: {rows:.0f} reads/s; "
          f"{THROUGHPUT_DOCS / statistics.median(results['one normal feed: settee.aio']):.0f} "
          "normal-feed rows/s")  # fmt: skip


if __name__ == "__main__":
    main()
