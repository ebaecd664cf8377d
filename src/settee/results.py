"""Per-document write results: the error a result names, and the one put->bulk fallback.

Below the backends and the feeds (both the core's ``Database`` and the
checkpoint stores write single documents through :func:`write_one`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from settee.errors import DocumentNotFound, NotSupported, error_for

if TYPE_CHECKING:
    from settee.backends.base import Backend

__all__ = ["raise_for_result", "write_one"]


def raise_for_result(result: object) -> None:
    """Raise the exception a fast-path write would have raised for a per-document error.

    Anything but a mapping with an ``error`` passes: its shape is the caller's to check.
    """
    if not isinstance(result, Mapping):
        return
    error = result.get("error")
    if error is not None:
        raise error_for(
            None,
            str(error),
            result.get("reason"),
            body=dict(result),
            not_found=DocumentNotFound,
        )


def write_one(
    backend: Backend,
    db: str,
    doc: dict[str, Any],
    fast: Callable[[], dict[str, Any]],
    *,
    w: int | None = None,
) -> dict[str, Any]:
    """One document written by ``fast`` (the backend's single-document write), or
    through ``_bulk_docs`` (with write quorum ``w``) where the backend has none
    (``NotSupported``).

    The one put->bulk fallback: a per-document error result (from either) raises its
    :mod:`settee.errors` class; an empty bulk answer is ``{"ok": True}`` (the
    caller checks the shape it needs).
    """
    try:
        result = fast()
    except NotSupported:
        results = backend.bulk_docs(db, [doc], w=w)
        result = results[0] if results else {"ok": True}
    raise_for_result(result)
    return result
