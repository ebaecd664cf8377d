"""Views as indexes on the local engine: the collation as bytes, incremental
updates, stored SQLite indexes, update=false|lazy, and QuickJS's limits.

No server: the engine's own backends, and subprocesses where a whole process
matters (settee without the settee[js] extra).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from settee.backends import open_backend
from settee.backends._local import js, views
from settee.backends._local.collation import sort_key
from settee.backends._local.views import encode_key
from settee.backends.base import Backend
from settee.errors import BadRequest, Forbidden, NotFound, ServerError
from tests.unit.test_collation import COLLATION_TABLE, json_values

DB = "db"
ROOT = Path(__file__).resolve().parents[2]

needs_js = pytest.mark.skipif(not js.available(), reason="the settee[js] extra (quickjs) is absent")


@settings(max_examples=150, deadline=None)
@given(json_values, json_values)
def test_encoded_keys_order_as_the_collation(a: object, b: object) -> None:
    ka, kb = sort_key(a), sort_key(b)
    ea, eb = encode_key(a), encode_key(b)
    assert (ka < kb) == (ea < eb)
    assert (ka == kb) == (ea == eb)


def test_encoded_keys_of_the_collation_table_ascend() -> None:
    encoded = [encode_key(value) for value in COLLATION_TABLE]
    assert all(a < b for a, b in itertools.pairwise(encoded))
    assert encode_key(1) == encode_key(1.0) and encode_key(-0.0) == encode_key(0)
    with pytest.raises(TypeError):
        encode_key(object())


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    url = "memory:" if request.param == "memory" else "sqlite:///" + str(tmp_path / "store.db")
    b = open_backend(url)
    b.create_db(DB)
    yield b
    b.close()


def test_python_view_maps_only_the_documents_written_since(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": f"d{i}", "n": i} for i in range(20)])
    calls: list[str] = []

    def by_n(doc: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        calls.append(doc["_id"])
        yield doc["n"] % 3, doc["n"]

    assert backend.python_view(DB, by_n, reduce="_count")["rows"][0]["value"] == 20
    assert len(calls) == 20
    rev = backend.get_doc(DB, "d4")["_rev"]
    backend.put_doc(DB, {"_id": "d4", "_rev": rev, "n": 5})
    backend.delete_doc(DB, "d7", backend.get_doc(DB, "d7")["_rev"])
    body = backend.python_view(DB, by_n, {"group": True}, reduce="_sum")
    assert calls[20:] == ["d4"]  # the deletion maps nothing, the update one document
    expected: dict[int, int] = {}
    for i in [*range(4), 5, 5, 6, *range(8, 20)]:
        expected[i % 3] = expected.get(i % 3, 0) + i
    assert body["rows"] == [{"key": k, "value": v} for k, v in sorted(expected.items())]
    stale = backend.python_view(DB, by_n, {"update": False, "key": 0})
    assert len(calls) == 21 and stale["total_rows"] == 19


def test_approx_count_distinct_counts_distinct_keys(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": f"d{i}", "k": i % 4} for i in range(12)])
    body = backend.python_view(DB, lambda d: [(d["k"], 1)], reduce="_approx_count_distinct")
    assert body["rows"] == [{"key": None, "value": 4}]


DDOC = {
    "_id": "_design/d",
    "views": {
        "by_n": {"map": "function (doc) { if (doc.n !== undefined) emit(doc.n, doc._id); }"},
        "sum": {"map": "function (doc) { emit(doc.g || null, doc.n || 0); }", "reduce": "_sum"},
        "js": {
            "map": "function (doc) { if (doc.n !== undefined) emit([doc.g, doc.n], 1); }",
            "reduce": "function (k, v, re) { return sum(v) * 10; }",
        },
    },
}


@needs_js
def test_design_views_update_and_rebuild(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": f"d{i}", "n": i, "g": i % 2} for i in range(10)])
    backend.put_doc(DB, dict(DDOC))
    body = backend.view(DB, "d", "by_n", {"startkey": 3, "limit": 2})
    assert [r["id"] for r in body["rows"]] == ["d3", "d4"] and body["offset"] == 3
    assert body["total_rows"] == 10
    grouped = backend.view(DB, "d", "js", {"group_level": 1})["rows"]
    assert grouped == [{"key": [0], "value": 50}, {"key": [1], "value": 50}]
    backend.put_doc(DB, {"_id": "late", "n": 100, "g": 1})
    # The index was up to date, so the write brought it along in its own transaction:
    # even stale=ok and update=lazy see it (test_writes_leave_an_index_that_is_behind_alone).
    assert backend.view(DB, "d", "by_n", {"stale": "ok"})["total_rows"] == 11
    assert backend.view(DB, "d", "by_n", {"update": "lazy"})["total_rows"] == 11
    ddoc = backend.get_doc(DB, "_design/d")
    ddoc["views"]["by_n"]["map"] = "function (doc) { if (doc.n > 5) emit(doc.n, null); }"
    backend.put_doc(DB, ddoc)
    assert [r["key"] for r in backend.view(DB, "d", "by_n")["rows"]] == [6, 7, 8, 9, 100]
    with pytest.raises(NotFound):
        backend.view(DB, "d", "nope")
    with pytest.raises(BadRequest):
        backend.view(DB, "d", "by_n", {"update": "sometimes"})
    assert backend.view_cleanup(DB) == {"ok": True}


SPIN = "function (doc) { while (doc.spin) {} if (doc.n !== undefined) emit(doc.n, null); }"


@needs_js
def test_writes_leave_an_index_that_is_behind_alone(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": f"d{i}", "n": i} for i in range(5)])
    backend.put_doc(DB, {"_id": "_design/s", "views": {"v": {"map": SPIN}}})
    assert backend.view(DB, "s", "v")["total_rows"] == 5
    backend.put_doc(DB, {"_id": "d5", "n": 5})
    assert backend.view(DB, "s", "v", {"stale": "ok"})["total_rows"] == 6  # kept up to date
    js.configure(time_limit=0.3)
    try:
        # The map function spins on this document: the write still succeeds, and the
        # index stays where it was (its next query would meet the same timeout).
        rev = backend.put_doc(DB, {"_id": "x", "n": 9, "spin": True})["rev"]
    finally:
        js.configure(time_limit=5.0)
    assert backend.get_doc(DB, "x")["_rev"] == rev
    # Behind now, so the next write does not touch it either.
    backend.put_doc(DB, {"_id": "x", "_rev": rev, "n": 9})
    assert backend.view(DB, "s", "v", {"stale": "ok"})["total_rows"] == 6
    lazy = backend.view(DB, "s", "v", {"update": "lazy"})
    assert lazy["total_rows"] == 6  # answered first, updated after
    after = backend.view(DB, "s", "v", {"stale": "ok"})
    assert after["total_rows"] == 7 and after["rows"][-1] == {"id": "x", "key": 9, "value": None}


@needs_js
def test_a_throwing_map_function_emits_nothing_for_that_document(backend: Backend) -> None:
    backend.bulk_docs(DB, [{"_id": "a", "x": {"y": 1}}, {"_id": "b"}])
    backend.put_doc(
        DB,
        {"_id": "_design/t", "views": {"v": {"map": "function (doc) { emit(doc.x.y, 1); }"}}},
    )
    assert [r["id"] for r in backend.view(DB, "t", "v")["rows"]] == ["a"]


@needs_js
def test_a_broken_map_function_is_a_compilation_error(backend: Backend) -> None:
    backend.put_doc(DB, {"_id": "_design/t", "views": {"v": {"map": "function (doc) {"}}})
    with pytest.raises(BadRequest) as raised:
        backend.view(DB, "t", "v")
    assert raised.value.error == "compilation_error"


@needs_js
def test_runaway_javascript_is_stopped(backend: Backend) -> None:
    js.configure(time_limit=0.5)
    try:
        backend.put_doc(DB, {"_id": "x"})
        loop = {"map": "function (doc) { while (true) {} }"}
        backend.put_doc(DB, {"_id": "_design/t", "views": {"v": loop}})
        with pytest.raises(ServerError) as raised:
            backend.view(DB, "t", "v")
        assert raised.value.error == "os_process_timeout"
        hog = {"map": "function (doc) { var a = []; while (true) a.push(new Array(1e5)); }"}
        js.configure(time_limit=20, memory_limit=32 * 1024 * 1024)
        backend.put_doc(DB, {"_id": "_design/h", "views": {"v": hog}})
        # Out of memory is an exception inside the map function: that document emits nothing.
        assert backend.view(DB, "h", "v")["rows"] == []
    finally:
        js.configure(time_limit=5.0, memory_limit=256 * 1024 * 1024)
    # A fresh runtime answers again.
    emits = {"map": "function (doc) { emit(1, 2); }"}
    backend.put_doc(DB, {"_id": "_design/m", "views": {"v": emits}})
    assert backend.view(DB, "m", "v")["rows"] == [{"id": "x", "key": 1, "value": 2}]
    with pytest.raises(ValueError):
        js.configure(time_limit=0)


@needs_js
def test_validate_doc_update_sees_the_security_object(backend: Backend) -> None:
    backend.put_security(DB, {"members": {"names": ["ann"]}})
    vdu = """function (newDoc, oldDoc, userCtx, secObj) {
      if (newDoc.owner && secObj.members.names.indexOf(newDoc.owner) < 0)
        throw({forbidden: newDoc.owner + " is not a member of " + userCtx.db});
    }"""
    backend.put_doc(DB, {"_id": "_design/v", "validate_doc_update": vdu})
    backend.put_doc(DB, {"_id": "a", "owner": "ann"})
    with pytest.raises(Forbidden, match="bob is not a member of db"):
        backend.put_doc(DB, {"_id": "b", "owner": "bob"})
    backend.put_doc(DB, {"_id": "_local/x", "owner": "bob"})  # _local docs are not validated


def test_sqlite_keeps_the_index_across_reopening(tmp_path: Path) -> None:
    if not js.available():
        pytest.skip("the settee[js] extra (quickjs) is absent")
    path = tmp_path / "views.db"
    b = open_backend(f"sqlite:///{path}")
    b.create_db(DB)
    b.bulk_docs(DB, [{"_id": f"d{i}", "n": i} for i in range(50)])
    b.put_doc(DB, dict(DDOC))
    assert b.view(DB, "d", "by_n")["total_rows"] == 50
    b.close()
    conn = sqlite3.connect(path)
    (seq,) = conn.execute("SELECT seq FROM settee_view_groups").fetchone()
    (rows,) = conn.execute("SELECT COUNT(*) FROM settee_view_rows WHERE view = 0").fetchone()
    conn.close()
    assert (seq, rows) == (51, 50)
    b = open_backend(f"sqlite:///{path}?mode=ro")
    assert b.view(DB, "d", "by_n", {"limit": 1})["rows"][0]["id"] == "d0"
    b.close()


SCRIPT_WITHOUT_JS = """
import sys
sys.modules["quickjs"] = None  # as if the settee[js] extra were not installed
from settee.backends import open_backend
from settee.errors import NotSupported
b = open_backend("memory:")
assert "javascript_views" not in b.capabilities
b.create_db("db")
b.put_doc("db", {"_id": "_design/d", "views": {"v": {"map": "function (doc) {}"}},
                 "validate_doc_update": "function () {}"})
for attempt in (lambda: b.view("db", "d", "v"), lambda: b.put_doc("db", {"_id": "x"})):
    try:
        attempt()
    except NotSupported as exc:
        print(str(exc))
    else:
        raise SystemExit("no NotSupported")
"""


def test_without_the_js_extra_views_and_validation_are_not_supported() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT_WITHOUT_JS],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all("settee[js]" in line for line in lines), lines
    assert json.dumps(lines)  # both sentences name the extra


VIEW_WRITER = """
import sys
from settee.backends import open_backend
b = open_backend("sqlite:///" + sys.argv[1])
for i in range(1_000_000):
    b.bulk_docs("db", [{"_id": f"w{i:07d}-{k}", "n": i} for k in range(3)])
    b.view("db", "d", "by_n", {"limit": 1})
    print(i, flush=True)
"""


@needs_js
def test_a_view_index_never_disagrees_with_its_documents_after_sigkill(tmp_path: Path) -> None:
    path = str(tmp_path / "crash.db")
    b = open_backend("sqlite:///" + path)
    b.create_db(DB)
    b.put_doc(DB, dict(DDOC))
    b.close()
    with subprocess.Popen(
        [sys.executable, "-c", VIEW_WRITER, path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    ) as writer:
        assert writer.stdout is not None and writer.stderr is not None
        done = 0
        deadline = time.monotonic() + 60
        while done < 150 and time.monotonic() < deadline:
            if not writer.stdout.readline():
                break
            done += 1
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
        assert done >= 150, writer.stderr.read()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (indexed_seq,) = conn.execute("SELECT seq FROM settee_view_groups").fetchone()
    # Documents are only ever added here, so the index at seq S holds exactly
    # the documents written at or before S.
    at_seq = sorted(
        row[0]
        for row in conn.execute(
            "SELECT id FROM docs WHERE seq <= ? AND id NOT LIKE '_design/%'", (indexed_seq,)
        )
    )
    conn.close()
    b = open_backend("sqlite:///" + path)
    stale = b.view(DB, "d", "by_n", {"stale": "ok"})
    assert sorted(r["id"] for r in stale["rows"]) == at_seq and stale["total_rows"] == len(at_seq)
    fresh = b.view(DB, "d", "by_n")
    live = [r["id"] for r in b.all_docs(DB)["rows"] if not r["id"].startswith("_design/")]
    assert sorted(r["id"] for r in fresh["rows"]) == sorted(live)
    assert b.view(DB, "d", "sum")["rows"][0]["value"] == sum(int(docid[1:8]) for docid in live)
    b.close()


@needs_js
def test_offsets_stay_exact_as_blocks_fill_split_and_empty(tmp_path: Path) -> None:
    """SQLite keeps per-block row counts for ``offset``: check them against a scan
    while writes fill blocks past a split and deletes empty them."""
    b = open_backend(f"sqlite:///{tmp_path / 'blocks.db'}")
    b.create_db(DB)
    b.put_doc(DB, dict(DDOC))
    b.bulk_docs(DB, [{"_id": f"a{i:05d}", "n": i % 700} for i in range(2500)])
    assert b.view(DB, "d", "by_n", {"limit": 1})["total_rows"] == 2500  # first build
    # Many rows into one block (keys 10..20) until it splits, then deletions.
    b.bulk_docs(DB, [{"_id": f"b{i:05d}", "n": 10 + i % 10} for i in range(2500)])
    gone = b.all_docs(DB, {"startkey": "a00000", "endkey": "a01000"})["rows"]
    b.bulk_docs(DB, [{"_id": r["id"], "_rev": r["value"]["rev"], "_deleted": True} for r in gone])
    everything = b.view(DB, "d", "by_n", {})["rows"]
    left = 5000 - len(gone)
    assert b.view(DB, "d", "by_n", {"limit": 1})["total_rows"] == len(everything) == left
    keys = [r["key"] for r in everything]
    for start in (0, 5, 10, 15, 19, 20, 350, 699, 700):
        body = b.view(DB, "d", "by_n", {"startkey": start, "limit": 1})
        assert body["offset"] == sum(1 for k in keys if k < start), start
        desc = b.view(DB, "d", "by_n", {"startkey": start, "descending": True, "limit": 1})
        assert desc["offset"] == sum(1 for k in keys if k > start), start
    conn = sqlite3.connect(tmp_path / "blocks.db")
    blocks = conn.execute(
        "SELECT count FROM settee_view_ranks WHERE view = 0 AND level = 1"
    ).fetchall()
    conn.close()
    assert len(blocks) > 3 and sum(c for (c,) in blocks) == left
    b.close()


def _tree_agrees_with_rows(conn: sqlite3.Connection) -> None:
    """Every level of settee_view_ranks counts every row once, each block exactly the
    rows from its start to the next block's, and every block starts where one below does."""
    rows = [
        (bytes(k) + str(d).encode(), int(v))
        for k, d, v in conn.execute("SELECT key, docid, view FROM settee_view_rows")
    ]
    tree = conn.execute("SELECT view, level, start, count, before FROM settee_view_ranks")
    blocks = [(v, lv, bytes(s), c, b) for v, lv, s, c, b in tree]
    for view, level in {(v, lv) for v, lv, _, _, _ in blocks}:
        starts = sorted((s, c, b) for v, lv, s, c, b in blocks if (v, lv) == (view, level))
        above = sorted(s for v, lv, s, _, _ in blocks if (v, lv) == (view, level + 1))
        bounds = [s for s, _, _ in starts[1:]] + [None]
        for (start, count, before), end in zip(starts, bounds, strict=True):
            inside = [r for r, v in rows if v == view and r >= start and (end is None or r < end)]
            assert len(inside) == count, (view, level, start)
            # ``before``: rows before the block, from the start of its block above.
            parent = max((s for s in above if s <= start), default=b"")
            assert before == sum(1 for r, v in rows if v == view and parent <= r < start)
        if level > 1:
            below = {s for v, lv, s, _, _ in blocks if (v, lv) == (view, level - 1)}
            assert {s for s, _, _ in starts} <= below


@needs_js
def test_offsets_stay_exact_as_every_level_of_the_count_tree_splits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With blocks of 3 (a tuning constant, shrunk so a few hundred rows split both
    levels many times): offsets after builds, batches into a narrow range, documents
    emitting a key twice, deletions, with key-only and docid cuts, both directions."""
    monkeypatch.setattr(views, "_FAN", 3)
    twice = (
        "function (doc) { if (doc.n !== undefined) { emit(doc.n, 1); if (doc.t) emit(doc.n, 2); } }"
    )
    path = tmp_path / "tree.db"
    b = open_backend(f"sqlite:///{path}")
    b.create_db(DB)
    b.put_doc(DB, {"_id": "_design/t", "views": {"v": {"map": twice}}})
    b.bulk_docs(DB, [{"_id": f"a{i:04d}", "n": i % 37} for i in range(300)])
    assert b.view(DB, "t", "v", {"limit": 1})["total_rows"] == 300  # first build
    b.bulk_docs(DB, [{"_id": f"b{i:04d}", "n": 5 + i % 3, "t": i % 2} for i in range(200)])
    for i in range(40):  # one at a time, as follow_writes sees them
        b.put_doc(DB, {"_id": f"c{i:04d}", "n": 30 + i % 2, "t": 1})
    gone = b.all_docs(DB, {"startkey": "a0100", "endkey": "a0180"})["rows"]
    b.bulk_docs(DB, [{"_id": r["id"], "_rev": r["value"]["rev"], "_deleted": True} for r in gone])
    everything = b.view(DB, "t", "v", {})["rows"]
    pairs = [(r["key"], r["id"]) for r in everything]
    assert b.view(DB, "t", "v", {"limit": 0})["total_rows"] == len(pairs)
    for start in (-1, 0, 5, 6, 7, 20, 30, 31, 36, 37):
        body = b.view(DB, "t", "v", {"startkey": start, "limit": 1})
        assert body["offset"] == sum(1 for k, _ in pairs if k < start), start
        desc = b.view(DB, "t", "v", {"startkey": start, "descending": True, "limit": 1})
        assert desc["offset"] == sum(1 for k, _ in pairs if k > start), start
        for docid in ("a0000", "b0007", "c0003", "z"):
            q = {"startkey": start, "startkey_docid": docid, "limit": 1}
            assert b.view(DB, "t", "v", q)["offset"] == sum(
                1 for p in pairs if p < (start, docid)
            ), (start, docid)
            dq = {**q, "descending": True}
            assert b.view(DB, "t", "v", dq)["offset"] == sum(
                1 for p in pairs if p > (start, docid)
            ), (start, docid)
    b.close()
    conn = sqlite3.connect(path)
    levels = conn.execute("SELECT level, COUNT(*) FROM settee_view_ranks GROUP BY level").fetchall()
    assert len(levels) == 2 and all(blocks > 3 for _, blocks in levels)
    _tree_agrees_with_rows(conn)
    conn.close()


#: The map of the two-opener tests: ``TWO_OPENERS_MAP % factor`` keys each document by n * factor.
TWO_OPENERS_MAP = "function (doc) { emit(doc.n * %d, null); }"


def _two_openers(tmp_path: Path) -> tuple[Backend, Backend, str]:
    """Two backends on one SQLite file (each its own engine), five documents ``a0..a4``
    (``n`` 0..4) and ``_design/c`` whose view ``v`` emits ``n * 1``: the openers and the
    design document's rev."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    one, two = open_backend(url), open_backend(url)
    one.create_db(DB)
    one.bulk_docs(DB, [{"_id": f"a{i}", "n": i} for i in range(5)])
    ddoc = {"_id": "_design/c", "views": {"v": {"map": TWO_OPENERS_MAP % 1}}}
    return one, two, one.put_doc(DB, ddoc)["rev"]


@needs_js
def test_a_changed_design_document_is_seen_by_every_opener_of_the_file(tmp_path: Path) -> None:
    """A query of an up-to-date index skips reading its design document: a change of the
    design document (here or in another opener of the file) must still be seen."""
    one, two, rev = _two_openers(tmp_path)
    for factor in range(2, 6):
        assert [r["key"] for r in one.view(DB, "c", "v")["rows"]] == [
            i * (factor - 1) for i in range(5)
        ]
        assert one.view(DB, "c", "v")["total_rows"] == 5  # from the index as it is
        writer, reader = (two, one) if factor % 2 else (one, two)
        ddoc = {"_id": "_design/c", "_rev": rev, "views": {"v": {"map": TWO_OPENERS_MAP % factor}}}
        rev = writer.put_doc(DB, ddoc)["rev"]
        # Not the old signature's index: the new one, never built yet.
        assert reader.view(DB, "c", "v", {"stale": "ok"})["rows"] == []
        assert [r["key"] for r in reader.view(DB, "c", "v")["rows"]] == [
            i * factor for i in range(5)
        ]
        writer.put_doc(DB, {"_id": f"b{factor}", "n": 100})
        writer.delete_doc(DB, f"b{factor}", writer.get_doc(DB, f"b{factor}")["_rev"])
    one.delete_doc(DB, "_design/c", rev)
    with pytest.raises(NotFound):
        two.view(DB, "c", "v")
    one.close()
    two.close()


@needs_js
def test_a_file_with_the_older_one_level_blocks_is_recounted(tmp_path: Path) -> None:
    """A file written by the version that kept settee_view_blocks (blocks_ok = 1): its
    first query counts the rows into the tree and drops the old table."""
    path = tmp_path / "old.db"
    b = open_backend(f"sqlite:///{path}")
    b.create_db(DB)
    b.put_doc(DB, dict(DDOC))
    b.bulk_docs(DB, [{"_id": f"a{i:04d}", "n": i % 50} for i in range(1000)])
    assert b.view(DB, "d", "by_n", {"limit": 1})["total_rows"] == 1000
    b.close()
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE settee_view_ranks; UPDATE settee_view_groups SET blocks_ok = 1;"
        "CREATE TABLE settee_view_blocks (gid INTEGER NOT NULL, view INTEGER NOT NULL,"
        " key BLOB NOT NULL, docid TEXT NOT NULL, count INTEGER NOT NULL,"
        " PRIMARY KEY (gid, view, key, docid)) WITHOUT ROWID;"
    )
    conn.close()
    b = open_backend(f"sqlite:///{path}")
    body = b.view(DB, "d", "by_n", {"startkey": 10, "limit": 1})
    assert body["offset"] == 200 and body["total_rows"] == 1000
    b.put_doc(DB, {"_id": "new", "n": 3})
    assert b.view(DB, "d", "by_n", {"startkey": 10, "limit": 1})["offset"] == 201
    b.close()
    conn = sqlite3.connect(path)
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "settee_view_blocks" not in tables and "settee_view_ranks" in tables
    assert {ok for (ok,) in conn.execute("SELECT blocks_ok FROM settee_view_groups")} == {3}
    _tree_agrees_with_rows(conn)
    conn.close()


@needs_js
def test_validators_follow_design_document_changes(backend: Backend) -> None:
    refuse = "function (doc) { if (doc.bad) throw({forbidden: 'bad'}); }"
    backend.put_doc(DB, {"_id": "ok", "bad": False})
    rev = backend.put_doc(DB, {"_id": "_design/v", "validate_doc_update": refuse})["rev"]
    with pytest.raises(Forbidden):
        backend.put_doc(DB, {"_id": "x", "bad": True})
    loose = "function (doc) { if (doc.worse) throw({forbidden: 'worse'}); }"
    rev = backend.put_doc(DB, {"_id": "_design/v", "_rev": rev, "validate_doc_update": loose})[
        "rev"
    ]
    assert backend.put_doc(DB, {"_id": "x", "bad": True})["ok"]
    with pytest.raises(Forbidden):
        backend.put_doc(DB, {"_id": "y", "worse": True})
    backend.delete_doc(DB, "_design/v", rev)
    assert backend.put_doc(DB, {"_id": "y", "worse": True})["ok"]


@needs_js
def test_rows_without_counts_are_the_rows_with_them(backend: Backend) -> None:
    """``counts=False`` (the pager's) leaves out total_rows and offset, never a row: the
    same rows as the full answer, for every range option, after writes too."""
    backend.bulk_docs(DB, [{"_id": f"d{i:02d}", "n": i % 7} for i in range(40)])
    emit = "function (doc) { if (doc.n !== undefined) { emit(doc.n, doc._id); emit([doc.n], 1); } }"
    backend.put_doc(DB, {"_id": "_design/c", "views": {"v": {"map": emit, "reduce": "_count"}}})
    queries: list[dict[str, Any]] = [
        {"reduce": False},
        {"reduce": False, "startkey": 2, "endkey": 4, "limit": 5},
        {"reduce": False, "startkey": 4, "endkey": 2, "descending": True, "skip": 3},
        {"reduce": False, "startkey": 3, "startkey_docid": "d17", "limit": 4},
        {"reduce": False, "endkey": 3, "inclusive_end": False, "stale": "ok"},
        {"reduce": False, "key": 5, "update": "lazy"},
        {"reduce": False, "startkey": 100},
        {"group": True},
    ]
    for round_ in range(3):
        for query in queries:
            full = backend.view(DB, "c", "v", query)
            rows = backend.view(DB, "c", "v", query, counts=False)
            assert rows["rows"] == full["rows"], query
            if "group" not in query:
                assert "total_rows" in full and "offset" in full
                assert "total_rows" not in rows and "offset" not in rows
        backend.put_doc(DB, {"_id": f"w{round_}", "n": 3})
    with pytest.raises(BadRequest):
        backend.view(DB, "c", "v", {"reduce": False, "limit": -1}, counts=False)


@needs_js
def test_rows_without_counts_follow_every_opener_of_the_file(tmp_path: Path) -> None:
    """The one-statement read of an index this process saw up to date: another opener's
    writes, design document changes, deletions and a recreated database are all seen."""
    one, two, rev = _two_openers(tmp_path)

    def keys(backend: Backend, **params: Any) -> list[Any]:
        return [r["key"] for r in backend.view(DB, "c", "v", params, counts=False)["rows"]]

    for factor in range(2, 6):
        assert keys(one) == keys(two) == [i * (factor - 1) for i in range(5)]
        writer, reader = (two, one) if factor % 2 else (one, two)
        writer.put_doc(DB, {"_id": f"b{factor}", "n": 1000})
        assert keys(reader)[-1] == 1000 * (factor - 1)
        writer.delete_doc(DB, f"b{factor}", writer.get_doc(DB, f"b{factor}")["_rev"])
        assert keys(reader) == [i * (factor - 1) for i in range(5)]
        ddoc = {"_id": "_design/c", "_rev": rev, "views": {"v": {"map": TWO_OPENERS_MAP % factor}}}
        rev = writer.put_doc(DB, ddoc)["rev"]
        assert keys(reader, stale="ok") == []  # the new signature's index: not built yet
    assert keys(one) == [i * 5 for i in range(5)]
    two.delete_db(DB)
    two.create_db(DB)
    two.bulk_docs(DB, [{"_id": "z", "n": 7}, {"_id": "_design/c", "views": ddoc["views"]}])
    assert keys(one) == [35]
    two.delete_doc(DB, "_design/c", two.get_doc(DB, "_design/c")["_rev"])
    with pytest.raises(NotFound):
        keys(one)
    two.delete_db(DB)
    with pytest.raises(NotFound):
        keys(one)
    one.close()
    two.close()


@needs_js
def test_rows_without_counts_report_errors_as_the_full_answer(backend: Backend) -> None:
    """An error of the design document or the query is the same with ``counts=False``,
    also once an index of the design document was read (a bad built-in reduce of another
    view, a reduce asked of a map view, a missing view)."""
    backend.bulk_docs(DB, [{"_id": "a", "n": 1}])
    emit = "function (doc) { emit(doc.n, null); }"
    views = {"ok": {"map": emit}, "bad": {"map": emit, "reduce": "_nope"}}
    backend.put_doc(DB, {"_id": "_design/c", "views": views})
    for counts in (True, False, True):
        assert backend.view(DB, "c", "ok", counts=counts)["rows"][0]["key"] == 1
        for view, query, error in [
            ("bad", {"reduce": False}, "invalid_design_doc"),
            ("ok", {"reduce": True}, "query_parse_error"),
            ("ok", {"descending": "maybe"}, "query_parse_error"),
        ]:
            with pytest.raises(BadRequest) as caught:
                backend.view(DB, "c", view, query, counts=counts)
            assert caught.value.error == error
        with pytest.raises(NotFound):
            backend.view(DB, "c", "missing", counts=counts)
