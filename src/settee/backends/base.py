"""The backend protocol: the few primitives every settee backend answers.

The client/database/document layer (``client.py``, ``database.py``,
``document.py``, ``pages.py``, ``feeds.py``) is written once against
:class:`Backend` and never knows which backend it talks to. A backend owns
nothing but storage and transport; the core owns validation, python-cloudant's
names, caching, paging and retries of conflicts.

Conventions every backend follows
---------------------------------
* Arguments are Python values with CouchDB's names: ``params`` holds query
  options exactly as CouchDB names them (``startkey``, ``endkey``, ``key``,
  ``keys``, ``limit``, ``skip``, ``descending``, ``include_docs``,
  ``inclusive_end``, ``startkey_docid``, ``conflicts``, ``rev``, ``revs``,
  ``open_revs``, ...) with *Python* values. The HTTP backend JSON-encodes the
  JSON-valued ones (``key``, ``keys``, ``startkey``, ``endkey``, ``start_key``,
  ``end_key``, ``open_revs``) and stringifies booleans; local backends use
  them directly. ``None`` values mean "not given" and are dropped.
* Answers are the JSON bodies CouchDB would send, as plain dicts and lists.
* Errors are :mod:`settee.errors` classes with CouchDB's ``error``/``reason``:
  a missing document is ``DocumentNotFound`` (``reason`` ``"missing"`` or
  ``"deleted"``), a missing database ``NotFound`` (``"Database does not
  exist."``), a stale ``_rev`` ``Conflict``, an existing database on create
  ``PreconditionFailed`` (``error="file_exists"``), a feature the backend
  lacks ``NotSupported`` with a sentence that says so.
* Database names and document ids reach a backend already validated by the
  core; the HTTP backend still percent-encodes every segment.

Which layer each backend implements
-----------------------------------
================================  ======  ======  ======
primitive                         http    memory  sqlite
================================  ======  ======  ======
server_info, all_dbs, uuids       yes     yes     yes
create_db / delete_db / db_info   yes     yes     yes
get_doc (rev, revs, open_revs,    yes     yes     yes
conflicts, attachments)
put_doc (fast path)               yes     yes     yes
delete_doc (fast path)            yes     yes     yes
bulk_docs incl. new_edits=false   yes     yes     yes
all_docs / find / indexes         yes     yes     yes
view (JavaScript design docs)     yes     yes [4] yes [4]
validate_doc_update on writes     yes     yes [4] yes [4]
python_view (callables)           no [1]  yes     yes
changes (normal/longpoll/cont.)   yes     yes     yes
db_updates                        yes [2] no [1]  no [1]
revs_diff                         yes     yes     yes
attachments                       yes     yes     yes
security, revs_limit              yes     yes     yes
compact [3] / view_cleanup        yes     yes     yes
partitions                        yes [2] yes     yes
================================  ======  ======  ======

[1] raises ``NotSupported`` with the reason.
[2] where the server has it (CouchDB 3; not PouchDB Server), see
    ``capabilities``.
[3] locally: drops the bodies of non-leaf revisions like CouchDB (SQLite then
    returns the freed pages); ``view_cleanup`` drops the view indexes of
    design documents that are gone or changed.
[4] with the ``settee[js]`` extra (QuickJS runs the JavaScript); without it
    ``NotSupported`` naming the extra. Views are stored indexes updated from
    the changes since their last seq (SQLite: tables in the same file;
    memory: sorted lists); Python views likewise, in memory.

A backend without a fast path for ``put_doc``/``delete_doc`` raises
``NotSupported`` and the core falls back to ``bulk_docs``, turning a
per-document error into the exception the fast path would raise.

HTTP-only operations (sessions, ``_config``, Cloudant's account endpoints,
CORS, replication documents) are not part of this protocol: the client reaches
them through ``backend.transport`` on the HTTP backend and raises
``NotSupported`` elsewhere.

A call that needs a capability the backend lacks (a partitioned database, the
``_db_updates`` feed) is refused by :func:`require` before its request, with a
``NotSupported`` naming the backend and the capability.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any, Literal, Protocol, overload, runtime_checkable

from settee.errors import NotSupported
from settee.rows import Seq

__all__ = [
    "CAPABILITIES",
    "Backend",
    "ChangesStream",
    "MapFunction",
    "OpenRevs",
    "ReduceSpec",
    "doc_params",
    "require",
]

#: ``get_doc(..., open_revs=...)``: every leaf revision (``"all"``) or the listed revs.
OpenRevs = Literal["all"] | list[str] | tuple[str, ...]

#: Capability names a backend may list in ``Backend.capabilities``; tests skip
#: by these, with the reason, never silently.
CAPABILITIES: dict[str, str] = {
    "db_updates": "the server-wide _db_updates feed",
    "partitions": "partitioned databases (_partition endpoints)",
    "feed_timeout": "honours a feed's timeout= parameter",
    "javascript_views": "design documents with JavaScript map/reduce views",
    "python_views": "views whose map function is a Python callable",
    "sessions": "cookie sessions via /_session",
    "config": "the /_config endpoints",
    "seq_interval": "the seq_interval feed option",
    "changes_selector": "the _selector filter on _changes (Mango selector as a POST body)",
    "changes_filter_404": "answers 404 for a _changes filter naming a missing design document or "
    "function (PouchDB Server 4.2's process dies: settee checks the design document first)",
    "multiprocess": "several processes may open the same store",
    "mango_partial_indexes": "partial_filter_selector in Mango indexes",
    # Semantics only some backends give (docs/semantics.md); what every backend
    # gives (each change at least once, per-document order, opaque seqs) has no name.
    "changes_total_order": "_changes rows in write order, one sequence per database",
    "read_your_writes": "_all_docs/_find/views/_changes show a write once it has returned "
    "(on a CouchDB cluster: only for writes made with write_quorum equal to the copies, n)",
    "strict_conflicts": "a write on a stale _rev is always refused (409), never kept as a conflict",
    "versioned_local_docs": "_local documents refuse a stale _rev (Conflict)",
    "couchdb_view_surface": "CouchDB's view extras: isArray/toJSON in map functions, "
    "update=false, reduce=true refused on a map-only view",
    "server_replicator": "the server's own replicator (_replicator documents, _scheduler, "
    "POST /_replicate)",
    "bulk_get": "POST /db/_bulk_get (many documents' revisions in one request)",
    "mango_bookmarks": "_find answers carry a bookmark for the next page "
    "(PouchDB Server 4.2 sends none, apache/pouchdb#8497: settee pages by key there)",
}


def doc_params(
    params: Mapping[str, Any] | None, open_revs: OpenRevs | None
) -> Mapping[str, Any] | None:
    """A ``get_doc``'s ``params`` with ``open_revs`` put in, for a backend to read.

    ``TypeError`` (before any request) if ``params`` holds ``open_revs`` itself,
    or ``open_revs`` is neither ``"all"`` nor a list of revision strings.
    """
    if params and params.get("open_revs") is not None:
        raise TypeError("pass open_revs=... as get_doc's keyword, not in params")
    if open_revs is None:
        return params
    if open_revs != "all":
        if isinstance(open_revs, str) or not isinstance(open_revs, (list, tuple)):
            raise TypeError(f'open_revs must be "all" or a list of revisions, not {open_revs!r}')
        if not all(isinstance(rev, str) for rev in open_revs):
            raise TypeError(f"open_revs must list revision strings, not {open_revs!r}")
        open_revs = list(open_revs)
    return {**(params or {}), "open_revs": open_revs}


def require(backend: Backend, capability: str, what: str) -> None:
    """Raise ``NotSupported`` unless ``backend`` has ``capability`` (a :data:`CAPABILITIES` name).

    Called before the request of ``what`` (e.g. ``"create_database(partitioned=True)"``),
    so a backend without it refuses up front instead of doing something else.
    """
    if capability not in backend.capabilities:
        raise NotSupported(
            f"{what} needs {CAPABILITIES[capability]} (capability {capability!r}), "
            f"which the {backend.kind} backend at {backend.url} does not have"
        )


#: A Python map function: called with a document, yields ``(key, value)`` pairs.
MapFunction = Callable[[dict[str, Any]], Any]
#: A reduce: ``"_count"``, ``"_sum"``, ``"_stats"`` or a callable
#: ``(keys, values, rereduce) -> value``.
ReduceSpec = Any


@runtime_checkable
class ChangesStream(Protocol):
    """One open ``_changes`` / ``_db_updates`` response (or its local twin).

    Iterating yields rows: dicts, or the row's JSON text (``str``) when the
    stream was opened with ``raw=True``. Heartbeats are never yielded, except by
    an HTTP stream whose optional ``surface_heartbeats()`` was called before
    iterating (a continuous body's blank lines then come out as
    :data:`settee.feeds.stream.HEARTBEAT`); the local backends have no heartbeat
    lines, have no such method, and never yield one. When the
    response ends normally, ``last_seq`` (and ``pending`` where the server
    says it) are set and iteration stops. A body that breaks off or does not
    parse raises :class:`settee.errors.FeedError`; a dropped connection raises
    :class:`settee.errors.TransportError`.

    ``close()`` may be called from any thread, at any time, more than once; it
    makes a blocked iteration return (not raise) promptly.
    """

    @property
    def last_seq(self) -> Seq | None:
        """The server's ``last_seq`` once the response ended, else None."""
        ...

    @property
    def pending(self) -> int | None:
        """The server's ``pending`` count once the response ended, where it says it."""
        ...

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


@runtime_checkable
class Backend(Protocol):
    """The storage primitives. See the module docstring for conventions."""

    #: ``"http"``, ``"memory"`` or ``"sqlite"``.
    kind: str
    #: Where it points, safe to show: never carries credentials.
    url: str

    @property
    def capabilities(self) -> frozenset[str]:
        """Names from :data:`CAPABILITIES` this backend (and its server) has."""
        ...

    # -- server -------------------------------------------------------------
    def server_info(self) -> dict[str, Any]:
        """``GET /``: ``{"couchdb": "Welcome", "version": ..., "vendor": {...}, ...}``."""
        ...

    def all_dbs(self) -> list[str]:
        """Every database name, sorted."""
        ...

    def uuids(self, count: int) -> list[str]:
        """``count`` fresh 32-hex-digit ids."""
        ...

    def create_db(
        self, db: str, *, partitioned: bool = False, params: Mapping[str, Any] | None = None
    ) -> None:
        """Create; ``PreconditionFailed`` (``file_exists``) if it exists."""
        ...

    def delete_db(self, db: str) -> None:
        """Delete; ``NotFound`` if absent."""
        ...

    def db_info(self, db: str) -> dict[str, Any]:
        """``GET /db``: ``db_name``, ``doc_count``, ``update_seq``, ``props``..."""
        ...

    def close(self) -> None:
        """Release connections/files. Idempotent."""
        ...

    # -- documents ----------------------------------------------------------
    @overload
    def get_doc(
        self,
        db: str,
        docid: str,
        params: Mapping[str, Any] | None = None,
        *,
        open_revs: None = None,
    ) -> dict[str, Any]: ...
    @overload
    def get_doc(
        self,
        db: str,
        docid: str,
        params: Mapping[str, Any] | None = None,
        *,
        open_revs: OpenRevs,
    ) -> list[dict[str, Any]]: ...
    def get_doc(
        self,
        db: str,
        docid: str,
        params: Mapping[str, Any] | None = None,
        *,
        open_revs: OpenRevs | None = None,
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """The document; with ``open_revs`` the list CouchDB returns (``{"ok": doc}`` or
        ``{"missing": rev}`` per revision). ``open_revs`` is this keyword, never a
        key of ``params`` (``TypeError``): the answer's type follows from it."""
        ...

    def put_doc(
        self, db: str, doc: dict[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Write one document (``doc["_id"]`` set); ``{"ok": True, "id", "rev"}``."""
        ...

    def delete_doc(
        self, db: str, docid: str, rev: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Delete (write a tombstone); ``{"ok": True, "id", "rev"}``."""
        ...

    def bulk_docs(
        self,
        db: str,
        docs: Sequence[dict[str, Any]],
        *,
        new_edits: bool = True,
        w: int | None = None,
    ) -> list[dict[str, Any]]:
        """``POST /db/_bulk_docs``: one result per document, errors included, never raised.

        ``w`` (like ``params={"w": ...}`` of ``put_doc``/``delete_doc`` and
        ``params={"r": ...}`` of ``get_doc``) is a CouchDB cluster's quorum;
        a backend with one copy of each document ignores it.

        A result is ``{"ok": True, "id", "rev"}`` or ``{"id", "error", "reason"}``.
        With ``new_edits=False`` documents carry their own ``_rev`` (and
        ``_revisions``) and conflicts are created instead of rejected; CouchDB
        then returns no result for successful writes.
        """
        ...

    def all_docs(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
    ) -> dict[str, Any]:
        """``_all_docs`` page: ``{"total_rows", "offset", "rows": [...]}``."""
        ...

    def find(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``POST /db/_find``: ``{"docs": [...], "bookmark": ..., "warning"?: ...}``."""
        ...

    def explain(
        self, db: str, query: Mapping[str, Any], *, partition: str | None = None
    ) -> dict[str, Any]:
        """``POST /db/_explain``: the index a ``_find`` of ``query`` would use (``index``)."""
        ...

    def create_index(self, db: str, index: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /db/_index`` body as given; ``{"result": "created"|"exists", "id", "name"}``."""
        ...

    def get_indexes(self, db: str) -> dict[str, Any]:
        """``GET /db/_index``: ``{"total_rows", "indexes": [...]}``."""
        ...

    def delete_index(
        self, db: str, ddoc: str, name: str, *, index_type: str = "json"
    ) -> dict[str, Any]:
        """``DELETE /db/_index/{ddoc}/{type}/{name}``."""
        ...

    def view(
        self,
        db: str,
        ddoc: str,
        view: str,
        params: Mapping[str, Any] | None = None,
        *,
        keys: Sequence[Any] | None = None,
        partition: str | None = None,
        counts: bool = True,
    ) -> dict[str, Any]:
        """A design-document view page (``ddoc`` without the ``_design/`` prefix).

        ``counts=False`` says the caller reads the rows only (a pager): the answer may
        then leave out ``total_rows`` and ``offset`` (the local backends do; they cost
        reads there). A server sends them anyway."""
        ...

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
        """A view computed from a Python map callable (local backends only)."""
        ...

    def changes(
        self,
        db: str,
        params: Mapping[str, Any] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: bool = False,
        chunk_size: int = 65536,
    ) -> ChangesStream:
        """Open ``_changes`` (``params["feed"]`` picks normal/longpoll/continuous).

        ``body`` (``doc_ids`` / ``selector``) makes it a POST.
        """
        ...

    def db_updates(
        self, params: Mapping[str, Any] | None = None, *, raw: bool = False, chunk_size: int = 65536
    ) -> ChangesStream:
        """Open the server-wide ``_db_updates`` feed."""
        ...

    def revs_diff(self, db: str, revs: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """``POST /db/_revs_diff``: ``{id: {"missing": [...], "possible_ancestors"?: [...]}}``."""
        ...

    def get_attachment(
        self, db: str, docid: str, name: str, *, rev: str | None = None
    ) -> tuple[bytes, str]:
        """``(data, content_type)``; ``NotFound`` if absent."""
        ...

    def stream_attachment(
        self, db: str, docid: str, name: str, write_to: IO[bytes], *, rev: str | None = None
    ) -> str:
        """Write the attachment's content to ``write_to`` in chunks (never whole in
        memory); return its content type. ``NotFound`` if absent."""
        ...

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
        """Add/replace one attachment; creates the document when ``rev`` is None. ``data``
        is bytes or a binary file object, read in chunks (never whole in memory)."""
        ...

    def delete_attachment(self, db: str, docid: str, name: str, *, rev: str) -> dict[str, Any]:
        """Remove one attachment (a new revision of the document)."""
        ...

    # -- database administration -------------------------------------------
    def get_security(self, db: str) -> dict[str, Any]: ...

    def put_security(self, db: str, security: Mapping[str, Any]) -> dict[str, Any]: ...

    def get_revs_limit(self, db: str) -> int: ...

    def set_revs_limit(self, db: str, limit: int) -> dict[str, Any]: ...

    def compact(self, db: str) -> dict[str, Any]: ...

    def view_cleanup(self, db: str) -> dict[str, Any]: ...

    def partition_info(self, db: str, partition: str) -> dict[str, Any]: ...
