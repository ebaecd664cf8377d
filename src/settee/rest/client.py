"""The fluent REST client: ``Client`` → ``NS`` → ``Collection`` → ``Resource`` → ``Action``.

Connect-style::

    client = Client("https://api.example.com/public/v1", auth=ApiKeyAuth("ApiKey SU-..."))
    product = client.products["PRD-000-001"].get()
    for p in client("catalog").products.filter(R().status.eq("published")).order_by("-created"):
        ...

Every object is a cheap, immutable handle on a URL; nothing is fetched until a
verb (``get``, ``create``, iteration, ...) runs. Errors are :mod:`settee.errors`
classes carrying ``status``, ``error_code``, ``errors`` and ``reason``.

This module is the requests shell: URLs, spec checks, the body cache and the
answer checks are :mod:`settee.rest._base`'s, shared with :mod:`settee.rest.aio`.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, TypeVar, overload

from settee import errors
from settee.http.options import TimeoutArg, TransportOptions, refuse_misspellings
from settee.http.transport import Response, Transport
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
from settee.rest.crud import CRUDS_RETRY_STATUS_CODES, Endpoint, FileValue, HeadResult
from settee.rest.resourceset import ResourceSet
from settee.rest.specs import Specs, cached_url_specs, parse_specs, remember_url_specs

__all__ = ["NS", "Action", "Client", "Collection", "CrudClient", "Resource"]

_T = TypeVar("_T")


class Client(ClientBase, CollectionsAsAttributes["Collection"]):
    """A REST API client: collections, namespaces and raw verbs under ``endpoint``.

    ``auth`` is any :mod:`settee.auth` strategy, a
    ``(user, password)`` tuple, or a string sent as the ``Authorization``
    header (Connect's ``"ApiKey SU-...:..."``). Options: ``default_headers``
    (on every request), ``default_limit`` (page size of result sets, 100),
    ``max_retries`` (3), ``backoff_factor`` (0.5), ``backoff_max`` (30 s),
    ``retry_status_codes`` ((429, 502, 503, 504)), ``retry_post`` (False: a
    POST/PATCH is replayed only after a 429 or a refused connection),
    ``logger`` (a ``logging.Logger`` for request logs, default ``settee``),
    ``timeout`` (seconds or ``(connect, read)``, default (15, 180)),
    ``resourceset_append`` (keep fetched items in result sets, False),
    ``verify`` (True or a CA bundle path), ``raise_status`` and
    ``status_ignore`` (for the CRUD verbs of :class:`~settee.rest.Endpoint`,
    CRUDs' names). ``default_headers`` and ``max_retries`` are Connect's
    names; ``verify_ssl``/``headers``/``retries`` are a ``TypeError`` naming
    these (see docs/compat.md).

    ``cache_size`` (1024) bounds the resource bodies the collections' mapping
    view keeps (LRU), ``cache_ttl`` (seconds, None: no expiry) ages them out.
    ``use_specs=True`` loads the OpenAPI 3 document at ``specs_location`` (a
    path or an http(s) URL, JSON or YAML) once; ``validate_using_specs``
    (True) then checks every call against it before sending
    (:class:`~settee.rest.SpecValidationError`), ``validate_responses`` (False)
    checks the answers too, and ``help()`` explains what the spec says.
    """

    transport: Transport

    def _open(self, endpoint: str, auth: Any, options: TransportOptions) -> str:
        self.transport = Transport(endpoint, auth=auth, options=options)
        # REST verbs follow HTTP's idempotency, not CouchDB's rev= rule.
        self.transport.use_retry(RestRetryPolicy.like(self.transport.retry))
        if self.specs is None and self.specs_location is not None:
            self.specs = self._fetch_specs(self.specs_location)
        return self.transport.base_url

    def _fetch_specs(self, url: str) -> Specs:
        found = cached_url_specs(url)
        if found is None:
            found = parse_specs(self.transport.request("GET", url).content, location=url)
            remember_url_specs(url, found)
        return found

    # -- navigation ------------------------------------------------------------
    def collection(self, name: str) -> Collection:
        """The collection ``name`` at the top level: ``client.collection("products")``.

        With specs (and ``validate_using_specs``), a name the spec has no path
        for raises :class:`~settee.rest.SpecValidationError`.
        """
        return Collection(self, self.collection_url(name))

    def ns(self, name: str) -> NS:
        """The namespace ``name``: ``client.ns("devops")`` (also ``client("devops")``)."""
        return NS(self, self.ns_url(name))

    def crud(self, path: str) -> Endpoint:
        """CRUD verbs (:class:`~settee.rest.Endpoint`) on ``path`` (relative or absolute)."""
        return Endpoint(self, self.url(path))

    def __call__(self, name: str) -> NS:
        return self.ns(name)

    # -- raw verbs ------------------------------------------------------------
    @property
    def response(self) -> Response | None:
        """The last raw ``requests.Response`` (None before the first request)."""
        return self.transport.last_response

    @response.setter
    def response(self, value: Response | None) -> None:
        self.transport.last_response = value

    def send(
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
    ) -> Response:
        """Send one request and return the raw response.

        Raises :class:`~settee.rest.SpecValidationError` before sending a call
        the spec refuses, the :mod:`settee.errors` class for a non-2xx status
        (unless ``raise_status`` is False or the status is in
        ``status_ignore``) and ``TransportError`` when no answer arrives.
        """
        target, operation = self.prepare(method, url, params, json_body, data)
        response = self.transport.request(
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

    def execute(self, method: str, url: str, payload: Any = None, **kwargs: Any) -> Any:
        """Send ``payload`` as JSON with ``method``; return the decoded answer.

        ``kwargs``: ``headers``, ``params`` (query parameters), ``timeout``.
        Returns the JSON body, the raw bytes of a non-JSON body, or None when
        the body is empty. Raises :mod:`settee.errors` classes.
        """
        check_kwargs(kwargs)
        return decode_body(self.send(method, url, json_body=payload, **kwargs))

    def get(self, url: str, **kwargs: Any) -> Any:
        """GET ``url``; return the decoded answer (see :meth:`execute`)."""
        return self.execute("GET", url, **kwargs)

    def create(self, url: str, payload: Any = None, **kwargs: Any) -> Any:
        """POST ``payload`` to ``url``; return the decoded answer."""
        return self.execute("POST", url, payload, **kwargs)

    def update(self, url: str, payload: Any = None, **kwargs: Any) -> Any:
        """PUT ``payload`` to ``url``; return the decoded answer."""
        return self.execute("PUT", url, payload, **kwargs)

    def delete(self, url: str, payload: Any = None, **kwargs: Any) -> Any:
        """DELETE ``url`` (with an optional JSON ``payload``); return the decoded answer."""
        return self.execute("DELETE", url, payload, **kwargs)

    def close(self) -> None:
        """Close pooled connections. Idempotent."""
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Node(NodeBase):
    _client: Client

    @property
    def client(self) -> Client:
        """The :class:`Client` this handle belongs to."""
        return self._client

    @property
    def crud(self) -> Endpoint:
        """CloudCIX/CRUDs verbs on this URL (:class:`~settee.rest.Endpoint`)."""
        return Endpoint(self._client, self._url)


class NS(_Node, CollectionsAsAttributes["Collection"]):
    """A namespace: a group of collections (and nested namespaces)."""

    def collection(self, name: str) -> Collection:
        """The collection ``name`` in this namespace (also ``ns.name``)."""
        return Collection(self._client, self.below(name, "collection"))

    def ns(self, name: str) -> NS:
        """The namespace ``name`` nested in this one (also ``ns(name)``)."""
        return NS(self._client, self.below(name, "namespace"))

    def __call__(self, name: str) -> NS:
        return self.ns(name)


class Collection(_Node, CollectionBase):
    """A collection of resources of one type, and a mapping of resource id → body.

    The fluent side (Connect's): ``collection[id]`` / ``resource(id)`` is a
    :class:`Resource` handle (nothing fetched), ``filter()``/``all()`` a
    :class:`~settee.rest.ResourceSet`, ``(name)`` an :class:`Action`.

    The mapping side (python-cloudant's ``remote=`` rules, bodies cached in
    the client's bounded cache): ``id in collection`` asks the server on a
    miss, ``get(id, default, remote=False)``, ``keys(remote=...)``,
    ``values()``, ``items()`` and iteration page through the server,
    ``len()`` is the server's count, ``collection[id] = body`` updates or
    creates, ``del collection[id]`` forgets the cached body and
    ``__delitem__(id, remote=True)`` deletes on the server.
    """

    def all(self) -> ResourceSet:
        """A lazy :class:`~settee.rest.ResourceSet` over every resource."""
        return ResourceSet(self._client, self._url)

    def filter(self, *queries: Any, **lookups: Any) -> ResourceSet:
        """A :class:`~settee.rest.ResourceSet` filtered by RQL ``queries`` and ``lookups``.

        ``queries`` are RQL strings or ``R`` objects; ``lookups`` use Connect's
        ``field__op=value`` form. Everything is combined with ``and``.
        Raises ``TypeError`` for an argument that is neither.
        """
        return self.all().filter(*queries, **lookups)

    def resource(self, resource_id: str | int) -> Resource:
        """The resource ``resource_id`` (also ``collection[resource_id]``); nothing is fetched."""
        return Resource(self._client, self.resource_url(resource_id))

    def __getitem__(self, resource_id: str | int) -> Resource:
        """The :class:`Resource` handle (the fluent form wins: see docs/rest.md); nothing is
        fetched. Its ``body`` is the cached body, fetched on a miss."""
        return self.resource(resource_id)

    def action(self, name: str) -> Action:
        """The action ``name`` on this collection (also ``collection(name)``)."""
        return Action(self._client, self.below(name, "action"))

    def __call__(self, name: str) -> Action:
        return self.action(name)

    def create(self, payload: Any = None, **kwargs: Any) -> Any:
        """POST a new resource; return (and cache) the created resource as the server sent it."""
        self.check_create(payload)
        created = self._client.execute("POST", self._url, payload, **kwargs)
        self.remember(created)
        return created

    def bulk_create(self, payload: list[Any] | tuple[Any, ...], **kwargs: Any) -> Any:
        """POST a list of resources in one call; return the server's answer (the list)."""
        return self._client.execute("POST", self._url, self.check_bulk(payload), **kwargs)

    def bulk_update(self, payload: list[Any] | tuple[Any, ...], **kwargs: Any) -> Any:
        """PUT a list of partial resources (each with its ``id``) in one call."""
        return self._client.execute("PUT", self._url, self.check_bulk(payload), **kwargs)

    def bulk_delete(self, payload: list[Any] | tuple[Any, ...], **kwargs: Any) -> Any:
        """DELETE the resources listed (``[{"id": ...}, ...]``) in one call."""
        return self._client.execute("DELETE", self._url, self.check_bulk(payload), **kwargs)

    # -- the mapping view ---------------------------------------------------------
    def _handle(self, resource_id: str | int) -> Resource:
        return Resource(self._client, resource_url(self._url, resource_id))

    def __contains__(self, resource_id: object) -> bool:
        """True if cached, else asks the server (one GET, whose body is cached)."""
        if not self.is_id(resource_id):
            return False
        assert isinstance(resource_id, (str, int))
        if self.cached(resource_id, MISSING) is not MISSING:
            return True
        try:
            self._handle(resource_id).fetch()
        except errors.NotFound:
            return False
        return True

    @overload
    def get(self, resource_id: str | int, default: None = None, remote: bool = False) -> Any: ...
    @overload
    def get(self, resource_id: str | int, default: _T, remote: bool = False) -> Any | _T: ...
    def get(self, resource_id: str | int, default: object = None, remote: bool = False) -> Any:
        """The cached body of ``resource_id`` or ``default``; ``remote=True`` asks the server
        (and caches its answer), ``default`` if it has no such resource."""
        if not remote:
            return self.cached(resource_id, default)
        try:
            return self._handle(resource_id).fetch()
        except errors.NotFound:
            return default

    @overload
    def keys(self, remote: Literal[False] = False) -> list[str]: ...
    @overload
    def keys(self, remote: Literal[True]) -> Iterator[str]: ...
    @overload
    def keys(self, remote: bool) -> list[str] | Iterator[str]: ...
    def keys(self, remote: bool = False) -> list[str] | Iterator[str]:
        """The ids cached (a list); ``remote=True``: every id on the server, paged lazily."""
        if not remote:
            return self.cached_ids()
        return (str(body["id"]) for body in self.all() if isinstance(body, Mapping))

    def values(self) -> Iterator[Any]:
        """Every resource body on the server, one page in memory at a time (not cached)."""
        return iter(self.all())

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(id, body)`` for every resource on the server, paged lazily."""
        return ((str(b["id"]), b) for b in self.all() if isinstance(b, Mapping))

    def __iter__(self) -> Iterator[Any]:
        """Every resource body on the server, paged (as iterating a ``Database`` yields
        its documents)."""
        return self.values()

    def __len__(self) -> int:
        """The server's count (one ``limit=0`` request)."""
        return self.all().count()

    def __bool__(self) -> bool:
        return True  # an empty collection is still a collection: `if c:` must not ask

    def __setitem__(self, resource_id: str | int, body: Mapping[str, Any]) -> None:
        """Update the resource (PUT) or, if the server has none, create it (POST with its id);
        the server's answer is cached."""
        if not isinstance(body, Mapping):
            raise TypeError(f"a resource body must be a mapping, not {type(body).__name__}")
        try:
            self._handle(resource_id).update(dict(body))
        except errors.NotFound:
            self.create({**body, "id": resource_id})

    def __delitem__(self, resource_id: str | int, remote: bool = False) -> None:
        """Forget the cached body (``KeyError`` if none); ``remote=True`` deletes the resource
        on the server too (``NotFound`` if it has none)."""
        if not remote:
            if not self.forget(resource_id):
                raise KeyError(resource_id)
            return
        self._handle(resource_id).delete()


class Resource(_Node, ResourceBase, CollectionsAsAttributes["Collection"]):
    """One resource: its data, its actions and its nested collections."""

    def get(self, **kwargs: Any) -> Any:
        """Fetch the resource (and cache its body). Raises ``NotFound`` if it does not exist."""
        return self.remember(self._client.execute("GET", self._url, **kwargs))

    def fetch(self) -> Any:
        """:meth:`get`, with a missing resource raised as ``DocumentNotFound`` (a ``KeyError``)."""
        try:
            return self.get()
        except errors.NotFound as exc:
            self.forget()
            raise not_found_as_key_error(exc) from exc

    @property
    def body(self) -> Any:
        """The cached body, fetched (one GET) on a miss; ``DocumentNotFound`` if absent."""
        cached = self.cached()
        return self.fetch() if cached is MISSING else cached

    def update(self, payload: Any = None, **kwargs: Any) -> Any:
        """PUT ``payload`` to the resource (Connect semantics); return (and cache) the answer."""
        self.forget()
        return self.remember(self._client.execute("PUT", self._url, payload, **kwargs))

    def delete(self, **kwargs: Any) -> Any:
        """DELETE the resource. Raises ``NotFound`` if it does not exist."""
        self.forget()
        return self._client.execute("DELETE", self._url, **kwargs)

    def exists(self) -> bool:
        """True if the resource exists (a GET answers 2xx), False on 404."""
        try:
            self._client.send("GET", self._url)
        except errors.NotFound:
            return False
        return True

    def values(self, *fields: str) -> dict[str, Any]:
        """Fetch the resource and return ``{field: value}`` for dot-path ``fields``."""
        self.check_fields(fields)
        return pick(self.get(), fields)

    def action(self, name: str) -> Action:
        """The action ``name`` on this resource (also ``resource(name)``)."""
        return Action(self._client, self.below(name, "action"))

    def __call__(self, name: str) -> Action:
        return self.action(name)

    def collection(self, name: str) -> Collection:
        """The collection ``name`` nested under this resource (also ``resource.name``)."""
        return Collection(self._client, self.below(name, "collection"))


class Action(_Node, ActionBase):
    """An operation on a collection or a resource, run with one HTTP verb."""

    def get(self, **kwargs: Any) -> Any:
        """GET the action; return the decoded answer (JSON, bytes, or None)."""
        return self._client.execute("GET", self._url, **kwargs)

    def post(self, payload: Any = None, **kwargs: Any) -> Any:
        """POST ``payload`` to the action; return the decoded answer."""
        return self._client.execute("POST", self._url, payload, **kwargs)

    def put(self, payload: Any = None, **kwargs: Any) -> Any:
        """PUT ``payload`` to the action; return the decoded answer."""
        return self._client.execute("PUT", self._url, payload, **kwargs)

    def delete(self, payload: Any = None, **kwargs: Any) -> Any:
        """DELETE the action; return the decoded answer."""
        return self._client.execute("DELETE", self._url, payload, **kwargs)


class CrudClient:
    """CRUDs'/CloudCIX's client shape: ``verb(uri, ...)`` under ``host``.

    Options mirror CRUDs: ``timeout`` (300 s), ``raise_status`` (True),
    ``retries`` (4), ``backoff_factor`` (0.9), ``retry_status_codes`` (504,
    503, 502, 500, 429, 425, 408), ``verify_ssl``; plus ``status_ignore``,
    ``retry_post`` (False: POST/PATCH are not replayed), ``default_headers``
    and ``logger``. ``retries``, ``verify_ssl`` and ``raise_status`` are CRUDs'
    own names, kept on this class only; ``max_retries``/``verify``/``headers``
    are a ``TypeError`` naming them (see docs/compat.md).
    The underlying :class:`~settee.rest.Client` is ``.client``.
    """

    @refuse_misspellings(
        {
            "max_retries": "retries",
            "verify": "verify_ssl",
            "headers": "default_headers",
            "replay_post": "retry_post",
            "raise_for_status": "raise_status",
        }
    )
    def __init__(
        self,
        host: str,
        auth: Any = None,
        *,
        timeout: TimeoutArg = 300.0,
        raise_status: bool = True,
        retries: int = 4,
        backoff_factor: float = 0.9,
        retry_status_codes: Iterable[int] = CRUDS_RETRY_STATUS_CODES,
        verify_ssl: bool | str = True,
        status_ignore: Iterable[int] = (),
        retry_post: bool = False,
        default_headers: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = Client(
            host,
            auth,
            timeout=timeout,
            max_retries=retries,
            backoff_factor=backoff_factor,
            retry_status_codes=retry_status_codes,
            verify=verify_ssl,
            raise_status=raise_status,
            status_ignore=status_ignore,
            retry_post=retry_post,
            default_headers=default_headers,
            logger=logger,
        )

    def __repr__(self) -> str:
        return f"CrudClient({self.client.endpoint!r})"

    @property
    def raise_status(self) -> bool:
        """Whether a non-2xx answer raises (else its decoded body is returned)."""
        return self.client.raise_status

    @raise_status.setter
    def raise_status(self, value: bool) -> None:
        self.client.raise_status = bool(value)

    @property
    def status_ignore(self) -> set[int]:
        """Statuses that never raise, even with ``raise_status`` (a mutable set)."""
        return self.client.status_ignore

    @property
    def response(self) -> Response | None:
        """The last raw response."""
        return self.client.response

    def _at(self, uri: str) -> Endpoint:
        return self.client.crud(uri)

    def create(
        self,
        uri: str,
        data: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, FileValue] | None = None,
    ) -> Any:
        """POST to ``uri``; see :meth:`Endpoint.create`."""
        return self._at(uri).create(data, params, files)

    def read(self, uri: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``uri``; see :meth:`Endpoint.read`."""
        return self._at(uri).read(params)

    def list(self, uri: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET one page of ``uri``; see :meth:`Endpoint.list`."""
        return self._at(uri).list(params)

    def update(
        self,
        uri: str,
        data: Any,
        params: Mapping[str, Any] | None = None,
        replace: bool = False,
        files: Mapping[str, FileValue] | None = None,
    ) -> Any:
        """PATCH (PUT with ``replace=True``) ``uri``; see :meth:`Endpoint.update`."""
        return self._at(uri).update(data, params, replace, files)

    def partial_update(self, uri: str, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """PATCH ``uri``; see :meth:`Endpoint.partial_update`."""
        return self._at(uri).partial_update(data, params)

    def delete(self, uri: str, params: Mapping[str, Any] | None = None) -> Any:
        """DELETE ``uri``; see :meth:`Endpoint.delete`."""
        return self._at(uri).delete(params)

    def head(self, uri: str, params: Mapping[str, Any] | None = None) -> HeadResult:
        """HEAD ``uri``; see :meth:`Endpoint.head`."""
        return self._at(uri).head(params)

    def get_all(self, uri: str, params: Mapping[str, Any] | None = None) -> builtins.list[Any]:
        """Every item of every page of ``uri``; see :meth:`Endpoint.iter_all`."""
        return self._at(uri).get_all(params)

    def close(self) -> None:
        """Close pooled connections."""
        self.client.close()

    def __enter__(self) -> CrudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
