"""The HTTP layer: the only package that touches the HTTP library (requests/urllib3).

:class:`Transport` holds a ``requests.Session`` (URL quoting, JSON, timeouts,
auth flows), :class:`TransportOptions` the validated options it is built from,
:class:`RetryPolicy` the retry and replay rules, ``session`` the
cookie session a client holds. Path quoting and redaction are pure functions in
:mod:`settee.urls`, re-exported here with the transport that applies them.
"""

from __future__ import annotations

from settee.http.options import DEFAULT_TIMEOUT, TransportOptions
from settee.http.retry import RetryPolicy
from settee.http.transport import Transport
from settee.urls import quote_segment, redact_url, split_credentials

__all__ = [
    "DEFAULT_TIMEOUT",
    "RetryPolicy",
    "Transport",
    "TransportOptions",
    "quote_segment",
    "redact_url",
    "split_credentials",
]
