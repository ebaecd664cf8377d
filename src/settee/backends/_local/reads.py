"""Reading documents from the local engine.

One document with every ``GET /db/doc`` option, ``open_revs``, and the
winning revisions of many documents for queries and feeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from settee.backends._local.attachments import blob_loader, render_attachment
from settee.backends._local.local_docs import get_local
from settee.backends._local.revtree import RevTree, parse_rev
from settee.backends._local.state import EngineState, open_db
from settee.backends._local.storage import DbMeta, DocInfo, Txn
from settee.backends._local.util import PAGE, doc_missing, flag, within_partition
from settee.errors import BadRequest

__all__ = ["get_doc", "iter_docs", "load_winner_docs", "render", "winner_docs"]

_PLAIN: Mapping[str, bool] = {}
_NO_PARAMS: Mapping[str, Any] = {}


def get_doc(
    state: EngineState, db: str, docid: str, params: Mapping[str, Any] | None = None
) -> Any:
    """One document (``dict``), or with ``open_revs`` the list CouchDB returns."""
    params = {k: v for k, v in params.items() if v is not None} if params else _NO_PARAMS
    if docid.startswith("_local/"):
        return get_local(state, db, docid)
    if not params:
        # The common read: the record and the winner's body in one statement. Anything
        # else (a missing database or document, a deleted one) takes the full path.
        found = state.storage.read_winner(db, docid)
        if found is not None:
            record, text = found
            if text is not None and not record.deleted:
                return render(record, record.winner, text, _PLAIN)
    meta_opts = flag(params, "meta")
    opts = {
        "revs": flag(params, "revs"),
        "revs_info": flag(params, "revs_info") or meta_opts,
        "conflicts": flag(params, "conflicts") or meta_opts,
        "deleted_conflicts": flag(params, "deleted_conflicts") or meta_opts,
        "attachments": flag(params, "attachments"),
        "local_seq": flag(params, "local_seq"),
    }
    open_revs = params.get("open_revs")
    if isinstance(open_revs, str) and open_revs != "all":
        try:
            open_revs = json.loads(open_revs)
        except ValueError as exc:
            raise BadRequest("Invalid open_revs", error="bad_request") from exc
    with state.storage.read() as txn:
        meta = open_db(txn, db)
        info = txn.load_docs(meta, [docid]).get(docid)
        if open_revs is not None:
            return _open_revs(txn, meta, docid, info, open_revs, opts, params)
        if info is None:
            raise doc_missing()
        rev = params.get("rev")
        if rev is None:
            if info.deleted:
                raise doc_missing("deleted")
            rev = info.winner
        elif rev not in info.tree:
            raise doc_missing()
        bodies = txn.load_bodies(meta, [(docid, rev)])
        if (docid, rev) not in bodies:
            raise doc_missing()
        load = blob_loader(txn, meta) if opts["attachments"] else None
        return render(info, rev, bodies[(docid, rev)], opts, load)


def _open_revs(
    txn: Txn,
    meta: DbMeta,
    docid: str,
    info: DocInfo | None,
    open_revs: Any,
    opts: dict[str, bool],
    params: Mapping[str, Any],
) -> list[dict[str, Any]]:
    if open_revs == "all":
        if info is None:
            raise doc_missing()
        revs = info.tree.leaves()
    elif isinstance(open_revs, list) and all(isinstance(r, str) for r in open_revs):
        revs = list(open_revs)
        for rev in revs:
            parse_rev(rev)
    else:
        raise BadRequest('open_revs must be "all" or a list of revisions', error="bad_request")
    latest = flag(params, "latest")
    if info is not None and latest:
        revs = [_latest(info.tree, rev) for rev in revs]
    bodies = txn.load_bodies(meta, [(docid, rev) for rev in revs]) if info else {}
    load = blob_loader(txn, meta) if opts.get("attachments") else None
    out: list[dict[str, Any]] = []
    for rev in revs:
        body = bodies.get((docid, rev))
        if info is None or body is None:
            out.append({"missing": rev})
        else:
            out.append({"ok": render(info, rev, body, opts, load)})
    return out


def _latest(tree: RevTree, rev: str) -> str:
    if rev not in tree or tree.is_leaf(rev):
        return rev
    for leaf in tree.leaves():
        if rev in tree.path(leaf):
            return leaf
    return rev


def render(
    info: DocInfo,
    rev: str,
    body_text: str,
    opts: Mapping[str, bool],
    load: Callable[[str], bytes] | None = None,
) -> dict[str, Any]:
    """Revision ``rev`` of ``info`` in CouchDB's read form, with the ``opts`` asked for
    (``load`` reads a chunked attachment content, for ``attachments``)."""
    body: dict[str, Any] = json.loads(body_text)
    doc: dict[str, Any] = {"_id": info.id, "_rev": rev}
    # The winner's state is in the record: its tree is parsed only when an option needs it.
    if info.deleted if rev == info.winner else info.tree.is_deleted(rev):
        doc["_deleted"] = True
    atts = body.pop("_attachments", None)
    doc.update(body)
    if atts:
        doc["_attachments"] = {
            name: render_attachment(att, opts.get("attachments", False), load)
            for name, att in atts.items()
        }
    if not opts:
        return doc
    if opts.get("conflicts") or opts.get("deleted_conflicts"):
        tree = info.tree
        leaves = tree.leaves()
        if opts.get("conflicts") and rev == info.winner:
            conflicts = [r for r in leaves if r != rev and not tree.is_deleted(r)]
            if conflicts:
                doc["_conflicts"] = conflicts
        if opts.get("deleted_conflicts") and rev == info.winner:
            deleted = [r for r in leaves if r != rev and tree.is_deleted(r)]
            if deleted:
                doc["_deleted_conflicts"] = deleted
    if opts.get("local_seq"):
        doc["_local_seq"] = info.seq
    if opts.get("revs"):
        doc["_revisions"] = info.tree.revisions(rev)
    if opts.get("revs_info"):
        tree = info.tree
        doc["_revs_info"] = [
            {"rev": r, "status": "deleted" if tree.is_deleted(r) else "available"}
            for r in tree.path(rev)
        ]
    return doc


def winner_docs(
    txn: Txn, meta: DbMeta, infos: Sequence[DocInfo], opts: Mapping[str, bool]
) -> dict[str, dict[str, Any]]:
    """``{id: document}``: the winning revision of each of ``infos`` that has a body."""
    bodies = txn.load_bodies(meta, [(info.id, info.winner) for info in infos])
    load = blob_loader(txn, meta) if opts.get("attachments") else None
    out: dict[str, dict[str, Any]] = {}
    for info in infos:
        text = bodies.get((info.id, info.winner))
        if text is not None:
            out[info.id] = render(info, info.winner, text, opts, load)
    return out


def load_winner_docs(
    txn: Txn, meta: DbMeta, ids: Sequence[str], opts: Mapping[str, bool]
) -> dict[str, dict[str, Any]]:
    """``{id: document}``: the winning revision of each of ``ids`` that exists and has a
    body, read with its record in one go (:meth:`.storage.Txn.load_winners`)."""
    found = txn.load_winners(meta, ids)
    load = blob_loader(txn, meta) if opts.get("attachments") else None
    return {
        docid: render(info, info.winner, text, opts, load)
        for docid, (info, text) in found.items()
        if text is not None
    }


def iter_docs(
    state: EngineState,
    db: str,
    *,
    partition: str | None = None,
    design: bool = False,
    bounds: tuple[str | None, bool, str | None, bool] = (None, True, None, True),
) -> Iterator[tuple[DocInfo, dict[str, Any]]]:
    """Every live document (winner) in id order, page by page.

    ``bounds`` is ``(lo, lo_inclusive, hi, hi_inclusive)`` on ids; design
    documents only with ``design``.
    """
    lo, lo_incl, hi, hi_incl = within_partition(bounds, partition)
    while True:
        with state.storage.read() as txn:
            meta = open_db(txn, db)
            page = txn.scan_ids(
                meta,
                lo,
                lo_incl,
                hi,
                hi_incl,
                descending=False,
                limit=PAGE,
                include_deleted=False,
            )
            docs = winner_docs(txn, meta, page, {})
        for info in page:
            if not design and info.id.startswith("_design/"):
                continue
            doc = docs.get(info.id)
            if doc is not None:
                yield info, doc
        if len(page) < PAGE:
            return
        lo, lo_incl = page[-1].id, False
