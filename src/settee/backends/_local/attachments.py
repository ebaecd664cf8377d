"""Attachments: inline base64 on write, stubs or data on read.

The standalone attachment calls are the backend's, over ``get_doc``/``put_doc``.

Stored form, per revision body: ``_attachments: {name: {"content_type",
"digest" (md5-<base64>), "length", "revpos", "data" (base64)}}``; a content
written by ``put_attachment`` from a file (:func:`store_content`) is kept in
chunks beside the body, and the entry names it (``"blob"``) instead of holding
``"data"``: writing and reading it needs one chunk in memory at a time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from settee.backends._local.state import EngineState, open_db
from settee.backends._local.storage import DbMeta, Txn
from settee.backends._local.util import b64, md5_digest
from settee.errors import BadRequest, PreconditionFailed, ServerError

__all__ = [
    "CHUNK",
    "content_chunks",
    "decode_attachments",
    "render_attachment",
    "store_content",
]

#: Bytes per stored chunk of an attachment content.
CHUNK = 1 << 20
# Chunks committed per write transaction while a content is stored.
_CHUNKS_PER_TXN = 8


def store_content(state: EngineState, db: str, data: IO[bytes]) -> dict[str, Any]:
    """Read ``data`` to its end in chunks into storage; ``{"blob", "digest", "length"}``.

    The chunks are committed before the revision that refers to them is written, so a
    crash between the two leaves only unreferenced chunks, which compaction drops.
    """
    blob = uuid.uuid4().hex
    md5 = hashlib.md5()
    length = n = 0
    done = False
    while not done:
        with state.storage.write() as txn:
            meta = open_db(txn, db)
            for _ in range(_CHUNKS_PER_TXN):
                chunk = data.read(CHUNK)
                if not isinstance(chunk, (bytes, bytearray)):
                    raise TypeError("an attachment file must be opened in binary mode")
                if not chunk:
                    done = True
                    break
                md5.update(chunk)
                length += len(chunk)
                txn.put_chunk(meta, blob, n, bytes(chunk))
                n += 1
    return {"blob": blob, "digest": "md5-" + b64(md5.digest()), "length": length}


def content_chunks(state: EngineState, db: str, att: Mapping[str, Any]) -> Iterator[bytes]:
    """The content of the stored attachment entry ``att``, chunk by chunk (one read
    transaction per chunk: a writer is never kept waiting)."""
    if "data" in att:
        yield base64.b64decode(att["data"])
        return
    blob = att["blob"]
    for n in range(max(1, -(-int(att["length"]) // CHUNK))):
        with state.storage.read() as txn:
            chunk = txn.get_chunk(open_db(txn, db), blob, n)
        if chunk is None:
            if att["length"] == 0:
                return
            raise ServerError(f"attachment content {blob} is missing chunk {n}", error="missing")
        yield chunk


def blob_loader(txn: Txn, meta: DbMeta) -> Callable[[str], bytes]:
    """Reads a whole stored content inside ``txn`` (for ``attachments=true`` reads)."""

    def load(blob: str) -> bytes:
        parts: list[bytes] = []
        while (chunk := txn.get_chunk(meta, blob, len(parts))) is not None:
            parts.append(chunk)
        return b"".join(parts)

    return load


def decode_attachments(
    doc: Mapping[str, Any],
    parent: Callable[[], dict[str, Any] | None],
    pos: int,
    *,
    keep_revpos: bool,
    stored: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The stored ``_attachments`` for an incoming document written at position ``pos``.

    Inline ``data`` is decoded and digested; a ``stub`` keeps the attachment of
    that name from ``parent()`` (the parent revision's attachments), or is
    ``PreconditionFailed`` (``missing_stub``). ``keep_revpos`` keeps a given
    ``revpos`` (replicated writes). ``stored`` names attachments whose content
    :func:`store_content` stored (``{name: {"content_type", "blob", "digest",
    "length"}}``): they get a new entry at ``pos`` whatever the document says.
    Bad input is ``BadRequest``.
    """
    incoming = doc.get("_attachments")
    if not incoming:
        return {}
    if not isinstance(incoming, Mapping):
        raise BadRequest("_attachments must be a JSON object", error="bad_request")
    docid = doc["_id"]
    previous: dict[str, Any] | None = None
    out: dict[str, Any] = {}
    for name, att in incoming.items():
        if stored is not None and name in stored:
            given_att = stored[name]
            out[name] = {
                "content_type": str(given_att["content_type"]),
                "digest": given_att["digest"],
                "length": given_att["length"],
                "revpos": pos,
                "blob": given_att["blob"],
            }
            continue
        if not isinstance(att, Mapping):
            raise BadRequest(f"Invalid attachment {name}", error="bad_request")
        if att.get("stub"):
            if previous is None:
                previous = parent() or {}
            if name not in previous:
                raise PreconditionFailed(
                    f"Invalid attachment stub in {docid} for {name}", error="missing_stub"
                )
            out[name] = previous[name]
            continue
        if "data" not in att:
            raise BadRequest(
                f"Attachment {name} has neither data nor stub: true", error="bad_request"
            )
        data = att["data"]
        if isinstance(data, (bytes, bytearray)):
            raw = bytes(data)
        else:
            try:
                raw = base64.b64decode(str(data), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise BadRequest(
                    f"Invalid attachment data for {name}", error="bad_request"
                ) from exc
        given = att.get("revpos")
        out[name] = {
            "content_type": str(att.get("content_type") or "application/octet-stream"),
            "digest": md5_digest(raw),
            "length": len(raw),
            "revpos": given if keep_revpos and isinstance(given, int) else pos,
            "data": b64(raw),
        }
    return out


def render_attachment(
    att: Mapping[str, Any], with_data: bool, load: Callable[[str], bytes] | None = None
) -> dict[str, Any]:
    """CouchDB's read form: a stub (``length``, ``stub: true``) or the ``data``
    (a chunked content read through ``load``)."""
    out = {
        "content_type": att["content_type"],
        "revpos": att["revpos"],
        "digest": att["digest"],
    }
    if with_data:
        if "data" in att:
            out["data"] = att["data"]
        elif load is None:
            raise ServerError("attachment content read without its store", error="unknown_error")
        else:
            out["data"] = b64(load(att["blob"]))
    else:
        out["length"] = att["length"]
        out["stub"] = True
    return out
