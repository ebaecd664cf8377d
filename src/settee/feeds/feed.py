"""Change feeds: :class:`Feed` (one response) and :class:`InfiniteFeed` (follows for ever).

Both iterate change rows (dicts, or each row's JSON text with
``raw_data=True``) from any backend's :class:`~settee.backends.base.ChangesStream`;
over HTTP the body is parsed as it arrives (see :mod:`settee.feeds.parse`)::

    feed = db.changes(feed="continuous", include_docs=True, heartbeat=10000)
    for change in feed:
        handle(change)
        if done:
            feed.stop()

``stop()`` may be called from any thread and ends a blocked iteration at once.
``last_seq`` is the seq of the last row handed out, then the server's
``last_seq`` once a response ends. It only ever moves to a real seq: with
``seq_interval=N`` CouchDB sends ``"seq": null`` on most rows, and such a row
leaves the position (and what a checkpoint saves) at the last real seq, so a
reconnect may hand out again the rows after it (at most N-1), never skip one.

:class:`InfiniteFeed` reconnects after a dropped connection, a timeout, a
broken body, a 5xx or a 429 (full-jitter exponential backoff, capped),
resumes from the last seq it handed out, and stops with the error on terminal
answers (400, 401 after the auth strategy's own re-login, 403, 404, and a
backend without the feed). With ``checkpoint=`` it loads the seq to start from
and saves each row's seq once the consumer comes back for the next row (at
least once: a restarted process sees at most the rows it had not finished,
plus what a batching store held back - see :mod:`settee.feeds.checkpoints`);
the store is flushed on ``stop()``, at the end and on an error.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, cast, overload

from settee import errors
from settee.feeds.checkpoints import CheckpointStore
from settee.feeds.follower import RETRYABLE, FollowerState, Following, row_seq
from settee.feeds.options import (
    ChangesOptions,
    DbUpdatesOptions,
    FeedSpec,
    InfiniteChangesOptions,
    InfiniteDbUpdatesOptions,
    feed_spec,
    no_selector_filter,
)
from settee.feeds.stream import HEARTBEAT, Heartbeat
from settee.rows import ChangeRow, DbUpdateRow, Seq

if TYPE_CHECKING:  # typing_extensions ships with every type checker; no runtime dependency
    from typing_extensions import Unpack

    # The protocol the backends implement: named here for types only, as the
    # backends sit below the feeds and their HTTP one uses the feed parsers.
    from settee.backends.base import Backend, ChangesStream

__all__ = [
    "ChangesSource",
    "Feed",
    "InfiniteFeed",
    "ServerSource",
    "changes_feed",
    "db_updates_feed",
    "infinite_changes_feed",
    "infinite_db_updates_feed",
]

logger = logging.getLogger("settee")

#: The row type a feed yields: :class:`~settee.rows.ChangeRow`,
#: :class:`~settee.rows.DbUpdateRow`, or ``str`` (``raw_data=True``).
RowT = TypeVar("RowT")


class ServerSource(Protocol):
    """What a server-wide feed needs: a client's backend."""

    @property
    def backend(self) -> Backend: ...


class ChangesSource(Protocol):
    """What a ``_changes`` feed needs: a database's backend and name."""

    @property
    def backend(self) -> Backend: ...

    @property
    def database_name(self) -> str: ...


Opener = Callable[[dict[str, Any]], "ChangesStream"]


# -- Feed ------------------------------------------------------------------------


_S = TypeVar("_S", bound="_Stoppable")


class _Stoppable:
    """``stop()`` / ``close()`` / ``stopped`` and the context manager, shared by both feeds."""

    _lock: threading.Lock
    _stream: ChangesStream | None

    def _mark_stopped(self) -> None:
        raise NotImplementedError

    def _interrupt(self) -> None:
        """Wake whatever besides the open stream may be waiting (a backoff)."""

    def stop(self) -> None:
        """End iteration; from any thread, also while ``next()`` is blocked or an
        :class:`InfiniteFeed` is backing off. Idempotent."""
        with self._lock:
            self._mark_stopped()
            stream = self._stream
        self._interrupt()
        if stream is not None:
            stream.close()

    def close(self) -> None:
        """Same as :meth:`stop`."""
        self.stop()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Feed(_Stoppable, Generic[RowT]):
    """One feed response as an iterator of change rows.

    The request is sent on the first ``next()``. Raises what the backend
    raises: :mod:`settee.errors` answers for the request, :class:`FeedError`
    (with ``last_seq``) when the body breaks off or does not parse.
    """

    def __init__(
        self,
        opener: Opener,
        params: Mapping[str, Any],
        *,
        raw: bool = False,
        heartbeats: bool = False,
    ) -> None:
        self._opener = opener
        self.params = dict(params)
        self.raw = raw
        #: Opt-in, default off: also yield :data:`~settee.feeds.stream.HEARTBEAT`
        #: for each heartbeat of a continuous HTTP feed, or before a row of a
        #: longpoll one (set before iterating).
        #: Nothing is sent to the server for it; local backends have no
        #: heartbeat lines and never yield one.
        self.heartbeats = heartbeats
        #: The last real seq handed out, then the server's ``last_seq``.
        self.last_seq: Seq | None = None
        self.pending: int | None = None
        self._lock = threading.Lock()
        self._stream: ChangesStream | None = None
        self._rows: Iterator[RowT] | None = None
        self._stopped = False

    def __repr__(self) -> str:
        return f"Feed({self.params!r})"

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped

    def _mark_stopped(self) -> None:
        self._stopped = True

    def with_heartbeats(self) -> Feed[RowT | Heartbeat]:
        """This feed, handing out :data:`~settee.feeds.stream.HEARTBEAT` too (sets
        :attr:`heartbeats`; call before iterating), typed so: test ``row is HEARTBEAT``."""
        self.heartbeats = True
        return cast("Feed[RowT | Heartbeat]", self)

    def __iter__(self) -> Iterator[RowT]:
        # A plain generator: a for loop then runs without a Python-level
        # __next__ call per row.
        if self._rows is None:
            self._rows = self._generate()
        return self._rows

    def __next__(self) -> RowT:
        return next(iter(self))

    def _generate(self) -> Iterator[RowT]:
        if self._stopped:
            return
        stream = self._opener(dict(self.params))
        with self._lock:
            self._stream = stream
            stopped = self._stopped
        if stopped:
            stream.close()
            return
        try:
            surface = getattr(stream, "surface_heartbeats", None) if self.heartbeats else None
            if surface is not None:
                surface()
                for row in stream:
                    if self._stopped:
                        return
                    if row is not HEARTBEAT:
                        seq = row_seq(row, stream)
                        if seq is not None:
                            self.last_seq = seq
                    yield row
            elif not self.raw:
                for row in stream:
                    if self._stopped:  # stop() ran while we were blocked: drop the row
                        return
                    seq = row.get("seq")
                    if seq is not None:  # seq_interval: "seq": null keeps the position
                        self.last_seq = seq
                    yield row
            elif getattr(stream, "tracks_row_seq", False):
                for row in stream:
                    if self._stopped:
                        return
                    if stream.last_seq is not None:
                        self.last_seq = stream.last_seq
                    yield row
            else:
                for row in stream:
                    if self._stopped:
                        return
                    seq = row_seq(row, stream)
                    if seq is not None:
                        self.last_seq = seq
                    yield row
            if not self._stopped:
                if stream.last_seq is not None:
                    self.last_seq = stream.last_seq
                self.pending = stream.pending
        except errors.FeedError as exc:
            if exc.last_seq is None and self.last_seq is not None:
                exc.last_seq = self.last_seq
            raise
        finally:
            stream.close()

    def _close_stream(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()


# -- InfiniteFeed ----------------------------------------------------------------


class InfiniteFeed(Following, _Stoppable, Generic[RowT]):
    """Follow a feed for ever: reconnect, back off, resume, checkpoint.

    Options: ``checkpoint`` (a :class:`CheckpointStore`), ``max_reconnects``
    (consecutive failed attempts before the last error is raised; None = no
    limit), ``on_error(exc, delay)`` (called before each backoff sleep),
    ``backoff_base`` / ``backoff_max`` (seconds: the n-th consecutive failure
    sleeps ``uniform(0, min(backoff_max, backoff_base * 2**n))``).

    The rules are :attr:`state`'s (a :class:`~settee.feeds.follower.FollowerState`);
    this class does the blocking I/O around them.

    Raises the terminal errors: :class:`BadRequest`, :class:`Unauthorized`,
    :class:`Forbidden`, :class:`NotFound` (the database is gone),
    :class:`NotSupported`, other 4xx :class:`CouchError`.
    """

    def __init__(
        self,
        opener: Opener,
        params: Mapping[str, Any],
        *,
        raw: bool = False,
        checkpoint: CheckpointStore | None = None,
        max_reconnects: int | None = None,
        on_error: Callable[[BaseException, float], None] | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        #: The follower's position, checkpoint bookkeeping, backoff and stop flag.
        self.state = FollowerState(
            params,
            checkpoint=checkpoint,
            max_reconnects=max_reconnects,
            on_error=on_error,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            rng=rng,
        )
        self._opener = opener
        self.raw = raw
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stream: ChangesStream | None = None
        self._rows: Iterator[Any] | None = None

    def _mark_stopped(self) -> None:
        self.state.stop()

    def __iter__(self) -> InfiniteFeed[RowT]:
        return self

    def backoff(self, failures: int) -> float:
        """Full-jitter delay (seconds) after ``failures`` consecutive failures."""
        return self.state.backoff(failures)

    def __next__(self) -> RowT:
        self._commit()  # the consumer is back: it has finished the previous row
        try:
            return self._next_row()
        except StopIteration:  # the end: nothing handled may be replayed
            self._flush_checkpoint()
            raise
        except BaseException:  # a terminal error (or the caller's own): it goes up as it is
            try:
                self._flush_checkpoint()
            except Exception as flush_error:
                logger.warning("checkpoint not saved: %s", flush_error)
            raise

    def _next_row(self) -> RowT:
        state = self.state
        if not state.started:
            self._start()
        while not state.stopped:
            rows = self._rows
            if rows is None:
                try:
                    rows = self._connect()
                except RETRYABLE as exc:
                    self._failed(exc)
                    continue
            try:
                row = next(rows)
            except StopIteration:
                self._ended_normally()
                continue
            except RETRYABLE as exc:
                self._drop_stream()
                self._failed(exc)
                continue
            except BaseException:
                self._drop_stream()
                raise
            if state.stopped:
                break
            stream = self._stream
            assert stream is not None
            state.handed_out(row_seq(row, stream))
            return row  # type: ignore[no-any-return]  # what the stream yields is RowT
        self._drop_stream()
        raise StopIteration

    def _start(self) -> None:
        state = self.state
        state.start(state.checkpoint.load() if state.checkpoint is not None else None)
        # "since=now" must become a concrete seq before the first row, or a
        # reconnect would skip what happened while the connection was down.
        while state.pinning_now and not state.stopped:
            try:
                stream = self._opener(state.now_params())
                try:
                    for _ in stream:
                        pass
                finally:
                    stream.close()
            except RETRYABLE as exc:
                self._failed(exc)
                continue
            state.pinned_now(stream.last_seq)
            break

    def _connect(self) -> Iterator[Any]:
        stream = self._opener(self.state.connect_params())
        with self._lock:
            self._stream = stream
            stopped = self.state.stopped
        if stopped:
            stream.close()
        self.state.connected()
        self._rows = iter(stream)
        return self._rows

    def _ended_normally(self) -> None:
        # The server ended the response (longpoll answer, feed timeout): go on
        # from its last_seq at once.
        stream = self._stream
        if stream is not None and self.state.server_ended(stream.last_seq):
            self._commit()
        self._drop_stream()

    def _failed(self, exc: BaseException) -> None:
        delay = self.state.failure_delay(exc)
        if delay > 0:
            self._wake.wait(delay)

    def _commit(self) -> None:
        seq = self.state.take_unsaved()
        if seq is not None and self.state.checkpoint is not None:
            self.state.checkpoint.save(seq)

    def _flush_checkpoint(self) -> None:
        flush = getattr(self.state.checkpoint, "flush", None)
        if callable(flush):
            flush()

    def _drop_stream(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
            self._rows = None
        if stream is not None:
            stream.close()

    def _interrupt(self) -> None:
        self._wake.set()  # cut a backoff sleep short
        # stop() may come from another thread: the stores' batches are locked.
        self._flush_checkpoint()


# -- entry points for Database / Client ----------------------------------------
# Options are validated before any request: an unknown one raises ``TypeError``
# naming it (and is a type error: ``**options`` is typed by the table in
# settee.feeds.options); bad values raise ``TypeError``/``ValueError``.


@overload
def changes_feed(
    db: ChangesSource, *, raw_data: Literal[False] = ..., **options: Unpack[ChangesOptions]
) -> Feed[ChangeRow]: ...
@overload
def changes_feed(
    db: ChangesSource, *, raw_data: Literal[True], **options: Unpack[ChangesOptions]
) -> Feed[str]: ...
@overload
def changes_feed(
    db: ChangesSource, *, raw_data: bool, **options: Unpack[ChangesOptions]
) -> Feed[ChangeRow] | Feed[str]: ...
def changes_feed(
    db: ChangesSource, *, raw_data: bool = False, **options: Unpack[ChangesOptions]
) -> Feed[ChangeRow] | Feed[str]:
    """``db.changes(...)``: a :class:`Feed` over ``db``'s ``_changes`` (see module docs)."""
    spec, _ = feed_spec("changes", options, raw_data)
    feed: Feed[Any] = Feed(_changes_opener(db, spec), spec.params, raw=spec.raw)
    return feed


@overload
def infinite_changes_feed(
    db: ChangesSource,
    *,
    raw_data: Literal[False] = ...,
    **options: Unpack[InfiniteChangesOptions],
) -> InfiniteFeed[ChangeRow]: ...
@overload
def infinite_changes_feed(
    db: ChangesSource, *, raw_data: Literal[True], **options: Unpack[InfiniteChangesOptions]
) -> InfiniteFeed[str]: ...
@overload
def infinite_changes_feed(
    db: ChangesSource, *, raw_data: bool, **options: Unpack[InfiniteChangesOptions]
) -> InfiniteFeed[ChangeRow] | InfiniteFeed[str]: ...
def infinite_changes_feed(
    db: ChangesSource, *, raw_data: bool = False, **options: Unpack[InfiniteChangesOptions]
) -> InfiniteFeed[ChangeRow] | InfiniteFeed[str]:
    """``db.infinite_changes(...)``: an :class:`InfiniteFeed` (continuous by default)."""
    spec, infinite = feed_spec("infinite_changes", options, raw_data)
    feed: InfiniteFeed[Any] = InfiniteFeed(
        _changes_opener(db, spec), spec.params, raw=spec.raw, **infinite
    )
    return feed


@overload
def db_updates_feed(
    client: ServerSource, *, raw_data: Literal[False] = ..., **options: Unpack[DbUpdatesOptions]
) -> Feed[DbUpdateRow]: ...
@overload
def db_updates_feed(
    client: ServerSource, *, raw_data: Literal[True], **options: Unpack[DbUpdatesOptions]
) -> Feed[str]: ...
@overload
def db_updates_feed(
    client: ServerSource, *, raw_data: bool, **options: Unpack[DbUpdatesOptions]
) -> Feed[DbUpdateRow] | Feed[str]: ...
def db_updates_feed(
    client: ServerSource, *, raw_data: bool = False, **options: Unpack[DbUpdatesOptions]
) -> Feed[DbUpdateRow] | Feed[str]:
    """``client.db_updates(...)``: a :class:`Feed` over the server's ``_db_updates``."""
    spec, _ = feed_spec("db_updates", options, raw_data)
    feed: Feed[Any] = Feed(_db_updates_opener(client, spec), spec.params, raw=spec.raw)
    return feed


@overload
def infinite_db_updates_feed(
    client: ServerSource,
    *,
    raw_data: Literal[False] = ...,
    **options: Unpack[InfiniteDbUpdatesOptions],
) -> InfiniteFeed[DbUpdateRow]: ...
@overload
def infinite_db_updates_feed(
    client: ServerSource, *, raw_data: Literal[True], **options: Unpack[InfiniteDbUpdatesOptions]
) -> InfiniteFeed[str]: ...
@overload
def infinite_db_updates_feed(
    client: ServerSource, *, raw_data: bool, **options: Unpack[InfiniteDbUpdatesOptions]
) -> InfiniteFeed[DbUpdateRow] | InfiniteFeed[str]: ...
def infinite_db_updates_feed(
    client: ServerSource, *, raw_data: bool = False, **options: Unpack[InfiniteDbUpdatesOptions]
) -> InfiniteFeed[DbUpdateRow] | InfiniteFeed[str]:
    """``client.infinite_db_updates(...)``: an :class:`InfiniteFeed` over ``_db_updates``."""
    spec, infinite = feed_spec("infinite_db_updates", options, raw_data)
    feed: InfiniteFeed[Any] = InfiniteFeed(
        _db_updates_opener(client, spec), spec.params, raw=spec.raw, **infinite
    )
    return feed


def _changes_opener(db: ChangesSource, spec: FeedSpec) -> Opener:
    backend = db.backend
    name: str = db.database_name
    wants_selector = spec.body is not None and "selector" in spec.body
    if wants_selector and "changes_selector" not in backend.capabilities:
        raise no_selector_filter(backend.kind, backend.url)

    def open_stream(params: dict[str, Any]) -> ChangesStream:
        stream: ChangesStream = backend.changes(
            name, params, body=spec.body, raw=spec.raw, chunk_size=spec.chunk_size
        )
        return stream

    return open_stream


def _db_updates_opener(client: ServerSource, spec: FeedSpec) -> Opener:
    backend = client.backend

    def open_stream(params: dict[str, Any]) -> ChangesStream:
        stream: ChangesStream = backend.db_updates(params, raw=spec.raw, chunk_size=spec.chunk_size)
        return stream

    return open_stream
