"""mypy --strict on tests/typing/snippets: the types a user's code sees (as psycopg does).

Each snippet pins revealed types with ``assert_type``; a misspelt option is
marked ``# type: ignore[call-overload]`` and ``warn_unused_ignores`` makes the
ignore necessary, so the typo must be a type error.
"""

from __future__ import annotations

from pathlib import Path

from mypy import api

SNIPPETS = Path(__file__).parent / "snippets"


def test_snippets_type_check() -> None:
    out, err, status = api.run(
        [
            "--strict",
            "--warn-unused-ignores",
            "--no-incremental",
            "--cache-dir=/dev/null",
            "--config-file=",
            "--python-version=3.10",
            str(SNIPPETS),
        ]
    )
    assert status == 0, out + err
