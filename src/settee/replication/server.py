"""The server's own replicator: ``_replicator`` documents, ``_scheduler`` and ``POST /_replicate``.

:class:`ServerReplicator` is python-cloudant's ``Replicator`` and ``Scheduler``
with settee's names; the server (CouchDB 2+, Cloudant) does the copying::

    replicator = ServerReplicator(client)
    doc = replicator.create_replication(source_db, target_db, continuous=True)
    for state in replicator.follow_replication(doc["_id"]):
        print(state)            # "initializing", "running", "completed", "failed"...
    replicator.cancel_replication(doc["_id"])

Endpoints (``source``/``target``) are :class:`~settee.Database` handles or
URLs. A database's client credentials (``BasicAuth`` / ``SessionAuth``, or
``IAMAuth``) and a URL's userinfo go into the replication document in
CouchDB's documented auth object form: ``{"url": ..., "auth": {"basic":
{"username": ..., "password": ...}}}`` (``{"iam": {"api_key": ...}}`` for
IAM), never into the URL, and never into a log line or a ``repr``.

A backend without a server replicator (PouchDB Server, ``memory:``,
``sqlite:``) raises :class:`~settee.errors.NotSupported` before any request
(capability ``server_replicator``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypedDict

from settee import errors
from settee.auth.iam import IAMAuth
from settee.auth.schemes import BasicAuth, SessionAuth
from settee.backends.base import require
from settee.client import Client
from settee.database import Database
from settee.http.transport import Transport
from settee.urls import split_credentials

__all__ = [
    "REPLICATOR_DB",
    "TERMINAL_STATES",
    "Endpoint",
    "ReplicationDocument",
    "ServerReplicator",
    "endpoint",
]

#: The database CouchDB's replicator watches.
REPLICATOR_DB = "_replicator"
#: States after which a replication document changes no more (one-shot ones).
TERMINAL_STATES = frozenset({"completed", "failed"})


class Endpoint(TypedDict, total=False):
    """A replication endpoint as CouchDB documents it: ``url`` and an ``auth`` object."""

    url: str
    auth: dict[str, dict[str, str]]
    headers: dict[str, str]


class ReplicationDocument(TypedDict, total=False):
    """A ``_replicator`` document (what :meth:`ServerReplicator.create_replication` writes)."""

    _id: str
    _rev: str
    source: Endpoint
    target: Endpoint
    continuous: bool
    create_target: bool
    doc_ids: list[str]
    selector: dict[str, Any]
    filter: str
    query_params: dict[str, Any]
    since_seq: Any
    user_ctx: dict[str, Any]
    _replication_state: str
    _replication_state_reason: str
    _replication_id: str


def _add_options(
    spec: dict[str, Any],
    *,
    continuous: bool,
    create_target: bool,
    doc_ids: Sequence[str] | None,
    selector: Mapping[str, Any] | None,
    filter: str | None,
    query_params: Mapping[str, Any] | None,
) -> None:
    """The options a ``_replicator`` document and a ``POST /_replicate`` body share."""
    if continuous:
        spec["continuous"] = True
    if create_target:
        spec["create_target"] = True
    if doc_ids is not None:
        spec["doc_ids"] = list(doc_ids)
    if selector is not None:
        spec["selector"] = dict(selector)
    if filter is not None:
        spec["filter"] = filter
    if query_params is not None:
        spec["query_params"] = dict(query_params)


def endpoint(where: Database | str | Endpoint) -> Endpoint:
    """The endpoint object for a database handle or a URL (userinfo moved to ``auth``);
    an endpoint object already built (a mapping with ``url``) is returned as a copy.

    ``NotSupported`` for a database on a local backend (the server cannot reach it).
    """
    if isinstance(where, Mapping):
        if not isinstance(where.get("url"), str):
            raise TypeError("an endpoint object needs a 'url' string")
        built: Endpoint = dict(where)  # type: ignore[assignment]  # copied as given
        return built
    if isinstance(where, Database):
        transport = where.client.server_session.transport("a server-side replication endpoint")
        url, creds = split_credentials(transport.url(where.database_name))
        auth = where.client.server_session.auth
        result: Endpoint = {"url": url}
        if isinstance(auth, (BasicAuth, SessionAuth)) and auth.user:
            result["auth"] = {"basic": {"username": auth.user, "password": auth.password or ""}}
        elif isinstance(auth, IAMAuth):
            result["auth"] = {"iam": {"api_key": auth.api_key}}
        elif creds is not None:
            result["auth"] = {"basic": {"username": creds[0], "password": creds[1]}}
        return result
    if not isinstance(where, str):
        raise TypeError(
            "an endpoint is a Database, a URL string or an endpoint object,"
            f" not {type(where).__name__}"
        )
    url, creds = split_credentials(where)
    plain: Endpoint = {"url": url}
    if creds is not None:
        plain["auth"] = {"basic": {"username": creds[0], "password": creds[1]}}
    return plain


class ServerReplicator:
    """The replicator of ``client``'s server (``client`` an HTTP :class:`~settee.Client`).

    ``NotSupported`` (capability ``server_replicator``) on any call where the
    server has none.
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"ServerReplicator({self.client.url!r})"

    def _transport(self, what: str) -> Transport:
        transport = self.client.server_session.transport(what)
        require(self.client.backend, "server_replicator", what)
        return transport

    # -- _replicator documents ---------------------------------------------------------
    def create_replication(
        self,
        source: Database | str | Endpoint,
        target: Database | str | Endpoint,
        *,
        doc_id: str | None = None,
        continuous: bool = False,
        create_target: bool = False,
        doc_ids: Sequence[str] | None = None,
        selector: Mapping[str, Any] | None = None,
        filter: str | None = None,
        query_params: Mapping[str, Any] | None = None,
        since_seq: Any = None,
        user_ctx: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        create_replicator_db: bool = True,
    ) -> ReplicationDocument:
        """Write a replication document; returns it with ``_id`` and ``_rev``.

        ``doc_id`` defaults to a fresh uuid. ``fields``: further document fields
        (``worker_processes``, ``use_checkpoints``...), below ``_id``, ``source``,
        ``target`` and the named options. The ``_replicator`` database is created
        first when missing (``create_replicator_db``). ``Conflict`` if ``doc_id`` exists.
        """
        transport = self._transport("create_replication")
        doc: ReplicationDocument = {**(fields or {})}  # type: ignore[typeddict-item]
        doc["_id"] = doc_id or self.client.backend.uuids(1)[0]
        doc["source"] = endpoint(source)
        doc["target"] = endpoint(target)
        doc.pop("_rev", None)
        _add_options(
            doc,  # type: ignore[arg-type]
            continuous=continuous,
            create_target=create_target,
            doc_ids=doc_ids,
            selector=selector,
            filter=filter,
            query_params=query_params,
        )
        if since_seq is not None:
            doc["since_seq"] = since_seq
        if user_ctx is not None:
            doc["user_ctx"] = dict(user_ctx)
        if create_replicator_db:
            with contextlib.suppress(errors.PreconditionFailed):
                self.client.backend.create_db(REPLICATOR_DB)
        answer = transport.json("PUT", (REPLICATOR_DB, doc["_id"]), json_body=doc)
        doc["_rev"] = answer["rev"]
        return doc

    def list_replications(self) -> list[ReplicationDocument]:
        """Every replication document (design documents left out)."""
        transport = self._transport("list_replications")
        answer = transport.json(
            "GET", (REPLICATOR_DB, "_all_docs"), params={"include_docs": "true"}
        )
        return [
            row["doc"]
            for row in answer.get("rows", [])
            if not row["id"].startswith("_design/") and row.get("doc")
        ]

    def get_replication(self, doc_id: str) -> ReplicationDocument:
        """One replication document; ``DocumentNotFound`` if absent."""
        transport = self._transport("get_replication")
        doc: ReplicationDocument = transport.json(
            "GET", (REPLICATOR_DB, doc_id), not_found=errors.DocumentNotFound
        )
        return doc

    def cancel_replication(self, doc_id: str) -> None:
        """Delete the replication document (the server stops the job); ``DocumentNotFound``."""
        transport = self._transport("cancel_replication")
        for attempt in range(3):
            rev = self.get_replication(doc_id)["_rev"]
            try:
                transport.json(
                    "DELETE",
                    (REPLICATOR_DB, doc_id),
                    params={"rev": rev},
                    not_found=errors.DocumentNotFound,
                )
                return
            except errors.Conflict:
                # The replicator itself updates the document's state fields.
                if attempt == 2:
                    raise

    def replication_state(self, doc_id: str) -> str | None:
        """The job's state from ``_scheduler/docs`` (``"running"``, ``"completed"``...),
        falling back to the document's ``_replication_state``; None before the first."""
        try:
            state = self.scheduler_doc(doc_id).get("state")
        except errors.NotFound:
            state = None
        if state is None:
            state = self.get_replication(doc_id).get("_replication_state")
        return None if state is None else str(state)

    def follow_replication(
        self, doc_id: str, *, interval: float = 0.5, timeout: float | None = None
    ) -> Iterator[str]:
        """Yield each new state of the replication until a terminal one
        (``completed``/``failed``) or ``timeout`` seconds (then it just ends).

        A continuous replication never ends by itself: stop iterating, or give ``timeout``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last: str | None = None
        while True:
            state = self.replication_state(doc_id)
            if state is not None and state != last:
                last = state
                yield state
                if state in TERMINAL_STATES:
                    return
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(interval)

    # -- _scheduler --------------------------------------------------------------------
    def scheduler_jobs(
        self, *, limit: int | None = None, skip: int | None = None
    ) -> dict[str, Any]:
        """``GET /_scheduler/jobs``: ``{"total_rows", "offset", "jobs": [...]}``."""
        return self._scheduler("scheduler_jobs", ("jobs",), {"limit": limit, "skip": skip})

    def scheduler_docs(
        self, *, limit: int | None = None, skip: int | None = None
    ) -> dict[str, Any]:
        """``GET /_scheduler/docs``: ``{"total_rows", "offset", "docs": [...]}``."""
        return self._scheduler("scheduler_docs", ("docs",), {"limit": limit, "skip": skip})

    def scheduler_doc(self, doc_id: str) -> dict[str, Any]:
        """``GET /_scheduler/docs/_replicator/{doc_id}``: one document's job state;
        ``NotFound`` before the scheduler has seen it."""
        return self._scheduler("scheduler_doc", ("docs", REPLICATOR_DB, doc_id), None)

    def _scheduler(
        self, what: str, segments: tuple[str, ...], params: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        answer: dict[str, Any] = self._transport(what).json(
            "GET", ("_scheduler", *segments), params=params
        )
        return answer

    # -- one-shot ----------------------------------------------------------------------
    def replicate(
        self,
        source: Database | str,
        target: Database | str,
        *,
        continuous: bool = False,
        create_target: bool = False,
        doc_ids: Sequence[str] | None = None,
        selector: Mapping[str, Any] | None = None,
        filter: str | None = None,
        query_params: Mapping[str, Any] | None = None,
        cancel: bool = False,
    ) -> dict[str, Any]:
        """``POST /_replicate``: the server replicates and answers when done
        (``{"ok": true, "history": [...], ...}``); a continuous one answers at once
        with its ``_local_id``, which ``cancel=True`` with the same options stops."""
        transport = self._transport("replicate")
        body: dict[str, Any] = {"source": endpoint(source), "target": endpoint(target)}
        _add_options(
            body,
            continuous=continuous,
            create_target=create_target,
            doc_ids=doc_ids,
            selector=selector,
            filter=filter,
            query_params=query_params,
        )
        if cancel:
            body["cancel"] = True
        answer: dict[str, Any] = transport.json(
            "POST", ("_replicate",), json_body=body, timeout=None
        )
        return answer
