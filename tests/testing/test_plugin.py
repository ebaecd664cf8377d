"""The settee.testing pytest plugin, driven through pytester (inner pytest runs).

Each test writes a small test module as a user would, runs it in-process,
and checks the outcomes: fresh isolated stores per test, the backend marker,
the server backend skipping with its reason (and running against PouchDB
Server when it is given), and settee_reset_memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from settee.backends.memory import store_names
from tests.testing.conftest import PLUGIN_ARGS

ROOT = Path(__file__).resolve().parents[2]


def test_each_test_gets_a_fresh_isolated_memory_database(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import settee

        def test_one(settee_db, settee_url):
            settee_db.create_document({"_id": "a", "n": 1})
            assert settee_url.startswith("memory:settee-test-")
            # code under test connecting to the same URL sees the same store
            other = settee.connect(settee_url)
            assert other[settee_db.database_name]["a"]["n"] == 1

        def test_two(settee_db, settee_client):
            assert len(settee_db) == 0
            assert settee_client.all_dbs() == [settee_db.database_name]
        """
    )
    before = set(store_names())
    result = inner.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(passed=2)
    assert set(store_names()) == before  # each test's store was forgotten


def test_sqlite_backend_lives_in_tmp_path(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        def test_sqlite(settee_url, settee_db, tmp_path):
            assert settee_url == f"sqlite:///{tmp_path / 'settee-test.db'}"
            settee_db.create_document({"_id": "x"})
            assert "x" in settee_db
        """
    )
    inner.runpytest(*PLUGIN_ARGS, "--settee-backend", "sqlite").assert_outcomes(passed=1)


def test_marker_runs_the_test_once_per_backend(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SETTEE_TEST_URL", raising=False)
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.settee_backends("memory", "sqlite", "server")
        def test_everywhere(settee_db, settee_backend):
            settee_db.create_document({"_id": "doc", "kind": settee_backend})
            assert settee_db["doc"]["kind"] == settee_backend

        def test_default(settee_backend):
            assert settee_backend == "memory"
        """
    )
    result = inner.runpytest(*PLUGIN_ARGS, "-v", "-rs")
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*test_everywhere?memory? PASSED*",
            "*test_everywhere?sqlite? PASSED*",
            "*test_everywhere?server? SKIPPED*",
            "*SKIPPED*set SETTEE_TEST_URL*",
        ]
    )


def test_unknown_backend_in_the_marker_is_a_usage_error(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.settee_backends("mongo")
        def test_x(settee_client):
            pass
        """
    )
    result = inner.runpytest(*PLUGIN_ARGS)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*unknown settee backend 'mongo'*"])


def test_server_backend_runs_against_a_real_server(
    inner: pytest.Pytester, pouchdb_server: Any
) -> None:
    url = pouchdb_server.url.replace("://", f"://{pouchdb_server.user}:{pouchdb_server.password}@")
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.settee_backends("server")
        def test_on_server(settee_db, settee_client):
            settee_db.create_document({"_id": "d", "x": 1})
            assert settee_client.backend.kind == "http"
            assert settee_db.database_name in settee_client.all_dbs()
            pytest.created = settee_db.database_name
        """
    )
    result = inner.runpytest(*PLUGIN_ARGS, "--settee-server-url", url)
    result.assert_outcomes(passed=1)
    created = [n for n in pouchdb_server.raw("GET", "/_all_dbs") if n.startswith("test-")]  # type: ignore[union-attr]
    assert created == []  # the fixture deleted its database


def test_reset_memory_forgets_fixed_names(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import settee

        def app_count():
            client = settee.connect("memory:app")  # the app's own fixed URL
            db = client.get("orders") or client.create_database("orders")
            db.create_document({})
            return len(db)

        def test_first(settee_reset_memory):
            assert app_count() == 1

        def test_second(settee_reset_memory):
            assert app_count() == 1  # not 2: the store was forgotten

        def test_without_reset():
            assert app_count() == 1

        def test_leaks_without_reset():
            assert app_count() == 2
        """
    )
    inner.runpytest(*PLUGIN_ARGS).assert_outcomes(passed=4)
    from settee.backends.memory import forget_store

    forget_store("app")


def test_pyproject_registers_the_plugin_as_pytest11() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the stdlib from Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pytest11"] == {"settee": "settee.testing.plugin"}


def test_an_installed_settee_needs_no_option(inner: pytest.Pytester) -> None:
    if PLUGIN_ARGS:
        pytest.skip("settee is not installed here: its pytest11 entry point is not registered")
    inner.makepyfile(
        """
        def test_plain(settee_db):
            settee_db.create_document({"_id": "a"})
            assert "a" in settee_db
        """
    )
    result = inner.runpytest()  # no -p: pytest found the plugin itself
    result.assert_outcomes(passed=1)


def test_server_backend_from_the_environment(
    inner: pytest.Pytester, pouchdb_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pouchdb_server.url.replace("://", f"://{pouchdb_server.user}:{pouchdb_server.password}@")
    monkeypatch.setenv("SETTEE_TEST_URL", url)
    inner.makepyfile(
        """
        def test_on_server(settee_db, settee_client, settee_url):
            assert settee_client.backend.kind == "http"
            assert settee_db.database_name in settee_client.all_dbs()
        """
    )
    inner.runpytest(*PLUGIN_ARGS, "--settee-backend", "server").assert_outcomes(passed=1)
