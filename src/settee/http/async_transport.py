"""The async HTTP transport: :class:`AsyncTransport`, the only module that touches ``httpx``.

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

``request`` returns an :data:`AsyncResponse` (``httpx.Response``; read unless
``stream=True``); a non-2xx answer raises its :mod:`settee.errors` class
(``replayed`` set as on the sync side), a connection failure or timeout
``TransportError``. Needs the ``async`` extra (``pip install settee[async]``).
"""

from __future__ import annotations

import asyncio
import functools
import http.cookiejar
import logging
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import anyio  # noqa: F401  # httpcore imports it on the first request: here, not on the loop
import httpx

from settee import errors
from settee.auth.protocol import Auth, Request
from settee.http.core import (
    BASE_HEADERS,
    Endpoint,
    decode_body,
    dumps,
    error_for_answer,
    request_body,
    request_url,
    segments_url,
)
from settee.http.options import TimeoutArg, TransportOptions, check_timeout
from settee.http.retry import NOTHING_SENT, SENT, RetryPolicy, earlier_attempt_may_have_applied
from settee.urls import _redact_text, redact_url

__all__ = ["AsyncResponse", "AsyncTransport"]

_module_logger = logging.getLogger("settee")

#: What :meth:`AsyncTransport.request` returns; layers above name it from here.
AsyncResponse = httpx.Response

#: Connections one AsyncTransport opens at most (pool_maxsize raises it).
_CONNECTIONS = 100

# Failures before the request went out: replaying cannot apply anything twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    # Auth state lives in the strategy, never in a hidden cookie jar.
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


@functools.cache
def _default_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~0.1-0.2 s: once per process, and off the
    # loop when the transport is built by AsyncTransport.open().
    return httpx.create_ssl_context()


def _verify(verify: bool | str) -> bool | ssl.SSLContext:
    if verify is True:
        return _default_context()
    if verify is False:
        return False
    path = Path(verify)
    if path.is_dir():
        return ssl.create_default_context(capath=str(path))
    return ssl.create_default_context(cafile=str(path))


def _timeout(value: tuple[float, float | None] | None) -> httpx.Timeout:
    if value is None:
        return httpx.Timeout(None)
    connect, read = value
    # pool=None: a task queued behind others for a pooled connection waits its turn
    # (thousands of concurrent requests share _CONNECTIONS sockets); the connect
    # and read timeouts still bound the request itself.
    return httpx.Timeout(connect=connect, read=read, write=read, pool=None)


class AsyncTransport:
    """A configured ``httpx.AsyncClient`` against one server root.

    Same constructor as :class:`~settee.http.transport.Transport`: ``url`` may
    carry ``user:password@`` (they become ``BasicAuth`` and leave the stored
    URL); ``options`` a :class:`TransportOptions`, or its fields as keywords.
    ``adapter`` (a requests adapter) has no meaning here and is refused.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: Any = None,
        options: TransportOptions | None = None,
        **fields: object,
    ) -> None:
        endpoint = Endpoint("AsyncTransport", url, auth, options, fields)
        if endpoint.options.adapter is not None:
            raise TypeError("adapter= is a requests HTTPAdapter: the async transport has none")
        options = endpoint.options
        self.base_url = endpoint.base_url
        self.options = options
        self.logger = options.logger if options.logger is not None else _module_logger
        self.auth: Auth = endpoint.auth
        self.timeout = options.timeout
        self.feed_timeout = options.feed_timeout
        self.retry = RetryPolicy.from_options(options)
        headers = dict(BASE_HEADERS)
        headers.update(options.headers)
        self.client = httpx.AsyncClient(
            headers=headers,
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
            verify=_verify(options.verify),
            trust_env=False,  # no proxy from the environment for a database URL
            follow_redirects=False,
            # Many tasks share one client: up to _CONNECTIONS sockets, all kept alive
            # (a burst of concurrent reads reuses them instead of reconnecting).
            limits=httpx.Limits(
                max_connections=max(_CONNECTIONS, options.pool_maxsize),
                max_keepalive_connections=max(_CONNECTIONS, options.pool_maxsize),
            ),
        )
        self._slots = asyncio.Semaphore(max(_CONNECTIONS, options.pool_maxsize))
        self.last_response: httpx.Response | None = None

    @classmethod
    async def open(
        cls, url: str, *, auth: Any = None, options: TransportOptions | None = None
    ) -> AsyncTransport:
        """Build the transport in a worker thread (TLS set-up reads files: not on the loop)."""
        return await asyncio.to_thread(functools.partial(cls, url, auth=auth, options=options))

    def __repr__(self) -> str:
        return f"AsyncTransport({redact_url(self.base_url)!r}, auth={self.auth!r})"

    def url(self, *segments: str) -> str:
        """Absolute URL of ``segments`` under the base, each encoded as ONE segment."""
        return segments_url(self.base_url, *segments)

    #: Serialise a value as JSON; ``TypeError`` naming the culprit if it cannot be.
    dumps = staticmethod(dumps)

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
    ) -> httpx.Response:
        """Send one request through the auth flow and the retry policy; return the response.

        Arguments as :meth:`Transport.request <settee.http.transport.Transport.request>`.
        With ``stream=True`` a 2xx body is left unread (``aiter_bytes()``, then ``aclose()``).
        """
        url = request_url(self.base_url, path, params)
        body, send_headers = request_body(json_body, data, headers)
        use_timeout = self.timeout if timeout == "default" else check_timeout(timeout, "timeout")
        request = Request(method.upper(), url, send_headers, body, self.base_url)
        response, retries = await self._run_flow(request, stream, use_timeout)
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

    def decode(self, response: httpx.Response) -> Any:
        """The JSON body of a read ``response``; ``TransportError`` if it is not valid JSON."""
        return decode_body(
            response.content,
            status=response.status_code,
            content_type=response.headers.get("Content-Type"),
            method=response.request.method,
            url=str(response.request.url),
        )

    def error_from(
        self, response: httpx.Response, *, not_found: type[errors.NotFound] = errors.NotFound
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
    ) -> tuple[httpx.Response, RetryPolicy]:
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
    ) -> tuple[httpx.Response, RetryPolicy]:
        """One request with the retry policy's replays; the final response and the policy.

        At most as many requests with a body to read are in flight as there are pooled
        connections; the others wait here, not in httpcore's pool, whose bookkeeping
        grows with every waiting request. (A stream holds its connection for long: it
        does not take a slot.)
        """
        if stream:
            return await self._attempts(request, stream, timeout)
        async with self._slots:
            return await self._attempts(request, stream, timeout)

    async def _attempts(
        self, request: Request, stream: bool, timeout: tuple[float, float | None] | None
    ) -> tuple[httpx.Response, RetryPolicy]:
        shown = redact_url(request.url)
        retry = self.retry
        while True:
            built = self.client.build_request(
                request.method,
                httpx.URL(request.url),
                headers=request.headers,
                content=request.body,
                timeout=_timeout(timeout),
            )
            started = time.monotonic()
            try:
                response = await self.client.send(built, stream=True)
            except httpx.TransportError as exc:
                failure = NOTHING_SENT if isinstance(exc, _NOT_SENT) else SENT
                decision = retry.next_attempt(request.method, request.url, failure=failure)
                self.logger.debug("%s %s -> %s", request.method, shown, type(exc).__name__)
                if decision is None:
                    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                    raise errors.TransportError(
                        f"{request.method} {shown}: {kind} "
                        f"({type(exc).__name__}: {_redact_text(str(exc))})",
                        method=request.method,
                        url=shown,
                    ) from exc
                retry, delay = decision
                await asyncio.sleep(delay)
                continue
            self.logger.debug(
                "%s %s -> %s (%.1f ms)",
                request.method,
                shown,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            decision = retry.next_attempt(
                request.method, request.url, status=response.status_code, headers=response.headers
            )
            if decision is None:
                if not stream:
                    try:
                        await response.aread()
                    except httpx.TransportError as exc:
                        await response.aclose()
                        raise errors.TransportError(
                            f"{request.method} {shown}: the body broke off "
                            f"({type(exc).__name__}: {_redact_text(str(exc))})",
                            method=request.method,
                            url=shown,
                        ) from exc
                return response, retry
            await response.aclose()
            retry, delay = decision
            await asyncio.sleep(delay)

    async def body_chunks(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The (decoded) body of a streamed ``response`` as it arrives, one read at a time.

        A connection that breaks or times out mid-body raises ``TransportError``.
        """
        try:
            async for block in response.aiter_bytes():
                yield block
        except httpx.TransportError as exc:
            raise errors.TransportError(
                f"{response.request.method} {redact_url(str(response.request.url))}: the body "
                f"broke off ({type(exc).__name__}: {_redact_text(str(exc))})",
                method=response.request.method,
                url=redact_url(str(response.request.url)),
            ) from exc

    async def aclose(self) -> None:
        """Close the pooled connections. Idempotent."""
        await self.client.aclose()

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
