"""The HTTP layer: the only package that touches the HTTP library (requests/urllib3).

:class:`Transport` holds a ``requests.Session`` (URL quoting, JSON, timeouts,
auth flows), :class:`RetryPolicy` the retry and replay rules, ``session`` the
cookie session a client holds. Path quoting and redaction are pure functions in
:mod:`settee.urls`, re-exported here with the transport that applies them.
"""

from __future__ import annotations

from settee.http.retry import RetryPolicy
from settee.http.transport import DEFAULT_TIMEOUT, Transport
from settee.urls import quote_segment, redact_url, split_credentials

__all__ = [
    "DEFAULT_TIMEOUT",
    "RetryPolicy",
    "Transport",
    "quote_segment",
    "redact_url",
    "split_credentials",
]
