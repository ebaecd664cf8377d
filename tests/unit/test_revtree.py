"""Revision trees: winners, leaves, paths, grafting and stemming."""

from __future__ import annotations

import pytest

from settee.backends._local.revtree import RevTree, make_rev, parse_rev
from settee.errors import BadRequest


def linear(*revs: str) -> RevTree:
    tree = RevTree()
    parent = None
    for rev in revs:
        tree.add(rev, parent, False)
        parent = rev
    return tree


def test_parse_rev() -> None:
    assert parse_rev("12-abc") == (12, "abc")
    for bad in ("abc", "0-abc", "-abc", "1-", "x-1", 5, None):
        with pytest.raises(BadRequest):
            parse_rev(bad)


def test_make_rev_is_deterministic_and_content_addressed() -> None:
    one = make_rev(None, '{"a":1}', False, [])
    assert one == make_rev(None, '{"a":1}', False, [])
    assert one.startswith("1-") and len(one.split("-")[1]) == 32
    assert make_rev(None, '{"a":2}', False, []) != one
    assert make_rev(None, '{"a":1}', True, []) != one
    assert make_rev(one, '{"a":1}', False, []).startswith("2-")
    assert make_rev(None, "{}", False, ["md5-x"]) != make_rev(None, "{}", False, [])


def test_linear_history() -> None:
    tree = linear("1-a", "2-b", "3-c")
    assert tree.leaves() == ["3-c"]
    assert tree.winner() == "3-c"
    assert tree.path("3-c") == ["3-c", "2-b", "1-a"]
    assert tree.revisions("3-c") == {"start": 3, "ids": ["c", "b", "a"]}
    assert tree.is_leaf("3-c") and not tree.is_leaf("2-b") and not tree.is_leaf("9-z")


def test_winner_prefers_live_then_longer_then_higher_id() -> None:
    tree = linear("1-a", "2-b")
    tree.add("2-c", "1-a", False)
    assert tree.winner() == "2-c"  # same depth: highest id wins
    tree.add("3-a", "2-b", False)
    assert tree.winner() == "3-a"  # deeper wins
    tree.add("4-z", "3-a", True)
    assert tree.winner() == "2-c"  # a deleted leaf loses to any live one
    assert tree.leaves() == ["2-c", "4-z"]
    tree.add("3-d", "2-c", True)
    assert tree.winner() == "4-z"  # all deleted: deepest deleted wins


def test_merge_path_grafts_and_reports_new_leaf() -> None:
    tree = linear("1-a", "2-b")
    assert tree.merge_path(["3-x", "2-y", "1-a"], False) is True
    assert sorted(tree.leaves()) == ["2-b", "3-x"]
    assert tree.path("3-x") == ["3-x", "2-y", "1-a"]
    assert tree.merge_path(["2-b", "1-a"], False) is False


def test_merge_path_joins_a_pruned_root() -> None:
    tree = RevTree()
    tree.add("3-c", None, False)
    tree.merge_path(["4-d", "3-c", "2-b"], False)
    assert tree.path("4-d") == ["4-d", "3-c", "2-b"]


def test_stem_keeps_limit_per_branch() -> None:
    tree = linear("1-a", "2-b", "3-c", "4-d")
    tree.add("3-x", "2-b", False)
    dropped = tree.stem(2)
    assert sorted(dropped) == ["1-a"]
    assert tree.path("4-d") == ["4-d", "3-c"]
    assert tree.path("3-x") == ["3-x", "2-b"]
    assert tree.stem(5) == []


def test_json_round_trip() -> None:
    tree = linear("1-a", "2-b")
    tree.add("3-c", "2-b", True)
    again = RevTree.from_json(tree.to_json())
    assert again.nodes == tree.nodes
    copy = tree.copy()
    copy.add("4-d", "3-c", False)
    assert "4-d" not in tree


def test_empty_tree_has_no_winner() -> None:
    with pytest.raises(ValueError):
        RevTree().winner()
