"""HTTP transport: the only module that touches ``requests``.

One :class:`Transport` per client holds one ``requests.Session``. It builds
URLs (every path segment percent-encoded, ``/`` included: a document id
goes in as :func:`doc_id_segments`, whose first ``_design/``/``_local/``
prefix is the only slash kept), applies timeouts, mounts
urllib3's ``Retry`` on the adapter through :class:`RetryPolicy`, runs the auth
strategy's flow, logs through ``logging.getLogger("settee")`` with secrets
redacted, and turns every non-2xx answer into a :mod:`settee.errors` class.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import time
from collections.abc import Iterator, Mapping
from typing import IO, Any

import requests
import urllib3.exceptions
import urllib3.util
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from settee import errors
from settee.auth.protocol import Request
from settee.http.core import TransportCore, decode_body, error_for_answer
from settee.http.intercept import mount_intercepts
from settee.http.options import TimeoutArg, TransportOptions
from settee.http.retry import RetryPolicy, earlier_attempt_may_have_applied
from settee.urls import (
    redact_exception,
    redact_text,
    redact_url,
)

__all__ = [
    "BODY_ERRORS",
    "CLOSE_RACE_ERRORS",
    "FeedReadTimeout",
    "Headers",
    "Response",
    "Transport",
    "http_error_class",
    "read_timeout_error",
]

#: What :meth:`Transport.request` returns; layers above name it from here, not from requests.
Response = requests.Response
#: Case-insensitive response headers (the HTTP library's own mapping).
Headers = CaseInsensitiveDict
#: What reading a streamed body raises when the connection breaks or times out:
#: the only exceptions a feed turns into FeedError (a caller's own exception,
#: raised by a signal handler during a read, goes up unchanged).
BODY_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    http.client.HTTPException,
    urllib3.exceptions.HTTPError,
    requests.RequestException,
)
#: What a read may also raise once another thread closed the response under it.
CLOSE_RACE_ERRORS: tuple[type[Exception], ...] = (*BODY_ERRORS, ValueError, AttributeError)


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    # Auth state lives in the strategy, never in a hidden cookie jar.
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class Transport(TransportCore):
    """A configured HTTP session against one server root.

    ``url`` may carry ``user:password@``: they become :class:`BasicAuth` (when
    ``auth`` is None) and are stripped from the stored URL. ``options`` is a
    :class:`~settee.http.options.TransportOptions` (timeouts, retries, TLS,
    headers, adapter, pool size, logger); its fields may instead be given as
    keywords (``Transport(url, max_retries=0)``), never both.
    """

    def _open(self, options: TransportOptions) -> None:
        self.session = requests.Session()
        self.session.cookies.set_policy(_NoCookies())
        self.session.verify = options.verify
        self.session.trust_env = False  # no proxy from the environment for a database URL
        self.session.headers.update(self.headers)
        mounted = options.adapter or HTTPAdapter(
            max_retries=self.retry, pool_maxsize=options.pool_maxsize
        )
        self.session.mount("http://", mounted)
        self.session.mount("https://", mounted)
        mount_intercepts(self.session)  # settee.testing's mocker: answered in-process
        self.last_response: requests.Response | None = None

    # -- sending ------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str | tuple[str, ...] | list[str],
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | str | IO[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: TimeoutArg | str = "default",
        not_found: type[errors.NotFound] = errors.NotFound,
        raise_for_status: bool = True,
    ) -> requests.Response:
        """Send one request through the auth flow; return the response.

        ``path`` is a tuple of raw segments (encoded here) or an already
        encoded absolute URL/path string. ``json_body`` is serialised here; a
        value JSON cannot encode raises ``TypeError`` before anything is sent.
        ``data`` may be a binary file object: it is streamed (read in blocks as it
        is sent), from its current position again if the request must be resent.
        A non-2xx answer raises the matching :mod:`settee.errors` class (404
        as ``not_found``); connection failures and timeouts raise
        ``TransportError``.
        """
        upload: IO[bytes] | None = None
        inline: bytes | str | None = None
        if isinstance(data, (bytes, bytearray, str)):
            inline = bytes(data) if isinstance(data, bytearray) else data
        elif json_body is None and data is not None:
            upload = data  # a binary file: streamed, never read whole
        request = self.start(method, path, params, json_body, inline, headers)
        response = self._run_flow(request, stream, self.use_timeout(timeout), upload)
        self.last_response = response
        if raise_for_status and not 200 <= response.status_code < 300:
            error = self.error_from(response, not_found=not_found)
            # The document layer verifies a refused write whose first attempt may have applied.
            retries = getattr(response.raw, "retries", None)
            error.replayed = earlier_attempt_may_have_applied(retries)
            raise error
        return response

    def json(self, method: str, path: str | tuple[str, ...] | list[str], **kwargs: Any) -> Any:
        """:meth:`request` and decode the JSON answer (``TransportError`` if it is not JSON)."""
        response = self.request(method, path, **kwargs)
        return self.decode(response)

    def decode(self, response: requests.Response) -> Any:
        """The JSON body of ``response``; ``TransportError`` if it is not valid JSON."""
        method = response.request.method if response.request else None
        try:
            content = response.content
        except requests.RequestException as exc:
            raise errors.TransportError(
                f"server answered {response.status_code}; reading the body failed: {exc}",
                method=method,
                url=redact_url(response.url or ""),
            ) from exc
        return decode_body(
            content,
            status=response.status_code,
            content_type=response.headers.get("Content-Type"),
            method=method,
            url=response.url or "",
        )

    def iter_body(self, response: requests.Response, chunk_size: int) -> Iterator[bytes]:
        """A streamed response's body in chunks of up to ``chunk_size`` bytes;
        ``TransportError`` if the connection fails part-way."""
        try:
            yield from response.iter_content(chunk_size)
        except requests.RequestException as exc:
            redact_exception(exc)
            shown = redact_url(response.url or "")
            raise errors.TransportError(
                f"reading {shown}: {type(exc).__name__}: {redact_text(str(exc))}",
                url=shown,
            ) from exc

    def _run_flow(
        self,
        request: Request,
        stream: bool,
        timeout: tuple[float, float | None] | None,
        upload: IO[bytes] | None = None,
    ) -> requests.Response:
        flow = self.auth.auth_flow(request)
        start = _position(upload)
        sent = False
        try:
            to_send = next(flow)
            while True:
                if upload is not None and sent:
                    if start is None:
                        raise errors.TransportError(
                            f"{request.method} {redact_url(request.url)}: the request must be "
                            "sent again and its body is a stream that cannot be rewound",
                            method=request.method,
                            url=redact_url(request.url),
                        )
                    upload.seek(start)
                sent = True
                response = self._send(to_send, stream, timeout, upload)
                try:
                    to_send = flow.send(response)
                except StopIteration:
                    return response
                response.close()
        finally:
            flow.close()

    def _send(
        self,
        request: Request,
        stream: bool,
        timeout: tuple[float, float | None] | None,
        upload: IO[bytes] | None = None,
    ) -> requests.Response:
        shown = redact_url(request.url)
        # A login request the auth flow sends has its own body; the upload is the user's.
        body: Any = upload if upload is not None and request.body is None else request.body
        prepared = self.session.prepare_request(
            requests.Request(request.method, request.url, headers=request.headers, data=body)
        )
        if request.url.isascii():
            # requests re-quotes URLs and turns "%2E" back into ".": an id
            # ".." would go out as a dot segment that a proxy collapses into
            # another endpoint. The URL is already encoded: send it as built.
            prepared.url = request.url
        started = time.monotonic()
        try:
            response = self.session.send(
                prepared,
                stream=stream,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            redact_exception(exc)
            self.logger.debug("%s %s -> timeout", request.method, shown)
            raise errors.TransportError(
                f"{request.method} {shown}: timed out ({redact_text(str(exc))})",
                method=request.method,
                url=shown,
            ) from exc
        except requests.RequestException as exc:
            redact_exception(exc)
            self.logger.debug("%s %s -> %s", request.method, shown, type(exc).__name__)
            raise errors.TransportError(
                f"{request.method} {shown}: {type(exc).__name__}: {redact_text(str(exc))}",
                method=request.method,
                url=shown,
            ) from exc
        self.log_answer(request.method, shown, response.status_code, started)
        return response

    def error_from(
        self, response: requests.Response, *, not_found: type[errors.NotFound] = errors.NotFound
    ) -> errors.CouchError:
        """The :mod:`settee.errors` exception for a non-2xx response."""
        try:
            content = response.content or b""
        except requests.RequestException:
            content = b""
        plain = error_for_answer(
            response.status_code,
            content,
            method=response.request.method if response.request else None,
            url=response.url or "",
            not_found=not_found,
        )
        answer = errors.recast(plain, http_error_class(type(plain)), plain.reason)
        # The class is also a requests.HTTPError: these are its attributes.
        answer.response = response  # type: ignore[attr-defined]
        answer.request = response.request  # type: ignore[attr-defined]
        return answer

    def send_raw(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream: bool = False,
        timeout: TimeoutArg | str = "default",
    ) -> requests.Response:
        """Send one request through the auth flow and return its response, whatever
        the status (nothing is raised for a non-2xx answer; ``TransportError`` when
        no answer came). What an authenticated raw session sends through."""
        response = self._run_flow(
            Request(method.upper(), url, dict(headers or {}), body, self.base_url),
            stream,
            self.use_timeout(timeout),
        )
        self.last_response = response
        return response

    def use_retry(self, retry: RetryPolicy) -> None:
        """Replace the retry policy: mount a new pooled adapter that applies ``retry``."""
        self.retry = retry
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=self.options.pool_maxsize)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        """Close the session's pooled connections. Idempotent."""
        self.session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _position(upload: IO[bytes] | None) -> int | None:
    """Where a seekable upload starts (to send it again from there), else None."""
    if upload is None:
        return None
    try:
        return upload.tell() if upload.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


_HTTP_CLASSES: dict[type[errors.CouchError], type[errors.CouchError]] = {}


def http_error_class(cls: type[errors.CouchError]) -> type[errors.CouchError]:
    """``cls`` that is also a ``requests.HTTPError``: what the HTTP backend raises.

    An answer's error is then caught by ``except Conflict`` and by the
    ``except requests.HTTPError as e: e.response.status_code`` that
    python-cloudant users write; ``response`` and ``request`` are set on it.
    The class keeps ``cls``'s name and module; one is made per class.
    """
    made = _HTTP_CLASSES.get(cls)
    if made is None:
        namespace = {"__module__": cls.__module__, "response": None, "request": None}
        made = type(cls.__name__, (cls, requests.HTTPError), namespace)
        made.__qualname__ = cls.__qualname__
        _HTTP_CLASSES[cls] = made
    return made


class FeedReadTimeout(errors.FeedError, requests.ConnectionError):
    """A feed body that sent nothing for the read timeout: a :class:`~settee.errors.FeedError`
    that is also a ``requests.ConnectionError``, as ``requests`` raises for a streamed
    body whose read timed out (python-cloudant's users catch that one).

    The text ends with ``requests``' own, ``HTTPConnectionPool(host='...', port=...):
    Read timed out.``; ``last_seq`` is the last good seq, as for every ``FeedError``.
    """

    response = None
    request = None


def _is_read_timeout(exc: BaseException) -> bool:
    if isinstance(exc, requests.ConnectionError) and exc.args:
        inner = exc.args[0]  # how requests wraps urllib3's error for a streamed body
        return isinstance(inner, BaseException) and _is_read_timeout(inner)
    return isinstance(exc, (TimeoutError, urllib3.exceptions.ReadTimeoutError, requests.Timeout))


def read_timeout_error(exc: BaseException, url: str, context: str) -> errors.FeedError | None:
    """The :class:`FeedReadTimeout` for ``exc`` raised reading a feed body from ``url``,
    or None if ``exc`` is no read timeout. ``context`` (settee's words) comes first."""
    if not _is_read_timeout(exc):
        return None
    parts = urllib3.util.parse_url(url)
    scheme = "https" if parts.scheme == "https" else "http"
    port = parts.port or (443 if scheme == "https" else 80)
    pool = f"{scheme.upper()}ConnectionPool(host={parts.host!r}, port={port!r})"
    return FeedReadTimeout(f"{context}: {pool}: Read timed out.")
