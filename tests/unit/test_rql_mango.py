"""RQL -> Mango translation: the mapping table, like/ilike regexes, select/ordering/limit."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from settee.errors import NotSupported, RQLSyntaxError
from settee.rql import EMPTY, MangoQuery, Query, R, like_to_regex, to_mango, to_mango_query
from settee.rql.mango import json_value


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
            {"$and": [{"$not": {"a": {"$eq": 1}}}, {"$not": {"b": {"$lt": 2, "$type": "number"}}}]},
        ),
        ("eq(customer.name,x)", {"customer.name": {"$eq": "x"}}),
        ("", {}),
    ],
)
def test_translation_table(rql: str, selector: dict[str, Any]) -> None:
    assert to_mango(rql) == selector
    json.dumps(selector)  # always plain JSON


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
