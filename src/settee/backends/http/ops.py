"""The HTTP backend's primitives as sans-I/O operations, shared by the sync and async shells.

Each primitive of :class:`~settee.backends.base.Backend` is a generator
method of :class:`HTTPOps`: it validates its arguments, yields the
:class:`Call` (method, encoded path and query, body, headers, which 404
class) it needs, receives the decoded answer, and returns the primitive's
result. It never touches a socket: :class:`~settee.backends.http.HTTPBackend`
drives it with the requests transport (:func:`run_sync`), settee.aio's HTTP
backend with the aiohttp one, so the request building, the PouchDB Server
workarounds and the answer checks exist once. An op may need several calls
(``delete_db`` on PouchDB Server asks ``_all_dbs`` first; the server is
identified once, from ``GET /``, whichever op needs it first).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import IO, Any, Generic, NoReturn, TypeVar, overload
from urllib.parse import quote

from settee import errors
from settee._validate import check_changes_filter, check_int, ddoc_name, validate_doc_id
from settee.backends.base import MapFunction, OpenRevs, ReduceSpec, doc_params, require
from settee.backends.http.support import (
    bound_all_docs,
    bound_find,
    capabilities_for,
    encode_params,
    is_pouchdb,
    may_lack_an_index,
    needs_membership,
    semantics_for,
    with_pouchdb_warning,
)
from settee.http.core import dumps, segments_url
from settee.urls import doc_id_segments, quote_segment, redact_url

__all__ = ["Call", "HTTPOps", "Op", "OpRun", "recast_missing_db"]

_T = TypeVar("_T")
#: An operation: yields :class:`Call` s, is sent each answer, returns ``_T``.
Op = Generator["Call", Any, _T]

_UUIDS_PER_REQUEST = 1000
_log = logging.getLogger("settee")
# 404 reasons that mean the database, not the document, is missing.
_NO_DB_REASONS = frozenset({"Database does not exist.", "no_db_file"})


@dataclasses.dataclass(frozen=True)
class Call:
    """One request an op needs; the shell sends it and sends back the answer.

    The answer is the decoded JSON, or ``(data, content_type)`` when
    ``content`` is set, or ``(status_code, decoded JSON)`` when ``status`` is.
    ``document``: a 404 is ``DocumentNotFound`` unless the body says the
    database is missing (see :func:`recast_missing_db`).
    """

    method: str
    path: tuple[str, ...] | str
    params: Mapping[str, Any] | None = None
    json_body: Any = None
    data: bytes | IO[bytes] | None = None
    headers: Mapping[str, str] | None = None
    not_found: type[errors.NotFound] = errors.NotFound
    document: bool = False
    content: bool = False
    status: bool = False

    @classmethod
    def json(
        cls,
        method: str,
        path: tuple[str, ...] | str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        document: bool = False,
        status: bool = False,
    ) -> Call:
        """A JSON call with ``params`` given as Python values (encoded here)."""
        return cls(
            method,
            path,
            params=encode_params(params),
            json_body=json_body,
            headers=headers,
            not_found=errors.DocumentNotFound if document else errors.NotFound,
            document=document,
            status=status,
        )

    @property
    def transport_kwargs(self) -> dict[str, Any]:
        """The keywords of ``Transport.request`` / ``AsyncTransport.request`` for this call."""
        return {
            "params": self.params,
            "json_body": self.json_body,
            "data": self.data,
            "headers": self.headers,
            "not_found": self.not_found,
        }


def recast_missing_db(call: Call, exc: errors.SetteeError) -> errors.SetteeError:
    """The error to raise for ``exc``: a document 404 whose body says the *database* is missing
    becomes ``NotFound``."""
    if call.document and isinstance(exc, errors.DocumentNotFound) and exc.reason in _NO_DB_REASONS:
        return errors.recast(exc, errors.NotFound, exc.reason)
    return exc


class OpRun(Generic[_T]):
    """One op being driven by a shell: the :class:`Call` it waits on, then its result.

    The shell only sends: ``step(response)`` with the answer to :attr:`call` (or the
    ``SetteeError`` sending it raised) decodes it as the call asks (see :class:`Call`)
    and hands it to the op, or throws the error (a missing database recast, see
    :func:`recast_missing_db`) into it::

        with OpRun(op, transport.decode) as run:
            while run.call is not None:
                run.step(send(run.call))
            return run.result
    """

    def __init__(self, op: Op[_T], decode: Callable[[Any], Any]) -> None:
        self._op = op
        self._decode = decode
        self.call: Call | None = None
        self.result: _T
        self._advance(next, op)

    def _advance(self, move: Callable[..., Call], *args: Any) -> None:
        try:
            self.call = move(*args)
        except StopIteration as done:
            self.call = None
            self.result = done.value

    def step(self, response: Any) -> None:
        """Give the op the answer to :attr:`call` (``response``, or the error it raised)."""
        call = self.call
        assert call is not None
        error: errors.SetteeError | None = None
        answer: Any = None
        if isinstance(response, errors.SetteeError):
            error = recast_missing_db(call, response)
            if error is not response:
                error.__cause__ = response
        else:
            try:
                answer = self._answer(call, response)
            except errors.SetteeError as exc:
                error = exc
        if error is not None:
            self._advance(self._op.throw, error)
        else:
            self._advance(self._op.send, answer)

    def _answer(self, call: Call, response: Any) -> Any:
        if call.content:
            return response.content, response.headers.get(
                "Content-Type", "application/octet-stream"
            )
        if call.status:
            return response.status_code, self._decode(response)
        return self._decode(response)

    def __enter__(self) -> OpRun[_T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._op.close()


def warn_if_accepted(status: int, what: str, target: str, w: object) -> None:
    """Log CouchDB's 202: the write is stored, on fewer copies than the write quorum
    (``w``, else the server's majority) within its timeout; the rest follow later, so
    a read right after it may miss it."""
    if status == 202:
        quorum = f"write quorum w={w}" if w is not None else "the server's write quorum"
        _log.warning(
            "%s %s: accepted (202) by fewer copies than %s; stored, still propagating",
            what,
            target,
            quorum,
        )


class _NeedDocument(Exception):
    # check_changes_filter asked for a document the op has not fetched yet.
    def __init__(self, docid: str) -> None:
        super().__init__(docid)
        self.docid = docid


def check_db(db: str) -> str:
    if not isinstance(db, str):
        raise TypeError(f"database names are strings, not {type(db).__name__}")
    if not db:
        raise ValueError("a database name cannot be empty")
    return db


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


class HTTPOps:
    """The primitives as operations against the server at ``base_url`` (no credentials).

    Also what :func:`~settee.backends.base.require` reads (``kind``, ``url``,
    ``capabilities``) once :meth:`server_capabilities` has run.
    """

    kind = "http"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.url = redact_url(base_url)
        self._capabilities: frozenset[str] | None = None
        self._info: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> frozenset[str]:
        """The capabilities found by :meth:`server_capabilities` (empty before it ran)."""
        return self._capabilities or frozenset()

    @property
    def known_capabilities(self) -> frozenset[str] | None:
        """The capabilities once a request has learnt them (no I/O), else None."""
        return self._capabilities

    def server_capabilities(self) -> Op[frozenset[str]]:
        """Capabilities of the server, from ``GET /`` on first use, then cached."""
        if self._capabilities is None:
            info = yield from self.server_info()
            membership: object = None
            if needs_membership(info):  # how many nodes hold copies: a single node or a cluster
                try:
                    membership = yield Call("GET", ("_membership",))
                except (errors.CouchError, errors.TransportError):
                    membership = None
            caps = capabilities_for(info) | semantics_for(info, membership)
            with self._lock:
                self._info = info
                self._capabilities = caps
        return self._capabilities

    def _require(self, capability: str, what: str) -> Op[None]:
        yield from self.server_capabilities()
        require(self, capability, what)  # type: ignore[arg-type]  # reads kind, url, capabilities

    def _is_pouchdb(self) -> Op[bool]:
        """Whether the server is PouchDB Server (whose quirks some primitives work around)."""
        if self._info is None:
            try:
                yield from self.server_capabilities()
            except errors.CouchError:
                # GET / refused (e.g. a proxy that only routes /db paths): not
                # PouchDB Server, which always answers it. Not cached.
                return False
        return is_pouchdb(self._info or {})

    # -- server --------------------------------------------------------------
    def server_info(self) -> Op[dict[str, Any]]:
        """``GET /`` (welcome, version, vendor...)."""
        info: dict[str, Any] = yield Call("GET", ())
        return info

    def all_dbs(self) -> Op[list[str]]:
        """``GET /_all_dbs``, sorted."""
        names: list[str] = yield Call.json("GET", ("_all_dbs",))
        return sorted(names)

    def uuids(self, count: int) -> Op[list[str]]:
        """``count`` ids from ``GET /_uuids`` (dashes removed: 32 hex digits)."""
        check_int("count", count)
        ids: list[str] = []
        while len(ids) < count:
            # Servers cap one request (CouchDB's [uuids] max_count, 1000 by default).
            batch = min(count - len(ids), _UUIDS_PER_REQUEST)
            answer = yield Call.json("GET", ("_uuids",), params={"count": batch})
            # PouchDB Server answers RFC 4122 uuids with dashes; CouchDB 32 hex digits.
            ids.extend(str(u).replace("-", "") for u in answer["uuids"])
        return ids

    def create_db(
        self, db: str, *, partitioned: bool = False, params: Mapping[str, Any] | None = None
    ) -> Op[None]:
        """``PUT /db``; ``PreconditionFailed`` (``file_exists``) if it exists."""
        query = dict(params or {})
        if partitioned:
            yield from self._require("partitions", "a partitioned database")
            query["partitioned"] = True
        yield Call.json("PUT", (check_db(db),), params=query)

    def delete_db(self, db: str) -> Op[None]:
        """``DELETE /db``; ``NotFound`` if absent."""
        if (yield from self._is_pouchdb()):
            # PouchDB Server answers 200 to deleting a database that does not
            # exist; ask first so every backend raises NotFound alike. Asked
            # through _all_dbs, not GET /db: PouchDB Server 4.2 hangs (or
            # dies) on a database request that arrives without a valid
            # session, and _all_dbs is safe. It lists "a/b" as "ab".
            names = set((yield Call.json("GET", ("_all_dbs",))))
            if db not in names and db.replace("/", "") not in names:
                raise errors.NotFound(
                    "Database does not exist.",
                    error="not_found",
                    status=404,
                    method="DELETE",
                    url=segments_url(self.base_url, check_db(db)),
                )
        yield Call.json("DELETE", (check_db(db),))

    def db_info(self, db: str) -> Op[dict[str, Any]]:
        """``GET /db``; ``NotFound`` if absent."""
        info: dict[str, Any] = yield Call.json("GET", (check_db(db),))
        return info

    @overload
    def get_doc(
        self,
        db: str,
        docid: str,
        params: Mapping[str, Any] | None = None,
        *,
        open_revs: None = None,
    ) -> Op[dict[str, Any]]: ...
    @overload
    def get_doc(
        self,
        db: str,
        docid: str,
        params: Mapping[str, Any] | None = None,
        *,
        open_revs: OpenRevs,
    ) -> Op[list[dict[str, Any]]]: ...
    def get_doc(
        self,
        db: str,
        docid: str,
        params: Mapping[str, Any] | None = None,
        *,
        open_revs: OpenRevs | None = None,
    ) -> Op[dict[str, Any]] | Op[list[dict[str, Any]]]:
        """``GET /db/docid``; ``DocumentNotFound`` if absent, ``NotFound`` if the db is.

        ``ServerError`` if the answer is not that document (not an object, or
        another ``_id``; with ``open_revs``, not a list).
        """
        return self._get_doc(db, docid, doc_params(params, open_revs))

    def _get_doc(self, db: str, docid: str, params: Mapping[str, Any] | None) -> Op[Any]:
        answer = yield Call.json(
            "GET",
            (check_db(db), *doc_id_segments(validate_doc_id(docid))),
            params=params,
            document=True,
        )
        return _checked_doc(answer, db, docid, params)

    def put_doc(
        self, db: str, doc: dict[str, Any], params: Mapping[str, Any] | None = None
    ) -> Op[dict[str, Any]]:
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
        body = dumps(doc)  # TypeError before anything is sent
        status, result = yield Call(
            "PUT",
            (check_db(db), *doc_id_segments(validate_doc_id(docid))),
            params=encode_params(query),
            data=body,
            headers={"Content-Type": "application/json"},
            not_found=errors.NotFound,
            status=True,
        )
        warn_if_accepted(status, "PUT", docid, query.get("w"))
        answer: dict[str, Any] = result
        return answer

    def delete_doc(
        self, db: str, docid: str, rev: str, params: Mapping[str, Any] | None = None
    ) -> Op[dict[str, Any]]:
        """``DELETE /db/docid?rev=``; ``Conflict`` on a stale rev, ``DocumentNotFound``."""
        if not isinstance(rev, str) or not rev:
            raise ValueError("delete_doc needs the document's current rev")
        query = {**(params or {}), "rev": rev}
        status, result = yield Call.json(
            "DELETE",
            (check_db(db), *doc_id_segments(validate_doc_id(docid))),
            params=query,
            document=True,
            status=True,
        )
        warn_if_accepted(status, "DELETE", docid, query.get("w"))
        answer: dict[str, Any] = result
        return answer

    def bulk_docs(
        self,
        db: str,
        docs: Sequence[dict[str, Any]],
        *,
        new_edits: bool = True,
        w: int | None = None,
    ) -> Op[list[dict[str, Any]]]:
        """``POST /db/_bulk_docs``: one result per document (``[]`` with new_edits=False);
        ``w`` goes in the body, where CouchDB reads it."""
        body: dict[str, Any] = {"docs": list(docs)}
        if not new_edits:
            body["new_edits"] = False
        if w is not None:
            body["w"] = w
        status, results = yield Call.json(
            "POST", (check_db(db), "_bulk_docs"), json_body=body, status=True
        )
        warn_if_accepted(status, "_bulk_docs of", f"{len(body['docs'])} documents", w)
        answer: list[dict[str, Any]] = results
        return answer

    def all_docs(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> Op[dict[str, Any]]:
        """``_all_docs`` (``POST`` with ``{"keys": [...]}`` when ``keys`` is given)."""
        path = self._partitioned(db, partition, "_all_docs")
        encode_params(params)  # TypeError before any request, the capability probe included
        if keys is None and (yield from self._is_pouchdb()):
            params = bound_all_docs(params)
        return (yield from self._query(path, params, keys))

    def _partitioned(self, db: str, partition: str | None, *rest: str) -> tuple[str, ...]:
        if partition is None:
            return (check_db(db), *rest)
        if not isinstance(partition, str) or not partition or partition.startswith("_"):
            raise ValueError(f"invalid partition name {partition!r}")
        return (check_db(db), "_partition", partition, *rest)

    def _query(
        self, path: tuple[str, ...], params: Mapping[str, Any] | None, keys: Sequence[Any] | None
    ) -> Op[dict[str, Any]]:
        if keys is None:
            result: dict[str, Any] = yield Call.json("GET", path, params=params)
        else:
            result = yield Call.json("POST", path, params=params, json_body={"keys": list(keys)})
        return result

    def find(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> Op[dict[str, Any]]:
        """``POST /db/_find`` (or the partition's)."""
        body = dict(query)
        data = dumps(body)  # TypeError before any request, the capability probe included
        path = self._partitioned(db, partition, "_find")
        if not (yield from self._is_pouchdb()):
            return (yield from self._post_query(path, data))
        bounded = bound_find(body)
        if bounded is body:
            return (yield from self._post_query(path, data))
        result = yield from self._post_query(path, dumps(bounded))  # the bounded body
        if "warning" in result or not may_lack_an_index(body):
            return result
        # The bound is an _id field, which PouchDB's _all_docs index serves: its
        # planner no longer says that no index fits the query as given. Ask it.
        try:
            plan = yield from self._post_query(self._partitioned(db, partition, "_explain"), data)
        except errors.CouchError as exc:  # the answer stands; only the advice is lost
            _log.debug("no _explain for the warning of a _find: %s", exc)
            return result
        return with_pouchdb_warning(result, plan)

    def explain(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> Op[dict[str, Any]]:
        """``POST /db/_explain`` (or the partition's): which index a ``_find`` would use."""
        data = dumps(dict(query))  # TypeError before any request
        return (yield from self._post_query(self._partitioned(db, partition, "_explain"), data))

    def _post_query(self, path: tuple[str, ...], data: bytes) -> Op[dict[str, Any]]:
        # The body is encoded already (before any request, capability probes included).
        result: dict[str, Any] = yield Call(
            "POST", path, data=data, headers={"Content-Type": "application/json"}
        )
        return result

    def create_index(self, db: str, index: Mapping[str, Any]) -> Op[dict[str, Any]]:
        """``POST /db/_index``."""
        result: dict[str, Any] = yield Call.json(
            "POST", (check_db(db), "_index"), json_body=dict(index)
        )
        return result

    def get_indexes(self, db: str) -> Op[dict[str, Any]]:
        """``GET /db/_index``."""
        result: dict[str, Any] = yield Call.json("GET", (check_db(db), "_index"))
        return result

    def delete_index(
        self, db: str, ddoc: str, name: str, *, index_type: str = "json"
    ) -> Op[dict[str, Any]]:
        """``DELETE /db/_index/_design%2F{ddoc}/{type}/{name}``; ``NotFound`` if absent."""
        if not isinstance(index_type, str) or not isinstance(name, str) or not name:
            raise ValueError("delete_index needs an index type and a non-empty index name")
        # The design doc id travels as ONE segment ("_design%2Fddoc"): PouchDB
        # Server routes /:db/_index/:ddoc/:type/:name, and CouchDB accepts both.
        url = "/".join(
            (
                segments_url(self.base_url, check_db(db), "_index"),
                quote(f"_design/{ddoc_name(ddoc)}", safe=""),
                quote_segment(index_type),
                quote_segment(name),
            )
        )
        if (yield from self._is_pouchdb()) and not any(
            ix.get("ddoc") == f"_design/{ddoc_name(ddoc)}" and ix.get("name") == name
            for ix in (yield from self.get_indexes(db)).get("indexes", [])
        ):
            # PouchDB Server answers 500 to deleting an index that does not exist.
            raise errors.NotFound(
                "Index not found", error="not_found", status=404, method="DELETE", url=url
            )
        result: dict[str, Any] = yield Call.json("DELETE", url)
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
    ) -> Op[dict[str, Any]]:
        """A design-document view page (``POST`` with ``{"keys": [...]}`` when given)."""
        path = self._partitioned(db, partition, "_design", ddoc_name(ddoc), "_view", view)
        return (yield from self._query(path, params, keys))

    def python_view(
        self,
        db: str,
        map_fn: MapFunction,
        params: Mapping[str, Any] | None = None,
        *,
        reduce: ReduceSpec = None,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> NoReturn:
        """Always raises ``NotSupported`` (when called): a server runs JavaScript views only."""
        raise errors.NotSupported(
            "the HTTP backend cannot run Python map functions: a CouchDB server runs "
            "views from JavaScript design documents (use a DesignDocument with a "
            "JavaScript map, or a memory:/sqlite: backend for Python views)"
        )

    def revs_diff(self, db: str, revs: Mapping[str, Sequence[str]]) -> Op[dict[str, Any]]:
        """``POST /db/_revs_diff``."""
        body = {docid: list(rs) for docid, rs in revs.items()}
        result: dict[str, Any] = yield Call.json(
            "POST", (check_db(db), "_revs_diff"), json_body=body
        )
        return result

    # -- attachments ---------------------------------------------------------
    def _attachment_path(self, db: str, docid: str, name: str) -> tuple[str, ...]:
        if not isinstance(name, str) or not name:
            raise ValueError("an attachment name is a non-empty string")
        return (check_db(db), *doc_id_segments(validate_doc_id(docid)), name)

    def get_attachment(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> Op[tuple[bytes, str]]:
        """``(data, content_type)``; ``NotFound`` if the attachment, document or db is absent."""
        answer: tuple[bytes, str] = yield self.attachment_call(db, docid, name, rev=rev)
        return answer

    def attachment_call(self, db: str, docid: str, name: str, *, rev: str | None = None) -> Call:
        """The ``GET`` of one attachment (answered ``(data, content_type)``, or streamed)."""
        return Call(
            "GET",
            self._attachment_path(db, docid, name),
            params=encode_params({"rev": rev}),
            headers={"Accept": "*/*"},
            content=True,
        )

    def put_attachment(
        self,
        db: str,
        docid: str,
        name: str,
        data: bytes | IO[bytes],
        content_type: str,
        *,
        rev: str | None,
    ) -> Op[dict[str, Any]]:
        """``PUT /db/docid/name?rev=``; creates the document when ``rev`` is None. A binary
        file object is sent as a streamed request body (never read whole)."""
        body: bytes | IO[bytes]
        if isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)
        elif hasattr(data, "read"):
            body = data
        else:
            raise TypeError(f"attachment data must be bytes, not {type(data).__name__}")
        result: dict[str, Any] = yield Call(
            "PUT",
            self._attachment_path(db, docid, name),
            params=encode_params({"rev": rev}),
            data=body,
            headers={"Content-Type": content_type},
        )
        return result

    def delete_attachment(self, db: str, docid: str, name: str, *, rev: str) -> Op[dict[str, Any]]:
        """``DELETE /db/docid/name?rev=``; ``NotFound``/``Conflict``."""
        result: dict[str, Any] = yield Call.json(
            "DELETE", self._attachment_path(db, docid, name), params={"rev": rev}
        )
        return result

    # -- database administration ---------------------------------------------
    def get_security(self, db: str) -> Op[dict[str, Any]]:
        """``GET /db/_security``."""
        result: dict[str, Any] = yield Call.json("GET", (check_db(db), "_security"))
        return result

    def put_security(self, db: str, security: Mapping[str, Any]) -> Op[dict[str, Any]]:
        """``PUT /db/_security``."""
        result: dict[str, Any] = yield Call.json(
            "PUT", (check_db(db), "_security"), json_body=dict(security)
        )
        return result

    def _no_revs_limit(self) -> Op[None]:
        if (yield from self._is_pouchdb()):
            raise errors.NotSupported(
                f"{self.url} is PouchDB Server, which has no _revs_limit endpoint"
            )

    def get_revs_limit(self, db: str) -> Op[int]:
        """``GET /db/_revs_limit``; ``NotSupported`` on PouchDB Server."""
        yield from self._no_revs_limit()
        return int((yield Call.json("GET", (check_db(db), "_revs_limit"))))

    def set_revs_limit(self, db: str, limit: int) -> Op[dict[str, Any]]:
        """``PUT /db/_revs_limit``; ``NotSupported`` on PouchDB Server."""
        check_int("revs_limit", limit, 1)
        yield from self._no_revs_limit()
        result: dict[str, Any] = yield Call.json(
            "PUT", (check_db(db), "_revs_limit"), json_body=limit
        )
        return result

    def compact(self, db: str) -> Op[dict[str, Any]]:
        """``POST /db/_compact`` (CouchDB insists on the JSON content type)."""
        result: dict[str, Any] = yield Call.json(
            "POST", (check_db(db), "_compact"), headers={"Content-Type": "application/json"}
        )
        return result

    def view_cleanup(self, db: str) -> Op[dict[str, Any]]:
        """``POST /db/_view_cleanup``."""
        result: dict[str, Any] = yield Call.json(
            "POST", (check_db(db), "_view_cleanup"), headers={"Content-Type": "application/json"}
        )
        return result

    def check_feed_filter(self, db: str, params: Mapping[str, Any] | None) -> Op[None]:
        """Refuse a ``_changes`` filter naming a missing design document or function up front
        where the server cannot (PouchDB Server 4.2's process dies on one)."""
        caps = yield from self.server_capabilities()
        if "changes_filter_404" in caps:
            return
        fetched: dict[str, Any] = {}

        def lookup(docid: str) -> Any:
            if docid not in fetched:
                raise _NeedDocument(docid)
            found = fetched[docid]
            if isinstance(found, errors.DocumentNotFound):
                raise found
            return found

        while True:
            try:
                check_changes_filter(params or {}, lookup)
                return
            except _NeedDocument as need:
                try:
                    fetched[need.docid] = yield from self.get_doc(db, need.docid)
                except errors.DocumentNotFound as exc:
                    fetched[need.docid] = exc

    def partition_info(self, db: str, partition: str) -> Op[dict[str, Any]]:
        """``GET /db/_partition/{partition}``."""
        result: dict[str, Any] = yield Call.json("GET", self._partitioned(db, partition))
        return result
