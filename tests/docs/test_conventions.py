"""The docs-test conventions as the collector reads them (tests/docs/examples.py) and
the runner runs them (tests/docs/run_page.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.examples import DocsTestError, Page, read_page

ROOT = Path(__file__).resolve().parents[2]

PAGE = """# A page
<!-- docs-test: server=pouchdb -->

```python
a = 1
```

<!-- docs-test: skip (needs IBM) -->
```python
import ibm
```

```
not python
```

- in a list:

    ```python
    b = a + 1
    ```

```python
>>> c = b * 2
>>> c
4
```
"""


def test_blocks_skips_server_and_sessions(tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(PAGE)
    page = read_page(path)
    assert page.servers == ("pouchdb",)
    assert [(b.skip, b.code.strip()) for b in page.blocks] == [
        (None, "a = 1"),
        ("needs IBM", "import ibm"),
        (None, "b = a + 1"),
        (None, "c = b * 2\nc"),
    ]
    assert page.blocks[0].line == 5  # the page's line of `a = 1`


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- docs-test: skip -->\n```python\nx\n```\n", "needs a reason"),
        ("<!-- docs-test: server=mongo -->\n", "unknown docs-test server"),
        ("<!-- docs-test: server=pouchdb,mongo -->\n", "unknown docs-test server 'mongo'"),
        ("<!-- docs-test: server=rest -->\n<!-- docs-test: server=pouchdb -->\n", "more than one"),
        ("<!-- docs-test: skipp (x) -->\n", "unknown docs-test marker"),
    ],
)
def test_malformed_markers_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.md"
    path.write_text(text)
    with pytest.raises(DocsTestError, match=message):
        read_page(path)


def _run_page(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    page = tmp_path / "page.md"
    page.write_text(text)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "tests.docs.run_page", str(page)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_page_gets_no_help_from_what_the_suite_imported(tmp_path: Path) -> None:
    # The suite has imported settee.rest by now; a reader's fresh interpreter has not.
    assert "settee.rest" in sys.modules
    result = _run_page(tmp_path, "```python\nimport settee\n\nsettee.rest.Client\n```\n")
    assert result.returncode == 1
    assert "module 'settee' has no attribute 'rest'" in result.stderr
    assert f'File "{tmp_path / "page.md"}", line 4' in result.stderr  # the page's own line


def test_a_pytest_page_runs_its_test_functions(tmp_path: Path) -> None:
    text = "<!-- docs-test: pytest -->\n\n```python\ndef test_broken(settee_db):\n"
    text += "    assert len(settee_db) == 1\n```\n"
    assert read_page_text(tmp_path, text).pytest
    result = _run_page(tmp_path, text)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout and "test_docs_page.py:5:" in result.stdout  # the page line
    passing = text.replace("== 1", "== 0")
    assert _run_page(tmp_path, passing).returncode == 0


def read_page_text(tmp_path: Path, text: str) -> Page:
    path = tmp_path / "read.md"
    path.write_text(text)
    return read_page(path)


SESSION = """```console
$ export GREETING=hello
$ echo "$GREETING world"
hello ...
$ printf 'a\\nb\\nc\\n'
a
...
$ exit 3        # exit 3
```
"""


def test_console_sessions_are_read_and_run(tmp_path: Path) -> None:
    page = read_page_text(tmp_path, SESSION)
    assert [(c.line, c.command, c.output, c.exit_code) for c in page.commands] == [
        (2, "export GREETING=hello", [], 0),
        (3, 'echo "$GREETING world"', ["hello ..."], 0),
        (5, "printf 'a\\nb\\nc\\n'", ["a", "..."], 0),
        (8, "exit 3        # exit 3", [], 3),
    ]
    assert _run_page(tmp_path, SESSION).returncode == 0
    wrong = _run_page(tmp_path, SESSION.replace("hello ...", "goodbye ..."))
    assert wrong.returncode == 1
    assert "page.md:3: $ echo" in wrong.stderr and "hello world" in wrong.stderr
    assert _run_page(tmp_path, SESSION.replace("# exit 3", "")).returncode == 1
