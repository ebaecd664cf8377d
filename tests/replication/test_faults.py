"""Replication through the fault proxy (tests/http/proxy.py) and across a SIGKILL.

Every real HTTP server is behind the proxy in turn (PouchDB Server, and
Apache CouchDB single node and cluster when configured; the cluster's handles
write with ``write_quorum = 3``); the other end is a local store. Cuts land on
the request that matters: the answer to ``_bulk_docs`` (the write applied,
its answer lost) and the body of ``_changes``. The SIGKILL test kills a
process replicating into SQLite and into each server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import settee
from tests.conftest import HTTP_SERVERS, ROOT, Server, unique_name
from tests.http.proxy import FaultProxy
from tests.replication.conftest import doc_ids, read_your_writes, same_trees


@pytest.fixture
def proxy(http_server: Server) -> Iterator[FaultProxy]:
    port = int(http_server.url.rsplit(":", 1)[1])
    with FaultProxy(port, max_lifetime=300) as p:
        yield p


def _full_quorum(db: settee.Database) -> settee.Database:
    if not read_your_writes(db):
        db.write_quorum = 3  # the suite's cluster keeps 3 copies
    return db


@pytest.fixture
def remote(
    http_server: Server, proxy: FaultProxy
) -> Iterator[tuple[settee.Database, settee.Database]]:
    """``(through_proxy, direct)``: one database of the server by two clients."""
    name = unique_name("rep-fault")
    direct = settee.connect(http_server.url, auth=http_server.auth)
    faulty = settee.connect(proxy.url, auth=http_server.auth)
    direct.create_database(name)
    try:
        yield _full_quorum(faulty[name]), _full_quorum(direct[name])
    finally:
        direct.delete_database(name)
        direct.disconnect()
        faulty.disconnect()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[settee.Database]:
    client = settee.connect(f"sqlite:///{tmp_path / 'local.db'}")
    try:
        yield client.create_database("local")
    finally:
        client.disconnect()


def _note(request: pytest.FixtureRequest, name: str, value: object) -> None:
    """A number of the run (documents re-sent, lost...) kept with the test's report:
    ``--junitxml`` writes it as a property (junit_family xunit1), a plugin may read
    ``report.user_properties``."""
    request.node.user_properties.append((name, value))


def _fill(db: settee.Database, n: int, prefix: str = "d") -> None:
    db.bulk_docs([{"_id": f"{prefix}{i:04d}", "n": i} for i in range(n)])


def test_a_cut_answer_to_bulk_docs_is_sent_again(
    proxy: FaultProxy, remote: tuple[settee.Database, settee.Database], local: settee.Database
) -> None:
    target, direct = remote
    _fill(local, 60)
    proxy.cut_request(f"POST /{target.database_name}/_bulk_docs".encode(), after=0)
    seen: list[BaseException] = []
    result = settee.replicate(local, target, batch_size=20, on_error=lambda e, d: seen.append(e))
    assert proxy.cuts == 1 and len(seen) == 1
    assert isinstance(seen[0], settee.TransportError)
    assert result.ok and result.docs_written + (result.missing_found - result.docs_read) <= 60
    assert doc_ids(direct) == doc_ids(local)
    same_trees(local, direct)


def test_resume_after_a_cut_in_bulk_docs_starts_at_the_checkpoint(
    proxy: FaultProxy,
    remote: tuple[settee.Database, settee.Database],
    local: settee.Database,
    request: pytest.FixtureRequest,
) -> None:
    target, direct = remote
    _fill(local, 60)
    cut_on = f"POST /{target.database_name}/_bulk_docs".encode()
    batches = 0

    def arm_third(result: settee.ReplicationResult) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            proxy.cut_request(cut_on, after=0)

    with pytest.raises(settee.TransportError):
        settee.replicate(local, target, batch_size=20, max_retries=0, progress=arm_third)
    second = settee.replicate(local, target, batch_size=20)
    _note(request, "docs_resent", second.missing_checked - second.missing_found)
    assert second.start_last_seq == 40  # two batches were checkpointed
    # The third batch applied but its answer was lost: sent again, nothing new to write.
    assert second.missing_checked == 20 and second.docs_written == 0
    same_trees(local, direct)


def test_a_cut_in_changes_resumes(
    proxy: FaultProxy, remote: tuple[settee.Database, settee.Database], local: settee.Database
) -> None:
    source, direct = remote
    _fill(direct, 80)
    proxy.cut_request(f"/{source.database_name}/_changes".encode(), after=400)
    with pytest.raises((settee.TransportError, settee.FeedError)):
        settee.replicate(source, local, batch_size=80, max_retries=0)
    assert proxy.cuts == 1
    proxy.cut_request(f"/{source.database_name}/_changes".encode(), after=400)
    result = settee.replicate(source, local, batch_size=30)  # retried inside
    assert result.ok and proxy.cuts == 2
    assert len(doc_ids(local)) == 80
    same_trees(direct, local)


def test_live_replication_through_dropped_connections_loses_nothing(
    proxy: FaultProxy,
    remote: tuple[settee.Database, settee.Database],
    local: settee.Database,
    request: pytest.FixtureRequest,
) -> None:
    source, direct = remote
    errors: list[BaseException] = []
    live = settee.replicate(
        source, local, continuous=True, batch_size=25, on_error=lambda e, d: errors.append(e)
    )
    try:
        assert live.status in ("running", "idle")
        for round_ in range(4):
            _fill(direct, 50, prefix=f"r{round_}-")
            time.sleep(0.2)
            proxy.drop_all()
        deadline = time.monotonic() + 180
        while len(doc_ids(local)) < 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        while live.status != "idle" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live.status == "idle"
    finally:
        result = live.stop()
    _note(request, "docs_lost", 200 - len(doc_ids(local)))
    _note(request, "connections", proxy.connections)
    assert live.status == "stopped" and live.error is None
    assert len(doc_ids(local)) == 200, "documents lost"
    assert result.docs_written >= 200 - 0 and result.doc_write_failures == 0
    assert proxy.connections > 1  # the drops were real
    same_trees(direct, local)


def test_live_replication_stops_on_a_terminal_error(
    remote: tuple[settee.Database, settee.Database], local: settee.Database
) -> None:
    # The target database goes away: its writes answer NotFound, which no retry mends.
    _, direct = remote
    _fill(direct, 5)
    live = settee.replicate(direct, local, continuous=True)
    deadline = time.monotonic() + 120
    while live.status != "idle" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.status == "idle" and live.last_seq != 0
    local.client.delete_database(local.database_name)
    _fill(direct, 3, prefix="late")
    with pytest.raises(settee.NotFound):
        live.wait(timeout=180)
    assert live.status == "error" and isinstance(live.error, settee.NotFound)


_CHILD = """
import json, sys, settee
src = settee.connect("sqlite:///" + sys.argv[1])["src"]
tgt = settee.connect(sys.argv[2]).create_database(sys.argv[3], throw_on_exists=False)
if sys.argv[4] != "-":
    tgt.write_quorum = int(sys.argv[4])
def progress(result):
    print(json.dumps({"recorded": result.recorded_seq, "written": result.docs_written}), flush=True)
live = settee.replicate(src, tgt, continuous=True, batch_size=10, progress=progress)
live.wait()
"""


@pytest.mark.parametrize("into", ["sqlite", *HTTP_SERVERS])
def test_a_sigkilled_live_replication_resumes_from_its_checkpoint(
    into: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    src_path = tmp_path / "src.db"
    source_client = settee.connect(f"sqlite:///{src_path}")
    source = source_client.create_database("src")
    total = 1000  # so the kill lands while batches are still going
    _fill(source, total)
    if into == "sqlite":
        target_url, auth, name = f"sqlite:///{tmp_path / 'tgt.db'}", None, "tgt"
        child_url = target_url
    else:
        server: Server = request.getfixturevalue(f"{into}_server")
        target_url, auth, name = server.url, server.auth, unique_name("rep-kill")
        child_url = server.url.replace("://", f"://{server.user}:{server.password}@")
        request.addfinalizer(lambda: _drop(server, name))
    quorum = "-" if into != "couchdb-cluster" else "3"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(src_path), child_url, name, quorum],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert child.stdout is not None
    lines: list[dict[str, int]] = []
    timer = threading.Timer(180, child.kill)  # bounded, whatever happens
    timer.start()
    try:
        for line in child.stdout:
            lines.append(json.loads(line))
            if len(lines) == 8:
                # Not at a batch boundary: the child goes on for a moment, so the
                # kill lands wherever it is (mid-batch, mid-checkpoint...).
                time.sleep(0.02 * (1 + len(lines) % 3))
                os.kill(child.pid, signal.SIGKILL)
                break
        lines += [json.loads(line) for line in child.stdout]  # what it said before dying
    finally:
        child.wait(timeout=30)
        child.stdout.close()
        timer.cancel()
    assert child.returncode == -signal.SIGKILL and len(lines) >= 8
    target_client = settee.connect(target_url, auth=auth)
    target = _full_quorum(target_client[name])
    before = len(doc_ids(target))
    checkpointed = lines[-1]["recorded"]  # the last it reported (it may have taken one more)
    assert 0 < checkpointed < total, "the kill came too late to test a resume"
    result = settee.replicate(source, target, batch_size=10)
    # It starts at the last checkpoint; at most one batch (10) is sent again.
    assert result.start_last_seq >= checkpointed
    resent = result.missing_checked - result.missing_found
    lost = total - len(doc_ids(target))
    _note(request, "docs_resent", resent)
    _note(request, "docs_lost", lost)
    assert resent <= 10
    assert result.docs_written == total - before
    assert lost == 0
    same_trees(source, target)
    source_client.disconnect()
    target_client.disconnect()


def _drop(server: Server, name: str) -> None:
    with contextlib.suppress(settee.SetteeError):
        with settee.connect(server.url, auth=server.auth) as client:
            client.delete_database(name)
