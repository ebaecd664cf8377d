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
Every grant takes the keyword options of :class:`~settee.auth.tokens.OAuth2Options`
(``scope``, ``client_auth``, ``extra_params``, ``refresh_margin``, ``clock``).

``exchange_code_for_token`` is the one call that performs I/O by itself (the
user is not making an API request at that moment): it uses the ``transport``
given to the constructor, or a short-lived :class:`~settee.http.Transport`
on the token URL. :meth:`OAuth2AuthorizationCode.exchange_request` and
:meth:`~OAuth2AuthorizationCode.handle_token` are the I/O-free halves.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

from settee import errors
from settee.auth.protocol import Request
from settee.auth.tokens import OAuth2Flow, OAuth2Options, check_http_url

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from settee.http.transport import Transport

__all__ = ["OAuth2AuthorizationCode", "OAuth2ClientCredentials", "OAuth2Password"]


class OAuth2ClientCredentials(OAuth2Flow):
    """The client credentials grant: the client acts for itself.

    ``OAuth2ClientCredentials(token_url, client_id, client_secret, scope="read write")``
    """

    grant_name = "client_credentials"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        **options: Unpack[OAuth2Options],
    ) -> None:
        if not isinstance(client_secret, str) or not client_secret:
            raise TypeError("the client credentials grant needs a client_secret")
        super().__init__(token_url, client_id, client_secret, **options)

    def grant_params(self) -> dict[str, str]:
        return self._with_scope({"grant_type": "client_credentials", **self.extra_params})


class OAuth2Password(OAuth2Flow):
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
        **options: Unpack[OAuth2Options],
    ) -> None:
        if not isinstance(username, str) or not isinstance(password, str) or not username:
            raise TypeError("OAuth2Password needs a username and a password (strings)")
        super().__init__(token_url, client_id, client_secret, **options)
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


class OAuth2AuthorizationCode(OAuth2Flow):
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
        state_bytes: int = 32,
        transport: Transport | None = None,
        **options: Unpack[OAuth2Options],
    ) -> None:
        super().__init__(token_url, client_id, client_secret, **options)
        check_http_url("authorization_url", authorization_url)
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

    def exchange_code_for_token(
        self, code: str, state: str, *, transport: Transport | None = None
    ) -> str:
        """Trade ``code`` for tokens at the token endpoint; return the access token.

        The request goes through ``transport`` or the ``transport=`` given to
        the constructor (a :class:`settee.http.Transport` whose own auth is not
        this strategy): a strategy opens no connection of its own. Raises
        ``ValueError`` for a state mismatch or when there is no transport
        (nothing is sent), the :mod:`settee.errors` class of the token
        endpoint's error answer, or ``TransportError``.
        """
        transport = transport or self.transport
        if transport is None:
            raise ValueError(
                "exchange_code_for_token needs a transport: pass transport=Transport(token_url) "
                "(settee.http.Transport) here or to the constructor"
            )
        if transport.auth is self:
            raise ValueError("the exchange transport must not authenticate with this strategy")
        request = self.exchange_request(code, state)
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
        token = self._token
        assert token is not None
        return token.access_token

    def grant_params(self) -> dict[str, str]:
        raise errors.Unauthorized(
            "no usable OAuth2 token: authorize again (get_authorization_url(), then "
            "exchange_code_for_token())",
            status=401,
        )
