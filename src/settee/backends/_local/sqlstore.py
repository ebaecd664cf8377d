"""The storage interface over one SQLite file (stdlib ``sqlite3``).

One file holds many databases. Durability and concurrency choices:

* WAL journal, so readers never block the writer and several processes can
  share the file.
* ``synchronous=NORMAL`` by default: in WAL mode a committed transaction
  survives the process being killed (the WAL write reached the OS), though
  not a power cut; ``synchronous="FULL"`` adds an fsync per commit for that.
* Every write transaction starts with ``BEGIN IMMEDIATE``: the write lock is
  taken before the revision check reads anything, so two writers (threads or
  processes) can never both pass the check — one gets ``Conflict``.
* ``sqlite3`` connections are never used by two threads at once: a small pool
  lends one to each transaction; :meth:`SQLiteStorage.close` closes them.
* A file this process may not write (or ``read_only=True``) is opened with
  SQLite's ``mode=ro``: nothing is written on open (no schema, no pragmas),
  reads work, and every write raises :class:`settee.errors.Forbidden`.

Every ``sqlite3`` exception is translated here, and only here, into
:class:`settee.errors.ServerError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from settee._validate import check_number
from settee.backends._local.storage import (
    BodyKey,
    DbMeta,
    DocInfo,
    IndexRow,
    Txn,
    Winner,
    blob_refs,
)
from settee.errors import Forbidden, ServerError

__all__ = ["SQLiteStorage"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dbs (
    dbid INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    update_seq INTEGER NOT NULL DEFAULT 0,
    revs_limit INTEGER NOT NULL DEFAULT 1000,
    security TEXT NOT NULL DEFAULT '{}',
    partitioned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS docs (
    dbid INTEGER NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    winner TEXT NOT NULL,
    tree TEXT NOT NULL,
    PRIMARY KEY (dbid, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS docs_by_seq ON docs (dbid, seq);
CREATE TABLE IF NOT EXISTS revs (
    dbid INTEGER NOT NULL,
    id TEXT NOT NULL,
    rev TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (dbid, id, rev)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mango_indexes (
    dbid INTEGER NOT NULL,
    name TEXT NOT NULL,
    def TEXT NOT NULL,
    PRIMARY KEY (dbid, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mango_rows (
    dbid INTEGER NOT NULL,
    name TEXT NOT NULL,
    key BLOB NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (dbid, name, key, id)
) WITHOUT ROWID;
-- Rows are removed by their key (from the document's stored winner), so an index by id
-- (a second b-tree written for every row) is not kept; files made before lose it.
DROP INDEX IF EXISTS mango_rows_by_id;
CREATE TABLE IF NOT EXISTS att_chunks (
    dbid INTEGER NOT NULL,
    blob TEXT NOT NULL,
    n INTEGER NOT NULL,
    created REAL NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (dbid, blob, n)
);
CREATE TABLE IF NOT EXISTS local_docs (
    dbid INTEGER NOT NULL,
    id TEXT NOT NULL,
    rev TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (dbid, id)
) WITHOUT ROWID;
"""

# Added after the first release: files made before get them (and their counts) on open.
_COUNT_COLUMNS = (
    "ALTER TABLE dbs ADD COLUMN doc_count INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE dbs ADD COLUMN del_count INTEGER NOT NULL DEFAULT 0",
    "UPDATE dbs SET "
    "doc_count = (SELECT COUNT(*) FROM docs WHERE docs.dbid = dbs.dbid AND deleted = 0), "
    "del_count = (SELECT COUNT(*) FROM docs WHERE docs.dbid = dbs.dbid AND deleted = 1)",
)

# SQLite limits host parameters per statement; stay well under the old 999.
_CHUNK = 500

# In-process waiters on the same file share one condition, notified on commit.
_CONDITIONS: dict[str, threading.Condition] = {}
_CONDITIONS_LOCK = threading.Lock()


def _condition(path: str) -> threading.Condition:
    with _CONDITIONS_LOCK:
        return _CONDITIONS.setdefault(path, threading.Condition())


def _has_counts(conn: sqlite3.Connection) -> bool:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(dbs)")}
    return "doc_count" in columns


def _info(row: Sequence[Any]) -> DocInfo:
    docid, seq, deleted, winner, tree = row
    return DocInfo.lazy(docid, seq, tree, winner, bool(deleted))


_DOC_COLUMNS = "id, seq, deleted, winner, tree"
# A record and its winner's body: the revs row found by primary key from the docs row.
_WINNER_SELECT = (
    "SELECT d.id, d.seq, d.deleted, d.winner, d.tree, r.body FROM docs d "
    "LEFT JOIN revs r ON r.dbid = d.dbid AND r.id = d.id AND r.rev = d.winner"
)
_READ_WINNER = _WINNER_SELECT + " WHERE d.dbid = (SELECT dbid FROM dbs WHERE name = ?) AND d.id = ?"


# A revision id as make_rev makes them: nothing in it that JSON would escape.
_PLAIN_REV = re.compile(r"[0-9]+-[0-9a-f]+")


def _index_range(
    table: str, lo: bytes, hi: bytes, after: IndexRow | None, descending: bool
) -> tuple[str, list[Any]]:
    """The conditions (`` AND ...``) and their arguments for json index rows with keys in
    ``lo..hi`` (inclusive) after the row ``after`` in scan order.

    Where ``after`` lies inside the range, the range's bound on that side is left out:
    given both ``key >= ?`` and ``(key, id) > (?, ?)``, SQLite seeks with the first and
    steps over every row before the bookmark, so each page would cost its position
    (a 1M-row index read in pages of 1,000 went from 0.4 to 4 ms a page)."""
    key, docid = f"{table}key", f"{table}id"
    if after is None:
        return f" AND {key} >= ? AND {key} <= ?", [lo, hi]
    if descending:
        if after[0] > hi:  # the bookmark lies above the range: it bounds nothing
            return f" AND {key} >= ? AND {key} <= ?", [lo, hi]
        return f" AND {key} >= ? AND ({key}, {docid}) < (?, ?)", [lo, *after]
    if after[0] < lo:  # the bookmark lies below the range
        return f" AND {key} >= ? AND {key} <= ?", [lo, hi]
    return f" AND ({key}, {docid}) > (?, ?) AND {key} <= ?", [*after, hi]


def _tree_text(info: DocInfo) -> str:
    """``info.tree.to_json()`` as compact JSON; a new document's one-node tree without the
    encoder, and a tree nobody has parsed yet as the text it was made from."""
    # A record made lazily (DocInfo.lazy: a new id's first revision, or one read from
    # this file) and never read since keeps its tree as that text.
    text = info.tree_json
    if text is not None:
        return text
    if info._tree is None:  # the winner alone (DocInfo.lazy without a text)
        rev, parent, deleted = info.winner, None, info.deleted
    elif len(info.tree.nodes) == 1:
        ((rev, (parent, deleted)),) = info.tree.nodes.items()
    else:
        return _ENCODER.encode(info.tree.to_json())
    if parent is None and _PLAIN_REV.fullmatch(rev):
        return f'[["{rev}",null,{"true" if deleted else "false"}]]'
    return _ENCODER.encode(info.tree.to_json())


def _winner(row: Sequence[Any]) -> Winner:
    docid, seq, deleted, winner, tree, body = row
    return DocInfo.lazy(docid, seq, tree, winner, bool(deleted)), body


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


class _SQLTxn:
    def __init__(self, conn: sqlite3.Connection, counted: bool) -> None:
        self.conn = conn
        # False only for a read-only file older than the dbs.doc_count column.
        self.counted = counted

    # -- databases -----------------------------------------------------------
    def list_dbs(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT name FROM dbs ORDER BY name")]

    def get_db(self, name: str) -> DbMeta | None:
        counts = "doc_count, del_count" if self.counted else "-1, -1"
        row = self.conn.execute(
            "SELECT dbid, update_seq, revs_limit, security, partitioned, "
            f"{counts} FROM dbs WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        dbid, update_seq, revs_limit, security, partitioned, doc_count, del_count = row
        return DbMeta(
            name=name,
            handle=dbid,
            update_seq=update_seq,
            revs_limit=revs_limit,
            # Most databases have none: every open_db skips the decoder for that.
            security={} if security == "{}" else json.loads(security),
            partitioned=bool(partitioned),
            doc_count=doc_count,
            del_count=del_count,
            uid=dbid,
        )

    def create_db(self, name: str, partitioned: bool) -> None:
        self.conn.execute(
            "INSERT INTO dbs (name, partitioned) VALUES (?, ?)", (name, int(partitioned))
        )

    def drop_db(self, meta: DbMeta) -> None:
        tables = ("docs", "revs", "local_docs", "mango_rows", "mango_indexes", "att_chunks", "dbs")
        for table in tables:
            self.conn.execute(f"DELETE FROM {table} WHERE dbid = ?", (meta.handle,))

    def set_db_props(self, meta: DbMeta) -> None:
        self.conn.execute(
            "UPDATE dbs SET revs_limit = ?, security = ? WHERE dbid = ?",
            (meta.revs_limit, json.dumps(meta.security), meta.handle),
        )

    # -- documents -----------------------------------------------------------
    def load_docs(self, meta: DbMeta, ids: Sequence[str]) -> dict[str, DocInfo]:
        out: dict[str, DocInfo] = {}
        if len(ids) > _CHUNK:
            # A big batch (a bulk load) often has ids past every stored one: only those
            # between the smallest and largest stored id can be there (two index probes).
            ends = [
                self.conn.execute(
                    f"SELECT id FROM docs WHERE dbid = ? ORDER BY id {order} LIMIT 1",
                    (meta.handle,),
                ).fetchone()
                for order in ("ASC", "DESC")
            ]
            if ends[0] is None:
                return out
            low, high = ends[0][0], ends[1][0]
            ids = [docid for docid in ids if low <= docid <= high]
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM docs WHERE dbid = ? AND id IN ({marks})",
                (meta.handle, *chunk),
            ):
                info = _info(row)
                out[info.id] = info
        return out

    def load_bodies(self, meta: DbMeta, keys: Sequence[BodyKey]) -> dict[BodyKey, str]:
        # Primary-key lookups one by one beat any multi-row IN form SQLite can plan.
        out: dict[BodyKey, str] = {}
        execute = self.conn.execute
        for docid, rev in keys:
            row = execute(
                "SELECT body FROM revs WHERE dbid = ? AND id = ? AND rev = ?",
                (meta.handle, docid, rev),
            ).fetchone()
            if row is not None:
                out[(docid, rev)] = row[0]
        return out

    def load_winners(self, meta: DbMeta, ids: Sequence[str]) -> dict[str, Winner]:
        out: dict[str, Winner] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"{_WINNER_SELECT} WHERE d.dbid = ? AND d.id IN ({marks})",
                (meta.handle, *chunk),
            ):
                out[row[0]] = _winner(row)
        return out

    def save(
        self,
        meta: DbMeta,
        infos: Sequence[DocInfo],
        bodies: Sequence[tuple[str, str, str]],
        dropped: Sequence[BodyKey],
        previous: Mapping[str, DocInfo | None] | None = None,
    ) -> None:
        dbid = meta.handle
        known: Mapping[str, DocInfo | None] = previous or {}
        unknown = [info.id for info in infos if info.id not in known]
        if unknown:
            known = {**known, **self.load_docs(meta, unknown)}
        # The counts move by what each record was and is now (locals: once per document).
        live = gone = 0
        for info in infos:
            old = known.get(info.id)
            if old is not None:
                if old.deleted:
                    gone -= 1
                else:
                    live -= 1
            if info.deleted:
                gone += 1
            else:
                live += 1
        meta.doc_count += live
        meta.del_count += gone
        self.conn.executemany(
            "INSERT OR REPLACE INTO docs (dbid, id, seq, deleted, winner, tree) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                (
                    dbid,
                    info.id,
                    info.seq,
                    int(info.deleted),
                    info.winner,
                    info.tree_json or _tree_text(info),  # JSON text is never empty
                )
                for info in infos
            ),
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO revs (dbid, id, rev, body) VALUES (?, ?, ?, ?)",
            ((dbid, docid, rev, body) for docid, rev, body in bodies),
        )
        if dropped:
            self.conn.executemany(
                "DELETE FROM revs WHERE dbid = ? AND id = ? AND rev = ?",
                ((dbid, docid, rev) for docid, rev in dropped),
            )
        self.conn.execute(
            "UPDATE dbs SET update_seq = ?, doc_count = ?, del_count = ? WHERE dbid = ?",
            (meta.update_seq, meta.doc_count, meta.del_count, dbid),
        )

    @staticmethod
    def _range(
        lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if lo is not None:
            clauses.append("id >= ?" if lo_incl else "id > ?")
            args.append(lo)
        if hi is not None:
            clauses.append("id <= ?" if hi_incl else "id < ?")
            args.append(hi)
        return "".join(f" AND {c}" for c in clauses), args

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
        where, args = self._range(lo, lo_incl, hi, hi_incl)
        if not include_deleted:
            where += " AND deleted = 0"
        order = "DESC" if descending else "ASC"
        rows = self.conn.execute(
            f"SELECT {_DOC_COLUMNS} FROM docs WHERE dbid = ?{where} ORDER BY id {order} LIMIT ?",
            (meta.handle, *args, limit),
        )
        return [_info(row) for row in rows]

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
        where, args = self._range(lo, lo_incl, hi, hi_incl)
        order = "DESC" if descending else "ASC"
        cursor = self.conn.execute(
            f"SELECT id, winner FROM docs WHERE dbid = ?{where} AND deleted = 0 "
            f"ORDER BY id {order} LIMIT ?",
            (meta.handle, *args, limit),
        )
        rows: list[tuple[str, str]] = cursor.fetchall()
        return rows

    def count_ids(
        self, meta: DbMeta, lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool
    ) -> tuple[int, int]:
        if lo is None and hi is None and self.counted:
            return meta.doc_count, meta.del_count
        where, args = self._range(lo, lo_incl, hi, hi_incl)
        total, deleted = self.conn.execute(
            f"SELECT COUNT(*), COALESCE(SUM(deleted), 0) FROM docs WHERE dbid = ?{where}",
            (meta.handle, *args),
        ).fetchone()
        return total - deleted, deleted

    def scan_seqs(
        self, meta: DbMeta, after: int, *, before: int | None, descending: bool, limit: int
    ) -> list[DocInfo]:
        where = " AND seq > ?"
        args: list[Any] = [after]
        if before is not None:
            where += " AND seq < ?"
            args.append(before)
        order = "DESC" if descending else "ASC"
        rows = self.conn.execute(
            f"SELECT {_DOC_COLUMNS} FROM docs WHERE dbid = ?{where} ORDER BY seq {order} LIMIT ?",
            (meta.handle, *args, limit),
        )
        return [_info(row) for row in rows]

    def count_seqs_after(self, meta: DbMeta, seq: int) -> int:
        (count,) = self.conn.execute(
            "SELECT COUNT(*) FROM docs WHERE dbid = ? AND seq > ?", (meta.handle, seq)
        ).fetchone()
        return int(count)

    # -- attachment contents -------------------------------------------------
    def put_chunk(self, meta: DbMeta, blob: str, n: int, data: bytes) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO att_chunks (dbid, blob, n, created, data) "
            "VALUES (?, ?, ?, ?, ?)",
            (meta.handle, blob, n, time.time(), data),
        )

    def get_chunk(self, meta: DbMeta, blob: str, n: int) -> bytes | None:
        row = self.conn.execute(
            "SELECT data FROM att_chunks WHERE dbid = ? AND blob = ? AND n = ?",
            (meta.handle, blob, n),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def prune_blobs(self, meta: DbMeta, before: float) -> int:
        rows = self.conn.execute(
            "SELECT body FROM revs WHERE dbid = ? AND body LIKE '%\"blob\":%'", (meta.handle,)
        )
        used = blob_refs(text for (text,) in rows)
        stored = self.conn.execute(
            "SELECT blob, MIN(created) FROM att_chunks WHERE dbid = ? GROUP BY blob",
            (meta.handle,),
        ).fetchall()
        doomed = [(meta.handle, b) for b, made in stored if b not in used and made < before]
        self.conn.executemany("DELETE FROM att_chunks WHERE dbid = ? AND blob = ?", doomed)
        return len(doomed)

    # -- json indexes --------------------------------------------------------
    def index_defs(self, meta: DbMeta) -> dict[str, str]:
        return dict(
            self.conn.execute(
                "SELECT name, def FROM mango_indexes WHERE dbid = ?", (meta.handle,)
            ).fetchall()
        )

    def set_index(self, meta: DbMeta, name: str, definition: str | None) -> None:
        self.conn.execute("DELETE FROM mango_rows WHERE dbid = ? AND name = ?", (meta.handle, name))
        if definition is None:
            self.conn.execute(
                "DELETE FROM mango_indexes WHERE dbid = ? AND name = ?", (meta.handle, name)
            )
        else:
            self.conn.execute(
                "INSERT OR REPLACE INTO mango_indexes (dbid, name, def) VALUES (?, ?, ?)",
                (meta.handle, name, definition),
            )

    def index_update(
        self, meta: DbMeta, name: str, removed: Sequence[IndexRow], added: Sequence[IndexRow]
    ) -> None:
        dbid = meta.handle
        if removed:
            cursor = self.conn.executemany(
                "DELETE FROM mango_rows WHERE dbid = ? AND name = ? AND key = ? AND id = ?",
                ((dbid, name, key, docid) for key, docid in removed),
            )
            if cursor.rowcount != len(removed):
                # Some row was not where its document's stored winner puts it (it should
                # always be): remove each such id's rows wherever they are (a scan).
                self.conn.executemany(
                    "DELETE FROM mango_rows WHERE dbid = ? AND name = ? AND id = ?",
                    ((dbid, name, docid) for _, docid in removed),
                )
        self.conn.executemany(
            "INSERT OR REPLACE INTO mango_rows (dbid, name, key, id) VALUES (?, ?, ?, ?)",
            ((dbid, name, key, docid) for key, docid in added),
        )

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
        where, args = _index_range("", lo, hi, after, descending)
        order = "DESC" if descending else "ASC"
        rows = self.conn.execute(
            f"SELECT key, id FROM mango_rows WHERE dbid = ? AND name = ?{where} "
            f"ORDER BY key {order}, id {order} LIMIT ?",
            (meta.handle, name, *args, limit),
        )
        return [(bytes(key), docid) for key, docid in rows]

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
        where, args = _index_range("m.", lo, hi, after, descending)
        order = "DESC" if descending else "ASC"
        rows = self.conn.execute(
            "SELECT m.key, d.id, d.seq, d.deleted, d.winner, d.tree, r.body, m.id "
            "FROM mango_rows m LEFT JOIN docs d ON d.dbid = m.dbid AND d.id = m.id "
            "LEFT JOIN revs r ON r.dbid = d.dbid AND r.id = d.id AND r.rev = d.winner "
            f"WHERE m.dbid = ? AND m.name = ?{where} ORDER BY m.key {order}, m.id {order} LIMIT ?",
            (meta.handle, name, *args, limit),
        )
        return [
            ((bytes(row[0]), row[7]), None if row[1] is None else _winner(row[1:7])) for row in rows
        ]

    # -- local documents -----------------------------------------------------
    def get_local(self, meta: DbMeta, docid: str) -> tuple[str, str] | None:
        row = self.conn.execute(
            "SELECT rev, body FROM local_docs WHERE dbid = ? AND id = ?", (meta.handle, docid)
        ).fetchone()
        return (row[0], row[1]) if row is not None else None

    def put_local(self, meta: DbMeta, docid: str, rev: str, body: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO local_docs (dbid, id, rev, body) VALUES (?, ?, ?, ?)",
            (meta.handle, docid, rev, body),
        )

    def delete_local(self, meta: DbMeta, docid: str) -> None:
        self.conn.execute("DELETE FROM local_docs WHERE dbid = ? AND id = ?", (meta.handle, docid))

    def prune_bodies(self, meta: DbMeta) -> int:
        pruned = 0
        last = ""
        while True:
            page = self.scan_ids(
                meta, last, False, None, True, descending=False, limit=1000, include_deleted=True
            )
            doomed: list[tuple[Any, str, str]] = []
            for info in page:
                leaves = set(info.tree.leaves())
                for (rev,) in self.conn.execute(
                    "SELECT rev FROM revs WHERE dbid = ? AND id = ?", (meta.handle, info.id)
                ):
                    if rev not in leaves:
                        doomed.append((meta.handle, info.id, rev))
            self.conn.executemany("DELETE FROM revs WHERE dbid = ? AND id = ? AND rev = ?", doomed)
            pruned += len(doomed)
            if len(page) < 1000:
                return pruned
            last = page[-1].id


class SQLiteStorage:
    """Databases in one SQLite file; safe across threads and processes.

    Connections live in a small pool: a transaction takes one, gives it back
    when it ends, so a thread never shares a connection with another while it
    is in use, and threads that come and go do not each leave one open.
    """

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "NORMAL",
        busy_timeout: float = 30.0,
        poll_interval: float = 0.05,
        read_only: bool = False,
    ) -> None:
        if not isinstance(synchronous, str):
            raise TypeError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        if not isinstance(read_only, bool):
            raise TypeError(f"read_only must be a bool, not {read_only!r}")
        self.path = os.path.abspath(path)
        self.synchronous = synchronous.upper()
        self.busy_timeout = check_number("busy_timeout", busy_timeout)
        # 0 would turn a waiting feed into a busy loop.
        self.poll_interval = check_number("poll_interval", poll_interval, strict=True)
        exists = os.path.isfile(self.path)
        #: True when the file is opened with SQLite's mode=ro: every write is Forbidden.
        self.read_only = read_only or (exists and not os.access(self.path, os.W_OK))
        self._free: list[sqlite3.Connection] = []
        self._counted = False
        self._pool_lock = threading.Lock()
        self._closed = False
        self._cond = _condition(self.path)
        directory = os.path.dirname(self.path)
        if directory and not os.path.isdir(directory):
            raise ValueError(f"no such directory for the SQLite file: {directory}")
        if self.read_only:
            if not exists:
                raise ValueError(f"no SQLite file at {self.path} to open read-only")
            with self._connection() as conn:
                row = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dbs'"
                ).fetchone()
                self._counted = row is not None and _has_counts(conn)
            if row is None:
                self.close()
                raise ValueError(
                    f"{self.path} is not a settee store (no dbs table) and is opened "
                    "read-only, so settee cannot create one"
                )
            return
        with self._connection() as conn:
            # executescript commits first; the script brings its own transaction.
            conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
            if not _has_counts(conn):
                conn.execute("BEGIN IMMEDIATE")  # re-checked under the lock: one process adds them
                try:
                    if not _has_counts(conn):
                        for statement in _COUNT_COLUMNS:
                            conn.execute(statement)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        self._counted = True

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise ServerError(f"SQLite error on {self.path}: {exc}", error="sqlite_error") from exc

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            # mode=ro: SQLite writes nothing (a read-only WAL file still needs its
            # -shm/-wal beside it, or a directory where they can be created).
            return sqlite3.connect(
                f"file:{quote(self.path)}?mode=ro",
                uri=True,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,  # the pool hands a connection to one thread at a time
        )
        try:
            # Before anything else: takes effect only while the file is new and empty,
            # and lets compact() give freed pages back.
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _checkout(self) -> sqlite3.Connection:
        """A connection from the pool (a new one if none is free); give it back with
        :meth:`_checkin`. sqlite3 errors are the caller's to translate."""
        with self._pool_lock:
            if self._closed:
                raise ServerError(f"the SQLite store {self.path} is closed", error="closed")
            conn = self._free.pop() if self._free else None
        return self._open() if conn is None else conn

    def _checkin(self, conn: sqlite3.Connection) -> None:
        with self._pool_lock:
            if self._closed:
                conn.close()
            else:
                self._free.append(conn)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection for the duration of the block (sqlite3 errors translated)."""
        with self._translate():
            conn = self._checkout()
            try:
                yield conn
            finally:
                self._checkin(conn)

    @contextlib.contextmanager
    def read(self) -> Iterator[Txn]:
        """A snapshot: one deferred transaction."""
        with self._connection() as conn:
            conn.execute("BEGIN")
            try:
                yield _SQLTxn(conn, self._counted)
            finally:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def write(self) -> Iterator[Txn]:
        """An exclusive write transaction: committed whole, or rolled back on any exception.

        ``Forbidden`` (nothing done) when the store is open read-only.
        """
        self._refuse_if_read_only()
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLTxn(conn, self._counted)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        self.wake()

    def read_winner(self, db: str, docid: str) -> Winner | None:
        # One statement outside any transaction: SQLite reads it from one snapshot.
        rows = self.select(_READ_WINNER, (db, docid))
        return _winner(rows[0]) if rows else None

    def select(self, sql: str, args: Sequence[Any]) -> list[Any]:
        """The rows of one read-only statement outside any transaction: SQLite reads them
        from one snapshot (every plain document read, the view engine's one-statement
        reads of an index it knows). The pool is used inline (no context managers)."""
        try:
            conn = self._checkout()
            try:
                return conn.execute(sql, args).fetchall()
            finally:
                self._checkin(conn)
        except sqlite3.Error as exc:
            raise ServerError(f"SQLite error on {self.path}: {exc}", error="sqlite_error") from exc

    def current_seq(self, db: str) -> int | None:
        """``db``'s update_seq as committed now, or None if it does not exist."""
        with self._connection() as conn:
            row = conn.execute("SELECT update_seq FROM dbs WHERE name = ?", (db,)).fetchone()
        return None if row is None else int(row[0])

    def wait(self, db: str, since: int, timeout: float | None, closed: threading.Event) -> None:
        """Block until ``db`` passes ``since``; polls the file for other processes' writes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not closed.is_set():
            seq = self.current_seq(db)
            if seq is None or seq > since:
                return
            remaining = self.poll_interval
            if deadline is not None:
                remaining = min(remaining, deadline - time.monotonic())
                if remaining <= 0:
                    return
            with self._cond:
                if closed.is_set():
                    return
                self._cond.wait(remaining)

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            raise Forbidden(
                f"the SQLite store {self.path} is open read-only (the file is not writable by "
                "this process, or read_only=True / ?mode=ro was given): writes are refused",
                error="forbidden",
            )

    def reclaim(self) -> None:
        """Return free pages to the file system (after compaction)."""
        self._refuse_if_read_only()
        with self._connection() as conn:
            # executescript steps the pragma to completion; execute() frees one page.
            conn.executescript("PRAGMA incremental_vacuum;")

    def wake(self) -> None:
        """Wake this process's waiters on the file."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Close every idle connection now, and each busy one when its block ends."""
        with self._pool_lock:
            self._closed = True
            idle, self._free = self._free, []
        self.wake()
        for conn in idle:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
