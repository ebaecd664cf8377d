"""Async tests run on asyncio through anyio's pytest plugin (``@pytest.mark.anyio``).

Every test here runs with asyncio's debug mode on and a slow-callback
threshold of 50 ms; a callback or coroutine step that holds the loop longer
logs asyncio's "Executing ... took" warning, which :func:`loop_never_blocks`
turns into a test failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

#: A coroutine step holding the loop longer than this fails the test.
SLOW_CALLBACK_SECONDS = 0.05


def _loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
    return loop


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    return ("asyncio", {"debug": True, "loop_factory": _loop})


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "took" in message and "Executing" in message:
            self.seen.append(message)


@pytest.fixture(autouse=True)
def loop_never_blocks() -> Iterator[None]:
    """Fail the test when any step on the event loop took longer than 50 ms."""
    handler = _SlowCallbacks()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    yield
    logger.removeHandler(handler)
    assert not handler.seen, "the event loop was blocked: " + "; ".join(handler.seen[:3])
