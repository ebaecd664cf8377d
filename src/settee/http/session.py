"""Sessions and credentials: the HTTP-only side of a :class:`~settee.client.Client`.

:class:`SessionMixin` gives the client its auth strategy, the ``requests``
session, ``_session`` login/logout and credential changes. Each needs an HTTP
backend and raises ``NotSupported`` on a local one (``auth`` is then None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from settee import errors
from settee.auth.iam import IAMAuth
from settee.auth.protocol import Auth, basic_auth_header
from settee.auth.schemes import BasicAuth, NoAuth, SessionAuth
from settee.http.transport import Transport

if TYPE_CHECKING:
    from settee.backends.base import Backend

__all__ = ["SessionMixin"]


class SessionMixin:
    """The auth strategy, ``_session`` login/logout and credential changes (HTTP)."""

    if TYPE_CHECKING:
        # Provided by Client.
        backend: Backend

    # -- HTTP-only plumbing -----------------------------------------------------
    def _http_transport(self, feature: str) -> Transport:
        if self.backend.kind != "http":
            raise errors.NotSupported(
                f"{feature} needs an HTTP server; the {self.backend.kind} backend has none"
            )
        transport: Transport = getattr(self.backend, "transport")  # noqa: B009
        return transport

    @property
    def r_session(self) -> Any:
        """The ``requests.Session`` (HTTP backends only; ``NotSupported`` elsewhere)."""
        return self._http_transport("r_session").session

    @property
    def auth(self) -> Auth | None:
        """The auth strategy in use (None on a local backend)."""
        if self.backend.kind != "http":
            return None
        return self._http_transport("auth").auth

    @property
    def admin_party(self) -> bool:
        """Whether the client sends no credentials."""
        return self.auth is None or isinstance(self.auth, NoAuth)

    @property
    def is_iam_authenticated(self) -> bool:
        """Whether the client authenticates with an IBM Cloud IAM API key."""
        return isinstance(self.auth, IAMAuth)

    # -- sessions and credentials (HTTP) ------------------------------------------
    def session(self) -> dict[str, Any]:
        """``GET /_session``: who the server thinks we are (``userCtx``)."""
        answer: dict[str, Any] = self._http_transport("session()").json("GET", ("_session",))
        return answer

    def session_cookie(self) -> str | None:
        """The current ``AuthSession`` cookie value (None unless cookie auth is logged in)."""
        auth = self.auth
        return auth.cookie if isinstance(auth, SessionAuth) else None

    def session_login(self, user: str | None = None, passwd: str | None = None) -> None:
        """Log in (cookie auth), first switching credentials if given.

        Raises ``Unauthorized`` when the server refuses them. With basic auth
        only the credentials change: every request carries them anyway.
        """
        self.change_credentials(user, passwd)

    def session_logout(self) -> None:
        """End the cookie session (``DELETE /_session``) and forget the cookie."""
        transport = self._http_transport("session_logout()")
        auth = transport.auth
        if isinstance(auth, SessionAuth):
            try:
                if auth.cookie is not None:
                    transport.request("DELETE", ("_session",))
            finally:
                auth.clear()

    def basic_auth_str(self) -> str | None:
        """``"Basic <base64>"`` for the client's user and password (e.g. for replication
        documents); None without a user and password (admin party, IAM, tokens)."""
        auth = self.auth
        if isinstance(auth, (BasicAuth, SessionAuth)):
            return basic_auth_header(auth.user, auth.password)
        return None

    def change_credentials(self, user: str | None = None, auth_token: str | None = None) -> None:
        """Use new credentials (a None keeps the current value); log in again with cookies.

        ``NotSupported`` for strategies without a user and password.
        """
        transport = self._http_transport("change_credentials()")
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
        """Start the session: logs in when the client uses cookie auth; otherwise nothing."""
        if self.backend.kind == "http" and isinstance(self.auth, SessionAuth):
            self.session_login()
