"""CouchDB's database semantics over a :class:`~.storage.Storage`.

One :class:`Engine` serves the memory and the SQLite backend alike: document
writes with revision trees and conflicts, reads with every option the backend
protocol names, ``_all_docs``, Mango, Python views, the changes feed, local
documents, attachments and the database administration calls. Writes of one
``bulk_docs`` call happen in one storage transaction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...errors import (
    BadRequest,
    Conflict,
    CouchError,
    DocumentNotFound,
    NotFound,
    NotSupported,
    PreconditionFailed,
)
from .changes import LocalChangesStream
from .collation import sort_key, type_rank
from .mango import MISSING, compile_selector, get_field, parse_sort, project
from .revtree import RevTree, make_rev, parse_rev
from .storage import DbMeta, DocInfo, Storage, Txn
from .views import emit_rows, query_rows

__all__ = ["Engine", "result_error"]

PAGE = 1000
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
_NO_INDEX_WARNING = "No matching index found, create an index to optimize query time."


def _conflict() -> Conflict:
    return Conflict("Document update conflict.", error="conflict")


def _db_missing() -> NotFound:
    return NotFound("Database does not exist.", error="not_found")


def _missing(reason: str = "missing") -> DocumentNotFound:
    return DocumentNotFound(reason, error="not_found")


def result_error(result: Mapping[str, Any]) -> CouchError:
    """The exception a fast path raises for a ``bulk_docs`` error result."""
    error = str(result.get("error"))
    reason = result.get("reason")
    cls: type[CouchError] = {
        "conflict": Conflict,
        "not_found": DocumentNotFound,
        "missing_stub": PreconditionFailed,
        "forbidden": CouchError,
    }.get(error, BadRequest)
    return cls(reason, error=error)


def _bool(params: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if isinstance(value, bool):
        return value
    raise BadRequest(f"Invalid boolean parameter: {name}={value!r}", error="query_parse_error")


def _int(params: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise BadRequest(
        f"Invalid value for {name}: must be a non-negative integer", error="query_parse_error"
    )


# One encoder for every write: building one per json.dumps call costs more than encoding.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _dumps(value: Any) -> str:
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Document is not valid JSON: {exc}", error="bad_request") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _digest(data: bytes) -> str:
    return "md5-" + _b64(hashlib.md5(data).digest())


def _partition_bounds(partition: str) -> tuple[str, str]:
    # ids of partition p are "p:..." — the range ["p:", "p;") in code point order.
    return partition + ":", partition + ";"


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

    # -- helpers ---------------------------------------------------------------
    @staticmethod
    def _db(txn: Txn, name: str) -> DbMeta:
        meta = txn.get_db(name)
        if meta is None:
            raise _db_missing()
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
        meta_opts = _bool(params, "meta")
        opts = {
            "revs": _bool(params, "revs"),
            "revs_info": _bool(params, "revs_info") or meta_opts,
            "conflicts": _bool(params, "conflicts") or meta_opts,
            "deleted_conflicts": _bool(params, "deleted_conflicts") or meta_opts,
            "attachments": _bool(params, "attachments"),
            "local_seq": _bool(params, "local_seq"),
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
                raise _missing()
            rev = params.get("rev")
            if rev is None:
                if info.deleted:
                    raise _missing("deleted")
                rev = info.winner
            elif rev not in info.tree:
                raise _missing()
            bodies = txn.load_bodies(meta, [(docid, rev)])
        if (docid, rev) not in bodies:
            raise _missing()
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
                raise _missing()
            revs = info.tree.leaves()
        elif isinstance(open_revs, list) and all(isinstance(r, str) for r in open_revs):
            revs = list(open_revs)
            for rev in revs:
                parse_rev(rev)
        else:
            raise BadRequest('open_revs must be "all" or a list of revisions', error="bad_request")
        latest = _bool(params, "latest")
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
                name: self._render_att(att, opts.get("attachments", False))
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

    @staticmethod
    def _render_att(att: Mapping[str, Any], with_data: bool) -> dict[str, Any]:
        out = {
            "content_type": att["content_type"],
            "revpos": att["revpos"],
            "digest": att["digest"],
        }
        if with_data:
            out["data"] = att["data"]
        else:
            out["length"] = att["length"]
            out["stub"] = True
        return out

    # -- local documents -------------------------------------------------------
    def _get_local(self, db: str, docid: str) -> dict[str, Any]:
        with self.storage.read() as txn:
            found = txn.get_local(self._db(txn, db), docid)
        if found is None:
            raise _missing()
        rev, body = found
        return {"_id": docid, "_rev": rev, **json.loads(body)}

    def _write_local(self, txn: Txn, meta: DbMeta, doc: Mapping[str, Any]) -> dict[str, Any]:
        docid = doc["_id"]
        found = txn.get_local(meta, docid)
        rev = doc.get("_rev")
        if found is not None and rev != found[0]:
            raise _conflict()
        if found is None and rev not in (None, "0-0"):
            raise _conflict()
        if doc.get("_deleted"):
            if found is None:
                raise _missing()
            txn.delete_local(meta, docid)
            return {"ok": True, "id": docid, "rev": "0-0"}
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        number = int(found[0].split("-", 1)[1]) + 1 if found else 1
        new_rev = f"0-{number}"
        txn.put_local(meta, docid, new_rev, _dumps(body))
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
            prepared: list[dict[str, Any]] = []
            for doc in docs:
                prepared.append(self._prepare(meta, doc, new_edits))
            ids = [p["_id"] for p in prepared if "error" not in p and "_id" in p]
            loaded = txn.load_docs(
                meta, [i for i in dict.fromkeys(ids) if not i.startswith("_local/")]
            )
            pending: dict[str, _Write] = {}
            results: list[dict[str, Any]] = []
            for doc in prepared:
                if "error" in doc:
                    results.append(doc)
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

    def _prepare(self, meta: DbMeta, doc: Any, new_edits: bool) -> dict[str, Any]:
        """Validate one incoming document; return it (with ``_id``) or an error result."""
        if not isinstance(doc, Mapping):
            return {"error": "bad_request", "reason": "Document must be a JSON object"}
        docid = doc.get("_id")
        if docid is None:
            if not new_edits:
                return {"error": "bad_request", "reason": "Document id must be specified"}
            docid = uuid.uuid4().hex
            if meta.partitioned:
                return {
                    "id": docid,
                    "error": "illegal_docid",
                    "reason": "Doc id must be of form partition:id",
                }
        if not isinstance(docid, str) or not docid:
            return {"id": docid, "error": "illegal_docid", "reason": "Document id must be a string"}
        for key in doc:
            if isinstance(key, str) and key.startswith("_") and key not in _SPECIAL_OK:
                return {
                    "id": docid,
                    "error": "doc_validation",
                    "reason": f"Bad special document member: {key}",
                }
        if docid.startswith("_") and not docid.startswith(("_design/", "_local/")):
            return {
                "id": docid,
                "error": "illegal_docid",
                "reason": "Only reserved document ids may start with underscore.",
            }
        if meta.partitioned and not docid.startswith(("_design/", "_local/")):
            partition, sep, rest = docid.partition(":")
            if not sep or not partition or not rest or partition.startswith("_"):
                return {
                    "id": docid,
                    "error": "illegal_docid",
                    "reason": "Doc id must be of form partition:id",
                }
        out = dict(doc)
        out["_id"] = docid
        return out

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

    def _attachments(
        self,
        txn: Txn,
        meta: DbMeta,
        doc: Mapping[str, Any],
        ancestors: Sequence[str],
        pos: int,
        pending: dict[str, _Write],
        *,
        keep_revpos: bool,
    ) -> dict[str, Any]:
        incoming = doc.get("_attachments")
        if not incoming:
            return {}
        if not isinstance(incoming, Mapping):
            raise BadRequest("_attachments must be a JSON object", error="bad_request")
        docid = doc["_id"]
        parent: dict[str, Any] | None = None
        out: dict[str, Any] = {}
        for name, att in incoming.items():
            if not isinstance(att, Mapping):
                raise BadRequest(f"Invalid attachment {name}", error="bad_request")
            if att.get("stub"):
                if parent is None:
                    parent = self._parent_atts(txn, meta, docid, ancestors, pending) or {}
                if name not in parent:
                    raise PreconditionFailed(
                        f"Invalid attachment stub in {docid} for {name}", error="missing_stub"
                    )
                out[name] = parent[name]
                continue
            if "data" not in att:
                raise BadRequest(
                    f"Attachment {name} has neither data nor stub: true", error="bad_request"
                )
            data = att["data"]
            if isinstance(data, (bytes, bytearray)):
                raw = bytes(data)
            else:
                try:
                    raw = base64.b64decode(str(data), validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise BadRequest(
                        f"Invalid attachment data for {name}", error="bad_request"
                    ) from exc
            revpos = (
                att.get("revpos") if keep_revpos and isinstance(att.get("revpos"), int) else pos
            )
            out[name] = {
                "content_type": str(att.get("content_type") or "application/octet-stream"),
                "digest": _digest(raw),
                "length": len(raw),
                "revpos": revpos,
                "data": _b64(raw),
            }
        return out

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
                raise _conflict()
            parent: str | None = None
            tree = RevTree()
        else:
            tree = info.tree.copy()
            if rev is None:
                if not info.deleted:
                    raise _conflict()
                parent = info.winner  # recreating a deleted document extends its tombstone
            elif not tree.is_leaf(rev):
                raise _conflict()
            else:
                parent = rev
        pos = parse_rev(parent)[0] + 1 if parent else 1
        atts = self._attachments(
            txn, meta, doc, [parent] if parent else [], pos, pending, keep_revpos=False
        )
        body = self._body(doc)
        text = _dumps(body)
        new_rev = make_rev(parent, text, deleted, [a["digest"] for a in atts.values()])
        if atts:
            body["_attachments"] = atts
            text = _dumps(body)
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
        atts = self._attachments(
            txn, meta, doc, [r for r in path[1:] if r in tree], pos, pending, keep_revpos=True
        )
        body = self._body(doc)
        if atts:
            body["_attachments"] = atts
        text = _dumps(body)
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
        new_edits = _bool(dict(params or {}), "new_edits", True)
        results = self.bulk_docs(db, [doc], new_edits=new_edits)
        if not results:
            return {"ok": True, "id": doc.get("_id"), "rev": doc.get("_rev")}
        result = results[0]
        if "error" in result:
            raise result_error(result)
        return result

    def delete_doc(self, db: str, docid: str, rev: str) -> dict[str, Any]:
        """Write a tombstone for ``docid`` at ``rev``."""
        return self.put_doc(db, {"_id": docid, "_rev": rev, "_deleted": True})

    # -- _all_docs -------------------------------------------------------------
    def all_docs(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """An ``_all_docs`` page, ids in raw code point order like CouchDB."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if keys is None and "keys" in params:
            keys = params["keys"]
        descending = _bool(params, "descending")
        include_docs = _bool(params, "include_docs")
        limit = _int(params, "limit")
        skip = _int(params, "skip", 0) or 0
        opts = {
            "conflicts": _bool(params, "conflicts"),
            "attachments": _bool(params, "attachments"),
        }
        with self.storage.read() as txn:
            meta = self._db(txn, db)
            self._check_partition(meta, partition)
            if partition is not None:
                plo, phi = _partition_bounds(partition)
                total = txn.count_ids(meta, plo, True, phi, False)[0]
            else:
                total = txn.count_ids(meta, None, True, None, True)[0]
            if keys is not None:
                rows = self._all_docs_keys(txn, meta, keys, include_docs, opts, partition)
                if descending:
                    rows.reverse()
                rows = rows[skip:]
                if limit is not None:
                    rows = rows[:limit]
                body: dict[str, Any] = {"total_rows": total, "offset": None, "rows": rows}
                if _bool(params, "update_seq"):
                    body["update_seq"] = None
                return body
            bounds = self._id_range(params, descending, partition)
            if bounds is None:
                infos: list[DocInfo] = []
                offset = total
            else:
                lo, lo_incl, hi, hi_incl = bounds
                want = PAGE * 1000 if limit is None else limit + skip
                infos = (
                    txn.scan_ids(
                        meta,
                        lo,
                        lo_incl,
                        hi,
                        hi_incl,
                        descending=descending,
                        limit=want,
                        include_deleted=False,
                    )
                    if want > 0
                    else []
                )
                infos = infos[skip:]
                if limit is None and len(infos) + skip >= want:
                    # An unbounded listing larger than one scan: keep reading.
                    more = self._scan_all(txn, meta, lo, lo_incl, hi, hi_incl, descending, infos)
                    infos.extend(more)
                offset = self._offset(txn, meta, bounds, descending, partition) + skip
            docs = self._winner_docs(txn, meta, infos, opts) if include_docs else {}
            rows = []
            for info in infos:
                row: dict[str, Any] = {"id": info.id, "key": info.id, "value": {"rev": info.winner}}
                if include_docs:
                    row["doc"] = docs.get(info.id)
                rows.append(row)
            body = {"total_rows": total, "offset": min(offset, total), "rows": rows}
            if _bool(params, "update_seq"):
                body["update_seq"] = meta.update_seq
            return body

    def _scan_all(
        self,
        txn: Txn,
        meta: DbMeta,
        lo: str | None,
        lo_incl: bool,
        hi: str | None,
        hi_incl: bool,
        descending: bool,
        got: list[DocInfo],
    ) -> list[DocInfo]:
        out: list[DocInfo] = []
        last = got[-1].id if got else None
        while last is not None:
            if descending:
                page = txn.scan_ids(
                    meta,
                    lo,
                    lo_incl,
                    last,
                    False,
                    descending=True,
                    limit=PAGE,
                    include_deleted=False,
                )
            else:
                page = txn.scan_ids(
                    meta,
                    last,
                    False,
                    hi,
                    hi_incl,
                    descending=False,
                    limit=PAGE,
                    include_deleted=False,
                )
            out.extend(page)
            last = page[-1].id if len(page) == PAGE else None
        return out

    def _offset(
        self,
        txn: Txn,
        meta: DbMeta,
        bounds: tuple[str | None, bool, str | None, bool],
        descending: bool,
        partition: str | None,
    ) -> int:
        lo, lo_incl, hi, hi_incl = bounds
        plo, phi = _partition_bounds(partition) if partition is not None else (None, None)
        if not descending:
            if lo is None:
                return 0
            return txn.count_ids(meta, plo, True, lo, not lo_incl)[0]
        if hi is None:
            return 0
        return txn.count_ids(meta, hi, not hi_incl, phi, False)[0]

    def _check_partition(self, meta: DbMeta, partition: str | None) -> None:
        if partition is None:
            return
        if not meta.partitioned:
            raise BadRequest("database is not partitioned", error="bad_request")
        if not isinstance(partition, str) or not partition or partition.startswith("_"):
            raise BadRequest("Invalid partition name", error="bad_request")

    def _id_range(
        self, params: Mapping[str, Any], descending: bool, partition: str | None
    ) -> tuple[str | None, bool, str | None, bool] | None:
        """``(lo, lo_incl, hi, hi_incl)`` in ascending id terms, or None for an empty range."""
        inclusive_end = _bool(params, "inclusive_end", True)
        start = params.get("startkey", params.get("start_key"))
        end = params.get("endkey", params.get("end_key"))
        if "key" in params:
            start = end = params["key"]
            inclusive_end = True
        lo: str | None = None
        hi: str | None = None
        lo_incl = hi_incl = True
        # Non-string bounds: anything ranked below strings is "before every id", above "after".
        for bound, is_start in ((start, True), (end, False)):
            if bound is None:
                continue
            low_side = is_start != descending
            if isinstance(bound, str):
                if low_side:
                    lo, lo_incl = bound, True if is_start else inclusive_end
                else:
                    hi, hi_incl = bound, True if is_start else inclusive_end
                continue
            below = type_rank(bound) < 4
            if below != low_side:
                return None  # the range lies wholly outside the ids
        if partition is not None:
            plo, phi = _partition_bounds(partition)
            if lo is None or lo < plo:
                lo, lo_incl = plo, True
            if hi is None or hi >= phi:
                hi, hi_incl = phi, False
        if (
            lo is not None
            and hi is not None
            and (lo > hi or (lo == hi and not (lo_incl and hi_incl)))
        ):
            return None
        return lo, lo_incl, hi, hi_incl

    def _all_docs_keys(
        self,
        txn: Txn,
        meta: DbMeta,
        keys: Sequence[Any],
        include_docs: bool,
        opts: Mapping[str, bool],
        partition: str | None,
    ) -> list[dict[str, Any]]:
        if not isinstance(keys, Sequence) or isinstance(keys, (str, bytes)):
            raise BadRequest("`keys` member must be an array.", error="bad_request")
        wanted = [k for k in keys if isinstance(k, str)]
        found = txn.load_docs(meta, list(dict.fromkeys(wanted)))
        live = [found[k] for k in dict.fromkeys(wanted) if k in found and not found[k].deleted]
        docs = self._winner_docs(txn, meta, live, opts) if include_docs else {}
        rows: list[dict[str, Any]] = []
        for key in keys:
            info = found.get(key) if isinstance(key, str) else None
            if (
                partition is not None
                and info is not None
                and not info.id.startswith(partition + ":")
            ):
                info = None
            if info is None:
                rows.append({"key": key, "error": "not_found"})
                continue
            row: dict[str, Any] = {"id": info.id, "key": info.id, "value": {"rev": info.winner}}
            if info.deleted:
                row["value"]["deleted"] = True
                if include_docs:
                    row["doc"] = None
            elif include_docs:
                row["doc"] = docs.get(info.id)
            rows.append(row)
        return rows

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
        self, db: str, *, partition: str | None = None, design: bool = False
    ) -> Iterator[tuple[DocInfo, dict[str, Any]]]:
        """Every live document (winner), page by page; design docs only if ``design``."""
        lo: str | None = None
        lo_incl = True
        hi: str | None = None
        if partition is not None:
            lo, hi = _partition_bounds(partition)
        while True:
            with self.storage.read() as txn:
                meta = self._db(txn, db)
                page = txn.scan_ids(
                    meta,
                    lo,
                    lo_incl,
                    hi,
                    False,
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

    # -- Mango -----------------------------------------------------------------
    def find(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``_find``: selector, fields, sort, limit (default 25), skip, bookmark."""
        if not isinstance(query, Mapping):
            raise BadRequest("Query must be a JSON object", error="bad_request")
        if "selector" not in query:
            raise BadRequest("Missing required key: selector", error="missing_required_key")
        match = compile_selector(query["selector"])
        sort = parse_sort(query.get("sort"))
        limit = _int(query, "limit", 25)
        skip = _int(query, "skip", 0) or 0
        fields = query.get("fields")
        if fields is not None and (
            not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
        ):
            raise BadRequest("fields must be an array of strings", error="invalid_fields")
        conflicts = _bool(query, "conflicts")
        after = _decode_bookmark(query.get("bookmark"))
        with self.storage.read() as txn:
            meta = self._db(txn, db)
            self._check_partition(meta, partition)
        examined = 0
        results: list[tuple[Any, dict[str, Any]]] = []
        stop = None if sort else (limit or 0) + skip
        for info, doc in self.iter_docs(db, partition=partition):
            examined += 1
            if not match(doc):
                continue
            if sort:
                values = [get_field(doc, path) for path, _, _ in sort]
                if any(v is MISSING for v in values):
                    continue  # CouchDB's json index holds only documents with every sort field
                position: Any = ([sort_key(v) for v in values], info.id)
                if after is not None and not _after(position, after, sort[0][2]):
                    continue
            else:
                position = info.id
                if after is not None and info.id <= after:
                    continue
            if conflicts:
                leaves = info.tree.leaves()
                others = [r for r in leaves[1:] if not info.tree.is_deleted(r)]
                if others:
                    doc["_conflicts"] = others
            results.append((position, doc))
            if stop is not None and len(results) >= stop:
                break
        if sort:
            results.sort(key=lambda item: item[0], reverse=sort[0][2])
        page = results[skip:]
        if limit is not None:
            page = page[:limit]
        docs = [project(doc, fields) for _, doc in page]
        # An empty page hands back the bookmark it was given, as CouchDB does.
        bookmark = _encode_bookmark(page[-1][0]) if page else str(query.get("bookmark") or "nil")
        body: dict[str, Any] = {"docs": docs, "bookmark": bookmark}
        if not self._index_covers(db, query["selector"], sort):
            body["warning"] = _NO_INDEX_WARNING
        if _bool(query, "execution_stats"):
            body["execution_stats"] = {
                "total_keys_examined": 0,
                "total_docs_examined": examined,
                "total_quorum_docs_examined": 0,
                "results_returned": len(docs),
                "execution_time_ms": 0.0,
            }
        return body

    def _index_covers(
        self, db: str, selector: Any, sort: list[tuple[list[str], str, bool]]
    ) -> bool:
        """Whether a user index would serve this query on CouchDB (decides the warning)."""
        names = set(selector) if isinstance(selector, dict) else set()
        for index in self.get_indexes(db)["indexes"]:
            if index["type"] != "json":
                continue
            fields = [next(iter(f)) for f in index["def"]["fields"]]
            if fields and all(f in names or f in {s[1] for s in sort} for f in fields[:1]):
                return True
        return False

    def create_index(self, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
        """Store a Mango index definition in a ``_design/`` document, as CouchDB does."""
        if not isinstance(index, Mapping) or not isinstance(index.get("index"), Mapping):
            raise BadRequest("Missing required key: index", error="missing_required_key")
        kind = index.get("type", "json")
        if kind != "json":
            raise NotSupported(f"The local backends support only json Mango indexes, not {kind!r}.")
        raw_fields = index["index"].get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise BadRequest("Index fields must be a non-empty array", error="invalid_index")
        fields: list[dict[str, str]] = []
        for item in raw_fields:
            if isinstance(item, str):
                fields.append({item: "asc"})
            elif isinstance(item, Mapping) and len(item) == 1:
                ((name, direction),) = item.items()
                if direction not in ("asc", "desc"):
                    raise BadRequest(f"Invalid sort direction {direction!r}", error="invalid_index")
                fields.append({str(name): direction})
            else:
                raise BadRequest(f"Invalid index field {item!r}", error="invalid_index")
        definition: dict[str, Any] = {"fields": fields}
        if "partial_filter_selector" in index["index"]:
            compile_selector(index["index"]["partial_filter_selector"])
            definition["partial_filter_selector"] = index["index"]["partial_filter_selector"]
        digest = hashlib.sha1(_dumps(definition).encode()).hexdigest()
        ddoc = str(index.get("ddoc") or digest)
        ddoc_id = ddoc if ddoc.startswith("_design/") else "_design/" + ddoc
        name = str(index.get("name") or digest)
        view: dict[str, Any] = {
            "map": {"fields": {next(iter(f)): next(iter(f.values())) for f in fields}},
            "reduce": "_count",
            "options": {"def": definition},
        }
        if "partial_filter_selector" in definition:
            view["map"]["partial_filter_selector"] = definition["partial_filter_selector"]
        for _ in range(10):
            try:
                current: dict[str, Any] = self.get_doc(db, ddoc_id)
            except DocumentNotFound:
                current = {"_id": ddoc_id, "language": "query", "views": {}}
            views = current.setdefault("views", {})
            if views.get(name) == view:
                return {"result": "exists", "id": ddoc_id, "name": name}
            views[name] = view
            current["language"] = "query"
            try:
                self.put_doc(db, current)
            except Conflict:
                continue  # someone else changed the design document: read it again
            return {"result": "created", "id": ddoc_id, "name": name}
        raise _conflict()

    def get_indexes(self, db: str) -> dict[str, Any]:
        """``GET /db/_index``, the special ``_all_docs`` index first."""
        indexes: list[dict[str, Any]] = [
            {
                "ddoc": None,
                "name": "_all_docs",
                "type": "special",
                "def": {"fields": [{"_id": "asc"}]},
            }
        ]
        with self.storage.read() as txn:
            meta = self._db(txn, db)
            infos = txn.scan_ids(
                meta,
                "_design/",
                True,
                "_design0",
                False,
                descending=False,
                limit=10**9,
                include_deleted=False,
            )
            docs = self._winner_docs(txn, meta, infos, {})
        for ddoc_id in sorted(docs):
            ddoc = docs[ddoc_id]
            if ddoc.get("language") != "query":
                continue
            for name in sorted(ddoc.get("views") or {}):
                view = ddoc["views"][name]
                definition = (view.get("options") or {}).get("def")
                if not isinstance(definition, dict):
                    continue
                entry: dict[str, Any] = {
                    "ddoc": ddoc_id,
                    "name": name,
                    "type": "json",
                    "partitioned": meta.partitioned,
                    "def": definition,
                }
                indexes.append(entry)
        return {"total_rows": len(indexes), "indexes": indexes}

    def delete_index(
        self, db: str, ddoc: str, name: str, *, index_type: str = "json"
    ) -> dict[str, Any]:
        """Remove one index (and its design document when it was the last)."""
        ddoc_id = ddoc if ddoc.startswith("_design/") else "_design/" + ddoc
        for _ in range(10):
            try:
                current: dict[str, Any] = self.get_doc(db, ddoc_id)
            except DocumentNotFound as exc:
                raise NotFound("Index not found", error="not_found") from exc
            views = current.get("views") or {}
            if index_type != "json" or name not in views or current.get("language") != "query":
                raise NotFound("Index not found", error="not_found")
            del views[name]
            try:
                if views:
                    self.put_doc(db, current)
                else:
                    self.delete_doc(db, ddoc_id, current["_rev"])
            except Conflict:
                continue
            return {"ok": True}
        raise _conflict()

    # -- views -----------------------------------------------------------------
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
        """Run ``map_fn`` over every live non-design document and query the rows."""
        if not callable(map_fn):
            raise TypeError(f"map_fn must be callable, not {map_fn!r}")
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if keys is None and "keys" in params:
            keys = params.pop("keys")
        with self.storage.read() as txn:
            meta = self._db(txn, db)
            self._check_partition(meta, partition)
            update_seq = meta.update_seq
        rows = []
        for _, doc in self.iter_docs(db, partition=partition):
            rows.extend(emit_rows(map_fn, doc))
        result = query_rows(rows, params, reduce=reduce, keys=keys)
        if _bool(params, "include_docs") and "total_rows" in result:
            self._include_docs(db, result["rows"])
        if _bool(params, "update_seq"):
            result["update_seq"] = update_seq
        return result

    def _include_docs(self, db: str, rows: list[dict[str, Any]]) -> None:
        """Add ``doc`` to view rows; a value with an ``_id`` links that document (as CouchDB)."""

        def target(row: dict[str, Any]) -> str:
            value = row.get("value")
            if isinstance(value, dict) and isinstance(value.get("_id"), str):
                return str(value["_id"])
            return str(row["id"])

        wanted = list(dict.fromkeys(target(row) for row in rows))
        with self.storage.read() as txn:
            meta = self._db(txn, db)
            infos = txn.load_docs(meta, wanted)
            live = [info for info in infos.values() if not info.deleted]
            docs = self._winner_docs(txn, meta, live, {})
        for row in rows:
            row["doc"] = docs.get(target(row))

    # -- changes ---------------------------------------------------------------
    def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> LocalChangesStream:
        """Open a changes stream (normal, longpoll or continuous)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        body = dict(body or {})
        feed = params.get("feed", "normal")
        if feed not in ("normal", "longpoll", "continuous", "eventsource"):
            raise BadRequest(f"Invalid feed type {feed!r}", error="bad_request")
        if feed == "eventsource":
            feed = "continuous"
        with self.storage.read() as txn:
            meta = self._db(txn, db)
            current = meta.update_seq
        since_raw = params.get("since", 0)
        if since_raw == "now":
            since = current
        elif isinstance(since_raw, int) and not isinstance(since_raw, bool):
            since = since_raw
        elif isinstance(since_raw, str) and since_raw.split("-", 1)[0].isdigit():
            since = int(since_raw.split("-", 1)[0])
        else:
            raise BadRequest(
                f"Malformed sequence supplied in 'since' parameter: {since_raw!r}",
                error="bad_request",
            )
        limit = _int(params, "limit")
        timeout_ms = params.get("timeout")
        if timeout_ms is not None and (not isinstance(timeout_ms, (int, float)) or timeout_ms < 0):
            raise BadRequest("timeout must be a non-negative number", error="bad_request")
        descending = _bool(params, "descending")
        include_docs = _bool(params, "include_docs")
        all_leaves = params.get("style", "main_only") == "all_docs"
        opts = {
            "conflicts": _bool(params, "conflicts"),
            "attachments": _bool(params, "attachments"),
        }
        accept = self._changes_filter(params, body)
        return LocalChangesStream(
            self._changes_rows,
            db=db,
            since=since,
            feed=feed,
            limit=limit,
            timeout=None if timeout_ms is None else timeout_ms / 1000.0,
            descending=descending,
            include_docs=include_docs,
            all_leaves=all_leaves,
            opts=opts,
            accept=accept,
            raw=raw,
            wake=self.storage.wake,
        )

    def _changes_filter(self, params: Mapping[str, Any], body: Mapping[str, Any]) -> Any:
        name = params.get("filter")
        doc_ids = body.get("doc_ids", params.get("doc_ids"))
        selector = body.get("selector", params.get("selector"))
        if isinstance(doc_ids, str):
            doc_ids = json.loads(doc_ids)
        if name is None and doc_ids is not None:
            name = "_doc_ids"
        if name is None and selector is not None:
            name = "_selector"
        if name is None:
            return None
        if name == "_doc_ids":
            if not isinstance(doc_ids, list):
                raise BadRequest("filter=_doc_ids needs a doc_ids list", error="bad_request")
            wanted = set(doc_ids)
            return lambda info, doc: info.id in wanted
        if name == "_selector":
            if selector is None:
                raise BadRequest("filter=_selector needs a selector", error="bad_request")
            match = compile_selector(selector)
            return lambda info, doc: doc is not None and match(doc)
        if name == "_design":
            return lambda info, doc: info.id.startswith("_design/")
        raise NotSupported(
            f"The local backends cannot run the filter {name!r}: JavaScript filter functions and "
            "_view filters need CouchDB; use doc_ids or a selector instead."
        )

    def _changes_rows(self, stream: LocalChangesStream) -> Iterator[dict[str, Any]]:
        """The rows of ``stream``; blocks for longpoll/continuous feeds."""
        seq = stream.since
        upper: int | None = None
        emitted = 0
        needs_doc = stream.include_docs or (stream.accept is not None)
        while True:
            # Scan everything after ``seq`` page by page.
            while True:
                with self.storage.read() as txn:
                    meta = txn.get_db(stream.db)
                    if meta is None:
                        if stream.feed == "normal" and emitted == 0 and seq == stream.since:
                            raise _db_missing()
                        stream.last_seq = seq
                        return
                    if stream.descending:
                        page = txn.scan_seqs(meta, 0, before=upper, descending=True, limit=PAGE)
                    else:
                        page = txn.scan_seqs(meta, seq, before=None, descending=False, limit=PAGE)
                    docs = self._winner_docs(txn, meta, page, stream.opts) if needs_doc else {}
                for info in page:
                    if stream.closed:
                        stream.last_seq = seq
                        return
                    seq = info.seq
                    upper = info.seq
                    doc = docs.get(info.id) if needs_doc else None
                    if needs_doc and doc is None and info.deleted:
                        doc = {"_id": info.id, "_rev": info.winner, "_deleted": True}
                    if stream.accept is not None and not stream.accept(info, doc):
                        continue
                    row: dict[str, Any] = {"seq": info.seq, "id": info.id}
                    if stream.all_leaves:
                        row["changes"] = [{"rev": r} for r in info.tree.leaves()]
                    else:
                        row["changes"] = [{"rev": info.winner}]
                    if info.deleted:
                        row["deleted"] = True
                    if stream.include_docs:
                        row["doc"] = doc
                    emitted += 1
                    yield row
                    if stream.limit is not None and emitted >= stream.limit:
                        stream.last_seq = seq
                        if not stream.descending:
                            with self.storage.read() as txn:
                                meta = txn.get_db(stream.db)
                                stream.pending = (
                                    txn.count_seqs_after(meta, seq) if meta is not None else 0
                                )
                        return
                if len(page) < PAGE:
                    break
            if (
                stream.feed == "normal"
                or stream.descending
                or (stream.feed == "longpoll" and emitted)
            ):
                stream.last_seq = seq
                stream.pending = 0
                return
            # Wait for the next change (or the timeout, or close()).
            deadline_hit = self._wait(stream, seq)
            if stream.closed or deadline_hit:
                stream.last_seq = seq
                stream.pending = 0
                return

    def _wait(self, stream: LocalChangesStream, seq: int) -> bool:
        """Block until a change after ``seq``; return whether the timeout expired first."""
        start = time.monotonic()
        self.storage.wait(stream.db, seq, stream.timeout, stream.closed_event)
        if stream.timeout is None:
            return False
        with self.storage.read() as txn:
            meta = txn.get_db(stream.db)
            changed = meta is None or meta.update_seq > seq
        return not changed and time.monotonic() - start >= stream.timeout

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

    # -- attachments -----------------------------------------------------------
    def get_attachment(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> tuple[bytes, str]:
        """``(data, content_type)``; ``NotFound`` for a missing document or attachment."""
        params: dict[str, Any] = {"attachments": True}
        if rev is not None:
            params["rev"] = rev
        doc = self.get_doc(db, docid, params)
        att = (doc.get("_attachments") or {}).get(name)
        if att is None:
            raise NotFound("Document is missing attachment", error="not_found")
        return base64.b64decode(att["data"]), str(att["content_type"])

    def put_attachment(
        self,
        db: str,
        docid: str,
        name: str,
        data: bytes,
        content_type: str,
        *,
        rev: str | None,
    ) -> dict[str, Any]:
        """Add or replace one attachment: a new revision (a new document when ``rev`` is None)."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("attachment data must be bytes")
        if rev is None:
            doc: dict[str, Any] = {"_id": docid}
            try:
                current = self.get_doc(db, docid)
            except DocumentNotFound:
                current = None
            if current is not None:
                raise _conflict()
        else:
            try:
                doc = self.get_doc(db, docid, {"rev": rev})
            except DocumentNotFound as exc:
                raise _conflict() from exc
            doc.pop("_deleted", None)
        atts = doc.setdefault("_attachments", {})
        atts[name] = {"content_type": content_type, "data": _b64(bytes(data))}
        return self.put_doc(db, doc)

    def delete_attachment(self, db: str, docid: str, name: str, *, rev: str) -> dict[str, Any]:
        """Remove one attachment: a new revision without it."""
        try:
            doc = self.get_doc(db, docid, {"rev": rev})
        except DocumentNotFound as exc:
            raise _conflict() from exc
        atts = doc.get("_attachments") or {}
        if name not in atts:
            raise NotFound("Document is missing attachment", error="not_found")
        del atts[name]
        if not atts:
            doc.pop("_attachments", None)
        return self.put_doc(db, doc)

    # -- administration --------------------------------------------------------
    def get_security(self, db: str) -> dict[str, Any]:
        """The security object (``{}`` until one is set)."""
        with self.storage.read() as txn:
            security: dict[str, Any] = json.loads(_dumps(self._db(txn, db).security))
            return security

    def put_security(self, db: str, security: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the security object."""
        if not isinstance(security, Mapping):
            raise BadRequest("Security object must be a JSON object", error="bad_request")
        text = _dumps(dict(security))
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
            plo, phi = _partition_bounds(partition)
            live, deleted = txn.count_ids(meta, plo, True, phi, False)
        return {
            "db_name": db,
            "partition": partition,
            "doc_count": live,
            "doc_del_count": deleted,
            "sizes": {"active": 0, "external": 0},
        }


def _encode_bookmark(position: Any) -> str:
    return base64.urlsafe_b64encode(_dumps({"p": _jsonable(position)}).encode()).decode()


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"t": [_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _unjson(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return tuple(_unjson(v) for v in value["t"])
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    return value


def _decode_bookmark(bookmark: Any) -> Any:
    if bookmark is None or bookmark == "nil":
        return None
    try:
        return _unjson(json.loads(base64.urlsafe_b64decode(str(bookmark).encode()))["p"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"Invalid bookmark value: {bookmark}", error="invalid_bookmark") from exc


def _after(position: Any, bookmark: Any, descending: bool) -> bool:
    try:
        return bool(position < bookmark) if descending else bool(position > bookmark)
    except TypeError as exc:
        raise BadRequest("Invalid bookmark value", error="invalid_bookmark") from exc
