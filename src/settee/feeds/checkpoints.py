"""Checkpoint stores: where an :class:`~settee.feeds.InfiniteFeed` keeps its place.

A store has ``load()`` (the saved seq, or None) and ``save(seq)``; any object
with both satisfies :class:`CheckpointStore`. A feed saves only real seqs
(never the ``"seq": null`` of a ``seq_interval`` row), and the stores shipped
refuse None with ``ValueError``. Three are provided: a JSON file
replaced atomically (:class:`FileCheckpoint`), a ``_local`` document of the
database (:class:`LocalDocumentCheckpoint`) and memory (:class:`MemoryCheckpoint`).
All are importable from :mod:`settee.feeds` (and :mod:`settee`) too.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from settee import errors
from settee.results import write_one

__all__ = ["CheckpointStore", "FileCheckpoint", "LocalDocumentCheckpoint", "MemoryCheckpoint"]


@runtime_checkable
class CheckpointStore(Protocol):
    """Where an :class:`InfiniteFeed` keeps its place: ``load()`` and ``save(seq)``."""

    def load(self) -> Any:
        """The saved seq, or None when nothing was saved yet."""
        ...

    def save(self, seq: Any) -> None:
        """Remember ``seq`` (durably, for the file and database stores)."""
        ...


def _check_seq(seq: Any) -> None:
    # None means "nothing saved" to load(): saving it would silently send a
    # restarted feed back to its original since.
    if seq is None:
        raise ValueError("a checkpoint seq cannot be None (None means nothing was saved)")


class MemoryCheckpoint:
    """A checkpoint held in memory (``seq`` attribute): for tests and short runs."""

    def __init__(self, seq: Any = None) -> None:
        self.seq = seq
        self.saves = 0

    def load(self) -> Any:
        return self.seq

    def save(self, seq: Any) -> None:
        """Remember ``seq``; ``ValueError`` for None."""
        _check_seq(seq)
        self.seq = seq
        self.saves += 1


class FileCheckpoint:
    """A checkpoint in a JSON file, replaced atomically (temp file + ``os.replace``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"FileCheckpoint({str(self.path)!r})"

    def load(self) -> Any:
        """The saved seq; None if the file does not exist. ``ValueError`` if it is corrupt."""
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
        return data["seq"]

    def save(self, seq: Any) -> None:
        """Write ``{"seq": seq}`` to a temp file beside the target, fsync, then rename.

        ``ValueError`` for None.
        """
        _check_seq(seq)
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

    ``db`` is a :class:`settee.Database` (its ``backend`` and ``database_name``
    are used). The document is ``{"_id": doc_id, "seq": ...}``.
    """

    def __init__(self, db: Any, doc_id: str = "_local/settee-checkpoint-default") -> None:
        if not isinstance(doc_id, str) or not doc_id.startswith("_local/") or doc_id == "_local/":
            raise ValueError(f"doc_id must be a _local/ document id, not {doc_id!r}")
        self.backend = db.backend
        self.db_name: str = db.database_name
        self.doc_id = doc_id
        self._rev: str | None = None

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

    def load(self) -> Any:
        """The saved seq, or None if the document does not exist."""
        doc = self._fetch()
        return None if doc is None else doc.get("seq")

    def save(self, seq: Any) -> None:
        """Write the seq; on a conflict (another writer) re-read the rev and write once more.

        ``ValueError`` for None.
        """
        _check_seq(seq)
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
