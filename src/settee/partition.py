"""Partitions of a partitioned database: ``db.partition("sensor-1")``.

A :class:`Partition` runs a database's ``_all_docs``, view and Mango queries
scoped to one partition key (CouchDB 3 / Cloudant ``/db/_partition/{key}``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from settee._validate import validate_partition_key

if TYPE_CHECKING:
    from settee.backends.base import MapFunction, ReduceSpec
    from settee.database import Database
    from settee.document import Document
    from settee.pages.keys import Result

__all__ = ["Partition"]


class Partition:
    """One partition of a partitioned database: ``db.partition("sensor-1")``.

    Offers ``all_docs``, ``get_view_result``, ``view``, ``get_query_result``,
    ``metadata`` and iteration, each scoped to ``partition_key``.
    """

    def __init__(self, database: Database, partition_key: str) -> None:
        self.database = database
        self.partition_key = validate_partition_key(partition_key)

    def __repr__(self) -> str:
        return f"Partition({self.database.database_name!r}, {self.partition_key!r})"

    def metadata(self) -> dict[str, Any]:
        """The partition's information (doc counts, sizes)."""
        return self.database.partition_metadata(self.partition_key)

    def all_docs(self, raw_result: bool = False, **params: Any) -> Any:
        """The partition's ``_all_docs`` rows (a :class:`Result`)."""
        return self.database._all_docs(self.partition_key, raw_result, params)

    def get_view_result(
        self, ddoc_id: str, view_name: str, raw_result: bool = False, **params: Any
    ) -> Any:
        """The partition's rows of a design-document view."""
        return self.database._view_result(
            self.partition_key, ddoc_id, view_name, raw_result, params
        )

    def view(self, map_fn: MapFunction, reduce: ReduceSpec = None, **params: Any) -> Result:
        """The partition's rows of a Python view (local backends)."""
        return self.database._python_view(self.partition_key, map_fn, reduce, params)

    def get_query_result(
        self,
        selector: Mapping[str, Any],
        fields: list[str] | None = None,
        sort: list[Any] | None = None,
        raw_result: bool = False,
        **kwargs: Any,
    ) -> Any:
        """The partition's documents matching a Mango selector."""
        return self.database._query_result(
            self.partition_key, selector, fields, sort, raw_result, kwargs
        )

    def __iter__(self) -> Iterator[Document]:
        """Every document of the partition, a page at a time."""
        for row in self.all_docs(include_docs=True, page_size=self.database.fetch_limit):
            body = row.get("doc")
            if body is not None:
                yield self.database._wrap(body)
