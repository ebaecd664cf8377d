"""Attachment contents stored in chunks by the local engine: reads of every form,
stubs across updates, compaction keeping what revisions refer to."""

from __future__ import annotations

import base64
import hashlib
import io
import time
from pathlib import Path
from typing import Any

import pytest

from settee.backends import open_backend
from settee.backends._local.attachments import CHUNK, store_content
from settee.errors import DocumentNotFound


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path}/x.db"
    b = open_backend(url)
    b.create_db("db")
    yield b
    b.close()


def _digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


@pytest.mark.parametrize("size", [0, 70 * 1024, 2 * CHUNK + 5])
def test_chunked_contents_read_back_in_every_form(backend: Any, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    source = io.BytesIO(data) if size % 2 else data  # a file and bytes alike
    rev = backend.put_attachment("db", "d", "a.bin", source, "application/x-test", rev=None)["rev"]
    assert backend.get_attachment("db", "d", "a.bin") == (data, "application/x-test")
    sink = io.BytesIO()
    assert backend.stream_attachment("db", "d", "a.bin", sink) == "application/x-test"
    assert sink.getvalue() == data
    stub = backend.get_doc("db", "d")["_attachments"]["a.bin"]
    assert stub == {
        "content_type": "application/x-test",
        "revpos": 1,
        "digest": _digest(data),
        "length": size,
        "stub": True,
    }
    full = backend.get_doc("db", "d", {"attachments": True})["_attachments"]["a.bin"]
    assert base64.b64decode(full["data"]) == data
    # An update with the stub keeps the content; compaction keeps what a leaf names.
    doc = backend.get_doc("db", "d")
    doc["v"] = 2
    backend.put_doc("db", doc)
    backend.compact("db")
    assert backend.get_attachment("db", "d", "a.bin")[0] == data
    with pytest.raises(DocumentNotFound):  # the compacted revision, as on CouchDB
        backend.get_attachment("db", "d", "a.bin", rev=rev)


def test_unreferenced_contents_go_referenced_ones_stay(backend: Any) -> None:
    data = b"y" * (CHUNK + 1)
    backend.put_attachment("db", "kept", "k.bin", io.BytesIO(data), "a/b", rev=None)
    orphan = store_content(backend._state, "db", io.BytesIO(b"z" * 10))  # no revision names it
    with backend._storage.write() as txn:
        meta = txn.get_db("db")
        assert txn.get_chunk(meta, orphan["blob"], 0) == b"z" * 10
        assert txn.prune_blobs(meta, time.time() + 1) == 1
        assert txn.get_chunk(meta, orphan["blob"], 0) is None
    assert backend.get_attachment("db", "kept", "k.bin")[0] == data
    backend.delete_db("db")
