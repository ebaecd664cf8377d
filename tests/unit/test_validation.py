"""Local input checks: database names, document ids, partition keys, JSON bodies."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settee._validate import (
    DB_NAME_RULE,
    MAX_DB_NAME_LENGTH,
    check_documents,
    check_json,
    is_valid_db_name,
    validate_db_name,
    validate_doc_id,
    validate_partition_key,
)


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "abc",
        "a1",
        "a_b",
        "a$b",
        "a(b)",
        "a+b",
        "a-b",
        "a/b",
        "z" * MAX_DB_NAME_LENGTH,
        "_users",
        "_replicator",
        "_global_changes",
    ],
)
def test_valid_database_names(name: str) -> None:
    assert validate_db_name(name) == name
    assert is_valid_db_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "A",
        "aB",
        "1a",
        "_a",
        "_config",
        "-a",
        "a b",
        "a.b",
        "a@b",
        "a:b",
        "é",
        "z" * (MAX_DB_NAME_LENGTH + 1),
        "a\n",
        "a?",
        "a#",
    ],
)
def test_invalid_database_names_state_the_rule(name: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_db_name(name)
    assert DB_NAME_RULE in str(info.value)
    assert "^[a-z][a-z0-9_$()+/-]*$" in str(info.value)
    assert not is_valid_db_name(name)


@pytest.mark.parametrize("name", [None, 5, b"abc", ["a"]])
def test_non_str_database_names(name: Any) -> None:
    with pytest.raises(TypeError):
        validate_db_name(name)
    assert not is_valid_db_name(name)


@given(st.text(min_size=1, max_size=50))
def test_db_name_rule_matches_a_plain_reading(name: str) -> None:
    allowed_rest = set("abcdefghijklmnopqrstuvwxyz0123456789_$()+-/")
    plain = name in {"_users", "_replicator", "_global_changes"} or (
        "a" <= name[0] <= "z" and all(c in allowed_rest for c in name[1:])
    )
    assert is_valid_db_name(name) == plain


@pytest.mark.parametrize(
    "docid", ["a", "a/b", "..", "?", "#", "ü☃", " ", "_design/x", "_local/y", "_design/a/b"]
)
def test_valid_ids(docid: str) -> None:
    assert validate_doc_id(docid) == docid


@pytest.mark.parametrize("docid", ["", "_x", "_design", "_design/", "_local/", "_all_docs"])
def test_invalid_ids(docid: str) -> None:
    with pytest.raises(ValueError):
        validate_doc_id(docid)


def test_non_str_ids() -> None:
    for bad in (None, 1, b"x"):
        with pytest.raises(TypeError):
            validate_doc_id(bad)


def test_partition_keys() -> None:
    assert validate_partition_key("sensor-1") == "sensor-1"
    for bad in ("", "_p", "a:b"):
        with pytest.raises(ValueError):
            validate_partition_key(bad)
    with pytest.raises(TypeError):
        validate_partition_key(3)


@pytest.mark.parametrize(
    "value", [{"s": {1}}, {"o": object()}, {"f": math.nan}, {"f": -math.inf}, {"b": b"x"}, {1j: 1}]
)
def test_check_json_rejects(value: Any) -> None:
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        check_json(value)


def test_check_json_accepts_json() -> None:
    check_json({"a": [1, 2.5, None, True, "ü", {"b": {}}]})


def test_check_documents_names_the_culprit() -> None:
    docs = [{"_id": "a"}, {"_id": "b", "x": {1, 2}}]
    with pytest.raises(TypeError, match="#1"):
        check_documents(docs)
    with pytest.raises(ValueError, match="#0"):
        check_documents([{"_id": "_nope"}])
    with pytest.raises(TypeError, match="#0"):
        check_documents([["not", "a", "dict"]])
    with pytest.raises(TypeError):
        check_documents({"_id": "single"})
    with pytest.raises(TypeError):
        check_documents("abc")
    assert check_documents(iter([{"a": 1}])) == [{"a": 1}]
