"""The settee command for a new user (issue 15 item 5): no tracebacks, the new commands.

Each user error is one line on stderr with a documented exit code; options
come before or after the command; delete, index create/list/delete,
changes --checkpoint, find --sort/--fields/--limit, load --skip-existing
with a summary, info pretty-printed, progress bars only on a terminal, and a
refused connection failing at once (no retries unless --retries).
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from settee.cli import commands as cli
from tests.http.fakes import refused_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(*args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch) -> int:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.main(list(args))


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def jsonl(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def test_options_after_the_command(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("create-db", "shop", "--url", url, "-q", monkeypatch=monkeypatch) == 0
    assert run("dbs", "--url", url, monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out.split() == ["shop"]
    # after wins over before
    assert run("--url", "memory:", "dbs", "--url", url, monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out.split() == ["shop"]
    assert run("index", "list", "shop", "--url", url, monkeypatch=monkeypatch) == 0


def test_missing_file_is_one_line(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--url", url, "load", "db", "/nonexistent.jsonl", monkeypatch=monkeypatch) == 2
    line = one_line(capsys.readouterr().err)
    assert "No such file or directory" in line and "/nonexistent.jsonl" in line


def test_user_without_password_and_no_terminal(url: str, tmp_path: Path) -> None:
    # A new session has no controlling terminal; the document is on stdin and
    # must not be read as the password.
    env = {k: v for k, v in os.environ.items() if k != "SETTEE_PASSWORD"}
    env["PYTHONPATH"] = str(ROOT / "src")
    result = subprocess.run(
        [sys.executable, "-m", "settee", "--url", url, "--user", "bob", "put", "db", "x"],
        input='{"secret": "the document"}',
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        start_new_session=True,
        check=False,
    )
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "no password for bob" in line and "SETTEE_PASSWORD" in line


def test_load_summary_line_numbers_and_skip_existing(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = jsonl(tmp_path / "in.jsonl", [{"_id": f"d{n:03d}", "n": n} for n in range(50)])
    assert run("--url", url, "create-db", "data", monkeypatch=monkeypatch) == 0
    assert run("--url", url, "load", "data", str(source), monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().err.strip().endswith("loaded 50 documents into data, 0 failed")

    # Loading again: every document conflicts, 20 are shown (by line, from 1), then a count.
    assert run("--url", url, "load", "data", str(source), monkeypatch=monkeypatch) == 5
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{source} line 1: d000: conflict Document update conflict."
    assert len(err) == cli.LOAD_ERRORS_SHOWN + 2
    assert err[-2] == "... and 30 more failed documents"
    assert err[-1] == "loaded 0 documents into data, 50 failed"

    more = jsonl(tmp_path / "more.jsonl", [{"_id": "d000"}, {"_id": "new1"}, {"_id": "new2"}])
    args = ("--url", url, "load", "data", str(more), "--skip-existing")
    assert run(*args, monkeypatch=monkeypatch) == 0
    assert one_line(capsys.readouterr().err) == (
        "loaded 2 documents into data, skipped 1 existing, 0 failed"
    )


def test_a_bad_line_stops_the_load_before_anything_is_written(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"_id": "a"}\n\n{"_id": "b"}\nnot json\n{"_id": "c"}\n')
    assert run("--url", url, "create-db", "db", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    args = ("--url", url, "load", "db", str(source), "--batch", "1")
    assert run(*args, monkeypatch=monkeypatch) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"settee: {source} line 4 is not valid JSON")  # lines counted from 1
    assert run("--url", url, "dump", "db", monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == ""  # not a and b: nothing was written
    source.write_text('{"_id": "a"}\n[1, 2]\n')
    assert run(*args, monkeypatch=monkeypatch) == 2
    assert one_line(capsys.readouterr().err) == f"settee: {source} line 2 is not a JSON object"


def test_delete_a_document(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--url", url, "create-db", "db", monkeypatch=monkeypatch) == 0
    assert run("--url", url, "put", "db", "a", stdin="{}", monkeypatch=monkeypatch) == 0
    assert run("--url", url, "put", "db", "b", stdin="{}", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    stale = "1-00000000000000000000000000000000"
    assert run("--url", url, "delete", "db", "a", monkeypatch=monkeypatch) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert run("--url", url, "get", "db", "a", monkeypatch=monkeypatch) == 4
    assert run("--url", url, "delete", "db", "a", monkeypatch=monkeypatch) == 4
    capsys.readouterr()
    assert run("--url", url, "delete", "db", "b", "--rev", stale, monkeypatch=monkeypatch) == 5
    assert "conflict" in one_line(capsys.readouterr().err)


def test_find_sort_fields_limit_and_indexes_on_a_server(
    pouchdb_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ["--url", pouchdb_server.url, "--user", pouchdb_server.user]
    server += ["--password", pouchdb_server.password, "-q"]
    source = jsonl(tmp_path / "n.jsonl", [{"_id": f"d{n}", "n": n, "x": "y"} for n in range(12)])
    assert cli.main([*server, "create-db", "cli-find"]) == 0
    try:
        assert cli.main([*server, "load", "cli-find", str(source)]) == 0
        capsys.readouterr()
        # Sorting without an index: the server refuses, one line naming the command to run.
        assert cli.main([*server, "find", "cli-find", '{"n": {"$gte": 0}}', "--sort=-n"]) == 1
        assert one_line(capsys.readouterr().err).endswith("settee index create cli-find n")
        assert cli.main([*server, "index", "create", "cli-find", "n", "--name", "by-n"]) == 0
        assert cli.main([*server, "index", "list", "cli-find"]) == 0
        names = [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()]
        assert "by-n" in names
        args = ["find", "cli-find", '{"n": {"$gte": 0}}', "--sort=-n", "--fields", "_id,n"]
        assert cli.main([*server, *args, "--limit", "3"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert rows == [{"_id": "d11", "n": 11}, {"_id": "d10", "n": 10}, {"_id": "d9", "n": 9}]
        rql = ["find", "cli-find", "ge(n,0)", "--sort=-n", "--fields", "n", "--limit", "2"]
        assert cli.main([*server, *rql]) == 0
        assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [
            {"n": 11},
            {"n": 10},
        ]
        ddoc = next(
            json.loads(line)["ddoc"]
            for line in _index_lines(server, capsys)
            if json.loads(line)["name"] == "by-n"
        )
        assert cli.main([*server, "index", "delete", "cli-find", ddoc, "by-n"]) == 0
        assert all(json.loads(line)["name"] != "by-n" for line in _index_lines(server, capsys))
    finally:
        cli.main([*server, "delete-db", "cli-find"])


def _index_lines(server: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert cli.main([*server, "index", "list", "cli-find"]) == 0
    return capsys.readouterr().out.splitlines()


def test_changes_checkpoint_file(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "state" / "feed.seq"
    assert run("--url", url, "create-db", "feed", monkeypatch=monkeypatch) == 0
    for n in range(3):
        assert run("--url", url, "put", "feed", f"c{n}", stdin="{}", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    args = ("--url", url, "changes", "feed", "--checkpoint", str(checkpoint))
    assert run(*args, monkeypatch=monkeypatch) == 0
    assert sorted(json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()) == [
        "c0",
        "c1",
        "c2",
    ]
    assert checkpoint.exists()
    assert run(*args, monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == ""  # nothing new since the saved seq
    assert run("--url", url, "put", "feed", "c3", stdin="{}", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    assert run(*args, monkeypatch=monkeypatch) == 0
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == ["c3"]
    checkpoint.write_text("{broken")
    assert run(*args, monkeypatch=monkeypatch) == 2
    assert "not valid JSON" in one_line(capsys.readouterr().err)


def test_info_is_pretty_printed(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("info", "--url", url, monkeypatch=monkeypatch) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) > 5 and out.splitlines()[1].startswith("  ")
    assert json.loads(out)["backend"] == "sqlite"


def test_no_progress_frames_in_redirected_stderr(url: str, tmp_path: Path) -> None:
    source = jsonl(tmp_path / "p.jsonl", [{"_id": f"p{n}"} for n in range(300)])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    base = [sys.executable, "-m", "settee", "--url", url]
    subprocess.run([*base, "create-db", "p"], env=env, check=True, timeout=60)
    result = subprocess.run(
        [*base, "load", "p", str(source), "--batch", "10"],  # no -q
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "\r" not in result.stderr
    assert result.stderr.strip() == "loaded 300 documents into p, 0 failed"


def test_refused_connection_fails_at_once_without_retries(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3")
    target = refused_url()
    assert run("--url", target, "dbs", monkeypatch=monkeypatch) == 3
    line = one_line(capsys.readouterr().err)
    assert line == f"settee: cannot reach {target}: connection refused"
    assert not [r for r in caplog.records if "Retrying" in r.getMessage()]
    # asked for: the first contact is retried that many times
    assert run("--url", target, "--retries", "2", "dbs", monkeypatch=monkeypatch) == 3
    assert len([r for r in caplog.records if "Retrying" in r.getMessage()]) == 2


def test_a_missing_directory_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}"
    assert run("dbs", "--url", url, monkeypatch=monkeypatch) == 2
    assert "no such directory" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "no").exists()


def test_a_directory_as_the_sqlite_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("dbs", "--url", f"sqlite:///{tmp_path}", monkeypatch=monkeypatch) == 2
    assert one_line(capsys.readouterr().err) == (
        f"settee: {tmp_path} is a directory: name the SQLite file in it"
    )


def test_empty_sort_and_fields_name_their_option(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--url", url, "create-db", "db", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    for option, example in (("--sort", "-n,name"), ("--fields", "_id,name")):
        assert run("--url", url, "find", "db", "{}", option, ",", monkeypatch=monkeypatch) == 2
        assert one_line(capsys.readouterr().err) == (
            f"settee: {option} needs field names: {option} {example}"
        )


def test_the_default_store_directory_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SETTEE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform in ("win32", "darwin"):
        pytest.skip("XDG_DATA_HOME picks the data directory on Linux only")
    assert run("create-db", "here", monkeypatch=monkeypatch) == 0
    assert (tmp_path / "xdg" / "settee" / "settee.db").exists()
