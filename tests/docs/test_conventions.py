"""The docs-test conventions as the collector reads them (tests/docs/examples.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.examples import DocsTestError, read_page

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
    assert page.server == "pouchdb"
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
        ("<!-- docs-test: server=rest -->\n<!-- docs-test: server=pouchdb -->\n", "more than one"),
        ("<!-- docs-test: skipp (x) -->\n", "unknown docs-test marker"),
    ],
)
def test_malformed_markers_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.md"
    path.write_text(text)
    with pytest.raises(DocsTestError, match=message):
        read_page(path)
