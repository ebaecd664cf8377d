"""Paging arithmetic shared by :mod:`settee.pages` and :mod:`settee.pages.bookmarks`."""

from __future__ import annotations

from typing import Any

from settee._validate import check_int

__all__ = ["DEFAULT_PAGE_SIZE"]

DEFAULT_PAGE_SIZE = 100


def _count(name: str, value: Any, minimum: int) -> int:
    return check_int(name, value, minimum)


def _check_position(index: int, limit: int | None) -> None:
    """Raise ``ValueError`` for a negative position, ``IndexError`` for one past ``limit``."""
    if index < 0:
        raise ValueError("negative positions are not supported: the total is not known")
    if limit is not None and index >= limit:
        raise IndexError(f"position {index} is past limit={limit}")


def _slice_limit(begin: int, stop: int | None, limit: int | None) -> int | None:
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
