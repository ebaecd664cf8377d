"""Replication between any two settee databases, on CouchDB's replication protocol.

``settee.replicate(source_db, target_db)`` copies every change of the source
the target lacks (new documents, updates, deletions, conflicts, attachments,
design documents) so that both hold the same revision trees; it checkpoints
in ``_local/<replication id>`` on both ends, so the next run starts where this
one ended. ``continuous=True`` returns a live :class:`Replication` handle
instead. ``settee.sync(a, b)`` replicates both ways. The server's own
replicator is :class:`settee.replication.server.ServerReplicator`.

Layering: this package sits above the client and the database (it creates a
target through its backend and reads a source's feeds through its
:class:`~settee.Database`). ``Database.replicate_to``/``replicate_from`` call
down into it through :func:`settee.database.install_replicator`, which this
package calls when it is imported (``import settee`` does), so ``database.py``
never imports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload

from settee import database as _database
from settee.database import Database
from settee.replication.checkpoints import HistoryEntry, replication_id
from settee.replication.engine import (
    DEFAULT_BATCH_SIZE,
    ProgressCallback,
    ReplicationOptions,
    ReplicationResult,
    Session,
    WriteFailure,
    backoff,
    is_transient,
)
from settee.replication.live import Replication, Status
from settee.rows import Seq

if TYPE_CHECKING:  # typing_extensions ships with every type checker; no runtime dependency
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "HistoryEntry",
    "ReplicateOptions",
    "Replication",
    "ReplicationResult",
    "Status",
    "WriteFailure",
    "replicate",
    "replication_id",
    "sync",
]


class ReplicateOptions(TypedDict, total=False):
    """:func:`replicate`'s options but ``continuous`` (what ``Database.replicate_to`` takes)."""

    create_target: bool
    doc_ids: Sequence[str] | None
    selector: Mapping[str, Any] | None
    filter: str | None
    query_params: Mapping[str, Any] | None
    since: Seq | None
    batch_size: int
    checkpoint_interval: float
    attachments: bool
    max_retries: int
    progress: ProgressCallback | None
    on_error: Callable[[BaseException, float], None] | None


@overload
def replicate(
    source_db: Database,
    target_db: Database,
    *,
    continuous: Literal[False] = False,
    **options: Unpack[ReplicateOptions],
) -> ReplicationResult: ...
@overload
def replicate(
    source_db: Database,
    target_db: Database,
    *,
    continuous: Literal[True],
    **options: Unpack[ReplicateOptions],
) -> Replication: ...
def replicate(
    source_db: Database,
    target_db: Database,
    *,
    continuous: bool = False,
    create_target: bool = False,
    doc_ids: Sequence[str] | None = None,
    selector: Mapping[str, Any] | None = None,
    filter: str | None = None,
    query_params: Mapping[str, Any] | None = None,
    since: Seq | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    checkpoint_interval: float = 0.0,
    attachments: bool = True,
    max_retries: int = 5,
    progress: ProgressCallback | None = None,
    on_error: Callable[[BaseException, float], None] | None = None,
) -> ReplicationResult | Replication:
    """Replicate ``source_db`` into ``target_db`` (:class:`~settee.Database`\\ s, any backends).

    One-shot: returns the :class:`ReplicationResult` once the target has every
    change the source had when it started; transient errors are retried
    (``max_retries`` in a row, backing off) from the last batch done, then
    raised. ``continuous=True``: returns a started :class:`Replication`.
    ``batch_size`` changes per batch; a checkpoint after each batch, or at most
    one per ``checkpoint_interval`` seconds; ``since`` overrides the
    checkpoint; ``attachments=False`` copies documents without their
    attachments. ``doc_ids``, ``selector`` or ``filter`` (+ ``query_params``)
    choose the documents. ``progress(result)`` after each batch.
    ``TypeError``/``ValueError`` for bad options, before any request;
    ``NotFound`` for a missing source (or target without ``create_target``).
    """
    for name, db in (("source_db", source_db), ("target_db", target_db)):
        if not isinstance(db, Database):
            raise TypeError(f"{name} must be a settee Database, not {type(db).__name__}")
    options = ReplicationOptions(
        continuous=continuous,
        create_target=create_target,
        doc_ids=None if doc_ids is None else tuple(doc_ids),
        selector=selector,
        filter=filter,
        query_params=query_params,
        since=since,
        batch_size=batch_size,
        checkpoint_interval=checkpoint_interval,
        attachments=attachments,
        max_retries=max_retries,
    )
    session = Session(source_db, target_db, options)
    if continuous:
        return Replication(session, progress=progress, on_error=on_error).start()
    return _run_once(session, progress, on_error)


def _run_once(
    session: Session,
    progress: ProgressCallback | None,
    on_error: Callable[[BaseException, float], None] | None,
) -> ReplicationResult:
    options = session.options
    failures = 0
    prepared = False
    while True:
        try:
            if not prepared:
                session.prepare()
                prepared = True
            done = session.next_batch()
            failures = 0
            if progress is not None:
                progress(session.result)
            if done or session.refusal is not None:
                break
        except BaseException as exc:
            if not is_transient(exc) or failures >= options.max_retries:
                raise
            failures += 1
            delay = backoff(failures)
            if on_error is not None:
                on_error(exc, delay)
            time.sleep(delay)
    session.finish()
    return session.result


@overload
def sync(
    a: Database,
    b: Database,
    *,
    continuous: Literal[False] = False,
    **options: Unpack[ReplicateOptions],
) -> tuple[ReplicationResult, ReplicationResult]: ...
@overload
def sync(
    a: Database, b: Database, *, continuous: Literal[True], **options: Unpack[ReplicateOptions]
) -> tuple[Replication, Replication]: ...
def sync(
    a: Database, b: Database, *, continuous: bool = False, **options: Unpack[ReplicateOptions]
) -> tuple[ReplicationResult, ReplicationResult] | tuple[Replication, Replication]:
    """Replicate ``a`` into ``b`` and ``b`` into ``a`` (the options of :func:`replicate`);
    returns the two results (or the two live handles with ``continuous=True``)."""
    if continuous:
        return (
            replicate(a, b, continuous=True, **options),
            replicate(b, a, continuous=True, **options),
        )
    first = replicate(a, b, **options)
    options.pop("create_target", None)
    return first, replicate(b, a, **options)


_database.install_replicator(replicate)
