"""Replication fixtures: databases on every backend, and every ordered pair of them.

``pair`` is parametrised over every ordered pair of ``memory``, ``sqlite``,
``pouchdb`` (PouchDB Server, always) and ``couchdb`` / ``couchdb-cluster``
(Apache CouchDB, when configured: see tests/conftest.py; else those pairs
skip with that reason). Two ends of the same kind are two separate stores
(memory, sqlite) or two databases of the one server.

A database on a backend without ``read_your_writes`` (the cluster, n=3) has
``write_quorum = 3``: the tests' own writes and the replication's writes into
it (documents and checkpoints carry the target's quorum) are on every copy
when they return, so one replication run gives the result and a read right
after it sees it - no replicating again, no re-reading until it settles.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

import settee
from tests.conftest import Server, unique_name

KINDS = ["memory", "sqlite", "pouchdb", "couchdb", "couchdb-cluster"]
PAIRS = list(itertools.product(KINDS, KINDS))

MakeDb = Callable[[str], settee.Database]


@pytest.fixture
def make_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeDb]:
    """``make_db(kind)``: a fresh empty database of that kind, deleted afterwards."""
    made: list[tuple[settee.Client, str]] = []

    def make(kind: str) -> settee.Database:
        name = unique_name("rep")
        if kind == "memory":
            client = settee.connect("memory:")
        elif kind == "sqlite":
            client = settee.connect(f"sqlite:///{tmp_path / (name + '.db')}")
        else:
            server = request.getfixturevalue(f"{kind}_server")
            client = settee.connect(server.url, auth=server.auth)
        KIND_OF[id(client.backend)] = kind
        made.append((client, name))
        db = client.create_database(name)
        if not read_your_writes(db):
            db.write_quorum = 3  # every copy of the suite's cluster (n=3)
        return db

    yield make
    for client, name in made:
        with contextlib.suppress(settee.SetteeError):
            client.delete_database(name)
        client.disconnect()


KIND_OF: dict[int, str] = {}


def kind_of(db: settee.Database) -> str:
    return KIND_OF.get(id(db.backend), db.backend.kind)


def read_your_writes(*dbs: settee.Database) -> bool:
    return all("read_your_writes" in db.backend.capabilities for db in dbs)


@pytest.fixture(params=PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def pair(
    request: pytest.FixtureRequest, make_db: MakeDb
) -> tuple[settee.Database, settee.Database]:
    """``(source, target)``: two fresh databases of the pair's kinds."""
    source_kind, target_kind = request.param
    return make_db(source_kind), make_db(target_kind)


class RecordingAdapter(HTTPAdapter):
    """Sends as a plain ``HTTPAdapter`` does, keeping each request's method, path,
    query and JSON body."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, list[str]], Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(str(request.url))
        body: Any = None
        if isinstance(request.body, (bytes, str)) and request.body:
            with contextlib.suppress(ValueError):
                body = json.loads(request.body)
        self.sent.append((str(request.method), parts.path, parse_qs(parts.query), body))
        return super().send(request, **kwargs)

    def calls(self, method: str, suffix: str) -> list[tuple[dict[str, list[str]], Any]]:
        """The (query, body) of every ``method`` request whose path ends with ``suffix``
        (or holds it, for a ``_local/`` document)."""
        return [
            (query, body)
            for m, path, query, body in self.sent
            if m == method and (path.endswith(suffix) or f"/{suffix}" in path)
        ]


# -- comparing revision trees ------------------------------------------------------------
def doc_ids(db: settee.Database) -> set[str]:
    """Every document id the database has a change for (deleted ones too)."""
    return {row["id"] for row in db.changes(style="all_docs")}


def tree(db: settee.Database, docid: str) -> dict[str, Any]:
    """What must be the same on both ends: every leaf (rev, ancestry, body, deleted), the
    winner and its conflicts, and the winner's revs_info revision list."""
    leafs = db.backend.get_doc(db.database_name, docid, {"revs": True}, open_revs="all")
    shape = []
    for item in leafs:
        doc = item["ok"]
        body = {k: v for k, v in doc.items() if k not in ("_revisions", "_attachments")}
        # By content: CouchDB gzips compressible types and gives the digest of that.
        atts = {
            name: (
                att.get("content_type"),
                hashlib.md5(
                    db.backend.get_attachment(db.database_name, docid, name, rev=doc["_rev"])[0]
                ).hexdigest(),
            )
            for name, att in (doc.get("_attachments") or {}).items()
        }
        shape.append(
            (
                doc["_rev"],
                tuple(doc["_revisions"]["ids"]),
                repr(sorted(body.items())),
                repr(sorted(atts.items())),
            )
        )
    out: dict[str, Any] = {"leafs": sorted(shape)}
    try:
        winner = db.backend.get_doc(db.database_name, docid, {"conflicts": True, "revs_info": True})
    except settee.DocumentNotFound:
        out["winner"] = "deleted"
    else:
        out["winner"] = winner["_rev"]
        out["conflicts"] = sorted(winner.get("_conflicts", []))
        out["revs_info"] = [r["rev"] for r in winner.get("_revs_info", [])]
    return out


def trees(db: settee.Database, ids: set[str] | None = None) -> dict[str, dict[str, Any]]:
    return {docid: tree(db, docid) for docid in sorted(ids if ids is not None else doc_ids(db))}


def same_trees(a: settee.Database, b: settee.Database) -> None:
    """Assert both hold the same revision trees for every document."""
    assert trees(a) == trees(b)


def tracked_client(server: Server) -> Iterator[settee.Client]:
    """A client of ``server`` whose ``made`` list names the databases a test
    creates; they are deleted (and the client disconnected) at the end."""
    client = settee.connect(server.url, auth=server.auth)
    made: list[str] = []
    client.made = made  # type: ignore[attr-defined]  # teardown list for the tests
    try:
        yield client
    finally:
        for name in made:
            with contextlib.suppress(settee.NotFound):
                client.delete_database(name)
        client.disconnect()
