"""The fast strict-JSON walk agrees with the full one on every value (hypothesis)."""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from settee._validate import MAX_JSON_DEPTH, _is_strict_json, _json_problem, check_json


class Flag(IntEnum):
    ON = 1


class Key(str):
    pass


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),  # lone surrogates included
    st.sampled_from([Flag.ON, Key("k"), b"bytes", object(), 1j]),
)
keys = st.one_of(st.text(), st.integers(), st.sampled_from([Key("sub"), None, 1.5]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=20,
)


@given(values)
def test_fast_walk_never_accepts_what_the_full_walk_refuses(value: Any) -> None:
    full = _json_problem(value, set(), 0) is None
    if _is_strict_json(value, set(), 0):
        assert full
    # and check_json follows the full walk either way
    try:
        check_json(value)
        accepted = True
    except TypeError:
        accepted = False
    assert accepted == full


def test_depth_cycles_and_subclasses() -> None:
    deep: Any = 1
    for _ in range(MAX_JSON_DEPTH + 1):
        deep = [deep]
    assert not _is_strict_json(deep, set(), 0)
    assert _json_problem(deep, set(), 0) is not None
    loop: list[Any] = []
    loop.append(loop)
    assert not _is_strict_json(loop, set(), 0)
    check_json({Key("k"): Flag.ON, "f": 1.0})  # subclasses: accepted by the full walk
    assert not _is_strict_json({"x": math.inf}, set(), 0)
