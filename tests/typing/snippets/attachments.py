"""What a user's mypy sees of attachments: the type follows ``attachment_type``."""

from __future__ import annotations

import io

from typing_extensions import assert_type

import settee
from settee.aio import AsyncDatabase
from settee.rows import JSONValue


def sync(doc: settee.Document) -> None:
    assert_type(doc.get_attachment("a", attachment_type="binary"), bytes)
    assert_type(doc.get_attachment("a", attachment_type="text"), str)
    assert_type(doc.get_attachment("a", attachment_type="json"), JSONValue)
    assert_type(doc.get_attachment("a"), bytes | JSONValue)
    assert_type(doc.get_attachment("a", io.BytesIO()), bytes | JSONValue | None)
    assert_type(doc.get_attachment("a", None, "text"), bytes | JSONValue | None)


async def asynchronous(db: AsyncDatabase) -> None:
    doc = await db.create_document({"_id": "d"})
    assert_type(await doc.get_attachment("a", "binary"), bytes)
    assert_type(await doc.get_attachment("a", attachment_type="text"), str)
    assert_type(await doc.get_attachment("a", "json"), JSONValue)
    assert_type(await doc.get_attachment("a"), bytes | JSONValue)
