"""Queries over the local engine: ``_all_docs``, Mango (``_find`` and indexes), Python views.

Each function takes the :class:`~.engine.Engine` first; the engine's methods of
the same names delegate here.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import BadRequest, Conflict, DocumentNotFound, NotFound, NotSupported
from .collation import raw_sort_key, sort_key, type_rank
from .mango import MISSING, compile_selector, get_field, parse_sort, project
from .storage import DbMeta, DocInfo, Txn
from .util import PAGE, conflict, dumps, flag, number, partition_bounds
from .views import ViewIndex, emit_rows, query_rows

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["all_docs", "create_index", "delete_index", "find", "get_indexes", "python_view"]

_NO_INDEX_WARNING = "No matching index found, create an index to optimize query time."


def all_docs(
    engine: Engine,
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
    with engine.storage.read() as txn:
        meta = engine._db(txn, db)
        engine._check_partition(meta, partition)
        if partition is not None:
            plo, phi = partition_bounds(partition)
            total = txn.count_ids(meta, plo, True, phi, False)[0]
        else:
            total = txn.count_ids(meta, None, True, None, True)[0]
        if keys is not None:
            rows = _all_docs_keys(engine, txn, meta, keys, include_docs, opts, partition)
            if descending:
                rows.reverse()
            rows = rows[skip:]
            if limit is not None:
                rows = rows[:limit]
            body: dict[str, Any] = {"total_rows": total, "offset": None, "rows": rows}
            if flag(params, "update_seq"):
                body["update_seq"] = None
            return body
        bounds = _id_range(engine, params, descending, partition)
        if bounds is None:
            infos: list[DocInfo] = []
            offset = total
        else:
            lo, lo_incl, hi, hi_incl = bounds
            want = PAGE * 1000 if limit is None else limit + skip
            infos = (
                txn.scan_ids(
                    meta,
                    lo,
                    lo_incl,
                    hi,
                    hi_incl,
                    descending=descending,
                    limit=want,
                    include_deleted=False,
                )
                if want > 0
                else []
            )
            infos = infos[skip:]
            if limit is None and len(infos) + skip >= want:
                # An unbounded listing larger than one scan: keep reading.
                more = _scan_all(engine, txn, meta, lo, lo_incl, hi, hi_incl, descending, infos)
                infos.extend(more)
            offset = _offset(engine, txn, meta, bounds, descending, partition) + skip
        docs = engine._winner_docs(txn, meta, infos, opts) if include_docs else {}
        rows = []
        for info in infos:
            row: dict[str, Any] = {"id": info.id, "key": info.id, "value": {"rev": info.winner}}
            if include_docs:
                row["doc"] = docs.get(info.id)
            rows.append(row)
        body = {"total_rows": total, "offset": min(offset, total), "rows": rows}
        if flag(params, "update_seq"):
            body["update_seq"] = meta.update_seq
        return body


def _scan_all(
    engine: Engine,
    txn: Txn,
    meta: DbMeta,
    lo: str | None,
    lo_incl: bool,
    hi: str | None,
    hi_incl: bool,
    descending: bool,
    got: list[DocInfo],
) -> list[DocInfo]:
    out: list[DocInfo] = []
    last = got[-1].id if got else None
    while last is not None:
        if descending:
            page = txn.scan_ids(
                meta,
                lo,
                lo_incl,
                last,
                False,
                descending=True,
                limit=PAGE,
                include_deleted=False,
            )
        else:
            page = txn.scan_ids(
                meta,
                last,
                False,
                hi,
                hi_incl,
                descending=False,
                limit=PAGE,
                include_deleted=False,
            )
        out.extend(page)
        last = page[-1].id if len(page) == PAGE else None
    return out


def _offset(
    engine: Engine,
    txn: Txn,
    meta: DbMeta,
    bounds: tuple[str | None, bool, str | None, bool],
    descending: bool,
    partition: str | None,
) -> int:
    lo, lo_incl, hi, hi_incl = bounds
    plo, phi = partition_bounds(partition) if partition is not None else (None, None)
    if not descending:
        if lo is None:
            return 0
        return txn.count_ids(meta, plo, True, lo, not lo_incl)[0]
    if hi is None:
        return 0
    return txn.count_ids(meta, hi, not hi_incl, phi, False)[0]


def _id_range(
    engine: Engine, params: Mapping[str, Any], descending: bool, partition: str | None
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
    if partition is not None:
        plo, phi = partition_bounds(partition)
        if lo is None or lo < plo:
            lo, lo_incl = plo, True
        if hi is None or hi >= phi:
            hi, hi_incl = phi, False
    if lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_incl and hi_incl))):
        return None
    return lo, lo_incl, hi, hi_incl


def _all_docs_keys(
    engine: Engine,
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
    docs = engine._winner_docs(txn, meta, live, opts) if include_docs else {}
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


def find(
    engine: Engine, db: str, query: Mapping[str, Any], *, partition: str | None = None
) -> dict[str, Any]:
    """``_find``: selector, fields, sort, limit (default 25), skip, bookmark."""
    if not isinstance(query, Mapping):
        raise BadRequest("Query must be a JSON object", error="bad_request")
    if "selector" not in query:
        raise BadRequest("Missing required key: selector", error="missing_required_key")
    match = compile_selector(query["selector"])
    partial = _partial_filter(engine, db, query.get("use_index"))
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
    with engine.storage.read() as txn:
        meta = engine._db(txn, db)
        engine._check_partition(meta, partition)
    page: list[tuple[Any, dict[str, Any]]]
    if sort:
        matches, examined = _sorted_matches(
            engine,
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
            engine, db, query["selector"], match, after, skip, limit, conflicts, partition
        )
    docs = [project(doc, fields) for _, doc in page]
    # An empty page hands back the bookmark it was given, as CouchDB does.
    bookmark = _encode_bookmark(page[-1][0]) if page else str(query.get("bookmark") or "nil")
    body: dict[str, Any] = {"docs": docs, "bookmark": bookmark}
    if not _index_covers(engine, db, query["selector"], sort):
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
    engine: Engine,
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
    for info, doc in engine.iter_docs(db, partition=partition, bounds=(lo, lo_incl, hi, hi_incl)):
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
    engine: Engine,
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
    cached: _Matches | None = engine.view_cache.get(cache_key, meta.update_seq)
    if cached is not None:
        return cached.rows, 0
    lo, lo_incl, hi, hi_incl = _id_bounds(selector)
    matches: list[tuple[Any, dict[str, Any]]] = []
    examined = 0
    for info, doc in engine.iter_docs(db, partition=partition, bounds=(lo, lo_incl, hi, hi_incl)):
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
    engine.view_cache.put(cache_key, meta.update_seq, _Matches(matches))
    return matches, examined


class _Matches:
    """A cached sorted ``_find`` result (stored beside view indexes)."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple[Any, dict[str, Any]]]) -> None:
        self.rows = rows


def _partial_filter(engine: Engine, db: str, use_index: Any) -> Any:
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
    for index in get_indexes(engine, db)["indexes"]:
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
    engine: Engine, db: str, selector: Any, sort: list[tuple[list[str], str, bool]]
) -> bool:
    """Whether a user index would serve this query on CouchDB (decides the warning)."""
    names = set(selector) if isinstance(selector, dict) else set()
    for index in get_indexes(engine, db)["indexes"]:
        if index["type"] != "json":
            continue
        fields = [next(iter(f)) for f in index["def"]["fields"]]
        if fields and all(f in names or f in {s[1] for s in sort} for f in fields[:1]):
            return True
    return False


def create_index(engine: Engine, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
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
    ddoc_id = ddoc if ddoc.startswith("_design/") else "_design/" + ddoc
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
            current: dict[str, Any] = engine.get_doc(db, ddoc_id)
        except DocumentNotFound:
            current = {"_id": ddoc_id, "language": "query", "views": {}}
        views = current.setdefault("views", {})
        if views.get(name) == view:
            return {"result": "exists", "id": ddoc_id, "name": name}
        views[name] = view
        current["language"] = "query"
        try:
            engine.put_doc(db, current)
        except Conflict:
            continue  # someone else changed the design document: read it again
        return {"result": "created", "id": ddoc_id, "name": name}
    raise conflict()


def get_indexes(engine: Engine, db: str) -> dict[str, Any]:
    """``GET /db/_index``, the special ``_all_docs`` index first."""
    indexes: list[dict[str, Any]] = [
        {
            "ddoc": None,
            "name": "_all_docs",
            "type": "special",
            "def": {"fields": [{"_id": "asc"}]},
        }
    ]
    with engine.storage.read() as txn:
        meta = engine._db(txn, db)
        infos = txn.scan_ids(
            meta,
            "_design/",
            True,
            "_design0",
            False,
            descending=False,
            limit=10**9,
            include_deleted=False,
        )
        docs = engine._winner_docs(txn, meta, infos, {})
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
    engine: Engine, db: str, ddoc: str, name: str, *, index_type: str = "json"
) -> dict[str, Any]:
    """Remove one index (and its design document when it was the last)."""
    ddoc_id = ddoc if ddoc.startswith("_design/") else "_design/" + ddoc
    for _ in range(10):
        try:
            current: dict[str, Any] = engine.get_doc(db, ddoc_id)
        except DocumentNotFound as exc:
            raise NotFound("Index not found", error="not_found") from exc
        views = current.get("views") or {}
        if index_type != "json" or name not in views or current.get("language") != "query":
            raise NotFound("Index not found", error="not_found")
        del views[name]
        try:
            if views:
                engine.put_doc(db, current)
            else:
                engine.delete_doc(db, ddoc_id, current["_rev"])
        except Conflict:
            continue
        return {"ok": True}
    raise conflict()


def python_view(
    engine: Engine,
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
    with engine.storage.read() as txn:
        meta = engine._db(txn, db)
        engine._check_partition(meta, partition)
        update_seq = meta.update_seq
    # The built index is kept while the database does not change, so paging
    # through a view costs one map pass, not one per page. A map function must
    # be pure, as CouchDB requires.
    cache_key = (db, meta.handle, partition, map_fn)
    index: ViewIndex | None = engine.view_cache.get(cache_key, update_seq)
    if index is None:
        rows = []
        for _, doc in engine.iter_docs(db, partition=partition):
            rows.extend(emit_rows(map_fn, doc))
        index = ViewIndex(rows)
        engine.view_cache.put(cache_key, update_seq, index)
    result = query_rows(index, params, reduce=reduce, keys=keys)
    if flag(params, "include_docs") and "total_rows" in result:
        _include_docs(engine, db, result["rows"])
    if flag(params, "update_seq"):
        result["update_seq"] = update_seq
    return result


def _include_docs(engine: Engine, db: str, rows: list[dict[str, Any]]) -> None:
    """Add ``doc`` to view rows; a value with an ``_id`` links that document (as CouchDB)."""

    def target(row: dict[str, Any]) -> str:
        value = row.get("value")
        if isinstance(value, dict) and isinstance(value.get("_id"), str):
            return str(value["_id"])
        return str(row["id"])

    wanted = list(dict.fromkeys(target(row) for row in rows))
    with engine.storage.read() as txn:
        meta = engine._db(txn, db)
        infos = txn.load_docs(meta, wanted)
        live = [info for info in infos.values() if not info.deleted]
        docs = engine._winner_docs(txn, meta, live, {})
    for row in rows:
        row["doc"] = docs.get(target(row))


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
