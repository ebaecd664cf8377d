"""Progress on stderr and batching, shared by the commands and the demo."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["CountBar", "chunked", "progress"]

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


class CountBar:
    """A progress bar on stderr moved by counts rather than by iterating (what
    :func:`progress` draws for an iterable): tqdm when installed, else a plain
    counter; drawn only when stderr is a terminal and not ``quiet``.

    ``show(done, total, note)`` after each step (``total`` may grow, or be None);
    ``close()`` at the end (``with CountBar(...) as bar:`` does).
    """

    def __init__(self, *, desc: str, unit: str, quiet: bool) -> None:
        self.desc, self.unit = desc, unit
        self.drawn = not quiet and _is_terminal(sys.stderr)
        self._bar: Any = None
        self._shown = 0.0
        self._last = ""
        if self.drawn:
            try:
                from tqdm import tqdm  # the optional `cli` extra
            except ImportError:
                return
            self._bar = tqdm(total=None, desc=desc, unit=unit, file=sys.stderr, leave=False)

    def show(self, done: int, total: int | None, note: str = "") -> None:
        """Draw ``done`` of ``total`` (None: unknown) with ``note`` after it."""
        if not self.drawn:
            return
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.set_postfix_str(note, refresh=False)
            self._bar.refresh()
            return
        of = f"/{total}" if total is not None else ""
        self._last = f"\r{self.desc}: {done}{of} {self.unit}s{', ' + note if note else ''}"
        now = time.monotonic()
        if now - self._shown > 0.5:
            print(self._last, end="", file=sys.stderr, flush=True)
            self._shown = now

    def close(self) -> None:
        """Take the bar off the terminal (tqdm) or end the counter's line."""
        if self._bar is not None:
            self._bar.close()
        elif self._shown:
            print(self._last, file=sys.stderr)  # the final count, then a new line

    def __enter__(self) -> CountBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
