"""Secrets never shown: query values that are credentials, userinfo, login bodies (issue 8).

Item 7: a request with ``params={"token": ...}`` to a refused port (only a
fault shows this: :func:`tests.http.fakes.refused_url`, nothing listens
there) must not put the secret in the exception's text, its args, its chain
(what a traceback prints), the "feed interrupted" log line, or any log
record at any level (urllib3's DEBUG retry lines included).

Item 11: a password holding ``#``, ``?`` or ``/`` in a URL's userinfo never
appears in a URL, repr or str of the client, database, backend or
transport, nor in the reprs of IAM/OAuth2 strategies and of a login
:class:`~settee.auth.Request`. No request is sent for these.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest

from settee import errors
from settee.auth.iam import IAMAuth
from settee.auth.oauth2 import OAuth2ClientCredentials, OAuth2Password
from settee.auth.protocol import Request
from settee.auth.schemes import BasicAuth, SessionAuth
from settee.client import Client
from settee.database import Database
from settee.http.transport import Transport
from tests.http.fakes import refused_url

SECRET = "SECRET-value-42"
SECRET_PARAMS = ["token", "apikey", "api_key", "password", "access_token", "client_secret"]


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger, DEBUG and up."""
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "urllib3.util.retry", "settee"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def exception_texts(exc: BaseException) -> list[str]:
    """Everything a user may see of ``exc``: str, repr, args, attributes, the traceback."""
    texts = [str(exc), repr(exc), repr(exc.args), str(getattr(exc, "url", ""))]
    texts.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return texts


def assert_no_secret(texts: list[str], secret: str = SECRET) -> None:
    for text in texts:
        assert secret not in text, text


def record_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = []
    for record in caplog.records:
        texts += [record.getMessage(), str(record.msg), repr(record.args)]
        if record.exc_info and record.exc_info[1] is not None:
            texts += exception_texts(record.exc_info[1])
    return texts


# -- item 7: secret query values -------------------------------------------------------
@pytest.mark.parametrize("name", SECRET_PARAMS)
def test_secret_params_to_a_refused_port_are_masked_everywhere(
    all_logs: pytest.LogCaptureFixture, name: str
) -> None:
    transport = Transport(refused_url(), max_retries=2, backoff_factor=0)
    try:
        with pytest.raises(errors.TransportError) as caught:
            transport.request("GET", ("db", "_all_docs"), params={name: SECRET, "limit": 1})
    finally:
        transport.close()
    assert_no_secret(exception_texts(caught.value))
    retries = [r for r in all_logs.records if r.name.startswith("urllib3")]
    assert retries, "urllib3 logged nothing: the retry lines were not exercised"
    assert_no_secret(record_texts(all_logs))
    assert "limit=1" in str(caught.value)  # what is not a secret is still shown


def test_feed_interrupted_lines_do_not_show_secret_query_params(
    all_logs: pytest.LogCaptureFixture,
) -> None:
    client = Client(refused_url(), max_retries=0)
    db = Database(client, "db")
    feed = db.infinite_changes(
        query_params={"token": SECRET}, max_reconnects=2, backoff_base=0, backoff_max=0
    )
    with pytest.raises(errors.SetteeError) as caught:
        for _ in zip(range(10), feed, strict=False):
            pass
    interrupted = [r for r in all_logs.records if "interrupted" in r.getMessage()]
    assert len(interrupted) == 2
    assert_no_secret(record_texts(all_logs))
    assert_no_secret(exception_texts(caught.value))


# -- item 11: userinfo and login secrets ----------------------------------------------
PASSWORDS = ["p#secret", "p?secret", "p/secret"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_userinfo_with_special_characters_is_never_shown(password: str) -> None:
    url = refused_url().replace("http://", f"http://admin:{password}@")
    client = Client(url)
    try:
        db = Database(client, "db")
        backend = client.backend
        transport = backend.transport  # type: ignore[attr-defined]
        shown = [
            client.url,
            client.server_url,
            repr(client),
            str(client),
            repr(db),
            str(db),
            db.database_url,
            repr(backend),
            backend.url,
            repr(transport),
            transport.base_url,
            transport.url("db", "doc"),
        ]
        assert_no_secret(shown, "secret")
        urls = [client.url, db.database_url, backend.url, transport.base_url]
        assert not any("admin" in u or "@" in u for u in urls), urls
        # The credentials were taken whole, not cut at the special character.
        assert isinstance(transport.auth, BasicAuth)
        assert transport.auth.password == password
        assert client.url == refused_url_port(url)
    finally:
        client.disconnect()


def refused_url_port(url: str) -> str:
    return "http://" + url.rpartition("@")[2]


@pytest.mark.parametrize("password", PASSWORDS)
def test_token_url_userinfo_is_not_in_strategy_reprs(password: str) -> None:
    token_url = f"https://user:{password}@iam.example.com/identity/token"
    strategies = [
        IAMAuth("api-key-secret", token_url=token_url),
        OAuth2ClientCredentials(token_url, "client", "client-secret"),
        OAuth2Password(token_url, "client", username="bob", password="pw-secret"),
    ]
    for strategy in strategies:
        text = repr(strategy)
        for secret in (password, "api-key-secret", "client-secret", "pw-secret", "user:"):
            assert secret not in text, text
        assert "iam.example.com/identity/token" in text


def test_request_repr_masks_login_body_and_authorization() -> None:
    login = SessionAuth("admin", "p#secret").login_request("http://127.0.0.1:5984")
    assert "p#secret" not in repr(login) and "secret" not in str(login)
    request = Request(
        "GET",
        "http://127.0.0.1:5984/db?token=tok-secret",
        {"Authorization": "Basic c2VjcmV0", "Cookie": "AuthSession=cookie-secret"},
        b'{"password": "body-secret"}',
    )
    text = repr(request)
    for secret in ("tok-secret", "c2VjcmV0", "cookie-secret", "body-secret"):
        assert secret not in text, text
    assert "GET" in text and "/db" in text
