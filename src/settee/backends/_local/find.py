"""Mango ``_find``: selector, sort, paging by bookmark, partial indexes.

Each function takes the :class:`~.state.EngineState` first; the backend's methods
of the same names call them.
"""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Mapping
from typing import Any

from settee.backends._local.collation import raw_sort_key, sort_key
from settee.backends._local.indexes import get_indexes
from settee.backends._local.mango import MISSING, compile_selector, get_field, parse_sort, project
from settee.backends._local.reads import iter_docs
from settee.backends._local.state import EngineState, check_partition, open_db
from settee.backends._local.storage import DbMeta, DocInfo
from settee.backends._local.util import dumps, flag, number
from settee.errors import BadRequest

__all__ = ["find"]

_NO_INDEX_WARNING = "No matching index found, create an index to optimize query time."


def find(
    state: EngineState, db: str, query: Mapping[str, Any], *, partition: str | None = None
) -> dict[str, Any]:
    """``_find``: selector, fields, sort, limit (default 25), skip, bookmark."""
    if not isinstance(query, Mapping):
        raise BadRequest("Query must be a JSON object", error="bad_request")
    if "selector" not in query:
        raise BadRequest("Missing required key: selector", error="missing_required_key")
    match = compile_selector(query["selector"])
    partial = _partial_filter(state, db, query.get("use_index"))
    if partial is not None:
        # The index CouchDB is told to use holds only documents passing its
        # partial_filter_selector, so the query sees only those.
        selector_match, partial_match = match, compile_selector(partial)

        def match(doc: Any) -> bool:
            return bool(selector_match(doc) and partial_match(doc))

    sort = parse_sort(query.get("sort"))
    limit = number(query, "limit", 25)
    skip = number(query, "skip", 0) or 0
    fields = query.get("fields")
    if fields is not None and (
        not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
    ):
        raise BadRequest("fields must be an array of strings", error="invalid_fields")
    conflicts = flag(query, "conflicts")
    after = _decode_bookmark(query.get("bookmark"))
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        check_partition(meta, partition)
    page: list[tuple[Any, dict[str, Any]]]
    if sort:
        matches, examined = _sorted_matches(
            state,
            db,
            meta,
            {"$and": [query["selector"], partial or {}]},
            sort,
            match,
            conflicts,
            partition,
        )
        descending = sort[0][2]
        positions = [position for position, _ in matches]
        try:
            if after is None:
                start, stop = 0, len(matches)
            elif descending:
                start, stop = 0, bisect.bisect_left(positions, after)
            else:
                start, stop = bisect.bisect_right(positions, after), len(matches)
        except TypeError as exc:
            raise BadRequest("Invalid bookmark value", error="invalid_bookmark") from exc
        window = matches[start:stop]
        if descending:
            window = window[::-1]
        page = window[skip:]
        if limit is not None:
            page = page[:limit]
        # The cached documents stay private: hand out copies.
        page = [(position, json.loads(dumps(doc))) for position, doc in page]
    else:
        page, examined = _unsorted_page(
            state, db, query["selector"], match, after, skip, limit, conflicts, partition
        )
    docs = [project(doc, fields) for _, doc in page]
    # An empty page hands back the bookmark it was given, as CouchDB does.
    bookmark = _encode_bookmark(page[-1][0]) if page else str(query.get("bookmark") or "nil")
    body: dict[str, Any] = {"docs": docs, "bookmark": bookmark}
    if not _index_covers(state, db, query["selector"], sort):
        body["warning"] = _NO_INDEX_WARNING
    if flag(query, "execution_stats"):
        body["execution_stats"] = {
            "total_keys_examined": 0,
            "total_docs_examined": examined,
            "total_quorum_docs_examined": 0,
            "results_returned": len(docs),
            "execution_time_ms": 0.0,
        }
    return body


def _conflicts_of(info: DocInfo) -> list[str]:
    return [r for r in info.tree.leaves()[1:] if not info.tree.is_deleted(r)]


def _unsorted_page(
    state: EngineState,
    db: str,
    selector: Any,
    match: Any,
    after: Any,
    skip: int,
    limit: int | None,
    conflicts: bool,
    partition: str | None,
) -> tuple[list[tuple[Any, dict[str, Any]]], int]:
    """Matches in id order after the bookmark's id, reading no further than needed."""
    lo, lo_incl, hi, hi_incl = _id_bounds(selector)
    if isinstance(after, str) and (lo is None or after >= lo):
        lo, lo_incl = after, False  # resume right after the bookmark, not from the start
    elif after is not None and not isinstance(after, str):
        raise BadRequest("Invalid bookmark value", error="invalid_bookmark")
    stop = None if limit is None else limit + skip
    results: list[tuple[Any, dict[str, Any]]] = []
    examined = 0
    for info, doc in iter_docs(state, db, partition=partition, bounds=(lo, lo_incl, hi, hi_incl)):
        if stop is not None and len(results) >= stop:
            break
        examined += 1
        if not match(doc):
            continue
        if conflicts and _conflicts_of(info):
            doc["_conflicts"] = _conflicts_of(info)
        results.append((info.id, doc))
    page = results[skip:]
    return (page if limit is None else page[:limit]), examined


def _sorted_matches(
    state: EngineState,
    db: str,
    meta: DbMeta,
    selector: Any,
    sort: list[tuple[list[str], str, bool]],
    match: Any,
    conflicts: bool,
    partition: str | None,
) -> tuple[list[tuple[Any, dict[str, Any]]], int]:
    """Every match as ``(position, doc)`` in ascending sort order, and how many were read.

    Kept per database state like a view index, so paging a sorted query by
    bookmark reads the database once, not once per page.
    """
    cache_key = (
        "find",
        db,
        meta.handle,
        partition,
        dumps(selector),
        dumps([[name, desc] for _, name, desc in sort]),
        conflicts,
    )
    cached: _Matches | None = state.view_cache.get(cache_key, meta.update_seq)
    if cached is not None:
        return cached.rows, 0
    lo, lo_incl, hi, hi_incl = _id_bounds(selector)
    matches: list[tuple[Any, dict[str, Any]]] = []
    examined = 0
    for info, doc in iter_docs(state, db, partition=partition, bounds=(lo, lo_incl, hi, hi_incl)):
        examined += 1
        if not match(doc):
            continue
        values = [get_field(doc, path) for path, _, _ in sort]
        if any(v is MISSING for v in values):
            continue  # CouchDB's json index holds only documents with every sort field
        # _id sorts raw (it is _all_docs order), everything else by collation.
        keys = [
            raw_sort_key(v) if path == ["_id"] else sort_key(v)
            for v, (path, _, _) in zip(values, sort, strict=True)
        ]
        if conflicts and _conflicts_of(info):
            doc["_conflicts"] = _conflicts_of(info)
        matches.append(((keys, info.id), doc))
    matches.sort(key=lambda item: item[0])
    state.view_cache.put(cache_key, meta.update_seq, _Matches(matches))
    return matches, examined


class _Matches:
    """A cached sorted ``_find`` result (stored beside view indexes)."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple[Any, dict[str, Any]]]) -> None:
        self.rows = rows


def _partial_filter(state: EngineState, db: str, use_index: Any) -> Any:
    """The ``partial_filter_selector`` of the index ``use_index`` names, if it has one."""
    if use_index is None:
        return None
    if isinstance(use_index, str):
        ddoc, _, name = use_index.partition("/")  # "ddoc" or "ddoc/name"
        if ddoc == "_design" and name:
            ddoc, _, name = name.partition("/")
            ddoc = "_design/" + ddoc
    elif (
        isinstance(use_index, list)
        and 1 <= len(use_index) <= 2
        and all(isinstance(p, str) for p in use_index)
    ):
        ddoc, name = use_index[0], (use_index[1] if len(use_index) == 2 else "")
    else:
        raise BadRequest("use_index must be a string or a list of strings", error="bad_request")
    ddoc = ddoc if ddoc.startswith("_design/") else "_design/" + ddoc
    for index in get_indexes(state, db)["indexes"]:
        if index["ddoc"] == ddoc and (not name or index["name"] == name):
            return index["def"].get("partial_filter_selector")
    return None


def _id_bounds(selector: Any) -> tuple[str | None, bool, str | None, bool]:
    """An id range implied by top-level ``_id`` conditions (the selector still decides)."""
    lo: str | None = None
    hi: str | None = None
    lo_incl = hi_incl = True
    conditions: list[Any] = []
    if isinstance(selector, dict):
        conditions.append(selector.get("_id"))
        for item in selector.get("$and") or []:
            if isinstance(item, dict):
                conditions.append(item.get("_id"))
    for cond in conditions:
        if isinstance(cond, str):
            cond = {"$eq": cond}
        if not isinstance(cond, dict):
            continue
        for op, arg in cond.items():
            if not isinstance(arg, str):
                continue
            if op in ("$eq", "$gt", "$gte") and (
                lo is None or arg > lo or (arg == lo and op == "$gt")
            ):
                lo, lo_incl = arg, op != "$gt"
            if op in ("$eq", "$lt", "$lte") and (
                hi is None or arg < hi or (arg == hi and op == "$lt")
            ):
                hi, hi_incl = arg, op != "$lt"
    return lo, lo_incl, hi, hi_incl


def _index_covers(
    state: EngineState, db: str, selector: Any, sort: list[tuple[list[str], str, bool]]
) -> bool:
    """Whether a user index would serve this query on CouchDB (decides the warning)."""
    names = set(selector) if isinstance(selector, dict) else set()
    for index in get_indexes(state, db)["indexes"]:
        if index["type"] != "json":
            continue
        fields = [next(iter(f)) for f in index["def"]["fields"]]
        if fields and all(f in names or f in {s[1] for s in sort} for f in fields[:1]):
            return True
    return False


def _encode_bookmark(position: Any) -> str:
    return base64.urlsafe_b64encode(dumps({"p": _jsonable(position)}).encode()).decode()


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"t": [_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _unjson(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return tuple(_unjson(v) for v in value["t"])
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    return value


def _decode_bookmark(bookmark: Any) -> Any:
    if bookmark is None or bookmark == "nil":
        return None
    try:
        return _unjson(json.loads(base64.urlsafe_b64decode(str(bookmark).encode()))["p"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"Invalid bookmark value: {bookmark}", error="invalid_bookmark") from exc
