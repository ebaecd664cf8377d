"""Async tests run on asyncio through anyio's pytest plugin (``@pytest.mark.anyio``).

Every test here fails if a step on the event loop (a callback, one stretch of a
coroutine between two awaits) makes a *blocking call*: one that waits on the
thread instead of handing the wait to the loop. The check is by what is called,
not by how long it took (a timing threshold fails on a loaded machine and passes
a blocking call that happened to be quick). While a loop step runs, these are
blocking calls on the loop's thread:

- ``time.sleep``;
- any I/O on a *blocking* socket (``connect``, ``send*``, ``recv*``, ``accept``,
  ``makefile``): the loop's own sockets are non-blocking, so these are what
  ``requests``/``urllib3`` or a sync settee transport would do;
- opening a SQLite database (``sqlite3.connect``'s audit event), and any read or
  write transaction of the embedded stores (``MemoryStorage``/``SQLiteStorage``
  ``read()``/``write()``): the async API runs them in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import settee
import settee.aio
from settee.backends._local.sqlstore import SQLiteStorage
from settee.backends._local.storage import MemoryStorage
from tests.conftest import Server, unique_name


def _loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.slow_callback_duration = 3600.0  # the check is ours (below), by call, not by time
    return loop


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    return ("asyncio", {"debug": True, "loop_factory": _loop})


def _where(handle: asyncio.Handle) -> str:
    """The callback, or for a task step the line its coroutine stopped at."""
    task = getattr(getattr(handle, "_callback", None), "__self__", None)
    coro = task.get_coro() if isinstance(task, asyncio.Task) else None
    while coro is not None and getattr(coro, "cr_await", None) is not None:
        inner = coro.cr_await
        if not hasattr(inner, "cr_frame"):
            break
        coro = inner
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
    if frame is not None:
        return f"a step of {coro.__qualname__} (now at {frame.f_code.co_filename}:{frame.f_lineno})"
    return repr(handle)


def _harness(handle: asyncio.Handle) -> bool:
    # asyncio's own loop teardown (it joins the worker threads), and steps whose
    # innermost frame is anyio's own test runner (between tests it runs pytest's
    # fixture setup and teardown there, which may build a store synchronously);
    # a test body's step names the test's own frame and is still checked.
    where = _where(handle)
    return any(
        part in where
        for part in (
            "shutdown_default_executor",
            "shutdown_asyncgens",
            "anyio/_backends/_asyncio.py",
        )
    )


class _Step(threading.local):
    """The loop step running on this thread, if any (what a blocking call is charged to)."""

    calls: list[str] | None = None  # the blocking calls the running step made


_STEP = _Step()


def _blocked(call: str) -> None:
    calls = _STEP.calls
    if calls is not None and call not in calls:
        calls.append(call)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "sqlite3.connect" and _STEP.calls is not None:
        _blocked(event)


sys.addaudithook(_audit)  # audit hooks cannot be removed: it does nothing outside a watched step

_SOCKET_CALLS = (
    "connect", "send", "sendall", "sendto", "recv", "recv_into", "recvfrom", "accept", "makefile"
)  # fmt: skip


def _watched(original: Callable[..., Any], blocking: Callable[..., str | None]) -> Any:
    """``original``, reporting to the running loop step the call ``blocking`` names (if any)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        if _STEP.calls is not None:
            what = blocking(*args)
            if what is not None:
                _blocked(what)
        return original(*args, **kwargs)

    return call


def _on_blocking_socket(name: str) -> Callable[..., str | None]:
    def blocking(sock: socket.socket, *args: Any) -> str | None:
        return f"socket.{name} on a blocking socket" if sock.getblocking() else None

    return blocking


def _store_transaction(kind: str) -> Callable[..., str | None]:
    def blocking(store: object, *args: Any) -> str | None:
        return f"{type(store).__name__}.{kind}() (an embedded-store transaction)"

    return blocking


class SlowSteps:
    """The loop steps that made a blocking call (where, and which call)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        original_run = asyncio.events.Handle._run
        seen = self.seen

        def watched(handle: asyncio.Handle) -> None:
            outer, _STEP.calls = _STEP.calls, []
            try:
                original_run(handle)
            finally:
                calls, _STEP.calls = _STEP.calls, outer
            # Where the step ended names whose it was (the test's frame, or the harness's).
            if calls and not _harness(handle):
                seen.append(f"{_where(handle)} made a blocking call: {'; '.join(calls)}")

        # Python 3.13 audits time.sleep; before it, the module attribute is replaced.
        patches: list[tuple[object, str, object]] = [
            (asyncio.events.Handle, "_run", watched),
            (time, "sleep", _watched(time.sleep, lambda *args: "time.sleep")),
        ]
        for name in _SOCKET_CALLS:
            original = getattr(socket.socket, name)
            patches.append((socket.socket, name, _watched(original, _on_blocking_socket(name))))
        for store in (MemoryStorage, SQLiteStorage):
            for kind in ("read", "write"):
                replacement = _watched(getattr(store, kind), _store_transaction(kind))
                patches.append((store, kind, replacement))
        with pytest.MonkeyPatch.context() as patch:
            for owner, name, replacement in patches:
                patch.setattr(owner, name, replacement)
            yield


@pytest.fixture(autouse=True)
def loop_never_blocks() -> Iterator[SlowSteps]:
    """Fail the test when any step on the event loop made a blocking call."""
    steps = SlowSteps()
    with steps.watching():
        yield steps
    assert not steps.seen, "the event loop was blocked: " + "; ".join(steps.seen[:3])


#: The backends the async conformance core runs on (CouchDB when configured).
ASYNC_BACKENDS = ["memory", "sqlite", "pouchdb", "couchdb"]


@pytest.fixture(params=ASYNC_BACKENDS)
def aio_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def aio_url(aio_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Any]:
    """``(url, auth)`` of the backend under test."""
    if aio_kind == "memory":
        return "memory:", None
    if aio_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'aio.db'}", None
    server: Server = request.getfixturevalue(f"{aio_kind}_server")
    return server.url, server.auth


@pytest.fixture
async def aclient(aio_url: tuple[str, Any]) -> AsyncIterator[settee.aio.AsyncClient]:
    """A connected :class:`settee.aio.AsyncClient` on the backend under test."""
    url, auth = aio_url
    async with settee.aio.connect(url, auth=auth) as client:
        yield client


@pytest.fixture
async def adb(aclient: settee.aio.AsyncClient) -> AsyncIterator[settee.aio.AsyncDatabase]:
    """A fresh database, deleted afterwards."""
    db = await aclient.create_database(unique_name("aio"))
    try:
        yield db
    finally:
        with contextlib.suppress(settee.NotFound):
            await aclient.delete_database(db.database_name)
