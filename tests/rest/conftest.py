"""The real django-rql service (tests/servers/rql_service), started for the REST tests.

Two session-scoped instances on free loopback ports, each on its own SQLite
file seeded deterministically with 360 products (see the service README):

* ``rql_service`` / ``rql_service_url`` — read-only by convention: tests that
  only read (and the RQL differential test) share it, so its data stays the
  seeded data.
* ``rql_rw_service`` — for tests that create, update or delete.

Each is started with ``python -m tests.servers.rql_service.serve`` in a
subprocess, which prints ``READY <port>`` once it listens; it is stopped at
the end of the session. Each writes a request log (``--request-log``):
``service.requests()`` is every ``METHOD target`` line that reached the
server, so a test can tell from the server's side that a call was never sent.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from settee.rest.client import Client
from tests.conftest import stop_process
from tests.servers.rql_service.serve import DEFAULT_KEY

ROOT = Path(__file__).resolve().parents[2]
SEEDED_PRODUCTS = 360
API_KEY = DEFAULT_KEY


@dataclass
class RqlService:
    """A running service: ``url`` is the Connect-style API root (``.../public/v1``)."""

    root: str
    process: subprocess.Popen[bytes]
    log: Path
    request_log: Path | None = None

    @property
    def url(self) -> str:
        return self.root + "/public/v1"

    @property
    def api_url(self) -> str:
        """The CloudCIX/CRUDs-style side (DRF envelopes, PATCH/PUT, multipart)."""
        return self.root + "/api"

    def requests(self) -> list[str]:
        """Every request that reached the server so far, as ``METHOD target`` lines
        (``GET /public/v1/products?limit=0&offset=0``), oldest first.

        The server writes a line before handling the request, so a request whose
        answer came back is always in it.
        """
        if self.request_log is None:
            raise RuntimeError("this service was started without a request log")
        if not self.request_log.exists():
            return []
        return self.request_log.read_text(encoding="utf-8").splitlines()

    def client(self, **options: object) -> Client:
        options.setdefault("auth", API_KEY)
        return Client(self.url, **options)  # type: ignore[arg-type]


def start_service(
    directory: Path,
    *,
    products: int = SEEDED_PRODUCTS,
    timeout: float = 120.0,
    request_log: bool = True,
) -> RqlService:
    """Start the service on a fresh SQLite file in ``directory``; wait until it listens.

    With ``request_log`` (default), the server logs each request it receives
    to ``directory/requests.log`` (read with :meth:`RqlService.requests`).
    """
    log = directory / "service.log"
    requests_log = directory / "requests.log" if request_log else None
    extra = ["--request-log", str(requests_log)] if requests_log is not None else []
    with log.open("wb") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.servers.rql_service.serve",
                "--db",
                str(directory / "service.sqlite3"),
                "--seed",
                str(products),
                "--port",
                "0",
                *extra,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert process.stdout is not None
    ready: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        ready.append(process.stdout.readline().decode().strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not ready or not ready[0].startswith("READY "):
        stop_service(process)
        raise RuntimeError(
            f"the rql service did not start: {ready!r}\n{log.read_text(errors='replace')[-3000:]}"
        )
    port = int(ready[0].split()[1])
    return RqlService(f"http://127.0.0.1:{port}", process, log, requests_log)


def stop_service(process: subprocess.Popen[bytes]) -> None:
    stop_process(process)
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="session")
def rql_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RqlService]:
    """The shared, read-only-by-convention service with the seeded data."""
    service = start_service(tmp_path_factory.mktemp("rql_ro"))
    try:
        yield service
    finally:
        stop_service(service.process)


@pytest.fixture(scope="session")
def rql_service_url(rql_service: RqlService) -> str:
    """Base URL of the Connect-style API (``http://127.0.0.1:<port>/public/v1``).

    Send ``Authorization: ApiKey SU-000-000-000:s3cret`` (``API_KEY`` here),
    e.g. ``settee.rest.Client(rql_service_url, auth=API_KEY)``.
    """
    return rql_service.url


@pytest.fixture(scope="session")
def rql_rw_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RqlService]:
    """A second instance that tests may write to."""
    service = start_service(tmp_path_factory.mktemp("rql_rw"))
    try:
        yield service
    finally:
        stop_service(service.process)


@pytest.fixture
def rql_client(rql_service: RqlService) -> Iterator[Client]:
    """A settee REST client on the read-only service."""
    with rql_service.client() as client:
        yield client


@pytest.fixture
def rw_client(rql_rw_service: RqlService) -> Iterator[Client]:
    """A settee REST client on the writable service."""
    with rql_rw_service.client() as client:
        yield client
