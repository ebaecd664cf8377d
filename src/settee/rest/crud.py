"""CloudCIX/CRUDs-style verbs: ``create``/``read``/``update``/``partial_update``/``delete``.

:class:`Endpoint` binds the verbs to one URL (``client.crud("api/products/")``,
``resource.crud``); :class:`~settee.rest.CrudClient` (in :mod:`settee.rest.client`)
takes the URI per call, as CRUDs' ``Client`` does::

    api = CrudClient("https://host/api", auth=BearerAuth(token))
    api.update("products/PRD-1/", {"name": "x"})                # PATCH
    api.update("products/PRD-1/", full_body, replace=True)      # PUT
    api.create("products/PRD-1/attachments/", {"note": "hi"},
               files={"file": ("report.pdf", data, "application/pdf")})
    everything = api.get_all("products/", {"status": "draft"})  # follows every page

Answers are decoded: the JSON value if the body is JSON, else the raw bytes
(``b""`` for an empty body). A non-2xx answer raises the :mod:`settee.errors`
class unless ``raise_status=False`` or its status is in ``status_ignore``;
then the decoded error body is returned.
"""

from __future__ import annotations

import builtins
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import urljoin, urlsplit

from settee import errors
from settee.http.multipart import FormValue, encode_multipart
from settee.http.transport import Headers, Response, Transport
from settee.pages.paging import PlanRun
from settee.rest._base import Handle
from settee.rest._http import decode_body, join_url, with_params
from settee.rest.resourceset import parse_content_range
from settee.urls import redact_url

if TYPE_CHECKING:
    from settee.http.async_transport import AsyncResponse
    from settee.rest.client import Client

__all__ = [
    "CRUDS_RETRY_STATUS_CODES",
    "AllPlan",
    "Endpoint",
    "EndpointBase",
    "FileValue",
    "HeadResult",
    "PageCall",
    "PageItems",
]

_E = TypeVar("_E", bound="EndpointBase")

#: CRUDs' default retry statuses.
CRUDS_RETRY_STATUS_CODES: tuple[int, ...] = (504, 503, 502, 500, 429, 425, 408)

#: A file given to ``files=``: its data, ``(filename, data)`` or ``(..., content_type)``.
FileValue = FormValue


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL without userinfo, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]


def _shown_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` for a message (never its userinfo, path or query)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "an unparsable URL"
    shown = f"{parts.scheme}://{parts.hostname or ''}" + (f":{port}" if port is not None else "")
    return shown + " (with userinfo)" if "@" in parts.netloc else shown


def _link_key(url: str) -> tuple[str, ...]:
    """A page URL compared case-insensitively in scheme and host, default port filled in."""
    parts = urlsplit(url)
    origin = _origin(url)
    where = f"{origin[0]}://{origin[1]}:{origin[2]}" if origin else parts.netloc
    return (where, parts.path or "/", parts.query)


class HeadResult(NamedTuple):
    """What ``head()`` returns: the status code and the response headers."""

    status: int
    headers: Headers[str]


def _form_value(value: Any) -> str | bytes:
    if isinstance(value, (str, bytes)):
        return value
    return Transport.dumps(value).decode()


def _multipart(data: Any, files: Mapping[str, FileValue]) -> tuple[bytes, str]:
    if not isinstance(files, Mapping):
        raise TypeError(f"files must be a mapping of field name to value, not {type(files)}")
    fields: dict[str, FormValue] = {}
    if data is not None:
        if not isinstance(data, Mapping):
            raise TypeError("with files=, data must be a mapping of form fields")
        fields.update({str(k): _form_value(v) for k, v in data.items()})
    for name, value in files.items():
        if isinstance(value, tuple):
            if len(value) not in (2, 3) or not all(isinstance(v, (str, bytes)) for v in value):
                raise TypeError(
                    f"file {name!r}: expected (filename, data) or (filename, data, content_type)"
                )
        elif not isinstance(value, (str, bytes)):
            raise TypeError(f"file {name!r}: expected str, bytes or a tuple, not {type(value)}")
        fields[name] = value
    return encode_multipart(fields)


@dataclass(frozen=True)
class PageCall:
    """A page request the paging plan wants sent: GET with ``params`` or of ``url``."""

    params: Mapping[str, Any] | None = None
    url: str | None = None


@dataclass(frozen=True)
class PageItems:
    """Items the paging plan hands to the caller."""

    items: builtins.list[Any]


#: :meth:`EndpointBase.plan_all`: yields calls and items, is sent each call's response.
AllPlan = Generator["PageCall | PageItems", "Response | AsyncResponse", None]


class EndpointBase(Handle):
    """An Endpoint's URL (the one its verbs act on), request bodies and the plan of
    ``iter_all`` (no I/O)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"

    def __truediv__(self: _E, segment: str | int) -> _E:
        """``endpoint / "42"``: the URL one (percent-encoded) segment below, trailing ``/`` kept."""
        trailing = self._url.endswith("/")
        url = join_url(self._url, str(segment))
        return type(self)(self._client, url + "/" if trailing else url)

    def _request(
        self,
        method: str,
        *,
        data: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, FileValue] | None = None,
        url: str | None = None,
    ) -> dict[str, Any]:
        """The arguments of the client's ``send`` for one verb."""
        json_body: Any = None
        raw: bytes | str | None = None
        headers: dict[str, str] = {}
        if files:
            raw, headers["Content-Type"] = _multipart(data, files)
        elif isinstance(data, (bytes, str)):
            raw = data
        else:
            json_body = data
        client = self._client
        return {
            "method": method,
            "url": with_params(url or self._url, params),
            "json_body": json_body,
            "data": raw,
            "headers": headers,
            "raise_status": client.raise_status,
            "status_ignore": client.status_ignore,
        }

    def plan_all(self, params: Mapping[str, Any] | None = None) -> AllPlan:
        """Which pages ``iter_all`` fetches and which items it yields, told each response."""
        base = dict(params or {})
        response = yield PageCall(params=base)
        body = decode_body(response, empty=[])
        if isinstance(body, list):
            yield PageItems(body)
            content_range = parse_content_range(response.headers.get("Content-Range"))
            if content_range is None or content_range[2] is None or not body:
                return
            total, page = content_range[2], len(body)
            offset = content_range[1] + 1
            while offset < total:
                response = yield PageCall(params={**base, "limit": page, "offset": offset})
                chunk = decode_body(response, empty=[])
                if not isinstance(chunk, list) or not chunk:
                    return
                yield PageItems(chunk)
                offset += len(chunk)
            return
        if isinstance(body, dict) and isinstance(body.get("results"), list):
            page_url = str(response.url or "") or with_params(self._url, base)
            followed = {_link_key(page_url)}
            while True:
                yield PageItems(body["results"])
                link = body.get("next")
                if not link or not body["results"]:
                    return
                page_url = self._next_url(page_url, link, followed)
                body = decode_body((yield PageCall(url=page_url)), empty={})
                if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                    return
        if isinstance(body, dict) and isinstance(body.get("content"), list):
            seen = 0
            page_no = int(base.get("page", 0))
            while True:
                content = body["content"]
                yield PageItems(content)
                seen += len(content)
                meta = body.get("_metadata") or {}
                records: Any = meta.get("total_records") if isinstance(meta, dict) else None
                if not content or not isinstance(records, int) or seen >= records:
                    return
                page_no += 1
                limit = meta.get("limit", len(content))
                call = PageCall(params={**base, "page": page_no, "limit": limit})
                body = decode_body((yield call), empty={})
                if not isinstance(body, dict) or not isinstance(body.get("content"), list):
                    return
        raise errors.TransportError(
            f"get_all: {redact_url(self._url)} answered a {type(body).__name__} that is "
            "neither a list nor a known page envelope",
            method="GET",
            url=redact_url(self._url),
        )

    def _next_url(self, page_url: str, link: object, followed: set[tuple[str, ...]]) -> str:
        """The absolute URL of a server-sent ``next`` link, if it may be followed.

        Credentials go with every request, so a link is followed only within
        the origin of this endpoint; anything else raises before it is sent.
        """
        if not isinstance(link, str):
            raise errors.TransportError(
                f"get_all: the next link of {redact_url(page_url)} is a "
                f"{type(link).__name__}, not a URL",
                method="GET",
                url=redact_url(page_url),
            )
        url = urljoin(page_url, link)
        origin = _origin(url)
        if origin is None or origin != _origin(self._url):
            shown = _shown_origin(url)
            raise errors.TransportError(
                f"get_all: the next link of {redact_url(page_url)} points to another origin, "
                f"{shown}; it is not followed, so no credentials are sent there (links are "
                f"followed only within {_shown_origin(self._url)})",
                method="GET",
                url=redact_url(page_url),
            )
        key = _link_key(url)
        if key in followed:
            raise errors.TransportError(
                f"get_all: the next link of {redact_url(page_url)} names a page already "
                "followed; the server's pages loop",
                method="GET",
                url=redact_url(url),
            )
        followed.add(key)
        return url


class Endpoint(EndpointBase):
    """CRUD verbs on one URL; options (``raise_status``, ``status_ignore``) come from the client."""

    _client: Client

    def _send(self, method: str, **kwargs: Any) -> Response:
        return self._client.send(**self._request(method, **kwargs))

    def _call(self, method: str, **kwargs: Any) -> Any:
        return decode_body(self._send(method, **kwargs), empty=b"")

    # -- verbs -----------------------------------------------------------------------
    def create(
        self,
        data: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, FileValue] | None = None,
    ) -> Any:
        """POST ``data`` (JSON; str/bytes sent as is; form fields when ``files`` is given)."""
        return self._call("POST", data=data, params=params, files=files)

    def read(self, params: Mapping[str, Any] | None = None) -> Any:
        """GET this URL; return the decoded answer."""
        return self._call("GET", params=params)

    def list(self, params: Mapping[str, Any] | None = None) -> Any:
        """GET this (collection) URL with filter ``params``; return one decoded page."""
        return self._call("GET", params=params)

    def update(
        self,
        data: Any,
        params: Mapping[str, Any] | None = None,
        replace: bool = False,
        files: Mapping[str, FileValue] | None = None,
    ) -> Any:
        """PATCH ``data`` (the fields given change); PUT it instead when ``replace=True``."""
        return self._call("PUT" if replace else "PATCH", data=data, params=params, files=files)

    def partial_update(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """PATCH ``data``: the fields not sent are left as they are."""
        return self._call("PATCH", data=data, params=params)

    def delete(self, params: Mapping[str, Any] | None = None) -> Any:
        """DELETE this URL; return the decoded answer (``b""`` for a 204)."""
        return self._call("DELETE", params=params)

    def head(self, params: Mapping[str, Any] | None = None) -> HeadResult:
        """HEAD this URL; return its status and headers (raises on 4xx/5xx like the others)."""
        response = self._send("HEAD", params=params)
        return HeadResult(response.status_code, Headers(response.headers))

    def iter_all(self, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Yield every item of every page, one page in memory at a time.

        Understands a JSON list with ``Content-Range`` (limit/offset paging),
        DRF's ``{"count", "next", "results"}`` (follows ``next``) and
        CloudCIX's ``{"content", "_metadata": {"total_records"}}`` (page/limit).
        A non-list answer without a known envelope raises ``TransportError``.
        A ``next`` link is followed only within the origin (scheme, host,
        port) of this endpoint's URL, relative links resolved against the
        page; one to another origin, with userinfo, or naming a page already
        followed raises ``TransportError`` before anything is sent.
        """
        with PlanRun(self.plan_all(params)) as run:
            for step in run:
                if isinstance(step, PageItems):
                    yield from step.items
                else:
                    run.reply = self._send("GET", params=step.params, url=step.url)

    def get_all(self, params: Mapping[str, Any] | None = None) -> builtins.list[Any]:
        """Every item of every page as one list (see :meth:`iter_all`)."""
        return list(self.iter_all(params))
