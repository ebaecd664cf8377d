"""Plumbing shared by the REST classes: the retry policy, URLs, query strings, bodies, limits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from settee._validate import check_int
from settee.errors import TransportError
from settee.http.retry import RetryPolicy, retry_settings
from settee.urls import quote_segment, redact_url

if TYPE_CHECKING:
    from settee.http.async_transport import AsyncResponse
    from settee.http.transport import Response

__all__ = [
    "RestRetryPolicy",
    "check_limit",
    "decode_body",
    "dotted",
    "encode_rql",
    "join_url",
    "pick",
    "with_params",
]

# Characters RQL needs that may stay raw in a query string; the rest is
# percent-encoded once (django-rql unquotes the whole query string once).
_RQL_SAFE = "()=,*.-_~:@!$'"


class RestRetryPolicy(RetryPolicy):
    """The core :class:`~settee.http.RetryPolicy` with HTTP's idempotency rules.

    GET, HEAD, OPTIONS, PUT and DELETE are idempotent by definition, so a
    retryable status (``retry_status_codes``, 429 with ``Retry-After``) or a
    read error replays them. POST and PATCH may apply twice and are only
    replayed when the caller opts in (``retry_post=True``), except after a
    429 or a failed connection, where the server did not process them.
    """

    def replayable(self, method: str | None, url: str | None) -> bool:
        method = (method or "").upper()
        if method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE"):
            return True
        return self.retry_post and method in ("POST", "PATCH")

    @classmethod
    def like(cls, policy: RetryPolicy) -> RestRetryPolicy:
        """A RestRetryPolicy configured exactly as ``policy``."""
        return cls(**retry_settings(policy), retry_post=policy.retry_post)


def join_url(base: str, *segments: str) -> str:
    """``base`` with each segment percent-encoded (``/`` included) and appended."""
    for segment in segments:
        if not isinstance(segment, str):
            raise TypeError(f"a name or id must be a str, not {type(segment).__name__}")
        if not segment:
            raise ValueError("a name or id must not be empty")
    if not segments:
        return base
    return base.rstrip("/") + "/" + "/".join(quote_segment(s) for s in segments)


def encode_rql(text: str) -> str:
    """Percent-encode RQL text for a query string (``&``, ``+``, ``%``, ``#``, spaces...)."""
    return quote(text, safe=_RQL_SAFE)


def _param_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [_param_value(v) for v in value]
    return value


def with_params(url: str, params: Mapping[str, Any] | None) -> str:
    """``url`` with ``params`` url-encoded onto its query (None values dropped)."""
    if not params:
        return url
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping, not {type(params).__name__}")
    pairs = [(k, _param_value(v)) for k, v in params.items() if v is not None]
    query = urlencode(pairs, doseq=True)
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


def decode_body(response: Response | AsyncResponse, *, empty: Any = None) -> Any:
    """The JSON body of ``response`` (either transport's), its raw bytes if it is not JSON,
    ``empty`` if none."""
    content = response.content
    if not content:
        return empty
    ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return json.loads(content)
        except ValueError as exc:
            raise TransportError(
                f"server answered {response.status_code} with {ctype} that is not valid JSON",
                method=response.request.method if response.request else None,
                url=redact_url(str(response.url or "")),
            ) from exc
    return content


def check_limit(limit: object) -> int:
    """``limit`` if it is a positive int; ``TypeError``/``ValueError`` otherwise."""
    return check_int("limit", limit, 1)


def dotted(item: Any, field: str) -> Any:
    """The value at dot path ``field`` in ``item`` (None where a step is missing)."""
    value = item
    for part in field.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def pick(item: Any, fields: Iterable[str]) -> dict[str, Any]:
    """``{field: dotted(item, field)}`` for each dot-path field."""
    return {f: dotted(item, f) for f in fields}
