"""AsyncClient and ``settee.aio.connect``: the sync Client's names, awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

from settee import errors
from settee._doccache import BoundedCache
from settee._validate import check_int, validate_db_name
from settee.aio.backends import (
    AsyncBackend,
    AsyncHTTPBackend,
    LoopBridge,
    ThreadedBackend,
    open_async_backend,
)
from settee.aio.database import AsyncDatabase
from settee.aio.feeds import AsyncFeed, AsyncInfiniteFeed
from settee.auth.protocol import Auth
from settee.backends import ConnectOptions
from settee.backends.base import Backend
from settee.client import DEFAULT_CACHE_SIZE, Client
from settee.feeds.options import (
    DbUpdatesOptions,
    InfiniteDbUpdatesOptions,
    feed_spec,
)
from settee.rows import DbUpdateRow

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncClient", "connect"]

_T = TypeVar("_T")


class AsyncClient:
    """A dict-like view of a server's databases, awaited (built by :func:`connect`).

    ``await client.create_database(name)``, ``await client.get(name, remote=True)``,
    ``await client.all_dbs()``, ``async for update in client.db_updates()``;
    ``await client.aclose()`` (or ``async with``).
    """

    def __init__(
        self,
        backend: AsyncHTTPBackend | ThreadedBackend,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_ttl: float | None = None,
        cache_timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend: AsyncBackend = backend
        self.cache_size = check_int("cache_size", cache_size, 1)
        self.cache_ttl = cache_ttl
        self.cache_timer = cache_timer
        sync_backend: Backend
        if isinstance(backend, ThreadedBackend):
            sync_backend = backend.backend
        else:
            sync_backend = cast(Backend, LoopBridge(backend, asyncio.get_running_loop()))
        #: The sync core over the same backend (builds requests and result sets; its
        #: methods run in worker threads, never on the loop).
        self.sync_client = Client(backend=sync_backend, cache_size=cache_size)
        self._cache: BoundedCache[AsyncDatabase] = BoundedCache(cache_size, cache_ttl, cache_timer)

    @property
    def url(self) -> str:
        return self.backend.url

    def __repr__(self) -> str:
        return f"AsyncClient({self.url!r})"

    def evict(self, name: str) -> None:
        """Forget the cached handle of ``name``."""
        self._cache.pop(name, None)

    async def run_sync(self, method: Callable[[Client], _T]) -> _T:
        """Run ``method(sync_client)`` in a worker thread (its requests on the loop)."""
        client = self.sync_client
        return await asyncio.to_thread(method, client)

    # -- databases -------------------------------------------------------------------
    async def all_dbs(self) -> list[str]:
        """Every database name, sorted."""
        names: list[str] = await self.backend.call("all_dbs")
        return names

    async def create_database(
        self, dbname: str, partitioned: bool = False, throw_on_exists: bool = False, **params: Any
    ) -> AsyncDatabase:
        """Create a database and return its handle (an existing one's unless ``throw_on_exists``:
        then ``PreconditionFailed``)."""
        validate_db_name(dbname)
        if partitioned and "partitions" not in await self.backend.capabilities():
            raise errors.NotSupported(
                f"create_database(partitioned=True) needs partitioned databases, which the "
                f"{self.backend.kind} backend at {self.url} does not have"
            )
        try:
            await self.backend.call(
                "create_db", dbname, partitioned=bool(partitioned), params=params or None
            )
        except errors.PreconditionFailed:
            if throw_on_exists:
                raise
        db = AsyncDatabase(self, dbname)
        self._cache[dbname] = db
        return db

    async def delete_database(self, dbname: str) -> None:
        """Delete a database; ``NotFound`` if absent."""
        validate_db_name(dbname)
        try:
            await self.backend.call("delete_db", dbname)
        finally:
            self.evict(dbname)

    @overload
    async def get(
        self, name: str, default: None = None, remote: bool = False
    ) -> AsyncDatabase | None: ...
    @overload
    async def get(self, name: str, default: _T, remote: bool = False) -> AsyncDatabase | _T: ...
    async def get(self, name: str, default: object = None, remote: bool = False) -> object:
        """The cached handle or ``default``; ``remote=True`` asks the server (and caches it)."""
        if not remote:
            cached = self._cache.get(name)
            return default if cached is None else cached
        db = AsyncDatabase(self, name)
        try:
            await db.metadata()
        except errors.NotFound:
            self.evict(name)
            return default
        self._cache[name] = db
        return db

    def database(self, name: str) -> AsyncDatabase:
        """A handle for ``name`` without asking the server (the database may not exist)."""
        cached = self._cache.get(name)
        if cached is None:
            cached = self._cache[name] = AsyncDatabase(self, name)
        return cached

    async def keys(self, remote: bool = False) -> list[str]:
        """Cached names; ``remote=True``: every database on the server."""
        return await self.all_dbs() if remote else list(self._cache)

    async def metadata(self) -> dict[str, Any]:
        """``GET /``: the server's welcome (version, vendor...)."""
        info: dict[str, Any] = await self.backend.call("server_info")
        return info

    async def uuids(self, count: int = 1) -> list[str]:
        """``count`` fresh ids."""
        ids: list[str] = await self.backend.call("uuids", count)
        return ids

    # -- db_updates -----------------------------------------------------------------
    def _updates_opener(self, raw: bool) -> Any:
        backend = self.backend

        async def open_stream(params: dict[str, Any]) -> Any:
            return await backend.db_updates(params, raw=raw)

        return open_stream

    @overload
    def db_updates(
        self, *, raw_data: Literal[False] = ..., **options: Unpack[DbUpdatesOptions]
    ) -> AsyncFeed[DbUpdateRow]: ...
    @overload
    def db_updates(
        self, *, raw_data: Literal[True], **options: Unpack[DbUpdatesOptions]
    ) -> AsyncFeed[str]: ...
    def db_updates(
        self, *, raw_data: bool = False, **options: Unpack[DbUpdatesOptions]
    ) -> AsyncFeed[DbUpdateRow] | AsyncFeed[str]:
        """One ``_db_updates`` response (``NotSupported`` where the server has none)."""
        spec, _ = feed_spec("db_updates", options, raw_data)
        feed: AsyncFeed[Any] = AsyncFeed(self._updates_opener(spec.raw), spec.params, raw=spec.raw)
        return feed

    def infinite_db_updates(
        self, *, raw_data: bool = False, **options: Unpack[InfiniteDbUpdatesOptions]
    ) -> AsyncInfiniteFeed[DbUpdateRow] | AsyncInfiniteFeed[str]:
        """Follow ``_db_updates`` for ever."""
        spec, infinite = feed_spec("infinite_db_updates", options, raw_data)
        feed: AsyncInfiniteFeed[Any] = AsyncInfiniteFeed(
            self._updates_opener(spec.raw), spec.params, raw=spec.raw, **infinite
        )
        return feed

    # -- lifetime ---------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the connections (or the embedded store). Idempotent."""
        await self.backend.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _Connecting:
    """What :func:`connect` returns: ``await`` it, or ``async with`` it."""

    def __init__(self, url: str, options: dict[str, Any], client_options: dict[str, Any]) -> None:
        self._url = url
        self._options = options
        self._client_options = client_options
        self._client: AsyncClient | None = None

    async def _open(self) -> AsyncClient:
        backend = await open_async_backend(self._url, **self._options)
        return AsyncClient(backend, **self._client_options)

    def __await__(self) -> Generator[Any, None, AsyncClient]:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncClient:
        self._client = await self._open()
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()


def connect(
    url: str,
    auth: Auth | tuple[str, str] | None = None,
    *,
    cache_size: int = DEFAULT_CACHE_SIZE,
    cache_ttl: float | None = None,
    **options: Unpack[ConnectOptions],
) -> _Connecting:
    """``client = await settee.aio.connect(url)``, or ``async with settee.aio.connect(url)``.

    URLs and options as :func:`settee.connect`: ``http(s)://`` over aiohttp (the
    ``async`` extra), ``memory:`` and ``sqlite:///file.db`` in worker threads.
    """
    backend_options: dict[str, Any] = dict(options)
    if auth is not None:
        backend_options["auth"] = auth
    return _Connecting(url, backend_options, {"cache_size": cache_size, "cache_ttl": cache_ttl})
