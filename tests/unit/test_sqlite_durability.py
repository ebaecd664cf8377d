"""The SQLite backend across processes: crash safety and no lost updates.

Each test starts real Python subprocesses on one SQLite file (bounded by
timeouts); nothing is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from settee.backends import open_backend

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="uses SIGKILL and POSIX process semantics"
)

WRITER = textwrap.dedent(
    """
    import sys
    from settee.backends import open_backend
    b = open_backend("sqlite:///" + sys.argv[1])
    for i in range(1_000_000):
        if i % 10 == 0:
            ids = [f"bulk{i:07d}-{k}" for k in range(5)]
            results = b.bulk_docs("db", [{"_id": d, "i": i} for d in ids])
            assert all(r.get("ok") for r in results), results
            for d in ids:
                print(d, flush=True)
        else:
            result = b.put_doc("db", {"_id": f"doc{i:07d}", "i": i})
            print(result["id"], flush=True)
    """
)

UPDATER = textwrap.dedent(
    """
    import sys
    from settee.backends import open_backend
    from settee.errors import Conflict
    b = open_backend("sqlite:///" + sys.argv[1])
    rev = sys.argv[2]
    sys.stdin.readline()  # start together
    try:
        b.put_doc("db", {"_id": "shared", "_rev": rev, "who": sys.argv[3]})
        print("ok", flush=True)
    except Conflict:
        print("conflict", flush=True)
    """
)

INCREMENTER = textwrap.dedent(
    """
    import sys
    from settee.backends import open_backend
    from settee.errors import Conflict
    b = open_backend("sqlite:///" + sys.argv[1])
    sys.stdin.readline()
    conflicts = 0
    for _ in range(int(sys.argv[2])):
        while True:
            doc = b.get_doc("db", "counter")
            doc["n"] += 1
            try:
                b.put_doc("db", doc)
                break
            except Conflict:
                conflicts += 1
    print(conflicts, flush=True)
    """
)


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "shared.db")
    b = open_backend("sqlite:///" + path)
    b.create_db("db")
    b.close()
    return path


def test_acknowledged_writes_survive_sigkill(store: str) -> None:
    acknowledged: list[str] = []
    with _spawn(WRITER, store) as writer:
        assert writer.stdout is not None and writer.stderr is not None
        deadline = time.monotonic() + 60
        while len(acknowledged) < 400 and time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
        assert writer.returncode == -signal.SIGKILL
        assert len(acknowledged) >= 400, writer.stderr.read()

    conn = sqlite3.connect(store)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    b = open_backend("sqlite:///" + store)
    found = b.all_docs("db", keys=acknowledged)["rows"]
    missing = [row["key"] for row in found if "error" in row]
    assert missing == []
    info = b.db_info("db")
    assert info["doc_count"] >= len(acknowledged)
    # The store is still writable after the crash.
    assert b.put_doc("db", {"_id": "after-crash"})["ok"]
    b.close()


def test_two_processes_one_revision_exactly_one_wins(store: str) -> None:
    b = open_backend("sqlite:///" + store)
    rev = b.put_doc("db", {"_id": "shared"})["rev"]
    procs = [_spawn(UPDATER, store, rev, name) for name in ("left", "right")]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outcomes = sorted(proc.communicate(timeout=60)[0].strip() for proc in procs)
    assert outcomes == ["conflict", "ok"]
    doc = b.get_doc("db", "shared", {"conflicts": True})
    assert doc["_rev"].startswith("2-") and "_conflicts" not in doc
    b.close()


def test_concurrent_increments_lose_no_update(store: str) -> None:
    b = open_backend("sqlite:///" + store)
    b.put_doc("db", {"_id": "counter", "n": 0})
    workers, each = 4, 25
    procs = [_spawn(INCREMENTER, store, str(each)) for _ in range(workers)]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        int(out.strip())
    assert b.get_doc("db", "counter")["n"] == workers * each
    b.close()


def test_continuous_feed_sees_another_process(store: str) -> None:
    b = open_backend("sqlite:///" + store)
    stream = b.changes("db", {"feed": "continuous", "since": "now"})
    seen: list[str] = []

    def consume() -> None:
        for row in stream:
            seen.append(row["id"])

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    code = textwrap.dedent(
        """
        import sys
        from settee.backends import open_backend
        b = open_backend("sqlite:///" + sys.argv[1])
        b.bulk_docs("db", [{"_id": "from-a"}, {"_id": "from-b"}])
        """
    )
    proc = _spawn(code, store)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    stream.close()
    consumer.join(5)
    assert not consumer.is_alive()
    assert seen == ["from-a", "from-b"]
    b.close()


def test_reopen_keeps_everything(store: str) -> None:
    b = open_backend("sqlite:///" + store)
    b.put_security("db", {"members": {"names": ["x"]}})
    b.set_revs_limit("db", 7)
    rev = b.put_doc("db", {"_id": "a", "v": 1})["rev"]
    b.put_doc("db", {"_id": "_local/l", "v": 2})
    b.close()
    again = open_backend("sqlite:///" + store)
    assert again.get_doc("db", "a") == {"_id": "a", "_rev": rev, "v": 1}
    assert again.get_doc("db", "_local/l")["v"] == 2
    assert again.get_security("db") == {"members": {"names": ["x"]}}
    assert again.get_revs_limit("db") == 7
    assert json.loads(json.dumps(again.db_info("db")))["update_seq"] == 1
    again.close()


def test_compact_gives_space_back(store: str) -> None:
    b = open_backend("sqlite:///" + store)
    results = b.bulk_docs("db", [{"_id": f"d{i}", "blob": "x" * 2000} for i in range(500)])
    b.bulk_docs("db", [{"_id": r["id"], "_rev": r["rev"], "blob": "y"} for r in results])

    def pages() -> int:
        conn = sqlite3.connect(store)
        try:
            return int(conn.execute("PRAGMA page_count").fetchone()[0])
        finally:
            conn.close()

    before = pages()
    b.compact("db")
    assert pages() < before / 2  # the 500 old 2 kB bodies are gone from the file
    assert b.get_doc("db", "d7")["blob"] == "y"
    b.close()
