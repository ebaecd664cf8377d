"""The pytest plugin: fresh settee clients and databases per test, on any backend.

Loaded through the ``pytest11`` entry point once settee is installed (or with
``pytest -p settee.testing.plugin``). Fixtures:

* ``settee_backend`` - the kind this test runs on: ``memory`` (default),
  ``sqlite`` or ``server``; ``--settee-backend KIND`` changes the default,
  ``@pytest.mark.settee_backends("memory", "sqlite", ...)`` runs a test once
  per kind.
* ``settee_url`` - its URL: a ``memory:NAME`` store of its own (forgotten
  after the test), a SQLite file in ``tmp_path``, or the real server from
  ``$SETTEE_TEST_URL`` / ``--settee-server-url`` (skipped with the reason
  when none is set).
* ``settee_client`` - a :class:`settee.Client` on it, closed after the test.
* ``settee_db`` - a freshly created database with a unique name, deleted
  after the test.
* ``settee_reset_memory`` - forgets the ``memory:NAME`` stores created during
  the test when it ends (for code that connects to fixed names such as
  ``memory:app``).
* ``settee_rest_mock`` - a started :class:`settee.testing.RestMocker` on the
  ini value ``settee_rest_endpoint`` (default ``https://rest.settee.test/public/v1``),
  verified when the test ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import settee
from settee import errors
from settee.backends.memory import forget_store, store_names
from settee.testing.backends import KINDS, NoServer, backend_url, release, unique_name
from settee.testing.rest_mock import DEFAULT_ENDPOINT, RestMocker

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "settee_backend",
    "settee_client",
    "settee_db",
    "settee_reset_memory",
    "settee_rest_mock",
    "settee_url",
]

_MARKER = "settee_backends"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("settee")
    group.addoption(
        "--settee-backend",
        choices=KINDS,
        default=None,
        help="the backend of settee's fixtures where a test names none (default: memory)",
    )
    group.addoption(
        "--settee-server-url",
        default=None,
        help="the server of the `server` backend (default: $SETTEE_TEST_URL)",
    )
    parser.addini("settee_backend", "default backend of settee's fixtures", default="memory")
    parser.addini(
        "settee_rest_endpoint",
        "the API root settee_rest_mock answers for",
        default=DEFAULT_ENDPOINT,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(*kinds): run the test once per settee backend kind "
        f"({', '.join(KINDS)}); `server` needs $SETTEE_TEST_URL",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(_MARKER)
    if marker is None or "settee_backend" not in metafunc.fixturenames:
        return
    kinds = list(marker.args) or list(KINDS)
    for kind in kinds:
        if kind not in KINDS:
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid}: unknown settee backend {kind!r} "
                f"in @pytest.mark.{_MARKER} (use {', '.join(KINDS)})"
            )
    metafunc.parametrize("settee_backend", kinds, indirect=True, ids=kinds)


@pytest.fixture
def settee_backend(request: pytest.FixtureRequest) -> str:
    """The backend kind of this test: the marker's parameter, else the option, else memory."""
    param = getattr(request, "param", None)
    if isinstance(param, str):
        return param
    chosen = request.config.getoption("settee_backend")
    if isinstance(chosen, str):
        return chosen
    return str(request.config.getini("settee_backend"))


@pytest.fixture
def settee_url(
    settee_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The URL of this test's backend (a store of its own on memory and sqlite)."""
    server_url = request.config.getoption("settee_server_url")
    try:
        url = backend_url(settee_backend, tmp_path, server_url=server_url)
    except NoServer as exc:
        pytest.skip(str(exc))
    try:
        yield url
    finally:
        release(url)


@pytest.fixture
def settee_client(settee_url: str) -> Iterator[settee.Client]:
    """A :class:`settee.Client` on this test's backend, closed when the test ends."""
    client = settee.connect(settee_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def settee_db(settee_client: settee.Client) -> Iterator[settee.Database]:
    """A new, empty database with a unique name; deleted when the test ends."""
    name = unique_name()
    db = settee_client.create_database(name)
    try:
        yield db
    finally:
        with contextlib.suppress(errors.NotFound):  # the test may have deleted it itself
            settee_client.delete_database(name)


@pytest.fixture
def settee_reset_memory() -> Iterator[None]:
    """Forget every ``memory:NAME`` store created during the test when it ends."""
    before = set(store_names())
    yield
    for name in store_names():
        if name not in before:
            forget_store(name)


@pytest.fixture
def settee_rest_mock(request: pytest.FixtureRequest) -> Iterator[RestMocker]:
    """A :class:`RestMocker`; the test fails if an expected call was never made."""
    mocker = RestMocker(str(request.config.getini("settee_rest_endpoint")))
    mocker.start()
    try:
        yield mocker
    finally:
        mocker.stop()
    mocker.verify()
