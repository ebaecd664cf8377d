"""Local checks run before any request: database names, document ids, JSON bodies.

Each helper returns the checked value or raises ``TypeError`` (wrong type,
not JSON-serialisable) / ``ValueError`` (a value CouchDB would reject) with a
sentence that states the rule, so bad input never reaches a server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "DB_NAME_RULE",
    "MAX_DB_NAME_LENGTH",
    "SYSTEM_DATABASES",
    "check_json",
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
_SPECIAL_ID_PREFIXES = ("_design/", "_local/")


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
    """``TypeError`` naming the problem unless ``value`` serialises as strict JSON.

    NaN and infinities are rejected too: they are not JSON and CouchDB refuses them.
    """
    try:
        json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"{what} is not JSON-serialisable: {exc}") from exc


def check_documents(docs: Iterable[Any]) -> list[dict[str, Any]]:
    """The documents as a list of dicts, each checked; nothing is sent before all pass.

    ``TypeError`` for a non-mapping or non-JSON document, ``ValueError`` for a
    reserved ``_id`` (the index of the culprit is in the message).
    """
    if isinstance(docs, (str, bytes, Mapping)):
        raise TypeError("bulk_docs takes an iterable of documents (dicts), not a single value")
    checked: list[dict[str, Any]] = []
    for index, doc in enumerate(docs):
        if not isinstance(doc, Mapping):
            raise TypeError(f"document #{index} is a {type(doc).__name__}, not a dict")
        if "_id" in doc:
            try:
                validate_doc_id(doc["_id"])
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"document #{index}: {exc}") from exc
        check_json(doc, f"document #{index}")
        checked.append(doc if type(doc) is dict else dict(doc))
    return checked
