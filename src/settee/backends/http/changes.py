"""Change feeds over HTTP: open ``_changes`` / ``_db_updates`` and stream the body.

:func:`open_changes` encodes the options, sends the request with
``stream=True`` and a read timeout that fits the feed (an idle feed with a
heartbeat never times out, a dead one does), and returns an
:class:`HTTPChangesStream`: it reads the body exactly as it arrives (one HTTP
chunk at a time, no read-ahead that could hold an event back) and hands the
bytes to the pure parsers in :mod:`settee.feeds.parse`.

Errors: a non-2xx answer raises the transport's :mod:`settee.errors` class; a
connection that breaks after the body started, or a body that does not parse,
raises :class:`~settee.errors.FeedError` carrying the last good seq (a read that
timed out: :class:`~settee.http.transport.FeedReadTimeout`, also a
``requests.ConnectionError``, as ``requests`` raises for a streamed body). ``close()``
from any thread shuts the socket down so a blocked read returns at once, and
the iteration then ends quietly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from settee import errors
from settee.feeds.normal import IntegerOverflow, NormalFeedParser
from settee.feeds.stream import ContinuousFeedParser, dechunk
from settee.http.transport import (
    BODY_ERRORS,
    CLOSE_RACE_ERRORS,
    Response,
    Transport,
    read_timeout_error,
)
from settee.rows import Seq
from settee.urls import redact_url

__all__ = [
    "FeedRequest",
    "HTTPChangesStream",
    "encode_feed_params",
    "feed_read_timeout",
    "feed_request",
    "open_changes",
]

#: CouchDB's default ``changes_timeout``: a longpoll/continuous feed without
#: ``heartbeat`` or ``timeout`` is ended by the server after this long.
SERVER_DEFAULT_TIMEOUT = 60.0
#: CouchDB's heartbeat interval for ``heartbeat=true``.
DEFAULT_HEARTBEAT = 60.0
# Slack on top of what the server promises, for a loaded server or network.
_SLACK = 10.0


def _encode(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def encode_feed_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as CouchDB reads them: booleans ``true``/``false``,
    lists and dicts (``doc_ids``, array seqs) as JSON, ``None`` dropped."""
    return {k: _encode(v) for k, v in (params or {}).items() if v is not None}


def _seconds(value: Any) -> float | None:
    # heartbeat/timeout are milliseconds in CouchDB's API; True means the default.
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_HEARTBEAT
    try:
        return max(float(value) / 1000.0, 0.0)
    except (TypeError, ValueError):
        return None


def feed_read_timeout(params: Mapping[str, Any], default: float | None) -> float | None:
    """Seconds a read may wait for the next byte before the feed counts as dead.

    With a heartbeat the server sends a newline every interval, so twice the
    interval plus slack means the connection is gone; with a timeout the
    server ends the response by then. A normal feed streams at once and gets
    ``default``.
    """
    feed = params.get("feed", "normal")
    heartbeat = _seconds(params.get("heartbeat"))
    if heartbeat:
        return 2 * heartbeat + _SLACK
    timeout = _seconds(params.get("timeout"))
    if feed in ("longpoll", "continuous", "eventsource"):
        return (timeout if timeout is not None else SERVER_DEFAULT_TIMEOUT) + 3 * _SLACK
    return default


class HTTPChangesStream:
    """One streaming feed response; see the module docstring.

    Iterate once for rows (dicts, or ``str`` when opened with ``raw=True``).
    ``last_seq`` is the seq of the last row handed out, then the server's
    ``last_seq`` once the body ends; ``pending`` is set at the end.
    """

    tracks_row_seq = True

    def __init__(
        self,
        response: Response,
        feed: str,
        *,
        raw: bool = False,
        chunk_size: int = 65536,
        reopen: Callable[[Any, int], Response] | None = None,
    ) -> None:
        self._response = response
        self.raw = raw
        self._reopen = reopen
        self._raw = response.raw
        self._raw.decode_content = True
        self.feed = feed
        self.chunk_size = chunk_size
        self.url = redact_url(response.url or "")
        self._parser: NormalFeedParser | ContinuousFeedParser
        if feed == "continuous":
            self._parser = ContinuousFeedParser(self._chunks(), raw=raw)
        else:
            # A body that cannot be asked for again keeps its bytes (bounded)
            # for an exact re-read after an integer overflow.
            self._parser = NormalFeedParser(self._chunks(), raw=raw, resumable=reopen is not None)
        self._lock = threading.Lock()
        self._closed = False
        self._iterating = False
        self.bytes_read = 0

    def __repr__(self) -> str:
        return f"HTTPChangesStream({self.feed!r}, {self.url!r})"

    def surface_heartbeats(self) -> None:
        """Yield :data:`~settee.feeds.stream.HEARTBEAT` for each heartbeat (blank
        line) of the body instead of skipping it: a continuous body's, or those
        before a row of a longpoll body. Opt-in, called before iterating (a
        feed's ``heartbeats=True``); nothing is sent to the server."""
        self._parser.heartbeats = True

    @property
    def last_seq(self) -> Seq | None:
        seq: Seq | None = self._parser.last_seq
        return seq

    @property
    def pending(self) -> int | None:
        return self._parser.pending

    @property
    def closed(self) -> bool:
        return self._closed

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            if self._iterating:
                raise RuntimeError("a change stream can be iterated only once")
            self._iterating = True
        try:
            if self._closed:
                return
            while True:
                try:
                    # yield from: no per-row Python work in this layer.
                    yield from self._parser
                    return
                except IntegerOverflow as overflow:
                    if self._reopen is None or self._closed:
                        raise
                    self._read_again_exactly(overflow)
        except errors.FeedError:
            if self._closed:
                return  # close() cut the read short: not an error
            raise
        finally:
            self._release()

    def _read_again_exactly(self, overflow: IntegerOverflow) -> None:
        # A normal body with an integer beyond 64 bits, past the bytes the
        # parser keeps: ask again from the last real seq handed out and read
        # the rest with the stdlib scanner, skipping the rows already handed
        # out after that seq (seq_interval rows carry "seq": null).
        assert self._reopen is not None
        last_seq = overflow.last_seq
        self._release()
        response = self._reopen(last_seq, overflow.handed_out - len(overflow.skip))
        with self._lock:
            self._response = response
            self._raw = response.raw
            self._raw.decode_content = True
            parser = NormalFeedParser(self._chunks(), raw=self.raw, exact=True, skip=overflow.skip)
            parser.last_seq = last_seq
            self._parser = parser
        if self._closed:
            self._shutdown_socket()

    def _chunks(self) -> Iterator[bytes]:
        raw = self._raw
        size = self.chunk_size
        sockfile = _socket_file(raw)
        try:
            if sockfile is not None:
                # Read whatever the socket has (up to `size`) and undo the chunk
                # framing here: one parser step per read, however many small
                # chunks it holds, and nothing waits for more than is there.
                for data in dechunk(self._socket_blocks(sockfile, size)):
                    self.bytes_read += len(data)
                    yield data
                    if self._closed:
                        return
            elif raw.chunked and raw.supports_chunked_reads():
                # Compressed or unusual bodies: urllib3 decodes, one HTTP chunk
                # (or up to `size` of it) per step, as it arrives.
                for data in raw.read_chunked(size, decode_content=True):
                    self.bytes_read += len(data)
                    yield data
                    if self._closed:
                        return
            else:
                while not self._closed:
                    data = raw.read1(size)
                    if not data:
                        break
                    self.bytes_read += len(data)
                    yield data
        except errors.FeedError:
            if self._closed:
                return
            raise
        except CLOSE_RACE_ERRORS as exc:  # urllib3 ProtocolError/ReadTimeoutError, OSError...
            if self._closed:
                return
            if not isinstance(exc, BODY_ERRORS):
                raise  # not the connection's fault
            # A read timeout is also requests' ConnectionError, with requests' text.
            timed_out = read_timeout_error(
                exc, self.url, f"the feed sent nothing more after {self.bytes_read} bytes"
            )
            if timed_out is not None:
                raise timed_out from exc
            raise errors.FeedError(
                f"the connection broke after {self.bytes_read} bytes of the body "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    def _socket_blocks(self, sockfile: Any, size: int) -> Iterator[bytes]:
        read1 = sockfile.read1
        while not self._closed:
            data = read1(size)
            if not data:
                return
            yield data

    def _release(self) -> None:
        # Closing a broken connection may fail; it is gone either way.
        with contextlib.suppress(Exception):
            self._response.close()

    def close(self) -> None:
        """End the stream: a blocked read in another thread returns promptly. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._shutdown_socket()
        # Safe while another thread is blocked reading: after the shutdown its
        # recv() returns at once, and whatever it then raises ends quietly.
        self._release()

    def _shutdown_socket(self) -> None:
        # SHUT_RDWR makes a recv() blocked in another thread return at once;
        # closing the file objects alone would not wake it.
        raw = self._raw
        try:
            shutdown = getattr(raw, "shutdown", None)
            if shutdown is not None and getattr(raw, "_sock_shutdown", None) is not None:
                shutdown()
                return
        except (OSError, RuntimeError, ValueError):
            pass
        connection = getattr(raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is None:
            fp = getattr(getattr(raw, "_fp", None), "fp", None)
            sock = getattr(getattr(fp, "raw", None), "_sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _socket_file(raw: Any) -> Any:
    """The buffered socket file under a chunked, uncompressed response, or None.

    The fast path reads it directly; anything unusual (compression, a chunk
    already half read, a body that is not http.client's) goes through urllib3.
    """
    inner = getattr(raw, "_fp", None)
    if not isinstance(inner, http.client.HTTPResponse) or not raw.chunked:
        return None
    if inner.chunk_left is not None or getattr(raw, "_decoder", None) is not None:
        return None
    if raw.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
        return None
    sockfile = inner.fp
    return sockfile if sockfile is not None and hasattr(sockfile, "read1") else None


@dataclasses.dataclass(frozen=True)
class FeedRequest:
    """The request of a feed, worked out once for both shells (sync and settee.aio).

    ``options`` are the feed's query options as Python values (encode them
    with :func:`encode_feed_params`); ``can_resume``: a normal body may be
    asked for again from a seq (ascending order only).
    """

    method: str
    path: tuple[str, ...]
    options: dict[str, Any]
    json_body: dict[str, Any] | None
    headers: dict[str, str] | None
    timeout: tuple[float, float | None]
    feed: str
    can_resume: bool

    def query(self, last_seq: Any = None, handed_out: int = 0) -> dict[str, Any]:
        """The options to ask again from ``last_seq`` (``handed_out`` rows up to it left out)."""
        query = dict(self.options)
        if last_seq is not None:
            query["since"] = last_seq
        elif query.get("since") == "now":
            # "now" asked again would be a later "now": the rows of this body
            # would be skipped. (The parser keeps a body's first bytes for this
            # case; only a body longer than that without a real seq gets here.)
            raise errors.FeedError(
                "an integer beyond 64 bits came before any row with a real seq in a body "
                "requested with since='now', too far into it to read it again; "
                "ask with a concrete since"
            )
        if isinstance(query.get("limit"), int):
            query["limit"] = max(int(query["limit"]) - handed_out, 0)
        return query


def feed_request(
    timeout: tuple[float, float | None] | None,
    feed_timeout: tuple[float, float | None] | None,
    path_segments: tuple[str, ...],
    params: Mapping[str, Any] | None,
    body: Mapping[str, Any] | None = None,
) -> FeedRequest:
    """The feed request for a transport with these timeouts (see :func:`open_changes`)."""
    # The options were checked once, by settee.feeds.options, before the backend.
    options = dict(params or {})
    feed = str(options.get("feed") or "normal")
    method = "GET"
    if body is not None:
        method = "POST"
        if "doc_ids" in body:
            options.setdefault("filter", "_doc_ids")
        elif "selector" in body:
            options.setdefault("filter", "_selector")
    connect, default_read = feed_timeout or (None, None)
    if default_read is None and timeout is not None and feed == "normal":
        default_read = timeout[1]
    read = feed_read_timeout(options, default_read)
    if feed_timeout is not None and feed_timeout[1] is not None:
        read = feed_timeout[1]  # configured explicitly: it wins
    # A compressing server (Express, proxies) buffers its gzip stream until it
    # fills, holding events and heartbeats back: ask for the bytes as they are.
    headers = {"Accept-Encoding": "identity"} if feed != "normal" else None
    # since= means "after" only in ascending order, so only then can we resume.
    can_resume = feed != "continuous" and options.get("descending") not in (True, "true")
    return FeedRequest(
        method,
        path_segments,
        options,
        dict(body) if body is not None else None,
        headers,
        (connect or 10.0, read),
        feed,
        can_resume,
    )


def open_changes(
    transport: Transport,
    path_segments: tuple[str, ...],
    params: Mapping[str, Any] | None,
    *,
    body: Mapping[str, Any] | None = None,
    raw: bool = False,
    chunk_size: int = 65536,
) -> HTTPChangesStream:
    """Send the feed request and return the open stream.

    ``path_segments`` is e.g. ``(db, "_changes")`` or ``("_db_updates",)``.
    ``body`` (``doc_ids`` / ``selector``) makes it a POST with
    ``filter=_doc_ids`` / ``_selector``. Raises the transport's errors for a
    refused request or a non-2xx answer.
    """
    plan = feed_request(transport.timeout, transport.feed_timeout, path_segments, params, body)

    def send(query: Mapping[str, Any]) -> Response:
        return transport.request(
            plan.method,
            plan.path,
            params=encode_feed_params(query),
            json_body=plan.json_body,
            headers=plan.headers,
            stream=True,
            timeout=plan.timeout,
        )

    def reopen(last_seq: Any, handed_out: int) -> Response:
        return send(plan.query(last_seq, handed_out))

    response = send(plan.options)
    try:
        return HTTPChangesStream(
            response,
            plan.feed,
            raw=raw,
            chunk_size=chunk_size,
            reopen=reopen if plan.can_resume else None,
        )
    except Exception:
        response.close()
        raise
