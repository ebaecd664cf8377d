"""The auth strategy protocol and what a strategy sees: requests and responses.

:class:`Auth` is the one-method protocol every strategy implements;
:class:`Request` and :class:`ResponseLike` are the request it adds headers
to and the response it may read. The token-endpoint helpers are shared by
:class:`~settee.auth.IAMAuth` and the :mod:`settee.auth.oauth2` strategies.
Re-exported from :mod:`settee.auth`.
"""

from __future__ import annotations

import base64
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

from settee.urls import redact_url

__all__ = ["Auth", "AuthFlow", "Request", "ResponseLike", "basic_auth_header"]


#: Headers whose values are credentials: masked in ``repr(Request)``.
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-auth-token", "x-api-key"}
)


@dataclass(repr=False)
class Request:
    """A request as strategies see it; the transport turns it into a real one.

    ``base_url`` is the server root the request belongs to (no trailing
    slash), so a strategy can address ``/_session`` on the same server.
    Its repr shows no secret: the URLs redacted, credential headers masked,
    the body (a login may carry a password) as its length only.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    base_url: str = ""

    def __repr__(self) -> str:
        headers = {k: "***" if k.lower() in _SECRET_HEADERS else v for k, v in self.headers.items()}
        body = None if self.body is None else f"<{len(self.body)} bytes>"
        return (
            f"Request({self.method!r}, {redact_url(self.url)!r}, headers={headers!r}, "
            f"body={body}, base_url={redact_url(self.base_url)!r})"
        )

    def copy_with(self, **changes: Any) -> Request:
        """A copy with ``changes`` applied (headers are copied, never shared)."""
        changes.setdefault("headers", dict(self.headers))
        return replace(self, **changes)


class ResponseLike(Protocol):
    """What a strategy may read from a response (``requests.Response`` fits)."""

    status_code: int

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


#: The generator type of ``auth_flow``.
AuthFlow = Generator[Request, ResponseLike, None]


@runtime_checkable
class Auth(Protocol):
    """The strategy protocol: one I/O-free generator method."""

    def auth_flow(self, request: Request) -> AuthFlow:
        """Yield requests to send; receive each response; return when done."""
        ...


def basic_auth_header(user: str, password: str) -> str:
    """``"Basic <base64(user:password)>"``."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _json_body(response: ResponseLike) -> Any:
    """The response's JSON body, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def _token_endpoint_request(
    token_url: str, form: Mapping[str, str], authorization: str | None = None
) -> Request:
    """The form-encoded ``POST`` to a token endpoint (IAM, OAuth2), asking for JSON."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    if authorization is not None:
        headers["Authorization"] = authorization
    return Request("POST", token_url, headers, urlencode(form).encode(), token_url)


def _with_authorization(request: Request, value: str) -> Request:
    """A copy of ``request`` carrying ``Authorization: value`` (the original is replayed)."""
    sent = request.copy_with()
    sent.headers["Authorization"] = value
    return sent
