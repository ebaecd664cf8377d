r"""Translate RQL (an ``R``, a node, a :class:`Query` or RQL text) into a CouchDB Mango query.

=====================  ===============================================================
RQL                    Mango selector
=====================  ===============================================================
``eq(f,v)``            ``{"f": {"$eq": v}}``
``ne(f,v)``            ``{"f": {"$ne": v}}``
``eq(f,null())``       ``{"f": {"$eq": null}}`` (``ne``: ``$ne``)
``eq(f,empty())``      ``{"f": {"$eq": ""}}`` (``ne``: ``$ne``)
``lt le gt ge``        ``{"f": {"$lt": v, "$type": "number"}}`` (``$lte``, ``$gt``,
                       ``$gte``) with the JSON type of ``v`` (number, string, boolean):
                       RQL compares within the field's type, while Mango's collation
                       orders every type against every other (``null < 5``)
``like(f,p)``          ``{"f": {"$regex": "^...$"}}``: ``*`` is ``[\s\S]*``, all else literal
``ilike(f,p)``         the same, each letter written as ``[aA]`` (portable: JavaScript
                       regexes, as in PouchDB, have no ``(?i)``)
``in(f,(a,b))``        ``{"f": {"$in": [a, b]}}``; ``out``: ``$nin``
``and(...)``/``or``    ``{"$and": [...]}`` / ``{"$or": [...]}`` (see :func:`and_selectors`)
``not(x)``             ``{"$not": x}``; several ``not`` in one ``and``: ``{"$nor": [...]}``
nothing                ``{}``
=====================  ===============================================================

Values become JSON: ``Decimal`` a number (``int`` when whole), ``date`` and
``datetime`` their ``isoformat()`` string. ``select(a,b)`` becomes
``fields``, ``ordering(a,-b)`` ``sort`` (``[{"a": "asc"}, {"b": "desc"}]``),
``limit``/``offset`` ``limit``/``skip``. Mango cannot exclude fields
(``select(-a)``) nor run a full-text ``search``; both raise ``NotSupported``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from settee.errors import NotSupported
from settee.rql.builder import R, lookup
from settee.rql.nodes import (
    EMPTY,
    RANGE_OPS,
    And,
    Compare,
    Member,
    Node,
    Not,
    Or,
    Query,
    Value,
    and_,
    number_fits,
)
from settee.rql.parser import parse

__all__ = [
    "MangoQuery",
    "and_selectors",
    "json_value",
    "like_to_regex",
    "node_to_selector",
    "pouch_safe",
    "sort_spec",
    "to_mango",
    "to_mango_query",
    "to_query",
]

_REGEX_SPECIAL: Final = frozenset("\\^$.|?*+()[]{}")
_ANY: Final = "[\\s\\S]*"
_MANGO_RANGE: Final = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}

QueryLike = R | Node | Query | str | None


@dataclass(frozen=True)
class MangoQuery:
    """A Mango ``_find`` body: ``selector``; optional ``fields``, ``sort``, ``limit``, ``skip``."""

    selector: dict[str, Any]
    fields: list[str] | None = None
    sort: list[dict[str, str]] | None = None
    limit: int | None = None
    skip: int | None = None

    def as_find_body(self) -> dict[str, Any]:
        """The ``POST /db/_find`` body (only the parts that are set)."""
        body: dict[str, Any] = {"selector": self.selector}
        if self.fields is not None:
            body["fields"] = list(self.fields)
        if self.sort is not None:
            body["sort"] = [dict(item) for item in self.sort]
        if self.limit is not None:
            body["limit"] = self.limit
        if self.skip is not None:
            body["skip"] = self.skip
        return body


def json_value(value: Value) -> Any:
    """Return ``value`` as the JSON value Mango compares with.

    Raises ``ValueError`` for a number beyond a float's range
    (:func:`~settee.rql.nodes.number_fits`), checked before a whole
    ``Decimal`` is expanded to an ``int``.
    """
    if value is EMPTY:
        return ""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        if not number_fits(value):
            raise ValueError("a number beyond a float's range is too large or too small for JSON")
        if isinstance(value, int):
            return value
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def like_to_regex(pattern: str, *, ignore_case: bool = False) -> str:
    """Return the anchored regex for an RQL ``like`` pattern.

    ``*`` matches any run of characters (newlines included); ``\\*`` is a
    literal star and ``\\\\`` a literal backslash (django-rql's escapes); every
    other character is literal. With ``ignore_case`` each cased letter becomes a
    character class (``[aA]``), which CouchDB (PCRE), PouchDB (JavaScript) and
    Python all read the same way.
    """
    out: list[str] = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n and pattern[i + 1] in "\\*":
            out.append(_literal(pattern[i + 1], ignore_case))
            i += 2
            continue
        out.append(_ANY if ch == "*" else _literal(ch, ignore_case))
        i += 1
    out.append("$")
    return "".join(out)


def _literal(ch: str, ignore_case: bool) -> str:
    if ch in _REGEX_SPECIAL:
        return "\\" + ch
    if ignore_case:
        variants = {ch, ch.lower(), ch.upper(), ch.casefold()}
        variants = {v for v in variants if len(v) == 1}
        if len(variants) > 1:
            return "[" + "".join(sorted(variants)) + "]"
    return ch


def _compare(node: Compare) -> dict[str, Any]:
    if node.op in ("like", "ilike"):
        assert isinstance(node.value, str)
        regex = like_to_regex(node.value, ignore_case=node.op == "ilike")
        return {node.field: {"$regex": regex}}
    value = json_value(node.value)
    if node.op in RANGE_OPS:
        return {node.field: {_MANGO_RANGE[node.op]: value, "$type": _json_type(value)}}
    return {node.field: {f"${node.op}": value}}


def _clauses(selector: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The single-key clauses of a selector, with nested ``$and`` lists flattened."""
    for key, value in selector.items():
        if key == "$and" and isinstance(value, list):
            for part in value:
                yield from _clauses(part)
        else:
            yield key, value


def _is_operators(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(k.startswith("$") for k in value)


def and_selectors(*selectors: Mapping[str, Any]) -> dict[str, Any]:
    """Return one selector that requires every one of ``selectors`` (``{}`` ones are ignored).

    Nested ``$and`` lists are flattened, negations become one ``$nor`` (a
    single one stays ``$not``), and conditions on the same field are merged
    into one operator object when their operators differ
    (``{"p": {"$gt": 1, "$lt": 5}}``, which an index on ``p`` serves).
    """
    negations: list[Any] = []
    by_key: dict[str, list[Any]] = {}
    for selector in selectors:
        for key, value in _clauses(selector):
            if key == "$not":
                negations.append(value)
            elif key == "$nor" and isinstance(value, list):
                negations.extend(value)
            else:
                by_key.setdefault(key, []).append(value)
    out: list[dict[str, Any]] = []
    for key, values in by_key.items():
        merged: dict[str, Any] | None = {}
        if key.startswith("$") or not all(_is_operators(v) for v in values):
            merged = None
        for value in values if merged is not None else ():
            for op, arg in value.items():
                if merged is not None and op in merged and merged[op] != arg:
                    merged = None
                    break
                if merged is not None:
                    merged[op] = arg
        if merged is not None:
            out.append({key: merged})
        else:
            out.extend({key: value} for value in values)
    if len(negations) == 1:
        out.append({"$not": negations[0]})
    elif negations:
        out.append({"$nor": negations})
    if not out:
        return {}
    return out[0] if len(out) == 1 else {"$and": out}


def pouch_safe(selector: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``selector`` reshaped so that PouchDB Server evaluates it as CouchDB does.

    The result means the same on every server; only its shape changes. PouchDB
    (pouchdb-selector-core 7.3) rewrites selectors before matching and gets
    several shapes wrong: two clauses with the same key in one ``$and`` are
    merged by overwriting (``$eq``, ``$in``, ``$not``, ``$nor``; ``$eq``
    also deletes ``$ne``/``$gt``... on its field), and ``$ne``/``$regex``
    inside ``$or``/``$nor``/``$not`` crash (``userValue.every is not a
    function``) unless their sub-selector is an ``$and``, which it then
    rewrites correctly. So here:

    * every element of an ``$or``/``$nor`` is an ``$and`` list;
    * ``$not`` becomes ``$nor`` of one element, and one ``$and`` holds at most
      one ``$nor`` (their lists joined);
    * a field's ``$eq`` is split from its other operators;
    * ``$ne``/``$regex`` conditions never stand in the top-level ``$and``
      (they go into a one-element ``$or``), because a backend that ANDs a
      clause of its own to the selector makes PouchDB rewrite that level twice;
    * ``$nin`` becomes one ``$ne`` per value and a ``null`` in ``$in`` its own
      ``$eq``, because PouchDB's ``$in``/``$nin`` never match a ``null`` value
      (CouchDB's do); ``$ne: null`` becomes ``$gt: null`` (the same in the
      collation), because a list holding ``null`` crashes PouchDB's rewrite;
    * within one ``$and`` no key repeats: repeated clauses move into a nested
      ``{"$or": [{"$and": [...]}]}`` (a one-element ``$or`` is just its
      ``$and``), or, when ``$or`` is taken, into the ``$nor`` list as
      ``{"$and": [{"$nor": [{"$and": [...]}]}]}`` (not not), recursively.
    """
    processed = [part for key, value in _clauses(selector) for part in _safe_clause(key, value)]
    # A top-level `$and` may be rewritten twice (a backend that ANDs its own
    # clause to ours nests it), which wraps `$ne`/`$regex` values twice; one
    # level down they are rewritten exactly once.
    hidden = [(k, v) for k, v in processed if _is_operators(v) and ("$ne" in v or "$regex" in v)]
    kept = [(k, v) for k, v in processed if (k, v) not in hidden]
    if hidden:
        kept.append(("$or", [{"$and": _distinct(hidden)}]))
    clauses = _distinct(kept)
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _safe_clause(key: str, value: Any) -> list[tuple[str, Any]]:
    if key in ("$or", "$nor") and isinstance(value, list):
        return [(key, [{"$and": _safe_and(list(_clauses(sub)))} for sub in value])]
    if key == "$not" and isinstance(value, Mapping):
        return [("$nor", [{"$and": _safe_and(list(_clauses(value)))}])]
    if _is_operators(value) and "$eq" in value and len(value) > 1:
        parts = [(key, {"$eq": value["$eq"]})]
        return parts + _safe_clause(key, {k: v for k, v in value.items() if k != "$eq"})
    if _is_operators(value) and "$ne" in value and value["$ne"] is None:
        # PouchDB turns $ne into a list, and a list holding null crashes its
        # selector rewrite; "not null" is "greater than null" in the collation.
        rest = {k: v for k, v in value.items() if k != "$ne"}
        return [(key, {"$gt": None})] + (_safe_clause(key, rest) if rest else [])
    if _is_operators(value) and isinstance(value.get("$nin"), list) and value["$nin"]:
        # PouchDB's $nin never matches null (CouchDB's does): one $ne per value.
        rest = {k: v for k, v in value.items() if k != "$nin"}
        parts = [p for item in value["$nin"] for p in _safe_clause(key, {"$ne": item})]
        return parts + (_safe_clause(key, rest) if rest else [])
    if _is_operators(value) and isinstance(value.get("$in"), list) and None in value["$in"]:
        # PouchDB's $in never matches null (CouchDB's does): null gets its own $eq.
        others = [item for item in value["$in"] if item is not None]
        rest = {k: v for k, v in value.items() if k != "$in"}
        options: list[dict[str, Any]] = [{"$and": [{key: {"$eq": None}}]}]
        if others:
            options.insert(0, {"$and": [{key: {"$in": others}}]})
        return [("$or", options)] + (_safe_clause(key, rest) if rest else [])
    return [(key, value)]


def _safe_and(clauses: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Distinct-key clauses for one ``$and``; repeats are nested one level down."""
    processed = [part for key, value in clauses for part in _safe_clause(key, value)]
    return _distinct(processed)


def _distinct(processed: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    unique: dict[str, Any] = {}
    rest: list[tuple[str, Any]] = []
    for key, value in processed:
        if key == "$nor" and key in unique:
            unique[key] = [*unique[key], *value]
        elif key in unique:
            rest.append((key, value))
        else:
            unique[key] = value
    if rest:
        nested = {"$and": _distinct(rest)}  # rest is shorter than processed: this ends
        if "$or" not in unique:
            unique["$or"] = [nested]
        else:
            # `$or` is taken: not(not(rest)) joins this level's one `$nor`.
            double = {"$and": [{"$nor": [nested]}]}
            unique["$nor"] = [*unique.get("$nor", []), double]
    return [{key: value} for key, value in unique.items()]


def node_to_selector(node: Node | None) -> dict[str, Any]:
    """Return the Mango selector for a filter tree (``{}`` for ``None``)."""
    if node is None:
        return {}
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, Member):
        values = [json_value(v) for v in node.values]
        return {node.field: {"$in" if node.op == "in" else "$nin": values}}
    if isinstance(node, Not):
        return {"$not": node_to_selector(node.child)}
    if isinstance(node, And):
        return and_selectors(*(node_to_selector(child) for child in node.children))
    assert isinstance(node, Or)
    return {"$or": [node_to_selector(child) for child in node.children]}


def to_query(query: QueryLike = None, **lookups: object) -> Query:
    """Normalise ``query`` (R, node, Query, RQL text or None) plus keyword lookups to a Query.

    Keyword lookups follow ``R(**lookups)`` and are ANDed with ``query``.
    Raises ``RQLSyntaxError`` for bad text, ``TypeError`` for other types.
    """
    if query is None:
        parsed = Query()
    elif isinstance(query, str):
        parsed = parse(query)
    elif isinstance(query, Query):
        parsed = query
    elif isinstance(query, R):
        parsed = Query(where=query.node)
    elif isinstance(query, (Compare, Member, And, Or, Not)):
        parsed = Query(where=query)
    else:
        raise TypeError(f"expected an R, RQL text or a node, not {type(query).__name__}")
    if lookups:
        extra = and_(*(lookup(name, value) for name, value in lookups.items()))
        parsed = Query(
            where=and_(parsed.where, extra),
            select=parsed.select,
            ordering=parsed.ordering,
            limit=parsed.limit,
            offset=parsed.offset,
            search=parsed.search,
        )
    return parsed


def sort_spec(fields: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    """``("a", "-b", "+c")`` -> ``[{"a": "asc"}, {"b": "desc"}, {"c": "asc"}]``."""
    spec: list[dict[str, str]] = []
    for field in fields:
        if field.startswith("-"):
            spec.append({field[1:]: "desc"})
        else:
            spec.append({field.removeprefix("+"): "asc"})
    return spec


def to_mango_query(query: QueryLike = None, **lookups: object) -> MangoQuery:
    """Return the full :class:`MangoQuery` (selector, fields, sort, limit, skip).

    Raises ``NotSupported`` for ``select(-field)`` and ``search``,
    ``RQLSyntaxError`` for bad text.
    """
    parsed = to_query(query, **lookups)
    if parsed.search is not None:
        raise NotSupported("Mango has no full-text search; RQL search= cannot be translated")
    fields: list[str] | None = None
    if parsed.select:
        excluded = [f for f in parsed.select if f.startswith("-")]
        if excluded:
            raise NotSupported(
                f"Mango can only include fields; select() cannot exclude {', '.join(excluded)}"
            )
        fields = [f.removeprefix("+") for f in parsed.select]
    return MangoQuery(
        selector=node_to_selector(parsed.where),
        fields=fields,
        sort=sort_spec(parsed.ordering) if parsed.ordering else None,
        limit=parsed.limit,
        skip=parsed.offset,
    )


def to_mango(query: QueryLike = None, **lookups: object) -> dict[str, Any]:
    """Return the Mango selector for ``query`` ANDed with keyword ``lookups``.

    ``to_mango("and(eq(status,new),gt(total,3))")`` and
    ``to_mango(status="new", total__gt=3)`` give the same selector. Parts that
    are not filters (select, ordering, limit) are ignored here; use
    :func:`to_mango_query` for them.
    """
    return node_to_selector(to_query(query, **lookups).where)
