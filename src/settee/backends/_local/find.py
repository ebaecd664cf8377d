"""Mango ``_find`` and ``_explain``: selector, sort, paging by bookmark, json indexes.

Each function takes the :class:`~.state.EngineState` first; the backend's methods
of the same names call them.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from settee.backends._local import jsonindex
from settee.backends._local.mango import compile_selector, parse_sort, project
from settee.backends._local.reads import render, winner_docs
from settee.backends._local.state import EngineState, check_partition, open_db
from settee.backends._local.storage import DbMeta, DocInfo, Txn
from settee.backends._local.util import PAGE, dumps, flag, number, within_partition
from settee.errors import BadRequest

__all__ = ["explain", "find"]

_NO_INDEX_WARNING = "No matching index found, create an index to optimize query time."
_PLAIN: Mapping[str, bool] = {}


@contextlib.contextmanager
def _planned(
    state: EngineState, db: str, request: _Request, partition: str | None
) -> Iterator[tuple[Txn, DbMeta, jsonindex.Plan, list[jsonindex.IndexDef]]]:
    """A read snapshot of ``db`` and the plan :func:`.jsonindex.plan` makes for
    ``request`` in it (over the built indexes), with every defined index."""
    jsonindex.ensure(state, db)
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        check_partition(meta, partition)
        built, unbuilt = jsonindex.usable_indexes(txn, meta)
        chosen = jsonindex.plan(built, request.selector, request.sort, request.use_index)
        yield txn, meta, chosen, built + unbuilt


def find(
    state: EngineState, db: str, query: Mapping[str, Any], *, partition: str | None = None
) -> dict[str, Any]:
    """``_find``: selector, fields, sort, limit (default 25), skip, bookmark, use_index.

    The page is read in one snapshot, through the index :func:`.jsonindex.plan`
    picks: the rows read are those of the page plus the ones the selector
    refuses on the way. ``BadRequest`` ``no_usable_index`` for a sort no index serves.
    """
    request = _Request(query)
    with _planned(state, db, request, partition) as (txn, meta, chosen, indexes):
        match = request.matcher(indexes)
        if chosen.index is not None:
            page, examined, keys = _index_page(txn, meta, chosen, request, match, partition)
        else:
            page, examined, keys = _id_page(txn, meta, chosen, request, match, partition)
    docs = [project(doc, request.fields) for _, doc in page]
    # An empty page hands back the bookmark it was given, as CouchDB does.
    bookmark = _encode_bookmark(page[-1][0]) if page else str(query.get("bookmark") or "nil")
    body: dict[str, Any] = {"docs": docs, "bookmark": bookmark}
    if chosen.warning is not None:
        body["warning"] = chosen.warning
    elif chosen.index is None:
        body["warning"] = _NO_INDEX_WARNING
    if flag(query, "execution_stats"):
        body["execution_stats"] = {
            "total_keys_examined": keys,
            "total_docs_examined": examined,
            "total_quorum_docs_examined": 0,
            "results_returned": len(docs),
            "execution_time_ms": 0.0,
        }
    return body


def explain(
    state: EngineState, db: str, query: Mapping[str, Any], *, partition: str | None = None
) -> dict[str, Any]:
    """``_explain``: the index a ``_find`` would read (CouchDB's shape: ``index``,
    ``selector``, ``opts``, ``limit``, ``skip``, ``fields``, ``mrargs``)."""
    request = _Request(query)
    with _planned(state, db, request, partition) as (_, meta, chosen, _):
        partitioned = meta.partitioned
    if chosen.index is None:
        index: dict[str, Any] = {
            "ddoc": None,
            "name": "_all_docs",
            "type": "special",
            "def": {"fields": [{"_id": "asc"}]},
        }
    else:
        index = {
            "ddoc": chosen.index.ddoc,
            "name": chosen.index.name,
            "type": "json",
            "partitioned": partitioned,
            "def": chosen.index.definition,
        }
    return {
        "dbname": db,
        "index": index,
        "partitioned": partition is not None,
        "selector": request.selector,
        "opts": {
            "use_index": query.get("use_index") or [],
            "bookmark": query.get("bookmark") or "nil",
            "limit": request.limit,
            "skip": request.skip,
            "sort": {name: "desc" if desc else "asc" for _, name, desc in request.sort},
            "fields": request.fields or [],
            "conflicts": request.conflicts,
        },
        "limit": request.limit,
        "skip": request.skip,
        "fields": request.fields or "all_fields",
        "mrargs": {
            "start_key": chosen.start_key,
            "end_key": chosen.end_key,
            "direction": "rev" if chosen.descending else "fwd",
            "include_docs": True,
        },
        "covering": False,
    }


class _Request:
    """A validated ``_find`` body."""

    def __init__(self, query: Mapping[str, Any]) -> None:
        if not isinstance(query, Mapping):
            raise BadRequest("Query must be a JSON object", error="bad_request")
        if "selector" not in query:
            raise BadRequest("Missing required key: selector", error="missing_required_key")
        self.selector = query["selector"]
        self.match = compile_selector(self.selector)
        self.sort = parse_sort(query.get("sort"))
        self.limit = number(query, "limit", 25)
        self.skip = number(query, "skip", 0) or 0
        fields = query.get("fields")
        if fields is not None and (
            not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
        ):
            raise BadRequest("fields must be an array of strings", error="invalid_fields")
        self.fields: list[str] | None = fields
        self.conflicts = flag(query, "conflicts")
        self.after = _decode_bookmark(query.get("bookmark"))
        self.use_index = query.get("use_index")

    def matcher(self, indexes: list[jsonindex.IndexDef]) -> Any:
        """The selector, and the ``partial_filter_selector`` of the index use_index names:
        that index holds only the documents passing it, so the query sees only those."""
        named = jsonindex.named_index(indexes, self.use_index)
        if named is None or named.partial is None:
            return self.match
        selector_match, partial_match = self.match, compile_selector(named.partial)

        def match(doc: Any) -> bool:
            return bool(selector_match(doc) and partial_match(doc))

        return match

    @property
    def wanted(self) -> int | None:
        return None if self.limit is None else self.limit + self.skip


def _conflicts_of(info: DocInfo) -> list[str]:
    return [r for r in info.tree.leaves()[1:] if not info.tree.is_deleted(r)]


def _accept(
    info: DocInfo, doc: dict[str, Any] | None, request: _Request, match: Any
) -> dict[str, Any] | None:
    if doc is None or not match(doc):
        return None
    if request.conflicts and _conflicts_of(info):
        doc["_conflicts"] = _conflicts_of(info)
    return doc


#: A document a read found: (its bookmark, its info, its body or None when unreadable).
_Candidate = tuple[Any, DocInfo, "dict[str, Any] | None"]


def _collect(
    request: _Request,
    match: Any,
    read: Callable[[int], tuple[int, Iterator[_Candidate]]],
) -> tuple[list[tuple[Any, dict[str, Any]]], int, int]:
    """The page of ``request``: matches from successive ``read(n)`` calls (each reads up
    to ``n`` rows on from the last and says how many it read) until the page is full
    or a read comes up short. ``(page, docs examined, keys examined)``."""
    stop = request.wanted
    results: list[tuple[Any, dict[str, Any]]] = []
    examined = keys = 0
    first = True
    while stop is None or len(results) < stop:
        # The first read takes no more rows than the page needs, so a page of 1,001
        # does not load 2,000 documents; if the selector refused some, the next reads
        # take whole pages (never one row per statement).
        want = PAGE if stop is None or not first else min(PAGE, stop - len(results))
        first = False
        count, found = read(want)
        keys += count
        for bookmark, info, doc in found:
            if stop is not None and len(results) >= stop:
                break
            examined += 1
            accepted = _accept(info, doc, request, match)
            if accepted is not None:
                results.append((bookmark, accepted))
        if count < want:
            break
    page = results[request.skip :]
    return (page if request.limit is None else page[: request.limit]), examined, keys


def _id_page(
    txn: Txn,
    meta: DbMeta,
    chosen: jsonindex.Plan,
    request: _Request,
    match: Any,
    partition: str | None,
) -> tuple[list[tuple[Any, dict[str, Any]]], int, int]:
    """Matches in id order (``_all_docs``) after the bookmark's id, reading no further
    than needed: ``(page, docs examined, keys examined)``."""
    lo, lo_incl, hi, hi_incl = within_partition(_id_bounds(request.selector), partition)
    after = request.after
    if after is not None and not isinstance(after, str):
        raise BadRequest("Invalid bookmark value", error="invalid_bookmark")
    if isinstance(after, str):
        # Resume right after the bookmark, not from the start.
        if chosen.descending and (hi is None or after <= hi):
            hi, hi_incl = after, False
        elif not chosen.descending and (lo is None or after >= lo):
            lo, lo_incl = after, False

    def read(want: int) -> tuple[int, Iterator[_Candidate]]:
        nonlocal lo, lo_incl, hi, hi_incl
        infos = txn.scan_ids(
            meta,
            lo,
            lo_incl,
            hi,
            hi_incl,
            descending=chosen.descending,
            limit=want,
            include_deleted=False,
        )
        if infos:  # the next read starts after this one's last id
            if chosen.descending:
                hi, hi_incl = infos[-1].id, False
            else:
                lo, lo_incl = infos[-1].id, False
        wanted = [info for info in infos if not info.id.startswith("_design/")]
        docs = winner_docs(txn, meta, wanted, {})
        return len(infos), ((info.id, info, docs.get(info.id)) for info in wanted)

    return _collect(request, match, read)


def _index_page(
    txn: Txn,
    meta: DbMeta,
    chosen: jsonindex.Plan,
    request: _Request,
    match: Any,
    partition: str | None,
) -> tuple[list[tuple[Any, dict[str, Any]]], int, int]:
    """Matches in index order after the bookmark's row: ``(page, docs examined, keys
    examined)``."""
    assert chosen.index is not None
    after = request.after
    if after is not None:
        if not (
            isinstance(after, list)
            and len(after) == 2
            and all(isinstance(part, str) for part in after)
        ):
            raise BadRequest("Invalid bookmark value", error="invalid_bookmark")
        try:
            position: tuple[bytes, str] | None = (bytes.fromhex(after[0]), after[1])
        except ValueError as exc:
            raise BadRequest("Invalid bookmark value", error="invalid_bookmark") from exc
    else:
        position = None
    prefix = None if partition is None else partition + ":"
    index = chosen.index

    def candidates(rows: list[Any]) -> Iterator[_Candidate]:
        for (key, docid), found in rows:
            if found is None or (prefix is not None and not docid.startswith(prefix)):
                continue
            info, text = found
            if info.deleted:
                continue
            # Rendered only when the loop gets this far (not past the page's end).
            doc = render(info, info.winner, text, _PLAIN) if text is not None else None
            yield [key.hex(), docid], info, doc

    def read(want: int) -> tuple[int, Iterator[_Candidate]]:
        nonlocal position
        rows = txn.index_winners(
            meta,
            index.key,
            chosen.lo,
            chosen.hi,
            descending=chosen.descending,
            limit=want,
            after=position,
        )
        if rows:  # the next read starts after this one's last row
            position = rows[-1][0]
        return len(rows), candidates(rows)

    return _collect(request, match, read)


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
