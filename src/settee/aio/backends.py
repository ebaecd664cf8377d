"""Async backends: the same primitives as :class:`~settee.backends.base.Backend`, awaited.

* :class:`AsyncHTTPBackend` drives the HTTP backend's sans-I/O operations
  (:class:`~settee.backends.http.ops.HTTPOps`, the very code the sync
  ``HTTPBackend`` runs) with :class:`~settee.http.async_transport.AsyncTransport`.
* :class:`ThreadedBackend` runs an embedded store (``memory:``, ``sqlite:``)
  in worker threads (``asyncio.to_thread``), so it never blocks the loop.

Both answer ``await backend.call(name, *args, **kwargs)`` for a primitive of
the protocol, ``await backend.capabilities()``, and open change feeds as
:mod:`settee.aio.streams` async streams.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from settee import errors
from settee.aio.streams import AsyncChangesStream, AsyncHTTPChangesStream, ThreadedChangesStream
from settee.backends import open_backend
from settee.backends.base import Backend
from settee.backends.http.changes import feed_request
from settee.backends.http.ops import Call, HTTPOps, Op, OpRun
from settee.http.async_transport import AsyncResponse, AsyncTransport
from settee.http.options import TransportOptions

__all__ = ["AsyncBackend", "AsyncHTTPBackend", "ThreadedBackend", "open_async_backend", "run_async"]

_T = TypeVar("_T")


class AsyncBackend(Protocol):
    """What settee.aio's objects talk to (see the module docstring)."""

    kind: str
    url: str

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run the :class:`~settee.backends.base.Backend` primitive ``name``."""
        ...

    async def capabilities(self) -> frozenset[str]: ...

    def known_capabilities(self) -> frozenset[str] | None:
        """The capabilities if known without I/O (after the first request), else None."""
        ...

    async def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> AsyncChangesStream: ...

    async def db_updates(
        self, params: Mapping[str, Any] | None, *, raw: bool = False
    ) -> AsyncChangesStream: ...

    def attachment_chunks(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


async def _send(transport: AsyncTransport, call: Call) -> AsyncResponse | errors.SetteeError:
    try:
        return await transport.request(call.method, call.path, **call.transport_kwargs)
    except errors.SetteeError as exc:
        return exc


async def run_async(transport: AsyncTransport, op: Op[_T]) -> _T:
    """Drive ``op`` with the async transport (the twin of ``backends.http.run_sync``)."""
    with OpRun(op, transport.decode) as run:
        while run.call is not None:
            run.step(await _send(transport, run.call))
        return run.result


class AsyncHTTPBackend:
    """CouchDB, Cloudant or PouchDB Server over aiohttp; built by :func:`open_async_backend`."""

    kind = "http"

    def __init__(self, transport: AsyncTransport) -> None:
        self.transport = transport
        self.ops = HTTPOps(transport.base_url)
        self.url = self.ops.url

    def __repr__(self) -> str:
        return f"AsyncHTTPBackend({self.url!r})"

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run the primitive ``name`` (an :class:`HTTPOps` operation)."""
        op: Op[Any] = getattr(self.ops, name)(*args, **kwargs)
        return await run_async(self.transport, op)

    async def capabilities(self) -> frozenset[str]:
        """The server's capabilities (``GET /`` once, then cached)."""
        return await run_async(self.transport, self.ops.server_capabilities())

    def known_capabilities(self) -> frozenset[str] | None:
        """The capabilities once the first request has learnt them, else None."""
        return self.ops.known_capabilities

    async def _open(
        self,
        path: tuple[str, ...],
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        raw: bool,
    ) -> AsyncChangesStream:
        t = self.transport
        plan = feed_request(t.timeout, t.feed_timeout, path, params, body)
        return await AsyncHTTPChangesStream.open(t, plan, raw=raw)

    async def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> AsyncChangesStream:
        """Open ``/db/_changes`` (the same checks as the sync backend first)."""
        await run_async(self.transport, self.ops.check_feed_filter(db, params))
        return await self._open((db, "_changes"), params, body, raw)

    async def db_updates(
        self, params: Mapping[str, Any] | None, *, raw: bool = False
    ) -> AsyncChangesStream:
        """Open ``/_db_updates`` (``NotSupported`` where the server has none)."""
        await run_async(self.transport, self.ops._require("db_updates", "the _db_updates feed"))
        return await self._open(("_db_updates",), params, None, raw)

    async def attachment_chunks(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> AsyncIterator[bytes]:
        """The attachment's bytes as they arrive (never the whole body in memory)."""
        call = self.ops.attachment_call(db, docid, name, rev=rev)
        response = await self.transport.request(
            call.method, call.path, stream=True, **call.transport_kwargs
        )
        try:
            async for block in self.transport.body_chunks(response):
                yield block
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections. Idempotent."""
        await self.transport.aclose()


class ThreadedBackend:
    """An embedded store (any sync :class:`Backend`) run in worker threads."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.kind = backend.kind
        self.url = backend.url

    def __repr__(self) -> str:
        return f"ThreadedBackend({self.backend!r})"

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run the primitive ``name`` in a worker thread."""
        method = getattr(self.backend, name)
        return await asyncio.to_thread(functools.partial(method, *args, **kwargs))

    async def capabilities(self) -> frozenset[str]:
        return await asyncio.to_thread(lambda: self.backend.capabilities)

    def known_capabilities(self) -> frozenset[str] | None:
        """An embedded store's capabilities (a constant)."""
        return self.backend.capabilities if self.backend.kind != "http" else None

    async def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> AsyncChangesStream:
        stream = await self.call("changes", db, params, body=body, raw=raw)
        return ThreadedChangesStream(stream, params)

    async def db_updates(
        self, params: Mapping[str, Any] | None, *, raw: bool = False
    ) -> AsyncChangesStream:
        stream = await self.call("db_updates", params, raw=raw)
        return ThreadedChangesStream(stream, params)

    async def attachment_chunks(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> AsyncIterator[bytes]:
        """The attachment's bytes (an embedded store holds them whole anyway)."""
        data, _ = await self.call("get_attachment", db, docid, name, rev=rev)
        yield data

    async def aclose(self) -> None:
        await asyncio.to_thread(self.backend.close)


async def open_async_backend(url: str, **options: Any) -> AsyncHTTPBackend | ThreadedBackend:
    """The async backend for ``url``: aiohttp for ``http(s)://``, a worker thread otherwise.

    Options as :func:`settee.backends.open_backend`; built off the loop.
    """
    if not isinstance(url, str) or not url:
        raise TypeError(f"url must be a non-empty str, not {url!r}")
    if urlsplit(url).scheme.lower() in ("http", "https"):
        auth = options.pop("auth", None)
        transport_options = TransportOptions.checked("the http backend", options)
        transport = await AsyncTransport.open(url, auth=auth, options=transport_options)
        return AsyncHTTPBackend(transport)
    backend = await asyncio.to_thread(functools.partial(open_backend, url, **options))
    return ThreadedBackend(backend)


class LoopBridge:
    """A sync :class:`Backend` facade over an async backend, for the sync core run in a worker
    thread: each primitive is awaited on ``loop`` (so HTTP goes through aiohttp) and its
    answer handed back. Calling it from the loop's own thread raises ``RuntimeError``."""

    def __init__(self, backend: AsyncBackend, loop: asyncio.AbstractEventLoop) -> None:
        self._backend = backend
        self._loop = loop
        self.kind = backend.kind
        self.url = backend.url

    def __repr__(self) -> str:
        return f"LoopBridge({self._backend!r})"

    def _wait(self, coroutine: Any) -> Any:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            coroutine.close()
            raise RuntimeError("the sync core must run in a worker thread, not on the event loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    @property
    def capabilities(self) -> frozenset[str]:
        known = self._backend.known_capabilities()  # callable on the loop too
        if known is not None:
            return known
        caps: frozenset[str] = self._wait(self._backend.capabilities())
        return caps

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def primitive(*args: Any, **kwargs: Any) -> Any:
            return self._wait(self._backend.call(name, *args, **kwargs))

        return primitive
