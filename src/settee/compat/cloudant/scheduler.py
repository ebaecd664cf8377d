"""python-cloudant's ``cloudant.scheduler``: :class:`Scheduler`, the server's
``_scheduler`` endpoints (CouchDB 2+)."""

from __future__ import annotations

from typing import Any

from settee.client import Client

__all__ = ["Scheduler"]


class Scheduler:
    """``Scheduler(client)``: replication documents and jobs as the scheduler sees them."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._transport = client.server_session.transport("Scheduler")

    def _get(self, *segments: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = self._transport.json(
            "GET", ("_scheduler", *segments), params=params
        )
        return answer

    def list_docs(self, limit: int | None = None, skip: int | None = None) -> dict[str, Any]:
        """``GET /_scheduler/docs``: the replication documents' states."""
        return self._get("docs", params={"limit": limit, "skip": skip})

    def get_doc(self, doc_id: str) -> dict[str, Any]:
        """``GET /_scheduler/docs/_replicator/{doc_id}``: one replication's state."""
        return self._get("docs", "_replicator", doc_id)

    def list_jobs(self, limit: int | None = None, skip: int | None = None) -> dict[str, Any]:
        """``GET /_scheduler/jobs``: the running replication jobs."""
        return self._get("jobs", params={"limit": limit, "skip": skip})
