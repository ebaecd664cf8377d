"""The storage interface under the local engine, and its in-memory implementation.

The engine (``engine.py`` and its mixins) owns CouchDB's semantics; a storage only keeps
records and answers range scans, inside transactions:

* ``read()`` gives a consistent snapshot; ``write()`` an exclusive transaction
  that either commits whole or not at all.
* Documents are :class:`DocInfo` records (id, latest seq, revision tree,
  winner, deleted) plus one body per stored revision, kept as JSON text so
  no caller can change a stored document through a shared reference.
* Every change bumps the database's ``update_seq``; a document appears in the
  by-seq index once, at its latest seq.
* Live and deleted document counts are kept per database as documents are
  saved (``DbMeta.doc_count``/``del_count``), never counted per request.
* Mango json indexes are rows ``(key bytes, id)`` per index, sorted by key
  then id, written in the same transaction as the documents they index
  (:mod:`.jsonindex` computes the keys): an index never disagrees with its
  documents, whatever happens to the process.

``MemoryStorage`` keeps each document as one string, in a dict and in sorted chunks
of tuples the garbage collector need not walk (:class:`_MemDb`), behind one lock;
``sqlstore.SQLiteStorage`` keeps tables in one SQLite file.
"""

from __future__ import annotations

import array
import bisect
import contextlib
import itertools
import json
import operator
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from settee.backends._local.revtree import RevTree

__all__ = [
    "DbMeta",
    "DocInfo",
    "IndexRow",
    "MemoryStorage",
    "Storage",
    "Txn",
    "Winner",
    "blob_refs",
]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

#: Revision body key: ``(docid, rev)``.
BodyKey = tuple[str, str]


class DocInfo:
    """One document's metadata: the latest seq and the revision tree.

    A storage may hand the tree over as its JSON text (:meth:`lazy`): it is parsed
    the first time ``tree`` is read, so listings that need only ids and winning
    revisions never parse it. No text at all stands for the usual tree, the winner
    alone (no parent): nothing to keep or parse for a document written once.
    """

    __slots__ = ("_text", "_tree", "deleted", "id", "seq", "winner")

    def __init__(self, id: str, seq: int, tree: RevTree, winner: str, deleted: bool) -> None:
        self.id = id
        self.seq = seq
        self._tree: RevTree | None = tree
        self._text: str | None = None
        self.winner = winner
        self.deleted = deleted

    @classmethod
    def lazy(cls, id: str, seq: int, tree_json: str | None, winner: str, deleted: bool) -> DocInfo:
        """A record whose tree is parsed from ``tree_json`` when first read (None: the
        tree of ``winner`` alone, a root)."""
        info = cls.__new__(cls)
        info.id, info.seq, info.winner, info.deleted = id, seq, winner, deleted
        info._tree, info._text = None, tree_json
        return info

    @property
    def tree(self) -> RevTree:
        """The revision tree."""
        if self._tree is None:
            if self._text is None:
                self._tree = RevTree({self.winner: (None, self.deleted)})
            else:
                self._tree = RevTree.from_json(json.loads(self._text))
                self._text = None
        return self._tree

    @tree.setter
    def tree(self, tree: RevTree) -> None:
        self._tree, self._text = tree, None

    @property
    def tree_json(self) -> str | None:
        """The JSON text the tree was made from (:meth:`lazy`) while ``tree`` has not been
        read, else None: a storage can write it back as it is."""
        return self._text

    def lazy_tree(self) -> str | None:
        """The tree as :meth:`lazy` takes it: None for the winner alone (a root), else its
        JSON text (the text it was made from, if nobody has parsed it)."""
        tree = self._tree
        if tree is None:
            return self._text
        if len(tree.nodes) == 1:
            ((rev, (parent, deleted)),) = tree.nodes.items()
            if parent is None and rev == self.winner and deleted == self.deleted:
                return None
        return _ENCODER.encode(tree.to_json())

    def __repr__(self) -> str:
        return (
            f"DocInfo({self.id!r}, seq={self.seq}, winner={self.winner!r}, deleted={self.deleted})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DocInfo):
            return NotImplemented
        return (self.id, self.seq, self.winner, self.deleted, self.tree.to_json()) == (
            other.id,
            other.seq,
            other.winner,
            other.deleted,
            other.tree.to_json(),
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(slots=True)
class DbMeta:
    """A database's properties as of the current transaction."""

    name: str
    handle: Any
    update_seq: int
    revs_limit: int = 1000
    security: dict[str, Any] = field(default_factory=dict)
    partitioned: bool = False
    #: Live and deleted documents (``_local`` ones aside), kept as documents are saved
    #: (-1: not kept, in a read-only SQLite file older than the counters).
    doc_count: int = 0
    del_count: int = 0
    #: Never the uid of another database of the same store, even after a delete.
    uid: int = -1


#: One row of a json index: the encoded key and the document id.
IndexRow = tuple[bytes, str]

#: A document's record and the JSON text of its winning revision (None if not stored).
Winner = tuple[DocInfo, str | None]


class Txn(Protocol):
    """The operations the engine runs inside one transaction."""

    def list_dbs(self) -> list[str]: ...

    def get_db(self, name: str) -> DbMeta | None: ...

    def create_db(self, name: str, partitioned: bool) -> None: ...

    def drop_db(self, meta: DbMeta) -> None: ...

    def set_db_props(self, meta: DbMeta) -> None:
        """Persist ``revs_limit`` and ``security``."""
        ...

    def load_docs(self, meta: DbMeta, ids: Sequence[str]) -> dict[str, DocInfo]: ...

    def load_bodies(self, meta: DbMeta, keys: Sequence[BodyKey]) -> dict[BodyKey, str]: ...

    def load_winners(self, meta: DbMeta, ids: Sequence[str]) -> dict[str, Winner]:
        """``{id: (record, body of its winning revision or None)}`` for the ``ids`` that
        exist: :meth:`load_docs` and :meth:`load_bodies` of the winners in one read."""
        ...

    def save(
        self,
        meta: DbMeta,
        infos: Sequence[DocInfo],
        bodies: Sequence[tuple[str, str, str]],
        dropped: Sequence[BodyKey],
        previous: Mapping[str, DocInfo | None] | None = None,
    ) -> None:
        """Store ``infos`` (seqs assigned) and ``bodies``, forget ``dropped``, keep update_seq
        and the document counts. ``previous`` holds what the transaction read of those
        documents before, None for an id it found absent (a storage looks up what it lacks)."""
        ...

    def scan_ids(
        self,
        meta: DbMeta,
        lo: str | None,
        lo_incl: bool,
        hi: str | None,
        hi_incl: bool,
        *,
        descending: bool,
        limit: int,
        include_deleted: bool,
    ) -> list[DocInfo]:
        """Documents with ids in the range, in raw id order (reversed when descending)."""
        ...

    def scan_winners(
        self,
        meta: DbMeta,
        lo: str | None,
        lo_incl: bool,
        hi: str | None,
        hi_incl: bool,
        *,
        descending: bool,
        limit: int,
    ) -> list[tuple[str, str]]:
        """``(id, winning revision)`` of the live documents with ids in the range, as
        :meth:`scan_ids` gives them, without reading their revision trees."""
        ...

    def count_ids(
        self, meta: DbMeta, lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool
    ) -> tuple[int, int]:
        """``(live, deleted)`` document counts for ids in the range."""
        ...

    def scan_seqs(
        self, meta: DbMeta, after: int, *, before: int | None, descending: bool, limit: int
    ) -> list[DocInfo]:
        """Documents with ``after < seq < before``, by seq."""
        ...

    def count_seqs_after(self, meta: DbMeta, seq: int) -> int: ...

    def get_local(self, meta: DbMeta, docid: str) -> tuple[str, str] | None: ...

    def put_local(self, meta: DbMeta, docid: str, rev: str, body: str) -> None: ...

    def delete_local(self, meta: DbMeta, docid: str) -> None: ...

    def prune_bodies(self, meta: DbMeta) -> int:
        """Drop the bodies of non-leaf revisions (compaction); return how many."""
        ...

    def put_chunk(self, meta: DbMeta, blob: str, n: int, data: bytes) -> None:
        """Store chunk ``n`` of attachment content ``blob``."""
        ...

    def get_chunk(self, meta: DbMeta, blob: str, n: int) -> bytes | None:
        """Chunk ``n`` of ``blob``, or None past its end."""
        ...

    def prune_blobs(self, meta: DbMeta, before: float) -> int:
        """Drop the chunks of contents stored before ``before`` (a ``time.time()``) that no
        stored revision refers to; return how many contents went."""
        ...

    def index_defs(self, meta: DbMeta) -> dict[str, str]:
        """``{index name: definition JSON}`` of the json indexes built for ``meta``."""
        ...

    def set_index(self, meta: DbMeta, name: str, definition: str | None) -> None:
        """Register ``name`` with no rows (replacing any), or with None drop it and its rows."""
        ...

    def index_update(
        self, meta: DbMeta, name: str, removed: Sequence[IndexRow], added: Sequence[IndexRow]
    ) -> None:
        """Remove the ``removed`` rows from index ``name`` (each the ``(key, id)`` its
        document's stored winner gives), then add ``added``."""
        ...

    def index_scan(
        self,
        meta: DbMeta,
        name: str,
        lo: bytes,
        hi: bytes,
        *,
        descending: bool,
        limit: int,
        after: IndexRow | None,
    ) -> list[IndexRow]:
        """Rows of index ``name`` with ``lo <= key <= hi``, by (key, id) (reversed when
        descending), strictly after ``after`` in that order when given."""
        ...

    def index_winners(
        self,
        meta: DbMeta,
        name: str,
        lo: bytes,
        hi: bytes,
        *,
        descending: bool,
        limit: int,
        after: IndexRow | None,
    ) -> list[tuple[IndexRow, Winner | None]]:
        """:meth:`index_scan`'s rows, each with its document's record and winning body
        (:meth:`load_winners`; None if the document is gone), in one read."""
        ...


class Storage(Protocol):
    """Transactions plus a way to wait for changes."""

    def read(self) -> contextlib.AbstractContextManager[Txn]: ...

    def write(self) -> contextlib.AbstractContextManager[Txn]: ...

    def wait(self, db: str, since: int, timeout: float | None, closed: threading.Event) -> None:
        """Block until ``db``'s update_seq passes ``since`` (or it is gone), the timeout
        (seconds) passes, or ``closed`` is set."""
        ...

    def wake(self) -> None:
        """Make every :meth:`wait` in this process re-check its condition now."""
        ...

    def read_winner(self, db: str, docid: str) -> Winner | None:
        """``docid``'s record and winning body in database ``db``, read in one snapshot
        (on SQLite one statement, no transaction around it); None when the database or
        the document does not exist (the caller finds out which the ordinary way)."""
        ...

    def reclaim(self) -> None:
        """Give space freed by compaction back, where the storage can."""
        ...

    def close(self) -> None: ...


# -- memory ------------------------------------------------------------------


_SERIALS = itertools.count()


def blob_refs(bodies: Iterable[str]) -> set[str]:
    """The attachment contents (``"blob"`` ids) the revision ``bodies`` refer to."""
    used: set[str] = set()
    for text in bodies:
        if '"blob":' not in text:
            continue
        atts = json.loads(text).get("_attachments") or {}
        used.update(att["blob"] for att in atts.values() if isinstance(att.get("blob"), str))
    return used


def _row_key(row: IndexRow) -> bytes:
    return row[0]


def _merged(items: list[Any], new: list[Any]) -> list[Any]:
    """Sorted ``items`` with sorted ``new`` merged in: a binary search per new item and
    slices copied between them. (``extend`` + ``sort`` compares every item just to find
    the sorted run, which made loading in batches quadratic.)"""
    if not items or new[0] > items[-1]:
        return items + new
    out: list[Any] = []
    start = 0
    for item in new:
        at = bisect.bisect_left(items, item, start)
        out += items[start:at]
        out.append(item)
        start = at
    out += items[start:]
    return out


def _without(items: list[Any], doomed: list[Any]) -> list[Any]:
    """Sorted ``items`` less the sorted ``doomed`` ones that are there (as :func:`_merged`)."""
    out: list[Any] = []
    start = 0
    for item in doomed:
        at = bisect.bisect_left(items, item, start)
        if at < len(items) and items[at] == item:
            out += items[start:at]
            start = at + 1
    out += items[start:]
    return out


#: Items per tuple of a :class:`_Sorted` or :class:`_Column` (a tuple is rebuilt to change
#: one item: a few microseconds).
_CHUNK = 1024


class _Sorted:
    """A sorted sequence kept as tuples of at most ``2 * _CHUNK`` items.

    Not one list: the garbage collector walks every item of a list at each full
    collection (a million ids cost it tens of milliseconds each time, and a scan or a
    bulk load sets off many collections), while a tuple of strings, or of tuples of
    them, is untracked once it has been seen: it walks one item per tuple here.
    Positions are global (``bisect_*``, ``items``), as on a list.
    """

    __slots__ = ("_chunks", "_lasts", "_starts")

    def __init__(self) -> None:
        self._chunks: list[tuple[Any, ...]] = []
        self._lasts: list[Any] = []  # each chunk's last item
        self._starts: list[int] | None = [0]  # each chunk's position, then the length

    def __len__(self) -> int:
        return self._offsets()[-1]

    def _offsets(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *itertools.accumulate(len(chunk) for chunk in self._chunks)]
        return self._starts

    def _set(self, at: int, end: int, items: Sequence[Any]) -> None:
        """Replace chunks ``at:end`` with ``items`` (sorted) cut into chunks."""
        step = _CHUNK if len(items) > 2 * _CHUNK else 2 * _CHUNK
        chunks = [tuple(items[i : i + step]) for i in range(0, len(items), step)]
        self._chunks[at:end] = chunks
        self._lasts[at:end] = [chunk[-1] for chunk in chunks]
        self._starts = None

    def bisect_left(self, item: Any, key: Callable[[Any], Any] | None = None) -> int:
        at = bisect.bisect_left(self._lasts, item, key=key)
        if at == len(self._chunks):
            return len(self)
        return self._offsets()[at] + bisect.bisect_left(self._chunks[at], item, key=key)

    def bisect_right(self, item: Any, key: Callable[[Any], Any] | None = None) -> int:
        at = bisect.bisect_right(self._lasts, item, key=key)
        if at == len(self._chunks):
            return len(self)
        return self._offsets()[at] + bisect.bisect_right(self._chunks[at], item, key=key)

    def items(self, start: int, end: int, *, descending: bool = False) -> Iterator[Any]:
        """The items at positions ``start:end`` (from the end when descending)."""
        if start >= end:
            return
        offsets = self._offsets()
        first = bisect.bisect_right(offsets, start) - 1
        last = bisect.bisect_right(offsets, end - 1) - 1
        chunks = self._chunks
        if descending:
            for at in range(last, first - 1, -1):
                base = offsets[at]
                part = chunks[at][max(start - base, 0) : end - base]
                yield from reversed(part)
        else:
            for at in range(first, last + 1):
                base = offsets[at]
                yield from chunks[at][max(start - base, 0) : end - base]

    def __iter__(self) -> Iterator[Any]:
        for chunk in self._chunks:
            yield from chunk

    def _groups(self, items: Sequence[Any]) -> dict[int, list[Any]]:
        """``items`` (sorted) by the chunk each belongs in (past the end: the last)."""
        groups: dict[int, list[Any]] = {}
        last = len(self._chunks) - 1
        for item in items:
            at = min(bisect.bisect_left(self._lasts, item), last)
            groups.setdefault(at, []).append(item)
        return groups

    def add(self, new: Sequence[Any]) -> None:
        """Put the sorted ``new`` items in their places."""
        if not new:
            return
        if not self._chunks:
            self._set(0, 0, new)
            return
        if new[0] > self._lasts[-1]:  # appended (ids or keys that only grow): no merging
            tail = len(self._chunks) - 1
            self._set(tail, tail + 1, [*self._chunks[tail], *new])
            return
        for at, group in sorted(self._groups(new).items(), reverse=True):
            self._set(at, at + 1, _merged(list(self._chunks[at]), group))

    def replace(self, items: Sequence[Any], key: Callable[[Any], Any]) -> None:
        """Put each of ``items`` (sorted) in the place of the item of the same key."""
        groups: dict[int, list[Any]] = {}
        for item in items:
            at = bisect.bisect_left(self._lasts, key(item), key=key)
            groups.setdefault(at, []).append(item)
        for at, group in groups.items():
            chunk = list(self._chunks[at])
            start = 0
            for item in group:
                start = bisect.bisect_left(chunk, key(item), start, key=key)
                assert key(chunk[start]) == key(item), "replace: no item of that key"
                chunk[start] = item
            self._chunks[at] = tuple(chunk)
            self._lasts[at] = chunk[-1]

    def discard(self, doomed: Sequence[Any]) -> int:
        """Remove the sorted ``doomed`` items that are there; return how many were."""
        if not self._chunks or not doomed:
            return 0
        removed = 0
        for at, group in sorted(self._groups(doomed).items(), reverse=True):
            chunk = self._chunks[at]
            kept = _without(list(chunk), group)
            if len(kept) != len(chunk):
                removed += len(chunk) - len(kept)
                self._set(at, at + 1, kept)
        return removed

    def keep(self, wanted: Callable[[Any], bool]) -> None:
        """Keep only the items ``wanted`` says yes to."""
        items = [item for item in self if wanted(item)]
        self._chunks, self._lasts, self._starts = [], [], [0]
        self._set(0, 0, items)


class _Column:
    """A list that grows at the end, kept as full tuples of ``_CHUNK`` items and one open
    list (for the garbage collector, as :class:`_Sorted`)."""

    __slots__ = ("_full", "_open")

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._full: list[tuple[Any, ...]] = []
        self._open: list[Any] = []
        for item in items:
            self.append(item)

    def __len__(self) -> int:
        return len(self._full) * _CHUNK + len(self._open)

    def append(self, item: Any) -> None:
        self._open.append(item)
        if len(self._open) == _CHUNK:
            self._full.append(tuple(self._open))
            self._open = []

    def __getitem__(self, index: int) -> Any:
        chunk, at = divmod(index, _CHUNK)
        return self._full[chunk][at] if chunk < len(self._full) else self._open[at]

    def replace(self, changes: Mapping[int, Any]) -> None:
        """Set the item at each position of ``changes``."""
        by_chunk: dict[int, list[tuple[int, Any]]] = {}
        for index, value in changes.items():
            chunk, at = divmod(index, _CHUNK)
            if chunk < len(self._full):
                by_chunk.setdefault(chunk, []).append((at, value))
            else:
                self._open[at] = value
        for chunk, edits in by_chunk.items():
            items = list(self._full[chunk])
            for at, value in edits:
                items[at] = value
            self._full[chunk] = tuple(items)

    def items(self, start: int, end: int) -> Iterator[Any]:
        """The items at positions ``start:end``."""
        while start < end:
            chunk, at = divmod(start, _CHUNK)
            part = self._full[chunk] if chunk < len(self._full) else self._open
            piece = part[at : at + end - start]
            if not piece:
                return
            yield from piece
            start += len(piece)

    def count(self, value: Any, start: int) -> int:
        """How many items from position ``start`` on are ``value``."""
        if start >= len(self):
            return 0
        chunk, at = divmod(start, _CHUNK)
        parts = [*self._full[chunk:], self._open]
        return parts[0][at:].count(value) + sum(part.count(value) for part in parts[1:])


class _MemIndex:
    """One json index in memory: its rows ``(key, id)``, sorted."""

    __slots__ = ("definition", "rows")

    def __init__(self, definition: str) -> None:
        self.definition = definition
        self.rows = _Sorted()

    def update(self, removed: Sequence[IndexRow], added: Sequence[IndexRow]) -> None:
        if removed and self.rows.discard(sorted(removed)) != len(removed):
            # Some row was not where its document's stored winner puts it (as on SQLite:
            # it should always be): the rows of those ids go wherever they are (a scan).
            ids = {docid for _, docid in removed}
            self.rows.keep(lambda row: row[1] not in ids)
        self.rows.add(sorted(added))


#: A document in memory: one str (which the garbage collector never tracks, nor a dict
#: holding only such values) ``winner NUL seq NUL deleted NUL tree NUL rev NUL body ...``:
#: its winning revision, seq, ``1`` if deleted else ``0``, its tree as
#: :meth:`DocInfo.lazy_tree` gives it ("" for None), then each stored revision and its
#: JSON body, the winner's first when it is stored. JSON text never holds a NUL; a
#: document with a NUL in a revision id is kept as the tuple of those fields instead.
_Record = str | tuple[Any, ...]
#: ``(seq, winner, deleted, tree)``
_Head = tuple[int, str, bool, str | None]
_SEP = "\x00"


def _pack(head: _Head, pairs: Sequence[str]) -> _Record:
    seq, winner, deleted, tree = head
    text = _SEP.join((winner, str(seq), "1" if deleted else "0", tree or "", *pairs))
    if text.count(_SEP) == 3 + len(pairs):
        return text
    return (winner, seq, deleted, tree, *pairs)


def _head(record: _Record) -> _Head:
    if isinstance(record, str):
        winner, seq, deleted, tree = record.split(_SEP, 4)[:4]
        return int(seq), winner, deleted == "1", tree or None
    return record[1], record[0], record[2], record[3]


def _pairs(record: _Record) -> Sequence[str]:
    """The stored revisions and their bodies: ``[rev, body, rev, body, ...]``."""
    return record.split(_SEP)[4:] if isinstance(record, str) else record[4:]


def _winner_of(record: _Record) -> str:
    if isinstance(record, str):
        return record[: record.index(_SEP)]
    winner: str = record[0]
    return winner


def _is_deleted(record: _Record) -> bool:
    if isinstance(record, str):
        at = record.index(_SEP, record.index(_SEP) + 1) + 1
        return record[at] == "1"
    deleted: bool = record[2]
    return deleted


def _body_in(pairs: Sequence[str], rev: str) -> str | None:
    for at in range(0, len(pairs), 2):
        if pairs[at] == rev:
            return pairs[at + 1]
    return None


def _body_of(record: _Record, rev: str) -> str | None:
    """The body of ``rev`` in ``record``, or None if not stored."""
    return _body_in(_pairs(record), rev)


def _record_info(docid: str, record: _Record) -> DocInfo:
    seq, winner, deleted, tree = _head(record)
    return DocInfo.lazy(docid, seq, tree, winner, deleted)


def _record_winner(docid: str, record: _Record) -> Winner:
    """``record`` as a :data:`Winner` (one split of its text)."""
    if isinstance(record, str):
        parts = record.split(_SEP)
        info = DocInfo.lazy(docid, int(parts[1]), parts[3] or None, parts[0], parts[2] == "1")
        return info, _body_in(parts[4:], parts[0])
    return _record_info(docid, record), _body_of(record, record[0])


#: A document's id and record: what the sorted ids and the by-seq column hold, so that a
#: scan reads records in its order, not each by a lookup in the (large) dict.
_Entry = tuple[str, _Record]
_entry_id = operator.itemgetter(0)


def _infos(entries: Iterable[_Entry | None], limit: int, include_deleted: bool) -> list[DocInfo]:
    """The records of ``entries`` (None: skipped), at most ``limit``: the loop of every
    scan, :func:`_record_info` written out."""
    new = DocInfo.__new__
    out: list[DocInfo] = []
    append = out.append
    count = 0
    for entry in entries:
        if entry is None:
            continue
        docid, record = entry
        if isinstance(record, str):
            parts = record.split(_SEP, 4)
            deleted = parts[2] == "1"
            if deleted and not include_deleted:
                continue
            # DocInfo.lazy without its call (a fifth of a scan's storage time).
            info = new(DocInfo)
            info.id, info.seq, info.winner, info.deleted = docid, int(parts[1]), parts[0], deleted
            info._tree, info._text = None, parts[3] or None
            append(info)
        elif include_deleted or not _is_deleted(record):
            append(_record_info(docid, record))
        else:
            continue
        count += 1
        if count >= limit:
            break
    return out


def _with_bodies(
    head: _Head, old: _Record | None, staged: Sequence[str], dropped: Sequence[str]
) -> _Record:
    """A record of ``head`` with ``old``'s bodies, then ``staged`` (``rev, body, ...``),
    less the ``dropped`` revisions; the winner's body first."""
    bodies: dict[str, str] = {}
    if old is not None:
        known = _pairs(old)
        bodies.update(zip(known[::2], known[1::2], strict=True))
    bodies.update(zip(staged[::2], staged[1::2], strict=True))
    for rev in dropped:
        bodies.pop(rev, None)
    winner = head[1]
    flat: list[str] = []
    text = bodies.pop(winner, None)
    if text is not None:
        flat += (winner, text)
    for pair in bodies.items():
        flat += pair
    return _pack(head, flat)


class _MemDb:
    """One database: ``docs`` id -> record (:data:`_Record`); ``ids`` its entries
    (:data:`_Entry`) sorted by id, for ranges; by seq, the seqs (an array of machine
    ints) and a column of the same entries, None where that document has been saved
    again since (compacted when those dominate)."""

    __slots__ = (
        "__weakref__", "blobs", "docs", "ids", "indexes", "local", "meta", "seq_ids", "seqs",
        "stale",
    )  # fmt: skip

    def __init__(self, name: str, partitioned: bool) -> None:
        self.meta = DbMeta(
            name=name, handle=self, update_seq=0, partitioned=partitioned, uid=next(_SERIALS)
        )
        self.docs: dict[str, _Record] = {}
        self.local: dict[str, tuple[str, str]] = {}
        self.ids = _Sorted()
        self.seqs = array.array("q")
        self.seq_ids = _Column()
        self.stale = 0
        self.indexes: dict[str, _MemIndex] = {}
        self.blobs: dict[str, tuple[float, dict[int, bytes]]] = {}

    def forget_seqs(self, seqs: Iterable[int]) -> None:
        """Mark the entries of ``seqs`` stale (their documents are saved again)."""
        stale: dict[int, None] = {}
        for seq in seqs:
            at = bisect.bisect_left(self.seqs, seq)
            if at < len(self.seqs) and self.seqs[at] == seq and self.seq_ids[at] is not None:
                stale[at] = None
        self.seq_ids.replace(stale)
        self.stale += len(stale)

    def rewrite(self, records: Mapping[str, _Record]) -> None:
        """Replace stored documents' records (same seqs) by ``records``: in ``docs`` and
        in their entries."""
        entries: list[_Entry] = []
        at_seq: dict[int, _Entry] = {}
        for docid, record in records.items():
            entry = (docid, record)
            entries.append(entry)
            at_seq[bisect.bisect_left(self.seqs, _head(self.docs[docid])[0])] = entry
            self.docs[docid] = record
        if entries:
            entries.sort(key=_entry_id)
            self.ids.replace(entries, _entry_id)
            self.seq_ids.replace(at_seq)

    def compact_seqs(self) -> None:
        if self.stale > len(self.seq_ids) // 2 + 1024:
            entries = self.seq_ids.items(0, len(self.seq_ids))
            kept = [(seq, entry) for seq, entry in zip(self.seqs, entries, strict=True) if entry]
            self.seqs = array.array("q", (seq for seq, _ in kept))
            self.seq_ids = _Column(entry for _, entry in kept)
            self.stale = 0


def _id_bounds(
    ids: _Sorted, lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool
) -> tuple[int, int]:
    start = 0
    if lo is not None:
        start = ids.bisect_left(lo, _entry_id) if lo_incl else ids.bisect_right(lo, _entry_id)
    end = len(ids)
    if hi is not None:
        end = ids.bisect_right(hi, _entry_id) if hi_incl else ids.bisect_left(hi, _entry_id)
    return start, max(start, end)


class _MemTxn:
    def __init__(self, store: MemoryStorage) -> None:
        self.store = store

    def list_dbs(self) -> list[str]:
        return sorted(self.store.dbs)

    def get_db(self, name: str) -> DbMeta | None:
        db = self.store.dbs.get(name)
        return db.meta if db is not None else None

    def create_db(self, name: str, partitioned: bool) -> None:
        self.store.dbs[name] = _MemDb(name, partitioned)

    def drop_db(self, meta: DbMeta) -> None:
        self.store.dbs.pop(meta.name, None)

    def set_db_props(self, meta: DbMeta) -> None:
        pass  # meta is the live record

    def load_docs(self, meta: DbMeta, ids: Sequence[str]) -> dict[str, DocInfo]:
        docs: dict[str, _Record] = meta.handle.docs
        out: dict[str, DocInfo] = {}
        for docid in ids:
            record = docs.get(docid)
            if record is not None:
                out[docid] = _record_info(docid, record)
        return out

    def load_bodies(self, meta: DbMeta, keys: Sequence[BodyKey]) -> dict[BodyKey, str]:
        docs: dict[str, _Record] = meta.handle.docs
        out: dict[BodyKey, str] = {}
        for key in keys:
            record = docs.get(key[0])
            if record is not None:
                body = _body_of(record, key[1])
                if body is not None:
                    out[key] = body
        return out

    def load_winners(self, meta: DbMeta, ids: Sequence[str]) -> dict[str, Winner]:
        docs: dict[str, _Record] = meta.handle.docs
        out: dict[str, Winner] = {}
        for docid in ids:
            record = docs.get(docid)
            if record is not None:
                out[docid] = _record_winner(docid, record)
        return out

    def save(
        self,
        meta: DbMeta,
        infos: Sequence[DocInfo],
        bodies: Sequence[tuple[str, str, str]],
        dropped: Sequence[BodyKey],
        previous: Mapping[str, DocInfo | None] | None = None,
    ) -> None:
        db: _MemDb = meta.handle
        docs = db.docs
        # The bodies by document: almost always one new revision each.
        staged: dict[str, tuple[str, ...]] = {}
        for docid, rev, text in bodies:
            known = staged.get(docid)
            staged[docid] = (rev, text) if known is None else (*known, rev, text)
        gone: dict[str, list[str]] = {}
        for docid, rev in dropped:
            gone.setdefault(docid, []).append(rev)
        new_ids: list[_Entry] = []
        renewed: list[_Entry] = []
        resaved: list[int] = []
        seqs, seq_ids = db.seqs, db.seq_ids
        for info in infos:
            docid = info.id
            old = docs.get(docid)
            pairs = staged.pop(docid, ())
            if old is not None:
                before = _head(old)
                resaved.append(before[0])
                if before[2]:
                    meta.del_count -= 1
                else:
                    meta.doc_count -= 1
            if info.deleted:
                meta.del_count += 1
            else:
                meta.doc_count += 1
            head = (info.seq, info.winner, info.deleted, info.lazy_tree())
            if old is None and len(pairs) == 2 and docid not in gone:
                record = docs[docid] = _pack(head, pairs)  # a new document's first revision
            else:
                record = docs[docid] = _with_bodies(head, old, pairs, gone.pop(docid, ()))
            entry = (docid, record)
            (new_ids if old is None else renewed).append(entry)
            seqs.append(info.seq)
            seq_ids.append(entry)
        # Bodies of documents this save does not list (the engine sends none such).
        others: dict[str, _Record] = {}
        for docid in staged.keys() | gone.keys():
            stored = docs.get(docid)
            if stored is not None:
                others[docid] = _with_bodies(
                    _head(stored), stored, staged.get(docid, ()), gone.get(docid, ())
                )
        db.rewrite(others)
        if resaved:
            db.forget_seqs(resaved)
            db.compact_seqs()
        if renewed:
            renewed.sort(key=_entry_id)
            db.ids.replace(renewed, _entry_id)
        new_ids.sort(key=_entry_id)
        db.ids.add(new_ids)

    def scan_ids(
        self,
        meta: DbMeta,
        lo: str | None,
        lo_incl: bool,
        hi: str | None,
        hi_incl: bool,
        *,
        descending: bool,
        limit: int,
        include_deleted: bool,
    ) -> list[DocInfo]:
        db: _MemDb = meta.handle
        ids = db.ids
        start, end = _id_bounds(ids, lo, lo_incl, hi, hi_incl)
        return _infos(ids.items(start, end, descending=descending), limit, include_deleted)

    def scan_winners(
        self,
        meta: DbMeta,
        lo: str | None,
        lo_incl: bool,
        hi: str | None,
        hi_incl: bool,
        *,
        descending: bool,
        limit: int,
    ) -> list[tuple[str, str]]:
        db: _MemDb = meta.handle
        ids = db.ids
        start, end = _id_bounds(ids, lo, lo_incl, hi, hi_incl)
        if meta.del_count == 0:
            # Nothing to skip: slice the window at once.
            if descending:
                window = ids.items(max(start, end - limit), end, descending=True)
            else:
                window = ids.items(start, min(end, start + limit))
            return [(docid, _winner_of(record)) for docid, record in window]
        out: list[tuple[str, str]] = []
        for docid, record in ids.items(start, end, descending=descending):
            if not _is_deleted(record):
                out.append((docid, _winner_of(record)))
                if len(out) >= limit:
                    break
        return out

    def count_ids(
        self, meta: DbMeta, lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool
    ) -> tuple[int, int]:
        db: _MemDb = meta.handle
        if lo is None and hi is None:
            return meta.doc_count, meta.del_count
        ids = db.ids
        start, end = _id_bounds(ids, lo, lo_incl, hi, hi_incl)
        if meta.del_count == 0:
            return end - start, 0
        deleted = sum(1 for _, record in ids.items(start, end) if _is_deleted(record))
        return end - start - deleted, deleted

    def scan_seqs(
        self, meta: DbMeta, after: int, *, before: int | None, descending: bool, limit: int
    ) -> list[DocInfo]:
        db: _MemDb = meta.handle
        seqs, seq_ids = db.seqs, db.seq_ids
        start = bisect.bisect_right(seqs, after)
        end = len(seqs) if before is None else bisect.bisect_left(seqs, before)
        found: Iterable[_Entry | None]
        if descending:
            found = (seq_ids[index] for index in range(end - 1, start - 1, -1))
        else:
            found = seq_ids.items(start, end)
        return _infos(found, limit, True)

    def count_seqs_after(self, meta: DbMeta, seq: int) -> int:
        db: _MemDb = meta.handle
        start = bisect.bisect_right(db.seqs, seq)
        return len(db.seqs) - start - db.seq_ids.count(None, start)

    def index_defs(self, meta: DbMeta) -> dict[str, str]:
        indexes: dict[str, _MemIndex] = meta.handle.indexes
        return {name: index.definition for name, index in indexes.items()}

    def set_index(self, meta: DbMeta, name: str, definition: str | None) -> None:
        indexes: dict[str, _MemIndex] = meta.handle.indexes
        if definition is None:
            indexes.pop(name, None)
        else:
            indexes[name] = _MemIndex(definition)

    def index_update(
        self, meta: DbMeta, name: str, removed: Sequence[IndexRow], added: Sequence[IndexRow]
    ) -> None:
        meta.handle.indexes[name].update(removed, added)

    def index_scan(
        self,
        meta: DbMeta,
        name: str,
        lo: bytes,
        hi: bytes,
        *,
        descending: bool,
        limit: int,
        after: IndexRow | None,
    ) -> list[IndexRow]:
        rows: _Sorted = meta.handle.indexes[name].rows
        start = rows.bisect_left(lo, key=_row_key)
        end = rows.bisect_right(hi, key=_row_key)
        if after is not None:
            if descending:
                end = min(end, rows.bisect_left(after))
            else:
                start = max(start, rows.bisect_right(after))
        if descending:
            return list(rows.items(max(start, end - limit), end, descending=True))
        return list(rows.items(start, min(end, start + limit)))

    def index_winners(
        self,
        meta: DbMeta,
        name: str,
        lo: bytes,
        hi: bytes,
        *,
        descending: bool,
        limit: int,
        after: IndexRow | None,
    ) -> list[tuple[IndexRow, Winner | None]]:
        rows = self.index_scan(meta, name, lo, hi, descending=descending, limit=limit, after=after)
        docs: dict[str, _Record] = meta.handle.docs
        out: list[tuple[IndexRow, Winner | None]] = []
        for row in rows:
            docid = row[1]
            record = docs.get(docid)
            if record is None:
                out.append((row, None))
            else:
                out.append((row, _record_winner(docid, record)))
        return out

    def get_local(self, meta: DbMeta, docid: str) -> tuple[str, str] | None:
        local: dict[str, tuple[str, str]] = meta.handle.local
        return local.get(docid)

    def put_local(self, meta: DbMeta, docid: str, rev: str, body: str) -> None:
        meta.handle.local[docid] = (rev, body)

    def delete_local(self, meta: DbMeta, docid: str) -> None:
        meta.handle.local.pop(docid, None)

    def put_chunk(self, meta: DbMeta, blob: str, n: int, data: bytes) -> None:
        blobs: dict[str, tuple[float, dict[int, bytes]]] = meta.handle.blobs
        blobs.setdefault(blob, (time.time(), {}))[1][n] = bytes(data)

    def get_chunk(self, meta: DbMeta, blob: str, n: int) -> bytes | None:
        found = meta.handle.blobs.get(blob)
        return None if found is None else found[1].get(n)

    def prune_blobs(self, meta: DbMeta, before: float) -> int:
        db: _MemDb = meta.handle
        used = blob_refs(text for record in db.docs.values() for text in _pairs(record)[1::2])
        doomed = [b for b, (made, _) in db.blobs.items() if b not in used and made < before]
        for blob in doomed:
            del db.blobs[blob]
        return len(doomed)

    def prune_bodies(self, meta: DbMeta) -> int:
        db: _MemDb = meta.handle
        pruned = 0
        changed: dict[str, _Record] = {}
        for docid, record in db.docs.items():
            pairs = _pairs(record)
            if len(pairs) == 2 and pairs[0] == _winner_of(record):
                continue  # the winner alone: a leaf
            leaves = set(_record_info(docid, record).tree.leaves())
            doomed = [rev for rev in pairs[::2] if rev not in leaves]
            if doomed:
                changed[docid] = _with_bodies(_head(record), record, (), doomed)
                pruned += len(doomed)
        db.rewrite(changed)
        return pruned


class MemoryStorage:
    """Every database in memory (:class:`_MemDb`), guarded by one re-entrant lock.

    A write transaction works on copies the engine makes, and ``save`` applies
    them at the end, so an exception part-way leaves nothing half-written.
    """

    def __init__(self) -> None:
        self.dbs: dict[str, _MemDb] = {}
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)

    @contextlib.contextmanager
    def read(self) -> Iterator[Txn]:
        with self._lock:
            yield _MemTxn(self)

    @contextlib.contextmanager
    def write(self) -> Iterator[Txn]:
        with self._lock:
            try:
                yield _MemTxn(self)
            finally:
                self._cond.notify_all()

    def wait(self, db: str, since: int, timeout: float | None, closed: threading.Event) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not closed.is_set():
                record = self.dbs.get(db)
                if record is None or record.meta.update_seq > since:
                    return
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return
                self._cond.wait(remaining)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def read_winner(self, db: str, docid: str) -> Winner | None:
        with self._lock:
            found = self.dbs.get(db)
            record = found.docs.get(docid) if found is not None else None
            if record is None:
                return None
            return _record_winner(docid, record)

    def reclaim(self) -> None:
        pass  # freed bodies are freed with their records

    def close(self) -> None:
        self.wake()
