"""python-cloudant's ``cloudant.document``: :class:`Document`.

A :class:`settee.document.Document` with python-cloudant's behaviour: the
body is encoded with the client's ``encoder``; ``fetch()``/``save()``/
``delete()`` return None; errors from the server are settee's
:class:`~settee.errors.CouchError` classes, which on the HTTP backend are
also ``requests.HTTPError`` with ``.response``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from settee import document as native
from settee import errors
from settee.compat.cloudant import _raw
from settee.compat.cloudant.error import CloudantArgumentError, CloudantDocumentException
from settee.rows import JSONValue
from settee.urls import doc_id_segments, quote_doc_id, quote_segment

if TYPE_CHECKING:
    from settee.compat.cloudant.database import CouchDatabase
    from settee.http.session import AuthenticatedSession

__all__ = ["Document"]

_JSON = {"Content-Type": "application/json"}


def encode(value: Any, encoder: Any) -> Any:
    """``value`` as plain JSON values, through ``encoder`` (custom types become JSON).
    ``TypeError`` when ``encoder`` is not a ``json.JSONEncoder`` subclass, as
    python-cloudant's ``json.dumps(..., cls=encoder)`` raises for every body it sends."""
    if encoder is None or encoder is json.JSONEncoder:
        return value
    if not (isinstance(encoder, type) and issubclass(encoder, json.JSONEncoder)):
        raise TypeError(f"encoder must be a json.JSONEncoder subclass, not {encoder!r}")
    try:
        return json.loads(json.dumps(value, cls=encoder))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"document is not JSON-serialisable with {encoder.__name__}: {exc}"
        ) from exc


class Document(native.Document):
    """``Document(database, document_id=None, **kwargs)``; ``encoder=`` overrides the
    client's, ``decoder=`` (a ``json.JSONDecoder`` subclass) reads fetched bodies
    (HTTP backends). Nothing is requested on construction."""

    def __init__(
        self, database: CouchDatabase, document_id: str | None = None, **kwargs: Any
    ) -> None:
        try:
            super().__init__(database, document_id)
        except ValueError as exc:
            raise CloudantArgumentError(137, document_id) from exc
        self._document_id = document_id
        given = kwargs.pop("encoder", None)
        self.decoder: type[json.JSONDecoder] | None = kwargs.pop("decoder", None)
        if kwargs:
            raise TypeError(f"Document() got unexpected keyword arguments {sorted(kwargs)}")
        self.encoder: type[json.JSONEncoder] = (
            given or getattr(database, "client_encoder", None) or json.JSONEncoder
        )

    @property
    def r_session(self) -> AuthenticatedSession | None:
        """The client's authenticated session (None before it connects).

        A document whose ``r_session`` is another one (a subclass's property, or
        code replacing it) makes python-cloudant's calls on it, and checks their
        answers with ``raise_for_status()``, as python-cloudant does: ``exists``
        (``head``), ``create`` (``post``), ``fetch`` (``get``), ``save`` (``put``),
        ``delete`` and the attachment methods. Otherwise settee's native path
        runs (write quorums, replayed writes verified, streamed attachments)."""
        session: AuthenticatedSession | None = getattr(self.client, "r_session", None)
        return session

    def _foreign(self) -> AuthenticatedSession | None:
        """The session python-cloudant's calls go through, when ``r_session`` is not
        the client's (see :attr:`r_session`); None: the native path."""
        session = self.r_session
        if session is None or session is getattr(self.client, "r_session", None):
            return None
        docid = self.get("_id")
        if isinstance(docid, str) and any(s in (".", "..") for s in doc_id_segments(docid)):
            return None  # requests would send a dot segment: another endpoint
        return session

    def _url(self) -> str:
        """:attr:`document_url`, for a call that needs one:
        ``CloudantDocumentException(101)`` without an ``_id``."""
        url = self.document_url
        if url is None:
            raise CloudantDocumentException(101)
        return url

    @property
    def document_url(self) -> str | None:  # type: ignore[override]
        """The document's URL; None while it has no ``_id``."""
        if self.get("_id") is None and self._document_id is None:
            return None
        if self.get("_id") is None:
            self["_id"] = self._document_id
        return f"{self.database.database_url}/{quote_doc_id(self._require_id())}"

    def _attachment_url(self, attachment: str) -> str:
        return f"{self.document_url}/{quote_segment(attachment)}"

    def _require_id(self) -> str:
        """The ``_id``; ``CloudantArgumentError(137)`` for one CouchDB reserves (``_all_docs``,
        ``_design`` without a name...), before any request."""
        docid = self.get("_id")
        try:
            return super()._require_id()
        except ValueError as exc:
            if docid is None:
                raise
            raise CloudantArgumentError(137, docid) from exc

    def json(self) -> str:
        """The document as JSON text, encoded with ``encoder``."""
        encoder = self.encoder if isinstance(self.encoder, type) else None
        return json.dumps(dict(self), cls=encoder)

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = encode(dict(self), self.encoder)
        return body

    def exists(self) -> bool:
        """Whether the document exists on the server (``HEAD`` through ``r_session``, as
        python-cloudant's); False while it has no ``_id``. An error answer but 404 raises."""
        if self.get("_id") is None:
            return False
        foreign = self._foreign()
        if foreign is not None:
            return _raw.exists(None, foreign, str(self.document_url))
        session = _raw.session(self.client, *doc_id_segments(self._require_id()))
        if session is None:
            return super().exists()
        return _raw.exists(self.client, session, str(self.document_url))

    def create(self) -> None:  # type: ignore[override]
        """Create it (a server-made uuid ``_id`` when it has none); set ``_id``/``_rev``.
        A 409 ``Conflict`` (also an ``HTTPError``) when the id exists."""
        foreign = self._foreign()
        if foreign is not None:
            answer = _raw.text_json(
                _raw.raised(
                    foreign.post(self.database.database_url, headers=_JSON, data=self.json())
                )
            )
            self["_id"], self["_rev"] = answer["id"], answer["rev"]
            self._document_id = self["_id"]
            return
        if self.get("_id") is None:
            self["_id"] = self.database.client.uuids(1)[0]
        body = {k: v for k, v in self._body().items() if k != "_rev"}
        result = self.database.put_doc(body)
        self["_rev"] = result["rev"]
        self._document_id = self["_id"]
        self.database.cache_document(self)

    def fetch(self) -> None:  # type: ignore[override]
        """Replace the content with the stored document.
        ``CloudantDocumentException(101)`` without an ``_id``; 404 ``DocumentNotFound``."""
        if self.get("_id") is None:
            raise CloudantDocumentException(101)
        foreign = self._foreign()
        if foreign is not None:
            stored = _raw.text_json(_raw.raised(foreign.get(self._url())), self.decoder)
            self.clear()
            self.update(stored)
            return
        if self.decoder is None or self.database.backend.kind != "http":
            super().fetch()
            return
        transport = self.client.server_session.transport("decoder")
        response = transport.request(
            "GET",
            (self.database.database_name, *doc_id_segments(self._require_id())),
            not_found=errors.DocumentNotFound,
        )
        stored = json.loads(response.content, cls=self.decoder)
        self.clear()
        self.update(stored)

    def save(self) -> None:  # type: ignore[override]
        """Create it if it does not exist, else write it (a 409 ``Conflict`` on a stale
        or missing ``_rev``); ``_rev`` is updated."""
        if not self.exists():
            self.create()
            return
        foreign = self._foreign()
        if foreign is not None:
            response = foreign.put(self._url(), data=self.json(), headers=_JSON)
            self["_rev"] = _raw.text_json(_raw.raised(response))["rev"]
            return
        result = self.database.put_doc(self._body())
        self["_rev"] = result["rev"]
        self.database.cache_document(self)

    def delete(self) -> None:
        """Delete it; the local copy keeps only ``_id``.
        ``CloudantDocumentException(103)`` without ``_rev``."""
        if not self.get("_rev"):
            raise CloudantDocumentException(103)
        docid = self._require_id()
        foreign = self._foreign()
        if foreign is not None:
            _raw.raised(foreign.delete(self._url(), params={"rev": self["_rev"]}))
            self.clear()
            self["_id"] = docid
            return
        self.database.delete_doc(docid, self["_rev"])
        self.database.forget_document(docid)
        self.clear()
        self["_id"] = docid

    # -- field helpers ---------------------------------------------------------
    @staticmethod
    def list_field_append(doc: native.Document, field: str, value: Any) -> None:
        """Append ``value`` to the list ``doc[field]`` (created when missing);
        ``CloudantDocumentException(102)`` if it is not a list."""
        if doc.get(field) is None:
            doc[field] = []
        if not isinstance(doc[field], list):
            raise CloudantDocumentException(102, field)
        if value is not None:
            doc[field].append(value)

    @staticmethod
    def list_field_remove(doc: native.Document, field: str, value: Any) -> None:
        """Remove ``value`` from the list ``doc[field]``; ``CloudantDocumentException(102)``
        if it is not a list."""
        if not isinstance(doc.get(field), list):
            raise CloudantDocumentException(102, field)
        doc[field].remove(value)

    @staticmethod
    def field_set(doc: native.Document, field: str, value: Any) -> None:
        """Set ``doc[field]`` to ``value``; None removes the field."""
        if value is None:
            doc.pop(field, None)
        else:
            doc[field] = value

    def update_field(
        self,
        action: Callable[[native.Document, str, Any], None],
        field: str,
        value: Any,
        max_tries: int = 10,
    ) -> None:
        """Apply ``action(doc, field, value)`` and save, fetching and retrying on a
        409 conflict up to ``max_tries`` times."""
        for attempt in range(max_tries + 1):
            action(self, field, value)
            try:
                self.save()
                return
            except Exception as exc:  # a Conflict, or any HTTPError answering 409
                status = getattr(getattr(exc, "response", None), "status_code", None)
                if not isinstance(exc, errors.Conflict) and status != 409:
                    raise
                if attempt >= max_tries:
                    raise
                self.fetch()

    # -- attachments -------------------------------------------------------------
    def _attachment_name(self, attachment: str) -> str:
        """``attachment``, before any request: the document id is checked first (137),
        then ``CloudantArgumentError(138)`` for a name CouchDB reserves (one starting
        with ``_``)."""
        if self.get("_id") is not None:
            self._require_id()
        if isinstance(attachment, str) and attachment.startswith("_"):
            raise CloudantArgumentError(138, attachment)
        return attachment

    def get_attachment(  # type: ignore[override]
        self,
        attachment: str,
        headers: dict[str, str] | None = None,
        write_to: IO[Any] | None = None,
        attachment_type: str | None = None,
    ) -> bytes | str | Any:
        """The attachment's content (``bytes``, ``str`` or JSON by ``attachment_type``
        or its content type); also written to ``write_to`` when given (``str`` for a
        text attachment, else ``bytes``), and returned all the same."""
        if attachment_type == "auto":
            attachment_type = None
        name = self._attachment_name(attachment)
        foreign = self._foreign()
        if foreign is not None:
            self.fetch()
            # ?rev= rather than python-cloudant's If-Match: PouchDB Server honours only it
            rev = {"rev": self["_rev"]}
            response = _raw.raised(foreign.get(self._attachment_url(name), params=rev))
            content: bytes | JSONValue
            if attachment_type == "text":
                content = response.text
            else:
                kind = response.headers.get("Content-Type")
                content = native.decode_attachment(response.content, kind, attachment_type)
        else:
            content = super().get_attachment(name, None, attachment_type)
        if write_to is not None:
            if isinstance(content, (bytes, str)):
                write_to.write(content)
            else:
                write_to.write(json.dumps(content))
        return content

    def put_attachment(
        self,
        attachment: str,
        content_type: str,
        data: bytes | str | IO[Any],
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Add or replace an attachment, then fetch the document; return the answer."""
        name = self._attachment_name(attachment)
        foreign = self._foreign()
        if foreign is None:
            result = super().put_attachment(name, content_type, data)
        else:
            self.fetch()
            url, rev = self._attachment_url(name), {"rev": self["_rev"]}
            headers = {"Content-Type": content_type}
            response = foreign.put(url, data=data, headers=headers, params=rev)
            result = _raw.text_json(_raw.raised(response))
        self.fetch()
        return result

    def delete_attachment(
        self, attachment: str, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Remove an attachment, then fetch the document; return the answer."""
        name = self._attachment_name(attachment)
        foreign = self._foreign()
        if foreign is not None:  # python-cloudant's: fetch first, then the new _rev
            self.fetch()
            response = foreign.delete(self._attachment_url(name), params={"rev": self["_rev"]})
            result: dict[str, Any] = _raw.text_json(_raw.raised(response))
            self["_rev"] = result["rev"]
            native.drop_attachment_stub(self, name)
            return result
        result = super().delete_attachment(name)
        self.fetch()
        return result
