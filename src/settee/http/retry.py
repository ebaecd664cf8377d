"""The retry policy: urllib3's ``Retry`` limited to requests that are safe to replay.

Exported from :mod:`settee.http`; the transport mounts it on its adapter.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

from settee._validate import check_number
from settee.http.options import TransportOptions

__all__ = [
    "NOTHING_SENT",
    "SENT",
    "Replay429Adapter",
    "RetryPolicy",
    "earlier_attempt_may_have_applied",
    "retry_settings",
]

# POST endpoints that only read (or are idempotent), so replaying one is safe.
_SAFE_POST_SEGMENTS = frozenset(
    {
        "_all_docs",
        "_find",
        "_explain",
        "_revs_diff",
        "_bulk_get",
        "_changes",
        "_session",
        "_index",
        "_design_docs",
        "_local_docs",
        "_dbs_info",
        "_missing_revs",
    }
)


def earlier_attempt_may_have_applied(retries: Retry | None) -> bool:
    """Whether a retried request's earlier attempts may have reached the server.

    ``retries`` is the ``Retry`` urllib3 hands back on the final response.
    An attempt that failed to connect or was answered 429 was not processed;
    any other (a read error, a lost response, a 5xx from a gateway) may have
    been applied before the replay.
    """
    if retries is None:
        return False
    for attempt in retries.history:
        if attempt.status == 429 or isinstance(attempt.error, ConnectTimeoutError):
            continue
        return True
    return False


#: What a transport without urllib3 underneath (aiohttp) reports to
#: :meth:`RetryPolicy.next_attempt`: the attempt failed before anything was
#: sent (connecting), or after the request went out (it may have applied).
NOTHING_SENT = "nothing_sent"
SENT = "sent"


class _Answer:
    # The two things urllib3's Retry reads from a response, from any HTTP library's answer.
    def __init__(self, status: int, headers: Any) -> None:
        self.status = status
        self.headers = headers

    def get_redirect_location(self) -> bool:
        return False


def retry_settings(retry: Retry) -> dict[str, Any]:
    """The settings of ``retry`` as the keywords a ``Retry`` is built from: the counts,
    the methods and status list, the backoff, ``Retry-After`` and ``raise_on_status``."""
    return {
        "total": retry.total,
        "connect": retry.connect,
        "read": retry.read,
        "status": retry.status,
        "other": retry.other,
        "allowed_methods": retry.allowed_methods,
        "status_forcelist": retry.status_forcelist,
        "backoff_factor": retry.backoff_factor,
        "backoff_max": retry.backoff_max,
        "backoff_jitter": retry.backoff_jitter,
        "raise_on_status": retry.raise_on_status,
        "respect_retry_after_header": retry.respect_retry_after_header,
    }


class RetryPolicy(Retry):
    """urllib3 ``Retry`` that never replays a request that may have applied.

    Status retries (``retry_status_codes``, ``Retry-After`` honoured, capped at
    ``backoff_max``) and retries after read errors apply to GET/HEAD/OPTIONS,
    to PUT/DELETE that carry ``rev=`` (replaying one cannot apply twice), and
    to POSTs to read-only endpoints (``_find``, ``_all_docs``, ``_changes``,
    ``_revs_diff``, ``_bulk_get``, ``_session``, ``_index``, view queries). A
    429 is replayed for any method: the server did not process the request.
    Failed connection attempts are always retried: nothing was sent.
    ``retry_post=True`` opts every POST in (for APIs whose POSTs are safe).
    """

    def __init__(self, *args: Any, retry_post: bool = False, **kwargs: Any) -> None:
        if "replay_post" in kwargs:
            raise TypeError("RetryPolicy got the option 'replay_post': it is spelt 'retry_post'")
        for name in ("backoff_factor", "backoff_max", "backoff_jitter"):
            if name in kwargs:
                check_number(name, kwargs[name])
        self.retry_post = retry_post
        super().__init__(*args, **kwargs)

    @classmethod
    def from_options(cls, options: TransportOptions) -> RetryPolicy:
        """The policy ``options`` ask for: an int count, or a given urllib3 ``Retry``'s settings.

        A given ``Retry`` keeps its counts, status list and backoff; settee's
        replay rules (and ``retry_post``) still decide which requests replay.
        """
        given = options.max_retries
        if isinstance(given, Retry):
            settings = retry_settings(given)
            settings.update(allowed_methods=None, raise_on_status=False)
            return cls(**settings, retry_post=options.retry_post)
        return cls(
            total=given,
            connect=given,
            read=given,
            status=given,
            other=0,
            allowed_methods=None,
            status_forcelist=options.retry_status_codes,
            backoff_factor=options.backoff_factor,
            backoff_max=options.backoff_max,
            backoff_jitter=options.backoff_factor,
            raise_on_status=False,
            respect_retry_after_header=True,
            retry_post=options.retry_post,
        )

    def new(self, **kw: Any) -> RetryPolicy:
        kw.setdefault("retry_post", self.retry_post)
        return super().new(**kw)

    def replayable(self, method: str | None, url: str | None) -> bool:
        """Whether sending this request twice is harmless."""
        method = (method or "").upper()
        if method in ("GET", "HEAD", "OPTIONS"):
            return True
        parts = urlsplit(url or "")
        segments = [s for s in parts.path.split("/") if s]
        if method in ("PUT", "DELETE"):
            has_rev = any(k == "rev" for k, _ in parse_qsl(parts.query))
            return has_rev or (bool(segments) and segments[-1] in ("_security", "_revs_limit"))
        if method == "POST":
            if self.retry_post:
                return True
            if "_view" in segments or "_design_docs" in segments:
                return True
            return bool(segments) and segments[-1] in _SAFE_POST_SEGMENTS
        return False

    def next_attempt(
        self,
        method: str,
        url: str,
        *,
        status: int | None = None,
        headers: Any = None,
        failure: str | None = None,
    ) -> tuple[RetryPolicy, float] | None:
        """The sans-I/O retry decision: ``(policy for the next attempt, seconds to wait)``, or None.

        For a transport that does not run on urllib3 (the async one): give the
        answer's ``status`` and ``headers``, or ``failure`` (:data:`NOTHING_SENT`
        / :data:`SENT`) for an attempt that got no answer. The same counters,
        status list, ``Retry-After`` and replay rules as the sync adapter apply.
        """
        answer: _Answer | None = None
        error: HTTPError | None = None
        if failure is not None:
            error = ConnectTimeoutError(url) if failure == NOTHING_SENT else ProtocolError(url)
        else:
            assert status is not None
            has_after = headers is not None and "Retry-After" in headers
            if not self.is_retry(method, status, has_after):
                return None
            answer = _Answer(status, headers)
        try:
            following = self.increment(method, url, response=answer, error=error)
        except HTTPError:  # exhausted, or not replayable
            return None
        assert isinstance(following, RetryPolicy)
        delay = following.get_retry_after(answer) if answer is not None else None
        return following, following.get_backoff_time() if delay is None else delay

    def get_retry_after(self, response: Any) -> float | None:
        after = super().get_retry_after(response)
        if after is None:
            return None
        return min(after, float(self.backoff_max))

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        status = getattr(response, "status", None)
        nothing_sent = isinstance(error, ConnectTimeoutError)
        if status != 429 and not nothing_sent and not self.replayable(method, url):
            if error is not None:
                raise error
            # raise_on_status is False: urlopen hands back this response.
            raise MaxRetryError(_pool, url or "", error)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class Replay429Adapter(HTTPAdapter):
    """An ``HTTPAdapter`` that replays a request answered 429 Too Many Requests.

    python-cloudant's adapter: up to ``retries`` replays, the first after
    ``initialBackoff`` seconds, doubling each time (a ``Retry-After`` header is
    honoured). Only 429s are replayed: the server did not process those.
    Mount it with ``CouchDB(..., adapter=Replay429Adapter())``.
    """

    def __init__(self, retries: int = 3, initialBackoff: float = 0.25) -> None:
        check_number("initialBackoff", initialBackoff)
        super().__init__(
            max_retries=RetryPolicy(
                total=retries,
                connect=0,
                read=0,
                other=0,
                status=retries,
                allowed_methods=None,
                status_forcelist=(429,),
                backoff_factor=initialBackoff,
                raise_on_status=False,
                respect_retry_after_header=True,
            )
        )
