"""python-cloudant's ``cloudant.query``: :class:`Query`, a Mango query as a ``dict``.

``Query(db, selector=..., fields=..., sort=..., ...)``; ``query(**overrides)``
answers ``_find``'s JSON; ``query.result`` is a
:class:`~settee.compat.cloudant.result.QueryResult`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from settee.compat.cloudant.error import CloudantArgumentError
from settee.compat.cloudant.result import QueryResult

if TYPE_CHECKING:
    from settee.compat.cloudant.database import CouchDatabase

__all__ = ["Query"]

_OPTIONS = {
    "bookmark": str,
    "fields": list,
    "limit": int,
    "r": int,
    "selector": dict,
    "skip": int,
    "sort": list,
    "use_index": (str, list),
    "partition_key": str,
    "execution_stats": bool,
    "conflicts": bool,
    "stable": bool,
    "update": bool,
    "stale": str,
}


def _check(options: dict[str, Any]) -> dict[str, Any]:
    for key, value in options.items():
        if key not in _OPTIONS:
            raise CloudantArgumentError(129, key)
        if value is not None and not isinstance(value, _OPTIONS[key]):  # type: ignore[arg-type]
            raise CloudantArgumentError(130, key, _OPTIONS[key])
    return options


class Query(dict[str, Any]):
    """``Query(database, **kwargs)``: ``selector``, ``fields``, ``sort``, ``limit``,
    ``skip``, ``bookmark``, ``use_index``, ``r``, ``partition_key``."""

    def __init__(self, database: CouchDatabase, **kwargs: Any) -> None:
        super().__init__()
        self._database = database
        self._partition_key: str | None = kwargs.pop("partition_key", None)
        self.update(kwargs)  # checked when the query runs, as python-cloudant does
        self.result = QueryResult(self)

    @property
    def url(self) -> str:
        """The ``_find`` URL of the database (or of its partition)."""
        base = self._database.database_url
        if self._partition_key is not None:
            return f"{base}/_partition/{self._partition_key}/_find"
        return f"{base}/_find"

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        """Run the query once (``kwargs`` override its fields); return ``_find``'s JSON.
        ``CloudantArgumentError(131)`` without a selector."""
        body = _check({**self, **kwargs})
        partition = body.pop("partition_key", self._partition_key)
        body = {k: v for k, v in body.items() if v is not None}
        if not body.get("selector"):
            raise CloudantArgumentError(131)
        backend = self._database.backend
        answer: dict[str, Any] = backend.find(
            self._database.database_name, body, partition=partition
        )
        return answer

    @contextlib.contextmanager
    def custom_result(self, **options: Any) -> Iterator[QueryResult]:
        """``with query.custom_result(sort=[...]) as docs:`` a
        :class:`~settee.compat.cloudant.result.QueryResult` with ``options``."""
        yield QueryResult(self, **options)
