"""Writing documents to the local engine.

``bulk_docs`` with new edits (revision checks, conflicts) or replicated
revisions (``new_edits=false``), ``put_doc``, ``delete_doc`` and ``revs_diff``.
Writes of one ``bulk_docs`` call happen in one storage transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from settee.backends._local import js, jsonindex, python_views
from settee.backends._local.attachments import decode_attachments
from settee.backends._local.local_docs import write_local
from settee.backends._local.revtree import RevTree, make_rev, parse_rev
from settee.backends._local.state import EngineState, open_db
from settee.backends._local.storage import DbMeta, DocInfo, Txn
from settee.backends._local.util import conflict, doc_missing, dumps, flag
from settee.errors import BadRequest, CouchError, DocumentNotFound, error_for

__all__ = ["bulk_docs", "delete_doc", "put_doc", "result_error", "revs_diff"]

_SPECIAL_OK = frozenset(
    {
        "_id",
        "_rev",
        "_deleted",
        "_attachments",
        "_revisions",
        "_revs_info",
        "_conflicts",
        "_deleted_conflicts",
        "_local_seq",
    }
)


def result_error(result: Mapping[str, Any]) -> CouchError:
    """The exception a fast path raises for a ``bulk_docs`` error result (:func:`error_for`)."""
    return error_for(
        None, str(result.get("error")), result.get("reason"), not_found=DocumentNotFound
    )


class _Create(NamedTuple):
    """A new id's first revision, pending inside a write batch.

    A tuple of strings and a plain body, so the garbage collector stops tracking it:
    a batch of thousands of new documents then leaves nothing for its full
    collections to walk again and again (which cost a bulk insert a third of its time).
    """

    rev: str
    text: str
    body: dict[str, Any]
    deleted: bool

    def info(self, docid: str, seq: int) -> DocInfo:
        # Its tree left implicit (the revision alone, made only if someone reads it): one
        # object for the collector to track, not three.
        return DocInfo.lazy(docid, seq, None, self.rev, self.deleted)

    def write(self, docid: str) -> _Write:
        write = _Write(self.info(docid, 0))
        write.bodies.append((self.rev, self.text))
        write.parsed[self.rev] = self.body
        return write


class _Write:
    """One document's pending state inside a write batch."""

    __slots__ = ("bodies", "dropped", "info", "parsed")

    def __init__(self, info: DocInfo) -> None:
        self.info = info
        self.bodies: list[tuple[str, str]] = []
        self.dropped: list[str] = []
        # The staged bodies as dicts, so the json indexes need not parse them again.
        self.parsed: dict[str, dict[str, Any]] = {}


def bulk_docs(
    state: EngineState,
    db: str,
    docs: Sequence[Mapping[str, Any]],
    *,
    new_edits: bool = True,
    stored: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Write ``docs`` in one transaction; one result per document (none for successful
    ``new_edits=False`` writes), errors included, never raised. ``stored``: attachments
    of the (one) new edit whose content :func:`.attachments.store_content` stored."""
    if not isinstance(docs, Sequence) or isinstance(docs, (str, bytes)):
        raise BadRequest("docs must be a list of documents", error="bad_request")
    with state.storage.write() as txn:
        meta = open_db(txn, db)
        prepared = [_prepare(meta, doc, new_edits) for doc in docs]
        ids = [doc["_id"] for doc in prepared if not isinstance(doc, _Rejected)]
        loaded = txn.load_docs(meta, [i for i in dict.fromkeys(ids) if not i.startswith("_local/")])
        pending: _Pending = {}
        results: list[dict[str, Any]] = []
        checks = js.validators(txn, meta, ids)  # validate_doc_update functions (issue 11)
        for doc in prepared:
            if isinstance(doc, _Rejected):
                results.append(doc.result)
                continue
            docid = doc["_id"]
            result: dict[str, Any] | None
            try:
                if checks:
                    write = _writing(pending, docid)
                    staged = dict(write.bodies) if write is not None else {}
                    info = _current(docid, pending, loaded)
                    js.check_write(txn, meta, checks, doc, info, staged, new_edits=new_edits)
                if docid.startswith("_local/"):
                    result = write_local(txn, meta, doc)
                elif new_edits:
                    result = _edit(txn, meta, doc, pending, loaded, stored)
                else:
                    result = _replicate(txn, meta, doc, pending, loaded)
            except CouchError as exc:
                results.append({"id": docid, "error": exc.error, "reason": exc.reason})
                continue
            if result is not None:
                results.append(result)
        if pending:
            before = meta.update_seq
            _save(txn, meta, pending, loaded)
            python_views.follow_writes(state, txn, meta, before)
    return results


#: The documents a batch writes, by id, in the order of each one's last edit.
_Pending = dict[str, "_Write | _Create"]


def _writing(pending: _Pending, docid: str) -> _Write | None:
    """``docid``'s pending write, a new id's first revision turned into a general one."""
    write = pending.get(docid)
    if isinstance(write, _Create):
        write = pending[docid] = write.write(docid)  # same place in the order
    return write


def _save(txn: Txn, meta: DbMeta, pending: _Pending, loaded: dict[str, DocInfo]) -> None:
    infos: list[DocInfo] = []
    bodies: list[tuple[str, str, str]] = []
    dropped: list[tuple[str, str]] = []
    parsed: dict[tuple[str, str], dict[str, Any]] = {}
    seq = meta.update_seq
    for docid, write in pending.items():
        seq += 1
        if isinstance(write, _Create):
            infos.append(write.info(docid, seq))
            bodies.append((docid, write.rev, write.text))
            if not write.deleted:
                parsed[(docid, write.rev)] = write.body
            continue
        write.info.seq = seq
        infos.append(write.info)
        winner = write.info.winner
        if winner in write.parsed:
            parsed[(docid, winner)] = write.parsed[winner]
        if not write.dropped and len(write.bodies) == 1:
            ((rev, text),) = write.bodies  # the usual write: one new revision, nothing stemmed
            bodies.append((docid, rev, text))
            continue
        gone = set(write.dropped)
        dropped.extend((docid, rev) for rev in gone)
        # A revision written and stemmed away in the same batch is never stored.
        bodies.extend((docid, rev, text) for rev, text in write.bodies if rev not in gone)
    meta.update_seq = seq
    # Index rows are computed before anything is saved: a bad document fails the batch whole.
    changes = jsonindex.row_changes(txn, meta, infos, bodies, parsed, loaded)
    # Every id of the batch was looked up: the ones not loaded are new (None), so the
    # storage need not look them up again to keep its counts.
    txn.save(meta, infos, bodies, dropped, {docid: loaded.get(docid) for docid in pending})
    jsonindex.apply_row_changes(txn, meta, changes)


class _Rejected:
    """An incoming document's error result, found before the batch is written."""

    __slots__ = ("result",)

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result


def _prepare(meta: DbMeta, doc: Any, new_edits: bool) -> dict[str, Any] | _Rejected:
    """Validate one incoming document: a copy of it with its ``_id`` (the batch's own, for
    the write to take apart), or its error result. No pair around the copy: a batch of
    thousands would leave as many tuples for the garbage collector to track."""
    if type(doc) is not dict and not isinstance(doc, Mapping):  # a dict: no ABC check
        return _Rejected({"error": "bad_request", "reason": "Document must be a JSON object"})
    docid = doc.get("_id")
    if docid is None:
        if not new_edits:
            return _Rejected({"error": "bad_request", "reason": "Document id must be specified"})
        docid = uuid.uuid4().hex
        if meta.partitioned:
            return _Rejected(
                {
                    "id": docid,
                    "error": "illegal_docid",
                    "reason": "Doc id must be of form partition:id",
                }
            )
    if not isinstance(docid, str) or not docid:
        return _Rejected(
            {"id": docid, "error": "illegal_docid", "reason": "Document id must be a string"}
        )
    for key in doc:
        if isinstance(key, str) and key.startswith("_") and key not in _SPECIAL_OK:
            return _Rejected(
                {
                    "id": docid,
                    "error": "doc_validation",
                    "reason": f"Bad special document member: {key}",
                }
            )
    if docid.startswith("_") and not docid.startswith(("_design/", "_local/")):
        return _Rejected(
            {
                "id": docid,
                "error": "illegal_docid",
                "reason": "Only reserved document ids may start with underscore.",
            }
        )
    if meta.partitioned and not docid.startswith(("_design/", "_local/")):
        partition, sep, rest = docid.partition(":")
        if not sep or not partition or not rest or partition.startswith("_"):
            return _Rejected(
                {
                    "id": docid,
                    "error": "illegal_docid",
                    "reason": "Doc id must be of form partition:id",
                }
            )
    out = dict(doc)
    out["_id"] = docid
    return out


def _current(docid: str, pending: _Pending, loaded: dict[str, DocInfo]) -> DocInfo | None:
    write = _writing(pending, docid)
    if write is not None:
        return write.info
    return loaded.get(docid)


def _parent_atts(
    txn: Txn, meta: DbMeta, docid: str, revs: Sequence[str], pending: _Pending
) -> dict[str, Any] | None:
    """The ``_attachments`` of the first of ``revs`` with a stored body."""
    write = _writing(pending, docid)
    staged = dict(write.bodies) if write is not None else {}
    for rev in revs:
        text = staged.get(rev)
        if text is None:
            text = txn.load_bodies(meta, [(docid, rev)]).get((docid, rev))
        if text is not None:
            atts: dict[str, Any] = json.loads(text).get("_attachments") or {}
            return atts
    return None


def _body(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` without its special members (a prepared document has no others), taken
    out of it in place: ``doc`` is the batch's own copy (:func:`_prepare`), read for the
    last time, so a bulk load makes one dict per document, not two."""
    for key in _SPECIAL_OK.intersection(doc):
        del doc[key]
    return doc


def _edit(
    txn: Txn,
    meta: DbMeta,
    doc: dict[str, Any],
    pending: _Pending,
    loaded: dict[str, DocInfo],
    stored: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    docid: str = doc["_id"]
    # A new id (every document of a bulk load) without the lookups' calls.
    info = (
        None if docid not in pending and docid not in loaded else _current(docid, pending, loaded)
    )
    rev = doc.get("_rev")
    deleted = bool(doc.get("_deleted"))
    if rev is not None:
        parse_rev(rev)
    if info is None:
        if rev is not None:
            raise conflict()
        return _create(txn, meta, doc, pending, deleted, stored)
    else:
        tree = info.tree.copy()
        if rev is None:
            if not info.deleted:
                raise conflict()
            parent = info.winner  # recreating a deleted document extends its tombstone
        elif not tree.is_leaf(rev):
            raise conflict()
        else:
            parent = rev
    pos = parse_rev(parent)[0] + 1 if parent else 1
    atts = decode_attachments(
        doc,
        lambda: _parent_atts(txn, meta, docid, [parent] if parent else [], pending),
        pos,
        keep_revpos=False,
        stored=stored,
    )
    body = _body(doc)
    text = dumps(body)
    new_rev = make_rev(parent, text, deleted, [a["digest"] for a in atts.values()])
    if atts:
        body["_attachments"] = atts
        text = dumps(body)
    tree.add(new_rev, parent, deleted)
    dropped = tree.stem(meta.revs_limit)
    _stage(pending, docid, tree, text, new_rev, dropped, body)
    return {"ok": True, "id": docid, "rev": new_rev}


def _create(
    txn: Txn,
    meta: DbMeta,
    doc: dict[str, Any],
    pending: _Pending,
    deleted: bool,
    stored: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """The first revision of a new id: a one-node tree, its own winner, nothing to stem."""
    docid: str = doc["_id"]
    atts = (
        decode_attachments(doc, lambda: None, 1, keep_revpos=False, stored=stored)
        if "_attachments" in doc or stored
        else {}
    )
    body = _body(doc)
    text = dumps(body)
    new_rev = make_rev(None, text, deleted, [a["digest"] for a in atts.values()] if atts else ())
    if atts:
        body["_attachments"] = atts
        text = dumps(body)
    pending[docid] = _Create(new_rev, text, body, deleted)
    return {"ok": True, "id": docid, "rev": new_rev}


def _replicate(
    txn: Txn,
    meta: DbMeta,
    doc: dict[str, Any],
    pending: _Pending,
    loaded: dict[str, DocInfo],
) -> dict[str, Any] | None:
    docid: str = doc["_id"]
    rev = doc.get("_rev")
    if rev is None:
        raise BadRequest("new_edits=false requires _rev", error="bad_request")
    pos = parse_rev(rev)[0]
    path = [rev]
    revisions = doc.get("_revisions")
    if revisions is not None:
        if (
            not isinstance(revisions, Mapping)
            or not isinstance(revisions.get("start"), int)
            or not isinstance(revisions.get("ids"), list)
            or not revisions["ids"]
        ):
            raise BadRequest("Invalid _revisions", error="bad_request")
        start = revisions["start"]
        path = [f"{start - i}-{h}" for i, h in enumerate(revisions["ids"]) if start - i > 0]
        if path[0] != rev:
            raise BadRequest("_rev does not match _revisions", error="bad_request")
    info = _current(docid, pending, loaded)
    tree = info.tree.copy() if info is not None else RevTree()
    if rev in tree:
        return None  # already known: nothing to do, like CouchDB
    deleted = bool(doc.get("_deleted"))
    known = [r for r in path[1:] if r in tree]
    atts = decode_attachments(
        doc,
        lambda: _parent_atts(txn, meta, docid, known, pending),
        pos,
        keep_revpos=True,
    )
    body = _body(doc)
    if atts:
        body["_attachments"] = atts
    text = dumps(body)
    tree.merge_path(path, deleted)
    dropped = tree.stem(meta.revs_limit)
    _stage(pending, docid, tree, text, rev, dropped, body)
    return None


def _stage(
    pending: _Pending,
    docid: str,
    tree: RevTree,
    text: str,
    new_rev: str,
    dropped: list[str],
    body: dict[str, Any],
) -> None:
    winner = tree.winner()
    info = DocInfo(docid, 0, tree, winner, tree.is_deleted(winner))
    # Re-inserting keeps ``pending`` in the order of each document's last edit.
    old = pending.pop(docid, None)
    write = old.write(docid) if isinstance(old, _Create) else old or _Write(info)
    write.info = info
    write.bodies.append((new_rev, text))
    write.parsed[new_rev] = body
    write.dropped.extend(dropped)
    pending[docid] = write


def put_doc(
    state: EngineState,
    db: str,
    doc: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
    *,
    stored: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write one document; raise what its ``bulk_docs`` error result says."""
    new_edits = flag(dict(params or {}), "new_edits", True)
    results = bulk_docs(state, db, [doc], new_edits=new_edits, stored=stored)
    if not results:
        return {"ok": True, "id": doc.get("_id"), "rev": doc.get("_rev")}
    result = results[0]
    if "error" in result:
        raise result_error(result)
    return result


def delete_doc(state: EngineState, db: str, docid: str, rev: str) -> dict[str, Any]:
    """Write a tombstone for ``docid`` at ``rev``.

    Like CouchDB's ``DELETE``, a document that is missing or already deleted
    is ``DocumentNotFound`` (``"missing"``/``"deleted"``); a stale ``rev`` is
    ``Conflict``.
    """
    if not docid.startswith("_local/"):
        with state.storage.read() as txn:
            info = txn.load_docs(open_db(txn, db), [docid]).get(docid)
        if info is None:
            raise doc_missing()
        if info.deleted:
            raise doc_missing("deleted")
    return put_doc(state, db, {"_id": docid, "_rev": rev, "_deleted": True})


def revs_diff(state: EngineState, db: str, revs: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """``{id: {"missing": [...], "possible_ancestors"?: [...]}}`` for unknown revisions."""
    if not isinstance(revs, Mapping):
        raise BadRequest("Request body must be a JSON object", error="bad_request")
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        found = txn.load_docs(meta, list(revs))
    out: dict[str, Any] = {}
    for docid, wanted in revs.items():
        if not isinstance(wanted, (list, tuple)):
            raise BadRequest(f"Revisions for {docid} must be a list", error="bad_request")
        info = found.get(docid)
        missing = [r for r in wanted if info is None or r not in info.tree]
        for rev in missing:
            parse_rev(rev)
        if not missing:
            continue
        entry: dict[str, Any] = {"missing": list(dict.fromkeys(missing))}
        if info is not None:
            top = max(parse_rev(r)[0] for r in missing)
            ancestors = [leaf for leaf in info.tree.leaves() if parse_rev(leaf)[0] < top]
            if ancestors:
                entry["possible_ancestors"] = sorted(ancestors)
        out[docid] = entry
    return out
