"""The Logging section of docs/errors.md lists every record settee logs (issue 15 item 6).

Each logging call in src/settee (found by reading the source, not by running
it) must have a row in that table with its level, its logger and the fixed
text of its message, so the page cannot fall behind the code: a new
``logger.info(...)`` without a row fails here.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "settee"
LEVELS = {"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "error": "ERROR"}
_PLACEHOLDER = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdrfi]")


@dataclass(frozen=True)
class Record:
    where: str
    level: str
    logger: str
    text: str  # the message's longest fixed part

    def __str__(self) -> str:
        return f"{self.where}: {self.level} {self.logger} {self.text!r}"


def _logger_names(tree: ast.Module) -> dict[str, str]:
    # module-level `name = logging.getLogger("settee...")`
    names: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        func, args = node.value.func, node.value.args
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "getLogger"
            and args
            and isinstance(args[0], ast.Constant)
            and isinstance(args[0].value, str)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = args[0].value
    return names


def _fixed_text(message: str) -> str:
    parts = [p.strip(" :;()'\"") for p in _PLACEHOLDER.split(message)]
    return max(parts, key=len)


def logging_calls() -> list[Record]:
    records = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _logger_names(tree)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LEVELS
                and node.args
            ):
                continue
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in names:
                logger = names[owner.id]
            elif isinstance(owner, ast.Attribute) and owner.attr == "logger":
                logger = "settee"  # a transport's logger: settee's unless logger= replaced it
            else:
                continue
            first = node.args[0]
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                f"{path}:{node.lineno}: a log message should be a %-format literal"
            )
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            records.append(Record(where, LEVELS[node.func.attr], logger, _fixed_text(first.value)))
    return records


def documented_rows() -> list[tuple[str, str, str]]:
    """(level, logger cell, what cell) of the table under ``## Logging``."""
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    section = text.split("\n## Logging\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and cells[0] in LEVELS.values():
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def test_the_source_is_read() -> None:
    found = logging_calls()
    assert len(found) >= 10
    assert any(r.text == "checkpoint saved after" and r.level == "DEBUG" for r in found)
    assert any(r.logger == "settee.js" for r in found)


@pytest.mark.parametrize(
    "record", logging_calls(), ids=lambda r: f"{r.where.split(':')[0]}:{r.level}:{r.text}"
)
def test_every_logging_call_has_a_row(record: Record) -> None:
    rows = documented_rows()
    matching = [
        what
        for level, logger, what in rows
        if level == record.level and f"`{record.logger}`" in logger and record.text in what
    ]
    assert matching, (
        f"{record} is not in the Logging table of docs/errors.md: add a row "
        f"| {record.level} | `{record.logger}` | ... {record.text} ... |"
    )
