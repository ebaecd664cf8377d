"""A live (continuous) replication: a thread following the source's changes for ever.

:class:`Replication` reads an :class:`~settee.feeds.InfiniteFeed` of the
source (continuous, ``style=all_docs``) and replicates its rows in batches:
a batch is sent when it is full or when the feed has nothing more for a
moment. Transient errors (a dropped connection, a 5xx, a 429) back off with
full jitter and resume from the last batch done; a terminal one (401/403/404,
``NotSupported``) ends it with ``status == "error"`` and the exception in
``error``. It first catches up page by page (``status`` ``"running"``), then follows;
``"idle"`` means caught up and no change waiting. A process killed mid-way
resumes from its last checkpoint: at most
the one batch in flight is sent again (``new_edits=false`` writes do not
double).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Literal

from settee.feeds.feed import InfiniteFeed
from settee.replication.engine import (
    ProgressCallback,
    ReplicationResult,
    Session,
    backoff,
    is_transient,
)
from settee.rows import ChangeRow, Seq

__all__ = ["IDLE_FLUSH", "Replication", "Status"]

logger = logging.getLogger("settee")

Status = Literal["running", "idle", "error", "stopped"]
#: Seconds without a new change after which a partial batch is sent.
IDLE_FLUSH = 0.1
_HEARTBEAT_MS = 10000


class _End:
    """What the reader thread puts last: the feed's error, or None when it was stopped."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class Replication:
    """The handle of a continuous replication (from ``settee.replicate(..., continuous=True)``).

    ``status``: ``"running"`` (copying), ``"idle"`` (caught up, waiting for
    changes), ``"error"`` (ended by a terminal error, in ``error``),
    ``"stopped"``. ``result`` is updated after every batch; ``last_seq`` is
    the last source seq done. ``progress(result)`` is called after each batch,
    ``on_error(exc, delay)`` before each backoff sleep.
    """

    def __init__(
        self,
        session: Session,
        *,
        progress: ProgressCallback | None = None,
        on_error: Callable[[BaseException, float], None] | None = None,
        max_retries: int | None = None,
    ) -> None:
        self.session = session
        self.progress = progress
        self.on_error = on_error
        self.max_retries = max_retries
        self.status: Status = "running"
        self.error: BaseException | None = None
        #: Transient failures recovered from so far.
        self.retries = 0
        self._stop = threading.Event()
        self._feed: InfiniteFeed[ChangeRow] | None = None
        self._feed_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="settee-replication", daemon=True)

    def __repr__(self) -> str:
        return f"Replication({self.session!r}, status={self.status!r}, last_seq={self.last_seq!r})"

    @property
    def result(self) -> ReplicationResult:
        """The counts so far."""
        return self.session.result

    @property
    def last_seq(self) -> Seq:
        """The last source seq replicated."""
        return self.session.result.end_last_seq

    def start(self) -> Replication:
        """Start the thread (``settee.replicate`` does); returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> ReplicationResult:
        """Stop after the batch in flight, checkpoint, and return the result."""
        self._stop.set()
        with self._feed_lock:
            feed = self._feed
        if feed is not None:
            feed.stop()
        self._thread.join(timeout)
        return self.result

    def wait(self, timeout: float | None = None) -> ReplicationResult:
        """Block until it ends (``stop()`` from another thread, or a terminal error).

        Raises that terminal error; ``TimeoutError`` if still running after ``timeout``.
        """
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"replication still {self.status} after {timeout} s")
        if self.error is not None:
            raise self.error
        return self.result

    def __enter__(self) -> Replication:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        prepared = caught_up = False
        try:
            while not self._stop.is_set():
                try:
                    if not prepared:
                        self.session.prepare()
                        prepared = True
                    while not caught_up and not self._stop.is_set():
                        # What the source has now, page by page: "idle" means caught up.
                        caught_up = self.session.next_batch()
                        self._batch_done()
                    self._follow(self.session.result.end_last_seq)
                    failures = 0
                except BaseException as exc:
                    if not is_transient(exc):
                        raise
                    failures += 1
                    self.retries += 1
                    if self.max_retries is not None and failures > self.max_retries:
                        raise
                    delay = backoff(failures)
                    logger.info("replication interrupted (%s); resuming in %.2f s", exc, delay)
                    if self.on_error is not None:
                        self.on_error(exc, delay)
                    self._stop.wait(delay)
        except BaseException as exc:  # terminal: kept for wait() and status
            self.error = exc
            self.status = "error"
            logger.warning("replication %s stopped: %s", self.result.replication_id, exc)
        finally:
            if prepared:
                try:
                    self.session.finish()
                except Exception as exc:  # the last checkpoint is a courtesy
                    logger.info("replication: final checkpoint failed: %s", exc)
            if self.status != "error":
                self.status = "stopped"

    def _follow(self, since: Seq) -> None:
        options: dict[str, Any] = self.session.options.feed_options()
        feed: InfiniteFeed[ChangeRow] = self.session.source.infinite_changes(
            feed="continuous",
            since=since,
            heartbeat=_HEARTBEAT_MS,
            on_error=self.on_error,
            **options,
        )
        rows: queue.Queue[ChangeRow | _End] = queue.Queue(
            maxsize=4 * self.session.options.batch_size
        )
        reader = threading.Thread(target=self._read, args=(feed, rows), daemon=True)
        with self._feed_lock:
            self._feed = feed
        if self._stop.is_set():
            feed.stop()
        reader.start()
        try:
            self._consume(rows)
        finally:
            feed.stop()
            while reader.is_alive():
                # Unblock a reader stuck on a full queue, then let it see the stop.
                try:
                    rows.get_nowait()
                except queue.Empty:
                    reader.join(0.05)
            with self._feed_lock:
                self._feed = None

    def _read(self, feed: InfiniteFeed[ChangeRow], rows: queue.Queue[ChangeRow | _End]) -> None:
        try:
            for row in feed:
                rows.put(row)
        except BaseException as exc:
            rows.put(_End(exc))
            return
        rows.put(_End(None))

    def _consume(self, rows: queue.Queue[ChangeRow | _End]) -> None:
        size = self.session.options.batch_size
        batch: list[ChangeRow] = []
        while True:
            try:
                item = rows.get(timeout=IDLE_FLUSH)
            except queue.Empty:
                if batch:
                    self._send(batch)
                    batch = []
                elif self.status == "running":
                    self.status = "idle"
                if self._stop.is_set():
                    return
                continue
            if isinstance(item, _End):
                if batch and item.error is None:
                    self._send(batch)
                if item.error is not None:
                    raise item.error
                return
            if self._stop.is_set():
                return
            self.status = "running"
            batch.append(item)
            if len(batch) >= size:
                self._send(batch)
                batch = []

    def _send(self, batch: list[ChangeRow]) -> None:
        end: Seq | None = None
        for row in reversed(batch):
            if row.get("seq") is not None:
                end = row["seq"]
                break
        self.session.process(batch, end)
        self._batch_done()

    def _batch_done(self) -> None:
        if self.session.refusal is not None:
            raise self.session.refusal
        if self.progress is not None:
            self.progress(self.session.result)
