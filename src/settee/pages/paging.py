"""Paging arithmetic shared by :mod:`settee.pages` and :mod:`settee.pages.bookmarks`.

The pagers are sans-I/O: a pager's plan is a generator that yields a
:class:`Fetch` when it needs an answer (it is sent the answer back) and a
page (a list) when it has one. :func:`drive_pages` runs a plan with a sync
fetch function; settee.aio runs the same plans with an async one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, Generic, TypeVar, Union

from settee._validate import check_int

__all__ = ["DEFAULT_PAGE_SIZE", "Fetch", "PagePlan", "PlanRun", "drive_pages"]

DEFAULT_PAGE_SIZE = 100

_Step = TypeVar("_Step")


@dataclasses.dataclass(frozen=True)
class Fetch:
    """One request a pager needs: query ``params`` (and ``keys``), or a ``_find`` body."""

    params: dict[str, Any]
    keys: list[Any] | None = None


#: A pager's plan: yields :class:`Fetch` (sent the answer) or a page of rows.
PagePlan = Generator[Union[Fetch, "list[dict[str, Any]]"], Any, None]


class PlanRun(Generic[_Step]):
    """A sans-I/O plan being driven (a pager's, or the REST layer's paging plans):
    iterate it for the plan's steps; what a step asks for is set as :attr:`reply`
    before the next one (None after a step that asks for nothing). The plan is
    closed when the ``with`` block ends."""

    def __init__(self, plan: Generator[_Step, Any, None]) -> None:
        self._plan = plan
        self.reply: Any = None

    def __iter__(self) -> PlanRun[_Step]:
        return self

    def __next__(self) -> _Step:
        reply, self.reply = self.reply, None
        return self._plan.send(reply)  # send(None) is next(): the first step, and after a page

    def __enter__(self) -> PlanRun[_Step]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._plan.close()


def drive_pages(
    plan: PagePlan, answer: Callable[[Fetch], Mapping[str, Any]]
) -> Iterator[list[dict[str, Any]]]:
    """The pages of ``plan``, each :class:`Fetch` answered by ``answer`` (the sync shell)."""
    with PlanRun(plan) as run:
        for step in run:
            if isinstance(step, Fetch):
                run.reply = answer(step)
            else:
                yield step


def take_window(params: dict[str, Any]) -> tuple[int | None, int]:
    """``limit`` (None: all) and ``skip`` (0) taken out of a result set's ``params``,
    each an int >= 0 (``TypeError``/``ValueError`` otherwise): the window of rows it
    reads, which its pager applies itself."""
    limit = params.pop("limit", None)
    return (
        None if limit is None else check_int("limit", limit, 0),
        check_int("skip", params.pop("skip", 0), 0),
    )


def check_position(index: int, limit: int | None) -> None:
    """Raise ``ValueError`` for a negative position, ``IndexError`` for one past ``limit``."""
    if index < 0:
        raise ValueError("negative positions are not supported: the total is not known")
    if limit is not None and index >= limit:
        raise IndexError(f"position {index} is past limit={limit}")


def slice_limit(begin: int, stop: int | None, limit: int | None) -> int | None:
    """The ``limit`` that reads ``[begin:stop]`` of a result set limited to ``limit``.

    Raises ``ValueError`` for a negative bound (the total is not known).
    """
    if begin < 0 or (stop is not None and stop < 0):
        raise ValueError("negative slice bounds are not supported: the total is not known")
    if stop is not None:
        count = max(stop - begin, 0)
        return count if limit is None else max(min(count, limit - begin), 0)
    if limit is not None:
        return max(limit - begin, 0)
    return None
