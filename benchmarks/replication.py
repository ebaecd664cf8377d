"""Replication throughput: settee vs PouchDB's own replicator, on the same data.

Run by hand (not in CI)::

    npm install --prefix .cache/pouchdb-bench pouchdb@9     # once, outside git (.cache/)
    .venv/bin/python benchmarks/replication.py              # 10,000 documents
    .venv/bin/python benchmarks/replication.py --full       # 100,000 documents
    .venv/bin/python benchmarks/replication.py --docs 50000 --couchdb http://admin:pw@127.0.0.1:5984

It starts PouchDB Server (in-memory) itself. Each part runs in its own
process (a fresh interpreter or node), so its peak RSS is its own:

* settee push: an embedded SQLite file -> PouchDB Server (``settee.replicate``);
* PouchDB push: PouchDB (node, the ``pouchdb`` npm package, its LevelDB
  store on disk) holding the same documents -> PouchDB Server (``PouchDB.replicate``);
* settee pull: PouchDB Server -> a fresh SQLite file;
* PouchDB pull: the same PouchDB Server database -> a fresh LevelDB store;
* with ``--couchdb URL`` (default ``$COUCHDB_URL``, an admin URL): the same
  documents loaded into CouchDB, then CouchDB's server replicator
  (``POST /_replicate``) CouchDB -> CouchDB and CouchDB -> PouchDB Server, and
  settee CouchDB -> CouchDB, SQLite -> CouchDB, memory -> CouchDB (the child
  fills its memory store first, untimed) and CouchDB -> SQLite. CouchDB's
  memory is its VM's growth while its replicator runs (``_node/_local/_system``
  sampled every 0.25 s), settee's its process's peak RSS. ``--skip-pouchdb``
  leaves out the PouchDB parts.

``--pouchdb-modules DIR`` (default ``$SETTEE_POUCHDB_MODULES``, else
``.cache/pouchdb-bench/node_modules``) is where the ``pouchdb`` package is.
Both replicators use batches of 100 changes. Loading the sources is not timed.
Prints docs/s and peak RSS per part, and settee's time as a ratio of the other's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100

NODE_SCRIPT = r"""
const PouchDB = require('pouchdb');
const [mode, url, count, dir] = process.argv.slice(2);
(async () => {
  const local = new PouchDB(dir);  // LevelDB on disk, as settee's SQLite file is
  const remote = new PouchDB(url);
  if (mode === 'push') {
    const n = parseInt(count, 10);
    for (let start = 0; start < n; start += 1000) {
      const docs = [];
      for (let i = start; i < Math.min(n, start + 1000); i++) docs.push(makeDoc(i));
      await local.bulkDocs(docs);
    }
  }
  const t0 = process.hrtime.bigint();
  const info = mode === 'push'
    ? await PouchDB.replicate(local, remote, {batch_size: 100})
    : await PouchDB.replicate(remote, local, {batch_size: 100});
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({seconds, docs_written: info.docs_written,
                              max_rss_kb: process.resourceUsage().maxRSS}));
})().catch((e) => { console.error(e); process.exit(1); });
function makeDoc(i) {
  return {_id: 'doc-' + String(i).padStart(7, '0'), n: i, name: 'item ' + i,
          tags: ['a', 'b', String(i % 17)], nested: {x: i * 2, y: 'y'.repeat(40)}};
}
"""


def make_doc(i: int) -> dict[str, Any]:
    return {
        "_id": f"doc-{i:07d}",
        "n": i,
        "name": f"item {i}",
        "tags": ["a", "b", str(i % 17)],
        "nested": {"x": i * 2, "y": "y" * 40},
    }


# -- the parts (in child processes) ----------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    import settee

    if args.source_url == "memory:":
        # A memory store lives in its process: filled here, before the clock starts
        # (its documents then count in this part's peak RSS).
        source = settee.connect("memory:").create_database(args.source_db)
        for start in range(0, args.fill, 1000):
            source.bulk_docs([make_doc(i) for i in range(start, min(args.fill, start + 1000))])
    else:
        source = settee.connect(args.source_url)[args.source_db]
    target_client = settee.connect(args.target_url)
    target = target_client.create_database(args.target_db, throw_on_exists=False)
    start = time.perf_counter()
    result = settee.replicate(source, target, batch_size=BATCH)
    seconds = time.perf_counter() - start
    out = {
        "seconds": seconds,
        "docs_written": result.docs_written,
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(out))


def run_settee(
    source_url: str, source_db: str, target_url: str, target_db: str, fill: int = 0
) -> dict[str, Any]:
    argv = ["--child", source_url, source_db, target_url, target_db, "--fill", str(fill)]
    done = subprocess.run(
        [sys.executable, __file__, *argv],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    if done.returncode != 0:
        sys.exit(f"settee part failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_pouchdb(
    node_modules: Path, mode: str, url: str, count: int, workdir: Path
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as script:
        script.write(NODE_SCRIPT)
    store = workdir / f"pouchdb-{mode}"
    try:
        done = subprocess.run(
            ["node", script.name, mode, url, str(count), str(store)],
            check=False,
            capture_output=True,
            text=True,
            env={**os.environ, "NODE_PATH": str(node_modules)},
            cwd=tempfile.gettempdir(),
        )
    finally:
        os.unlink(script.name)
    if done.returncode != 0:
        sys.exit(f"PouchDB part failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_couchdb_replicator(url: str, source: str, target: str) -> dict[str, Any]:
    """CouchDB's ``POST /_replicate`` from its database ``source`` to ``target`` (a
    database name on the same server, or a URL with credentials). Its memory is the
    server's: sampled from ``_node/_local/_system`` (the Erlang VM's total) while it
    runs, reported as the peak's growth over the start (``vm_growth_kb``)."""
    import threading

    import settee
    from settee.replication.server import ServerReplicator

    client = settee.connect(url)
    where: settee.Database | str = target
    if "://" not in target:
        where = settee.Database(client, target)
    system = client.server_session.transport("_system")

    def vm_total() -> int:
        memory = system.json("GET", ("_node", "_local", "_system"))["memory"]
        return int(sum(v for k, v in memory.items() if not k.endswith("_used")))

    base = peak = vm_total()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.25):
            peak = max(peak, vm_total())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        answer = ServerReplicator(client).replicate(client[source], where, create_target=True)
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    written = sum(h.get("docs_written", 0) for h in answer.get("history", [])[:1])
    client.disconnect()
    return {
        "seconds": seconds,
        "docs_written": written,
        "max_rss_kb": 0,
        "vm_growth_kb": (peak - base) // 1024,
    }


# -- orchestration --------------------------------------------------------------------------


def pouchdb_modules(given: str | None) -> Path:
    where = Path(
        given
        or os.environ.get("SETTEE_POUCHDB_MODULES")
        or ROOT / ".cache/pouchdb-bench/node_modules"
    )
    if not (where / "pouchdb").is_dir():
        sys.exit(
            f"the pouchdb npm package is not in {where}: "
            "npm install --prefix .cache/pouchdb-bench pouchdb@9 (or give --pouchdb-modules)"
        )
    return where


def pouchdb_bin() -> Path:
    binary = os.environ.get("SETTEE_POUCHDB_BIN") or str(
        ROOT / ".cache/npm/node_modules/.bin/pouchdb-server"
    )
    if not Path(binary).exists():
        found = shutil.which("pouchdb-server")
        if found is None:
            sys.exit("pouchdb-server is not installed (make pouchdb, or set SETTEE_POUCHDB_BIN)")
        binary = found
    return Path(binary)


def start_pouchdb(binary: Path) -> tuple[str, subprocess.Popen[bytes]]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="settee-bench-")
    process = subprocess.Popen(
        [str(binary), "--in-memory", "--port", str(port), "--host", "127.0.0.1",
         "--no-stdout-logs"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=2).close()
            return url, process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.terminate()
                sys.exit("pouchdb-server did not start")
            time.sleep(0.2)


def show(label: str, count: int, run: dict[str, Any]) -> None:
    rate = count / run["seconds"] if run["seconds"] else float("inf")
    if run["max_rss_kb"]:
        rss = f"{run['max_rss_kb'] / 1024:7.1f} MiB"
    else:  # the server's replicator: its VM's memory growth while it ran
        rss = f"(server VM +{run.get('vm_growth_kb', 0) / 1024:.1f} MiB)"
    print(
        f"  {label:<34} {run['seconds']:8.2f} s  {rate:9.0f} docs/s  peak RSS {rss}"
        f"  written {run['docs_written']}"
        + ("" if run["docs_written"] == count else f"  (NOT all {count})")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--full", action="store_true", help="100,000 documents")
    parser.add_argument(
        "--couchdb",
        default=os.environ.get("COUCHDB_URL"),
        help="also CouchDB's server replicator at this admin URL (default $COUCHDB_URL)",
    )
    parser.add_argument("--pouchdb-modules", help="node_modules holding the pouchdb package")
    parser.add_argument(
        "--skip-pouchdb", action="store_true", help="only the CouchDB parts (with --couchdb)"
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--fill", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        ns = argparse.Namespace(
            source_url=args.child[0],
            source_db=args.child[1],
            target_url=args.child[2],
            target_db=args.child[3],
            fill=args.fill,
        )
        child(ns)
        return
    count = 100_000 if args.full else args.docs
    binary = pouchdb_bin()
    node_modules = pouchdb_modules(args.pouchdb_modules)
    sys.path.insert(0, str(ROOT / "src"))
    import settee

    workdir = Path(tempfile.mkdtemp(prefix="settee-rep-bench-"))
    url, server = start_pouchdb(binary)
    try:
        local_url = f"sqlite:///{workdir / 'source.db'}"
        local = settee.connect(local_url).create_database("source")
        for start in range(0, count, 1000):
            local.bulk_docs([make_doc(i) for i in range(start, min(count, start + 1000))])
        local.client.disconnect()
        print(f"replicating {count} documents (batches of {BATCH}), PouchDB Server at {url}")
        if not args.skip_pouchdb:
            pouchdb_parts(node_modules, url, local_url, workdir, count)
        if args.couchdb:
            couchdb_parts(args.couchdb, url, local_url, workdir, count)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def pouchdb_parts(node_modules: Path, url: str, local_url: str, workdir: Path, count: int) -> None:
    runs: dict[str, dict[str, Any]] = {}
    runs["settee push"] = run_settee(local_url, "source", url, "push-settee")
    show("settee   sqlite -> PouchDB Server", count, runs["settee push"])
    runs["pouchdb push"] = run_pouchdb(node_modules, "push", f"{url}/push-pouchdb", count, workdir)
    show("PouchDB  LevelDB -> PouchDB Server", count, runs["pouchdb push"])
    back_url = f"sqlite:///{workdir / 'back.db'}"
    runs["settee pull"] = run_settee(url, "push-settee", back_url, "back")
    show("settee   PouchDB Server -> sqlite", count, runs["settee pull"])
    # From the same server database settee pulled from.
    runs["pouchdb pull"] = run_pouchdb(node_modules, "pull", f"{url}/push-settee", count, workdir)
    show("PouchDB  PouchDB Server -> LevelDB", count, runs["pouchdb pull"])
    for way in ("push", "pull"):
        ratio = runs[f"settee {way}"]["seconds"] / runs[f"pouchdb {way}"]["seconds"]
        rss = runs[f"settee {way}"]["max_rss_kb"] / runs[f"pouchdb {way}"]["max_rss_kb"]
        print(f"  {way}: settee takes {ratio:.2f}x PouchDB's time, {rss:.2f}x its peak RSS")


def couchdb_parts(
    couchdb: str, pouchdb_url: str, local_url: str, workdir: Path, count: int
) -> None:
    """settee into and out of CouchDB, and CouchDB's own replicator, on the same data."""
    import settee

    couch = settee.connect(couchdb)
    name = f"bench-src-{int(time.time())}"
    made = [name]
    db = couch.create_database(name)
    for start in range(0, count, 1000):
        db.bulk_docs([make_doc(i) for i in range(start, min(count, start + 1000))])
    runs: dict[str, dict[str, Any]] = {}
    try:
        made.append(name + "-couch")
        runs["couch couch"] = run_couchdb_replicator(couchdb, name, name + "-couch")
        show("CouchDB  CouchDB -> CouchDB", count, runs["couch couch"])
        made.append(name + "-settee")
        runs["settee couch"] = run_settee(couchdb, name, couchdb, name + "-settee")
        show("settee   CouchDB -> CouchDB", count, runs["settee couch"])
        made.append(name + "-from-sqlite")
        runs["settee push"] = run_settee(local_url, "source", couchdb, name + "-from-sqlite")
        show("settee   sqlite -> CouchDB", count, runs["settee push"])
        made.append(name + "-from-memory")
        runs["settee memory"] = run_settee(
            "memory:", "source", couchdb, name + "-from-memory", fill=count
        )
        show("settee   memory -> CouchDB", count, runs["settee memory"])
        runs["settee pull"] = run_settee(
            couchdb, name, f"sqlite:///{workdir / 'from-couch.db'}", "pulled"
        )
        show("settee   CouchDB -> sqlite", count, runs["settee pull"])
        # CouchDB's replicator into another server (PouchDB Server, plain documents:
        # see tests/replication/test_interop.py for what it cannot write there).
        host = pouchdb_url.split("://", 1)[1]
        runs["couch pouch"] = run_couchdb_replicator(couchdb, name, f"http://{host}/from-couchdb")
        show("CouchDB  CouchDB -> PouchDB Server", count, runs["couch pouch"])
        ratio = runs["settee couch"]["seconds"] / runs["couch couch"]["seconds"]
        print(f"  CouchDB -> CouchDB: settee takes {ratio:.2f}x CouchDB's replicator's time")
    finally:
        for made_name in made:
            with contextlib.suppress(settee.SetteeError):
                couch.delete_database(made_name)
        couch.disconnect()


if __name__ == "__main__":
    main()
