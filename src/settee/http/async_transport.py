"""The async HTTP transport: :class:`AsyncTransport`, the only module that touches ``aiohttp``.

The asyncio twin of :class:`~settee.http.transport.Transport`, a thin shell
over the same sans-I/O pieces: URLs, bodies, the JSON codec and the error
table come from :mod:`settee.http.core`; the auth strategies' I/O-free
``auth_flow`` generators are driven the same way; the retry decisions are
:meth:`RetryPolicy.next_attempt <settee.http.retry.RetryPolicy.next_attempt>`
(the same counters, status list, ``Retry-After`` cap and replay rules as the
urllib3 adapter the sync transport mounts), waited out with ``asyncio.sleep``.
A write whose earlier attempt may have applied is never replayed.

Interface (``await`` every verb)::

    transport = AsyncTransport("http://127.0.0.1:5984", auth=("admin", "pw"))
    info = await transport.json("GET", ())                 # decoded JSON
    response = await transport.request("GET", ("db", "_changes"), stream=True,
                                       params={"feed": "continuous"})
    async for block in response.aiter_bytes(): ...         # streamed body
    await response.aclose()
    await transport.aclose()                               # or: async with AsyncTransport(...)

``request`` returns an :class:`AsyncResponse` (read unless ``stream=True``); a
non-2xx answer raises its :mod:`settee.errors` class (``replayed`` set as on
the sync side), a connection failure or timeout ``TransportError``. Needs the
``async`` extra (``pip install settee[async]``).

Why aiohttp: ``benchmarks/aio.py`` measured 1,000 concurrent GETs over 100
pooled connections at 0.13x httpx's time (0.75 s against 5.8 s; httpcore's
pool walks every connection for each waiting request), with the same
streaming, chunked bodies and per-phase timeouts settee needs.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import requests.utils
import yarl

from settee import errors
from settee.auth.protocol import Request
from settee.http.core import TransportCore, decode_body, error_for_answer
from settee.http.options import TimeoutArg, TransportOptions
from settee.http.retry import NOTHING_SENT, SENT, RetryPolicy, earlier_attempt_may_have_applied
from settee.urls import redact_text, redact_url

__all__ = ["AsyncResponse", "AsyncTransport"]

#: Connections one AsyncTransport opens at most (pool_maxsize raises it).
_CONNECTIONS = 100

# What a request that failed raises (aiohttp's timeouts are asyncio.TimeoutError too).
_FAILED = (aiohttp.ClientError, asyncio.TimeoutError)
# Failures before the request went out: replaying cannot apply anything twice.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


@dataclass(frozen=True)
class RequestLine:
    """The method and URL an :class:`AsyncResponse` answers."""

    method: str
    url: str


class AsyncResponse:
    """One answer: ``status_code``, ``headers`` (case-insensitive), the body read or streamed.

    ``content`` is the body once read (:meth:`aread`, or any request sent without
    ``stream=True``); :meth:`aiter_bytes` streams it; :meth:`aclose` gives the
    connection back to the pool when the body was read whole, and closes it
    otherwise (a feed cut short never leaves a half-read connection pooled).
    """

    def __init__(self, raw: aiohttp.ClientResponse, request: RequestLine) -> None:
        self._raw = raw
        self.status_code: int = raw.status
        self.headers: Mapping[str, str] = raw.headers
        self.request = request
        self._content: bytes | None = None
        self._read_whole = False

    @property
    def url(self) -> str:
        """The URL this answers."""
        return self.request.url

    def __repr__(self) -> str:
        return f"<AsyncResponse [{self.status_code}] {self.request.method} {self.request.url}>"

    @property
    def content(self) -> bytes:
        """The body (``RuntimeError`` for a streamed body not read yet)."""
        if self._content is None:
            raise RuntimeError("the body of a streamed response is read with aread() first")
        return self._content

    def json(self) -> Any:
        """The body decoded as JSON (``ValueError`` if it is not JSON)."""
        return json.loads(self.content)

    async def aread(self) -> bytes:
        """Read the whole body (once) and return it."""
        if self._content is None:
            self._content = await self._raw.read()
            self._read_whole = True
        return self._content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (decoded if the server compressed them)."""
        if self._content is not None:
            yield self._content
            return
        stream = self._raw.content
        try:
            async for block in stream.iter_any():
                yield block
        except aiohttp.ClientPayloadError:
            # The connection broke: aiohttp raises before handing out the bytes that
            # arrived with the break (same loop step). They are the server's, and a
            # feed's rows in them are whole: hand them out first, then the error.
            left = _unread(stream)
            if left:
                yield left
            raise
        self._read_whole = True

    async def aclose(self) -> None:
        """Release the connection (closed unless the body was read whole). Idempotent."""
        if self._read_whole:
            self._raw.release()
        else:
            self._raw.close()


async def _notice_closed_connections() -> None:
    """Let the loop read the FINs already queued on idle pooled sockets.

    A server closes idle keep-alive connections (Node's after 5 s); aiohttp learns
    of it only when the loop reads the socket, and a request it sends meanwhile on
    such a connection fails after it was written - for a request that may not be
    replayed (a POST), a lost write. urllib3 (the sync side) checks a pooled socket
    before it reuses it; here the loop runs the reads first (a read event, then the
    ``connection_lost`` it schedules), so the connector picks a live connection.
    """
    for _ in range(3):
        await asyncio.sleep(0)


def _unread(stream: aiohttp.StreamReader) -> bytes:
    """What ``stream`` received and nobody read yet (its buffer; aiohttp has no public read
    for it once the stream holds an exception). ``tests/aio`` cut a feed mid-body to check it.
    """
    buffered = list(getattr(stream, "_buffer", ()))
    if not buffered:
        return b""
    offset = getattr(stream, "_buffer_offset", 0)
    buffered[0] = buffered[0][offset:]
    stream._buffer.clear()
    return b"".join(buffered)


@functools.cache
def _default_context() -> ssl.SSLContext:
    # The CA bundle requests verifies with (certifi's), loaded once per process, and
    # off the loop when the transport is built by AsyncTransport.open().
    return ssl.create_default_context(cafile=requests.utils.DEFAULT_CA_BUNDLE_PATH)


def _verify(verify: bool | str) -> ssl.SSLContext | bool:
    if verify is True:
        return _default_context()
    if verify is False:
        return False
    path = Path(verify)
    if path.is_dir():
        return ssl.create_default_context(capath=str(path))
    return ssl.create_default_context(cafile=str(path))


def _timeout(value: tuple[float, float | None] | None) -> aiohttp.ClientTimeout:
    if value is None:
        return aiohttp.ClientTimeout(total=None)
    connect, read = value
    # No bound on the wait for a pooled connection (thousands of concurrent requests
    # share _CONNECTIONS sockets); the connect and read timeouts bound the request.
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


class AsyncTransport(TransportCore):
    """A configured ``aiohttp.ClientSession`` against one server root.

    Same constructor as :class:`~settee.http.transport.Transport`: ``url`` may
    carry ``user:password@`` (they become ``BasicAuth`` and leave the stored
    URL); ``options`` a :class:`TransportOptions`, or its fields as keywords.
    ``adapter`` (a requests adapter) has no meaning here and is refused. The
    session itself is opened on the loop, at the first request.
    """

    def _open(self, options: TransportOptions) -> None:
        if options.adapter is not None:
            raise TypeError("adapter= is a requests HTTPAdapter: the async transport has none")
        self._ssl = _verify(options.verify)
        self._connections = max(_CONNECTIONS, options.pool_maxsize)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self.last_response: AsyncResponse | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise errors.TransportError(
                f"the transport for {redact_url(self.base_url)} is closed",
                url=redact_url(self.base_url),
            )
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # Many tasks share one session: up to _connections sockets, kept alive
                # (a burst of concurrent reads reuses them instead of reconnecting).
                # keepalive below Node's 5 s idle close (PouchDB Server): a pooled
                # connection is dropped here before the server drops it.
                connector=aiohttp.TCPConnector(
                    limit=self._connections, ssl=self._ssl, keepalive_timeout=4.0
                ),
                headers=self.headers,
                # Auth state lives in the strategy, never in a hidden cookie jar.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,  # no proxy from the environment for a database URL
                auto_decompress=True,
            )
            # aiohttp 3.10+ re-sends a PUT/DELETE ("idempotent") once by itself when the
            # connection drops before the answer: an attempt settee's retry policy never
            # sees (max_retries=0 sent twice; a replay's 409 was not marked replayed).
            # Every attempt is the policy's: it replays by settee's rules, and counts it.
            self._session._retry_connection = False
        return self._session

    @classmethod
    async def open(
        cls, url: str, *, auth: Any = None, options: TransportOptions | None = None
    ) -> AsyncTransport:
        """Build the transport in a worker thread (TLS set-up reads files: not on the loop)."""
        return await asyncio.to_thread(functools.partial(cls, url, auth=auth, options=options))

    async def request(
        self,
        method: str,
        path: str | tuple[str, ...] | list[str],
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: TimeoutArg | str = "default",
        not_found: type[errors.NotFound] = errors.NotFound,
        raise_for_status: bool = True,
    ) -> AsyncResponse:
        """Send one request through the auth flow and the retry policy; return the response.

        Arguments as :meth:`Transport.request <settee.http.transport.Transport.request>`.
        With ``stream=True`` a 2xx body is left unread (``aiter_bytes()``, then ``aclose()``).
        """
        request = self.start(method, path, params, json_body, data, headers)
        response, retries = await self._run_flow(request, stream, self.use_timeout(timeout))
        self.last_response = response
        if raise_for_status and not 200 <= response.status_code < 300:
            await response.aread()
            await response.aclose()
            error = self.error_from(response, not_found=not_found)
            error.replayed = earlier_attempt_may_have_applied(retries)
            raise error
        return response

    async def json(
        self, method: str, path: str | tuple[str, ...] | list[str], **kwargs: Any
    ) -> Any:
        """:meth:`request` and decode the JSON answer (``TransportError`` if it is not JSON)."""
        response = await self.request(method, path, **kwargs)
        return self.decode(response)

    def decode(self, response: AsyncResponse) -> Any:
        """The JSON body of a read ``response``; ``TransportError`` if it is not valid JSON."""
        return decode_body(
            response.content,
            status=response.status_code,
            content_type=response.headers.get("Content-Type"),
            method=response.request.method,
            url=str(response.request.url),
        )

    def error_from(
        self, response: AsyncResponse, *, not_found: type[errors.NotFound] = errors.NotFound
    ) -> errors.CouchError:
        """The :mod:`settee.errors` exception for a read non-2xx ``response``."""
        return error_for_answer(
            response.status_code,
            response.content,
            method=response.request.method,
            url=str(response.request.url),
            not_found=not_found,
        )

    async def _run_flow(
        self, request: Request, stream: bool, timeout: tuple[float, float | None] | None
    ) -> tuple[AsyncResponse, RetryPolicy]:
        flow = self.auth.auth_flow(request)
        try:
            to_send = next(flow)
            while True:
                response, retries = await self._send(to_send, stream, timeout)
                if stream and (to_send.url != request.url or response.status_code >= 300):
                    # A strategy may read a login answer or an error body (small).
                    await response.aread()
                try:
                    to_send = flow.send(response)
                except StopIteration:
                    return response, retries
                await response.aclose()
        finally:
            flow.close()

    async def _send(
        self, request: Request, stream: bool, timeout: tuple[float, float | None] | None
    ) -> tuple[AsyncResponse, RetryPolicy]:
        """One request with the retry policy's replays; the final response and the policy.

        Requests beyond the pool's connections wait in aiohttp's connector queue.
        """
        shown = redact_url(request.url)
        retry = self.retry
        session = self._client()
        phases = _timeout(timeout)
        while True:
            if not retry.replayable(request.method, request.url):
                await _notice_closed_connections()
            started = time.monotonic()
            try:
                raw = await session.request(
                    request.method,
                    # Already encoded by settee.http.core: sent exactly as built ("a%2Fb"
                    # stays one path segment).
                    yarl.URL(request.url, encoded=True),
                    headers=request.headers,
                    data=request.body,
                    timeout=phases,
                    allow_redirects=False,
                )
            except _FAILED as exc:
                failure = NOTHING_SENT if isinstance(exc, _NOT_SENT) else SENT
                decision = retry.next_attempt(request.method, request.url, failure=failure)
                self.logger.debug("%s %s -> %s", request.method, shown, type(exc).__name__)
                if decision is None:
                    raise _transport_error(request.method, shown, exc, None) from exc
                retry, delay = decision
                await asyncio.sleep(delay)
                continue
            response = AsyncResponse(raw, RequestLine(request.method, request.url))
            self.log_answer(request.method, shown, response.status_code, started)
            decision = retry.next_attempt(
                request.method, request.url, status=response.status_code, headers=response.headers
            )
            if decision is None:
                if not stream:
                    try:
                        await response.aread()
                    except _FAILED as exc:
                        await response.aclose()
                        raise _transport_error(
                            request.method, shown, exc, "the body broke off"
                        ) from exc
                return response, retry
            await response.aclose()
            retry, delay = decision
            await asyncio.sleep(delay)

    async def body_chunks(self, response: AsyncResponse) -> AsyncIterator[bytes]:
        """The (decoded) body of a streamed ``response`` as it arrives, one read at a time.

        A connection that breaks or times out mid-body raises ``TransportError``.
        """
        try:
            async for block in response.aiter_bytes():
                yield block
        except _FAILED as exc:
            shown = redact_url(response.request.url)
            raise _transport_error(
                response.request.method, shown, exc, "the body broke off"
            ) from exc

    async def aclose(self) -> None:
        """Close the pooled connections. Idempotent; the transport sends nothing after it."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _transport_error(
    method: str, shown: str, exc: BaseException, what: str | None
) -> errors.TransportError:
    """``TransportError`` for a failed request (``what``: the body broke off)."""
    kind = what or ("timed out" if isinstance(exc, asyncio.TimeoutError) else "failed")
    detail = redact_text(str(exc)) or "no detail"
    return errors.TransportError(
        f"{method} {shown}: {kind} ({type(exc).__name__}: {detail})", method=method, url=shown
    )
