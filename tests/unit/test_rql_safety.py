"""RQL input cannot exhaust time, memory or the stack (issue 8, items 5 and 8).

Numbers beyond a float's range and nesting deeper than ``MAX_DEPTH`` are
``RQLSyntaxError`` from the parser (``ValueError`` from the builder), in bounded
time: ``eq(a,1e10000000)`` used to run for ever in ``to_mango``,
``gt(a,1e99999999999)`` was a ``MemoryError``, 198 nested ``not(`` a
``RecursionError`` and a 5,000-digit integer Python's plain ``ValueError``.
The fuzz tests bound time with Hypothesis' deadline, not wall-clock asserts.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settee.errors import NotSupported, RQLSyntaxError
from settee.rql.builder import R
from settee.rql.mango import json_value, pouch_safe, to_mango, to_mango_query
from settee.rql.nodes import MAX_DEPTH, Compare, number_fits
from settee.rql.parser import parse
from settee.rql.render import render

# Each call is milliseconds; a deadline this wide only catches the unbounded.
_DEADLINE = timedelta(seconds=5)


def _translate(text: str) -> None:
    """Everything a query goes through on its way to a server."""
    query = parse(text)
    render(query)
    try:
        mango = to_mango_query(query)
    except NotSupported:  # select(-a), search=: refused with a sentence
        return
    pouch_safe(mango.selector)


# -- numbers (item 5) ---------------------------------------------------------

HUGE = [
    "eq(a,1e10000000)",
    "gt(a,1e99999999999)",
    "eq(a,-1e400)",
    "eq(a,1.8e308)",
    "eq(a,1e-400)",
    "lt(a,-5e-999999999)",
    "in(a,(1,2,1e999999999))",
    "a=ge=1e999999",
    "eq(a," + "9" * 400 + ")",
    "eq(a," + "1" * 5000 + ")",  # Python's int() refuses over 4,300 digits
    "limit=" + "1" * 5000,
]


@pytest.mark.parametrize("text", HUGE)
def test_number_beyond_a_float_is_a_syntax_error(text: str) -> None:
    with pytest.raises(RQLSyntaxError, match="beyond a float's range") as info:
        parse(text)
    number = info.value.position
    assert text[number].isdigit() or text[number] == "-"
    with pytest.raises(RQLSyntaxError):
        to_mango(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # A whole Decimal becomes an exact int (existing rule), here 309 digits.
        ("eq(a,1.7976931348623157e308)", 17976931348623157 * 10**292),
        ("eq(a,-1.7976931348623157e308)", -17976931348623157 * 10**292),
        ("eq(a,5e-324)", 5e-324),
        ("eq(a,0e99999999999)", 0),  # zero is zero, whatever its exponent
        ("eq(a,0.0e-99999999999)", 0),
        ("eq(a,1e308)", 10**308),
        ("eq(a," + "9" * 308 + ")", int("9" * 308)),
        ("eq(a,123456789012345678901234567890)", 123456789012345678901234567890),
    ],
)
def test_numbers_within_a_float_are_kept(text: str, value: object) -> None:
    assert to_mango(text) == {"a": {"$eq": value}}
    assert to_mango(render(parse(text))) == to_mango(text)


@pytest.mark.parametrize(
    "value",
    [Decimal("1e10000000"), Decimal("1e-10000000"), 10**400, -(2**1024), Decimal("-1e99999999999")],
)
def test_builder_and_json_value_refuse_numbers_beyond_a_float(value: int | Decimal) -> None:
    assert not number_fits(value)
    with pytest.raises(ValueError, match="beyond a float's range"):
        R().a.eq(value)
    with pytest.raises(ValueError, match="beyond a float's range"):
        R(a__in=[1, value])
    with pytest.raises(ValueError, match="beyond a float's range"):
        json_value(value)


def test_booleans_are_not_numbers_here() -> None:
    assert R().a.eq(True).node == Compare("eq", "a", True)
    assert json_value(True) is True


# -- nesting (item 8) ---------------------------------------------------------


def _nested(wrapper: tuple[str, str], depth: int, leaf: str = "eq(a,1)") -> str:
    head, tail = wrapper
    return head * depth + leaf + tail * depth


WRAPPERS = [("not(", ")"), ("(", ")"), ("and(eq(b,2),", ")"), ("or(eq(b,2),", ")")]


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_nesting_past_the_limit_is_a_syntax_error(wrapper: tuple[str, str]) -> None:
    for depth in (MAX_DEPTH, 198, 5000):  # 198 was a RecursionError
        text = _nested(wrapper, depth)
        with pytest.raises(RQLSyntaxError, match="open at once") as info:
            parse(text)
        assert text[info.value.position] == "("
        before = text[: info.value.position]
        assert before.count("(") - before.count(")") == MAX_DEPTH


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_nesting_up_to_the_limit_parses(wrapper: tuple[str, str]) -> None:
    text = _nested(wrapper, MAX_DEPTH - 1)  # eq( is the last level
    _translate(text)
    assert parse(render(parse(text))) == parse(text)


def test_namespace_tuples_count_as_nesting() -> None:
    deep = "eq(n," + "t(eq(n," * 200 + "1" + "))" * 200 + ")"
    with pytest.raises(RQLSyntaxError, match="open at once"):
        parse(deep)
    shallow = "eq(n," + "t(eq(n," * 20 + "1" + "))" * 20 + ")"
    assert to_mango(shallow) == {"n" + ".n" * 20: {"$eq": 1}}


def _alternating(levels: int) -> str:
    """and/or alternating ``levels`` times with one parenthesis per two levels."""
    text = "eq(a,0)"
    for i in range(levels):
        text = f"({text}|eq(b,{i}))&eq(c,{i})"
    return text


def test_tree_deeper_than_the_parentheses_is_a_syntax_error() -> None:
    text = _alternating(MAX_DEPTH // 2 + 5)  # far fewer parentheses than tree levels
    with pytest.raises(RQLSyntaxError, match="levels deep; the limit is"):
        parse(text)
    _translate(_alternating(MAX_DEPTH // 2 - 1))


def test_builder_refuses_trees_past_the_limit() -> None:
    query = R(a=0)
    with pytest.raises(ValueError, match=f"the limit is {MAX_DEPTH}"):
        for i in range(200):  # bounded: the limit is reached long before
            query = (query | R(b=i)) & R(c=i)
    assert query.node is not None and query.node.depth <= MAX_DEPTH
    # What was built works everywhere, negation included while it fits.
    to_mango(query)
    pouch_safe(to_mango(query))
    assert parse(render(query)).where == query.node
    shallow = R(a=0)
    for i in range(10):
        shallow = (shallow | R(b=i)) & R(c=i)
    assert ~~shallow == shallow


# -- fuzz ---------------------------------------------------------------------


@settings(max_examples=300, deadline=_DEADLINE)
@given(st.text(max_size=200))
def test_any_text_is_a_query_or_a_syntax_error(text: str) -> None:
    with contextlib.suppress(RQLSyntaxError):
        _translate(text)


rql_alphabet = st.sampled_from(list("eqgtnotandrlikmsc(),&|;='\" a1029.-+eE*t_"))


@settings(max_examples=300, deadline=_DEADLINE)
@given(st.text(alphabet=rql_alphabet, max_size=300))
def test_rql_looking_text_is_a_query_or_a_syntax_error(text: str) -> None:
    with contextlib.suppress(RQLSyntaxError):
        _translate(text)


numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.builds(
        "{}{}e{}".format,
        st.sampled_from(["", "-"]),
        st.sampled_from(["0", "1", "9.5", "0.000", "17976931348623157"]),
        st.integers(min_value=-(10**12), max_value=10**12),
    ),
)
leaves = st.builds("{}(f,{})".format, st.sampled_from(["eq", "ne", "lt", "ge"]), numbers) | (
    st.builds("in(f,({},{}))".format, numbers, numbers)
)
heads = st.sampled_from(["not(", "(", "and(eq(b,x),", "or(eq(b,x),", "eq(g,t(", "ne(g,t("])
_CLOSE = {"not(": ")", "(": ")", "and(eq(b,x),": ")", "or(eq(b,x),": ")"}


@st.composite
def nested(draw: st.DrawFn) -> str:
    """A generated expression nested 0-2,000 levels with mixed wrappers and operators.

    Deep on purpose: Hypothesis raises the recursion limit while it runs a test,
    so only a few hundred levels would not have shown the unbounded recursion.
    """
    text = draw(leaves)
    pattern = draw(st.lists(heads, min_size=1, max_size=8))
    operator, other = draw(st.sampled_from(["&", "|", ","])), draw(leaves)
    for level in range(draw(st.integers(min_value=0, max_value=2000))):
        head = pattern[level % len(pattern)]
        if head in _CLOSE:
            text = head + text + _CLOSE[head]
        elif text.startswith(("eq(", "ne(", "lt(", "ge(")):  # t() holds comparisons
            text = head + text + "))"
        else:
            text = f"({text}){operator}{other}"
    return text


@settings(max_examples=200, deadline=_DEADLINE)
@given(nested())
def test_generated_nesting_is_a_query_or_a_syntax_error(text: str) -> None:
    try:
        _translate(text)
    except RQLSyntaxError as exc:
        assert 0 <= exc.position <= len(text)
