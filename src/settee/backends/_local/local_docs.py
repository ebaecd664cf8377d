"""``_local/`` documents: not replicated, revisions ``0-N``, no revision tree.

``get_doc`` and ``bulk_docs`` route ids starting ``_local/`` here. As in
CouchDB 3.5 they are not versioned: a write never conflicts, its revision is
the one sent plus one (``0-1`` without one), and the last write wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from settee.backends._local.state import EngineState, open_db
from settee.backends._local.storage import DbMeta, Txn
from settee.backends._local.util import doc_missing, dumps
from settee.errors import BadRequest

__all__ = ["get_local", "write_local"]


def get_local(state: EngineState, db: str, docid: str) -> dict[str, Any]:
    """The ``_local/`` document ``docid``; ``DocumentNotFound`` if absent."""
    with state.storage.read() as txn:
        found = txn.get_local(open_db(txn, db), docid)
    if found is None:
        raise doc_missing()
    rev, body = found
    return {"_id": docid, "_rev": rev, **json.loads(body)}


def write_local(txn: Txn, meta: DbMeta, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Write (or with ``_deleted`` remove) a ``_local/`` document, whatever ``_rev`` it has.

    The new revision is ``0-(N+1)`` for a sent ``_rev`` of ``0-N`` (``0-1`` without one),
    as CouchDB 3.5 answers; a ``_rev`` that is not ``<n>-<integer>`` is ``BadRequest``.
    """
    docid = doc["_id"]
    counter = _rev_counter(doc.get("_rev"))
    if doc.get("_deleted"):
        if txn.get_local(meta, docid) is None:
            raise doc_missing()
        txn.delete_local(meta, docid)
        return {"ok": True, "id": docid, "rev": "0-0"}
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    new_rev = f"0-{counter + 1}"
    txn.put_local(meta, docid, new_rev, dumps(body))
    return {"ok": True, "id": docid, "rev": new_rev}


def _rev_counter(rev: Any) -> int:
    if rev is None:
        return 0
    _, sep, counter = str(rev).partition("-")
    if not sep or not counter.isdigit():
        raise BadRequest(f"Invalid rev format: {rev!r}", error="bad_request")
    return int(counter)
