"""python-cloudant's exception classes (``cloudant.error``).

Each takes python-cloudant's ``(code, *args)``: ``code`` is an HTTP status
where one applies (``status_code`` holds it), and ``args`` fill the message.
They derive from :class:`settee.errors.SetteeError`, so ``except SetteeError``
catches them beside settee's own errors. An HTTP error answer is not one of
these: it is settee's :class:`~settee.errors.CouchError` family, which on the
HTTP backend is also a ``requests.HTTPError`` with ``.response``, as
python-cloudant's were.
"""

from __future__ import annotations

from typing import Any

from settee.errors import SetteeError

__all__ = [
    "CloudantArgumentError",
    "CloudantClientException",
    "CloudantDatabaseException",
    "CloudantDesignDocumentException",
    "CloudantDocumentException",
    "CloudantException",
    "CloudantFeedException",
    "CloudantIndexException",
    "CloudantReplicatorException",
    "CloudantViewException",
    "ResultException",
]


class CloudantException(SetteeError):
    """Base of python-cloudant's exceptions: ``CloudantException(msg, code=None)``;
    ``status_code`` is ``code``."""

    def __init__(self, msg: object = "", code: int | None = None) -> None:
        super().__init__(msg)
        self.status_code = code


def _message(
    kind: str, code: object, args: tuple[Any, ...], texts: dict[int, str]
) -> tuple[str, int]:
    """The message and code; an unknown code, or too few ``args``, is the general 100."""
    template = texts.get(code) if isinstance(code, int) else None
    if template is not None:
        try:
            return template.format(*args), int(code)  # type: ignore[call-overload]
        except (IndexError, KeyError):
            pass
    return f"A {kind.lower()} error was raised", 100


class _Coded(CloudantException):
    """An exception built as ``Cls(code, *args)``; the message comes from ``_texts``."""

    _kind = "Cloudant"
    _texts: dict[int, str] = {}

    def __init__(self, code: int = 100, *args: Any) -> None:
        message, known = _message(self._kind, code, args, self._texts)
        super().__init__(message, known)


class CloudantArgumentError(_Coded):
    """An argument refused before any request (a bad option, type or value)."""

    _kind = "Argument"
    _texts = {
        101: "Year and month are not valid: year {0}, month {1}",
        102: "Roles {0} are not valid; the valid roles: {1}",
        103: "Index type {0} is not valid: use json or text",
        104: "Exactly one query/q parameter is needed; given: {0}",
        105: "Argument not valid: {0}",
        106: "Argument {0} is not of the expected type {1}",
        107: "The design document already has a view {0}",
        108: "The design document already has an index {0}",
        109: "The design document already has a list function {0}",
        110: "The design document already has a show function {0}",
        111: "The design document has no view {0}",
        112: "The design document has no index {0}",
        113: "The design document has no list function {0}",
        114: "The design document has no show function {0}",
        115: "Argument {0} cannot be converted: {1}",
        116: "Argument not valid: {0}",
        117: "Argument {0} is not of the expected type {1}",
        118: "Argument {0} must be greater than 0, not {1}",
        119: "Feed option value {0} is not valid; one of {1}",
        120: "Style value {0} is not valid: main_only or all_docs",
        121: "Infinite feed option {0} is not valid: the feed is always continuous",
        122: "Design document id {0} is not a string",
        123: "Index name {0} is not a string",
        124: "{0} given: a JSON index takes only a fields argument",
        125: "Deleting an index needs its design document id",
        126: "Deleting an index needs its name",
        127: "Argument not valid: {0}",
        128: "Argument {0} is not of the expected type {1}",
        129: "Argument not valid: {0}",
        130: "Argument {0} is not of the expected type {1}",
        131: "The query has no selector, or an empty one: give a selector",
        132: "A view's map must be a dict",
        133: "A view's reduce must be a string",
        134: "A key in the list is not of an expected type: {0}",
        135: "The stale option {0} is not valid: ok or update_after",
        136: "Argument {0} cannot be converted: {1}",
        137: "Document id not valid: {0}",
        138: "Attachment name not valid: {0}",
    }


class ResultException(_Coded):
    """A :class:`~settee.compat.cloudant.result.Result` used the wrong way."""

    _kind = "Result"
    _texts = {
        101: "{0} is neither a key value nor a slice of keys",
        102: "Option {0} cannot be used with key access or key slicing; given: {1}",
        103: "Option {0} cannot be used while iterating; given: {1}",
        104: "page_size not valid: {0}",
    }


class CloudantClientException(_Coded):
    """A client operation failed (a database that exists, or does not)."""

    _kind = "Client"
    _texts = {
        101: "The value must be a Database, not {0}",
        102: "Give a url or an account",
        103: "Credentials needed: an IAM API key or a username and password",
        404: "Database {0} does not exist",
        412: "Database {0} already exists",
    }


class CloudantDatabaseException(_Coded):
    """A database operation failed."""

    _kind = "Database"
    _texts = {
        101: "Index type not expected: {0}",
        400: "Database name not valid: {0}",
        401: "Not authorized to create database {0}",
        409: "A document with id {0} already exists",
        412: "Database {0} already exists",
    }


class CloudantDesignDocumentException(_Coded):
    """A design document operation failed."""

    _kind = "Design document"
    _texts = {
        101: "A query-index design document cannot hold a MapReduce view",
        102: "A query-index view cannot be updated this way",
        103: "A query-index view cannot be deleted this way",
        104: "View {0} must be a View",
        105: "View {0} must be a QueryIndexView",
        106: "The function of search index {0} must be a string",
        107: "The definition of query text index {0} must be a dict",
    }


class CloudantDocumentException(_Coded):
    """A document operation failed (no ``_id``, no ``_rev``, a field that is not a list)."""

    _kind = "Document"
    _texts = {
        101: "Fetching needs a document id: set _id and try again",
        102: "Field {0} is not a list",
        103: "The document has no _rev: fetch it, then delete",
    }


class CloudantFeedException(_Coded):
    """A feed that cannot be built."""

    _kind = "Feed"
    _texts = {101: "CouchDB has no infinite _db_updates feed"}


class CloudantIndexException(_Coded):
    """A Mango index operation that is not allowed."""

    _kind = "Index"
    _texts = {
        101: "The special index cannot be created",
        102: "The special index cannot be deleted",
    }


class CloudantReplicatorException(_Coded):
    """A replication that cannot be created or found."""

    _kind = "Replicator"
    _texts = {
        101: "Give a source_db Database or a source string/dict",
        102: "Give a target_db Database or a target string/dict",
        404: "No replication with id {0}",
    }


class CloudantViewException(_Coded):
    """A view used the wrong way (a query-index view called or given a custom result)."""

    _kind = "View"
    _texts = {
        101: "A QueryIndexView cannot be called: use Database.get_query_result",
        102: "A QueryIndexView has no custom result: use Database.get_query_result",
    }
