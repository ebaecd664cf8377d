"""Mango (``_find``) selectors, sort and field projection, evaluated in Python.

Semantics follow CouchDB's ``mango_selector``: a missing field matches nothing
but ``{"$exists": false}``; comparisons (``$eq``, ``$gt``...) use CouchDB's
collation across types; ``$in``/``$nin`` on an array field look at its
elements; ``$all`` uses exact JSON equality; ``$mod`` needs an integer field.
Selectors are validated up front: a malformed one is ``BadRequest``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

from settee._validate import is_int
from settee.backends._local.collation import raw_sort_key, sort_key
from settee.errors import BadRequest

__all__ = [
    "MISSING",
    "Selector",
    "compile_selector",
    "get_field",
    "json_equal",
    "parse_sort",
    "project",
    "split_field",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: The value of a field a document does not have.
MISSING: Any = _Missing()

_COMBINATORS = {"$and", "$or", "$nor", "$not"}
_CONDITIONS = {
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$exists",
    "$type",
    "$size",
    "$mod",
    "$regex",
    "$all",
    "$elemMatch",
    "$allMatch",
    "$keyMapMatch",
}
_TYPES = {"null", "boolean", "number", "string", "array", "object"}

#: A compiled predicate over a document (or any JSON value).
Selector = Callable[[Any], bool]


def _bad(reason: str) -> BadRequest:
    return BadRequest(reason, error="invalid_operator")


def split_field(path: str) -> list[str]:
    """``"a.b\\.c"`` -> ``["a", "b.c"]`` (a backslash escapes a dot)."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in path:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def get_field(doc: Any, parts: Sequence[str]) -> Any:
    """The value at a split field path, or :data:`MISSING`; array indexes are digits."""
    value = doc
    for part in parts:
        if isinstance(value, dict):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list) and part.isdigit():
            index = int(part)
            if index >= len(value):
                return MISSING
            value = value[index]
        else:
            return MISSING
    return value


def json_equal(a: Any, b: Any) -> bool:
    """Exact JSON equality, like Erlang's ``=:=``: ``1 != 1.0`` and ``True != 1``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    return bool(a == b)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def compile_selector(selector: Any) -> Selector:
    """Compile a Mango selector into a predicate; ``BadRequest`` if it is malformed."""
    if not isinstance(selector, dict):
        raise BadRequest("Selector must be a JSON object", error="invalid_selector")
    return _compile_object(selector, None, False)


# CouchDB pushes every negation ($not, $nor) down to the field conditions before
# matching, and a condition on a missing field is false. So {"f": {"$not": {"$eq": 1}}}
# is {"f": {"$ne": 1}} and does not match a document without "f". ``neg`` carries
# the pending negation down the same way.
_NEGATED = {
    "$lt": "$gte",
    "$gte": "$lt",
    "$lte": "$gt",
    "$gt": "$lte",
    "$eq": "$ne",
    "$ne": "$eq",
    "$in": "$nin",
    "$nin": "$in",
}


def _all(preds: list[Selector]) -> Selector:
    if len(preds) == 1:
        return preds[0]
    return lambda doc: all(pred(doc) for pred in preds)


def _any(preds: list[Selector]) -> Selector:
    # CouchDB: an empty $or matches everything.
    return lambda doc: not preds or any(pred(doc) for pred in preds)


def _compile_object(selector: dict[str, Any], path: list[str] | None, neg: bool) -> Selector:
    """An object selector: an implicit ``$and`` of its members (an ``$or`` when negated)."""
    preds: list[Selector] = []
    for key, arg in selector.items():
        if key in _COMBINATORS:
            preds.append(_compile_combinator(key, arg, path, neg))
        elif key in _CONDITIONS:
            preds.append(_compile_condition(key, arg, path or [], neg))
        elif key.startswith("$"):
            raise _bad(f"Invalid operator: {key}")
        else:
            sub = [*(path or []), *split_field(key)]
            if isinstance(arg, dict) and arg:
                # Operators, or nested fields ({"a": {"b": 1}} is "a.b" = 1).
                preds.append(_compile_object(arg, sub, neg))
            else:
                preds.append(_compile_condition("$eq", arg, sub, neg))
    return _any(preds) if neg and len(preds) > 1 else _all(preds)


def _compile_combinator(op: str, arg: Any, path: list[str] | None, neg: bool) -> Selector:
    if op == "$not":
        if not isinstance(arg, dict):
            raise _bad("$not argument must be a JSON object")
        return _compile_object(arg, path, not neg)
    if not isinstance(arg, list) or not all(isinstance(item, dict) for item in arg):
        raise _bad(f"{op} argument must be a list of JSON objects")
    if op == "$nor":  # $nor is $not of $or
        op, neg = "$or", not neg
    preds = [_compile_object(item, path, neg) for item in arg]
    conjunction = (op == "$and") != neg  # De Morgan
    return _all(preds) if conjunction else _any(preds)


def _sub_selector(arg: Any, op: str) -> Selector:
    """The argument of $elemMatch/$allMatch/$keyMapMatch, applied to one element."""
    if not isinstance(arg, dict):
        raise _bad(f"{op} argument must be a JSON object")
    return _compile_object(arg, None, False)


def _compile_condition(op: str, arg: Any, path: list[str], neg: bool) -> Selector:
    if op == "$exists":
        if not isinstance(arg, bool):
            raise _bad("$exists argument must be a boolean")
        want = arg != neg
        return lambda doc: (get_field(doc, path) is not MISSING) == want
    raw = path == ["_id"]  # CouchDB compares _id raw, not with ICU
    if neg and op in _NEGATED:
        op, neg = _NEGATED[op], False
    test = _condition(op, arg, raw)

    def predicate(doc: Any) -> bool:
        value = get_field(doc, path)
        return value is not MISSING and test(value) != neg

    return predicate


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": operator.eq,
    "$ne": operator.ne,
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


def _condition(op: str, arg: Any, raw: bool = False) -> Callable[[Any], bool]:
    keyof = raw_sort_key if raw else sort_key
    if op in _COMPARE:
        key = keyof(arg)
        compare = _COMPARE[op]
        kind = type(arg)
        if kind is int or kind is float:
            # Numbers collate by value (sort_key is (3, value)): compare them directly.
            def numeric(v: Any) -> bool:
                found = type(v)
                if found is int or found is float:
                    return compare(v, arg)
                return compare(keyof(v), key)

            return numeric
        if kind is str and op == "$eq":
            return lambda v: v == arg or keyof(v) == key  # the same string collates equal
        return lambda v: compare(keyof(v), key)
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise _bad(f"{op} argument must be a list")
        keys = [keyof(item) for item in arg]

        def contains(v: Any) -> bool:
            values = v if isinstance(v, list) else [v]
            return any(keyof(item) in keys for item in values)

        if op == "$in":
            return contains
        return lambda v: not contains(v)
    if op == "$type":
        if arg not in _TYPES:
            raise _bad(f"$type argument must be one of {sorted(_TYPES)}")
        return lambda v: _json_type(v) == arg
    if op == "$size":
        if not is_int(arg) or arg < 0:
            raise _bad("$size argument must be a non-negative integer")
        return lambda v: isinstance(v, list) and len(v) == arg
    if op == "$mod":
        if (
            not isinstance(arg, list)
            or len(arg) != 2
            or not all(is_int(x) for x in arg)
            or arg[0] == 0
        ):
            raise _bad("$mod argument must be [Divisor, Remainder] with a non-zero integer divisor")
        divisor, remainder = arg

        def mod(v: Any) -> bool:
            if not is_int(v):
                return False
            # Erlang's rem takes the dividend's sign; Python's % the divisor's.
            rem = abs(v) % abs(divisor)
            return bool((rem if v >= 0 else -rem) == remainder)

        return mod
    if op == "$regex":
        if not isinstance(arg, str):
            raise _bad("$regex argument must be a string")
        try:
            pattern = re.compile(arg)
        except re.error as exc:
            raise _bad(f"Invalid regular expression: {exc}") from exc
        return lambda v: isinstance(v, str) and pattern.search(v) is not None
    if op == "$all":
        if not isinstance(arg, list):
            raise _bad("$all argument must be a list")
        # CouchDB: every argument is a member, or the one argument is the whole array.
        whole = arg[0] if len(arg) == 1 and isinstance(arg[0], list) else None
        return lambda v: (
            isinstance(v, list)
            and bool(arg)
            and (
                all(any(json_equal(item, x) for x in v) for item in arg)
                or (whole is not None and json_equal(whole, v))
            )
        )
    if op == "$elemMatch":
        sub = _sub_selector(arg, op)
        return lambda v: isinstance(v, list) and any(sub(item) for item in v)
    if op == "$allMatch":
        sub = _sub_selector(arg, op)
        return lambda v: isinstance(v, list) and bool(v) and all(sub(item) for item in v)
    if op == "$keyMapMatch":
        sub = _sub_selector(arg, op)
        return lambda v: isinstance(v, dict) and any(sub(key) for key in v)
    raise _bad(f"Invalid operator: {op}")


def parse_sort(sort: Any) -> list[tuple[list[str], str, bool]]:
    """``["a", {"b": "desc"}]`` -> ``[(["a"], "a", False), (["b"], "b", True)]``; ``BadRequest``."""
    if sort is None:
        return []
    if not isinstance(sort, list):
        raise BadRequest("Sort must be an array", error="invalid_sort_json")
    out: list[tuple[list[str], str, bool]] = []
    for item in sort:
        if isinstance(item, str):
            out.append((split_field(item), item, False))
        elif isinstance(item, dict) and len(item) == 1:
            ((name, direction),) = item.items()
            if direction not in ("asc", "desc"):
                raise BadRequest(f"Invalid sort direction {direction!r}", error="invalid_sort_json")
            out.append((split_field(name), name, direction == "desc"))
        else:
            raise BadRequest(f"Invalid sort field {item!r}", error="invalid_sort_json")
    directions = {desc for _, _, desc in out}
    if len(directions) > 1:
        raise BadRequest(
            "Sorts currently only support a single direction for all fields.",
            error="unsupported_mixed_sort",
        )
    return out


def project(doc: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    """The document with only ``fields`` (dotted paths rebuilt as nested objects)."""
    if not fields:
        return doc
    out: dict[str, Any] = {}
    for field in fields:
        parts = split_field(field)
        value = get_field(doc, parts)
        if value is MISSING:
            continue
        target = out
        for part in parts[:-1]:
            nested = target.get(part)
            if not isinstance(nested, dict):
                nested = target[part] = {}
            target = nested
        target[parts[-1]] = value
    return out
