"""What the sync and the async REST clients share: no I/O in this module.

:class:`ClientBase` holds the configuration (options, the bounded body cache,
the OpenAPI spec) and the pure steps around a request — the target URL, the
spec check before sending, the status and spec checks of the answer.
The node bases hold navigation (URLs, names, spec paths) and the cache
bookkeeping of the mapping view. :mod:`settee.rest.client` (requests) and
:mod:`settee.rest.aio` (aiohttp) are thin shells that only send and await.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import unquote, urlsplit

from settee import errors
from settee._doccache import BoundedCache, check_cache_options
from settee.auth.schemes import ApiKeyAuth
from settee.http.options import (
    DEFAULT_RETRY_STATUS_CODES,
    TimeoutArg,
    TransportOptions,
    check_timeout,
    refuse_misspellings,
)
from settee.rest._http import check_limit, decode_body, join_url, with_params
from settee.rest.specs import (
    Operation,
    Specs,
    SpecValidationError,
    is_url,
    read_specs_file,
)

if TYPE_CHECKING:
    from settee.http.async_transport import AsyncResponse, AsyncTransport
    from settee.http.transport import Response, Transport

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "MISSING",
    "ActionBase",
    "ClientBase",
    "CollectionBase",
    "Handle",
    "NodeBase",
    "ResourceBase",
    "check_kwargs",
    "check_name",
    "not_found_as_key_error",
    "resource_url",
]

_KWARGS = frozenset({"headers", "params", "timeout"})

#: Bodies cached per client (``cache_size``), as on the CouchDB side.
DEFAULT_CACHE_SIZE = 1024

#: "No cached body" (a body may be ``None``).
MISSING: Any = object()

#: The names a misspelt Client option is refused with (see docs/compat.md).
CLIENT_MISSPELLINGS = {
    "verify_ssl": "verify",
    "headers": "default_headers",
    "retries": "max_retries",
    "replay_post": "retry_post",
    "raise_for_status": "raise_status",
}


def check_name(name: object, what: str) -> str:
    """``name`` if it is a non-blank str; ``TypeError``/``ValueError`` otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"the {what} name must be a str, not {type(name).__name__}")
    if not name.strip():
        raise ValueError(f"the {what} name must not be blank")
    return name


def check_kwargs(kwargs: Mapping[str, Any]) -> None:
    """``TypeError`` for a request keyword other than headers=, params=, timeout=."""
    unknown = set(kwargs) - _KWARGS
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {sorted(unknown)}; "
            "a request takes headers=, params= and timeout="
        )


def resource_url(collection_url: str, resource_id: object) -> str:
    """The URL of ``resource_id`` (str or int, one encoded segment) in a collection."""
    if isinstance(resource_id, bool) or not isinstance(resource_id, (str, int)):
        raise TypeError(f"a resource id must be a str or int, not {type(resource_id)}")
    return join_url(collection_url, str(resource_id))


def not_found_as_key_error(exc: errors.NotFound) -> errors.DocumentNotFound:
    """The same 404 as ``DocumentNotFound`` (also a ``KeyError``), for the mapping view."""
    return errors.recast(exc, errors.DocumentNotFound, exc.reason)


class ClientBase:
    """Configuration and pure request steps shared by ``Client`` and ``AsyncClient``.

    See :class:`settee.rest.Client` for the options.
    """

    endpoint: str
    #: The shell's transport (requests' or aiohttp's), opened by :meth:`_open`.
    transport: Transport | AsyncTransport

    @refuse_misspellings(CLIENT_MISSPELLINGS)
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
        # Check and keep the options; the shell opens its transport.
        check_cache_options(cache_size, cache_ttl)
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
        #: The parsed OpenAPI document (None without ``use_specs``, or before an async
        #: client fetched its spec URL).
        self.specs: Specs | None = None
        #: Where the spec is (None without ``use_specs``).
        self.specs_location = str(specs_location) if use_specs and specs_location else None
        if self.specs_location is not None and not is_url(self.specs_location):
            self.specs = read_specs_file(self.specs_location)
        self.endpoint = self._open(endpoint, auth, options)

    def _open(self, endpoint: str, auth: Any, options: TransportOptions) -> str:
        """Open the shell's transport (and fetch a spec URL if the shell can); return the
        endpoint as the transport stored it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint!r}, auth={self.transport.auth!r})"

    # -- URLs and the spec -------------------------------------------------------------
    def url(self, path: str) -> str:
        """The absolute URL of ``path``: kept if absolute, else under the endpoint."""
        if not isinstance(path, str):
            raise TypeError(f"url must be a str, not {type(path).__name__}")
        if path.lower().startswith(("http://", "https://")):
            return path
        return self.endpoint + "/" + path.lstrip("/")

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

    def collection_url(self, name: str) -> str:
        """The URL of the top-level collection ``name`` (checked against the spec)."""
        url = join_url(self.endpoint, check_name(name, "collection"))
        self.check_path(url, "collection")
        return url

    def ns_url(self, name: str) -> str:
        """The URL of the namespace ``name`` (checked against the spec)."""
        url = join_url(self.endpoint, check_name(name, "namespace"))
        self.check_path(url, "namespace")
        return url

    # -- the pure steps around one request ----------------------------------------------
    def prepare(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: bytes | str | None,
    ) -> tuple[str, Operation | None]:
        """The target URL and the spec operation (checked: ``SpecValidationError``)."""
        target = with_params(self.url(url), params)
        specs = self._specs_for(target) if self.validate_using_specs else None
        if specs is None:
            return target, None
        has_body = json_body is not None or data is not None
        return target, specs.check_request(method, target, json_body, has_body=has_body)

    def finish(
        self,
        response: Response | AsyncResponse,
        operation: Operation | None,
        error_from: Any,
        *,
        raise_status: bool,
        status_ignore: Iterable[int],
    ) -> None:
        """Raise for a refused status (``error_from(response)``) and check the answer's body
        against the spec when ``validate_responses``."""
        ok = 200 <= response.status_code < 300
        if not ok and raise_status and response.status_code not in set(status_ignore):
            raise error_from(response)
        if operation is not None and self.validate_responses and self.specs is not None:
            body = decode_body(response)
            if not isinstance(body, bytes):
                self.specs.check_response(operation, response.status_code, body)


_C = TypeVar("_C")


class CollectionsAsAttributes(Generic[_C]):
    """``handle.name`` is ``handle.collection("name")``; ``_``-names stay attributes."""

    def collection(self, name: str) -> _C:
        raise NotImplementedError

    def __getattr__(self, name: str) -> _C:
        # Only called for names the class does not define, so methods win.
        if name.startswith("_"):
            raise AttributeError(name)
        return self.collection(name)


class Handle:
    """A client and one absolute URL of its API: what every REST handle is built from."""

    _client: ClientBase

    def __init__(self, client: ClientBase, url: str) -> None:
        self._client = client
        self._url = url

    @property
    def url(self) -> str:
        """The absolute URL this handle addresses."""
        return self._url


class NodeBase(Handle):
    """A handle on one URL of the API (no I/O)."""

    @property
    def path(self) -> str:
        """The URL relative to the client's endpoint."""
        return self._url[len(self._client.endpoint) :].lstrip("/")

    def below(self, name: str, what: str) -> str:
        """The URL of ``name`` under this one, checked against the spec when there is one."""
        url = join_url(self._url, check_name(name, what))
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
            and isinstance(other, NodeBase)
            and other._client is self._client
            and other._url == self._url
        )

    def __hash__(self) -> int:
        return hash((type(self), id(self._client), self._url))


class CollectionBase(NodeBase):
    """The collection's URLs and the mapping view's cache bookkeeping (no I/O)."""

    def resource_url(self, resource_id: object) -> str:
        """The URL of ``resource_id`` here (checked against the spec)."""
        url = resource_url(self._url, resource_id)
        self._client.check_path(url, "resource")
        return url

    def remember(self, body: Any) -> None:
        """Cache a body the server sent (a mapping with an ``id``)."""
        if isinstance(body, Mapping) and isinstance(body.get("id"), (str, int)):
            self._client.cache[resource_url(self._url, body["id"])] = body

    def check_bulk(self, payload: Any) -> list[Any]:
        """The bulk payload as a list (``TypeError`` otherwise); the bodies it names are
        forgotten, since the server's copies are about to change."""
        if not isinstance(payload, (list, tuple)):
            raise TypeError(f"a bulk payload must be a list or tuple, not {type(payload)}")
        for entry in payload:
            if isinstance(entry, Mapping) and isinstance(entry.get("id"), (str, int)):
                self._client.cache.pop(resource_url(self._url, entry["id"]), None)
        return list(payload)

    @staticmethod
    def check_create(payload: Any) -> None:
        """``TypeError`` unless ``payload`` is a dict (or None)."""
        if payload is not None and not isinstance(payload, Mapping):
            raise TypeError("create() takes a dict payload; use bulk_create() for a list")

    def cached(self, resource_id: str | int, default: Any = None) -> Any:
        """The cached body of ``resource_id``, or ``default`` (no request)."""
        return self._client.cache.get(resource_url(self._url, resource_id), default)

    def cached_ids(self) -> list[str]:
        """The ids of this collection's cached bodies."""
        prefix = self._url + "/"
        return [
            unquote(url[len(prefix) :])
            for url in self._client.cache
            if url.startswith(prefix) and "/" not in url[len(prefix) :]
        ]

    def forget(self, resource_id: str | int) -> bool:
        """Drop the cached body of ``resource_id``; False if none was cached."""
        url = resource_url(self._url, resource_id)
        return self._client.cache.pop(url, MISSING) is not MISSING

    def clear_cache(self) -> None:
        """Forget every cached body of this collection."""
        prefix = self._url + "/"
        for url in list(self._client.cache):
            if url.startswith(prefix):
                self._client.cache.pop(url, None)

    @staticmethod
    def is_id(resource_id: object) -> bool:
        """Whether ``resource_id`` can name a resource (a non-empty str, or an int)."""
        if isinstance(resource_id, bool) or not isinstance(resource_id, (str, int)):
            return False
        return resource_id != ""


class ResourceBase(NodeBase):
    """The resource's cache bookkeeping (no I/O)."""

    def remember(self, body: Any) -> Any:
        """Cache ``body`` as this resource's (a non-mapping answer forgets it); return it."""
        if isinstance(body, Mapping):
            self._client.cache[self._url] = body
        else:
            self._client.cache.pop(self._url, None)
        return body

    def forget(self) -> None:
        """Drop this resource's cached body."""
        self._client.cache.pop(self._url, None)

    def cached(self) -> Any:
        """The cached body, or :data:`MISSING`."""
        return self._client.cache.get(self._url, MISSING)

    @staticmethod
    def check_fields(fields: tuple[Any, ...]) -> None:
        """``TypeError`` unless every field is a non-empty str."""
        for f in fields:
            if not isinstance(f, str) or not f:
                raise TypeError("values() takes field names as non-empty strings")


class ActionBase(NodeBase):
    """An action's help (no I/O)."""

    def help(self) -> str:
        """Print and return what the OpenAPI spec says about this action."""
        text = self._client.describe(
            self._url, exact=True, title=f"{type(self).__name__} {self.path}"
        )
        print(text)
        return text
