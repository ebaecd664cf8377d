"""Run one Markdown page's examples in this interpreter, as a reader would.

    python -W error -m tests.docs.run_page PAGE

Started by tests/docs/test_examples.py in a new interpreter per page, so a
page gets no help from what the test suite imported: ``import settee`` then
``settee.rest.Client`` fails here as it fails for a reader (the suite itself
has imported ``settee.rest`` long before). The page's ``python`` blocks run
top to bottom in one namespace, with ``SERVER_URL`` (and ``API_KEY``) taken
from ``$SETTEE_DOCS_SERVER_URL`` / ``$SETTEE_DOCS_API_KEY`` when set. A
``<!-- docs-test: pytest -->`` page is written out as a test module (each
block on its page lines) and run by pytest with settee's plugin, so its
test functions run, not only their definitions. Then the page's console
sessions run (``$ command`` lines in bash, with this interpreter's
directory first on ``PATH``, so ``settee`` is this checkout's command) and
their output is compared. Exit status 0 when all ran; a traceback names the
page's own lines.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.docs.examples import Block, Command, read_page

SERVER_URL_ENV = "SETTEE_DOCS_SERVER_URL"
API_KEY_ENV = "SETTEE_DOCS_API_KEY"


def _padded(blocks: list[Block]) -> str:
    # The blocks at their page lines (blank lines between), for tracebacks.
    text = ""
    for block in blocks:
        text += "\n" * (block.line - 1 - text.count("\n")) + block.code
    return text


def _run_blocks(path: Path, blocks: list[Block], namespace: dict[str, object]) -> None:
    for block in blocks:
        code = compile("\n" * (block.line - 1) + block.code, str(path), "exec")
        exec(code, namespace)


def _run_tests(path: Path, blocks: list[Block], server_url: str | None) -> int:
    module = Path(f"test_docs_{path.stem}.py")
    module.write_text(_padded(blocks), encoding="utf-8")
    args = [str(module), "-q", "-rs", "-p", "no:cacheprovider", "-W", "error"]
    args.append("--strict-markers")
    if not any(ep.value == "settee.testing.plugin" for ep in entry_points(group="pytest11")):
        args += ["-p", "settee.testing.plugin"]  # not installed: load it by hand, as the page says
    if server_url is not None:
        os.environ["SETTEE_TEST_URL"] = server_url
    return int(pytest.main(args))


def _matches(expected: list[str], actual: list[str]) -> bool:
    # `...` alone: any lines; `...` inside a line: any text.
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    if not actual:
        return False
    pattern = ".*".join(re.escape(part) for part in expected[0].split("..."))
    return re.fullmatch(pattern, actual[0]) is not None and _matches(expected[1:], actual[1:])


def _run_commands(path: Path, commands: list[Command]) -> int:
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    exports: list[str] = []
    for step in commands:
        script = "\n".join([*exports, step.command])
        result = subprocess.run(
            ["bash", "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        actual = result.stdout.splitlines()
        if result.returncode != step.exit_code or not _matches(step.output, actual):
            print(
                f"{path}:{step.line}: $ {step.command}\n"
                f"exit {result.returncode} (expected {step.exit_code}), output:\n"
                + "\n".join(actual)
                + "\nexpected:\n"
                + "\n".join(step.output),
                file=sys.stderr,
            )
            return 1
        if step.command.startswith("export "):
            exports.append(step.command)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.docs.run_page PAGE", file=sys.stderr)
        return 2
    loaded = sorted(m for m in sys.modules if m == "settee" or m.startswith("settee."))
    if loaded:  # the point of a fresh interpreter
        print(f"settee was imported before the page ran: {loaded}", file=sys.stderr)
        return 2
    path = Path(argv[0]).resolve()
    page = read_page(path)
    blocks = [b for b in page.blocks if b.skip is None]
    server_url = os.environ.get(SERVER_URL_ENV)
    if page.pytest:
        code = _run_tests(path, blocks, server_url)
        if code:
            return code
    else:
        namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
        if server_url is not None:
            namespace["SERVER_URL"] = server_url
        if API_KEY_ENV in os.environ:
            namespace["API_KEY"] = os.environ[API_KEY_ENV]
        _run_blocks(path, blocks, namespace)
    return _run_commands(path, page.commands)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
