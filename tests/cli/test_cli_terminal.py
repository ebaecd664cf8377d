"""The settee command with and without a terminal, and stopped by SIGTERM (issue 15 item 5).

Real processes: a pseudo-terminal (pty) as the controlling terminal where a
terminal matters - the password prompt must read it, never the document on
standard input; progress bars are drawn on it (and only there, see
test_cli_user_errors) - and SIGTERM sent to a follower, which must stop
cleanly and save its place like Ctrl-C does.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

import settee
from settee.cli import commands as cli
from settee.feeds import FileCheckpoint
from tests.conftest import unique_name

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    **{k: v for k, v in os.environ.items() if k not in ("SETTEE_PASSWORD", "SETTEE_URL")},
    "PYTHONPATH": str(ROOT / "src"),
}

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


def _read_until(fd: int, needle: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never came; got {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _on_terminal(args: list[str], **options: object) -> tuple[subprocess.Popen[str], int, int]:
    """A settee process whose controlling terminal (and stderr) is a new pty.

    Returns the process and both ends of the pty. The caller closes the slave
    end only after reading what it needs: while one is open the output stays
    readable (Linux discards it once every slave end is closed).
    """
    master, slave = os.openpty()
    # A terminal has a size (a new pty has none, and tqdm draws nothing on 0 rows).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    name = os.ttyname(slave)

    def take_terminal() -> None:  # after setsid: opening the tty makes it ours
        os.close(os.open(name, os.O_RDWR))

    process = subprocess.Popen(
        [sys.executable, "-m", "settee", *args],
        stderr=slave,
        env=ENV,
        text=True,
        start_new_session=True,
        preexec_fn=take_terminal,
        **options,  # type: ignore[call-overload]
    )
    return process, master, slave


def test_password_prompt_reads_the_terminal_not_the_document(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    assert cli.main(["--url", url, "-q", "create-db", "db"]) == 0
    process, master, slave = _on_terminal(
        ["--url", url, "--user", "bob", "put", "db", "x"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write('{"secret": "the document"}')
        process.stdin.close()
        assert b"password for bob: " in _read_until(master, b"password for bob: ")
        os.write(master, b"s3cret\n")
        assert process.wait(timeout=60) == 0
        assert json.loads(process.stdout.read())["id"] == "x"
        process.stdout.close()
    finally:
        os.close(slave)
        os.close(master)
    with settee.connect(url) as client:
        assert dict(client["db"]["x"])["secret"] == "the document"


def test_progress_bar_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bar.db'}"
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps({"_id": f"p{n}"}) + "\n" for n in range(300)))
    assert cli.main(["--url", url, "-q", "create-db", "p"]) == 0
    process, master, slave = _on_terminal(
        ["--url", url, "load", "p", str(source), "--batch", "10"], stdout=subprocess.DEVNULL
    )
    try:
        shown = _read_until(master, b"loaded 300 documents")
        assert process.wait(timeout=60) == 0
    finally:
        os.close(slave)
        os.close(master)
    assert b"\rload: " in shown  # tqdm's frames (or the plain counter's)


@pytest.mark.parametrize("backend", ["sqlite", "pouchdb"])
def test_sigterm_stops_a_follower_cleanly_and_saves_its_place(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # pouchdb: the signal arrives while the process waits on an HTTP continuous feed
    if backend == "pouchdb":
        server = request.getfixturevalue("pouchdb_server")
        url = server.url.replace("://", f"://{server.user}:{server.password}@")
    else:
        url = f"sqlite:///{tmp_path / 'f.db'}"
    name = unique_name("cli-sigterm")
    total = 1500  # not a multiple of the checkpoint's batch (1000): the last 500 are held back
    with settee.connect(url) as client:
        client.create_database(name).bulk_docs([{"_id": f"d{n:04d}"} for n in range(total)])
    request.addfinalizer(lambda: _delete_database(url, name))
    checkpoint = tmp_path / "feed.seq"
    command = [sys.executable, "-m", "settee", "--url", url, "changes", name, "--follow"]
    with subprocess.Popen(
        [*command, "--checkpoint", str(checkpoint)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        printed = [json.loads(process.stdout.readline()) for _ in range(total)]
        process.send_signal(signal.SIGTERM)  # it waits for the next change
        assert process.wait(timeout=60) == cli.EXIT_TERMINATED
        assert process.stdout.read() == "" and process.stderr.read() == ""
    # Saved: the last change printed, or the one before when the signal came
    # between printing a change and asking for the next (then it is shown again
    # after a restart: at least once). Killed without a handler, it would be
    # the 1000th (the last batch write).
    assert FileCheckpoint(checkpoint).load() in (printed[-1]["seq"], printed[-2]["seq"])


def _delete_database(url: str, name: str) -> None:
    with settee.connect(url) as client:
        client.delete_database(name)


def test_main_puts_the_sigterm_handler_back(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["--url", "memory:", "dbs"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
