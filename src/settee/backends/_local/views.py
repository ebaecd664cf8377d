"""Python map/reduce views: CouchDB's view query semantics over emitted rows.

Rows are ordered by ``(key, docid)`` in collation order (doc ids raw).
Built-in reduces: ``_count``, ``_sum`` (numbers or arrays of numbers) and
``_stats``; a callable reduce is ``fn(keys, values, rereduce) -> value`` with
``keys`` the ``[key, docid]`` pairs, called once per group with
``rereduce=False``.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from settee.backends._local.collation import sort_key
from settee.errors import BadRequest

__all__ = ["ViewCache", "ViewIndex", "ViewRow", "builtin_reduce", "emit_rows", "query_rows"]

#: ``(sort key of key, docid, key, value)``
ViewRow = tuple[Any, str, Any, Any]


def _query_error(reason: str) -> BadRequest:
    return BadRequest(reason, error="query_parse_error")


def emit_rows(map_fn: Callable[[dict[str, Any]], Any], doc: dict[str, Any]) -> list[ViewRow]:
    """Run ``map_fn`` on ``doc`` and return its rows; ``TypeError`` if it emits no pairs."""
    emitted = map_fn(doc)
    if emitted is None:
        return []
    rows: list[ViewRow] = []
    for pair in emitted:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"a map function must yield (key, value) pairs, got {pair!r}")
        key, value = pair
        rows.append((sort_key(key), doc["_id"], key, value))
    return rows


def _sum(values: Sequence[Any]) -> Any:
    total: Any = 0
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float, list)):
            raise BadRequest(
                f"The _sum function requires that map values be numbers or arrays of "
                f"numbers, not '{value!r}'",
                error="builtin_reduce_error",
            )
        if isinstance(value, list) or isinstance(total, list):
            left = total if isinstance(total, list) else [total]
            right = value if isinstance(value, list) else [value]
            size = max(len(left), len(right))
            left = left + [0] * (size - len(left))
            right = right + [0] * (size - len(right))
            total = [a + b for a, b in zip(left, right, strict=True)]
        else:
            total += value
    return total


def _stats(values: Sequence[Any]) -> dict[str, Any]:
    numbers: list[float] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadRequest(
                f"The _stats function requires that map values be numbers, not '{value!r}'",
                error="builtin_reduce_error",
            )
        numbers.append(value)
    if not numbers:
        return {"sum": 0, "count": 0, "min": 0, "max": 0, "sumsqr": 0}
    return {
        "sum": sum(numbers),
        "count": len(numbers),
        "min": min(numbers),
        "max": max(numbers),
        "sumsqr": math.fsum(n * n for n in numbers)
        if any(isinstance(n, float) for n in numbers)
        else sum(n * n for n in numbers),
    }


def builtin_reduce(spec: Any) -> Callable[[list[list[Any]], list[Any], bool], Any]:
    """The reduce callable for ``spec``; ``ValueError`` for an unknown built-in."""
    if callable(spec):
        fn: Callable[[list[list[Any]], list[Any], bool], Any] = spec
        return fn
    if spec == "_count":
        return lambda keys, values, rereduce: len(values)
    if spec == "_sum":
        return lambda keys, values, rereduce: _sum(values)
    if spec == "_stats":
        return lambda keys, values, rereduce: _stats(values)
    raise ValueError(f"unknown reduce {spec!r}: use '_count', '_sum', '_stats' or a callable")


def _bool(params: Mapping[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        raise _query_error(f"Invalid boolean parameter: {name}={value!r}")
    return value


def _int(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = -1
        if value < 0:
            raise _query_error(f"Invalid value for {name}: must be a non-negative integer")
    return int(value)


class _Top:
    """Greater than every document id: the far end of one key's rows."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True


_TOP: Any = _Top()


class ViewIndex:
    """Emitted rows sorted by ``(key, docid)``, searchable by bisection.

    Built once per view and database state; every query after that costs
    ``O(log n)`` plus the rows it returns.
    """

    __slots__ = ("positions", "rows")

    def __init__(self, rows: Iterable[ViewRow]) -> None:
        # A stable sort: one document's rows under one key stay in emission order.
        self.rows: list[ViewRow] = sorted(rows, key=lambda row: (row[0], row[1]))
        self.positions: list[tuple[Any, str]] = [(row[0], row[1]) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def key_slice(self, key: Any) -> tuple[int, int]:
        """The index range of the rows emitted under ``key``."""
        k = sort_key(key)
        return (
            bisect.bisect_left(self.positions, (k,)),
            bisect.bisect_right(self.positions, (k, _TOP)),
        )

    def bound(self, key: Any, docid: Any, *, low: bool, inclusive: bool) -> int:
        """The slice index for a range bound (``low``: first row in; else: first row out)."""
        k = sort_key(key)
        before: tuple[Any, ...]
        after: tuple[Any, ...]
        if docid is _UNSET:
            before, after = (k,), (k, _TOP)
        else:
            before = after = (k, docid)
        if low:
            return (
                bisect.bisect_left(self.positions, before)
                if inclusive
                else bisect.bisect_right(self.positions, after)
            )
        return (
            bisect.bisect_right(self.positions, after)
            if inclusive
            else bisect.bisect_left(self.positions, before)
        )


def query_rows(
    rows: Iterable[ViewRow] | ViewIndex,
    params: Mapping[str, Any],
    *,
    reduce: Any = None,
    keys: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Apply a view query to emitted ``rows`` (or a built index); the CouchDB response body.

    ``include_docs`` is left to the caller: map rows carry ``id`` so it can add ``doc``.
    """
    index = rows if isinstance(rows, ViewIndex) else ViewIndex(rows)
    descending = _bool(params, "descending", False)
    inclusive_end = _bool(params, "inclusive_end", True)
    limit = _int(params, "limit")
    skip = _int(params, "skip") or 0
    do_reduce = _bool(params, "reduce", reduce is not None)
    if do_reduce and reduce is None:
        raise _query_error("Reduce is invalid for map-only views.")
    group_level = _int(params, "group_level")
    group = _bool(params, "group", False) or group_level is not None
    if not do_reduce and group and reduce is None:
        raise _query_error("Invalid use of grouping on a map view.")
    if do_reduce and _bool(params, "include_docs", False):
        raise _query_error("`include_docs` is invalid for reduce")
    ranged = ("key", "startkey", "start_key", "endkey", "end_key")
    if keys is not None and any(params.get(name) is not None for name in ranged):
        raise _query_error("`keys` is incompatible with `key`, `start_key` and `end_key`")

    offset: int | None = None
    if keys is not None:
        selected: list[ViewRow] = []
        for wanted in keys:
            start, stop = index.key_slice(wanted)
            match = index.rows[start:stop]
            # CouchDB answers multi-key queries key by key in the order given.
            selected.extend(reversed(match) if descending else match)
    else:
        start, stop = _range(index, params, descending, inclusive_end)
        selected = index.rows[start:stop]
        if descending:
            selected.reverse()
        # CouchDB counts the rows before the first one returned, in the scan direction.
        offset = min((len(index) - stop if descending else start) + skip, len(index))

    if do_reduce:
        fn = builtin_reduce(reduce)
        groups = _group(selected, group, group_level)
        out_rows = [
            {
                "key": key,
                "value": fn([[r[2], r[1]] for r in members], [r[3] for r in members], False),
            }
            for key, members in groups
        ]
        out_rows = out_rows[skip:]
        if limit is not None:
            out_rows = out_rows[:limit]
        return {"rows": out_rows}

    page = selected[skip:]
    if limit is not None:
        page = page[:limit]
    body: dict[str, Any] = {"total_rows": len(index)}
    if offset is not None:
        body["offset"] = offset
    body["rows"] = [{"id": row[1], "key": row[2], "value": row[3]} for row in page]
    return body


def _range(
    index: ViewIndex, params: Mapping[str, Any], descending: bool, inclusive_end: bool
) -> tuple[int, int]:
    """The ``[start, stop)`` slice of ``index`` the key range selects."""

    def get(*names: str) -> Any:
        for name in names:
            if params.get(name) is not None:
                return params[name]
        return _UNSET

    start = get("startkey", "start_key")
    end = get("endkey", "end_key")
    start_docid = get("startkey_docid", "start_key_docid")
    end_docid = get("endkey_docid", "end_key_docid")
    key = get("key")
    if key is not _UNSET:
        start, end, inclusive_end = key, key, True
        start_docid = end_docid = _UNSET
    # The scan runs from ``start`` to ``end``; descending swaps which end is low.
    low, low_docid, low_incl = (
        (end, end_docid, inclusive_end) if descending else (start, start_docid, True)
    )
    high, high_docid, high_incl = (
        (start, start_docid, True) if descending else (end, end_docid, inclusive_end)
    )
    first = 0 if low is _UNSET else index.bound(low, low_docid, low=True, inclusive=low_incl)
    stop = (
        len(index)
        if high is _UNSET
        else index.bound(high, high_docid, low=False, inclusive=high_incl)
    )
    return first, max(first, stop)


class _Unset:
    pass


_UNSET: Any = _Unset()


def _group(
    rows: list[ViewRow], group: bool, group_level: int | None
) -> list[tuple[Any, list[ViewRow]]]:
    if not group:
        return [(None, rows)] if rows else []
    groups: list[tuple[Any, list[ViewRow]]] = []
    last: Any = _UNSET
    for row in rows:
        key = row[2]
        if group_level is not None and isinstance(key, list):
            key = key[:group_level]
        gk = sort_key(key)
        if last is not _UNSET and gk == last:
            groups[-1][1].append(row)
        else:
            groups.append((key, [row]))
            last = gk
    return groups


class ViewCache:
    """The few most recent query indexes (Python views, sorted ``_find`` results),
    each valid for one ``update_seq``."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._entries: OrderedDict[Any, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, update_seq: int) -> Any:
        """The index built at ``update_seq``, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != update_seq:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Any, update_seq: int, index: Any) -> None:
        """Remember ``index``; the least recently used entry goes beyond ``size``."""
        with self._lock:
            self._entries[key] = (update_seq, index)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
