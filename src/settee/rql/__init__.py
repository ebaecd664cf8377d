"""RQL for settee: build (``R``), parse, render, and translate to CouchDB Mango.

::

    from settee.rql import R, parse, render, to_mango

    query = R(status="published") & R().total.gt(3)
    str(query)                      # 'and(eq(status,published),gt(total,3))'
    parse(str(query)).where == query.node
    to_mango(query)                 # {'$and': [{'status': {'$eq': 'published'}}, ...]}

See docs/rql.md for the grammar, the value encoding and the Mango mapping.
"""

from __future__ import annotations

from settee.errors import RQLSyntaxError
from settee.rql.builder import R
from settee.rql.mango import (
    MangoQuery,
    and_selectors,
    like_to_regex,
    pouch_safe,
    to_mango,
    to_mango_query,
    to_query,
)
from settee.rql.nodes import EMPTY, And, Compare, EmptyType, Member, Node, Not, Or, Query
from settee.rql.parser import parse, parse_filter
from settee.rql.queryset import MangoQuerySet
from settee.rql.render import like_escape, render

#: Alias of :func:`render`, the name Connect-style code expects.
to_rql = render

__all__ = [
    "EMPTY",
    "And",
    "Compare",
    "EmptyType",
    "MangoQuery",
    "MangoQuerySet",
    "Member",
    "Node",
    "Not",
    "Or",
    "Query",
    "R",
    "RQLSyntaxError",
    "and_selectors",
    "like_escape",
    "like_to_regex",
    "parse",
    "parse_filter",
    "pouch_safe",
    "render",
    "to_mango",
    "to_mango_query",
    "to_query",
    "to_rql",
]
