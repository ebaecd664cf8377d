"""URL helpers for the transport: path-segment encoding, credentials, redaction.

Every database name and document id is percent-encoded, ``/`` included,
except the ``_design/`` and ``_local/`` prefixes. URLs are redacted (no
userinfo, secret query values masked) before they are logged or shown, and
urllib3's own request log lines go through the same redaction. Re-exported
from :mod:`settee.transport`.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

__all__ = ["quote_segment", "redact_url", "split_credentials"]

_SPECIAL_PREFIXES = ("_design/", "_local/")
_SECRET_PARAMS = frozenset(
    {
        "password",
        "passwd",
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
    }
)
_USERINFO_RE = re.compile(r"(?<=//)[^/@\s]+@")


def quote_segment(segment: str) -> str:
    """Percent-encode one path segment, ``/`` included; keep ``_design/``/``_local/``."""
    if not isinstance(segment, str):
        raise TypeError(f"URL path segments must be str, not {type(segment).__name__}")
    for prefix in _SPECIAL_PREFIXES:
        if segment.startswith(prefix) and len(segment) > len(prefix):
            return prefix + quote_segment(segment[len(prefix) :])
    quoted = quote(segment, safe="")
    # "." and ".." would be collapsed by URL normalisation into another endpoint.
    if quoted in (".", ".."):
        quoted = quoted.replace(".", "%2E")
    return quoted


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``("http://host:5984", ("user", "pw"))`` from ``http://user:pw@host:5984``."""
    parts = urlsplit(url)
    if parts.username is None:
        return url.rstrip("/"), None
    from urllib.parse import unquote

    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    creds = (unquote(parts.username), unquote(parts.password or ""))
    return clean.rstrip("/"), creds


def redact_url(url: str) -> str:
    """``url`` safe to log or show: no userinfo, secret query values masked."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
            query = urlencode([(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_text(text: str) -> str:
    return _USERINFO_RE.sub("***@", text)


class _RedactingFilter(logging.Filter):
    """Masks secret query values in urllib3's request log lines.

    urllib3 logs every request line (``"GET /db?apikey=... HTTP/1.1" 200``)
    at DEBUG; settee's own lines are redacted where they are written, these
    are redacted here.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_url(arg) if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        return True


_URLLIB3_FILTER = _RedactingFilter()
logging.getLogger("urllib3.connectionpool").addFilter(_URLLIB3_FILTER)
