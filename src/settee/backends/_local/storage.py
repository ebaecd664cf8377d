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

``MemoryStorage`` keeps dicts behind one lock; ``sqlstore.SQLiteStorage``
keeps tables in one SQLite file.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
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

#: Revision body key: ``(docid, rev)``.
BodyKey = tuple[str, str]


class DocInfo:
    """One document's metadata: the latest seq and the revision tree.

    A storage may hand the tree over as its JSON text (:meth:`lazy`): it is parsed
    the first time ``tree`` is read, so listings that need only ids and winning
    revisions never parse it.
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
    def lazy(cls, id: str, seq: int, tree_json: str, winner: str, deleted: bool) -> DocInfo:
        """A record whose tree is parsed from ``tree_json`` when first read."""
        info = cls.__new__(cls)
        info.id, info.seq, info.winner, info.deleted = id, seq, winner, deleted
        info._tree, info._text = None, tree_json
        return info

    @property
    def tree(self) -> RevTree:
        """The revision tree."""
        if self._tree is None:
            assert self._text is not None
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


class _MemIndex:
    """One json index in memory: rows sorted by (key, id), and each id's key."""

    __slots__ = ("definition", "keys", "rows")

    def __init__(self, definition: str) -> None:
        self.definition = definition
        self.rows: list[IndexRow] = []
        self.keys: dict[str, bytes] = {}

    def update(self, removed: Sequence[IndexRow], added: Sequence[IndexRow]) -> None:
        # By the id's recorded key: the row is removed wherever it is.
        gone = [(self.keys.pop(docid), docid) for _, docid in removed if docid in self.keys]
        if len(gone) + len(added) > 64:
            # A big batch: one pass of copying beats many inserts (each a memmove).
            if gone:
                self.rows = _without(self.rows, sorted(gone))
            if added:
                self.rows = _merged(self.rows, sorted(added))
        else:
            for row in gone:
                index = bisect.bisect_left(self.rows, row)
                if index < len(self.rows) and self.rows[index] == row:
                    del self.rows[index]
            for row in added:
                bisect.insort(self.rows, row)
        for key, docid in added:
            self.keys[docid] = key


class _MemDb:
    def __init__(self, name: str, partitioned: bool) -> None:
        self.meta = DbMeta(
            name=name, handle=self, update_seq=0, partitioned=partitioned, uid=next(_SERIALS)
        )
        self.docs: dict[str, DocInfo] = {}
        self.bodies: dict[str, dict[str, str]] = {}
        self.local: dict[str, tuple[str, str]] = {}
        self.by_seq: dict[int, str] = {}
        self.seq_list: list[int] = []
        self.sorted_ids: list[str] = []
        self.indexes: dict[str, _MemIndex] = {}
        self.blobs: dict[str, tuple[float, dict[int, bytes]]] = {}

    def live_seqs(self) -> list[int]:
        # seq_list only grows; dead entries are dropped when they dominate.
        if len(self.seq_list) > 2 * len(self.by_seq) + 1024:
            self.seq_list = list(self.by_seq)
        return self.seq_list


def _id_bounds(
    ids: list[str], lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool
) -> tuple[int, int]:
    start = 0
    if lo is not None:
        start = (bisect.bisect_left if lo_incl else bisect.bisect_right)(ids, lo)
    end = len(ids)
    if hi is not None:
        end = (bisect.bisect_right if hi_incl else bisect.bisect_left)(ids, hi)
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
        docs: dict[str, DocInfo] = meta.handle.docs
        return {docid: docs[docid] for docid in ids if docid in docs}

    def load_bodies(self, meta: DbMeta, keys: Sequence[BodyKey]) -> dict[BodyKey, str]:
        bodies: dict[str, dict[str, str]] = meta.handle.bodies
        out: dict[BodyKey, str] = {}
        for docid, rev in keys:
            body = bodies.get(docid, {}).get(rev)
            if body is not None:
                out[(docid, rev)] = body
        return out

    def load_winners(self, meta: DbMeta, ids: Sequence[str]) -> dict[str, Winner]:
        db: _MemDb = meta.handle
        out: dict[str, Winner] = {}
        for docid in ids:
            info = db.docs.get(docid)
            if info is not None:
                out[docid] = (info, db.bodies.get(docid, {}).get(info.winner))
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
        for docid, rev, body in bodies:
            db.bodies.setdefault(docid, {})[rev] = body
        for docid, rev in dropped:
            db.bodies.get(docid, {}).pop(rev, None)
        new_ids = sorted(info.id for info in infos if info.id not in db.docs)
        ids = db.sorted_ids
        if len(new_ids) <= 64:
            for docid in new_ids:
                bisect.insort(ids, docid)
        elif not ids or new_ids[0] > ids[-1]:
            ids.extend(new_ids)
        else:
            db.sorted_ids = _merged(ids, new_ids)
        for info in infos:
            old = db.docs.get(info.id)
            if old is not None:
                db.by_seq.pop(old.seq, None)
                if old.deleted:
                    meta.del_count -= 1
                else:
                    meta.doc_count -= 1
            if info.deleted:
                meta.del_count += 1
            else:
                meta.doc_count += 1
            db.docs[info.id] = info
            db.by_seq[info.seq] = info.id
            db.seq_list.append(info.seq)

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
        ids = db.sorted_ids
        start, end = _id_bounds(ids, lo, lo_incl, hi, hi_incl)
        indexes = range(end - 1, start - 1, -1) if descending else range(start, end)
        out: list[DocInfo] = []
        for index in indexes:
            info = db.docs[ids[index]]
            if include_deleted or not info.deleted:
                out.append(info)
                if len(out) >= limit:
                    break
        return out

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
        ids = db.sorted_ids
        docs = db.docs
        start, end = _id_bounds(ids, lo, lo_incl, hi, hi_incl)
        if meta.del_count == 0:
            # Nothing to skip: slice the window at once.
            if descending:
                window = ids[max(start, end - limit) : end][::-1]
            else:
                window = ids[start : min(end, start + limit)]
            return [(docid, docs[docid].winner) for docid in window]
        return [
            (info.id, info.winner)
            for info in self.scan_ids(
                meta, lo, lo_incl, hi, hi_incl, descending=descending, limit=limit,
                include_deleted=False,
            )
        ]  # fmt: skip

    def count_ids(
        self, meta: DbMeta, lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool
    ) -> tuple[int, int]:
        db: _MemDb = meta.handle
        if lo is None and hi is None:
            return meta.doc_count, meta.del_count
        ids = db.sorted_ids
        start, end = _id_bounds(ids, lo, lo_incl, hi, hi_incl)
        if meta.del_count == 0:
            return end - start, 0
        deleted = sum(1 for index in range(start, end) if db.docs[ids[index]].deleted)
        return end - start - deleted, deleted

    def scan_seqs(
        self, meta: DbMeta, after: int, *, before: int | None, descending: bool, limit: int
    ) -> list[DocInfo]:
        db: _MemDb = meta.handle
        seqs = db.live_seqs()
        start = bisect.bisect_right(seqs, after)
        end = len(seqs) if before is None else bisect.bisect_left(seqs, before)
        indexes = range(end - 1, start - 1, -1) if descending else range(start, end)
        out: list[DocInfo] = []
        for index in indexes:
            docid = db.by_seq.get(seqs[index])
            if docid is not None:
                out.append(db.docs[docid])
                if len(out) >= limit:
                    break
        return out

    def count_seqs_after(self, meta: DbMeta, seq: int) -> int:
        db: _MemDb = meta.handle
        seqs = db.live_seqs()
        start = bisect.bisect_right(seqs, seq)
        return sum(1 for s in seqs[start:] if s in db.by_seq)

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
        rows: list[IndexRow] = meta.handle.indexes[name].rows
        start = bisect.bisect_left(rows, lo, key=_row_key)
        end = bisect.bisect_right(rows, hi, key=_row_key)
        if after is not None:
            if descending:
                end = min(end, bisect.bisect_left(rows, after))
            else:
                start = max(start, bisect.bisect_right(rows, after))
        if descending:
            return rows[max(start, end - limit) : end][::-1]
        return rows[start : min(end, start + limit)]

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
        found = self.load_winners(meta, [docid for _, docid in rows])
        return [(row, found.get(row[1])) for row in rows]

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
        used = blob_refs(text for revs in db.bodies.values() for text in revs.values())
        doomed = [b for b, (made, _) in db.blobs.items() if b not in used and made < before]
        for blob in doomed:
            del db.blobs[blob]
        return len(doomed)

    def prune_bodies(self, meta: DbMeta) -> int:
        db: _MemDb = meta.handle
        pruned = 0
        for docid, revs in db.bodies.items():
            leaves = set(db.docs[docid].tree.leaves()) if docid in db.docs else set()
            for rev in [r for r in revs if r not in leaves]:
                del revs[rev]
                pruned += 1
        return pruned


class MemoryStorage:
    """Every database in Python dicts, guarded by one re-entrant lock.

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
            record = self.dbs.get(db)
            info = record.docs.get(docid) if record is not None else None
            if record is None or info is None:
                return None
            return info, record.bodies.get(docid, {}).get(info.winner)

    def reclaim(self) -> None:
        pass  # freed bodies are garbage-collected

    def close(self) -> None:
        self.wake()
