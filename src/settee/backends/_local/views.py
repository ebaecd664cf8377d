"""Map/reduce views as indexes: CouchDB's view query semantics over stored rows.

Rows are ordered by ``(key, docid)``: keys in collation order, compared as the
bytes of :func:`encode_key` (so SQLite's ``memcmp`` order and Python's bytes
order are both CouchDB's collation), doc ids raw. A view group (one design
document signature, or one Python map function) keeps its rows in a
:class:`ViewGroup` - :class:`MemoryGroup` (sorted lists) or
:class:`SQLiteGroup` (tables in the store's file) - together with the
database seq it reflects; :mod:`.python_views` brings a group up to date from
the changes since that seq and then queries it here.

Built-in reduces: ``_count``, ``_sum`` (numbers or arrays of numbers),
``_stats`` and ``_approx_count_distinct`` (exact here: distinct keys); a
callable reduce is ``fn(keys, values, rereduce) -> value`` with ``keys`` the
``[key, docid]`` pairs, called once per group with ``rereduce=False``.
"""

from __future__ import annotations

import bisect
import json
import math
import sqlite3
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from settee._validate import is_int
from settee.backends._local.collation import string_key, type_rank
from settee.errors import BadRequest

__all__ = [
    "Cut",
    "MemoryGroup",
    "ReduceFn",
    "RowSource",
    "SQLiteGroup",
    "ViewCache",
    "ViewGroup",
    "ViewGroups",
    "builtin_reduce",
    "current_map_rows",
    "encode_key",
    "query_view",
]

#: ``fn(keys, values, rereduce) -> value``
ReduceFn = Callable[[list[list[Any]], list[Any], bool], Any]
#: One emitted row on its way out: ``(docid, key JSON, value JSON)``.
OutRow = tuple[str, str, str]
#: What a map pass gives a group for each document: per view, its ``(key, value)`` pairs.
Emitted = Sequence[Sequence[tuple[Any, Any]]]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _query_error(reason: str) -> BadRequest:
    return BadRequest(reason, error="query_parse_error")


# -- the collation as bytes ---------------------------------------------------


def _u24(n: int) -> bytes:
    return n.to_bytes(3, "big")


def _string_bytes(text: str) -> bytes:
    primary, secondary, tertiary = string_key(text)
    out = bytearray()
    for band, n in primary:
        out += b"\x01" + bytes((band,)) + _u24(n)
    out += b"\x00"
    for marks in secondary:
        out += b"\x01"
        for mark in marks:
            out += b"\x01" + _u24(mark)
        out += b"\x00"
    out += b"\x00"
    for case in tertiary:
        out += b"\x01" + bytes((case,))
    out += b"\x00"
    return bytes(out)


def _number_bytes(value: float) -> bytes:
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    if number == 0:
        number = 0.0  # -0.0 collates equal to 0
    (bits,) = struct.unpack(">Q", struct.pack(">d", number))
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)
    return int(bits).to_bytes(8, "big")


def _encode(value: Any, out: bytearray) -> None:
    rank = type_rank(value)
    out.append(rank + 1)
    if rank == 3:
        out += _number_bytes(value)
    elif rank == 4:
        out += _string_bytes(value)
    elif rank == 5:
        for item in value:
            _encode(item, out)
        out.append(0)
    elif rank == 6:
        for name, item in value.items():
            out.append(1)
            out += _string_bytes(name)
            _encode(item, out)
        out.append(0)


def encode_key(value: Any) -> bytes:
    """Bytes that compare as ``value`` collates (CouchDB's view collation, see :mod:`.collation`).

    Every encoding is self-delimiting, so arrays and objects compare element by
    element with a prefix first. Numbers are IEEE doubles, as in JavaScript
    (integers beyond 2**53 lose their order among neighbours). ``TypeError``
    for a value that is not JSON.
    """
    if type(value) is int or type(value) is float:  # the common key, and not bool
        return _NUMBER + _number_bytes(value)
    out = bytearray()
    _encode(value, out)
    return bytes(out)


#: The leading byte of a number's encoding (its type rank, 3, plus one).
_NUMBER = bytes((4,))


# -- reduces -------------------------------------------------------------------


def _sum(values: Sequence[Any]) -> Any:
    total: Any = 0
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float, list)):
            raise BadRequest(
                f"The _sum function requires that map values be numbers or arrays of "
                f"numbers, not '{value!r}'",
                error="builtin_reduce_error",
            )
        if isinstance(value, list) or isinstance(total, list):
            left = total if isinstance(total, list) else [total]
            right = value if isinstance(value, list) else [value]
            size = max(len(left), len(right))
            left = left + [0] * (size - len(left))
            right = right + [0] * (size - len(right))
            total = [a + b for a, b in zip(left, right, strict=True)]
        else:
            total += value
    return total


def _stats(values: Sequence[Any]) -> dict[str, Any]:
    numbers: list[float] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadRequest(
                f"The _stats function requires that map values be numbers, not '{value!r}'",
                error="builtin_reduce_error",
            )
        numbers.append(value)
    if not numbers:
        return {"sum": 0, "count": 0, "min": 0, "max": 0, "sumsqr": 0}
    return {
        "sum": sum(numbers),
        "count": len(numbers),
        "min": min(numbers),
        "max": max(numbers),
        "sumsqr": math.fsum(n * n for n in numbers)
        if any(isinstance(n, float) for n in numbers)
        else sum(n * n for n in numbers),
    }


def _distinct(keys: list[list[Any]]) -> int:
    return len({_ENCODER.encode(pair[0]) for pair in keys})


BUILTIN_REDUCES = ("_count", "_sum", "_stats", "_approx_count_distinct")


def builtin_reduce(spec: Any) -> ReduceFn:
    """The reduce callable for ``spec``; ``ValueError`` for an unknown built-in."""
    if callable(spec):
        fn: ReduceFn = spec
        return fn
    if spec == "_count":
        return lambda keys, values, rereduce: len(values)
    if spec == "_sum":
        return lambda keys, values, rereduce: _sum(values)
    if spec == "_stats":
        return lambda keys, values, rereduce: _stats(values)
    if spec == "_approx_count_distinct":
        return lambda keys, values, rereduce: _distinct(keys)
    raise ValueError(
        f"unknown reduce {spec!r}: use '_count', '_sum', '_stats', "
        "'_approx_count_distinct' or a callable"
    )


# -- stored rows ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cut:
    """A place between rows: before it lie the rows with ``(key, docid)`` below
    ``(key, docid)`` (``docid`` None: compare keys only), ``after`` counting equal rows in."""

    key: bytes
    docid: str | None
    after: bool


class RowSource(Protocol):
    """One view's rows, in ``(key, docid, emission)`` order."""

    def total(self) -> int:
        """How many rows the view holds."""
        ...

    def position(self, cut: Cut) -> int:
        """How many rows lie before ``cut``."""
        ...

    def counts(self, cut: Cut | None) -> tuple[int, int]:
        """``(total(), position(cut))`` (0 for no cut), in one read."""
        ...

    def rows(
        self,
        lo: Cut | None,
        hi: Cut | None,
        *,
        descending: bool,
        skip: int,
        limit: int | None,
    ) -> list[OutRow]:
        """The rows between the cuts, in scan order, after ``skip``, at most ``limit``."""
        ...


class ViewGroup(Protocol):
    """The rows of the views of one group, and the database seq they reflect."""

    seq: int

    def replace(self, docids: Sequence[str], emitted: Mapping[str, Emitted]) -> None:
        """Forget the rows of ``docids``; store ``emitted[docid]`` for those in it."""
        ...

    def set_seq(self, seq: int) -> None: ...

    def finish(self) -> None:
        """Called once the group is up to date (after :meth:`set_seq`)."""
        ...

    def source(self, view: int) -> RowSource: ...


class _Top:
    """Greater than every document id and emission number."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True


_TOP: Any = _Top()

#: ``(key bytes, docid, emission number, key JSON, value JSON)``
_MemRow = tuple[bytes, str, int, str, str]


class _MemoryRows:
    __slots__ = ("by_doc", "dirty", "sorted")

    def __init__(self) -> None:
        self.sorted: list[_MemRow] = []
        self.by_doc: dict[str, list[_MemRow]] = {}
        #: Rows were appended unsorted (a first build): sort before any lookup.
        self.dirty = False

    def settle(self) -> None:
        if self.dirty:
            self.sorted.sort()
            self.dirty = False

    def total(self) -> int:
        return len(self.sorted)

    def position(self, cut: Cut) -> int:
        self.settle()
        probe: tuple[Any, ...]
        if cut.docid is None:
            probe = (cut.key, _TOP) if cut.after else (cut.key,)
        else:
            probe = (cut.key, cut.docid, _TOP) if cut.after else (cut.key, cut.docid)
        return bisect.bisect_left(self.sorted, probe)

    def counts(self, cut: Cut | None) -> tuple[int, int]:
        return len(self.sorted), 0 if cut is None else self.position(cut)

    def rows(
        self,
        lo: Cut | None,
        hi: Cut | None,
        *,
        descending: bool,
        skip: int,
        limit: int | None,
    ) -> list[OutRow]:
        self.settle()
        start = 0 if lo is None else self.position(lo)
        stop = len(self.sorted) if hi is None else max(start, self.position(hi))
        if descending:
            first = stop - skip
            last = start if limit is None else max(start, first - limit)
            picked = self.sorted[last:first][::-1] if first > last else []
        else:
            first = start + skip
            last = stop if limit is None else min(stop, first + limit)
            picked = self.sorted[first:last]
        return [(row[1], row[3], row[4]) for row in picked]

    def remove(self, docid: str) -> None:
        if docid not in self.by_doc:
            return
        self.settle()
        for row in self.by_doc.pop(docid, ()):
            at = bisect.bisect_left(self.sorted, row[:3])
            del self.sorted[at]

    def add(self, docid: str, pairs: Sequence[tuple[Any, Any]], *, bulk: bool) -> None:
        stored = [
            (encode_key(key), docid, n, _ENCODER.encode(key), _ENCODER.encode(value))
            for n, (key, value) in enumerate(pairs)
        ]
        if not stored:
            return
        self.by_doc[docid] = stored
        if bulk or self.dirty:
            self.sorted.extend(stored)
            self.dirty = True
        else:
            for row in stored:
                bisect.insort(self.sorted, row)


class MemoryGroup:
    """A group's rows in sorted Python lists; one lock serialises its updates and reads."""

    def __init__(self, views: int) -> None:
        self.seq = 0
        self.lock = threading.Lock()
        self._views = [_MemoryRows() for _ in range(views)]

    def replace(self, docids: Sequence[str], emitted: Mapping[str, Emitted]) -> None:
        """Forget the rows of ``docids``; store ``emitted[docid]`` for those in it."""
        # Many documents at once (a first build): append, sort once on the next read.
        bulk = len(docids) > 64
        for docid in docids:
            per_view = emitted.get(docid)
            for n, view in enumerate(self._views):
                view.remove(docid)
                if per_view is not None:
                    view.add(docid, per_view[n], bulk=bulk)

    def set_seq(self, seq: int) -> None:
        """Record the database seq the rows reflect."""
        self.seq = seq

    def finish(self) -> None:
        """Nothing to do: sorted lists find positions by bisection."""

    def source(self, view: int) -> RowSource:
        """The rows of view number ``view``."""
        return self._views[view]


_SQL_SCHEMA = """
CREATE TABLE IF NOT EXISTS settee_view_groups (
    gid INTEGER PRIMARY KEY AUTOINCREMENT,
    dbid INTEGER NOT NULL,
    ddoc TEXT NOT NULL,
    sig TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    blocks_ok INTEGER NOT NULL DEFAULT 0,
    UNIQUE (dbid, ddoc, sig)
);
CREATE TABLE IF NOT EXISTS settee_view_rows (
    gid INTEGER NOT NULL,
    view INTEGER NOT NULL,
    key BLOB NOT NULL,
    docid TEXT NOT NULL,
    n INTEGER NOT NULL,
    key_json TEXT NOT NULL,
    value_json TEXT NOT NULL,
    PRIMARY KEY (gid, view, key, docid, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS settee_view_rows_by_doc ON settee_view_rows (gid, docid);
CREATE TABLE IF NOT EXISTS settee_view_counts (
    gid INTEGER NOT NULL,
    view INTEGER NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (gid, view)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settee_view_ranks (
    gid INTEGER NOT NULL,
    view INTEGER NOT NULL,
    level INTEGER NOT NULL,
    start BLOB NOT NULL,
    key BLOB NOT NULL,
    docid TEXT NOT NULL,
    count INTEGER NOT NULL,
    before INTEGER NOT NULL,
    PRIMARY KEY (gid, view, level, start)
) WITHOUT ROWID;
DROP TABLE IF EXISTS settee_view_blocks;
DROP TABLE IF EXISTS settee_view_tree
"""

#: Entries per block of ``settee_view_ranks`` as a build lays them out; a block of
#: level ``k`` splits once it counts more than ``2 * _FAN ** k`` rows.
_FAN = 64
#: Levels of ``settee_view_ranks``: level 1 counts rows, level 2 counts level-1 blocks.
_LEVELS = 2
#: ``settee_view_groups.blocks_ok`` of a group whose tree counts every row (files of
#: older versions said 1 for a one-level table, 2 for a tree without ``before``, both
#: dropped now: such a group is recounted).
_COUNTED = 3


def _start(key: bytes, docid: str) -> bytes:
    """``(key, docid)`` as one blob that sorts as the pair: an encoded key is never a
    prefix of another, and UTF-8 sorts as the code points SQLite compares docids by."""
    return key + docid.encode()


def _start_bound(cut: Cut) -> tuple[str, bytes]:
    """``(operator, blob)``: ``start {operator} blob`` says "a block starting there
    starts before ``cut``" (0xFF never occurs in UTF-8: above every docid)."""
    if cut.docid is None:
        return "<", cut.key + b"\xff" if cut.after else cut.key
    return "<=" if cut.after else "<", _start(cut.key, cut.docid)


def _before(cut: Cut, *, negate: bool = False, table: str = "") -> tuple[str, list[Any]]:
    """The SQL condition "the row lies before ``cut``" (``negate``: at or after it),
    written as a plain comparison so SQLite ranges over the index with it; ``table``
    qualifies the columns (``"r."``)."""
    op = (">" if cut.after else ">=") if negate else "<=" if cut.after else "<"
    if cut.docid is None:
        return f"{table}key {op} ?", [cut.key]
    return f"({table}key, {table}docid) {op} (?, ?)", [cut.key, cut.docid]


_TOTAL = "SELECT total FROM settee_view_counts WHERE gid = ? AND view = ?"


def _walk(op: str) -> str:
    """One statement for the walk down the tree to a cut (``start {op} ?3``): the view's
    total, then for each level from the top down to 2 the ``before`` of its last block
    before the cut, then that of the level-1 block, with its ``key`` and ``docid``. Each
    is the last block of its level before the cut, found by ranging over the primary
    key; the rows inside the level-1 block are counted by a second statement."""

    def last(level: int, column: str) -> str:
        return (
            f"(SELECT {column} FROM settee_view_ranks WHERE gid = ?1 AND view = ?2 "
            f"AND level = {level} AND start {op} ?3 ORDER BY start DESC LIMIT 1)"
        )

    above = "".join(f"{last(level, 'before')}, " for level in range(_LEVELS, 1, -1))
    bottom = ", ".join(last(1, column) for column in ("before", "key", "docid"))
    total = "(SELECT total FROM settee_view_counts WHERE gid = ?1 AND view = ?2)"
    return f"SELECT {total}, {above}{bottom}"


_WALK = {op: _walk(op) for op in ("<", "<=")}


class _SQLiteRows:
    """One view's rows. ``offset`` walks ``settee_view_ranks`` (:func:`_walk`): the
    ``before`` of the last block before the cut at each level, and the rows inside
    one level-1 block, so ``position`` reads ``O(_LEVELS + _FAN)`` rows in two
    statements rather than the position (a b-tree's reductions do this on CouchDB)."""

    __slots__ = ("conn", "counted", "gid", "view")

    def __init__(self, conn: sqlite3.Connection, gid: int, view: int, counted: bool) -> None:
        self.conn, self.gid, self.view, self.counted = conn, gid, view, counted

    def total(self) -> int:
        row = self.conn.execute(_TOTAL, (self.gid, self.view)).fetchone()
        return int(row[0]) if row is not None else 0

    def position(self, cut: Cut) -> int:
        return self.counts(cut)[1]

    def counts(self, cut: Cut | None) -> tuple[int, int]:
        ids = (self.gid, self.view)
        if cut is None:
            return self.total(), 0
        cond, args = _before(cut)
        if not self.counted:
            row = self.conn.execute(
                f"SELECT ({_TOTAL}), (SELECT COUNT(*) FROM settee_view_rows "
                f"WHERE gid = ? AND view = ? AND {cond})",
                (*ids, *ids, *args),
            ).fetchone()
            return (int(row[0]) if row[0] is not None else 0), int(row[1])
        op, bound = _start_bound(cut)
        row = self.conn.execute(_WALK[op], (*ids, bound)).fetchone()
        total = int(row[0]) if row[0] is not None else 0
        key, docid = row[-2:]
        if key is None:
            return total, 0  # nothing before the cut
        position = sum(int(before) for before in row[1:-2] if before is not None)
        (inside,) = self.conn.execute(
            "SELECT COUNT(*) FROM settee_view_rows WHERE gid = ? AND view = ? "
            f"AND (key, docid) >= (?, ?) AND {cond}",
            (*ids, key, docid, *args),
        ).fetchone()
        return total, position + int(inside)

    def rows(
        self,
        lo: Cut | None,
        hi: Cut | None,
        *,
        descending: bool,
        skip: int,
        limit: int | None,
    ) -> list[OutRow]:
        sql, args = _rows_statement(self.gid, self.view, lo, hi, descending, skip, limit, "")
        return list(self.conn.execute(sql, args))


def _rows_statement(
    gid: int,
    view: int,
    lo: Cut | None,
    hi: Cut | None,
    descending: bool,
    skip: int,
    limit: int | None,
    guard: str,
    *more: Any,
) -> tuple[str, list[Any]]:
    """The statement reading a view's rows between the cuts (``guard``: one more
    condition, its parameters ``more`` after the others)."""
    where = ""
    args: list[Any] = [gid, view]
    if lo is not None:
        cond, bound = _before(lo, negate=True)
        where += f" AND {cond}"
        args += bound
    if hi is not None:
        cond, bound = _before(hi)
        where += f" AND {cond}"
        args += bound
    order = "DESC" if descending else "ASC"
    args += more
    args += [-1 if limit is None else limit, skip]
    sql = (
        "SELECT docid, key_json, value_json FROM settee_view_rows "
        f"WHERE gid = ? AND view = ?{where}{guard} "
        f"ORDER BY key {order}, docid {order}, n {order} LIMIT ? OFFSET ?"
    )
    return sql, args


#: "Group ``gid`` of design document ``ddoc`` of the database named ``name`` (id
#: ``dbid``) is the one group of it up to date with the database, rows counted": what
#: :meth:`SQLiteGroup.current` finds, as a condition (uncorrelated: evaluated once).
_CURRENT_GUARD = (
    " AND EXISTS (SELECT 1 FROM dbs d, settee_view_groups g WHERE d.name = ? AND "
    "d.dbid = ? AND g.gid = ? AND g.seq >= d.update_seq AND g.blocks_ok = ?) "
    "AND NOT EXISTS (SELECT 1 FROM dbs d, settee_view_groups g WHERE d.name = ? AND "
    "g.dbid = d.dbid AND g.ddoc = ? AND g.gid != ? AND g.seq >= d.update_seq "
    "AND g.blocks_ok = ?)"
)


def current_map_rows(
    select: Callable[[str, Sequence[Any]], list[Any]],
    name: str,
    dbid: int,
    ddoc_id: str,
    gid: int,
    view: int,
    params: Mapping[str, Any],
) -> dict[str, Any] | None:
    """A map query of view ``view`` of group ``gid`` in one statement (``select`` runs
    it outside any transaction, so from one snapshot), while that group is the one of
    ``ddoc_id`` up to date with database ``name`` (still id ``dbid``): the answer
    without ``total_rows``/``offset``, or None when no row came back (the group is not
    up to date, or the range is empty: the caller then takes the long way). ``params``
    must ask for plain rows (no reduce, keys, include_docs or update_seq)."""
    descending = _bool(params, "descending", False)
    limit = _int(params, "limit")
    skip = _int(params, "skip") or 0
    lo, hi = _cuts(params, descending)
    sql, args = _rows_statement(
        gid, view, lo, hi, descending, skip, limit, _CURRENT_GUARD,
        name, dbid, gid, _COUNTED, name, ddoc_id, gid, _COUNTED,
    )  # fmt: skip
    found = select(sql, args)
    if not found:
        return None
    return {"rows": _rows(found)}


#: The block holding a row, at every level of the tree (uncorrelated subqueries: each
#: one ranges over the primary key).
_BLOCKS_OF = "SELECT " + ", ".join(
    "(SELECT start FROM settee_view_ranks WHERE gid = ?1 AND view = ?2 "
    f"AND level = {level} AND start <= ?3 ORDER BY start DESC LIMIT 1)"
    for level in range(1, _LEVELS + 1)
)


class SQLiteGroup:
    """A group's rows in tables of the store's SQLite file, written in the caller's
    write transaction (so rows and seq commit together, or not at all).

    ``settee_view_ranks`` counts the rows for ``offset``: level 1 holds blocks of
    rows (each starting at a ``(key, docid)``, see :func:`_start`), level ``k``
    blocks of level ``k - 1`` blocks (starting where one of them does); each
    block's ``count`` is the rows it covers, its ``before`` the rows before it in
    the block of the level above (in the view, at the top level). Writes add to
    the counts of the blocks holding each changed row and to the ``before`` of
    the blocks after them, and split a block that grew too big; a first build
    counts the rows once, at its end (:meth:`finish`).
    """

    def __init__(
        self, conn: sqlite3.Connection, gid: int, seq: int, views: int, blocks: int
    ) -> None:
        self.conn, self.gid, self.seq, self.views = conn, gid, seq, views
        #: Whether settee_view_ranks counts every row (not during a first build; ``blocks``
        #: is the stored ``blocks_ok``).
        self.counted = blocks == _COUNTED

    @staticmethod
    def create_tables(conn: sqlite3.Connection) -> None:
        """Create the view tables if missing, and drop an older version's (inside the
        caller's write transaction)."""
        for statement in _SQL_SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)

    @staticmethod
    def tables_exist(conn: sqlite3.Connection) -> bool:
        """Whether this file has the view tables."""
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settee_view_groups'"
        ).fetchone()
        return row is not None

    @classmethod
    def find(
        cls, conn: sqlite3.Connection, dbid: int, ddoc: str, sig: str, views: int
    ) -> SQLiteGroup | None:
        """The stored group, or None."""
        try:
            row = conn.execute(
                "SELECT gid, seq, blocks_ok FROM settee_view_groups "
                "WHERE dbid = ? AND ddoc = ? AND sig = ?",
                (dbid, ddoc, sig),
            ).fetchone()
        except sqlite3.OperationalError:
            if cls.tables_exist(conn):
                raise
            return None  # a file no view was ever built in
        if row is None:
            return None
        return cls(conn, int(row[0]), int(row[1]), views, int(row[2]))

    @staticmethod
    def current(
        conn: sqlite3.Connection, dbid: int, ddoc: str, seq: int
    ) -> tuple[str, int, int, int] | None:
        """``(sig, gid, seq, blocks_ok)`` of the one group of ``ddoc`` that reflects
        ``seq`` (or later) with its rows counted, or None."""
        try:
            found = conn.execute(
                "SELECT sig, gid, seq, blocks_ok FROM settee_view_groups "
                "WHERE dbid = ? AND ddoc = ? AND seq >= ? AND blocks_ok = ? LIMIT 2",
                (dbid, ddoc, seq, _COUNTED),
            ).fetchall()
        except sqlite3.OperationalError:
            if SQLiteGroup.tables_exist(conn):
                raise
            return None  # a file no view was ever built in
        if len(found) != 1:
            return None
        sig, gid, at, blocks = found[0]
        return str(sig), int(gid), int(at), int(blocks)

    @classmethod
    def open(
        cls, conn: sqlite3.Connection, dbid: int, ddoc: str, sig: str, views: int
    ) -> SQLiteGroup:
        """The stored group, created (and the design document's older groups dropped)
        if missing; inside a write transaction."""
        found = cls.find(conn, dbid, ddoc, sig, views)
        if found is not None:
            return found
        cls.drop(conn, dbid, ddoc)
        cur = conn.execute(
            "INSERT INTO settee_view_groups (dbid, ddoc, sig) VALUES (?, ?, ?)", (dbid, ddoc, sig)
        )
        gid = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO settee_view_counts (gid, view, total) VALUES (?, ?, 0)",
            [(gid, view) for view in range(views)],
        )
        return cls(conn, gid, 0, views, 0)

    @classmethod
    def drop(
        cls, conn: sqlite3.Connection, dbid: int, ddoc: str | None, keep: Iterable[str] = ()
    ) -> int:
        """Drop the groups of ``ddoc`` (every design document when None) but the
        signatures in ``keep``; how many."""
        cls.create_tables(conn)  # a file of an older version may lack some
        kept = set(keep)
        if ddoc is None:
            rows = conn.execute(
                "SELECT gid, ddoc, sig FROM settee_view_groups WHERE dbid = ?", (dbid,)
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT gid, ddoc, sig FROM settee_view_groups WHERE dbid = ? AND ddoc = ?",
                (dbid, ddoc),
            ).fetchall()
        doomed = [(gid,) for gid, name, sig in rows if f"{name}\n{sig}" not in kept]
        tables = ("settee_view_rows", "settee_view_counts", "settee_view_ranks")
        for table in (*tables, "settee_view_groups"):
            conn.executemany(f"DELETE FROM {table} WHERE gid = ?", doomed)
        return len(doomed)

    def replace(self, docids: Sequence[str], emitted: Mapping[str, Emitted]) -> None:
        """Forget the rows of ``docids``; store ``emitted[docid]`` for those in it."""
        conn, gid = self.conn, self.gid
        delta = [0] * self.views
        #: ``(view, level, block start)``: rows added (or removed, below 0).
        blocks: dict[tuple[int, int, bytes], int] = {}
        if self.seq > 0:  # a group that never reached a seq has no rows yet
            for start in range(0, len(docids), 400):
                chunk = list(docids[start : start + 400])
                marks = ",".join("?" * len(chunk))
                for view, key, docid in conn.execute(
                    "SELECT view, key, docid FROM settee_view_rows "
                    f"WHERE gid = ? AND docid IN ({marks})",
                    (gid, *chunk),
                ).fetchall():
                    delta[view] -= 1
                    if self.counted:
                        self._count(blocks, view, bytes(key), str(docid), -1)
                conn.execute(
                    f"DELETE FROM settee_view_rows WHERE gid = ? AND docid IN ({marks})",
                    (gid, *chunk),
                )
        fresh: list[tuple[Any, ...]] = []
        for docid in docids:
            per_view = emitted.get(docid)
            if per_view is None:
                continue
            for view, pairs in enumerate(per_view):
                delta[view] += len(pairs)
                fresh.extend(
                    (
                        gid,
                        view,
                        encode_key(key),
                        docid,
                        n,
                        _ENCODER.encode(key),
                        _ENCODER.encode(value),
                    )
                    for n, (key, value) in enumerate(pairs)
                )
        conn.executemany(
            "INSERT INTO settee_view_rows (gid, view, key, docid, n, key_json, value_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            fresh,
        )
        conn.executemany(
            "UPDATE settee_view_counts SET total = total + ? WHERE gid = ? AND view = ?",
            [(d, gid, view) for view, d in enumerate(delta) if d],
        )
        if not self.counted:
            return
        for row in fresh:
            self._count(blocks, row[1], row[2], row[3], 1)
        conn.executemany(
            "UPDATE settee_view_ranks SET count = count + ? "
            "WHERE gid = ? AND view = ? AND level = ? AND start = ?",
            [(d, gid, view, level, at) for (view, level, at), d in blocks.items() if d],
        )
        for (view, level, block), d in blocks.items():
            if d:
                self._shift(view, level, block, d)
        # Bottom up: a block splits between blocks of the level below, split first.
        for level in range(1, _LEVELS + 1):
            for (view, at, block), d in blocks.items():
                if at == level and d > 0:
                    self._split(view, level, block)

    def _count(
        self, blocks: dict[tuple[int, int, bytes], int], view: int, key: bytes, docid: str, d: int
    ) -> None:
        """Add ``d`` to ``blocks`` for each block holding row ``(key, docid)``."""
        row = self.conn.execute(_BLOCKS_OF, (self.gid, view, _start(key, docid))).fetchone()
        for level, start in enumerate(row, 1):
            block = (view, level, b"" if start is None else bytes(start))
            blocks[block] = blocks.get(block, 0) + d

    def _shift(
        self, view: int, level: int, start: bytes, d: int, *, inclusive: bool = False
    ) -> None:
        """Add ``d`` to the ``before`` of the blocks of ``level`` after ``start`` (and at it,
        ``inclusive``) inside the block of the level above that holds ``start``."""
        after = ">=" if inclusive else ">"
        if level == _LEVELS:
            self.conn.execute(
                "UPDATE settee_view_ranks SET before = before + ? WHERE gid = ? AND view = ? "
                f"AND level = ? AND start {after} ?",
                (d, self.gid, view, level, start),
            )
            return
        # The next block above starts where this level's blocks stop being its children
        # (0xFF: above every start, which begins with a type byte).
        self.conn.execute(
            "UPDATE settee_view_ranks SET before = before + ?1 WHERE gid = ?2 AND view = ?3 "
            f"AND level = ?4 AND start {after} ?5 AND start < COALESCE((SELECT start FROM "
            "settee_view_ranks WHERE gid = ?2 AND view = ?3 AND level = ?4 + 1 "
            "AND start > ?5 ORDER BY start LIMIT 1), X'FF')",
            (d, self.gid, view, level, start),
        )

    def _split(self, view: int, level: int, start: bytes) -> None:
        """Split the block of ``level`` starting at ``start`` until no part of it counts
        more than ``2 * _FAN ** level`` rows."""
        conn, gid = self.conn, self.gid
        todo = [start]
        while todo:
            here = todo.pop()
            row = conn.execute(
                "SELECT key, docid, count, before FROM settee_view_ranks "
                "WHERE gid = ? AND view = ? AND level = ? AND start = ?",
                (gid, view, level, here),
            ).fetchone()
            if row is None or row[2] <= 2 * _FAN**level:
                continue
            key, docid, count, before = bytes(row[0]), str(row[1]), int(row[2]), int(row[3])
            following = conn.execute(
                "SELECT start, key, docid FROM settee_view_ranks "
                "WHERE gid = ? AND view = ? AND level = ? AND start > ? ORDER BY start LIMIT 1",
                (gid, view, level, here),
            ).fetchone()
            middle = (
                self._middle_row(view, key, docid, count, following)
                if level == 1
                else self._middle_block(view, level - 1, here, count, following)
            )
            if middle is None:
                continue  # one (key, docid), or one block below: nowhere to cut
            mkey, mdocid, moved = middle
            conn.execute(
                "UPDATE settee_view_ranks SET count = count - ? "
                "WHERE gid = ? AND view = ? AND level = ? AND start = ?",
                (moved, gid, view, level, here),
            )
            mstart = _start(mkey, mdocid)
            if level > 1:
                # The blocks below that move count from the new block's start now.
                self._shift(view, level - 1, mstart, moved - count, inclusive=True)
            conn.execute(
                "INSERT INTO settee_view_ranks "
                "(gid, view, level, start, key, docid, count, before) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (gid, view, level, mstart, mkey, mdocid, moved, before + count - moved),
            )
            todo += [here, mstart]

    def _middle_row(
        self, view: int, key: bytes, docid: str, count: int, following: Any
    ) -> tuple[bytes, str, int] | None:
        """Where to cut a level-1 block of ``count`` rows starting at ``(key, docid)``:
        the ``(key, docid)`` of its middle row and how many rows lie from there on."""
        conn, gid = self.conn, self.gid
        middle = conn.execute(
            "SELECT key, docid FROM settee_view_rows WHERE gid = ? AND view = ? "
            "AND (key, docid) > (?, ?) ORDER BY key, docid, n LIMIT 1 OFFSET ?",
            (gid, view, key, docid, count // 2),
        ).fetchone()
        if middle is None:
            return None
        mkey, mdocid = bytes(middle[0]), str(middle[1])
        if following is not None and (mkey, mdocid) >= (bytes(following[1]), str(following[2])):
            return None
        upto, more = (
            ("", []) if following is None else (" AND (key, docid) < (?, ?)", following[1:])
        )
        (moved,) = conn.execute(
            "SELECT COUNT(*) FROM settee_view_rows WHERE gid = ? AND view = ? "
            f"AND (key, docid) >= (?, ?){upto}",
            (gid, view, mkey, mdocid, *more),
        ).fetchone()
        return mkey, mdocid, int(moved)

    def _middle_block(
        self, view: int, below: int, start: bytes, count: int, following: Any
    ) -> tuple[bytes, str, int] | None:
        """Where to cut a block of ``count`` rows starting at ``start`` one level above
        ``below``: the first of its blocks at ``below`` past its middle row, and how many
        rows lie from there on."""
        upto, more = ("", []) if following is None else (" AND start < ?", [following[0]])
        children = self.conn.execute(
            "SELECT key, docid, count FROM settee_view_ranks WHERE gid = ? AND view = ? "
            f"AND level = ? AND start >= ?{upto} ORDER BY start",
            (self.gid, view, below, start, *more),
        ).fetchall()
        seen = 0
        for number, (key, docid, rows) in enumerate(children):
            if number and seen * 2 >= count:
                return bytes(key), str(docid), count - seen
            seen += int(rows)
        return None

    def finish(self) -> None:
        """After a complete update: count the rows into the tree if a first build (or a
        file of an older version) left them uncounted."""
        if self.counted:
            return
        conn, gid = self.conn, self.gid
        self.create_tables(conn)
        conn.execute("DELETE FROM settee_view_ranks WHERE gid = ?", (gid,))
        for view in range(self.views):
            # [start, key, docid, count] per block, level 1 from the rows.
            blocks: list[list[Any]] = [[b"", b"", "", 0]]
            last: tuple[bytes, str] | None = None
            for key, docid in conn.execute(
                "SELECT key, docid FROM settee_view_rows WHERE gid = ? AND view = ? "
                "ORDER BY key, docid, n",
                (gid, view),
            ):
                here = (bytes(key), str(docid))
                if blocks[-1][3] >= _FAN and here != last:
                    blocks.append([_start(*here), here[0], here[1], 0])
                blocks[-1][3] += 1
                last = here
            for level in range(1, _LEVELS + 1):
                # ``before``: the rows before each block in its block above (of _FAN).
                group = len(blocks) if level == _LEVELS else _FAN
                befores: list[int] = []
                for at in range(len(blocks)):
                    befores.append(0 if at % group == 0 else befores[-1] + blocks[at - 1][3])
                conn.executemany(
                    "INSERT INTO settee_view_ranks "
                    "(gid, view, level, start, key, docid, count, before) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (gid, view, level, *block, before)
                        for block, before in zip(blocks, befores, strict=True)
                    ],
                )
                blocks = [
                    [*blocks[at][:3], sum(block[3] for block in blocks[at : at + _FAN])]
                    for at in range(0, len(blocks), _FAN)
                ]
        conn.execute("UPDATE settee_view_groups SET blocks_ok = ? WHERE gid = ?", (_COUNTED, gid))
        self.counted = True

    def set_seq(self, seq: int) -> None:
        """Record the database seq the rows reflect."""
        self.seq = seq
        self.conn.execute("UPDATE settee_view_groups SET seq = ? WHERE gid = ?", (seq, self.gid))

    def source(self, view: int) -> RowSource:
        """The rows of view number ``view``."""
        return _SQLiteRows(self.conn, self.gid, view, self.counted)


class ViewGroups:
    """The in-process view groups of one engine: design-document groups of memory
    databases (and of read-only SQLite files), and Python-view groups (the few most
    recently used map functions)."""

    def __init__(self, python_size: int = 16) -> None:
        self._lock = threading.Lock()
        self._design: dict[tuple[str, Hashable, str, str], MemoryGroup] = {}
        self._python: OrderedDict[Hashable, MemoryGroup] = OrderedDict()
        self._python_size = python_size
        #: Whether this engine's SQLite file has been given the view tables.
        self.sql_ready = False
        #: SQLite design groups last seen up to date, ``(db, ddoc id) -> (dbid, gid,
        #: sig)``: a hint a query tries first (:func:`current_map_rows`), bounded.
        self.sql_current: dict[tuple[str, str], tuple[int, int, str]] = {}

    def note_current(self, db: str, ddoc_id: str, dbid: int, gid: int, sig: str) -> None:
        """Remember that SQLite group ``gid`` (signature ``sig``) of ``ddoc_id`` was up to
        date with ``db`` (id ``dbid``)."""
        hints = self.sql_current
        if len(hints) >= 1024 and (db, ddoc_id) not in hints:
            hints.clear()
        hints[(db, ddoc_id)] = (dbid, gid, sig)

    def design(self, db: str, handle: Hashable, ddoc: str, sig: str, views: int) -> MemoryGroup:
        """The group of ``ddoc`` at signature ``sig``, made empty if new."""
        key = (db, handle, ddoc, sig)
        with self._lock:
            group = self._design.get(key)
            if group is None:
                # A recreated database, or a changed design document, leaves groups behind.
                for old in [
                    k for k in self._design if k[0] == db and (k[1] != handle or k[2] == ddoc)
                ]:
                    del self._design[old]
                group = self._design[key] = MemoryGroup(views)
            return group

    def designs(self, db: str, handle: Hashable) -> list[tuple[str, str, MemoryGroup]]:
        """``(ddoc, sig, group)`` of the design groups kept for ``db`` (this ``handle``)."""
        with self._lock:
            return [
                (key[2], key[3], group)
                for key, group in self._design.items()
                if key[0] == db and key[1] == handle
            ]

    def python(self, key: Hashable) -> MemoryGroup:
        """The group of a Python map function (``key`` names it and its database)."""
        with self._lock:
            group = self._python.get(key)
            if group is None:
                group = self._python[key] = MemoryGroup(1)
                while len(self._python) > self._python_size:
                    self._python.popitem(last=False)
            self._python.move_to_end(key)
            return group

    def forget(self, db: str, keep: Iterable[tuple[str, str]] = ()) -> int:
        """Drop ``db``'s design groups but those ``(ddoc, sig)`` in ``keep``; how many."""
        kept = set(keep)
        with self._lock:
            doomed = [k for k in self._design if k[0] == db and (k[2], k[3]) not in kept]
            for key in doomed:
                del self._design[key]
            return len(doomed)


# -- queries ------------------------------------------------------------------


def _bool(params: Mapping[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        raise _query_error(f"Invalid boolean parameter: {name}={value!r}")
    return value


def _int(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not is_int(value) or value < 0:
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = -1
        if value < 0:
            raise _query_error(f"Invalid value for {name}: must be a non-negative integer")
    return int(value)


class _Unset:
    pass


_UNSET: Any = _Unset()


def _cuts(params: Mapping[str, Any], descending: bool) -> tuple[Cut | None, Cut | None]:
    """The low and high cuts of the key range ``params`` select."""

    def get(*names: str) -> Any:
        for name in names:
            if params.get(name) is not None:
                return params[name]
        return _UNSET

    inclusive_end = _bool(params, "inclusive_end", True)
    start = get("startkey", "start_key")
    end = get("endkey", "end_key")
    start_docid = get("startkey_docid", "start_key_docid", "start_key_doc_id")
    end_docid = get("endkey_docid", "end_key_docid", "end_key_doc_id")
    key = get("key")
    if key is not _UNSET:
        start, end, inclusive_end = key, key, True
        start_docid = end_docid = _UNSET
    # The scan runs from ``start`` to ``end``; descending swaps which end is low.
    if descending:
        low, low_docid, low_incl = end, end_docid, inclusive_end
        high, high_docid, high_incl = start, start_docid, True
    else:
        low, low_docid, low_incl = start, start_docid, True
        high, high_docid, high_incl = end, end_docid, inclusive_end

    def cut(value: Any, docid: Any, after: bool) -> Cut | None:
        if value is _UNSET:
            return None
        try:
            encoded = encode_key(value)
        except TypeError as exc:
            raise _query_error(f"Invalid key: {exc}") from exc
        return Cut(encoded, None if docid is _UNSET else str(docid), after)

    return cut(low, low_docid, not low_incl), cut(high, high_docid, high_incl)


def check_query(params: Mapping[str, Any], *, reducible: bool) -> None:
    """``BadRequest`` (``query_parse_error``) for options a view of this kind refuses."""
    do_reduce = _bool(params, "reduce", reducible)
    if do_reduce and not reducible:
        raise _query_error("Reduce is invalid for map-only views.")
    group_level = _int(params, "group_level")
    group = _bool(params, "group", False) or group_level is not None
    if not do_reduce and group and not reducible:
        raise _query_error("Invalid use of grouping on a map view.")
    if do_reduce and _bool(params, "include_docs", False):
        raise _query_error("`include_docs` is invalid for reduce")


def query_view(
    source: RowSource,
    params: Mapping[str, Any],
    *,
    reduce: ReduceFn | None = None,
    keys: Sequence[Any] | None = None,
    docid_filter: Callable[[str], bool] | None = None,
    counts: bool = True,
) -> dict[str, Any]:
    """Apply a view query to ``source``; the CouchDB response body.

    ``include_docs`` is left to the caller: map rows carry ``id`` so it can add
    ``doc``. ``docid_filter`` keeps only the rows of some documents (a partition),
    at the cost of reading the whole range. ``counts=False`` leaves ``total_rows`` and
    ``offset`` out of a map answer (a pager that drops them: they cost reads).
    """
    check_query(params, reducible=reduce is not None)
    descending = _bool(params, "descending", False)
    limit = _int(params, "limit")
    skip = _int(params, "skip") or 0
    do_reduce = _bool(params, "reduce", reduce is not None)
    group_level = _int(params, "group_level")
    group = _bool(params, "group", False) or group_level is not None
    ranged = ("key", "startkey", "start_key", "endkey", "end_key")
    if keys is not None and any(params.get(name) is not None for name in ranged):
        raise _query_error("`keys` is incompatible with `key`, `start_key` and `end_key`")

    def fetch(lo: Cut | None, hi: Cut | None, skip: int, limit: int | None) -> list[OutRow]:
        if docid_filter is None:
            return source.rows(lo, hi, descending=descending, skip=skip, limit=limit)
        found = source.rows(lo, hi, descending=descending, skip=0, limit=None)
        kept = [row for row in found if docid_filter(row[0])][skip:]
        return kept if limit is None else kept[:limit]

    filtered = docid_filter is not None
    if do_reduce or keys is not None:
        # Reduces read their whole range; multi-key queries answer key by key.
        if keys is None:
            lo, hi = _cuts(params, descending)
            selected = fetch(lo, hi, 0, None)
        else:
            selected = []
            for wanted in keys:
                try:
                    encoded = encode_key(wanted)
                except TypeError as exc:
                    raise _query_error(f"Invalid key: {exc}") from exc
                selected += fetch(Cut(encoded, None, False), Cut(encoded, None, True), 0, None)
        if do_reduce:
            assert reduce is not None
            out_rows = [
                {"key": key, "value": reduce(pairs, values, False)}
                for key, pairs, values in _group(selected, group, group_level)
            ][skip:]
            return {"rows": out_rows if limit is None else out_rows[:limit]}
        page = selected[skip:]
        if limit is not None:
            page = page[:limit]
        if not counts:
            return {"rows": _rows(page)}
        total = len(fetch(None, None, 0, None)) if filtered else source.total()
        return {"total_rows": total, "rows": _rows(page)}

    lo, hi = _cuts(params, descending)
    page = fetch(lo, hi, skip, limit)
    if not counts:
        return {"rows": _rows(page)}
    if filtered:
        everything = fetch(None, None, 0, None)
        total = len(everything)
        before = fetch(None, lo, 0, None) if lo is not None else []
        after = fetch(hi, None, 0, None) if hi is not None else []
        # In the scan direction: with descending the rows above the high cut come first.
        outside = len(after if descending else before)
    else:
        cut = hi if descending else lo
        total, at = source.counts(cut)
        # In the scan direction: with descending the rows above the high cut come first.
        outside = 0 if cut is None else total - at if descending else at
    offset = min(outside + skip, total)
    return {"total_rows": total, "offset": offset, "rows": _rows(page)}


#: Parsed scalar keys and values by their stored JSON text (a scalar is immutable, so
#: rows may share it; arrays and objects are parsed for each row). Bounded: texts of
#: up to 64 characters, cleared when full.
_SCALARS: dict[str, Any] = {"null": None, "true": True, "false": False}
_SCALARS_MAX = 4096


def _parse(text: str) -> Any:
    found = _SCALARS.get(text, _UNSET)
    if found is not _UNSET:
        return found
    value = json.loads(text)
    if len(text) <= 64 and not isinstance(value, (list, dict)):
        if len(_SCALARS) >= _SCALARS_MAX:
            _SCALARS.clear()
        _SCALARS[text] = value
    return value


def _rows(rows: Iterable[OutRow]) -> list[dict[str, Any]]:
    """The answer's rows (one loop, no call per row)."""
    parse = _parse
    return [{"id": docid, "key": parse(key), "value": parse(value)} for docid, key, value in rows]


def _group(
    rows: list[OutRow], group: bool, group_level: int | None
) -> list[tuple[Any, list[list[Any]], list[Any]]]:
    """``(group key, [[key, docid]...], [value...])`` for each group, in row order."""
    if not group:
        if not rows:
            return []
        pairs = [[json.loads(r[1]), r[0]] for r in rows]
        return [(None, pairs, [json.loads(r[2]) for r in rows])]
    groups: list[tuple[Any, list[list[Any]], list[Any]]] = []
    last: Any = _UNSET
    for docid, key_json, value_json in rows:
        key = json.loads(key_json)
        grouped = key[:group_level] if group_level is not None and isinstance(key, list) else key
        encoded = encode_key(grouped)
        if last is not _UNSET and encoded == last:
            groups[-1][1].append([key, docid])
            groups[-1][2].append(json.loads(value_json))
        else:
            groups.append((grouped, [[key, docid]], [json.loads(value_json)]))
            last = encoded
    return groups


class ViewCache:
    """The few most recent query indexes (sorted ``_find`` results), each valid for one
    ``update_seq``."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._entries: OrderedDict[Any, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, update_seq: int) -> Any:
        """The index built at ``update_seq``, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != update_seq:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Any, update_seq: int, index: Any) -> None:
        """Remember ``index``; the least recently used entry goes beyond ``size``."""
        with self._lock:
            self._entries[key] = (update_seq, index)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
