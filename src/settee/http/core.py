"""The sans-I/O half of the HTTP layer: what both transports compute without a socket.

:class:`~settee.http.transport.Transport` (requests) and
:class:`~settee.http.async_transport.AsyncTransport` (aiohttp) are thin shells
around :class:`TransportCore` (what they hold and compute alike: base URL, auth,
options, timeouts, retry policy, the first request of a call) and these pure
functions: the URL of a request (:func:`request_url`), its body and headers
(:func:`request_body`), the JSON codec (:func:`dumps`, :func:`decode_body`) and
the :mod:`settee.errors` class of a non-2xx answer (:func:`error_for_answer`).
Nothing here sends: the retry policy is a value object both transports consult.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from settee import errors
from settee.auth.protocol import Auth, Request
from settee.auth.schemes import coerce_auth
from settee.http.options import TimeoutArg, TransportOptions, check_timeout
from settee.http.retry import RetryPolicy
from settee.urls import quote_segment, redact_url, split_credentials

__all__ = [
    "BASE_HEADERS",
    "TransportCore",
    "decode_body",
    "dumps",
    "error_for_answer",
    "request_body",
    "request_url",
    "segments_url",
]

_module_logger = logging.getLogger("settee")

#: Headers every request carries (the transport's options may add more).
BASE_HEADERS: dict[str, str] = {"Accept": "application/json", "User-Agent": "settee"}


def segments_url(base_url: str, *segments: str) -> str:
    """Absolute URL of ``segments`` under ``base_url``, each encoded as ONE segment."""
    if not segments:
        return base_url + "/"
    return base_url + "/" + "/".join(quote_segment(s) for s in segments)


def request_url(
    base_url: str,
    path: str | tuple[str, ...] | list[str],
    params: Mapping[str, Any] | None = None,
) -> str:
    """The URL to send: raw segments (encoded here), an absolute URL, or a path under the base.

    ``params`` become the query string (``None`` values dropped).
    """
    if isinstance(path, (tuple, list)):
        url = segments_url(base_url, *path)
    elif path.startswith(("http://", "https://")):
        url = path
    else:
        url = base_url + "/" + path.lstrip("/")
    if params:
        query = urlencode([(k, v) for k, v in params.items() if v is not None], doseq=True)
        if query:
            url = f"{url}?{query}"
    return url


def request_body(
    json_body: Any, data: bytes | str | None, headers: Mapping[str, str] | None
) -> tuple[bytes | None, dict[str, str]]:
    """The body bytes and the headers of a request; ``TypeError`` for a body JSON cannot encode."""
    send_headers: dict[str, str] = dict(headers or {})
    body: bytes | None = None
    if json_body is not None:
        body = dumps(json_body)
        send_headers.setdefault("Content-Type", "application/json")
    elif data is not None:
        body = data.encode() if isinstance(data, str) else data
    return body, send_headers


def dumps(value: Any) -> bytes:
    """Serialise ``value`` as JSON; ``TypeError`` naming the culprit if it cannot be."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")  # a lone surrogate cannot be: refused here
    except (TypeError, ValueError) as exc:
        raise TypeError(f"value is not JSON-serialisable: {exc}") from exc


def decode_body(
    content: bytes, *, status: int, content_type: str | None, method: str | None, url: str
) -> Any:
    """The JSON value of an answer's ``content``; ``TransportError`` if it is not valid JSON."""
    try:
        return json.loads(content)
    except ValueError as exc:
        raise errors.TransportError(
            f"server answered {status} with a body that is not valid JSON "
            f"(Content-Type {content_type or '?'}, {len(content or b'')} bytes)",
            method=method,
            url=redact_url(url),
        ) from exc


def error_for_answer(
    status: int,
    content: bytes,
    *,
    method: str | None,
    url: str,
    not_found: type[errors.NotFound] = errors.NotFound,
) -> errors.CouchError:
    """The :mod:`settee.errors` exception for a non-2xx answer (``status`` and body ``content``)."""
    body: Any = None
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    error = reason = None
    if isinstance(body, dict):
        error = body.get("error")
        reason = (
            body.get("reason")
            or body.get("detail")
            or body.get("message")
            or body.get("error_description")  # OAuth2 token endpoints
        )
        if error is not None and not isinstance(error, str):
            error = json.dumps(error)
        if reason is not None and not isinstance(reason, str):
            reason = json.dumps(reason)
    elif content:
        reason = content[:200].decode("utf-8", "replace")
    return errors.error_for(
        status,
        error,
        reason,
        method=method,
        url=redact_url(url),
        body=body,
        not_found=not_found,
    )


class TransportCore:
    """What both transports hold and compute alike: the clean base URL, the auth strategy
    (``user:password@`` in the URL becomes ``BasicAuth`` when ``auth`` is None), the
    options (``options``, or its fields as keywords, never both), the logger, the
    timeouts and the retry policy; URLs and the :class:`Request` a call starts from.

    The subclasses add the HTTP library in ``_open`` (called last by ``__init__``):
    they send, read and close.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: Any = None,
        options: TransportOptions | None = None,
        **fields: object,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s):// URL, got {redact_url(str(url))!r}")
        if options is None:
            options = TransportOptions.checked(owner, fields)
        elif fields:
            raise TypeError(f"give {owner} either options= or option keywords, not both")
        base, creds = split_credentials(url)
        if auth is None and creds is not None:
            auth = creds
        self.base_url: str = base
        self.auth: Auth = coerce_auth(auth)
        self.options: TransportOptions = options
        self.logger = options.logger if options.logger is not None else _module_logger
        self.timeout = options.timeout
        self.feed_timeout = options.feed_timeout
        self.retry = RetryPolicy.from_options(options)
        #: What every request carries (:data:`BASE_HEADERS` and the options' ``headers``).
        self.headers: dict[str, str] = {**BASE_HEADERS, **options.headers}
        self._open(options)

    def _open(self, options: TransportOptions) -> None:
        """Set up the HTTP library's side (the subclass's); called last by ``__init__``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_url(self.base_url)!r}, auth={self.auth!r})"

    def url(self, *segments: str) -> str:
        """Absolute URL of ``segments`` under the base, each encoded as ONE segment.

        A document id is given as its segments: ``url(db, *doc_id_segments(docid))``.
        """
        return segments_url(self.base_url, *segments)

    #: Serialise a value as JSON; ``TypeError`` naming the culprit if it cannot be.
    dumps = staticmethod(dumps)

    def log_answer(self, method: str, shown: str, status: int, started: float) -> None:
        """Log one answer: method, redacted URL, status and the time since ``started``
        (a ``time.monotonic()``)."""
        self.logger.debug(
            "%s %s -> %s (%.1f ms)", method, shown, status, (time.monotonic() - started) * 1000
        )

    def use_timeout(self, timeout: TimeoutArg | str) -> tuple[float, float | None] | None:
        """The timeouts of one call: the transport's for ``"default"``, else ``timeout`` checked."""
        return self.timeout if timeout == "default" else check_timeout(timeout, "timeout")

    def start(
        self,
        method: str,
        path: str | tuple[str, ...] | list[str],
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: bytes | str | None,
        headers: Mapping[str, str] | None,
    ) -> Request:
        """The request a call sends first (its URL, body and headers built here)."""
        url = request_url(self.base_url, path, params)
        body, send_headers = request_body(json_body, data, headers)
        return Request(method.upper(), url, send_headers, body, self.base_url)
