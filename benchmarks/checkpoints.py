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
"""

from __future__ import annotations

import argparse
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--every-row-changes", type=int, default=1_000)
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


if __name__ == "__main__":
    main()
