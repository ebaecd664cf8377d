"""Real servers for the suite, started on free loopback ports and stopped at the end.

* PouchDB Server (npm ``pouchdb-server`` 4.2.0, in-memory) — always. ``make
  test`` installs it into ``.cache/npm`` and exports ``SETTEE_POUCHDB_BIN``;
  when that variable is set and the binary is missing the suite fails rather
  than skipping.
* Apache CouchDB, two kinds: ``couchdb`` (a single node) and
  ``couchdb-cluster`` (3 nodes). With ``SETTEE_COUCHDB_HOME`` (a CouchDB
  installation, the directory holding ``bin/couchdb``) the suite starts both
  itself (``tests/servers/couchdb/launcher.py``). ``COUCHDB_URL`` /
  ``COUCHDB_CLUSTER_URL`` (``http://admin:pw@127.0.0.1:5984``) name a server of
  yours instead (``docker/``), and win over the launcher for their kind.
  Without either, CouchDB tests skip with that reason.

Each server is described by a :class:`Server`: its clean URL, admin
credentials, kind, and a ``capabilities`` set (names from
``settee.backends.CAPABILITIES``, semantics included) so tests
skip a missing feature by an explicit check with a reason.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:
    from tests.servers.couchdb.launcher import Launch

ROOT = Path(__file__).resolve().parent.parent
ADMIN_USER = "admin"
ADMIN_PASSWORD = "s3cret-pw"

#: What each server kind is expected to claim of the semantics names in
#: settee.backends.CAPABILITIES (docs/semantics.md); the backends decide it
#: themselves, and tests/http/test_http_backend.py checks they say this.
_ENGINE = frozenset(
    {"changes_total_order", "read_your_writes", "strict_conflicts", "couchdb_view_surface"}
)
SEMANTICS_OF: dict[str, frozenset[str]] = {
    "memory": _ENGINE,
    "sqlite": _ENGINE,
    "pouchdb": frozenset(
        {"changes_total_order", "read_your_writes", "strict_conflicts", "versioned_local_docs"}
    ),
    "couchdb": frozenset({"read_your_writes", "strict_conflicts", "couchdb_view_surface"}),
    # n=3 copies: reads may reach a copy behind the write
    "couchdb-cluster": frozenset({"couchdb_view_surface"}),
}
COUCHDB_CAPS = frozenset(
    {"javascript_views", "sessions", "config", "db_updates", "changes_selector", "partitions",
     "feed_timeout", "seq_interval", "mango_partial_indexes", "changes_filter_404",
     "server_replicator", "bulk_get", "couchdb_view_surface", "mango_bookmarks"}
)  # fmt: skip


@dataclass
class Server:
    """A running CouchDB-compatible server the tests may use."""

    kind: str  # "pouchdb" | "couchdb" | "couchdb-cluster"
    url: str  # no credentials; a cluster's first node
    user: str
    password: str
    capabilities: frozenset[str] = field(default_factory=frozenset)
    process: subprocess.Popen[bytes] | None = None
    node_urls: tuple[str, ...] = ()  # every node of a cluster we started
    launch: Launch | None = None  # the nodes we started (kill/restart one); None: yours

    def require_launched(self) -> Launch:
        """The launcher's handle on our own nodes; skips (with the reason) on a server of yours."""
        if self.launch is None:
            pytest.skip(
                f"{self.kind} is a server of yours (COUCHDB_*URL): the suite only kills "
                "and restarts nodes it started from SETTEE_COUCHDB_HOME"
            )
        return self.launch

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    def require(self, capability: str) -> None:
        """Skip the calling test, with the reason, when the server lacks ``capability``."""
        if capability not in self.capabilities:
            from settee.backends.base import CAPABILITIES

            what = CAPABILITIES.get(capability, capability)
            pytest.skip(f"{self.kind} lacks {capability} ({what})")

    def raw(self, method: str, path: str, body: object = None) -> object:
        """A plain urllib call as admin, independent of settee (for setup and checks)."""
        return self.raw_at(self.url, method, path, body)

    def raw_at(self, node_url: str, method: str, path: str, body: object = None) -> object:
        """:meth:`raw` through ``node_url`` (one of ``node_urls``: another node of a cluster)."""
        import base64

        req = urllib.request.Request(
            node_url + path,
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
            capabilities=frozenset({"javascript_views", "sessions", "config", "bulk_get"})
            | SEMANTICS_OF["pouchdb"],
            process=process,
        )
    finally:
        stop_process(process)
        log.close()


def _couchdb(kind: str, factory: pytest.TempPathFactory) -> Iterator[Server]:
    from settee.urls import split_credentials
    from tests.servers.couchdb.launcher import CouchDBError, launch

    variable = "COUCHDB_CLUSTER_URL" if kind == "couchdb-cluster" else "COUCHDB_URL"
    caps = COUCHDB_CAPS | SEMANTICS_OF[kind]
    if raw := os.environ.get(variable):
        url, creds = split_credentials(raw)
        if creds is None:
            pytest.fail(f"{variable} must carry admin credentials: http://admin:pw@127.0.0.1:5984")
        wait_http(url + "/_up", time.monotonic() + 60)
        yield Server(kind, url, creds[0], creds[1], caps)
        return
    home = os.environ.get("SETTEE_COUCHDB_HOME")
    if not home:
        pytest.skip(
            f"neither SETTEE_COUCHDB_HOME (a CouchDB installation to start {kind} from) "
            f"nor {variable} is set"
        )
    workdir = factory.mktemp(kind)
    try:
        nodes = 3 if kind == "couchdb-cluster" else 1
        started = launch(home, workdir, nodes=nodes, user=ADMIN_USER, password=ADMIN_PASSWORD)
    except CouchDBError as exc:
        pytest.fail(f"SETTEE_COUCHDB_HOME={home}: {exc}")
    try:
        urls = tuple(started.urls)
        yield Server(
            kind, started.url, ADMIN_USER, ADMIN_PASSWORD, caps, node_urls=urls, launch=started
        )
    finally:
        started.stop()


@pytest.fixture(scope="session")
def couchdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Apache CouchDB, a single node: ``COUCHDB_URL``, or started from ``SETTEE_COUCHDB_HOME``."""
    yield from _couchdb("couchdb", tmp_path_factory)


@pytest.fixture(scope="session")
def couchdb_cluster_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A 3-node CouchDB cluster: ``COUCHDB_CLUSTER_URL``, or from ``SETTEE_COUCHDB_HOME``."""
    yield from _couchdb("couchdb-cluster", tmp_path_factory)


@pytest.fixture(scope="session", name="couchdb-cluster_server")
def _couchdb_cluster_by_kind(couchdb_cluster_server: Server) -> Server:
    """So ``request.getfixturevalue(f"{kind}_server")`` works for every kind."""
    return couchdb_cluster_server


HTTP_SERVERS = ["pouchdb", "couchdb", "couchdb-cluster"]


@pytest.fixture(params=HTTP_SERVERS)
def http_server(request: pytest.FixtureRequest) -> Server:
    """Every real HTTP server available: PouchDB Server always, CouchDB when configured."""
    server: Server = request.getfixturevalue(f"{request.param}_server")
    return server


T = TypeVar("T")


def settled(read: Callable[[], T], done: Callable[[T], bool], *, read_your_writes: bool) -> T:
    """``read()``; without ``read_your_writes``, again until ``done`` holds or 30 s pass.

    A cluster answers _all_docs, _changes, _find, views and db info from one
    copy per shard range, which may not hold a write that returned yet: what
    it promises is that the write shows eventually, and that is what is checked.
    """
    result = read()
    deadline = time.monotonic() + 30
    while not read_your_writes and not done(result) and time.monotonic() < deadline:
        time.sleep(0.1)
        result = read()
    return result


def unique_name(prefix: str = "t") -> str:
    """A fresh, valid database name."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
