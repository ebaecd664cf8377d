"""python-cloudant's ``cloudant.replicator``: :class:`Replicator`, replications as
documents in the server's ``_replicator`` database.

Written over the client's own database handles and HTTP transport; the
settee-native server-replicator API (``settee.replication.server``) is
built separately, and this class is meant to fold onto it once it lands.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from settee import errors
from settee.compat.cloudant.document import Document
from settee.compat.cloudant.error import CloudantClientException, CloudantReplicatorException
from settee.compat.cloudant.scheduler import Scheduler

if TYPE_CHECKING:
    from settee.compat.cloudant.client import CouchDB
    from settee.compat.cloudant.database import CouchDatabase

__all__ = ["Replicator"]

_TERMINAL = ("error", "failed", "completed")


def _endpoint(db: CouchDatabase) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"url": db.database_url}
    client = db.client
    if client.admin_party:
        return endpoint
    if client.is_iam_authenticated:
        auth = client.auth
        endpoint["auth"] = {"iam": {"api_key": getattr(auth, "api_key", None)}}
        return endpoint
    basic = client.basic_auth_str()
    if basic is not None:
        endpoint["headers"] = {"Authorization": basic}
    return endpoint


class Replicator:
    """``Replicator(client)``; ``CloudantClientException(404)`` when the server has no
    ``_replicator`` database."""

    def __init__(self, client: CouchDB) -> None:
        self.client = client
        try:
            self.database: CouchDatabase = client["_replicator"]
        except KeyError as exc:
            raise CloudantClientException(404, "_replicator") from exc

    def create_replication(
        self,
        source_db: CouchDatabase | None = None,
        target_db: CouchDatabase | None = None,
        repl_id: str | None = None,
        **kwargs: Any,
    ) -> Document:
        """Write a replication document (``kwargs``: ``continuous``, ``create_target``,
        ``user_ctx``, ``filter``...) and return it. ``CloudantReplicatorException``
        101/102 without a source/target; 409 ``CloudantDatabaseException`` for a
        ``repl_id`` in use."""
        if source_db is None:
            raise CloudantReplicatorException(101)
        if target_db is None:
            raise CloudantReplicatorException(102)
        data: dict[str, Any] = {"_id": repl_id or str(uuid.uuid4()), **kwargs}
        data["source"] = _endpoint(source_db)
        data["target"] = _endpoint(target_db)
        if not data.get("user_ctx") and not self.database.admin_party:
            user_ctx = self.client.session().get("userCtx")
            if user_ctx:
                data["user_ctx"] = user_ctx
        return self.database.create_document(data, throw_on_exists=True)

    def list_replications(self) -> list[Document]:
        """Every replication document (design documents left out)."""
        rows = self.database.all_docs(include_docs=True)["rows"]
        documents: list[Document] = []
        for row in rows:
            if row["id"].startswith("_design/"):
                continue
            doc = Document(self.database, row["id"])
            doc.update(row["doc"])
            documents.append(doc)
        return documents

    def _state(self, repl_id: str) -> tuple[dict[str, Any] | None, str | None]:
        if "scheduler" in self.client.features():
            try:
                answer = Scheduler(self.client).get_doc(repl_id)
            except errors.NotFound:
                return None, None
            return answer, answer.get("state")
        doc = self.database.get(repl_id, remote=True)
        if doc is None:
            return None, None
        doc.fetch()
        return doc, doc.get("_replication_state")

    def replication_state(self, repl_id: str) -> str | None:
        """The replication's state (``running``, ``completed``, ``failed``... ; None
        before it starts). ``CloudantReplicatorException(404)`` if unknown."""
        if "scheduler" in self.client.features():
            try:
                answer = Scheduler(self.client).get_doc(repl_id)
            except errors.CouchError as exc:
                raise CloudantReplicatorException(exc.status, repl_id) from exc
            state: str | None = answer.get("state")
            return state
        doc = self.database.get(repl_id, remote=True)
        if doc is None:
            raise CloudantReplicatorException(404, repl_id)
        doc.fetch()
        state = doc.get("_replication_state")
        return state

    def follow_replication(self, repl_id: str) -> Iterator[dict[str, Any]]:
        """Yield the replication's document (or scheduler entry) each time it changes,
        until it completes or fails."""
        doc, state = self._state(repl_id)
        if doc is not None:
            yield doc
        if state in _TERMINAL:
            return
        for change in self.database.infinite_changes(since="now", heartbeat=5000):
            if change.get("id") != repl_id:
                continue
            doc, state = self._state(repl_id)
            if doc is not None:
                yield doc
            if state in _TERMINAL:
                return

    def stop_replication(self, repl_id: str) -> None:
        """Delete the replication document; ``CloudantReplicatorException(404)`` if absent."""
        doc = self.database.get(repl_id, remote=True)
        if doc is None:
            raise CloudantReplicatorException(404, repl_id)
        doc.fetch()
        doc.delete()
