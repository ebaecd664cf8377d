"""The Client's and Database's bounded handle caches, over a fake backend that counts calls;
and the put/delete fallback to bulk_docs for backends without a fast path.

``FakeBackend`` is not a real backend: it keeps database names in a set and
counts each primitive call, so the tests can see which operations reach the
server and which the cache answers.
"""

from __future__ import annotations

import inspect
from collections import Counter
from typing import Any

import pytest

import settee
from settee import errors
from settee.backends import ConnectOptions
from settee.backends.sqlite import SQLiteBackend
from settee.http.options import TRANSPORT_OPTION_NAMES, TransportOptionsDict


class FakeBackend:
    kind = "fake"
    url = "fake:"
    capabilities = frozenset[str]()

    def __init__(self) -> None:
        self.dbs: set[str] = set()
        self.docs: dict[str, dict[str, Any]] = {}
        self.calls: Counter[str] = Counter()
        self.closed = False

    def db_info(self, db: str) -> dict[str, Any]:
        self.calls["db_info"] += 1
        if db not in self.dbs:
            raise errors.NotFound("Database does not exist.", error="not_found")
        return {"db_name": db, "doc_count": 0, "props": {}}

    def create_db(self, db: str, *, partitioned: bool = False, params: Any = None) -> None:
        self.calls["create_db"] += 1
        if db in self.dbs:
            raise errors.PreconditionFailed("exists", error="file_exists")
        self.dbs.add(db)

    def delete_db(self, db: str) -> None:
        self.calls["delete_db"] += 1
        if db not in self.dbs:
            raise errors.NotFound("Database does not exist.", error="not_found")
        self.dbs.remove(db)

    def all_dbs(self) -> list[str]:
        self.calls["all_dbs"] += 1
        return sorted(self.dbs)

    def get_doc(self, db: str, docid: str, params: Any = None) -> dict[str, Any]:
        self.calls["get_doc"] += 1
        if docid not in self.docs:
            raise errors.DocumentNotFound("missing", error="not_found")
        return dict(self.docs[docid])

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(**options: Any) -> tuple[settee.Client, FakeBackend]:
    backend = FakeBackend()
    return settee.Client(backend=backend, **options), backend  # type: ignore[arg-type]


def test_getitem_fetches_once_then_serves_the_cache() -> None:
    client, backend = make()
    backend.dbs.add("a")
    first = client["a"]
    assert client["a"] is first
    assert backend.calls["db_info"] == 1
    assert "a" in client
    assert backend.calls["db_info"] == 1
    with pytest.raises(KeyError):
        client["missing"]
    assert "missing" not in client
    assert client.get("missing") is None
    assert backend.calls["db_info"] == 3  # get() without remote asks nobody


def test_lru_bound() -> None:
    client, backend = make(cache_size=3)
    backend.dbs.update({"a", "b", "c", "d"})
    for name in "abc":
        client[name]
    client["a"]  # most recently used now
    client["d"]  # evicts b, the least recently used
    assert sorted(client.keys()) == ["a", "c", "d"]
    assert len(client) == 3
    calls = backend.calls["db_info"]
    client["b"]
    assert backend.calls["db_info"] == calls + 1


def test_ttl_expires_handles() -> None:
    clock = Clock()
    client, backend = make(cache_ttl=60, cache_timer=clock)
    backend.dbs.add("a")
    handle = client["a"]
    clock.now = 59
    assert client.get("a") is handle
    assert client.keys() == ["a"] and len(client) == 1
    clock.now = 61
    assert client.keys() == [] and len(client) == 0
    assert client.get("a") is None
    assert client["a"] is not handle
    assert backend.calls["db_info"] == 2


def test_cache_options_are_validated() -> None:
    # the one int/number rule: ValueError for a value out of range, TypeError for the type
    for bad in ({"cache_size": 0}, {"cache_ttl": 0}, {"cache_ttl": float("nan")}):
        with pytest.raises(ValueError, match="must be"):
            make(**bad)
    for bad in ({"cache_size": True}, {"cache_size": 2.0}, {"cache_ttl": "1"}):
        with pytest.raises(TypeError, match="must be"):
            make(**bad)
    with pytest.raises(TypeError):
        settee.Client(url="memory:", backend=FakeBackend())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        settee.Client()


def test_explicit_verbs_always_act_on_the_server() -> None:
    client, backend = make()
    assert backend.calls["create_db"] == 0
    db = client.create_database("a")
    assert client.get("a") is db
    assert client.create_database("a").database_name == "a"  # exists: a handle
    with pytest.raises(errors.PreconditionFailed):
        client.create_database("a", throw_on_exists=True)
    assert client.all_dbs() == ["a"]
    assert client.keys(remote=True) == ["a"]
    client.delete_database("a")
    assert client.get("a") is None
    with pytest.raises(errors.NotFound):
        client.delete_database("a")


def test_document_cache_is_bounded_too() -> None:
    client, backend = make(cache_size=2)
    backend.dbs.add("a")
    backend.docs.update({f"d{i}": {"_id": f"d{i}", "_rev": "1-x"} for i in range(3)})
    db = client["a"]
    d0 = db["d0"]
    assert db["d0"] is d0
    db["d1"]
    db["d2"]
    assert sorted(db.keys()) == ["d1", "d2"]
    assert backend.calls["get_doc"] == 3
    assert "d0" in db  # not cached: asks the backend, truthfully
    assert backend.calls["get_doc"] == 4
    assert "nope" not in db
    assert db.get("nope", "x", remote=True) == "x"
    del db["d2"]
    assert "d2" not in db.keys(remote=False)
    with pytest.raises(KeyError, match="only drops a cached copy"):
        del db["d2"]


def test_disconnect_clears_and_closes() -> None:
    client, backend = make()
    backend.dbs.add("a")
    client["a"]
    client.disconnect()
    assert len(client) == 0 and backend.closed


def test_http_only_features_raise_not_supported_elsewhere() -> None:
    client, backend = make()
    backend.dbs.add("a")
    for call in (client.session, client.session_logout, client.change_credentials):
        with pytest.raises(errors.NotSupported, match="HTTP"):
            call()
    with pytest.raises(errors.NotSupported):
        _ = client.r_session
    with pytest.raises(errors.NotSupported):
        _ = client["a"].database_url
    assert client.basic_auth_str() is None
    assert client.session_cookie() is None
    assert not client.is_iam_authenticated
    client.connect()  # nothing to log in to: a no-op
    with client as same:
        assert same is client


def test_cache_survives_concurrent_use() -> None:
    import threading

    client, backend = make(cache_size=8)
    backend.dbs.update(f"db{i}" for i in range(32))
    failures: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for n in range(400):
                name = f"db{(n + offset) % 32}"
                assert client[name].database_name == name
                client.get(name)
                len(client)
        except BaseException as exc:  # reported below, in the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(client) <= 8


class BulkOnlyBackend(FakeBackend):
    """No put/delete fast path (like the local backends): bulk_docs answers ``answer``."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__()
        self.dbs.add("a")
        self.answer = answer
        self.sent: list[list[dict[str, Any]]] = []

    def put_doc(self, db: str, doc: dict[str, Any], params: Any = None) -> dict[str, Any]:
        raise errors.NotSupported("no put fast path")

    def delete_doc(self, db: str, docid: str, rev: str, params: Any = None) -> dict[str, Any]:
        raise errors.NotSupported("no delete fast path")

    def bulk_docs(
        self, db: str, docs: Any, *, new_edits: bool = True, w: Any = None
    ) -> list[dict[str, Any]]:
        self.sent.append(list(docs))
        return [dict(self.answer)]


@pytest.mark.parametrize(
    "error, cls",
    [
        ("conflict", errors.Conflict),
        ("forbidden", errors.Forbidden),
        ("unauthorized", errors.Unauthorized),
        ("bad_request", errors.BadRequest),
        ("not_found", errors.DocumentNotFound),
        ("something_else", errors.CouchError),
    ],
)
def test_write_fallback_raises_what_the_fast_path_would(
    error: str, cls: type[errors.CouchError]
) -> None:
    backend = BulkOnlyBackend({"id": "x", "error": error, "reason": "nope"})
    db = settee.Client(backend=backend)["a"]  # type: ignore[arg-type]
    doc = settee.Document(db, "x")
    doc["v"] = 1
    with pytest.raises(cls) as info:
        doc.save()
    assert info.value.error == error and info.value.reason == "nope"
    assert "_rev" not in doc
    doc["_rev"] = "1-abc"
    with pytest.raises(cls):
        doc.delete()
    assert backend.sent[-1] == [{"_id": "x", "_rev": "1-abc", "_deleted": True}]


def test_write_fallback_success_updates_rev() -> None:
    backend = BulkOnlyBackend({"ok": True, "id": "x", "rev": "1-new"})
    db = settee.Client(backend=backend)["a"]  # type: ignore[arg-type]
    doc = db.create_document({"_id": "x", "v": 1})
    assert doc["_rev"] == "1-new"
    assert backend.sent == [[{"_id": "x", "v": 1}]]


def test_the_typed_connect_options_are_the_options_the_backends_take() -> None:
    """``ConnectOptions`` (what ``settee.connect``'s ``**options`` are typed as) names
    exactly the transport options and the sqlite: backend's keywords: neither table
    can gain an option the other lacks."""
    assert set(TransportOptionsDict.__annotations__) == TRANSPORT_OPTION_NAMES
    sqlite_own = {
        name
        for name, p in inspect.signature(SQLiteBackend).parameters.items()
        if p.kind is p.KEYWORD_ONLY and name not in ("auth", "options")
    }
    assert set(ConnectOptions.__annotations__) == TRANSPORT_OPTION_NAMES | sqlite_own
    assert ConnectOptions.__required_keys__ == frozenset()
    assert ConnectOptions.__optional_keys__ == TRANSPORT_OPTION_NAMES | sqlite_own
