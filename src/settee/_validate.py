"""Local checks run before any request: database names, document ids, JSON bodies, options.

Each helper returns the checked value or raises with a sentence that states
the rule, so bad input never reaches a server and every backend refuses the
same input the same way:

* ``TypeError``: the wrong type (a ``str`` or ``bool`` where an int is
  expected), or a value that is not strict JSON — a non-``str`` dict key, a
  string with a lone surrogate (not encodable as UTF-8), NaN or an infinity,
  a circular reference, a type JSON has no form for (set, bytes, object).
* ``ValueError``: the right type but a value out of range, or one CouchDB
  reserves (a database name, a ``_``-prefixed id, a negative ``limit``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeGuard

from settee.errors import BadRequest, DocumentNotFound, NotFound

__all__ = [
    "DB_NAME_RULE",
    "MAX_DB_NAME_LENGTH",
    "MAX_JSON_DEPTH",
    "SYSTEM_DATABASES",
    "check_changes_filter",
    "check_documents",
    "check_int",
    "check_json",
    "check_number",
    "check_query_params",
    "ddoc_name",
    "design_doc_id",
    "is_int",
    "is_valid_db_name",
    "validate_db_name",
    "validate_doc_id",
    "validate_partition_key",
]

MAX_DB_NAME_LENGTH = 238
SYSTEM_DATABASES = frozenset({"_users", "_replicator", "_global_changes"})
_DB_NAME_RE = re.compile(r"[a-z][a-z0-9_$()+/-]*")
DB_NAME_RULE = (
    "a database name must match ^[a-z][a-z0-9_$()+/-]*$ (a lowercase letter, then lowercase "
    f"letters, digits and _ $ ( ) + - /), at most {MAX_DB_NAME_LENGTH} characters, or be one "
    f"of the system databases {', '.join(sorted(SYSTEM_DATABASES))}"
)
_DESIGN = "_design/"
_SPECIAL_ID_PREFIXES = (_DESIGN, "_local/")
#: Containers nested deeper than this are refused (JSON encoders recurse per level).
MAX_JSON_DEPTH = 500


def is_valid_db_name(name: object) -> bool:
    """Whether ``name`` is a database name CouchDB accepts."""
    if not isinstance(name, str):
        return False
    if name in SYSTEM_DATABASES:
        return True
    return len(name) <= MAX_DB_NAME_LENGTH and _DB_NAME_RE.fullmatch(name) is not None


def validate_db_name(name: object) -> str:
    """Return ``name``; ``TypeError`` if not a str, ``ValueError`` stating the rule if invalid."""
    if not isinstance(name, str):
        raise TypeError(f"database name must be a str, not {type(name).__name__}")
    if not is_valid_db_name(name):
        raise ValueError(f"invalid database name {name!r}: {DB_NAME_RULE}")
    return name


def validate_doc_id(docid: object) -> str:
    """Return ``docid``; ``TypeError`` if not a str, ``ValueError`` if empty or reserved.

    CouchDB reserves ids that start with ``_`` except ``_design/<name>`` and
    ``_local/<name>``. Any other character (``/``, ``?``, ``#``, ``..``,
    unicode) is allowed: backends percent-encode ids.
    """
    if not isinstance(docid, str):
        raise TypeError(f"document id must be a str, not {type(docid).__name__}")
    if not docid:
        raise ValueError("document id must be a non-empty str")
    if docid.startswith("_"):
        for prefix in _SPECIAL_ID_PREFIXES:
            if docid.startswith(prefix) and len(docid) > len(prefix):
                return docid
        raise ValueError(
            f"invalid document id {docid!r}: ids starting with '_' are reserved by CouchDB "
            "except '_design/<name>' and '_local/<name>'"
        )
    return docid


def ddoc_name(ddoc: object) -> str:
    """The design document's name, ``ddoc`` without ``_design/``: the one rule for a
    design-document name or id given by a caller.

    ``TypeError`` if not a str; ``ValueError`` if no name is left (``""``, ``"_design/"``).
    """
    if not isinstance(ddoc, str):
        raise TypeError(f"design document id must be a str, not {type(ddoc).__name__}")
    name = ddoc.removeprefix(_DESIGN)
    if not name:
        raise ValueError(f"invalid design document id {ddoc!r}: it names no design document")
    return name


def design_doc_id(ddoc: str) -> str:
    """The design document's id: ``ddoc`` with ``_design/`` in front unless it has it."""
    return ddoc if ddoc.startswith(_DESIGN) else _DESIGN + ddoc


def validate_partition_key(key: object) -> str:
    """Return ``key``: a non-empty str without ``:`` or a leading ``_`` (else ValueError)."""
    if not isinstance(key, str):
        raise TypeError(f"partition key must be a str, not {type(key).__name__}")
    if not key or key.startswith("_") or ":" in key:
        raise ValueError(
            f"invalid partition key {key!r}: it must be non-empty, must not start with '_' "
            "and must not contain ':'"
        )
    return key


def check_json(value: Any, what: str = "document") -> None:
    """``TypeError`` naming the problem and where it is unless ``value`` is strict JSON.

    Strict JSON: dicts with ``str`` keys, lists/tuples, ``str`` encodable as
    UTF-8 (no lone surrogates), finite numbers, booleans and None, nested at
    most :data:`MAX_JSON_DEPTH` levels, no circular references. Every
    backend's write path and query keys go through this one check, so no
    backend stringifies, drops or stores what another refuses.
    """
    if _is_strict_json(value, set(), 0):
        return
    problem = _json_problem(value, set(), 0)  # the full walk decides, and says where
    if problem is not None:
        raise TypeError(f"{what} is not JSON-serialisable: {problem}")


def _is_strict_json(value: Any, active: set[int], depth: int) -> bool:
    """Whether ``value`` is strict JSON (the rules of :func:`_json_problem`), fast: exact
    types first, no paths built (every bulk write walks every value of every document)."""
    kind = type(value)
    if kind is str:
        return value.isascii() or _str_problem(value) is None
    if value is None or kind is int or kind is bool:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is not dict and kind is not list and kind is not tuple:
        return _json_problem(value, active, depth) is None  # subclasses, other types
    if depth >= MAX_JSON_DEPTH or id(value) in active:
        return False
    active.add(id(value))
    try:
        items = value.values() if kind is dict else value
        if kind is dict:
            for key in value:
                if type(key) is not str or not (key.isascii() or _str_problem(key) is None):
                    return False
        for item in items:
            # The usual members (ASCII strings, ints, None, booleans) without a call.
            member = type(item)
            if member is str:
                if not item.isascii() and _str_problem(item) is not None:
                    return False
            elif not (item is None or member is int or member is bool) and not _is_strict_json(
                item, active, depth + 1
            ):
                return False
    finally:
        active.discard(id(value))
    return True


def _where(path: str) -> str:
    if len(path) > 80:
        path = path[:80] + "..."
    return f" at {path}" if path else ""


def _str_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        lone = text[exc.start]
        return f"a lone surrogate {lone!r} (not encodable as UTF-8) in {text[:40]!r}"
    return None


def _json_problem(value: Any, active: set[int], depth: int, path: str = "") -> str | None:
    """What makes ``value`` not strict JSON, or None (``active``: containers being walked)."""
    if value is None or isinstance(value, (bool, int)):
        return None
    if isinstance(value, str):
        problem = _str_problem(value)
        return None if problem is None else problem + _where(path)
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a JSON number{_where(path)}"
    if not isinstance(value, (dict, list, tuple)):
        return f"{value!r:.60} (type {type(value).__name__}) has no JSON form{_where(path)}"
    if depth >= MAX_JSON_DEPTH:
        return f"nested deeper than {MAX_JSON_DEPTH} levels{_where(path)}"
    if id(value) in active:
        return f"a circular reference{_where(path)}"
    active.add(id(value))
    try:
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    return (
                        f"the key {key!r} is of type {type(key).__name__}, not a str{_where(path)} "
                        "(JSON object keys are strings; settee does not convert them)"
                    )
                problem = _str_problem(key)
                if problem is not None:
                    return f"the key {key!r} holds {problem}{_where(path)}"
                problem = _json_problem(item, active, depth + 1, f"{path}[{key!r}]")
                if problem is not None:
                    return problem
        else:
            for index, item in enumerate(value):
                problem = _json_problem(item, active, depth + 1, f"{path}[{index}]")
                if problem is not None:
                    return problem
    finally:
        active.discard(id(value))
    return None


def is_int(value: object) -> TypeGuard[int]:
    """Whether ``value`` is an int and not a bool (``True`` is an int to Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(name: str, value: Any, minimum: int = 0) -> int:
    """Return ``value``, an int (not a bool) ``>= minimum``.

    ``TypeError`` for another type (``"3"``, ``3.0``, ``True``), ``ValueError``
    below ``minimum``; the message names the option.
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an int >= {minimum}, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, not {value!r}")
    number: int = value
    return number


def check_number(name: str, value: Any, minimum: float = 0.0, *, strict: bool = False) -> float:
    """Return ``value`` as a float: a finite int or float (not a bool), ``>= minimum``.

    ``strict=True`` needs ``> minimum``. ``TypeError`` for another type,
    ``ValueError`` for NaN, an infinity or a value out of range.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number (an int or a float), not {value!r}")
    number = float(value)
    bound = "> " if strict else ">= "
    if not math.isfinite(number) or number < minimum or (strict and number == minimum):
        raise ValueError(f"{name} must be a finite number {bound}{minimum:g}, not {value!r}")
    return number


#: Query options that are JSON values (CouchDB parses them as JSON).
_JSON_QUERY_OPTIONS = ("key", "startkey", "endkey", "start_key", "end_key")
#: Query options that are counts: the smallest value each takes.
_INT_QUERY_OPTIONS = {"limit": 0, "skip": 0, "group_level": 0, "page_size": 1}


def check_query_params(params: Mapping[str, Any]) -> None:
    """Check ``_all_docs`` / view options before any request.

    ``key``, ``startkey``, ``endkey`` (and the ``start_key``/``end_key``
    spellings) must be strict JSON (see :func:`check_json`: no NaN, no
    infinities), ``keys`` a list of such values, and ``limit``, ``skip``,
    ``group_level``, ``page_size`` ints (:func:`check_int`). None means "not
    given" and is skipped.
    """
    for name in _JSON_QUERY_OPTIONS:
        if params.get(name) is not None:
            check_json(params[name], name)
    keys = params.get("keys")
    if keys is not None:
        if isinstance(keys, (str, bytes, Mapping)) or not isinstance(keys, (list, tuple)):
            raise TypeError(f"keys must be a list of keys, not {keys!r:.60}")
        check_json(keys, "keys")
    for name, minimum in _INT_QUERY_OPTIONS.items():
        if params.get(name) is not None:
            check_int(name, params[name], minimum)


#: Built-in ``_changes`` filters; ``_view`` names its view in ``view=``.
_BUILTIN_FILTERS = frozenset({"_doc_ids", "_selector", "_design", "_view"})


def check_changes_filter(params: Mapping[str, Any], get_doc: Callable[[str], Any]) -> None:
    """Make sure a ``_changes`` ``filter=`` (or ``_view``) names a function that exists.

    ``get_doc(docid)`` reads a document (raising ``DocumentNotFound`` when absent).
    ``filter="ddoc/name"`` needs ``_design/ddoc`` with ``filters.name``;
    ``filter="_view"`` needs ``view="ddoc/name"`` with ``views.name``.
    Raises ``NotFound`` naming what is missing, ``BadRequest`` for a filter
    that is not ``designname/filtername`` (CouchDB's 400). PouchDB Server
    4.2's process dies on a filter naming a missing design document or
    function, so the HTTP backend calls this before sending such a feed there.
    """
    name = params.get("filter")
    if not isinstance(name, str) or (name in _BUILTIN_FILTERS and name != "_view"):
        return
    section, what = "filters", "filter"
    if name == "_view":
        name, section, what = params.get("view"), "views", "view"
        if not isinstance(name, str):
            raise BadRequest("filter=_view needs view=designname/viewname", error="bad_request")
    ddoc, _, function = name.partition("/")
    if not ddoc or not function:
        raise BadRequest(
            f"{what} {name!r} must be of the form designname/{what}name", error="bad_request"
        )
    try:
        design = get_doc(f"_design/{ddoc}")
    except DocumentNotFound as exc:
        raise NotFound(
            f"the {what} {name!r} does not exist: there is no design document _design/{ddoc}",
            error="not_found",
        ) from exc
    functions = design.get(section) if isinstance(design, Mapping) else None
    if not isinstance(functions, Mapping) or function not in functions:
        raise NotFound(
            f"the {what} {name!r} does not exist: _design/{ddoc} has no {section}.{function}",
            error="not_found",
        )


def check_documents(docs: Iterable[Any]) -> list[dict[str, Any]]:
    """The documents as a list of dicts, each checked; nothing is sent before all pass.

    ``TypeError`` for a non-mapping or non-JSON document, ``ValueError`` for a
    reserved ``_id`` (the index of the culprit is in the message).
    """
    if isinstance(docs, (str, bytes, Mapping)):
        raise TypeError("bulk_docs takes an iterable of documents (dicts), not a single value")
    checked: list[dict[str, Any]] = []
    for index, doc in enumerate(docs):
        if type(doc) is not dict and not isinstance(doc, Mapping):  # a dict: no ABC check
            raise TypeError(f"document #{index} is a {type(doc).__name__}, not a dict")
        if "_id" in doc:
            try:
                validate_doc_id(doc["_id"])
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"document #{index}: {exc}") from exc
        check_json(doc, f"document #{index}")
        checked.append(doc if type(doc) is dict else dict(doc))
    return checked
