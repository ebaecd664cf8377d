"""URL helpers for the transport: path-segment encoding, credentials, redaction.

Path building has one rule: :func:`quote_segment` percent-encodes a name as
ONE segment, every ``/`` included (database, attachment, view, index and
design document names, REST ids and actions), and only a document id's first
``_design/`` or ``_local/`` prefix keeps its slash (:func:`quote_doc_id`,
:func:`doc_id_segments`). ``.`` and ``..`` stay encoded, so no name can
address another resource or endpoint.

URLs are redacted before they are logged or shown: no userinfo (a raw ``#``,
``?`` or ``/`` in the password included) and the values of query parameters
that can be credentials masked; urllib3's loggers go through the same
redaction. Pure functions, below the HTTP layer: auth strategies use them too.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote

__all__ = [
    "doc_id_segments",
    "quote_doc_id",
    "quote_segment",
    "redact_url",
    "split_credentials",
]

_SPECIAL_PREFIXES = ("_design/", "_local/")
#: Query parameter names whose values are masked (compared lower-cased, ``-`` as ``_``).
_SECRET_PARAMS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "apikey",
        "api_key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "code",
        "auth",
        "authsession",
        "sig",
        "signature",
    }
)
#: ... and names containing one of these (``x_auth_token``, ``x_api_key``, ...).
_SECRET_PARTS = ("token", "secret", "password", "passwd", "apikey", "api_key", "credential")
_MASK = "***"

# A host[:port] as RFC 3986 allows it (reg-name or IP literal), nothing else.
_HOSTPORT_RE = re.compile(r"(?:\[[0-9A-Za-z:.%~_-]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(?::[0-9]*)?")
# A URL in free text: scheme:// up to whitespace or a quote.
_TEXT_URL_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^\s'\"<>]+)")
# A name=value pair after ?, &, ; or # (query, matrix and fragment parameters).
_PARAM_RE = re.compile(r"(?<=[?&;#])([^=&;#?\s'\"<>]+)=([^&;#\s'\"<>]*)")
# Kept for importers of the older name; the redaction no longer uses it.
_USERINFO_RE = re.compile(r"(?<=//)[^/@\s]+@")


# -- path segments ------------------------------------------------------------------
def quote_segment(segment: str) -> str:
    """Percent-encode ``segment`` as exactly one path segment, every ``/`` included.

    ``"a/b"`` -> ``"a%2Fb"``, ``"_design/x"`` -> ``"_design%2Fx"``, ``".."`` ->
    ``"%2E%2E"``. Use :func:`quote_doc_id` for document ids.
    """
    if not isinstance(segment, str):
        raise TypeError(f"URL path segments must be str, not {type(segment).__name__}")
    quoted = quote(segment, safe="")
    # "." and ".." would be collapsed by URL normalisation into another endpoint.
    if quoted in (".", ".."):
        quoted = quoted.replace(".", "%2E")
    return quoted


def doc_id_segments(doc_id: str) -> tuple[str, ...]:
    """The raw path segments of a document id: ``("_design", "a/b")`` or ``("a/b",)``.

    Only the FIRST ``_design/`` or ``_local/`` prefix is a segment of its own;
    the rest of the id (``_local/x`` in ``_design/_local/x``) is one segment.
    """
    if not isinstance(doc_id, str):
        raise TypeError(f"document id must be a str, not {type(doc_id).__name__}")
    for prefix in _SPECIAL_PREFIXES:
        if doc_id.startswith(prefix) and len(doc_id) > len(prefix):
            return (prefix[:-1], doc_id[len(prefix) :])
    return (doc_id,)


def quote_doc_id(doc_id: str) -> str:
    """A document id as it goes in a path: ``"_design/_local%2Fx"``, ``"a%2Fb"``."""
    return "/".join(quote_segment(s) for s in doc_id_segments(doc_id))


# -- credentials --------------------------------------------------------------------
def _authority_end(text: str) -> int:
    """Where the authority at the start of ``text`` ends (the first ``/``, ``?`` or ``#``)."""
    positions = [p for p in (text.find(sep) for sep in "/?#") if p != -1]
    return min(positions, default=len(text))


def _split_authority(url: str) -> tuple[str, str | None, str, str, bool] | None:
    """``(scheme://, userinfo or None, host[:port], rest, ambiguous)``; None without ``://``.

    A password may hold a raw ``#``, ``?`` or ``/``, which end the authority
    for every standard parser: when the standard authority is not a valid
    ``[userinfo@]host[:port]``, the userinfo runs to the ``@`` that is
    followed by a valid ``host[:port]``. When several ``@`` qualify
    (``ambiguous``), the last one is taken, which hides the most. An ``@``
    in the path of a URL whose authority is valid stays in the path.
    """
    scheme_end = url.find("://")
    if scheme_end <= 0:
        return None
    head, rest = url[: scheme_end + 3], url[scheme_end + 3 :]
    end = _authority_end(rest)
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    if _HOSTPORT_RE.fullmatch(hostport):
        return head, (userinfo if at else None), hostport, tail, False
    candidates: list[tuple[str, str, str]] = []
    for at_pos in (i for i, c in enumerate(rest) if c == "@"):
        after = rest[at_pos + 1 :]
        stop = _authority_end(after)
        if _HOSTPORT_RE.fullmatch(after[:stop]):
            candidates.append((rest[:at_pos], after[:stop], after[stop:]))
    if not candidates:
        return head, None, authority, tail, False
    userinfo, hostport, tail = candidates[-1]
    return head, userinfo, hostport, tail, len(candidates) > 1


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``("http://host:5984", ("user", "pw"))`` from ``http://user:pw@host:5984``.

    The userinfo is percent-decoded. A raw ``#``, ``?`` or ``/`` in the
    password is taken whole; ``ValueError`` (naming no secret) when the URL
    can be read in more than one way (a raw ``@`` as well): percent-encode
    the password then. The clean URL has no trailing slash.
    """
    parts = _split_authority(url)
    if parts is None:
        return url.rstrip("/"), None
    head, userinfo, hostport, tail, ambiguous = parts
    if userinfo is None:
        return url.rstrip("/"), None
    if ambiguous:
        raise ValueError(
            f"the credentials in the URL for {head}...@{hostport} can be read in more than "
            "one way: percent-encode '@', '/', '?' and '#' in the user name and password"
        )
    user, _, password = userinfo.partition(":")
    return (head + hostport + tail).rstrip("/"), (unquote(user), unquote(password))


# -- redaction ----------------------------------------------------------------------
def _is_secret(name: str) -> bool:
    key = unquote(name).lower().replace("-", "_")
    return key in _SECRET_PARAMS or any(part in key for part in _SECRET_PARTS)


def _mask_params(text: str) -> str:
    return _PARAM_RE.sub(
        lambda m: f"{m.group(1)}={_MASK}" if _is_secret(m.group(1)) else m.group(0), text
    )


def _strip_userinfo(url: str) -> str:
    parts = _split_authority(url)
    if parts is None:
        return url
    head, _userinfo, hostport, tail, _ambiguous = parts
    # Not a valid authority either way: show nothing before its last "@".
    return head + hostport.rpartition("@")[2] + tail


def redact_url(url: str) -> str:
    """``url`` safe to log or show: no userinfo, secret query values masked."""
    # Only the secret values change: the rest of the URL is shown as it was sent.
    return _mask_params(_strip_userinfo(url))


def redact_text(text: str) -> str:
    """``text`` (an error message, a log line) with every URL in it redacted."""
    text = _TEXT_URL_RE.sub(lambda m: _strip_userinfo(m.group(0)), text)
    return _mask_params(text)


def redact_exception(exc: BaseException) -> None:
    """Redact the text arguments of ``exc`` and of the exceptions chained to it, in place.

    ``raise TransportError(...) from exc`` keeps the library's exception for
    debugging, and a traceback prints its text, which names the URL
    (urllib3's ``Max retries exceeded with url: /db?token=...``). Exception
    arguments (requests wraps urllib3's) are redacted in turn. Attributes
    such as ``exc.request`` keep the unredacted request.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 32:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        todo.extend((current.__cause__, current.__context__))
        if any(isinstance(a, str) for a in current.args):
            current.args = tuple(redact_text(a) if isinstance(a, str) else a for a in current.args)


class _RedactingFilter(logging.Filter):
    """Redacts urllib3's log records: userinfo and secret query values, in any argument.

    urllib3 logs request lines (``"GET /db?apikey=... HTTP/1.1" 200``) and
    retries (``Incremented Retry for (url='/db?token=...')``) at DEBUG, with
    the URL inside any argument or already in the message: the record is
    formatted here and its text redacted.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging
            return True
        redacted = redact_text(message)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        return True


_URLLIB3_FILTER = _RedactingFilter()
#: The urllib3 loggers that may write a URL.
_URLLIB3_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)
for _name in _URLLIB3_LOGGERS:
    logging.getLogger(_name).addFilter(_URLLIB3_FILTER)
