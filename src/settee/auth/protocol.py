"""The auth strategy protocol and what a strategy sees: requests and responses.

:class:`Auth` is the one-method protocol every strategy implements;
:class:`Request` and :class:`ResponseLike` are the request it adds headers
to and the response it may read. The token-endpoint helpers are shared by
:class:`~settee.auth.IAMAuth` and the :mod:`settee.auth.oauth2` strategies.
Re-exported from :mod:`settee.auth`.
"""

from __future__ import annotations

import base64
import threading
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


def response_json(response: ResponseLike) -> Any:
    """The response's JSON body, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def token_endpoint_request(
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


def with_authorization(request: Request, value: str) -> Request:
    """A copy of ``request`` carrying ``Authorization: value`` (the original is replayed)."""
    sent = request.copy_with()
    sent.headers["Authorization"] = value
    return sent


class TokenFlow:
    """The flow every token scheme shares (IAM, the OAuth2 grants).

    Before a request, a token that is not usable is fetched under the lock
    (held across the yields: the transport drives the flow to completion in the
    calling thread, and other threads wait for this token rather than fetch
    their own). The request goes with it; on a 401 the token used is expired
    (unless another thread replaced it meanwhile), a token fetched once more,
    and the request sent again. Subclasses say what the token is and how to get
    one: ``_current``, ``_usable``, ``_fetch``, ``_expire``, ``_with_token``.
    """

    _lock: threading.Lock

    def _current(self) -> object:
        """The token in use (compared by identity), None before the first."""
        raise NotImplementedError

    def _usable(self) -> bool:
        """Whether the token in use may be sent (present, not due for refresh)."""
        raise NotImplementedError

    def _fetch(self) -> Generator[Request, ResponseLike, bool]:
        """Ask the token endpoint (the lock held); True when a token was stored."""
        raise NotImplementedError

    def _expire(self, used: object) -> None:
        """The server refused ``used`` (the token in use, the lock held)."""
        raise NotImplementedError

    def _with_token(self, request: Request) -> Request:
        """``request`` carrying the token in use."""
        raise NotImplementedError

    def _obtain(self, stale: object) -> Generator[Request, ResponseLike, bool]:
        with self._lock:
            current = self._current()
            if current is not None and current is not stale and self._usable():
                return True  # another thread got one meanwhile
            return (yield from self._fetch())

    def auth_flow(self, request: Request) -> AuthFlow:
        """The request with a token; fetched first when due, once more on a 401."""
        if not self._usable() and not (yield from self._obtain(self._current())):
            return  # the transport raises from the token endpoint's answer
        used = self._current()
        response = yield self._with_token(request)
        if response.status_code == 401:
            with self._lock:
                if used is not None and self._current() is used:
                    self._expire(used)
            if not (yield from self._obtain(used)):
                return
            yield self._with_token(request)
