"""The ``R`` builder: Connect's semantics, immutability, and value encoding.

Rendered text is also checked against lib-rql's grammar (the parser django-rql
uses, installed with django-rql) so what we send is what the server reads.
"""

from __future__ import annotations

import copy
import pickle
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from settee.rql.builder import R
from settee.rql.nodes import EMPTY, And, Compare, Member, Not, Or
from settee.rql.parser import parse
from settee.rql.render import like_escape, render, render_value

py_rql_parser = pytest.importorskip(
    "py_rql.parser", reason="lib-rql is installed with django-rql (the test extra)"
)


def lib_rql_value(text: str) -> str:
    """The raw value token lib-rql reads from ``eq(f,<text>)`` with quotes removed."""
    tree = py_rql_parser.RQLParser.parse_query(f"eq(f,{text})")
    token = str(next(tree.find_data("val")).children[0])
    return token[1:-1] if token[:1] in ("'", '"') else token


# -- operators ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text"),
    [
        (R().status.eq("published"), "eq(status,published)"),
        (R().status.ne("draft"), "ne(status,draft)"),
        (R().total.lt(3), "lt(total,3)"),
        (R().total.le(3), "le(total,3)"),
        (R().total.gt(3), "gt(total,3)"),
        (R().total.ge(3), "ge(total,3)"),
        (R().name.like("Ann*"), "like(name,Ann*)"),
        (R().name.ilike("*ann*"), "ilike(name,*ann*)"),
        (R().tags.in_(("a", "b")), "in(tags,(a,b))"),
        (R().tags.oneof(["a"]), "in(tags,(a))"),
        (R().tags.out(["a", "b"]), "out(tags,(a,b))"),
        (R().deleted.null(), "eq(deleted,null())"),
        (R().deleted.null(True), "eq(deleted,null())"),
        (R().deleted.null(False), "ne(deleted,null())"),
        (R().name.empty(), "eq(name,empty())"),
        (R().name.empty(False), "ne(name,empty())"),
        (R().deleted.eq(None), "eq(deleted,null())"),
        (R().a.eq(EMPTY), "eq(a,empty())"),
    ],
)
def test_every_operator_renders(query: R, text: str) -> None:
    assert str(query) == text
    assert render(query) == text
    py_rql_parser.RQLParser.parse_query(text)  # lib-rql accepts it


def test_nested_fields_by_chaining_and_by_n() -> None:
    assert str(R().customer.name.eq("Ann")) == "eq(customer.name,Ann)"
    assert R().customer.name.eq("Ann") == R().n("customer.name").eq("Ann")
    assert R().n("customer").n("address.city").eq("X") == R().customer.address.city.eq("X")
    assert R()._id.eq("doc1").node == Compare("eq", "_id", "doc1")
    assert R().a.field == "a"


def test_keyword_lookups_follow_connect() -> None:
    query = R(
        status="x",
        total__gt=3,
        tags__in=("a", "b"),
        deleted__null=True,
        customer__name="y",
    )
    assert str(query) == (
        "and(eq(status,x),gt(total,3),in(tags,(a,b)),eq(deleted,null()),eq(customer.name,y))"
    )
    assert len(query) == 5


@pytest.mark.parametrize(
    ("lookups", "node"),
    [
        ({"a": 1}, Compare("eq", "a", 1)),
        ({"a__eq": 1}, Compare("eq", "a", 1)),
        ({"a__ne": 1}, Compare("ne", "a", 1)),
        ({"a__lt": 1}, Compare("lt", "a", 1)),
        ({"a__le": 1}, Compare("le", "a", 1)),
        ({"a__ge": 1}, Compare("ge", "a", 1)),
        ({"a__like": "x*"}, Compare("like", "a", "x*")),
        ({"a__ilike": "x*"}, Compare("ilike", "a", "x*")),
        ({"a__in_": [1, 2]}, Member("in", "a", (1, 2))),
        ({"a__out": (1,)}, Member("out", "a", (1,))),
        ({"a__null": False}, Compare("ne", "a", None)),
        ({"a__empty": True}, Compare("eq", "a", EMPTY)),
        ({"a__b__c": 1}, Compare("eq", "a.b.c", 1)),
        ({"a__b__gt": 1}, Compare("gt", "a.b", 1)),
        ({"a__unknown": 1}, Compare("eq", "a.unknown", 1)),
    ],
)
def test_each_keyword_lookup(lookups: dict[str, object], node: object) -> None:
    assert R(**lookups).node == node


def test_and_or_invert() -> None:
    a, b, c = R(a=1), R(b=2), R(c=3)
    assert str(a & b) == "and(eq(a,1),eq(b,2))"
    assert str(a | b) == "or(eq(a,1),eq(b,2))"
    assert str((a & b) & c) == "and(eq(a,1),eq(b,2),eq(c,3))"  # flattened
    assert str((a | b) & c) == "and(or(eq(a,1),eq(b,2)),eq(c,3))"
    assert str(~a) == "not(eq(a,1))"
    assert ~~a == a
    # django-rql only accepts not() around one comparison: De Morgan.
    assert str(~(a & b)) == "or(not(eq(a,1)),not(eq(b,2)))"
    assert str(~(a | b)) == "and(not(eq(a,1)),not(eq(b,2)))"
    assert (~(a | (b & ~c))).node == And(
        (Not(Compare("eq", "a", 1)), Or((Not(Compare("eq", "b", 2)), Compare("eq", "c", 3))))
    )
    py_rql_parser.RQLParser.parse_query(str(~(a | (b & ~c))))


def test_empty_r_is_neutral() -> None:
    a = R(a=1)
    assert not R()
    assert len(R()) == 0
    assert str(R()) == ""
    assert (R() & a) == a
    assert (a | R()) == a
    assert ~R() == R()
    assert a & a == a  # a repeated condition is dropped, as in Connect


def test_equality_and_hash() -> None:
    assert R(a=1) == R().a.eq(1)
    assert hash(R(a=1)) == hash(R().a.eq(1))
    assert R(a=1.5) == R(a=Decimal("1.50"))
    assert hash(R(a=1.5)) == hash(R(a=Decimal("1.50")))
    assert R(a=1) != R(a="1")
    assert R(a=1) != R(a=True)
    assert R(a=0) != R(a=False)
    assert R(a=date(2020, 1, 1)) != R(a="2020-01-01")
    assert R(a=1) & R(b=2) != R(b=2) & R(a=1)  # order is kept, as in Connect
    assert len({R(a=1), R().a.eq(1), R(b=1)}) == 2
    assert R(a=1) != "eq(a,1)"


def test_r_is_immutable() -> None:
    base = R().status
    published = base.eq("published")
    draft = base.eq("draft")
    assert str(published) == "eq(status,published)"
    assert str(draft) == "eq(status,draft)"
    with pytest.raises(AttributeError):
        published.n("other")
    with pytest.raises(AttributeError):
        published.eq("again")
    with pytest.raises(AttributeError):
        published.foo = 1  # type: ignore[attr-defined]
    assert copy.deepcopy(published) == published
    assert pickle.loads(pickle.dumps(published)) == published


def test_dunder_names_are_not_fields() -> None:
    with pytest.raises(AttributeError):
        R().__wrapped__  # noqa: B018
    with pytest.raises(AttributeError):
        R()._repr_html_  # noqa: B018


def test_operator_without_field_raises() -> None:
    with pytest.raises(ValueError, match="needs a field"):
        R().eq(1)


@pytest.mark.parametrize("name", ["a b", "a..b", "1a", "", "a,b", "a(b)"])
def test_unwritable_field_names_raise(name: str) -> None:
    with pytest.raises(ValueError):
        R().n(name).eq(1)


# -- values -------------------------------------------------------------------

TRICKY = [
    "a,b",
    "(x)",
    "f(x,y)",
    "it's",
    'say "hi"',
    "two words",
    " padded ",
    "a*b",
    "*",
    "héllo wörld",
    "日本語",
    "123",
    "-1.5",
    "1e5",
    "007",
    "true",
    "false",
    "t",
    "null()",
    "empty()",
    "null",
    "2020-01-01",
    "2020-01-01T10:00:00+00:00",
    "",
    "a&b|c;d=e",
    "100%",
    "a+b",
    "x/y\\z",
    "#hash?q",
    "tab\tnew\nline",
    "eq(a,1)",
]


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_strings_round_trip_exactly(value: str) -> None:
    query = R().f.eq(value)
    text = str(query)
    assert parse(text).where == query.node
    assert isinstance(parse(text).where, Compare)
    assert parse(text).where.value == value  # type: ignore[union-attr]


@pytest.mark.parametrize("value", [v for v in TRICKY if "\n" not in v and "\t" not in v])
def test_tricky_strings_reach_lib_rql_intact(value: str) -> None:
    # django-rql removes one pair of quotes and compares the rest literally.
    text = render_value("eq", value)
    assert lib_rql_value(text) == value


def test_lib_rql_reads_our_numbers_dates_and_keywords_bare() -> None:
    for value in (3, -1.5, 1e16, Decimal("2.50"), True, date(2020, 1, 2)):
        text = render_value("eq", value)
        assert text[0] not in "'\""
        assert lib_rql_value(text) == text


def test_string_that_looks_like_a_number_is_quoted() -> None:
    assert str(R(code="123")) == "eq(code,'123')"
    assert str(R(code=123)) == "eq(code,123)"
    assert str(R(flag="true")) == "eq(flag,'true')"
    assert str(R(flag=True)) == "eq(flag,true)"


def test_quote_choice() -> None:
    assert render_value("eq", "it's") == '"it\'s"'
    assert render_value("eq", 'say "hi"') == "'say \"hi\"'"
    with pytest.raises(ValueError, match="both quote characters"):
        render_value("eq", 'it\'s "both"')


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (-42, "-42"),
        (1.5, "1.5"),
        (1e16, "1e+16"),
        (Decimal("10.50"), "10.50"),
        (True, "true"),
        (False, "false"),
        (None, "null()"),
        (date(2024, 2, 29), "2024-02-29"),
        (datetime(2024, 2, 29, 12, 30), "2024-02-29T12:30:00"),
        (
            datetime(2024, 2, 29, 12, 30, 1, 5, tzinfo=timezone.utc),
            "2024-02-29T12:30:01.000005+00:00",
        ),
        (datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=-5))), "2024-01-01T00:00:00-05:00"),
    ],
)
def test_scalar_values_render_unambiguously(value: object, text: str) -> None:
    query = R().f.eq(value)
    assert str(query) == f"eq(f,{text})"
    assert parse(str(query)).where == query.node


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge", "like", "ilike"])
@pytest.mark.parametrize("value", [object(), [1], {"a": 1}, b"bytes", 1j])
def test_unsupported_type_raises_type_error_naming_the_operator(op: str, value: object) -> None:
    with pytest.raises(TypeError, match=f"`{op}`"):
        getattr(R().f, op)(value)


def test_like_needs_a_string_and_range_ops_refuse_null() -> None:
    with pytest.raises(TypeError, match="`like`"):
        R().f.like(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`lt`"):
        R().f.lt(None)
    with pytest.raises(ValueError, match="`gt`"):
        R().f.gt(float("nan"))
    with pytest.raises(ValueError, match="`eq`"):
        R().f.eq(Decimal("Infinity"))


def test_list_operators_validate() -> None:
    with pytest.raises(TypeError, match="`in`"):
        R().f.in_("abc")
    with pytest.raises(TypeError, match="`out`"):
        R().f.out({1, 2})
    with pytest.raises(ValueError, match="at least one"):
        R().f.in_([])
    with pytest.raises(TypeError, match="`in`"):
        R().f.in_([object()])
    with pytest.raises(TypeError, match="True or False"):
        R().f.null("yes")  # type: ignore[arg-type]
    assert str(R().f.in_(["a,b", 1, None, "x y"])) == "in(f,('a,b',1,null(),'x y'))"


def test_like_star_is_wildcard_and_eq_star_is_literal() -> None:
    assert str(R().f.like("ab*")) == "like(f,ab*)"
    assert str(R().f.eq("ab*")) == "eq(f,'ab*')"
    assert like_escape("a*b\\c") == "a\\*b\\\\c"
    assert str(R().f.like(like_escape("50*") + "*")) == "like(f,'50\\*[*]')".replace("[*]", "*")
