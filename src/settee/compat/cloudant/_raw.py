"""The calls python-cloudant makes on ``r_session`` itself, made the same way here.

For a few operations python-cloudant's code is one raw ``r_session.head/get/put/post``
call (``Database.exists``, ``Document.exists``, a design document's ``info()``/
``search_info()``/``search_disk_size()``, ``update_handler_result``, the
``Scheduler``), and its users' tests patch ``client.r_session.get`` to fake an
answer or check the URL. The compat classes send those through ``r_session``
too: it is settee's :class:`~settee.http.session.AuthenticatedSession` (the
transport's auth flow, adapters and retries), so nothing else changes. An error
answer raises settee's :class:`~settee.errors.CouchError` class for it (also a
``requests.HTTPError`` with ``.response``), where python-cloudant raises the
bare ``HTTPError``.

The native path is kept where no raw call can be made: a local backend, a
client not connected yet (``r_session`` None), and a path segment that is ``.``
or ``..`` (``requests`` would send it as a dot segment, another endpoint).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from settee import errors

if TYPE_CHECKING:
    from settee.client import Client
    from settee.http.session import AuthenticatedSession, HTTPResponse

__all__ = [
    "checked",
    "exists",
    "json_of",
    "raise_for_status",
    "raised",
    "session",
    "text_json",
]


def session(client: Client, *segments: str) -> AuthenticatedSession | None:
    """The client's ``r_session`` to send through; None for the native path (a local
    backend, not connected, or one of ``segments`` is ``.``/``..``)."""
    if client.backend.kind != "http" or any(s in (".", "..") for s in segments):
        return None
    found: AuthenticatedSession | None = getattr(client, "r_session", None)
    return found


def checked(client: Client, response: HTTPResponse) -> HTTPResponse:
    """``response``; for an error answer, settee's exception for it is raised."""
    if not 200 <= response.status_code < 300:
        with raise_for_status():
            raise client.server_session.transport("r_session").error_from(response)
    return response


def _requests_text(self: errors.CouchError) -> str:
    """``requests``' ``raise_for_status()`` text: ``"<status> Client Error: <reason> for
    url: <url>"`` (``Server Error`` for 5xx), the reason the response's (CouchDB's
    ``error`` and ``reason`` appended to it by a connected compat client), the URL
    settee's redacted one."""
    response = getattr(self, "response", None)
    reason = getattr(response, "reason", None) or self.reason or ""
    side = "Client" if self.status < 500 else "Server"
    url = self.url or getattr(response, "url", "")
    return f"{self.status} {side} Error: {reason} for url: {url}"


_STYLED: dict[type[errors.CouchError], type[errors.CouchError]] = {}


def _styled(exc: errors.CouchError) -> errors.CouchError:
    """``exc`` as a subclass of its own class whose text is ``requests``'."""
    cls = type(exc)
    made = _STYLED.get(cls)
    if made is None:
        namespace = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__str__": _requests_text,
        }
        made = type(cls.__name__, (cls,), namespace)
        _STYLED[cls] = made
    styled = made(
        exc.reason,
        error=exc.error,
        status=exc.status,
        method=exc.method,
        url=exc.url,
        body=exc.body,
    )
    styled.replayed = exc.replayed
    for name in ("response", "request"):  # the requests.HTTPError's attributes
        setattr(styled, name, getattr(exc, name))
    return styled


@contextlib.contextmanager
def raise_for_status() -> Iterator[None]:
    """Where python-cloudant calls ``response.raise_for_status()``: an HTTP error answer
    settee raises in the block comes out as the same class (``except Conflict`` and
    ``except requests.HTTPError`` catch it, ``.response`` set), its text ``requests``'
    (``"400 Client Error: Bad Request ... for url: ..."``). Errors of the local
    backends (no ``response``) and every other exception go up as they are."""
    try:
        yield
    except errors.CouchError as exc:
        if getattr(exc, "response", None) is None or type(exc) in _STYLED.values():
            raise  # a local backend's, or already requests' text
        raise _styled(exc) from exc


def json_of(client: Client, response: HTTPResponse) -> dict[str, Any]:
    """The JSON object of a checked ``response`` (read as python-cloudant reads it:
    the text, UTF-8 when the server names no charset)."""
    checked(client, response)
    return text_json(response)


def text_json(
    response: HTTPResponse, decoder: type[json.JSONDecoder] | None = None
) -> dict[str, Any]:
    """The JSON object of ``response``'s text (UTF-8 when the server names no
    charset); a ``TransportError`` when the body is JSON but not an object (every
    answer read here is one: a document, an info, an ``{"ok": ...}``)."""
    if response.encoding is None:
        response.encoding = "utf-8"
    body = json.loads(response.text, cls=decoder)
    if not isinstance(body, dict):
        raise errors.TransportError(f"expected a JSON object, got {type(body).__name__}")
    return body


def raised(response: HTTPResponse) -> HTTPResponse:
    """``response`` after its own ``raise_for_status()``: python-cloudant's check, for
    the answers of a session that is not settee's (see ``Document.r_session``)."""
    response.raise_for_status()
    return response


def exists(client: Client | None, r_session: AuthenticatedSession, url: str) -> bool:
    """``HEAD url``: True for 200, False for 404, the error raised for any other status
    (``client`` None: the response's own ``raise_for_status()``)."""
    response = r_session.head(url)
    if response.status_code not in (200, 404):
        if client is None:
            raised(response)
        else:
            checked(client, response)
    return bool(response.status_code == 200)
