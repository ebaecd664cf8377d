"""What a user's mypy sees of the backend protocol's ``get_doc`` (overloads on ``open_revs``)."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import settee
from settee.backends.base import Backend


def get_doc(backend: Backend, db: settee.Database) -> None:
    assert_type(backend.get_doc("db", "a"), dict[str, Any])
    assert_type(backend.get_doc("db", "a", {"rev": "1-x", "revs": True}), dict[str, Any])
    assert_type(backend.get_doc("db", "a", open_revs="all"), list[dict[str, Any]])
    leaves = backend.get_doc("db", "a", {"revs": True}, open_revs=["1-x", "2-y"])
    assert_type(leaves, list[dict[str, Any]])
    assert_type(db.backend.get_doc(db.database_name, "a", open_revs=("1-x",)), list[dict[str, Any]])
    backend.get_doc("db", "a", open_revs="1-x")  # type: ignore[call-overload]
