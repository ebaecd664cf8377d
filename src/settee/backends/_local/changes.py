"""The local change feed: a :class:`~settee.backends.base.ChangesStream` with blocking waits.

:func:`open_changes` validates the parameters and returns a
:class:`LocalChangesStream`; iterating it scans the by-seq index page by page
and, for longpoll and continuous feeds, waits on the storage for new writes.
``seq_interval`` is validated and otherwise a no-op: every row carries its seq.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from settee._validate import is_int
from settee.backends._local import js
from settee.backends._local.mango import compile_selector
from settee.backends._local.reads import winner_docs
from settee.backends._local.state import EngineState, open_db
from settee.backends._local.util import PAGE, db_missing, flag, number
from settee.errors import BadRequest

__all__ = ["LocalChangesStream", "open_changes"]


class LocalChangesStream:
    """One open changes feed over a local store.

    Iterating runs ``source(self)``, which yields row dicts and sets
    ``last_seq``/``pending`` when it ends. Longpoll and continuous feeds block
    inside the iteration until a change, the ``timeout`` (seconds; ``None``
    waits forever) or :meth:`close`, which any thread may call at any time.
    """

    def __init__(
        self,
        source: Callable[[LocalChangesStream], Iterator[dict[str, Any]]],
        *,
        db: str,
        since: int,
        feed: str,
        limit: int | None,
        timeout: float | None,
        descending: bool,
        include_docs: bool,
        all_leaves: bool,
        opts: Mapping[str, bool],
        accept: Callable[[Any, Any], bool] | None,
        raw: bool,
        wake: Callable[[], None],
    ) -> None:
        self.db = db
        self.since = since
        self.feed = feed
        self.limit = limit
        self.timeout = timeout
        self.descending = descending
        self.include_docs = include_docs
        self.all_leaves = all_leaves
        self.opts = opts
        self.accept = accept
        self.raw = raw
        self.last_seq: Any = None
        self.pending: int | None = None
        self.closed_event = threading.Event()
        self._wake = wake
        self._source = source
        self._rows: Iterator[Any] | None = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self.closed_event.is_set()

    def __iter__(self) -> Iterator[Any]:
        if self._rows is None:
            self._rows = self._generate()
        return self._rows

    def _generate(self) -> Iterator[Any]:
        for row in self._source(self):
            if self.closed:
                return
            yield json.dumps(row, separators=(",", ":"), ensure_ascii=False) if self.raw else row

    def close(self) -> None:
        """Stop the feed; a blocked iteration returns promptly. Idempotent, any thread."""
        self.closed_event.set()
        self._wake()

    def __enter__(self) -> LocalChangesStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_changes(
    state: EngineState,
    db: str,
    params: Mapping[str, Any] | None = None,
    *,
    body: Mapping[str, Any] | None = None,
    raw: bool = False,
) -> LocalChangesStream:
    """Open a changes stream (normal, longpoll or continuous)."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    body = dict(body or {})
    feed = params.get("feed", "normal")
    if feed not in ("normal", "longpoll", "continuous", "eventsource"):
        raise BadRequest(f"Invalid feed type {feed!r}", error="bad_request")
    if feed == "eventsource":
        feed = "continuous"
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        current = meta.update_seq
    since_raw = params.get("since", 0)
    if since_raw == "now":
        since = current
    elif is_int(since_raw):
        since = since_raw
    elif isinstance(since_raw, str) and since_raw.split("-", 1)[0].isdigit():
        since = int(since_raw.split("-", 1)[0])
    else:
        raise BadRequest(
            f"Malformed sequence supplied in 'since' parameter: {since_raw!r}",
            error="bad_request",
        )
    limit = number(params, "limit")
    # seq_interval only spares CouchDB the cost of computing clustered seqs; a
    # local store has them for free, so it is checked and every row keeps its
    # seq (which CouchDB's contract allows: consumers handle both).
    if number(params, "seq_interval") == 0:
        raise BadRequest(
            "Invalid value for seq_interval: must be a positive integer",
            error="query_parse_error",
        )
    timeout_ms = params.get("timeout")
    if isinstance(timeout_ms, str) and timeout_ms.isdigit():
        timeout_ms = int(timeout_ms)
    if timeout_ms is not None and (
        isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float)) or timeout_ms < 0
    ):
        raise BadRequest("timeout must be a non-negative number", error="bad_request")
    descending = flag(params, "descending")
    include_docs = flag(params, "include_docs")
    all_leaves = params.get("style", "main_only") == "all_docs"
    opts = {
        "conflicts": flag(params, "conflicts"),
        "attachments": flag(params, "attachments"),
    }
    accept = _filter(state, params, body, db)
    return LocalChangesStream(
        functools.partial(_rows, state),
        db=db,
        since=since,
        feed=feed,
        limit=limit,
        timeout=None if timeout_ms is None else timeout_ms / 1000.0,
        descending=descending,
        include_docs=include_docs,
        all_leaves=all_leaves,
        opts=opts,
        accept=accept,
        raw=raw,
        wake=state.storage.wake,
    )


def _filter(state: EngineState, params: Mapping[str, Any], body: Mapping[str, Any], db: str) -> Any:
    name = params.get("filter")
    doc_ids = body.get("doc_ids", params.get("doc_ids"))
    selector = body.get("selector", params.get("selector"))
    if isinstance(doc_ids, str):
        doc_ids = json.loads(doc_ids)
    if name is None and doc_ids is not None:
        name = "_doc_ids"
    if name is None and selector is not None:
        name = "_selector"
    if name is None:
        return None
    if name == "_doc_ids":
        if not isinstance(doc_ids, list):
            raise BadRequest("filter=_doc_ids needs a doc_ids list", error="bad_request")
        wanted = set(doc_ids)
        return lambda info, doc: info.id in wanted
    if name == "_selector":
        if selector is None:
            raise BadRequest("filter=_selector needs a selector", error="bad_request")
        match = compile_selector(selector)
        return lambda info, doc: doc is not None and match(doc)
    if name == "_design":
        return lambda info, doc: info.id.startswith("_design/")
    return js.changes_filter(state, db, name, params)  # JavaScript filters (issue 11)


def _rows(state: EngineState, stream: LocalChangesStream) -> Iterator[dict[str, Any]]:
    """The rows of ``stream``; blocks for longpoll/continuous feeds."""
    seq = stream.since
    upper: int | None = None
    emitted = 0
    needs_doc = stream.include_docs or (stream.accept is not None)
    while True:
        # Scan everything after ``seq`` page by page.
        while True:
            with state.storage.read() as txn:
                meta = txn.get_db(stream.db)
                if meta is None:
                    if stream.feed == "normal" and emitted == 0 and seq == stream.since:
                        raise db_missing()
                    stream.last_seq = seq
                    return
                if stream.descending:
                    page = txn.scan_seqs(meta, 0, before=upper, descending=True, limit=PAGE)
                else:
                    page = txn.scan_seqs(meta, seq, before=None, descending=False, limit=PAGE)
                docs = winner_docs(txn, meta, page, stream.opts) if needs_doc else {}
            for info in page:
                if stream.closed:
                    stream.last_seq = seq
                    return
                seq = info.seq
                upper = info.seq
                doc = docs.get(info.id) if needs_doc else None
                if needs_doc and doc is None and info.deleted:
                    doc = {"_id": info.id, "_rev": info.winner, "_deleted": True}
                if stream.accept is not None and not stream.accept(info, doc):
                    continue
                row: dict[str, Any] = {"seq": info.seq, "id": info.id}
                if stream.all_leaves:
                    row["changes"] = [{"rev": r} for r in info.tree.leaves()]
                else:
                    row["changes"] = [{"rev": info.winner}]
                if info.deleted:
                    row["deleted"] = True
                if stream.include_docs:
                    row["doc"] = doc
                emitted += 1
                yield row
                if stream.limit is not None and emitted >= stream.limit:
                    stream.last_seq = seq
                    if not stream.descending:
                        with state.storage.read() as txn:
                            meta = txn.get_db(stream.db)
                            stream.pending = (
                                txn.count_seqs_after(meta, seq) if meta is not None else 0
                            )
                    return
            if len(page) < PAGE:
                break
        if stream.feed == "normal" or stream.descending or (stream.feed == "longpoll" and emitted):
            stream.last_seq = seq
            stream.pending = 0
            return
        # Wait for the next change (or the timeout, or close()).
        deadline_hit = _wait(state, stream, seq)
        if stream.closed or deadline_hit:
            stream.last_seq = seq
            stream.pending = 0
            return


def _wait(state: EngineState, stream: LocalChangesStream, seq: int) -> bool:
    """Block until a change after ``seq``; return whether the timeout expired first."""
    start = time.monotonic()
    state.storage.wait(stream.db, seq, stream.timeout, stream.closed_event)
    if stream.timeout is None:
        return False
    with state.storage.read() as txn:
        meta = txn.get_db(stream.db)
        changed = meta is None or meta.update_seq > seq
    return not changed and time.monotonic() - start >= stream.timeout
