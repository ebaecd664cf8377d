"""``_all_docs``: ids in raw code point order, ranges, ``keys``, partitions.

Each function takes the :class:`~.state.EngineState` first; the backend's methods
of the same names call them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from settee.backends._local.collation import type_rank
from settee.backends._local.reads import load_winner_docs, winner_docs
from settee.backends._local.state import EngineState, check_partition, open_db
from settee.backends._local.storage import DbMeta, Txn
from settee.backends._local.util import PAGE, flag, number, partition_bounds, within_partition
from settee.errors import BadRequest

__all__ = ["all_docs"]


def all_docs(
    state: EngineState,
    db: str,
    params: Mapping[str, Any] | None = None,
    *,
    keys: Sequence[Any] | None = None,
    partition: str | None = None,
) -> dict[str, Any]:
    """An ``_all_docs`` page, ids in raw code point order like CouchDB."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    if keys is None and "keys" in params:
        keys = params["keys"]
    descending = flag(params, "descending")
    include_docs = flag(params, "include_docs")
    limit = number(params, "limit")
    skip = number(params, "skip", 0) or 0
    opts = {
        "conflicts": flag(params, "conflicts"),
        "attachments": flag(params, "attachments"),
    }
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        check_partition(meta, partition)
        if partition is not None:
            plo, phi = partition_bounds(partition)
            total = _count(state, txn, meta, (plo, True, phi, False))
        else:
            total = txn.count_ids(meta, None, True, None, True)[0]  # the kept counter
        if keys is not None:
            rows = _all_docs_keys(state, txn, meta, keys, include_docs, opts, partition)
            if descending:
                rows.reverse()
            rows = rows[skip:]
            if limit is not None:
                rows = rows[:limit]
            body: dict[str, Any] = {"total_rows": total, "offset": None, "rows": rows}
            if flag(params, "update_seq"):
                body["update_seq"] = None
            return body
        bounds = _id_range(state, params, descending, partition)
        if bounds is None:
            pairs: list[tuple[str, str]] = []
            offset = total
        else:
            lo, lo_incl, hi, hi_incl = bounds
            want = PAGE * 1000 if limit is None else limit + skip
            pairs = (
                txn.scan_winners(meta, lo, lo_incl, hi, hi_incl, descending=descending, limit=want)
                if want > 0
                else []
            )
            pairs = pairs[skip:]
            if limit is None and len(pairs) + skip >= want:
                # An unbounded listing larger than one scan: keep reading.
                pairs.extend(_scan_all(txn, meta, lo, lo_incl, hi, hi_incl, descending, pairs))
            offset = _offset(state, txn, meta, bounds, descending, partition) + skip
            if pairs:
                # The pager's next page starts at the last row (inclusive) or after it.
                last = pairs[-1][0]
                here = (meta.uid, meta.update_seq, partition, descending, last)
                state.positions.put((*here, True), offset + len(pairs) - 1)
                state.positions.put((*here, False), offset + len(pairs))
        if include_docs:
            docs = load_winner_docs(txn, meta, [docid for docid, _ in pairs], opts)
            rows = [
                {"id": docid, "key": docid, "value": {"rev": rev}, "doc": docs.get(docid)}
                for docid, rev in pairs
            ]
        else:
            rows = [{"id": docid, "key": docid, "value": {"rev": rev}} for docid, rev in pairs]
        body = {"total_rows": total, "offset": min(offset, total), "rows": rows}
        if flag(params, "update_seq"):
            body["update_seq"] = meta.update_seq
        return body


def _scan_all(
    txn: Txn,
    meta: DbMeta,
    lo: str | None,
    lo_incl: bool,
    hi: str | None,
    hi_incl: bool,
    descending: bool,
    got: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    last = got[-1][0] if got else None
    while last is not None:
        if descending:
            page = txn.scan_winners(meta, lo, lo_incl, last, False, descending=True, limit=PAGE)
        else:
            page = txn.scan_winners(meta, last, False, hi, hi_incl, descending=False, limit=PAGE)
        out.extend(page)
        last = page[-1][0] if len(page) == PAGE else None
    return out


def _offset(
    state: EngineState,
    txn: Txn,
    meta: DbMeta,
    bounds: tuple[str | None, bool, str | None, bool],
    descending: bool,
    partition: str | None,
) -> int:
    """Live ids before the range in the listing's direction: counted once per snapshot
    and boundary (a page records where the next one starts), O(position) otherwise."""
    lo, lo_incl, hi, hi_incl = bounds
    plo, phi = partition_bounds(partition) if partition is not None else (None, None)
    if not descending:
        if lo is None or (lo == plo and lo_incl):
            return 0
        edge, incl = lo, lo_incl
    else:
        if hi is None or hi == phi:
            return 0
        edge, incl = hi, hi_incl
    key = (meta.uid, meta.update_seq, partition, descending, edge, incl)
    known = state.positions.get(key)
    if known is not None:
        return known
    if not descending:
        counted = txn.count_ids(meta, plo, True, lo, not lo_incl)[0]
    else:
        counted = txn.count_ids(meta, hi, not hi_incl, phi, False)[0]
    state.positions.put(key, counted)
    return counted


def _count(state: EngineState, txn: Txn, meta: DbMeta, bounds: tuple[str, bool, str, bool]) -> int:
    key = (meta.uid, meta.update_seq, "count", *bounds)
    known = state.positions.get(key)
    if known is None:
        known = txn.count_ids(meta, *bounds)[0]
        state.positions.put(key, known)
    return known


def _id_range(
    state: EngineState, params: Mapping[str, Any], descending: bool, partition: str | None
) -> tuple[str | None, bool, str | None, bool] | None:
    """``(lo, lo_incl, hi, hi_incl)`` in ascending id terms, or None for an empty range."""
    inclusive_end = flag(params, "inclusive_end", True)
    start = params.get("startkey", params.get("start_key"))
    end = params.get("endkey", params.get("end_key"))
    if "key" in params:
        start = end = params["key"]
        inclusive_end = True
    lo: str | None = None
    hi: str | None = None
    lo_incl = hi_incl = True
    # Non-string bounds: anything ranked below strings is "before every id", above "after".
    for bound, is_start in ((start, True), (end, False)):
        if bound is None:
            continue
        low_side = is_start != descending
        if isinstance(bound, str):
            if low_side:
                lo, lo_incl = bound, True if is_start else inclusive_end
            else:
                hi, hi_incl = bound, True if is_start else inclusive_end
            continue
        below = type_rank(bound) < 4
        if below != low_side:
            return None  # the range lies wholly outside the ids
    lo, lo_incl, hi, hi_incl = within_partition((lo, lo_incl, hi, hi_incl), partition)
    if lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_incl and hi_incl))):
        return None
    return lo, lo_incl, hi, hi_incl


def _all_docs_keys(
    state: EngineState,
    txn: Txn,
    meta: DbMeta,
    keys: Sequence[Any],
    include_docs: bool,
    opts: Mapping[str, bool],
    partition: str | None,
) -> list[dict[str, Any]]:
    if not isinstance(keys, Sequence) or isinstance(keys, (str, bytes)):
        raise BadRequest("`keys` member must be an array.", error="bad_request")
    wanted = [k for k in keys if isinstance(k, str)]
    found = txn.load_docs(meta, list(dict.fromkeys(wanted)))
    live = [found[k] for k in dict.fromkeys(wanted) if k in found and not found[k].deleted]
    docs = winner_docs(txn, meta, live, opts) if include_docs else {}
    rows: list[dict[str, Any]] = []
    for key in keys:
        info = found.get(key) if isinstance(key, str) else None
        if partition is not None and info is not None and not info.id.startswith(partition + ":"):
            info = None
        if info is None:
            rows.append({"key": key, "error": "not_found"})
            continue
        row: dict[str, Any] = {"id": info.id, "key": info.id, "value": {"rev": info.winner}}
        if info.deleted:
            row["value"]["deleted"] = True
            if include_docs:
                row["doc"] = None
        elif include_docs:
            row["doc"] = docs.get(info.id)
        rows.append(row)
    return rows
