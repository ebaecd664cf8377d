"""Sessions and credentials: the HTTP-only side of a :class:`~settee.client.Client`.

A :class:`ServerSession` holds a backend and gives its auth strategy, the
``requests`` session, ``_session`` login/logout and credential changes. The
client holds one (``client.server_session``) and keeps python-cloudant's
names (``session()``, ``session_login()``, ``r_session``...) as delegations
to it. Each operation needs an HTTP backend and raises ``NotSupported`` on a
local one (``auth`` is then None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import requests
from requests.adapters import BaseAdapter

from settee import errors
from settee.auth.iam import IAMAuth
from settee.auth.protocol import Auth, basic_auth_header
from settee.auth.schemes import BasicAuth, NoAuth, SessionAuth
from settee.http.transport import Transport
from settee.urls import redact_url

if TYPE_CHECKING:
    from settee.backends.base import Backend

__all__ = [
    "AuthenticatedSession",
    "HTTPResponse",
    "HTTPSession",
    "ServerSession",
    "plug",
    "unplug",
]

#: The HTTP library's session class (what ``client.r_session`` is).
HTTPSession = requests.Session
#: The HTTP library's response class (what ``r_session``'s calls return).
HTTPResponse = requests.Response


class AuthenticatedSession(requests.Session):
    """A ``requests.Session`` whose every request goes through ``transport``'s auth flow.

    Raw calls (``session.get(url)``, ``session.post(url, json=...)``) carry the
    client's credentials (cookie login and re-login, basic, IAM token) and
    share its headers, adapters and retry policy; answers are returned
    whatever their status, as ``requests`` does. Closing it leaves the
    transport open.
    """

    def __init__(self, transport: Transport) -> None:
        super().__init__()
        self.transport = transport
        self.headers = transport.session.headers
        self.adapters = transport.session.adapters
        self.verify = transport.session.verify
        self.trust_env = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send ``request`` through the transport's auth flow; return the response."""
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in body)
        timeout = kwargs.get("timeout")
        return self.transport.send_raw(
            request.method or "GET",
            request.url or "",
            headers=dict(request.headers),
            body=body,
            stream=bool(kwargs.get("stream", False)),
            timeout="default" if timeout is None else timeout,
        )


class _Unplugged(BaseAdapter):
    """Mounted by :func:`unplug`: each request fails before it is sent; keeps the
    adapters it replaced for :func:`plug`."""

    def __init__(
        self, error: Callable[[str, str], Exception], adapters: dict[str, BaseAdapter]
    ) -> None:
        super().__init__()
        self.error = error
        self.adapters = adapters

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> NoReturn:
        raise self.error(request.method or "GET", redact_url(request.url or ""))

    def close(self) -> None:
        """Nothing is open."""


def unplug(transport: Transport, error: Callable[[str, str], Exception]) -> None:
    """Until :func:`plug`, every request of ``transport`` raises ``error(method, url)``
    (the URL redacted) before anything is sent: python-cloudant's disconnected client,
    for the compat package. Unplugging twice keeps the first adapters."""
    session = transport.session
    if isinstance(session.adapters.get("http://"), _Unplugged):
        return
    unplugged = _Unplugged(error, dict(session.adapters))
    session.adapters.clear()
    session.mount("http://", unplugged)
    session.mount("https://", unplugged)


def plug(transport: Transport) -> None:
    """Mount the adapters :func:`unplug` took away again (nothing if it did not run)."""
    session = transport.session
    unplugged = session.adapters.get("http://")
    if isinstance(unplugged, _Unplugged):
        session.adapters.clear()
        session.adapters.update(unplugged.adapters)


class ServerSession:
    """The auth strategy, ``_session`` login/logout and credential changes of ``backend``."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def __repr__(self) -> str:
        return f"ServerSession({self.backend.url!r}, auth={self.auth!r})"

    def transport(self, feature: str) -> Transport:
        """The HTTP transport; ``NotSupported`` naming ``feature`` on a local backend."""
        if self.backend.kind != "http":
            raise errors.NotSupported(
                f"{feature} needs an HTTP server; the {self.backend.kind} backend has none"
            )
        transport: Transport = getattr(self.backend, "transport")  # noqa: B009
        return transport

    @property
    def r_session(self) -> HTTPSession:
        """The ``requests.Session`` (HTTP backends only; ``NotSupported`` elsewhere)."""
        return self.transport("r_session").session

    @property
    def auth(self) -> Auth | None:
        """The auth strategy in use (None on a local backend)."""
        if self.backend.kind != "http":
            return None
        return self.transport("auth").auth

    @property
    def admin_party(self) -> bool:
        """Whether no credentials are sent."""
        return self.auth is None or isinstance(self.auth, NoAuth)

    @property
    def is_iam_authenticated(self) -> bool:
        """Whether the strategy is an IBM Cloud IAM API key."""
        return isinstance(self.auth, IAMAuth)

    def info(self) -> dict[str, Any]:
        """``GET /_session``: who the server thinks we are (``userCtx``)."""
        answer: dict[str, Any] = self.transport("session()").json("GET", ("_session",))
        return answer

    def cookie(self) -> str | None:
        """The current ``AuthSession`` cookie value (None unless cookie auth is logged in)."""
        auth = self.auth
        return auth.cookie if isinstance(auth, SessionAuth) else None

    def login(self, user: str | None = None, passwd: str | None = None) -> None:
        """Log in (cookie auth), first switching credentials if given.

        Raises ``Unauthorized`` when the server refuses them. With basic auth
        only the credentials change: every request carries them anyway.
        """
        self.change_credentials(user, passwd)

    def logout(self) -> None:
        """End the cookie session (``DELETE /_session``) and forget the cookie."""
        transport = self.transport("session_logout()")
        auth = transport.auth
        if isinstance(auth, SessionAuth):
            try:
                if auth.cookie is not None:
                    transport.request("DELETE", ("_session",))
            finally:
                auth.clear()

    def basic_auth_str(self) -> str | None:
        """``"Basic <base64>"`` for the user and password (e.g. for replication
        documents); None without a user and password (admin party, IAM, tokens)."""
        auth = self.auth
        if isinstance(auth, (BasicAuth, SessionAuth)):
            return basic_auth_header(auth.user, auth.password)
        return None

    def change_credentials(self, user: str | None = None, auth_token: str | None = None) -> None:
        """Use new credentials (a None keeps the current value); log in again with cookies.

        ``NotSupported`` for strategies without a user and password.
        """
        transport = self.transport("change_credentials()")
        auth = transport.auth
        if isinstance(auth, SessionAuth):
            if user is not None:
                auth.user = user
            if auth_token is not None:
                auth.password = auth_token
            auth.clear()
            # Any request through the strategy logs in first; GET /_session also
            # verifies the new cookie. A refused login raises Unauthorized.
            transport.request("GET", ("_session",))
        elif isinstance(auth, BasicAuth):
            transport.auth = BasicAuth(
                auth.user if user is None else user,
                auth.password if auth_token is None else auth_token,
            )
        else:
            raise errors.NotSupported(
                f"change_credentials() needs basic or cookie auth; this client uses {auth!r}"
            )

    def connect(self) -> None:
        """Start the session: logs in when the strategy is cookie auth; otherwise nothing."""
        if self.backend.kind == "http" and isinstance(self.auth, SessionAuth):
            self.login()
