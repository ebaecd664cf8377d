"""python-cloudant's ``cloudant.view``: :class:`View` and :class:`QueryIndexView`.

A :class:`View` is the ``dict`` a design document stores under ``views``
(``map``, ``reduce``, options) that can also be queried: ``view(**options)``
answers the view's JSON, ``view.result`` is a
:class:`~settee.compat.cloudant.result.Result` over it, and
``with view.custom_result(**options) as rows:`` gives one with options.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from settee.compat.cloudant import _raw
from settee.compat.cloudant.error import CloudantArgumentError, CloudantViewException
from settee.compat.cloudant.result import Result
from settee.queries import QueryScope, ddoc_name

if TYPE_CHECKING:
    from settee.compat.cloudant.design_document import DesignDocument

__all__ = ["QueryIndexView", "View"]


def _keys_first(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


class View(dict[str, Any]):
    """``View(ddoc, view_name, map_func=None, reduce_func=None, partition_key=None,
    **kwargs)``: ``kwargs`` are stored beside ``map``/``reduce`` (e.g. ``options``)."""

    def __init__(
        self,
        ddoc: DesignDocument,
        view_name: str,
        map_func: str | None = None,
        reduce_func: str | None = None,
        partition_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.design_doc = ddoc
        self.view_name = view_name
        if map_func is not None:
            self["map"] = str(map_func)
        if reduce_func is not None:
            self["reduce"] = str(reduce_func)
        self._partition_key = partition_key
        self.update(kwargs)
        self.result = Result(self)

    @property
    def map(self) -> Any:
        """The map function's source (None when unset)."""
        return self.get("map")

    @map.setter
    def map(self, js_func: Any) -> None:
        self["map"] = str(js_func)

    @property
    def reduce(self) -> Any:
        """The reduce function's source (None when unset)."""
        return self.get("reduce")

    @reduce.setter
    def reduce(self, js_func: str) -> None:
        self["reduce"] = str(js_func)

    @property
    def url(self) -> str:
        """The view's URL (``.../_design/ddoc/_view/name``, under the partition if any)."""
        ddoc_url = self.design_doc.document_url or ""
        if self._partition_key is not None:
            ddoc_url = self.design_doc.document_partition_url(self._partition_key)
        return f"{ddoc_url}/_view/{self.view_name}"

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        """Query the view once; return its JSON (``rows``, ``total_rows``...)."""
        ddoc_id = self.design_doc.get("_id")
        if not isinstance(ddoc_id, str):
            raise CloudantArgumentError(105, "the view's design document has no _id")
        db = self.design_doc.database
        scope: QueryScope = db if self._partition_key is None else db.partition(self._partition_key)
        with _raw.raise_for_status():
            answer: dict[str, Any] = QueryScope.get_view_result(
                scope, ddoc_name(ddoc_id), self.view_name, raw_result=True, **_keys_first(kwargs)
            )
        return answer

    @contextlib.contextmanager
    def custom_result(self, **options: Any) -> Iterator[Result]:
        """``with view.custom_result(include_docs=True) as rows:`` a
        :class:`~settee.compat.cloudant.result.Result` with ``options``."""
        yield Result(self, **options)


class QueryIndexView(View):
    """A Mango (``language: query``) index's view: ``map`` holds ``fields``; not callable."""

    def __init__(
        self,
        ddoc: DesignDocument,
        view_name: str,
        map_fields: dict[str, Any],
        reduce_func: str,
        **kwargs: Any,
    ) -> None:
        if not isinstance(map_fields, dict):
            raise CloudantArgumentError(132)
        if not isinstance(reduce_func, str):
            raise CloudantArgumentError(133)
        super().__init__(ddoc, view_name, None, None, **kwargs)
        self["map"] = map_fields
        self["reduce"] = reduce_func
        self.result = None  # type: ignore[assignment]

    @property
    def map(self) -> Any:
        """The indexed ``fields`` dict."""
        return self.get("map")

    @map.setter
    def map(self, map_func: Any) -> None:
        if not isinstance(map_func, dict):
            raise CloudantArgumentError(132)
        self["map"] = map_func

    @property
    def reduce(self) -> Any:
        """The reduce name (``_count``)."""
        return self.get("reduce")

    @reduce.setter
    def reduce(self, reduce_func: str) -> None:
        if not isinstance(reduce_func, str):
            raise CloudantArgumentError(133)
        self["reduce"] = reduce_func

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        """``CloudantViewException(101)``: query it with ``Database.get_query_result``."""
        raise CloudantViewException(101)

    @contextlib.contextmanager
    def custom_result(self, **options: Any) -> Iterator[Result]:
        """``CloudantViewException(102)``: use ``Database.get_query_result``."""
        raise CloudantViewException(102)
        yield  # pragma: no cover - a generator for contextmanager
