"""OAuth 2.0 strategies (RFC 6749) behind the same I/O-free ``auth_flow`` as :mod:`settee.auth`.

* :class:`OAuth2ClientCredentials` — ``grant_type=client_credentials``.
* :class:`OAuth2Password` — ``grant_type=password`` (resource owner credentials).
* :class:`OAuth2AuthorizationCode` — ``get_authorization_url()`` builds the
  URL to send the user to (with a fresh ``state``), ``exchange_code_for_token
  (code, state)`` checks the state and trades the code for tokens.

Every strategy fetches its token on first use, refreshes it with the
``refresh_token`` grant ``refresh_margin`` seconds before ``expires_in`` runs
out (falling back to its own grant when the refresh is refused), fetches a new
one after a 401 and replays the request once. Token requests go through the
same transport as the API calls, as requests the flow yields. Thread-safe: one
thread fetches while the others wait for its token.

The client secret travels as HTTP basic auth (``client_auth="basic"``, the
default, RFC 6749 §2.3.1) or as ``client_id``/``client_secret`` form fields
(``client_auth="body"``). Secrets and tokens never appear in ``repr()``.

``exchange_code_for_token`` is the one call that performs I/O by itself (the
user is not making an API request at that moment): it uses the ``transport``
given to the constructor, or a short-lived :class:`~settee.transport.Transport`
on the token URL. :meth:`OAuth2AuthorizationCode.exchange_request` and
:meth:`~OAuth2AuthorizationCode.handle_token` are the I/O-free halves.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

from . import errors
from .auth import (
    AuthFlow,
    Request,
    ResponseLike,
    _json_body,
    _token_endpoint_request,
    _with_authorization,
    basic_auth_header,
)

if TYPE_CHECKING:
    from .transport import Transport

__all__ = [
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "OAuth2Password",
    "OAuth2Token",
]

_CLIENT_AUTH = ("basic", "body")


def _check_http_url(name: str, url: object) -> None:
    """Raise ``ValueError`` unless ``url`` is an ``http://`` or ``https://`` URL."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"{name} must be an http(s):// URL")


class OAuth2Token:
    """The tokens a token endpoint granted, and when the access token expires."""

    __slots__ = ("access_token", "expires_at", "refresh_token", "scope", "token_type")

    def __init__(
        self,
        access_token: str,
        *,
        token_type: str = "Bearer",
        expires_at: float | None = None,
        refresh_token: str | None = None,
        scope: str | None = None,
    ) -> None:
        self.access_token = access_token
        self.token_type = token_type
        self.expires_at = expires_at
        self.refresh_token = refresh_token
        self.scope = scope

    def __repr__(self) -> str:
        return (
            f"OAuth2Token(token_type={self.token_type!r}, expires_at={self.expires_at!r}, "
            f"scope={self.scope!r}, refresh_token={'***' if self.refresh_token else None})"
        )


class _OAuth2:
    """The shared token life cycle; subclasses say which grant gets the first token."""

    grant_name = "oauth2"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        scope: str | None = None,
        client_auth: str = "basic",
        extra_params: Mapping[str, str] | None = None,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_http_url("token_url", token_url)
        if not isinstance(client_id, str) or not client_id:
            raise TypeError("client_id must be a non-empty string")
        if client_secret is not None and not isinstance(client_secret, str):
            raise TypeError("client_secret must be a string or None")
        if client_auth not in _CLIENT_AUTH:
            raise ValueError(f"client_auth must be one of {_CLIENT_AUTH}, not {client_auth!r}")
        if scope is not None and not isinstance(scope, str):
            raise TypeError("scope must be a space-separated string or None")
        if refresh_margin < 0:
            raise ValueError("refresh_margin must be >= 0")
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.client_auth = client_auth
        self.extra_params = dict(extra_params or {})
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: OAuth2Token | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"client_secret={'***' if self.client_secret else None})"
        )

    # -- state ----------------------------------------------------------------------
    @property
    def token(self) -> OAuth2Token | None:
        """The current tokens, or None before the first grant."""
        return self._token

    @property
    def access_token(self) -> str | None:
        """The current access token string, or None."""
        return self._token.access_token if self._token else None

    def is_valid(self) -> bool:
        """True if there is an access token that is not due for refresh."""
        token = self._token
        if token is None:
            return False
        return token.expires_at is None or self._clock() < token.expires_at - self.refresh_margin

    def clear(self) -> None:
        """Forget every token (the next request starts a new grant)."""
        with self._lock:
            self._token = None

    # -- requests --------------------------------------------------------------------
    def grant_params(self) -> dict[str, str]:
        """The form fields of the grant that obtains a first token."""
        raise NotImplementedError

    def token_request(self, params: Mapping[str, str]) -> Request:
        """The POST to the token endpoint carrying ``params`` and the client's credentials."""
        form = dict(params)
        if self.client_secret is not None and self.client_auth == "basic":
            authorization = basic_auth_header(
                quote_plus(self.client_id), quote_plus(self.client_secret)
            )
            return _token_endpoint_request(self.token_url, form, authorization)
        form["client_id"] = self.client_id
        if self.client_secret is not None:
            form["client_secret"] = self.client_secret
        return _token_endpoint_request(self.token_url, form)

    def refresh_request(self) -> Request | None:
        """The ``refresh_token`` grant request, or None without a refresh token."""
        token = self._token
        if token is None or not token.refresh_token:
            return None
        params = {"grant_type": "refresh_token", "refresh_token": token.refresh_token}
        return self.token_request(self._with_scope(params))

    def _with_scope(self, params: dict[str, str]) -> dict[str, str]:
        # The configured scope wins over a "scope" in extra_params.
        if self.scope:
            params["scope"] = self.scope
        return params

    def handle_token(self, response: ResponseLike) -> bool:
        """Store the tokens from a token endpoint answer; False if it granted none.

        A 2xx answer without an ``access_token`` raises ``Unauthorized`` (the
        transport would otherwise hand the token answer back as the API's).
        """
        if not 200 <= response.status_code < 300:
            return False
        body = _json_body(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise errors.Unauthorized(
                f"the token endpoint answered {response.status_code} without an access_token",
                status=401,
                url=self.token_url,
                method="POST",
            )
        assert isinstance(body, dict)
        expires_in = body.get("expires_in")
        if isinstance(expires_in, str) and expires_in.isdigit():
            expires_in = int(expires_in)
        expires_at = (
            self._clock() + float(expires_in)
            if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)
            else None
        )
        refresh = body.get("refresh_token")
        old = self._token
        if not isinstance(refresh, str) or not refresh:
            # RFC 6749 §6: the server may keep the old refresh token valid.
            refresh = old.refresh_token if old is not None else None
        token_type = body.get("token_type")
        scope = body.get("scope")
        self._token = OAuth2Token(
            token,
            token_type=token_type if isinstance(token_type, str) else "Bearer",
            expires_at=expires_at,
            refresh_token=refresh,
            scope=scope if isinstance(scope, str) else self.scope,
        )
        return True

    # -- the flow ----------------------------------------------------------------------
    def _obtain(self, stale: OAuth2Token | None) -> Generator[Request, ResponseLike, bool]:
        # The lock is held across the yields: the transport drives this generator
        # to completion in the calling thread, and other threads must wait for
        # this token rather than fetch their own.
        with self._lock:
            if self._token is not None and self._token is not stale and self.is_valid():
                return True  # another thread got one meanwhile
            refresh = self.refresh_request()
            if refresh is not None:
                response = yield refresh
                if self.handle_token(response):
                    return True
            params = self.grant_params()
            response = yield self.token_request(params)
            return self.handle_token(response)

    def _with_token(self, request: Request) -> Request:
        token = self._token
        assert token is not None
        kind = "Bearer" if token.token_type.lower() == "bearer" else token.token_type
        return _with_authorization(request, f"{kind} {token.access_token}")

    def auth_flow(self, request: Request) -> AuthFlow:
        if not self.is_valid() and not (yield from self._obtain(self._token)):
            return  # the transport raises from the token endpoint's answer
        used = self._token
        response = yield self._with_token(request)
        if response.status_code == 401:
            with self._lock:
                if self._token is used and used is not None:
                    used.expires_at = 0.0  # due now; keep its refresh token
            if not (yield from self._obtain(used)):
                return
            yield self._with_token(request)


class OAuth2ClientCredentials(_OAuth2):
    """The client credentials grant: the client acts for itself.

    ``OAuth2ClientCredentials(token_url, client_id, client_secret, scope="read write")``
    """

    grant_name = "client_credentials"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        client_auth: str = "basic",
        extra_params: Mapping[str, str] | None = None,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(client_secret, str) or not client_secret:
            raise TypeError("the client credentials grant needs a client_secret")
        super().__init__(
            token_url,
            client_id,
            client_secret,
            scope=scope,
            client_auth=client_auth,
            extra_params=extra_params,
            refresh_margin=refresh_margin,
            clock=clock,
        )

    def grant_params(self) -> dict[str, str]:
        return self._with_scope({"grant_type": "client_credentials", **self.extra_params})


class OAuth2Password(_OAuth2):
    """The resource owner password grant: a user's name and password for a token."""

    grant_name = "password"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        username: str,
        password: str,
        scope: str | None = None,
        client_auth: str = "basic",
        extra_params: Mapping[str, str] | None = None,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(username, str) or not isinstance(password, str) or not username:
            raise TypeError("OAuth2Password needs a username and a password (strings)")
        super().__init__(
            token_url,
            client_id,
            client_secret,
            scope=scope,
            client_auth=client_auth,
            extra_params=extra_params,
            refresh_margin=refresh_margin,
            clock=clock,
        )
        self.username = username
        self.password = password

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, username={self.username!r}, password='***')"

    def grant_params(self) -> dict[str, str]:
        params = {
            "grant_type": "password",
            "username": self.username,
            "password": self.password,
            **self.extra_params,
        }
        return self._with_scope(params)


class OAuth2AuthorizationCode(_OAuth2):
    """The authorization code grant: the user approves at ``authorization_url``.

    ::

        auth = OAuth2AuthorizationCode(token_url, client_id, secret,
                                       authorization_url=..., redirect_uri=...)
        url = auth.get_authorization_url(scope="read")   # send the user there
        code, state = auth.parse_authorization_response(redirected_to)
        auth.exchange_code_for_token(code, state)         # ValueError on a wrong state
        client = Client(api_url, auth=auth)               # refreshes with refresh_token

    ``transport`` (optional; one whose own auth is not this strategy, e.g. to
    share TLS settings) is used only by :meth:`exchange_code_for_token`.
    Without a refresh token, an expired token raises ``Unauthorized``: the
    user has to authorize again.
    """

    grant_name = "authorization_code"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        authorization_url: str,
        redirect_uri: str,
        scope: str | None = None,
        client_auth: str = "basic",
        extra_params: Mapping[str, str] | None = None,
        refresh_margin: float = 30.0,
        state_bytes: int = 32,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            token_url,
            client_id,
            client_secret,
            scope=scope,
            client_auth=client_auth,
            extra_params=extra_params,
            refresh_margin=refresh_margin,
            clock=clock,
        )
        _check_http_url("authorization_url", authorization_url)
        if not isinstance(redirect_uri, str) or not redirect_uri:
            raise TypeError("redirect_uri must be a non-empty string")
        if state_bytes < 16:
            raise ValueError("state_bytes must be at least 16")
        self.authorization_url = authorization_url
        self.redirect_uri = redirect_uri
        self.state_bytes = state_bytes
        self.transport = transport
        self._state: str | None = None

    @property
    def state(self) -> str | None:
        """The state of the pending authorization (None when none is pending)."""
        return self._state

    def get_authorization_url(
        self,
        scope: str | None = None,
        state: str | None = None,
        additional_params: Mapping[str, str] | None = None,
    ) -> str:
        """The URL to send the user to; remembers ``state`` (a fresh random one by default)."""
        if state is None:
            state = secrets.token_urlsafe(self.state_bytes)
        elif not isinstance(state, str) or not state:
            raise TypeError("state must be a non-empty string or None")
        self._state = state
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": state,
        }
        use_scope = scope if scope is not None else self.scope
        if use_scope:
            params["scope"] = use_scope
        params.update(additional_params or {})
        sep = "&" if urlsplit(self.authorization_url).query else "?"
        return f"{self.authorization_url}{sep}{urlencode(params)}"

    @staticmethod
    def parse_authorization_response(redirect_url: str) -> tuple[str, str]:
        """``(code, state)`` from the URL the user was redirected to.

        Raises ``ValueError`` if the server sent an ``error`` or left out the
        code or the state.
        """
        query = parse_qs(urlsplit(redirect_url).query)
        if "error" in query:
            detail = query.get("error_description", [""])[0]
            raise ValueError(f"authorization failed: {query['error'][0]} {detail}".strip())
        code = query.get("code", [""])[0]
        state = query.get("state", [""])[0]
        if not code or not state:
            raise ValueError("the redirect URL carries no code or no state")
        return code, state

    def exchange_request(self, code: str, state: str) -> Request:
        """The token request for ``code``, after checking ``state`` (I/O-free half).

        Raises ``ValueError`` if no authorization is pending or ``state`` is
        not the one :meth:`get_authorization_url` issued.
        """
        if not isinstance(code, str) or not code:
            raise ValueError("the authorization code is empty")
        expected = self._state
        if expected is None:
            raise ValueError("no authorization is pending: call get_authorization_url() first")
        if not isinstance(state, str) or not secrets.compare_digest(state, expected):
            raise ValueError("the state does not match the pending authorization (possible CSRF)")
        self._state = None  # a state is good for one exchange
        params = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
        }
        return self.token_request(params)

    def exchange_code_for_token(self, code: str, state: str) -> str:
        """Trade ``code`` for tokens at the token endpoint; return the access token.

        Raises ``ValueError`` for a state mismatch (nothing is sent), the
        :mod:`settee.errors` class of the token endpoint's error answer, or
        ``TransportError``.
        """
        from .transport import Transport

        if self.transport is not None and self.transport.auth is self:
            raise ValueError("the exchange transport must not authenticate with this strategy")
        request = self.exchange_request(code, state)
        own = self.transport is None
        transport = self.transport or Transport(self.token_url, max_retries=0)
        try:
            response = transport.request(
                request.method,
                request.url,
                data=request.body,
                headers=request.headers,
                raise_for_status=False,
            )
            with self._lock:
                if not self.handle_token(response):
                    raise transport.error_from(response)
        finally:
            if own:
                transport.close()
        token = self._token
        assert token is not None
        return token.access_token

    def grant_params(self) -> dict[str, str]:
        raise errors.Unauthorized(
            "no usable OAuth2 token: authorize again (get_authorization_url(), then "
            "exchange_code_for_token())",
            status=401,
        )
