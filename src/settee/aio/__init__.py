"""settee.aio: the async API - the same objects and names as the sync one, awaited.

::

    import settee.aio

    async with settee.aio.connect("http://127.0.0.1:5984", auth=("admin", "pw")) as client:
        db = await client.create_database("orders")
        doc = await db.create_document({"_id": "o1", "total": 12})
        async for row in db.all_docs(include_docs=True):
            ...
        async for change in db.changes(feed="continuous", since="0", limit=1):
            ...

HTTP servers are reached with aiohttp (``pip install settee[async]``);
``memory:`` and ``sqlite:`` stores run in worker threads. The request
building, paging, retry rules, auth flows and feed parsing are the sync
side's own, sans-I/O code (see docs/aio.md).
"""

from __future__ import annotations

from settee.aio.backends import AsyncHTTPBackend, ThreadedBackend
from settee.aio.client import AsyncClient, connect
from settee.aio.database import AsyncDatabase, AsyncPartition
from settee.aio.document import AsyncDocument
from settee.aio.feeds import AsyncFeed, AsyncInfiniteFeed
from settee.aio.pages import AsyncQueryResult, AsyncQuerySet, AsyncResult

__all__ = [
    "AsyncClient",
    "AsyncDatabase",
    "AsyncDocument",
    "AsyncFeed",
    "AsyncHTTPBackend",
    "AsyncInfiniteFeed",
    "AsyncPartition",
    "AsyncQueryResult",
    "AsyncQuerySet",
    "AsyncResult",
    "ThreadedBackend",
    "connect",
]
