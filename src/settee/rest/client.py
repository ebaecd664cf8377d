"""The fluent REST client: ``Client`` → ``NS`` → ``Collection`` → ``Resource`` → ``Action``.

Connect-style::

    client = Client("https://api.example.com/public/v1", auth=ApiKeyAuth("ApiKey SU-..."))
    product = client.products["PRD-000-001"].get()
    for p in client("catalog").products.filter(R().status.eq("published")).order_by("-created"):
        ...

Every object is a cheap, immutable handle on a URL; nothing is fetched until a
verb (``get``, ``create``, iteration, ...) runs. Errors are :mod:`settee.errors`
classes carrying ``status``, ``error_code``, ``errors`` and ``reason``.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, overload
from urllib.parse import unquote as unquote_id
from urllib.parse import urlsplit

from settee import errors
from settee._doccache import BoundedCache
from settee.auth.schemes import ApiKeyAuth
from settee.http.options import (
    DEFAULT_RETRY_STATUS_CODES,
    TimeoutArg,
    TransportOptions,
    check_timeout,
    refuse_misspellings,
)
from settee.http.transport import Response, Transport
from settee.rest._http import (
    RestRetryPolicy,
    check_limit,
    decode_body,
    join_url,
    pick,
    with_params,
)
from settee.rest.crud import CRUDS_RETRY_STATUS_CODES, Endpoint, FileValue, HeadResult
from settee.rest.resourceset import ResourceSet
from settee.rest.specs import (
    Operation,
    Specs,
    SpecValidationError,
    cached_url_specs,
    is_url,
    parse_specs,
    read_specs_file,
    remember_url_specs,
)

__all__ = ["NS", "Action", "Client", "Collection", "CrudClient", "Resource"]

_KWARGS = frozenset({"headers", "params", "timeout"})
_T = TypeVar("_T")

#: Bodies cached per client (``cache_size``), as on the CouchDB side.
DEFAULT_CACHE_SIZE = 1024


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"the {what} name must be a str, not {type(name).__name__}")
    if not name.strip():
        raise ValueError(f"the {what} name must not be blank")
    return name


def _check_kwargs(kwargs: Mapping[str, Any]) -> None:
    unknown = set(kwargs) - _KWARGS
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {sorted(unknown)}; "
            "a request takes headers=, params= and timeout="
        )


class _CollectionsAsAttributes:
    """``handle.name`` is ``handle.collection("name")``; ``_``-names stay attributes."""

    def collection(self, name: str) -> Collection:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Collection:
        # Only called for names the class does not define, so methods win.
        if name.startswith("_"):
            raise AttributeError(name)
        return self.collection(name)


class Client(_CollectionsAsAttributes):
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

    @refuse_misspellings(
        {
            "verify_ssl": "verify",
            "headers": "default_headers",
            "retries": "max_retries",
            "replay_post": "retry_post",
            "raise_for_status": "raise_status",
        }
    )
    def __init__(
        self,
        endpoint: str,
        auth: Any = None,
        *,
        default_headers: Mapping[str, str] | None = None,
        default_limit: int = 100,
        max_retries: int = 3,
        logger: logging.Logger | None = None,
        timeout: TimeoutArg = (15.0, 180.0),
        resourceset_append: bool = False,
        retry_post: bool = False,
        backoff_factor: float = 0.5,
        backoff_max: float = 30.0,
        retry_status_codes: Iterable[int] = DEFAULT_RETRY_STATUS_CODES,
        verify: bool | str = True,
        raise_status: bool = True,
        status_ignore: Iterable[int] = (),
        pool_maxsize: int = 10,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_ttl: float | None = None,
        use_specs: bool = False,
        specs_location: str | Path | None = None,
        validate_using_specs: bool = True,
        validate_responses: bool = False,
    ) -> None:
        if not isinstance(cache_size, int) or isinstance(cache_size, bool) or cache_size < 1:
            raise ValueError("cache_size must be an int >= 1")
        if cache_ttl is not None and (
            isinstance(cache_ttl, bool) or not isinstance(cache_ttl, (int, float)) or cache_ttl <= 0
        ):
            raise ValueError("cache_ttl must be a positive number of seconds, or None")
        if use_specs and specs_location is None:
            raise ValueError("use_specs=True needs specs_location= (a path or an http(s) URL)")
        if isinstance(auth, str):
            auth = ApiKeyAuth(auth)
        if logger is not None and not isinstance(logger, logging.Logger):
            raise TypeError("logger must be a logging.Logger")
        check_limit(default_limit)
        options = TransportOptions(
            timeout=check_timeout(timeout, "timeout"),
            max_retries=max_retries,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            retry_status_codes=tuple(retry_status_codes),
            retry_post=retry_post,
            verify=verify,
            headers=dict(default_headers or {}),
            pool_maxsize=pool_maxsize,
            logger=logger,
        )
        self.transport = Transport(endpoint, auth=auth, options=options)
        # REST verbs follow HTTP's idempotency, not CouchDB's rev= rule.
        self.transport.use_retry(RestRetryPolicy.like(self.transport.retry))
        self.endpoint = self.transport.base_url
        self.default_limit = default_limit
        self.resourceset_append = bool(resourceset_append)
        self.raise_status = bool(raise_status)
        self.status_ignore: set[int] = set(status_ignore)
        self.cache_size = cache_size
        self.cache_ttl = cache_ttl
        #: Resource URL -> its last known body (the collections' mapping view).
        self.cache: BoundedCache[Any] = BoundedCache(cache_size, cache_ttl)
        self.validate_using_specs = bool(validate_using_specs)
        self.validate_responses = bool(validate_responses)
        #: The parsed OpenAPI document (None without ``use_specs``).
        self.specs: Specs | None = None
        if use_specs and specs_location is not None:
            self.specs = self._load_specs(str(specs_location))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint!r}, auth={self.transport.auth!r})"

    def _load_specs(self, location: str) -> Specs:
        if not is_url(location):
            return read_specs_file(location)
        found = cached_url_specs(location)
        if found is None:
            response = self.transport.request("GET", location)
            found = parse_specs(response.content, location=location)
            remember_url_specs(location, found)
        return found

    def _specs_for(self, url: str) -> Specs | None:
        """The spec that governs ``url`` (None without specs or off the endpoint's origin)."""
        if self.specs is None:
            return None
        here, there = urlsplit(self.endpoint), urlsplit(url)
        if (here.scheme, here.netloc) != (there.scheme, there.netloc):
            return None
        return self.specs

    def check_path(self, url: str, what: str) -> None:
        """With specs and ``validate_using_specs``: ``SpecValidationError`` if no spec path
        is at or below ``url`` (a collection, namespace or action name the API lacks)."""
        specs = self._specs_for(url) if self.validate_using_specs else None
        if specs is not None and not specs.has_prefix(urlsplit(url).path):
            path = urlsplit(url).path
            raise SpecValidationError(
                f"{what} {path}: path: the spec ({specs.location}) has no path here",
                operation=path,
                field="path",
                reason=f"no such {what}",
            )

    def describe(self, url: str, *, exact: bool = False, title: str = "") -> str:
        """What the spec says about ``url`` (and below, unless ``exact``); a note without one."""
        specs = self._specs_for(url)
        if specs is None:
            return f"{title}\n  no OpenAPI spec (Client(..., use_specs=True, specs_location=...))"
        return specs.describe(urlsplit(url).path, exact=exact, title=title)

    def help(self) -> str:
        """Print and return what the spec says about every operation of the API."""
        text = self.describe(self.endpoint, title=f"{type(self).__name__}({self.endpoint})")
        print(text)
        return text

    # -- navigation ------------------------------------------------------------
    def collection(self, name: str) -> Collection:
        """The collection ``name`` at the top level: ``client.collection("products")``.

        With specs (and ``validate_using_specs``), a name the spec has no path
        for raises :class:`~settee.rest.SpecValidationError`.
        """
        url = join_url(self.endpoint, _check_name(name, "collection"))
        self.check_path(url, "collection")
        return Collection(self, url)

    def ns(self, name: str) -> NS:
        """The namespace ``name``: ``client.ns("devops")`` (also ``client("devops")``)."""
        url = join_url(self.endpoint, _check_name(name, "namespace"))
        self.check_path(url, "namespace")
        return NS(self, url)

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

    def url(self, path: str) -> str:
        """The absolute URL of ``path``: kept if absolute, else under the endpoint."""
        if not isinstance(path, str):
            raise TypeError(f"url must be a str, not {type(path).__name__}")
        if path.lower().startswith(("http://", "https://")):
            return path
        return self.endpoint + "/" + path.lstrip("/")

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

        Raises the :mod:`settee.errors` class for a non-2xx status (unless
        ``raise_status`` is False or the status is in ``status_ignore``) and
        ``TransportError`` when no answer arrives.
        """
        target = with_params(self.url(url), params)
        operation = self._check_request(method, target, json_body, data)
        response = self.transport.request(
            method,
            target,
            json_body=json_body,
            data=data,
            headers=headers,
            timeout=timeout,
            raise_for_status=False,
        )
        ok = 200 <= response.status_code < 300
        if not ok and raise_status and response.status_code not in set(status_ignore):
            raise self.transport.error_from(response)
        if operation is not None and self.validate_responses and self.specs is not None:
            body = decode_body(response)
            if not isinstance(body, bytes):
                self.specs.check_response(operation, response.status_code, body)
        return response

    def _check_request(
        self, method: str, url: str, json_body: Any, data: bytes | str | None
    ) -> Operation | None:
        specs = self._specs_for(url) if self.validate_using_specs else None
        if specs is None:
            return None
        has_body = json_body is not None or data is not None
        return specs.check_request(method, url, json_body, has_body=has_body)

    def execute(self, method: str, url: str, payload: Any = None, **kwargs: Any) -> Any:
        """Send ``payload`` as JSON with ``method``; return the decoded answer.

        ``kwargs``: ``headers``, ``params`` (query parameters), ``timeout``.
        Returns the JSON body, the raw bytes of a non-JSON body, or None when
        the body is empty. Raises :mod:`settee.errors` classes.
        """
        _check_kwargs(kwargs)
        response = self.send(method, url, json_body=payload, **kwargs)
        return decode_body(response)

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


class _Node:
    """A handle on one URL of the API."""

    def __init__(self, client: Client, url: str) -> None:
        self._client = client
        self._url = url

    @property
    def client(self) -> Client:
        """The :class:`Client` this handle belongs to."""
        return self._client

    @property
    def url(self) -> str:
        """The absolute URL this handle addresses."""
        return self._url

    @property
    def path(self) -> str:
        """The URL relative to the client's endpoint."""
        return self._url[len(self._client.endpoint) :].lstrip("/")

    @property
    def crud(self) -> Endpoint:
        """CloudCIX/CRUDs verbs on this URL (:class:`~settee.rest.Endpoint`)."""
        return Endpoint(self._client, self._url)

    def _below(self, name: str, what: str) -> str:
        """The URL of ``name`` under this one, checked against the spec when there is one."""
        url = join_url(self._url, _check_name(name, what))
        self._client.check_path(url, what)
        return url

    def help(self) -> str:
        """Print and return what the OpenAPI spec says about this URL and below."""
        text = self._client.describe(self._url, title=f"{type(self).__name__} {self.path}")
        print(text)
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, _Node)
            and other._client is self._client
            and other._url == self._url
        )

    def __hash__(self) -> int:
        return hash((type(self), id(self._client), self._url))


class NS(_Node, _CollectionsAsAttributes):
    """A namespace: a group of collections (and nested namespaces)."""

    def collection(self, name: str) -> Collection:
        """The collection ``name`` in this namespace (also ``ns.name``)."""
        return Collection(self._client, self._below(name, "collection"))

    def ns(self, name: str) -> NS:
        """The namespace ``name`` nested in this one (also ``ns(name)``)."""
        return NS(self._client, self._below(name, "namespace"))

    def __call__(self, name: str) -> NS:
        return self.ns(name)


def _resource_url(collection_url: str, resource_id: object) -> str:
    if isinstance(resource_id, bool) or not isinstance(resource_id, (str, int)):
        raise TypeError(f"a resource id must be a str or int, not {type(resource_id)}")
    return join_url(collection_url, str(resource_id))


class Collection(_Node):
    """A collection of resources of one type, and a mapping of resource id → body.

    The fluent side (Connect's): ``collection[id]`` / ``resource(id)`` is a
    :class:`Resource` handle (nothing fetched), ``filter()``/``all()`` a
    :class:`~settee.rest.ResourceSet``, ``(name)`` an :class:`Action`.

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
        url = _resource_url(self._url, resource_id)
        self._client.check_path(url, "resource")
        return Resource(self._client, url)

    def __getitem__(self, resource_id: str | int) -> Resource:
        """The :class:`Resource` handle (the fluent form wins: see docs/rest.md); nothing is
        fetched. Its ``body`` is the cached body, fetched on a miss."""
        return self.resource(resource_id)

    def action(self, name: str) -> Action:
        """The action ``name`` on this collection (also ``collection(name)``)."""
        return Action(self._client, self._below(name, "action"))

    def __call__(self, name: str) -> Action:
        return self.action(name)

    def create(self, payload: Any = None, **kwargs: Any) -> Any:
        """POST a new resource; return the created resource as the server sent it."""
        if payload is not None and not isinstance(payload, Mapping):
            raise TypeError("create() takes a dict payload; use bulk_create() for a list")
        created = self._client.execute("POST", self._url, payload, **kwargs)
        self._remember(created)
        return created

    def _bulk(self, method: str, payload: Any, kwargs: dict[str, Any]) -> Any:
        if not isinstance(payload, (list, tuple)):
            raise TypeError(f"a bulk payload must be a list or tuple, not {type(payload)}")
        # The bodies the server now holds are not the ones cached: forget them.
        for entry in payload:
            if isinstance(entry, Mapping) and isinstance(entry.get("id"), (str, int)):
                self._client.cache.pop(_resource_url(self._url, entry["id"]), None)
        return self._client.execute(method, self._url, list(payload), **kwargs)

    def bulk_create(self, payload: list[Any] | tuple[Any, ...], **kwargs: Any) -> Any:
        """POST a list of resources in one call; return the server's answer (the list)."""
        return self._bulk("POST", payload, kwargs)

    def bulk_update(self, payload: list[Any] | tuple[Any, ...], **kwargs: Any) -> Any:
        """PUT a list of partial resources (each with its ``id``) in one call."""
        return self._bulk("PUT", payload, kwargs)

    def bulk_delete(self, payload: list[Any] | tuple[Any, ...], **kwargs: Any) -> Any:
        """DELETE the resources listed (``[{"id": ...}, ...]``) in one call."""
        return self._bulk("DELETE", payload, kwargs)

    # -- the mapping view ---------------------------------------------------------
    def _remember(self, body: Any) -> None:
        if isinstance(body, Mapping) and isinstance(body.get("id"), (str, int)):
            self._client.cache[_resource_url(self._url, body["id"])] = body

    def _fetch(self, resource_id: str | int) -> Any:
        """The server's body of ``resource_id`` (cached); ``DocumentNotFound`` if absent."""
        return Resource(self._client, _resource_url(self._url, resource_id)).fetch()

    def __contains__(self, resource_id: object) -> bool:
        """True if cached, else asks the server (one GET, whose body is cached)."""
        if isinstance(resource_id, bool) or not isinstance(resource_id, (str, int)):
            return False
        if resource_id == "":
            return False
        if _resource_url(self._url, resource_id) in self._client.cache:
            return True
        try:
            self._fetch(resource_id)
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
        url = _resource_url(self._url, resource_id)
        if not remote:
            return self._client.cache.get(url, default)
        try:
            return self._fetch(resource_id)
        except errors.NotFound:
            self._client.cache.pop(url, None)
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
            prefix = self._url + "/"
            return [
                unquote_id(url[len(prefix) :])
                for url in self._client.cache
                if url.startswith(prefix) and "/" not in url[len(prefix) :]
            ]
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
        handle = Resource(self._client, _resource_url(self._url, resource_id))
        try:
            handle.update(dict(body))
        except errors.NotFound:
            self.create({**body, "id": resource_id})

    def __delitem__(self, resource_id: str | int, remote: bool = False) -> None:
        """Forget the cached body (``KeyError`` if none); ``remote=True`` deletes the resource
        on the server too (``DocumentNotFound``, a ``KeyError``, if it has none)."""
        url = _resource_url(self._url, resource_id)
        if not remote:
            if self._client.cache.pop(url, _ABSENT) is _ABSENT:
                raise KeyError(resource_id)
            return
        Resource(self._client, url).delete()

    def clear_cache(self) -> None:
        """Forget every cached body of this collection."""
        prefix = self._url + "/"
        for url in list(self._client.cache):
            if url.startswith(prefix):
                self._client.cache.pop(url, None)


_ABSENT = object()


class Resource(_Node, _CollectionsAsAttributes):
    """One resource: its data, its actions and its nested collections."""

    def get(self, **kwargs: Any) -> Any:
        """Fetch the resource (and cache its body). Raises ``NotFound`` if it does not exist."""
        body = self._client.execute("GET", self._url, **kwargs)
        self._client.cache[self._url] = body
        return body

    def fetch(self) -> Any:
        """:meth:`get`, with a missing resource raised as ``DocumentNotFound`` (a ``KeyError``)."""
        try:
            return self.get()
        except errors.NotFound as exc:
            self._client.cache.pop(self._url, None)
            raise _as_key_error(exc) from exc

    @property
    def body(self) -> Any:
        """The cached body, fetched (one GET) on a miss; ``DocumentNotFound`` if absent."""
        cached = self._client.cache.get(self._url, _ABSENT)
        return self.fetch() if cached is _ABSENT else cached

    def update(self, payload: Any = None, **kwargs: Any) -> Any:
        """PUT ``payload`` to the resource (Connect semantics); return the updated resource."""
        try:
            body = self._client.execute("PUT", self._url, payload, **kwargs)
        except errors.NotFound:
            self._client.cache.pop(self._url, None)
            raise
        if isinstance(body, Mapping):
            self._client.cache[self._url] = body
        else:
            self._client.cache.pop(self._url, None)
        return body

    def delete(self, **kwargs: Any) -> Any:
        """DELETE the resource. Raises ``NotFound`` if it does not exist."""
        self._client.cache.pop(self._url, None)
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
        for f in fields:
            if not isinstance(f, str) or not f:
                raise TypeError("values() takes field names as non-empty strings")
        return pick(self.get(), fields)

    def action(self, name: str) -> Action:
        """The action ``name`` on this resource (also ``resource(name)``)."""
        return Action(self._client, self._below(name, "action"))

    def __call__(self, name: str) -> Action:
        return self.action(name)

    def collection(self, name: str) -> Collection:
        """The collection ``name`` nested under this resource (also ``resource.name``)."""
        return Collection(self._client, self._below(name, "collection"))


def _as_key_error(exc: errors.NotFound) -> errors.DocumentNotFound:
    found = errors.DocumentNotFound(
        exc.reason,
        error=exc.error,
        status=exc.status,
        method=exc.method,
        url=exc.url,
        body=exc.body,
    )
    return found


class Action(_Node):
    """An operation on a collection or a resource, run with one HTTP verb."""

    def help(self) -> str:
        """Print and return what the OpenAPI spec says about this action."""
        text = self._client.describe(
            self._url, exact=True, title=f"{type(self).__name__} {self.path}"
        )
        print(text)
        return text

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
