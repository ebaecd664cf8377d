"""`settee find` with bad RQL: one line on stderr, exit 2, no traceback (issue 8, items 5, 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from settee.cli import commands as cli

BAD_RQL = [
    "not(" * 198 + "eq(a,1)" + ")" * 198,  # was a RecursionError traceback
    "gt(a,1e99999999999)",  # was a MemoryError traceback
    "eq(a," + "1" * 5000 + ")",  # was Python's int-digits ValueError
    "and(eq(a,1),bar(b,2))",
]


@pytest.mark.parametrize("query", BAD_RQL, ids=["deep", "huge-exponent", "long-int", "unknown-op"])
def test_find_with_bad_rql_prints_one_line(
    query: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli.main(["--url", url, "-q", "create-db", "data"]) == 0
    capsys.readouterr()
    assert cli.main(["--url", url, "-q", "find", "data", query]) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("settee: invalid RQL: "), captured.err
    assert "at position" in lines[0] and "Traceback" not in captured.err
