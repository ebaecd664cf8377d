"""python-cloudant's ``cloudant.scheduler``: :class:`Scheduler`, the server's
``_scheduler`` endpoints (CouchDB 2+).

Each call is python-cloudant's ``r_session.get`` (code patching the client's
``r_session`` sees it), over :class:`~settee.replication.server.ServerReplicator`
while the client is not connected."""

from __future__ import annotations

from typing import Any

from settee.backends.base import require
from settee.client import Client
from settee.compat.cloudant import _raw
from settee.replication.server import REPLICATOR_DB, ServerReplicator
from settee.urls import quote_segment

__all__ = ["Scheduler"]


class Scheduler:
    """``Scheduler(client)``: replication documents and jobs as the scheduler sees them.

    HTTP errors as the client raises them; ``NotSupported`` (before any request)
    where the server has no replicator (capability ``server_replicator``)."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._replicator = ServerReplicator(client)

    def _get(self, what: str, segments: tuple[str, ...], params: dict[str, Any] | None) -> Any:
        require(self._client.backend, "server_replicator", what)
        session = _raw.session(self._client, *segments)
        if session is None:
            return None
        url = "/".join([self._client.url, "_scheduler", *map(quote_segment, segments)])
        response = session.get(url) if params is None else session.get(url, params=params)
        return _raw.json_of(self._client, response)

    def list_docs(self, limit: int | None = None, skip: int | None = None) -> dict[str, Any]:
        """``GET /_scheduler/docs``: the replication documents' states."""
        answer = self._get("scheduler list_docs()", ("docs",), _paging(limit, skip))
        if answer is None:
            return self._replicator.scheduler_docs(limit=limit, skip=skip)
        docs: dict[str, Any] = answer
        return docs

    def get_doc(self, doc_id: str) -> dict[str, Any]:
        """``GET /_scheduler/docs/_replicator/{doc_id}``: one replication's state."""
        answer = self._get("scheduler get_doc()", ("docs", REPLICATOR_DB, doc_id), None)
        if answer is None:
            return self._replicator.scheduler_doc(doc_id)
        doc: dict[str, Any] = answer
        return doc

    def list_jobs(self, limit: int | None = None, skip: int | None = None) -> dict[str, Any]:
        """``GET /_scheduler/jobs``: the running replication jobs."""
        answer = self._get("scheduler list_jobs()", ("jobs",), _paging(limit, skip))
        if answer is None:
            return self._replicator.scheduler_jobs(limit=limit, skip=skip)
        jobs: dict[str, Any] = answer
        return jobs


def _paging(limit: int | None, skip: int | None) -> dict[str, Any]:
    """python-cloudant's params: only the options given."""
    params: dict[str, Any] = {}
    if limit is not None:
        params["limit"] = limit
    if skip is not None:
        params["skip"] = skip
    return params
