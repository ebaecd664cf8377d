"""Auth strategies over real HTTP: basic and cookie sessions on PouchDB Server (and CouchDB).

IAM runs end-to-end against a fake (tests/http/fakes.py): no IAM token
endpoint exists here, and PouchDB Server/CouchDB would not accept an IAM
bearer token anyway, so the fake plays both the token endpoint and an API
that checks the bearer token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from settee import errors
from settee.auth.iam import IAMAuth
from settee.auth.schemes import BasicAuth, SessionAuth
from settee.backends.http.backend import HTTPBackend
from tests.conftest import Server, unique_name

from .fakes import IAMFake


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)


@contextlib.contextmanager
def rotated_cookie_secret(server: Server) -> Iterator[None]:
    """Invalidate every session cookie behind the client's back; restore the secret after.

    A logout (``DELETE /_session``) does not do it: CouchDB and PouchDB
    Server cookies are HMACs, valid until they time out. Changing the
    server's cookie secret is what invalidates them. The old secret is put
    back afterwards so the shared server behaves as before for later tests.
    """
    path = (
        "/_config/couch_httpd_auth/secret"
        if server.kind == "pouchdb"
        else "/_node/_local/_config/chttpd_auth/secret"
    )
    try:
        old = server.raw("GET", path)
    except urllib.error.HTTPError as exc:  # no explicit secret configured
        if exc.code != 404:
            raise
        old = None
    server.raw("PUT", path, uuid.uuid4().hex)
    try:
        yield
    finally:
        if old is None:
            server.raw("DELETE", path)
        else:
            server.raw("PUT", path, old)


def session_info(server: Server, cookie: str) -> dict[str, object]:
    req = urllib.request.Request(
        server.url + "/_session", headers={"Cookie": f"AuthSession={cookie}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        info: dict[str, object] = json.loads(resp.read())
        return info


@pytest.fixture
def session_backend(http_server: Server) -> Iterator[tuple[HTTPBackend, SessionAuth]]:
    http_server.require("sessions")
    auth = SessionAuth(http_server.user, http_server.password)
    backend = HTTPBackend(http_server.url, auth=auth)
    try:
        yield backend, auth
    finally:
        backend.close()


# -- basic -------------------------------------------------------------------------------


def test_basic_auth_works(http_server: Server, debug_logs: pytest.LogCaptureFixture) -> None:
    backend = HTTPBackend(http_server.url, auth=BasicAuth(http_server.user, http_server.password))
    name = unique_name("basic")
    try:
        backend.create_db(name)
        backend.put_doc(name, {"_id": "a", "v": 1})
        assert backend.get_doc(name, "a")["v"] == 1
        backend.delete_db(name)
    finally:
        backend.close()
    assert http_server.password not in all_log_text(debug_logs)


def test_basic_auth_from_url_userinfo(http_server: Server) -> None:
    host = http_server.url.split("://", 1)[1]
    backend = HTTPBackend(f"http://{http_server.user}:{http_server.password}@{host}")
    try:
        assert backend.url == http_server.url
        assert isinstance(backend.all_dbs(), list)
    finally:
        backend.close()


def test_basic_auth_bad_credentials(
    http_server: Server, debug_logs: pytest.LogCaptureFixture
) -> None:
    # A throwaway name, never the admin: CouchDB 3.4+ locks an account out after 5 failures.
    backend = HTTPBackend(
        http_server.url, auth=(f"nobody-{uuid.uuid4().hex[:8]}", "wrong-Pa55word")
    )
    try:
        with pytest.raises(errors.Unauthorized) as info:
            backend.all_dbs()
    finally:
        backend.close()
    exc = info.value
    assert exc.status == 401 and exc.error == "unauthorized"
    assert exc.method == "GET" and exc.url == f"{http_server.url}/_all_dbs"
    assert "wrong-Pa55word" not in str(exc) + repr(exc) + repr(backend.transport)
    assert "wrong-Pa55word" not in all_log_text(debug_logs)


# -- cookie sessions -----------------------------------------------------------------------


def test_session_logs_in_once_and_uses_the_cookie(
    session_backend: tuple[HTTPBackend, SessionAuth], http_server: Server
) -> None:
    backend, auth = session_backend
    assert auth.cookie is None
    name = unique_name("sess")
    backend.create_db(name)
    try:
        cookie = auth.cookie
        assert cookie
        info = session_info(http_server, cookie)
        assert info["userCtx"] == {"name": http_server.user, "roles": ["_admin"]}
        backend.put_doc(name, {"_id": "a"})
        assert backend.get_doc(name, "a")["_id"] == "a"
        assert auth.cookie  # still a session (possibly renewed by the server)
    finally:
        backend.delete_db(name)


def test_session_survives_a_forced_expiry(
    session_backend: tuple[HTTPBackend, SessionAuth],
    http_server: Server,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    backend, auth = session_backend
    name = unique_name("expiry")
    backend.create_db(name)
    stale = auth.cookie
    assert stale
    with rotated_cookie_secret(http_server):
        assert session_info(http_server, stale)["userCtx"] == {"name": None, "roles": []}
        # The next call (a server-admin endpoint) is answered 401; SessionAuth
        # logs in again and replays it. A server-admin endpoint, because
        # PouchDB Server 4.2 mishandles database requests that arrive without
        # a valid session (they hang, or an anonymous DELETE /db breaks every
        # later DELETE /db on the server), so this test never sends one.
        if http_server.kind == "pouchdb":
            config_path: tuple[str, ...] = ("_config",)
        else:
            config_path = ("_node", "_local", "_config")
        config = backend.transport.json("GET", config_path)
        assert isinstance(config, dict)
        assert "couch_httpd_auth" in config or "chttpd_auth" in config
        fresh = auth.cookie
        assert fresh and fresh != stale
        # ...and the session keeps working for database calls.
        backend.put_doc(name, {"_id": "after-expiry"})
        assert backend.get_doc(name, "after-expiry")["_id"] == "after-expiry"
        backend.delete_db(name)
        assert name not in backend.all_dbs()
    # Back on the old secret, the cookie is stale again: renewed the same way.
    backend.transport.json("GET", config_path)
    assert auth.cookie not in (None, fresh)
    logins = [
        r
        for r in debug_logs.records
        if r.getMessage().startswith("POST") and "/_session" in r.getMessage()
    ]
    assert len(logins) == 3  # the first login and two renewals
    text = all_log_text(debug_logs)
    for secret in (http_server.password, stale, fresh):
        assert secret not in text


def test_session_bad_credentials(http_server: Server, debug_logs: pytest.LogCaptureFixture) -> None:
    http_server.require("sessions")
    auth = SessionAuth(http_server.user, "not-the-Passw0rd")
    backend = HTTPBackend(http_server.url, auth=auth)
    try:
        with pytest.raises(errors.Unauthorized) as info:
            backend.all_dbs()
        # A second call tries once more (one login attempt), and fails the same way.
        with pytest.raises(errors.Unauthorized):
            backend.all_dbs()
    finally:
        backend.close()
    exc = info.value
    assert exc.status == 401 and exc.method == "POST"
    assert exc.url == f"{http_server.url}/_session"
    assert auth.cookie is None
    assert "not-the-Passw0rd" not in str(exc) + repr(exc) + repr(auth)
    assert "not-the-Passw0rd" not in all_log_text(debug_logs)


# -- IAM (fake token endpoint and API) ---------------------------------------------------------


@pytest.fixture
def iam() -> Iterator[IAMFake]:
    with IAMFake(api_key="iam-Secret-key") as fake:
        yield fake


def test_iam_end_to_end(iam: IAMFake, debug_logs: pytest.LogCaptureFixture) -> None:
    """Fake IAM endpoint + fake API checking the bearer token (no IAM or Cloudant here)."""
    auth = IAMAuth("iam-Secret-key", token_url=iam.token_url)
    backend = HTTPBackend(iam.url, auth=auth)
    try:
        assert backend.server_info()["couchdb"] == "Welcome"
        assert backend.db_info("db")["db_name"] == "db"
        assert len(iam.token_requests()) == 1  # one token for both calls
        first = auth.token
        iam.revoke()  # the token stops working server-side
        assert backend.db_info("other")["db_name"] == "other"
        assert len(iam.token_requests()) == 2
        assert auth.token != first
    finally:
        backend.close()
    text = all_log_text(debug_logs)
    assert "iam-Secret-key" not in text
    assert "iam-token-" not in text


def test_iam_unknown_api_key(iam: IAMFake) -> None:
    """Fake IAM endpoint answering 400 BXNIM0415E, as IBM's does for an unknown key."""
    backend = HTTPBackend(iam.url, auth=IAMAuth("not-a-key", token_url=iam.token_url))
    try:
        with pytest.raises(errors.Unauthorized, match="could not be found") as info:
            backend.server_info()
    finally:
        backend.close()
    assert info.value.error == "BXNIM0415E"
    assert "not-a-key" not in str(info.value)
    assert iam.server.seen("GET") == []  # the API was never called without a token
