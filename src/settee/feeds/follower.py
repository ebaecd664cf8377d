"""A follower's state and rules, without I/O: one :class:`FollowerState` per followed feed.

:class:`~settee.feeds.feed.InfiniteFeed` (threads, blocking reads) and
:class:`~settee.aio.feeds.AsyncInfiniteFeed` (``await``) each hold one and do
only the I/O around it: open a stream, sleep, call the checkpoint store. The
rules are written once, here:

* a follower never loses a change: each connection resumes with ``since=`` the
  last *real* seq handed out (:meth:`FollowerState.connect_params`); a
  ``"seq": null`` row (``seq_interval``) leaves the position where it is;
* ``since="now"`` is pinned to a concrete seq before the first row
  (:meth:`FollowerState.now_params`), or a reconnect would skip what happened
  while the connection was down;
* a checkpoint saves only what was handed out, once the consumer is back for
  the next row (:meth:`FollowerState.take_unsaved`), or the server's
  ``last_seq`` when it ends a response (:meth:`FollowerState.server_ended`);
* the failures in :data:`RETRYABLE` back off with full jitter, capped
  (:meth:`FollowerState.failure_delay`); past ``max_reconnects`` consecutive
  failures the last one is raised; every other error is terminal.

A driver's loop, in outline::

    state.start(checkpoint.load() if checkpoint else None)
    while state.pinning_now and not state.stopped:
        ...open(state.now_params()), read it to the end, state.pinned_now(stream.last_seq)
    while not state.stopped:
        stream = open(state.connect_params()); state.connected()
        for row in stream:
            state.handed_out(row_seq(row, stream)); yield row
            save(state.take_unsaved())  # None: nothing to save
        if state.server_ended(stream.last_seq): save(state.take_unsaved())
        # on a RETRYABLE error: sleep(state.failure_delay(exc))
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from settee import errors
from settee._validate import check_int
from settee.feeds.base import loads
from settee.feeds.checkpoints import CheckpointStore
from settee.rows import Seq

__all__ = ["RETRYABLE", "FollowerState", "Following", "SeqSource", "row_seq"]

logger = logging.getLogger("settee")

#: The failures a follower recovers from (the rest are terminal).
RETRYABLE: tuple[type[BaseException], ...] = (
    errors.TransportError,
    errors.FeedError,
    errors.ServerError,
    errors.TooManyRequests,
)


class SeqSource(Protocol):
    """What :func:`row_seq` reads of a stream: its ``last_seq`` (sync or async stream)."""

    @property
    def last_seq(self) -> Any: ...


def row_seq(row: Any, stream: SeqSource) -> Seq | None:
    """The seq of a row just read from ``stream`` (None: a ``"seq": null`` row, or none).

    A dict row carries it; a raw (text) row's is the stream's ``last_seq`` where
    the stream tracks it (``tracks_row_seq``), else the text is parsed.
    """
    if isinstance(row, dict):
        return row.get("seq")
    if getattr(stream, "tracks_row_seq", False):
        seq: Seq | None = stream.last_seq
        return seq
    try:
        parsed = loads(row)
    except (ValueError, TypeError):
        return None
    return parsed.get("seq") if isinstance(parsed, dict) else None


class FollowerState:
    """Where a follower is and what it does next; no I/O (see the module docs).

    ``params`` are the feed's options (``since`` is where it starts);
    ``checkpoint``, ``max_reconnects``, ``on_error(exc, delay)``,
    ``backoff_base``/``backoff_max`` as for :class:`~settee.feeds.feed.InfiniteFeed`
    (validated here: ``TypeError``/``ValueError``); ``rng`` draws the jitter.
    """

    def __init__(
        self,
        params: Mapping[str, Any],
        *,
        checkpoint: CheckpointStore | None = None,
        max_reconnects: int | None = None,
        on_error: Callable[[BaseException, float], None] | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if checkpoint is not None and not isinstance(checkpoint, CheckpointStore):
            raise TypeError("checkpoint must have load() and save(seq) methods")
        if max_reconnects is not None:
            check_int("max_reconnects", max_reconnects)
        if on_error is not None and not callable(on_error):
            raise TypeError("on_error must be callable(exc, delay)")
        if backoff_base < 0 or backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must be >= 0")
        self.params = dict(params)
        self.checkpoint = checkpoint
        self.max_reconnects = max_reconnects
        self.on_error = on_error
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.rng = rng
        #: The last real seq handed out (where the next connection resumes).
        self.last_seq: Seq | None = self.params.get("since")
        #: Connections opened so far, and failures recovered from (for monitoring).
        self.connections = 0
        self.reconnects = 0
        #: Consecutive failures (reset by a row handed out).
        self.failures = 0
        #: Whether :meth:`start` ran, and whether :meth:`stop` did.
        self.started = False
        self.stopped = False
        self._unsaved: Seq | None = None

    def __repr__(self) -> str:
        return f"FollowerState(last_seq={self.last_seq!r}, stopped={self.stopped!r})"

    # -- the start ------------------------------------------------------------

    def start(self, saved: Seq | None) -> None:
        """Begin from ``saved`` (what the checkpoint store loaded), if not None."""
        self.started = True
        if saved is not None:
            self.last_seq = saved

    @property
    def pinning_now(self) -> bool:
        """Whether ``since="now"`` has still to become a concrete seq (see :meth:`now_params`)."""
        return self.last_seq == "now"

    def now_params(self) -> dict[str, Any]:
        """The one-off normal feed whose ``last_seq`` pins ``since="now"``."""
        params = {k: v for k, v in self.params.items() if k not in ("heartbeat", "timeout")}
        params.update(feed="normal", since="now")
        return params

    def pinned_now(self, last_seq: Seq | None) -> None:
        """Book the ``last_seq`` of the :meth:`now_params` response (None: try again)."""
        if last_seq is not None:
            self.last_seq = last_seq

    # -- each connection --------------------------------------------------------

    def connect_params(self) -> dict[str, Any]:
        """The options of the next connection: resume from the last seq handed out."""
        params = dict(self.params)
        if self.last_seq is not None:
            params["since"] = self.last_seq
        return params

    def connected(self) -> None:
        """Book a connection opened with :meth:`connect_params`."""
        self.connections += 1

    def handed_out(self, seq: Seq | None) -> None:
        """Book a row handed out with ``seq`` (None: a ``"seq": null`` row)."""
        self.failures = 0
        # Only a real seq is a position: a "seq": null row (seq_interval)
        # leaves last_seq, the resume point and the checkpoint where they are.
        if seq is not None and seq != self.last_seq:
            self.last_seq = seq
            self._unsaved = seq

    def server_ended(self, last_seq: Seq | None) -> bool:
        """Book a response the server ended at ``last_seq``; True if there is a seq to save.

        Call it from inside the consumer's ``next()``: every row handed out has
        been processed, so the server's ``last_seq`` may be checkpointed.
        """
        if self.stopped or last_seq is None:
            return False
        self.last_seq = last_seq
        self._unsaved = last_seq
        return True

    def take_unsaved(self) -> Seq | None:
        """The seq to checkpoint now, marked saved (None: nothing, or no checkpoint)."""
        seq, self._unsaved = self._unsaved, None
        return seq if self.checkpoint is not None else None

    # -- failures ---------------------------------------------------------------

    def backoff(self, failures: int) -> float:
        """Full-jitter delay (seconds) after ``failures`` consecutive failures."""
        ceiling = min(self.backoff_max, self.backoff_base * float(2 ** min(failures - 1, 32)))
        return float(self.rng()) * ceiling

    def failure_delay(self, exc: BaseException) -> float:
        """Book a :data:`RETRYABLE` failure: the seconds to back off before the next attempt.

        Calls ``on_error(exc, delay)``; raises ``exc`` past ``max_reconnects``
        consecutive failures; 0 once stopped.
        """
        if self.stopped:
            return 0.0
        self.failures += 1
        self.reconnects += 1
        if self.max_reconnects is not None and self.failures > self.max_reconnects:
            raise exc
        delay = self.backoff(self.failures)
        logger.info(
            "feed interrupted (%s: %s); resuming from %r in %.2f s",
            type(exc).__name__,
            exc,
            self.last_seq,
            delay,
        )
        if self.on_error is not None:
            self.on_error(exc, delay)
        return delay

    def stop(self) -> None:
        """Mark the follower stopped (from any thread or task); nothing more is booked."""
        self.stopped = True


class Following:
    """What a follower shows of its :class:`FollowerState` (the sync and the async one)."""

    #: The follower's position, checkpoint bookkeeping, backoff and stop flag.
    state: FollowerState

    @property
    def params(self) -> dict[str, Any]:
        """The feed's options (``since`` is where it started)."""
        return self.state.params

    @property
    def checkpoint(self) -> CheckpointStore | None:
        """The checkpoint store, if any."""
        return self.state.checkpoint

    @property
    def last_seq(self) -> Seq | None:
        """The last real seq handed out (where a reconnect resumes)."""
        return self.state.last_seq

    @property
    def connections(self) -> int:
        """Connections opened so far."""
        return self.state.connections

    @property
    def reconnects(self) -> int:
        """Failures recovered from so far."""
        return self.state.reconnects

    @property
    def stopped(self) -> bool:
        """Whether ``stop()`` was called."""
        return self.state.stopped

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r}, last_seq={self.last_seq!r})"
