"""IBM Cloud IAM: an API key exchanged for a bearer token. Re-exported from :mod:`settee.auth`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator

from settee.auth.protocol import (
    Request,
    ResponseLike,
    TokenFlow,
    basic_auth_header,
    response_json,
    token_endpoint_request,
    with_authorization,
)
from settee.errors import Unauthorized
from settee.urls import redact_url

__all__ = ["DEFAULT_IAM_TOKEN_URL", "IAMAuth"]

DEFAULT_IAM_TOKEN_URL = "https://iam.cloud.ibm.com/identity/token"


class IAMAuth(TokenFlow):
    """IBM Cloud IAM: an API key exchanged for a bearer token, refreshed before expiry.

    The token is fetched from ``token_url`` on first use and again once
    ``refresh_fraction`` of its lifetime has passed (IBM's SDKs use 0.8), or
    after a 401. Thread-safe: one thread refreshes while the others wait.
    """

    def __init__(
        self,
        api_key: str,
        *,
        token_url: str = DEFAULT_IAM_TOKEN_URL,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_fraction: float = 0.8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(api_key, str) or not api_key:
            raise TypeError("IAMAuth(api_key) takes a non-empty string")
        if (client_id is None) != (client_secret is None):
            raise ValueError("IAMAuth needs both client_id and client_secret, or neither")
        if not 0 < refresh_fraction <= 1:
            raise ValueError("refresh_fraction must be in (0, 1]")
        self.api_key = api_key
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_fraction = refresh_fraction
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def __repr__(self) -> str:
        return f"IAMAuth(token_url={redact_url(self.token_url)!r}, api_key='***')"

    @property
    def token(self) -> str | None:
        """The current access token, or None before the first request."""
        return self._token

    def token_request(self) -> Request:
        """The token-endpoint request that exchanges the API key."""
        authorization = None
        if self.client_id is not None and self.client_secret is not None:
            authorization = basic_auth_header(self.client_id, self.client_secret)
        form = {
            "grant_type": "urn:ibm:params:oauth:grant-type:apikey",
            "response_type": "cloud_iam",
            "apikey": self.api_key,
        }
        return token_endpoint_request(self.token_url, form, authorization)

    def handle_token(self, response: ResponseLike) -> bool:
        """Store the token from the endpoint's answer; True when there is one.

        Raises ``Unauthorized`` when the endpoint refuses the API key (400,
        401, 403: IAM answers 400 to an unknown key), with IAM's
        ``errorCode``/``errorMessage``, and when a 2xx answer carries no
        ``access_token``. Returns False for other failures (5xx...): the
        transport then raises from the endpoint's answer.
        """
        if response.status_code in (400, 401, 403):
            self._token = None
            body = response_json(response)
            detail = body if isinstance(body, dict) else {}
            code = detail.get("errorCode")
            message = detail.get("errorMessage") or detail.get("message") or "refused"
            raise Unauthorized(
                f"the IAM token endpoint refused the API key ({response.status_code}): {message}",
                error=str(code) if code is not None else None,
                status=401,
                method="POST",
                url=self.token_url,
                body=body,
            )
        if not 200 <= response.status_code < 300:
            self._token = None
            return False
        body = response_json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(token, str) or not token:
            self._token = None
            raise Unauthorized(
                f"the IAM token endpoint answered {response.status_code} without an access_token",
                status=401,
                method="POST",
                url=self.token_url,
            )
        now = self._clock()
        lifetime: float | None = None
        if isinstance(body.get("expires_in"), (int, float)):
            lifetime = float(body["expires_in"])
        elif isinstance(body.get("expiration"), (int, float)):
            lifetime = float(body["expiration"]) - now
        self._token = token
        self._refresh_at = now + (lifetime * self.refresh_fraction if lifetime else 0.0)
        return True

    def _current(self) -> object:
        return self._token

    def _usable(self) -> bool:
        return self._token is not None and (
            self._refresh_at == 0.0 or self._clock() < self._refresh_at
        )

    def _fetch(self) -> Generator[Request, ResponseLike, bool]:
        response = yield self.token_request()
        return self.handle_token(response)

    def _expire(self, used: object) -> None:
        self._token = None

    def _with_token(self, request: Request) -> Request:
        return with_authorization(request, f"Bearer {self._token}")
