"""Render the RQL syntax tree as RQL text that lib-rql / django-rql parse back exactly.

Rules (lib-rql 2.0.2's grammar is the reference; see docs/rql.md):

* A string is written bare only when it is a plain word that cannot be read as
  anything else: an ASCII letter followed by letters, digits and ``_ . - : @``,
  and not ``t``, ``true`` or ``false`` (a ``like``/``ilike`` pattern may also
  hold ``*`` and start with a digit). Every other string is quoted, with
  ``'...'`` or, if it contains a ``'``, with ``"..."``. RQL quotes have no
  escapes, so a string holding both quote characters cannot be written and
  raises ``ValueError``. Quoting keeps commas, parentheses, spaces, ``*``,
  ``&``, ``|``, unicode and strings that look like numbers, dates,
  ``null()`` or ``empty()`` literal: ``eq(code,'123')`` is the string "123".
* Numbers are written as numbers (``3``, ``-1.5``, ``1e+16``), booleans as
  ``true``/``false``, ``None`` as ``null()``, :data:`~settee.rql.nodes.EMPTY`
  as ``empty()``, dates and datetimes as ISO 8601 (``date.isoformat()``).
* ``not`` is only ever written around one comparison, ``and``/``or`` with at
  least two children, because that is all django-rql's grammar accepts.

The text is RQL, not yet a URL: the REST layer percent-encodes it (``&``, ``+``,
``%``, ``#``, spaces and non-ASCII must not reach a query string raw).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Final, Protocol, runtime_checkable

from settee.rql.nodes import (
    EMPTY,
    SEARCH_OPS,
    And,
    Compare,
    Member,
    Node,
    Not,
    Or,
    Query,
    Value,
    check_value,
)

__all__ = ["Filter", "directive_terms", "like_escape", "render", "render_value"]

_BARE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.\-:@]*")
# like/ilike patterns are never read as numbers or dates, and `*` is their wildcard.
_BARE_PATTERN: Final = re.compile(r"[A-Za-z0-9_*][A-Za-z0-9_.\-:@*]*")
# Words lib-rql's lexer (or our own parser) would read as something other than a string.
_RESERVED_BARE: Final = frozenset({"t", "true", "false"})


def _render_str(op: str, text: str) -> str:
    bare = _BARE_PATTERN if op in SEARCH_OPS else _BARE
    if bare.fullmatch(text) and text not in _RESERVED_BARE:
        return text
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise ValueError(
        f"the `{op}` value {text!r} holds both quote characters; RQL quoting has no "
        "escapes, so it cannot be written"
    )


def render_value(op: str, value: Value) -> str:
    """Return the RQL token for ``value`` as an argument of operator ``op``.

    Raises ``TypeError`` (naming ``op``) for an unsupported type, ``ValueError``
    for a value RQL cannot spell (NaN, a string with both quote characters).
    """
    check_value(op, value)
    if value is None:
        return "null()"
    if value is EMPTY:
        return "empty()"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    assert isinstance(value, str)
    return _render_str(op, value)


def like_escape(text: str) -> str:
    """Return ``text`` as a ``like``/``ilike`` pattern matching it literally.

    ``\\`` becomes ``\\\\`` and ``*`` becomes ``\\*`` (django-rql's escapes), so
    ``R().name.like(like_escape(user_input) + "*")`` is a safe prefix search.
    """
    return text.replace("\\", "\\\\").replace("*", "\\*")


def _render_node(node: Node) -> str:
    if isinstance(node, Compare):
        return f"{node.op}({node.field},{render_value(node.op, node.value)})"
    if isinstance(node, Member):
        values = ",".join(render_value(node.op, v) for v in node.values)
        return f"{node.op}({node.field},({values}))"
    if isinstance(node, Not):
        return f"not({_render_node(node.child)})"
    name = "and" if isinstance(node, And) else "or"
    assert isinstance(node, (And, Or))
    return f"{name}({','.join(_render_node(child) for child in node.children)})"


def directive_terms(
    select: Sequence[str], ordering: Sequence[str], search: str | None
) -> list[str]:
    """The RQL terms of the ``select``, ``ordering`` and ``search`` directives (those given)."""
    terms: list[str] = []
    if select:
        terms.append(f"select({','.join(select)})")
    if ordering:
        terms.append(f"ordering({','.join(ordering)})")
    if search is not None:
        terms.append(f"search={_render_str('search', search)}")
    return terms


def _render_query(query: Query) -> str:
    terms: list[str] = []
    if query.where is not None:
        terms.append(_render_node(query.where))
    terms += directive_terms(query.select, query.ordering, query.search)
    if query.limit is not None:
        terms.append(f"limit={query.limit}")
    if query.offset is not None:
        terms.append(f"offset={query.offset}")
    return "&".join(terms)


@runtime_checkable
class Filter(Protocol):
    """A built filter holding its syntax tree: :class:`~settee.rql.R` is one.

    The builder sits above this module (``str(R)`` renders), so the renderer
    knows it only by this shape.
    """

    @property
    def node(self) -> Node | None: ...


_NODES = (Compare, Member, And, Or, Not)


def render(query: Filter | Node | Query | None) -> str:
    """Return the RQL text of an ``R``, a node, or a :class:`Query` (``""`` for nothing).

    Raises ``TypeError`` for anything else.
    """
    if query is None:
        return ""
    if isinstance(query, Query):
        return _render_query(query)
    if isinstance(query, _NODES):
        return _render_node(query)
    if isinstance(query, Filter):
        node = query.node
        if node is None:
            return ""
        if isinstance(node, _NODES):
            return _render_node(node)
    raise TypeError(f"cannot render a {type(query).__name__} as RQL")
