"""The HTTP backend: CouchDB, Cloudant and PouchDB Server over :class:`~settee.http.Transport`.

Every primitive of :class:`~settee.backends.base.Backend` is one request (the
change feeds are opened by :mod:`settee.backends.http.changes`), except
where PouchDB Server 4.2 needs help to give CouchDB's answer: deleting a
missing database or index checks first (it answers 200 or 500),
``_revs_limit`` raises ``NotSupported``, and ``_all_docs`` and unindexed
``_find`` get an explicit upper bound (it silently skips ids from U+0100 up
otherwise). The server is identified once, from ``GET /``. Query
options arrive as Python values with CouchDB's names and are encoded by
:func:`~settee.backends.http.support.encode_params` (beside
:func:`capabilities_for` and the PouchDB Server bounds): the
JSON-valued ones (``key``, ``keys``, ``startkey``, ``endkey``, ...) as JSON,
booleans as ``true``/``false``, ``None`` dropped. Every name is one
percent-encoded path segment (``/`` included) and a document id keeps only
its first ``_design/``/``_local/`` slash (``doc_id_segments``), so no id or
name can address another document or endpoint; ids that CouchDB reserves (a leading ``_`` other
than ``_design/`` and ``_local/``) are refused before any request.

Usage::

    backend = HTTPBackend("http://127.0.0.1:5984", auth=("admin", "pw"))
    backend.put_doc("mydb", {"_id": "a", "n": 1})
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any
from urllib.parse import quote

from settee import errors
from settee._validate import check_changes_filter, check_int, validate_doc_id
from settee.backends.base import ChangesStream, MapFunction, ReduceSpec, require
from settee.backends.http.changes import open_changes
from settee.backends.http.support import (
    _bound_all_docs,
    _bound_find,
    capabilities_for,
    encode_params,
)
from settee.http.options import TransportOptions, refuse_unknown
from settee.http.transport import Transport
from settee.urls import doc_id_segments, quote_segment, redact_url

__all__ = ["HTTPBackend"]

_UUIDS_PER_REQUEST = 1000
# 404 reasons that mean the database, not the document, is missing.
_NO_DB_REASONS = frozenset({"Database does not exist.", "no_db_file"})


def _check_db(db: str) -> str:
    if not isinstance(db, str):
        raise TypeError(f"database names are strings, not {type(db).__name__}")
    if not db:
        raise ValueError("a database name cannot be empty")
    return db


def _ddoc_name(ddoc: str) -> str:
    if not isinstance(ddoc, str):
        raise TypeError(f"design document names are strings, not {type(ddoc).__name__}")
    name = ddoc[len("_design/") :] if ddoc.startswith("_design/") else ddoc
    if not name:
        raise ValueError(f"invalid design document name {ddoc!r}")
    return name


def _checked_doc(answer: Any, db: str, docid: str, params: Mapping[str, Any] | None) -> Any:
    """A ``GET /db/docid`` answer, refused (``ServerError``) unless it is that document."""
    where = f"malformed answer to GET of document {docid!r} in {db!r}"
    if params and params.get("open_revs") is not None:
        if not isinstance(answer, list):
            raise errors.ServerError(
                f"{where}: expected a JSON array for open_revs, got {type(answer).__name__}",
                error="bad_response",
                method="GET",
            )
        return answer
    if not isinstance(answer, dict):
        raise errors.ServerError(
            f"{where}: expected a JSON object, got {type(answer).__name__}",
            error="bad_response",
            method="GET",
        )
    if answer.get("_id") != docid:
        raise errors.ServerError(
            f"{where}: the answer is document {answer.get('_id')!r}",
            error="bad_response",
            method="GET",
        )
    return answer


class HTTPBackend:
    """A CouchDB-compatible server reached over HTTP.

    ``HTTPBackend(url, *, auth=None, options=None, **fields)``: ``auth`` is any
    strategy from :mod:`settee.auth` or a ``(user, password)`` tuple;
    credentials in ``url`` become ``BasicAuth``. ``options`` is a
    :class:`~settee.http.options.TransportOptions` (``timeout``,
    ``max_retries``, ``headers``, ...; its fields may be given as keywords
    instead) for the :class:`~settee.http.Transport`; anything else is a
    ``TypeError`` naming it. ``transport`` is the transport (public: the client
    reaches sessions, ``_config`` and Cloudant endpoints through it).
    """

    kind = "http"

    def __init__(
        self,
        url: str,
        *,
        auth: Any = None,
        options: TransportOptions | None = None,
        **fields: object,
    ) -> None:
        options, unknown = TransportOptions.split(fields, options)
        refuse_unknown("the http backend", unknown)
        self.transport = Transport(url, auth=auth, options=options)
        self.url = redact_url(self.transport.base_url)
        self._capabilities: frozenset[str] | None = None
        self._info: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HTTPBackend({self.url!r})"

    # -- capabilities --------------------------------------------------------
    @property
    def capabilities(self) -> frozenset[str]:
        """Capabilities of the server, from ``GET /`` on first use, then cached."""
        if self._capabilities is None:
            info = self.server_info()
            with self._lock:
                self._info = info
                self._capabilities = capabilities_for(info)
        return self._capabilities

    def _is_pouchdb(self) -> bool:
        """Whether the server is PouchDB Server (whose quirks some primitives work around)."""
        if self._info is None:
            try:
                _ = self.capabilities
            except errors.CouchError:
                # GET / refused (e.g. a proxy that only routes /db paths): not
                # PouchDB Server, which always answers it. Not cached.
                return False
        info = self._info or {}
        vendor = info.get("vendor")
        return "express-pouchdb" in info or (
            isinstance(vendor, Mapping) and vendor.get("name") == "PouchDB authors"
        )

    # -- helpers -------------------------------------------------------------
    def _json(
        self,
        method: str,
        path: tuple[str, ...] | str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        document: bool = False,
    ) -> Any:
        """One request, JSON answer. ``document``: a 404 is ``DocumentNotFound``
        unless the body says the database is missing."""
        try:
            return self.transport.json(
                method,
                path,
                params=encode_params(params),
                json_body=json_body,
                headers=headers,
                not_found=errors.DocumentNotFound if document else errors.NotFound,
            )
        except errors.DocumentNotFound as exc:
            if exc.reason in _NO_DB_REASONS:
                raise errors._recast(exc, errors.NotFound, exc.reason) from exc
            raise

    # -- server --------------------------------------------------------------
    def server_info(self) -> dict[str, Any]:
        """``GET /`` (welcome, version, vendor...)."""
        info: dict[str, Any] = self.transport.json("GET", ())
        return info

    def all_dbs(self) -> list[str]:
        """``GET /_all_dbs``, sorted."""
        names: list[str] = self._json("GET", ("_all_dbs",))
        return sorted(names)

    def uuids(self, count: int) -> list[str]:
        """``count`` ids from ``GET /_uuids`` (dashes removed: 32 hex digits)."""
        check_int("count", count)
        ids: list[str] = []
        while len(ids) < count:
            # Servers cap one request (CouchDB's [uuids] max_count, 1000 by default).
            batch = min(count - len(ids), _UUIDS_PER_REQUEST)
            answer = self._json("GET", ("_uuids",), params={"count": batch})
            # PouchDB Server answers RFC 4122 uuids with dashes; CouchDB 32 hex digits.
            ids.extend(str(u).replace("-", "") for u in answer["uuids"])
        return ids

    def create_db(
        self, db: str, *, partitioned: bool = False, params: Mapping[str, Any] | None = None
    ) -> None:
        """``PUT /db``; ``PreconditionFailed`` (``file_exists``) if it exists."""
        query = dict(params or {})
        if partitioned:
            require(self, "partitions", "a partitioned database")
            query["partitioned"] = True
        self._json("PUT", (_check_db(db),), params=query)

    def delete_db(self, db: str) -> None:
        """``DELETE /db``; ``NotFound`` if absent."""
        if self._is_pouchdb():
            # PouchDB Server answers 200 to deleting a database that does not
            # exist; ask first so every backend raises NotFound alike. Asked
            # through _all_dbs, not GET /db: PouchDB Server 4.2 hangs (or
            # dies) on a database request that arrives without a valid
            # session, and _all_dbs is safe. It lists "a/b" as "ab".
            names = set(self._json("GET", ("_all_dbs",)))
            if db not in names and db.replace("/", "") not in names:
                raise errors.NotFound(
                    "Database does not exist.",
                    error="not_found",
                    status=404,
                    method="DELETE",
                    url=self.transport.url(_check_db(db)),
                )
        self._json("DELETE", (_check_db(db),))

    def db_info(self, db: str) -> dict[str, Any]:
        """``GET /db``; ``NotFound`` if absent."""
        info: dict[str, Any] = self._json("GET", (_check_db(db),))
        return info

    def close(self) -> None:
        """Close the transport's connections. Idempotent."""
        self.transport.close()

    # -- documents -----------------------------------------------------------
    def get_doc(self, db: str, docid: str, params: Mapping[str, Any] | None = None) -> Any:
        """``GET /db/docid``; ``DocumentNotFound`` if absent, ``NotFound`` if the db is.

        ``ServerError`` if the answer is not that document (not an object, or
        another ``_id``; with ``open_revs``, not a list).
        """
        answer = self._json(
            "GET",
            (_check_db(db), *doc_id_segments(validate_doc_id(docid))),
            params=params,
            document=True,
        )
        return _checked_doc(answer, db, docid, params)

    def put_doc(
        self, db: str, doc: dict[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``PUT /db/docid`` (``rev=`` in the query when the doc has ``_rev``).

        ``Conflict`` on a stale or missing ``_rev``; ``TypeError`` before any
        request when the document is not JSON-serialisable.
        """
        if not isinstance(doc, dict):
            raise TypeError(f"a document is a dict, not {type(doc).__name__}")
        docid = doc.get("_id")
        if not isinstance(docid, str):
            raise ValueError("put_doc needs a document with a string _id")
        query = dict(params or {})
        # rev= in the URL marks the PUT as replay-safe for RetryPolicy.
        if doc.get("_rev") is not None:
            query.setdefault("rev", doc["_rev"])
        body = Transport.dumps(doc)  # TypeError before anything is sent
        result: dict[str, Any] = self.transport.json(
            "PUT",
            (_check_db(db), *doc_id_segments(validate_doc_id(docid))),
            params=encode_params(query),
            data=body,
            headers={"Content-Type": "application/json"},
            not_found=errors.NotFound,
        )
        return result

    def delete_doc(self, db: str, docid: str, rev: str) -> dict[str, Any]:
        """``DELETE /db/docid?rev=``; ``Conflict`` on a stale rev, ``DocumentNotFound``."""
        if not isinstance(rev, str) or not rev:
            raise ValueError("delete_doc needs the document's current rev")
        result: dict[str, Any] = self._json(
            "DELETE",
            (_check_db(db), *doc_id_segments(validate_doc_id(docid))),
            params={"rev": rev},
            document=True,
        )
        return result

    def bulk_docs(
        self, db: str, docs: Sequence[dict[str, Any]], *, new_edits: bool = True
    ) -> list[dict[str, Any]]:
        """``POST /db/_bulk_docs``: one result per document (``[]`` with new_edits=False)."""
        body: dict[str, Any] = {"docs": list(docs)}
        if not new_edits:
            body["new_edits"] = False
        results: list[dict[str, Any]] = self._json(
            "POST", (_check_db(db), "_bulk_docs"), json_body=body
        )
        return results

    def all_docs(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """``_all_docs`` (``POST`` with ``{"keys": [...]}`` when ``keys`` is given)."""
        path = self._partitioned(db, partition, "_all_docs")
        encode_params(params)  # TypeError before any request, the capability probe included
        if keys is None and self._is_pouchdb():
            params = _bound_all_docs(params)
        return self._query(path, params, keys)

    def _partitioned(self, db: str, partition: str | None, *rest: str) -> tuple[str, ...]:
        if partition is None:
            return (_check_db(db), *rest)
        if not isinstance(partition, str) or not partition or partition.startswith("_"):
            raise ValueError(f"invalid partition name {partition!r}")
        return (_check_db(db), "_partition", partition, *rest)

    def _query(
        self, path: tuple[str, ...], params: Mapping[str, Any] | None, keys: Sequence[Any] | None
    ) -> dict[str, Any]:
        if keys is None:
            result: dict[str, Any] = self._json("GET", path, params=params)
        else:
            result = self._json("POST", path, params=params, json_body={"keys": list(keys)})
        return result

    def find(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``POST /db/_find`` (or the partition's)."""
        body = dict(query)
        data = Transport.dumps(body)  # TypeError before any request, the capability probe included
        if self._is_pouchdb():
            bounded = _bound_find(body)
            if bounded is not body:
                data = Transport.dumps(bounded)  # the bounded query is a new body
        result: dict[str, Any] = self.transport.json(
            "POST",
            self._partitioned(db, partition, "_find"),
            data=data,
            headers={"Content-Type": "application/json"},
        )
        return result

    def explain(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``POST /db/_explain`` (or the partition's): which index a ``_find`` would use."""
        data = Transport.dumps(dict(query))  # TypeError before any request
        result: dict[str, Any] = self.transport.json(
            "POST",
            self._partitioned(db, partition, "_explain"),
            data=data,
            headers={"Content-Type": "application/json"},
        )
        return result

    def create_index(self, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /db/_index``."""
        result: dict[str, Any] = self._json(
            "POST", (_check_db(db), "_index"), json_body=dict(index)
        )
        return result

    def get_indexes(self, db: str) -> dict[str, Any]:
        """``GET /db/_index``."""
        result: dict[str, Any] = self._json("GET", (_check_db(db), "_index"))
        return result

    def delete_index(
        self, db: str, ddoc: str, name: str, *, index_type: str = "json"
    ) -> dict[str, Any]:
        """``DELETE /db/_index/_design%2F{ddoc}/{type}/{name}``; ``NotFound`` if absent."""
        if not isinstance(index_type, str) or not isinstance(name, str) or not name:
            raise ValueError("delete_index needs an index type and a non-empty index name")
        # The design doc id travels as ONE segment ("_design%2Fddoc"): PouchDB
        # Server routes /:db/_index/:ddoc/:type/:name, and CouchDB accepts both.
        url = "/".join(
            (
                self.transport.url(_check_db(db), "_index"),
                quote(f"_design/{_ddoc_name(ddoc)}", safe=""),
                quote_segment(index_type),
                quote_segment(name),
            )
        )
        if self._is_pouchdb() and not any(
            ix.get("ddoc") == f"_design/{_ddoc_name(ddoc)}" and ix.get("name") == name
            for ix in self.get_indexes(db).get("indexes", [])
        ):
            # PouchDB Server answers 500 to deleting an index that does not exist.
            raise errors.NotFound(
                "Index not found", error="not_found", status=404, method="DELETE", url=url
            )
        result: dict[str, Any] = self._json("DELETE", url)
        return result

    def view(
        self,
        db: str,
        ddoc: str,
        view: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """A design-document view page (``POST`` with ``{"keys": [...]}`` when given)."""
        path = self._partitioned(db, partition, "_design", _ddoc_name(ddoc), "_view", view)
        return self._query(path, params, keys)

    def python_view(
        self,
        db: str,
        map_fn: MapFunction,
        params: Mapping[str, Any] | None = None,
        *,
        reduce: ReduceSpec = None,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """Always raises ``NotSupported``: a server runs JavaScript views only."""
        raise errors.NotSupported(
            "the HTTP backend cannot run Python map functions: a CouchDB server runs "
            "views from JavaScript design documents (use a DesignDocument with a "
            "JavaScript map, or a memory:/sqlite: backend for Python views)"
        )

    def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
        chunk_size: int = 65536,
    ) -> ChangesStream:
        """Open ``/db/_changes`` (a POST when ``body`` is given); see ``backends.http.changes``."""
        if "changes_filter_404" not in self.capabilities:  # PouchDB Server dies on a missing one
            check_changes_filter(params or {}, lambda docid: self.get_doc(db, docid))
        return open_changes(
            self.transport,
            (_check_db(db), "_changes"),
            params,
            body=body,
            raw=raw,
            chunk_size=chunk_size,
        )

    def db_updates(
        self, params: Mapping[str, Any] | None = None, *, raw: bool = False, chunk_size: int = 65536
    ) -> ChangesStream:
        """Open the server's ``/_db_updates`` feed (``NotSupported`` where it has none)."""
        require(self, "db_updates", "the _db_updates feed")
        return open_changes(
            self.transport, ("_db_updates",), params, raw=raw, chunk_size=chunk_size
        )

    def revs_diff(self, db: str, revs: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """``POST /db/_revs_diff``."""
        body = {docid: list(rs) for docid, rs in revs.items()}
        result: dict[str, Any] = self._json("POST", (_check_db(db), "_revs_diff"), json_body=body)
        return result

    # -- attachments ---------------------------------------------------------
    def _attachment_path(self, db: str, docid: str, name: str) -> tuple[str, ...]:
        if not isinstance(name, str) or not name:
            raise ValueError("an attachment name is a non-empty string")
        return (_check_db(db), *doc_id_segments(validate_doc_id(docid)), name)

    def get_attachment(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> tuple[bytes, str]:
        """``(data, content_type)``; ``NotFound`` if the attachment, document or db is absent."""
        response = self.transport.request(
            "GET",
            self._attachment_path(db, docid, name),
            params=encode_params({"rev": rev}),
            headers={"Accept": "*/*"},
        )
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        return response.content, content_type

    def stream_attachment(
        self, db: str, docid: str, name: str, write_to: IO[bytes], *, rev: str | None = None
    ) -> str:
        """``GET`` the attachment as a streamed response, written to ``write_to`` in chunks
        of 1 MiB; return its content type. ``NotFound`` if absent."""
        response = self.transport.request(
            "GET",
            self._attachment_path(db, docid, name),
            params=encode_params({"rev": rev}),
            headers={"Accept": "*/*"},
            stream=True,
        )
        with response:
            for chunk in self.transport.iter_body(response, 1 << 20):
                write_to.write(chunk)
        return str(response.headers.get("Content-Type", "application/octet-stream"))

    def put_attachment(
        self,
        db: str,
        docid: str,
        name: str,
        data: bytes | IO[bytes],
        content_type: str,
        *,
        rev: str | None,
    ) -> dict[str, Any]:
        """``PUT /db/docid/name?rev=``; creates the document when ``rev`` is None. A binary
        file object is sent as a streamed request body (never read whole)."""
        body: bytes | IO[bytes]
        if isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)
        elif hasattr(data, "read"):
            body = data
        else:
            raise TypeError(f"attachment data must be bytes, not {type(data).__name__}")
        result: dict[str, Any] = self.transport.json(
            "PUT",
            self._attachment_path(db, docid, name),
            params=encode_params({"rev": rev}),
            data=body,
            headers={"Content-Type": content_type},
        )
        return result

    def delete_attachment(self, db: str, docid: str, name: str, *, rev: str) -> dict[str, Any]:
        """``DELETE /db/docid/name?rev=``; ``NotFound``/``Conflict``."""
        result: dict[str, Any] = self._json(
            "DELETE", self._attachment_path(db, docid, name), params={"rev": rev}
        )
        return result

    # -- database administration ---------------------------------------------
    def get_security(self, db: str) -> dict[str, Any]:
        """``GET /db/_security``."""
        result: dict[str, Any] = self._json("GET", (_check_db(db), "_security"))
        return result

    def put_security(self, db: str, security: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /db/_security``."""
        result: dict[str, Any] = self._json(
            "PUT", (_check_db(db), "_security"), json_body=dict(security)
        )
        return result

    def _no_revs_limit(self) -> None:
        if self._is_pouchdb():
            raise errors.NotSupported(
                f"{self.url} is PouchDB Server, which has no _revs_limit endpoint"
            )

    def get_revs_limit(self, db: str) -> int:
        """``GET /db/_revs_limit``; ``NotSupported`` on PouchDB Server."""
        self._no_revs_limit()
        return int(self._json("GET", (_check_db(db), "_revs_limit")))

    def set_revs_limit(self, db: str, limit: int) -> dict[str, Any]:
        """``PUT /db/_revs_limit``; ``NotSupported`` on PouchDB Server."""
        check_int("revs_limit", limit, 1)
        self._no_revs_limit()
        result: dict[str, Any] = self._json("PUT", (_check_db(db), "_revs_limit"), json_body=limit)
        return result

    def compact(self, db: str) -> dict[str, Any]:
        """``POST /db/_compact`` (CouchDB insists on the JSON content type)."""
        result: dict[str, Any] = self._json(
            "POST", (_check_db(db), "_compact"), headers={"Content-Type": "application/json"}
        )
        return result

    def view_cleanup(self, db: str) -> dict[str, Any]:
        """``POST /db/_view_cleanup``."""
        result: dict[str, Any] = self._json(
            "POST", (_check_db(db), "_view_cleanup"), headers={"Content-Type": "application/json"}
        )
        return result

    def partition_info(self, db: str, partition: str) -> dict[str, Any]:
        """``GET /db/_partition/{partition}``."""
        result: dict[str, Any] = self._json("GET", self._partitioned(db, partition))
        return result
