"""The settee command end to end: embedded SQLite, and the demo on PouchDB Server."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from settee.cli import commands as cli


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(url: str, *args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch) -> int:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.main(["--url", url, "-q", *args])


def test_database_round_trip(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(url, "create-db", "shop", monkeypatch=monkeypatch) == 0
    assert run(url, "dbs", monkeypatch=monkeypatch) == 0
    assert "shop" in capsys.readouterr().out.split()

    doc = {"name": 'lamp, (red) "x"', "price": 12.5, "tags": ["é", "*"]}
    assert run(url, "put", "shop", "p1", stdin=json.dumps(doc), monkeypatch=monkeypatch) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["id"] == "p1" and written["rev"].startswith("1-")

    assert run(url, "get", "shop", "p1", monkeypatch=monkeypatch) == 0
    got = json.loads(capsys.readouterr().out)
    assert {k: got[k] for k in doc} == doc and got["_rev"] == written["rev"]

    # A stale _rev is a conflict (exit 5) and nothing is overwritten.
    stale = dict(got, price=1)
    stale["_rev"] = "1-00000000000000000000000000000000"
    assert run(url, "put", "shop", stdin=json.dumps(stale), monkeypatch=monkeypatch) == 5
    assert "conflict" in capsys.readouterr().err
    assert run(url, "get", "shop", "p1", monkeypatch=monkeypatch) == 0
    assert json.loads(capsys.readouterr().out)["price"] == 12.5


def test_load_find_dump(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            json.dumps({"_id": f"d{n:03d}", "n": n, "kind": "odd" if n % 2 else "even"})
            for n in range(120)
        )
        + "\n",
        encoding="utf-8",
    )
    assert run(url, "create-db", "data", monkeypatch=monkeypatch) == 0
    assert run(url, "load", "data", str(source), "--batch", "50", monkeypatch=monkeypatch) == 0
    assert "loaded 120 documents" in capsys.readouterr().err

    assert run(url, "find", "data", '{"n": {"$gte": 115}}', monkeypatch=monkeypatch) == 0
    ids = sorted(json.loads(line)["_id"] for line in capsys.readouterr().out.splitlines())
    assert ids == ["d115", "d116", "d117", "d118", "d119"]

    assert run(url, "find", "data", "and(eq(kind,odd),lt(n,7))", monkeypatch=monkeypatch) == 0
    ids = sorted(json.loads(line)["_id"] for line in capsys.readouterr().out.splitlines())
    assert ids == ["d001", "d003", "d005"]

    assert run(url, "dump", "data", monkeypatch=monkeypatch) == 0
    dumped = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["_id"] for d in dumped] == [f"d{n:03d}" for n in range(120)]

    # Loading the same ids again (without _rev) conflicts: exit 5, each failure named.
    assert run(url, "load", "data", str(source), monkeypatch=monkeypatch) == 5
    err = capsys.readouterr().err
    assert "d000: conflict" in err and "loaded 0 documents into data, 120 failed" in err


def test_changes_lines(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(url, "create-db", "feed", monkeypatch=monkeypatch) == 0
    for n in range(3):
        assert run(url, "put", "feed", f"c{n}", stdin="{}", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    assert run(url, "changes", "feed", monkeypatch=monkeypatch) == 0
    changes = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(c["id"] for c in changes) == ["c0", "c1", "c2"]


def test_exit_codes(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(url, "get", "nope", "x", monkeypatch=monkeypatch) == 4
    assert "not found" in capsys.readouterr().err
    assert run(url, "create-db", "Bad Name", monkeypatch=monkeypatch) == 2
    assert "database name" in capsys.readouterr().err.lower()
    assert run(url, "create-db", "ok", monkeypatch=monkeypatch) == 0
    assert run(url, "put", "ok", "x", stdin="{not json", monkeypatch=monkeypatch) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert run(url, "create-db", "ok", monkeypatch=monkeypatch) == 1
    assert cli.main([]) == 2


def test_info_names_the_parser(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(url, "info", monkeypatch=monkeypatch) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backend"] == "sqlite"
    assert info["ijson_backend"] in {"yajl2_c", "yajl2_cffi", "yajl2", "python"}


def test_demo_on_the_embedded_backend(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(url, "demo", "--docs", "300", monkeypatch=monkeypatch) == 0
    out = capsys.readouterr().out
    assert "bulk-loaded 300 generated products" in out
    assert "raises Conflict" in out
    assert "saw 10 of 10 live writes" in out
    assert "deleted database" in out


def test_demo_on_pouchdb_server(pouchdb_server, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    code = cli.main(
        [
            "--url",
            pouchdb_server.url,
            "--user",
            pouchdb_server.user,
            "--password",
            pouchdb_server.password,
            "-q",
            "demo",
            "--docs",
            "300",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "saw 10 of 10 live writes" in out
    assert pouchdb_server.password not in out


def test_python_dash_m(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "settee", "--url", f"sqlite:///{tmp_path / 'm.db'}", "dbs"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
