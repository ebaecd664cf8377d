"""``_local/`` documents: not replicated, revisions ``0-N``, no revision tree.

``get_doc`` and ``bulk_docs`` route ids starting ``_local/`` here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from settee.backends._local.state import EngineState, open_db
from settee.backends._local.storage import DbMeta, Txn
from settee.backends._local.util import conflict, doc_missing, dumps

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
    """Write (or with ``_deleted`` remove) a ``_local/`` document; ``Conflict`` on a stale rev."""
    docid = doc["_id"]
    found = txn.get_local(meta, docid)
    rev = doc.get("_rev")
    if found is not None and rev != found[0]:
        raise conflict()
    if found is None and rev not in (None, "0-0"):
        raise conflict()
    if doc.get("_deleted"):
        if found is None:
            raise doc_missing()
        txn.delete_local(meta, docid)
        return {"ok": True, "id": docid, "rev": "0-0"}
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    counter = int(found[0].split("-", 1)[1]) + 1 if found else 1
    new_rev = f"0-{counter}"
    txn.put_local(meta, docid, new_rev, dumps(body))
    return {"ok": True, "id": docid, "rev": new_rev}
