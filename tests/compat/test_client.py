"""cloudant.client: CouchDB's constructor, encoder, r_session, the dict of databases."""

from __future__ import annotations

import json

import pytest
import requests

from settee import errors
from settee.compat.cloudant import couchdb
from settee.compat.cloudant.client import CouchDB
from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.document import Document
from settee.compat.cloudant.error import (
    ClientDisconnected,
    CloudantClientException,
    CloudantDatabaseException,
)
from settee.compat.cloudant.replicator import Replicator
from tests.conftest import Server, unique_name


def test_r_session_is_authenticated_and_ends_with_disconnect(http_server: Server) -> None:
    client = CouchDB(http_server.user, http_server.password, url=http_server.url)
    assert client.r_session is None  # until connect(), as python-cloudant documents
    client.connect()
    session = client.r_session
    assert session is not None
    answer = session.get(f"{http_server.url}/_session")
    assert answer.status_code == 200
    assert answer.json()["userCtx"]["name"] == http_server.user
    client.disconnect()
    assert client.r_session is None


def test_credentials_in_the_url(http_server: Server) -> None:
    host = http_server.url.split("://", 1)[1]
    url = f"http://{http_server.user}:{http_server.password}@{host}"
    with couchdb(None, None, url=url) as client:  # type: ignore[arg-type]
        assert http_server.password not in client.server_url
        assert client.session()["userCtx"]["name"] == http_server.user
        # python-cloudant's _user/_auth_token: the credentials taken from the URL.
        assert client._user == http_server.user
        assert client._auth_token == http_server.password
    assert CouchDB(None, None, True, url=http_server.url)._auth_token is None


def test_encoder_option(http_server: Server) -> None:
    class SetEncoder(json.JSONEncoder):
        def default(self, o: object) -> object:
            return sorted(o) if isinstance(o, set) else super().default(o)

    client = CouchDB(
        http_server.user, http_server.password, url=http_server.url, encoder=SetEncoder
    )
    assert client.encoder is SetEncoder
    assert CouchDB(None, None, True, url=http_server.url).encoder is json.JSONEncoder
    db = client.create_database(unique_name("enc"))
    try:
        doc = db.create_document({"_id": "s", "tags": {"b", "a"}})
        assert doc.exists()
        assert db.get("s", remote=True) is not None
        client.clear_cache()
        assert client[db.database_name]["s"]["tags"] == ["a", "b"]
    finally:
        db.delete()


def test_create_and_delete_database(client: CouchDB) -> None:
    name = unique_name("cd")
    db = client.create_database(name)
    assert isinstance(db, CouchDatabase) and name in client.all_dbs()
    assert client.create_database(name) is not None  # exists: no error by default
    with pytest.raises(CloudantClientException) as exists:
        client.create_database(name, throw_on_exists=True)
    assert exists.value.status_code == 412
    client.delete_database(name)
    with pytest.raises(CloudantClientException) as gone:
        client.delete_database(name)
    assert gone.value.status_code == 404
    with pytest.raises(KeyError):
        client[name]


def test_setitem_needs_a_database(client: CouchDB) -> None:
    with pytest.raises(CloudantClientException) as caught:
        client["x"] = "not a database"  # type: ignore[assignment]
    assert caught.value.status_code == 101


def test_create_database_with_a_name_couchdb_refuses(client: CouchDB) -> None:
    with pytest.raises(CloudantDatabaseException) as caught:
        client.create_database("invalidDbName_")
    assert caught.value.status_code == 400
    assert "invaliddbname_" not in client.all_dbs()


def test_requests_fail_between_disconnect_and_connect(http_server: Server) -> None:
    client = CouchDB(http_server.user, http_server.password, url=http_server.url, connect=True)
    db = client.create_database(unique_name("disc"))
    try:
        doc = db.create_document({"_id": "d"})
        client.disconnect()
        client.disconnect()  # twice: still disconnected, the adapters kept once
        assert client.r_session is None and db.r_session is None and doc.r_session is None
        # python-cloudant's AttributeError (its session is None), and settee's TransportError
        with pytest.raises(AttributeError) as caught:
            db.metadata()
        assert isinstance(caught.value, ClientDisconnected)
        assert isinstance(caught.value, errors.TransportError)
        # (the first request is the cookie login, the session having ended)
        assert caught.value.url is not None and caught.value.url.startswith(http_server.url)
        assert http_server.password not in str(caught.value)
        with pytest.raises(ClientDisconnected):
            doc.fetch()
        with pytest.raises(CloudantClientException) as no_replicator:
            Replicator(client)
        assert no_replicator.value.status_code == 404
        client.connect()
        assert client.r_session is not None
        doc.fetch()
        assert doc["_id"] == "d" and db.metadata()["db_name"] == db.database_name
    finally:
        client.connect()
        db.delete()
        client.disconnect()


def test_error_answers_carry_couchdb_error_and_reason_in_response_reason(client: CouchDB) -> None:
    db = client.create_database(unique_name("reason"))
    try:
        doc = Document(db, "d")
        doc["_invalid_key"] = "x"  # CouchDB refuses members starting with "_" it does not know
        with pytest.raises(requests.HTTPError) as caught:
            doc.save()
        error = caught.value
        assert isinstance(error, errors.CouchError) and error.error == "doc_validation"
        # CouchDB answers 400 Bad Request; PouchDB Server 500 Internal Server Error
        phrase = {400: "Bad Request", 500: "Internal Server Error"}[error.status]
        assert error.response is not None
        assert error.response.reason == f"{phrase} doc_validation {error.reason}"
    finally:
        db.delete()


def test_timeout_is_also_the_feeds_read_timeout(http_server: Server) -> None:
    client = CouchDB(http_server.user, http_server.password, url=http_server.url, timeout=(10, 0.5))
    client.connect()
    db = client.create_database(unique_name("tmo"))
    try:
        db.create_document({"_id": "a"})
        rows = []
        # A continuous feed without heartbeat: silence after the one change, then the
        # client's 0.5 s read timeout ends it, as python-cloudant's session timeout does.
        with pytest.raises(errors.FeedError, match="timed out"):
            for row in db.changes(feed="continuous"):
                rows.append(row)
        assert [row["id"] for row in rows] == ["a"]
    finally:
        db.delete()
        client.disconnect()
