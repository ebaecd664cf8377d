"""HTTP-only client features on real servers: credentials, cookie sessions, the
python-cloudant constructor, URLs. PouchDB Server always; CouchDB when COUCHDB_URL is set."""

from __future__ import annotations

import base64
import logging

import pytest

import settee
from settee.auth.schemes import BasicAuth, NoAuth, SessionAuth
from tests.conftest import Server, unique_name


def with_userinfo(server: Server, password: str | None = None) -> str:
    scheme, rest = server.url.split("://", 1)
    return f"{scheme}://{server.user}:{password or server.password}@{rest}"


def test_url_credentials_become_basic_auth_and_never_show(
    http_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="settee")
    client = settee.connect(with_userinfo(http_server))
    try:
        assert client.url == http_server.url
        assert http_server.password not in repr(client)
        assert isinstance(client.auth, BasicAuth)
        name = unique_name("http")
        db = client.create_database(name)  # needs the admin credentials
        assert http_server.password not in db.database_url
        assert http_server.password not in repr(db)
        client.delete_database(name)
        assert caplog.records, "the transport logs each request at DEBUG"
        assert http_server.password not in caplog.text
    finally:
        client.disconnect()


def test_auth_tuple_is_basic_auth(http_server: Server) -> None:
    with settee.connect(http_server.url, auth=http_server.auth) as client:
        assert isinstance(client.auth, BasicAuth)
        assert client.session()["userCtx"]["name"] == http_server.user
        expected = base64.b64encode(f"{http_server.user}:{http_server.password}".encode())
        assert client.basic_auth_str() == "Basic " + expected.decode()
        assert client.session_cookie() is None


def test_couchdb_constructor_cookie_session(http_server: Server) -> None:
    client = settee.CouchDB(http_server.user, http_server.password, url=http_server.url)
    assert isinstance(client.auth, SessionAuth)
    assert client.session_cookie() is None  # connect=False: nothing sent yet
    client.connect()
    try:
        cookie = client.session_cookie()
        assert cookie
        info = client.session()
        assert info["userCtx"]["name"] == http_server.user
        assert "_admin" in info["userCtx"]["roles"]
        name = unique_name("sess")
        client.create_database(name)
        client.delete_database(name)
    finally:
        client.disconnect()
    assert client.session_cookie() is None


def test_couchdb_connect_true_and_context_manager(http_server: Server) -> None:
    with settee.CouchDB(
        http_server.user, http_server.password, url=http_server.url, connect=True
    ) as client:
        assert client.session_cookie()
        assert "version" in client.metadata()
    assert client.session_cookie() is None  # logged out on exit


def test_couchdb_module_context_managers(http_server: Server) -> None:
    with settee.couchdb(http_server.user, http_server.password, url=http_server.url) as client:
        assert client.session()["userCtx"]["name"] == http_server.user
    with settee.couchdb_admin_party(url=http_server.url) as anonymous:
        assert isinstance(anonymous.auth, NoAuth)
        assert anonymous.admin_party
        assert anonymous.session()["userCtx"]["name"] is None


def test_wrong_password_is_unauthorized(http_server: Server) -> None:
    # A throwaway name: CouchDB 3.4+ locks an account out after 5 failed logins,
    # and the admin is the account every other test needs.
    user = unique_name("nobody")
    with pytest.raises(settee.Unauthorized):
        settee.CouchDB(user, "wrong", url=http_server.url, connect=True)
    basic = settee.CouchDB(user, "wrong", url=http_server.url, use_basic_auth=True)
    try:
        with pytest.raises(settee.Unauthorized):
            basic.create_database(unique_name("nope"))
    finally:
        basic.disconnect()


def test_admin_party_sends_no_credentials(http_server: Server) -> None:
    client = settee.CouchDB(None, None, admin_party=True, url=http_server.url)
    try:
        assert client.basic_auth_str() is None
        assert client.session_cookie() is None
        assert client.session()["userCtx"] == {"name": None, "roles": []}
        client.connect()  # nothing to log in to
        assert client.session_cookie() is None
    finally:
        client.disconnect()


def test_change_credentials_and_session_login(http_server: Server) -> None:
    client = settee.CouchDB(http_server.user, http_server.password, url=http_server.url)
    try:
        client.connect()
        with pytest.raises(settee.Unauthorized):
            client.change_credentials(auth_token="wrong")
        client.session_login(http_server.user, http_server.password)
        assert client.session()["userCtx"]["name"] == http_server.user
        client.session_logout()
        assert client.session_cookie() is None
    finally:
        client.disconnect()
    basic = settee.CouchDB(http_server.user, "wrong", url=http_server.url, use_basic_auth=True)
    try:
        basic.change_credentials(auth_token=http_server.password)
        name = unique_name("basic")
        basic.create_database(name)
        basic.delete_database(name)
        assert basic.session_cookie() is None
    finally:
        basic.disconnect()
    with settee.CouchDB(None, None, admin_party=True, url=http_server.url) as anonymous:
        with pytest.raises(settee.NotSupported):
            anonymous.change_credentials("u", "p")


def test_options_reach_the_transport(http_server: Server) -> None:
    client = settee.CouchDB(
        http_server.user,
        http_server.password,
        url=http_server.url,
        use_basic_auth=True,
        timeout=7,
        max_retries=1,
        headers={"X-Test": "1"},
    )
    try:
        transport = client.backend.transport  # type: ignore[attr-defined]
        assert transport.timeout == (7.0, 7.0)
        assert transport.session.headers["X-Test"] == "1"
        assert client.r_session is transport.session
        assert not client.is_iam_authenticated
    finally:
        client.disconnect()
    with pytest.raises(TypeError):
        settee.CouchDB(http_server.user, None, url=http_server.url)  # type: ignore[arg-type]


def test_database_and_document_urls_are_percent_encoded(http_server: Server) -> None:
    with settee.connect(http_server.url, auth=http_server.auth) as client:
        name = unique_name("a/b")
        db = client.create_database(name)
        try:
            assert db.database_url == f"{http_server.url}/{name.replace('/', '%2F')}"
            doc = db.create_document({"_id": "x/y?z#w"})
            assert doc.document_url == f"{db.database_url}/x%2Fy%3Fz%23w"
            ddoc = settee.DesignDocument(db, "app")
            assert ddoc.document_url == f"{db.database_url}/_design/app"
        finally:
            client.delete_database(name)
