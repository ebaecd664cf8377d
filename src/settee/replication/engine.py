"""One replication session: read changes, ask the target what it lacks, copy it, checkpoint.

CouchDB's replication protocol, batch by batch:

1. ``_changes?style=all_docs`` of the source from the checkpoint (filtered by
   ``doc_ids``, ``selector`` or ``filter`` + ``query_params``);
2. ``_revs_diff`` on the target with every leaf revision of the batch;
3. the missing revisions fetched from the source with ``open_revs`` +
   ``revs`` + ``latest`` (``_bulk_get`` where the source has it, capability
   ``bulk_get``), attachments inline;
4. written to the target with ``new_edits=false`` (the target keeps the
   revision ids and histories as they are);
5. a checkpoint (``_local/<replication id>`` on both ends).

A document the target refuses (``validate_doc_update``, a 401/403 answer) is
counted in ``doc_write_failures`` and listed in ``failures``; from then on
the session checkpoints no further than the change before it, so a later
run tries it again. ``new_edits=false`` writes are idempotent: a batch whose
answer was lost is sent again, never doubled.

Quorums (a CouchDB cluster's ``w=``/``r=``): every write to the target (the
documents, its checkpoint) carries the target handle's
:attr:`~settee.Database.write_quorum`, every document read from the source
(``open_revs``/``_bulk_get``, its checkpoint) the source handle's
:attr:`~settee.Database.read_quorum`, and the source's checkpoint write the
source's write quorum. With ``target.write_quorum = 3`` on a 3-node cluster,
every copy holds what one run wrote when it returns.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from settee import errors
from settee._validate import check_int, check_number
from settee.database import Database
from settee.replication.checkpoints import (
    HistoryEntry,
    ReplicationLog,
    compare_logs,
    new_log,
    replication_id,
)
from settee.rows import Seq

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ProgressCallback",
    "ReplicationOptions",
    "ReplicationResult",
    "Session",
    "WriteFailure",
    "is_transient",
]

logger = logging.getLogger("settee")

#: Changes per batch (one ``_revs_diff``, one write, one checkpoint).
DEFAULT_BATCH_SIZE = 100
#: Revisions fetched per ``_bulk_get`` request.
_BULK_GET_CHUNK = 100


class WriteFailure(TypedDict):
    """A revision the target refused: its id, rev, CouchDB ``error`` and ``reason``."""

    id: str
    rev: str | None
    error: str
    reason: str | None


@dataclass
class ReplicationResult:
    """What a replication did (a live one's is updated after each batch).

    ``start_last_seq``: where it started (from the checkpoint); ``end_last_seq``:
    the last source seq it processed; ``recorded_seq``: the last one checkpointed
    (behind ``end_last_seq`` after a refused write). ``history``: the replication
    log's sessions, newest (this one) first. ``error``: why it ended early (a
    401/403 from the target for a whole batch or for its checkpoint), else None.
    ``changes_pending``: how many changes the source still had after the last
    batch read, where its feed says (CouchDB, the embedded stores; 0 once a
    one-shot run read the last page), None where it does not (PouchDB Server):
    ``changes_read + changes_pending`` is the run's total for a progress bar.
    """

    replication_id: str
    session_id: str
    start_last_seq: Seq = 0
    end_last_seq: Seq = 0
    recorded_seq: Seq = 0
    changes_read: int = 0
    changes_pending: int | None = None
    docs_read: int = 0
    docs_written: int = 0
    doc_write_failures: int = 0
    missing_checked: int = 0
    missing_found: int = 0
    failures: list[WriteFailure] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every missing revision was written."""
        return self.doc_write_failures == 0 and self.error is None


@dataclass(frozen=True)
class ReplicationOptions:
    """Validated options of one replication (see :func:`settee.replicate`)."""

    continuous: bool = False
    create_target: bool = False
    doc_ids: tuple[str, ...] | None = None
    selector: Mapping[str, Any] | None = None
    filter: str | None = None
    query_params: Mapping[str, Any] | None = None
    since: Seq | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    checkpoint_interval: float = 0.0
    attachments: bool = True
    max_retries: int = 5

    def __post_init__(self) -> None:
        check_int("batch_size", self.batch_size, 1)
        check_number("checkpoint_interval", self.checkpoint_interval)  # seconds
        check_int("max_retries", self.max_retries)
        if self.doc_ids is not None and not all(isinstance(d, str) for d in self.doc_ids):
            raise TypeError("doc_ids must be strings")
        if self.selector is not None and not isinstance(self.selector, Mapping):
            raise TypeError("selector must be a mapping (a Mango selector)")
        if self.filter is not None and not isinstance(self.filter, str):
            raise TypeError("filter must be a 'ddoc/name' string")
        if self.query_params is not None and not isinstance(self.query_params, Mapping):
            raise TypeError("query_params must be a mapping")
        if sum(x is not None for x in (self.doc_ids, self.selector, self.filter)) > 1:
            raise ValueError("give at most one of doc_ids, selector and filter")
        if self.query_params is not None and self.filter is None:
            raise ValueError("query_params go with filter=")

    def id_options(self) -> dict[str, Any]:
        """What goes into the replication id: what changes which changes are replicated."""
        chosen: dict[str, Any] = {
            "doc_ids": list(self.doc_ids) if self.doc_ids is not None else None,
            "selector": self.selector,
            "filter": self.filter,
            "query_params": self.query_params,
            "attachments": self.attachments,
        }
        return {k: v for k, v in chosen.items() if v is not None}

    def feed_options(self) -> dict[str, Any]:
        """The ``_changes`` options of the filter."""
        feed: dict[str, Any] = {"style": "all_docs"}
        if self.doc_ids is not None:
            feed["doc_ids"] = list(self.doc_ids)
        if self.selector is not None:
            feed["selector"] = dict(self.selector)
        if self.filter is not None:
            feed["filter"] = self.filter
        if self.query_params is not None:
            feed["query_params"] = dict(self.query_params)
        return feed


def identity(db: Database) -> str:
    """What names one end in the replication id: its server and database."""
    backend = db.backend
    where = backend.url
    if backend.kind == "memory":
        where = f"memory:{id(backend)}"  # every memory store is its own
    return f"{where}/{db.database_name}"


_TRANSIENT = (errors.TransportError, errors.FeedError, errors.ServerError, errors.TooManyRequests)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth a retry (a dropped connection, a 5xx, a 429, a broken body)."""
    return isinstance(exc, _TRANSIENT)


def backoff(failures: int, *, base: float = 0.5, cap: float = 10.0) -> float:
    """Full-jitter delay (seconds) after ``failures`` consecutive failures."""
    return random.random() * min(cap, base * float(2 ** min(failures - 1, 16)))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


class Session:
    """One replication session from ``source`` to ``target`` (both :class:`Database`)."""

    def __init__(self, source: Database, target: Database, options: ReplicationOptions) -> None:
        self.source = source
        self.target = target
        self.options = options
        rep_id = replication_id(identity(source), identity(target), options.id_options())
        self.doc_id = f"_local/{rep_id}"
        self.result = ReplicationResult(replication_id=rep_id, session_id=uuid.uuid4().hex)
        self.source_log = ReplicationLog(source, self.doc_id)
        self.target_log = ReplicationLog(target, self.doc_id)
        self._start_time = _now()
        self._frozen = False  # a refused write: checkpoint no further
        self._checkpoint_refused = False
        self._refused: set[tuple[str, str | None]] = set()
        self._last_checkpoint = 0.0
        self._lock = threading.Lock()
        self._bulk_get = "bulk_get" in source.backend.capabilities
        #: The 401/403 that refused a whole batch (the session ends on it).
        self.refusal: BaseException | None = None

    def __repr__(self) -> str:
        return f"Session({identity(self.source)!r} -> {identity(self.target)!r})"

    # -- start ---------------------------------------------------------------------------
    def prepare(self) -> Seq:
        """Create the target if asked, read both logs; returns the seq to start from."""
        if self.options.create_target:
            with contextlib.suppress(errors.PreconditionFailed):
                self.target.backend.create_db(self.target.database_name)
        source_doc = self.source_log.load()
        target_doc = self.target_log.load()
        start: Seq = compare_logs(source_doc, target_doc)
        if self.options.since is not None:
            start = self.options.since
        result = self.result
        result.start_last_seq = result.end_last_seq = result.recorded_seq = start
        result.history = list((source_doc or {}).get("history") or [])
        return start

    # -- one batch -----------------------------------------------------------------------
    def next_batch(self) -> bool:
        """One page of changes (``batch_size``) from where the session is, replicated;
        True when it was the last (the source had no more)."""
        options = self.options
        feed = self.source.changes(
            feed="normal",
            since=self.result.end_last_seq,
            limit=options.batch_size,
            **options.feed_options(),
        )
        rows = list(feed)
        end = feed.last_seq
        if end is None and rows:
            end = rows[-1].get("seq")
        self.process(rows, end)
        done = len(rows) < options.batch_size
        with self._lock:
            self.result.changes_pending = 0 if done else feed.pending
        return done

    def process(self, rows: Sequence[Mapping[str, Any]], end_seq: Seq | None) -> None:
        """Replicate the change ``rows`` (in feed order), then checkpoint.

        ``end_seq``: the seq the batch reached (the last row's, or the feed's
        ``last_seq``). Transient errors propagate: nothing after the last
        checkpoint is taken as done.
        """
        revs: dict[str, list[str]] = {}
        for row in rows:
            docid = row.get("id")
            if not isinstance(docid, str):
                continue
            leafs = revs.setdefault(docid, [])
            for change in row.get("changes") or []:
                rev = change.get("rev") if isinstance(change, dict) else None
                if isinstance(rev, str) and rev not in leafs:
                    leafs.append(rev)
        failed_ids: set[str] = set()
        checked = sum(len(v) for v in revs.values())
        missing: dict[str, list[str]] = {}
        if revs:
            diff = self.target.backend.revs_diff(self.target.database_name, revs)
            for docid, entry in diff.items():
                if isinstance(entry, dict) and entry.get("missing"):
                    missing[docid] = [str(r) for r in entry["missing"]]
        found = sum(len(v) for v in missing.values())
        docs = self._fetch(missing) if missing else []
        failures = self._write(docs) if docs else []
        for failure in failures:
            failed_ids.add(failure["id"])
        with self._lock:
            result = self.result
            result.changes_read += len(rows)
            result.missing_checked += checked
            result.missing_found += found
            result.docs_read += len(docs)
            new_failures = [f for f in failures if (f["id"], f["rev"]) not in self._refused]
            for failure in new_failures:
                self._refused.add((failure["id"], failure["rev"]))
            result.failures.extend(new_failures)
            result.doc_write_failures += len(new_failures)
            result.docs_written += len(docs) - len(failures)
            checkpoint_to = end_seq
            if failed_ids and not self._frozen:
                checkpoint_to = self._seq_before(rows, failed_ids)
                self._frozen = True
                logger.warning(
                    "replication %s: the target refused %d revision(s); checkpoints stay at %r",
                    result.replication_id,
                    len(failures),
                    checkpoint_to,
                )
            elif self._frozen:
                checkpoint_to = None
            if end_seq is not None:
                result.end_last_seq = end_seq
        if checkpoint_to is not None:
            self.checkpoint(checkpoint_to, force=bool(failed_ids))

    def _seq_before(self, rows: Sequence[Mapping[str, Any]], failed: set[str]) -> Seq | None:
        previous: Seq | None = None
        for row in rows:
            if row.get("id") in failed:
                return previous
            if row.get("seq") is not None:
                previous = row["seq"]
        return previous

    def _fetch(self, missing: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        if self._bulk_get:
            return self._fetch_bulk(missing)
        docs: list[dict[str, Any]] = []
        params: dict[str, Any] = {"revs": True, "latest": True}
        if self.options.attachments:
            params["attachments"] = True
        if self.source.read_quorum is not None:
            params["r"] = self.source.read_quorum
        for docid, revs in missing.items():
            try:
                answer = self.source.backend.get_doc(
                    self.source.database_name, docid, params, open_revs=revs
                )
            except errors.DocumentNotFound:
                continue  # gone from the source since the change was read
            docs.extend(self._leafs(answer))
        return docs

    def _fetch_bulk(self, missing: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        transport = self.source.client.server_session.transport("_bulk_get")
        wanted = [{"id": docid, "rev": rev} for docid, revs in missing.items() for rev in revs]
        params = {"revs": "true", "latest": "true"}
        if self.options.attachments:
            params["attachments"] = "true"
        if self.source.read_quorum is not None:
            params["r"] = str(self.source.read_quorum)
        docs: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _BULK_GET_CHUNK):
            answer = transport.json(
                "POST",
                (self.source.database_name, "_bulk_get"),
                params=params,
                json_body={"docs": wanted[start : start + _BULK_GET_CHUNK]},
                headers={"Accept": "application/json"},
            )
            for result in answer.get("results") or []:
                docs.extend(self._leafs(result.get("docs") or []))
        return docs

    def _leafs(self, answer: Any) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        seen: set[str] = set()
        for item in answer if isinstance(answer, list) else []:
            doc = item.get("ok") if isinstance(item, dict) else None
            if not isinstance(doc, dict) or doc.get("_rev") in seen:
                continue  # {"missing": rev} or {"error": ...}: nothing to copy
            seen.add(str(doc.get("_rev")))
            if not self.options.attachments:
                doc.pop("_attachments", None)
            docs.append(doc)
        return docs

    def _write(self, docs: list[dict[str, Any]]) -> list[WriteFailure]:
        backend, name = self.target.backend, self.target.database_name
        try:
            results = backend.bulk_docs(name, docs, new_edits=False, w=self.target.write_quorum)
        except (errors.Unauthorized, errors.Forbidden) as exc:
            # The whole batch refused: every document failed, and the session ends.
            self.result.error = f"{type(exc).__name__}: {exc}"
            self.refusal = exc
            return [
                {"id": str(d["_id"]), "rev": d.get("_rev"), "error": exc.error or "forbidden",
                 "reason": exc.reason}
                for d in docs
            ]  # fmt: skip
        failures: list[WriteFailure] = []
        for item in results or []:
            if isinstance(item, dict) and item.get("error"):
                failures.append(
                    {
                        "id": str(item.get("id")),
                        "rev": item.get("rev"),
                        "error": str(item["error"]),
                        "reason": item.get("reason"),
                    }
                )
        if failures:
            logger.warning(
                "replication %s: target refused %s",
                self.result.replication_id,
                ", ".join(f"{f['id']} ({f['error']})" for f in failures[:10]),
            )
        return failures

    # -- checkpoints ---------------------------------------------------------------------
    def checkpoint(self, seq: Seq, *, force: bool = False) -> None:
        """Record ``seq`` in both logs (unless ``checkpoint_interval`` says not yet)."""
        clock = time.monotonic()
        if (
            not force
            and self.options.checkpoint_interval
            and clock - self._last_checkpoint < self.options.checkpoint_interval
        ):
            return
        self._record(seq)
        self._last_checkpoint = clock

    def finish(self) -> None:
        """The last checkpoint of the session (at ``end_last_seq`` unless frozen)."""
        result = self.result
        if self._checkpoint_refused:
            return  # asked once, refused: not again
        if not self._frozen and result.end_last_seq != result.recorded_seq:
            self._record(result.end_last_seq)
        elif not result.history or result.history[0].get("session_id") != result.session_id:
            self._record(result.recorded_seq)

    def _record(self, seq: Seq) -> None:
        result = self.result
        entry: HistoryEntry = {
            "session_id": result.session_id,
            "start_time": self._start_time,
            "end_time": _now(),
            "start_last_seq": result.start_last_seq,
            "end_last_seq": result.end_last_seq,
            "recorded_seq": seq,
            "docs_read": result.docs_read,
            "docs_written": result.docs_written,
            "doc_write_failures": result.doc_write_failures,
            "missing_checked": result.missing_checked,
            "missing_found": result.missing_found,
        }
        body = new_log(self.doc_id, result.session_id, seq, entry, self.target_log.doc)
        try:
            self.target_log.save(body)
        except (errors.Unauthorized, errors.Forbidden) as exc:
            # A target that refuses its checkpoint: the session ends on it, reported as
            # a refusal; the next run starts from the last checkpoint it did take.
            self._checkpoint_refused = True
            if self.refusal is None:
                self.refusal = exc
                result.error = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "replication %s: the target refused its checkpoint (%s); it stays at %r",
                result.replication_id,
                type(exc).__name__,
                result.recorded_seq,
            )
            return
        source_body = new_log(self.doc_id, result.session_id, seq, entry, self.source_log.doc)
        try:
            self.source_log.save(source_body)
        except (errors.Unauthorized, errors.Forbidden):
            # A read-only source: the next run starts from the beginning, checked by _revs_diff.
            logger.info("replication %s: cannot write the source's log", result.replication_id)
        result.recorded_seq = seq
        result.history = [
            entry,
            *[h for h in result.history if h["session_id"] != entry["session_id"]],
        ]


#: Called with the result after each batch.
ProgressCallback = Callable[[ReplicationResult], None]
