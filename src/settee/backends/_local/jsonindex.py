"""Mango json indexes as real indexes: keys, maintenance in the write transaction, the planner.

An index row is ``(key, id)``: ``key`` is the document's values of the
index's fields, encoded (:func:`encode`) so that comparing the bytes orders
rows as CouchDB's collation orders the values (``_id`` raw, as in
``_all_docs``). A document is in an index when it has every field and passes
the ``partial_filter_selector``; design documents never are.

* :func:`row_changes` / :func:`apply_row_changes` keep the rows of every
  built index in step with the documents, inside the write transaction that
  writes them (so a crash leaves both or neither).
* :func:`ensure` builds (or drops) the indexes the ``_design/`` documents
  with ``"language": "query"`` define, in one write transaction.
* :func:`plan` chooses the index for a query like CouchDB's planner: a json
  index whose fields the selector requires (or the sort names), the most
  narrowing one first; ``_all_docs`` when none; a ``sort`` no index serves is
  ``BadRequest`` ``no_usable_index``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from settee._validate import design_doc_id
from settee.backends._local.collation import string_key
from settee.backends._local.mango import (
    MISSING,
    Selector,
    compile_selector,
    get_field,
    split_field,
)
from settee.backends._local.reads import winner_docs
from settee.backends._local.state import EngineState, design_infos, open_db
from settee.backends._local.storage import DbMeta, DocInfo, IndexRow, Txn
from settee.backends._local.util import PAGE, dumps
from settee.errors import BadRequest, Forbidden

__all__ = [
    "IndexDef",
    "Plan",
    "apply_row_changes",
    "encode",
    "ensure",
    "plan",
    "row_changes",
    "usable_indexes",
]

_NULL, _FALSE, _TRUE, _NUMBER, _STRING, _ARRAY, _OBJECT = range(1, 8)
#: Greater than the first byte of any encoded value: ``prefix + TOP`` ends a prefix's range.
TOP = b"\xff"


def _count(n: int, out: bytearray) -> None:
    """A non-negative int as bytes that order as the ints and end themselves, the first
    one at least 0x02 (below it, the ends of the sequences that hold them)."""
    if n < 0xEE:
        out.append(n + 2)  # the usual weights: one byte
    else:
        size = (n.bit_length() + 7) // 8
        out.append(0xF0 + size)  # longer ones after every one-byte weight, by length
        out += n.to_bytes(size, "big")


@functools.lru_cache(maxsize=65536)
def _string(text: str) -> bytes:
    """:func:`.collation.string_key` ``(primary, secondary, tertiary)`` as bytes that order
    as the tuples: each weight a :func:`_count`, each sequence ended by a byte below
    what may follow it (so a prefix sorts first). About a fifth of four bytes a weight."""
    primary, secondary, tertiary = string_key(text)
    out = bytearray()
    for band, n in primary:
        out.append(band + 2)  # bands are 1..5: never an end byte
        _count(n, out)
    out.append(1)
    for marks in secondary:
        for mark in marks:
            _count(mark, out)
        out.append(1)
    out.append(0)
    for case in tertiary:
        _count(case, out)
    out.append(1)
    return bytes(out)


def _number(value: float) -> bytes:
    try:
        number = float(value)
    except OverflowError:
        number = float("inf") if value > 0 else float("-inf")
    if number == 0:
        number = 0.0  # -0.0 equals 0
    raw = bytearray(struct.pack(">d", number))
    if raw[0] & 0x80:
        raw = bytearray(b ^ 0xFF for b in raw)
    else:
        raw[0] |= 0x80
    # Integers that share a double with their neighbours (beyond 2**53) are told apart
    # by how far they are from it: 0x01 none, 0x00 below, 0x02 above (then 16 bytes).
    delta = 0
    if isinstance(value, int) and abs(value) > 2**53 and number not in _INFINITIES:
        delta = value - int(number)
    if delta == 0 or abs(delta) >= 2**127:
        return bytes(raw) + b"\x01"
    return bytes(raw) + (b"\x02" if delta > 0 else b"\x00") + (delta + 2**127).to_bytes(16, "big")


_INFINITIES = (float("inf"), float("-inf"))


def _encode(value: Any, out: bytearray) -> None:
    if value is None:
        out.append(_NULL)
    elif value is False:
        out.append(_FALSE)
    elif value is True:
        out.append(_TRUE)
    elif isinstance(value, (int, float)):
        out.append(_NUMBER)
        out += _number(value)
    elif isinstance(value, str):
        out.append(_STRING)
        out += _string(value)
    elif isinstance(value, (list, tuple)):
        out.append(_ARRAY)
        for item in value:
            _encode(item, out)
        out.append(0)
    elif isinstance(value, dict):
        out.append(_OBJECT)
        for key, item in value.items():
            out += _string(key)
            _encode(item, out)
        out.append(0)
    else:
        raise TypeError(f"not a JSON value: {value!r}")


@functools.lru_cache(maxsize=65536)
def _string_value(text: str) -> bytes:
    return bytes([_STRING]) + _string(text)


# Keys repeat (prices, counts, flags): 1 and 1.0 share an entry, and their bytes too.
@functools.lru_cache(maxsize=65536)
def _number_value(value: float) -> bytes:
    return bytes([_NUMBER]) + _number(value)


def encode(value: Any, *, raw: bool = False) -> bytes:
    """Bytes that order as CouchDB collates ``value`` (strings by code point with ``raw``).

    Numbers compare by value, integers beyond 2**53 exactly up to about 2**180
    (beyond that, those that round to one double tie: the selector still decides
    what matches).
    """
    if raw and isinstance(value, str):
        return bytes([_STRING]) + value.encode("utf-8").replace(b"\x00", b"\x00\xff") + b"\x00\x00"
    kind = type(value)
    if kind is str:
        return _string_value(value)
    if kind is int or kind is float:
        return _number_value(value)
    out = bytearray()
    _encode(value, out)
    return bytes(out)


# -- definitions ---------------------------------------------------------------


@dataclass(frozen=True)
class IndexDef:
    """One json index: where it is defined, its fields and its partial filter."""

    ddoc: str
    name: str
    definition: dict[str, Any]

    @property
    def key(self) -> str:
        """The index's name in storage: short (it is in every row), and naming the key
        encoding, so rows made by another encoding are dropped and built again."""
        return _storage_name(self.ddoc, self.name)

    @property
    def fields(self) -> list[str]:
        """The field names, in order."""
        return [next(iter(field)) for field in self.definition["fields"]]

    @property
    def paths(self) -> list[tuple[str, ...]]:
        """The fields as split paths."""
        return [tuple(split_field(name)) for name in self.fields]

    @property
    def partial(self) -> Any:
        """The ``partial_filter_selector``, or None."""
        return self.definition.get("partial_filter_selector")


class _Keyer:
    """Computes one index's row key for a document."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        names = [next(iter(field)) for field in definition["fields"]]
        self.paths = [split_field(name) for name in names]
        self.raw = [path == ["_id"] for path in self.paths]
        partial = definition.get("partial_filter_selector")
        self.partial: Selector | None = None if partial is None else compile_selector(partial)
        #: Top-level field names when every path is one plain field (the common index).
        self.flat: list[str] | None = (
            [path[0] for path in self.paths]
            if all(len(path) == 1 and not path[0].startswith("_") for path in self.paths)
            else None
        )
        #: Whether the key looks at ``_id``/``_rev`` (else a body without them will do).
        self.specials = self.partial is not None or self.flat is None

    def key(self, doc: dict[str, Any]) -> bytes | None:
        if self.flat is not None and self.partial is None:
            parts: list[bytes] = []
            for name in self.flat:
                value = doc.get(name, MISSING)
                if value is MISSING:
                    return None
                parts.append(encode(value))
            return b"".join(parts)
        parts = []
        for path, raw in zip(self.paths, self.raw, strict=True):
            value = get_field(doc, path)
            if value is MISSING:
                return None
            parts.append(encode(value, raw=raw))
        if self.partial is not None and not self.partial(doc):
            return None
        return b"".join(parts)

    def body_key(self, docid: str, rev: str, body: dict[str, Any]) -> bytes | None:
        """:meth:`key` of the document ``body`` (no specials) is at revision ``rev``."""
        if self.specials:
            return self.key({**body, "_id": docid, "_rev": rev})
        return self.key(body)


#: The version of :func:`encode` (in every index's storage name).
_KEY_FORMAT = 2


@functools.lru_cache(maxsize=1024)
def _storage_name(ddoc: str, name: str) -> str:
    digest = hashlib.blake2b(f"{_KEY_FORMAT}\x00{ddoc}\x00{name}".encode(), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")  # 16 characters, 96 bits


@functools.lru_cache(maxsize=256)
def _keyer(definition: str) -> _Keyer:
    return _Keyer(json.loads(definition))


def defined_indexes(txn: Txn, meta: DbMeta) -> list[IndexDef]:
    """The json indexes the ``_design/`` documents of this snapshot define, sorted."""
    infos = design_infos(txn, meta)
    docs = winner_docs(txn, meta, infos, {})
    out: list[IndexDef] = []
    for ddoc_id in sorted(docs):
        ddoc = docs[ddoc_id]
        if ddoc.get("language") != "query":
            continue
        views = ddoc.get("views")
        if not isinstance(views, dict):
            continue
        for name in sorted(views):
            view = views[name]
            options = view.get("options") if isinstance(view, dict) else None
            definition = options.get("def") if isinstance(options, dict) else None
            if isinstance(definition, dict) and _valid(definition):
                out.append(IndexDef(ddoc_id, name, _normal(definition)))
    return out


def _valid(definition: dict[str, Any]) -> bool:
    fields = definition.get("fields")
    if not isinstance(fields, list) or not fields:
        return False
    return all(isinstance(f, str) or (isinstance(f, dict) and len(f) == 1) for f in fields)


def _normal(definition: dict[str, Any]) -> dict[str, Any]:
    """``fields`` as ``[{name: direction}]`` (a bare name is ascending)."""
    fields = [{f: "asc"} if isinstance(f, str) else f for f in definition["fields"]]
    return {**definition, "fields": fields}


def usable_indexes(txn: Txn, meta: DbMeta) -> tuple[list[IndexDef], list[IndexDef]]:
    """``(built, not built)``: the defined indexes whose rows are current in this snapshot,
    and those not built yet (a read-only store, or written since :func:`ensure`)."""
    built = txn.index_defs(meta)
    ready: list[IndexDef] = []
    missing: list[IndexDef] = []
    for index in defined_indexes(txn, meta):
        (ready if built.get(index.key) == dumps(index.definition) else missing).append(index)
    return ready, missing


def ensure(state: EngineState, db: str) -> None:
    """Build the indexes the design documents define and drop the ones they no longer do.

    Nothing is written when they agree; a read-only store builds nothing (queries
    then scan, as they must).
    """
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        if _agree(txn, meta):
            return
    try:
        with state.storage.write() as txn:
            meta = open_db(txn, db)
            wanted = {index.key: index for index in defined_indexes(txn, meta)}
            built = txn.index_defs(meta)
            for key, text in built.items():
                if key not in wanted or dumps(wanted[key].definition) != text:
                    txn.set_index(meta, key, None)
            for key, index in wanted.items():
                text = dumps(index.definition)
                if built.get(key) != text:
                    txn.set_index(meta, key, text)
                    _build(txn, meta, key, text)
    except Forbidden:
        return


def _agree(txn: Txn, meta: DbMeta) -> bool:
    wanted = {index.key: dumps(index.definition) for index in defined_indexes(txn, meta)}
    return wanted == txn.index_defs(meta)


def _build(txn: Txn, meta: DbMeta, key: str, text: str) -> None:
    keyer = _keyer(text)
    lo: str | None = None
    while True:
        page = txn.scan_ids(
            meta, lo, False, None, True, descending=False, limit=PAGE, include_deleted=False
        )
        bodies = txn.load_bodies(meta, [(info.id, info.winner) for info in page])
        rows: list[IndexRow] = []
        for info in page:
            text_body = bodies.get((info.id, info.winner))
            if text_body is None or info.id.startswith("_design/"):
                continue
            row = keyer.key(_doc(info, text_body))
            if row is not None:
                rows.append((row, info.id))
        txn.index_update(meta, key, (), rows)
        if len(page) < PAGE:
            return
        lo = page[-1].id


def _doc(info: DocInfo, text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    doc["_id"] = info.id
    doc["_rev"] = info.winner
    return doc


# -- maintenance ---------------------------------------------------------------

#: Per built index: the rows that go, and the rows that come.
RowChanges = list[tuple[str, list[IndexRow], list[IndexRow]]]

#: A document's (id, new winner, its body or None, old winner, its body or None).
_Entry = tuple[str, str, dict[str, Any] | None, str, dict[str, Any] | None]


def row_changes(
    txn: Txn,
    meta: DbMeta,
    infos: Sequence[DocInfo],
    bodies: Sequence[tuple[str, str, str]],
    parsed: Mapping[tuple[str, str], dict[str, Any]] | None = None,
    previous: Mapping[str, DocInfo | None] | None = None,
) -> RowChanges:
    """What the built indexes need for ``infos`` (about to be saved with ``bodies``;
    ``parsed`` holds some of them as dicts already, keyed ``(id, rev)``). ``previous``:
    each id's record before the write (None: new), else they are loaded.

    A document's old row is the key its stored winner gives (every row was made from
    the winner of its time), so rows are removed by key; a row whose key does not
    change is left alone."""
    built = txn.index_defs(meta)
    if not built:
        return []
    parsed = parsed or {}
    infos = [info for info in infos if not info.id.startswith("_design/")]
    if previous is None:
        previous = txn.load_docs(meta, [info.id for info in infos])
    staged: dict[tuple[str, str], str] | None = None
    wanted: list[tuple[str, str]] = []
    # (id, new winner, its body or None, old winner, its body or None), in the order of
    # ``infos``; a new document with its body in ``parsed`` (every one of a bulk load) is
    # its record alone (no tuple per document for the collector to track), the others
    # (None here) are filled in once the bodies they need are loaded.
    docs: list[_Entry | DocInfo | None] = []
    later: list[tuple[int, DocInfo, DocInfo | None]] = []
    for info in infos:
        docid, winner = info.id, info.winner
        old = previous.get(docid)
        if old is not None and old.deleted:
            old = None  # a tombstone has no row
        if info.deleted:
            if old is None:
                continue  # no row before, none after
        else:
            new = parsed.get((docid, winner))
            if new is None:
                wanted.append((docid, winner))
            elif old is None:
                docs.append(info)
                continue
        if old is not None:
            wanted.append((docid, old.winner))
        later.append((len(docs), info, old))
        docs.append(None)
    if wanted:
        staged = {(docid, rev): text for docid, rev, text in bodies}
        wanted = [pair for pair in wanted if pair not in staged]
    stored = txn.load_bodies(meta, wanted) if wanted else {}

    def body(docid: str, rev: str) -> dict[str, Any] | None:
        found = parsed.get((docid, rev))
        if found is not None:
            return found
        text = (staged or {}).get((docid, rev)) or stored.get((docid, rev))
        return None if text is None else _body(text)

    for at, info, before in later:
        now = None if info.deleted else body(info.id, info.winner)
        if before is None:
            if now is not None:
                docs[at] = (info.id, info.winner, now, "", None)
            continue
        docs[at] = (info.id, info.winner, now, before.winner, body(info.id, before.winner))
    out: RowChanges = []
    for key, definition in built.items():
        keyer = _keyer(definition)
        removed: list[IndexRow] = []
        added: list[IndexRow] = []
        for entry in docs:
            if entry is None:
                continue
            if isinstance(entry, DocInfo):  # a new document: its row, none to remove
                row = keyer.body_key(entry.id, entry.winner, parsed[(entry.id, entry.winner)])
                if row is not None:
                    added.append((row, entry.id))
                continue
            docid, rev, now, old_rev, then = entry
            row = keyer.body_key(docid, rev, now) if now is not None else None
            old_row = keyer.body_key(docid, old_rev, then) if then is not None else None
            if row == old_row:
                continue
            if old_row is not None:
                removed.append((old_row, docid))
            if row is not None:
                added.append((row, docid))
        out.append((key, removed, added))
    return out


def _body(text: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(text)
    return body


def apply_row_changes(txn: Txn, meta: DbMeta, changes: RowChanges) -> None:
    """Write what :func:`row_changes` computed."""
    for key, removed, added in changes:
        txn.index_update(meta, key, removed, added)


# -- the planner ---------------------------------------------------------------

_RANGE_OPS = {"$gt", "$gte", "$lt", "$lte"}


def conditions(selector: Any) -> dict[tuple[str, ...], list[tuple[str, Any]]]:
    """The operator conditions every match must meet, by field path (``$or``/``$not`` aside)."""
    out: dict[tuple[str, ...], list[tuple[str, Any]]] = {}

    def walk(node: Any, path: list[str]) -> None:
        if not isinstance(node, dict):
            return
        for key, arg in node.items():
            if key == "$and" and isinstance(arg, list):
                for item in arg:
                    walk(item, path)
            elif key.startswith("$"):
                if path and key not in ("$or", "$nor", "$not", "$and"):
                    out.setdefault(tuple(path), []).append((key, arg))
            else:
                sub = [*path, *split_field(key)]
                if isinstance(arg, dict) and arg:
                    walk(arg, sub)
                else:
                    out.setdefault(tuple(sub), []).append(("$eq", arg))

    walk(selector, [])
    return out


def _required(conds: list[tuple[str, Any]]) -> bool:
    return any(not (op == "$exists" and arg is not True) for op, arg in conds)


def _eq(conds: list[tuple[str, Any]]) -> tuple[bool, Any]:
    for op, arg in conds:
        if op == "$eq":
            return True, arg
    return False, None


@dataclass
class Plan:
    """The index a query reads (None: ``_all_docs``) and the key range it reads."""

    index: IndexDef | None
    lo: bytes = b""
    hi: bytes = TOP
    descending: bool = False
    narrowed: int = 0
    start_key: list[Any] | None = None
    end_key: list[Any] | None = None
    warning: str | None = None


def _sort_fits(
    paths: list[tuple[str, ...]], sort: list[tuple[str, ...]], conds: Mapping[Any, Any]
) -> bool:
    if not sort:
        return True
    for skip in range(len(paths) - len(sort) + 1):
        head = paths[:skip]
        if all(_eq(conds.get(p, []))[0] for p in head) and paths[skip : skip + len(sort)] == sort:
            return True
    return False


def _usable(index: IndexDef, sort: list[tuple[str, ...]], conds: Mapping[Any, Any]) -> bool:
    paths = index.paths
    for path in paths:
        if path in sort or path in (("_id",), ("_rev",)):
            continue
        if not _required(conds.get(path, [])):
            return False
    return _sort_fits(paths, sort, conds)


def _narrow(index: IndexDef, conds: Mapping[Any, Any], descending: bool) -> Plan:
    prefix = b""
    start: list[Any] = []
    end: list[Any] = []
    narrowed = 0
    lo = hi = b""
    for path, raw in zip(index.paths, [p == ("_id",) for p in index.paths], strict=True):
        found = conds.get(path, [])
        is_eq, value = _eq(found)
        if is_eq:
            prefix += encode(value, raw=raw)
            start.append(value)
            end.append(value)
            narrowed += 1
            continue
        lower = next(((op, arg) for op, arg in found if op in ("$gt", "$gte")), None)
        upper = next(((op, arg) for op, arg in found if op in ("$lt", "$lte")), None)
        if lower is not None:
            lo = encode(lower[1], raw=raw)
            if lower[0] == "$gt" and _exact(lower[1]):
                lo += TOP  # past every key equal to the bound
            start.append(lower[1])
        if upper is not None:
            hi = encode(upper[1], raw=raw)  # $lt too: its edge is left to the selector
            end.append(upper[1])
        if lower is not None or upper is not None:
            narrowed += 1
        break
    # Bounds are inclusive: the selector decides the edges exactly.
    return Plan(
        index,
        lo=prefix + lo,
        hi=prefix + hi + TOP,
        descending=descending,
        narrowed=narrowed,
        start_key=start,
        end_key=[*end, "<MAX>"],
    )


def _exact(value: Any) -> bool:
    """Whether keys equal to ``value``'s encoding are exactly the values equal to it
    (not so for the largest integers, see :func:`encode`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return not isinstance(value, (list, dict))
    return abs(value) <= 2**170


def _named(use_index: Any) -> tuple[str, str] | None:
    if use_index is None:
        return None
    if isinstance(use_index, str):
        ddoc, _, name = use_index.partition("/")
        if ddoc == "_design" and name:
            ddoc, _, name = name.partition("/")
    elif (
        isinstance(use_index, list)
        and 1 <= len(use_index) <= 2
        and all(isinstance(p, str) for p in use_index)
    ):
        ddoc, name = use_index[0], (use_index[1] if len(use_index) == 2 else "")
    else:
        raise BadRequest("use_index must be a string or a list of strings", error="bad_request")
    ddoc = design_doc_id(ddoc)
    return ddoc, name


def named_index(indexes: Sequence[IndexDef], use_index: Any) -> IndexDef | None:
    """The index ``use_index`` names (``"ddoc"``, ``"ddoc/name"``, ``[ddoc, name]``), if any."""
    named = _named(use_index)
    if named is None:
        return None
    ddoc, name = named
    for index in indexes:
        if index.ddoc == ddoc and (not name or index.name == name):
            return index
    return None


def plan(
    indexes: Sequence[IndexDef],
    selector: Any,
    sort: Sequence[tuple[list[str], str, bool]],
    use_index: Any,
) -> Plan:
    """The index to read for ``selector``/``sort``, as CouchDB's planner picks it.

    ``BadRequest`` (``no_usable_index``) for a sort no index serves.
    """
    conds = conditions(selector)
    sort_paths = [tuple(path) for path, _, _ in sort]
    descending = bool(sort) and sort[0][2]
    named = _named(use_index)
    warning = None
    candidates = [
        index for index in indexes if _usable(index, sort_paths, conds) and index.partial is None
    ]
    if named is not None:
        chosen = named_index(indexes, use_index)
        if chosen is not None and _usable(chosen, sort_paths, conds):
            return _narrow(chosen, conds, descending)
        warning = (
            f"{named[0]}{'/' + named[1] if named[1] else ''} was not used because it is "
            "not a valid index for this query."
        )
    if candidates:
        best = max(
            (_narrow(index, conds, descending) for index in candidates),
            key=lambda p: (p.narrowed, -len(p.index.fields) if p.index else 0),
        )
        best.warning = warning
        return best
    if sort_paths and sort_paths != [("_id",)]:
        raise BadRequest(
            "No index exists for this sort, try indexing by the sort fields.",
            error="no_usable_index",
        )
    return Plan(None, descending=descending, warning=warning)
