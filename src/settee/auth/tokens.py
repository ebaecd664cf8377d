"""What every OAuth 2.0 grant shares: the token value object and its life cycle.

:class:`OAuth2Token` holds what a token endpoint granted; ``OAuth2Flow`` is the
base of the three grants in :mod:`settee.auth.oauth2` (token requests with the
client's credentials, refresh, replay after a 401). Re-exported from
:mod:`settee.auth.oauth2`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import TypedDict
from urllib.parse import quote_plus

from settee import errors
from settee.auth.protocol import (
    Request,
    ResponseLike,
    TokenFlow,
    basic_auth_header,
    response_json,
    token_endpoint_request,
    with_authorization,
)
from settee.urls import redact_url

__all__ = ["OAuth2Options", "OAuth2Token"]

_CLIENT_AUTH = ("basic", "body")


def check_http_url(name: str, url: object) -> None:
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


class OAuth2Options(TypedDict, total=False):
    """The keyword options every grant takes (see :class:`settee.auth.oauth2`'s classes)."""

    scope: str | None
    client_auth: str
    extra_params: Mapping[str, str] | None
    refresh_margin: float
    clock: Callable[[], float]


class OAuth2Flow(TokenFlow):
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
        check_http_url("token_url", token_url)
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
            f"{type(self).__name__}(token_url={redact_url(self.token_url)!r}, "
            f"client_id={self.client_id!r}, "
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
            return token_endpoint_request(self.token_url, form, authorization)
        form["client_id"] = self.client_id
        if self.client_secret is not None:
            form["client_secret"] = self.client_secret
        return token_endpoint_request(self.token_url, form)

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
        body = response_json(response)
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

    # -- the flow (settee.auth.protocol.TokenFlow) ------------------------------------
    def _current(self) -> object:
        return self._token

    def _usable(self) -> bool:
        return self.is_valid()

    def _fetch(self) -> Generator[Request, ResponseLike, bool]:
        refresh = self.refresh_request()
        if refresh is not None:
            response = yield refresh
            if self.handle_token(response):
                return True
        response = yield self.token_request(self.grant_params())
        return self.handle_token(response)

    def _expire(self, used: object) -> None:
        assert isinstance(used, OAuth2Token)
        used.expires_at = 0.0  # due now; keep its refresh token

    def _with_token(self, request: Request) -> Request:
        token = self._token
        assert token is not None
        kind = "Bearer" if token.token_type.lower() == "bearer" else token.token_type
        return with_authorization(request, f"{kind} {token.access_token}")
