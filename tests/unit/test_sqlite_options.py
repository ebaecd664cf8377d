"""SQLite backend options: bad values refused up front, read-only files opened for reading."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import settee
from settee.backends.sqlite import SQLiteBackend


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"busy_timeout": -1}, ValueError, "busy_timeout must be a finite number >= 0"),
        ({"busy_timeout": math.inf}, ValueError, "busy_timeout must be a finite number"),
        ({"busy_timeout": "30"}, TypeError, "busy_timeout must be a number"),
        ({"poll_interval": 0}, ValueError, "poll_interval must be a finite number > 0"),
        ({"poll_interval": -0.5}, ValueError, "poll_interval must be a finite number > 0"),
        ({"poll_interval": math.nan}, ValueError, "poll_interval must be a finite number"),
        ({"poll_interval": True}, TypeError, "poll_interval must be a number"),
        ({"synchronous": 5}, TypeError, "synchronous must be 'NORMAL' or 'FULL'"),
        ({"read_only": "yes"}, TypeError, "read_only must be a bool"),
        ({"max_retries": "3"}, TypeError, "max_retries must be an int >= 0"),
    ],
)
def test_bad_options_are_refused_and_create_no_file(
    tmp_path: Path, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """busy_timeout=-1 and poll_interval=0 (a feed's busy loop) were accepted."""
    path = tmp_path / "bad.db"
    with pytest.raises(error, match=message):
        SQLiteBackend(f"sqlite:///{path}", **options)
    assert not path.exists()


def test_busy_timeout_zero_is_allowed(tmp_path: Path) -> None:
    backend = SQLiteBackend(f"sqlite:///{tmp_path / 'z.db'}", busy_timeout=0)
    backend.close()


def _store(path: Path) -> None:
    client = settee.connect(f"sqlite:///{path}")
    client.create_database("db").create_document({"_id": "a", "v": 1})
    client.disconnect()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_reads_and_refuses_writes(client: settee.Client, path: Path) -> None:
    before = _digest(path)
    db = client["db"]
    assert db["a"]["v"] == 1
    assert [row["id"] for row in db.all_docs()] == ["a"]
    assert client.all_dbs() == ["db"]
    with pytest.raises(settee.Forbidden, match="open read-only"):
        db.create_document({"_id": "b"})
    with pytest.raises(settee.Forbidden, match="open read-only"):
        client.create_database("other")
    doc = db["a"]
    doc["v"] = 2
    with pytest.raises(settee.Forbidden, match="open read-only"):
        doc.save()
    assert _digest(path) == before


@pytest.mark.parametrize("how", ["url", "option"])
def test_read_only_mode_reads_and_refuses_writes(tmp_path: Path, how: str) -> None:
    """``?mode=ro`` was a ValueError (a sqlite URL took nothing after the path)."""
    path = tmp_path / "ro.db"
    _store(path)
    if how == "url":
        client = settee.connect(f"sqlite:///{path}?mode=ro")
    else:
        client = settee.connect(f"sqlite:///{path}", read_only=True)
    try:
        assert client.backend.read_only
        assert client.backend.url.endswith("?mode=ro")
        _check_reads_and_refuses_writes(client, path)
    finally:
        client.disconnect()


def test_read_only_mode_needs_an_existing_settee_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="to open read-only"):
        settee.connect(f"sqlite:///{tmp_path / 'missing.db'}?mode=ro")
    assert not (tmp_path / "missing.db").exists()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not a settee store"):
        settee.connect(f"sqlite:///{empty}", read_only=True)


@contextlib.contextmanager
def _unwritable(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable for this process: chmod, or chattr +i for root."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root (file modes do not bind root) and chattr is missing")
    made = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"running as root and chattr +i failed: {made.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_an_unwritable_file_opens_for_reading(tmp_path: Path) -> None:
    """connect() wrote the schema first: 'attempt to write a readonly database' (ServerError)."""
    path = tmp_path / "locked.db"
    _store(path)
    with _unwritable(path):
        assert not os.access(path, os.W_OK)
        client = settee.connect(f"sqlite:///{path}")
        try:
            assert client.backend.read_only
            _check_reads_and_refuses_writes(client, path)
        finally:
            client.disconnect()
