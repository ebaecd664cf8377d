"""OAuth2 strategies driven offline: ``next()``/``send()`` on ``auth_flow`` with fake responses."""

from __future__ import annotations

import base64
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from settee.auth.oauth2 import OAuth2AuthorizationCode, OAuth2ClientCredentials, OAuth2Password
from settee.auth.protocol import Auth, Request
from settee.errors import Unauthorized

TOKEN_URL = "http://127.0.0.1:9/oauth/token"
API = "http://127.0.0.1:9/api"


class FakeResponse:
    def __init__(self, status_code: int = 200, body: Any = None) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self._body = body

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no JSON body")
        return self._body


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def api_request() -> Request:
    return Request("GET", API + "/things", {"Accept": "application/json"}, None, API)


def form(req: Request) -> dict[str, str]:
    assert req.body is not None
    return {k: v[0] for k, v in parse_qs(req.body.decode()).items()}


def token(access: str, expires_in: Any = 3600, refresh: str | None = None) -> FakeResponse:
    body: dict[str, Any] = {"access_token": access, "token_type": "bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    if refresh is not None:
        body["refresh_token"] = refresh
    return FakeResponse(200, body)


def cc(**kw: Any) -> OAuth2ClientCredentials:
    kw.setdefault("clock", FakeClock())
    return OAuth2ClientCredentials(TOKEN_URL, "my client", "s3cr:et", scope="read write", **kw)


def test_strategies_satisfy_the_auth_protocol() -> None:
    code = OAuth2AuthorizationCode(
        TOKEN_URL, "c", authorization_url="http://127.0.0.1:9/authorize", redirect_uri="http://x/cb"
    )
    pw = OAuth2Password(TOKEN_URL, "c", username="u", password="p")
    for strategy in (cc(), pw, code):
        assert isinstance(strategy, Auth)


def test_client_credentials_fetches_a_token_first_with_basic_client_auth() -> None:
    auth = cc()
    flow = auth.auth_flow(api_request())
    token_req = next(flow)
    assert token_req.method == "POST" and token_req.url == TOKEN_URL
    assert token_req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    # RFC 6749 §2.3.1: id and secret are form-encoded, then basic auth.
    raw = base64.b64decode(token_req.headers["Authorization"].split()[1]).decode()
    assert raw == "my+client:s3cr%3Aet"
    assert form(token_req) == {"grant_type": "client_credentials", "scope": "read write"}
    sent = flow.send(token("tok-1"))
    assert sent.url == API + "/things"
    assert sent.headers["Authorization"] == "Bearer tok-1"
    with pytest.raises(StopIteration):
        flow.send(FakeResponse(200, {}))
    assert auth.access_token == "tok-1" and auth.is_valid()


def test_client_secret_in_the_body_when_asked() -> None:
    auth = cc(client_auth="body")
    token_req = next(auth.auth_flow(api_request()))
    assert "Authorization" not in token_req.headers
    assert form(token_req)["client_id"] == "my client"
    assert form(token_req)["client_secret"] == "s3cr:et"


def test_a_valid_token_is_reused_without_a_token_request() -> None:
    auth = cc()
    flow = auth.auth_flow(api_request())
    next(flow)
    flow.send(token("tok-1"))
    second = auth.auth_flow(api_request())
    assert next(second).headers["Authorization"] == "Bearer tok-1"


def test_refresh_token_is_used_before_expiry() -> None:
    clock = FakeClock()
    auth = cc(clock=clock, refresh_margin=30)
    flow = auth.auth_flow(api_request())
    next(flow)
    flow.send(token("tok-1", expires_in=100, refresh="ref-1"))
    clock.now += 69  # 31 s left: still fresh
    assert next(auth.auth_flow(api_request())).headers["Authorization"] == "Bearer tok-1"
    clock.now += 2  # 29 s left: inside the margin
    flow = auth.auth_flow(api_request())
    refresh = next(flow)
    assert form(refresh) == {
        "grant_type": "refresh_token",
        "refresh_token": "ref-1",
        "scope": "read write",
    }
    sent = flow.send(token("tok-2", expires_in=100))  # no new refresh token: keep the old
    assert sent.headers["Authorization"] == "Bearer tok-2"
    assert auth.token is not None and auth.token.refresh_token == "ref-1"


def test_a_refused_refresh_falls_back_to_the_grant() -> None:
    clock = FakeClock()
    auth = cc(clock=clock)
    flow = auth.auth_flow(api_request())
    next(flow)
    flow.send(token("tok-1", expires_in=10, refresh="ref-1"))
    flow = auth.auth_flow(api_request())
    assert form(next(flow))["grant_type"] == "refresh_token"
    again = flow.send(FakeResponse(400, {"error": "invalid_grant"}))
    assert form(again)["grant_type"] == "client_credentials"
    assert flow.send(token("tok-3")).headers["Authorization"] == "Bearer tok-3"


def test_a_401_gets_a_new_token_and_replays_once() -> None:
    auth = cc()
    flow = auth.auth_flow(api_request())
    next(flow)
    flow.send(token("tok-1", refresh="ref-1"))
    flow = auth.auth_flow(api_request())
    first = next(flow)
    assert first.headers["Authorization"] == "Bearer tok-1"
    refresh = flow.send(FakeResponse(401, {"detail": "expired"}))
    assert form(refresh)["refresh_token"] == "ref-1"
    replay = flow.send(token("tok-2"))
    assert replay.headers["Authorization"] == "Bearer tok-2"
    with pytest.raises(StopIteration):
        flow.send(FakeResponse(401, {}))  # a second 401 is the caller's answer


def test_a_failed_grant_ends_the_flow_on_the_token_answer() -> None:
    auth = cc()
    flow = auth.auth_flow(api_request())
    next(flow)
    with pytest.raises(StopIteration):
        flow.send(FakeResponse(401, {"error": "invalid_client"}))
    assert auth.token is None


def test_a_2xx_token_answer_without_a_token_raises() -> None:
    flow = cc().auth_flow(api_request())
    next(flow)
    with pytest.raises(Unauthorized, match="without an access_token"):
        flow.send(FakeResponse(200, {"token_type": "bearer"}))


def test_password_grant_sends_the_user_credentials() -> None:
    auth = OAuth2Password(
        TOKEN_URL, "cid", username="ann", password="pw&=", scope="s", clock=FakeClock()
    )
    req = next(auth.auth_flow(api_request()))
    assert form(req) == {
        "grant_type": "password",
        "username": "ann",
        "password": "pw&=",
        "scope": "s",
        "client_id": "cid",  # a public client: no secret, the id goes in the body
    }
    assert "pw" not in repr(auth) and "***" in repr(auth)


def test_secrets_never_appear_in_repr() -> None:
    auth = cc()
    flow = auth.auth_flow(api_request())
    next(flow)
    flow.send(token("tok-secret", refresh="ref-secret"))
    text = repr(auth) + repr(auth.token)
    assert "s3cr" not in text and "tok-secret" not in text and "ref-secret" not in text


def code_auth(**kw: Any) -> OAuth2AuthorizationCode:
    return OAuth2AuthorizationCode(
        TOKEN_URL,
        "cid",
        "sec",
        authorization_url="http://127.0.0.1:9/authorize?tenant=t1",
        redirect_uri="http://127.0.0.1:9/callback",
        scope="profile",
        clock=FakeClock(),
        **kw,
    )


def test_authorization_url_carries_a_fresh_state() -> None:
    auth = code_auth()
    url = auth.get_authorization_url()
    query = parse_qs(urlsplit(url).query)
    assert query["tenant"] == ["t1"]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["cid"]
    assert query["redirect_uri"] == ["http://127.0.0.1:9/callback"]
    assert query["scope"] == ["profile"]
    assert query["state"] == [auth.state]
    assert auth.state is not None and len(auth.state) >= 40
    other = code_auth().get_authorization_url()
    assert parse_qs(urlsplit(other).query)["state"] != query["state"]
    custom = auth.get_authorization_url(scope="a b", state="s-1", additional_params={"p": "1"})
    assert parse_qs(urlsplit(custom).query)["scope"] == ["a b"]
    assert auth.state == "s-1"


def test_exchange_request_validates_the_state_once() -> None:
    auth = code_auth()
    with pytest.raises(ValueError, match="no authorization is pending"):
        auth.exchange_request("code", "x")
    auth.get_authorization_url(state="good-state")
    with pytest.raises(ValueError, match="does not match"):
        auth.exchange_request("code", "bad-state")
    req = auth.exchange_request("the-code", "good-state")
    assert form(req) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "http://127.0.0.1:9/callback",
    }
    with pytest.raises(ValueError, match="no authorization is pending"):
        auth.exchange_request("the-code", "good-state")  # a state is single-use


def test_parse_authorization_response() -> None:
    parse = OAuth2AuthorizationCode.parse_authorization_response
    assert parse("http://x/cb?code=abc&state=s1") == ("abc", "s1")
    with pytest.raises(ValueError, match="access_denied"):
        parse("http://x/cb?error=access_denied&state=s1")
    with pytest.raises(ValueError, match="no code"):
        parse("http://x/cb?state=s1")


def test_authorization_code_without_a_token_asks_to_authorize() -> None:
    flow = code_auth().auth_flow(api_request())
    with pytest.raises(Unauthorized, match="authorize again"):
        next(flow)


def test_authorization_code_refreshes_with_its_refresh_token() -> None:
    auth = code_auth()
    auth.get_authorization_url(state="st")
    auth.handle_token(token("tok-1", expires_in=0, refresh="ref-1"))
    flow = auth.auth_flow(api_request())
    refresh = next(flow)
    assert form(refresh)["refresh_token"] == "ref-1"
    assert flow.send(token("tok-2")).headers["Authorization"] == "Bearer tok-2"


def test_one_thread_refreshes_while_the_others_wait() -> None:
    auth = cc()
    token_requests: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)
    sent: list[str] = []

    def worker() -> None:
        flow = auth.auth_flow(api_request())
        barrier.wait()
        req = next(flow)
        while req.url == TOKEN_URL:
            with lock:
                token_requests.append(req.url)
            req = flow.send(token(f"tok-{len(token_requests)}"))
        sent.append(req.headers["Authorization"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(token_requests) == 1
    assert sent == ["Bearer tok-1"] * 8


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"client_auth": "header"}, ValueError),
        ({"refresh_margin": -1}, ValueError),
        ({"scope": ["a"]}, TypeError),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        OAuth2ClientCredentials(TOKEN_URL, "c", "s", **kwargs)


def test_bad_constructor_input_is_refused() -> None:
    with pytest.raises(ValueError):
        OAuth2ClientCredentials("ftp://x", "c", "s")
    with pytest.raises(TypeError):
        OAuth2ClientCredentials(TOKEN_URL, "c", "")
    with pytest.raises(TypeError):
        OAuth2Password(TOKEN_URL, "c", username="", password="p")
