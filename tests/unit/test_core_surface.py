"""The core classes' shape (issue 9): composed parts, keyword-checked options, close().

On the embedded memory backend: a misspelt option is a ``TypeError`` before
any request; ``Database`` and ``Partition`` are one ``QueryScope``; the
client's sessions are a ``ServerSession`` it holds; ``close()`` ends a
client and ``with settee.connect(...)`` closes on exit.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import settee
from settee.http.session import ServerSession
from settee.queries import QueryScope

SRC = Path(settee.__file__).parent


class _NoRequests:
    """A backend that fails any request: the calls below must not get that far."""

    kind = "fake"
    url = "fake:"
    capabilities = frozenset[str]()

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a request was made: backend.{name}")

    def close(self) -> None:
        pass


@pytest.fixture
def db() -> Iterator[settee.Database]:
    with settee.connect("memory:") as client:
        database = client.create_database("core", partitioned=True)
        database.create_document({"_id": "p:a", "v": 1})
        yield database


def _misspelt_calls(db: settee.Database) -> list[Callable[[], object]]:
    part = db.partition("p")
    return [
        lambda: db.all_docs(limt=3),  # type: ignore[call-overload]
        lambda: db.all_docs(True, limt=3),  # type: ignore[call-overload]
        lambda: db.get_view_result("d", "v", limt=3),  # type: ignore[call-overload]
        lambda: db.get_view_result("d", "v", raw_result=True, limt=3),  # type: ignore[call-overload]
        lambda: db.view(lambda doc: [], limt=3),  # type: ignore[call-arg]
        lambda: db.get_query_result({"v": 1}, limt=3),  # type: ignore[call-overload]
        lambda: db.get_query_result({"v": 1}, raw_result=True, limt=3),  # type: ignore[call-overload]
        lambda: part.all_docs(limt=3),  # type: ignore[call-overload]
        lambda: part.get_view_result("d", "v", limt=3),  # type: ignore[call-overload]
        lambda: part.get_query_result({"v": 1}, limt=3),  # type: ignore[call-overload]
        lambda: db.partitioned_all_docs("p", limt=3),  # type: ignore[call-overload]
        lambda: db.get_partitioned_view_result("p", "d", "v", limt=3),  # type: ignore[call-overload]
        lambda: db.get_partitioned_query_result("p", {"v": 1}, limt=3),  # type: ignore[call-overload]
    ]


def test_a_misspelt_option_is_a_type_error(db: settee.Database) -> None:
    for call in _misspelt_calls(db):
        with pytest.raises(TypeError, match="unexpected keyword argument 'limt'"):
            call()


def test_a_misspelt_option_sends_nothing() -> None:
    client = settee.Client(backend=_NoRequests())
    db = settee.Database(client, "core", partitioned=True)
    for call in _misspelt_calls(db):
        with pytest.raises(TypeError, match="limt"):
            call()


def test_spelt_options_still_work(db: settee.Database) -> None:
    assert [r["id"] for r in db.all_docs(limit=3)] == ["p:a"]
    assert db.all_docs(True, limit=3)["rows"][0]["id"] == "p:a"
    assert [r["id"] for r in db.partition("p").all_docs(start_key="p:")] == ["p:a"]
    assert db.get_query_result({"v": 1}, limit=1).all()[0]["_id"] == "p:a"
    assert db.get_query_result({"v": 1}, raw_result=True)["docs"][0]["_id"] == "p:a"
    assert db.partitioned_all_docs("p", raw_result=True)["rows"][0]["id"] == "p:a"
    rows = db.view(lambda doc: [(doc["v"], None)], reduce=None, include_docs=True).all()
    assert rows[0]["key"] == 1


def test_database_and_partition_are_one_query_scope(db: settee.Database) -> None:
    part = db.partition("p")
    assert isinstance(db, QueryScope) and isinstance(part, QueryScope)
    assert (db.partition_key, part.partition_key) == (None, "p")
    assert part.database is db and part.backend is db.backend
    for name in ("all_docs", "get_view_result", "view", "get_query_result"):
        assert getattr(type(db), name) is getattr(QueryScope, name)
        assert getattr(type(part), name) is getattr(QueryScope, name)
    assert [doc["_id"] for doc in part] == ["p:a"]


def test_admin_methods_live_on_database(db: settee.Database) -> None:
    for name in ("get_security_document", "share_database", "unshare_database", "compact"):
        assert name in vars(settee.Database)
    assert not (SRC / "dbadmin.py").exists()


def _private_calls(path: Path, receivers: tuple[str, ...]) -> list[str]:
    """``x._name`` calls in ``path`` where ``x`` ends with one of ``receivers``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = ast.unparse(node.value)
            if owner.endswith(receivers) and not node.attr.startswith("__"):
                found.append(f"{path.name}:{node.lineno}: {owner}.{node.attr}")
    return found


def test_document_and_partition_use_only_public_operations() -> None:
    receivers = ("_database", "database", ".client", "_database.client")
    offenders = _private_calls(SRC / "document.py", receivers)
    offenders += _private_calls(SRC / "partition.py", receivers)
    offenders += _private_calls(SRC / "database.py", (".client",))
    assert not offenders, offenders


def test_client_holds_a_server_session() -> None:
    with settee.connect("memory:") as client:
        assert isinstance(client.server_session, ServerSession)
        assert client.server_session.backend is client.backend
        assert client.auth is None and client.admin_party
        assert client.basic_auth_str() is None and client.session_cookie() is None
        with pytest.raises(settee.NotSupported, match="HTTP"):
            client.session()


def test_close_clears_the_cache_and_is_idempotent() -> None:
    client = settee.connect("memory:")
    client.create_database("a")
    assert len(client) == 1
    client.close()
    assert len(client) == 0
    client.close()
    client.disconnect()  # python-cloudant's name for the same operation


def test_with_connect_closes_on_exit(tmp_path: Path) -> None:
    with settee.connect("memory:") as client:
        client.create_database("a")
        assert list(client) == ["a"]
    assert len(client) == 0
    with settee.connect(f"sqlite:///{tmp_path / 'c.db'}") as stored:
        stored.create_database("a")
    with pytest.raises(settee.ServerError, match="closed"):
        stored.all_dbs()


def test_with_connect_closes_when_the_block_raises() -> None:
    closed: list[bool] = []

    class Client(settee.Client):
        def close(self) -> None:
            closed.append(True)
            super().close()

    with pytest.raises(RuntimeError), Client("memory:"):
        raise RuntimeError("boom")
    assert closed == [True]
    Client("memory:").disconnect()
    assert closed == [True, True]


def test_get_returns_the_handle_or_the_default() -> None:
    with settee.connect("memory:") as client:
        db = client.create_database("a")
        assert client.get("a") is db
        assert client.get("b") is None
        assert client.get("b", 0) == 0
        assert client.get("b", remote=True) is None
        doc = db.create_document({"_id": "x"})
        assert db.get("x") is doc
        assert db.get("y", "none") == "none"
        assert db.get("y", remote=True) is None
