"""``R``: build RQL filters in Python, with CloudBlue Connect's ``R`` semantics.

::

    R().status.eq("published")                  # eq(status,published)
    R().customer.name.eq("Ann")                 # eq(customer.name,Ann)
    R().n("customer.name").eq("Ann")            # the same
    R(status="x", total__gt=3, tags__in=("a", "b"), deleted__null=True)
    ~(R(a=1) | R(b__like="x*"))                 # and(not(eq(a,1)),not(like(b,x*)))

Unlike Connect's client, values are encoded (see :mod:`settee.rql.render`), an
``R`` is immutable (every call returns a new one), and ``~`` is pushed down to
the comparisons because django-rql only accepts ``not`` around one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from settee.rql.nodes import (
    COMPARE_OPS,
    EMPTY,
    Compare,
    Member,
    Node,
    Value,
    and_,
    not_,
    or_,
)
from settee.rql.render import render

__all__ = ["R", "lookup"]

_LOOKUP_LIST_OPS: Final = {"in": "in", "in_": "in", "oneof": "in", "out": "out"}
_LOOKUP_FLAG_OPS: Final = ("null", "empty")


def _list_values(op: str, values: object) -> tuple[Value, ...]:
    if not isinstance(values, (list, tuple)):
        raise TypeError(
            f"the `{op}` operator needs a list or tuple of values, not {type(values).__name__}"
        )
    return tuple(values)


def _flag(field: str, op: str, value: object) -> Node:
    if not isinstance(value, bool):
        raise TypeError(f"the `{op}` lookup needs True or False, not {type(value).__name__}")
    return Compare("eq" if value else "ne", field, None if op == "null" else EMPTY)


def lookup(name: str, value: object) -> Node:
    """Return the node for one Connect-style keyword lookup ``name=value``.

    ``status="x"`` is ``eq(status,x)``; ``total__gt=3`` is ``gt(total,3)``;
    ``tags__in=("a", "b")`` is ``in(tags,(a,b))``; ``deleted__null=True`` is
    ``eq(deleted,null())`` (``False``: ``ne``); ``name__empty=True`` is
    ``eq(name,empty())``; a last part that is not an operator is a nested
    field: ``customer__name="y"`` is ``eq(customer.name,y)``. Raises
    ``TypeError``/``ValueError`` for a value the operator does not take.
    """
    parts = name.split("__")
    op = parts[-1]
    if len(parts) > 1 and (op in COMPARE_OPS or op in _LOOKUP_LIST_OPS or op in _LOOKUP_FLAG_OPS):
        field = ".".join(parts[:-1])
    else:
        op, field = "eq", ".".join(parts)
    if op in _LOOKUP_FLAG_OPS:
        return _flag(field, op, value)
    if op in _LOOKUP_LIST_OPS:
        real = _LOOKUP_LIST_OPS[op]
        return Member(real, field, _list_values(op, value))
    return Compare(op, field, value)  # type: ignore[arg-type]  # Compare checks the type


class R:
    """An RQL filter under construction; immutable, hashable, ``str()`` gives RQL text.

    ``R()`` is the empty filter (falsy, renders as ``""``). Attribute access
    names a field (``R().a.b`` is field ``a.b``); names of methods (``eq``,
    ``n``, ...) and dunder names are not fields: use ``n("eq")`` for those.
    ``&``, ``|`` and ``~`` raise ``ValueError`` for a tree nested deeper than
    :data:`~settee.rql.nodes.MAX_DEPTH`, and comparisons for a number beyond a
    float's range (:func:`~settee.rql.nodes.number_fits`).
    """

    __slots__ = ("_node", "_path")

    _node: Node | None
    _path: tuple[str, ...]

    def __init__(self, **lookups: object) -> None:
        node = and_(*(lookup(name, value) for name, value in lookups.items()))
        object.__setattr__(self, "_node", node)
        object.__setattr__(self, "_path", ())

    @classmethod
    def from_node(cls, node: Node | None) -> R:
        """Return an ``R`` holding ``node`` (e.g. ``parse(text).where``)."""
        query = cls()
        object.__setattr__(query, "_node", node)
        return query

    def _with_path(self, path: tuple[str, ...]) -> R:
        query = R()
        object.__setattr__(query, "_path", path)
        return query

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("R objects are immutable")

    # -- naming the field ---------------------------------------------------
    def n(self, name: str) -> R:
        """Return a new ``R`` naming field ``name`` (dots nest) below the current path.

        Raises ``AttributeError`` if this ``R`` already holds an expression.
        """
        if self._node is not None:
            raise AttributeError("this R already holds an expression; start a new R()")
        if not isinstance(name, str) or not name:
            raise ValueError(f"invalid field name {name!r}")
        return self._with_path(self._path + tuple(name.split(".")))

    def __getattr__(self, name: str) -> R:
        # Dunder and _sunder_-style names are Python protocol probes (copy, pickle,
        # IPython), never fields; `_id`, `_rev` and friends stay usable.
        if name.startswith("__") or (name.startswith("_") and name.endswith("_")):
            raise AttributeError(name)
        return self.n(name)

    @property
    def field(self) -> str:
        """The dotted field name this ``R`` refers to (``""`` if none)."""
        return ".".join(self._path)

    @property
    def node(self) -> Node | None:
        """The syntax tree of this filter, ``None`` for the empty filter."""
        return self._node

    def _field_or_raise(self, op: str) -> str:
        if self._node is not None:
            raise AttributeError("this R already holds an expression; start a new R()")
        if not self._path:
            raise ValueError(f"`{op}` needs a field first, e.g. R().status.{op}(...)")
        return self.field

    def _compare(self, op: str, value: object) -> R:
        return R.from_node(Compare(op, self._field_or_raise(op), value))  # type: ignore[arg-type]

    # -- operators ----------------------------------------------------------
    def eq(self, value: object) -> R:
        """``eq(field,value)``; ``None`` means ``null()``."""
        return self._compare("eq", value)

    def ne(self, value: object) -> R:
        """``ne(field,value)``; ``None`` means ``null()``."""
        return self._compare("ne", value)

    def lt(self, value: object) -> R:
        """``lt(field,value)``."""
        return self._compare("lt", value)

    def le(self, value: object) -> R:
        """``le(field,value)``."""
        return self._compare("le", value)

    def gt(self, value: object) -> R:
        """``gt(field,value)``."""
        return self._compare("gt", value)

    def ge(self, value: object) -> R:
        """``ge(field,value)``."""
        return self._compare("ge", value)

    def like(self, pattern: str) -> R:
        """``like(field,pattern)``: ``*`` is the wildcard, ``\\*`` a literal star."""
        return self._compare("like", pattern)

    def ilike(self, pattern: str) -> R:
        """``ilike(field,pattern)``: case-insensitive :meth:`like`."""
        return self._compare("ilike", pattern)

    def in_(self, values: Iterable[object]) -> R:
        """``in(field,(v1,v2,...))``; ``values`` is a non-empty list or tuple."""
        return R.from_node(Member("in", self._field_or_raise("in"), _list_values("in", values)))

    oneof = in_

    def out(self, values: Iterable[object]) -> R:
        """``out(field,(v1,v2,...))``; ``values`` is a non-empty list or tuple."""
        return R.from_node(Member("out", self._field_or_raise("out"), _list_values("out", values)))

    def null(self, value: bool = True) -> R:
        """``eq(field,null())``, or ``ne(field,null())`` when ``value`` is false."""
        return R.from_node(_flag(self._field_or_raise("null"), "null", value))

    def empty(self, value: bool = True) -> R:
        """``eq(field,empty())``, or ``ne(field,empty())`` when ``value`` is false."""
        return R.from_node(_flag(self._field_or_raise("empty"), "empty", value))

    # -- combining ----------------------------------------------------------
    def __and__(self, other: object) -> R:
        if not isinstance(other, R):
            return NotImplemented
        return R.from_node(and_(self._node, other._node))

    def __or__(self, other: object) -> R:
        if not isinstance(other, R):
            return NotImplemented
        return R.from_node(or_(self._node, other._node))

    def __invert__(self) -> R:
        if self._node is None:
            return self
        return R.from_node(not_(self._node))

    # -- value protocol -----------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, R):
            return NotImplemented
        return self._node == other._node

    def __hash__(self) -> int:
        return hash(self._node)

    def __bool__(self) -> bool:
        return self._node is not None

    def __len__(self) -> int:
        """1 for a single comparison, the number of children for ``and``/``or``, 0 if empty."""
        node = self._node
        if node is None:
            return 0
        children = getattr(node, "children", None)
        return 1 if children is None else len(children)

    def __str__(self) -> str:
        return render(self)

    def __repr__(self) -> str:
        if self._node is None and self._path:
            return f"<R field={self.field!r}>"
        return f"<R {render(self)!r}>"

    def __copy__(self) -> R:
        return self

    def __deepcopy__(self, memo: object) -> R:
        return self

    def __reduce__(self) -> tuple[object, ...]:
        return (R.from_node, (self._node,))
