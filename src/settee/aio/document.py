"""AsyncDocument: a dict with awaited remote operations, and ``async with db.document(id)``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, overload

from settee import errors
from settee.document import (
    DocumentBase,
    attachment_bytes,
    attachment_stub,
    check_attachment_type,
    decode_attachment,
)
from settee.rows import JSONValue

if TYPE_CHECKING:
    from settee.aio.database import AsyncDatabase

__all__ = ["AsyncDocument"]


class AsyncDocument(DocumentBase["AsyncDatabase"]):
    """One document of ``database`` (a dict of its fields) with awaited remote operations.

    ``await doc.fetch()``, ``create()``, ``save()``, ``delete()``, ``exists()``;
    attachments with ``put_attachment``, ``get_attachment``,
    ``attachment_chunks`` (streamed) and ``delete_attachment``.
    ``async with db.document(id) as doc:`` fetches it (a missing one starts
    empty) and saves it when the block ends without an exception.
    """

    _database: AsyncDatabase

    def __repr__(self) -> str:
        return f"AsyncDocument({dict(self)!r})"

    async def exists(self) -> bool:
        """Whether the document exists (one GET; the local content is left alone)."""
        try:
            await self._database.get_doc(self._require_id())
        except errors.DocumentNotFound:
            return False
        return True

    async def fetch(self) -> AsyncDocument:
        """Replace the content with the stored document; ``DocumentNotFound`` if absent."""
        stored = await self._database.get_doc(self._require_id())
        self.clear()
        self.update(stored)
        return self

    async def create(self) -> AsyncDocument:
        """Write a new document (a uuid ``_id`` if missing); ``Conflict`` if the id exists."""
        self._written(await self._database.put_doc(self._create_body()))
        return self

    async def save(self) -> AsyncDocument:
        """Write the document (``create()`` without ``_rev``); ``Conflict`` on a stale ``_rev``."""
        if self.get("_rev") is None:
            return await self.create()
        self._written(await self._database.put_doc(self._save_body()))
        return self

    async def delete(self) -> None:
        """Delete the stored document (needs ``_rev``); the local copy keeps only ``_id``."""
        docid, rev = self._delete_rev()
        await self._database.delete_doc(docid, rev)
        self._deleted(docid)

    # -- attachments -----------------------------------------------------------
    async def attachment_chunks(self, attachment: str) -> AsyncIterator[bytes]:
        """The attachment's bytes as they arrive over the network (``NotFound`` if absent)."""
        rev = self.get("_rev")
        async for block in self._database.backend.attachment_chunks(
            self._database.database_name, self._require_id(), attachment, rev=rev
        ):
            yield block

    @overload
    async def get_attachment(
        self, attachment: str, attachment_type: Literal["binary"]
    ) -> bytes: ...
    @overload
    async def get_attachment(self, attachment: str, attachment_type: Literal["text"]) -> str: ...
    @overload
    async def get_attachment(
        self, attachment: str, attachment_type: Literal["json"]
    ) -> JSONValue: ...
    @overload
    async def get_attachment(
        self, attachment: str, attachment_type: str | None = None
    ) -> bytes | JSONValue: ...
    async def get_attachment(
        self, attachment: str, attachment_type: str | None = None
    ) -> bytes | JSONValue:
        """The attachment's content: bytes, str (``text/*``) or JSON, as the sync method."""
        check_attachment_type(attachment_type)
        data, content_type = await self._database.backend.call(
            "get_attachment",
            self._database.database_name,
            self._require_id(),
            attachment,
            rev=self.get("_rev"),
        )
        return decode_attachment(data, content_type, attachment_type)

    async def put_attachment(
        self, attachment: str, content_type: str, data: bytes | str | IO[Any]
    ) -> dict[str, Any]:
        """Add or replace an attachment (creates the document without ``_rev``)."""
        payload = attachment_bytes(attachment, content_type, data)
        docid = self._give_id()
        result: dict[str, Any] = await self._database.backend.call(
            "put_attachment",
            self._database.database_name,
            docid,
            attachment,
            payload,
            content_type,
            rev=self.get("_rev"),
        )
        self._attached(result, attachment, attachment_stub(payload, content_type))
        return result

    async def delete_attachment(self, attachment: str) -> dict[str, Any]:
        """Remove an attachment (needs ``_rev``)."""
        rev = self._attachment_rev()
        result: dict[str, Any] = await self._database.backend.call(
            "delete_attachment", self._database.database_name, self._require_id(), attachment,
            rev=rev,
        )  # fmt: skip
        self._detached(result, attachment)
        return result

    # -- async with -------------------------------------------------------------
    async def __aenter__(self) -> AsyncDocument:
        if self.get("_id") is not None:
            with contextlib.suppress(errors.DocumentNotFound):
                await self.fetch()  # a missing document is a new one: created on exit
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.save()
