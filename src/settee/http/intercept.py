"""Answering requests in-process: the seam :mod:`settee.testing`'s mocker plugs into.

:func:`intercept` registers a handler for every URL under a prefix; each
:class:`~settee.http.transport.Transport` created while it is active mounts
an :class:`InterceptAdapter` for that prefix on its session (requests picks
the longest matching prefix, so it wins over the pooled HTTP adapter), and
the request never leaves the process. Everything above the adapter - auth
flows, URL quoting, error mapping, paging - runs as it does against a server.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

__all__ = ["Answer", "InterceptAdapter", "InterceptedRequest", "intercept", "mount_intercepts"]


@dataclass(frozen=True)
class InterceptedRequest:
    """What was sent: method, absolute URL (query included), headers, body bytes."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None


@dataclass(frozen=True)
class Answer:
    """What a handler answers: status, headers, body bytes."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


Handler = Callable[[InterceptedRequest], Answer]


class InterceptAdapter(BaseAdapter):
    """A requests adapter that hands each request to ``handler`` instead of the network."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """The handler's answer as a ``requests.Response`` (the body already read)."""
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        sent = InterceptedRequest(
            method=str(request.method),
            url=str(request.url),
            headers=dict(request.headers),
            body=body if isinstance(body, bytes) else None,
        )
        answer = self.handler(sent)
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.body
        response._content_consumed = True  # type: ignore[attr-defined]  # requests' own flag
        response.raw = io.BytesIO(answer.body)
        response.url = str(request.url)
        response.request = request
        response.encoding = "utf-8"
        response.reason = "intercepted"
        return response

    def close(self) -> None:
        """Nothing to release."""


_ACTIVE: list[tuple[str, InterceptAdapter]] = []
_LOCK = threading.Lock()


@contextlib.contextmanager
def intercept(prefix: str, handler: Handler) -> Iterator[InterceptAdapter]:
    """While active, transports created for URLs under ``prefix`` answer through ``handler``."""
    if not prefix.lower().startswith(("http://", "https://")):
        raise ValueError(f"an intercept prefix is an http(s):// URL, not {prefix!r}")
    adapter = InterceptAdapter(handler)
    entry = (prefix, adapter)
    with _LOCK:
        _ACTIVE.append(entry)
    try:
        yield adapter
    finally:
        with _LOCK:
            _ACTIVE.remove(entry)


def mount_intercepts(session: requests.Session) -> None:
    """Mount the active intercepts on ``session`` (called by every new Transport)."""
    with _LOCK:
        active = list(_ACTIVE)
    for prefix, adapter in active:
        session.mount(prefix, adapter)
