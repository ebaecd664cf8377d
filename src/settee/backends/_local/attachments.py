"""Attachments: inline base64 on write, stubs or data on read, and the standalone calls.

Stored form, per revision body: ``_attachments: {name: {"content_type",
"digest" (md5-<base64>), "length", "revpos", "data" (base64)}}``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from settee.backends._local.util import b64, conflict, md5_digest
from settee.errors import BadRequest, DocumentNotFound, NotFound, PreconditionFailed

if TYPE_CHECKING:
    from settee.backends._local.engine import Engine

__all__ = [
    "decode_attachments",
    "delete_attachment",
    "get_attachment",
    "put_attachment",
    "render_attachment",
]


def decode_attachments(
    doc: Mapping[str, Any],
    parent: Callable[[], dict[str, Any] | None],
    pos: int,
    *,
    keep_revpos: bool,
) -> dict[str, Any]:
    """The stored ``_attachments`` for an incoming document written at position ``pos``.

    Inline ``data`` is decoded and digested; a ``stub`` keeps the attachment of
    that name from ``parent()`` (the parent revision's attachments), or is
    ``PreconditionFailed`` (``missing_stub``). ``keep_revpos`` keeps a given
    ``revpos`` (replicated writes). Bad input is ``BadRequest``.
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


def render_attachment(att: Mapping[str, Any], with_data: bool) -> dict[str, Any]:
    """CouchDB's read form: a stub (``length``, ``stub: true``) or the ``data``."""
    out = {
        "content_type": att["content_type"],
        "revpos": att["revpos"],
        "digest": att["digest"],
    }
    if with_data:
        out["data"] = att["data"]
    else:
        out["length"] = att["length"]
        out["stub"] = True
    return out


def get_attachment(
    engine: Engine, db: str, docid: str, name: str, *, rev: str | None = None
) -> tuple[bytes, str]:
    """``(data, content_type)``; ``NotFound`` for a missing document or attachment."""
    params: dict[str, Any] = {"attachments": True}
    if rev is not None:
        params["rev"] = rev
    doc = engine.get_doc(db, docid, params)
    att = (doc.get("_attachments") or {}).get(name)
    if att is None:
        raise NotFound("Document is missing attachment", error="not_found")
    return base64.b64decode(att["data"]), str(att["content_type"])


def put_attachment(
    engine: Engine,
    db: str,
    docid: str,
    name: str,
    data: bytes,
    content_type: str,
    *,
    rev: str | None,
) -> dict[str, Any]:
    """Add or replace one attachment: a new revision (a new document when ``rev`` is None)."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("attachment data must be bytes")
    if rev is None:
        doc: dict[str, Any] = {"_id": docid}
        try:
            current = engine.get_doc(db, docid)
        except DocumentNotFound:
            current = None
        if current is not None:
            raise conflict()
    else:
        try:
            doc = engine.get_doc(db, docid, {"rev": rev})
        except DocumentNotFound as exc:
            raise conflict() from exc
        doc.pop("_deleted", None)
    atts = doc.setdefault("_attachments", {})
    atts[name] = {"content_type": content_type, "data": b64(bytes(data))}
    return engine.put_doc(db, doc)


def delete_attachment(
    engine: Engine, db: str, docid: str, name: str, *, rev: str
) -> dict[str, Any]:
    """Remove one attachment: a new revision without it."""
    try:
        doc = engine.get_doc(db, docid, {"rev": rev})
    except DocumentNotFound as exc:
        raise conflict() from exc
    atts = doc.get("_attachments") or {}
    if name not in atts:
        raise NotFound("Document is missing attachment", error="not_found")
    del atts[name]
    if not atts:
        doc.pop("_attachments", None)
    return engine.put_doc(db, doc)
