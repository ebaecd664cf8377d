"""Attachments: inline base64 on write, stubs or data on read.

The standalone attachment calls are the backend's, over ``get_doc``/``put_doc``.

Stored form, per revision body: ``_attachments: {name: {"content_type",
"digest" (md5-<base64>), "length", "revpos", "data" (base64)}}``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from settee.backends._local.util import b64, md5_digest
from settee.errors import BadRequest, PreconditionFailed

__all__ = ["decode_attachments", "render_attachment"]


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
