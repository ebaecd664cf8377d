"""Auth strategies: small objects that never perform I/O.

A strategy implements one generator method, ``auth_flow(request)``, in the
manner of httpx: it yields the request to send (adding headers), receives the
response, and may yield more requests — log in first, log in again after a
401, fetch a token — before it returns. The transport runs the loop and
returns the last response; a strategy never touches a socket, so every flow is
unit-tested offline by driving the generator with ``next()`` and ``send()``.

Write your own by implementing :class:`Auth`::

    class HeaderAuth:
        def auth_flow(self, request):
            request.headers["X-Token"] = load_token()
            yield request

Strategies here: :class:`NoAuth` (admin party), :class:`BasicAuth`,
:class:`SessionAuth` (CouchDB cookie session via ``/_session``),
:class:`IAMAuth` (IBM Cloud IAM API key → bearer token),
:class:`ApiKeyAuth` (a static key header, Connect's ``ApiKey SU-...``),
:class:`BearerAuth`. OAuth2 flows live in :mod:`settee.auth.oauth2`.

Secrets never appear in ``repr()``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any

from settee.auth.protocol import (
    Auth,
    AuthFlow,
    Request,
    ResponseLike,
    basic_auth_header,
    response_json,
)

__all__ = ["ApiKeyAuth", "BasicAuth", "BearerAuth", "NoAuth", "SessionAuth", "coerce_auth"]


# A new cookie starts after ", " with "name=" (an Expires date's ", " is followed by a day number).
_COOKIE_SPLIT_RE = re.compile(r",\s*(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)")


def _set_cookie_values(response: ResponseLike) -> list[str]:
    """Every ``Set-Cookie`` value of ``response``, one cookie each."""
    # urllib3's headers (under requests) have getlist; aiohttp's multidict has getall.
    raw_headers = getattr(getattr(response, "raw", None), "headers", None)
    getlist = getattr(raw_headers, "getlist", None)
    if callable(getlist):
        values = [str(v) for v in getlist("Set-Cookie")]
        if values:
            return values
    getall = getattr(response.headers, "getall", None)
    if callable(getall):
        return [str(v) for v in getall("Set-Cookie", [])]
    joined = response.headers.get("Set-Cookie")
    if not joined:
        return []
    return [part for part in _COOKIE_SPLIT_RE.split(joined) if part.strip()]


class NoAuth:
    """No credentials: CouchDB's admin party, or an open endpoint."""

    def auth_flow(self, request: Request) -> AuthFlow:
        yield request

    def __repr__(self) -> str:
        return "NoAuth()"


class BasicAuth:
    """HTTP basic auth on every request."""

    def __init__(self, user: str, password: str) -> None:
        if not isinstance(user, str) or not isinstance(password, str):
            raise TypeError("BasicAuth(user, password) takes two strings")
        self.user = user
        self.password = password
        self._header = basic_auth_header(user, password)

    def auth_flow(self, request: Request) -> AuthFlow:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"BasicAuth(user={self.user!r}, password='***')"


class BearerAuth:
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token:
            raise TypeError("BearerAuth(token) takes a non-empty string")
        self.token = token

    def auth_flow(self, request: Request) -> AuthFlow:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token='***')"


class ApiKeyAuth:
    """A static key in a header, e.g. Connect's ``ApiKeyAuth("ApiKey SU-000:xxx")``.

    The value is sent as given in ``header`` (default ``Authorization``).
    """

    def __init__(self, key: str, header: str = "Authorization") -> None:
        if not isinstance(key, str) or not key:
            raise TypeError("ApiKeyAuth(key) takes a non-empty string")
        if not isinstance(header, str) or not header:
            raise TypeError("ApiKeyAuth header must be a non-empty string")
        self.key = key
        self.header = header

    def auth_flow(self, request: Request) -> AuthFlow:
        request.headers[self.header] = self.key
        yield request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self.header!r}, key='***')"


class SessionAuth:
    """CouchDB cookie session: ``POST /_session``, then ``Cookie: AuthSession=...``.

    The first request logs in. A 401, or a 403 whose error is
    ``credentials_expired``, makes it log in again and replay the request once
    (when ``auto_renew``, the default). A cookie the server renews in a
    ``Set-Cookie`` is picked up on any response; when the cookie says when it
    expires (``Max-Age``/``Expires``), it is refreshed ``refresh_margin``
    seconds before that. Thread-safe.
    """

    cookie_name = "AuthSession"

    def __init__(
        self,
        user: str,
        password: str,
        *,
        auto_renew: bool = True,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(user, str) or not isinstance(password, str):
            raise TypeError("SessionAuth(user, password) takes two strings")
        self.user = user
        self.password = password
        self.auto_renew = auto_renew
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._cookie: str | None = None
        self._expires_at: float | None = None

    def __repr__(self) -> str:
        return f"SessionAuth(user={self.user!r}, password='***')"

    @property
    def cookie(self) -> str | None:
        """The current ``AuthSession`` value, or None before login."""
        return self._cookie

    def clear(self) -> None:
        """Forget the session cookie (after a logout)."""
        with self._lock:
            self._cookie = None
            self._expires_at = None

    def login_request(self, base_url: str) -> Request:
        """The ``POST /_session`` request that logs in."""
        body = json.dumps({"name": self.user, "password": self.password}).encode()
        return Request(
            "POST",
            f"{base_url}/_session",
            {"Content-Type": "application/json", "Accept": "application/json"},
            body,
            base_url,
        )

    def handle_login(self, response: ResponseLike) -> bool:
        """Take the cookie from a login response; False if the login failed (non-2xx).

        A 2xx login without a cookie (a proxy stripped it) still counts as a
        login: the request goes out without a cookie and the server's answer
        to it is what the caller sees.
        """
        if not 200 <= response.status_code < 300:
            self.clear()
            return False
        self.capture(response)
        return True

    def capture(self, response: ResponseLike) -> bool:
        """Pick up a (renewed) ``AuthSession`` from ``Set-Cookie``; True if one was found.

        Several ``Set-Cookie`` headers (``requests`` joins them with ``", "``)
        are taken apart first; the last ``AuthSession`` wins, so a logout's
        clearing cookie (empty value) forgets the session.
        """
        morsel = None
        for raw in _set_cookie_values(response):
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(raw)
            except CookieError:
                continue
            found = jar.get(self.cookie_name)
            if found is not None:
                morsel = found
        if morsel is None:
            return False
        expires_at: float | None = None
        if morsel["max-age"]:
            try:
                expires_at = self._clock() + float(morsel["max-age"])
            except ValueError:
                expires_at = None
        elif morsel["expires"]:
            try:
                expires_at = parsedate_to_datetime(morsel["expires"]).timestamp()
            except (TypeError, ValueError):
                expires_at = None
        with self._lock:
            self._cookie = morsel.value or None
            self._expires_at = expires_at if self._cookie is not None else None
        return True

    def _needs_login(self) -> bool:
        if self._cookie is None:
            return True
        return self._expires_at is not None and (
            self._clock() >= self._expires_at - self.refresh_margin
        )

    def _with_cookie(self, request: Request) -> Request:
        sent = request.copy_with()
        if self._cookie is not None:
            sent.headers["Cookie"] = f"{self.cookie_name}={self._cookie}"
        return sent

    @staticmethod
    def _expired(response: ResponseLike) -> bool:
        if response.status_code == 401:
            return True
        if response.status_code == 403:
            body = response_json(response)
            return isinstance(body, dict) and body.get("error") == "credentials_expired"
        return False

    def auth_flow(self, request: Request) -> AuthFlow:
        if self._needs_login() and (self.auto_renew or self._cookie is None):
            login = yield self.login_request(request.base_url)
            if not self.handle_login(login):
                return  # the transport raises Unauthorized from the login answer
        response = yield self._with_cookie(request)
        self.capture(response)
        if self.auto_renew and self._expired(response):
            login = yield self.login_request(request.base_url)
            if not self.handle_login(login):
                return
            response = yield self._with_cookie(request)
            self.capture(response)


def coerce_auth(auth: Any) -> Auth:
    """Normalise ``auth=``: None → NoAuth, ``(user, password)`` → BasicAuth, a strategy as is."""
    if auth is None:
        return NoAuth()
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(x, str) for x in auth):
        return BasicAuth(auth[0], auth[1])
    if isinstance(auth, Auth):
        return auth
    raise TypeError(
        "auth must be None, a (user, password) tuple, or a strategy with an "
        f"auth_flow(request) generator method (see settee.auth), not {type(auth).__name__}"
    )
