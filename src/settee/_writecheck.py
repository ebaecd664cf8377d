"""Did a document write apply? Read back the revision tree and tell.

A ``PUT ?rev=`` or ``DELETE ?rev=`` whose response was lost (or that a
gateway applied and answered 5xx) is replayed by the transport; the replay
meets the revision the first attempt created and is refused (409, or 404 for
a deleted document). :func:`confirm_write` reads the document's leaves with
their histories (``open_revs=all``, ``revs=true``) and looks for a child of
the base revision holding exactly the content that was sent: found, the write
applied and its revision is returned; every child read and none matches, it
did not; a child that cannot be read (compacted away) leaves it unknown.

Content is compared without the ``_``-fields (``_id``, ``_rev``,
``_revisions``, ...) except ``_deleted``; attachments by name. A write by
someone else of the very same content as a child of the same base counts as
this one: no change is ever applied twice.

:func:`may_have_applied` tells from the error whether to look,
:func:`settle_write` looks and answers for the sync and async databases alike,
:func:`checked_write` refuses a write's answer that does not name the document
and a revision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from settee import errors

if TYPE_CHECKING:
    from settee.backends.base import Backend

__all__ = ["Outcome", "checked_write", "confirm_write", "may_have_applied", "settle_write"]

Outcome = tuple[Literal["applied", "not_applied", "unknown"], str | None]


def _content(body: Mapping[str, Any]) -> Any:
    fields = {k: v for k, v in body.items() if not k.startswith("_")}
    if body.get("_deleted"):
        fields["_deleted"] = True
    attachments = body.get("_attachments")
    if isinstance(attachments, Mapping) and attachments:
        fields["_attachments"] = sorted(attachments)
    # Through JSON, so tuples compare equal to the lists the server stores.
    return json.loads(json.dumps(fields, sort_keys=True))


def _split_rev(rev: str) -> tuple[int, str]:
    pos, _, digest = rev.partition("-")
    if not pos.isdigit() or not digest:
        raise ValueError(f"malformed revision {rev!r}")
    return int(pos), digest


def _children(leaves: Any, base: tuple[int, str]) -> dict[str, Mapping[str, Any] | None]:
    """The children of ``base`` on every branch: rev -> body when it is the leaf itself."""
    if not isinstance(leaves, list):
        raise errors.ServerError(
            f"malformed open_revs answer: expected a JSON array, got {type(leaves).__name__}",
            error="bad_response",
        )
    pos, digest = base
    found: dict[str, Mapping[str, Any] | None] = {}
    for entry in leaves:
        leaf = entry.get("ok") if isinstance(entry, Mapping) else None
        if not isinstance(leaf, Mapping):
            continue  # {"missing": rev}: not a leaf of this document
        history = leaf.get("_revisions")
        if not isinstance(history, Mapping):
            continue
        start, ids = history.get("start"), history.get("ids")
        if not isinstance(start, int) or not isinstance(ids, list):
            continue
        index = start - pos
        if not 0 < index < len(ids) or ids[index] != digest:
            continue  # base is not an ancestor on this branch (or is the leaf)
        child = f"{pos + 1}-{ids[index - 1]}"
        found[child] = leaf if index == 1 else found.get(child)
    return found


def confirm_write(
    backend: Backend, db: str, docid: str, base_rev: str, sent: Mapping[str, Any]
) -> Outcome:
    """Whether writing ``sent`` on top of ``base_rev`` applied: ``(verdict, rev)``.

    ``rev`` is the revision the write created when the verdict is
    ``"applied"``. Errors reading the document propagate.
    """
    try:
        base = _split_rev(base_rev)
    except ValueError:
        return ("unknown", None)
    try:
        leaves = backend.get_doc(db, docid, {"revs": True}, open_revs="all")
    except errors.DocumentNotFound:
        return ("not_applied", None)
    wanted = _content(sent)
    unknown = False
    for child, body in _children(leaves, base).items():
        if body is None:
            try:
                body = backend.get_doc(db, docid, {"rev": child})
            except errors.NotFound:
                unknown = True  # compacted away: its content cannot be seen any more
                continue
        if isinstance(body, Mapping) and _content(body) == wanted:
            return ("applied", child)
    return ("unknown", None) if unknown else ("not_applied", None)


def may_have_applied(exc: errors.SetteeError) -> bool:
    """Whether the write that raised ``exc`` may have applied: no answer at all, or a
    refusal (409/404) of a replay of it."""
    if isinstance(exc, errors.TransportError):
        return True
    return isinstance(exc, (errors.Conflict, errors.NotFound)) and exc.replayed


def checked_write(result: Any, docid: str, method: str) -> dict[str, Any]:
    """``result`` of a single-document write, refused unless it names ``docid`` and a rev."""
    if not isinstance(result, dict):
        raise errors.ServerError(
            f"malformed answer to {method} of {docid!r}: expected a JSON object, "
            f"got {type(result).__name__}",
            error="bad_response",
            body=result,
        )
    rev = result.get("rev")
    if not isinstance(rev, str) or not rev:
        raise errors.ServerError(
            f"malformed answer to {method} of {docid!r}: no revision ('rev') in {result!r}",
            error="bad_response",
            body=result,
        )
    answered = result.get("id", docid)
    if answered != docid:
        raise errors.ServerError(
            f"malformed answer to {method} of {docid!r}: it names document {answered!r}",
            error="bad_response",
            body=result,
        )
    return result


def settle_write(
    backend: Backend,
    db: str,
    docid: str,
    base: str,
    sent: Mapping[str, Any],
    method: str,
    exc: errors.SetteeError,
) -> dict[str, Any]:
    """A write that may have applied before it failed with ``exc``: read back, report the truth.

    Returns its result when the stored revisions show it applied; re-raises
    ``exc`` when they show it did not (and the server answered); otherwise
    ``TransportError`` saying the outcome is unknown.
    """
    try:
        verdict, rev = confirm_write(backend, db, docid, base, sent)
    except errors.SetteeError as check:
        raise errors.TransportError(
            f"{method} of document {docid!r} (rev {base}): the outcome is unknown - "
            f"{exc}; reading it back failed: {check}",
            method=method,
        ) from exc
    if verdict == "applied":
        return {"ok": True, "id": docid, "rev": rev}
    if verdict == "not_applied" and isinstance(exc, errors.CouchError):
        raise exc
    raise errors.TransportError(
        f"{method} of document {docid!r} (rev {base}): the outcome is unknown - {exc}; "
        "fetch the document to see whether it was written",
        method=method,
    ) from exc
