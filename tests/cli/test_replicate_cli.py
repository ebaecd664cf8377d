"""``settee replicate``: SQLite to SQLite, a selector, PouchDB Server refusing documents,
the progress bar on a terminal (a real pty) and the one summary line when redirected."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import settee
from settee.cli import commands as cli
from settee.cli.replicate import EXIT_WRITE_FAILURES, split_db_url
from tests.cli.test_cli_terminal import _on_terminal, _read_until
from tests.conftest import Server, unique_name


def test_split_db_url() -> None:
    assert split_db_url("http://h:5984/db") == ("http://h:5984", "db")
    assert split_db_url("sqlite:///tmp/x.db/notes") == ("sqlite:///tmp/x.db", "notes")
    assert split_db_url("memory:/a") == ("memory:", "a")
    for bad in ("http://h:5984", "sqlite:///", "db"):
        with pytest.raises(ValueError, match="names no database"):
            split_db_url(bad)


def test_replicate_sqlite_to_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = settee.connect(f"sqlite:///{tmp_path / 'a.db'}")
    db = src.create_database("notes")
    db.bulk_docs([{"_id": f"n{i}", "type": "note" if i % 2 else "todo"} for i in range(20)])
    source, target = f"sqlite:///{tmp_path / 'a.db'}/notes", f"sqlite:///{tmp_path / 'b.db'}/notes"
    assert cli.main(["replicate", source, target, "--create-target", "--batch-size", "7"]) == 0
    out, err = capsys.readouterr()
    counts = json.loads(out)
    assert counts["docs_written"] == 20 and counts["doc_write_failures"] == 0
    assert counts["changes_read"] == 20 and counts["changes_pending"] == 0
    # stderr is not a terminal here: no progress frames, one summary line.
    assert (
        err == f"replicated 20 changes from {source} to {target}: 20 documents written, 0 failed\n"
    )
    assert cli.main(["-q", "replicate", source, target]) == 0
    assert json.loads(capsys.readouterr().out)["docs_written"] == 0
    other = f"sqlite:///{tmp_path / 'c.db'}/notes"
    args = ["-q", "replicate", source, other, "--create-target", "--selector", '{"type": "note"}']
    assert cli.main(args) == 0
    assert json.loads(capsys.readouterr().out)["docs_written"] == 10
    # A missing target without --create-target: not found (4); bad selector: usage (2).
    assert cli.main(["-q", "replicate", source, f"sqlite:///{tmp_path / 'd.db'}/x"]) == 4
    assert cli.main(["-q", "replicate", source, other, "--selector", "[1]"]) == 2
    src.disconnect()


def test_replicate_exit_code_on_refused_documents(
    pouchdb_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = settee.connect(pouchdb_server.url, auth=pouchdb_server.auth)
    name = unique_name("cli-rep")
    target = client.create_database(name)
    try:
        target.put_doc(
            {
                "_id": "_design/guard",
                "validate_doc_update": "function (doc) {"
                " if (doc.bad) { throw({forbidden: 'no bad docs'}); } }",
            }
        )
        local = settee.connect(f"sqlite:///{tmp_path / 'a.db'}")
        local.create_database("src").bulk_docs([{"_id": "ok"}, {"_id": "nope", "bad": True}])
        host = pouchdb_server.url.replace("http://", "")
        url = f"http://{pouchdb_server.user}:{pouchdb_server.password}@{host}/{name}"
        code = cli.main(["-q", "replicate", f"sqlite:///{tmp_path / 'a.db'}/src", url])
        out, err = capsys.readouterr()
        assert code == EXIT_WRITE_FAILURES
        assert json.loads(out)["doc_write_failures"] == 1
        assert "refused: nope" in err and "forbidden" in err
        assert err.splitlines()[-1].endswith(": 1 documents written, 1 failed")
        assert pouchdb_server.password not in out + err
        local.disconnect()
    finally:
        client.delete_database(name)
        client.disconnect()


def test_replicate_draws_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    src = settee.connect(f"sqlite:///{tmp_path / 'a.db'}")
    src.create_database("notes").bulk_docs([{"_id": f"n{i:03d}"} for i in range(300)])
    src.disconnect()
    source, target = f"sqlite:///{tmp_path / 'a.db'}/notes", f"sqlite:///{tmp_path / 'b.db'}/notes"
    process, master, slave = _on_terminal(
        ["replicate", source, target, "--create-target", "--batch-size", "10"],
        stdout=subprocess.PIPE,
    )
    try:
        shown = _read_until(master, b"documents written, 0 failed")
        assert process.wait(timeout=60) == 0
        assert process.stdout is not None
        assert json.loads(process.stdout.read())["docs_written"] == 300
        process.stdout.close()
    finally:
        os.close(slave)
        os.close(master)
    # Frames of the bar (tqdm's or the plain counter's), with the total from the feed.
    assert b"\rreplicate: " in shown and b"/300" in shown
    assert b"replicated 300 changes from" in shown
