"""Mango indexes: json index definitions kept in ``_design/`` documents, as CouchDB does.

Each function takes the :class:`~.state.EngineState` first; the backend's methods
of the same names call them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from settee._validate import design_doc_id
from settee.backends._local import jsonindex
from settee.backends._local.mango import compile_selector
from settee.backends._local.reads import get_doc, winner_docs
from settee.backends._local.state import EngineState, design_infos, open_db
from settee.backends._local.util import conflict, dumps
from settee.backends._local.writes import delete_doc, put_doc
from settee.errors import BadRequest, Conflict, DocumentNotFound, NotFound, NotSupported

__all__ = ["create_index", "delete_index", "get_indexes"]


def create_index(state: EngineState, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
    """Store a Mango index definition in a ``_design/`` document, as CouchDB does."""
    if not isinstance(index, Mapping) or not isinstance(index.get("index"), Mapping):
        raise BadRequest("Missing required key: index", error="missing_required_key")
    kind = index.get("type", "json")
    if kind != "json":
        raise NotSupported(f"The local backends support only json Mango indexes, not {kind!r}.")
    raw_fields = index["index"].get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise BadRequest("Index fields must be a non-empty array", error="invalid_index")
    fields: list[dict[str, str]] = []
    for item in raw_fields:
        if isinstance(item, str):
            fields.append({item: "asc"})
        elif isinstance(item, Mapping) and len(item) == 1:
            ((name, direction),) = item.items()
            if direction not in ("asc", "desc"):
                raise BadRequest(f"Invalid sort direction {direction!r}", error="invalid_index")
            fields.append({str(name): direction})
        else:
            raise BadRequest(f"Invalid index field {item!r}", error="invalid_index")
    definition: dict[str, Any] = {"fields": fields}
    if "partial_filter_selector" in index["index"]:
        compile_selector(index["index"]["partial_filter_selector"])
        definition["partial_filter_selector"] = index["index"]["partial_filter_selector"]
    digest = hashlib.sha1(dumps(definition).encode()).hexdigest()
    ddoc = str(index.get("ddoc") or digest)
    ddoc_id = design_doc_id(ddoc)
    name = str(index.get("name") or digest)
    view: dict[str, Any] = {
        "map": {"fields": {next(iter(f)): next(iter(f.values())) for f in fields}},
        "reduce": "_count",
        "options": {"def": definition},
    }
    if "partial_filter_selector" in definition:
        view["map"]["partial_filter_selector"] = definition["partial_filter_selector"]
    for _ in range(10):
        try:
            current: dict[str, Any] = get_doc(state, db, ddoc_id)
        except DocumentNotFound:
            current = {"_id": ddoc_id, "language": "query", "views": {}}
        views = current.setdefault("views", {})
        if views.get(name) == view:
            return {"result": "exists", "id": ddoc_id, "name": name}
        views[name] = view
        current["language"] = "query"
        try:
            put_doc(state, db, current)
        except Conflict:
            continue  # someone else changed the design document: read it again
        jsonindex.ensure(state, db)  # built now, as CouchDB builds on first use
        return {"result": "created", "id": ddoc_id, "name": name}
    raise conflict()


def get_indexes(state: EngineState, db: str) -> dict[str, Any]:
    """``GET /db/_index``, the special ``_all_docs`` index first."""
    indexes: list[dict[str, Any]] = [
        {
            "ddoc": None,
            "name": "_all_docs",
            "type": "special",
            "def": {"fields": [{"_id": "asc"}]},
        }
    ]
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        infos = design_infos(txn, meta)
        docs = winner_docs(txn, meta, infos, {})
    for ddoc_id in sorted(docs):
        ddoc = docs[ddoc_id]
        if ddoc.get("language") != "query":
            continue
        for name in sorted(ddoc.get("views") or {}):
            view = ddoc["views"][name]
            definition = (view.get("options") or {}).get("def")
            if not isinstance(definition, dict):
                continue
            entry: dict[str, Any] = {
                "ddoc": ddoc_id,
                "name": name,
                "type": "json",
                "partitioned": meta.partitioned,
                "def": definition,
            }
            indexes.append(entry)
    return {"total_rows": len(indexes), "indexes": indexes}


def delete_index(
    state: EngineState, db: str, ddoc: str, name: str, *, index_type: str = "json"
) -> dict[str, Any]:
    """Remove one index (and its design document when it was the last)."""
    ddoc_id = design_doc_id(ddoc)
    for _ in range(10):
        try:
            current: dict[str, Any] = get_doc(state, db, ddoc_id)
        except DocumentNotFound as exc:
            raise NotFound("Index not found", error="not_found") from exc
        views = current.get("views") or {}
        if index_type != "json" or name not in views or current.get("language") != "query":
            raise NotFound("Index not found", error="not_found")
        del views[name]
        try:
            if views:
                put_doc(state, db, current)
            else:
                delete_doc(state, db, ddoc_id, current["_rev"])
        except Conflict:
            continue
        return {"ok": True}
    raise conflict()
