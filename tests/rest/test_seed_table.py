"""docs/rest.md's "The seeds' REST API, line by line" table stays true (issue 16).

Every row is done or a deliberate difference with its reason, names tests
that exist, and the counts stated above the table are the table's.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "rest.md"
TEST_DIRS = (ROOT / "tests" / "rest", ROOT / "tests" / "unit")
HEADING = "## The seeds' REST API, line by line"
_CELL = re.compile(r"(?<!\\)\|")
_REF = re.compile(r"`([a-z0-9_]+)::([a-z0-9_]+)`")
_COUNTS = re.compile(
    r"\*\*(\d+) seed rows: (\d+) done, (\d+) different \(deliberate\); (\d+) additions\.\*\*"
)


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(HEADING) + len(HEADING)
    end = text.find("\n## ", start)
    return text[start : end if end != -1 else len(text)]


def rows(prefix: str) -> list[list[str]]:
    """The table rows whose first cell matches ``prefix`` (``\\d+`` seeds, ``A\\d+`` additions)."""
    found = []
    for line in section().splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in _CELL.split(line.strip())[1:-1]]
        if re.fullmatch(prefix, cells[0]):
            found.append(cells)
    return found


@cache
def functions_in(stem: str) -> frozenset[str]:
    for directory in TEST_DIRS:
        path = directory / f"{stem}.py"
        if path.exists():
            tree = ast.parse(path.read_text(encoding="utf-8"))
            return frozenset(
                node.name
                for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name.startswith("test_")
            )
    return frozenset()


SEED_ROWS = rows(r"\d+")
ADDED_ROWS = rows(r"A\d+")


def test_the_rows_are_numbered_in_order() -> None:
    assert [int(r[0]) for r in SEED_ROWS] == list(range(1, len(SEED_ROWS) + 1))
    assert [r[0] for r in ADDED_ROWS] == [f"A{n}" for n in range(1, len(ADDED_ROWS) + 1)]
    assert all(len(r) == 6 for r in SEED_ROWS)
    assert all(len(r) == 5 for r in ADDED_ROWS)


def test_every_seed_row_is_done_or_a_stated_deliberate_difference() -> None:
    for number, seed, connect, settee, status, _ in SEED_ROWS:
        assert seed and connect and settee, number
        assert set(seed.split(", ")) <= {"C", "cnct"}, number
        assert status == "done" or re.fullmatch(r"different: \S.{10,}", status), (number, status)


def test_the_counts_are_the_tables() -> None:
    found = _COUNTS.search(section())
    assert found is not None, "the counts line is missing"
    total, done, different, added = map(int, found.groups())
    statuses = [r[4] for r in SEED_ROWS]
    assert total == len(SEED_ROWS)
    assert done == statuses.count("done")
    assert different == sum(s.startswith("different:") for s in statuses)
    assert done + different == total
    assert added == len(ADDED_ROWS) and all(r[3] == "added" for r in ADDED_ROWS)


@pytest.mark.parametrize("row", SEED_ROWS + ADDED_ROWS, ids=lambda r: r[0])
def test_every_row_names_tests_that_exist(row: list[str]) -> None:
    refs = _REF.findall(row[-1])
    assert refs, f"row {row[0]} names no test"
    for stem, name in refs:
        assert name in functions_in(stem), f"row {row[0]}: {stem}::{name} does not exist"
