"""Python map/reduce views, the index kept in the view cache until the next write.

Each function takes the :class:`~.state.EngineState` first; the backend's methods
of the same names call them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from settee.backends._local.reads import iter_docs, winner_docs
from settee.backends._local.state import EngineState, check_partition, open_db
from settee.backends._local.util import flag
from settee.backends._local.views import ViewIndex, emit_rows, query_rows

__all__ = ["python_view"]


def python_view(
    state: EngineState,
    db: str,
    map_fn: Any,
    params: Mapping[str, Any] | None = None,
    *,
    reduce: Any = None,
    keys: Sequence[Any] | None = None,
    partition: str | None = None,
) -> dict[str, Any]:
    """Run ``map_fn`` over every live non-design document and query the rows."""
    if not callable(map_fn):
        raise TypeError(f"map_fn must be callable, not {map_fn!r}")
    params = {k: v for k, v in (params or {}).items() if v is not None}
    if keys is None and "keys" in params:
        keys = params.pop("keys")
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        check_partition(meta, partition)
        update_seq = meta.update_seq
    # The built index is kept while the database does not change, so paging
    # through a view costs one map pass, not one per page. A map function must
    # be pure, as CouchDB requires.
    cache_key = (db, meta.handle, partition, map_fn)
    index: ViewIndex | None = state.view_cache.get(cache_key, update_seq)
    if index is None:
        rows = []
        for _, doc in iter_docs(state, db, partition=partition):
            rows.extend(emit_rows(map_fn, doc))
        index = ViewIndex(rows)
        state.view_cache.put(cache_key, update_seq, index)
    result = query_rows(index, params, reduce=reduce, keys=keys)
    if flag(params, "include_docs") and "total_rows" in result:
        _include_docs(state, db, result["rows"])
    if flag(params, "update_seq"):
        result["update_seq"] = update_seq
    return result


def _include_docs(state: EngineState, db: str, rows: list[dict[str, Any]]) -> None:
    """Add ``doc`` to view rows; a value with an ``_id`` links that document (as CouchDB)."""

    def target(row: dict[str, Any]) -> str:
        value = row.get("value")
        if isinstance(value, dict) and isinstance(value.get("_id"), str):
            return str(value["_id"])
        return str(row["id"])

    wanted = list(dict.fromkeys(target(row) for row in rows))
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        infos = txn.load_docs(meta, wanted)
        live = [info for info in infos.values() if not info.deleted]
        docs = winner_docs(txn, meta, live, {})
    for row in rows:
        row["doc"] = docs.get(target(row))
