"""What CouchDB answers, as TypedDicts: the rows of feeds, views and ``_find`` pages.

Only the JSON edge is ``Any`` (keys, values, document bodies). Optional
members are in a ``total=False`` base class, required ones in the subclass.
"""

from __future__ import annotations

from typing import Any, TypeAlias, TypedDict

__all__ = [
    "AllDocsRow",
    "AllDocsValue",
    "BulkResult",
    "ChangeRev",
    "ChangeRow",
    "DbUpdateRow",
    "DocumentBody",
    "FindPage",
    "JSONValue",
    "Seq",
    "ViewRow",
]

#: A feed position: a str (CouchDB 2+), an int (PouchDB, CouchDB 1) or an old Cloudant list.
Seq = str | int | list[Any]

#: Any JSON value, as ``json.loads`` gives it (a JSON attachment's content).
JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

#: A document's JSON body (``_id``, ``_rev`` and the user's members).
DocumentBody = dict[str, Any]


class ChangeRev(TypedDict):
    """One leaf revision in a change row's ``changes``."""

    rev: str


class _ChangeRowOptional(TypedDict, total=False):
    deleted: bool
    doc: DocumentBody | None


class ChangeRow(_ChangeRowOptional):
    """A ``_changes`` row: ``seq`` (opaque; None with ``seq_interval``), ``id``, ``changes``."""

    seq: Seq | None
    id: str
    changes: list[ChangeRev]


class _DbUpdateRowOptional(TypedDict, total=False):
    seq: Seq | None


class DbUpdateRow(_DbUpdateRowOptional):
    """A ``_db_updates`` row: ``db_name``, ``type`` (created/updated/deleted), ``seq``."""

    db_name: str
    type: str


class _ViewRowOptional(TypedDict, total=False):
    id: str
    doc: DocumentBody | None
    error: str


class ViewRow(_ViewRowOptional):
    """A view row: ``key``, ``value``; ``id`` (absent when reduced), ``doc``, ``error``."""

    key: Any
    value: Any


class _AllDocsValueOptional(TypedDict, total=False):
    deleted: bool


class AllDocsValue(_AllDocsValueOptional):
    """The ``value`` of an ``_all_docs`` row: the winning ``rev`` (and ``deleted``)."""

    rev: str


class _AllDocsRowOptional(TypedDict, total=False):
    id: str
    value: AllDocsValue
    doc: DocumentBody | None
    error: str


class AllDocsRow(_AllDocsRowOptional):
    """An ``_all_docs`` row: ``key``, ``id``, ``value``; with ``keys=`` a miss has ``error``."""

    key: Any


class _FindPageOptional(TypedDict, total=False):
    bookmark: str
    warning: str
    execution_stats: dict[str, Any]


class FindPage(_FindPageOptional):
    """One ``_find`` answer: ``docs``, and ``bookmark``/``warning``/``execution_stats``."""

    docs: list[DocumentBody]


class _BulkResultOptional(TypedDict, total=False):
    rev: str
    ok: bool
    error: str
    reason: str


class BulkResult(_BulkResultOptional):
    """One ``_bulk_docs`` result: ``id``, and ``rev``/``ok`` or ``error``/``reason``."""

    id: str
