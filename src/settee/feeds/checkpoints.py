"""Checkpoint stores: where an :class:`~settee.feeds.InfiniteFeed` keeps its place.

A store has ``load()`` (the saved seq, or None) and ``save(seq)``; any object
with both satisfies :class:`CheckpointStore`. A feed saves only real seqs
(never the ``"seq": null`` of a ``seq_interval`` row), and the stores shipped
refuse None with ``ValueError``. Three are provided: a JSON file
replaced atomically (:class:`FileCheckpoint`), a ``_local`` document of the
database (:class:`LocalDocumentCheckpoint`) and memory (:class:`MemoryCheckpoint`).
All are importable from :mod:`settee.feeds` (and :mod:`settee`) too.

Batching: a durable write (an fsync, a document update) costs milliseconds,
so the file and ``_local`` stores write a seq once ``every`` saves (default
1000) have come in or ``seconds`` (default 1.0) have passed since their last
write, whichever is first; ``flush()`` writes the newest seq now. A feed
flushes its store on ``stop()``/``close()``, when its loop ends and when it
raises; every store with an unwritten seq is flushed at interpreter exit.
After a crash (SIGKILL, power loss) a restarted feed replays at most the rows
since the last write: fewer than ``every``, all received within ``seconds``
of that write. ``every=1`` writes each seq (the old behaviour, ~150 rows/s
with an fsync each).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from settee import errors
from settee._validate import check_int, check_number
from settee.results import write_one
from settee.rows import Seq

__all__ = ["CheckpointStore", "FileCheckpoint", "LocalDocumentCheckpoint", "MemoryCheckpoint"]

logger = logging.getLogger("settee")

#: The batching defaults of the durable stores (see the module docs).
DEFAULT_EVERY = 1000
DEFAULT_SECONDS = 1.0


@runtime_checkable
class CheckpointStore(Protocol):
    """Where an :class:`InfiniteFeed` keeps its place: ``load()`` and ``save(seq)``.

    A store may also have ``flush()`` (write what ``save`` held back): the
    feed calls it when it stops.
    """

    def load(self) -> Seq | None:
        """The saved seq, or None when nothing was saved yet."""
        ...

    def save(self, seq: Seq) -> None:
        """Remember ``seq`` (durably, for the file and database stores)."""
        ...


def _check_seq(seq: Seq | None) -> None:
    # None means "nothing saved" to load(): saving it would silently send a
    # restarted feed back to its original since.
    if seq is None:
        raise ValueError("a checkpoint seq cannot be None (None means nothing was saved)")


# Stores holding an unwritten seq, flushed at interpreter exit (a clean exit
# never replays rows; only a crash does).
_UNWRITTEN: weakref.WeakSet[_Batch] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for batch in list(_UNWRITTEN):
        with contextlib.suppress(Exception):  # exit goes on; the window is documented
            batch.flush()


class _Batch:
    """Which saves reach the durable write: one per ``every`` saves or ``seconds``."""

    def __init__(self, write: Callable[[Seq], None], *, every: int, seconds: float | None) -> None:
        self.every = check_int("every", every, 1)  # 1 writes every seq
        self.seconds = None if seconds is None else check_number("seconds", seconds)
        self._write = write
        self._lock = threading.Lock()
        self._count = 0
        self._seq: Seq | None = None
        self._written_at = time.monotonic()
        #: Durable writes made (for monitoring and the benchmark).
        self.writes = 0

    def save(self, seq: Seq) -> None:
        _check_seq(seq)
        with self._lock:
            self._seq = seq
            self._count += 1
            if self._count >= self.every or (
                self.seconds is not None and time.monotonic() - self._written_at >= self.seconds
            ):
                self._write_locked()
            elif self._count == 1:
                _UNWRITTEN.add(self)

    def flush(self) -> None:
        with self._lock:
            if self._count:
                self._write_locked()

    def held(self) -> tuple[bool, Seq | None]:
        """Whether a saved seq is not written yet, and that seq."""
        with self._lock:
            return bool(self._count), self._seq

    def _write_locked(self) -> None:
        seq, count = self._seq, self._count
        if seq is None:  # only after a save (count > 0), which refuses None
            return
        self._write(seq)
        self._count = 0
        self._written_at = time.monotonic()
        self.writes += 1
        _UNWRITTEN.discard(self)
        logger.debug("checkpoint saved after %d rows", count)


class MemoryCheckpoint:
    """A checkpoint held in memory (``seq`` attribute): for tests and short runs."""

    def __init__(self, seq: Seq | None = None) -> None:
        self.seq = seq
        self.saves = 0

    def load(self) -> Seq | None:
        return self.seq

    def save(self, seq: Seq) -> None:
        """Remember ``seq``; ``ValueError`` for None."""
        _check_seq(seq)
        self.seq = seq
        self.saves += 1


class FileCheckpoint:
    """A checkpoint in a JSON file, replaced atomically (temp file + fsync + ``os.replace``).

    Written once ``every`` seqs were saved or ``seconds`` passed since the
    last write (``every=1``: each one); ``flush()`` writes the newest now.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        every: int = DEFAULT_EVERY,
        seconds: float | None = DEFAULT_SECONDS,
    ) -> None:
        self.path = Path(path)
        self._batch = _Batch(self._write, every=every, seconds=seconds)

    def __repr__(self) -> str:
        return f"FileCheckpoint({str(self.path)!r}, every={self.every}, seconds={self.seconds})"

    @property
    def every(self) -> int:
        """Saves per durable write."""
        return self._batch.every

    @property
    def seconds(self) -> float | None:
        """Seconds after which a save is written whatever the count (None: no limit)."""
        return self._batch.seconds

    @property
    def writes(self) -> int:
        """Durable writes made so far."""
        return self._batch.writes

    def load(self) -> Seq | None:
        """The newest saved seq (written or held back); None if there is none.

        ``ValueError`` if the file is corrupt.
        """
        held, seq = self._batch.held()
        if held:
            return seq
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"checkpoint file {self.path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or "seq" not in data:
            raise ValueError(f"checkpoint file {self.path} has no seq")
        saved: Seq | None = data["seq"]
        return saved

    def save(self, seq: Seq) -> None:
        """Remember ``seq``, writing it when the batch is due. ``ValueError`` for None."""
        self._batch.save(seq)

    def flush(self) -> None:
        """Write the newest saved seq now (nothing when it is written already)."""
        self._batch.flush()

    def _write(self, seq: Seq) -> None:
        # {"seq": seq} to a temp file beside the target, fsync, then rename.
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"seq": seq}, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


class LocalDocumentCheckpoint:
    """A checkpoint in a ``_local`` document of the database (never replicated).

    Batched like :class:`FileCheckpoint` (``every``, ``seconds``, ``flush()``).
    ``db`` is a :class:`settee.Database` (its ``backend`` and ``database_name``
    are used). The document is ``{"_id": doc_id, "seq": ...}``.
    """

    def __init__(
        self,
        db: Any,
        doc_id: str = "_local/settee-checkpoint-default",
        *,
        every: int = DEFAULT_EVERY,
        seconds: float | None = DEFAULT_SECONDS,
    ) -> None:
        if not isinstance(doc_id, str) or not doc_id.startswith("_local/") or doc_id == "_local/":
            raise ValueError(f"doc_id must be a _local/ document id, not {doc_id!r}")
        self.backend = db.backend
        self.db_name: str = db.database_name
        self.doc_id = doc_id
        self._rev: str | None = None
        self._batch = _Batch(self._write_seq, every=every, seconds=seconds)

    def __repr__(self) -> str:
        return f"LocalDocumentCheckpoint({self.db_name!r}, {self.doc_id!r})"

    def _fetch(self) -> dict[str, Any] | None:
        try:
            doc = self.backend.get_doc(self.db_name, self.doc_id)
        except errors.NotFound:
            self._rev = None
            return None
        self._rev = doc.get("_rev")
        return doc if isinstance(doc, dict) else None

    def load(self) -> Seq | None:
        """The newest saved seq (written or held back), or None if the document does not exist."""
        held, seq = self._batch.held()
        if held:
            return seq
        doc = self._fetch()
        saved: Seq | None = None if doc is None else doc.get("seq")
        return saved

    @property
    def writes(self) -> int:
        """Document writes made so far."""
        return self._batch.writes

    def save(self, seq: Seq) -> None:
        """Remember ``seq``, writing it when the batch is due. ``ValueError`` for None."""
        self._batch.save(seq)

    def flush(self) -> None:
        """Write the newest saved seq now (nothing when it is written already)."""
        self._batch.flush()

    def _write_seq(self, seq: Seq) -> None:
        # On a conflict (another writer) re-read the rev and write once more.
        for attempt in range(2):
            doc: dict[str, Any] = {"_id": self.doc_id, "seq": seq}
            if self._rev is not None:
                doc["_rev"] = self._rev
            try:
                self._rev = self._write(doc)
                return
            except errors.Conflict:
                if attempt:
                    raise
                self._fetch()

    def _write(self, doc: dict[str, Any]) -> str | None:
        result = write_one(
            self.backend, self.db_name, doc, lambda: self.backend.put_doc(self.db_name, doc)
        )
        rev = result.get("rev")
        return rev if isinstance(rev, str) else None
