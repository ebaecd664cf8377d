"""python-cloudant's ``cloudant.replicator``: :class:`Replicator`, replications as
documents in the server's ``_replicator`` database.

A thin adapter over :class:`settee.replication.server.ServerReplicator`: the
requests are its; this module keeps python-cloudant's signatures, its endpoint
form (``headers``/``Authorization``), :class:`Document` results and exceptions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from settee import errors
from settee.auth.iam import IAMAuth
from settee.compat.cloudant.document import Document
from settee.compat.cloudant.error import (
    ClientDisconnected,
    CloudantClientException,
    CloudantDatabaseException,
    CloudantReplicatorException,
)
from settee.replication.server import Endpoint, ReplicationDocument, ServerReplicator

if TYPE_CHECKING:
    from settee.compat.cloudant.client import CouchDB
    from settee.compat.cloudant.database import CouchDatabase

__all__ = ["Replicator"]

_TERMINAL = ("error", "failed", "completed")


def _endpoint(db: CouchDatabase) -> Endpoint:
    endpoint: Endpoint = {"url": db.database_url}
    client = db.client
    if client.admin_party:
        return endpoint
    auth = client.auth
    if client.is_iam_authenticated and isinstance(auth, IAMAuth):
        endpoint["auth"] = {"iam": {"api_key": auth.api_key}}
        return endpoint
    basic = client.basic_auth_str()
    if basic is not None:
        endpoint["headers"] = {"Authorization": basic}
    return endpoint


class Replicator:
    """``Replicator(client)``; ``CloudantClientException(404)`` when the server has no
    ``_replicator`` database, or the client is disconnected (as python-cloudant)."""

    def __init__(self, client: CouchDB) -> None:
        self.client = client
        try:
            self.database: CouchDatabase = client["_replicator"]
        except (KeyError, ClientDisconnected) as exc:
            raise CloudantClientException(404, "_replicator") from exc
        self._server = ServerReplicator(client)

    def _document(self, body: ReplicationDocument | dict[str, Any]) -> Document:
        doc = Document(self.database, body["_id"])
        doc.update(body)
        return doc

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
        doc_id = repl_id or str(uuid.uuid4())
        user_ctx = kwargs.pop("user_ctx", None)
        if not user_ctx and not self.database.admin_party:
            user_ctx = self.client.session().get("userCtx") or None
        try:
            body = self._server.create_replication(
                _endpoint(source_db),
                _endpoint(target_db),
                doc_id=doc_id,
                user_ctx=user_ctx or None,
                fields=kwargs,
                create_replicator_db=False,
            )
        except errors.Conflict as exc:
            raise CloudantDatabaseException(409, doc_id) from exc
        doc = self._document(body)
        dict.__setitem__(self.database, doc_id, doc)
        return doc

    def list_replications(self) -> list[Document]:
        """Every replication document (design documents left out)."""
        return [self._document(body) for body in self._server.list_replications()]

    def _state(self, repl_id: str) -> tuple[dict[str, Any] | None, str | None]:
        if "scheduler" in self.client.features():
            try:
                answer = self._server.scheduler_doc(repl_id)
            except errors.NotFound:
                return None, None
            except errors.ServerError as exc:
                if exc.reason != "function_clause":
                    raise
                # CouchDB's 500 for a job between its doc processor and its scheduler
                # (apache/couchdb#1000, fixed after 3.5.0): the replication document's
                # own _replication_state (completed and failed ones are written to it).
            else:
                return answer, answer.get("state")
        try:
            body = self._server.get_replication(repl_id)
        except errors.NotFound:
            return None, None
        return self._document(body), body.get("_replication_state")

    def replication_state(self, repl_id: str) -> str | None:
        """The replication's state (``running``, ``completed``, ``failed``... ; None
        before it starts). ``CloudantReplicatorException(404)`` if unknown."""
        if "scheduler" in self.client.features():
            try:
                answer = self._server.scheduler_doc(repl_id)
            except errors.CouchError as exc:
                raise CloudantReplicatorException(exc.status, repl_id) from exc
            state: str | None = answer.get("state")
            return state
        try:
            body = self._server.get_replication(repl_id)
        except errors.NotFound as exc:
            raise CloudantReplicatorException(404, repl_id) from exc
        return body.get("_replication_state")

    def follow_replication(self, repl_id: str) -> Iterator[dict[str, Any]]:
        """Yield the replication's document (or scheduler entry) each time it changes,
        until it completes or fails."""
        doc, state = self._state(repl_id)
        if doc is not None:
            yield doc
        if state in _TERMINAL:
            return
        feed = self.database.infinite_changes(since="now", heartbeat=5000)
        try:  # the feed's connection closed however the caller leaves this generator
            for change in feed:
                if change is None or change.get("id") != repl_id:
                    continue  # a heartbeat (None, as python-cloudant's feeds give), another doc
                doc, state = self._state(repl_id)
                if doc is not None:
                    yield doc
                if state in _TERMINAL:
                    return
        finally:
            feed.stop()

    def stop_replication(self, repl_id: str) -> None:
        """Delete the replication document; ``CloudantReplicatorException(404)`` if absent."""
        try:
            self._server.cancel_replication(repl_id)
        except errors.NotFound as exc:
            raise CloudantReplicatorException(404, repl_id) from exc
        self.database.forget_document(repl_id)
