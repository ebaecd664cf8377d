"""What a user's mypy sees of the python-cloudant compat CouchDatabase.get."""

from __future__ import annotations

import json

from typing_extensions import assert_type

from settee.compat.cloudant.database import CouchDatabase
from settee.compat.cloudant.document import Document


def compat_get(db: CouchDatabase) -> None:
    # remote is the second positional parameter, as in python-cloudant
    assert_type(db.get("id"), Document | None)
    assert_type(db.get("id", True), Document | None)
    assert_type(db.get("id", True, default="x"), Document | str)
    assert_type(db.client_encoder, type[json.JSONEncoder] | None)


def compat_with_block(doc: Document) -> None:
    # the native Document's with-block returns the caller's own class
    with doc as inside:
        assert_type(inside, Document)
