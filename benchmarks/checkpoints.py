"""Changes/s of a checkpointed consumer: no checkpoint vs default batching vs every row.

Run by hand (not in CI)::

    .venv/bin/python benchmarks/checkpoints.py            # 20,000 changes, memory: and sqlite:
    .venv/bin/python benchmarks/checkpoints.py --changes 50000

An :class:`~settee.InfiniteFeed` follows a database of ``--changes`` documents
from ``since=0`` and is stopped after the last row. Variants: no checkpoint
(the baseline), ``FileCheckpoint(path)`` and ``LocalDocumentCheckpoint(db)``
with their default batching (1000 rows / 1 s), and ``FileCheckpoint(path,
every=1)`` (an fsync per row; run over ``--every-row-changes`` rows, default
1,000, as it is slow). Prints changes/s and the ratio to the baseline of the
same backend in the same run.

``--kill`` (on by default; ``--no-kill`` skips it) replays the issue's kill
test with the default batching: a writer adds ``--rate`` documents/s to a
SQLite file while a consumer process follows it with a ``FileCheckpoint``;
after ``--seconds`` the consumer is SIGKILLed. Printed: how far behind the
writer the consumer was when killed, and how many rows a restarted consumer
handles again (the at-least-once window: at most 1000 rows or 1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import settee
from settee.feeds import FileCheckpoint, LocalDocumentCheckpoint


def consume(db: settee.Database, count: int, checkpoint: Any) -> float:
    feed = db.infinite_changes(since=0, checkpoint=checkpoint, heartbeat=1000)
    started = time.perf_counter()
    for seen, _ in enumerate(feed, 1):
        if seen == count:
            feed.stop()
    elapsed = time.perf_counter() - started
    return count / elapsed


def run(url: str, label: str, changes: int, every_row_changes: int, workdir: Path) -> None:
    client = settee.connect(url)
    db = client.create_database("bench-checkpoints")
    for start in range(0, changes, 1000):
        db.bulk_docs(
            [{"_id": f"d{i:07d}", "n": i} for i in range(start, min(changes, start + 1000))]
        )
    base = consume(db, changes, None)
    rows = [
        ("no checkpoint", base, changes),
        (
            "FileCheckpoint (default batching)",
            consume(db, changes, FileCheckpoint(workdir / f"{label}-a.json")),
            changes,
        ),
        (
            "LocalDocumentCheckpoint (default batching)",
            consume(db, changes, LocalDocumentCheckpoint(db, "_local/bench")),
            changes,
        ),
        (
            "FileCheckpoint(every=1)",
            consume(db, every_row_changes, FileCheckpoint(workdir / f"{label}-b.json", every=1)),
            every_row_changes,
        ),
    ]
    for name, rate, count in rows:
        print(
            f"{label:7} {name:44} {rate:>10,.0f} changes/s  {rate / base:6.3f}x  ({count:,} rows)"
        )
    client.delete_database("bench-checkpoints")
    client.disconnect()


CONSUMER = """
import sys
import settee
from settee.feeds import FileCheckpoint
db = settee.connect(sys.argv[1])["kill"]
feed = db.infinite_changes(checkpoint=FileCheckpoint(sys.argv[2]), since=0, heartbeat=1000)
for row in feed:
    print(row["id"], row["seq"], flush=True)
"""


def kill_test(workdir: Path, rate: int, seconds: float) -> None:
    url = f"sqlite:///{workdir / 'kill.db'}"
    client = settee.connect(url)
    db = client.create_database("kill")
    cp = workdir / "kill.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    consumer = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, url, str(cp)], stdout=subprocess.PIPE, env=env, text=True
    )
    stdout = consumer.stdout
    assert stdout is not None
    handled: list[tuple[str, int]] = []  # (id, seq) as the consumer printed them

    def read() -> None:
        for line in stdout:
            doc_id, seq = line.split()
            handled.append((doc_id, int(seq)))

    reader = threading.Thread(target=read)
    reader.start()
    written = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed * rate)
        if due > written:
            db.bulk_docs([{"_id": f"k{n:07d}"} for n in range(written, due)])
            written = due
        time.sleep(0.005)
    behind = written - len(handled)
    consumer.send_signal(signal.SIGKILL)
    consumer.wait()
    reader.join()
    stdout.close()
    saved = json.loads(cp.read_text())["seq"] if cp.exists() else None
    replayed = sum(1 for _, seq in handled if saved is None or seq > saved)
    print(
        f"kill    writer {written / seconds:,.0f} docs/s for {seconds:.0f} s: the consumer had "
        f"handled {len(handled):,} of {written:,} ({behind:,} behind) when SIGKILLed; "
        f"a restart handles {replayed:,} again (checkpoint at seq {saved})"
    )
    client.delete_database("kill")
    client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--every-row-changes", type=int, default=1_000)
    parser.add_argument("--kill", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--rate", type=int, default=400, help="writer docs/s (--kill)")
    parser.add_argument("--seconds", type=float, default=5.0, help="writer run time (--kill)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        run("memory:", "memory", args.changes, args.every_row_changes, workdir)
        run(
            f"sqlite:///{workdir / 'bench.db'}",
            "sqlite",
            args.changes,
            args.every_row_changes,
            workdir,
        )
        if args.kill:
            kill_test(workdir, args.rate, args.seconds)


if __name__ == "__main__":
    main()
