"""``Client.close()`` and ``with settee.connect(...)`` on real servers (PouchDB Server
always; CouchDB when configured): the cookie session ends, pooled connections close,
cached handles go."""

from __future__ import annotations

import pytest

import settee
from settee.auth.schemes import SessionAuth
from tests.conftest import Server, unique_name


def _pools(client: settee.Client) -> int:
    adapter = client.r_session.get_adapter(client.url)
    return len(adapter.poolmanager.pools)  # type: ignore[attr-defined]


def test_with_connect_logs_out_and_closes_on_exit(http_server: Server) -> None:
    name = unique_name("close")
    auth = SessionAuth(http_server.user, http_server.password)
    with settee.connect(http_server.url, auth=auth) as client:
        assert client.session_cookie() is not None  # logged in on entry
        assert client.session()["userCtx"]["name"] == http_server.user
        client.create_database(name)
        assert len(client) == 1 and _pools(client) > 0
    assert client.session_cookie() is None
    assert len(client) == 0 and _pools(client) == 0
    with settee.connect(http_server.url, auth=http_server.auth) as admin:
        admin.delete_database(name)


def test_close_is_disconnect_and_idempotent(http_server: Server) -> None:
    client = settee.connect(
        http_server.url, auth=SessionAuth(http_server.user, http_server.password)
    )
    client.connect()
    assert client.session_cookie() is not None
    client.close()
    assert client.session_cookie() is None and _pools(client) == 0
    client.close()
    client.disconnect()


def test_with_block_that_raises_still_closes(http_server: Server) -> None:
    auth = SessionAuth(http_server.user, http_server.password)
    with pytest.raises(RuntimeError), settee.connect(http_server.url, auth=auth) as client:
        assert client.session_cookie() is not None
        raise RuntimeError("boom")
    assert client.session_cookie() is None
