"""Progress on stderr and batching, shared by the commands and the demo."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["chunked", "progress"]

T = TypeVar("T")


def progress(items: Iterable[T], *, total: int | None, desc: str, quiet: bool) -> Iterator[T]:
    """Iterate with a progress bar on stderr (tqdm when installed, else a plain counter).

    Drawn only when stderr is a terminal: redirected to a file or a pipe it
    would fill it with ``\r`` frames.
    """
    if quiet or not _is_terminal(sys.stderr):
        yield from items
        return
    try:
        from tqdm import tqdm  # the optional `cli` extra
    except ImportError:
        tqdm = None
    if tqdm is not None:
        yield from tqdm(items, total=total, desc=desc, unit="doc", file=sys.stderr, leave=False)
        return
    count, shown = 0, 0.0
    for item in items:
        count += 1
        now = time.monotonic()
        if now - shown > 0.5:
            of = f"/{total}" if total else ""
            print(f"\r{desc}: {count}{of}", end="", file=sys.stderr, flush=True)
            shown = now
        yield item
    if shown:
        print(f"\r{desc}: {count} done", file=sys.stderr)


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` consecutive items (the last one shorter)."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
