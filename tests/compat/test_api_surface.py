"""Every public name of python-cloudant 2.15 exists in settee.compat.cloudant, callable alike.

The reference is python-cloudant itself (``cloudant==2.15.0`` from PyPI, in the
test extra; imported here only, never by settee). For each public module of
``cloudant``, every public class and function it defines must exist in the
compat module of the same name; every public method of each class, and the
special methods users call (``__getitem__``, ``__iter__``, ``__enter__``, ...),
must exist on the compat class; and where both can be introspected, the
parameters python-cloudant takes positionally are taken in the same order with
the same defaults (a user's positional call means the same), and a keyword
parameter python-cloudant names is accepted by name. The compat side may add
keyword-only parameters, and may name options python-cloudant takes through
``**kwargs``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

cloudant = pytest.importorskip(
    "cloudant", reason="python-cloudant 2.15 (the test extra) is the reference"
)

#: Special methods that are part of python-cloudant's documented behaviour.
CALLED_SPECIALS = {
    "__init__",
    "__call__",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__contains__",
    "__iter__",
    "__enter__",
    "__exit__",
}
#: Parameter names of special methods are never passed by name.
POSITIONAL_ONLY_IN_PRACTICE = CALLED_SPECIALS - {"__init__", "__call__"}


def reference_modules() -> Iterator[tuple[ModuleType, ModuleType]]:
    public = (m.name for m in pkgutil.iter_modules(cloudant.__path__) if m.name[0] != "_")
    names = ["", *sorted(f".{name}" for name in public)]
    for name in names:
        yield (
            importlib.import_module(f"cloudant{name}"),
            importlib.import_module(f"settee.compat.cloudant{name}"),
        )


def public_names() -> Iterator[tuple[str, Any, Any]]:
    """(qualified name, python-cloudant's object, the compat object or None)."""
    for ref, compat in reference_modules():
        for name, obj in sorted(vars(ref).items()):
            if name.startswith("_") or getattr(obj, "__module__", None) != ref.__name__:
                continue
            ours = getattr(compat, name, None)
            yield f"{ref.__name__}.{name}", obj, ours
            if not inspect.isclass(obj):
                continue
            for attr, member in sorted(vars(obj).items()):
                if attr.startswith("_") and attr not in CALLED_SPECIALS:
                    continue
                mine = getattr(ours, attr, None) if ours is not None else None
                yield f"{ref.__name__}.{name}.{attr}", member, mine


def signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a text signature
        return None


def call_mismatches(qualname: str, ref: Any, ours: Any) -> list[str]:
    if isinstance(ref, property) or not callable(ref):
        return []
    theirs, mine = signature(ref), signature(ours)
    if theirs is None or mine is None:
        return []
    special = qualname.rsplit(".", 1)[-1] in POSITIONAL_ONLY_IN_PRACTICE
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    their_pos = [p for p in theirs.parameters.values() if p.kind in kinds]
    my_pos = [p for p in mine.parameters.values() if p.kind in kinds]
    has_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in mine.parameters.values())
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in mine.parameters.values())
    problems = []
    for index, param in enumerate(their_pos):
        if index >= len(my_pos):
            if not has_varargs:
                problems.append(f"positional parameter {param.name!r} (#{index}) is missing")
            continue
        other = my_pos[index]
        if not special and other.name != param.name:
            problems.append(
                f"positional #{index} is {other.name!r}, python-cloudant's {param.name!r}"
            )
        if param.default is not inspect.Parameter.empty and other.default != param.default:
            problems.append(
                f"{param.name!r} defaults to {other.default!r}, python-cloudant's {param.default!r}"
            )
    for param in theirs.parameters.values():
        keyword_only = param.kind is inspect.Parameter.KEYWORD_ONLY
        if keyword_only and param.name not in mine.parameters and not takes_kwargs:
            problems.append(f"keyword parameter {param.name!r} is missing")
    return problems


SURFACE = list(public_names())


def test_the_reference_is_python_cloudant_2_15() -> None:
    assert cloudant.__version__ == "2.15.0"
    assert len(SURFACE) > 200  # modules, classes and their methods: a real walk


@pytest.mark.parametrize(("qualname", "ref", "ours"), SURFACE, ids=[q for q, _, _ in SURFACE])
def test_public_name_exists_and_is_called_alike(qualname: str, ref: Any, ours: Any) -> None:
    assert ours is not None, f"{qualname} has no counterpart in settee.compat.cloudant"
    assert not call_mismatches(qualname, ref, ours)
