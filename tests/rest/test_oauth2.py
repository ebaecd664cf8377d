"""OAuth2 strategies end to end, through settee's transport, against a token endpoint fake.

No real OAuth2 server runs here, so this file owns a small one (``FakeOAuthServer``,
http.server on a loopback port): ``/authorize`` (redirects with a code),
``/token`` (client_credentials, password, authorization_code and refresh_token
grants, client secret by basic auth or in the body), ``/api/whoami`` (needs a
valid bearer token) and ``/admin/revoke`` (invalidates every access token).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import pytest
import requests

from settee.auth.oauth2 import OAuth2AuthorizationCode, OAuth2ClientCredentials, OAuth2Password
from settee.errors import BadRequest, Unauthorized
from settee.http.transport import Transport
from settee.rest.client import Client

CLIENT_ID, CLIENT_SECRET = "the client", "s3cret:&"
USER, PASSWORD = "ann", "pässword"
REDIRECT = "http://127.0.0.1:1/callback"


class FakeOAuthServer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.grants: list[str] = []
        self.client_auth: list[str] = []
        self.access: dict[str, str] = {}  # token -> grant
        self.refresh: set[str] = set()
        self.codes: dict[str, str] = {}  # code -> redirect_uri
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def _issue(self, grant: str) -> dict[str, Any]:
        token, refresh = secrets.token_hex(8), secrets.token_hex(8)
        self.access[token] = grant
        self.refresh.add(refresh)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": 3600,
            "refresh_token": refresh,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/authorize":
                    if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                        self._send(400, {"error": "invalid_request"})
                        return
                    code = secrets.token_hex(6)
                    with server.lock:
                        server.codes[code] = query["redirect_uri"]
                    target = (
                        query["redirect_uri"]
                        + "?"
                        + urlencode({"code": code, "state": query["state"]})
                    )
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if parts.path == "/api/whoami":
                    auth = self.headers.get("Authorization", "")
                    token = auth[7:] if auth.startswith("Bearer ") else ""
                    with server.lock:
                        grant = server.access.get(token)
                    if grant is None:
                        self._send(401, {"detail": "invalid token"})
                        return
                    self._send(200, {"grant": grant})
                    return
                self._send(404, {"detail": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/admin/revoke":
                    with server.lock:
                        server.access.clear()
                    self._send(200, {"ok": True})
                    return
                if self.path != "/token":
                    self._send(404, {"detail": "not found"})
                    return
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    raw = base64.b64decode(auth[6:]).decode()
                    cid, _, secret = raw.partition(":")
                    cid, secret = unquote_plus(cid), unquote_plus(secret)
                    how = "basic"
                else:
                    cid, secret = form.get("client_id", ""), form.get("client_secret", "")
                    how = "body"
                grant = form.get("grant_type", "")
                with server.lock:
                    server.grants.append(grant)
                    server.client_auth.append(how)
                    if cid != CLIENT_ID or secret != CLIENT_SECRET:
                        self._send(401, {"error": "invalid_client"})
                        return
                    if grant == "client_credentials":
                        body = server._issue(grant)
                    elif grant == "password":
                        if (form.get("username"), form.get("password")) != (USER, PASSWORD):
                            self._send(400, {"error": "invalid_grant"})
                            return
                        body = server._issue(grant)
                    elif grant == "authorization_code":
                        redirect = server.codes.pop(form.get("code", ""), None)
                        if redirect is None or redirect != form.get("redirect_uri"):
                            self._send(
                                400,
                                {"error": "invalid_grant", "error_description": "bad code"},
                            )
                            return
                        body = server._issue(grant)
                    elif grant == "refresh_token":
                        if form.get("refresh_token") not in server.refresh:
                            self._send(400, {"error": "invalid_grant"})
                            return
                        server.refresh.discard(form["refresh_token"])
                        body = server._issue("refresh_token")
                    else:
                        self._send(400, {"error": "unsupported_grant_type"})
                        return
                self._send(200, body)

        return Handler


@pytest.fixture
def oauth() -> Iterator[FakeOAuthServer]:
    server = FakeOAuthServer()
    try:
        yield server
    finally:
        server.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("client_auth", ["basic", "body"])
def test_client_credentials(oauth: FakeOAuthServer, client_auth: str) -> None:
    auth = OAuth2ClientCredentials(
        oauth.url + "/token", CLIENT_ID, CLIENT_SECRET, client_auth=client_auth
    )
    with Client(oauth.url + "/api", auth=auth) as client:
        assert client.get("whoami") == {"grant": "client_credentials"}
        assert client.get("whoami") == {"grant": "client_credentials"}
    assert oauth.grants == ["client_credentials"]  # one token, reused
    assert oauth.client_auth == [client_auth]


def test_refresh_before_expiry(oauth: FakeOAuthServer) -> None:
    clock = Clock()
    auth = OAuth2ClientCredentials(
        oauth.url + "/token", CLIENT_ID, CLIENT_SECRET, refresh_margin=60, clock=clock
    )
    with Client(oauth.url + "/api", auth=auth) as client:
        client.get("whoami")
        clock.now += 3600 - 61
        client.get("whoami")
        assert oauth.grants == ["client_credentials"]
        clock.now += 2  # inside the margin: refresh first
        assert client.get("whoami") == {"grant": "refresh_token"}
    assert oauth.grants == ["client_credentials", "refresh_token"]


def test_revoked_token_is_refreshed_after_a_401(oauth: FakeOAuthServer) -> None:
    auth = OAuth2Password(
        oauth.url + "/token", CLIENT_ID, CLIENT_SECRET, username=USER, password=PASSWORD
    )
    with Client(oauth.url + "/api", auth=auth) as client:
        assert client.get("whoami") == {"grant": "password"}
        requests.post(oauth.url + "/admin/revoke", timeout=10)
        assert client.get("whoami") == {"grant": "refresh_token"}
    assert oauth.grants == ["password", "refresh_token"]


def test_bad_password_raises_the_token_endpoint_error(oauth: FakeOAuthServer) -> None:
    auth = OAuth2Password(
        oauth.url + "/token", CLIENT_ID, CLIENT_SECRET, username=USER, password="wrong"
    )
    with Client(oauth.url + "/api", auth=auth) as client:
        with pytest.raises(BadRequest) as info:
            client.get("whoami")
    assert info.value.error == "invalid_grant"
    assert info.value.url == oauth.url + "/token"


def test_bad_client_secret_is_unauthorized(oauth: FakeOAuthServer) -> None:
    auth = OAuth2ClientCredentials(oauth.url + "/token", CLIENT_ID, "nope")
    with Client(oauth.url + "/api", auth=auth) as client:
        with pytest.raises(Unauthorized) as info:
            client.get("whoami")
    assert info.value.error == "invalid_client"


def _authorize(oauth: FakeOAuthServer, auth: OAuth2AuthorizationCode) -> tuple[str, str]:
    url = auth.get_authorization_url(scope="profile")
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return auth.parse_authorization_response(answer.headers["Location"])


def code_auth(oauth: FakeOAuthServer, **kw: Any) -> OAuth2AuthorizationCode:
    return OAuth2AuthorizationCode(
        oauth.url + "/token",
        CLIENT_ID,
        CLIENT_SECRET,
        authorization_url=oauth.url + "/authorize",
        redirect_uri=REDIRECT,
        **kw,
    )


def test_authorization_code_flow(oauth: FakeOAuthServer) -> None:
    auth = code_auth(oauth)
    code, state = _authorize(oauth, auth)
    assert state == auth.state
    with Transport(oauth.url) as transport:
        token = auth.exchange_code_for_token(code, state, transport=transport)
    assert token == auth.access_token
    assert auth.state is None
    with Client(oauth.url + "/api", auth=auth) as client:
        assert client.get("whoami") == {"grant": "authorization_code"}
        requests.post(oauth.url + "/admin/revoke", timeout=10)
        assert client.get("whoami") == {"grant": "refresh_token"}
    assert oauth.grants == ["authorization_code", "refresh_token"]


def test_state_mismatch_sends_nothing(oauth: FakeOAuthServer) -> None:
    auth = code_auth(oauth)
    code, _ = _authorize(oauth, auth)
    with Transport(oauth.url) as transport, pytest.raises(ValueError, match="state does not match"):
        auth.exchange_code_for_token(code, "forged-state", transport=transport)
    assert oauth.grants == []


def test_the_exchange_needs_a_transport_and_sends_nothing_without_one(
    oauth: FakeOAuthServer,
) -> None:
    """A strategy opens no connection of its own (auth sits below the HTTP layer)."""
    auth = code_auth(oauth)
    code, state = _authorize(oauth, auth)
    with pytest.raises(ValueError, match="needs a transport"):
        auth.exchange_code_for_token(code, state)
    assert oauth.grants == []


def test_a_used_code_is_refused_by_the_server(oauth: FakeOAuthServer) -> None:
    with Transport(oauth.url) as transport:
        auth = code_auth(oauth, transport=transport)
        code, state = _authorize(oauth, auth)
        auth.exchange_code_for_token(code, state)
        auth.get_authorization_url(state="s2")
        with pytest.raises(BadRequest) as info:
            auth.exchange_code_for_token(code, "s2")
    assert info.value.error == "invalid_grant" and info.value.status == 400
    assert oauth.grants == ["authorization_code", "authorization_code"]


def test_authorization_code_without_tokens_asks_to_authorize(oauth: FakeOAuthServer) -> None:
    with Client(oauth.url + "/api", auth=code_auth(oauth)) as client:
        with pytest.raises(Unauthorized, match="authorize again"):
            client.get("whoami")
    assert oauth.grants == []


def test_concurrent_requests_share_one_token(oauth: FakeOAuthServer) -> None:
    auth = OAuth2ClientCredentials(oauth.url + "/token", CLIENT_ID, CLIENT_SECRET)
    results: list[Any] = []
    with Client(oauth.url + "/api", auth=auth, pool_maxsize=8) as client:

        def call() -> None:
            results.append(client.get("whoami"))

        threads = [threading.Thread(target=call) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert results == [{"grant": "client_credentials"}] * 8
    assert oauth.grants == ["client_credentials"]
