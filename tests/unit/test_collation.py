"""CouchDB view collation (the pure-Python ICU approximation) against a fixed table.

The table follows CouchDB's documented collation specification; the
conformance suite checks the same table against real servers.
"""

from __future__ import annotations

import functools
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settee.backends._local.collation import collate, sort_key, type_rank

#: Keys in ascending CouchDB collation order (docs.couchdb.org "Collation Specification").
COLLATION_TABLE: list[object] = [
    None,
    False,
    True,
    -1,
    0,
    1,
    1.5,
    2,
    3.0,
    4,
    " ",
    "_",
    "-",
    ",",
    ";",
    ":",
    "!",
    "?",
    ".",
    "'",
    '"',
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "@",
    "*",
    "/",
    "\\",
    "&",
    "#",
    "%",
    "`",
    "^",
    "+",
    "<",
    "=",
    ">",
    "|",
    "~",
    "$",
    "0",
    "1",
    "9",
    "a",
    "A",
    "aa",
    "b",
    "B",
    "ba",
    "bb",
    "e",
    "é",
    "É",
    "f",
    ["a"],
    ["b"],
    ["b", "c"],
    ["b", "c", "a"],
    ["b", "d"],
    ["b", "d", "e"],
    {"a": 1},
    {"a": 2},
    {"b": 1},
    {"b": 2},
    {"b": 2, "a": 1},
    {"b": 2, "c": 2},
]


def test_table_is_strictly_ascending() -> None:
    for left, right in itertools.pairwise(COLLATION_TABLE):
        assert collate(left, right) == -1, (left, right)
        assert collate(right, left) == 1, (right, left)


def test_sorting_a_shuffled_table_restores_it() -> None:
    shuffled = list(COLLATION_TABLE)
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=sort_key) == COLLATION_TABLE


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, 1.0),
        ("abc", "abc"),
        ("\u00e9", "e\u0301"),  # canonically equivalent: ICU compares them equal
        ([1, "a"], [1.0, "a"]),
        ({"k": [1]}, {"k": [1.0]}),
        (None, None),
    ],
)
def test_equal_values_collate_equal(a: object, b: object) -> None:
    assert collate(a, b) == 0
    assert sort_key(a) == sort_key(b)


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        ("a", "AA"),  # differing letters ignore case
        ("A", "aa"),
        ("abc", "Abc"),
        ("Abc", "ABC"),
        ("ABC", "abc1"),
        ("abc1", "AbcZZZZ"),
        ("ab", "aB"),
        ("aB", "Ab"),
        ("resume", "résumé"),
        ("Resume", "résumé"),  # accents (secondary) outweigh case (tertiary)
        ("o", "ø"),  # ø sorts as o with a secondary difference, as in ICU
        ("ø", "p"),
        ("z", "þ"),
        ("~", "0"),  # all symbols before digits
        ("9", "a"),
        ([], [None]),
        ([1, 2], [1, 2, 0]),
        ({}, {"a": None}),
        (True, -(10**9)),
        (10**9, ""),
        ("zzz", []),
        ([{}], {}),
    ],
)
def test_pairs(smaller: object, larger: object) -> None:
    assert collate(smaller, larger) == -1
    assert collate(larger, smaller) == 1


# Orders produced by ICU's root collation (Node's Intl.Collator("und").compare),
# which CouchDB's view collation uses.
def _probe(text: str) -> list[str]:
    return text.split("|")


ICU_PROBED = [
    _probe(
        "a|á|à|ă|â|ǎ|å|ǻ|ä|ã|ȧ|ą|ā|ả|ạ|ae|æ|af|c|ć|ĉ|č|ċ|ç|d|ď|đ|ð|e|ẽ|ė|ę|ē|h|ħ|i|\u0131|j"
        "|l|ĺ|ľ|ļ|ł|ŀ|o|ö|ő|õ|ø|ǫ|ō|oe|œ|of|ss|ß|st|z|þ"
    ),
    _probe(
        " |_|-|!|?|.|~|$|£|¥|€|0|1|①|½|9|a|A|á|à|â|ä|Ä|a b|a-b|aa|ab|aB|Ab|AB|ab-|ae|æ"
        "|b|B|e|é|É|f|l|ł|m|n|ñ|o|ö|ø|p|resume|Resume|résumé|Résumé|ss|ß|z|Z|\u03b1|Ω|я"
    ),
]


@pytest.mark.parametrize("expected", ICU_PROBED)
def test_matches_icu_root_on_probed_strings(expected: list[str]) -> None:
    shuffled = list(expected)
    random.Random(3).shuffle(shuffled)
    assert sorted(shuffled, key=sort_key) == expected


def test_type_rank_order() -> None:
    ranks = [type_rank(v) for v in (None, False, True, 0, "", [], {})]
    assert ranks == sorted(ranks) == [0, 1, 2, 3, 4, 5, 6]


def test_non_json_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        sort_key(object())


def test_control_characters_are_ignorable() -> None:
    assert collate("a\u0001b", "ab") == 0


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values, json_values)
def test_collate_is_antisymmetric_and_matches_sort_key(a: object, b: object) -> None:
    assert collate(a, b) == -collate(b, a)
    assert (collate(a, b) < 0) == (sort_key(a) < sort_key(b))


@settings(max_examples=100, deadline=None)
@given(st.lists(json_values, max_size=12))
def test_sorting_by_key_is_a_total_order(values: list[object]) -> None:
    ordered = sorted(values, key=sort_key)
    assert all(collate(x, y) <= 0 for x, y in itertools.pairwise(ordered))
    assert sorted(values, key=functools.cmp_to_key(collate)) == ordered or all(
        collate(x, y) == 0
        for x, y in zip(sorted(values, key=functools.cmp_to_key(collate)), ordered, strict=True)
    )
