"""Parse RQL text into the syntax tree of :mod:`settee.rql.nodes`.

Why a hand-written recursive-descent parser rather than lib-rql (CloudBlue's
lark grammar, which django-rql uses): settee's runtime dependencies are
requests, ijson and cachetools only, and lark would add a parser generator for
a grammar of a dozen rules; lark's errors also carry a position in the token
stream, not the character offset :class:`~settee.errors.RQLSyntaxError`
promises. lib-rql 2.0.2's grammar is the reference, and the test suite checks
this parser against it on the same strings. Where they differ we are more
lenient, never stricter:

* ``not`` may wrap any expression (lib-rql: one comparison only); the tree
  pushes it down to the comparisons, so rendering gives lib-rql's form.
* ``|`` / ``;`` need no enclosing parentheses, and ``&`` binds tighter than
  ``|`` (lib-rql rejects the mix); ``and(x)``/``or(x)`` with one argument are
  ``x``.
* Field names may start with ``_`` (``_id``, ``_rev``); lib-rql's start with a
  letter.
* ``sort(...)`` is read as ``ordering(...)``; ``limit(n[,offset])`` as
  ``limit=n&offset=...``; whitespace around tokens is ignored (quote a value
  to keep leading or trailing spaces).

Values: quoted (``'...'`` or ``"..."``, no escapes) is always a string. A bare
value is ``null()``, ``empty()``, ``true``/``false``, a number if it is a JSON
number (``12`` an ``int``; ``-1.5``, ``1e+16`` a ``Decimal``, exactly as written;
not ``012``), a date or datetime if it is
exactly ``date.isoformat()`` / ``datetime.isoformat()`` output, and a string
otherwise. ``eq(f,t(eq(a,1),like(b,x)))`` (django-rql's namespace tuple)
means ``and(eq(f.a,1),like(f.b,x))``; with ``ne`` it is negated.

Limits (see :mod:`settee.rql.nodes`): a number must be 0 or within a float's
range (``1e400``, ``1e-400`` and integers of more than 309 digits are errors,
decided by :func:`~settee.rql.nodes.number_fits` before any digit is
expanded), and at most :data:`~settee.rql.nodes.MAX_DEPTH` parentheses may be
open at once (counted by the tokenizer, so the recursive descent never goes
deeper), nor may the tree nest deeper. Nothing but ``RQLSyntaxError`` escapes.

At the top level, ``limit``, ``offset`` and ``search`` in ``eq`` form
(``limit=10``) are django-rql's reserved parameters, not filters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from settee._validate import is_int
from settee.errors import RQLSyntaxError
from settee.rql.nodes import (
    COMPARE_OPS,
    EMPTY,
    LIST_OPS,
    MAX_DEPTH,
    RANGE_OPS,
    SEARCH_OPS,
    Compare,
    Member,
    Node,
    Query,
    Value,
    and_,
    is_field,
    not_,
    number_fits,
    or_,
)

__all__ = ["parse", "parse_filter"]

_PUNCT: Final = frozenset("(),&|;=")
_NUMBER: Final = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{6})?"
    r"(?:[+-]\d{2}:\d{2}(?::\d{2}(?:\.\d{6})?)?)?"
)
_RESERVED: Final = ("limit", "offset", "search")


@dataclass(frozen=True)
class _Token:
    kind: str  # one of _PUNCT, "word", "quoted", "end"
    text: str
    pos: int


@dataclass(frozen=True)
class _Directive:
    """A non-filter term (select, ordering, limit, ...) and where it stood."""

    kind: str
    value: object
    pos: int


_Item = Node | _Directive


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    depth = 0
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _PUNCT:
            # Every recursion of the parser opens a parenthesis: bounding them
            # here bounds the parser's stack.
            depth += 1 if ch == "(" else -1 if ch == ")" else 0
            if depth > MAX_DEPTH:
                raise RQLSyntaxError(
                    f"more than {MAX_DEPTH} parentheses open at once", text=text, position=i
                )
            tokens.append(_Token(ch, ch, i))
            i += 1
        elif ch in "'\"":
            end = text.find(ch, i + 1)
            if end < 0:
                raise RQLSyntaxError("unterminated quoted value", text=text, position=i)
            tokens.append(_Token("quoted", text[i + 1 : end], i))
            i = end + 1
        else:
            start = i
            while i < n and text[i] not in _PUNCT and text[i] not in "'\"":
                i += 1
            tokens.append(_Token("word", text[start:i].rstrip(), start))
    tokens.append(_Token("end", "", n))
    return tokens


def _bare_value(token: _Token, text: str) -> Value:
    word = token.text
    if word == "true":
        return True
    if word == "false":
        return False
    match = _NUMBER.fullmatch(word)
    if match:
        # Decimal keeps the number exactly as written (a float would round
        # 8805082409750.551); Mango gets a float in the end. Checked before
        # int(): that is quadratic in the digits and refuses over 4,300.
        exact = Decimal(word)
        if not number_fits(exact):
            raise RQLSyntaxError(
                "number beyond a float's range (0, or a magnitude from about 5e-324 to 1.8e308)",
                text=text,
                position=token.pos,
            )
        if match.group(1) is None and match.group(2) is None:
            return int(word)
        return exact
    try:
        if _DATE.fullmatch(word):
            day = date.fromisoformat(word)
            return day if day.isoformat() == word else word
        if _DATETIME.fullmatch(word):
            moment = datetime.fromisoformat(word)
            return moment if moment.isoformat() == word else word
    except ValueError:  # 2024-02-30: not a date, so a string
        return word
    return word


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    # -- token helpers ------------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tok
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def error(self, message: str, pos: int | None = None) -> RQLSyntaxError:
        return RQLSyntaxError(
            message, text=self.text, position=self.tok.pos if pos is None else pos
        )

    def describe(self, token: _Token) -> str:
        return "end of text" if token.kind == "end" else repr(token.text)

    def join(self, kind: str, nodes: Sequence[Node | None], pos: int) -> Node | None:
        """``and_``/``or_`` of ``nodes``; a tree too deep is an error at ``pos``."""
        try:
            return and_(*nodes) if kind == "and" else or_(*nodes)
        except ValueError as exc:  # deeper than MAX_DEPTH
            raise self.error(str(exc), pos) from exc

    def negate(self, node: Node, pos: int) -> Node:
        try:
            return not_(node)
        except ValueError as exc:  # deeper than MAX_DEPTH
            raise self.error(str(exc), pos) from exc

    def expect(self, kind: str) -> _Token:
        if self.tok.kind != kind:
            raise self.error(f"expected {kind!r}, found {self.describe(self.tok)}")
        return self.advance()

    # -- grammar ------------------------------------------------------------
    def query(self) -> Query:
        if self.tok.kind == "end":
            return Query()
        items = self.conjunction(top=True)
        if self.tok.kind != "end":
            raise self.error(f"unexpected {self.describe(self.tok)}")
        return self.assemble(items)

    def conjunction(self, *, top: bool) -> list[_Item]:
        """``or_expr (',' or_expr)*``; directives are only kept when ``top``."""
        return self.series(",", self.disjunction, top=top)

    def series(self, separator: str, part: Callable[..., list[_Item]], *, top: bool) -> list[_Item]:
        """``part (separator part)*``: the items of every part, in order."""
        items: list[_Item] = part(top=top)
        while self.tok.kind == separator:
            self.advance()
            items += part(top=top)
        return items

    def disjunction(self, *, top: bool) -> list[_Item]:
        start = self.tok.pos
        first = self.and_items(top=top)
        if self.tok.kind not in ("|", ";"):
            return first
        operands = [self.filter_of(first, start)]
        while self.tok.kind in ("|", ";"):
            self.advance()
            start = self.tok.pos
            operands.append(self.filter_of(self.and_items(top=False), start))
        node = self.join("or", operands, start)
        return [node] if node is not None else []

    def and_items(self, *, top: bool) -> list[_Item]:
        return self.series("&", self.unary, top=top)

    def filter_of(self, items: list[_Item], pos: int) -> Node | None:
        """The conjunction of ``items`` (``pos`` where they start), which hold no directive."""
        for item in items:
            if isinstance(item, _Directive):
                raise self.error(f"{item.kind} is only allowed at the top level", item.pos)
        return self.join("and", [item for item in items if not isinstance(item, _Directive)], pos)

    def filter_expr(self) -> Node | None:
        """One argument of and/or/not: an or-expression holding no directive."""
        start = self.tok.pos
        return self.filter_of(self.disjunction(top=False), start)

    def unary(self, *, top: bool) -> list[_Item]:
        token = self.tok
        if token.kind == "(":
            self.advance()
            items = self.conjunction(top=top)
            self.expect(")")
            return items
        if token.kind != "word":
            raise self.error(f"expected an expression, found {self.describe(token)}")
        following = self.peek().kind
        if following == "(":
            items = self.call(top=top)
        elif following == "=":
            items = [self.shorthand()]
        else:
            raise self.error(f"expected an expression, found {self.describe(token)}")
        if not top:
            self.filter_of(items, token.pos)
        return items

    def call(self, *, top: bool) -> list[_Item]:
        name_tok = self.advance()
        name = name_tok.text
        self.expect("(")
        if name in ("and", "or"):
            args = [self.filter_expr()]
            while self.tok.kind == ",":
                self.advance()
                args.append(self.filter_expr())
            self.expect(")")
            node = self.join(name, args, name_tok.pos)
            return [node] if node is not None else []
        if name == "not":
            child = self.filter_expr()
            self.expect(")")
            if child is None:
                raise self.error("not() needs an expression", name_tok.pos)
            return [self.negate(child, name_tok.pos)]
        if name in COMPARE_OPS:
            return [self.comparison(name, name_tok.pos)]
        if name in LIST_OPS:
            return [self.membership(name)]
        if name in ("select", "ordering", "sort"):
            props = self.signed_props(allow_sign=True)
            kind = "select" if name == "select" else "ordering"
            return [_Directive(kind, props, name_tok.pos)]
        if name == "limit":
            return self.limit_call(name_tok.pos)
        raise self.error(f"unknown operator {name!r}", name_tok.pos)

    def prop(self) -> str:
        token = self.tok
        if token.kind != "word" or not is_field(token.text):
            raise self.error(f"expected a field name, found {self.describe(token)}")
        self.advance()
        return token.text

    def value(self, op: str) -> Value:
        token = self.tok
        if token.kind == "quoted":
            self.advance()
            value: Value = token.text
        elif token.kind == "word" and token.text in ("null", "empty") and self.peek().kind == "(":
            self.advance()
            self.expect("(")
            self.expect(")")
            value = None if token.text == "null" else EMPTY
        elif token.kind == "word":
            self.advance()
            value = token.text if op in SEARCH_OPS else _bare_value(token, self.text)
        else:
            raise self.error(f"expected a value, found {self.describe(token)}")
        if (value is None or value is EMPTY) and (op in RANGE_OPS or op in SEARCH_OPS):
            raise self.error(f"{op}() does not accept {token.text}()", token.pos)
        if op in SEARCH_OPS and not isinstance(value, str):
            raise self.error(f"{op}() needs a pattern", token.pos)
        return value

    def comparison(self, op: str, pos: int) -> Node:
        field = self.prop()
        self.expect(",")
        if self.tok.kind == "word" and self.tok.text == "t" and self.peek().kind == "(":
            node = self.tuple_value(field, op)
        else:
            node = Compare(op, field, self.value(op))
        self.expect(")")
        return node

    def tuple_value(self, namespace: str, op: str) -> Node:
        start = self.advance()
        if op not in ("eq", "ne"):
            raise self.error(f"t() is only allowed with eq and ne, not {op}", start.pos)
        self.expect("(")
        parts: list[Node] = []
        while True:
            name_tok = self.tok
            if name_tok.kind != "word" or self.peek().kind not in ("(", "="):
                raise self.error(f"expected a comparison, found {self.describe(name_tok)}")
            node: _Item
            if self.peek().kind == "=":
                node = self.shorthand()
            elif name_tok.text in COMPARE_OPS:
                self.advance()
                self.expect("(")
                node = self.comparison(name_tok.text, name_tok.pos)
            else:
                raise self.error("t() holds comparisons only", name_tok.pos)
            if not isinstance(node, Compare):
                raise self.error("t() holds comparisons only", name_tok.pos)
            parts.append(Compare(node.op, f"{namespace}.{node.field}", node.value))
            if self.tok.kind != ",":
                break
            self.advance()
        self.expect(")")
        joined = self.join("and", parts, start.pos)
        assert joined is not None
        return joined if op == "eq" else self.negate(joined, start.pos)

    def membership(self, op: str) -> Node:
        field = self.prop()
        self.expect(",")
        values = self.value_list(op)
        self.expect(")")
        return Member(op, field, values)

    def value_list(self, op: str) -> tuple[Value, ...]:
        """``'(' value (',' value)* ')'``: the values of an ``in``/``out``."""
        self.expect("(")
        values = [self.value(op)]
        while self.tok.kind == ",":
            self.advance()
            values.append(self.value(op))
        self.expect(")")
        return tuple(values)

    def shorthand(self) -> _Item:
        """``prop=value`` or ``prop=op=value`` (``op`` a comparison, ``in`` or ``out``)."""
        field_tok = self.tok
        field = self.prop()
        self.expect("=")
        op = "eq"
        if self.tok.kind == "word" and self.peek().kind == "=":
            op_tok = self.advance()
            op = op_tok.text
            if op not in COMPARE_OPS and op not in LIST_OPS:
                raise self.error(f"unknown operator {op!r}", op_tok.pos)
            self.advance()
        if op in LIST_OPS:
            return Member(op, field, self.value_list(op))
        if field in _RESERVED and op == "eq":
            if field == "search" and self.tok.kind in ("word", "quoted"):
                return _Directive(field, self.advance().text, field_tok.pos)
            return _Directive(field, self.value(op), field_tok.pos)
        return Compare(op, field, self.value(op))

    def signed_props(self, *, allow_sign: bool) -> tuple[str, ...]:
        props: list[str] = []
        if self.tok.kind == ")":
            self.advance()
            return ()
        while True:
            token = self.tok
            text = token.text if token.kind == "word" else ""
            sign = text[:1] if text[:1] in ("+", "-") and allow_sign else ""
            name = text[len(sign) :].strip()
            if not is_field(name):
                raise self.error(f"expected a field name, found {self.describe(token)}")
            self.advance()
            props.append(name if sign != "-" else f"-{name}")
            if self.tok.kind != ",":
                break
            self.advance()
        self.expect(")")
        return tuple(props)

    def limit_call(self, pos: int) -> list[_Item]:
        items: list[_Item] = [_Directive("limit", self.value("eq"), pos)]
        if self.tok.kind == ",":
            self.advance()
            pos = self.tok.pos
            items.append(_Directive("offset", self.value("eq"), pos))
        self.expect(")")
        return items

    # -- assembling the query -----------------------------------------------
    def assemble(self, items: list[_Item]) -> Query:
        seen: dict[str, object] = {}
        for item in items:
            if not isinstance(item, _Directive):
                continue
            if item.kind in seen:
                raise self.error(f"{item.kind} given twice", item.pos)
            if item.kind in ("limit", "offset"):
                value = item.value
                if not is_int(value) or value < 0:
                    raise self.error(f"{item.kind} must be a non-negative integer", item.pos)
            elif item.kind == "search" and not isinstance(item.value, str):
                raise self.error("search needs a term", item.pos)
            seen[item.kind] = item.value
        where = self.join("and", [item for item in items if not isinstance(item, _Directive)], 0)
        return Query(
            where=where,
            select=seen.get("select", ()),  # type: ignore[arg-type]
            ordering=seen.get("ordering", ()),  # type: ignore[arg-type]
            limit=seen.get("limit"),  # type: ignore[arg-type]
            offset=seen.get("offset"),  # type: ignore[arg-type]
            search=seen.get("search"),  # type: ignore[arg-type]
        )


def parse(text: str) -> Query:
    """Parse RQL ``text`` into a :class:`~settee.rql.nodes.Query`.

    Raises :class:`~settee.errors.RQLSyntaxError` (a ``ValueError``) with the
    0-based ``position`` of the fault; ``TypeError`` if ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"RQL text must be a str, not {type(text).__name__}")
    return _Parser(text).query()


def parse_filter(text: str) -> Node | None:
    """Parse RQL ``text`` that must be a pure filter; return its tree (``None`` if empty).

    Raises :class:`~settee.errors.RQLSyntaxError` if it holds ``select``,
    ``ordering``, ``limit``, ``offset`` or ``search``.
    """
    query = parse(text)
    if query != Query(where=query.where):
        raise RQLSyntaxError(
            "expected a filter; select/ordering/limit/offset/search are not allowed here",
            text=text,
            position=0,
        )
    return query.where
