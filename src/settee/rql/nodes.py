"""The RQL syntax tree: small immutable nodes shared by the builder, parser, renderer and Mango.

A filter is a tree of :class:`Compare` (``eq ne lt le gt ge like ilike``),
:class:`Member` (``in out``), :class:`And`, :class:`Or` and :class:`Not`.
:class:`Query` wraps a filter with the non-filter parts of an RQL text:
``select()``, ``ordering()``, ``limit``/``offset`` and ``search``.

Build trees with :func:`and_`, :func:`or_` and :func:`not_` rather than the
classes: they flatten nested conjunctions, drop repeated children, collapse a
single child, and push ``not`` down to the leaves (De Morgan), because
django-rql's grammar only accepts ``not(...)`` around a single comparison.

Values are Python values: ``str``, ``int``, ``float``, ``Decimal``, ``bool``,
``None`` (RQL ``null()``), :data:`EMPTY` (RQL ``empty()``), ``date`` and
``datetime``. Equality is by meaning, not Python type: ``eq(a,1.5)`` equals
``eq(a,Decimal("1.5"))`` (they render alike), but ``eq(a,true)`` does not equal
``eq(a,1)`` and ``eq(a,'1')`` does not equal ``eq(a,1)``.

Limits, so that no input can exhaust time, memory or the stack: a number must
be 0 or have a magnitude a float can hold (:func:`number_fits`: what JSON
numbers become in PouchDB and in Mango), and a tree nests at most
:data:`MAX_DEPTH` levels (each node's :attr:`~And.depth`, checked when it is
built). The parser applies both to RQL text as :class:`~settee.errors.RQLSyntaxError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Final, TypeAlias

__all__ = [
    "COMPARE_OPS",
    "EMPTY",
    "LIST_OPS",
    "MAX_DEPTH",
    "RANGE_OPS",
    "SEARCH_OPS",
    "And",
    "Compare",
    "EmptyType",
    "Member",
    "Node",
    "Not",
    "Or",
    "Query",
    "Value",
    "and_",
    "check_value",
    "is_field",
    "not_",
    "number_fits",
    "or_",
]

#: Operators taking one value; ``like``/``ilike`` take a pattern with ``*`` wildcards.
COMPARE_OPS: Final = ("eq", "ne", "lt", "le", "gt", "ge", "like", "ilike")
#: Ordering comparisons (no ``null()``/``empty()`` allowed).
RANGE_OPS: Final = ("lt", "le", "gt", "ge")
#: Pattern operators.
SEARCH_OPS: Final = ("like", "ilike")
#: Operators taking a list of values.
LIST_OPS: Final = ("in", "out")
#: How deeply a filter may nest: a comparison is depth 1, and each ``and``,
#: ``or`` and ``not`` above it adds one; RQL text may hold at most this many
#: parentheses open at once. Deeper trees raise ``ValueError`` when built (the
#: parser: ``RQLSyntaxError``), so parsing, rendering and the Mango translation,
#: which recurse over the tree, stay far below Python's recursion limit.
MAX_DEPTH: Final = 64


class EmptyType:
    """The type of :data:`EMPTY`, RQL's ``empty()`` (the empty string)."""

    _instance: EmptyType | None = None

    def __new__(cls) -> EmptyType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "EMPTY"

    def __reduce__(self) -> str:
        return "EMPTY"


#: RQL ``empty()``: matches the empty string (django-rql's meaning).
EMPTY: Final = EmptyType()

Value: TypeAlias = str | int | float | Decimal | bool | date | datetime | EmptyType | None
_SCALARS = (str, int, float, Decimal, bool, date, datetime, EmptyType)


def number_fits(value: int | Decimal) -> bool:
    """Whether ``value`` is 0 or a float can hold its magnitude (about 5e-324 to 1.8e308).

    This is settee's one rule for numbers in RQL: JSON numbers become floats in
    PouchDB and in Mango's comparisons, and a number that would overflow to
    infinity or underflow to 0 means something else there (and expanding
    ``1e10000000`` to its digits would take for ever). It runs in time linear in
    the number's written length, whatever its exponent. NaN and infinity do not fit.
    """
    if isinstance(value, int):
        try:
            float(value)  # raises at once for more than 1024 bits
        except OverflowError:
            return False
        return True
    if not value.is_finite():
        return False
    if value.is_zero():
        return True
    number = float(value)  # bounded: Decimal converts via its written digits
    return number != 0.0 and math.isfinite(number)


def check_value(op: str, value: object) -> Value:
    """Return ``value`` if operator ``op`` accepts it.

    Raises ``TypeError`` (naming the operator) for an unsupported type and
    ``ValueError`` for NaN/infinite numbers, numbers beyond a float's range
    (see :func:`number_fits`) or ``null()``/``empty()`` where RQL does not
    allow them (range and pattern operators).
    """
    if value is not None and not isinstance(value, _SCALARS):
        raise TypeError(
            f"the `{op}` operator does not support a value of type {type(value).__name__}"
        )
    if op in SEARCH_OPS and not isinstance(value, str):
        raise TypeError(f"the `{op}` operator needs a str pattern, not {type(value).__name__}")
    if (value is None or value is EMPTY) and op in RANGE_OPS:
        what = "null()" if value is None else "empty()"
        raise ValueError(f"the `{op}` operator does not accept {what}; use eq/ne")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"the `{op}` operator cannot compare with {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"the `{op}` operator cannot compare with {value!r}")
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and not number_fits(value):
        # Not the value itself in the message: str() of a huge int raises.
        raise ValueError(
            f"the `{op}` operator cannot compare with a number beyond a float's range "
            "(0, or a magnitude from about 5e-324 to 1.8e308)"
        )
    return value


def value_key(value: Value) -> tuple[object, ...]:
    """A hashable key that equals for values meaning the same RQL token."""
    if value is None:
        return ("null",)
    if value is EMPTY:
        return ("empty",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, float):
        return ("num", Decimal(repr(value)))
    if isinstance(value, (int, Decimal)):
        return ("num", Decimal(value))
    if isinstance(value, datetime):
        return ("datetime", value.isoformat())
    if isinstance(value, date):
        return ("date", value.isoformat())
    return ("str", value)


# A field: dot-separated parts, each a name (letter or `_` first, then word
# characters or `-`) or an array index. lib-rql's PROP, plus a leading `_`.
_FIELD: Final = re.compile(r"[^\W\d][\w\-]*(?:\.(?:[^\W\d][\w\-]*|\d+))*")


def is_field(name: str) -> bool:
    """Whether ``name`` can be written as an RQL field (``a``, ``_id``, ``a.b-c.0``)."""
    return _FIELD.fullmatch(name) is not None


def _check_field(field: str) -> str:
    if not isinstance(field, str):
        raise TypeError(f"a field name must be a str, not {type(field).__name__}")
    if not is_field(field):
        raise ValueError(f"{field!r} cannot be written as an RQL field name")
    return field


@dataclass(frozen=True, eq=False)
class Compare:
    """``op(field,value)`` for ``eq ne lt le gt ge like ilike``."""

    op: str
    field: str
    value: Value

    #: The nesting depth of this node: 1 for a comparison.
    depth: ClassVar[int] = 1

    def __post_init__(self) -> None:
        if self.op not in COMPARE_OPS:
            raise ValueError(f"unknown comparison operator {self.op!r}")
        _check_field(self.field)
        check_value(self.op, self.value)

    def _key(self) -> tuple[object, ...]:
        return ("cmp", self.op, self.field, value_key(self.value))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Compare) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True, eq=False)
class Member:
    """``in(field,(v1,v2,...))`` / ``out(...)``; ``values`` is a non-empty tuple."""

    op: str
    field: str
    values: tuple[Value, ...]

    #: The nesting depth of this node: 1 for a comparison.
    depth: ClassVar[int] = 1

    def __post_init__(self) -> None:
        if self.op not in LIST_OPS:
            raise ValueError(f"unknown list operator {self.op!r}")
        _check_field(self.field)
        if not isinstance(self.values, tuple):
            raise TypeError(f"the `{self.op}` operator needs a tuple of values")
        if not self.values:
            # RQL has no spelling for an empty list: `in(a,())` does not parse.
            raise ValueError(f"the `{self.op}` operator needs at least one value")
        for value in self.values:
            check_value(self.op, value)

    def _key(self) -> tuple[object, ...]:
        return ("list", self.op, self.field, tuple(value_key(v) for v in self.values))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Member) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def _depth_above(kind: str, children: tuple[object, ...]) -> int:
    """The depth of a node over ``children``; raises past :data:`MAX_DEPTH`."""
    depth = 1 + max((getattr(child, "depth", 1) for child in children), default=0)
    if depth > MAX_DEPTH:
        raise ValueError(f"this {kind}() would nest {depth} levels deep; the limit is {MAX_DEPTH}")
    return depth


@dataclass(frozen=True)
class And:
    """All children hold. Build with :func:`and_`.

    ``depth`` is 1 more than the deepest child's; building one deeper than
    :data:`MAX_DEPTH` raises ``ValueError``.
    """

    children: tuple[Node, ...]
    depth: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", _depth_above("and", self.children))


@dataclass(frozen=True)
class Or:
    """At least one child holds. Build with :func:`or_`. ``depth`` as for :class:`And`."""

    children: tuple[Node, ...]
    depth: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", _depth_above("or", self.children))


@dataclass(frozen=True)
class Not:
    """The child (a :class:`Compare` or :class:`Member`) does not hold. Build with :func:`not_`.

    ``depth`` as for :class:`And`.
    """

    child: Node
    depth: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", _depth_above("not", (self.child,)))


Node: TypeAlias = Compare | Member | And | Or | Not


def _join(kind: type[And] | type[Or], nodes: tuple[Node | None, ...]) -> Node | None:
    children: list[Node] = []
    for node in nodes:
        if node is None:
            continue
        parts = node.children if isinstance(node, kind) else (node,)
        for part in parts:
            if part not in children:  # a repeated condition adds nothing
                children.append(part)
    if not children:
        return None
    if len(children) == 1:
        return children[0]
    return kind(tuple(children))


def and_(*nodes: Node | None) -> Node | None:
    """The conjunction of ``nodes`` (``None`` entries are ignored); ``None`` if none remain."""
    return _join(And, nodes)


def or_(*nodes: Node | None) -> Node | None:
    """The disjunction of ``nodes`` (``None`` entries are ignored); ``None`` if none remain."""
    return _join(Or, nodes)


def not_(node: Node) -> Node:
    """The negation of ``node``, pushed down to the leaves.

    ``not(not(x))`` is ``x``; ``not(and(a,b))`` is ``or(not(a),not(b))``;
    ``not(or(a,b))`` is ``and(not(a),not(b))``. django-rql (lib-rql's grammar)
    rejects ``not`` around anything but a single comparison, so the tree never
    holds one.
    """
    if isinstance(node, Not):
        return node.child
    if isinstance(node, And):
        result = or_(*(not_(child) for child in node.children))
    elif isinstance(node, Or):
        result = and_(*(not_(child) for child in node.children))
    else:
        return Not(node)
    assert result is not None  # a compound node always has children
    return result


@dataclass(frozen=True)
class Query:
    """Parsed RQL: the filter and ``select``, ``ordering``, ``limit``, ``offset``, ``search``.

    ``select`` and ``ordering`` keep their signs (``"-field"``, ``"+field"`` is
    stored as ``"field"``).
    """

    where: Node | None = None
    select: tuple[str, ...] = ()
    ordering: tuple[str, ...] = ()
    limit: int | None = None
    offset: int | None = None
    search: str | None = None
