"""Partitions of a partitioned database: ``db.partition("sensor-1")``.

A :class:`Partition` is a :class:`~settee.queries.QueryScope` whose queries
(``_all_docs``, views, Mango) are scoped to one partition key (CouchDB 3 /
Cloudant ``/db/_partition/{key}``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from settee._validate import validate_partition_key
from settee.queries import QueryScope

if TYPE_CHECKING:
    from settee.database import Database
    from settee.document import Document

__all__ = ["Partition"]


class Partition(QueryScope):
    """One partition of a partitioned database: ``db.partition("sensor-1")``.

    Offers ``all_docs``, ``get_view_result``, ``view``, ``get_query_result``
    (those of :class:`~settee.queries.QueryScope`), ``metadata`` and
    iteration, each scoped to ``partition_key``. ``ValueError`` for an
    invalid key.
    """

    partition_key: str

    def __init__(self, database: Database, partition_key: str) -> None:
        super().__init__(
            database.client, database.database_name, validate_partition_key(partition_key)
        )
        self.database = database

    def __repr__(self) -> str:
        return f"Partition({self.database_name!r}, {self.partition_key!r})"

    def metadata(self) -> dict[str, Any]:
        """The partition's information (doc counts, sizes)."""
        return self.database.partition_metadata(self.partition_key)

    def __iter__(self) -> Iterator[Document]:
        """Every document of the partition, a page at a time (not cached)."""
        for row in self.all_docs(include_docs=True, page_size=self.database.fetch_limit):
            body = row.get("doc")
            if body is not None:
                yield self.database.make_document(body)
