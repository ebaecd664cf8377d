"""python-cloudant's ``cloudant.scheduler``: :class:`Scheduler`, the server's
``_scheduler`` endpoints (CouchDB 2+), over :class:`~settee.replication.server.ServerReplicator`."""

from __future__ import annotations

from typing import Any

from settee.client import Client
from settee.replication.server import ServerReplicator

__all__ = ["Scheduler"]


class Scheduler:
    """``Scheduler(client)``: replication documents and jobs as the scheduler sees them.

    HTTP errors as the client raises them; ``NotSupported`` where the server has
    no replicator (capability ``server_replicator``)."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._replicator = ServerReplicator(client)

    def list_docs(self, limit: int | None = None, skip: int | None = None) -> dict[str, Any]:
        """``GET /_scheduler/docs``: the replication documents' states."""
        return self._replicator.scheduler_docs(limit=limit, skip=skip)

    def get_doc(self, doc_id: str) -> dict[str, Any]:
        """``GET /_scheduler/docs/_replicator/{doc_id}``: one replication's state."""
        return self._replicator.scheduler_doc(doc_id)

    def list_jobs(self, limit: int | None = None, skip: int | None = None) -> dict[str, Any]:
        """``GET /_scheduler/jobs``: the running replication jobs."""
        return self._replicator.scheduler_jobs(limit=limit, skip=skip)
