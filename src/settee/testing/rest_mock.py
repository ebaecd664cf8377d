"""A mocker for :mod:`settee.rest`, in the spirit of CloudBlue Connect's ``ConnectClientMocker``.

Expected calls are registered along the same fluent path the code under test
uses, and answered in-process at the transport boundary
(:mod:`settee.http.intercept`): auth, URL quoting, RQL rendering, error
mapping and Content-Range paging all run as they do against a server::

    with RestMocker("https://api.example.com/public/v1") as mocker:
        mocker.products["PRD-1"].get(return_value={"id": "PRD-1"})
        mocker.products.filter(status="published").mock(return_value=[{"id": "PRD-1"}])
        client = settee.rest.Client("https://api.example.com/public/v1", auth="ApiKey x")
        assert client.products["PRD-1"].get() == {"id": "PRD-1"}

A call nothing was registered for raises :class:`UnexpectedCall` (an
``AssertionError``) where it is made, and again from :meth:`RestMocker.verify`
(run when the ``with`` block ends, and by the ``settee_rest_mock`` fixture),
so catching it in the code under test does not hide it; ``verify`` also
fails for registered calls that were never made. Clients must be created
while the mocker is active.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from settee.http.intercept import Answer, InterceptedRequest, intercept
from settee.rest.client import Client
from settee.rest.resourceset import ResourceSet
from settee.urls import quote_segment

__all__ = ["Expectation", "RestMocker", "UnexpectedCall"]

DEFAULT_ENDPOINT = "https://rest.settee.test/public/v1"

_MISSING: Any = object()


class UnexpectedCall(AssertionError):
    """A request the mocker has no registration for (or a registered call never made)."""


def response_json(value: Any) -> tuple[bytes, dict[str, str]]:
    if value is None:
        return b"", {}
    if isinstance(value, bytes):
        return value, {"Content-Type": "application/octet-stream"}
    return json.dumps(value).encode("utf-8"), {"Content-Type": "application/json"}


def _split(url: str) -> tuple[str, list[str], dict[str, str]]:
    # (URL without query, the query's terms except limit/offset, limit/offset)
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))
    terms: list[str] = []
    paging: dict[str, str] = {}
    for term in parts.query.split("&") if parts.query else []:
        key, _, value = term.partition("=")
        if key in ("limit", "offset"):
            paging[key] = value
        else:
            terms.append(term)
    return base, terms, paging


@dataclass
class Expectation:
    """One registered call and its answer; ``calls`` counts the requests it served."""

    method: str
    url: str
    terms: list[str]
    return_value: Any = None
    status_code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    match_body: Any = _MISSING
    paged: bool = False
    total: int | None = None
    calls: int = 0

    def describe(self) -> str:
        query = "&".join(self.terms)
        what = f"{self.method} {self.url}{'?' + query if query else ''}"
        if self.match_body is not _MISSING:
            what += f" with body {json.dumps(self.match_body)}"
        return what

    def matches(self, method: str, url: str, terms: list[str], body: Any) -> bool:
        if method != self.method or url != self.url or terms != self.terms:
            return False
        return self.match_body is _MISSING or body == self.match_body

    def answer(self, paging: Mapping[str, str]) -> Answer:
        if not self.paged:
            body, headers = response_json(self.return_value)
            return Answer(self.status_code, {**headers, **self.headers}, body)
        items = list(self.return_value or [])
        total = len(items) if self.total is None else self.total
        offset = int(paging.get("offset", "0") or 0)
        limit = int(paging.get("limit", str(len(items))) or 0)
        page = items[offset : offset + limit]
        last = offset + len(page) - 1 if page else offset
        body, headers = response_json(page)
        headers["Content-Range"] = f"items {offset}-{last}/{total}"
        return Answer(self.status_code, {**headers, **self.headers}, body)


class RestMocker:
    """Registers expected REST calls and answers them in-process (see the module docs).

    ``endpoint`` is the API root the code under test connects to. Use it as
    a context manager, or :meth:`start` / :meth:`stop`; :meth:`client` gives
    a :class:`settee.rest.Client` on the endpoint.
    """

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._shape = Client(self.endpoint)  # builds URLs and RQL; never sends
        self._expectations: list[Expectation] = []
        self._unexpected: list[str] = []
        self._lock = threading.Lock()
        self._context: Any = None
        #: Every request answered or refused: ``(method, url)``.
        self.requests: list[tuple[str, str]] = []

    def __repr__(self) -> str:
        return f"RestMocker({self.endpoint!r}, {len(self._expectations)} expected)"

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> RestMocker:
        """Answer requests under the endpoint from now on (clients created after this)."""
        if self._context is None:
            parts = urlsplit(self.endpoint)
            prefix = f"{parts.scheme}://{parts.netloc}"
            self._context = intercept(prefix, self._handle)
            self._context.__enter__()
        return self

    def stop(self) -> None:
        """Stop answering (clients created while active keep the mocker)."""
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)

    def __enter__(self) -> RestMocker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is None:
            self.verify()

    def client(self, auth: Any = "ApiKey mocked", **options: Any) -> Client:
        """A :class:`settee.rest.Client` on the endpoint (options as for the Client)."""
        return Client(self.endpoint, auth, **options)

    def verify(self) -> None:
        """``UnexpectedCall`` if a request had no registration or a registration no request."""
        problems = [f"unexpected call: {call}" for call in self._unexpected]
        problems += [
            f"expected call never made: {e.describe()}" for e in self._expectations if not e.calls
        ]
        if problems:
            raise UnexpectedCall("; ".join(problems))

    # -- registering ------------------------------------------------------------------
    def expect(
        self,
        method: str,
        path: str,
        *,
        return_value: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        match_body: Any = _MISSING,
        params: Mapping[str, Any] | None = None,
    ) -> Expectation:
        """Register ``method path`` (relative to the endpoint, or absolute) with its answer."""
        url = self._shape.url(path)
        if params:
            url += ("&" if "?" in url else "?") + urlencode(list(params.items()), doseq=True)
        return self._register(
            method,
            url,
            return_value=return_value,
            status_code=status_code,
            headers=headers,
            match_body=match_body,
        )

    def _register(
        self,
        method: str,
        url: str,
        *,
        return_value: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        match_body: Any = _MISSING,
        paged: bool = False,
        total: int | None = None,
    ) -> Expectation:
        base, terms, _ = _split(url)
        expectation = Expectation(
            method=method.upper(),
            url=base,
            terms=terms,
            return_value=return_value,
            status_code=status_code,
            headers=dict(headers or {}),
            match_body=match_body,
            paged=paged,
            total=total,
        )
        with self._lock:
            self._expectations.append(expectation)
        return expectation

    # -- the fluent path ----------------------------------------------------------------
    def collection(self, name: str) -> MockCollection:
        """``mocker.collection("products")`` (also ``mocker.products``)."""
        return MockCollection(self, self._shape.collection(name).url)

    def ns(self, name: str) -> MockNS:
        """``mocker.ns("devops")`` (also ``mocker("devops")``)."""
        return MockNS(self, self._shape.ns(name).url)

    def __call__(self, name: str) -> MockNS:
        return self.ns(name)

    def __getattr__(self, name: str) -> MockCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.collection(name)

    # -- answering ----------------------------------------------------------------------
    def _handle(self, request: InterceptedRequest) -> Answer:
        base, terms, paging = _split(request.url)
        body: Any = None
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                body = request.body
        with self._lock:
            self.requests.append((request.method, request.url))
            found = [e for e in self._expectations if e.matches(request.method, base, terms, body)]
            chosen = next((e for e in found if not e.calls), found[-1] if found else None)
            if chosen is None:
                query = "&".join(terms)
                call = f"{request.method} {base}{'?' + query if query else ''}"
                if body is not None:
                    call += f" with body {body!r}"
                self._unexpected.append(call)
                known = "; ".join(e.describe() for e in self._expectations) or "nothing"
                raise UnexpectedCall(f"unexpected call: {call} (registered: {known})")
            chosen.calls += 1
        return chosen.answer(paging)


class _MockNode:
    def __init__(self, mocker: RestMocker, url: str) -> None:
        self._mocker = mocker
        self._url = url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"

    def _verb(self, method: str, kwargs: Mapping[str, Any]) -> Expectation:
        unknown = set(kwargs) - {"return_value", "status_code", "headers", "match_body"}
        if unknown:
            raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")
        return self._mocker._register(method, self._url, **kwargs)

    def _child(self, name: str) -> str:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a name or id must be a non-empty str, not {name!r}")
        return self._url.rstrip("/") + "/" + quote_segment(name)


class _Collections(_MockNode):
    def collection(self, name: str) -> MockCollection:
        return MockCollection(self._mocker, self._child(name))

    def __getattr__(self, name: str) -> MockCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.collection(name)


class MockNS(_Collections):
    """A namespace on the mocker: its collections and nested namespaces."""

    def ns(self, name: str) -> MockNS:
        return MockNS(self._mocker, self._child(name))

    def __call__(self, name: str) -> MockNS:
        return self.ns(name)


class MockCollection(_MockNode):
    """A collection on the mocker: resources, actions, result sets, create/bulk verbs."""

    def resource(self, resource_id: str | int) -> MockResource:
        return MockResource(self._mocker, self._child(str(resource_id)))

    def __getitem__(self, resource_id: str | int) -> MockResource:
        return self.resource(resource_id)

    def action(self, name: str) -> MockAction:
        return MockAction(self._mocker, self._child(name))

    def __call__(self, name: str) -> MockAction:
        return self.action(name)

    def all(self) -> MockResourceSet:
        return MockResourceSet(self._mocker, ResourceSet(self._mocker._shape, self._url))

    def filter(self, *queries: Any, **lookups: Any) -> MockResourceSet:
        return self.all().filter(*queries, **lookups)

    def create(self, **answer: Any) -> Expectation:
        """Expect a POST of a new resource (``match_body=`` to check the payload)."""
        answer.setdefault("status_code", 201)
        return self._verb("POST", answer)

    def bulk_create(self, **answer: Any) -> Expectation:
        answer.setdefault("status_code", 201)
        return self._verb("POST", answer)

    def bulk_update(self, **answer: Any) -> Expectation:
        return self._verb("PUT", answer)

    def bulk_delete(self, **answer: Any) -> Expectation:
        return self._verb("DELETE", answer)


class MockResource(_Collections):
    """A resource on the mocker: ``get``/``update``/``delete``, actions, nested collections."""

    def get(self, **answer: Any) -> Expectation:
        """Expect a GET (``return_value=``, ``status_code=``, ``headers=``)."""
        return self._verb("GET", answer)

    def update(self, **answer: Any) -> Expectation:
        return self._verb("PUT", answer)

    def delete(self, **answer: Any) -> Expectation:
        answer.setdefault("status_code", 204)
        return self._verb("DELETE", answer)

    def action(self, name: str) -> MockAction:
        return MockAction(self._mocker, self._child(name))

    def __call__(self, name: str) -> MockAction:
        return self.action(name)


class MockAction(_MockNode):
    """An action on the mocker, by verb."""

    def get(self, **answer: Any) -> Expectation:
        return self._verb("GET", answer)

    def post(self, **answer: Any) -> Expectation:
        return self._verb("POST", answer)

    def put(self, **answer: Any) -> Expectation:
        return self._verb("PUT", answer)

    def delete(self, **answer: Any) -> Expectation:
        return self._verb("DELETE", answer)


class MockResourceSet:
    """A result set on the mocker: build it as the code under test does, then ``mock()``."""

    def __init__(self, mocker: RestMocker, shape: ResourceSet) -> None:
        self._mocker = mocker
        self._shape = shape

    def __repr__(self) -> str:
        return f"MockResourceSet({self._shape.rql()!r})"

    def filter(self, *queries: Any, **lookups: Any) -> MockResourceSet:
        return MockResourceSet(self._mocker, self._shape.filter(*queries, **lookups))

    def all(self) -> MockResourceSet:
        return self

    def order_by(self, *fields: str) -> MockResourceSet:
        return MockResourceSet(self._mocker, self._shape.order_by(*fields))

    def select(self, *fields: str) -> MockResourceSet:
        return MockResourceSet(self._mocker, self._shape.select(*fields))

    def search(self, term: str) -> MockResourceSet:
        return MockResourceSet(self._mocker, self._shape.search(term))

    def configure(self, **kwargs: Any) -> MockResourceSet:
        return MockResourceSet(self._mocker, self._shape.configure(**kwargs))

    def mock(
        self,
        *,
        return_value: list[Any] | None = None,
        total: int | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Expectation:
        """Expect the set to be read: every page (``limit``/``offset``) is cut from
        ``return_value`` and carries ``Content-Range: items a-b/<total>``
        (``total`` defaults to the number of items)."""
        return self._mocker._register(
            "GET",
            self._shape.url_for(1, 0),
            return_value=list(return_value or []),
            status_code=status_code,
            headers=headers,
            paged=True,
            total=total,
        )

    def count(self, *, return_value: int) -> Expectation:
        """Expect ``count()``: a ``limit=0`` request answered with the total ``return_value``."""
        return self.mock(return_value=[], total=return_value)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("a MockResourceSet registers calls; call .mock(return_value=[...])")
