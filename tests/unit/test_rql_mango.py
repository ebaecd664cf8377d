"""RQL -> Mango translation: the mapping table, like/ilike regexes, select/ordering/limit."""

from __future__ import annotations

import functools
import json
import operator
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settee.errors import NotSupported, RQLSyntaxError
from settee.rql.builder import R
from settee.rql.mango import (
    MangoQuery,
    and_selectors,
    json_value,
    like_to_regex,
    pouch_safe,
    to_mango,
    to_mango_query,
)
from settee.rql.nodes import EMPTY, Query


@pytest.mark.parametrize(
    ("rql", "selector"),
    [
        ("eq(a,x)", {"a": {"$eq": "x"}}),
        ("eq(a,1)", {"a": {"$eq": 1}}),
        ("eq(a,'1')", {"a": {"$eq": "1"}}),
        ("eq(a,1.5)", {"a": {"$eq": 1.5}}),
        ("eq(a,true)", {"a": {"$eq": True}}),
        ("ne(a,x)", {"a": {"$ne": "x"}}),
        ("eq(a,null())", {"a": {"$eq": None}}),
        ("ne(a,null())", {"a": {"$ne": None}}),
        ("eq(a,empty())", {"a": {"$eq": ""}}),
        ("ne(a,empty())", {"a": {"$ne": ""}}),
        ("eq(a,'a*b')", {"a": {"$eq": "a*b"}}),  # no wildcard outside like
        ("eq(a,2020-01-02)", {"a": {"$eq": "2020-01-02"}}),
        ("lt(a,3)", {"a": {"$lt": 3, "$type": "number"}}),
        ("le(a,3)", {"a": {"$lte": 3, "$type": "number"}}),
        ("gt(a,x)", {"a": {"$gt": "x", "$type": "string"}}),
        ("ge(a,true)", {"a": {"$gte": True, "$type": "boolean"}}),
        ("ge(a,2020-01-02)", {"a": {"$gte": "2020-01-02", "$type": "string"}}),
        ("like(a,x*)", {"a": {"$regex": "^x[\\s\\S]*$"}}),
        ("ilike(a,x*)", {"a": {"$regex": "^[Xx][\\s\\S]*$"}}),
        ("in(a,(1,x,null()))", {"a": {"$in": [1, "x", None]}}),
        ("out(a,(1,empty()))", {"a": {"$nin": [1, ""]}}),
        ("not(eq(a,1))", {"$not": {"a": {"$eq": 1}}}),
        ("and(eq(a,1),eq(b,2))", {"$and": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]}),
        ("or(eq(a,1),eq(b,2))", {"$or": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]}),
        (
            "not(or(eq(a,1),lt(b,2)))",
            {"$nor": [{"a": {"$eq": 1}}, {"b": {"$lt": 2, "$type": "number"}}]},
        ),
        ("eq(customer.name,x)", {"customer.name": {"$eq": "x"}}),
        ("", {}),
    ],
)
def test_translation_table(rql: str, selector: dict[str, Any]) -> None:
    assert to_mango(rql) == selector
    json.dumps(selector)  # always plain JSON


@pytest.mark.parametrize(
    ("rql", "selector"),
    [
        # one field, different operators: one operator object (index-friendly)
        ("and(gt(p,1),lt(p,5))", {"p": {"$gt": 1, "$type": "number", "$lt": 5}}),
        (
            "and(ge(p,1),le(p,5),eq(s,x))",
            {"$and": [{"p": {"$gte": 1, "$type": "number", "$lte": 5}}, {"s": {"$eq": "x"}}]},
        ),
        # negations in one and: one $nor, the rest stays
        (
            "and(not(eq(a,1)),not(eq(b,2)),eq(c,3))",
            {"$and": [{"c": {"$eq": 3}}, {"$nor": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]}]},
        ),
        ("and(not(eq(a,1)),eq(c,3))", {"$and": [{"c": {"$eq": 3}}, {"$not": {"a": {"$eq": 1}}}]}),
        # operators that clash stay separate clauses
        ("and(eq(a,1),eq(a,2))", {"$and": [{"a": {"$eq": 1}}, {"a": {"$eq": 2}}]}),
        (
            "and(gt(a,1),lt(a,z))",
            {
                "$and": [
                    {"a": {"$gt": 1, "$type": "number"}},
                    {"a": {"$lt": "z", "$type": "string"}},
                ]
            },
        ),
    ],
)
def test_conjunctions_are_merged(rql: str, selector: dict[str, Any]) -> None:
    assert to_mango(rql) == selector


def test_and_selectors() -> None:
    a, b = {"a": {"$eq": 1}}, {"b": {"$gt": 2}}
    assert and_selectors() == {}
    assert and_selectors({}, a, {}) == a
    assert and_selectors({"$and": [a, {"$and": [b]}]}) == {"$and": [a, b]}  # flattened
    assert and_selectors({"a": 1, "b": 2}) == {"$and": [{"a": 1}, {"b": 2}]}
    assert and_selectors({"$nor": [a]}, {"$not": b}) == {"$nor": [a, b]}
    assert and_selectors(a, {"a": {"$eq": 1}}) == a  # the same condition twice
    assert and_selectors({"a": 1}, {"a": {"$gt": 0}}) == {"$and": [{"a": 1}, {"a": {"$gt": 0}}]}
    assert and_selectors({"a": {"b": 1}}, {"a": {"c": 1}}) == {
        "$and": [{"a": {"b": 1}}, {"a": {"c": 1}}]
    }


def test_le_ge_operator_names() -> None:
    # RQL says le/ge, Mango $lte/$gte.
    assert to_mango(R().a.le(1)) == {"a": {"$lte": 1, "$type": "number"}}
    assert to_mango(R().a.ge(1)) == {"a": {"$gte": 1, "$type": "number"}}


def test_accepts_r_node_query_text_and_lookups() -> None:
    expected = {"$and": [{"status": {"$eq": "new"}}, {"total": {"$gt": 3, "$type": "number"}}]}
    assert to_mango(R(status="new") & R().total.gt(3)) == expected
    assert to_mango((R(status="new") & R().total.gt(3)).node) == expected
    assert to_mango("and(eq(status,new),gt(total,3))") == expected
    assert to_mango(status="new", total__gt=3) == expected
    assert to_mango("eq(status,new)", total__gt=3) == expected
    assert to_mango(Query(where=R(status="new").node)) == {"status": {"$eq": "new"}}
    assert to_mango() == {}
    with pytest.raises(TypeError):
        to_mango(42)  # type: ignore[arg-type]
    with pytest.raises(RQLSyntaxError):
        to_mango("eq(a")


def test_json_values() -> None:
    assert json_value(Decimal("2.50")) == 2.5
    assert json_value(Decimal("3")) == 3 and isinstance(json_value(Decimal("3")), int)
    assert json_value(date(2020, 1, 2)) == "2020-01-02"
    assert (
        json_value(datetime(2020, 1, 2, 3, 4, tzinfo=timezone.utc)) == "2020-01-02T03:04:00+00:00"
    )
    assert json_value(EMPTY) == ""
    assert json_value(None) is None
    with pytest.raises(ValueError, match="too large"):
        json_value(Decimal("1" + "0" * 400 + ".5"))


LIKE_CASES = [
    # pattern, ignore_case, matching, not matching
    ("abc", False, ["abc"], ["abcd", "xabc", "ABC", "abc\n"[:3] + "x"]),
    ("ab*", False, ["ab", "abc", "ab\nc"], ["xab", "Ab"]),
    ("*ab", False, ["ab", "xxab"], ["abx"]),
    ("*ab*", False, ["ab", "xabx", "x\nab\ny"], ["a b"]),
    ("a*c", False, ["ac", "abc", "abbbc"], ["acd", "bac"]),
    ("*", False, ["", "anything"], []),
    ("a.c", False, ["a.c"], ["abc"]),
    ("(x)+[y]{2}|z?^$", False, ["(x)+[y]{2}|z?^$"], ["xyyz"]),
    ("50\\*", False, ["50*"], ["500", "50"]),
    ("50\\**", False, ["50*", "50*off"], ["500"]),
    ("a\\\\b", False, ["a\\b"], ["a\\\\b", "ab"]),
    ("a\\b", False, ["a\\b"], ["ab"]),
    ("AbC*", True, ["abc", "ABC", "aBcdef"], ["xabc"]),
    ("*straße*", True, ["STRASSE"[:0] + "Straße", "die STRAßE"], ["strasse"]),
    ("é*", True, ["École".lower(), "École"], ["e"]),
]


@pytest.mark.parametrize(("pattern", "ignore_case", "yes", "no"), LIKE_CASES)
def test_like_regex_semantics(
    pattern: str, ignore_case: bool, yes: list[str], no: list[str]
) -> None:
    # Mango's $regex is an unanchored search (PCRE on CouchDB, JavaScript on PouchDB).
    regex = re.compile(like_to_regex(pattern, ignore_case=ignore_case))
    for text in yes:
        assert regex.search(text), (pattern, text)
    for text in no:
        assert not regex.search(text), (pattern, text)


def test_ilike_uses_character_classes_not_inline_flags() -> None:
    # JavaScript regexes (PouchDB) reject (?i); [aA] reads the same in PCRE, JS and Python.
    regex = like_to_regex("Ab1_*", ignore_case=True)
    assert "(?i)" not in regex
    assert regex == "^[Aa][Bb]1_[\\s\\S]*$"


def test_full_query() -> None:
    mango = to_mango_query("eq(a,1)&select(x,+y)&ordering(-b,c)&limit=10&offset=20")
    assert mango == MangoQuery(
        selector={"a": {"$eq": 1}},
        fields=["x", "y"],
        sort=[{"b": "desc"}, {"c": "asc"}],
        limit=10,
        skip=20,
    )
    assert mango.as_find_body() == {
        "selector": {"a": {"$eq": 1}},
        "fields": ["x", "y"],
        "sort": [{"b": "desc"}, {"c": "asc"}],
        "limit": 10,
        "skip": 20,
    }
    assert to_mango_query("eq(a,1)").as_find_body() == {"selector": {"a": {"$eq": 1}}}
    # to_mango keeps only the selector
    assert to_mango("eq(a,1)&select(x)&limit=3") == {"a": {"$eq": 1}}


def test_untranslatable_parts_raise_not_supported() -> None:
    with pytest.raises(NotSupported, match="exclude"):
        to_mango_query("select(a,-b)")
    with pytest.raises(NotSupported, match="search"):
        to_mango_query("search=ann")


# -- the PouchDB-safe shape ------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "safe"),
    [
        ({}, {}),
        ({"a": {"$ne": 1}}, {"$or": [{"$and": [{"a": {"$ne": 1}}]}]}),
        (
            {"a": {"$regex": "^x"}, "b": {"$eq": 2}},
            {"$and": [{"b": {"$eq": 2}}, {"$or": [{"$and": [{"a": {"$regex": "^x"}}]}]}]},
        ),
        (
            {"a": {"$nin": [1, 2]}},
            {"$or": [{"$and": [{"a": {"$ne": 1}}, {"$or": [{"$and": [{"a": {"$ne": 2}}]}]}]}]},
        ),
        (
            {"a": {"$in": [1, None]}},
            {"$or": [{"$and": [{"a": {"$in": [1]}}]}, {"$and": [{"a": {"$eq": None}}]}]},
        ),
        ({"a": {"$in": [None]}}, {"$or": [{"$and": [{"a": {"$eq": None}}]}]}),
        ({"a": {"$ne": None}}, {"a": {"$gt": None}}),
        (
            {"a": {"$nin": [None, 1]}},
            {"$and": [{"a": {"$gt": None}}, {"$or": [{"$and": [{"a": {"$ne": 1}}]}]}]},
        ),
        ({"$not": {"a": {"$eq": 1}}}, {"$nor": [{"$and": [{"a": {"$eq": 1}}]}]}),
        (
            {"$or": [{"a": {"$ne": 1}}, {"b": {"$regex": "^x"}}]},
            {"$or": [{"$and": [{"a": {"$ne": 1}}]}, {"$and": [{"b": {"$regex": "^x"}}]}]},
        ),
        (
            {"$and": [{"a": {"$eq": 1}}, {"a": {"$eq": 2}}]},
            {"$and": [{"a": {"$eq": 1}}, {"$or": [{"$and": [{"a": {"$eq": 2}}]}]}]},
        ),
        (
            {"a": {"$eq": 1, "$ne": 1}},
            {"$and": [{"a": {"$eq": 1}}, {"$or": [{"$and": [{"a": {"$ne": 1}}]}]}]},
        ),
        (
            {"$and": [{"$not": {"a": {"$eq": 1}}}, {"$nor": [{"b": {"$eq": 2}}]}]},
            {"$nor": [{"$and": [{"a": {"$eq": 1}}]}, {"$and": [{"b": {"$eq": 2}}]}]},
        ),
        (
            # (a|b) & (a|c) & d: the second $or moves down as not(not(...)) into $nor
            {"$and": [{"$or": [{"a": 1}, {"b": 1}]}, {"$or": [{"a": 1}, {"c": 1}]}, {"d": 1}]},
            {
                "$and": [
                    {"$or": [{"$and": [{"a": 1}]}, {"$and": [{"b": 1}]}]},
                    {"d": 1},
                    {
                        "$nor": [
                            {
                                "$and": [
                                    {
                                        "$nor": [
                                            {
                                                "$and": [
                                                    {
                                                        "$or": [
                                                            {"$and": [{"a": 1}]},
                                                            {"$and": [{"c": 1}]},
                                                        ]
                                                    }
                                                ]
                                            }
                                        ]
                                    }
                                ]
                            }
                        ]
                    },
                ]
            },
        ),
    ],
)
def test_pouch_safe_shapes(selector: dict[str, Any], safe: dict[str, Any]) -> None:
    assert pouch_safe(selector) == safe


def _no_repeated_keys_in_any_and(selector: Any) -> bool:
    if isinstance(selector, list):
        return all(_no_repeated_keys_in_any_and(item) for item in selector)
    if not isinstance(selector, dict):
        return True
    if "$and" in selector:
        keys = [next(iter(clause)) for clause in selector["$and"]]
        if len(keys) != len(set(keys)) or any(len(clause) != 1 for clause in selector["$and"]):
            return False
    for key, value in selector.items():
        if key in ("$or", "$nor") and not all(set(sub) == {"$and"} for sub in value):
            return False
        if key == "$not":
            return False
        if not _no_repeated_keys_in_any_and(value):
            return False
    return True


field_names = st.sampled_from(["a", "b", "c.d"])
values = st.one_of(st.integers(-2, 2), st.sampled_from(["x", "y", ""]), st.none(), st.booleans())
leaf_queries = st.one_of(
    st.builds(lambda f, v: R().n(f).eq(v), field_names, values),
    st.builds(lambda f, v: R().n(f).ne(v), field_names, values),
    st.builds(lambda f, v: R().n(f).gt(v), field_names, st.integers(-2, 2) | st.just("x")),
    st.builds(lambda f, v: R().n(f).le(v), field_names, st.integers(-2, 2) | st.just("x")),
    st.builds(lambda f, p: R().n(f).like(p), field_names, st.sampled_from(["x*", "*y", "*"])),
    st.builds(lambda f, p: R().n(f).ilike(p), field_names, st.sampled_from(["X*", "*Y*"])),
    st.builds(
        lambda f, vs: R().n(f).in_(vs), field_names, st.lists(values, min_size=1, max_size=3)
    ),
    st.builds(
        lambda f, vs: R().n(f).out(vs), field_names, st.lists(values, min_size=1, max_size=3)
    ),
)
rql_queries = st.recursive(
    leaf_queries,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=4).map(
            lambda qs: functools.reduce(operator.and_, qs)
        ),
        st.lists(children, min_size=2, max_size=4).map(
            lambda qs: functools.reduce(operator.or_, qs)
        ),
        children.map(operator.invert),
    ),
    max_leaves=8,
)
docs = st.fixed_dictionaries(
    {},
    optional={
        "a": values,
        "b": values | st.sampled_from(["X", "xY", "yy"]),
        "c": st.fixed_dictionaries({}, optional={"d": values}),
    },
)


@settings(max_examples=300, deadline=None)
@given(rql_queries, st.lists(docs, min_size=1, max_size=12))
def test_pouch_safe_means_the_same(query: R, sample: list[dict[str, Any]]) -> None:
    # settee's local Mango engine (CouchDB semantics) judges both shapes alike.
    from settee.backends._local.mango import compile_selector

    plain = to_mango(query)
    safe = pouch_safe(plain)
    assert _no_repeated_keys_in_any_and(safe)
    assert pouch_safe(safe) == safe or _no_repeated_keys_in_any_and(pouch_safe(safe))
    match_plain, match_safe = compile_selector(plain), compile_selector(safe)
    for doc in sample:
        assert match_plain(doc) == match_safe(doc), (str(query), doc)
