"""Start Apache CouchDB nodes of our own from an installation, and stop them.

``launch(home, workdir, nodes=1 | 3, ...)`` runs ``home/bin/couchdb`` once per
node, and writes nothing into ``home``. Everything a node needs is made in
``workdir``:

* a private ``epmd`` on a free loopback port (``ERL_EPMD_PORT``; the nodes are
  told ``-start_epmd false``), so node names never meet another epmd's;
* per node ``nodeN/vm.args`` (``-name couchdbN@127.0.0.1``, the shared cookie;
  ``COUCHDB_ARGS_FILE``) and ``nodeN/settee.ini`` (free chttpd and httpd ports
  on 127.0.0.1, ``database_dir``/``view_index_dir`` under ``nodeN/data``, the
  admin's PBKDF2 hash, and the same ``[chttpd_auth] secret`` and ``[couchdb]
  uuid`` on every node). ``COUCHDB_INI_FILES`` is the installation's
  ``default.ini`` and ``default.d`` followed by that file - never its
  ``local.ini``/``local.d``, which belong to the installation's own server. The
  last file is the one CouchDB writes ``_config`` changes into;
* the node's stdout and stderr (CouchDB logs to stderr) in ``nodeN/couchdb.log``.

A single node runs with ``[couchdb] single_node = true``. A cluster is joined
the way ``_cluster_setup`` cannot on loopback (it refuses a 127.0.0.1 bind
address): ``PUT /_node/_local/_nodes/<name>`` on the first node for each of the
others; then ``_users``, ``_replicator`` and ``_global_changes`` (which
``_db_updates`` needs) are created, with n=3 on a cluster. Readiness (``/_up``,
membership seen by every node, system databases) is waited for with one
bounded deadline. Each process runs in a session of its own; ``stop()``
signals each process group (SIGTERM, then SIGKILL), epmd last.

``kill(i)`` crashes one node (SIGKILL to its process group: no shutdown, no
flush) and ``restart(i)`` starts it again with the same data directory, ports
and config, then waits (bounded) until it answers ``/_up`` and every node
lists it as a member again - what a cluster's follower must survive.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["CouchDBError", "Installation", "Launch", "launch"]

#: CouchDB's own default (``[chttpd_auth] iterations``), so nothing is rehashed.
PBKDF2_ITERATIONS = 600_000
#: Environment a caller's shell may carry that would change how a node starts.
_SCRUBBED = ("ERL_FLAGS", "ERL_AFLAGS", "ERL_ZFLAGS", "ERL_LIBS", "COUCHDB_ARGS_FILE",
             "COUCHDB_INI_FILES", "COUCHDB_SYSCONFIG_FILE", "COUCHDB_FAUXTON_DOCROOT")  # fmt: skip


class CouchDBError(RuntimeError):
    """A node did not start, or the cluster did not form, in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def admin_hash(password: str) -> str:
    """``[admins]`` value in CouchDB 3's format; one hash shared by every node.

    Nodes that each hashed a plain password would hold different salts, and a
    session cookie (an HMAC over secret and salt) made on one node would not
    be valid on another.
    """
    salt = uuid.uuid4().hex
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), PBKDF2_ITERATIONS)
    return f"-pbkdf2:sha256-{key.hex()},{salt},{PBKDF2_ITERATIONS}"


@dataclass(frozen=True)
class Installation:
    """A CouchDB release directory: ``bin/couchdb``, ``etc/default.ini``, ``erts-*``."""

    home: Path

    @classmethod
    def at(cls, home: str | os.PathLike[str]) -> Installation:
        path = Path(home).resolve()
        for needed in ("bin/couchdb", "etc/default.ini", "releases/start_erl.data"):
            if not (path / needed).exists():
                raise CouchDBError(f"{path} is not a CouchDB installation: no {needed}")
        return cls(path)

    @property
    def epmd(self) -> Path:
        erts = (self.home / "releases/start_erl.data").read_text().split()[0]
        return self.home / f"erts-{erts}/bin/epmd"

    def ini_files(self) -> list[Path]:
        etc = self.home / "etc"
        return [p for p in (etc / "default.ini", etc / "default.d") if p.exists()]


@dataclass
class Node:
    name: str  # couchdb1@127.0.0.1
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "couchdb.log"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


@dataclass
class Launch:
    """What :func:`launch` started: nodes (the first is the one to talk to) and epmd."""

    workdir: Path
    user: str
    password: str
    nodes: list[Node] = field(default_factory=list)
    epmd: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def request(self, method: str, url: str, body: object = None, timeout: float = 10) -> object:
        """One admin request; returns the decoded JSON, raises urllib's HTTPError."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        req = urllib.request.Request(
            url,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": "Basic " + token},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` (0-based) and its children; returns once it is gone."""
        node = self.nodes[index]
        process = node.process
        if process is None or process.poll() is not None:
            raise CouchDBError(f"{node.name} is not running")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def restart(self, index: int, timeout: float = 120) -> None:
        """Start node ``index`` again (same data, ports, config); wait until it rejoined.

        Raises :class:`CouchDBError` when it is not up and a member of the
        cluster on every node within ``timeout`` seconds.
        """
        node = self.nodes[index]
        if node.process is not None and node.process.poll() is None:
            raise CouchDBError(f"{node.name} is still running")
        deadline = time.monotonic() + timeout
        with open(node.log, "ab") as log:
            log.write(b"\n=== restarted by the launcher ===\n")
            log.flush()
            node.process = _spawn(node, log)
        _wait(f"{node.url}/_up after a restart", deadline, lambda: self._up(node), self.nodes)
        _wait(f"{node.name} a member again", deadline, self._joined, self.nodes)
        _wait("every node ready after a restart", deadline, self._ready, self.nodes)

    def _up(self, node: Node) -> bool:
        answer = self.request("GET", node.url + "/_up", timeout=2)
        return isinstance(answer, dict) and answer.get("status") == "ok"

    def _joined(self) -> bool:
        names = sorted(node.name for node in self.nodes)
        for node in self.nodes:
            answer = self.request("GET", node.url + "/_membership", timeout=5)
            assert isinstance(answer, dict)
            if sorted(answer.get("cluster_nodes", [])) != names:
                return False
            if sorted(answer.get("all_nodes", [])) != names:
                return False
        return True

    def _ready(self) -> bool:
        for node in self.nodes:
            if not self._up(node):
                return False
            self.request("GET", node.url + "/_users", timeout=5)
        return True

    def stop(self) -> None:
        """Stop every process started, nodes first; safe to call more than once."""
        nodes = [node.process for node in self.nodes if node.process is not None]
        _stop_groups(nodes)
        if self.epmd is not None:
            _stop_groups([self.epmd])


def _stop_groups(processes: list[subprocess.Popen[bytes]], grace: float = 15) -> None:
    # Each node is a process group of its own (start_new_session): bin/couchdb
    # execs beam.smp, which starts erl_child_setup and couchjs children.
    # SIGTERM all, wait; SIGKILL the groups whose leader is left (couchjs
    # children end with beam, whose ports they read). A reaped leader's group
    # is never signalled: its id may belong to someone else by then.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sig)
        deadline = time.monotonic() + grace
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))


def _ini(sections: dict[str, dict[str, str]]) -> str:
    out = []
    for section, values in sections.items():
        out.append(f"[{section}]")
        out.extend(f"{key} = {value}" for key, value in values.items())
        out.append("")
    return "\n".join(out)


def _vm_args(name: str, cookie: str) -> str:
    # The installation's vm.args, less what would reach outside the workdir.
    return "\n".join(
        [
            f"-name {name}",
            f"-setcookie {cookie}",
            "-start_epmd false",
            "-kernel inet_dist_use_interface {127,0,0,1}",
            "-kernel error_logger silent",
            "-sasl sasl_error_logger false",
            "-kernel prevent_overlapping_partitions false",
            "+Bd -noinput",
            "-os_mon start_cpu_sup false",
            "-os_mon start_memsup false",
            "-os_mon disk_almost_full_threshold 1.0",
            "",
        ]
    )


def _start_epmd(install: Installation, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    binary = install.epmd
    if not binary.exists():
        raise CouchDBError(f"no epmd at {binary}")
    log = open(workdir / "epmd.log", "wb")  # noqa: SIM115 - the child holds it
    with log:
        process = subprocess.Popen(
            [str(binary), "-port", str(port), "-address", "127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CouchDBError(f"epmd exited with {process.returncode}: see {workdir}/epmd.log")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return process
        time.sleep(0.05)
    _stop_groups([process])
    raise CouchDBError(f"epmd did not listen on 127.0.0.1:{port} in 10s")


def _wait(what: str, deadline: float, check: object, nodes: list[Node]) -> None:
    """Call ``check()`` until it is true; a node that exits or the deadline raises."""
    last: BaseException | None = None
    while time.monotonic() < deadline:
        for node in nodes:
            if node.process is not None and node.process.poll() is not None:
                raise CouchDBError(
                    f"{node.name} exited with {node.process.returncode} while waiting for "
                    f"{what}; last lines of {node.log}:\n{node.log_tail()}"
                )
        try:
            if check():  # type: ignore[operator]
                return
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = exc
        time.sleep(0.2)
    tails = "\n".join(f"--- {n.log}\n{n.log_tail(15)}" for n in nodes)
    raise CouchDBError(f"CouchDB: {what} not reached in time (last error: {last!r})\n{tails}")


def launch(
    home: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    *,
    nodes: int = 1,
    user: str,
    password: str,
    timeout: float = 120,
    config: dict[str, dict[str, str]] | None = None,
) -> Launch:
    """Start ``nodes`` CouchDB nodes (1: a single node; more: one cluster); wait for them.

    ``config`` adds ini sections to every node. Raises :class:`CouchDBError`
    (with the log tails) when anything fails; what was started is stopped first.
    """
    install = Installation.at(home)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if any(c.isspace() for c in str(work)):  # bin/couchdb splits COUCHDB_INI_FILES on blanks
        raise CouchDBError(f"the work directory may not contain blanks: {work}")
    started = Launch(work, user, password)
    try:
        _start(started, install, nodes, timeout, config or {})
    except BaseException:
        started.stop()
        raise
    return started


def _start(
    started: Launch,
    install: Installation,
    count: int,
    timeout: float,
    extra: dict[str, dict[str, str]],
) -> None:
    deadline = time.monotonic() + timeout
    epmd_port = free_port()
    started.epmd = _start_epmd(install, started.workdir, epmd_port)
    cookie, secret, server_uuid = secrets.token_hex(16), secrets.token_hex(16), uuid.uuid4().hex
    hashed = admin_hash(started.password)
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env["ERL_EPMD_PORT"] = str(epmd_port)
    for i in range(1, count + 1):
        name = "couchdb@127.0.0.1" if count == 1 else f"couchdb{i}@127.0.0.1"
        directory = started.workdir / (f"node{i}")
        (directory / "data").mkdir(parents=True, exist_ok=True)
        node = Node(name, free_port(), directory)
        sections: dict[str, dict[str, str]] = {
            "couchdb": {
                "uuid": server_uuid,
                "database_dir": str(directory / "data"),
                "view_index_dir": str(directory / "data"),
                "single_node": "true" if count == 1 else "false",
            },
            "chttpd": {"port": str(node.port), "bind_address": "127.0.0.1"},
            "httpd": {"port": str(free_port()), "bind_address": "127.0.0.1"},
            "chttpd_auth": {"secret": secret},
            "admins": {started.user: hashed},
            "cluster": {"n": str(min(count, 3))},
            "log": {"writer": "stderr"},
        }
        for section, values in extra.items():
            sections.setdefault(section, {}).update(values)
        (directory / "settee.ini").write_text(_ini(sections))
        (directory / "vm.args").write_text(_vm_args(name, cookie))
        ini_files = [*install.ini_files(), directory / "settee.ini"]
        node_env = {
            **env,
            "COUCHDB_ARGS_FILE": str(directory / "vm.args"),
            "COUCHDB_INI_FILES": " ".join(str(p) for p in ini_files),
        }
        node.command = [str(install.home / "bin/couchdb")]
        node.env = node_env
        with open(node.log, "wb") as log:
            node.process = _spawn(node, log)
        started.nodes.append(node)

    def up(node: Node) -> bool:
        return started.request("GET", node.url + "/_up", timeout=2) is not None

    for node in started.nodes:
        _wait(f"{node.url}/_up", deadline, lambda node=node: up(node), started.nodes)
    first = started.nodes[0]
    names = sorted(node.name for node in started.nodes)
    for node in started.nodes[1:]:
        path = f"{first.url}/_node/_local/_nodes/{node.name}"
        with contextlib.suppress(urllib.error.HTTPError):  # 409: already a member
            started.request("PUT", path, {})

    _wait(f"membership {names}", deadline, started._joined, started.nodes)
    for db in ("_users", "_replicator", "_global_changes"):

        def created(db: str = db) -> bool:
            try:
                started.request("PUT", f"{first.url}/{db}", timeout=30)
            except urllib.error.HTTPError as exc:
                if exc.code != 412:  # file_exists (single_node=true made it)
                    raise OSError(f"PUT /{db}: {exc.code} {exc.read()!r}") from exc
            return True

        _wait(f"system database {db}", deadline, created, started.nodes)

    _wait("every node ready", deadline, started._ready, started.nodes)


def _spawn(node: Node, log: IO[bytes]) -> subprocess.Popen[bytes]:
    # A session of its own: stop()/kill() signal the whole group (beam.smp,
    # erl_child_setup, couchjs).
    return subprocess.Popen(
        node.command,
        env=node.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=os.environ.get("SETTEE_COUCHDB_HOME"), required=False)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="pw")
    args = parser.parse_args(argv)
    if not args.home:
        parser.error("--home (or SETTEE_COUCHDB_HOME) is required")

    # SIGTERM (and SIGINT, which a shell's background job ignores) stop the nodes.
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    started = launch(
        args.home, args.workdir, nodes=args.nodes, user=args.user, password=args.password
    )
    try:
        for node in started.nodes:
            print(f"{node.name} {node.url} (log {node.log})", flush=True)
        print(f"READY http://{args.user}:{args.password}@127.0.0.1:{started.nodes[0].port}")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        started.stop()


if __name__ == "__main__":
    main()
