"""The local change feed: a :class:`~settee.backends.base.ChangesStream` with blocking waits."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["LocalChangesStream"]


class LocalChangesStream:
    """One open changes feed over a local store.

    Iterating runs ``source(self)``, which yields row dicts and sets
    ``last_seq``/``pending`` when it ends. Longpoll and continuous feeds block
    inside the iteration until a change, the ``timeout`` (seconds; ``None``
    waits forever) or :meth:`close`, which any thread may call at any time.
    """

    def __init__(
        self,
        source: Callable[[LocalChangesStream], Iterator[dict[str, Any]]],
        *,
        db: str,
        since: int,
        feed: str,
        limit: int | None,
        timeout: float | None,
        descending: bool,
        include_docs: bool,
        all_leaves: bool,
        opts: Mapping[str, bool],
        accept: Callable[[Any, Any], bool] | None,
        raw: bool,
        wake: Callable[[], None],
    ) -> None:
        self.db = db
        self.since = since
        self.feed = feed
        self.limit = limit
        self.timeout = timeout
        self.descending = descending
        self.include_docs = include_docs
        self.all_leaves = all_leaves
        self.opts = opts
        self.accept = accept
        self.raw = raw
        self.last_seq: Any = None
        self.pending: int | None = None
        self.closed_event = threading.Event()
        self._wake = wake
        self._source = source
        self._rows: Iterator[Any] | None = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self.closed_event.is_set()

    def __iter__(self) -> Iterator[Any]:
        if self._rows is None:
            self._rows = self._generate()
        return self._rows

    def _generate(self) -> Iterator[Any]:
        for row in self._source(self):
            if self.closed:
                return
            yield json.dumps(row, separators=(",", ":"), ensure_ascii=False) if self.raw else row

    def close(self) -> None:
        """Stop the feed; a blocked iteration returns promptly. Idempotent, any thread."""
        self.closed_event.set()
        self._wake()

    def __enter__(self) -> LocalChangesStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
