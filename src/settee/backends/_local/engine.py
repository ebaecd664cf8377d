"""CouchDB's database semantics over a :class:`~.storage.Storage`.

One :class:`Engine` serves the memory and the SQLite backend alike: document
writes with revision trees and conflicts, reads with every option the backend
protocol names, ``_all_docs``, Mango, Python views, the changes feed, local
documents, attachments and the database administration calls. Writes of one
``bulk_docs`` call happen in one storage transaction.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...errors import (
    BadRequest,
    Conflict,
    CouchError,
    DocumentNotFound,
    PreconditionFailed,
)
from . import attachments, query
from .attachments import decode_attachments, render_attachment
from .changes import LocalChangesStream, open_changes
from .revtree import RevTree, make_rev, parse_rev
from .storage import DbMeta, DocInfo, Storage, Txn
from .util import (
    PAGE,
    conflict,
    db_missing,
    doc_missing,
    dumps,
    flag,
    partition_bounds,
)
from .views import ViewCache

__all__ = ["Engine", "result_error"]

_DB_NAME = re.compile(r"^[a-z][a-z0-9_$()+/-]*$")
_SPECIAL_OK = {
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


def result_error(result: Mapping[str, Any]) -> CouchError:
    """The exception a fast path raises for a ``bulk_docs`` error result."""
    error = str(result.get("error"))
    reason = result.get("reason")
    cls: type[CouchError] = {
        "conflict": Conflict,
        "not_found": DocumentNotFound,
        "missing_stub": PreconditionFailed,
    }.get(error, BadRequest)
    return cls(reason, error=error)


class _Write:
    """One document's pending state inside a write batch."""

    __slots__ = ("bodies", "dropped", "info")

    def __init__(self, info: DocInfo) -> None:
        self.info = info
        self.bodies: list[tuple[str, str]] = []
        self.dropped: list[str] = []


class Engine:
    """The database logic; ``storage`` keeps the records."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.view_cache = ViewCache()

    # -- helpers ---------------------------------------------------------------
    @staticmethod
    def _db(txn: Txn, name: str) -> DbMeta:
        meta = txn.get_db(name)
        if meta is None:
            raise db_missing()
        return meta

    # -- server ----------------------------------------------------------------
    def all_dbs(self) -> list[str]:
        """Every database name, sorted."""
        with self.storage.read() as txn:
            return sorted(txn.list_dbs())

    def create_db(self, name: str, *, partitioned: bool = False) -> None:
        """Create ``name``; ``PreconditionFailed`` if it exists, ``BadRequest`` if ill-named."""
        if not isinstance(name, str) or not _DB_NAME.match(name):
            raise BadRequest(
                f"Name: '{name}'. Only lowercase characters (a-z), digits (0-9), and any of the "
                "characters _, $, (, ), +, -, and / are allowed. Must begin with a letter.",
                error="illegal_database_name",
            )
        with self.storage.write() as txn:
            if txn.get_db(name) is not None:
                raise PreconditionFailed(
                    "The database could not be created, the file already exists.",
                    error="file_exists",
                )
            txn.create_db(name, partitioned)

    def delete_db(self, name: str) -> None:
        """Delete ``name``; ``NotFound`` if absent."""
        with self.storage.write() as txn:
            txn.drop_db(self._db(txn, name))

    def db_info(self, name: str) -> dict[str, Any]:
        """CouchDB's ``GET /db`` body."""
        with self.storage.read() as txn:
            meta = self._db(txn, name)
            live, deleted = txn.count_ids(meta, None, True, None, True)
        return {
            "db_name": name,
            "doc_count": live,
            "doc_del_count": deleted,
            "update_seq": meta.update_seq,
            "purge_seq": 0,
            "compact_running": False,
            "instance_start_time": "0",
            "disk_format_version": 8,
            "sizes": {"active": 0, "external": 0, "file": 0},
            "props": {"partitioned": True} if meta.partitioned else {},
        }

    # -- reading documents -----------------------------------------------------
    def get_doc(self, db: str, docid: str, params: Mapping[str, Any] | None = None) -> Any:
        """One document (``dict``), or with ``open_revs`` the list CouchDB returns."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if docid.startswith("_local/"):
            return self._get_local(db, docid)
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
        with self.storage.read() as txn:
            meta = self._db(txn, db)
            info = txn.load_docs(meta, [docid]).get(docid)
            if open_revs is not None:
                return self._open_revs(txn, meta, docid, info, open_revs, opts, params)
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
        return self._render(info, rev, bodies[(docid, rev)], opts)

    def _open_revs(
        self,
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
            revs = [self._latest(info.tree, rev) for rev in revs]
        bodies = txn.load_bodies(meta, [(docid, rev) for rev in revs]) if info else {}
        out: list[dict[str, Any]] = []
        for rev in revs:
            body = bodies.get((docid, rev))
            if info is None or body is None:
                out.append({"missing": rev})
            else:
                out.append({"ok": self._render(info, rev, body, opts)})
        return out

    @staticmethod
    def _latest(tree: RevTree, rev: str) -> str:
        if rev not in tree or tree.is_leaf(rev):
            return rev
        for leaf in tree.leaves():
            if rev in tree.path(leaf):
                return leaf
        return rev

    def _render(
        self, info: DocInfo, rev: str, body_text: str, opts: Mapping[str, bool]
    ) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(body_text)
        doc: dict[str, Any] = {"_id": info.id, "_rev": rev}
        tree = info.tree
        if tree.is_deleted(rev):
            doc["_deleted"] = True
        atts = body.pop("_attachments", None)
        doc.update(body)
        if atts:
            doc["_attachments"] = {
                name: render_attachment(att, opts.get("attachments", False))
                for name, att in atts.items()
            }
        if opts.get("conflicts") or opts.get("deleted_conflicts"):
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
            doc["_revisions"] = tree.revisions(rev)
        if opts.get("revs_info"):
            doc["_revs_info"] = [
                {"rev": r, "status": "deleted" if tree.is_deleted(r) else "available"}
                for r in tree.path(rev)
            ]
        return doc

    # -- local documents -------------------------------------------------------
    def _get_local(self, db: str, docid: str) -> dict[str, Any]:
        with self.storage.read() as txn:
            found = txn.get_local(self._db(txn, db), docid)
        if found is None:
            raise doc_missing()
        rev, body = found
        return {"_id": docid, "_rev": rev, **json.loads(body)}

    def _write_local(self, txn: Txn, meta: DbMeta, doc: Mapping[str, Any]) -> dict[str, Any]:
        docid = doc["_id"]
        found = txn.get_local(meta, docid)
        rev = doc.get("_rev")
        if found is not None and rev != found[0]:
            raise conflict()
        if found is None and rev not in (None, "0-0"):
            raise conflict()
        if doc.get("_deleted"):
            if found is None:
                raise doc_missing()
            txn.delete_local(meta, docid)
            return {"ok": True, "id": docid, "rev": "0-0"}
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        counter = int(found[0].split("-", 1)[1]) + 1 if found else 1
        new_rev = f"0-{counter}"
        txn.put_local(meta, docid, new_rev, dumps(body))
        return {"ok": True, "id": docid, "rev": new_rev}

    # -- writing documents -----------------------------------------------------
    def bulk_docs(
        self, db: str, docs: Sequence[Mapping[str, Any]], *, new_edits: bool = True
    ) -> list[dict[str, Any]]:
        """Write ``docs`` in one transaction; one result per document (none for successful
        ``new_edits=False`` writes), errors included, never raised."""
        if not isinstance(docs, Sequence) or isinstance(docs, (str, bytes)):
            raise BadRequest("docs must be a list of documents", error="bad_request")
        with self.storage.write() as txn:
            meta = self._db(txn, db)
            prepared = [self._prepare(meta, doc, new_edits) for doc in docs]
            ids = [doc["_id"] for doc, _ in prepared if doc is not None]
            loaded = txn.load_docs(
                meta, [i for i in dict.fromkeys(ids) if not i.startswith("_local/")]
            )
            pending: dict[str, _Write] = {}
            results: list[dict[str, Any]] = []
            for doc, rejected in prepared:
                if doc is None:
                    assert rejected is not None
                    results.append(rejected)
                    continue
                docid = doc["_id"]
                result: dict[str, Any] | None
                try:
                    if docid.startswith("_local/"):
                        result = self._write_local(txn, meta, doc)
                    elif new_edits:
                        result = self._edit(txn, meta, doc, pending, loaded)
                    else:
                        result = self._replicate(txn, meta, doc, pending, loaded)
                except CouchError as exc:
                    results.append({"id": docid, "error": exc.error, "reason": exc.reason})
                    continue
                if result is not None:
                    results.append(result)
            if pending:
                self._save(txn, meta, pending)
        return results

    def _save(self, txn: Txn, meta: DbMeta, pending: dict[str, _Write]) -> None:
        infos: list[DocInfo] = []
        bodies: list[tuple[str, str, str]] = []
        dropped: list[tuple[str, str]] = []
        seq = meta.update_seq
        for docid, write in pending.items():
            seq += 1
            write.info.seq = seq
            infos.append(write.info)
            gone = set(write.dropped)
            dropped.extend((docid, rev) for rev in gone)
            # A revision written and stemmed away in the same batch is never stored.
            bodies.extend((docid, rev, text) for rev, text in write.bodies if rev not in gone)
        meta.update_seq = seq
        txn.save(meta, infos, bodies, dropped)

    def _prepare(
        self, meta: DbMeta, doc: Any, new_edits: bool
    ) -> tuple[dict[str, Any], None] | tuple[None, dict[str, Any]]:
        """Validate one incoming document: ``(doc with _id, None)`` or ``(None, error result)``."""
        if not isinstance(doc, Mapping):
            return None, {"error": "bad_request", "reason": "Document must be a JSON object"}
        docid = doc.get("_id")
        if docid is None:
            if not new_edits:
                return None, {"error": "bad_request", "reason": "Document id must be specified"}
            docid = uuid.uuid4().hex
            if meta.partitioned:
                return None, {
                    "id": docid,
                    "error": "illegal_docid",
                    "reason": "Doc id must be of form partition:id",
                }
        if not isinstance(docid, str) or not docid:
            return None, {
                "id": docid,
                "error": "illegal_docid",
                "reason": "Document id must be a string",
            }
        for key in doc:
            if isinstance(key, str) and key.startswith("_") and key not in _SPECIAL_OK:
                return None, {
                    "id": docid,
                    "error": "doc_validation",
                    "reason": f"Bad special document member: {key}",
                }
        if docid.startswith("_") and not docid.startswith(("_design/", "_local/")):
            return None, {
                "id": docid,
                "error": "illegal_docid",
                "reason": "Only reserved document ids may start with underscore.",
            }
        if meta.partitioned and not docid.startswith(("_design/", "_local/")):
            partition, sep, rest = docid.partition(":")
            if not sep or not partition or not rest or partition.startswith("_"):
                return None, {
                    "id": docid,
                    "error": "illegal_docid",
                    "reason": "Doc id must be of form partition:id",
                }
        out = dict(doc)
        out["_id"] = docid
        return out, None

    def _current(
        self, docid: str, pending: dict[str, _Write], loaded: dict[str, DocInfo]
    ) -> DocInfo | None:
        if docid in pending:
            return pending[docid].info
        return loaded.get(docid)

    def _parent_atts(
        self, txn: Txn, meta: DbMeta, docid: str, revs: Sequence[str], pending: dict[str, _Write]
    ) -> dict[str, Any] | None:
        """The ``_attachments`` of the first of ``revs`` with a stored body."""
        write = pending.get(docid)
        staged = dict(write.bodies) if write is not None else {}
        for rev in revs:
            text = staged.get(rev)
            if text is None:
                text = txn.load_bodies(meta, [(docid, rev)]).get((docid, rev))
            if text is not None:
                atts: dict[str, Any] = json.loads(text).get("_attachments") or {}
                return atts
        return None

    @staticmethod
    def _body(doc: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    def _edit(
        self,
        txn: Txn,
        meta: DbMeta,
        doc: Mapping[str, Any],
        pending: dict[str, _Write],
        loaded: dict[str, DocInfo],
    ) -> dict[str, Any]:
        docid: str = doc["_id"]
        info = self._current(docid, pending, loaded)
        rev = doc.get("_rev")
        deleted = bool(doc.get("_deleted"))
        if rev is not None:
            parse_rev(rev)
        if info is None:
            if rev is not None:
                raise conflict()
            parent: str | None = None
            tree = RevTree()
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
            lambda: self._parent_atts(txn, meta, docid, [parent] if parent else [], pending),
            pos,
            keep_revpos=False,
        )
        body = self._body(doc)
        text = dumps(body)
        new_rev = make_rev(parent, text, deleted, [a["digest"] for a in atts.values()])
        if atts:
            body["_attachments"] = atts
            text = dumps(body)
        tree.add(new_rev, parent, deleted)
        dropped = tree.stem(meta.revs_limit)
        self._stage(pending, docid, tree, text, new_rev, dropped)
        return {"ok": True, "id": docid, "rev": new_rev}

    def _replicate(
        self,
        txn: Txn,
        meta: DbMeta,
        doc: Mapping[str, Any],
        pending: dict[str, _Write],
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
        info = self._current(docid, pending, loaded)
        tree = info.tree.copy() if info is not None else RevTree()
        if rev in tree:
            return None  # already known: nothing to do, like CouchDB
        deleted = bool(doc.get("_deleted"))
        known = [r for r in path[1:] if r in tree]
        atts = decode_attachments(
            doc,
            lambda: self._parent_atts(txn, meta, docid, known, pending),
            pos,
            keep_revpos=True,
        )
        body = self._body(doc)
        if atts:
            body["_attachments"] = atts
        text = dumps(body)
        tree.merge_path(path, deleted)
        dropped = tree.stem(meta.revs_limit)
        self._stage(pending, docid, tree, text, rev, dropped)
        return None

    @staticmethod
    def _stage(
        pending: dict[str, _Write],
        docid: str,
        tree: RevTree,
        text: str,
        new_rev: str,
        dropped: list[str],
    ) -> None:
        winner = tree.winner()
        info = DocInfo(docid, 0, tree, winner, tree.is_deleted(winner))
        # Re-inserting keeps ``pending`` in the order of each document's last edit.
        write = pending.pop(docid, None) or _Write(info)
        write.info = info
        write.bodies.append((new_rev, text))
        write.dropped.extend(dropped)
        pending[docid] = write

    def put_doc(
        self, db: str, doc: Mapping[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Write one document; raise what its ``bulk_docs`` error result says."""
        new_edits = flag(dict(params or {}), "new_edits", True)
        results = self.bulk_docs(db, [doc], new_edits=new_edits)
        if not results:
            return {"ok": True, "id": doc.get("_id"), "rev": doc.get("_rev")}
        result = results[0]
        if "error" in result:
            raise result_error(result)
        return result

    def delete_doc(self, db: str, docid: str, rev: str) -> dict[str, Any]:
        """Write a tombstone for ``docid`` at ``rev``.

        Like CouchDB's ``DELETE``, a document that is missing or already deleted
        is ``DocumentNotFound`` (``"missing"``/``"deleted"``); a stale ``rev`` is
        ``Conflict``.
        """
        if not docid.startswith("_local/"):
            with self.storage.read() as txn:
                info = txn.load_docs(self._db(txn, db), [docid]).get(docid)
            if info is None:
                raise doc_missing()
            if info.deleted:
                raise doc_missing("deleted")
        return self.put_doc(db, {"_id": docid, "_rev": rev, "_deleted": True})

    # -- shared by queries and feeds ------------------------------------------
    def _check_partition(self, meta: DbMeta, partition: str | None) -> None:
        if partition is None:
            return
        if not meta.partitioned:
            raise BadRequest("database is not partitioned", error="bad_request")
        if not isinstance(partition, str) or not partition or partition.startswith("_"):
            raise BadRequest("Invalid partition name", error="bad_request")

    def _winner_docs(
        self, txn: Txn, meta: DbMeta, infos: Sequence[DocInfo], opts: Mapping[str, bool]
    ) -> dict[str, dict[str, Any]]:
        bodies = txn.load_bodies(meta, [(info.id, info.winner) for info in infos])
        out: dict[str, dict[str, Any]] = {}
        for info in infos:
            text = bodies.get((info.id, info.winner))
            if text is not None:
                out[info.id] = self._render(info, info.winner, text, opts)
        return out

    def iter_docs(
        self,
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
        lo, lo_incl, hi, hi_incl = bounds
        if partition is not None:
            plo, phi = partition_bounds(partition)
            if lo is None or lo < plo:
                lo, lo_incl = plo, True
            if hi is None or hi >= phi:
                hi, hi_incl = phi, False
        while True:
            with self.storage.read() as txn:
                meta = self._db(txn, db)
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
                docs = self._winner_docs(txn, meta, page, {})
            for info in page:
                if not design and info.id.startswith("_design/"):
                    continue
                doc = docs.get(info.id)
                if doc is not None:
                    yield info, doc
            if len(page) < PAGE:
                return
            lo, lo_incl = page[-1].id, False

    # -- queries and feeds (query.py, changes.py) -----------------------------
    def all_docs(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """An ``_all_docs`` page (see :func:`.query.all_docs`)."""
        return query.all_docs(self, db, params, keys=keys, partition=partition)

    def find(
        self, db: str, query_body: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``_find`` (see :func:`.query.find`)."""
        return query.find(self, db, query_body, partition=partition)

    def create_index(self, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /db/_index`` (see :func:`.query.create_index`)."""
        return query.create_index(self, db, index)

    def get_indexes(self, db: str) -> dict[str, Any]:
        """``GET /db/_index``."""
        return query.get_indexes(self, db)

    def delete_index(
        self, db: str, ddoc: str, name: str, *, index_type: str = "json"
    ) -> dict[str, Any]:
        """``DELETE /db/_index/{ddoc}/{type}/{name}``."""
        return query.delete_index(self, db, ddoc, name, index_type=index_type)

    def python_view(
        self,
        db: str,
        map_fn: Any,
        params: Mapping[str, Any] | None = None,
        *,
        reduce: Any = None,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """A Python map/reduce view (see :func:`.query.python_view`)."""
        return query.python_view(
            self, db, map_fn, params, reduce=reduce, keys=keys, partition=partition
        )

    def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> LocalChangesStream:
        """Open a changes feed (see :func:`.changes.open_changes`)."""
        return open_changes(self, db, params, body=body, raw=raw)

    # -- replication helpers ---------------------------------------------------
    def revs_diff(self, db: str, revs: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """``{id: {"missing": [...], "possible_ancestors"?: [...]}}`` for unknown revisions."""
        if not isinstance(revs, Mapping):
            raise BadRequest("Request body must be a JSON object", error="bad_request")
        with self.storage.read() as txn:
            meta = self._db(txn, db)
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

    # -- attachments (attachments.py) -----------------------------------------
    def get_attachment(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> tuple[bytes, str]:
        """``(data, content_type)``; ``NotFound`` if absent."""
        return attachments.get_attachment(self, db, docid, name, rev=rev)

    def put_attachment(
        self, db: str, docid: str, name: str, data: bytes, content_type: str, *, rev: str | None
    ) -> dict[str, Any]:
        """Add or replace one attachment (a new revision; a new document when ``rev`` is None)."""
        return attachments.put_attachment(self, db, docid, name, data, content_type, rev=rev)

    def delete_attachment(self, db: str, docid: str, name: str, *, rev: str) -> dict[str, Any]:
        """Remove one attachment (a new revision)."""
        return attachments.delete_attachment(self, db, docid, name, rev=rev)

    # -- administration --------------------------------------------------------
    def get_security(self, db: str) -> dict[str, Any]:
        """The security object (``{}`` until one is set)."""
        with self.storage.read() as txn:
            security: dict[str, Any] = json.loads(dumps(self._db(txn, db).security))
            return security

    def put_security(self, db: str, security: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the security object."""
        if not isinstance(security, Mapping):
            raise BadRequest("Security object must be a JSON object", error="bad_request")
        text = dumps(dict(security))
        with self.storage.write() as txn:
            meta = self._db(txn, db)
            meta.security = json.loads(text)
            txn.set_db_props(meta)
        return {"ok": True}

    def get_revs_limit(self, db: str) -> int:
        """How many revisions each branch keeps (default 1000)."""
        with self.storage.read() as txn:
            return self._db(txn, db).revs_limit

    def set_revs_limit(self, db: str, limit: int) -> dict[str, Any]:
        """Set ``revs_limit``; ``BadRequest`` unless a positive integer."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
            raise BadRequest("The revs_limit must be a positive integer", error="bad_request")
        with self.storage.write() as txn:
            meta = self._db(txn, db)
            meta.revs_limit = limit
            txn.set_db_props(meta)
        return {"ok": True}

    def compact(self, db: str) -> dict[str, Any]:
        """Drop the bodies of non-leaf revisions, as CouchDB's compaction does."""
        with self.storage.write() as txn:
            txn.prune_bodies(self._db(txn, db))
        self.storage.reclaim()
        return {"ok": True}

    def view_cleanup(self, db: str) -> dict[str, Any]:
        """Nothing to clean: Python views keep no index files."""
        with self.storage.read() as txn:
            self._db(txn, db)
        return {"ok": True}

    def partition_info(self, db: str, partition: str) -> dict[str, Any]:
        """``GET /db/_partition/{p}``: counts for one partition."""
        with self.storage.read() as txn:
            meta = self._db(txn, db)
            self._check_partition(meta, partition)
            plo, phi = partition_bounds(partition)
            live, deleted = txn.count_ids(meta, plo, True, phi, False)
        return {
            "db_name": db,
            "partition": partition,
            "doc_count": live,
            "doc_del_count": deleted,
            "sizes": {"active": 0, "external": 0},
        }
