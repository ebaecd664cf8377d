"""Credentials never leave the auth object: not in a URL, a log record, a ``repr``, a
replication log document, a result or an error.

Real PouchDB Server (with an admin password), reached with the password in
the URL's userinfo and as ``auth=``; every ``settee`` log record at DEBUG is
kept, including the request lines and a live replication's retry after the
fault proxy drops its connections (tests/http/proxy.py).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import settee
from settee.replication.server import endpoint
from tests.conftest import Server, unique_name
from tests.http.proxy import FaultProxy
from tests.replication.conftest import doc_ids


def _secrets(server: Server, password: str | None = None) -> list[str]:
    password = password or server.password
    basic = base64.b64encode(f"{server.user}:{password}".encode()).decode()
    return [password, basic]


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or ""]
        if record.exc_info and record.exc_info[1] is not None:
            parts += [str(record.exc_info[1]), repr(record.exc_info[1])]
    return "\n".join(parts)


@pytest.fixture
def proxy(pouchdb_server: Server) -> Iterator[FaultProxy]:
    port = int(pouchdb_server.url.rsplit(":", 1)[1])
    with FaultProxy(port, max_lifetime=300) as p:
        yield p


def _with_userinfo(url: str, user: str, password: str) -> str:
    return url.replace("://", f"://{user}:{password}@")


@pytest.mark.parametrize("given", ["userinfo", "auth"])
def test_no_credentials_anywhere_in_a_replication(
    given: str,
    pouchdb_server: Server,
    proxy: FaultProxy,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="settee")
    if given == "userinfo":
        client = settee.connect(
            _with_userinfo(proxy.url, pouchdb_server.user, pouchdb_server.password)
        )
    else:
        client = settee.connect(proxy.url, auth=pouchdb_server.auth)
    remote = client.create_database(unique_name("rep-creds"))
    local = settee.connect(f"sqlite:///{tmp_path / 'l.db'}").create_database("l")
    try:
        remote.put_doc(
            {
                "_id": "_design/guard",
                "validate_doc_update": "function (doc) {"
                " if (doc.bad) { throw({unauthorized: 'no bad docs'}); } }",
            }
        )
        local.bulk_docs([{"_id": f"d{i}", "bad": i == 3} for i in range(10)])
        shown: list[str] = []
        pushed = settee.replicate(local, remote, batch_size=4)  # one refused (logged)
        assert pushed.doc_write_failures == 1
        pulled = settee.replicate(remote, local)
        live = settee.replicate(remote, local, continuous=True, batch_size=5)
        try:
            remote.bulk_docs([{"_id": f"live{i}"} for i in range(20)])
            proxy.drop_all()  # a transient error: retried, logged with the exception
            deadline = time.monotonic() + 120
            while not {f"live{i}" for i in range(20)} <= doc_ids(local):
                assert time.monotonic() < deadline, "the live replication never caught up"
                time.sleep(0.1)
            shown += [repr(live), repr(live.session), repr(live.result)]
        finally:
            live.stop()
        shown += [repr(r) for r in (pushed, pulled)] + [str(pushed.failures), str(pushed.error)]
        shown += [repr(remote), repr(client), remote.backend.url, remote.database_url]
        for end in (local, remote):
            for result in (pushed, pulled, live.result):
                log_id = f"_local/{result.replication_id}"
                shown.append(json.dumps(end.backend.get_doc(end.database_name, log_id)))
        shown.append(json.dumps(endpoint(remote)["url"]))
        text = "\n".join(shown) + _everything_logged(caplog)
        assert "GET" in text and "_bulk_docs" in text  # the request lines were logged
        for secret in _secrets(pouchdb_server):
            assert secret not in text
    finally:
        client.delete_database(remote.database_name)
        client.disconnect()


def test_a_wrong_password_is_not_in_the_error(
    pouchdb_server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="settee")
    admin = settee.connect(pouchdb_server.url, auth=pouchdb_server.auth)
    name = unique_name("rep-creds")
    admin.create_database(name)
    # PouchDB Server lets anonymous readers in unless the database has members.
    admin.backend.put_security(name, {"members": {"names": [pouchdb_server.user]}})
    wrong = "wr0ng-s3cret"
    try:
        remote = settee.Database(
            settee.connect(_with_userinfo(pouchdb_server.url, pouchdb_server.user, wrong)), name
        )
        local = settee.connect(f"sqlite:///{tmp_path / 'l.db'}").create_database("l")
        local.put_doc({"_id": "x"})
        with pytest.raises((settee.Unauthorized, settee.Forbidden)) as raised:
            settee.replicate(local, remote)
        exc = raised.value
        text = "\n".join([str(exc), repr(exc), str(exc.url)]) + _everything_logged(caplog)
        for secret in _secrets(pouchdb_server, wrong):
            assert secret not in text
    finally:
        admin.delete_database(name)
        admin.disconnect()
