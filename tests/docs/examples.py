"""Reading the ```python blocks of a Markdown page, with the docs-test conventions.

* ``<!-- docs-test: skip (reason) -->`` on the line right before a fence:
  that block is not run (the reason is required).
* ``<!-- docs-test: server=pouchdb|rest|couchdb -->`` once on a page: its
  blocks run with ``SERVER_URL`` predefined (and ``API_KEY`` for ``rest``);
  ``server=pouchdb,couchdb`` runs the page once on each.
* ``<!-- docs-test: pytest -->`` once on a page: its blocks are a test
  module, run by pytest with settee's plugin (their test functions run).

An interactive-session block (``>>>`` prompts) runs its statements (the
output shown is not compared). Every other ```python block runs, top to
bottom, in one namespace per page.

A ```console block is a shell session: each ``$ command`` runs in bash (in
the page's working directory, after the page's earlier ``$ export`` lines)
and its output - standard output and error - must be the lines below it,
where a ``...`` line stands for any lines and ``...`` inside a line for any
text. A command ending in ``# exit N`` must exit with N, any other with 0.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Block", "Command", "Page", "read_page"]

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
_SKIP = re.compile(r"^\s*<!--\s*docs-test:\s*skip\s*(?:\((?P<reason>[^)]*)\))?\s*-->\s*$")
_SERVER = re.compile(r"<!--\s*docs-test:\s*server=(?P<server>[\w,-]+)\s*-->")
_PYTEST = re.compile(r"^\s*<!--\s*docs-test:\s*pytest\s*-->\s*$")
_ANY = re.compile(r"<!--\s*docs-test:")
_EXIT = re.compile(r"\s#\s*exit\s+(?P<code>\d+)\s*$")
SERVERS = ("pouchdb", "rest", "couchdb")


@dataclass
class Block:
    """One ```python block: the line of its first code line, its code, why it is skipped."""

    line: int
    code: str
    skip: str | None


@dataclass
class Command:
    """One ``$ command`` of a console block: its page line, the output shown, the exit code."""

    line: int
    command: str
    output: list[str]
    exit_code: int


@dataclass
class Page:
    path: Path
    blocks: list[Block]
    servers: tuple[str, ...]
    pytest: bool = False
    commands: list[Command] = field(default_factory=list)


class DocsTestError(ValueError):
    """A page breaks the docs-test conventions (a skip without reason, a bad server)."""


def _statements(session: str) -> str:
    # An interactive session (>>> / ...): its statements, on their own lines
    # (output lines become blank lines, so line numbers still match the page).
    lines = []
    for line in session.splitlines():
        if line.startswith((">>> ", "... ")) or line in (">>>", "..."):
            lines.append(line[4:])
        else:
            lines.append("")
    return "\n".join(lines)


def read_page(path: Path) -> Page:
    """The page's python blocks and server; ``DocsTestError`` for a malformed marker."""
    lines = path.read_text(encoding="utf-8").splitlines()
    markers = [m.group("server") for line in lines for m in _SERVER.finditer(line)]
    if len(markers) > 1:
        raise DocsTestError(f"{path}: more than one docs-test server marker ({markers})")
    servers = tuple(markers[0].split(",")) if markers else ()
    as_tests = any(_PYTEST.match(line) for line in lines)
    for server in servers:
        if server not in SERVERS:
            raise DocsTestError(f"{path}: unknown docs-test server {server!r} (use {SERVERS})")
    blocks: list[Block] = []
    commands: list[Command] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        opened = _FENCE.match(line)
        if opened is None:
            if _ANY.search(line) and not (
                _SKIP.match(line) or _SERVER.search(line) or _PYTEST.match(line)
            ):
                raise DocsTestError(f"{path}:{index + 1}: unknown docs-test marker: {line.strip()}")
            index += 1
            continue
        fence, indent = opened.group("fence"), opened.group("indent")
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if opened.group("lang").lower() in ("python", "py"):
            skip = None
            before = lines[index - 1] if index else ""
            marker = _SKIP.match(before)
            if marker is not None:
                skip = (marker.group("reason") or "").strip()
                if not skip:
                    raise DocsTestError(
                        f"{path}:{index}: a docs-test skip needs a reason: "
                        "<!-- docs-test: skip (why) -->"
                    )
            body = [
                text[len(indent) :] if text.startswith(indent) else text
                for text in lines[index + 1 : end]
            ]
            code = textwrap.dedent("\n".join(body))
            if code.lstrip().startswith(">>>"):
                code = _statements(code)
            blocks.append(Block(index + 2, code + "\n", skip))
        elif opened.group("lang").lower() == "console":
            commands += _session(lines, index + 1, end, indent)
        index = end + 1
    return Page(path, blocks, servers, as_tests, commands)


def _session(lines: list[str], start: int, end: int, indent: str) -> list[Command]:
    commands: list[Command] = []
    for number in range(start, end):
        text = lines[number][len(indent) :] if lines[number].startswith(indent) else lines[number]
        if text.startswith("$ "):
            command = text[2:]
            code = _EXIT.search(command)
            commands.append(Command(number + 1, command, [], int(code["code"]) if code else 0))
        elif commands:
            commands[-1].output.append(text)
    return commands
