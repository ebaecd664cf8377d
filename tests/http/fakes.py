"""Small threaded loopback HTTP servers for what no real server here can answer.

PouchDB Server and CouchDB are the real servers of this suite. These fakes
stand in only where none exists locally or a fault must be injected: an IBM
IAM token endpoint (and an API that checks its bearer tokens), Cloudant-only
account endpoints, and answers a real server would not give on demand
(non-JSON, truncated JSON, 503 with ``Retry-After``, a stall). Every test that
uses one says so in its docstring.

A fake is built from a handler ``(Recorded) -> Reply`` and records every
request it received, so a test can assert what was (not) sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import free_port


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str  # raw path, query included, still percent-encoded
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        """The path without the query string."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    """What the fake answers. ``truncate_to`` sends only that many body bytes
    (after a Content-Length announcing all of them) and closes the connection;
    ``stall`` seconds pass before anything is sent (interrupted at shutdown)."""

    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    truncate_to: int | None = None
    stall: float = 0.0

    @classmethod
    def json(cls, status: int, value: Any, *, stall: float = 0.0, **headers: str) -> Reply:
        return cls(
            status,
            json.dumps(value).encode(),
            {"Content-Type": "application/json", **headers},
            stall=stall,
        )

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[[Recorded], Reply]


class FakeServer:
    """A ThreadingHTTPServer on 127.0.0.1:<free port> answering with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
                with fake._lock:
                    fake.requests.append(recorded)
                reply = fake.handler(recorded)
                if reply.stall and fake._stopping.wait(reply.stall):
                    return
                payload = reply.payload()
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(payload)), **reply.headers}
                if reply.truncate_to is not None:
                    headers["Connection"] = "close"
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.truncate_to is not None:
                    self.wfile.write(payload[: reply.truncate_to])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def seen(self, method: str | None = None, route: str | None = None) -> list[Recorded]:
        """Requests received, optionally only those with ``method`` and/or ``route``."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (route is None or r.route == route)
            ]


def serve(handler: Handler) -> Iterator[FakeServer]:
    """Generator for fixtures: a started fake, stopped afterwards."""
    server = FakeServer(handler).start()
    try:
        yield server
    finally:
        server.stop()


def refused_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"


WELCOME = {"couchdb": "Welcome", "version": "3.3.3", "vendor": {"name": "fake"}}


class IAMFake:
    """An IBM IAM token endpoint (``POST /identity/token``) in front of a tiny API.

    The API (``GET /``, ``GET /{db}``) answers 401 unless the request carries
    ``Authorization: Bearer <the current token>``; ``revoke()`` makes the
    current token invalid as if it had expired server-side.
    """

    def __init__(self, api_key: str = "iam-api-key", expires_in: int = 3600) -> None:
        self.api_key = api_key
        self.expires_in = expires_in
        self.issued = 0
        self.current: str | None = None
        self.server = FakeServer(self.handle)
        self.url = self.server.url
        self.token_url = f"{self.url}/identity/token"

    def handle(self, req: Recorded) -> Reply:
        if req.route == "/identity/token":
            form = parse_qs(req.body.decode())
            if form.get("grant_type") != ["urn:ibm:params:oauth:grant-type:apikey"]:
                return Reply.json(400, {"errorCode": "BXNIM0109E", "errorMessage": "bad grant"})
            if form.get("apikey") != [self.api_key]:
                return Reply.json(
                    400,
                    {
                        "errorCode": "BXNIM0415E",
                        "errorMessage": "Provided API key could not be found.",
                    },
                )
            self.issued += 1
            self.current = f"iam-token-{self.issued}"
            return Reply.json(
                200,
                {
                    "access_token": self.current,
                    "refresh_token": "not-used",
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                    "expiration": 0,
                    "scope": "ibm openid",
                },
            )
        if req.headers.get("Authorization") != f"Bearer {self.current}" or self.current is None:
            return Reply.json(401, {"error": "unauthorized", "reason": "bad or expired token"})
        if req.route == "/":
            return Reply.json(200, WELCOME)
        return Reply.json(200, {"db_name": req.route.strip("/"), "doc_count": 0})

    def revoke(self) -> None:
        self.current = "revoked"

    def token_requests(self) -> list[Recorded]:
        return self.server.seen("POST", "/identity/token")

    def __enter__(self) -> IAMFake:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


CLOUDANT_WELCOME = {
    "couchdb": "Welcome",
    "version": "3.3.3",
    "vendor": {"name": "IBM Cloudant", "version": "8521", "variant": "paas"},
    "features": ["access-ready", "partitioned", "pluggable-storage-engines", "scheduler"],
}


class CloudantFake:
    """Cloudant's account endpoints, which no local server has.

    Accepts basic auth and cookie sessions for ``user``/``password``, and
    bearer tokens issued by an :class:`IAMFake` when one is given. Serves
    ``GET /``, ``/_session``, ``/_all_dbs``, and under ``/_api/v2``: the
    CORS configuration (stored, so a PUT is seen by the next GET), API key
    generation, shared databases, billing and usage reports (which echo the
    year/month they were asked for).
    """

    def __init__(self, user: str = "acct", password: str = "pw", iam: IAMFake | None = None):
        self.user = user
        self.password = password
        self.iam = iam
        self.cookies: set[str] = set()
        self.cors: dict[str, Any] = {
            "enable_cors": True,
            "allow_credentials": True,
            "origins": ["https://a.example"],
        }
        self.server = FakeServer(self.handle)
        self.url = self.server.url

    def _authorised(self, req: Recorded) -> bool:
        import base64

        header = req.headers.get("Authorization", "")
        if header.startswith("Basic "):
            pair = base64.b64decode(header[6:]).decode()
            return pair == f"{self.user}:{self.password}"
        if header.startswith("Bearer ") and self.iam is not None:
            return header[7:] == self.iam.current
        cookie = req.headers.get("Cookie", "").removeprefix("AuthSession=")
        return cookie in self.cookies

    def handle(self, req: Recorded) -> Reply:
        if req.route == "/_session" and req.method == "POST":
            body = req.json()
            if body != {"name": self.user, "password": self.password}:
                return Reply.json(401, {"error": "unauthorized", "reason": "bad credentials"})
            cookie = f"cookie{len(self.cookies) + 1}"
            self.cookies.add(cookie)
            return Reply.json(
                200,
                {"ok": True, "name": self.user, "roles": []},
                **{"Set-Cookie": f"AuthSession={cookie}; Version=1; Path=/; HttpOnly"},
            )
        if req.route == "/_session" and req.method == "DELETE":
            self.cookies.discard(req.headers.get("Cookie", "").removeprefix("AuthSession="))
            return Reply.json(
                200, {"ok": True}, **{"Set-Cookie": "AuthSession=; Version=1; Path=/; HttpOnly"}
            )
        if not self._authorised(req):
            return Reply.json(401, {"error": "unauthorized", "reason": "one of _all_dbs, ..."})
        route = req.route
        if route == "/":
            return Reply.json(200, CLOUDANT_WELCOME)
        if route == "/_session":
            return Reply.json(200, {"ok": True, "userCtx": {"name": self.user, "roles": []}})
        if route == "/_all_dbs":
            return Reply.json(200, ["animals", "plants"])
        if route == "/_api/v2/user/config/cors":
            if req.method == "PUT":
                self.cors = req.json()
                return Reply.json(200, {"ok": True})
            return Reply.json(200, self.cors)
        if route == "/_api/v2/api_keys" and req.method == "POST":
            return Reply.json(201, {"ok": True, "key": "thandoodstrenterprours", "password": "x"})
        if route == "/_api/v2/user/shared_databases":
            return Reply.json(200, {"shared_databases": ["other/shared1", "other/shared2"]})
        for report in ("/_api/v2/bill", "/_api/v2/usage/data_volume", "/_api/v2/usage/requests"):
            if route == report or route.startswith(report + "/"):
                rest = route[len(report) :].strip("/").split("/") if route != report else []
                return Reply.json(200, {"report": report, "period": rest})
        return Reply.json(404, {"error": "not_found", "reason": "missing"})

    def __enter__(self) -> CloudantFake:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
