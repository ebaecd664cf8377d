"""CouchDB 3.4+ account lockout: a distinct error, terminal for feeds, worded by the CLI.

CouchDB locks a user out (per client address) after 5 failed logins and then
refuses that user with ``403 forbidden: Account is temporarily locked ...``
for 5 minutes, right password or not. Only a THROWAWAY user made for the test
is ever locked, never the admin every other test logs in as.
"""

from __future__ import annotations

import base64
import json
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

import settee
from settee import errors
from settee.backends.http.backend import HTTPBackend
from settee.cli import commands
from settee.database import Database
from tests.conftest import Server, unique_name


def _admin(server: Server, method: str, path: str, body: object) -> None:
    token = base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
    request = urllib.request.Request(
        f"{server.url}/{path}",
        method=method,
        data=None if method == "DELETE" else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
    )
    urllib.request.urlopen(request, timeout=30).close()


@pytest.fixture
def locked_user(couchdb_server: Server) -> Iterator[tuple[str, str, str]]:
    """A fresh user, member of a fresh database, locked out by 6 bad logins."""
    name = f"lockout-{uuid.uuid4().hex[:10]}"
    password = "right-Pa55word"
    db_name = unique_name("lockout")
    _admin(
        couchdb_server,
        "PUT",
        f"_users/org.couchdb.user:{name}",
        {"name": name, "password": password, "roles": [], "type": "user"},
    )
    _admin(couchdb_server, "PUT", db_name, {})
    _admin(couchdb_server, "PUT", f"{db_name}/_security", {"members": {"names": [name]}})
    bad = HTTPBackend(couchdb_server.url, auth=(name, "wrong-Pa55word"))
    try:
        for _ in range(6):
            with pytest.raises((errors.Unauthorized, errors.AccountLocked)):
                bad.db_info(db_name)
    finally:
        bad.close()
    yield name, password, db_name
    _admin(couchdb_server, "DELETE", db_name, {})


def test_a_locked_account_raises_account_locked(
    couchdb_server: Server, locked_user: tuple[str, str, str]
) -> None:
    name, password, db_name = locked_user
    backend = HTTPBackend(couchdb_server.url, auth=(name, password))
    try:
        with pytest.raises(errors.AccountLocked) as info:
            backend.db_info(db_name)
    finally:
        backend.close()
    exc = info.value
    assert isinstance(exc, errors.Forbidden)
    assert exc.status == 403 and exc.error == "forbidden"
    assert exc.reason is not None and exc.reason.startswith("Account is temporarily locked")
    assert "5 minutes" in str(exc)
    assert password not in str(exc)


def test_an_infinite_feed_stops_on_the_lockout(
    couchdb_server: Server, locked_user: tuple[str, str, str]
) -> None:
    name, password, db_name = locked_user
    client = settee.connect(couchdb_server.url, auth=(name, password))
    delays: list[float] = []
    try:
        feed = Database(client, db_name).infinite_changes(
            on_error=lambda _exc, delay: delays.append(delay)
        )
        with pytest.raises(errors.AccountLocked):
            next(iter(feed))
    finally:
        client.close()
    assert delays == []  # terminal: no backoff, no retry that would prolong the lockout


def test_the_cli_says_the_account_is_locked(
    couchdb_server: Server,
    locked_user: tuple[str, str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, password, _db_name = locked_user
    argv = ["--url", couchdb_server.url, "--user", name, "--password", password, "info"]
    assert commands.main(argv) == commands.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("settee: account locked:")
    assert "5 minutes" in err
    assert password not in err
