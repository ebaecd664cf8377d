"""Replication ids and the replication logs (``_local/<id>`` checkpoints) on both ends.

Pure logic (:func:`replication_id`, :func:`compare_logs`, :func:`new_log`)
beside the one class that reads and writes the log of one end
(:class:`ReplicationLog`), as CouchDB's replication protocol describes:

* the id is a hash of what makes a replication the same one: both ends and
  every option that changes which changes are replicated;
* each end holds ``_local/<id>``: ``session_id``, ``source_last_seq`` and a
  ``history`` of sessions (newest first, at most :data:`HISTORY_LIMIT`);
* the start point is the source log's ``source_last_seq`` when both logs
  name the same session, else the ``recorded_seq`` of the newest session both
  histories hold, else the beginning.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from settee import errors
from settee.results import write_one
from settee.rows import Seq

if TYPE_CHECKING:
    from settee.database import Database

__all__ = [
    "HISTORY_LIMIT",
    "REPLICATION_ID_VERSION",
    "HistoryEntry",
    "ReplicationLog",
    "compare_logs",
    "new_log",
    "replication_id",
]

#: Bumped whenever what goes into :func:`replication_id` changes.
REPLICATION_ID_VERSION = 1
#: Sessions kept in a log's history (CouchDB keeps 50).
HISTORY_LIMIT = 50


class HistoryEntry(TypedDict):
    """One replication session, as CouchDB's replicator records it."""

    session_id: str
    start_time: str
    end_time: str
    start_last_seq: Seq
    end_last_seq: Seq
    recorded_seq: Seq
    docs_read: int
    docs_written: int
    doc_write_failures: int
    missing_checked: int
    missing_found: int


def replication_id(source: str, target: str, options: Mapping[str, Any]) -> str:
    """A stable hex id for ``source`` -> ``target`` (each an identity string) with ``options``
    (only the ones that change which changes are replicated)."""
    material = json.dumps(
        ["settee", REPLICATION_ID_VERSION, source, target, dict(sorted(options.items()))],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.md5(material.encode(), usedforsecurity=False).hexdigest()


def compare_logs(source: Mapping[str, Any] | None, target: Mapping[str, Any] | None) -> Seq:
    """Where to start: the seq both logs agree was replicated, else ``0``."""
    if not source or not target:
        return 0
    if source.get("session_id") is not None and source.get("session_id") == target.get(
        "session_id"
    ):
        seq = source.get("source_last_seq")
        return 0 if seq is None else seq
    target_sessions = {
        entry.get("session_id") for entry in target.get("history") or [] if isinstance(entry, dict)
    }
    for entry in source.get("history") or []:
        if isinstance(entry, dict) and entry.get("session_id") in target_sessions:
            seq = entry.get("recorded_seq")
            return 0 if seq is None else seq
    return 0


def new_log(
    doc_id: str, session_id: str, seq: Seq, entry: HistoryEntry, previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The log document after a checkpoint at ``seq`` of session ``entry``."""
    history = [entry]
    for old in (previous or {}).get("history") or []:
        if isinstance(old, dict) and old.get("session_id") != session_id:
            history.append(old)  # type: ignore[arg-type]  # a stored entry, as written
    return {
        "_id": doc_id,
        "session_id": session_id,
        "source_last_seq": seq,
        "replication_id_version": REPLICATION_ID_VERSION,
        "history": history[:HISTORY_LIMIT],
    }


class ReplicationLog:
    """The ``_local/<replication id>`` document of one end (a :class:`~settee.Database`),
    read with its :attr:`~settee.Database.read_quorum` and written with its
    :attr:`~settee.Database.write_quorum` (a CouchDB cluster's ``r=``/``w=``)."""

    def __init__(self, database: Database, doc_id: str) -> None:
        self.database = database
        self.backend = database.backend
        self.db = database.database_name
        self.doc_id = doc_id
        #: The log as last read or written (None: there is none).
        self.doc: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"ReplicationLog({self.db!r}, {self.doc_id!r})"

    def load(self) -> dict[str, Any] | None:
        """The stored log, or None."""
        try:
            doc = self.database.read_doc(self.doc_id)
        except errors.NotFound:
            doc = None
        self.doc = doc if isinstance(doc, dict) else None
        return self.doc

    def _put(self, doc: dict[str, Any]) -> dict[str, Any]:
        w = self.database.write_quorum
        return self.backend.put_doc(self.db, doc, None if w is None else {"w": w})

    def save(self, body: dict[str, Any]) -> None:
        """Write ``body`` over the log (re-reading the rev once on a ``Conflict``)."""
        for attempt in range(2):
            doc = dict(body)
            rev = (self.doc or {}).get("_rev")
            if rev is not None:
                doc["_rev"] = rev
            try:
                result = write_one(
                    self.backend,
                    self.db,
                    doc,
                    functools.partial(self._put, doc),
                    w=self.database.write_quorum,
                )
            except errors.Conflict:
                if attempt:
                    raise
                self.load()
                continue
            doc["_rev"] = result.get("rev", rev)
            self.doc = doc
            return
