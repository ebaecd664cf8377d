"""Async tests run on asyncio through anyio's pytest plugin (``@pytest.mark.anyio``).

Every test here fails if any step on the event loop (a callback, one stretch
of a coroutine between two awaits) holds the loop for more than 50 ms - the
check asyncio's debug mode makes with its slow-callback warning, made an
error. The machine running the suite may be loaded (many processes on few
cores), so the time a step spent *waiting for a CPU* is not counted: it is
read from Linux's per-thread scheduler statistics
(``/proc/thread-self/schedstat``: run-queue wait), and so is the CPU time
other threads of the process used meanwhile (the GIL the loop waited for,
e.g. a worker thread of ``asyncio.to_thread``). A step counts as blocking for
the rest of its wall time - its own CPU time plus any time it slept or waited
on I/O, which is what blocking the loop means.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import settee
import settee.aio
from tests.conftest import Server, unique_name

#: A step holding the loop longer than this fails the test.
SLOW_STEP_SECONDS = 0.05
_SCHEDSTAT = "/proc/thread-self/schedstat"


def _run_queue_wait() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (0 if unknown)."""
    try:
        with open(_SCHEDSTAT, "rb") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.slow_callback_duration = 3600.0  # the check is ours (below), load-proof
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
    # asyncio's own loop teardown (it joins the worker threads), and the step in which
    # asyncio.to_thread's executor starts a new worker thread (Thread.start() waits
    # until the OS runs it: on a loaded machine that is the load's time, not the
    # code's, and it is the stdlib's only way off the loop).
    # Also a step whose innermost frame is anyio's own test runner (between tests it
    # runs pytest's fixture setup and teardown there); a test body's step names the
    # test's own frame and is still checked.
    where = _where(handle)
    return any(
        part in where
        for part in (
            "shutdown_default_executor",
            "shutdown_asyncgens",
            "asyncio/threads.py",
            "anyio/_backends/_asyncio.py",
        )
    )


class SlowSteps:
    """The loop steps that held the loop too long (what blocked, for how long)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        original = asyncio.events.Handle._run
        seen = self.seen
        use_stats = os.path.exists(_SCHEDSTAT)

        def timed(handle: asyncio.Handle) -> None:
            waited = _run_queue_wait() if use_stats else 0.0
            process, thread = time.process_time(), time.thread_time()
            started = time.perf_counter()
            original(handle)
            wall = time.perf_counter() - started
            waited = (_run_queue_wait() - waited) if use_stats else 0.0
            # Other threads of this process on a CPU meanwhile held the GIL the loop waited for.
            others = (time.process_time() - process) - (time.thread_time() - thread)
            held = wall - waited - max(others, 0.0)
            if held >= SLOW_STEP_SECONDS and not _harness(handle):
                seen.append(f"{_where(handle)} held the loop {held * 1000:.0f} ms")

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        try:
            yield
        finally:
            asyncio.events.Handle._run = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def loop_never_blocks() -> Iterator[SlowSteps]:
    """Fail the test when any step on the event loop held it longer than 50 ms."""
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
