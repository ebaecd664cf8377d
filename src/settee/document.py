"""Documents: a ``dict`` with remote operations, design documents, attachments.

A :class:`Document` is its JSON body (``_id``, ``_rev`` and fields) plus the
:class:`~settee.database.Database` it belongs to. ``save()`` writes it and
updates ``_rev`` in place; a stale ``_rev`` raises
:class:`~settee.errors.Conflict` and overwrites nothing. As a ``with`` block
it is fetched (or started fresh) on entry and saved on a clean exit::

    with Document(db, "julia") as doc:
        doc["visits"] = doc.get("visits", 0) + 1
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, cast, overload

from settee import errors
from settee._validate import check_int, check_json, ddoc_name, design_doc_id, validate_doc_id
from settee.rows import JSONValue
from settee.urls import doc_id_segments

if TYPE_CHECKING:
    from types import TracebackType

    from settee.backends.base import Backend
    from settee.client import Client
    from settee.database import Database

__all__ = ["DesignDocument", "Document", "DocumentBase"]

FieldAction = Callable[["Document", str, Any], None]

_TEXT_TYPES = ("text/", "application/xml", "application/javascript")
_JSON_TYPES = ("application/json",)


#: How ``get_attachment`` decodes an attachment (None: by its content type).
AttachmentType = Literal["binary", "text", "json"]

_Doc = TypeVar("_Doc", bound="Document")


def check_attachment_type(attachment_type: object) -> None:
    """``ValueError`` unless ``attachment_type`` is None or an :data:`AttachmentType`."""
    if attachment_type not in (None, "binary", "text", "json"):
        raise ValueError("attachment_type must be None, 'binary', 'text' or 'json'")


def decode_attachment(
    data: bytes, content_type: str | None, attachment_type: str | None
) -> bytes | JSONValue:
    """An attachment's content as ``attachment_type`` asks (None: by its content type)."""
    kind = attachment_type
    if kind is None:
        ctype = (content_type or "").split(";")[0].strip().lower()
        if ctype.startswith(_JSON_TYPES):
            kind = "json"
        elif ctype.startswith(_TEXT_TYPES):
            kind = "text"
        else:
            kind = "binary"
    if kind == "text":
        return data.decode("utf-8")
    if kind == "json":
        decoded: JSONValue = json.loads(data)
        return decoded
    return data


def _check_attachment_names(attachment: object, content_type: object) -> None:
    if not isinstance(attachment, str) or not attachment:
        raise ValueError("attachment name must be a non-empty str")
    if not isinstance(content_type, str) or not content_type:
        raise ValueError("content_type must be a non-empty str")


def attachment_bytes(attachment: str, content_type: str, data: bytes | str | IO[Any]) -> bytes:
    """The bytes to upload (``str`` UTF-8 encoded, a file read); ``ValueError``/``TypeError``."""
    _check_attachment_names(attachment, content_type)
    if hasattr(data, "read"):
        data = data.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("attachment data must be bytes, str or a readable file object")
    return bytes(data)


def attachment_body(
    attachment: str, content_type: str, data: bytes | str | IO[Any]
) -> tuple[bytes | IO[bytes], dict[str, Any]]:
    """What to upload and its ``_attachments`` stub: a seekable binary file as itself
    (streamed, its digest read in chunks), anything else as :func:`attachment_bytes`."""
    _check_attachment_names(attachment, content_type)
    streamed = _seekable_binary(data)
    if streamed is None:
        body = attachment_bytes(attachment, content_type, data)
        return body, attachment_stub(body, content_type)
    md5, length = _digest_of(streamed)
    return streamed, _stub(md5, length, content_type)


def attachment_stub(data: bytes, content_type: str) -> dict[str, Any]:
    """The ``_attachments`` stub that keeps an uploaded attachment when the doc is saved again."""
    return _stub(hashlib.md5(data).digest(), len(data), content_type)


def _stub(md5: bytes, length: int, content_type: str) -> dict[str, Any]:
    # PouchDB finds a stub's data by digest, CouchDB by name: give both.
    digest = base64.b64encode(md5).decode("ascii")
    return {"content_type": content_type, "digest": f"md5-{digest}", "length": length,
            "stub": True}  # fmt: skip


def drop_attachment_stub(doc: dict[str, Any], attachment: str) -> None:
    """Forget the stub of a deleted attachment (and ``_attachments`` once empty)."""
    stubs = doc.get("_attachments")
    if isinstance(stubs, dict):
        stubs.pop(attachment, None)
        if not stubs:
            del doc["_attachments"]


class _Holder(Protocol):
    # What a document asks of the database it belongs to, sync or async.
    def cache_document(self, doc: Any) -> None: ...
    def forget_document(self, docid: str) -> None: ...


_DB = TypeVar("_DB", bound=_Holder)


class DocumentBase(dict[str, Any], Generic[_DB]):
    """What :class:`Document` and :class:`settee.aio.AsyncDocument` are alike, no I/O:
    the fields, the database, the id checks and the bookkeeping around each write
    (the body sent, the ``_rev`` kept, the database's cache). The subclasses send."""

    def __init__(self, database: _DB, document_id: str | None = None) -> None:
        super().__init__()
        self._database = database
        if document_id is not None:
            self["_id"] = validate_doc_id(document_id)

    @property
    def database(self) -> _DB:
        """The database this document belongs to."""
        return self._database

    @property
    def document_id(self) -> str | None:
        """``self["_id"]``, or None before one is set."""
        docid = self.get("_id")
        return docid if isinstance(docid, str) else None

    def _require_id(self) -> str:
        docid = self.get("_id")
        if docid is None:
            raise ValueError("this document has no _id yet: set doc['_id'] or call create()")
        return validate_doc_id(docid)

    def _give_id(self) -> str:
        # A new document without an _id gets a uuid.
        if self.get("_id") is None:
            self["_id"] = uuid.uuid4().hex
        return self._require_id()

    def _create_body(self) -> dict[str, Any]:
        """The body ``create()`` sends (no ``_rev``); ``TypeError`` if it is not JSON."""
        self._give_id()
        body = {k: v for k, v in self.items() if k != "_rev"}
        check_json(body)
        return body

    def _save_body(self) -> dict[str, Any]:
        """The body ``save()`` sends (with its ``_rev``); ``TypeError`` if it is not JSON."""
        self._require_id()
        body = dict(self)
        check_json(body)
        return body

    def _written(self, result: Mapping[str, Any]) -> None:
        # The write's answer names the new revision: this copy is the cached one now.
        self["_rev"] = result["rev"]
        self._database.cache_document(self)

    def _delete_rev(self) -> tuple[str, str]:
        """``(_id, _rev)`` of the stored document to delete; ``ValueError`` without ``_rev``."""
        docid = self._require_id()
        rev = self.get("_rev")
        if not isinstance(rev, str) or not rev:
            raise ValueError(f"document {docid!r} has no _rev: fetch() it first, then delete()")
        return docid, rev

    def _deleted(self, docid: str) -> None:
        self._database.forget_document(docid)
        self.clear()
        self["_id"] = docid

    def _attachment_rev(self) -> str:
        """The ``_rev`` an attachment's removal needs; ``ValueError`` without one."""
        rev = self.get("_rev")
        if not isinstance(rev, str) or not rev:
            raise ValueError("the document has no _rev: fetch() it first")
        return rev

    def _attached(self, result: Mapping[str, Any], attachment: str, stub: dict[str, Any]) -> None:
        # A stub keeps the attachment when this copy is saved again later.
        self["_rev"] = result["rev"]
        self.setdefault("_attachments", {})[attachment] = stub
        self._database.cache_document(self)

    def _detached(self, result: Mapping[str, Any], attachment: str) -> None:
        self["_rev"] = result["rev"]
        drop_attachment_stub(self, attachment)
        self._database.cache_document(self)


class Document(DocumentBase["Database"]):
    """One document of ``database``; ``document_id`` None lets ``create()`` pick a uuid.

    Nothing is requested on construction: call ``fetch()`` (or use
    ``db[doc_id]``, which fetches and caches) to load it.
    """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._database.database_name!r}, {dict(self)!r})"

    # -- where it lives -----------------------------------------------------
    @property
    def client(self) -> Client:
        """The client of the database."""
        return self._database.client

    @property
    def document_url(self) -> str:
        """The document's URL (HTTP backends only; ``NotSupported`` elsewhere)."""
        transport = self._database.client.server_session.transport("document_url")
        segments = doc_id_segments(self._require_id())
        return str(transport.url(self._database.database_name, *segments))

    def _backend_args(self) -> tuple[Backend, str]:
        return self._database.backend, self._database.database_name

    # -- reading ------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the document exists (one GET; the local content is left alone)."""
        try:
            self._database.read_doc(self._require_id())
        except errors.DocumentNotFound:
            return False
        return True

    def fetch(self) -> Document:
        """Replace the local content with the stored document; return self.

        Raises ``DocumentNotFound`` (a ``KeyError``) when it does not exist.
        """
        stored = self._database.read_doc(self._require_id())
        self.clear()
        self.update(stored)
        return self

    def json(self) -> str:
        """The document as JSON text (``TypeError`` if a field is not JSON-serialisable)."""
        try:
            return json.dumps(dict(self), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"document is not JSON-serialisable: {exc}") from exc

    # -- writing ------------------------------------------------------------
    def create(self) -> Document:
        """Write a new document; set ``_id`` (a uuid if missing) and ``_rev``; return self.

        Raises ``Conflict`` if a document with that id exists (it is not
        overwritten), ``TypeError`` if the content is not JSON-serialisable.
        """
        body = self._create_body()
        result = self._database.put_doc(body)
        self["_id"] = body["_id"]  # the answer named this id: checked by the database
        self._written(result)
        return self

    def save(self) -> Document:
        """Write the document (``create()`` when it has no ``_rev``); update ``_rev``; return self.

        Raises ``Conflict`` when ``_rev`` is stale or the document exists and
        this copy has no ``_rev``: nothing is overwritten. A save whose answer
        was lost is checked against the stored revisions: it returns when it
        applied, and raises ``TransportError`` when that cannot be told.
        """
        if self.get("_rev") is None:
            return self.create()
        self._written(self._database.put_doc(self._save_body()))
        return self

    def delete(self) -> None:
        """Delete the stored document (needs ``_rev``); the local copy keeps only ``_id``.

        Raises ``ValueError`` without ``_rev``, ``Conflict`` when it is stale
        (a delete whose answer was lost is checked as ``save()`` is).
        """
        docid, rev = self._delete_rev()
        self._database.delete_doc(docid, rev)
        self._deleted(docid)

    # -- field updates with conflict retries ----------------------------------
    @staticmethod
    def list_field_append(doc: Document, field: str, value: Any) -> None:
        """Action for :meth:`update_field`: append ``value`` to the list ``doc[field]``."""
        if doc.get(field) is None:
            doc[field] = []
        if not isinstance(doc[field], list):
            raise TypeError(f"field {field!r} is a {type(doc[field]).__name__}, not a list")
        if value is not None:
            doc[field].append(value)

    @staticmethod
    def list_field_remove(doc: Document, field: str, value: Any) -> None:
        """Action for :meth:`update_field`: remove ``value`` from the list ``doc[field]``."""
        if not isinstance(doc.get(field), list):
            raise TypeError(f"field {field!r} is not a list")
        doc[field].remove(value)

    @staticmethod
    def field_set(doc: Document, field: str, value: Any) -> None:
        """Action for :meth:`update_field`: set ``doc[field]`` (``None`` removes it)."""
        if value is None:
            doc.pop(field, None)
        else:
            doc[field] = value

    def update_field(
        self, action: FieldAction, field: str, value: Any, max_tries: int = 10
    ) -> None:
        """Fetch, apply ``action(doc, field, value)``, save; on ``Conflict`` start again.

        Gives up after ``max_tries`` conflicts, raising the last ``Conflict``.
        A change is never applied twice: a save whose answer was lost is
        verified (see ``save()``), not re-applied.
        """
        check_int("max_tries", max_tries, 1)
        for attempt in range(1, max_tries + 1):
            self.fetch()
            action(self, field, value)
            try:
                self.save()
                return
            except errors.Conflict:
                if attempt == max_tries:
                    raise

    # -- attachments --------------------------------------------------------
    @overload
    def get_attachment(
        self, attachment: str, write_to: None = None, *, attachment_type: Literal["binary"]
    ) -> bytes: ...
    @overload
    def get_attachment(
        self, attachment: str, write_to: None = None, *, attachment_type: Literal["text"]
    ) -> str: ...
    @overload
    def get_attachment(
        self, attachment: str, write_to: None = None, *, attachment_type: Literal["json"]
    ) -> JSONValue: ...
    @overload
    def get_attachment(
        self, attachment: str, write_to: None = None, attachment_type: None = None
    ) -> bytes | JSONValue: ...
    @overload
    def get_attachment(
        self, attachment: str, write_to: IO[Any] | None, attachment_type: str | None = None
    ) -> bytes | JSONValue | None: ...
    def get_attachment(
        self,
        attachment: str,
        write_to: IO[Any] | None = None,
        attachment_type: str | None = None,
    ) -> bytes | JSONValue | None:
        """The attachment's content: ``bytes`` (``"binary"``), ``str`` (``"text"``) or JSON.

        ``attachment_type`` None picks by content type (``text/*`` -> str,
        ``application/json`` -> parsed JSON, else bytes). With a binary file
        ``write_to`` the content is streamed into it in chunks, never whole in
        memory, and None is returned; with a text file it is decoded and
        written, and returned too. Raises ``NotFound`` if it does not exist.
        """
        check_attachment_type(attachment_type)
        backend, db = self._backend_args()
        if write_to is not None and not isinstance(write_to, io.TextIOBase):
            backend.stream_attachment(
                db, self._require_id(), attachment, write_to, rev=self.get("_rev")
            )
            return None
        data, content_type = backend.get_attachment(
            db, self._require_id(), attachment, rev=self.get("_rev")
        )
        if write_to is not None:
            if isinstance(write_to, io.TextIOBase):
                write_to.write(data.decode("utf-8"))
            else:
                write_to.write(data)
        return decode_attachment(data, content_type, attachment_type)

    def put_attachment(
        self, attachment: str, content_type: str, data: bytes | str | IO[Any]
    ) -> dict[str, Any]:
        """Add or replace an attachment; update ``_rev``; return the server's answer.

        ``data`` may be bytes, str (UTF-8 encoded) or a readable file object;
        a seekable binary file is read in chunks from where it stands and sent
        as a stream, never whole in memory (any other file is read whole).
        Creates the document when it has no ``_rev``. ``Conflict`` if ``_rev`` is stale.
        """
        body, stub = attachment_body(attachment, content_type, data)
        docid = self._give_id()
        backend, db = self._backend_args()
        result: dict[str, Any] = backend.put_attachment(
            db, docid, attachment, body, content_type, rev=self.get("_rev")
        )
        self._attached(result, attachment, stub)
        return result

    def delete_attachment(self, attachment: str) -> dict[str, Any]:
        """Remove an attachment (needs ``_rev``); update ``_rev``; return the answer."""
        rev = self._attachment_rev()
        backend, db = self._backend_args()
        result: dict[str, Any] = backend.delete_attachment(
            db, self._require_id(), attachment, rev=rev
        )
        self._detached(result, attachment)
        return result

    # -- with-block ---------------------------------------------------------
    def __enter__(self: _Doc) -> _Doc:
        if self.get("_id") is not None:
            # A missing document is a new one: it is created on exit.
            with contextlib.suppress(errors.DocumentNotFound):
                self.fetch()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.save()


class DesignDocument(Document):
    """A ``_design/`` document: views, Mango/search indexes and options.

    ``document_id`` may be given with or without the ``_design/`` prefix.
    ``partitioned`` (True/False) sets ``options.partitioned``; None leaves it
    to the database's default.
    """

    def __init__(
        self,
        database: Database,
        document_id: str | None = None,
        partitioned: bool | None = None,
    ) -> None:
        if document_id is not None:
            document_id = design_doc_id(ddoc_name(document_id))
        super().__init__(database, document_id)
        if partitioned is not None:
            self["options"] = {"partitioned": bool(partitioned)}

    def create(self) -> Document:
        if self.get("_id") is None:
            raise ValueError("a design document needs an id (e.g. DesignDocument(db, 'app'))")
        return super().create()

    # -- views --------------------------------------------------------------
    @property
    def views(self) -> dict[str, Any]:
        """The ``views`` dict (created empty when missing)."""
        views: dict[str, Any] = self.setdefault("views", {})
        return views

    def add_view(
        self, view_name: str, map_func: str, reduce_func: str | None = None, **kwargs: Any
    ) -> None:
        """Add a JavaScript view; ``ValueError`` if one by that name exists (use update_view)."""
        if view_name in self.views:
            raise ValueError(f"view {view_name!r} already exists in {self.get('_id')!r}")
        self.views[view_name] = self._view(map_func, reduce_func, kwargs)

    def update_view(
        self, view_name: str, map_func: str, reduce_func: str | None = None, **kwargs: Any
    ) -> None:
        """Replace a view; ``KeyError`` if there is none by that name."""
        if view_name not in self.views:
            raise KeyError(f"no view {view_name!r} in {self.get('_id')!r}")
        self.views[view_name] = self._view(map_func, reduce_func, kwargs)

    @staticmethod
    def _view(map_func: str, reduce_func: str | None, extra: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(map_func, str) or not map_func.strip():
            raise TypeError("map_func must be the JavaScript source of a map function (a str)")
        view: dict[str, Any] = {"map": map_func}
        if reduce_func is not None:
            view["reduce"] = reduce_func
        view.update(extra)
        return view

    def delete_view(self, view_name: str) -> None:
        """Remove a view (nothing happens if there is none)."""
        self.views.pop(view_name, None)

    def get_view(self, view_name: str) -> dict[str, Any] | None:
        """The view's definition (``{"map", "reduce"?}``), or None."""
        view: dict[str, Any] | None = self.views.get(view_name)
        return view

    def list_views(self) -> list[str]:
        """The view names."""
        return list(self.views)

    # -- search indexes -------------------------------------------------------
    @property
    def indexes(self) -> dict[str, Any]:
        """The ``indexes`` dict (search indexes; created empty when missing)."""
        indexes: dict[str, Any] = self.setdefault("indexes", {})
        return indexes

    def add_search_index(self, index_name: str, search_func: str, analyzer: Any = None) -> None:
        """Add a search index; ``ValueError`` if one by that name exists."""
        if index_name in self.indexes:
            raise ValueError(f"index {index_name!r} already exists in {self.get('_id')!r}")
        self.indexes[index_name] = self._index(search_func, analyzer)

    def update_search_index(self, index_name: str, search_func: str, analyzer: Any = None) -> None:
        """Replace a search index; ``KeyError`` if there is none by that name."""
        if index_name not in self.indexes:
            raise KeyError(f"no index {index_name!r} in {self.get('_id')!r}")
        self.indexes[index_name] = self._index(search_func, analyzer)

    @staticmethod
    def _index(search_func: str, analyzer: Any) -> dict[str, Any]:
        if not isinstance(search_func, str) or not search_func.strip():
            raise TypeError("search_func must be the JavaScript source of an index function")
        index: dict[str, Any] = {"index": search_func}
        if analyzer is not None:
            index["analyzer"] = analyzer
        return index

    def delete_index(self, index_name: str) -> None:
        """Remove a search index (nothing happens if there is none)."""
        self.indexes.pop(index_name, None)

    def get_index(self, index_name: str) -> dict[str, Any] | None:
        """The search index's definition, or None."""
        index: dict[str, Any] | None = self.indexes.get(index_name)
        return index

    def list_indexes(self) -> list[str]:
        """The search index names."""
        return list(self.indexes)


def _seekable_binary(data: object) -> IO[bytes] | None:
    """``data`` as a binary file that can be read twice from where it stands, else None."""
    if not hasattr(data, "read") or isinstance(data, io.TextIOBase):
        return None
    try:
        if not data.seekable():  # type: ignore[attr-defined]
            return None
    except (AttributeError, OSError, ValueError):
        return None
    return cast("IO[bytes]", data)


def _digest_of(stream: IO[bytes]) -> tuple[bytes, int]:
    """The md5 and length of ``stream`` from its position on, read in chunks; the
    position is put back."""
    start = stream.tell()
    md5 = hashlib.md5()
    length = 0
    while chunk := stream.read(1 << 20):
        if not isinstance(chunk, bytes):
            raise TypeError("attachment data must be bytes, str or a readable file object")
        md5.update(chunk)
        length += len(chunk)
    stream.seek(start)
    return md5.digest(), length
