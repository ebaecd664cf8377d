"""View queries on the local engine: Python map functions and design documents.

Both kinds are indexes (:mod:`.views`): built once, then brought up to date
from the changes since the seq they reflect, so a query after one write
costs that write's map, not a rebuild.

* A design document's views (JavaScript, run by :mod:`.js`) are one group per
  design document signature (its language, views and options): SQLite keeps
  the rows in tables of the store's file, updated in a write transaction
  together with the seq they reflect, so a crash never leaves them ahead of
  or behind their documents; a memory database (or a read-only SQLite file)
  keeps them in sorted lists. A changed design document is a new signature:
  its index is built afresh and the old one dropped.
* A Python map function is a group of its own, in memory, for as long as the
  same function object is queried (the few most recent are kept).

``update=false`` (``stale=ok``) answers from the index as it is;
``update=lazy`` (``stale=update_after``) answers, then brings it up to date.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from settee._validate import design_doc_id
from settee.backends._local import js
from settee.backends._local.reads import render, winner_docs
from settee.backends._local.state import EngineState, check_partition, design_infos, open_db
from settee.backends._local.storage import DbMeta, Txn
from settee.backends._local.util import PAGE, flag
from settee.backends._local.views import (
    BUILTIN_REDUCES,
    MemoryGroup,
    ReduceFn,
    SQLiteGroup,
    ViewGroup,
    builtin_reduce,
    check_query,
    current_map_rows,
    query_view,
)
from settee.errors import BadRequest, DocumentNotFound, NotFound, NotSupported, SetteeError

__all__ = ["design_view", "follow_writes", "python_view", "refresh", "view_cleanup"]

#: Changes one write transaction of a SQLite view build takes on at most.
_BUILD_BUDGET = 10 * PAGE

#: ``mapper(docs)``: for each document, for each view, its ``(key, value)`` pairs.
Mapper = Callable[[list[dict[str, Any]]], Sequence[Sequence[Sequence[tuple[Any, Any]]]]]


def refresh(
    txn: Txn,
    meta: DbMeta,
    group: ViewGroup,
    mapper: Mapper,
    accept: Callable[[str], bool],
    *,
    budget: int | None = None,
) -> bool:
    """Bring ``group`` from its seq towards ``meta.update_seq``: the rows of every document
    changed since are replaced by what ``mapper`` emits for it (nothing when deleted or
    not ``accept``-ed). With a ``budget``, stop after about that many changes (the group's
    seq then says how far it got); True once up to date."""
    since = group.seq
    if since >= meta.update_seq:
        group.finish()  # a build may have stopped right at the last change
        return True
    done = 0
    while True:
        if budget is not None and done >= budget:
            group.set_seq(since)
            return False
        infos = txn.scan_seqs(meta, since, before=None, descending=False, limit=PAGE)
        if not infos:
            break
        live = [i for i in infos if not i.deleted and accept(i.id)]
        bodies = txn.load_bodies(meta, [(i.id, i.winner) for i in live])
        docs = [
            render(i, i.winner, bodies[(i.id, i.winner)], {})
            for i in live
            if (i.id, i.winner) in bodies
        ]
        emitted = mapper(docs) if docs else []
        group.replace(
            [i.id for i in infos],
            {doc["_id"]: rows for doc, rows in zip(docs, emitted, strict=True)},
        )
        since = infos[-1].seq
        done += len(infos)
        if len(infos) < PAGE:
            break
    group.set_seq(meta.update_seq)
    group.finish()
    return True


def follow_writes(state: EngineState, txn: Txn, meta: DbMeta, before: int) -> None:
    """Inside a write transaction that took ``meta`` from seq ``before`` to its
    ``update_seq``: bring the design-document view groups that were up to date at
    ``before`` up to date with the write, as SQLite keeps its own indexes, so a
    query after a write reads the index without writing.

    A group that was behind, or whose design document this write changed (a new
    signature), or whose functions fail here (no ``settee[js]``, a compilation
    error, a runaway map) is left as it was: its next query brings it up to date,
    or reports the error, exactly as without this step.
    """
    if not js.available():
        return
    conn = _sql(txn)
    if conn is None:
        for ddoc, sig, group in state.views.designs(meta.name, meta.handle):
            design = _live_design(txn, meta, ddoc, sig)
            if design is None or group.seq != before:
                continue
            with group.lock:
                if group.seq != before:
                    continue
                try:
                    design.compile()
                    refresh(txn, meta, group, design.mapper, design.accept)
                except SetteeError:
                    continue  # replaying a document is harmless: the next query redoes it
        return
    try:
        found = conn.execute(
            "SELECT gid, ddoc, sig, blocks_ok FROM settee_view_groups WHERE dbid = ? AND seq = ?",
            (meta.handle, before),
        ).fetchall()
    except sqlite3.OperationalError:
        return  # no view tables in this file yet: no view was ever built
    for gid, ddoc, sig, blocks_ok in found:
        design = _live_design(txn, meta, ddoc, sig)
        if design is None:
            continue
        stored = SQLiteGroup(conn, int(gid), before, len(design.names), int(blocks_ok))
        conn.execute("SAVEPOINT settee_follow")
        try:
            design.compile()
            refresh(txn, meta, stored, design.mapper, design.accept)
        except SetteeError:
            conn.execute("ROLLBACK TO settee_follow")
        conn.execute("RELEASE settee_follow")


def _live_design(txn: Txn, meta: DbMeta, ddoc_id: str, sig: str) -> _Design | None:
    """The JavaScript design document ``ddoc_id`` as stored now, if its signature is ``sig``."""
    winner = txn.load_winners(meta, [ddoc_id]).get(ddoc_id)
    if winner is None or winner[0].deleted or winner[1] is None:
        return None
    try:
        design = _parsed_design(ddoc_id, winner[1])
    except (BadRequest, ValueError):
        return None
    if design.sig != sig or design.language != "javascript":
        return None
    return design


def _clean(
    params: Mapping[str, Any] | None, keys: Sequence[Any] | None
) -> tuple[dict[str, Any], Any]:
    out = {k: v for k, v in (params or {}).items() if v is not None}
    if keys is None and "keys" in out:
        keys = out.pop("keys")
    return out, keys


def _update_mode(params: Mapping[str, Any]) -> str:
    """``"true"``, ``"false"`` or ``"lazy"`` from ``update`` / ``stale``."""
    update = params.get("update")
    stale = params.get("stale")
    if stale is not None:
        if stale == "ok":
            return "false"
        if stale == "update_after":
            return "lazy"
        raise BadRequest(f"Invalid value for stale: {stale!r}", error="query_parse_error")
    if update is None or update is True or update == "true":
        return "true"
    if update is False or update == "false":
        return "false"
    if update == "lazy":
        return "lazy"
    raise BadRequest(f"Invalid value for update: {update!r}", error="query_parse_error")


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
    """Query the index of ``map_fn`` (over every live non-design document)."""
    if not callable(map_fn):
        raise TypeError(f"map_fn must be callable, not {map_fn!r}")
    params, keys = _clean(params, keys)
    reduce_fn = builtin_reduce(reduce) if reduce is not None else None
    mode = _update_mode(params)
    prefix = None if partition is None else partition + ":"

    def accept(docid: str) -> bool:
        return not docid.startswith("_design/") and (prefix is None or docid.startswith(prefix))

    def mapper(docs: list[dict[str, Any]]) -> list[list[list[tuple[Any, Any]]]]:
        return [[_python_pairs(map_fn, doc)] for doc in docs]

    with state.storage.read() as txn:
        meta = open_db(txn, db)
        check_partition(meta, partition)
        # The function object is the view's identity: a map function must be pure,
        # as CouchDB requires.
        group = state.views.python((db, meta.handle, partition, map_fn))
        with group.lock:
            if mode == "true":
                refresh(txn, meta, group, mapper, accept)
            result = query_view(group.source(0), params, reduce=reduce_fn, keys=keys)
            seq = group.seq
            if mode == "lazy":
                refresh(txn, meta, group, mapper, accept)
        if flag(params, "include_docs") and "total_rows" in result:
            _include_docs(txn, meta, result["rows"])
    if flag(params, "update_seq"):
        result["update_seq"] = seq
    return result


def _python_pairs(map_fn: Any, doc: dict[str, Any]) -> list[tuple[Any, Any]]:
    """``map_fn``'s pairs for ``doc``; ``TypeError`` if it yields something else."""
    emitted = map_fn(doc)
    if emitted is None:
        return []
    pairs: list[tuple[Any, Any]] = []
    for pair in emitted:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"a map function must yield (key, value) pairs, got {pair!r}")
        pairs.append((pair[0], pair[1]))
    return pairs


class _Design:
    """What one design document says about its views."""

    def __init__(self, ddoc_id: str, body: Mapping[str, Any]) -> None:
        self.id = ddoc_id
        language = body.get("language", "javascript")
        views = body.get("views") or {}
        if not isinstance(views, Mapping):
            raise BadRequest("`views` must be an object", error="invalid_design_doc")
        self.language = language
        self.names = sorted(views)
        self.maps: list[Any] = []
        self.reduces: list[Any] = []
        for name in self.names:
            view = views[name]
            if not isinstance(view, Mapping) or "map" not in view:
                raise BadRequest(f"View {name} has no map function", error="invalid_design_doc")
            self.maps.append(view["map"])
            self.reduces.append(view.get("reduce"))
        options = body.get("options") or {}
        self.include_design = bool(isinstance(options, Mapping) and options.get("include_design"))
        signed = {"language": language, "views": views, "options": options}
        self.sig = hashlib.md5(
            json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()

    def compile(self) -> None:
        """``BadRequest`` (``compilation_error``) unless every function compiles."""
        for source in self.maps:
            js.compile_function(source)
        for spec in self.reduces:
            if isinstance(spec, str) and not spec.strip().startswith("_"):
                js.compile_function(spec)

    def accept(self, docid: str) -> bool:
        return self.include_design or not docid.startswith("_design/")

    def mapper(self, docs: list[dict[str, Any]]) -> Sequence[Sequence[Sequence[tuple[Any, Any]]]]:
        rows = js.map_docs(self.maps, docs)
        return [[[(k, v) for k, v in per_view] for per_view in per_doc] for per_doc in rows]

    def reducer(self, number: int) -> ReduceFn | None:
        spec = self.reduces[number]
        if spec is None:
            return None
        if isinstance(spec, str) and spec.strip().startswith("_"):
            name = spec.strip()
            if name not in BUILTIN_REDUCES:
                raise BadRequest(
                    f"Builtin reduce function invalid: {name}", error="invalid_design_doc"
                )
            return builtin_reduce(name)
        return lambda keys, values, rereduce: js.reduce_values(spec, keys, values, rereduce)


def _sql(txn: Txn) -> sqlite3.Connection | None:
    """The SQLite connection of ``txn`` (the store's file), or None in memory."""
    conn = getattr(txn, "conn", None)
    return conn if isinstance(conn, sqlite3.Connection) else None


def _load_design(txn: Txn, meta: DbMeta, ddoc: str) -> _Design:
    ddoc_id = design_doc_id(ddoc)
    winner = txn.load_winners(meta, [ddoc_id]).get(ddoc_id)  # record and body in one read
    if winner is None or winner[0].deleted:
        raise DocumentNotFound("missing" if winner is None else "deleted", error="not_found")
    if winner[1] is None:
        raise DocumentNotFound("missing", error="not_found")
    return _parsed_design(ddoc_id, winner[1])


def _up_to_date(
    conn: sqlite3.Connection, meta: DbMeta, ddoc_id: str
) -> tuple[_Design, SQLiteGroup] | None:
    """The design and stored group of ``ddoc_id`` without reading the design document,
    when a group of it is up to date with the database and counted: its signature is
    then the design document's own, since a write changing the design document leaves
    every group of the old signature behind (:func:`follow_writes` brings along only
    groups of the live signature, and database ids are never reused). None otherwise,
    or when this process has not parsed that design yet."""
    found = SQLiteGroup.current(conn, meta.handle, ddoc_id, meta.update_seq)
    if found is None:
        return None
    sig, gid, seq, blocks = found
    design = _SIGNED.get((ddoc_id, sig))
    if design is None:
        return None
    return design, SQLiteGroup(conn, gid, seq, len(design.names), blocks)


def _parsed_design(ddoc_id: str, body: str) -> _Design:
    # A _Design depends on its id and stored text only: keyed by both, a query of an
    # unchanged design document neither parses it nor signs its views again.
    key = (ddoc_id, body)
    design = _DESIGNS.get(key)
    if design is None:
        design = _Design(ddoc_id, json.loads(body))
        if len(_DESIGNS) >= _DESIGNS_MAX:
            _DESIGNS.clear()
            _SIGNED.clear()
        _DESIGNS[key] = design
        _SIGNED[(ddoc_id, design.sig)] = design
    return design


#: Parsed design documents by ``(id, stored JSON text)`` (read-only once made), and the
#: same by ``(id, signature)``.
_DESIGNS: dict[tuple[str, str], _Design] = {}
_SIGNED: dict[tuple[str, str], _Design] = {}
_DESIGNS_MAX = 64


def design_view(
    state: EngineState,
    db: str,
    ddoc: str,
    view: str,
    params: Mapping[str, Any] | None = None,
    *,
    keys: Sequence[Any] | None = None,
    partition: str | None = None,
    counts: bool = True,
) -> dict[str, Any]:
    """Query view ``view`` of ``_design/{ddoc}``: JavaScript run by QuickJS (``settee[js]``).

    ``counts=False``: a map answer leaves out ``total_rows`` and ``offset``."""
    params, keys = _clean(params, keys)
    mode = _update_mode(params)
    read_only = bool(getattr(state.storage, "read_only", False))
    if not counts and keys is None and partition is None and not read_only:
        quick = _current_rows(state, db, ddoc, view, params)
        if quick is not None:
            return quick
    result: dict[str, Any] | None = None
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        check_partition(meta, partition)
        conn = _sql(txn)
        if conn is not None and read_only:
            conn = None  # a read-only file keeps its indexes in memory
        fast = None if conn is None else _up_to_date(conn, meta, design_doc_id(ddoc))
        design = _load_design(txn, meta, ddoc) if fast is None else fast[0]
        if design.language != "javascript":
            raise NotSupported(
                f"The embedded backend runs JavaScript views only, not language "
                f"{design.language!r} ({design.id})."
            )
        if view not in design.names:
            raise NotFound("missing_named_view", error="not_found")
        number = design.names.index(view)
        reduce_fn = design.reducer(number)
        check_query(params, reducible=reduce_fn is not None)
        js.require_js(f"The view {design.id}/_view/{view}")
        design.compile()
        if conn is None:
            group = state.views.design(db, meta.handle, design.id, design.sig, len(design.names))
            with group.lock:
                if mode == "true":
                    refresh(txn, meta, group, design.mapper, design.accept)
                answer = _answer(
                    txn, meta, group, number, params, reduce_fn, keys, partition, counts
                )
                if mode == "lazy":
                    refresh(txn, meta, group, design.mapper, design.accept)
            return answer
        found = (
            SQLiteGroup.find(conn, meta.handle, design.id, design.sig, len(design.names))
            if fast is None
            else fast[1]
        )
        # Up to date (and its rows counted for offset; a file of an older version
        # recounts them once, below): read it as it is.
        current = found is not None and found.seq >= meta.update_seq and found.counted
        if found is not None and current:
            state.views.note_current(db, design.id, meta.handle, found.gid, design.sig)
        if found is not None and (current or mode == "false"):
            return _answer(txn, meta, found, number, params, reduce_fn, keys, partition, counts)
        if found is None and mode == "false":
            empty = MemoryGroup(len(design.names))
            return _answer(txn, meta, empty, number, params, reduce_fn, keys, partition, counts)
        if mode == "lazy" and found is not None:
            result = _answer(txn, meta, found, number, params, reduce_fn, keys, partition, counts)
    # Bringing the index up to date writes its tables: the rows and the seq they
    # reflect commit together, in transactions of at most _BUILD_BUDGET changes so a
    # long build never holds other writers off for long; the last one reads the answer.
    while True:
        with state.storage.write() as txn:
            meta = open_db(txn, db)
            design = _load_design(txn, meta, ddoc)
            if view not in design.names:
                raise NotFound("missing_named_view", error="not_found")
            number = design.names.index(view)
            conn = _sql(txn)
            assert conn is not None
            sql_group = SQLiteGroup.open(
                conn, meta.handle, design.id, design.sig, len(design.names)
            )
            if not refresh(
                txn, meta, sql_group, design.mapper, design.accept, budget=_BUILD_BUDGET
            ):
                continue
            state.views.note_current(db, design.id, meta.handle, sql_group.gid, design.sig)
            if result is None:
                reducer = design.reducer(number)
                result = _answer(
                    txn, meta, sql_group, number, params, reducer, keys, partition, counts
                )
        return result


def _current_rows(
    state: EngineState, db: str, ddoc: str, view: str, params: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The rows of a plain map query in one statement outside any transaction, when
    this process last saw a SQLite group of the design document up to date and it still
    is (:func:`~.views.current_map_rows`); None for the long way, which also reports
    any error (in CouchDB's order: a missing database before a bad option)."""
    select = getattr(state.storage, "select", None)
    ddoc_id = design_doc_id(ddoc)
    hint = state.views.sql_current.get((db, ddoc_id))
    if select is None or hint is None:
        return None
    dbid, gid, sig = hint
    design = _SIGNED.get((ddoc_id, sig))
    if design is None or view not in design.names:
        return None
    number = design.names.index(view)
    try:
        reducible = design.reducer(number) is not None  # BadRequest for a bad built-in
        check_query(params, reducible=reducible)
        if (
            (reducible and flag(params, "reduce", True))
            or flag(params, "include_docs")
            or flag(params, "update_seq")
        ):
            return None
        return current_map_rows(select, db, dbid, ddoc_id, gid, number, params)
    except BadRequest:
        return None


def _answer(
    txn: Txn,
    meta: DbMeta,
    group: ViewGroup,
    number: int,
    params: Mapping[str, Any],
    reduce_fn: ReduceFn | None,
    keys: Sequence[Any] | None,
    partition: str | None,
    counts: bool,
) -> dict[str, Any]:
    prefix = None if partition is None else partition + ":"
    result = query_view(
        group.source(number),
        params,
        reduce=reduce_fn,
        keys=keys,
        docid_filter=None if prefix is None else (lambda docid: docid.startswith(prefix)),
        counts=counts,
    )
    # Map rows only: query_view refuses include_docs with a reduce.
    if flag(params, "include_docs"):
        _include_docs(txn, meta, result["rows"])
    if flag(params, "update_seq"):
        result["update_seq"] = group.seq
    return result


def view_cleanup(state: EngineState, db: str) -> dict[str, Any]:
    """Drop the indexes of design documents (or signatures) that are gone."""
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        current = _current_designs(txn, meta)
        conn = _sql(txn)
        sql = conn is not None and SQLiteGroup.tables_exist(conn)
    state.views.forget(db, current)
    if sql and not getattr(state.storage, "read_only", False):
        with state.storage.write() as txn:
            meta = open_db(txn, db)
            current = _current_designs(txn, meta)
            conn = _sql(txn)
            assert conn is not None
            SQLiteGroup.drop(conn, meta.handle, None, [f"{d}\n{s}" for d, s in current])
    return {"ok": True}


def _current_designs(txn: Txn, meta: DbMeta) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    infos = design_infos(txn, meta)
    bodies = txn.load_bodies(meta, [(i.id, i.winner) for i in infos])
    for info in infos:
        body = bodies.get((info.id, info.winner))
        if body is None:
            continue
        try:
            out.append((info.id, _Design(info.id, json.loads(body)).sig))
        except BadRequest:
            continue
    return out


def _include_docs(txn: Txn, meta: DbMeta, rows: list[dict[str, Any]]) -> None:
    """Add ``doc`` to view rows; a value with an ``_id`` links that document (as CouchDB)."""

    def target(row: dict[str, Any]) -> str:
        value = row.get("value")
        if isinstance(value, dict) and isinstance(value.get("_id"), str):
            return str(value["_id"])
        return str(row["id"])

    wanted = list(dict.fromkeys(target(row) for row in rows))
    infos = txn.load_docs(meta, wanted)
    live = [info for info in infos.values() if not info.deleted]
    docs = winner_docs(txn, meta, live, {})
    for row in rows:
        row["doc"] = docs.get(target(row))
