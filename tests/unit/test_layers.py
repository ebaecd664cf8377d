"""The layers as contracts: no imports inside functions, and import-linter's contracts kept.

The contracts themselves (which layer may import which, ``requests`` only under
``settee.http``, no cycles) are ``[tool.importlinter]`` in pyproject.toml.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "settee"

#: Optional extras, imported where they are used so settee works without them.
OPTIONAL_EXTRAS = (
    "orjson",
    "ijson.backends",
    "tqdm",
    "yaml",
    "jsonschema",
    "openapi_schema_validator",
    "referencing",
)


def _is_optional(module: str) -> bool:
    return any(module == extra or module.startswith(extra + ".") for extra in OPTIONAL_EXTRAS)


def _imported(node: ast.AST) -> list[str] | None:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return ["." * node.level + (node.module or "")]
    return None


def _fallbacks(func: ast.AST) -> set[ast.AST]:
    """Imports in the ``except`` of a ``try`` that imports an optional extra."""
    allowed: set[ast.AST] = set()
    for node in ast.walk(func):
        if not isinstance(node, ast.Try):
            continue
        tried = [_imported(n) for stmt in node.body for n in ast.walk(stmt)]
        if any(names and all(_is_optional(n) for n in names) for names in tried):
            for handler in node.handlers:
                allowed.update(n for n in ast.walk(handler) if _imported(n) is not None)
    return allowed


def _inner_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: import ...`` (relative to ``root``) for each import inside a function."""
    found: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        fallbacks = _fallbacks(func)
        for node in ast.walk(func):
            names = _imported(node)
            if names is None or node in fallbacks:
                continue
            if all(_is_optional(name) for name in names):
                continue
            where = path.relative_to(root).as_posix()
            found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_imports_inside_functions() -> None:
    offenders = sorted({line for p in sorted(SRC.rglob("*.py")) for line in _inner_imports(p)})
    assert not offenders, "imports inside functions (move them to the top):\n" + "\n".join(
        offenders
    )


def test_the_checker_sees_an_inner_import(tmp_path: Path) -> None:
    path = tmp_path / "sample.py"
    path.write_text(
        "import json\n"
        "def f():\n"
        "    import getpass\n"
        "    try:\n"
        "        import orjson\n"
        "    except ImportError:\n"
        "        from ijson.backends import yajl2_c\n"
        "    try:\n"
        "        import ijson.backends.yajl2_c as backend\n"
        "    except ImportError:\n"
        "        import ijson as backend\n"
        "    return lambda: __import__('x') or json\n"
        "class C:\n"
        "    def m(self):\n"
        "        from settee.errors import NotFound\n"
    )
    assert _inner_imports(path, tmp_path) == [
        "sample.py:3: import getpass",
        "sample.py:15: from settee.errors import NotFound",
    ]


def test_import_contracts_are_kept() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports is not None, "import-linter is in the test extra: pip install -e '.[test]'"
    result = subprocess.run(
        [lint_imports, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def _private_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: name`` for each ``_private`` name imported from another settee module.

    A module's own underscore names are its business; a name two modules share is part of
    the package's API and spelt without the underscore. Private *modules* (``settee._bulk``,
    ``compat.cloudant._raw``) are the package's own and may be imported whole or from.
    """
    found: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("settee"):
            continue
        for alias in node.names:
            name = alias.name
            if name.startswith("_") and not name.startswith("__"):
                source = f"{node.module}.{name}"
                if _is_module(source):
                    continue
                where = path.relative_to(root).as_posix()
                found.append(f"{where}:{node.lineno}: {name} from {node.module}")
    return found


def _is_module(dotted: str) -> bool:
    parts = dotted.split(".")[1:]
    base = SRC.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def test_no_module_imports_another_modules_private_name() -> None:
    offenders = [line for p in sorted(SRC.rglob("*.py")) for line in _private_imports(p)]
    assert not offenders, "private names imported across modules:\n" + "\n".join(offenders)


def test_the_private_import_checker_sees_one(tmp_path: Path) -> None:
    path = tmp_path / "sample.py"
    path.write_text(
        "from settee.errors import _recast_old, NotFound\n"
        "from settee.compat.cloudant import _raw\n"
        "from settee import database as _database\n"
        "from other import _x\n"
    )
    assert _private_imports(path, tmp_path) == ["sample.py:1: _recast_old from settee.errors"]
