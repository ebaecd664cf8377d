"""Bad input is refused the same way on every backend, before anything is sent.

The rule (docs/errors.md): a value that is not strict JSON (a non-``str`` key,
a lone surrogate, NaN or an infinity, a type JSON has no form for) is a
``TypeError``; an option of the wrong type is a ``TypeError``, one out of
range a ``ValueError``; both name what was wrong. A recording wrapper around
the real backend shows that no backend call (so no request) was made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import settee
from settee.document import DesignDocument, Document
from tests.conformance.conftest import require, settled


class RecordingBackend:
    """Wraps the real backend and records the name of every method called on it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.real, name)
        if not callable(value):
            return value

        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return value(*args, **kwargs)

        return record


@pytest.fixture
def recorded(db: settee.Database) -> Iterator[tuple[settee.Database, RecordingBackend]]:
    """``db`` seen through a :class:`RecordingBackend` (no calls recorded yet)."""
    recording = RecordingBackend(db.client.backend)
    sdb = settee.Client(backend=recording)[db.database_name]  # one db_info: it exists
    recording.calls.clear()
    yield sdb, recording


def stored_ids(db: settee.Database) -> list[str]:
    return [row["id"] for row in db.all_docs()]


NOT_JSON: list[tuple[dict[Any, Any], str]] = [
    ({1: "one"}, "key 1"),
    ({"nested": {"a": {2.5: "x"}}}, "key 2.5"),
    ({"tags": [{None: 1}]}, "key None"),
    ({"text": "broken \ud800 half"}, "lone surrogate"),
    ({"\udfff": "key with a lone surrogate"}, "lone surrogate"),
    ({"list": ["ok", "\udc80"]}, "lone surrogate"),
    ({"n": math.nan}, "nan"),
    ({"n": [1, -math.inf]}, "inf"),
]


@pytest.mark.parametrize(("bad", "named"), NOT_JSON)
def test_documents_that_are_not_strict_json_are_typeerror_before_any_request(
    recorded: tuple[settee.Database, RecordingBackend], bad: dict[Any, Any], named: str
) -> None:
    """memory/sqlite raised AttributeError or UnicodeEncodeError; HTTP stringified and stored."""
    sdb, recording = recorded
    with pytest.raises(TypeError, match="not JSON-serialisable") as info:
        sdb.create_document({"_id": "bad", **bad})
    assert named in str(info.value)
    with pytest.raises(TypeError, match=named):
        sdb.bulk_docs([{"_id": "ok"}, {"_id": "bad2", **bad}])
    assert recording.calls == []
    good = sdb.create_document({"_id": "good", "v": 1})
    good.update(bad)
    recording.calls.clear()
    with pytest.raises(TypeError, match=named):
        good.save()
    assert recording.calls == []
    # A cluster's _all_docs may answer from a copy behind the write: settled.
    assert settled(sdb.client, lambda: stored_ids(sdb), lambda ids: ids == ["good"]) == ["good"]
    assert Document(sdb, "good").fetch() == {"_id": "good", "_rev": good["_rev"], "v": 1}


def test_design_document_id_must_be_a_str(db: settee.Database) -> None:
    """DesignDocument(db, 5) was an AttributeError ('int' has no startswith)."""
    with pytest.raises(TypeError, match="design document id must be a str"):
        DesignDocument(db, 5)  # type: ignore[arg-type]
    assert DesignDocument(db, "app")["_id"] == "_design/app"


def test_update_field_max_tries_is_checked(db: settee.Database) -> None:
    """max_tries="3" was "'<' not supported between 'str' and 'int'"."""
    db.create_document({"_id": "u", "n": 0})
    doc = Document(db, "u")
    with pytest.raises(TypeError, match="max_tries must be an int >= 1"):
        doc.update_field(Document.field_set, "n", 1, max_tries="3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_tries must be an int >= 1"):
        doc.update_field(Document.field_set, "n", 1, max_tries=0)
    assert Document(db, "u").fetch()["n"] == 0


QUERY_CALLS: list[tuple[str, Callable[[settee.Database, dict[str, Any]], Any]]] = [
    ("all_docs", lambda d, kw: d.all_docs(**kw)),
    ("all_docs raw", lambda d, kw: d.all_docs(raw_result=True, **kw)),
]

BAD_QUERY_OPTIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"limit": "x"}, TypeError, "limit must be an int"),
    ({"limit": True}, TypeError, "limit must be an int"),
    ({"limit": -1}, ValueError, "limit must be an int >= 0"),
    ({"skip": "3"}, TypeError, "skip must be an int"),
    ({"startkey": math.nan}, TypeError, "startkey is not JSON-serialisable"),
    ({"endkey": [1, math.inf]}, TypeError, "endkey is not JSON-serialisable"),
    ({"key": {1: 2}}, TypeError, "key is not JSON-serialisable"),
    ({"keys": ["a", math.nan]}, TypeError, "keys is not JSON-serialisable"),
    ({"keys": "ab"}, TypeError, "keys must be a list"),
    ({"start_key": "\ud800"}, TypeError, "start_key is not JSON-serialisable"),
]


@pytest.mark.parametrize(("options", "error", "message"), BAD_QUERY_OPTIONS)
@pytest.mark.parametrize(("how", "call"), QUERY_CALLS, ids=[c[0] for c in QUERY_CALLS])
def test_bad_query_options_are_refused_before_any_request(
    recorded: tuple[settee.Database, RecordingBackend],
    how: str,
    call: Callable[[settee.Database, dict[str, Any]], Any],
    options: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    """all_docs(limit="x", raw_result=True) was sent (PouchDB returned every row); local
    backends accepted startkey=nan."""
    sdb, recording = recorded
    with pytest.raises(error, match=message):
        result = call(sdb, options)
        list(result) if how == "all_docs" else None
    assert recording.calls == []


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"limit": "x"}, TypeError, "limit must be an int"),
        ({"skip": -2}, ValueError, "skip must be an int >= 0"),
        ({"limit": 1.5}, TypeError, "limit must be an int"),
    ],
)
def test_bad_find_options_are_refused_before_any_request(
    recorded: tuple[settee.Database, RecordingBackend],
    options: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    sdb, recording = recorded
    for raw_result in (True, False):
        with pytest.raises(error, match=message):
            list(sdb.get_query_result({"a": 1}, raw_result=raw_result, **options))
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        sdb.get_query_result({"a": {"$gt": math.nan}}, raw_result=True)
    assert recording.calls == []


def test_python_view_keys_are_checked(db: settee.Database) -> None:
    require(db.client, "python_views")

    def by_n(doc: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        yield doc.get("n"), None

    with pytest.raises(TypeError, match="startkey is not JSON-serialisable"):
        list(db.view(by_n, startkey=math.nan))
    with pytest.raises(TypeError, match="group_level must be an int"):
        list(db.view(by_n, reduce="_count", group_level="1"))


def _url(client: settee.Client, backend_kind: str, request: pytest.FixtureRequest) -> str:
    if backend_kind in ("memory", "sqlite"):
        return str(client.backend.url)
    server = request.getfixturevalue(f"{backend_kind}_server")
    return str(server.url)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"backoff_factor": "x"}, TypeError, "backoff_factor must be a number"),
        ({"backoff_factor": -1}, ValueError, "backoff_factor must be a finite number >= 0"),
        ({"backoff_factor": math.nan}, ValueError, "backoff_factor must be a finite number"),
        ({"max_retries": "3"}, TypeError, "max_retries must be an int >= 0"),
        ({"max_retries": True}, TypeError, "max_retries must be an int >= 0"),
        ({"max_retries": -1}, ValueError, "max_retries must be an int >= 0"),
    ],
)
def test_retry_options_are_refused_alike_on_every_backend(
    client: settee.Client,
    backend_kind: str,
    request: pytest.FixtureRequest,
    options: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    """HTTP said "'<' not supported" for backoff_factor="x"; local backends ignored any value."""
    with pytest.raises(error, match=message):
        settee.connect(_url(client, backend_kind, request), **options)


# -- _changes filters ----------------------------------------------------------------------


def _sent_paths(client: settee.Client) -> list[str]:
    """The request paths an HTTP backend sends from now on (empty list for local ones)."""
    sent: list[str] = []
    transport = getattr(client.backend, "transport", None)
    if transport is not None:

        def hook(response: Any, *args: Any, **kwargs: Any) -> None:
            sent.append(response.request.path_url)

        transport.session.hooks["response"].append(hook)
    return sent


FILTER_JS = "function(doc, req) { return doc.keep === true; }"


@pytest.mark.parametrize(
    ("options", "missing"),
    [
        ({"filter": "nope/f"}, "no design document _design/nope"),
        ({"filter": "app/absent"}, "_design/app has no filters.absent"),
        ({"filter": "_view", "view": "app/absent"}, "_design/app has no views.absent"),
        ({"filter": "_view", "view": "nope/v"}, "no design document _design/nope"),
    ],
)
def test_changes_filter_naming_a_missing_function_is_notfound(
    client: settee.Client, db: settee.Database, options: dict[str, Any], missing: str
) -> None:
    """PouchDB Server 4.2's process dies (an unhandled rejection) on such a _changes
    request; without changes_filter_404 settee checks the design document first and
    sends no _changes request at all."""
    ddoc = DesignDocument(db, "app")
    ddoc["filters"] = {"keep": FILTER_JS}
    ddoc["views"] = {"v": {"map": "function(doc) { emit(doc._id, null); }"}}
    ddoc.save()
    db.create_document({"_id": "a", "keep": True})
    sent = _sent_paths(client)
    with pytest.raises(settee.NotFound) as info:
        list(db.changes(**options))
    if "changes_filter_404" not in client.backend.capabilities or client.backend.kind != "http":
        assert missing in str(info.value)
        assert not [p for p in sent if "_changes" in p], sent
    # The server is still there and answering (a cluster's count may lag: settled).
    assert settled(db.client, db.doc_count, lambda n: n == 2) == 2


def test_changes_filter_must_name_design_and_function(db: settee.Database) -> None:
    """CouchDB answers 400 for a filter without a slash; every backend says the same."""
    with pytest.raises(settee.BadRequest, match="designname/filtername"):
        list(db.changes(filter="nofunction"))


def test_an_existing_changes_filter_still_runs(client: settee.Client, db: settee.Database) -> None:
    ddoc = DesignDocument(db, "app")
    ddoc["filters"] = {"keep": FILTER_JS}
    ddoc.save()
    db.bulk_docs([{"_id": "a", "keep": True}, {"_id": "b", "keep": False}])
    if "javascript_views" not in client.backend.capabilities:
        with pytest.raises(settee.NotSupported):
            list(db.changes(filter="app/keep"))
        return
    assert [row["id"] for row in db.changes(filter="app/keep")] == ["a"]
