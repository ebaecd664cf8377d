"""cloudant.error: python-cloudant's exception classes, codes and settee's HTTP errors."""

from __future__ import annotations

import pytest
import requests

from settee.compat.cloudant import error
from settee.compat.cloudant.client import CouchDB
from settee.compat.cloudant.database import CouchDatabase
from settee.errors import Conflict, DocumentNotFound, SetteeError


def test_codes_and_the_general_code() -> None:
    exc = error.CloudantClientException(412, "animals")
    assert exc.status_code == 412 and "animals" in str(exc)
    assert error.CloudantDatabaseException("foo").status_code == 100
    assert error.CloudantDatabaseException(400).status_code == 100  # its argument is missing
    assert isinstance(exc, error.CloudantException) and isinstance(exc, SetteeError)
    assert error.CloudantException("msg", 7).status_code == 7


def test_server_errors_are_requests_http_errors(client: CouchDB, db: CouchDatabase) -> None:
    db.create_document({"_id": "a"})
    with pytest.raises(requests.HTTPError) as caught:
        db.create_document({"_id": "a"}).save()  # no _rev: 409
    assert isinstance(caught.value, Conflict)
    assert caught.value.response is not None and caught.value.response.status_code == 409
    with pytest.raises(requests.HTTPError) as missing:
        db["nope"].fetch() if "nope" in db else db._new("nope").fetch()
    assert isinstance(missing.value, DocumentNotFound)
    assert missing.value.response is not None and missing.value.response.status_code == 404
