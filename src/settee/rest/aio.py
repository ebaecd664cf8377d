"""The async REST client: ``AsyncClient`` → ``AsyncNS`` → ``AsyncCollection`` → ``AsyncResource``.

Connect's ``AsyncConnectClient`` shape, on settee's :class:`~settee.http.AsyncTransport`
(aiohttp; the ``async`` extra)::

    async with await AsyncClient.open(url, auth="ApiKey SU-...") as client:
        product = await client.products["PRD-000-001"].get()
        async for p in client("catalog").products.filter(status="published"):
            ...
        n = await client.products.filter(status="draft").count()

This module only sends and awaits. Navigation, request building, the spec
checks, the body cache, paging plans and answer parsing are the same code the
sync client runs (:mod:`settee.rest._base`, :class:`~settee.rest.ResourceSetBase`,
:class:`~settee.rest.crud.EndpointBase`).
"""

from __future__ import annotations

import asyncio
import builtins
import functools
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from typing import Any, TypeVar, overload

from settee import errors
from settee.http.async_transport import AsyncResponse, AsyncTransport
from settee.http.options import TimeoutArg, TransportOptions
from settee.http.transport import Headers
from settee.pages.paging import PlanRun
from settee.rest._base import (
    MISSING,
    ActionBase,
    ClientBase,
    CollectionBase,
    CollectionsAsAttributes,
    NodeBase,
    ResourceBase,
    check_kwargs,
    not_found_as_key_error,
    resource_url,
)
from settee.rest._http import RestRetryPolicy, decode_body, pick
from settee.rest.crud import EndpointBase, FileValue, HeadResult, PageItems
from settee.rest.resourceset import ResourceSetBase
from settee.rest.specs import Specs, cached_url_specs, parse_specs, remember_url_specs

__all__ = [
    "AsyncAction",
    "AsyncClient",
    "AsyncCollection",
    "AsyncEndpoint",
    "AsyncNS",
    "AsyncResource",
    "AsyncResourceSet",
]

_T = TypeVar("_T")


class AsyncClient(ClientBase, CollectionsAsAttributes["AsyncCollection"]):
    """The async twin of :class:`settee.rest.Client`: the same options and names, every
    verb awaited.

    Build it with ``await AsyncClient.open(...)`` inside a running loop: the
    TLS set-up reads the CA bundle, which is done in a worker thread there
    (and a spec URL is fetched). ``AsyncClient(...)`` outside a loop works
    too; a spec URL is then fetched by the first request (or
    ``await client.load_specs()``), and until then names are not checked
    against it.
    """

    transport: AsyncTransport

    def _open(self, endpoint: str, auth: Any, options: TransportOptions) -> str:
        self.transport = AsyncTransport(endpoint, auth=auth, options=options)
        # REST verbs follow HTTP's idempotency, not CouchDB's rev= rule.
        self.transport.retry = RestRetryPolicy.like(self.transport.retry)
        return self.transport.base_url

    @classmethod
    async def open(cls, endpoint: str, auth: Any = None, **options: Any) -> AsyncClient:
        """``AsyncClient(endpoint, auth, **options)`` built off the loop, its spec loaded."""
        client = await asyncio.to_thread(functools.partial(cls, endpoint, auth, **options))
        await client.load_specs()
        return client

    async def load_specs(self) -> Specs | None:
        """Fetch the spec at a ``specs_location`` URL now (once per process); return it."""
        if self.specs is None and self.specs_location is not None:
            url = self.specs_location
            found = cached_url_specs(url)
            if found is None:
                response = await self.transport.request("GET", url)
                found = await asyncio.to_thread(parse_specs, response.content, location=url)
                remember_url_specs(url, found)
            self.specs = found
        return self.specs

    # -- navigation ------------------------------------------------------------
    def collection(self, name: str) -> AsyncCollection:
        """The collection ``name`` at the top level (also ``client.name``)."""
        return AsyncCollection(self, self.collection_url(name))

    def ns(self, name: str) -> AsyncNS:
        """The namespace ``name`` (also ``client(name)``)."""
        return AsyncNS(self, self.ns_url(name))

    def crud(self, path: str) -> AsyncEndpoint:
        """Async CRUD verbs (:class:`AsyncEndpoint`) on ``path`` (relative or absolute)."""
        return AsyncEndpoint(self, self.url(path))

    def __call__(self, name: str) -> AsyncNS:
        return self.ns(name)

    # -- raw verbs ------------------------------------------------------------
    @property
    def response(self) -> AsyncResponse | None:
        """The last raw ``AsyncResponse`` (None before the first request)."""
        return self.transport.last_response

    @response.setter
    def response(self, value: AsyncResponse | None) -> None:
        self.transport.last_response = value

    async def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: TimeoutArg | str = "default",
        raise_status: bool = True,
        status_ignore: Iterable[int] = (),
    ) -> AsyncResponse:
        """Send one request; return the raw (read) response. Raises as
        :meth:`settee.rest.Client.send`."""
        if self.specs is None and self.specs_location is not None:
            await self.load_specs()
        target, operation = self.prepare(method, url, params, json_body, data)
        response = await self.transport.request(
            method,
            target,
            json_body=json_body,
            data=data,
            headers=headers,
            timeout=timeout,
            raise_for_status=False,
        )
        self.finish(
            response,
            operation,
            self.transport.error_from,
            raise_status=raise_status,
            status_ignore=status_ignore,
        )
        return response

    async def execute(self, method: str, url: str, payload: Any = None, **kwargs: Any) -> Any:
        """Send ``payload`` as JSON with ``method``; return the decoded answer (see
        :meth:`settee.rest.Client.execute`)."""
        check_kwargs(kwargs)
        return decode_body(await self.send(method, url, json_body=payload, **kwargs))

    async def get(self, url: str, **kwargs: Any) -> Any:
        """GET ``url``; return the decoded answer."""
        return await self.execute("GET", url, **kwargs)

    async def create(self, url: str, payload: Any = None, **kwargs: Any) -> Any:
        """POST ``payload`` to ``url``; return the decoded answer."""
        return await self.execute("POST", url, payload, **kwargs)

    async def update(self, url: str, payload: Any = None, **kwargs: Any) -> Any:
        """PUT ``payload`` to ``url``; return the decoded answer."""
        return await self.execute("PUT", url, payload, **kwargs)

    async def delete(self, url: str, payload: Any = None, **kwargs: Any) -> Any:
        """DELETE ``url`` (with an optional JSON ``payload``); return the decoded answer."""
        return await self.execute("DELETE", url, payload, **kwargs)

    async def aclose(self) -> None:
        """Close pooled connections. Idempotent."""
        await self.transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _AsyncNode(NodeBase):
    _client: AsyncClient

    @property
    def client(self) -> AsyncClient:
        """The :class:`AsyncClient` this handle belongs to."""
        return self._client

    @property
    def crud(self) -> AsyncEndpoint:
        """Async CloudCIX/CRUDs verbs on this URL."""
        return AsyncEndpoint(self._client, self._url)


class AsyncNS(_AsyncNode, CollectionsAsAttributes["AsyncCollection"]):
    """A namespace: a group of collections (and nested namespaces)."""

    def collection(self, name: str) -> AsyncCollection:
        """The collection ``name`` in this namespace (also ``ns.name``)."""
        return AsyncCollection(self._client, self.below(name, "collection"))

    def ns(self, name: str) -> AsyncNS:
        """The namespace ``name`` nested in this one (also ``ns(name)``)."""
        return AsyncNS(self._client, self.below(name, "namespace"))

    def __call__(self, name: str) -> AsyncNS:
        return self.ns(name)


class AsyncCollection(_AsyncNode, CollectionBase):
    """A collection: fluent handles as on the sync side, verbs awaited.

    The mapping view, async: ``await c.get(id, default, remote=False)``,
    ``await c.contains(id)``, ``keys()`` (the cached ids), ``async for body
    in c`` (paged), ``await c.count()``, ``await c.put(id, body)`` (update or
    create), ``c.forget(id)`` and ``await c[id].delete()``.
    """

    def all(self) -> AsyncResourceSet:
        """A lazy :class:`AsyncResourceSet` over every resource."""
        return AsyncResourceSet(self._client, self._url)

    def filter(self, *queries: Any, **lookups: Any) -> AsyncResourceSet:
        """An :class:`AsyncResourceSet` filtered by RQL ``queries`` and ``lookups``."""
        return self.all().filter(*queries, **lookups)

    def resource(self, resource_id: str | int) -> AsyncResource:
        """The resource ``resource_id`` (also ``collection[resource_id]``); nothing is fetched."""
        return AsyncResource(self._client, self.resource_url(resource_id))

    def __getitem__(self, resource_id: str | int) -> AsyncResource:
        return self.resource(resource_id)

    def action(self, name: str) -> AsyncAction:
        """The action ``name`` on this collection (also ``collection(name)``)."""
        return AsyncAction(self._client, self.below(name, "action"))

    def __call__(self, name: str) -> AsyncAction:
        return self.action(name)

    async def create(self, payload: Any = None, **kwargs: Any) -> Any:
        """POST a new resource; return (and cache) the created resource."""
        self.check_create(payload)
        created = await self._client.execute("POST", self._url, payload, **kwargs)
        self.remember(created)
        return created

    async def bulk_create(self, payload: list[Any] | tuple[Any, ...], **kwargs: Any) -> Any:
        """POST a list of resources in one call; return the server's answer (the list)."""
        return await self._client.execute("POST", self._url, self.check_bulk(payload), **kwargs)

    async def bulk_update(self, payload: list[Any] | tuple[Any, ...], **kwargs: Any) -> Any:
        """PUT a list of partial resources (each with its ``id``) in one call."""
        return await self._client.execute("PUT", self._url, self.check_bulk(payload), **kwargs)

    async def bulk_delete(self, payload: list[Any] | tuple[Any, ...], **kwargs: Any) -> Any:
        """DELETE the resources listed (``[{"id": ...}, ...]``) in one call."""
        return await self._client.execute("DELETE", self._url, self.check_bulk(payload), **kwargs)

    # -- the mapping view ---------------------------------------------------------
    def _handle(self, resource_id: str | int) -> AsyncResource:
        return AsyncResource(self._client, resource_url(self._url, resource_id))

    async def contains(self, resource_id: object) -> bool:
        """True if cached, else asks the server (one GET, whose body is cached)."""
        if not self.is_id(resource_id):
            return False
        assert isinstance(resource_id, (str, int))
        if self.cached(resource_id, MISSING) is not MISSING:
            return True
        try:
            await self._handle(resource_id).fetch()
        except errors.NotFound:
            return False
        return True

    @overload
    async def get(
        self, resource_id: str | int, default: None = None, remote: bool = False
    ) -> Any: ...
    @overload
    async def get(self, resource_id: str | int, default: _T, remote: bool = False) -> Any | _T: ...
    async def get(
        self, resource_id: str | int, default: object = None, remote: bool = False
    ) -> Any:
        """The cached body or ``default``; ``remote=True`` asks the server (and caches)."""
        if not remote:
            return self.cached(resource_id, default)
        try:
            return await self._handle(resource_id).fetch()
        except errors.NotFound:
            return default

    def keys(self) -> list[str]:
        """The ids cached (no request); ``async for body in collection`` walks the server."""
        return self.cached_ids()

    def __aiter__(self) -> AsyncIterator[Any]:
        """Every resource body on the server, paged (not cached)."""
        return self.all().__aiter__()

    async def count(self) -> int:
        """The server's count (one ``limit=0`` request)."""
        return await self.all().count()

    async def put(self, resource_id: str | int, body: Mapping[str, Any]) -> Any:
        """Update the resource (PUT) or, if the server has none, create it; return (and
        cache) the server's answer."""
        if not isinstance(body, Mapping):
            raise TypeError(f"a resource body must be a mapping, not {type(body).__name__}")
        try:
            return await self._handle(resource_id).update(dict(body))
        except errors.NotFound:
            return await self.create({**body, "id": resource_id})


class AsyncResource(_AsyncNode, ResourceBase, CollectionsAsAttributes["AsyncCollection"]):
    """One resource: its data, its actions and its nested collections."""

    async def get(self, **kwargs: Any) -> Any:
        """Fetch the resource (and cache its body). Raises ``NotFound`` if it does not exist."""
        return self.remember(await self._client.execute("GET", self._url, **kwargs))

    async def fetch(self) -> Any:
        """:meth:`get`, a missing resource raised as ``DocumentNotFound`` (a ``KeyError``)."""
        try:
            return await self.get()
        except errors.NotFound as exc:
            self.forget()
            raise not_found_as_key_error(exc) from exc

    async def body(self) -> Any:
        """The cached body, fetched (one GET) on a miss; ``DocumentNotFound`` if absent."""
        cached = self.cached()
        return await self.fetch() if cached is MISSING else cached

    async def update(self, payload: Any = None, **kwargs: Any) -> Any:
        """PUT ``payload`` to the resource; return (and cache) the updated resource."""
        self.forget()
        return self.remember(await self._client.execute("PUT", self._url, payload, **kwargs))

    async def delete(self, **kwargs: Any) -> Any:
        """DELETE the resource. Raises ``NotFound`` if it does not exist."""
        self.forget()
        return await self._client.execute("DELETE", self._url, **kwargs)

    async def exists(self) -> bool:
        """True if the resource exists (a GET answers 2xx), False on 404."""
        try:
            await self._client.send("GET", self._url)
        except errors.NotFound:
            return False
        return True

    async def values(self, *fields: str) -> dict[str, Any]:
        """Fetch the resource and return ``{field: value}`` for dot-path ``fields``."""
        self.check_fields(fields)
        return pick(await self.get(), fields)

    def action(self, name: str) -> AsyncAction:
        """The action ``name`` on this resource (also ``resource(name)``)."""
        return AsyncAction(self._client, self.below(name, "action"))

    def __call__(self, name: str) -> AsyncAction:
        return self.action(name)

    def collection(self, name: str) -> AsyncCollection:
        """The collection ``name`` nested under this resource (also ``resource.name``)."""
        return AsyncCollection(self._client, self.below(name, "collection"))


class AsyncAction(_AsyncNode, ActionBase):
    """An operation on a collection or a resource, run with one HTTP verb."""

    async def get(self, **kwargs: Any) -> Any:
        """GET the action; return the decoded answer (JSON, bytes, or None)."""
        return await self._client.execute("GET", self._url, **kwargs)

    async def post(self, payload: Any = None, **kwargs: Any) -> Any:
        """POST ``payload`` to the action; return the decoded answer."""
        return await self._client.execute("POST", self._url, payload, **kwargs)

    async def put(self, payload: Any = None, **kwargs: Any) -> Any:
        """PUT ``payload`` to the action; return the decoded answer."""
        return await self._client.execute("PUT", self._url, payload, **kwargs)

    async def delete(self, payload: Any = None, **kwargs: Any) -> Any:
        """DELETE the action; return the decoded answer."""
        return await self._client.execute("DELETE", self._url, payload, **kwargs)


class AsyncResourceSet(ResourceSetBase):
    """A lazy set of resources: ``async for item in rs``, ``await rs.count()``,
    ``await rs.first()``, ``await rs[i]``; builders and slices as on the sync side."""

    _client: AsyncClient

    async def _fetch(self, limit: int, offset: int) -> list[Any]:
        response = await self._client.send(
            "GET", self.url_for(limit, offset), **self._page_request(limit, offset)
        )
        return self._take_page(response)

    async def _pages(self, start: int) -> AsyncIterator[list[Any]]:
        with PlanRun(self._plan(start)) as run:
            for limit, offset in run:
                items = await self._fetch(limit, offset)
                yield items
                run.reply = (items, self._total)

    async def __aiter__(self) -> AsyncIterator[Any]:
        if not self._append:
            async for page in self._pages(self._offset):
                for item in page:
                    yield item
            return
        for item in list(self._cache):
            yield item
        resume = self._resume_at()
        if resume is None:
            return
        async for page in self._pages(resume):
            self._cache.extend(page)
            for item in page:
                yield item
        self._complete = True

    async def count(self) -> int:
        """The number of resources in the set (one ``limit=0`` request if none was fetched)."""
        if self._total is None:
            await self._fetch(0, 0)
        return self._counted()

    async def first(self) -> Any:
        """The first resource, or None if the set is empty (one request of one item)."""
        known, answer = self._first_known()
        if known:
            return answer
        items = await self._fetch(1, self._offset)
        return items[0] if items else None

    async def exists(self) -> bool:
        """True if the set holds a resource (``bool(rs)`` on the sync side)."""
        if self._append and self._cache:
            return True
        return await self.first() is not None

    async def values_list(self, *fields: str) -> list[dict[str, Any]]:
        """``[{field: value}, ...]`` for dot-path ``fields`` of every resource in the set."""
        self._check_value_fields(fields)
        return [pick(item, fields) async for item in self]

    @overload
    def __getitem__(self, key: int) -> Awaitable[Any]: ...

    @overload
    def __getitem__(self, key: slice) -> AsyncResourceSet: ...

    def __getitem__(self, key: int | slice) -> Awaitable[Any] | AsyncResourceSet:
        """``await rs[i]``: the i-th resource (one request); ``rs[a:b]``: a window."""
        if isinstance(key, slice):
            return self._window(key)
        return self._item(self._check_index(key))

    async def _item(self, index: int) -> Any:
        if index < 0:
            index += await self.count()
            if index < 0:
                raise IndexError("ResourceSet index out of range")
        known, found = self._position(index)
        if known:
            return found
        items = await self._fetch(1, found)
        if not items:
            raise IndexError("ResourceSet index out of range")
        return items[0]


class AsyncEndpoint(EndpointBase):
    """Async CloudCIX/CRUDs verbs on one URL (see :class:`settee.rest.Endpoint`)."""

    _client: AsyncClient

    async def _send(self, method: str, **kwargs: Any) -> AsyncResponse:
        return await self._client.send(**self._request(method, **kwargs))

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return decode_body(await self._send(method, **kwargs), empty=b"")

    async def create(
        self,
        data: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, FileValue] | None = None,
    ) -> Any:
        """POST ``data`` (JSON; str/bytes as is; form fields when ``files`` is given)."""
        return await self._call("POST", data=data, params=params, files=files)

    async def read(self, params: Mapping[str, Any] | None = None) -> Any:
        """GET this URL; return the decoded answer."""
        return await self._call("GET", params=params)

    async def list(self, params: Mapping[str, Any] | None = None) -> Any:
        """GET one decoded page of this (collection) URL."""
        return await self._call("GET", params=params)

    async def update(
        self,
        data: Any,
        params: Mapping[str, Any] | None = None,
        replace: bool = False,
        files: Mapping[str, FileValue] | None = None,
    ) -> Any:
        """PATCH ``data``; PUT it instead when ``replace=True``."""
        return await self._call(
            "PUT" if replace else "PATCH", data=data, params=params, files=files
        )

    async def partial_update(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """PATCH ``data``."""
        return await self._call("PATCH", data=data, params=params)

    async def delete(self, params: Mapping[str, Any] | None = None) -> Any:
        """DELETE this URL; return the decoded answer (``b""`` for a 204)."""
        return await self._call("DELETE", params=params)

    async def head(self, params: Mapping[str, Any] | None = None) -> HeadResult:
        """HEAD this URL; return its status and headers."""
        response = await self._send("HEAD", params=params)
        return HeadResult(response.status_code, Headers(response.headers))

    async def iter_all(self, params: Mapping[str, Any] | None = None) -> AsyncIterator[Any]:
        """Every item of every page, one page in memory at a time (see
        :meth:`settee.rest.Endpoint.iter_all`)."""
        with PlanRun(self.plan_all(params)) as run:
            for step in run:
                if isinstance(step, PageItems):
                    for item in step.items:
                        yield item
                else:
                    run.reply = await self._send("GET", params=step.params, url=step.url)

    async def get_all(self, params: Mapping[str, Any] | None = None) -> builtins.list[Any]:
        """Every item of every page as one list."""
        return [item async for item in self.iter_all(params)]
