"""python-cloudant's exception classes (``cloudant.error``).

Each takes python-cloudant's ``(code, *args)``: ``code`` is an HTTP status where
one applies (``status_code`` holds it), and ``args`` fill the message. The
messages are python-cloudant's own words, since code (and tests) written against
python-cloudant compare them. They derive from :class:`settee.errors.SetteeError`,
so ``except SetteeError`` catches them beside settee's own errors. An HTTP error
answer is not one of these: it is settee's :class:`~settee.errors.CouchError`
family, which on the HTTP backend is also a ``requests.HTTPError`` with
``.response``, as python-cloudant's were.
"""

from __future__ import annotations

from typing import Any

from settee.errors import SetteeError, TransportError

__all__ = [
    "ClientDisconnected",
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
    return f"A general {kind} was raised.", 100


class _Coded(CloudantException):
    """An exception built as ``Cls(code, *args)``; the message comes from ``_texts``."""

    _kind = "Cloudant exception"
    _texts: dict[int, str] = {}

    def __init__(self, code: int = 100, *args: Any) -> None:
        message, known = _message(self._kind, code, args, self._texts)
        super().__init__(message, known)


#: Templates python-cloudant uses under several codes (one per module that raises them).
_INVALID = "Invalid argument: {0}"
_WRONG_TYPE = "Argument {0} is not an instance of expected type: {1}"
_NOT_CONVERTED = "Error converting argument {0}: {1}"
_EXISTS = " already exists in this design doc."
_MISSING = " does not exist in this design doc."


class CloudantArgumentError(_Coded):
    """An argument refused before any request (a bad option, type or value)."""

    _kind = "Cloudant argument error"
    _texts = {
        101: "Invalid year and/or month supplied.  Found: year - {0}, month - {1}",
        102: "Invalid role(s) provided: {0}.  Valid roles are: {1}",
        103: 'Invalid index type: {0}.  Index type must be either "json" or "text".',
        104: "A single query/q parameter is required.  Found: {0}",
        105: _INVALID,
        106: _WRONG_TYPE,
        107: "View {0}" + _EXISTS,
        108: "An index with name {0}" + _EXISTS,
        109: "A list with name {0}" + _EXISTS,
        110: "A show function with name {0}" + _EXISTS,
        111: "View {0}" + _MISSING,
        112: "An index with name {0}" + _MISSING,
        113: "A list with name {0}" + _MISSING,
        114: "A show function with name {0}" + _MISSING,
        115: _NOT_CONVERTED,
        116: "Invalid argument {0}",
        117: "Argument {0} not instance of expected type: {1}",
        118: "Argument {0} must be > 0.  Found: {1}",
        119: "Invalid value ({0}) for feed option.  Must be one of {1}",
        120: "Invalid value ({0}) for style option.  Must be main_only, or all_docs.",
        121: "Invalid infinite feed option: {0}.  Must be set to continuous.",
        122: "The design document id: {0} is not a string.",
        123: "The index name: {0} is not a string.",
        124: "{0} provided as argument(s).  A JSON index requires that only a 'fields' "
        "argument is provided.",
        125: "Deleting an index requires a design document id be provided.",
        126: "Deleting an index requires an index name be provided.",
        127: _INVALID,
        128: _WRONG_TYPE,
        129: _INVALID,
        130: _WRONG_TYPE,
        131: "No selector in the query or the selector was empty.  Add a selector to define "
        "the query and retry.",
        132: "The map property must be a dictionary.",
        133: "The reduce property must be a string.",
        134: "Key list element not of expected type: {0}",
        135: "Invalid value for stale option {0} must be ok or update_after.",
        136: _NOT_CONVERTED,
        137: "Invalid document ID: {0}",
        138: "Invalid attachment name: {0}",
    }


class ResultException(_Coded):
    """A :class:`~settee.compat.cloudant.result.Result` used the wrong way."""

    _kind = "result exception"
    _texts = {
        101: "Failed to interpret the argument {0} as a valid key value or as a valid slice.",
        102: "Cannot use {0} when performing key access or key slicing. Found {1}",
        103: "Cannot use {0} for iteration. Found {1}",
        104: "Invalid page_size: {0}",
    }


class CloudantClientException(_Coded):
    """A client operation failed (a database that exists, or does not)."""

    _kind = "Cloudant client exception"
    _texts = {
        101: "Value must be set to a Database object. Found type: {0}",
        102: "You must provide a url or an account.",
        103: "Invalid service: IAM API key or username/password credentials are required.",
        404: "Database {0} does not exist. Verify that the client is valid and try again.",
        412: "Database {0} already exists.",
    }


class CloudantDatabaseException(_Coded):
    """A database operation failed."""

    _kind = "Cloudant database exception"
    _texts = {
        101: "Unexpected index type. Found: {0}",
        400: "Invalid database name during creation. Found: {0}",
        401: "Unauthorized to create database {0}",
        409: "Document with id {0} already exists.",
        412: "Database {0} already exists.",
    }


class CloudantDesignDocumentException(_Coded):
    """A design document operation failed."""

    _kind = "Cloudant design document exception"
    _texts = {
        101: "Cannot add a MapReduce view to a design document for query indexes.",
        102: "Cannot update a query index view using this method.",
        103: "Cannot delete a query index view using this method.",
        104: "View {0} must be of type View.",
        105: "View {0} must be of type QueryIndexView.",
        106: "Function for search index {0} must be of type string.",
        107: "Definition for query text index {0} must be of type dict.",
    }


class CloudantDocumentException(_Coded):
    """A document operation failed (no ``_id``, no ``_rev``, a field that is not a list)."""

    _kind = "Cloudant document exception"
    _texts = {
        101: "A document id is required to fetch document contents. Add an _id key and "
        "value to the document and re-try.",
        102: "The field {0} is not a list.",
        103: "Attempting to delete a doc with no _rev. Try running .fetch and re-try.",
    }


class CloudantFeedException(_Coded):
    """A feed that cannot be built."""

    _kind = "Cloudant feed exception"
    _texts = {101: "Infinite _db_updates feed not supported for CouchDB."}


class CloudantIndexException(_Coded):
    """A Mango index operation that is not allowed."""

    _kind = "Cloudant index exception"
    _texts = {
        101: 'Creating the "special" index is not allowed.',
        102: 'Deleting the "special" index is not allowed.',
    }


class CloudantReplicatorException(_Coded):
    """A replication that cannot be created or found."""

    _kind = "Cloudant replicator exception"
    _texts = {
        101: "You must specify either a source_db Database object or a manually composed "
        "'source' string/dict.",
        102: "You must specify either a target_db Database object or a manually composed "
        "'target' string/dict.",
        404: "Replication with id {0} not found.",
    }


class CloudantViewException(_Coded):
    """A view used the wrong way (a query-index view called or given a custom result)."""

    _kind = "view exception"
    _texts = {
        101: "A QueryIndexView is not callable.  If you wish to execute a query use the "
        "database 'get_query_result' convenience method.",
        102: "Cannot create a custom result context manager using a QueryIndexView.  If you "
        "wish to execute a query use the database 'get_query_result' convenience method "
        "instead.",
    }


class ClientDisconnected(TransportError, AttributeError):
    """A request from a client after ``disconnect()``, until ``connect()`` (settee's).

    python-cloudant's requests fail then with an ``AttributeError`` (its
    ``r_session`` is None), and code catches that: this is one, and a settee
    :class:`~settee.errors.TransportError` (no request was sent)."""
