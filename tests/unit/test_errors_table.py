"""One CouchDB error name, one class: every path reads errors.ERROR_CLASSES."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from settee import errors
from settee.backends._local.writes import result_error
from settee.cli import commands
from settee.feeds.checkpoints import LocalDocumentCheckpoint
from settee.http.transport import Transport
from settee.results import raise_for_result

# (error name, the status CouchDB sends with it, the class on every path)
CASES: list[tuple[str, int, type[errors.CouchError]]] = [
    ("bad_request", 400, errors.BadRequest),
    ("illegal_docid", 400, errors.BadRequest),
    ("doc_validation", 400, errors.BadRequest),
    ("query_parse_error", 400, errors.BadRequest),
    ("unauthorized", 401, errors.Unauthorized),
    ("forbidden", 403, errors.Forbidden),
    ("conflict", 409, errors.Conflict),
    ("file_exists", 412, errors.PreconditionFailed),
    ("missing_stub", 412, errors.PreconditionFailed),
    ("too_many_requests", 429, errors.TooManyRequests),
    ("unknown_error", 500, errors.ServerError),
]


def _plain(exc: BaseException) -> type[BaseException]:
    """The settee class of ``exc``: the HTTP backend raises that class made also a
    ``requests.HTTPError`` (``transport.http_error_class``), so ``except HTTPError``
    handlers written for python-cloudant catch it."""
    if isinstance(exc, requests.HTTPError):
        return type(exc).__bases__[0]
    return type(exc)


def _response(status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.url = "http://127.0.0.1:5984/db/doc"
    return response


class _Backend:
    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result

    def get_doc(self, db: str, doc_id: str) -> dict[str, Any]:
        raise errors.NotFound("missing", error="not_found")

    def put_doc(self, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        return self.result


class _Db:
    database_name = "db"

    def __init__(self, result: dict[str, Any]) -> None:
        self.backend = _Backend(result)


def test_the_table_is_read_only_and_names_couch_errors() -> None:
    with pytest.raises(TypeError):
        errors.ERROR_CLASSES["x"] = errors.CouchError  # type: ignore[index]
    assert all(issubclass(cls, errors.CouchError) for cls in errors.ERROR_CLASSES.values())
    for name, _status, cls in CASES:
        assert errors.ERROR_CLASSES[name] is cls


@pytest.mark.parametrize(("name", "status", "cls"), CASES)
def test_every_path_gives_the_same_class(
    name: str, status: int, cls: type[errors.CouchError]
) -> None:
    result = {"id": "doc", "error": name, "reason": "why"}
    raised: list[BaseException] = []

    raised.append(errors.error_for(None, name, "why"))
    raised.append(errors.error_for(status, name, "why"))
    raised.append(Transport("http://127.0.0.1:5984/").error_from(_response(status, result)))
    raised.append(result_error(result))
    for raise_one in (raise_for_result, commands.raise_for_result):
        with pytest.raises(errors.CouchError) as info:
            raise_one(result)
        raised.append(info.value)
    with pytest.raises(errors.CouchError) as info:
        LocalDocumentCheckpoint(_Db(result), "_local/cp", every=1).save(1)
    raised.append(info.value)

    for exc in raised:
        assert _plain(exc) is cls, exc
        assert exc.error == name
        assert exc.reason == "why"
        assert exc.status == status


def test_not_found_is_document_not_found_for_documents() -> None:
    result = {"id": "doc", "error": "not_found", "reason": "missing"}
    assert type(errors.error_for(404, "not_found", "missing")) is errors.NotFound
    with pytest.raises(errors.DocumentNotFound):
        raise_for_result(result)
    assert type(result_error(result)) is errors.DocumentNotFound
    transport = Transport("http://127.0.0.1:5984/")
    exc = transport.error_from(_response(404, result), not_found=errors.DocumentNotFound)
    assert _plain(exc) is errors.DocumentNotFound


def test_an_unknown_name_is_classed_by_status() -> None:
    assert type(errors.error_for(None, "made_up")) is errors.CouchError
    assert type(errors.error_for(None, None, "no name")) is errors.CouchError
    assert type(errors.error_for(400, "made_up")) is errors.BadRequest
    assert type(errors.error_for(418, "made_up")) is errors.CouchError
    assert type(errors.error_for(503, "made_up")) is errors.ServerError
    exc = Transport("http://127.0.0.1:5984/").error_from(_response(403, {"error": "made_up"}))
    assert _plain(exc) is errors.Forbidden


def test_the_http_status_wins_over_a_name_paired_with_another() -> None:
    # a proxy or REST API answering 400 with {"error": "conflict"}: the class matches the status
    exc = errors.error_for(400, "conflict", "odd")
    assert _plain(exc) is errors.BadRequest
    assert exc.status == 400
    assert exc.error == "conflict"


def test_error_for_keeps_the_context() -> None:
    exc = errors.error_for(409, "conflict", "stale", method="PUT", url="http://h/db/x", body={})
    assert (exc.method, exc.url, exc.body) == ("PUT", "http://h/db/x", {})
    assert str(exc) == "409 conflict: stale (PUT http://h/db/x)"


LOCKOUT = "Account is temporarily locked due to multiple authentication failures"


def test_the_lockout_403_is_account_locked_on_every_path() -> None:
    result = {"error": "forbidden", "reason": LOCKOUT}
    raised = [
        errors.error_for(403, "forbidden", LOCKOUT),
        errors.error_for(None, "forbidden", LOCKOUT),
        Transport("http://127.0.0.1:5984/").error_from(_response(403, result)),
    ]
    for exc in raised:
        assert _plain(exc) is errors.AccountLocked, exc
        assert isinstance(exc, errors.Forbidden)
        assert exc.reason == LOCKOUT
        assert "unlocks when CouchDB's lockout period ends" in str(exc)
    # any other 403 stays a plain Forbidden
    assert type(errors.error_for(403, "forbidden", "You are not a db or server admin.")) is (
        errors.Forbidden
    )


def test_the_cli_says_the_account_is_locked_and_when_it_ends(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def locked(_args: object) -> int:
        raise errors.error_for(403, "forbidden", LOCKOUT)

    monkeypatch.setattr(commands, "cmd_info", locked)
    assert commands.main(["--url", "memory:", "--info"]) == commands.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("settee: account locked:")
    assert "5 minutes" in err
