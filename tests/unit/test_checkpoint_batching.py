"""Checkpoints that keep up (issue 15 item 3): batched durable writes, flushed on stop.

The file and ``_local`` stores write once ``every`` saves came in or
``seconds`` passed; a feed flushes on ``stop()``, at its end and on an error;
interpreter exit flushes what is held back. After a SIGKILL a restarted
consumer replays fewer than ``every`` + 1 rows and loses none (a real
consumer subprocess, killed while it follows a sqlite database).
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import settee
from settee.feeds import FileCheckpoint, LocalDocumentCheckpoint

ROOT = Path(__file__).resolve().parents[2]


def test_file_checkpoint_writes_once_per_batch(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    store = FileCheckpoint(path, every=3, seconds=None)
    store.save("1-a")
    store.save("2-b")
    assert not path.exists() and store.writes == 0
    assert store.load() == "2-b"  # the same object sees what it holds back
    assert FileCheckpoint(path).load() is None  # another process would not
    store.save("3-c")
    assert store.writes == 1 and FileCheckpoint(path).load() == "3-c"
    store.save("4-d")
    store.flush()
    store.flush()  # nothing held back: no second write
    assert store.writes == 2 and FileCheckpoint(path).load() == "4-d"


def test_seconds_zero_and_every_one_write_each_seq(tmp_path: Path) -> None:
    for store in (
        FileCheckpoint(tmp_path / "a.json", every=1),
        FileCheckpoint(tmp_path / "b.json", every=1000, seconds=0),
    ):
        for seq in range(5):
            store.save(seq)
        assert store.writes == 5


def test_batching_options_are_checked(tmp_path: Path) -> None:
    # the one int/number rule (settee._validate): TypeError for the type, ValueError for the range
    for bad, error in ((0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="every must be an int >= 1"):
            FileCheckpoint(tmp_path / "x", every=bad)
    for bad_seconds, error in ((-1, ValueError), (math.inf, ValueError), ("1", TypeError)):
        with pytest.raises(error, match="seconds must be a"):
            FileCheckpoint(tmp_path / "x", seconds=bad_seconds)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seconds must be a number"):
        FileCheckpoint(tmp_path / "x", seconds=True)


@pytest.mark.parametrize("url", ["memory:", "sqlite"])
def test_feed_stop_flushes_the_store(url: str, tmp_path: Path) -> None:
    client = settee.connect(f"sqlite:///{tmp_path / 'f.db'}" if url == "sqlite" else url)
    try:
        db = client.create_database("cpflush")
        db.bulk_docs([{"_id": f"d{i:03d}"} for i in range(20)])
        file_store = FileCheckpoint(tmp_path / "cp.json")
        local_store = LocalDocumentCheckpoint(db, "_local/cp-flush")
        for store in (file_store, local_store):
            feed = db.infinite_changes(since=0, checkpoint=store, heartbeat=1000)
            rows = []
            for row in feed:
                rows.append(row)
                if len(rows) == 7:
                    feed.stop()
            assert len(rows) == 7
            # stop() wrote the 6th row's seq, the loop's return wrote the 7th:
            # two writes for seven rows, none held back
            assert store.writes == 2
        assert FileCheckpoint(tmp_path / "cp.json").load() == rows[-1]["seq"]
        assert LocalDocumentCheckpoint(db, "_local/cp-flush").load() == rows[-1]["seq"]
    finally:
        client.disconnect()


def test_feed_error_flushes_the_store(tmp_path: Path) -> None:
    client = settee.connect("memory:")
    try:
        db = client.create_database("cperr")
        db.bulk_docs([{"_id": f"d{i}"} for i in range(5)])
        store = FileCheckpoint(tmp_path / "cp.json")
        feed = db.infinite_changes(since=0, checkpoint=store, heartbeat=1000)
        rows = [next(feed), next(feed)]
        client.delete_database("cperr")
        with pytest.raises(settee.errors.NotFound):
            for _ in range(100):
                rows.append(next(feed))
        # the next() that raised had first saved the row before it (it was handled)
        assert store.writes == 1
        assert FileCheckpoint(tmp_path / "cp.json").load() == rows[-1]["seq"]
    finally:
        client.disconnect()


CONSUMER = textwrap.dedent(
    """
    import json, sys
    import settee
    from settee.feeds import FileCheckpoint
    client = settee.connect(sys.argv[1])
    db = client[sys.argv[2]]
    store = FileCheckpoint(sys.argv[3], every=int(sys.argv[4]), seconds=None)
    feed = db.infinite_changes(checkpoint=store, since=0, heartbeat=1000)
    for row in feed:
        print(json.dumps({"id": row["id"], "seq": row["seq"]}), flush=True)
    """
)


def test_sigkill_replays_at_most_every_rows_and_loses_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    every, total = 50, 600
    client = settee.connect(url)
    db = client.create_database("kill")
    db.bulk_docs([{"_id": f"d{i:04d}"} for i in range(total)])
    cp = tmp_path / "cp.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, url, "kill", str(cp), str(every)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert process.stdout is not None
    handled: list[dict[str, Any]] = []
    for line in process.stdout:
        handled.append(json.loads(line))
        if len(handled) == 230:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    handled.extend(json.loads(line) for line in process.stdout.read().splitlines())
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert len(handled) < total, "the consumer finished before the kill: nothing was tested"

    saved = FileCheckpoint(cp).load()
    seqs = [row["seq"] for row in handled]
    assert saved in seqs
    replayed_from = seqs.index(saved) + 1
    assert len(handled) - replayed_from <= every  # the stated window
    again = db.infinite_changes(since=0, checkpoint=FileCheckpoint(cp), heartbeat=1000)
    after: list[str] = []
    for row in again:
        after.append(row["id"])
        if len(after) == total - replayed_from:
            again.stop()
    assert after[: len(handled) - replayed_from] == [r["id"] for r in handled[replayed_from:]]
    assert {r["id"] for r in handled} | set(after) == {f"d{i:04d}" for i in range(total)}
    client.disconnect()


def test_clean_exit_writes_what_was_held_back(tmp_path: Path) -> None:
    cp = tmp_path / "cp.json"
    script = (
        "import sys\nfrom settee.feeds import FileCheckpoint\n"
        "store = FileCheckpoint(sys.argv[1])\nfor s in range(7): store.save(s)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", script, str(cp)], env=env, check=True, timeout=60)
    assert FileCheckpoint(cp).load() == 6


def test_checkpoint_logs_name_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, pouchdb_server: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="settee")
    caplog.set_level(logging.DEBUG, logger="urllib3")
    server = pouchdb_server
    url = server.url.replace("://", f"://{server.user}:{server.password}@")
    client = settee.connect(url)
    try:
        db = client.create_database("cp-secret-log")
        db.bulk_docs([{"_id": f"d{i}"} for i in range(3)])
        store = LocalDocumentCheckpoint(db, "_local/cp", every=2)
        feed = db.infinite_changes(since=0, checkpoint=store, heartbeat=1000)
        for count, _ in enumerate(feed, 1):
            if count == 3:
                feed.stop()
        assert store.writes == 2
        assert any("checkpoint saved" in r.getMessage() for r in caplog.records)
        for record in caplog.records:
            assert server.password not in record.getMessage()
    finally:
        client.delete_database("cp-secret-log")
        client.disconnect()
