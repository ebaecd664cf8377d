"""Small helpers shared by the engine's modules: parameters, JSON, CouchDB's errors."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from settee._validate import is_int
from settee.errors import BadRequest, Conflict, DocumentNotFound, NotFound

__all__ = [
    "PAGE",
    "IdBounds",
    "b64",
    "conflict",
    "db_missing",
    "doc_missing",
    "dumps",
    "flag",
    "md5_digest",
    "number",
    "partition_bounds",
    "within_partition",
]

#: Documents read from storage per page by every scan.
PAGE = 1000

# One encoder for every write: building one per json.dumps call costs more than encoding.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _no_form(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder _ENCODER.encode builds on every call, built once: JSONEncoder.encode
# makes a new one (and a dict of the containers being walked) for each value, which is
# a third of encoding a small document. Without that dict a circular value is a
# RecursionError instead of a ValueError (both refused below).
_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)  # not in typeshed
_C_ENCODER = (
    None
    if _MAKE_ENCODER is None
    else _MAKE_ENCODER(
        None, _no_form, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
)


def conflict() -> Conflict:
    """CouchDB's 409 for a stale or missing ``_rev``."""
    return Conflict("Document update conflict.", error="conflict")


def db_missing() -> NotFound:
    """CouchDB's 404 for a database that does not exist."""
    return NotFound("Database does not exist.", error="not_found")


def doc_missing(reason: str = "missing") -> DocumentNotFound:
    """CouchDB's 404 for a document (``reason`` ``"missing"`` or ``"deleted"``)."""
    return DocumentNotFound(reason, error="not_found")


def flag(params: Mapping[str, Any], name: str, default: bool = False) -> bool:
    """A boolean parameter (``True``/``False`` or ``"true"``/``"false"``); ``BadRequest``."""
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if isinstance(value, bool):
        return value
    raise BadRequest(f"Invalid boolean parameter: {name}={value!r}", error="query_parse_error")


def number(params: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    """A non-negative integer parameter; ``BadRequest`` otherwise."""
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if is_int(value) and value >= 0:
        return value
    raise BadRequest(
        f"Invalid value for {name}: must be a non-negative integer", error="query_parse_error"
    )


def dumps(value: Any) -> str:
    """Compact JSON text; ``BadRequest`` for values JSON cannot hold (NaN, objects...)."""
    try:
        if _C_ENCODER is None:
            return _ENCODER.encode(value)
        return "".join(_C_ENCODER(value, 0))
    except RecursionError as exc:
        raise BadRequest(
            "Document is not valid JSON: circular reference or nested too deeply",
            error="bad_request",
        ) from exc
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Document is not valid JSON: {exc}", error="bad_request") from exc


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


def md5_digest(data: bytes) -> str:
    """CouchDB's attachment digest: ``md5-<base64 of the md5>``."""
    return "md5-" + b64(hashlib.md5(data).digest())


def partition_bounds(partition: str) -> tuple[str, str]:
    """Ids of partition ``p`` are ``"p:..."``: the range ``["p:", "p;")`` in code point order."""
    return partition + ":", partition + ";"


#: An id range: ``(lo, lo_inclusive, hi, hi_inclusive)``, None for an open end.
IdBounds = tuple[str | None, bool, str | None, bool]


def within_partition(bounds: IdBounds, partition: str | None) -> IdBounds:
    """``bounds`` narrowed to the ids of ``partition`` (unchanged when it is None)."""
    if partition is None:
        return bounds
    lo, lo_incl, hi, hi_incl = bounds
    plo, phi = partition_bounds(partition)
    if lo is None or lo < plo:
        lo, lo_incl = plo, True
    if hi is None or hi >= phi:
        hi, hi_incl = phi, False
    return lo, lo_incl, hi, hi_incl
