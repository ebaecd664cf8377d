"""Mango selector evaluation, sort parsing and projection (CouchDB's semantics)."""

from __future__ import annotations

from typing import Any

import pytest

from settee.backends._local.mango import (
    MISSING,
    compile_selector,
    get_field,
    json_equal,
    parse_sort,
    project,
    split_field,
)
from settee.errors import BadRequest

DOC: dict[str, Any] = {
    "_id": "x",
    "name": "Alice",
    "age": 30,
    "score": 7.5,
    "tags": ["a", "b", "c"],
    "nums": [1, 5, 9],
    "nested": {"deep": {"value": 3}, "list": [{"k": 1}, {"k": 2}]},
    "nothing": None,
    "flag": True,
    "dotted.key": "yes",
    "map": {"red": 1, "blue": 2},
    "empty": [],
}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({}, True),
        ({"name": "Alice"}, True),
        ({"name": "alice"}, False),
        ({"age": 30.0}, True),
        ({"age": {"$eq": 30}}, True),
        ({"age": {"$ne": 30}}, False),
        ({"missing": {"$ne": 1}}, False),  # a missing field matches nothing...
        ({"missing": {"$exists": False}}, True),  # ...but $exists: false
        ({"missing": {"$not": {"$eq": 1}}}, False),  # negation is pushed down: "$ne"
        ({"missing": {"$not": {"$exists": True}}}, True),
        ({"$not": {"missing": 1}}, False),
        ({"$nor": [{"missing": 1}]}, False),
        ({"age": {"$not": {"$gt": 40}}}, True),
        ({"age": {"$not": {"$in": [30]}}}, False),
        ({"$not": {"age": 30, "name": "Bob"}}, True),  # De Morgan: age != 30 or name != Bob
        ({"$not": {"$or": [{"age": 1}, {"name": "Bob"}]}}, True),
        ({"$not": {"$and": [{"age": 30}, {"name": "Alice"}]}}, False),
        ({"name": {"$not": {"$regex": "^B"}}}, True),
        ({"missing": {"$not": {"$regex": "^B"}}}, False),
        ({"_id": {"$gt": "X"}}, True),  # _id compares raw: "x" > "X"
        ({"_id": {"$lt": "Y"}}, False),
        ({"tags": {"$all": [["a", "b", "c"]]}}, True),  # the one argument is the whole array
        ({"nothing": {"$exists": True}}, True),
        ({"nothing": None}, True),
        ({"age": {"$gt": 29, "$lt": 31}}, True),
        ({"age": {"$gte": 30}}, True),
        ({"age": {"$lte": 29}}, False),
        ({"age": {"$gt": "a"}}, False),  # numbers collate before strings
        ({"age": {"$lt": "a"}}, True),
        ({"name": {"$gt": 5}}, True),
        ({"name": {"$gt": "alice"}}, True),  # ICU: "alice" < "Alice"
        ({"flag": {"$lt": 0}}, True),
        ({"nested.deep.value": 3}, True),
        ({"nested": {"deep": {"value": 3}}}, True),
        ({"nested.list.1.k": 2}, True),
        ({"dotted\\.key": "yes"}, True),
        ({"tags": {"$in": ["z", "b"]}}, True),
        ({"tags": {"$nin": ["z", "b"]}}, False),
        ({"age": {"$in": [1, 30]}}, True),
        ({"age": {"$nin": [1, 2]}}, True),
        ({"tags": {"$all": ["a", "c"]}}, True),
        ({"tags": {"$all": ["a", "z"]}}, False),
        ({"tags": {"$all": []}}, False),
        ({"tags": {"$size": 3}}, True),
        ({"empty": {"$size": 0}}, True),
        ({"age": {"$size": 1}}, False),
        ({"age": {"$type": "number"}}, True),
        ({"nothing": {"$type": "null"}}, True),
        ({"tags": {"$type": "array"}}, True),
        ({"map": {"$type": "object"}}, True),
        ({"flag": {"$type": "boolean"}}, True),
        ({"name": {"$type": "string"}}, True),
        ({"age": {"$mod": [7, 2]}}, True),
        ({"score": {"$mod": [7, 0]}}, False),  # $mod needs an integer
        ({"name": {"$regex": "^Al"}}, True),
        ({"name": {"$regex": "^al"}}, False),
        ({"age": {"$regex": "3"}}, False),
        ({"nums": {"$elemMatch": {"$gt": 8}}}, True),
        ({"nums": {"$elemMatch": {"$gt": 9}}}, False),
        ({"nested.list": {"$elemMatch": {"k": 2}}}, True),
        ({"nums": {"$allMatch": {"$gt": 0}}}, True),
        ({"nums": {"$allMatch": {"$gt": 1}}}, False),
        ({"empty": {"$allMatch": {"$gt": 1}}}, False),
        ({"map": {"$keyMapMatch": {"$eq": "red"}}}, True),
        ({"map": {"$keyMapMatch": {"$eq": "green"}}}, False),
        ({"$and": [{"age": 30}, {"name": "Alice"}]}, True),
        ({"$and": [{"age": 30}, {"name": "Bob"}]}, False),
        ({"$and": []}, True),
        ({"$or": [{"age": 1}, {"name": "Alice"}]}, True),
        ({"$or": [{"age": 1}, {"name": "Bob"}]}, False),
        ({"$nor": [{"age": 1}, {"name": "Bob"}]}, True),
        ({"$not": {"age": 30}}, False),
        ({"age": {"$or": [{"$eq": 1}, {"$eq": 30}]}}, True),
        ({"tags": ["a", "b", "c"]}, True),
        ({"tags": "a"}, False),  # no implicit element matching, unlike MongoDB
        ({"nested": {"$eq": {"deep": {"value": 3}, "list": [{"k": 1}, {"k": 2}]}}}, True),
    ],
)
def test_selector(selector: dict[str, Any], expected: bool) -> None:
    assert compile_selector(selector)(DOC) is expected


@pytest.mark.parametrize(
    "selector",
    [
        [],
        {"$foo": 1},
        {"a": {"$bar": 1}},
        {"$and": {}},
        {"$or": [1]},
        {"a": {"$in": 1}},
        {"a": {"$exists": "yes"}},
        {"a": {"$type": "integer"}},
        {"a": {"$size": -1}},
        {"a": {"$mod": [0, 1]}},
        {"a": {"$mod": [1.5, 1]}},
        {"a": {"$regex": "("}},
        {"a": {"$elemMatch": 3}},
        {"$not": []},
    ],
)
def test_bad_selectors_are_rejected(selector: Any) -> None:
    with pytest.raises(BadRequest):
        compile_selector(selector)


def test_mod_uses_erlang_remainder_sign() -> None:
    assert compile_selector({"n": {"$mod": [3, -1]}})({"n": -7})
    assert not compile_selector({"n": {"$mod": [3, 2]}})({"n": -7})


def test_fields_and_paths() -> None:
    assert split_field("a.b\\.c.d") == ["a", "b.c", "d"]
    assert get_field(DOC, ["nested", "deep", "value"]) == 3
    assert get_field(DOC, ["tags", "5"]) is MISSING
    assert get_field(DOC, ["age", "x"]) is MISSING
    assert project(DOC, ["name", "nested.deep.value", "nope"]) == {
        "name": "Alice",
        "nested": {"deep": {"value": 3}},
    }
    assert project(DOC, None) is DOC


def test_json_equal_is_exact_like_erlang() -> None:
    assert not json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert json_equal({"a": [1, None]}, {"a": [1, None]})
    assert not json_equal([1], [1, 2])


def test_parse_sort() -> None:
    assert parse_sort(["a", {"b.c": "asc"}]) == [(["a"], "a", False), (["b", "c"], "b.c", False)]
    assert parse_sort([{"a": "desc"}]) == [(["a"], "a", True)]
    assert parse_sort(None) == []
    for bad in ("a", [{"a": "up"}], [3], [{"a": "asc", "b": "asc"}], ["a", {"b": "desc"}]):
        with pytest.raises(BadRequest):
            parse_sort(bad)
