"""Auth strategies driven offline: ``next()``/``send()`` on ``auth_flow`` with fake responses."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest

from settee.auth.iam import IAMAuth
from settee.auth.protocol import Auth, AuthFlow, Request, basic_auth_header
from settee.auth.schemes import ApiKeyAuth, BasicAuth, BearerAuth, NoAuth, SessionAuth, coerce_auth
from settee.errors import Unauthorized

BASE = "http://127.0.0.1:5984"


class FakeResponse:
    """What a strategy reads: status_code, headers, json()."""

    def __init__(
        self, status_code: int = 200, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self.status_code = status_code
        self.headers = headers or {}
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


def request(path: str = "/db/doc", method: str = "GET") -> Request:
    return Request(method, BASE + path, {"Accept": "application/json"}, None, BASE)


def drive(
    auth: Auth, req: Request, answer: Callable[[Request], FakeResponse]
) -> tuple[list[Request], FakeResponse | None]:
    """Run a flow as the transport does; return every request sent and the last response."""
    flow: AuthFlow = auth.auth_flow(req)
    sent: list[Request] = []
    response: FakeResponse | None = None
    to_send = next(flow)
    while True:
        assert len(sent) < 10, "the flow does not end"
        sent.append(to_send)
        response = answer(to_send)
        try:
            to_send = flow.send(response)
        except StopIteration:
            return sent, response


def session_cookie(value: str, **attrs: str) -> dict[str, str]:
    extra = "".join(f"; {k}={v}" for k, v in attrs.items())
    return {"Set-Cookie": f"AuthSession={value}{extra}; Path=/; HttpOnly"}


# -- simple header strategies ------------------------------------------------


def test_no_auth_sends_the_request_unchanged() -> None:
    req = request()
    sent, _ = drive(NoAuth(), req, lambda r: FakeResponse(200, {}))
    assert len(sent) == 1
    assert "Authorization" not in sent[0].headers
    assert "Cookie" not in sent[0].headers


def test_basic_auth_header() -> None:
    sent, _ = drive(BasicAuth("admin", "pä:ss"), request(), lambda r: FakeResponse(200, {}))
    assert len(sent) == 1
    scheme, _, token = sent[0].headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == "admin:pä:ss"
    assert basic_auth_header("a", "b") == "Basic " + base64.b64encode(b"a:b").decode()


def test_basic_auth_does_not_retry_a_401() -> None:
    sent, response = drive(BasicAuth("u", "p"), request(), lambda r: FakeResponse(401, {}))
    assert len(sent) == 1
    assert response is not None and response.status_code == 401


def test_bearer_auth_header() -> None:
    sent, _ = drive(BearerAuth("tok-123"), request(), lambda r: FakeResponse(200, {}))
    assert sent[0].headers["Authorization"] == "Bearer tok-123"


def test_api_key_auth_default_and_custom_header() -> None:
    sent, _ = drive(ApiKeyAuth("ApiKey SU-1:xyz"), request(), lambda r: FakeResponse(200, {}))
    assert sent[0].headers["Authorization"] == "ApiKey SU-1:xyz"
    sent, _ = drive(
        ApiKeyAuth("k-42", header="X-Api-Key"), request(), lambda r: FakeResponse(200, {})
    )
    assert sent[0].headers["X-Api-Key"] == "k-42"
    assert "Authorization" not in sent[0].headers


@pytest.mark.parametrize(
    "make",
    [
        lambda: BasicAuth("u", 1),  # type: ignore[arg-type]
        lambda: BearerAuth(""),
        lambda: ApiKeyAuth(""),
        lambda: ApiKeyAuth("k", header=""),
        lambda: SessionAuth(None, "p"),  # type: ignore[arg-type]
        lambda: IAMAuth(""),
    ],
)
def test_strategies_reject_bad_arguments(make: Callable[[], object]) -> None:
    with pytest.raises(TypeError):
        make()


def test_iam_needs_both_client_id_and_secret() -> None:
    with pytest.raises(ValueError):
        IAMAuth("key", client_id="id")
    with pytest.raises(ValueError):
        IAMAuth("key", refresh_fraction=0)


def test_coerce_auth() -> None:
    assert isinstance(coerce_auth(None), NoAuth)
    basic = coerce_auth(("u", "p"))
    assert isinstance(basic, BasicAuth) and basic.user == "u" and basic.password == "p"
    bearer = BearerAuth("t")
    assert coerce_auth(bearer) is bearer

    class Custom:
        def auth_flow(self, request: Request) -> AuthFlow:
            request.headers["X-Custom"] = "1"
            yield request

    custom = Custom()
    assert coerce_auth(custom) is custom
    with pytest.raises(TypeError, match="auth must be"):
        coerce_auth("user:password")
    with pytest.raises(TypeError):
        coerce_auth(("u", "p", "x"))


def test_reprs_never_show_secrets() -> None:
    secrets = {
        "pw-basic": BasicAuth("alice", "pw-basic"),
        "tok-bearer": BearerAuth("tok-bearer"),
        "key-apikey": ApiKeyAuth("key-apikey"),
        "pw-session": SessionAuth("bob", "pw-session"),
        "key-iam": IAMAuth("key-iam", client_id="cid", client_secret="csecret"),
    }
    for secret, auth in secrets.items():
        text = repr(auth) + str(auth)
        assert secret not in text, text
        assert "csecret" not in text
    assert "alice" in repr(secrets["pw-basic"])


# -- SessionAuth --------------------------------------------------------------


class CouchSessions:
    """A fake server: /_session hands out numbered cookies; other paths need a valid one."""

    def __init__(self, password: str = "pw", max_age: int | None = None) -> None:
        self.password = password
        self.max_age = max_age
        self.issued = 0
        self.valid: set[str] = set()
        self.logins = 0
        self.expired_status = 401
        self.expired_body: dict[str, str] = {"error": "unauthorized", "reason": "bad cookie"}

    def __call__(self, req: Request) -> FakeResponse:
        if req.url.endswith("/_session") and req.method == "POST":
            self.logins += 1
            body = json.loads(req.body or b"{}")
            if body.get("password") != self.password:
                return FakeResponse(401, {"error": "unauthorized", "reason": "bad password"})
            self.issued += 1
            cookie = f"c{self.issued}"
            self.valid.add(cookie)
            attrs = {"Max-Age": str(self.max_age)} if self.max_age is not None else {}
            return FakeResponse(200, {"ok": True}, session_cookie(cookie, **attrs))
        presented = req.headers.get("Cookie", "").removeprefix("AuthSession=")
        if presented not in self.valid:
            return FakeResponse(self.expired_status, self.expired_body)
        return FakeResponse(200, {"ok": True, "cookie": presented})

    def expire_all(self) -> None:
        self.valid.clear()


def test_session_logs_in_first_then_sends_the_cookie() -> None:
    server = CouchSessions()
    auth = SessionAuth("admin", "pw")
    sent, response = drive(auth, request(), server)
    assert [r.method + " " + r.url for r in sent] == [
        f"POST {BASE}/_session",
        f"GET {BASE}/db/doc",
    ]
    assert json.loads(sent[0].body or b"") == {"name": "admin", "password": "pw"}
    assert sent[0].headers["Content-Type"] == "application/json"
    assert sent[1].headers["Cookie"] == "AuthSession=c1"
    assert response is not None and response.status_code == 200
    assert auth.cookie == "c1"
    # The second request reuses the cookie: no second login.
    sent, _ = drive(auth, request(), server)
    assert len(sent) == 1 and sent[0].headers["Cookie"] == "AuthSession=c1"
    assert server.logins == 1


def test_session_does_not_mutate_the_callers_request() -> None:
    req = request()
    drive(SessionAuth("admin", "pw"), req, CouchSessions())
    assert "Cookie" not in req.headers


def test_session_picks_up_a_renewed_cookie() -> None:
    auth = SessionAuth("admin", "pw")
    server = CouchSessions()
    drive(auth, request(), server)
    assert auth.cookie == "c1"

    def renewing(req: Request) -> FakeResponse:
        server.valid.add("renewed")
        return FakeResponse(200, {"ok": True}, session_cookie("renewed"))

    drive(auth, request(), renewing)
    assert auth.cookie == "renewed"
    sent, _ = drive(auth, request(), server)
    assert sent[0].headers["Cookie"] == "AuthSession=renewed"


def test_session_cookie_among_several_set_cookie_headers() -> None:
    """requests joins several Set-Cookie headers with ", "; the last AuthSession wins."""
    auth = SessionAuth("admin", "pw")
    joined = (
        "other=1; Path=/, AuthSession=first; Path=/; HttpOnly, "
        "AuthSession=second; Version=1; Expires=Thu, 01 Jan 2037 00:00:00 GMT; Path=/"
    )
    assert auth.capture(FakeResponse(200, {}, {"Set-Cookie": joined}))
    assert auth.cookie == "second"
    # A logout answer: renewed cookie, then the clearing one.
    logout = (
        "AuthSession=x; Path=/; HttpOnly, "
        "AuthSession=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    )
    assert auth.capture(FakeResponse(200, {}, {"Set-Cookie": logout}))
    assert auth.cookie is None


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "unauthorized", "reason": "You are not authorized"}),
        (403, {"error": "credentials_expired", "reason": "Session expired"}),
    ],
)
def test_session_relogs_in_and_replays_once(status: int, body: dict[str, str]) -> None:
    server = CouchSessions()
    server.expired_status, server.expired_body = status, body
    auth = SessionAuth("admin", "pw")
    drive(auth, request(), server)
    server.expire_all()
    sent, response = drive(auth, request("/db/other", "PUT"), server)
    assert [(r.method, r.url.removeprefix(BASE)) for r in sent] == [
        ("PUT", "/db/other"),
        ("POST", "/_session"),
        ("PUT", "/db/other"),
    ]
    assert sent[0].headers["Cookie"] == "AuthSession=c1"
    assert sent[2].headers["Cookie"] == "AuthSession=c2"
    assert response is not None and response.status_code == 200
    assert server.logins == 2


def test_session_plain_403_is_not_a_session_problem() -> None:
    server = CouchSessions()
    auth = SessionAuth("admin", "pw")
    drive(auth, request(), server)
    forbidden = FakeResponse(403, {"error": "forbidden", "reason": "no"})
    sent, response = drive(auth, request(), lambda r: forbidden)
    assert len(sent) == 1 and response is forbidden


def test_session_failed_relogin_ends_the_flow() -> None:
    """Credentials changed server-side: one re-login attempt, then its 401 is the answer."""
    server = CouchSessions()
    auth = SessionAuth("admin", "pw")
    drive(auth, request(), server)
    server.expire_all()
    server.password = "changed"
    sent, response = drive(auth, request(), server)
    assert [r.url.removeprefix(BASE) for r in sent] == ["/db/doc", "/_session"]
    assert response is not None and response.status_code == 401
    assert auth.cookie is None
    # Next request: one login attempt, which fails; no loop.
    sent, response = drive(auth, request(), server)
    assert [r.url.removeprefix(BASE) for r in sent] == ["/_session"]
    assert response is not None and response.status_code == 401


def test_session_replay_answered_401_again_is_returned() -> None:
    """A server that rejects even a fresh cookie: login, request, re-login, request, stop."""
    auth = SessionAuth("admin", "pw")

    def stubborn(req: Request) -> FakeResponse:
        if req.url.endswith("/_session"):
            return FakeResponse(200, {"ok": True}, session_cookie("c"))
        return FakeResponse(401, {"error": "unauthorized"})

    sent, response = drive(auth, request(), stubborn)
    assert len(sent) == 4
    assert response is not None and response.status_code == 401


def test_session_bad_credentials_first_login() -> None:
    sent, response = drive(SessionAuth("admin", "nope"), request(), CouchSessions())
    assert len(sent) == 1 and sent[0].url == f"{BASE}/_session"
    assert response is not None and response.status_code == 401


def test_session_login_without_cookie_still_sends_the_request() -> None:
    """A 2xx login whose cookie was stripped must not stand in for the real answer."""
    auth = SessionAuth("admin", "pw")

    def no_cookie(req: Request) -> FakeResponse:
        if req.url.endswith("/_session"):
            return FakeResponse(200, {"ok": True})
        return FakeResponse(401, {"error": "unauthorized"})

    sent, response = drive(auth, request(), no_cookie)
    assert sent[-1].url == f"{BASE}/db/doc"
    assert response is not None and response.status_code == 401


def test_session_refreshes_before_a_known_expiry() -> None:
    clock = FakeClock()
    server = CouchSessions(max_age=600)
    auth = SessionAuth("admin", "pw", refresh_margin=30, clock=clock)
    drive(auth, request(), server)
    clock.now += 500  # still 100 s left, more than the margin
    sent, _ = drive(auth, request(), server)
    assert len(sent) == 1 and server.logins == 1
    clock.now += 75  # 25 s left: inside the margin -> log in before sending
    sent, _ = drive(auth, request(), server)
    assert [r.url.removeprefix(BASE) for r in sent] == ["/_session", "/db/doc"]
    assert sent[1].headers["Cookie"] == "AuthSession=c2"


def test_session_expires_attribute_is_honoured() -> None:
    clock = FakeClock(now=2_000_000_000.0 - 3600)  # an hour before 2033-05-18T03:33:20Z
    auth = SessionAuth("admin", "pw", refresh_margin=30, clock=clock)
    auth.capture(
        FakeResponse(
            200, {}, {"Set-Cookie": "AuthSession=e; Expires=Wed, 18 May 2033 03:33:20 GMT"}
        )
    )
    assert auth.cookie == "e"
    clock.now += 3600 - 10
    sent, _ = drive(auth, request(), CouchSessions())
    assert sent[0].url == f"{BASE}/_session"


def test_session_auto_renew_false() -> None:
    clock = FakeClock()
    server = CouchSessions(max_age=60)
    auth = SessionAuth("admin", "pw", auto_renew=False, clock=clock)
    sent, _ = drive(auth, request(), server)  # the first request still logs in
    assert len(sent) == 2
    clock.now += 3600  # long past Max-Age: no proactive refresh
    server.expire_all()
    sent, response = drive(auth, request(), server)
    assert len(sent) == 1  # no re-login, no replay
    assert response is not None and response.status_code == 401
    assert server.logins == 1


def test_session_clear_forces_a_login() -> None:
    server = CouchSessions()
    auth = SessionAuth("admin", "pw")
    drive(auth, request(), server)
    auth.clear()
    assert auth.cookie is None
    sent, _ = drive(auth, request(), server)
    assert sent[0].url == f"{BASE}/_session"


def test_session_login_request_targets_the_request_server() -> None:
    auth = SessionAuth("u", "p")
    login = auth.login_request("http://other:1234")
    assert login.method == "POST" and login.url == "http://other:1234/_session"
    assert login.base_url == "http://other:1234"


# -- IAMAuth -----------------------------------------------------------------

TOKEN_URL = "http://127.0.0.1:9/identity/token"


class IAMServer:
    """A fake IAM token endpoint plus an API that accepts only the current token."""

    def __init__(self, expires_in: int = 3600, delay: float = 0.0) -> None:
        self.expires_in = expires_in
        self.delay = delay
        self.tokens = 0
        self.current: str | None = None
        self.lock = threading.Lock()
        self.token_requests: list[Request] = []

    def __call__(self, req: Request) -> FakeResponse:
        if req.url == TOKEN_URL:
            if self.delay:
                time.sleep(self.delay)  # widen the window in which other threads could race
            with self.lock:
                self.token_requests.append(req)
                self.tokens += 1
                self.current = f"t{self.tokens}"
                return FakeResponse(
                    200,
                    {
                        "access_token": self.current,
                        "refresh_token": "r",
                        "token_type": "Bearer",
                        "expires_in": self.expires_in,
                    },
                )
        if req.headers.get("Authorization") == f"Bearer {self.current}":
            return FakeResponse(200, {"ok": True})
        return FakeResponse(401, {"error": "unauthorized"})


def test_iam_fetches_a_token_first() -> None:
    server = IAMServer()
    auth = IAMAuth("my-api-key", token_url=TOKEN_URL)
    sent, response = drive(auth, request(), server)
    assert [r.url for r in sent] == [TOKEN_URL, f"{BASE}/db/doc"]
    token_req = sent[0]
    assert token_req.method == "POST"
    assert token_req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in token_req.headers
    form = parse_qs((token_req.body or b"").decode())
    assert form == {
        "grant_type": ["urn:ibm:params:oauth:grant-type:apikey"],
        "response_type": ["cloud_iam"],
        "apikey": ["my-api-key"],
    }
    assert sent[1].headers["Authorization"] == "Bearer t1"
    assert response is not None and response.status_code == 200
    assert auth.token == "t1"
    sent, _ = drive(auth, request(), server)
    assert len(sent) == 1 and server.tokens == 1


def test_iam_client_credentials_go_in_basic_auth() -> None:
    server = IAMServer()
    auth = IAMAuth("k", token_url=TOKEN_URL, client_id="cid", client_secret="cs")
    sent, _ = drive(auth, request(), server)
    assert sent[0].headers["Authorization"] == basic_auth_header("cid", "cs")


def test_iam_refreshes_at_80_percent_of_the_lifetime() -> None:
    clock = FakeClock()
    server = IAMServer(expires_in=1000)
    auth = IAMAuth("k", token_url=TOKEN_URL, clock=clock)
    drive(auth, request(), server)
    clock.now += 799
    sent, _ = drive(auth, request(), server)
    assert len(sent) == 1 and server.tokens == 1
    clock.now += 1  # 800 s = 80 % of 1000
    sent, _ = drive(auth, request(), server)
    assert [r.url for r in sent] == [TOKEN_URL, f"{BASE}/db/doc"]
    assert sent[1].headers["Authorization"] == "Bearer t2"


def test_iam_expiration_timestamp_is_understood() -> None:
    clock = FakeClock(now=5000)
    auth = IAMAuth("k", token_url=TOKEN_URL, clock=clock)
    assert auth.handle_token(FakeResponse(200, {"access_token": "x", "expiration": 6000}))
    clock.now = 5000 + 801
    sent, _ = drive(auth, request(), IAMServer())
    assert sent[0].url == TOKEN_URL


def test_iam_401_refreshes_once_and_replays() -> None:
    server = IAMServer()
    auth = IAMAuth("k", token_url=TOKEN_URL)
    drive(auth, request(), server)
    server.current = "revoked-elsewhere"
    sent, response = drive(auth, request(), server)
    assert [r.url for r in sent] == [f"{BASE}/db/doc", TOKEN_URL, f"{BASE}/db/doc"]
    assert sent[2].headers["Authorization"] == "Bearer t2"
    assert response is not None and response.status_code == 200


def test_iam_persistent_401_does_not_loop() -> None:
    auth = IAMAuth("k", token_url=TOKEN_URL)

    def rejecting(req: Request) -> FakeResponse:
        if req.url == TOKEN_URL:
            return FakeResponse(200, {"access_token": "t", "expires_in": 3600})
        return FakeResponse(401, {"error": "unauthorized"})

    sent, response = drive(auth, request(), rejecting)
    assert len(sent) == 4  # token, request, token, request
    assert response is not None and response.status_code == 401


def test_iam_refused_api_key_raises_unauthorized() -> None:
    auth = IAMAuth("bad-key", token_url=TOKEN_URL)
    refusal = FakeResponse(
        400, {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}
    )
    with pytest.raises(Unauthorized, match="could not be found") as info:
        drive(auth, request(), lambda r: refusal)
    assert info.value.error == "BXNIM0415E" and info.value.url == TOKEN_URL
    assert "bad-key" not in str(info.value)
    assert auth.token is None


def test_iam_token_endpoint_failure_is_the_answer() -> None:
    """A 5xx from the token endpoint ends the flow; the transport raises ServerError from it."""
    auth = IAMAuth("k", token_url=TOKEN_URL)
    failure = FakeResponse(503, {"errorMessage": "try later"})
    sent, response = drive(auth, request(), lambda r: failure)
    assert len(sent) == 1 and response is failure
    assert auth.token is None


def test_iam_2xx_without_token_raises() -> None:
    auth = IAMAuth("k", token_url=TOKEN_URL)
    with pytest.raises(Unauthorized, match="without an access_token"):
        drive(auth, request(), lambda r: FakeResponse(200, {"unexpected": True}))


def test_iam_one_token_request_for_many_threads() -> None:
    server = IAMServer(delay=0.2)
    auth = IAMAuth("k", token_url=TOKEN_URL)
    barrier = threading.Barrier(8)
    results: list[int] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            _, response = drive(auth, request(), server)
            assert response is not None
            results.append(response.status_code)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not failures, failures
    assert results == [200] * 8
    assert server.tokens == 1


def test_iam_abandoned_flow_releases_the_lock() -> None:
    """A token request that fails in the transport (exception, flow closed) must not deadlock."""
    auth = IAMAuth("k", token_url=TOKEN_URL)
    flow = auth.auth_flow(request())
    assert next(flow).url == TOKEN_URL
    flow.close()  # what the transport does when sending raised
    sent, response = drive(auth, request(), IAMServer())
    assert sent[0].url == TOKEN_URL
    assert response is not None and response.status_code == 200
