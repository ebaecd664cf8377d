"""Transport options: one validated value object shared by every backend.

:class:`TransportOptions` holds what the HTTP transport is configured with
(timeouts, retries, TLS, headers, pooling, logging). ``settee.connect`` /
``open_backend`` build it ONCE from the keyword options, so the same options
are accepted by every backend: the HTTP backend uses them, the local ones
(``memory:``, ``sqlite:``) check them the same way and ignore them. An option
no backend knows is a ``TypeError`` naming it; a second spelling of a known
option (``verify_ssl``, ``retries``, ...) is a ``TypeError`` naming the right
one (see docs/compat.md for the naming rule).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import ParamSpec, TypedDict, TypeVar

from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from settee._validate import check_int, check_number, is_int

__all__ = [
    "DEFAULT_RETRY_STATUS_CODES",
    "DEFAULT_TIMEOUT",
    "TRANSPORT_OPTION_NAMES",
    "TimeoutArg",
    "TransportOptions",
    "TransportOptionsDict",
    "refuse_misspellings",
    "refuse_unknown",
]

#: (connect, read) seconds.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
#: Read timeout None: a feed picks its read timeout from its heartbeat.
DEFAULT_FEED_TIMEOUT: tuple[float, None] = (10.0, None)
DEFAULT_RETRY_STATUS_CODES: tuple[int, ...] = (429, 502, 503, 504)

TimeoutArg = float | tuple[float, float | None] | None

#: Second spellings refused on the CouchDB side, each with the spelling to use.
MISSPELLINGS: dict[str, str] = {
    "retries": "max_retries",
    "replay_post": "retry_post",
    "verify_ssl": "verify",
    "default_headers": "headers",
    "server_url": "url",
}


def check_timeout(value: object, name: str) -> tuple[float, float | None] | None:
    """``value`` (seconds, ``(connect, read)`` or None) as a ``(connect, read)`` tuple."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be seconds or a (connect, read) tuple")
    if isinstance(value, (int, float)):
        seconds = check_number(name, value, strict=True)
        return (seconds, seconds)
    if isinstance(value, tuple) and len(value) == 2:
        connect, read = value
        connect = check_number(f"{name}'s connect timeout", connect, strict=True)
        if read is not None:
            read = check_number(f"{name}'s read timeout", read, strict=True)
        return (connect, read)
    raise TypeError(f"{name} must be seconds or a (connect, read) tuple, not {value!r}")


@dataclasses.dataclass(frozen=True)
class TransportOptions:
    """How the HTTP transport talks to a server; validated when built.

    ``timeout`` (seconds or ``(connect, read)``, default (10, 60));
    ``feed_timeout`` (for change feeds, default (10, None)); ``max_retries``
    (an int, default 3, or a urllib3 ``Retry``: its counts, backoff and status
    list are used, settee's replay rules still apply); ``backoff_factor``
    (0.5); ``backoff_max`` (30 s, also caps ``Retry-After``);
    ``retry_status_codes`` ((429, 502, 503, 504)); ``retry_post`` (False:
    replay every POST, for APIs whose POSTs are safe); ``verify`` (TLS
    verification, True or a CA bundle path); ``headers`` (sent on every
    request); ``adapter`` (a ``requests`` ``HTTPAdapter`` mounted instead of
    settee's); ``pool_maxsize`` (10); ``logger`` (request logs, default the
    ``settee`` logger).
    """

    timeout: tuple[float, float | None] | None = DEFAULT_TIMEOUT
    feed_timeout: tuple[float, float | None] | None = DEFAULT_FEED_TIMEOUT
    max_retries: int | Retry = 3
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    retry_status_codes: tuple[int, ...] = DEFAULT_RETRY_STATUS_CODES
    retry_post: bool = False
    verify: bool | str = True
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    adapter: HTTPAdapter | None = None
    pool_maxsize: int = 10
    logger: logging.Logger | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__  # frozen: normalise once, here
        put(self, "timeout", check_timeout(self.timeout, "timeout"))
        put(self, "feed_timeout", check_timeout(self.feed_timeout, "feed_timeout"))
        if not isinstance(self.max_retries, Retry):
            check_int("max_retries", self.max_retries, 0)
        put(self, "backoff_factor", check_number("backoff_factor", self.backoff_factor))
        put(self, "backoff_max", check_number("backoff_max", self.backoff_max))
        if isinstance(self.retry_status_codes, (str, bytes)) or not isinstance(
            self.retry_status_codes, Iterable
        ):
            raise TypeError(
                f"retry_status_codes must be HTTP statuses, not {self.retry_status_codes!r}"
            )
        codes = tuple(self.retry_status_codes)
        if not all(is_int(c) and 400 <= c <= 599 for c in codes):
            raise ValueError("retry_status_codes must be HTTP error statuses (400-599)")
        put(self, "retry_status_codes", codes)
        if not isinstance(self.retry_post, bool):
            raise TypeError(f"retry_post must be a bool, not {self.retry_post!r}")
        if not isinstance(self.verify, (bool, str)):
            raise TypeError(f"verify must be a bool or a CA bundle path, not {self.verify!r}")
        headers = {} if self.headers is None else self.headers
        if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise TypeError("headers must be a mapping of str to str")
        put(self, "headers", dict(headers))
        if self.adapter is not None and not isinstance(self.adapter, HTTPAdapter):
            raise TypeError("adapter must be a requests HTTPAdapter")
        check_int("pool_maxsize", self.pool_maxsize, 1)
        if self.logger is not None and not isinstance(self.logger, logging.Logger):
            raise TypeError("logger must be a logging.Logger")

    @classmethod
    def checked(
        cls, owner: str, options: Mapping[str, object], base: TransportOptions | None = None
    ) -> TransportOptions:
        """The options ``owner`` was given as keywords (over ``base``): ``TypeError`` naming
        any that is not a transport option (a misspelling names the right one), then
        each value checked."""
        refuse_unknown(owner, {k: v for k, v in options.items() if k not in TRANSPORT_OPTION_NAMES})
        return cls.split(options, base)[0]

    @classmethod
    def split(
        cls, options: Mapping[str, object], base: TransportOptions | None = None
    ) -> tuple[TransportOptions, dict[str, object]]:
        """The transport options in ``options`` (over ``base``) and the rest, unchecked."""
        mine = {k: v for k, v in options.items() if k in TRANSPORT_OPTION_NAMES}
        rest = {k: v for k, v in options.items() if k not in TRANSPORT_OPTION_NAMES}
        if base is None:
            return cls(**mine), rest  # type: ignore[arg-type]  # checked in __post_init__
        if not mine:
            return base, rest
        return dataclasses.replace(base, **mine), rest  # type: ignore[arg-type]

    @property
    def total_retries(self) -> int | None:
        """The retry count (a given urllib3 ``Retry``'s ``total``)."""
        if isinstance(self.max_retries, Retry):
            total = self.max_retries.total
            return None if total is None or total is False else int(total)
        return self.max_retries


#: Every option :class:`TransportOptions` takes.
TRANSPORT_OPTION_NAMES = frozenset(f.name for f in dataclasses.fields(TransportOptions))


class TransportOptionsDict(TypedDict, total=False):
    """:class:`TransportOptions` as keyword options (``settee.connect(url, timeout=5)``):
    a misspelt one is a type error, and a ``TypeError`` naming it at run time.
    Its keys are :data:`TRANSPORT_OPTION_NAMES` (a test keeps the two equal)."""

    timeout: TimeoutArg
    feed_timeout: TimeoutArg
    max_retries: int | Retry
    backoff_factor: float
    backoff_max: float
    retry_status_codes: Iterable[int]
    retry_post: bool
    verify: bool | str
    headers: Mapping[str, str]
    adapter: HTTPAdapter | None
    pool_maxsize: int
    logger: logging.Logger | None


def refuse_unknown(owner: str, unknown: Mapping[str, object]) -> None:
    """``TypeError`` for options ``owner`` does not take; a misspelling names the right one."""
    if not unknown:
        return
    for name in sorted(unknown):
        if name in MISSPELLINGS:
            raise TypeError(
                f"{owner} got the option {name!r}: it is spelt {MISSPELLINGS[name]!r} in settee"
            )
    names = ", ".join(repr(n) for n in sorted(unknown))
    raise TypeError(f"{owner} got unexpected option(s) {names}")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def refuse_misspellings(
    table: Mapping[str, str],
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorate a function whose keyword ``wrong`` is spelt ``table[wrong]``.

    The signature is kept (a misspelling stays a type error for mypy); at run
    time the ``TypeError`` names the right spelling instead of only the wrong one.
    """

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            for name in kwargs:
                if name in table:
                    owner = func.__qualname__.removesuffix(".__init__")
                    raise TypeError(
                        f"{owner} got the option {name!r}: it is spelt {table[name]!r} here"
                    )
            return func(*args, **kwargs)

        return wrapper

    return decorate
