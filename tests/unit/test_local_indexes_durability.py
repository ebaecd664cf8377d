"""The local engine's json index rows and document counters across SIGKILL and processes.

Real Python subprocesses write one SQLite file (bounded by timeouts); nothing is
mocked. After a writer is killed mid-run, every index row must name a live
document whose fields give exactly that key, every matching document must have
its row, and the kept counters must equal a count of the rows.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from settee.backends import open_backend
from settee.backends._local.jsonindex import IndexDef, encode

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="uses SIGKILL and POSIX process semantics"
)

WRITER = textwrap.dedent(
    """
    import sys
    from settee.backends import open_backend
    b = open_backend("sqlite:///" + sys.argv[1])
    revs = {}
    for i in range(1_000_000):
        docid = f"d{i % 300:04d}"
        doc = {"_id": docid, "k": i % 7, "n": i}
        if docid in revs:
            doc["_rev"] = revs[docid]
        if i % 11 == 0 and docid in revs:
            doc["_deleted"] = True
        if i % 5 == 0:
            results = b.bulk_docs("db", [doc, {"_id": f"bulk{i:07d}", "k": 1, "n": i}])
            result = results[0]
        else:
            result = b.put_doc("db", doc)
        revs[docid] = result["rev"]
        if doc.get("_deleted"):
            del revs[docid]
        print(docid, flush=True)
    """
)


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "indexed.db")
    b = open_backend("sqlite:///" + path)
    b.create_db("db")
    b.create_index("db", {"index": {"fields": ["k", "n"]}, "ddoc": "kn", "name": "kn"})
    b.close()
    return path


def _check_index_agrees(path: str) -> int:
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    name = IndexDef("_design/kn", "kn", {}).key  # the index's name in storage
    listed = conn.execute("SELECT key, id FROM mango_rows WHERE name = ?", (name,)).fetchall()
    rows = {docid: bytes(key) for key, docid in listed}
    assert len(rows) == len(listed)  # one row per document: none left behind at an old key
    live, deleted = conn.execute(
        "SELECT SUM(deleted = 0), SUM(deleted = 1) FROM docs JOIN dbs USING (dbid) "
        "WHERE dbs.name = 'db'"
    ).fetchone()
    kept = conn.execute("SELECT doc_count, del_count FROM dbs WHERE name = 'db'").fetchone()
    conn.close()
    assert kept == (live, deleted or 0)
    b = open_backend("sqlite:///" + path)
    expected: dict[str, bytes] = {}
    wanted: list[str] = []
    for row in b.all_docs("db", {"include_docs": True})["rows"]:
        doc: dict[str, Any] = row["doc"]
        if not doc["_id"].startswith("_design/") and "k" in doc and "n" in doc:
            expected[doc["_id"]] = encode(doc["k"]) + encode(doc["n"])
            if doc["k"] == 3 and doc["n"] >= 0:
                wanted.append(doc["_id"])
    assert rows == expected
    # A query through the index answers what a scan of every document answers.
    found = b.find("db", {"selector": {"k": 3, "n": {"$gte": 0}}, "limit": 10**6})
    assert "warning" not in found
    assert sorted(d["_id"] for d in found["docs"]) == sorted(wanted)
    b.close()
    return len(rows)


def test_index_rows_and_counters_agree_after_sigkill(store: str) -> None:
    acknowledged = 0
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, store],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as writer:
        assert writer.stdout is not None and writer.stderr is not None
        deadline = time.monotonic() + 60
        while acknowledged < 600 and time.monotonic() < deadline:
            if not writer.stdout.readline():
                break
            acknowledged += 1
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
        assert acknowledged >= 600, writer.stderr.read()
    assert _check_index_agrees(store) > 0
    # The store goes on after the crash, and the index with it.
    b = open_backend("sqlite:///" + store)
    b.put_doc("db", {"_id": "after", "k": 3, "n": -1})
    b.close()
    _check_index_agrees(store)


def test_rows_are_replaced_by_key_and_a_displaced_row_is_still_found(store: str) -> None:
    b = open_backend("sqlite:///" + store)
    revs = {
        r["id"]: r["rev"]
        for r in b.bulk_docs("db", [{"_id": f"r{i}", "k": i % 3, "n": i} for i in range(30)])
    }
    for i in range(0, 30, 3):  # the indexed fields change, the other field, both, neither
        change = [{"k": 3, "n": -i}, {"k": i % 3, "n": i, "other": 1}, {"n": i}][i % 9 // 3]
        revs[f"r{i}"] = b.put_doc("db", {"_id": f"r{i}", "_rev": revs[f"r{i}"], **change})["rev"]
    b.delete_doc("db", "r1", revs.pop("r1"))
    b.put_doc("db", {"_id": "r1", "k": 3, "n": 1})  # recreated over its tombstone
    b.close()
    _check_index_agrees(store)
    # A row away from the key its document's winner gives (it never should be) is
    # still removed when that document changes.
    conn = sqlite3.connect(store)
    with conn:
        conn.execute("UPDATE mango_rows SET key = X'00' WHERE id = 'r2'")
    conn.close()
    b = open_backend("sqlite:///" + store)
    b.put_doc("db", {"_id": "r2", "_rev": revs["r2"], "k": 0, "n": 2})
    b.close()
    _check_index_agrees(store)


def test_a_file_made_with_an_index_by_id_loses_it(store: str) -> None:
    conn = sqlite3.connect(store)
    with conn:
        conn.execute("CREATE INDEX mango_rows_by_id ON mango_rows (dbid, name, id)")
    conn.close()
    b = open_backend("sqlite:///" + store)
    b.put_doc("db", {"_id": "x", "k": 1, "n": 1})
    b.close()
    conn = sqlite3.connect(store)
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert "mango_rows_by_id" not in names
    _check_index_agrees(store)


def test_counters_are_added_to_a_file_made_before_them(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    b = open_backend("sqlite:///" + path)
    b.create_db("db")
    b.bulk_docs("db", [{"_id": f"x{i}"} for i in range(5)])
    rev = b.get_doc("db", "x0")["_rev"]
    b.delete_doc("db", "x0", rev)
    b.close()
    conn = sqlite3.connect(path)  # as a file of an earlier settee: no counter columns
    conn.execute("ALTER TABLE dbs DROP COLUMN doc_count")
    conn.execute("ALTER TABLE dbs DROP COLUMN del_count")
    conn.commit()
    conn.close()
    b = open_backend("sqlite:///" + path)
    info = b.db_info("db")
    assert (info["doc_count"], info["doc_del_count"]) == (4, 1)
    b.put_doc("db", {"_id": "y"})
    assert b.db_info("db")["doc_count"] == 5
    b.close()
