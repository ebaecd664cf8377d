"""Real servers for the suite, started on free loopback ports and stopped at the end.

* PouchDB Server (npm ``pouchdb-server`` 4.2.0, in-memory) — always. ``make
  test`` installs it into ``.cache/npm`` and exports ``SETTEE_POUCHDB_BIN``;
  when that variable is set and the binary is missing the suite fails rather
  than skipping.
* Apache CouchDB — when ``COUCHDB_URL`` (``http://admin:pw@127.0.0.1:5984``)
  is set, e.g. by ``docker compose -f docker/docker-compose.yml up``.

Each server is described by a :class:`Server`: its clean URL, admin
credentials, kind, and a ``capabilities`` set (names from
``settee.backends.CAPABILITIES``) so tests skip a missing feature by an
explicit check with a reason.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADMIN_USER = "admin"
ADMIN_PASSWORD = "s3cret-pw"


@dataclass
class Server:
    """A running CouchDB-compatible server the tests may use."""

    kind: str  # "pouchdb" | "couchdb"
    url: str  # no credentials
    user: str
    password: str
    capabilities: frozenset[str] = field(default_factory=frozenset)
    process: subprocess.Popen[bytes] | None = None

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    def require(self, capability: str) -> None:
        """Skip the calling test, with the reason, when the server lacks ``capability``."""
        if capability not in self.capabilities:
            from settee.backends import CAPABILITIES

            pytest.skip(
                f"{self.kind} lacks {capability} ({CAPABILITIES.get(capability, capability)}); "
                "this test runs on Apache CouchDB when COUCHDB_URL is set"
            )

    def raw(self, method: str, path: str, body: object = None) -> object:
        """A plain urllib call as admin, independent of settee (for setup and checks)."""
        import base64

        req = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic "
                + base64.b64encode(f"{self.user}:{self.password}".encode()).decode(),
            },
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, deadline: float, process: subprocess.Popen[bytes] | None = None) -> None:
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not answer in time")


def _pouchdb_bin() -> str | None:
    configured = os.environ.get("SETTEE_POUCHDB_BIN")
    default = ROOT / ".cache/npm/node_modules/.bin/pouchdb-server"
    candidate = configured or str(default)
    if Path(candidate).exists():
        return candidate
    if configured:
        pytest.fail(f"SETTEE_POUCHDB_BIN={configured} does not exist: run `make pouchdb`")
    return shutil.which("pouchdb-server")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def pouchdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """PouchDB Server, in-memory on a free loopback port, with an admin user."""
    binary = _pouchdb_bin()
    if binary is None:
        pytest.skip("pouchdb-server is not installed (run `make pouchdb`, or `make test`)")
    workdir = tmp_path_factory.mktemp("pouchdb")
    port = free_port()
    log = open(workdir / "stdout.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [
            binary,
            "--in-memory",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--config",
            str(workdir / "config.json"),
            "--no-stdout-logs",
        ],
        cwd=workdir,
        # An unauthenticated request makes PouchDB Server 4.2.0 reject a promise
        # nobody handles; Node 20 would exit and take the session's server down.
        env={**os.environ, "NODE_OPTIONS": "--unhandled-rejections=warn"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", time.monotonic() + 60, process)
        req = urllib.request.Request(
            f"{url}/_config/admins/{ADMIN_USER}",
            method="PUT",
            data=json.dumps(ADMIN_PASSWORD).encode(),
        )
        urllib.request.urlopen(req, timeout=10).close()
        yield Server(
            kind="pouchdb",
            url=url,
            user=ADMIN_USER,
            password=ADMIN_PASSWORD,
            capabilities=frozenset({"javascript_views", "sessions", "config"}),
            process=process,
        )
    finally:
        stop_process(process)
        log.close()


@pytest.fixture(scope="session")
def couchdb_server() -> Server:
    """Apache CouchDB from ``COUCHDB_URL`` (skips with the reason when unset)."""
    raw = os.environ.get("COUCHDB_URL")
    if not raw:
        pytest.skip("COUCHDB_URL is not set (docker compose -f docker/docker-compose.yml up -d)")
    from settee.transport import split_credentials

    url, creds = split_credentials(raw)
    if creds is None:
        pytest.fail("COUCHDB_URL must carry admin credentials: http://admin:pw@127.0.0.1:5984")
    wait_http(url + "/_up", time.monotonic() + 60)
    return Server(
        kind="couchdb",
        url=url,
        user=creds[0],
        password=creds[1],
        capabilities=frozenset(
            {
                "javascript_views",
                "sessions",
                "config",
                "db_updates",
                "changes_selector",
                "partitions",
                "feed_timeout",
                "seq_interval",
                "mango_partial_indexes",
            }
        ),
    )


HTTP_SERVERS = ["pouchdb", "couchdb"]


@pytest.fixture(params=HTTP_SERVERS)
def http_server(request: pytest.FixtureRequest) -> Server:
    """Every real HTTP server available: PouchDB Server always, CouchDB when configured."""
    server: Server = request.getfixturevalue(f"{request.param}_server")
    return server


def unique_name(prefix: str = "t") -> str:
    """A fresh, valid database name."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
