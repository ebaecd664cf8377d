"""Every ```python block of README.md and docs/*.md runs (issue 15 item 4).

One test per page: its blocks run top to bottom in one namespace, in a new
interpreter (tests/docs/run_page.py: nothing the suite imported helps a
page) and a fresh working directory, against ``memory:``/``sqlite:`` as written, or -
when the page says ``<!-- docs-test: server=pouchdb|rest|couchdb -->`` (or
several: ``server=pouchdb,couchdb`` runs it on each) -
with ``SERVER_URL`` predefined: PouchDB Server (credentials in the URL), the
django-rql service (its Connect-style root; ``API_KEY`` predefined too), or
Apache CouchDB (skipped with the reason when none is configured). A block
marked ``<!-- docs-test: skip (reason) -->`` is not run. What a page leaves
behind on a server (databases) is removed after it. A
``<!-- docs-test: pytest -->`` page runs as a test module under pytest with
settee's plugin (``SETTEE_TEST_URL`` is its server, if any).
A failing block's traceback points at the page's own line numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docs.examples import read_page
from tests.docs.run_page import API_KEY_ENV, SERVER_URL_ENV
from tests.rest.conftest import API_KEY, RqlService, start_service, stop_service

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
WITH_CODE = [p for p in PAGES if read_page(p).blocks or read_page(p).commands]
#: (page, server) pairs: a page runs once per server it names (once on none).
RUNS = [(p, s) for p in WITH_CODE for s in (read_page(p).servers or (None,))]


@pytest.fixture(scope="session")
def docs_rest_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RqlService]:
    """A django-rql service of the docs' own (pages may write to it)."""
    service = start_service(tmp_path_factory.mktemp("docs_rql"))
    try:
        yield service
    finally:
        stop_service(service.process)


def _with_credentials(server: Any) -> str:
    scheme, rest = server.url.split("://", 1)
    return f"{scheme}://{server.user}:{server.password}@{rest}"


def test_every_page_with_code_is_collected() -> None:
    names = {p.name for p in WITH_CODE}
    assert {"README.md", "quickstart.md", "databases.md", "testing.md", "cli.md"} <= names


@pytest.mark.parametrize(
    ("path", "server_kind"),
    RUNS,
    ids=[str(p.relative_to(ROOT)) + (f"-{s}" if s else "") for p, s in RUNS],
)
def test_page_runs_top_to_bottom(
    path: Path, server_kind: str | None, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    page = read_page(path)
    runnable = [b for b in page.blocks if b.skip is None]
    if not runnable and not page.commands:
        reasons = "; ".join(sorted({str(b.skip) for b in page.blocks}))
        pytest.skip(f"every python block of {path.name} is marked skip: {reasons}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SETTEE_", "COUCHDB_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    server: Any = None
    if server_kind in ("pouchdb", "couchdb"):
        server = request.getfixturevalue(f"{server_kind}_server")  # couchdb: skips without one
        env[SERVER_URL_ENV] = _with_credentials(server)
    elif server_kind == "rest":
        service = request.getfixturevalue("docs_rest_service")
        env[SERVER_URL_ENV] = service.url
        env[API_KEY_ENV] = API_KEY
    dbs_before = set(server.raw("GET", "/_all_dbs")) if server is not None else set()
    try:
        result = subprocess.run(
            [sys.executable, "-W", "error", "-m", "tests.docs.run_page", str(path)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        if server is not None:
            for name in set(server.raw("GET", "/_all_dbs")) - dbs_before:
                server.raw("DELETE", "/" + name)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stdout}\n{result.stderr}"
    if page.pytest and server is not None:  # its server tests ran, not skipped
        assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout
