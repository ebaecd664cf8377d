"""Revision semantics on every backend: replicated conflicts, the winner, open_revs,
``_revisions``, ``_revs_diff``, ``_local`` documents and inline attachments.

These go through the backend protocol (``db.backend``) because they pin the
primitives the object model and replication are built on.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

import settee
from tests.conformance.conftest import has, settled


def get(db: settee.Database, docid: str, open_revs: Any = None, **params: Any) -> Any:
    return db.backend.get_doc(db.database_name, docid, params or None, open_revs=open_revs)


def get_once(db: settee.Database, docid: str, until: Callable[[Any], bool], **params: Any) -> Any:
    """:func:`get`, read again until ``until`` holds where a cluster's copies may lag (bounded).

    Seen on the cluster under load: a GET right after a write (new_edits=false,
    or a delete) showed the document as it was before the write.
    """
    return settled(db.client, lambda: get(db, docid, **params), until)


def replicate(db: settee.Database, *docs: dict[str, Any]) -> list[dict[str, Any]]:
    return db.bulk_docs(list(docs), new_edits=False)


@pytest.fixture
def conflicted(db: settee.Database) -> tuple[settee.Database, str]:
    """A document with two branches at depth 2: ``2-aaa...`` and ``2-bbb...``."""
    base = db.create_document({"_id": "c", "v": "base"})["_rev"]
    base_hash = base.split("-")[1]
    a, b = "a" * 32, "b" * 32
    out = replicate(
        db,
        {"_id": "c", "_rev": f"2-{a}", "v": "A", "_revisions": {"start": 2, "ids": [a, base_hash]}},
        {"_id": "c", "_rev": f"2-{b}", "v": "B", "_revisions": {"start": 2, "ids": [b, base_hash]}},
    )
    assert all("error" not in r for r in out)  # CouchDB answers new_edits=false with no rows
    get_once(db, "c", lambda leaves: len(leaves) == 2, open_revs="all")
    return db, base_hash


def test_new_edits_false_creates_a_conflict_with_a_deterministic_winner(
    conflicted: tuple[settee.Database, str],
) -> None:
    db, base_hash = conflicted
    doc = get(db, "c", conflicts=True)
    assert (doc["_rev"], doc["v"]) == ("2-" + "b" * 32, "B")  # same depth: highest rev id
    assert doc["_conflicts"] == ["2-" + "a" * 32]
    assert "_conflicts" not in get(db, "c")
    revisions = get(db, "c", revs=True)["_revisions"]
    assert revisions == {"start": 2, "ids": ["b" * 32, base_hash]}


def test_deeper_branch_wins_and_deleted_leaves_lose(
    conflicted: tuple[settee.Database, str],
) -> None:
    db, _ = conflicted
    a, c = "a" * 32, "c" * 32
    replicate(
        db, {"_id": "c", "_rev": f"3-{c}", "v": "C", "_revisions": {"start": 3, "ids": [c, a]}}
    )
    assert get_once(db, "c", lambda doc: doc["_rev"] == f"3-{c}")["_rev"] == f"3-{c}"
    tombstone = db.backend.delete_doc(db.database_name, "c", f"3-{c}")["rev"]
    assert tombstone.startswith("4-")
    doc = get_once(db, "c", lambda doc: not doc["_rev"].startswith("3-"), conflicts=True)
    assert doc["_rev"] == "2-" + "b" * 32  # a live leaf beats a deeper deleted one
    assert "_conflicts" not in doc
    leaves = get(db, "c", open_revs="all")
    assert {item["ok"]["_rev"] for item in leaves if item["ok"].get("_deleted")} == {tombstone}


def test_deleted_conflicts(conflicted: tuple[settee.Database, str], backend_kind: str) -> None:
    if backend_kind == "pouchdb":
        pytest.skip("PouchDB Server ignores deleted_conflicts=true")
    db, _ = conflicted
    tombstone = db.backend.delete_doc(db.database_name, "c", "2-" + "b" * 32)["rev"]
    doc = get_once(db, "c", lambda doc: "_deleted_conflicts" in doc, deleted_conflicts=True)
    assert doc["_rev"] == "2-" + "a" * 32
    assert doc["_deleted_conflicts"] == [tombstone]


def test_replicating_a_known_revision_changes_nothing(
    conflicted: tuple[settee.Database, str],
) -> None:
    db, _ = conflicted
    # A position past every change so far (a cluster's update_seq may come from
    # a copy still behind the fixture's writes); seqs are opaque, so the check
    # is that the feed has nothing after it, and the revision tree is as it was.
    before = settled(
        db.client,
        lambda: db.metadata()["update_seq"],
        lambda seq: not list(db.changes(since=seq)),
    )
    leaves = get(db, "c", open_revs="all")
    replicate(db, {"_id": "c", "_rev": "2-" + "a" * 32, "v": "A"})
    assert list(db.changes(since=before)) == []
    assert get(db, "c", open_revs="all") == leaves
    if has(db.client, "changes_total_order"):
        assert db.metadata()["update_seq"] == before


def test_open_revs(conflicted: tuple[settee.Database, str]) -> None:
    db, _ = conflicted
    leaves = get(db, "c", open_revs="all")
    assert sorted(item["ok"]["_rev"] for item in leaves) == ["2-" + "a" * 32, "2-" + "b" * 32]
    assert {item["ok"]["v"] for item in leaves} == {"A", "B"}
    some = get(db, "c", open_revs=["2-" + "a" * 32, "9-" + "f" * 32])
    assert some[0]["ok"]["v"] == "A"
    assert some[1] == {"missing": "9-" + "f" * 32}
    assert get(db, "c", open_revs=("2-" + "b" * 32,))[0]["ok"]["v"] == "B"  # a tuple too


def test_open_revs_is_the_keyword(conflicted: tuple[settee.Database, str]) -> None:
    # The keyword picks get_doc's overload (a list back): inside params it would not,
    # so there it is refused before any request, as is a value that is no rev list.
    db, _ = conflicted
    backend, name = db.backend, db.database_name
    with pytest.raises(TypeError, match="keyword"):
        backend.get_doc(name, "c", {"open_revs": "all"})
    for wrong in ("2-" + "a" * 32, [1], {"2-a": 1}):
        with pytest.raises(TypeError, match="open_revs"):
            backend.get_doc(name, "c", open_revs=wrong)  # type: ignore[call-overload]
    assert isinstance(backend.get_doc(name, "c", {"open_revs": None}), dict)  # None: not given


def test_revs_diff(db: settee.Database) -> None:
    rev = db.create_document({"_id": "d"})["_rev"]
    missing = "2-" + "e" * 32
    diff = db.backend.revs_diff(
        db.database_name, {"d": [rev, missing], "unknown": ["1-" + "f" * 32]}
    )
    assert diff["d"]["missing"] == [missing]
    assert set(diff["d"].get("possible_ancestors", [rev])) == {rev}
    assert diff["unknown"] == {"missing": ["1-" + "f" * 32]}
    assert db.backend.revs_diff(db.database_name, {"d": [rev]}) == {}


def test_deleted_documents_and_recreation(db: settee.Database, backend_kind: str) -> None:
    rev = db.create_document({"_id": "t", "v": 1})["_rev"]
    gone = db.backend.delete_doc(db.database_name, "t", rev)["rev"]
    with pytest.raises(settee.DocumentNotFound) as exc:
        get(db, "t")
    # CouchDB and the local backends say why; PouchDB Server says "missing" for both.
    assert exc.value.reason in (
        ("deleted", "missing") if backend_kind == "pouchdb" else ("deleted",)
    )
    tomb = get(db, "t", rev=gone)
    assert tomb["_deleted"] is True and tomb["_rev"] == gone
    again = db.backend.put_doc(db.database_name, {"_id": "t", "v": 2})["rev"]
    assert again.startswith("3-")  # a recreated document extends its tombstone


def test_local_documents_stay_out_of_listings(db: settee.Database) -> None:
    first = db.backend.put_doc(db.database_name, {"_id": "_local/cp", "seq": 1})
    assert first["rev"] == "0-1"
    second = db.backend.put_doc(db.database_name, {"_id": "_local/cp", "_rev": "0-1", "seq": 2})
    assert second["rev"] == "0-2"
    stale = {"_id": "_local/cp", "_rev": "0-1", "seq": 3}
    if has(db.client, "versioned_local_docs"):
        with pytest.raises(settee.Conflict):
            db.backend.put_doc(db.database_name, stale)
        assert get(db, "_local/cp")["seq"] == 2
    else:  # CouchDB 3.5: no revision check, the last write wins (its rev: the one sent + 1)
        assert db.backend.put_doc(db.database_name, stale)["rev"] == "0-2"
        # A cluster's GET may reach a copy of the _local document behind the write.
        assert get_once(db, "_local/cp", lambda doc: doc["seq"] == 3)["seq"] == 3
    db.create_document({"_id": "normal"})
    rows = settled(db.client, lambda: list(db.all_docs()), lambda rows: len(rows) > 0)
    assert [row["id"] for row in rows] == ["normal"]
    changes = settled(
        db.client, lambda: list(db.backend.changes(db.database_name)), lambda rows: len(rows) > 0
    )
    assert [row["id"] for row in changes] == ["normal"]
    assert settled(db.client, lambda: db.metadata()["doc_count"], lambda n: n > 0) == 1


def test_inline_attachments_stubs_and_data(db: settee.Database) -> None:
    data = b"settee attachment \x00\xff"
    encoded = base64.b64encode(data).decode()
    digest = "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()
    db.backend.put_doc(
        db.database_name,
        {
            "_id": "att",
            "_attachments": {"f.bin": {"content_type": "application/x-test", "data": encoded}},
        },
    )
    stub = get(db, "att")["_attachments"]["f.bin"]
    assert stub["stub"] is True
    assert (stub["content_type"], stub["digest"], stub["length"], stub["revpos"]) == (
        "application/x-test",
        digest,
        len(data),
        1,
    )
    inline = get(db, "att", attachments=True)["_attachments"]["f.bin"]
    assert base64.b64decode(inline["data"]) == data
    doc = get(db, "att")
    doc["other"] = True
    db.backend.put_doc(db.database_name, doc)  # the stub keeps the attachment
    kept = get(db, "att")["_attachments"]["f.bin"]
    assert (kept["digest"], kept["revpos"]) == (digest, 1)
    assert db.backend.get_attachment(db.database_name, "att", "f.bin") == (
        data,
        "application/x-test",
    )
