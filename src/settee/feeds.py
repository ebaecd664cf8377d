"""Change feeds: :class:`Feed` (one response) and :class:`InfiniteFeed` (follows for ever).

Both iterate change rows (dicts, or each row's JSON text with
``raw_data=True``) from any backend's :class:`~settee.backends.base.ChangesStream`;
over HTTP the body is parsed as it arrives (see :mod:`settee._feedparse`)::

    feed = db.changes(feed="continuous", include_docs=True, heartbeat=10000)
    for change in feed:
        handle(change)
        if done:
            feed.stop()

``stop()`` may be called from any thread and ends a blocked iteration at once.
``last_seq`` is the seq of the last row handed out, then the server's
``last_seq`` once a response ends.

:class:`InfiniteFeed` reconnects after a dropped connection, a timeout, a
broken body, a 5xx or a 429 (full-jitter exponential backoff, capped),
resumes from the last seq it handed out, and stops with the error on terminal
answers (400, 401 after the auth strategy's own re-login, 403, 404, and a
backend without the feed). With ``checkpoint=`` it loads the seq to start from
and saves each row's seq once the consumer comes back for the next row (at
least once: a restarted process sees at most the rows it had not finished).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from . import errors
from ._feedparse import IJSON_BACKEND, JSON_LOADS, loads
from .backends.base import ChangesStream

__all__ = [
    "IJSON_BACKEND",
    "JSON_LOADS",
    "CheckpointStore",
    "Feed",
    "FileCheckpoint",
    "InfiniteFeed",
    "LocalDocumentCheckpoint",
    "MemoryCheckpoint",
    "changes_feed",
    "db_updates_feed",
    "infinite_changes_feed",
    "infinite_db_updates_feed",
]

logger = logging.getLogger("settee")

FEED_KINDS = ("normal", "longpoll", "continuous")
#: Heartbeat (ms) an InfiniteFeed asks for when none is given: a dead
#: connection is noticed after about twice this.
INFINITE_HEARTBEAT_MS = 30000

Opener = Callable[[dict[str, Any]], ChangesStream]

_BOOL_OPTIONS = ("include_docs", "conflicts", "descending", "attachments", "att_encoding_info")
_CHANGES_OPTIONS = frozenset(
    {
        "feed",
        "since",
        "limit",
        "filter",
        "doc_ids",
        "selector",
        "view",
        "style",
        "heartbeat",
        "timeout",
        "seq_interval",
        "query_params",
        "raw_data",
        "chunk_size",
        *_BOOL_OPTIONS,
    }
)
_DB_UPDATES_OPTIONS = frozenset(
    {"feed", "since", "limit", "descending", "heartbeat", "timeout", "raw_data", "chunk_size"}
)
_INFINITE_OPTIONS = frozenset(
    {"checkpoint", "max_reconnects", "on_error", "backoff_base", "backoff_max"}
)


# -- option validation ---------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_number(name: str, value: Any, *, allow_bool: bool = False) -> None:
    if value is None or (allow_bool and isinstance(value, bool)):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of milliseconds, not {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {value!r}")


class _FeedSpec:
    """Validated options of one feed: query params, POST body, raw flag, chunk size."""

    def __init__(
        self, params: dict[str, Any], body: dict[str, Any] | None, raw: bool, chunk_size: int
    ) -> None:
        self.params = params
        self.body = body
        self.raw = raw
        self.chunk_size = chunk_size


def _validate(
    options: Mapping[str, Any], allowed: frozenset[str], *, what: str, default_feed: str
) -> _FeedSpec:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"{what}() got unexpected option(s): {', '.join(unknown)}")
    opts = dict(options)
    feed = opts.pop("feed", None) or default_feed
    if feed not in FEED_KINDS:
        raise ValueError(f"feed must be one of {', '.join(FEED_KINDS)}, not {feed!r}")
    raw = opts.pop("raw_data", False)
    if not isinstance(raw, bool):
        raise TypeError(f"raw_data must be a bool, not {raw!r}")
    chunk_size = opts.pop("chunk_size", None)
    if chunk_size is None:
        chunk_size = 65536
    if not _is_int(chunk_size) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, not {chunk_size!r}")
    since = opts.get("since")
    if since is not None and not (_is_int(since) or isinstance(since, (str, list))):
        raise TypeError(f"since must be a seq (str or int) or 'now', not {since!r}")
    if isinstance(since, int) and since < 0:
        raise ValueError(f"since must be >= 0, not {since!r}")
    limit = opts.get("limit")
    if limit is not None and not _is_int(limit):
        raise TypeError(f"limit must be an int, not {limit!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit!r}")
    for name in _BOOL_OPTIONS:
        if opts.get(name) is not None and not isinstance(opts[name], bool):
            raise TypeError(f"{name} must be a bool, not {opts[name]!r}")
    _positive_number("heartbeat", opts.get("heartbeat"), allow_bool=True)
    _positive_number("timeout", opts.get("timeout"))
    seq_interval = opts.get("seq_interval")
    if seq_interval is not None and (not _is_int(seq_interval) or seq_interval < 1):
        raise ValueError(f"seq_interval must be a positive int, not {seq_interval!r}")
    for name in ("filter", "view"):
        if opts.get(name) is not None and not isinstance(opts[name], str):
            raise TypeError(f"{name} must be a str, not {opts[name]!r}")
    style = opts.get("style")
    if style is not None and style not in ("main_only", "all_docs"):
        raise ValueError(f"style must be 'main_only' or 'all_docs', not {style!r}")
    body: dict[str, Any] | None = None
    doc_ids = opts.pop("doc_ids", None)
    selector = opts.pop("selector", None)
    if doc_ids is not None and selector is not None:
        raise ValueError("give doc_ids or selector, not both")
    if doc_ids is not None:
        if isinstance(doc_ids, str) or not all(isinstance(d, str) for d in doc_ids):
            raise TypeError("doc_ids must be a list of document ids (str)")
        if opts.get("filter") not in (None, "_doc_ids"):
            raise ValueError("doc_ids sets filter=_doc_ids; another filter cannot be combined")
        opts["filter"] = "_doc_ids"
        body = {"doc_ids": list(doc_ids)}
    if selector is not None:
        if not isinstance(selector, Mapping):
            raise TypeError(f"selector must be a dict (a Mango selector), not {selector!r}")
        if opts.get("filter") not in (None, "_selector"):
            raise ValueError("selector sets filter=_selector; another filter cannot be combined")
        opts["filter"] = "_selector"
        body = {"selector": dict(selector)}
    if opts.get("view") is not None and opts.get("filter") is None:
        opts["filter"] = "_view"  # CouchDB needs both
    extra = opts.pop("query_params", None)
    params: dict[str, Any] = {"feed": feed}
    if extra is not None:
        if not isinstance(extra, Mapping):
            raise TypeError("query_params must be a mapping (parameters for a filter function)")
        clash = sorted(set(extra) & (_CHANGES_OPTIONS | {"feed"}))
        if clash:
            raise ValueError(f"query_params may not set feed options: {', '.join(clash)}")
        params.update(extra)
    params.update({k: v for k, v in opts.items() if v is not None})
    return _FeedSpec(params, body, raw, chunk_size)


def _row_seq(row: Any, stream: ChangesStream) -> Any:
    if isinstance(row, dict):
        return row.get("seq")
    if getattr(stream, "tracks_row_seq", False):
        return stream.last_seq
    try:
        parsed = loads(row)
    except (ValueError, TypeError):
        return None
    return parsed.get("seq") if isinstance(parsed, dict) else None


# -- Feed ------------------------------------------------------------------------


class Feed:
    """One feed response as an iterator of change rows.

    The request is sent on the first ``next()``. Raises what the backend
    raises: :mod:`settee.errors` answers for the request, :class:`FeedError`
    (with ``last_seq``) when the body breaks off or does not parse.
    """

    def __init__(self, opener: Opener, params: Mapping[str, Any], *, raw: bool = False) -> None:
        self._opener = opener
        self.params = dict(params)
        self.raw = raw
        self.last_seq: Any = None
        self.pending: int | None = None
        self._lock = threading.Lock()
        self._stream: ChangesStream | None = None
        self._rows: Iterator[Any] | None = None
        self._stopped = False

    def __repr__(self) -> str:
        return f"Feed({self.params!r})"

    def __iter__(self) -> Iterator[Any]:
        # A plain generator: a for loop then runs without a Python-level
        # __next__ call per row.
        if self._rows is None:
            self._rows = self._generate()
        return self._rows

    def __next__(self) -> Any:
        return next(iter(self))

    def _generate(self) -> Iterator[Any]:
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
            if not self.raw:
                for row in stream:
                    if self._stopped:  # stop() ran while we were blocked: drop the row
                        return
                    self.last_seq = row.get("seq")
                    yield row
            elif getattr(stream, "tracks_row_seq", False):
                for row in stream:
                    if self._stopped:
                        return
                    self.last_seq = stream.last_seq
                    yield row
            else:
                for row in stream:
                    if self._stopped:
                        return
                    self.last_seq = _row_seq(row, stream)
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

    def stop(self) -> None:
        """End iteration; from any thread, also while ``next()`` is blocked. Idempotent."""
        with self._lock:
            self._stopped = True
            stream = self._stream
        if stream is not None:
            stream.close()

    close = stop

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- checkpoints -----------------------------------------------------------------


@runtime_checkable
class CheckpointStore(Protocol):
    """Where an :class:`InfiniteFeed` keeps its place: ``load()`` and ``save(seq)``."""

    def load(self) -> Any:
        """The saved seq, or None when nothing was saved yet."""
        ...

    def save(self, seq: Any) -> None:
        """Remember ``seq`` (durably, for the file and database stores)."""
        ...


class MemoryCheckpoint:
    """A checkpoint held in memory (``seq`` attribute): for tests and short runs."""

    def __init__(self, seq: Any = None) -> None:
        self.seq = seq
        self.saves = 0

    def load(self) -> Any:
        return self.seq

    def save(self, seq: Any) -> None:
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
        """Write ``{"seq": seq}`` to a temp file beside the target, fsync, then rename."""
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
        """Write the seq; on a conflict (another writer) re-read the rev and write once more."""
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
        try:
            result = self.backend.put_doc(self.db_name, doc)
        except errors.NotSupported:
            results = self.backend.bulk_docs(self.db_name, [doc])
            result = results[0] if results else {"ok": True}
        if "error" in result:
            cls = errors.Conflict if result["error"] == "conflict" else errors.CouchError
            raise cls(result.get("reason"), error=result["error"])
        rev = result.get("rev")
        return rev if isinstance(rev, str) else None


# -- InfiniteFeed ----------------------------------------------------------------

_RETRYABLE: tuple[type[BaseException], ...] = (
    errors.TransportError,
    errors.FeedError,
    errors.ServerError,
    errors.TooManyRequests,
)


class InfiniteFeed:
    """Follow a feed for ever: reconnect, back off, resume, checkpoint.

    Options: ``checkpoint`` (a :class:`CheckpointStore`), ``max_reconnects``
    (consecutive failed attempts before the last error is raised; None = no
    limit), ``on_error(exc, delay)`` (called before each backoff sleep),
    ``backoff_base`` / ``backoff_max`` (seconds: the n-th consecutive failure
    sleeps ``uniform(0, min(backoff_max, backoff_base * 2**n))``).

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
        if checkpoint is not None and not isinstance(checkpoint, CheckpointStore):
            raise TypeError("checkpoint must have load() and save(seq) methods")
        if max_reconnects is not None and (not _is_int(max_reconnects) or max_reconnects < 0):
            raise ValueError("max_reconnects must be an int >= 0 or None")
        if on_error is not None and not callable(on_error):
            raise TypeError("on_error must be callable(exc, delay)")
        if backoff_base < 0 or backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must be >= 0")
        self._opener = opener
        self.params = dict(params)
        self.raw = raw
        self.checkpoint = checkpoint
        self.max_reconnects = max_reconnects
        self.on_error = on_error
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self._rng = rng
        self.last_seq: Any = self.params.get("since")
        #: Connections opened so far, and failures recovered from (for monitoring).
        self.connections = 0
        self.reconnects = 0
        self._failures = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stream: ChangesStream | None = None
        self._rows: Iterator[Any] | None = None
        self._stopped = False
        self._started = False
        self._unsaved: Any = None
        self._has_unsaved = False
        self._rows_this_connection = 0

    def __repr__(self) -> str:
        return f"InfiniteFeed({self.params!r}, last_seq={self.last_seq!r})"

    def __iter__(self) -> InfiniteFeed:
        return self

    def backoff(self, failures: int) -> float:
        """Full-jitter delay (seconds) after ``failures`` consecutive failures."""
        ceiling = min(self.backoff_max, self.backoff_base * float(2 ** min(failures - 1, 32)))
        return float(self._rng()) * ceiling

    def __next__(self) -> Any:
        self._commit()  # the consumer is back: it has finished the previous row
        if not self._started:
            self._start()
        while not self._stopped:
            rows = self._rows
            if rows is None:
                try:
                    rows = self._connect()
                except _RETRYABLE as exc:
                    self._failed(exc)
                    continue
            try:
                row = next(rows)
            except StopIteration:
                self._ended_normally()
                continue
            except _RETRYABLE as exc:
                self._drop_stream()
                self._failed(exc)
                continue
            except BaseException:
                self._drop_stream()
                raise
            if self._stopped:
                break
            stream = self._stream
            assert stream is not None
            self._failures = 0
            self._rows_this_connection += 1
            self.last_seq = _row_seq(row, stream)
            self._unsaved = self.last_seq
            self._has_unsaved = True
            return row
        self._drop_stream()
        raise StopIteration

    def _start(self) -> None:
        self._started = True
        if self.checkpoint is not None:
            saved = self.checkpoint.load()
            if saved is not None:
                self.last_seq = saved
        if self.last_seq == "now":
            self.last_seq = self._resolve_now()

    def _resolve_now(self) -> Any:
        # "since=now" must become a concrete seq before the first row, or a
        # reconnect would skip what happened while the connection was down.
        while not self._stopped:
            params = {k: v for k, v in self.params.items() if k not in ("heartbeat", "timeout")}
            params.update(feed="normal", since="now")
            try:
                stream = self._opener(params)
                try:
                    for _ in stream:
                        pass
                finally:
                    stream.close()
            except _RETRYABLE as exc:
                self._failed(exc)
                continue
            return stream.last_seq if stream.last_seq is not None else "now"
        return "now"

    def _connect(self) -> Iterator[Any]:
        params = dict(self.params)
        if self.last_seq is not None:
            params["since"] = self.last_seq
        stream = self._opener(params)
        with self._lock:
            self._stream = stream
            stopped = self._stopped
        if stopped:
            stream.close()
        self.connections += 1
        self._rows_this_connection = 0
        self._rows = iter(stream)
        return self._rows

    def _ended_normally(self) -> None:
        # The server ended the response (longpoll answer, feed timeout): go on
        # from its last_seq at once.
        stream = self._stream
        if stream is not None and not self._stopped and stream.last_seq is not None:
            self.last_seq = stream.last_seq
            # We are inside next(): every row handed out has been processed.
            self._unsaved = self.last_seq
            self._has_unsaved = True
            self._commit()
        self._drop_stream()

    def _failed(self, exc: BaseException) -> None:
        if self._stopped:
            return
        self._failures += 1
        self.reconnects += 1
        if self.max_reconnects is not None and self._failures > self.max_reconnects:
            raise exc
        delay = self.backoff(self._failures)
        logger.info(
            "feed interrupted (%s: %s); resuming from %r in %.2f s",
            type(exc).__name__,
            exc,
            self.last_seq,
            delay,
        )
        if self.on_error is not None:
            self.on_error(exc, delay)
        if delay > 0:
            self._wake.wait(delay)

    def _commit(self) -> None:
        if self._has_unsaved and self.checkpoint is not None:
            self.checkpoint.save(self._unsaved)
        self._has_unsaved = False

    def _drop_stream(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
            self._rows = None
        if stream is not None:
            stream.close()

    def stop(self) -> None:
        """End iteration; from any thread, also while blocked or backing off. Idempotent."""
        with self._lock:
            self._stopped = True
            stream = self._stream
        self._wake.set()
        if stream is not None:
            stream.close()

    close = stop

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped

    def __enter__(self) -> InfiniteFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- entry points for Database / Client ----------------------------------------


def _split_infinite(options: dict[str, Any], what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    infinite = {k: options.pop(k) for k in list(options) if k in _INFINITE_OPTIONS}
    if "limit" in options and options["limit"] is not None:
        raise TypeError(f"{what}() follows the feed for ever: limit does not apply")
    feed = options.get("feed") or "continuous"
    if feed == "normal":
        raise ValueError(f"{what}() needs feed='continuous' or 'longpoll'")
    options["feed"] = feed
    if options.get("heartbeat") is None and options.get("timeout") is None:
        options["heartbeat"] = INFINITE_HEARTBEAT_MS
    return options, infinite


def changes_feed(db: Any, **options: Any) -> Feed:
    """``db.changes(...)``: a :class:`Feed` over ``db``'s ``_changes`` (see module docs).

    Options are validated before any request: an unknown one raises
    ``TypeError`` naming it; bad values raise ``TypeError``/``ValueError``.
    """
    spec = _validate(options, _CHANGES_OPTIONS, what="changes", default_feed="normal")
    return Feed(_changes_opener(db, spec), spec.params, raw=spec.raw)


def infinite_changes_feed(db: Any, **options: Any) -> InfiniteFeed:
    """``db.infinite_changes(...)``: an :class:`InfiniteFeed` (continuous by default)."""
    options, infinite = _split_infinite(dict(options), "infinite_changes")
    spec = _validate(options, _CHANGES_OPTIONS, what="infinite_changes", default_feed="continuous")
    return InfiniteFeed(_changes_opener(db, spec), spec.params, raw=spec.raw, **infinite)


def db_updates_feed(client: Any, **options: Any) -> Feed:
    """``client.db_updates(...)``: a :class:`Feed` over the server's ``_db_updates``."""
    spec = _validate(options, _DB_UPDATES_OPTIONS, what="db_updates", default_feed="normal")
    return Feed(_db_updates_opener(client, spec), spec.params, raw=spec.raw)


def infinite_db_updates_feed(client: Any, **options: Any) -> InfiniteFeed:
    """``client.infinite_db_updates(...)``: an :class:`InfiniteFeed` over ``_db_updates``."""
    options, infinite = _split_infinite(dict(options), "infinite_db_updates")
    spec = _validate(
        options, _DB_UPDATES_OPTIONS, what="infinite_db_updates", default_feed="continuous"
    )
    return InfiniteFeed(_db_updates_opener(client, spec), spec.params, raw=spec.raw, **infinite)


def _changes_opener(db: Any, spec: _FeedSpec) -> Opener:
    backend = db.backend
    name: str = db.database_name
    # Refuse before sending: PouchDB Server 4.2.0 has no _selector filter and
    # its process dies on one.
    wants_selector = spec.body is not None and "selector" in spec.body
    if wants_selector and "changes_selector" not in backend.capabilities:
        raise errors.NotSupported(
            f"the {backend.kind} backend at {backend.url} has no _selector filter for "
            "_changes (CouchDB 2+ and settee's embedded stores have one); "
            "filter the rows client-side or use doc_ids"
        )

    def open_stream(params: dict[str, Any]) -> ChangesStream:
        stream: ChangesStream = backend.changes(
            name, params, body=spec.body, raw=spec.raw, chunk_size=spec.chunk_size
        )
        return stream

    return open_stream


def _db_updates_opener(client: Any, spec: _FeedSpec) -> Opener:
    backend = client.backend

    def open_stream(params: dict[str, Any]) -> ChangesStream:
        stream: ChangesStream = backend.db_updates(params, raw=spec.raw, chunk_size=spec.chunk_size)
        return stream

    return open_stream
