"""The settee exception tree.

Everything settee raises derives from :class:`SetteeError`::

    SetteeError
    ├── TransportError                 connection refused/reset, timeout, unreadable body
    ├── CouchError                     a non-2xx answer (or its local-backend twin)
    │   ├── BadRequest                 400
    │   ├── Unauthorized               401
    │   ├── Forbidden                  403
    │   │   └── AccountLocked          403 after repeated failed logins (CouchDB 3.4+)
    │   ├── NotFound                   404
    │   │   └── DocumentNotFound       404 for a document; also a KeyError
    │   ├── Conflict                   409
    │   ├── PreconditionFailed         412 (e.g. database already exists)
    │   ├── TooManyRequests            429
    │   └── ServerError                5xx
    ├── FeedError                      a change feed broke mid-stream (carries last_seq)
    ├── RQLSyntaxError                 bad RQL text (carries the position); also a ValueError
    └── NotSupported                   this backend cannot do that

A CouchDB ``error`` name maps to its class in one table, :data:`ERROR_CLASSES`,
which :func:`error_for` reads on every path (HTTP answers, per-document
``_bulk_docs`` results, the local backends, checkpoints, the CLI).

Lower-library exceptions (requests, urllib3, ijson, sqlite3) are translated in
exactly one place each (``transport.py`` for HTTP) and chained with ``from``.
Every backend raises these same classes, so code written against one backend
handles errors from all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = [
    "ERROR_CLASSES",
    "AccountLocked",
    "BadRequest",
    "Conflict",
    "CouchError",
    "DocumentNotFound",
    "FeedError",
    "Forbidden",
    "NotFound",
    "NotSupported",
    "PreconditionFailed",
    "RQLSyntaxError",
    "ServerError",
    "SetteeError",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "error_for",
    "error_for_status",
]


class SetteeError(Exception):
    """Base class of every exception settee raises.

    ``results``: set when ``Database.bulk_docs`` fails part-way, to the
    per-document results of the chunks already written (``None`` otherwise).
    """

    results: list[dict[str, Any]] | None = None


class TransportError(SetteeError):
    """The request did not get a usable answer: connection failure, timeout, bad body."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class CouchError(SetteeError):
    """A CouchDB-shaped error answer.

    Attributes: ``status`` (HTTP status, or its equivalent on a local backend),
    ``error`` and ``reason`` (CouchDB's body fields), ``method`` and ``url``
    (redacted: never carries credentials), ``body`` (the parsed JSON body, if
    any), and for REST-style APIs ``error_code`` and ``errors``. ``replayed``
    is True when the transport sent the request more than once and an earlier
    attempt may have reached the server (its response was lost, or a gateway
    answered 5xx): this answer may be the server refusing a write that the
    earlier attempt already applied.
    """

    status: int = 0
    replayed: bool = False

    def __init__(
        self,
        reason: str | None = None,
        *,
        error: str | None = None,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
        body: Any = None,
    ) -> None:
        if status is not None:
            self.status = status
        self.error = error
        self.reason = reason
        self.method = method
        self.url = url
        self.body = body
        self.error_code: str | None = None
        self.errors: list[Any] = []
        if isinstance(body, dict):
            code = body.get("error_code")
            self.error_code = str(code) if code is not None else None
            errs = body.get("errors")
            if isinstance(errs, list):
                self.errors = errs
            elif error is None and reason is None:
                self.errors = _field_errors(body)
        elif isinstance(body, list) and all(isinstance(e, str) for e in body):
            self.errors = list(body)  # DRF: ValidationError("...") answers ["..."]
        super().__init__(self._message())

    @property
    def status_code(self) -> int:
        """``status`` under the name Connect's ``ClientError`` uses."""
        return self.status

    def _message(self) -> str:
        parts = [str(self.status)] if self.status else []
        if self.error:
            parts.append(self.error)
        text = " ".join(parts)
        if self.reason:
            text = f"{text}: {self.reason}" if text else self.reason
        if self.error_code and self.error_code not in text:
            text = f"{text} [{self.error_code}]"
        if self.errors:
            text = f"{text} {self.errors}"
        if self.method and self.url:
            text = f"{text} ({self.method} {self.url})"
        return text or self.__class__.__name__

    def __str__(self) -> str:
        return self._message()


_E = TypeVar("_E", bound=CouchError)


def recast(exc: CouchError, cls: type[_E], reason: str | None) -> _E:
    """``exc`` as a ``cls`` saying ``reason``; status, error, method, URL and body kept."""
    return cls(
        reason, error=exc.error, status=exc.status, method=exc.method, url=exc.url, body=exc.body
    )


def _field_errors(body: dict[Any, Any], prefix: str = "") -> list[Any]:
    # DRF's field errors, {"name": ["This field is required."], "vendor": {"id": [...]}},
    # as ["name: This field is required.", "vendor.id: ..."]; [] for any other shape.
    out: list[Any] = []
    for key, value in body.items():
        name = f"{prefix}{key}"
        label = "" if key == "non_field_errors" else f"{name}: "
        if isinstance(value, str):
            out.append(f"{label}{value}")
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out.extend(f"{label}{v}" for v in value)
        elif isinstance(value, dict) and value:
            nested = _field_errors(value, f"{name}.")
            if not nested:
                return []
            out.extend(nested)
        else:
            return []
    return out


class BadRequest(CouchError):
    """400: the server rejected the request as malformed."""

    status = 400


class Unauthorized(CouchError):
    """401: missing or wrong credentials."""

    status = 401


class Forbidden(CouchError):
    """403: authenticated, but not allowed to do this."""

    status = 403


class AccountLocked(Forbidden):
    """403: CouchDB locked the account out after repeated failed logins.

    CouchDB 3.4+ answers ``403 forbidden: Account is temporarily locked due to
    multiple authentication failures`` once a user failed to log in too often
    from one address (5 times by default); every request as that user is then
    refused, good password or not, until the lockout period ends
    (``[chttpd_auth_lockout] lockout_duration_sec``, 300 seconds by default).
    Retrying only prolongs it, so feeds and the CLI stop on it.
    """

    def _message(self) -> str:
        return (
            f"{super()._message()} - the account is locked after repeated failed logins; "
            "it unlocks when CouchDB's lockout period ends (5 minutes by default)"
        )


#: What CouchDB's reason for the lockout 403 starts with (couch_auth_lockout).
_LOCKOUT_REASON = "Account is temporarily locked"


class NotFound(CouchError):
    """404: the database, document, attachment or endpoint does not exist."""

    status = 404


class DocumentNotFound(NotFound, KeyError):
    """404 for a document. Also a ``KeyError``, so ``db["x"]`` behaves like a mapping."""

    def __str__(self) -> str:  # KeyError.__str__ would repr() the message
        return self._message()


class Conflict(CouchError):
    """409: a stale or missing ``_rev``; nothing was written.

    A document write whose first attempt may have applied (response lost,
    then replayed) is checked against the stored revisions first: ``save()``
    and ``delete()`` raise ``Conflict`` only when they show the write did not
    apply, and ``TransportError`` when they cannot tell.
    """

    status = 409


class PreconditionFailed(CouchError):
    """412: e.g. the database already exists."""

    status = 412


class TooManyRequests(CouchError):
    """429: rate limited (after settee's own retries were spent)."""

    status = 429


class ServerError(CouchError):
    """5xx: the server failed (after settee's own retries were spent)."""

    status = 500


class FeedError(SetteeError):
    """A change feed broke: malformed or truncated body. ``last_seq`` is the last good seq."""

    def __init__(self, message: str, *, last_seq: Any = None) -> None:
        super().__init__(message)
        self.last_seq = last_seq


class RQLSyntaxError(SetteeError, ValueError):
    """RQL text that does not parse. ``position`` is the 0-based offset of the fault."""

    def __init__(self, message: str, *, text: str = "", position: int = 0) -> None:
        self.text = text
        self.position = position
        pointer = f"\n  {text}\n  {' ' * position}^" if text else ""
        super().__init__(f"{message} at position {position}{pointer}")


class NotSupported(SetteeError):
    """The backend in use cannot do this; the message says what and why."""


_BY_STATUS: dict[int, type[CouchError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    429: TooManyRequests,
}


def error_for_status(status: int) -> type[CouchError]:
    """Return the exception class for an HTTP status (``CouchError`` for unmapped 4xx)."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, CouchError)


#: CouchDB's ``error`` names and the class each one is, on every path. A name
#: not here is classed by its HTTP status (``CouchError`` when there is none).
ERROR_CLASSES: Mapping[str, type[CouchError]] = MappingProxyType(
    {
        "bad_request": BadRequest,
        "illegal_docid": BadRequest,
        "illegal_database_name": BadRequest,
        "doc_validation": BadRequest,
        "query_parse_error": BadRequest,
        "invalid_json": BadRequest,
        "unauthorized": Unauthorized,
        "forbidden": Forbidden,
        "not_found": NotFound,
        "conflict": Conflict,
        "file_exists": PreconditionFailed,
        "missing_stub": PreconditionFailed,
        "precondition_failed": PreconditionFailed,
        "too_many_requests": TooManyRequests,
        "unknown_error": ServerError,
    }
)


def error_for(
    status: int | None = None,
    error: str | None = None,
    reason: str | None = None,
    *,
    method: str | None = None,
    url: str | None = None,
    body: Any = None,
    not_found: type[NotFound] = NotFound,
) -> CouchError:
    """Return (not raise) the exception for a CouchDB error ``error``/``reason``.

    The class comes from :data:`ERROR_CLASSES` by name; an unknown name (or a
    ``status`` the name's class does not have, as a proxy may answer) is
    classed by ``status``, and with neither it is a :class:`CouchError`.
    ``not_found`` replaces :class:`NotFound` (``DocumentNotFound`` for a document);
    a 403 whose reason is CouchDB's lockout is an :class:`AccountLocked`.
    """
    cls = ERROR_CLASSES.get(error) if error is not None else None
    if status is not None and (cls is None or error_for_status(status) is not cls):
        cls = error_for_status(status)
    if cls is None:
        cls = CouchError
    if cls is NotFound:
        cls = not_found
    elif cls is Forbidden and reason is not None and reason.startswith(_LOCKOUT_REASON):
        cls = AccountLocked
    return cls(reason, error=error, status=status, method=method, url=url, body=body)
